"""Op -> kernel call, for every op of a graph.

Each op kind's lowering lives in engine/lower/ops/ and registers itself with
`@lowering("KIND")` (engine/lower/call.py); importing that package here fills
the registry, so this module is the one place lowerings are looked up.
"""

from __future__ import annotations

import numbers
from typing import Optional

import engine.lower.ops  # noqa: F401  (registers every lowering)
from engine.lower.call import (
    ALIAS_KINDS,
    LOWERINGS,
    Call,
    ConstArray,
    EngineError,
    LowerOptions,
    UnsupportedOp,
)
from tflite_bridge.ir import ABSENT, Graph, Op


def lower(graph: Graph, op: Op, options: LowerOptions = LowerOptions()) -> Call:
    """The kernel call for `op`; UnsupportedOp when nothing handles it."""
    entry = LOWERINGS.get(op.kind)
    if entry is None:
        raise UnsupportedOp(f"no kernel for {op.kind}")
    return entry.lower(graph, op, options)


def supported_kinds() -> frozenset[str]:
    return frozenset(LOWERINGS)


ALIAS_TYPES = "any but float (output type = input type)"
ALIAS_LIMITS = "no code, no copy: the output is the input's bytes"


def op_table() -> tuple[tuple[str, str, str], ...]:
    """(op kind, dtypes, limits) of every op the engine runs, sorted by kind: the registry's
    lowerings and the aliases. `tinyengine ops` prints it; the README holds a copy."""
    rows = [(e.kind, e.dtypes, e.limits) for e in LOWERINGS.values()]
    rows += [(kind, ALIAS_TYPES, ALIAS_LIMITS) for kind in ALIAS_KINDS]
    return tuple(sorted(rows))


_CTYPE_RANGE = {"int8_t": (-(2**7), 2**7 - 1), "uint8_t": (0, 2**8 - 1), "int16_t": (-(2**15), 2**15 - 1),
                "int32_t": (-(2**31), 2**31 - 1)}


def _check_int32_args(call: Call) -> None:
    """Every integer argument is a C int32 and every constant array value fits its type (sizes of a
    hostile model can exceed them; the generated C would silently wrap)."""
    for k, arg in enumerate(call.args):
        if isinstance(arg, numbers.Integral) and not -(2**31) <= int(arg) < 2**31:
            raise UnsupportedOp(f"{call.function} argument {k} = {arg} does not fit in int32")
        if isinstance(arg, ConstArray) and arg.ctype in _CTYPE_RANGE and arg.values:
            lo, hi = _CTYPE_RANGE[arg.ctype]
            if not (lo <= min(arg.values) and max(arg.values) <= hi):
                raise UnsupportedOp(f"{call.function} argument {k}: a value does not fit in {arg.ctype}")


def lower_ops(graph: Graph, options: LowerOptions) -> dict[int, Optional[Call]]:
    """Per op its kernel call (None for an alias op); EngineError lists every op that cannot be lowered."""
    calls: dict[int, Optional[Call]] = {}
    problems = []
    for i, op in enumerate(graph.ops):
        if op.kind in ALIAS_KINDS:
            calls[i] = None
            src = op.input(0)
            out = graph.tensors[op.outputs[0]] if op.outputs else None
            if src == ABSENT or out is None or graph.tensors[src].nbytes != out.nbytes:
                size = "absent" if src == ABSENT else f"{graph.tensors[src].nbytes} bytes"
                problems.append(f"op {i} {op.kind}: input ({size}) and output must hold the same bytes to alias")
            elif graph.tensors[src].dtype != out.dtype:  # TFLM copies the bytes, whatever the quantisation
                problems.append(f"op {i} {op.kind}: input {graph.tensors[src].dtype.name} vs output "
                                f"{out.dtype.name}; an alias keeps the bytes")
            continue
        try:
            calls[i] = lower(graph, op, options)
            _check_int32_args(calls[i])
        except UnsupportedOp as e:
            problems.append(f"op {i} {op.kind} v{op.version}: {e}")
        except (ValueError, ArithmeticError, IndexError, KeyError, TypeError) as e:
            # Parameters no lowering anticipated (fuzz/fuzz_engine.py finds them): still one clear line.
            problems.append(f"op {i} {op.kind} v{op.version}: invalid parameters ({type(e).__name__}: {e})")
    if problems:
        hint = "; `tinyengine ops` lists the supported ops" if any(
            op.kind not in LOWERINGS and op.kind not in ALIAS_KINDS for op in graph.ops) else ""
        raise EngineError(f"{len(problems)} unsupported op(s): " + "; ".join(problems) + hint)
    return calls
