"""Static costs of a graph: MACs, weight bytes, activation lifetimes and live bytes.

Everything here reads the graph as stored: ops run in their stored order, no
tensor aliases another, no op works in place. That makes
`activation_lower_bound` the "plain" bound any planner for this op order must
meet: at the busiest step every live tensor needs its own bytes.

Sizes use Python integers (never numpy's int64), so absurd shapes in a hostile
file give large numbers, not silent overflow.
"""

from __future__ import annotations

import dataclasses
import math

from tflite_bridge.ir import ABSENT, BridgeError, Graph, Op, Tensor


@dataclasses.dataclass(frozen=True)
class Lifetime:
    """A non-constant tensor live from op step `first` to `last`, inclusive."""

    tensor: int
    first: int
    last: int
    nbytes: int

    def live_at(self, step: int) -> bool:
        return self.first <= step <= self.last


def tensor_bytes(t: Tensor) -> int:
    """Bytes of `t`'s data, as an exact Python integer."""
    try:
        itemsize = t.dtype.itemsize
    except BridgeError:
        raise BridgeError(
            f"tensor {t.id} ({t.name!r}) is {t.dtype.name}, whose size is unknown"
        ) from None
    return math.prod(t.shape) * itemsize


def op_macs(graph: Graph, index: int) -> int:
    """Multiply-accumulates of op `index`; 0 for ops that do none.

    CONV_2D: out_elems * kh * kw * cin; DEPTHWISE_CONV_2D: out_elems * kh * kw;
    FULLY_CONNECTED: out_elems * in_features; TRANSPOSE_CONV: in_elems * kh *
    kw * cout (each input element is scattered over a kh x kw x cout patch);
    BATCH_MATMUL: out_elems * the contracted extent.
    """
    op = graph.ops[index]
    if op.kind not in _MAC_RULES:
        return 0
    operand_index, rank, rule = _MAC_RULES[op.kind]
    operand = _operand(graph, index, operand_index, rank)
    out_elems = math.prod(graph.tensors[op.outputs[0]].shape) if op.outputs else 0
    return rule(graph, op, operand.shape, out_elems)


def _transpose_conv_macs(graph: Graph, op: Op, w: tuple, out_elems: int) -> int:
    data = op.input(2)
    in_elems = math.prod(graph.tensors[data].shape) if data != ABSENT else 0
    return in_elems * w[1] * w[2] * w[0]


def _batch_matmul_macs(graph: Graph, op: Op, lhs: tuple, out_elems: int) -> int:
    contracted = lhs[-2] if op.attrs.adj_x else lhs[-1]
    return out_elems * contracted


# kind -> (input index of the operand that fixes the MACs, its minimum rank, rule)
_MAC_RULES = {
    "CONV_2D": (1, 4, lambda g, op, w, n: n * w[1] * w[2] * w[3]),
    "DEPTHWISE_CONV_2D": (1, 4, lambda g, op, w, n: n * w[1] * w[2]),
    "FULLY_CONNECTED": (1, 2, lambda g, op, w, n: n * w[-1]),
    "TRANSPOSE_CONV": (1, 4, _transpose_conv_macs),
    "BATCH_MATMUL": (0, 2, _batch_matmul_macs),
}


def _operand(graph: Graph, index: int, i: int, rank: int) -> Tensor:
    op = graph.ops[index]
    tid = op.input(i)
    if tid == ABSENT:
        raise BridgeError(f"op {index} ({op.kind}) has no input {i}")
    t = graph.tensors[tid]
    if len(t.shape) < rank:
        raise BridgeError(
            f"op {index} ({op.kind}) input {i} ({t.name!r}) has shape {list(t.shape)}, "
            f"expected rank >= {rank}"
        )
    return t


def _distinct_inputs(op: Op) -> list[int]:
    return list(dict.fromkeys(t for t in op.inputs if t != ABSENT))


def op_weight_bytes(graph: Graph, index: int) -> int:
    """Bytes of the constant tensors op `index` reads (each counted once)."""
    return sum(
        tensor_bytes(graph.tensors[t])
        for t in _distinct_inputs(graph.ops[index])
        if graph.tensors[t].is_constant
    )


def op_activation_bytes(graph: Graph, index: int) -> int:
    """Bytes of op `index`'s non-constant inputs plus its outputs."""
    op = graph.ops[index]
    ids = [t for t in _distinct_inputs(op) if not graph.tensors[t].is_constant]
    ids += [t for t in op.outputs if t not in ids]
    return sum(tensor_bytes(graph.tensors[t]) for t in ids)


def total_weight_bytes(graph: Graph) -> int:
    """Bytes of all constant tensors ops read, each constant counted once."""
    used = {t for op in graph.ops for t in op.inputs if t != ABSENT}
    return sum(tensor_bytes(t) for t in graph.tensors if t.is_constant and t.id in used)


def total_macs(graph: Graph) -> int:
    return sum(op_macs(graph, i) for i in range(len(graph.ops)))


def lifetimes(graph: Graph) -> tuple[Lifetime, ...]:
    """Lifetimes of the non-constant tensors, in op steps, sorted by tensor id.

    Graph inputs are live from step 0, graph outputs until the last step, and
    a tensor from its producer's step to its last consumer's step inclusive.
    Variable tensors hold state across invocations, so they live throughout.
    """
    last_step = max(len(graph.ops) - 1, 0)
    first: dict[int, int] = {t: 0 for t in graph.inputs}
    last: dict[int, int] = {t: 0 for t in graph.inputs}
    for step, op in enumerate(graph.ops):
        for t in op.inputs:
            if t != ABSENT and not graph.tensors[t].is_constant:
                first.setdefault(t, step)  # read before any write: live from here
                last[t] = step
        for t in op.outputs:
            first.setdefault(t, step)
            last[t] = max(last.get(t, step), step)
    for t in graph.outputs:
        first.setdefault(t, 0)
        last[t] = last_step
    for t in graph.tensors:
        if t.is_variable:
            first[t.id], last[t.id] = 0, last_step
    return tuple(
        Lifetime(t, first[t], last[t], tensor_bytes(graph.tensors[t]))
        for t in sorted(first)
        if not graph.tensors[t].is_constant
    )


def live_bytes_per_op(graph: Graph) -> tuple[int, ...]:
    """For each op step, the bytes of all tensors live at that step."""
    # A sweep over lifetime edges: linear in tensors + ops, even for huge graphs.
    delta = [0] * (len(graph.ops) + 1)
    for s in lifetimes(graph):
        delta[s.first] += s.nbytes
        delta[s.last + 1] -= s.nbytes
    live, out = 0, []
    for step in range(len(graph.ops)):
        live += delta[step]
        out.append(live)
    return tuple(out)


def activation_lower_bound(graph: Graph) -> int:
    """The plain live-bytes bound: max over op steps of the bytes live then.

    With no ops, the graph inputs and outputs are all live at once.
    """
    if not graph.ops:
        return sum(s.nbytes for s in lifetimes(graph))
    return max(live_bytes_per_op(graph))
