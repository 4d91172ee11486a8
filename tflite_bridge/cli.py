"""`tflite-bridge MODEL.tflite`: print a model's ops, shapes, quantisation and costs.

A readable per-op table by default, JSON with `--json`. A file that is not a
readable, valid TFLite model gives one `error: ...` line on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tflite_bridge import analysis
from tflite_bridge.ir import ABSENT, BridgeError, Graph, Tensor, verify
from tflite_bridge.reader import read

EXIT_BAD_INPUT = 2

_SHORT_DTYPES = {
    "INT8": "i8",
    "UINT8": "u8",
    "INT16": "i16",
    "INT32": "i32",
    "INT64": "i64",
    "FLOAT32": "f32",
    "FLOAT16": "f16",
    "BOOL": "bool",
}


def run() -> None:
    """Console-script entry point (setup.py: tflite_bridge.cli:run)."""
    sys.exit(main(sys.argv[1:]))


def main(argv: Sequence[str]) -> int:
    """Parse `argv`, print the report for the model; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="tflite-bridge",
        description="Per-op summary of a .tflite model: shapes, quantisation, MACs, memory.",
    )
    parser.add_argument("model", help="path to a .tflite file")
    parser.add_argument(
        "--json", action="store_true", help="print JSON instead of a table"
    )
    args = parser.parse_args(argv)
    try:
        graph = read(args.model)
        verify(graph)
        report = summarise(graph)
    except BridgeError as e:
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0


def summarise(graph: Graph) -> dict:
    """The report as plain data (the `--json` output).

    Raises:
        BridgeError: a size or MAC count cannot be computed (unknown-size dtype,
            a weight operand of the wrong rank).
    """
    live = analysis.live_bytes_per_op(graph)
    ops = [
        {
            "index": i,
            "op": op.kind,
            "version": op.version,
            "inputs": list(op.inputs),
            "outputs": list(op.outputs),
            "macs": analysis.op_macs(graph, i),
            "weight_bytes": analysis.op_weight_bytes(graph, i),
            "activation_bytes": analysis.op_activation_bytes(graph, i),
            "live_bytes": live[i],
        }
        for i, op in enumerate(graph.ops)
    ]
    return {
        "name": graph.name,
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "ops": ops,
        "tensors": [_tensor_json(t) for t in graph.tensors],
        "macs": sum(o["macs"] for o in ops),
        "weight_bytes": analysis.total_weight_bytes(graph),
        "activation_lower_bound_bytes": analysis.activation_lower_bound(graph),
    }


def _tensor_json(t: Tensor) -> dict:
    quant = None
    if t.quant is not None:
        quant = {
            "scale": list(t.quant.scale),
            "zero_point": list(t.quant.zero_point),
            "axis": t.quant.axis,
        }
    return {
        "id": t.id,
        "name": t.name,
        "shape": list(t.shape),
        "dtype": t.dtype.name,
        "constant": t.is_constant,
        "variable": t.is_variable,
        "quant": quant,
    }


def format_table(report: dict) -> str:
    """The report as an aligned text table with a totals line."""
    tensors = report["tensors"]
    header = (
        "#",
        "op",
        "v",
        "inputs",
        "outputs",
        "quant (in / weights / out)",
        "MACs",
        "weight B",
        "live B",
    )
    rows = [header]
    for o in report["ops"]:
        rows.append(
            (
                str(o["index"]),
                o["op"],
                str(o["version"]),
                ", ".join(_tensor_cell(tensors, t) for t in o["inputs"]),
                ", ".join(_tensor_cell(tensors, t) for t in o["outputs"]),
                _quant_cell(tensors, o),
                f"{o['macs']:,}",
                f"{o['weight_bytes']:,}",
                f"{o['live_bytes']:,}",
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    numeric = {0, 2, 6, 7, 8}
    lines = [
        "  ".join(
            cell.rjust(w) if c in numeric else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(
        f"total: {len(report['ops'])} ops, {report['macs']:,} MACs, {report['weight_bytes']:,} weight bytes, "
        f"activation lower bound {report['activation_lower_bound_bytes']:,} bytes"
    )
    return "\n".join(lines)


def _tensor_cell(tensors: list, tid: int) -> str:
    if tid == ABSENT:
        return "-"
    t = tensors[tid]
    shape = "x".join(str(d) for d in t["shape"]) or "scalar"
    return f"{shape} {_SHORT_DTYPES.get(t['dtype'], t['dtype'].lower())}{'*' if t['constant'] else ''}"


def _quant_cell(tensors: list, op: dict) -> str:
    ins = [tensors[t] for t in op["inputs"] if t != ABSENT]
    act = next((t for t in ins if not t["constant"]), None)
    weight = next((t for t in ins if t["constant"]), None)
    out = tensors[op["outputs"][0]] if op["outputs"] else None
    return " / ".join(_quant_text(t) for t in (act, weight, out))


def _quant_text(t: dict | None) -> str:
    if t is None or t["quant"] is None:
        return "-"
    q = t["quant"]
    if q["axis"] is not None:
        return f"per-ch[axis {q['axis']}] x{len(q['scale'])}"
    return f"{q['scale'][0]:.6g}@{q['zero_point'][0]}"


def _one_line(message: str) -> str:
    return " ".join(message.split())
