"""The one lifetime analysis: tensors and kernel calls -> planner buffers (and back), by rules.

The planner knows nothing of ops. This module is the analysis step before it
(TVM's analysis -> algorithm -> apply):

  1. plain lifetimes: every non-constant tensor lives from the op that first
     touches it to the last (graph inputs from op 0, graph outputs to the last
     op) -- `tflite_bridge.analysis.lifetimes`, the one place that rule is written;
  2. storage sharing, as `Rules` allow: RESHAPE-like aliases (no code, one
     storage), in-place kernels (a Call's offer, taken where its input dies and
     is not a graph output), each call's scratch as a one-step buffer;
  3. one `Buffer` per storage root, 16-byte footprints.

Rules:
  - `OURS`: aliases, in-place, scratch -- the engine's own arena;
  - `TFLM`: none -- TFLM's own planner gives every activation tensor its own
    buffer (its RESHAPE copies into a separate output);
  - `TFLM_OFFLINE`: aliases only -- our plan handed to TFLM (engine/memory/tflm_plan.py):
    TFLM's RESHAPE skips its copy when input and output share an address, and
    its kernels are neither in place nor use our scratch.
Both TFLM rules are measured against the TFLM runtime on a RESHAPE whose input
lives on (tests/engine/test_tflm_plan.py): 8,448 B online, 6,144 B with our plan.

`plan_graph` is analysis then planning, the sequence every caller needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Optional

from engine.lower.call import ALIAS_KINDS, Call
from engine.memory import planner
from engine.memory.buffers import ALIGN, Buffer, align_up
from tflite_bridge.analysis import lifetimes as plain_lifetimes
from tflite_bridge.ir import ABSENT, Graph

Calls = Mapping[int, Optional[Call]]


@dataclasses.dataclass(frozen=True)
class Rules:
    """Which storage sharing the analysis applies.

    Attributes:
        aliases: a RESHAPE-like op (no call) stores its output in its input's buffer.
        inplace: a call's in-place offer (`Call.alias`) is taken where legal.
        scratch: each call's scratch is a buffer of its own op step.
    """

    aliases: bool
    inplace: bool
    scratch: bool


OURS = Rules(aliases=True, inplace=True, scratch=True)
TFLM = Rules(aliases=False, inplace=False, scratch=False)
TFLM_OFFLINE = Rules(aliases=True, inplace=False, scratch=False)


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


def no_calls(graph: Graph) -> dict[int, None]:
    """Calls of a graph without kernels: every op plain, RESHAPE-like ops aliases."""
    return {i: None for i in range(len(graph.ops))}


def alias_roots(graph: Graph, calls: Calls, rules: Rules = OURS) -> dict[int, int]:
    """Tensor id -> the tensor whose storage it uses, after RESHAPE-like aliases (before in-place)."""
    root = {t.id: t.id for t in graph.tensors}
    if rules.aliases:
        for i, op in enumerate(graph.ops):
            if calls[i] is None and op.kind in ALIAS_KINDS:
                root[op.outputs[0]] = root[op.inputs[0]]
    return root


def analyse(graph: Graph, calls: Calls | None = None, rules: Rules = OURS) -> MemoryLayout:
    """Buffers for the arena: every non-constant tensor, merged as `rules` allow.

    `calls[i]` is op i's kernel call, or None when op i is an alias (no code);
    None for `calls`: no kernels (`no_calls`). An in-place call is accepted only
    where its input dies at that op and is not a graph output, so nothing later
    reads the overwritten bytes.
    """
    calls = no_calls(graph) if calls is None else calls
    root = alias_roots(graph, calls, rules)
    inplace: set[int] = set()
    extra: dict[int, int] = {}  # root -> bytes an in-place kernel needs
    if rules.inplace:
        last_read = _last_reads(graph)
        for i, op in enumerate(graph.ops):
            call = calls[i]
            if call is None or call.alias is None:
                continue
            src = root[op.inputs[call.alias[0]]]
            if _dies_at(graph, root, last_read, src, i):
                root[op.outputs[call.alias[1]]] = src
                extra[src] = max(extra.get(src, 0), call.alias_bytes)
                inplace.add(i)
    buffers = _root_buffers(graph, root, extra)
    scratch_base = len(graph.tensors)
    if rules.scratch:
        for i, call in calls.items():
            if call is not None and call.scratch_bytes:
                buffers.append(Buffer(scratch_base + i, align_up(call.scratch_bytes, ALIGN), i, i, ALIGN))
    return MemoryLayout(tuple(buffers), root, scratch_base, frozenset(inplace))


def plan_graph(graph: Graph, calls: Calls | None = None, algorithm: str = "best", rules: Rules = OURS
               ) -> tuple[MemoryLayout, planner.Plan]:
    """Analyse, then plan: the buffers of `graph` with `calls` under `rules`, and their checked plan."""
    layout = analyse(graph, calls, rules)
    return layout, planner.plan(layout.buffers, algorithm=algorithm)


def live_per_step(buffers, steps: int) -> tuple[int, ...]:
    """Footprint bytes of the buffers live at each step 0..steps-1."""
    live = [0] * steps
    for b in buffers:
        for k in range(b.first, min(b.last, steps - 1) + 1):
            live[k] += b.footprint
    return tuple(live)


def _last_reads(graph: Graph) -> dict[int, int]:
    last = {}
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            if t != ABSENT:
                last[t] = i
    return last


def _dies_at(graph: Graph, root: dict[int, int], last_read: dict[int, int], src: int, step: int) -> bool:
    """True when every tensor stored at `src` is last read at `step` and none is a graph output."""
    sharing = [t for t, r in root.items() if r == src]
    if any(t in graph.outputs for t in sharing):
        return False
    return all(last_read.get(t, -1) <= step for t in sharing)


def _root_buffers(graph: Graph, root: dict[int, int], extra: dict[int, int]) -> list[Buffer]:
    """One buffer per storage root: the union of its tensors' plain lifetimes, the largest size."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    size: dict[int, int] = {}
    for life in plain_lifetimes(graph):
        r = root[life.tensor]
        first[r] = min(first.get(r, life.first), life.first)
        last[r] = max(last.get(r, life.last), life.last)
        size[r] = max(size.get(r, 0), life.nbytes, extra.get(r, 0))
    return [Buffer(r, align_up(size[r], ALIGN), first[r], last[r], ALIGN) for r in sorted(first)]
