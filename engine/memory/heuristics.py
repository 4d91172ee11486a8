"""Heuristic planning algorithms: pure `buffers -> {id: offset}`.

- greedy_by_size: TFLM's GreedyMemoryPlanner. Largest first; each buffer goes
  to the lowest gap among the already placed buffers it conflicts with.
- greedy_by_breadth: the steps with the most live bytes are planned first
  ("greedy by breadth" of Pisarchyk & Lee, 2020, with a step's live bytes as
  its breadth); within a step, largest first, lowest gap.
- two_ended: buffers in order of first use, each put at the bottom or the top
  of an arena of lower-bound size, on the side away from the buffers it
  conflicts with. On a chain an op's output lands opposite its input (ping-
  pong), which reaches the bound where greedy_by_size is 33% over (VWW).

Zero-size buffers occupy no bytes; every algorithm puts them at offset 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.memory.buffers import Buffer, highest_fit, lower_bound, lowest_fit


class _Placed:
    """Buffers placed so far: a small, local builder (never escapes a call)."""

    def __init__(self):
        self.items: list[tuple[Buffer, int]] = []

    def obstacles(self, buffer: Buffer) -> list[tuple[int, int]]:
        """Address ranges of placed buffers that conflict with `buffer`."""
        return [
            (offset, offset + other.footprint)
            for other, offset in self.items
            if other.conflicts(buffer)
        ]

    def add(self, buffer: Buffer, offset: int) -> None:
        self.items.append((buffer, offset))


def _place_lowest(order: Sequence[Buffer]) -> dict[int, int]:
    """Places `order` one by one at the lowest fitting offset."""
    placed = _Placed()
    offsets = {}
    for b in order:
        if b.footprint == 0:
            offsets[b.id] = 0
            continue
        offset = lowest_fit(b.footprint, b.align, sorted(placed.obstacles(b)))
        placed.add(b, offset)
        offsets[b.id] = offset
    return offsets


def greedy_by_size(buffers: Sequence[Buffer]) -> dict[int, int]:
    """TFLM's greedy planner: largest footprint first, lowest fitting gap.

    Ties go to the larger id, as in TFLM: it lists online buffers tail first
    and then sorts them by size with a stable sort, so among equal sizes the
    buffer added last (the larger tensor index) is placed first.
    """
    order = sorted(buffers, key=lambda b: (-b.footprint, -b.id))
    return _place_lowest(order)


def greedy_by_breadth(buffers: Sequence[Buffer]) -> dict[int, int]:
    """Plans the busiest steps first; within a step, largest first, lowest gap."""
    steps = sorted({b.first for b in buffers})  # live sets change only at firsts
    live = {t: [b for b in buffers if b.first <= t <= b.last] for t in steps}
    breadth = {t: sum(b.footprint for b in live[t]) for t in steps}
    order, seen = [], set()
    for t in sorted(steps, key=lambda t: (-breadth[t], t)):
        for b in sorted(live[t], key=lambda b: (-b.footprint, b.id)):
            if b.id not in seen:
                seen.add(b.id)
                order.append(b)
    return _place_lowest(order)


def two_ended(buffers: Sequence[Buffer]) -> dict[int, int]:
    """Ping-pong placement from both ends of a lower-bound-sized arena.

    Buffers are taken in order of first use (then largest first). Each goes to
    the bottom or the top of an arena of `lower_bound(buffers)` bytes, on the
    side away from the placed buffers it conflicts with (their size-weighted
    centre). When neither end fits inside that arena, it goes to the lowest
    fitting offset above, which grows the arena.
    """
    capacity = lower_bound(buffers)
    placed = _Placed()
    offsets = {}
    for b in sorted(buffers, key=lambda b: (b.first, -b.footprint, b.id)):
        if b.footprint == 0:
            offsets[b.id] = 0
            continue
        obstacles = placed.obstacles(b)
        offset = _two_ended_offset(b, obstacles, capacity)
        placed.add(b, offset)
        offsets[b.id] = offset
    return offsets


def _two_ended_offset(b: Buffer, obstacles: list[tuple[int, int]], capacity: int) -> int:
    bottom = lowest_fit(b.footprint, b.align, sorted(obstacles))
    top = highest_fit(
        b.footprint, b.align, sorted(obstacles, key=lambda r: (-r[1], -r[0])), capacity
    )
    if top is None or top < bottom:
        return bottom  # top is None: nothing fits inside the arena
    if bottom + b.footprint > capacity:
        return top
    return top if _centre(obstacles) < capacity / 2 else bottom


def _centre(obstacles: list[tuple[int, int]]) -> float | None:
    """Size-weighted centre of the address ranges; +inf when there are none,
    so a buffer with no conflicts goes to the bottom."""
    total = sum(end - start for start, end in obstacles)
    if total == 0:
        return float("inf")
    return sum((start + end) / 2 * (end - start) for start, end in obstacles) / total
