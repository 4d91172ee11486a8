"""`tinyengine verify --target cortex-m4|cortex-m7`: the command-line face of check_on_target."""

from __future__ import annotations

import json

import numpy as np

from engine.check.bitexact import first_lines
from engine.target.on_target import TargetReport, check_on_target


def report_dict(report: TargetReport, predictions: int) -> dict:
    exactness = report.exactness
    result = {
        "bit_exact": exactness.bit_exact,
        "samples": exactness.samples,
        "outputs_compared": exactness.outputs_compared,
        "tensors_compared": exactness.tensors_compared,
        "mismatches": len(exactness.mismatches),
        "arena_bytes": exactness.arena_bytes,
        "lower_bound_bytes": exactness.lower_bound_bytes,
        "predictions": [[int(np.argmax(o)) for o in outs] for outs in exactness.outputs[:predictions]],
    }
    result.update(report.as_dict())
    if not report.profile:
        result.pop("profile")
    return result


def print_table(model: str, report: TargetReport) -> None:
    d = report.as_dict()
    exactness = report.exactness
    state = "bit-exact" if exactness.bit_exact else "MISMATCH"
    print(f"{model} on {report.target} (QEMU): {state} with TFLM on {exactness.samples} samples "
          f"({exactness.outputs_compared} outputs, {exactness.tensors_compared} tensors compared)")
    if not exactness.bit_exact:
        print("  " + first_lines(exactness))
    per_mac = f" ({d['instructions_per_mac']} per MAC, {d['macs']:,} MACs)" if d["macs"] else ""
    print(f"  instructions per invoke  {d['instructions']:>12,}{per_mac}")
    print(f"  model Flash (text+data)  {d['flash_bytes']:>12,}   text {d['text_bytes']:,}, data {d['data_bytes']:,}")
    print(f"  model SRAM (data+bss)    {d['sram_bytes']:>12,}   bss {d['bss_bytes']:,} "
          f"(arena {exactness.arena_bytes:,}), "
          f"stack {d['stack_bytes']:,}")
    h = report.harness
    print(f"  harness alone            {h.text + h.data:>12,}   Flash; {h.data + h.bss:,} SRAM (not counted above)")
    for p in report.profile:
        per = f"{p.instructions / p.macs:8.3f}/MAC" if p.macs else ""
        print(f"    op {p.index:3d} {p.kind:<20} {p.instructions:>12,} {per}")


def verify_on_target(args, inputs, options) -> None:
    """Run `tinyengine verify` for a Cortex-M target; exit code 1 on a mismatch."""
    report = check_on_target(args.model, args.target, samples=args.samples, seed=args.seed, inputs=inputs,
                           options=options, profile=args.profile)
    if args.json:
        print(json.dumps(report_dict(report, len(args.input)), indent=2))
    else:
        print_table(args.model, report)
        for path, outs in zip(args.input, report.exactness.outputs):
            print(f"  {path}: top class {[int(np.argmax(o)) for o in outs]}")
    if not report.bit_exact:
        raise SystemExit(1)
