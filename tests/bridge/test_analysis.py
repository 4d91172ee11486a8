"""analysis.py: MACs, weight bytes, lifetimes, the live-bytes lower bound; conventions.py padding."""

from __future__ import annotations

import numpy as np
import pytest

from tests.bridge import tflm
from tests.conftest import INT8_MODELS
from tflite_bridge import DType, Graph, Op, Tensor, analysis, read, write
from tflite_bridge import attrs as A
from tflite_bridge.conventions import out_size, pad_before_after


@pytest.mark.parametrize(
    "name, bound", [("kws", 16_000), ("vww", 55_296), ("ic", 49_152), ("ad", 768)]
)
def test_activation_lower_bound_of_shared_models(name, bound):
    graph = read(INT8_MODELS[name])
    assert analysis.activation_lower_bound(graph) == bound
    assert max(analysis.live_bytes_per_op(graph)) == bound


def test_kws_macs_and_weights_by_hand():
    graph = read(INT8_MODELS["kws"])
    # conv 10x4 on 1 channel into 25x5x64; 4 x (dw 3x3 + pw 64->64) on 25x5x64; FC 64->12.
    out = 25 * 5 * 64
    assert analysis.total_macs(graph) == out * 40 + 4 * (out * 9 + out * 64) + 12 * 64
    # weights + int32 biases: conv 64x10x4x1; dw 3x3x64; pw 64x64; FC 12x64; RESHAPE's int32[2] shape.
    conv, dw, pw, fc = 2560 + 256, 576 + 256, 4096 + 256, 768 + 48
    assert analysis.total_weight_bytes(graph) == conv + 4 * (dw + pw) + fc + 8
    assert [analysis.op_macs(graph, i) for i in (0, 1, 2)] == [
        out * 40,
        out * 9,
        out * 64,
    ]


def _t(i, shape, constant=False, dtype=DType.INT8):
    data = bytes(int(np.prod(shape)) * dtype.itemsize) if constant else None
    return Tensor(id=i, name=f"t{i}", shape=shape, dtype=dtype, buffer=data)


def test_transpose_conv_and_batch_matmul_macs():
    tensors = (
        _t(0, (4,), True, DType.INT32),
        _t(1, (8, 3, 3, 4), True),
        _t(2, (1, 5, 5, 4)),
        _t(3, (1, 10, 10, 8)),
        _t(4, (1, 6, 7)),
        _t(5, (1, 7, 9)),
        _t(6, (1, 6, 9)),
        _t(7, (1, 7, 6)),
    )
    tconv = A.TransposeConvAttrs(padding=A.Padding.SAME, stride_w=2, stride_h=2)
    ops = (
        Op("TRANSPOSE_CONV", 1, (0, 1, 2), (3,), tconv),
        Op("BATCH_MATMUL", 1, (4, 5), (6,), A.BatchMatMulAttrs()),
        Op("BATCH_MATMUL", 1, (7, 5), (6,), A.BatchMatMulAttrs(adj_x=True)),
    )
    graph = Graph(tensors, ops, (2, 4, 7), (3, 6))
    assert (
        analysis.op_macs(graph, 0) == 5 * 5 * 4 * 3 * 3 * 8
    )  # each input element: a 3x3x8 patch
    assert analysis.op_macs(graph, 1) == 6 * 9 * 7
    assert analysis.op_macs(graph, 2) == 6 * 9 * 7


def _chain_with_skip() -> Graph:
    """x(100) -> a(200) -> b(300) -> c = ADD(a, b)(50); weights w shared by ops 0 and 1."""
    tensors = (
        _t(0, (100,)),
        _t(1, (200,)),
        _t(2, (300,)),
        _t(3, (50,)),
        _t(4, (10,), constant=True),
    )
    fc = A.FullyConnectedAttrs()
    ops = (
        Op("FULLY_CONNECTED", 1, (0, 4, -1), (1,), fc),
        Op("FULLY_CONNECTED", 1, (1, 4, -1), (2,), fc),
        Op("ADD", 1, (1, 2), (3,), A.AddAttrs()),
    )
    return Graph(tensors, ops, inputs=(0,), outputs=(3,))


def test_lifetimes_and_live_bytes():
    graph = _chain_with_skip()
    spans = {s.tensor: (s.first, s.last, s.nbytes) for s in analysis.lifetimes(graph)}
    assert spans == {0: (0, 0, 100), 1: (0, 2, 200), 2: (1, 2, 300), 3: (2, 2, 50)}
    assert analysis.live_bytes_per_op(graph) == (300, 500, 550)
    assert analysis.activation_lower_bound(graph) == 550
    assert analysis.total_weight_bytes(graph) == 10  # shared by two ops, counted once
    assert [analysis.op_weight_bytes(graph, i) for i in range(3)] == [10, 10, 0]
    assert [analysis.op_activation_bytes(graph, i) for i in range(3)] == [300, 500, 550]


def test_graph_output_lives_to_the_end():
    graph = _chain_with_skip()
    graph = Graph(graph.tensors, graph.ops, graph.inputs, outputs=(1, 3))
    assert {s.tensor: s.last for s in analysis.lifetimes(graph)}[1] == 2


# (in, filter, stride, dilation, padding) -> (before, after), from TFLite's
# ComputePaddingWithOffset: total = (out - 1) * stride + eff_filter - in, extra after.
@pytest.mark.parametrize(
    "args, expected",
    [
        ((5, 3, 2, 1, A.Padding.SAME), (1, 1)),
        ((6, 3, 2, 1, A.Padding.SAME), (0, 1)),
        ((6, 2, 1, 1, A.Padding.SAME), (0, 1)),
        ((9, 3, 1, 2, A.Padding.SAME), (2, 2)),
        ((10, 3, 2, 2, A.Padding.SAME), (1, 2)),  # eff 5, out 5, total 3
        ((8, 3, 2, 1, A.Padding.VALID), (0, 0)),
    ],
)
def test_pad_before_after_values(args, expected):
    assert pad_before_after(args[4], *args[:4]) == expected


def _conv_in_tflm(
    x: np.ndarray, w: np.ndarray, stride: int, dilation: int, padding: A.Padding
) -> np.ndarray:
    """Run a float CONV_2D (1 in, 1 out channel) built through the IR in TFLM."""
    h, wd = x.shape
    kh, kw = w.shape
    oh = out_size(padding, h, kh, stride, dilation)
    ow = out_size(padding, wd, kw, stride, dilation)
    f32 = DType.FLOAT32
    tensors = (
        Tensor(0, "x", (1, h, wd, 1), f32),
        Tensor(1, "w", (1, kh, kw, 1), f32, buffer=w.astype("<f4").tobytes()),
        Tensor(2, "b", (1,), f32, buffer=np.zeros(1, "<f4").tobytes()),
        Tensor(3, "y", (1, oh, ow, 1), f32),
    )
    attrs = A.Conv2DAttrs(
        padding=padding,
        stride_w=stride,
        stride_h=stride,
        dilation_w_factor=dilation,
        dilation_h_factor=dilation,
    )
    graph = Graph(tensors, (Op("CONV_2D", 1, (0, 1, 2), (3,), attrs),), (0,), (3,))
    return tflm.run(write(graph), [x.reshape(1, h, wd, 1).astype(np.float32)])[0][
        0
    ].reshape(oh, ow)


def _conv_with_explicit_padding(x, w, stride, dilation, padding):
    (kh, kw), (h, wd) = w.shape, x.shape
    top, bottom = pad_before_after(padding, h, kh, stride, dilation)
    left, right = pad_before_after(padding, wd, kw, stride, dilation)
    xp = np.pad(x, ((top, bottom), (left, right)))
    oh, ow = (
        out_size(padding, h, kh, stride, dilation),
        out_size(padding, wd, kw, stride, dilation),
    )
    y = np.zeros((oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            window = xp[ky * dilation :: stride, kx * dilation :: stride][:oh, :ow]
            y += w[ky, kx] * window
    return y


@pytest.mark.parametrize(
    "h, w, kh, kw, stride, dilation, padding",
    [
        (7, 8, 3, 3, 2, 1, A.Padding.SAME),  # odd / even extents, stride 2
        (8, 8, 3, 3, 2, 1, A.Padding.SAME),  # even: the extra row and column go after
        (6, 7, 2, 2, 1, 1, A.Padding.SAME),  # even filter
        (9, 10, 3, 3, 1, 2, A.Padding.SAME),  # dilation
        (10, 11, 3, 2, 2, 2, A.Padding.SAME),  # dilation and stride
        (8, 9, 4, 4, 3, 1, A.Padding.SAME),
        (7, 8, 3, 3, 2, 1, A.Padding.VALID),
    ],
)
def test_padding_matches_what_tflm_computes(h, w, kh, kw, stride, dilation, padding):
    rng = np.random.default_rng(h * 100 + w)
    # Small integers keep every float sum exact, so equality is exact.
    x = rng.integers(-8, 9, (h, w)).astype(np.float32)
    k = rng.integers(-4, 5, (kh, kw)).astype(np.float32)
    expected = _conv_with_explicit_padding(x, k, stride, dilation, padding)
    assert np.array_equal(_conv_in_tflm(x, k, stride, dilation, padding), expected)
