"""`tinyengine`: convert, verify and compare int8 TFLite models.

    tinyengine convert MODEL.tflite --out DIR [--name NAME]
    tinyengine verify MODEL.tflite [--samples N] [--input X.npy ...] [--json]
    tinyengine compare MODEL.tflite [--samples N] [--repeats R] [--json] [--plot OUT.png]
    tinyengine plan-tflm MODEL.tflite --out PLANNED.tflite [--json]
    tinyengine ops [--json]

convert/verify/compare take --reorder (run branches in the order with the lowest
peak, engine/passes/reorder.py).

Every failure is one line `error: ...` on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

from engine import codegen
from engine.check.build import BuildError
from engine.compile import CompileOptions, EngineError, compile_graph
from engine.target import cortexm
from engine.target.cortexm import TARGET_NAMES
from tflite_bridge import BridgeError, read


class CliError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one `error:` line and exit code 2."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tinyengine", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("plan-tflm", help="embed our memory plan in the model for TFLM")
    s.add_argument("model", help="a .tflite file")
    s.add_argument("--out", required=True, help="the planned .tflite to write")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("ops", help="the supported ops: types and limits (from the lowering registry)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    for name in ("convert", "verify", "compare"):
        s = sub.add_parser(name)
        s.add_argument("model", help="an int8 .tflite file")
        s.add_argument("--name", help="C identifier prefix of the generated API (default: from the file name)")
        s.add_argument("--no-inplace", action="store_true", help="disable in-place kernels")
        s.add_argument("--reorder", action="store_true", help="run the ops in the order with the lowest peak")
        s.add_argument("--target", default="host", choices=TARGET_NAMES,
                       help="code generation target; Cortex-M targets add a QEMU bench harness in harness/")
        s.add_argument("--patch", action="store_true", help="run the first layers patch by patch (MCUNetV2); "
                       "the input is read from the caller's buffer: <name>_invoke_from(frame)")
        s.add_argument("--patch-input-in-arena", action="store_true", help="with --patch: keep the input in the arena")
        s.add_argument("--max-extra-macs", type=float, default=0.2, help="with --patch: recompute limit (0.2 = 20%%)")
        if name == "convert":
            s.add_argument("--out", required=True, help="folder to write the C project into")
        else:
            s.add_argument("--samples", type=int, default=10, help="seeded random inputs to compare")
            s.add_argument("--seed", type=int, default=0)
            s.add_argument("--input", action="append", default=[], help="an input .npy (repeatable)")
            s.add_argument("--json", action="store_true", help="print JSON instead of a table")
        if name == "verify":
            s.add_argument("--profile", action="store_true", help="Cortex-M targets: instructions per op")
        if name == "compare":
            s.add_argument("--repeats", type=int, default=20, help="invokes per latency median")
            s.add_argument("--plot", help="write the per-op memory plot (PNG) to this path")
    return p


def _options(args) -> CompileOptions:
    from engine.check.bitexact import default_name
    from engine.patch.analysis import PatchOptions

    name = args.name or default_name(args.model)
    patch = None
    if args.patch:
        patch = PatchOptions(max_extra_macs=args.max_extra_macs, input_in_arena=args.patch_input_in_arena)
    return CompileOptions(name=name, inplace=not args.no_inplace, target=args.target, patch=patch,
                          reorder=args.reorder)


def _inputs(args, graph) -> list[list[np.ndarray]]:
    if len(graph.inputs) != 1 and args.input:
        raise CliError("--input takes one .npy per sample, which needs a single-input model")
    samples = []
    for path in args.input:
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CliError(f"{path}: cannot load .npy: {e}") from None
        t = graph.tensors[graph.inputs[0]]
        if x.size != t.num_elements or x.dtype != t.dtype.numpy:
            raise CliError(f"{path}: {x.dtype}{list(x.shape)} does not match input {t.name!r} "
                           f"{t.dtype.numpy}{list(t.shape)}")
        samples.append([x.reshape(t.shape)])
    return samples


def convert(args) -> None:
    program = compile_graph(read(args.model), _options(args))
    out = codegen.write_folder(cortexm.render(program), args.out)
    print(f"wrote {out}: arena {program.arena_bytes} bytes (lower bound {program.plan.lower_bound}, "
          f"planner {program.plan.algorithm}), weights {program.weight_bytes} bytes, {len(program.graph.ops)} ops")


def verify_cmd(args) -> None:
    from engine.check.bitexact import check_bit_exact, first_lines

    graph = read(args.model)
    if args.target != "host":
        from engine.target.command import verify_on_target

        return verify_on_target(args, _inputs(args, graph), _options(args))
    report = check_bit_exact(args.model, samples=args.samples, seed=args.seed, inputs=_inputs(args, graph),
                          options=_options(args))
    result = {
        "bit_exact": report.bit_exact,
        "samples": report.samples,
        "outputs_compared": report.outputs_compared,
        "tensors_compared": report.tensors_compared,
        "mismatches": len(report.mismatches),
        "arena_bytes": report.arena_bytes,
        "lower_bound_bytes": report.lower_bound_bytes,
        "predictions": [[int(np.argmax(o)) for o in outs] for outs in report.outputs[: len(args.input)]],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        state = "bit-exact" if report.bit_exact else "MISMATCH"
        print(f"{args.model}: {state} with TFLM on {report.samples} samples "
              f"({report.outputs_compared} outputs, {report.tensors_compared} tensors compared)")
        if not report.bit_exact:
            print("  " + first_lines(report))
        for path, pred in zip(args.input, result["predictions"]):
            print(f"  {path}: top class {pred}")
    if not report.bit_exact:
        raise SystemExit(1)


def compare_cmd(args) -> None:
    from engine.check.compare import compare

    if args.target != "host":
        raise CliError(f"compare measures on the host; for {args.target} use: tinyengine verify --target {args.target}")
    graph = read(args.model)
    c = compare(args.model, samples=args.samples, seed=args.seed, repeats=args.repeats,
                options=_options(args), inputs=_inputs(args, graph))
    d = c.as_dict()
    if args.plot:
        d["plot"] = str(_write_plot(graph, _options(args), args.plot, c.tflm_arena_head_bytes))
    if args.json:
        print(json.dumps(d, indent=2))
        return
    rows = [
        ("bit-exact with TFLM", "yes" if c.bit_exact else "NO", f"{c.tensors_compared} tensors compared"),
        ("SRAM: arena bytes", f"{c.arena_bytes:,}", f"TFLM {c.tflm_arena_bytes:,} (head {c.tflm_arena_head_bytes:,})"),
        ("  plain lower bound", f"{c.lower_bound_bytes:,}", ""),
        ("  after reordering", f"{c.reordered_arena_bytes:,}", "(--reorder)"),
        ("Flash: weight bytes", f"{c.weight_bytes:,}", ""),
        ("  code bytes (.text)", f"{c.code_bytes:,}", f"constants (.rodata) {c.const_bytes:,}"),
        ("host latency (median)", f"{c.host_latency_us:,.1f} us", f"TFLM {c.tflm_latency_us:,.1f} us"),
        ("ratios ours/TFLM", f"arena {d['arena_ratio']}", f"latency {d['latency_ratio']}"),
    ]
    print(f"{args.model} ({c.macs:,} MACs)")
    for label, ours, other in rows:
        print(f"  {label:<24} {ours:>16}   {other}")
    if args.plot:
        print(f"  wrote memory plot {d['plot']}")


def _write_plot(graph, options: CompileOptions, path: str, tflm_head: int) -> pathlib.Path:
    """The per-op memory report of `graph` as a PNG (engine/check/memory_report.py)."""
    from engine.check import memory_report

    report = memory_report.memory_report(graph, options, tflm_measured=tflm_head or None)
    return memory_report.plot(report, path, title=f"{options.name}: activation memory live at each op")


def plan_tflm(args) -> None:
    """Write the model with our offline plan; measure TFLM's arena before and after."""
    from engine.check.tflm import Tflm
    from engine.memory.tflm_plan import planned_model

    source = pathlib.Path(args.model).read_bytes()
    planned, tplan = planned_model(read(source))
    out = pathlib.Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(planned)
    tmp.replace(out)
    before, after = Tflm(source).arena(), Tflm(planned).arena()
    result = {"plan_peak_bytes": tplan.peak, "lower_bound_bytes": tplan.lower_bound,
              "tflm_arena_bytes": before.get("total"), "tflm_head_bytes": before.get("head"),
              "planned_tflm_arena_bytes": after.get("total"), "planned_tflm_head_bytes": after.get("head")}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"wrote {out}: our plan {tplan.peak:,} bytes (lower bound {tplan.lower_bound:,}); TFLM arena "
          f"{result['tflm_arena_bytes']:,} -> {result['planned_tflm_arena_bytes']:,} bytes "
          f"(head {result['tflm_head_bytes']:,} -> {result['planned_tflm_head_bytes']:,})")


def ops_markdown() -> str:
    """The supported-op table as Markdown, one row per op kind (README.md holds a copy)."""
    from engine.lower.lowering import op_table

    lines = ["| op | types | limits |", "|---|---|---|"]
    lines += [f"| {kind} | {dtypes} | {limits or '-'} |" for kind, dtypes, limits in op_table()]
    return "\n".join(lines) + "\n"


def ops_cmd(args) -> None:
    from engine.lower.lowering import op_table

    if args.json:
        rows = [{"op": kind, "types": dtypes, "limits": limits} for kind, dtypes, limits in op_table()]
        print(json.dumps(rows, indent=2))
    else:
        print(ops_markdown(), end="")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    commands = {"convert": convert, "verify": verify_cmd, "compare": compare_cmd, "plan-tflm": plan_tflm,
                "ops": ops_cmd}
    try:
        commands[args.command](args)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except (BridgeError, EngineError, BuildError, CliError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    sys.exit(main())
