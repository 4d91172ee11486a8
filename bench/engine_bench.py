"""Ours vs TFLM on every shared int8 model (and any model given): SRAM, Flash, host latency.

    python bench/engine_bench.py [MODEL.tflite ...] [--repeats R] [--runs K] [--json]

Each latency is the median of R invokes; the whole comparison is repeated K
times in this one process and the median of each figure is reported, with
ratios ours/TFLM and their geometric means.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import sys

from tqdm import tqdm

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.check.bitexact import default_name  # noqa: E402
from engine.check.compare import compare  # noqa: E402
from engine.compile import CompileOptions  # noqa: E402
from mcunet_tf import mlperf  # noqa: E402

SHARED = mlperf.models_dir()
DEFAULT = ["mlperf_kws_ref_model.tflite", "mlperf_vww_96_int8.tflite",
           "mlperf_ic_pretrainedResnet_quant.tflite", "mlperf_ad01_int8.tflite"]


def measure(path: pathlib.Path, repeats: int, runs: int) -> dict:
    results = [compare(path, samples=3, repeats=repeats, options=CompileOptions(name=default_name(path))).as_dict()
               for _ in range(runs)]
    row = dict(results[0])
    for key in ("host_latency_us", "tflm_latency_us"):
        row[key] = statistics.median(r[key] for r in results)
    row["latency_ratio"] = row["host_latency_us"] / row["tflm_latency_us"]
    row["bit_exact"] = all(r["bit_exact"] for r in results)
    row["model"] = path.name
    return row


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="*")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    paths = [pathlib.Path(m) for m in args.models] or [SHARED / m for m in DEFAULT]
    rows = [measure(path, args.repeats, args.runs) for path in tqdm(paths, desc="models", file=sys.stderr)]
    summary = {
        "geomean_arena_ratio": geomean(r["arena_ratio"] for r in rows),
        "geomean_latency_ratio": geomean(r["latency_ratio"] for r in rows),
        "all_bit_exact": all(r["bit_exact"] for r in rows),
    }
    if args.json:
        print(json.dumps({"models": rows, "summary": summary}, indent=2))
        return
    head = f"{'model':<42}{'exact':>6}{'arena':>9}{'bound':>9}{'TFLM':>9}{'ratio':>7}" \
           f"{'weights':>9}{'code':>8}{'ours us':>10}{'TFLM us':>10}{'ratio':>7}"
    print(head)
    for r in rows:
        print(f"{r['model']:<42}{'yes' if r['bit_exact'] else 'NO':>6}{r['arena_bytes']:>9}"
              f"{r['lower_bound_bytes']:>9}{r['tflm_arena_bytes']:>9}{r['arena_ratio']:>7.3f}"
              f"{r['weight_bytes']:>9}{r['code_bytes']:>8}{r['host_latency_us']:>10.1f}"
              f"{r['tflm_latency_us']:>10.1f}{r['latency_ratio']:>7.3f}")
    print(f"geomean arena ratio {summary['geomean_arena_ratio']:.3f}, "
          f"geomean latency ratio {summary['geomean_latency_ratio']:.3f}, "
          f"all bit-exact: {summary['all_bit_exact']}")


if __name__ == "__main__":
    main()
