"""Fit the estimator's Cortex-M latency model to exact per-op instruction counts, and report its error.

    python bench/latency_fit.py [--target cortex-m7] [--subnets 40] [--holdout 12] [--json] [--write]

Random subnets (zero weights: the estimator's `subnet_graph`, compiled for the target) and the
shared MLPerf Tiny models run their profile build under QEMU (exact instructions per op). The
model (engine/target/latency.py) is fitted on the shared models and all but `--holdout` subnets;
the table gives predicted vs measured instructions per inference of the held-out subnets.
`--write` stores the model as engine/target/latency_<target>.json (what the estimator reads).
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys

from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from engine.compile import CompileOptions, compile_graph  # noqa: E402
from engine.target import latency  # noqa: E402
from engine.target.on_target import profile_program  # noqa: E402
from mcunet_tf import mlperf  # noqa: E402
from mcunet_tf.config import SearchSpace  # noqa: E402
from mcunet_tf.estimator import subnet_graph  # noqa: E402
from tflite_bridge import read  # noqa: E402

_TARGET = flags.DEFINE_enum("target", "cortex-m7", ["cortex-m4", "cortex-m7"], "core to measure")
_SUBNETS = flags.DEFINE_integer("subnets", 40, "random subnets measured")
_HOLDOUT = flags.DEFINE_integer("holdout", 12, "subnets kept out of the fit to report its error")
_SEED = flags.DEFINE_integer("seed", 0, "subnet sampling seed")
_JSON = flags.DEFINE_bool("json", False, "print JSON instead of a table")
_WRITE = flags.DEFINE_bool("write", False, "write engine/target/latency_<target>.json")

SHARED = mlperf.models_dir()
# Small to mid-size subnets: the budgets this project searches under (tens to hundreds of kB).
SPACES = (
    SearchSpace(width_choices=(0.25, 0.35, 0.5), resolution_choices=(32, 48, 64), num_classes=10),
    SearchSpace(width_choices=(0.5, 0.75), resolution_choices=(80, 96), num_classes=100),
    SearchSpace(width_choices=(0.25, 0.35), resolution_choices=(32,), num_classes=12, input_channels=1),
)


def measured_subnets(target: str, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for k in tqdm(range(count), desc="subnets", file=sys.stderr):
        graph = subnet_graph(SPACES[k % len(SPACES)].sample(rng))
        program = compile_graph(graph, CompileOptions(target=target))
        yield graph, [p.instructions for p in profile_program(program)]


SHARED_MODELS = ("mlperf_kws_ref_model.tflite", "mlperf_vww_96_int8.tflite",
                 "mlperf_ic_pretrainedResnet_quant.tflite", "mlperf_ad01_int8.tflite")


def measured_shared(target: str):
    for name in SHARED_MODELS:
        graph = read((SHARED / name).read_bytes())
        program = compile_graph(graph, CompileOptions(target=target))
        yield f"{name} (fitted)", graph, [p.instructions for p in profile_program(program)]


def main(argv):
    del argv
    target = _TARGET.value
    shared = list(measured_shared(target))
    subnets = list(measured_subnets(target, _SUBNETS.value, _SEED.value))
    train, held = subnets[: -_HOLDOUT.value], subnets[-_HOLDOUT.value:]
    model = latency.fit(target, [(g, c) for _, g, c in shared] + train)
    rows = []
    for name, (graph, counts) in [(n, (g, c)) for n, g, c in shared] + [(f"held-out {i}", s) for i, s in
                                                                          enumerate(held)]:
        measured, predicted = sum(counts), model.instructions(graph)
        rows.append({"model": name, "ops": len(graph.ops), "measured": measured, "predicted": predicted,
                     "error_pct": round(100.0 * (predicted - measured) / measured, 2)})
    errors = [abs(r["error_pct"]) for r in rows if r["model"].startswith("held-out")]
    summary = {"target": target, "fitted_subnets": len(train), "held_out": len(held),
               "held_out_median_abs_error_pct": round(statistics.median(errors), 2),
               "held_out_max_abs_error_pct": round(max(errors), 2), "rows": rows}
    if _WRITE.value:
        path = latency.model_path(target)
        path.write_text(json.dumps(model.as_dict(), indent=1) + "\n")
        summary["written"] = str(path)
    if _JSON.value:
        print(json.dumps(summary, indent=1))
        return
    print(f"{'model':<34} {'ops':>4} {'measured':>13} {'predicted':>13} {'error':>8}")
    for r in rows:
        print(f"{r['model']:<34} {r['ops']:>4} {r['measured']:>13,} {r['predicted']:>13,} {r['error_pct']:>7.2f}%")
    print(f"held-out subnets: median |error| {summary['held_out_median_abs_error_pct']}%, "
          f"max {summary['held_out_max_abs_error_pct']}% ({len(train)} subnets + {len(shared)} shared models fitted)")


if __name__ == "__main__":
    app.run(main)
