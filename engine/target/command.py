"""`tinyengine verify --target cortex-m4|cortex-m7`: the command-line face of verify_target."""

from __future__ import annotations

import json

import numpy as np

from engine.check.bitexact import first_lines
from engine.target.on_target import TargetReport, verify_target


def report_dict(report: TargetReport, predictions: int) -> dict:
    v = report.verify
    result = {
        "bit_exact": v.bit_exact,
        "samples": v.samples,
        "outputs_compared": v.outputs_compared,
        "tensors_compared": v.tensors_compared,
        "mismatches": len(v.mismatches),
        "arena_bytes": v.arena_bytes,
        "lower_bound_bytes": v.lower_bound_bytes,
        "predictions": [[int(np.argmax(o)) for o in outs] for outs in v.outputs[:predictions]],
    }
    result.update(report.as_dict())
    if not report.profile:
        result.pop("profile")
    return result


def print_table(model: str, report: TargetReport) -> None:
    d = report.as_dict()
    v = report.verify
    state = "bit-exact" if v.bit_exact else "MISMATCH"
    print(f"{model} on {report.target} (QEMU): {state} with TFLM on {v.samples} samples "
          f"({v.outputs_compared} outputs, {v.tensors_compared} tensors compared)")
    if not v.bit_exact:
        print("  " + first_lines(v))
    per_mac = f" ({d['instructions_per_mac']} per MAC, {d['macs']:,} MACs)" if d["macs"] else ""
    print(f"  instructions per invoke  {d['instructions']:>12,}{per_mac}")
    print(f"  model Flash (text+data)  {d['flash_bytes']:>12,}   text {d['text_bytes']:,}, data {d['data_bytes']:,}")
    print(f"  model SRAM (data+bss)    {d['sram_bytes']:>12,}   bss {d['bss_bytes']:,} (arena {v.arena_bytes:,}), "
          f"stack {d['stack_bytes']:,}")
    h = report.harness
    print(f"  harness alone            {h.text + h.data:>12,}   Flash; {h.data + h.bss:,} SRAM (not counted above)")
    for p in report.profile:
        per = f"{p.instructions / p.macs:8.3f}/MAC" if p.macs else ""
        print(f"    op {p.index:3d} {p.kind:<20} {p.instructions:>12,} {per}")


def verify_on_target(args, inputs, options) -> None:
    """Run `tinyengine verify` for a Cortex-M target; exit code 1 on a mismatch."""
    report = verify_target(args.model, args.target, samples=args.samples, seed=args.seed, inputs=inputs,
                           options=options, profile=args.profile)
    if args.json:
        print(json.dumps(report_dict(report, len(args.input)), indent=2))
    else:
        print_table(args.model, report)
        for path, outs in zip(args.input, report.verify.outputs):
            print(f"  {path}: top class {[int(np.argmax(o)) for o in outs]}")
    if not report.bit_exact:
        raise SystemExit(1)
