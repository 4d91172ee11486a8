"""The planner's data and the checks every algorithm is held to.

`Buffer`, the live-bytes `lower_bound`, `check_no_overlap`, and the two
placement primitives the algorithms share (`lowest_fit`, `highest_fit`).
See engine/memory/planner.py for how alignment and footprints are defined.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

# Every arena buffer's alignment and footprint granule (TFLM rounds to 16 bytes too).
ALIGN = 16


class PlanError(Exception):
    """An invalid buffer, request or plan; the message names the buffers and values."""


@dataclasses.dataclass(frozen=True)
class Buffer:
    """One arena buffer, live from step `first` to step `last` inclusive.

    Attributes:
        id: unique id (the engine uses tensor ids and ids for scratch areas).
        size: bytes the buffer needs.
        first: first step (op index) it is live.
        last: last step it is live.
        align: its offset must be a multiple of this power of two.
    """

    id: int
    size: int
    first: int
    last: int
    align: int = ALIGN

    def __post_init__(self):
        if self.size < 0:
            raise PlanError(f"buffer {self.id}: negative size {self.size}")
        if self.first < 0 or self.last < self.first:
            raise PlanError(
                f"buffer {self.id}: lifetime [{self.first}, {self.last}] is not a "
                "non-negative step range"
            )
        if self.align <= 0 or self.align & (self.align - 1):
            raise PlanError(f"buffer {self.id}: alignment {self.align} is not a power of two")

    @property
    def footprint(self) -> int:
        """Bytes the buffer occupies: `size` rounded up to `align`."""
        return align_up(self.size, self.align)

    def conflicts(self, other: Buffer) -> bool:
        """True when the two lifetimes share a step (so addresses must not)."""
        return self.first <= other.last and other.first <= self.last


def align_up(value: int, align: int) -> int:
    return -(-value // align) * align


def align_down(value: int, align: int) -> int:
    return (value // align) * align


def lower_bound(buffers: Sequence[Buffer]) -> int:
    """Max over steps of the footprints live at that step.

    No plan can be smaller: the buffers live at one step are pairwise in
    conflict, so they need disjoint address ranges.
    """
    # Sweep: +footprint at `first`, -footprint after `last`. Removals sort
    # before additions at the same step, since `last + 1` ends a lifetime
    # before the step whose buffers start there.
    events = []
    for b in buffers:
        events.append((b.first, 1, b.footprint))
        events.append((b.last + 1, 0, -b.footprint))
    live = best = 0
    for _, _, delta in sorted(events):
        live += delta
        best = max(best, live)
    return best


def peak_of(buffers: Sequence[Buffer], offsets: Mapping[int, int]) -> int:
    """Arena bytes a plan needs: max of offset + footprint (0 for no buffers)."""
    return max((offsets[b.id] + b.footprint for b in buffers), default=0)


def check_no_overlap(buffers: Sequence[Buffer], offsets: Mapping[int, int]) -> int:
    """Checks a plan and returns its peak.

    Raises:
        PlanError: a buffer without an offset, a negative or misaligned offset,
            or two buffers that are live at one step and share an address.
    """
    for b in buffers:
        if b.id not in offsets:
            raise PlanError(f"buffer {b.id} has no offset")
        offset = offsets[b.id]
        if offset < 0 or offset % b.align:
            raise PlanError(
                f"buffer {b.id}: offset {offset} is negative or not a multiple of {b.align}"
            )
    by_offset = sorted(buffers, key=lambda b: offsets[b.id])
    for i, a in enumerate(by_offset):
        a_end = offsets[a.id] + a.footprint
        for b in by_offset[i + 1 :]:
            if offsets[b.id] >= a_end:
                break  # sorted by offset: nothing later can reach back into `a`
            if b.footprint and a.footprint and a.conflicts(b):
                raise PlanError(
                    f"buffers {a.id} [{offsets[a.id]}, {a_end}) steps "
                    f"[{a.first}, {a.last}] and {b.id} [{offsets[b.id]}, "
                    f"{offsets[b.id] + b.footprint}) steps [{b.first}, {b.last}] overlap"
                )
    return peak_of(buffers, offsets)


def lowest_fit(size: int, align: int, obstacles: Sequence[tuple[int, int]]) -> int:
    """Lowest aligned offset where `size` bytes avoid every obstacle.

    Args:
        size: bytes to place (a footprint, > 0).
        align: alignment of the offset.
        obstacles: (start, end) address ranges, sorted by start.
    """
    candidate = 0
    for start, end in obstacles:
        if start >= candidate + size:
            break  # the gap below `start` fits; later obstacles start higher
        if end > candidate:
            candidate = align_up(end, align)
    return candidate


def highest_fit(
    size: int, align: int, obstacles: Sequence[tuple[int, int]], capacity: int
) -> int | None:
    """Highest aligned offset where `size` bytes fit below `capacity` and avoid
    every obstacle, or None if there is none.

    Args:
        obstacles: (start, end) address ranges, sorted by end, highest first.
    """
    candidate = align_down(capacity - size, align)
    for start, end in obstacles:
        if candidate < 0:
            return None
        if end <= candidate:
            break  # the gap above `end` fits; later obstacles end lower
        if start < candidate + size:
            candidate = align_down(start - size, align)
    return candidate if candidate >= 0 else None
