"""Plain lifetime analysis of a graph, TFLM's way: the planner's baseline input.

Every non-constant tensor that some op or the graph touches is one buffer,
live from the op that produces it (graph inputs: op 0) to the last op that
reads it (graph outputs: the last op). No aliasing and no scratch buffers:
the engine adds those itself. This reads only op input/output indices, never
op kinds, so the planner stays op-agnostic.
"""

from __future__ import annotations

from engine.memory.buffers import Buffer
from engine.memory.planner import buffers_from_lifetimes
from tflite_bridge import ABSENT, Graph


def tensor_uses(graph: Graph) -> dict[int, list[int]]:
    """Tensor id -> the steps that use it, for every non-constant tensor used."""
    uses: dict[int, list[int]] = {}
    last = max(len(graph.ops) - 1, 0)
    for t in graph.inputs:
        uses.setdefault(t, []).append(0)
    for step, op in enumerate(graph.ops):
        for t in (*op.inputs, *op.outputs):
            if t != ABSENT and not graph.tensors[t].is_constant:
                uses.setdefault(t, []).append(step)
    for t in graph.outputs:
        uses.setdefault(t, []).append(last)
    return uses


def activation_buffers(graph: Graph, align: int = 16) -> tuple[Buffer, ...]:
    """One buffer per non-constant tensor, with TFLM's lifetimes, ordered by id."""
    uses = tensor_uses(graph)
    sizes = {t: graph.tensors[t].nbytes for t in uses}
    return buffers_from_lifetimes(sizes, uses, align)
