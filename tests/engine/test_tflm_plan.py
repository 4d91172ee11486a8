"""Our plan handed to TFLM: same outputs, smaller arena, equal to our peak."""

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.check.tflm import Tflm
from engine.memory.tflm_plan import planned_model
from tests.conftest import INT8_MODELS
from tflite_bridge import read
from tflite_bridge.writer import offline_plan


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_tflm_runs_our_plan_with_identical_outputs(key):
    source = INT8_MODELS[key].read_bytes()
    graph = read(source)
    planned, plan = planned_model(graph)
    assert offline_plan(read(planned)) == plan.offsets
    before, after = Tflm(source), Tflm(planned)
    rng = np.random.default_rng(3)
    shape = graph.tensors[graph.inputs[0]].shape
    for _ in range(5):
        x = rng.integers(-128, 128, size=shape).astype(np.int8)
        assert np.array_equal(before.run([x], 1)[0], after.run([x], 1)[0])
    assert after.arena()["head"] == plan.peak == plan.lower_bound
    assert after.arena()["total"] <= before.arena()["total"]


def test_vww_arena_drops_by_a_quarter(tmp_path):
    out = tmp_path / "vww_planned.tflite"
    proc = subprocess.run([sys.executable, "-m", "engine", "plan-tflm", str(INT8_MODELS["vww"]), "--out", str(out),
                           "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert (r["tflm_head_bytes"], r["planned_tflm_head_bytes"]) == (73728, 55296)
    assert r["planned_tflm_arena_bytes"] == r["tflm_arena_bytes"] - (73728 - 55296)


def test_the_two_tflm_lifetime_rules_are_what_tflm_does():
    """A RESHAPE whose input lives on: TFLM's own planner gives the reshaped tensor a buffer of its own
    (the memory report's TFLM line, rules TFLM), while our offline plan may share the address, which
    TFLM's RESHAPE then skips copying (tflm_plan, rules TFLM_OFFLINE); outputs stay identical."""
    from engine.memory.lifetimes import TFLM, TFLM_OFFLINE, plan_graph
    from tests.oneop import int8_model

    def build(x):
        import tf_keras as keras

        L = keras.layers
        a = L.Conv2D(16, 3, padding="same")(x)
        c = L.Conv2D(1, 3, padding="same")(L.Reshape((32, 8, 16))(a))  # reads the reshaped copy of a ...
        e = L.Conv2D(1, 3, padding="same")(a)  # ... while a is still needed here
        return L.Add()([L.Reshape((16, 16, 1))(c), e])

    source = int8_model(build, [(16, 16, 8)], key="reshape-alias-probe-3")
    graph = read(source)
    online = plan_graph(graph, algorithm="greedy_by_size", rules=TFLM)[1].peak
    assert Tflm(source).arena()["head"] == online == 8448
    planned, plan = planned_model(graph)
    assert plan.peak == plan_graph(graph, rules=TFLM_OFFLINE)[1].peak == 6144
    assert Tflm(planned).arena()["head"] == plan.peak
    x = np.random.default_rng(0).integers(-128, 128, size=(1, 16, 16, 8)).astype(np.int8)
    assert np.array_equal(Tflm(source).run([x], 1)[0], Tflm(planned).run([x], 1)[0])
