"""CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pooling and MEAN/SUM against TFLM.

Every case is a one-op int8 model from the real TF converter (tests/oneop.py),
compiled to C, built and run on the host by engine.check.bitexact.check_bit_exact, which
compares the output and every op-written tensor with the TFLM runtime at zero
tolerance. Cases the converter never emits (per-tensor conv weights,
per-channel FC weights, equal MEAN scales, huge biases) are made by rewriting
the converted model's quantisation through the IR.
"""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest

from engine.check.bitexact import check_bit_exact, first_lines
from engine.compile import CompileOptions, EngineError, compile_graph
from tests.oneop import int8_model, replace_tensor
from tflite_bridge import read, write
from tflite_bridge.ir import Graph, Quant

SAMPLES = 2


class _Layers:
    """tf_keras.layers, imported on first use: cached models never load TensorFlow."""

    def __getattr__(self, name):
        import tf_keras as keras

        return getattr(keras.layers, name)


L = _Layers()


def _tf():
    import tensorflow as tf

    return tf


def _check(model: bytes, inplace: bool = True, sanitize: bool = False) -> None:
    report = check_bit_exact(model, samples=SAMPLES, options=CompileOptions(inplace=inplace), sanitize=sanitize)
    assert report.bit_exact, first_lines(report)
    assert report.tensors_compared >= SAMPLES


def _kernel(model: bytes, inplace: bool = True) -> str:
    return compile_graph(read(model), CompileOptions(inplace=inplace)).calls[0].function


# --- model rewriting through the IR -------------------------------------------------


def _requantize_weights(graph: Graph, op_index: int, new_scales: np.ndarray, axis: int | None) -> Graph:
    """Re-express the op's weights (and int32 bias) in `new_scales` along the output axis."""
    op = graph.ops[op_index]
    filt = graph.tensor(op.inputs[1])
    out_axis = 3 if op.kind == "DEPTHWISE_CONV_2D" else 0
    old = np.broadcast_to(np.asarray(filt.quant.scale, np.float64), (filt.shape[out_axis],))
    shape = [1] * len(filt.shape)
    shape[out_axis] = -1
    ratio = old / np.broadcast_to(new_scales, old.shape)
    w = np.clip(np.round(filt.data * ratio.reshape(shape)), -127, 127).astype(np.int8)
    in_scale = graph.tensor(op.inputs[0]).quant.scale[0]
    scales = tuple(float(s) for s in np.atleast_1d(new_scales).astype(np.float32))
    zeros = (0,) * len(scales)
    graph = replace_tensor(graph, filt.id, buffer=w.tobytes(), quant=Quant(scales, zeros, axis))
    if op.input(2) < 0:
        return graph
    bias = graph.tensor(op.inputs[2])
    b = np.round(bias.data * ratio).astype(np.int32)
    bias_scales = tuple(float(np.float32(in_scale * s)) for s in scales)
    return replace_tensor(graph, bias.id, buffer=b.tobytes(), quant=Quant(bias_scales, zeros, axis))


def _weighted_op(graph: Graph) -> int:
    """Index of the model's conv-like op (the converter may put a RESHAPE first)."""
    return next(i for i, op in enumerate(graph.ops) if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))


def per_tensor_weights(model: bytes) -> bytes:
    graph = read(model)
    index = _weighted_op(graph)
    filt = graph.tensor(graph.ops[index].inputs[1])
    return write(_requantize_weights(graph, index, np.float32(max(filt.quant.scale)), None))


def unfoldable_bias(model: bytes) -> bytes:
    """A conv-like model where TFLM's accumulator fits int32 but the folded form might not.

    Input zero point -128 (input_offset 128), positive weights, and on even
    channels a bias just below INT32_MAX - 255 * sum|w|: TFLM's sum stays in
    range, bias + 128 * sum(w) + sum(x * w) may not, so the lowering must not fold.
    """
    graph = read(model)
    op = graph.ops[_weighted_op(graph)]
    inp, filt, bias = (graph.tensor(t) for t in op.inputs[:3])
    w = np.clip(np.abs(filt.data.astype(np.int64)), 1, 127)
    per_channel = w.reshape(w.shape[0], -1) if op.kind != "DEPTHWISE_CONV_2D" else w.reshape(-1, w.shape[-1]).T
    b = bias.data.astype(np.int64).copy()
    b[::2] = 2**31 - 1 - 255 * per_channel.sum(axis=1)[::2] - 7
    graph = replace_tensor(graph, filt.id, buffer=w.astype(np.int8).tobytes())
    graph = replace_tensor(graph, bias.id, buffer=b.astype(np.int32).tobytes())
    return write(replace_tensor(graph, inp.id, quant=Quant(inp.quant.scale, (-128,), None)))


def output_quant_like_input(model: bytes) -> bytes:
    graph = read(model)
    op = graph.ops[0]
    return write(replace_tensor(graph, op.outputs[0], quant=graph.tensor(op.inputs[0]).quant))


# --- CONV_2D -------------------------------------------------------------------------

CONV_CASES = [
    # (input HWC, filters, kernel, stride, padding, dilation, activation)
    ((9, 9, 5), 8, 3, 1, "same", 1, None),
    ((10, 11, 3), 7, 3, 2, "valid", 1, "relu"),
    ((8, 8, 4), 6, 3, 2, "same", 1, "relu6"),
    ((11, 10, 3), 5, 5, 2, "same", 1, None),
    ((12, 12, 2), 4, 7, 1, "same", 1, "relu"),
    ((13, 12, 3), 5, 3, 1, "same", 2, None),
    ((6, 6, 17), 33, 1, 1, "valid", 1, "relu6"),
    ((7, 5, 16), 9, 1, 2, "same", 1, None),
    ((5, 7, 3), 4, (3, 1), 1, "same", 1, None),
]


@pytest.mark.parametrize("shape,filters,kernel,stride,padding,dilation,act", CONV_CASES)
def test_conv2d(shape, filters, kernel, stride, padding, dilation, act):
    build = lambda x: L.Conv2D(
        filters, kernel, strides=stride, padding=padding, dilation_rate=dilation, activation=act
    )(x)
    model = int8_model(build, [shape], key=f"conv|{shape}|{filters}|{kernel}|{stride}|{padding}|{dilation}|{act}")
    _check(model)


def test_conv2d_pointwise_uses_the_1x1_kernel():
    model = int8_model(lambda x: L.Conv2D(33, 1)(x), [(6, 6, 17)], key="conv|pointwise")
    assert _kernel(model) == "te_conv1x1_s8"
    _check(model)


@pytest.mark.parametrize("kernel,stride", [(3, 1), (1, 1), (5, 2)])
def test_conv2d_per_tensor_weights(kernel, stride):
    model = int8_model(
        lambda x: L.Conv2D(6, kernel, strides=stride, padding="same", use_bias=True)(x),
        [(9, 8, 5)],
        key=f"conv|pt|{kernel}|{stride}",
    )
    rewritten = per_tensor_weights(model)
    assert read(rewritten).tensor(read(rewritten).ops[0].inputs[1]).quant.axis is None
    _check(rewritten)


def test_conv2d_unfoldable_bias_falls_back_to_the_offset_path():
    model = unfoldable_bias(int8_model(lambda x: L.Conv2D(4, 1)(x), [(5, 5, 8)], key="conv|hugebias"))
    call = compile_graph(read(model)).calls[0]
    assert call.function == "te_conv2d_s8" and call.args[8] == 0  # no folded bias
    _check(model)


@pytest.mark.parametrize("inplace", [False, True], ids=["separate", "inplace"])
def test_depthwise_unfoldable_bias(inplace):
    model = unfoldable_bias(int8_model(lambda x: L.DepthwiseConv2D(3, padding="same")(x), [(6, 5, 4)], key="dw|huge"))
    call = compile_graph(read(model), CompileOptions(inplace=inplace)).calls[0]
    assert call.args[9 if call.function == "te_depthwise_s8" else 8] == 0  # no folded bias
    _check(model, inplace=inplace)


# --- DEPTHWISE_CONV_2D -----------------------------------------------------------------

DW_CASES = [
    # (input HWC, kernel, stride, padding, dilation, depth multiplier, activation)
    ((9, 9, 6), 3, 1, "same", 1, 1, "relu6"),
    ((10, 9, 7), 3, 2, "same", 1, 1, None),
    ((11, 11, 5), 5, 2, "valid", 1, 1, "relu"),
    ((12, 13, 3), 7, 1, "same", 1, 1, None),
    ((14, 14, 4), 7, 2, "same", 1, 1, "relu6"),
    ((13, 12, 3), 3, 1, "same", 2, 1, None),
    ((7, 7, 5), 5, 1, "same", 1, 2, "relu6"),
    ((8, 9, 3), 3, 2, "valid", 1, 2, None),
    ((6, 6, 37), 3, 1, "same", 1, 1, None),
    # > 1024 output pixels: the in-place ring lives in the scratch, 32 + 8 channels per group.
    ((40, 36, 40), 3, 1, "same", 1, 1, "relu6"),
]


@pytest.mark.parametrize("inplace", [False, True], ids=["separate", "inplace"])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,multiplier,act", DW_CASES)
def test_depthwise(shape, kernel, stride, padding, dilation, multiplier, act, inplace):
    build = lambda x: L.DepthwiseConv2D(
        kernel, strides=stride, padding=padding, dilation_rate=dilation, depth_multiplier=multiplier, activation=act
    )(x)
    model = int8_model(build, [shape], key=f"dw|{shape}|{kernel}|{stride}|{padding}|{dilation}|{multiplier}|{act}")
    want = "te_depthwise_inplace_s8" if inplace and multiplier == 1 else "te_depthwise_s8"
    assert _kernel(model, inplace) == want
    if want == "te_depthwise_inplace_s8":
        assert compile_graph(read(model), CompileOptions(inplace=True)).layout.inplace_ops == {0}
    _check(model, inplace=inplace)


@pytest.mark.parametrize("inplace", [False, True], ids=["separate", "inplace"])
def test_depthwise_per_tensor_weights(inplace):
    model = int8_model(lambda x: L.DepthwiseConv2D(3, padding="same")(x), [(8, 7, 6)], key="dw|pt")
    _check(per_tensor_weights(model), inplace=inplace)


# --- FULLY_CONNECTED --------------------------------------------------------------------


def _dense(units, act=None, bias=True):
    return L.Dense(units, activation=act, use_bias=bias, bias_initializer="random_normal")


@pytest.mark.parametrize(
    "shape,units,act,bias",
    [
        ((4, 4, 3), 10, None, True),
        ((37,), 17, "relu", True),
        ((64,), 5, "relu6", True),
        ((19,), 7, None, False),
    ],
)
def test_fully_connected(shape, units, act, bias):
    model = int8_model(
        lambda x: _dense(units, act, bias)(L.Flatten()(x)), [shape], key=f"fc|{shape}|{units}|{act}|{bias}"
    )
    graph = read(model)
    fc = graph.ops[-1]
    assert graph.tensor(fc.inputs[1]).quant.axis == 0  # TF 2.21 quantises Dense weights per channel
    assert (fc.input(2) >= 0) == bias
    _check(model)
    _check(per_tensor_weights(model))


def test_fully_connected_batch_rows_keep_num_dims():
    model = int8_model(lambda x: _dense(9)(x), [(6, 20)], key="fc|rows|random-bias")
    graph = read(model)
    fc = [op for op in graph.ops if op.kind == "FULLY_CONNECTED"]
    assert fc and graph.tensor(fc[0].outputs[0]).num_elements == 6 * 9
    _check(model)


def test_fully_connected_unfoldable_bias():
    model = unfoldable_bias(int8_model(lambda x: _dense(6)(x), [(12,)], key="fc|hugebias|random-bias"))
    assert _kernel(model) == "te_conv2d_s8"
    _check(model)


# --- pooling -----------------------------------------------------------------------------

POOL_CASES = [
    ("avg", (9, 9, 5), 3, 2, "same"),
    ("avg", (8, 8, 7), 2, 2, "valid"),
    ("avg", (7, 7, 40), 7, 1, "valid"),
    ("avg", (10, 9, 3), 3, 1, "same"),
    ("max", (9, 8, 5), 2, 2, "valid"),
    ("max", (9, 9, 17), 3, 2, "same"),
    ("max", (8, 10, 3), 3, 1, "same"),
]


@pytest.mark.parametrize("kind,shape,pool,stride,padding", POOL_CASES)
def test_pool(kind, shape, pool, stride, padding):
    layer = L.AveragePooling2D if kind == "avg" else L.MaxPooling2D
    model = int8_model(
        lambda x: layer(pool, strides=stride, padding=padding)(x),
        [shape],
        key=f"pool|{kind}|{shape}|{pool}|{stride}|{padding}",
    )
    _check(model)


# --- MEAN / SUM ------------------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
def test_mean_hw(keepdims):
    model = int8_model(lambda x: L.GlobalAveragePooling2D(keepdims=keepdims)(x), [(5, 7, 20)], key=f"mean|{keepdims}")
    assert _kernel(model) == "te_reduce_requant_s8"
    _check(model)
    _check(output_quant_like_input(model))  # TFLM requantises even with equal scales


def test_mean_channels():
    model = int8_model(lambda x: L.Lambda(lambda t: _tf().reduce_mean(t, axis=-1))(x), [(4, 6, 9)], key="mean|c")
    _check(model)


def test_sum_hw():
    model = int8_model(
        lambda x: L.Lambda(lambda t: _tf().reduce_sum(t, axis=[1, 2]))(x),
        [(3, 4, 6)],
        key="sum|hw",
        calib_range=(-0.2, 0.2),
    )
    _check(model)


@pytest.mark.parametrize(
    "axes,shape", [([1, 2], (5, 7, 20)), ([3], (4, 6, 9)), ([2], (3, 5, 4)), ([1, 2, 3], (3, 4, 5))],
    ids=["hw", "channels", "width", "hwc"],
)
def test_reduce_max(axes, shape):
    model = int8_model(lambda x: L.Lambda(lambda t: _tf().reduce_max(t, axis=axes))(x), [shape],
                       key=f"max|{axes}|{shape}")
    assert _kernel(model) == "te_reduce_max_s8"
    _check(model)


def test_reduce_max_refuses_a_rescaled_output():
    graph = read(int8_model(lambda x: L.Lambda(lambda t: _tf().reduce_max(t, axis=[1, 2]))(x), [(5, 7, 20)],
                            key="max|[1, 2]|(5, 7, 20)"))
    out = graph.tensors[graph.ops[0].outputs[0]]
    rescaled = Quant((out.quant.scale[0] * 2,), out.quant.zero_point)
    tensors = tuple(dataclasses.replace(t, quant=rescaled) if t.id == out.id else t for t in graph.tensors)
    with pytest.raises(EngineError, match="REDUCE_MAX: input .* differs from the output.s"):
        compile_graph(dataclasses.replace(graph, tensors=tensors))


# --- TRANSPOSE_CONV -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,filters,kernel,stride,padding,bias,activation",
    [
        ((5, 5, 3), 4, 3, 2, "same", False, None),
        ((5, 6, 3), 5, 3, 2, "same", True, "relu"),
        ((4, 4, 8), 3, 4, 2, "same", True, None),
        ((4, 5, 2), 7, 3, 1, "same", True, None),
        ((3, 4, 5), 6, 3, 2, "valid", True, None),
        ((3, 3, 4), 2, 2, 2, "valid", True, "relu"),
        ((4, 3, 3), 3, 5, 3, "same", True, None),
        ((2, 3, 9), 4, (3, 2), (2, 1), "valid", True, None),
    ],
)
def test_transpose_conv(shape, filters, kernel, stride, padding, bias, activation):
    def build(x):
        return L.Conv2DTranspose(filters, kernel, strides=stride, padding=padding, activation=activation,
                                 use_bias=bias, bias_initializer="random_normal")(x)

    model = int8_model(build, [shape], key=f"tconv|{shape}|{filters}|{kernel}|{stride}|{padding}|{bias}|{activation}")
    assert [op.kind for op in read(model).ops] == ["TRANSPOSE_CONV"]
    assert _kernel(model) == "te_transpose_conv_s8"
    _check(model)


def test_transpose_conv_fused_relu_with_a_zero_point_inside_the_range():
    """The converter puts RELU's zero at -128; moved to -40, the clamp must still match TFLM's."""
    model = int8_model(lambda x: L.Conv2DTranspose(5, 3, strides=2, padding="same", activation="relu",
                                                   bias_initializer="random_normal")(x), [(5, 6, 3)],
                       key="tconv|(5, 6, 3)|5|3|2|same|True|relu")
    graph = read(model)
    out = graph.tensors[graph.ops[0].outputs[0]]
    moved = Quant(out.quant.scale, (-40,))
    tensors = tuple(dataclasses.replace(t, quant=moved) if t.id == out.id else t for t in graph.tensors)
    _check(write(dataclasses.replace(graph, tensors=tensors)))


# --- every kernel under AddressSanitizer and UBSan ------------------------------------------


def test_kernels_under_sanitizers():
    builds = {
        "conv": (lambda x: L.Conv2D(5, 3, strides=2, padding="same", dilation_rate=1)(x), (9, 8, 3)),
        "pointwise": (lambda x: L.Conv2D(19, 1)(x), (5, 5, 18)),
        "dw": (lambda x: L.DepthwiseConv2D(5, strides=2, padding="same")(x), (9, 9, 17)),
        "dw_mult": (lambda x: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x), (7, 6, 3)),
        "fc|random-bias": (lambda x: _dense(7)(L.Flatten()(x)), (3, 3, 3)),
        "avg": (lambda x: L.AveragePooling2D(3, strides=2, padding="same")(x), (9, 8, 17)),
        "max": (lambda x: L.MaxPooling2D(3, strides=2, padding="same")(x), (9, 8, 17)),
        "mean": (lambda x: L.GlobalAveragePooling2D()(x), (5, 6, 17)),
        "reduce_max": (lambda x: L.Lambda(lambda t: _tf().reduce_max(t, axis=[1, 2]))(x), (5, 6, 17)),
        "transpose_conv": (lambda x: L.Conv2DTranspose(5, 3, strides=2, padding="same",
                                                       bias_initializer="random_normal")(x), (4, 5, 3)),
    }
    for name, (build, shape) in builds.items():
        model = int8_model(build, [shape], key=f"asan|{name}|{shape}")
        _check(model, inplace=True, sanitize=True)
    _check(
        unfoldable_bias(int8_model(builds["pointwise"][0], [(5, 5, 18)], key="asan|pointwise|(5, 5, 18)")),
        sanitize=True,
    )
