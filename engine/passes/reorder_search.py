"""The search behind engine/passes/reorder.py: a live-bytes proxy and a frontier DP over it.

Ops and values are bitmask-indexed so a state (the set of ops already run) is
one Python int. A *value* is one storage root of engine/memory/lifetimes.py before
in-place merging: a non-constant tensor plus the RESHAPE-like aliases of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from engine.lower.call import Call
from engine.memory.buffers import ALIGN, align_up
from engine.memory.lifetimes import Rules, analyse
from tflite_bridge.ir import Graph

# Storage values: RESHAPE-like aliases share one; in-place and scratch are the proxy's own per-step rules.
STORAGE = Rules(aliases=True, inplace=False, scratch=False)


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


@dataclasses.dataclass(frozen=True)
class Search:
    """The search's answer on the proxy.

    Attributes:
        order: op indices of the stored graph, in the order to run them.
        live_peak: the proxy peak of `order` (bytes).
        exact: True when no layer was cut to the budget, so no order has a
            lower proxy peak.
        states: states expanded (a measure of the search's work).
    """

    order: tuple[int, ...]
    live_peak: int
    exact: bool
    states: int


@dataclasses.dataclass(frozen=True)
class Proxy:
    """Live bytes per step of any order, counted as engine/memory/lifetimes.py counts them.

    Per value x: `size` (16-byte footprint), `touch` (ops that read or write
    it), `readers`, `pinned` (a graph output: live to the end), `born` (a graph
    input: live from the start). A value is live between steps once touched (or
    born) while some toucher has not run (or it is pinned).
    """

    deps: tuple[int, ...]  # per op: ops that must run before it
    succs: tuple[int, ...]  # per op: ops that wait for it
    sizes: tuple[int, ...]
    touch: tuple[int, ...]
    readers: tuple[int, ...]
    pinned: tuple[bool, ...]
    born: tuple[bool, ...]
    op_values: tuple[tuple[int, ...], ...]  # per op: values it touches
    scratch: tuple[int, ...]  # per op: scratch footprint
    inplace: tuple[tuple[int, int, int] | None, ...]  # per op: (src, dst, shared bytes)
    first_step: int  # graph inputs no op touches: live at step 0 only

    @property
    def n(self) -> int:
        return len(self.deps)

    @staticmethod
    def of(
        graph: Graph, calls: Mapping[int, Call | None], deps: tuple[int, ...]
    ) -> Proxy:
        """The proxy of `graph` with `calls` (None: no kernel) and the op dependencies `deps`."""
        value, sizes = _values(graph, calls)
        touch, readers, op_values = _touch_tables(graph, value, len(sizes))
        born = [False] * len(sizes)
        for t in graph.inputs:
            born[value[t]] = True
        pinned = [False] * len(sizes)
        for t in graph.outputs:
            pinned[value[t]] = True
        succs = [0] * len(deps)
        for i, d in enumerate(deps):
            for j in _bits(d):
                succs[j] |= 1 << i
        first = sum(
            sizes[x]
            for x in range(len(sizes))
            if born[x] and not touch[x] and not pinned[x]
        )
        return Proxy(
            deps=tuple(deps),
            succs=tuple(succs),
            sizes=tuple(sizes),
            touch=tuple(touch),
            readers=tuple(readers),
            pinned=tuple(pinned),
            born=tuple(born),
            op_values=op_values,
            scratch=tuple(
                align_up(c.scratch_bytes, ALIGN) if c is not None and c.scratch_bytes else 0
                for c in (calls[i] for i in range(len(graph.ops)))
            ),
            inplace=tuple(
                _inplace(calls[i], op, value) for i, op in enumerate(graph.ops)
            ),
            first_step=first,
        )

    def live(self, x: int, state: int) -> bool:
        started = self.born[x] or self.touch[x] & state
        return bool(started) and bool(self.touch[x] & ~state or self.pinned[x])

    def initial(self) -> int:
        """Live bytes before any op runs."""
        return sum(s for x, s in enumerate(self.sizes) if self.live(x, 0))

    def step(self, state: int, v: int, mem: int) -> int:
        """Live bytes while op v runs after the ops in `state` (`mem` live before it)."""
        new = {
            x
            for x in self.op_values[v]
            if not self.born[x] and not self.touch[x] & state
        }
        total = mem + sum(self.sizes[x] for x in new) + self.scratch[v]
        if state == 0:
            total += self.first_step
        shared = self.inplace[v]
        if shared is not None:
            src, dst, nbytes = shared
            dies = not self.pinned[src] and not self.readers[src] & ~(state | 1 << v)
            if (
                dies and dst in new
            ):  # the engine's rule: the input dies here, so the output reuses it
                total += (
                    max(0, max(self.sizes[dst], nbytes) - self.sizes[src])
                    - self.sizes[dst]
                )
        return total

    def after(self, state: int, v: int, mem: int) -> int:
        """Live bytes between steps once op v has run after `state`."""
        later = state | 1 << v
        for x in self.op_values[v]:
            mem += self.sizes[x] * (self.live(x, later) - self.live(x, state))
        return mem

    def ready_after(self, later: int, ready: int, v: int) -> int:
        """Ops ready to run once `later` (which ends with v) has run."""
        ready &= ~(1 << v)
        for u in _bits(self.succs[v]):
            if not self.deps[u] & ~later:
                ready |= 1 << u
        return ready

    def initial_ready(self) -> int:
        return sum(1 << i for i, d in enumerate(self.deps) if d == 0)

    def peak(self, order) -> int:
        """Proxy peak of one order (0 for no ops)."""
        state, mem, best = 0, self.initial(), 0
        for v in order:
            best = max(best, self.step(state, v, mem))
            mem = self.after(state, v, mem)
            state |= 1 << v
        return best


def _values(graph: Graph, calls) -> tuple[dict[int, int], list[int]]:
    """Tensor id -> value index for every non-constant tensor the engine plans, and value sizes.

    Values are the storage buffers of engine/memory/lifetimes.py with aliases merged and no
    in-place or scratch (the proxy adds those per step); a value's size is its footprint.
    """
    layout = analyse(graph, calls, STORAGE)
    index = {b.id: x for x, b in enumerate(layout.buffers)}
    value = {t: index[r] for t, r in layout.root.items() if r in index and not graph.tensors[t].is_constant}
    return value, [b.footprint for b in layout.buffers]


def _touch_tables(graph: Graph, value: dict[int, int], count: int):
    """Per value the ops touching and reading it; per op the values it touches."""
    touch, readers, op_values = [0] * count, [0] * count, []
    for i, op in enumerate(graph.ops):
        mine: list[int] = []
        for tensors, reads in ((op.inputs, True), (op.outputs, False)):
            for t in tensors:
                if t not in value:  # absent or constant
                    continue
                x = value[t]
                touch[x] |= 1 << i
                if reads:
                    readers[x] |= 1 << i
                if x not in mine:
                    mine.append(x)
        op_values.append(tuple(mine))
    return touch, readers, tuple(op_values)


def _inplace(
    call: Call | None, op, value: dict[int, int]
) -> tuple[int, int, int] | None:
    """(src value, dst value, shared footprint) of an op that may run in place."""
    if call is None or call.alias is None:
        return None
    src, dst = value.get(op.inputs[call.alias[0]]), value.get(op.outputs[call.alias[1]])
    if src is None or dst is None:
        return None
    return src, dst, align_up(call.alias_bytes, ALIGN)


def frontier_search(proxy: Proxy, budget: int, bound: int):
    """Lowest proxy peak over orders, layer by layer; see engine/passes/reorder.py.

    Args:
        proxy: the graph's proxy.
        budget: states kept per layer (1: greedy by peak, then live bytes).
        bound: drop states whose peak exceeds it (a known order's peak).

    Returns:
        A `reorder.Search`, or None when every state was dropped (a cut layer
        can lose the orders that stay within `bound`).
    """
    layer = {0: (0, proxy.initial(), proxy.initial_ready())}
    parents = []
    exact, states = True, 0
    for _ in range(proxy.n):
        nxt, back = _expand(proxy, layer, bound)
        states += len(nxt)
        if not nxt:
            return None
        if len(nxt) > budget:
            exact = False
            keep = sorted(nxt, key=lambda s: nxt[s][:2])[:budget]
            nxt = {s: nxt[s] for s in keep}
        parents.append(back)
        layer = nxt
    full = (1 << proxy.n) - 1
    order = []
    state = full
    for back in reversed(parents):
        state, v = back[state]
        order.append(v)
    return Search(
        tuple(reversed(order)), layer[full][0] if proxy.n else 0, exact, states
    )


def _expand(proxy: Proxy, layer: dict, bound: int):
    """Every state one op further; per state the lowest peak (first found on ties)."""
    nxt: dict[int, tuple[int, int, int]] = {}
    back: dict[int, tuple[int, int]] = {}
    for state, (peak, mem, ready) in layer.items():
        for v in _bits(ready):
            p = max(peak, proxy.step(state, v, mem))
            later = state | 1 << v
            if p > bound or (later in nxt and nxt[later][0] <= p):
                continue
            nxt[later] = (
                p,
                proxy.after(state, v, mem),
                proxy.ready_after(later, ready, v),
            )
            back[later] = (state, v)
    return nxt, back
