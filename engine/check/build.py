"""Build a generated C folder on the host: a runner executable, object sizes.

The runner (engine/codegen/templates/host_main.c) is compiled beside the model but is
not part of it. Sanitizer builds run as separate executables, so ASan never
has to be preloaded into Python.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile

from engine.codegen.folder import TEMPLATES

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


class BuildError(Exception):
    """The C compiler failed; the message carries its first error lines."""


def compiler() -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise BuildError(f"C compiler {cc!r} not found (install gcc: apt-get install gcc)")
    return cc


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if "error" in ln or "warning" in ln] or proc.stderr.splitlines()
        raise BuildError(f"{what} failed: " + " | ".join(lines[:5]))


def build_runner(folder: os.PathLike, name: str, out: os.PathLike, *, trace: bool = False,
                 sanitize: bool = False, opt: str = "-O2") -> pathlib.Path:
    """Compile the model folder plus the host runner into executable `out`."""
    folder = pathlib.Path(folder)
    sources = sorted(str(p) for p in folder.glob("*.c")) + [str(TEMPLATES / "host_main.c")]
    flags = [opt, *WARNINGS, f"-I{folder}", f"-DTE_PREFIX={name}", f'-DTE_HEADER="{name}.h"']
    if trace:
        flags.append("-DTE_TRACE")
    if sanitize:
        flags += SANITIZE
    _run([compiler(), *flags, *sources, "-o", str(out)], f"building {folder}")
    return pathlib.Path(out)


def object_sizes(folder: os.PathLike, opt: str = "-O2") -> dict[str, int]:
    """Section sizes of the model's compiled objects (runner excluded).

    Returns text (code), rodata (constants: weights and kernel parameters),
    data and bss (the arena) summed over every object of the folder.
    """
    folder = pathlib.Path(folder)
    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted(folder.glob("*.c")):
            obj = pathlib.Path(tmp) / (src.stem + ".o")
            _run([compiler(), opt, *WARNINGS, f"-I{folder}", "-c", str(src), "-o", str(obj)], f"compiling {src.name}")
            proc = subprocess.run(["size", "-A", str(obj)], capture_output=True, text=True, check=True)
            add_section_sizes(sizes, proc.stdout)
    return sizes


def add_section_sizes(sizes: dict[str, int], listing: str) -> dict[str, int]:
    """Adds the sections of a `size -A` listing to `sizes` (only the keys it has: .text.x counts as text)."""
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            section = parts[0].split(".")[1]
            if section in sizes:
                sizes[section] += int(parts[1])
    return sizes
