"""Memory analysis: tensors and kernel calls -> planner buffers (and back).

The planner knows nothing of ops. This module is the analysis step before it:
it decides which tensors share storage (RESHAPE-like aliases, in-place
kernels), gives every storage root one `Buffer` with its lifetime in op steps,
adds each call's scratch as a one-step buffer, and after planning maps offsets
back to tensors and scratch areas.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from engine.lower.call import ALIAS_KINDS, Call
from engine.memory import planner
from engine.memory.buffers import ALIGN, Buffer, align_up
from tflite_bridge.ir import ABSENT, Graph


@dataclasses.dataclass(frozen=True)
class MemoryLayout:
    """What the planner is asked, and how to read its answer.

    Attributes:
        buffers: planner inputs; ids are storage-root tensor ids, or
            `scratch_base + op index` for scratch areas.
        root: tensor id -> the tensor whose storage it uses (itself if none).
        scratch_base: first buffer id used for scratch areas.
        inplace_ops: op indices whose in-place variant was accepted.
    """

    buffers: tuple[Buffer, ...]
    root: dict[int, int]
    scratch_base: int
    inplace_ops: frozenset[int]


def analyse(graph: Graph, calls: dict[int, Optional[Call]]) -> MemoryLayout:
    """Buffers for the arena: every non-constant tensor, merged where legal.

    `calls[i]` is op i's kernel call, or None when op i is an alias (no code).
    An in-place call is accepted only where its input dies at that op and is
    not a graph output, so nothing later reads the overwritten bytes.
    """
    root = {t.id: t.id for t in graph.tensors}
    last_use = _last_uses(graph)
    inplace: set[int] = set()
    extra: dict[int, int] = {}  # root -> bytes an in-place kernel needs
    for i, op in enumerate(graph.ops):
        call = calls[i]
        if call is None and op.kind in ALIAS_KINDS:
            root[op.outputs[0]] = root[op.inputs[0]]
        elif call is not None and call.alias is not None:
            src = root[op.inputs[call.alias[0]]]
            dst = op.outputs[call.alias[1]]
            if _dies_at(graph, root, last_use, src, i):
                root[dst] = src
                extra[src] = max(extra.get(src, 0), call.alias_bytes)
                inplace.add(i)
    buffers = _tensor_buffers(graph, root, extra)
    scratch_base = len(graph.tensors)
    for i, call in calls.items():
        if call is not None and call.scratch_bytes:
            buffers.append(Buffer(scratch_base + i, align_up(call.scratch_bytes, ALIGN), i, i, ALIGN))
    return MemoryLayout(tuple(buffers), root, scratch_base, frozenset(inplace))


def _last_uses(graph: Graph) -> dict[int, int]:
    last = {}
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            if t != ABSENT:
                last[t] = i
    return last


def _dies_at(graph: Graph, root: dict[int, int], last_use: dict[int, int], src: int, step: int) -> bool:
    """True when every tensor stored at `src` is last read at `step` and none is a graph output."""
    sharing = [t for t, r in root.items() if r == src]
    if any(t in graph.outputs for t in sharing):
        return False
    return all(last_use.get(t, -1) <= step for t in sharing)


def _tensor_buffers(graph: Graph, root: dict[int, int], extra: dict[int, int]) -> list[Buffer]:
    last_step = max(len(graph.ops) - 1, 0)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    size: dict[int, int] = {}

    def touch(t: int, step: int) -> None:
        tensor = graph.tensors[t]
        if tensor.is_constant:
            return
        r = root[t]
        first[r] = min(first.get(r, step), step)
        last[r] = max(last.get(r, step), step)
        size[r] = max(size.get(r, 0), tensor.nbytes, extra.get(r, 0))

    for t in graph.inputs:
        touch(t, 0)
    for i, op in enumerate(graph.ops):
        for t in op.inputs + op.outputs:
            if t != ABSENT:
                touch(t, i)
    for t in graph.outputs:
        touch(t, last_step)
    return [Buffer(r, align_up(size[r], ALIGN), first[r], last[r], ALIGN) for r in sorted(first)]


def plan_graph(graph: Graph, calls: dict[int, Optional[Call]], algorithm: str = "best"
               ) -> tuple[MemoryLayout, planner.Plan]:
    """Analyse, then plan: the buffers of `graph` with `calls` and their checked plan."""
    layout = analyse(graph, calls)
    return layout, planner.plan(layout.buffers, algorithm=algorithm)
