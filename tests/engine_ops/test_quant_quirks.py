"""Quantisation quirks TFLM tolerates: the bridge reads them, the engine is bit-exact with TFLM.

Each model is a real converter model (tests/oneop.py) with one quirk written
back through the schema's object API, the way older converters and hand-made
files carry it. For each: the IR holds the normal form (tflite_bridge.conventions.
quantization), TFLM runs the quirky file with the same outputs as the original,
and the generated C equals TFLM on every tensor.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from engine.check.bitexact import check_bit_exact, first_lines
from engine.cli import main as tinyengine
from tests.bridge import tflm
from tests.oneop import int8_model
from tflite_bridge import read


class _Layers:
    def __getattr__(self, name):
        import tf_keras as keras

        return getattr(keras.layers, name)


L = _Layers()


def _conv() -> bytes:
    return int8_model(lambda x: L.Conv2D(4, 3, padding="same")(x), [(8, 8, 3)], key="quirks conv 4x3x3")


def _depthwise() -> bytes:
    return int8_model(lambda x: L.DepthwiseConv2D(3, padding="same")(x), [(8, 8, 4)], key="quirks dw 3x3 c4")


MODELS = {"conv": _conv, "depthwise": _depthwise}


# --- quirks, written through the schema object API -------------------------------------


def _edit(model: bytes, change) -> bytes:
    """`model` with `change(model_t, op_t)` applied to its one compute op, re-serialised."""
    m = schema.ModelT.InitFromPackedBuf(model, 0)
    (op,) = [o for o in m.subgraphs[0].operators if len(o.inputs) == 3]
    change(m, op)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _tensor(m, tid):
    return m.subgraphs[0].tensors[tid]


def bias_names_weights_axis(m, op) -> None:
    """The rank-1 bias says quantized_dimension 3, copied from 4-D weights (older converters)."""
    _tensor(m, op.inputs[2]).quantization.quantizedDimension = 3


def one_zero_point(m, op) -> None:
    """Per-channel weights and bias with a single zero point (TFLM's space-saving form)."""
    for tid in op.inputs[1:]:
        q = _tensor(m, tid).quantization
        q.zeroPoint = [int(q.zeroPoint[0])]


def bias_without_zero_points(m, op) -> None:
    """Bias scales but no zero points: TFLM reads the bias as not quantised (and never needs it)."""
    _tensor(m, op.inputs[2]).quantization.zeroPoint = None


def one_scale_naming_an_axis(m, op) -> None:
    """Weights requantised to one scale, quantized_dimension still 3 (as TFLM's person_detect)."""
    filt, bias = _tensor(m, op.inputs[1]), _tensor(m, op.inputs[2])
    scales = np.asarray(filt.quantization.scale, np.float64)
    top = float(np.float32(scales.max()))
    axis = filt.quantization.quantizedDimension
    shape = [1] * len(filt.shape)
    shape[axis] = -1
    w = np.frombuffer(bytes(m.buffers[filt.buffer].data), np.int8).reshape(filt.shape)
    w = np.clip(np.round(w * (scales / top).reshape(shape)), -127, 127).astype(np.int8)
    b = np.frombuffer(bytes(m.buffers[bias.buffer].data), np.int32)
    in_scale = float(_tensor(m, op.inputs[0]).quantization.scale[0])
    b = np.round(b * scales / top).astype(np.int32)
    m.buffers[filt.buffer].data = np.frombuffer(w.tobytes(), np.uint8)
    m.buffers[bias.buffer].data = np.frombuffer(b.tobytes(), np.uint8)
    filt.quantization.scale, filt.quantization.zeroPoint = [top], [0]
    filt.quantization.quantizedDimension = 3
    bias.quantization.scale = [float(np.float32(in_scale * top))]
    bias.quantization.zeroPoint = [0]
    bias.quantization.quantizedDimension = 3


def dynamic_batch_signature(m, op) -> None:
    """Input and output signatures with batch -1 (a model converted with a dynamic batch): TFLM reads
    only the shape."""
    for tid in (op.inputs[0], op.outputs[0]):
        t = _tensor(m, tid)
        t.shapeSignature = [-1, *list(t.shape)[1:]]


QUIRKS = [bias_names_weights_axis, one_zero_point, bias_without_zero_points, one_scale_naming_an_axis,
          dynamic_batch_signature]


def _cases():
    return [pytest.param(kind, quirk, id=f"{kind}-{quirk.__name__}") for kind in MODELS for quirk in QUIRKS]


# --- what the IR holds -----------------------------------------------------------------


def _ir_quants(model: bytes):
    graph = read(model)
    (op,) = [o for o in graph.ops if len(o.inputs) == 3]
    return [graph.tensors[t] for t in op.inputs[1:]]


@pytest.mark.parametrize("kind", MODELS)
def test_bias_axis_copied_from_weights_reads_as_axis_0(kind):
    filt, bias = _ir_quants(_edit(MODELS[kind](), bias_names_weights_axis))
    assert bias.quant.axis == 0 and len(bias.quant.scale) == bias.shape[0] == filt.shape[filt.quant.axis]


@pytest.mark.parametrize("kind", MODELS)
def test_one_zero_point_is_broadcast_to_every_channel(kind):
    filt, bias = _ir_quants(_edit(MODELS[kind](), one_zero_point))
    for t in (filt, bias):
        assert len(t.quant.zero_point) == len(t.quant.scale) > 1 and set(t.quant.zero_point) == {0}


@pytest.mark.parametrize("kind", MODELS)
def test_scales_without_zero_points_are_no_quantisation(kind):
    _, bias = _ir_quants(_edit(MODELS[kind](), bias_without_zero_points))
    assert bias.quant is None


@pytest.mark.parametrize("kind", MODELS)
def test_one_scale_is_per_tensor_whatever_the_axis(kind):
    filt, bias = _ir_quants(_edit(MODELS[kind](), one_scale_naming_an_axis))
    assert filt.quant.axis is None and bias.quant.axis is None and len(filt.quant.scale) == 1


@pytest.mark.parametrize("kind", MODELS)
def test_dynamic_batch_signature_keeps_the_shape(kind):
    graph = read(_edit(MODELS[kind](), dynamic_batch_signature))
    x = graph.tensors[graph.inputs[0]]
    assert x.shape[0] == 1 and x.shape_signature == (-1, *x.shape[1:])


# --- TFLM runs them, and the engine equals TFLM ----------------------------------------


@pytest.mark.parametrize("kind, quirk", [c for c in _cases() if c.values[1] is not one_scale_naming_an_axis])
def test_tflm_runs_the_quirk_as_the_original(kind, quirk):
    """The quirks that keep the numbers change nothing in TFLM's outputs (and TFLM accepts them)."""
    original = MODELS[kind]()
    quirky = _edit(original, quirk)
    inputs = tflm.random_inputs(original, 3, seed=1)
    for a, b in zip(tflm.run(original, inputs), tflm.run(quirky, inputs)):
        np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("kind, quirk", _cases())
def test_quirky_model_is_bit_exact_with_tflm(kind, quirk):
    report = check_bit_exact(_edit(MODELS[kind](), quirk), samples=2)
    assert report.bit_exact, first_lines(report)
    assert report.tensors_compared >= 2


def test_quirks_together_under_sanitizers():
    model = _depthwise()
    for quirk in (bias_names_weights_axis, one_zero_point):
        model = _edit(model, quirk)
    report = check_bit_exact(model, samples=2, sanitize=True)
    assert report.bit_exact, first_lines(report)


# --- refused as TFLM refuses -----------------------------------------------------------


def _too_few_scales(m, op) -> None:
    """Two filter scales for four output channels: TFLM's Prepare fails (scale size != channels)."""
    q = _tensor(m, op.inputs[1]).quantization
    q.scale, q.zeroPoint = list(q.scale[:2]), [0, 0]


def test_what_tflm_refuses_is_one_error_line(tmp_path, capsys):
    model = _edit(_conv(), _too_few_scales)
    with pytest.raises(RuntimeError):
        tflm.run(model, tflm.random_inputs(_conv(), 1, seed=0))
    path = tmp_path / "few_scales.tflite"
    path.write_bytes(model)
    assert tinyengine(["convert", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and "2 per-channel scales along axis 0" in err
    assert not (tmp_path / "out").exists()
