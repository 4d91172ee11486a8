"""Static memory planner: buffers with lifetimes -> offsets in one arena.

Three parts, as TVM's static planner has them:
  1. analysis: the caller describes each buffer as `Buffer(id, size, first,
     last, align)` (it lives from step `first` to step `last` inclusive; a step
     is an op index). `buffers_from_lifetimes` builds them from sizes and the
     steps that use each buffer. The planner knows nothing of ops.
  2. an algorithm chosen by name (`ALGORITHMS`): a pure function
     `buffers -> {id: offset}`;
  3. apply: `plan()` runs one algorithm (or all, for "best"), checks the
     result with `check_no_overlap` and returns a `Plan`.

Alignment. Every offset is a multiple of the buffer's `align`, and a buffer
occupies its *footprint*: `size` rounded up to `align`. The lower bound, the
overlap check and the peak all use footprints, so the three agree: an arena
of `peak` bytes holds the plan, and when the footprints admit a perfect packing
the best plan's peak equals `lower_bound()` exactly. (TFLM rounds sizes up to
16 bytes the same way before its greedy planner sees them.)
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterable, Mapping, Sequence

from engine.memory import exact as planner_exact
from engine.memory import heuristics as planner_heuristics
from engine.memory.buffers import (
    Buffer,
    PlanError,
    check_no_overlap,
    lower_bound,
    peak_of,
)

__all__ = [
    "ALGORITHMS",
    "Buffer",
    "Plan",
    "PlanError",
    "buffers_from_lifetimes",
    "check_no_overlap",
    "lower_bound",
    "peak_of",
    "plan",
]

Algorithm = Callable[[Sequence[Buffer]], dict]

# name -> pure `buffers -> {id: offset}`. Read-only so no caller can register
# an algorithm behind another's back.
ALGORITHMS: Mapping[str, Algorithm] = types.MappingProxyType(
    {
        "greedy_by_size": planner_heuristics.greedy_by_size,
        "greedy_by_breadth": planner_heuristics.greedy_by_breadth,
        "two_ended": planner_heuristics.two_ended,
        "exact": planner_exact.exact,
    }
)

# The heuristics "best" always runs, in this order; on equal peaks the first
# listed wins, so the choice is deterministic.
HEURISTICS = ("two_ended", "greedy_by_breadth", "greedy_by_size")

# "best" also runs the exact search when a problem has at most this many
# buffers (it then proves optimality), or when no heuristic meets the bound.
EXACT_MAX_BUFFERS = 14

# Node budget of the exact search inside "best" when the problem is large.
# A node budget, not a time limit, keeps the result deterministic.
BEST_NODE_BUDGET = 4000


@dataclasses.dataclass(frozen=True)
class Plan:
    """A checked memory plan.

    Attributes:
        offsets: buffer id -> byte offset in the arena (read-only mapping).
        peak: arena bytes the plan needs (max offset + footprint).
        lower_bound: the live-bytes lower bound of the same buffers.
        algorithm: name of the algorithm that produced `offsets`.
    """

    offsets: Mapping[int, int]
    peak: int
    lower_bound: int
    algorithm: str

    @property
    def meets_bound(self) -> bool:
        """True when the peak equals the lower bound, so no plan can be smaller."""
        return self.peak == self.lower_bound


def plan(
    buffers: Iterable[Buffer],
    algorithm: str = "best",
    node_budget: int | None = None,
) -> Plan:
    """Plans `buffers` into one arena with the named algorithm.

    Args:
        buffers: the buffers; ids must be unique.
        algorithm: a key of `ALGORITHMS`, or "best": run every heuristic, and
            the exact search when the problem is small (<= EXACT_MAX_BUFFERS
            buffers of non-zero size) or no heuristic reaches the lower bound;
            keep the smallest peak.
        node_budget: exact search nodes for "best" on large problems
            (default BEST_NODE_BUDGET).

    Returns:
        The plan, already checked by `check_no_overlap`.

    Raises:
        PlanError: unknown algorithm, duplicate ids, or an invalid result.
    """
    buffers = _unique(buffers)
    bound = lower_bound(buffers)
    if algorithm == "best":
        return _best(buffers, bound, node_budget)
    if algorithm not in ALGORITHMS:
        raise PlanError(
            f"unknown planning algorithm {algorithm!r}; known: {sorted(ALGORITHMS) + ['best']}"
        )
    return _checked(buffers, ALGORITHMS[algorithm](buffers), bound, algorithm)


def _best(buffers: tuple[Buffer, ...], bound: int, node_budget: int | None) -> Plan:
    """Smallest-peak plan among the heuristics and, when worth it, the exact search.

    A plan at the lower bound cannot be beaten, and an earlier heuristic wins ties:
    the first to reach the bound is the answer, and the rest need not run.
    """
    best = None
    for name in HEURISTICS:
        candidate = _checked(buffers, ALGORITHMS[name](buffers), bound, name)
        if best is None or candidate.peak < best.peak:
            best = candidate
        if best.peak == bound:
            return best
    sized = sum(1 for b in buffers if b.footprint > 0)
    small = sized <= EXACT_MAX_BUFFERS
    if best.peak > bound or small:
        budget = None if small else (node_budget or BEST_NODE_BUDGET)
        found = planner_exact.search(buffers, dict(best.offsets), node_budget=budget)
        if found.peak < best.peak:
            best = _checked(buffers, found.offsets, bound, "exact")
    return best


def _checked(buffers: Sequence[Buffer], offsets: Mapping[int, int], bound: int, name: str) -> Plan:
    missing = {b.id for b in buffers} - set(offsets)
    if missing:
        raise PlanError(f"algorithm {name!r} left buffers {sorted(missing)} unplaced")
    peak = check_no_overlap(buffers, offsets)
    if peak < bound:  # only a broken bound or check could get here
        raise PlanError(f"algorithm {name!r} peak {peak} is below the lower bound {bound}")
    frozen = types.MappingProxyType({b.id: offsets[b.id] for b in buffers})
    return Plan(offsets=frozen, peak=peak, lower_bound=bound, algorithm=name)


def _unique(buffers: Iterable[Buffer]) -> tuple[Buffer, ...]:
    buffers = tuple(buffers)
    seen = set()
    for b in buffers:
        if b.id in seen:
            raise PlanError(f"buffer id {b.id} appears twice")
        seen.add(b.id)
    return buffers


def buffers_from_lifetimes(
    sizes: Mapping[int, int],
    uses: Mapping[int, Iterable[int]],
    align: int = 16,
) -> tuple[Buffer, ...]:
    """Builds buffers from sizes and the steps that use them.

    Args:
        sizes: buffer id -> size in bytes.
        uses: buffer id -> the steps (op indices) that write or read it; the
            buffer lives from the earliest to the latest of them. Every id in
            `sizes` needs at least one use.
        align: byte alignment of every buffer.

    Returns:
        The buffers, ordered by id.

    Raises:
        PlanError: an id with no uses, or uses for an id without a size.
    """
    extra = set(uses) - set(sizes)
    if extra:
        raise PlanError(f"uses given for buffers {sorted(extra)} that have no size")
    result = []
    for buffer_id in sorted(sizes):
        steps = tuple(uses.get(buffer_id, ()))
        if not steps:
            raise PlanError(f"buffer {buffer_id} (size {sizes[buffer_id]}) has no uses")
        result.append(Buffer(buffer_id, sizes[buffer_id], min(steps), max(steps), align))
    return tuple(result)
