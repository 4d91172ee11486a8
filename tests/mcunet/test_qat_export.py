"""QAT / PTQ export of a micro subnet: int8 .tflite the engine compiles, bit-exact C, budget checks.

One QAT export and one PTQ conversion (each a real TFLite conversion, the slow part) on a micro
search space (two stages, 16x16 inputs) keep the module near a minute on shared CPUs.
"""

import dataclasses
import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from engine.check.bitexact import check_bit_exact  # noqa: E402
from engine.compile import compile_graph  # noqa: E402
from mcunet_tf import qat  # noqa: E402
from mcunet_tf.config import SearchSpace  # noqa: E402
from mcunet_tf.data import synthetic_images  # noqa: E402
from mcunet_tf.estimator import Cost, estimate, program_cost  # noqa: E402
from mcunet_tf.export import (  # noqa: E402
    BudgetError,
    EstimateMismatch,
    as_estimated,
    check_budget,
    check_estimate,
    export,
)
from tflite_bridge import DType, read  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Budget:
    sram_bytes: int
    flash_bytes: int


def micro_space() -> SearchSpace:
    return SearchSpace(kernel_choices=(3, 5), expand_choices=(2, 3), depth_choices=(1, 2),
                       width_choices=(0.25, 0.5), resolution_choices=(16, 24), num_classes=10,
                       stage_channels=(16, 24), stage_strides=(2, 2))


def micro_config():
    space = micro_space()
    # Residual blocks (depth 2) and both kernels, so ADD and every conv kind are exported.
    return dataclasses.replace(space.smallest(), depths=(2, 1), kernels=((3, 5), (5,)), expands=((2, 3), (2,)))


@pytest.fixture(scope="module")
def data():
    # Inputs at 20x20: export resizes them to the subnet's 16x16.
    x, y = synthetic_images(96, 20, 10, seed=1)
    return (x[:64], y[:64]), (x[64:], y[64:])


@pytest.fixture(scope="module")
def qat_result(data, tmp_path_factory):
    config = micro_config()
    generous = Budget(sram_bytes=64 * 1024, flash_bytes=256 * 1024)
    return export(config, data, tmp_path_factory.mktemp("qat"), budget=generous, method="qat", epochs=1,
                  name="micro")


def test_qat_export_gives_an_int8_model_the_engine_runs_bit_exact(qat_result, data):
    graph = read(qat_result.tflite_path.read_bytes())
    assert graph.tensors[graph.inputs[0]].dtype == DType.INT8
    assert graph.tensors[graph.outputs[0]].dtype == DType.INT8
    kinds = {op.kind for op in graph.ops}
    assert kinds == {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED"}, kinds
    assert qat_result.bit_exact
    # The same file verified again independently, on random inputs.
    assert check_bit_exact(qat_result.tflite_path, samples=2, seed=5).bit_exact


def test_qat_export_figures_are_the_engines_and_the_estimators(qat_result):
    program = compile_graph(read(qat_result.tflite_path.read_bytes()))
    assert qat_result.sram_bytes == program.arena_bytes
    assert qat_result.cost.weight_bytes == program.weight_bytes
    predicted = estimate(micro_config())
    assert qat_result.sram_bytes == predicted.sram_bytes and qat_result.predicted == predicted
    # The QAT classifier is per-tensor: one multiplier and one shift (16 B each, aligned) instead of
    # ten (48 B each), 64 B below the estimate (which assumes per-channel, as PTQ gives).
    assert qat_result.flash_bytes == predicted.flash_bytes - 64
    assert qat_result.flash_bytes == qat_result.cost.const_bytes + qat_result.cost.code_bytes
    assert qat_result.cost.const_bytes >= program.weight_bytes > 0


def test_qat_export_writes_the_c_folder_and_a_report(qat_result):
    c_dir = qat_result.c_dir
    assert {"micro.c", "micro.h", "Makefile"} <= {p.name for p in c_dir.iterdir()}
    report = json.loads((c_dir.parent / "micro.json").read_text())
    assert report["sram_bytes"] == qat_result.sram_bytes and report["bit_exact"] is True


def test_int8_accuracy_is_the_tflm_models_on_the_validation_split(qat_result, data):
    images, labels = data[1]
    tflite = qat_result.tflite_path.read_bytes()
    predictions = np.argmax(qat.int8_predict(tflite, images), axis=-1)
    assert qat_result.int8_accuracy == pytest.approx(np.mean(predictions == labels), abs=0)
    assert 0.0 <= qat_result.float_accuracy <= 1.0


def test_ptq_export_over_budget_fails_loudly_but_leaves_a_valid_tflite(data, tmp_path):
    tiny = Budget(sram_bytes=512, flash_bytes=1_000_000)
    with pytest.raises(BudgetError, match=r"SRAM [\d,]+ B > budget 512 B \(over by [\d,]+ B\)"):
        export(micro_config(), data, tmp_path, budget=tiny, method="ptq", name="ptq")
    tflite = (tmp_path / "ptq.tflite").read_bytes()
    assert not (tmp_path / "ptq").exists()  # no C folder for a model over budget
    assert compile_graph(read(tflite)).arena_bytes == estimate(micro_config()).sram_bytes
    assert check_bit_exact(tflite, samples=2).bit_exact


def _cost(sram: int, const: int, code: int = 100) -> Cost:
    return Cost(sram_bytes=sram, weight_bytes=const // 2, const_bytes=const, code_bytes=code, macs=1,
                kernels=("te_fc_s8",))


def test_check_budget_quotes_every_exceeded_figure():
    check_budget(_cost(1000, 900), Budget(1000, 1000))  # at the limit is within it
    check_budget(_cost(10**9, 10**9), None)
    with pytest.raises(BudgetError, match=r"Flash 1,100 B > budget 1,000 B \(over by 100 B\)") as error:
        check_budget(_cost(1000, 1000), Budget(1000, 1000))
    assert "SRAM" not in str(error.value)
    with pytest.raises(BudgetError, match=r"SRAM 2,048 B > budget 1,024 B.*Flash 5,100 B > budget 4,096 B"):
        check_budget(_cost(2048, 5000), Budget(1024, 4096))


def test_check_estimate_fails_when_a_figure_moved():
    predicted = _cost(1024, 512)
    check_estimate(predicted, predicted, predicted)
    check_estimate(_cost(10**6, 10**6), _cost(10**6, 10**6), None)
    with pytest.raises(EstimateMismatch, match=r"SRAM 1,040 B, estimator predicted 1,024 B \(\+16 B\)"):
        check_estimate(_cost(1040, 512), _cost(1040, 512), predicted)
    with pytest.raises(EstimateMismatch, match=r"structural Flash 596 B, estimator predicted 612 B \(-16 B\)"):
        check_estimate(_cost(1024, 496), _cost(1024, 496), predicted)
    # Less real Flash than the structure's (a refused bias fold) is allowed; more never is.
    check_estimate(_cost(1024, 448), predicted, predicted)
    with pytest.raises(EstimateMismatch, match=r"Flash 628 B above the estimator's 612 B"):
        check_estimate(_cost(1024, 528), predicted, predicted)


def test_as_estimated_zeroes_weights_and_makes_filters_per_channel(qat_result):
    graph = read(qat_result.tflite_path.read_bytes())
    fc = next(op for op in graph.ops if op.kind == "FULLY_CONNECTED")
    assert graph.tensors[fc.inputs[1]].quant.axis is None  # tfmot QAT: per-tensor Dense weights
    estimated = as_estimated(graph)
    weighted = {t for op in graph.ops if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
                for t in op.inputs[1:]}
    for before, after in zip(graph.tensors, estimated.tensors, strict=True):
        assert (before.shape, before.dtype) == (after.shape, after.dtype)
        if before.id in weighted:
            assert after.buffer == bytes(len(before.buffer)) and before.buffer != after.buffer
            assert after.quant.axis is not None and len(after.quant.scale) == after.shape[after.quant.axis]
        else:
            assert (after.buffer, after.quant) == (before.buffer, before.quant)  # e.g. MEAN's axes
    filt = estimated.tensors[fc.inputs[1]]
    assert filt.quant.axis == 0 and len(filt.quant.scale) == 10
    # Exactly the estimator's graph, while the real classifier needs less Flash (one multiplier).
    program = compile_graph(estimated)
    assert program_cost(program) == estimate(micro_config())
    assert qat_result.flash_bytes < qat_result.predicted.flash_bytes


def test_the_package_attribute_export_is_callable(monkeypatch):
    import mcunet_tf
    import mcunet_tf.export

    # Calling the module runs its export(): replace that and see the call arrive.
    monkeypatch.setattr(mcunet_tf.export, "export", lambda *args, **kwargs: ("exported", args, kwargs))
    assert mcunet_tf.export(1, method="ptq") == ("exported", (1,), {"method": "ptq"})
    with pytest.raises(ValueError, match="method must be one of"):
        mcunet_tf.export.quantize(None, (np.zeros((1, 4, 4, 1)), np.zeros(1)), "int4", 1)
