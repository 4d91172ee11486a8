"""The Cortex-M latency model: its fit, its file, and its predictions against exact QEMU counts."""

import json
import shutil

import numpy as np
import pytest

from engine.compile import CompileOptions, compile_graph
from engine.target import latency
from mcunet_tf.estimator import Estimator, subnet_graph
from tests.mcunet.conftest import tiny_space

needs_arm = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)


def _graphs(count: int, seed: int):
    rng = np.random.default_rng(seed)
    space = tiny_space()
    return [subnet_graph(space.sample(rng)) for _ in range(count)]


def test_op_classes_name_kernel_and_stride():
    graph = subnet_graph(tiny_space().largest())
    classes = {latency.op_class(graph, i) for i in range(len(graph.ops))}
    assert {"CONV_2D 3x3/2", "CONV_2D 1x1/1", "ADD", "MEAN", "FULLY_CONNECTED"} <= classes
    assert "DEPTHWISE_CONV_2D 7x7/2" in classes or "DEPTHWISE_CONV_2D 7x7/1" in classes


def test_fit_reproduces_counts_that_follow_the_model():
    """Counts made from known per-class coefficients are predicted back exactly."""
    rng = np.random.default_rng(0)
    truth = {}

    def count(graph, i):
        key = latency.op_class(graph, i)
        truth.setdefault(key, rng.uniform(0.0, 4.0, len(latency.FEATURES)))
        return int(round(float(np.dot(truth[key], latency.op_features(graph, i)))))

    graphs = _graphs(12, seed=1)
    measured = [(g, [count(g, i) for i in range(len(g.ops))]) for g in graphs]
    model = latency.fit("cortex-m7", measured[:-2])
    for graph, counts in measured[-2:]:
        for i, n in enumerate(counts):
            if latency.op_class(graph, i) in model.coefficients:
                # The counts were rounded to integers from exact linear forms, and NNLS solves in floating point.
                assert model.op_instructions(graph, i) == pytest.approx(n, rel=1e-3, abs=2)


def test_unmeasured_classes_fall_back_to_their_kind_then_to_every_op():
    graph = subnet_graph(tiny_space().smallest())
    model = latency.LatencyModel("cortex-m7", {"CONV_2D": (1, 0, 0, 0, 0, 0), latency.ANY: (2, 0, 0, 0, 0, 0)}, {})
    predicted = [model.op_instructions(graph, i) for i in range(len(graph.ops))]
    assert predicted == [1.0 if op.kind == "CONV_2D" else 2.0 for op in graph.ops]
    with pytest.raises(latency.LatencyError, match=r"no entry for op 0 \(CONV_2D\)"):
        latency.LatencyModel("cortex-m7", {}, {}).op_instructions(graph, 0)


def test_model_file_round_trip_and_errors(tmp_path, monkeypatch):
    model = latency.load("cortex-m7")
    assert latency.LatencyModel.from_dict(json.loads(json.dumps(model.as_dict()))) == model
    # Every class a subnet of the default spaces can contain was measured.
    for key in ("CONV_2D 3x3/2", "CONV_2D 1x1/1", "ADD", "MEAN", "FULLY_CONNECTED", *(
            f"DEPTHWISE_CONV_2D {k}x{k}/{s}" for k in (3, 5, 7) for s in (1, 2))):
        assert model.samples[key] >= 3, key
    with pytest.raises(latency.LatencyError, match="no latency model for 'cortex-m0'"):
        latency.load("cortex-m0")
    monkeypatch.setattr(latency, "HERE", tmp_path)
    (tmp_path / "latency_bad.json").write_text('{"target": "bad", "features": ["ops"]}')
    with pytest.raises(latency.LatencyError, match="features"):
        latency.load.__wrapped__("bad")


def test_estimator_instructions_are_the_models_sum():
    estimator = Estimator()
    model = latency.load("cortex-m7")
    for graph, config in ((subnet_graph(c), c) for c in (tiny_space().smallest(), tiny_space().largest())):
        assert estimator.cost(config).instructions == model.instructions(graph) > 0


@needs_arm
def test_predictions_match_qemu_counts_of_unseen_subnets():
    """Subnets the shipped model never saw: predicted instructions per inference within 5% of QEMU's."""
    from engine.target.on_target import profile_program

    model = latency.load("cortex-m7")
    for graph in _graphs(2, seed=2024):
        program = compile_graph(graph, CompileOptions(target="cortex-m7"))
        measured = sum(p.instructions for p in profile_program(program))
        assert model.instructions(graph) == pytest.approx(measured, rel=0.05)
