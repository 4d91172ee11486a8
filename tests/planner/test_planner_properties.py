"""Property tests of every planning algorithm on random lifetimes.

Derandomised so CI sees the same examples every run: a failure here is a
planner bug, never flakiness.
"""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.memory import exact as planner_exact
from engine.memory.buffers import align_up
from engine.memory.planner import ALGORITHMS, Buffer, check_no_overlap, lower_bound, plan
from tests.planner.chains import chain, residual

_SETTINGS = settings(derandomize=True, deadline=None, max_examples=100)


@st.composite
def buffer_sets(draw, max_buffers=16, max_steps=12, aligns=(16,)):
    """Random buffers: sizes from tiny to larger than a 16-byte line."""
    count = draw(st.integers(0, max_buffers))
    steps = draw(st.integers(1, max_steps))
    buffers = []
    for i in range(count):
        first = draw(st.integers(0, steps - 1))
        last = draw(st.integers(first, steps - 1))
        size = draw(st.integers(0, 160))
        align = draw(st.sampled_from(aligns))
        buffers.append(Buffer(i, size, first, last, align))
    return buffers


@_SETTINGS
@given(buffer_sets(aligns=(8, 16, 64)))
def test_every_algorithm_gives_a_valid_plan_at_or_above_the_bound(buffers):
    bound = lower_bound(buffers)
    for name, algorithm in ALGORITHMS.items():
        offsets = algorithm(buffers)
        peak = check_no_overlap(buffers, offsets)
        assert peak >= bound, name


@_SETTINGS
@given(buffer_sets())
def test_best_is_no_worse_than_any_algorithm_and_deterministic(buffers):
    best = plan(buffers)
    for name, algorithm in ALGORITHMS.items():
        assert best.peak <= check_no_overlap(buffers, algorithm(buffers)), name
    again = plan(list(buffers))
    assert dict(again.offsets) == dict(best.offsets)
    assert again.algorithm == best.algorithm


def _brute_force_peak(buffers):
    """Optimum by enumerating every vertical order of the buffers.

    For each permutation, each buffer sits right above every conflicting
    buffer before it (aligned). Any plan orders its buffers by offset, and
    that order's stacking is no higher, so the minimum over all orders is the
    optimum. Independent of the exact search, which uses lowest fit.
    """
    best = None
    for order in itertools.permutations(buffers):
        offsets = {}
        for k, b in enumerate(order):
            ends = [offsets[a.id] + a.footprint for a in order[:k] if a.conflicts(b)]
            offsets[b.id] = align_up(max(ends, default=0), b.align)
        peak = max((offsets[b.id] + b.footprint for b in buffers), default=0)
        best = peak if best is None else min(best, peak)
    return best or 0


@settings(derandomize=True, deadline=None, max_examples=100)
@given(buffer_sets(max_buffers=7, max_steps=6, aligns=(16, 32)))
def test_exact_search_finds_the_brute_force_optimum(buffers):
    offsets = ALGORITHMS["exact"](buffers)
    assert check_no_overlap(buffers, offsets) == _brute_force_peak(buffers)


def test_exact_search_improves_a_bad_start_to_the_optimum():
    buffers = [Buffer(0, 32, 0, 0), Buffer(1, 32, 0, 1), Buffer(2, 32, 1, 1)]
    bad = {0: 0, 1: 32, 2: 64}  # valid, peak 96; 2 could reuse 0's bytes
    result = planner_exact.search(buffers, bad)
    assert result.peak == 64 == lower_bound(buffers)
    assert result.proved
    assert check_no_overlap(buffers, result.offsets) == 64


def test_exact_search_keeps_start_when_budget_is_spent():
    buffers = chain([16 * (1 + i % 5) for i in range(30)])
    start = ALGORITHMS["greedy_by_size"](buffers)
    result = planner_exact.search(buffers, start, node_budget=1)
    assert result.nodes <= 2
    assert check_no_overlap(buffers, result.offsets) == result.peak
    assert result.peak <= check_no_overlap(buffers, start)


@_SETTINGS
@given(st.lists(st.integers(1, 40_000), min_size=1, max_size=40))
def test_chains_reach_the_bound(sizes):
    buffers = chain(sizes)
    result = plan(buffers)
    assert result.peak == result.lower_bound


@_SETTINGS
@given(
    st.integers(16, 20_000),
    st.lists(st.tuples(st.integers(16, 20_000), st.integers(16, 20_000)), min_size=1, max_size=8),
)
def test_residual_graphs_reach_the_bound(input_size, blocks):
    result = plan(residual(input_size, blocks))
    assert result.peak == result.lower_bound
