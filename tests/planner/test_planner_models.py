"""The planner on the MLPerf Tiny int8 models (models/mlperf_tiny, or $MCUNET_MODELS).

Buffers are TFLM's plain lifetimes (engine.memory.lifetimes with the TFLM rules). The expected
numbers are the ones measured with the TFLM runtime (models README): its
greedy planner's activation arena, and the lifetime lower bound.
"""

import time

import pytest

from engine.memory import exact as planner_exact
from engine.memory.lifetimes import TFLM, analyse
from engine.memory.planner import ALGORITHMS, check_no_overlap, lower_bound, plan
from tests.conftest import MODELS
from tflite_bridge import read

# model file -> (lower bound, TFLM greedy activation arena), bytes.
EXPECTED = {
    "mlperf_vww_96_int8.tflite": (55_296, 73_728),
    "mlperf_kws_ref_model.tflite": (16_000, 16_000),
    "mlperf_ic_pretrainedResnet_quant.tflite": (49_152, 49_152),
    "mlperf_ad01_int8.tflite": (768, 768),
}


def _graph(name):
    return read((MODELS / name).read_bytes())


def _buffers(name):
    return analyse(_graph(name), rules=TFLM).buffers


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_best_plan_reaches_the_lower_bound(name):
    buffers = _buffers(name)
    bound, _ = EXPECTED[name]
    assert lower_bound(buffers) == bound
    result = plan(buffers)
    assert result.peak == bound == result.lower_bound
    assert check_no_overlap(buffers, result.offsets) == bound


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_greedy_by_size_reproduces_tflm(name):
    # On VWW this is 73,728 bytes, 33% above the bound: why the planner
    # needs more than TFLM's greedy algorithm.
    _, tflm = EXPECTED[name]
    assert plan(_buffers(name), "greedy_by_size").peak == tflm


def test_exact_search_alone_lifts_tflm_greedy_to_the_vww_bound():
    buffers = _buffers("mlperf_vww_96_int8.tflite")
    greedy = ALGORITHMS["greedy_by_size"](buffers)
    result = planner_exact.search(buffers, greedy, node_budget=2000)
    assert result.peak == 55_296 and result.proved
    assert check_no_overlap(buffers, result.offsets) == 55_296


def test_plan_on_vww_takes_under_a_second():
    buffers = _buffers("mlperf_vww_96_int8.tflite")
    start = time.perf_counter()
    plan(buffers)
    assert time.perf_counter() - start < 1.0


def test_vww_lifetimes_follow_tflm():
    graph = _graph("mlperf_vww_96_int8.tflite")
    buffers = {b.id: b for b in analyse(graph, rules=TFLM).buffers}
    last = len(graph.ops) - 1
    assert buffers[graph.inputs[0]].first == 0
    assert buffers[graph.outputs[0]].last == last
    assert all(not graph.tensors[t].is_constant for t in buffers)
    # conv 0 writes tensor 58, depthwise conv 1 reads it
    assert (buffers[58].first, buffers[58].last) == (0, 1)
