"""The one error type for missing or malformed datasets."""

from __future__ import annotations

import os


class DatasetError(ValueError):
    """A dataset on disk is missing or malformed.

    The message is one line that starts with the offending path, so a user can
    fix the file or folder without reading a traceback.
    """

    def __init__(self, path: os.PathLike | str, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
