"""Unit tests of the planner's data, bound, check and entry point."""

import pytest

from engine.memory.buffers import highest_fit, lowest_fit
from engine.memory.planner import (
    ALGORITHMS,
    Buffer,
    PlanError,
    buffers_from_lifetimes,
    check_no_overlap,
    lower_bound,
    plan,
)


def test_buffer_rejects_bad_fields():
    with pytest.raises(PlanError, match="negative size -1"):
        Buffer(0, -1, 0, 0)
    with pytest.raises(PlanError, match=r"lifetime \[3, 2\]"):
        Buffer(0, 8, 3, 2)
    with pytest.raises(PlanError, match="alignment 24"):
        Buffer(0, 8, 0, 0, align=24)


def test_footprint_rounds_size_up_to_alignment():
    assert Buffer(0, 1, 0, 0).footprint == 16
    assert Buffer(0, 16, 0, 0).footprint == 16
    assert Buffer(0, 17, 0, 0, align=8).footprint == 24
    assert Buffer(0, 0, 0, 0).footprint == 0


def test_conflict_is_shared_step_inclusive():
    a = Buffer(0, 16, 0, 2)
    assert a.conflicts(Buffer(1, 16, 2, 4))  # both live at step 2
    assert not a.conflicts(Buffer(1, 16, 3, 4))


def test_lower_bound_is_max_live_footprint():
    buffers = [Buffer(0, 10, 0, 1), Buffer(1, 20, 1, 2), Buffer(2, 40, 2, 2)]
    # footprints 16, 32, 48; step 1: 16 + 32, step 2: 32 + 48
    assert lower_bound(buffers) == 80
    assert lower_bound([]) == 0


def test_lower_bound_ends_lifetime_before_next_step():
    # Buffer 0 dies after step 1; buffer 1 starts at step 2: never together.
    assert lower_bound([Buffer(0, 64, 0, 1), Buffer(1, 64, 2, 3)]) == 64


def test_check_no_overlap_returns_peak():
    buffers = [Buffer(0, 16, 0, 1), Buffer(1, 32, 1, 2), Buffer(2, 16, 2, 2)]
    assert check_no_overlap(buffers, {0: 0, 1: 16, 2: 0}) == 48


def test_check_no_overlap_allows_sharing_across_time():
    buffers = [Buffer(0, 64, 0, 0), Buffer(1, 64, 1, 1)]
    assert check_no_overlap(buffers, {0: 0, 1: 0}) == 64


def test_check_no_overlap_rejects_overlap_naming_both():
    buffers = [Buffer(3, 32, 0, 1), Buffer(7, 32, 1, 2)]
    with pytest.raises(PlanError, match=r"buffers 3 \[0, 32\).*7 \[16, 48\).*overlap"):
        check_no_overlap(buffers, {3: 0, 7: 16})


def test_check_no_overlap_rejects_overlap_hidden_behind_a_long_buffer():
    # 1 starts inside 0 and 2 starts inside 0 too, but 1 and 2 never meet in
    # time; 0 and 2 do. The check must not stop after the first neighbour.
    buffers = [Buffer(0, 64, 0, 0), Buffer(1, 16, 1, 1), Buffer(2, 16, 0, 0)]
    with pytest.raises(PlanError, match="buffers 0 .* 2 .* overlap"):
        check_no_overlap(buffers, {0: 0, 1: 16, 2: 32})


def test_check_no_overlap_rejects_misaligned_and_missing():
    with pytest.raises(PlanError, match="offset 8 is negative or not a multiple of 16"):
        check_no_overlap([Buffer(0, 16, 0, 0)], {0: 8})
    with pytest.raises(PlanError, match="buffer 1 has no offset"):
        check_no_overlap([Buffer(1, 16, 0, 0)], {})


def test_lowest_fit_takes_first_gap_that_fits():
    obstacles = [(0, 16), (32, 48), (96, 112)]
    assert lowest_fit(16, 16, obstacles) == 16
    assert lowest_fit(32, 16, obstacles) == 48
    assert lowest_fit(64, 16, obstacles) == 112
    assert lowest_fit(16, 64, [(0, 16)]) == 64  # alignment skips the gap at 16


def test_highest_fit_takes_highest_gap_under_capacity():
    obstacles = sorted([(0, 16), (32, 48), (96, 112)], key=lambda r: -r[1])
    assert highest_fit(16, 16, obstacles, 128) == 112
    assert highest_fit(48, 16, obstacles, 128) == 48
    assert highest_fit(64, 16, obstacles, 128) is None
    assert highest_fit(16, 16, [], 8) is None


def test_buffers_from_lifetimes_spans_first_to_last_use():
    buffers = buffers_from_lifetimes({5: 100, 2: 8}, {5: [3, 1, 4], 2: [0]}, align=8)
    assert buffers == (Buffer(2, 8, 0, 0, 8), Buffer(5, 100, 1, 4, 8))


def test_buffers_from_lifetimes_rejects_unused_and_unsized():
    with pytest.raises(PlanError, match="buffer 1 .* has no uses"):
        buffers_from_lifetimes({1: 16}, {})
    with pytest.raises(PlanError, match=r"buffers \[9\] that have no size"):
        buffers_from_lifetimes({}, {9: [0]})


def test_plan_rejects_unknown_algorithm_and_duplicate_ids():
    with pytest.raises(PlanError, match="unknown planning algorithm 'first_fit'"):
        plan([Buffer(0, 16, 0, 0)], algorithm="first_fit")
    with pytest.raises(PlanError, match="buffer id 4 appears twice"):
        plan([Buffer(4, 16, 0, 0), Buffer(4, 16, 1, 1)])


@pytest.mark.parametrize("algorithm", [*ALGORITHMS, "best"])
def test_every_algorithm_handles_empty_and_zero_size(algorithm):
    assert plan([], algorithm).peak == 0
    buffers = [Buffer(0, 0, 0, 3), Buffer(1, 16, 0, 3), Buffer(2, 0, 1, 1)]
    result = plan(buffers, algorithm)
    assert result.peak == 16
    assert dict(result.offsets) == {0: 0, 1: 0, 2: 0}


@pytest.mark.parametrize("algorithm", [*ALGORITHMS, "best"])
def test_mixed_alignment_offsets_are_aligned(algorithm):
    buffers = [Buffer(0, 16, 0, 1, 16), Buffer(1, 100, 1, 2, 64), Buffer(2, 8, 0, 2, 8)]
    result = plan(buffers, algorithm)
    for b in buffers:
        assert result.offsets[b.id] % b.align == 0
    assert result.peak == check_no_overlap(buffers, result.offsets)


def test_plan_offsets_are_read_only_and_labelled():
    result = plan([Buffer(0, 16, 0, 0)], "greedy_by_size")
    assert result.algorithm == "greedy_by_size"
    assert result.lower_bound == 16 and result.meets_bound
    with pytest.raises(TypeError):
        result.offsets[0] = 32
