"""Memory planner benchmark: lower bound vs each algorithm's peak, and time.

    python bench/plan_bench.py [MODEL.tflite ...] [--json] [--repeats R]

Buffers are the plain TFLM lifetimes of every non-constant tensor
(engine.memory.lifetimes with the TFLM rules), so "greedy_by_size" is what TFLM's own planner gets.
Times are the median of R runs of each algorithm, in milliseconds.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time
from collections.abc import Sequence

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.memory.lifetimes import TFLM, analyse
from engine.memory.planner import ALGORITHMS, lower_bound, plan
from mcunet_tf import mlperf
from tflite_bridge import read

_JSON = flags.DEFINE_bool("json", False, "Print JSON to stdout instead of a table.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Runs per algorithm; the median time is kept.")

SHARED = mlperf.models_dir()
DEFAULT = (
    "mlperf_kws_ref_model.tflite",
    "mlperf_vww_96_int8.tflite",
    "mlperf_ic_pretrainedResnet_quant.tflite",
    "mlperf_ad01_int8.tflite",
)
NAMES = (*ALGORITHMS, "best")


def bench_model(path: pathlib.Path, repeats: int) -> dict:
    """Lower bound and, per algorithm, peak, bytes over the bound and time."""
    buffers = analyse(read(path.read_bytes()), rules=TFLM).buffers
    bound = lower_bound(buffers)
    row = {"model": path.name, "buffers": len(buffers), "lower_bound": bound, "algorithms": {}}
    for name in NAMES:
        times, result = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            result = plan(buffers, name)
            times.append(time.perf_counter() - start)
        row["algorithms"][name] = {
            "peak": result.peak,
            "over_bound": result.peak / bound - 1 if bound else 0.0,
            "ms": 1000 * statistics.median(times),
            "chosen": result.algorithm,
        }
    return row


def table(rows: Sequence[dict]) -> str:
    """One line per model: bound, then peak (+% over bound, ms) per algorithm."""
    head = f"{'model':40s} {'bufs':>4s} {'bound':>8s}" + "".join(f" {n:>24s}" for n in NAMES)
    lines = [head, "-" * len(head)]
    for row in rows:
        cells = []
        for name in NAMES:
            a = row["algorithms"][name]
            cells.append(f" {a['peak']:>8,d} {a['over_bound']:+6.1%} {a['ms']:6.2f}ms")
        lines.append(
            f"{row['model']:40s} {row['buffers']:>4d} {row['lower_bound']:>8,d}" + "".join(cells)
        )
    lines.append(
        "cells: peak bytes, over the lower bound, median time; best picks: "
        + ", ".join(
            f"{row['model'].split('.')[0]}={row['algorithms']['best']['chosen']}" for row in rows
        )
    )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    paths = [pathlib.Path(m) for m in argv[1:]] or [SHARED / m for m in DEFAULT]
    rows = [bench_model(path, _REPEATS.value) for path in paths]
    if _JSON.value:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))


if __name__ == "__main__":
    app.run(main)
