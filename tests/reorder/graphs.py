"""Random branching graphs for the reordering tests, and a brute force over their orders."""

from __future__ import annotations

from hypothesis import strategies as st

from engine.lower.call import Call
from engine.memory import lifetimes as memory
from engine.memory import planner
from engine.passes.reorder import dependencies, permute_calls, reorder
from tflite_bridge.attrs import NoAttrs
from tflite_bridge.ir import DType, Graph, Op, Tensor


def _tensor(tid: int, size: int) -> Tensor:
    return Tensor(id=tid, name=f"t{tid}", shape=(size,), dtype=DType.INT8)


@st.composite
def dags(draw, max_ops: int = 8, inplace: str = "equal"):
    """A random DAG of ops on int8 vectors, with the calls the engine would attach.

    Ops read one to three earlier tensors (so branches, joins and unused
    results all occur), write one or two tensors (multi-output ops), and some
    are RESHAPE aliases. With `inplace="equal"` in-place calls only pair
    equal-sized tensors (where the search's proxy is exact); with "any" the
    shared buffer may be larger than the output.

    Returns:
        (graph, calls): calls[i] is None for a plain op or an alias.
    """
    n_ops = draw(st.integers(1, max_ops))
    sizes = st.integers(1, 200)
    tensors = [_tensor(t, draw(sizes)) for t in range(draw(st.integers(1, 2)))]
    inputs = tuple(t.id for t in tensors)
    ops, calls = [], {}
    for i in range(n_ops):
        kind = draw(st.sampled_from(("OP", "OP", "OP", "RESHAPE")))
        pool = [t.id for t in tensors]
        if kind == "RESHAPE":
            src = draw(st.sampled_from(pool))
            out = _tensor(len(tensors), tensors[src].nbytes)
            tensors.append(out)
            ops.append(Op("RESHAPE", 1, (src,), (out.id,), NoAttrs()))
            calls[i] = None
            continue
        reads = tuple(
            draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        )
        outs = []
        for _ in range(draw(st.integers(1, 2))):
            outs.append(_tensor(len(tensors), draw(sizes)))
            tensors.append(outs[-1])
        ops.append(Op("OP", 1, reads, tuple(t.id for t in outs), NoAttrs()))
        calls[i] = _call(draw, tensors[reads[0]], outs[0], inplace)
    produced = [t for op in ops for t in op.outputs]
    extra = draw(st.lists(st.sampled_from(produced), max_size=2, unique=True))
    outputs = tuple(dict.fromkeys([*ops[-1].outputs, *extra]))
    return Graph(tuple(tensors), tuple(ops), inputs, outputs), calls


def _call(draw, src: Tensor, dst: Tensor, inplace: str) -> Call:
    scratch = draw(st.sampled_from((0, 0, 0, 24, 100)))
    alias, alias_bytes = None, 0
    same = src.nbytes == dst.nbytes
    if draw(st.booleans()) and (same or inplace == "any"):
        alias, alias_bytes = (0, 0), max(src.nbytes, dst.nbytes)
    return Call(
        "f", (), (), scratch_bytes=scratch, alias=alias, alias_bytes=alias_bytes
    )


def topological_orders(graph: Graph, limit: int):
    """Every topological order of the ops, or None when there are more than `limit`."""
    deps = dependencies(graph)
    n = len(deps)
    orders: list[tuple[int, ...]] = []

    def extend(prefix: list[int], done: int) -> bool:
        if len(prefix) == n:
            orders.append(tuple(prefix))
            return len(orders) <= limit
        for v in range(n):
            if not done >> v & 1 and not deps[v] & ~done:
                prefix.append(v)
                if not extend(prefix, done | 1 << v):
                    return False
                prefix.pop()
        return True

    return orders if extend([], 0) else None


def layout_of(graph: Graph, calls, order) -> memory.MemoryLayout:
    """The engine's memory analysis of `graph` run in `order`."""
    return memory.analyse(reorder(graph, order), permute_calls(calls, order))


def live_bound(graph: Graph, calls, order) -> int:
    """The engine's live-bytes lower bound of `order`: no plan of it is smaller."""
    return planner.lower_bound(layout_of(graph, calls, order).buffers)
