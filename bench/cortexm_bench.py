"""Emulated Cortex-M4 and M7 (QEMU mps2-an386 / mps2-an500): instructions per MAC, Flash and SRAM.

    python bench/cortexm_bench.py [MODEL.tflite ...] [--targets cortex-m4,cortex-m7] [--samples N] [--json]
                                  [--nombv2]

For every shared int8 model (or those given) plus an MCUNet-style model
(keras MobileNetV2 alpha=0.35 at 144x144, full int8, He-initialised weights:
tests/patch/models.py, its conversion cached on disk), and every target: exact
instructions per invoke (QEMU -icount shift=0, deterministic), instructions per
MAC, the model's own Flash (text + data) and SRAM (data + bss) from the linked
ELF with the bench harness's share taken out, the stack below invoke, and
TFLM's arena (PyPI runtime, x86-64) beside our SRAM. Each row is also checked
bit-exact with TFLM on N samples; the instruction count is sample 0's.
"""

from __future__ import annotations

import json
import pathlib
import sys
import tempfile
from collections.abc import Sequence

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.check.bitexact import default_name
from engine.check.tflm import Tflm
from engine.compile import CompileOptions
from engine.target.on_target import check_on_target
from mcunet_tf import mlperf

SHARED = mlperf.models_dir()
DEFAULT = ["mlperf_kws_ref_model.tflite", "mlperf_vww_96_int8.tflite",
           "mlperf_ic_pretrainedResnet_quant.tflite", "mlperf_ad01_int8.tflite"]

_TARGETS = flags.DEFINE_list("targets", ["cortex-m4", "cortex-m7"], "targets to measure")
_SAMPLES = flags.DEFINE_integer("samples", 2, "random samples checked against TFLM per row")
_JSON = flags.DEFINE_bool("json", False, "print JSON instead of a table")
_PROFILE = flags.DEFINE_bool("profile", True, "instructions per op kind (one more build per row)")
_MBV2 = flags.DEFINE_bool("mbv2", True, "also measure MobileNetV2 alpha=0.35 at 144x144 (shared models only)")
MBV2_NAME = "keras_mobilenetv2_0.35_144_int8.tflite"


def mbv2_path(folder: pathlib.Path) -> pathlib.Path:
    """The MCUNet-style MobileNetV2 written into `folder` (converted once, then cached by tests/oneop.py)."""
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from tests.patch.models import mobilenet_v2

    path = folder / MBV2_NAME
    path.write_bytes(mobilenet_v2())
    return path


def measure(path: pathlib.Path, target: str, samples: int) -> dict:
    """One row: our figures on `target` beside TFLM's arena."""
    report = check_on_target(path, target, samples=samples, options=CompileOptions(name=default_name(path)),
                           profile=_PROFILE.value)
    d = report.as_dict()
    d.pop("profile")
    d["per_kind"] = per_kind(report.profile or ())
    d.update(model=path.name, bit_exact=report.bit_exact, arena_bytes=report.exactness.arena_bytes,
             lower_bound_bytes=report.exactness.lower_bound_bytes,
             tflm_arena_bytes=Tflm(path.read_bytes()).arena().get("total", 0))
    return d


def per_kind(profile) -> dict:
    """Instructions, MACs and instructions per MAC of each op kind, from a per-op profile."""
    kinds: dict = {}
    for op in profile:
        k = kinds.setdefault(op.kind, {"instructions": 0, "macs": 0})
        k["instructions"] += op.instructions
        k["macs"] += op.macs
    for k in kinds.values():
        k["instructions_per_mac"] = round(k["instructions"] / k["macs"], 3) if k["macs"] else None
    return kinds


def _kind_ipm(r: dict, kind: str) -> str:
    v = r.get("per_kind", {}).get(kind, {}).get("instructions_per_mac")
    return f"{v:.2f}" if v else "-"


def table(rows: list[dict]) -> str:
    head = (f"{'model':<42} {'target':<10} {'exact':<5} {'instructions':>13} {'MACs':>11} {'instr/MAC':>9} "
            f"{'conv':>5} {'dw':>5} {'fc':>5} {'Flash':>9} {'SRAM':>8} {'bound':>8} {'stack':>6} {'TFLM arena':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        per_mac = f"{r['instructions_per_mac']:.3f}" if r["instructions_per_mac"] else "-"
        lines.append(f"{r['model']:<42} {r['target']:<10} {'yes' if r['bit_exact'] else 'NO':<5} "
                     f"{r['instructions']:>13,} {r['macs']:>11,} {per_mac:>9} {_kind_ipm(r, 'CONV_2D'):>5} "
                     f"{_kind_ipm(r, 'DEPTHWISE_CONV_2D'):>5} {_kind_ipm(r, 'FULLY_CONNECTED'):>5} "
                     f"{r['flash_bytes']:>9,} "
                     f"{r['sram_bytes']:>8,} {r['lower_bound_bytes']:>8,} {r['stack_bytes']:>6,} "
                     f"{r['tflm_arena_bytes']:>10,}")
    lines.append("conv / dw / fc = instructions per MAC of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED ops; "
                 "Flash = model text + data, SRAM = model data + bss (the arena), both without the bench "
                 "harness; bound = the live-bytes lower bound of the arena; stack is extra; TFLM arena from "
                 "the PyPI runtime (x86-64).")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="te_bench_") as tmp:
        paths = [pathlib.Path(a) for a in argv[1:]]
        if not paths:
            paths = [SHARED / m for m in DEFAULT] + ([mbv2_path(pathlib.Path(tmp))] if _MBV2.value else [])
        rows = [measure(p, t, _SAMPLES.value) for p in paths for t in _TARGETS.value]
    print(json.dumps(rows, indent=2) if _JSON.value else table(rows))
    if not all(r["bit_exact"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
