"""Operator reordering benchmark: arena before and after reordering, per model.

    python bench/reorder_bench.py [MODEL.tflite ...] [--json] [--out FILE.json] [--verify]

Models: the shared MLPerf Tiny models (chains and ResNet blocks) and branching
models built here with the real TF converter (parallel conv branches of
different widths, an Inception-like block, SqueezeNet fire modules). Per
model: our planned arena in the stored order and after `CompileOptions
(reorder=True)`, the live-bytes lower bound of each, TFLM's arena on plain
lifetimes (greedy by size), the search's exactness, states and time.
--verify also runs every reordered model bit-exact against TFLM.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time
from collections.abc import Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.compile import CompileOptions, compile_graph
from engine.memory import planner
from engine.memory.lifetimes import TFLM, analyse
from engine.passes import reorder
from mcunet_tf import mlperf
from tflite_bridge import read

_JSON = flags.DEFINE_bool("json", False, "Print JSON to stdout instead of a table.")
_OUT = flags.DEFINE_string("out", None, "Also write the JSON rows to this file.")
_VERIFY = flags.DEFINE_bool(
    "verify", False, "Verify each reordered model bit-exact with TFLM (slower)."
)

SHARED = mlperf.models_dir()
DEFAULT = (
    "mlperf_kws_ref_model.tflite",
    "mlperf_vww_96_int8.tflite",
    "mlperf_ic_pretrainedResnet_quant.tflite",
    "mlperf_ad01_int8.tflite",
)


def _layers():
    import tf_keras as keras

    return keras.layers


def three_branches(x):
    """1x1 convs of 16, 32 and 48 channels on one input, each reduced by a 3x3 conv, concatenated."""
    L = _layers()
    wide = [L.Conv2D(w, 1, activation="relu")(x) for w in (16, 32, 48)]
    return L.Concatenate()([L.Conv2D(8, 3, padding="same")(h) for h in wide])


def inception(x):
    """Two Inception-like blocks: 1x1 | 1x1->3x3 | 1x1->5x5 | maxpool->1x1, concatenated."""
    L = _layers()
    for _ in range(2):
        a = L.Conv2D(16, 1, activation="relu")(x)
        b = L.Conv2D(24, 1, activation="relu")(x)
        c = L.Conv2D(8, 1, activation="relu")(x)
        d = L.MaxPooling2D(3, strides=1, padding="same")(x)
        b = L.Conv2D(16, 3, padding="same", activation="relu")(b)
        c = L.Conv2D(8, 5, padding="same", activation="relu")(c)
        d = L.Conv2D(8, 1, activation="relu")(d)
        x = L.Concatenate()([a, b, c, d])
    return x


def fire(x):
    """Two SqueezeNet fire modules: squeeze 1x1, expand 1x1 | 3x3, concatenated."""
    L = _layers()
    for squeeze, expand in ((8, 32), (12, 48)):
        s = L.Conv2D(squeeze, 1, activation="relu")(x)
        x = L.Concatenate()(
            [
                L.Conv2D(expand, 1, activation="relu")(s),
                L.Conv2D(expand, 3, padding="same", activation="relu")(s),
            ]
        )
    return x


def expand_reduce(x):
    """Four inverted-bottleneck branches (expand 1x1, depthwise 3x3, project 1x1) added together."""
    L = _layers()
    outs = []
    for width in (24, 48, 32, 64):
        h = L.Conv2D(width, 1, activation="relu")(x)
        h = L.DepthwiseConv2D(3, padding="same", activation="relu")(h)
        outs.append(L.Conv2D(8, 1)(h))
    return L.Add()(outs)


BUILT = {
    "three_branches_16x16x8": (three_branches, (16, 16, 8)),
    "inception_2blocks_24x24x16": (inception, (24, 24, 16)),
    "fire_2modules_24x24x16": (fire, (24, 24, 16)),
    "expand_reduce_4x_20x20x8": (expand_reduce, (20, 20, 8)),
}


def built_models() -> dict[str, bytes]:
    from absl import logging

    from tests.oneop import int8_model

    logging.set_verbosity(
        logging.ERROR
    )  # the converter logs every SavedModel step at INFO

    return {
        name: int8_model(fn, [shape], key=f"reorder_bench_{name}")
        for name, (fn, shape) in BUILT.items()
    }


def bench_model(name: str, data: bytes, verify: bool) -> dict:
    """Stored vs reordered arena and bounds, TFLM's greedy arena, the search's work."""
    graph = read(data)
    stored = compile_graph(graph)
    start = time.perf_counter()
    reordered = compile_graph(graph, CompileOptions(reorder=True))
    seconds = time.perf_counter() - start
    found = reorder.search(graph, dict(enumerate(stored.calls)))
    row = {
        "model": name,
        "ops": len(graph.ops),
        "arena_bytes": stored.arena_bytes,
        "lower_bound_bytes": stored.plan.lower_bound,
        "reordered_arena_bytes": reordered.arena_bytes,
        "reordered_lower_bound_bytes": reordered.plan.lower_bound,
        "saved": 1 - reordered.arena_bytes / stored.arena_bytes
        if stored.arena_bytes
        else 0.0,
        "tflm_greedy_bytes": planner.plan(
            analyse(graph, rules=TFLM).buffers, algorithm="greedy_by_size"
        ).peak,
        "order_changed": reordered.graph.ops != stored.graph.ops,
        "search_exact": found.exact,
        "search_states": found.states,
        "compile_seconds": round(seconds, 3),
    }
    if verify:
        from engine.check.bitexact import check_bit_exact

        row["bit_exact"] = check_bit_exact(
            data, samples=3, options=CompileOptions(reorder=True)
        ).bit_exact
    return row


def table(rows: Sequence[dict]) -> str:
    head = (
        f"{'model':40s} {'ops':>4s} {'arena':>8s} {'bound':>8s} {'reord.':>8s} {'bound':>8s} "
        f"{'saved':>6s} {'TFLM':>8s} {'exact':>5s} {'states':>6s} {'s':>6s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['model']:40s} {r['ops']:>4d} {r['arena_bytes']:>8,d} {r['lower_bound_bytes']:>8,d} "
            f"{r['reordered_arena_bytes']:>8,d} {r['reordered_lower_bound_bytes']:>8,d} {r['saved']:>6.1%} "
            f"{r['tflm_greedy_bytes']:>8,d} {'yes' if r['search_exact'] else 'no':>5s} "
            f"{r['search_states']:>6d} {r['compile_seconds']:>6.2f}"
            + (
                ""
                if "bit_exact" not in r
                else f"  {'bit-exact' if r['bit_exact'] else 'MISMATCH'}"
            )
        )
    lines.append(
        "bytes: our arena and its lower bound in the stored order, then after reordering; "
        "TFLM: greedy by size on plain lifetimes; s: compile time with reordering"
    )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    paths = [pathlib.Path(m) for m in argv[1:]] or [SHARED / m for m in DEFAULT]
    models = {p.name: p.read_bytes() for p in paths}
    if len(argv) == 1:
        models.update(built_models())
    rows = [bench_model(name, data, _VERIFY.value) for name, data in models.items()]
    if _OUT.value:
        pathlib.Path(_OUT.value).write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=2) if _JSON.value else table(rows))


if __name__ == "__main__":
    app.run(main)
