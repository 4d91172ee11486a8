"""The command-line apps `mcunet-kws` and `mcunet-vww`: data -> supernet -> search -> int8 C, with a report.

- `common`: the staged, resumable pipeline (train, search, export) every app runs.
- `report`: `report.md` and the plots that only the apps draw.
- `cli`: the shared absl flags and the one-line `error:` edge.
- `kws`, `vww`: the two tasks (data, search space, presets) and their `main`.
"""
