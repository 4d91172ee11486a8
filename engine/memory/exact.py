"""Exact planning: branch and bound over placement orders.

Why orders are enough. Take any plan and place its buffers, in order of their
offsets, each at the lowest fitting offset among those placed before it. By
induction every buffer lands no higher than in the plan (a buffer placed
earlier sits below it in the plan, and moving that one down cannot block
it), so the peak does not grow. Repeating this until nothing moves gives a
plan that lowest-fit reproduces from its own (offset, rank) order. So it is
enough to search orders in which the placed offsets never decrease (ties by
rank): the *canonical* orders. That removes most permutations.

Pruning at a node (last placed offset L, each unplaced buffer i with lowest
fit ff(i) given the placed ones; ff only rises as buffers are added):
  - dead end: if i fits entirely below L (ff(i) + size(i) <= L), nothing
    placed later (all at >= L) can raise it, so i can never be placed
    canonically;
  - bound: i ends at >= max(ff(i), L) + size(i); and at every step t the
    unplaced buffers live at t stack above L, beside the parts of placed
    buffers live at t that reach above L.
The search stops at the live-bytes lower bound, when it has proved the best
plan optimal, or after `node_budget` nodes (deterministic, unlike a clock).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from engine.memory.buffers import Buffer, align_up, lower_bound, lowest_fit, peak_of
from engine.memory.heuristics import greedy_by_size, two_ended

# `exact()` proves optimality (no budget) up to this many buffers of non-zero
# size; above it the search is cut off after DEFAULT_NODE_BUDGET nodes.
UNBOUNDED_MAX_BUFFERS = 14
DEFAULT_NODE_BUDGET = 20000


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """Outcome of `search`.

    Attributes:
        offsets: buffer id -> offset of the best plan found.
        peak: its peak.
        proved: True if no plan has a smaller peak (search finished or the
            peak meets the lower bound).
        nodes: search nodes visited.
    """

    offsets: Mapping[int, int]
    peak: int
    proved: bool
    nodes: int


def exact(buffers: Sequence[Buffer]) -> dict[int, int]:
    """Optimal offsets for small problems; best found within a budget otherwise."""
    starts = [two_ended(buffers), greedy_by_size(buffers)]
    start = min(starts, key=lambda offsets: peak_of(buffers, offsets))
    sized = sum(1 for b in buffers if b.footprint > 0)
    budget = None if sized <= UNBOUNDED_MAX_BUFFERS else DEFAULT_NODE_BUDGET
    return dict(search(buffers, start, node_budget=budget).offsets)


def search(
    buffers: Sequence[Buffer],
    start: Mapping[int, int],
    node_budget: int | None = None,
) -> SearchResult:
    """Branch and bound for the smallest peak, improving on `start`.

    Buffers whose lifetimes chain together form a component; components
    share no step, so each is searched on its own and the plan's peak is the
    largest component peak. `node_budget` is shared by all components.

    Args:
        buffers: the buffers.
        start: a valid plan (its peak is the first upper bound).
        node_budget: stop after this many nodes in all; None for no limit.

    Returns:
        The best plan: `start` itself unless a strictly smaller peak is found.
    """
    target = lower_bound(buffers)
    offsets, nodes, proved = dict(start), 0, True
    for component in _components(buffers):
        budget = None if node_budget is None else max(node_budget - nodes, 0)
        state = _Search(component, budget, target)
        state.best = {b.id: start[b.id] for b in component}
        state.best_peak = peak_of(component, state.best)
        if state.best_peak > target:
            state.descend(last_off=0, last_rank=-1, peak=0)
        offsets.update(state.best)
        nodes += state.nodes
        proved = proved and not state.cut_off
    if peak_of(buffers, offsets) >= peak_of(buffers, start):
        offsets = dict(start)
    peak = peak_of(buffers, offsets)
    return SearchResult(offsets, peak, proved or peak == target, nodes)


def _components(buffers: Sequence[Buffer]) -> list[list[Buffer]]:
    """Groups of buffers whose lifetimes overlap transitively, in step order."""
    groups: list[list[Buffer]] = []
    reach = -1
    for b in sorted(buffers, key=lambda b: (b.first, b.id)):
        if not groups or b.first > reach:
            groups.append([])
        groups[-1].append(b)
        reach = max(reach, b.last)
    return groups


class _BudgetSpent(Exception):
    pass


class _Search:
    """Mutable search state, local to one `search` call."""

    def __init__(self, buffers: Sequence[Buffer], node_budget: int | None, target: int):
        self.zero = [b for b in buffers if b.footprint == 0]
        # Rank order: first use, then largest; ties between equal offsets in a
        # canonical order are broken by this rank.
        self.bufs = sorted(
            (b for b in buffers if b.footprint > 0),
            key=lambda b: (b.first, -b.footprint, b.id),
        )
        n = len(self.bufs)
        self.size = [b.footprint for b in self.bufs]
        self.align = [b.align for b in self.bufs]
        self.conf = [
            [j for j in range(n) if j != i and self.bufs[i].conflicts(self.bufs[j])]
            for i in range(n)
        ]
        firsts = sorted({b.first for b in self.bufs})
        self.live = [[i for i, b in enumerate(self.bufs) if b.first <= t <= b.last] for t in firsts]
        self.offset = [-1] * n
        # Good enough: the whole plan's lower bound (no plan of all buffers
        # can beat it, so a component that meets it needs no more search).
        self.target = target
        self.node_budget = node_budget
        self.nodes = 0
        self.cut_off = False
        self.best_peak = 0
        self.best: dict[int, int] = {}

    def descend(self, last_off: int, last_rank: int, peak: int) -> None:
        fits = {i: 0 for i in range(len(self.bufs))}
        try:
            self._node(fits, last_off, last_rank, peak)
        except _BudgetSpent:
            self.cut_off = True

    def _node(self, fits: dict[int, int], last_off: int, last_rank: int, peak: int) -> None:
        """Searches below a node; `fits` holds the lowest fit of every unplaced buffer."""
        self.nodes += 1
        if self.node_budget is not None and self.nodes > self.node_budget:
            raise _BudgetSpent
        if not fits:
            self._record(peak)
            return
        if self._node_bound(fits, last_off, peak) >= self.best_peak:
            return
        for i in self._children(fits, last_off, last_rank):
            self.offset[i] = fits[i]
            child = self._fits_after(fits, i)
            self._node(child, fits[i], i, max(peak, fits[i] + self.size[i]))
            self.offset[i] = -1
            if self.best_peak <= self.target:
                return

    def _fits_after(self, fits: dict[int, int], placed: int) -> dict[int, int]:
        """Lowest fits once `placed` is placed: only its conflicts can move."""
        child = dict(fits)
        del child[placed]
        for i in self.conf[placed]:
            if i in child:
                obstacles = sorted(
                    (self.offset[j], self.offset[j] + self.size[j])
                    for j in self.conf[i]
                    if self.offset[j] >= 0
                )
                child[i] = lowest_fit(self.size[i], self.align[i], obstacles)
        return child

    def _node_bound(self, fits: dict[int, int], last_off: int, peak: int) -> int:
        """A peak no completion of this node can beat (see the module doc)."""
        bound = peak
        for i, fit in fits.items():
            if fit + self.size[i] <= last_off:
                return self.best_peak  # dead end: i can never be placed canonically
            bound = max(bound, align_up(max(fit, last_off), self.align[i]) + self.size[i])
        for live in self.live:
            above = last_off
            for i in live:
                off = self.offset[i]
                if off < 0:
                    above += self.size[i]
                else:
                    above += max(0, off + self.size[i] - max(off, last_off))
            bound = max(bound, above)
        return bound

    def _children(self, fits: dict[int, int], last_off: int, last_rank: int) -> list[int]:
        """Unplaced buffers whose placement keeps the order canonical,
        lowest offset first, then earliest first use (rank)."""
        allowed = [i for i, fit in fits.items() if (fit, i) > (last_off, last_rank)]
        return sorted(allowed, key=lambda i: (fits[i], i))

    def _record(self, peak: int) -> None:
        if peak < self.best_peak:
            self.best_peak = peak
            self.best = {b.id: self.offset[i] for i, b in enumerate(self.bufs)}
            self.best.update({b.id: 0 for b in self.zero})
