"""Checks of a model before lowering: what no kernel can run, and float models.

Each raises one EngineError that lists every problem found (up to six), quoting the values.
"""

from __future__ import annotations

import math

from engine.lower.call import EngineError
from engine.lower.quant import QRANGE
from tflite_bridge.ir import ABSENT, DType, Graph

_EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


def check_tensors(graph: Graph) -> None:
    """Reject what no kernel can run: empty tensors, non-finite or negative scales, zero activation
    scales, activation zero points outside their type (TFLM's Prepare fails or misbehaves on each)."""
    used = {t for op in graph.ops for t in op.inputs + op.outputs if t != ABSENT}
    problems = []
    for tid in sorted(used | set(graph.inputs) | set(graph.outputs)):
        t = graph.tensors[tid]
        where = f"tensor {tid} ({t.name!r})"
        if any(d < 1 for d in t.shape):
            problems.append(f"{where} has shape {list(t.shape)}")
        q = t.quant
        if q is None or not q.scale:
            continue
        bad = [s for s in q.scale if not math.isfinite(s) or s < 0 or (s == 0 and t.buffer is None)]
        if bad:
            problems.append(f"{where} has scale {bad[0]}")
        lo, hi = QRANGE.get(t.dtype, (None, None))
        if t.buffer is None and lo is not None and any(not lo <= z <= hi for z in q.zero_point):
            problems.append(f"{where} has zero point {list(q.zero_point)} outside {t.dtype.name}")
    if problems:
        more = f" and {len(problems) - 6} more" if len(problems) > 6 else ""
        raise EngineError("invalid model: " + "; ".join(problems[:6]) + more)


def check_quantized(graph: Graph) -> None:
    """Reject float models, naming the float tensors that compute ops read or write.

    Float is allowed only at the edges: the input of QUANTIZE and the output of
    DEQUANTIZE (a full-int8 model converted with float input/output).
    """
    floats = []
    for i, op in enumerate(graph.ops):
        for t in op.inputs + op.outputs:
            if t == ABSENT:
                continue
            tensor = graph.tensors[t]
            if tensor.dtype in (DType.FLOAT32, DType.FLOAT16) and op.kind not in _EDGE_OPS:
                floats.append(f"{tensor.name!r} ({op.kind} #{i})")
    if floats:
        shown = ", ".join(floats[:6])
        more = f" and {len(floats) - 6} more" if len(floats) > 6 else ""
        raise EngineError(
            f"float model: the engine runs int8 models, but float tensors feed compute ops: "
            f"{shown}{more}; quantise it to full int8 first"
        )
