"""Emulated Cortex-M4 and M7 (QEMU mps2-an386 / mps2-an500): instructions per MAC, Flash and SRAM.

    python bench/cortexm_bench.py [MODEL.tflite ...] [--targets cortex-m4,cortex-m7] [--samples N] [--json]

For every shared int8 model (or those given) and every target: exact
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
from collections.abc import Sequence

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.compile import CompileOptions
from engine.target.verify import verify_target
from engine.tflm import Tflm
from engine.verify import default_name

SHARED = ROOT.parent / "shared" / "models"
DEFAULT = ["mlperf_kws_ref_model.tflite", "mlperf_vww_96_int8.tflite",
           "mlperf_ic_pretrainedResnet_quant.tflite", "mlperf_ad01_int8.tflite"]

_TARGETS = flags.DEFINE_list("targets", ["cortex-m4", "cortex-m7"], "targets to measure")
_SAMPLES = flags.DEFINE_integer("samples", 2, "random samples checked against TFLM per row")
_JSON = flags.DEFINE_bool("json", False, "print JSON instead of a table")


def measure(path: pathlib.Path, target: str, samples: int) -> dict:
    """One row: our figures on `target` beside TFLM's arena."""
    report = verify_target(path, target, samples=samples, options=CompileOptions(name=default_name(path)))
    d = report.as_dict()
    d.pop("profile")
    d.update(model=path.name, bit_exact=report.bit_exact, arena_bytes=report.verify.arena_bytes,
             tflm_arena_bytes=Tflm(path.read_bytes()).arena().get("total", 0))
    return d


def table(rows: list[dict]) -> str:
    head = (f"{'model':<42} {'target':<10} {'exact':<5} {'instructions':>13} {'MACs':>11} {'instr/MAC':>9} "
            f"{'Flash':>9} {'SRAM':>8} {'stack':>6} {'TFLM arena':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        per_mac = f"{r['instructions_per_mac']:.3f}" if r["instructions_per_mac"] else "-"
        lines.append(f"{r['model']:<42} {r['target']:<10} {'yes' if r['bit_exact'] else 'NO':<5} "
                     f"{r['instructions']:>13,} {r['macs']:>11,} {per_mac:>9} {r['flash_bytes']:>9,} "
                     f"{r['sram_bytes']:>8,} {r['stack_bytes']:>6,} {r['tflm_arena_bytes']:>10,}")
    lines.append("Flash = model text + data, SRAM = model data + bss (the arena), both without the bench "
                 "harness; stack is extra; TFLM arena from the PyPI runtime (x86-64).")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    paths = [pathlib.Path(a) for a in argv[1:]] or [SHARED / m for m in DEFAULT]
    rows = [measure(p, t, _SAMPLES.value) for p in paths for t in _TARGETS.value]
    print(json.dumps(rows, indent=2) if _JSON.value else table(rows))
    if not all(r["bit_exact"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
