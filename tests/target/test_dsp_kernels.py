"""The Cortex-M4/M7 DSP kernels (te_*_dsp) against TFLM under QEMU, zero tolerance.

A few small multi-op models cover the kernels' cases at once (each QEMU
verification builds three ELFs, so fewer models keep the suite short): conv
kernel sizes 1/3/5, strides 1/2, dilation, SAME/VALID padding, odd channel
counts (depth not a multiple of 4, an odd last output channel), per-channel
conv and per-tensor FC requantisation, depthwise 3x3/5x5/7x7 in place and
not, and the 64-bit requantisation for huge biases. Every intermediate tensor
is compared, and each test checks that the DSP kernels were really picked.
"""

from __future__ import annotations

import functools
import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest

from engine.compile import CompileOptions, compile_graph
from engine.target import cortexm
from engine.target.on_target import check_on_target
from tests.engine_ops.test_conv_like import unfoldable_bias
from tests.oneop import int8_model, replace_tensor
from tflite_bridge import read, write
from tflite_bridge.ir import Quant

TARGETS = ("cortex-m4", "cortex-m7")
CONV_LIKE = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm")),
    reason="needs arm-none-eabi-gcc and qemu-system-arm (Debian: " + cortexm.DEBIAN_PACKAGES + ")",
)


def _layers():
    import tf_keras as keras

    return keras.layers


def conv_model() -> bytes:
    def build(x):
        L = _layers()
        x = L.Conv2D(5, 3, strides=2, padding="same", activation="relu")(x)  # depth 27: staged im2col
        x = L.Conv2D(7, 1)(x)  # 1x1, 5 -> 7: odd depth and odd last channel
        x = L.Conv2D(8, 5, padding="same", dilation_rate=2, activation="relu6")(x)  # clamped outputs
        x = L.Conv2D(9, 3, padding="valid")(x)  # depth 72: im2col straight from the input
        x = L.Conv2D(6, 1, strides=2)(x)  # strided 1x1: the im2col kernel
        return L.Dense(11)(L.Flatten()(x))  # per-tensor FC, depth 6 * ... not a multiple of 4

    return int8_model(build, [(15, 13, 3)], key="dsp|conv")


def depthwise_model() -> bytes:
    def build(x):
        L = _layers()
        x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        x = L.DepthwiseConv2D(5, strides=2, padding="same")(x)
        x = L.DepthwiseConv2D(7, padding="same", activation="relu")(x)
        x = L.DepthwiseConv2D(3, padding="same", dilation_rate=2)(x)
        x = L.Conv2D(9, 1)(x)
        return L.DepthwiseConv2D(3, strides=2, padding="valid")(x)  # 9 channels: 2 groups + 1

    return int8_model(build, [(14, 13, 8)], key="dsp|depthwise")


def depthwise_fast_model() -> bytes:
    """Full int8 activation ranges, 3x3: the assembly path and its borders."""

    def build(x):
        L = _layers()
        x = L.DepthwiseConv2D(3, padding="same")(x)  # in place: padded copy
        x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)  # in place, big plane: zero-point windows
        x = L.DepthwiseConv2D(3, padding="valid")(x)  # no border
        x = L.DepthwiseConv2D(3, padding="same", dilation_rate=2)(x)
        return L.DepthwiseConv2D(3, strides=(1, 2), padding="same")(x)

    return int8_model(build, [(40, 37, 14)], key="dsp|dw-fast")  # 14 channels: 3 groups + 2


def pointwise_model() -> bytes:
    """1x1 convolutions: the output-end scratch, the FC tail, odd depths, widths and channels."""

    def build(x):
        L = _layers()
        x = L.Conv2D(7, 1)(x)  # 3 -> 7: depth 3 read past the pixel, odd channel
        x = L.Conv2D(16, 1)(x)  # 7 -> 16
        x = L.Conv2D(3, 1)(x)  # 16 -> 3: output smaller than the scratch, all as FC
        x = L.Conv2D(64, 1)(x)
        x = L.Conv2D(8, 1)(L.ReLU(6.0)(x))  # 64 -> 8
        return L.Conv2D(9, 3, strides=2, padding="same")(x)  # segments of 24 bytes

    return int8_model(build, [(9, 11, 3)], key="dsp|pointwise")


def borrowing_model() -> bytes:
    """Convolutions whose columns borrow the output's end: their last pixels (the bottom border) direct."""

    def build(x):
        L = _layers()
        x = L.Conv2D(9, 3, padding="same")(x)  # in_c 3: row segments; 9 channels: a pair block and an odd one
        x = L.Conv2D(6, 3, padding="same", dilation_rate=2)(x)  # tap segments of 12 bytes, 2-channel blocks
        return L.Conv2D(7, (3, 5), strides=2, padding="valid")(x)  # scratch kept: output too small

    return int8_model(build, [(20, 18, 3)], key="dsp|borrow")


def tiny_multiplier(model: bytes) -> bytes:
    """Channel 0 of every conv-like op with its filter scale cut by 2^18.

    Its right shift e then exceeds 23: the output offset cannot be folded into
    the rounding addend, so the kernels add it (the "_off" paths).
    """
    graph = read(model)
    for op in graph.ops:
        if op.kind in CONV_LIKE:
            q = graph.tensor(op.inputs[1]).quant
            scales = (q.scale[0] * 2.0**-18, *q.scale[1:])
            graph = replace_tensor(graph, op.inputs[1], quant=Quant(scales, q.zero_point, q.axis))
    return write(graph)


def huge_bias_model(kind: str) -> bytes:
    if kind == "conv":
        return unfoldable_bias(int8_model(lambda x: _layers().Conv2D(4, 1)(x), [(5, 5, 8)], key="conv|hugebias"))
    build = lambda x: _layers().DepthwiseConv2D(3, padding="same")(x)  # noqa: E731
    return unfoldable_bias(int8_model(build, [(6, 5, 4)], key="dw|huge"))


def dsp_functions(model: bytes, target: str, inplace: bool = True) -> list[str]:
    graph = read(model)
    program = compile_graph(graph, CompileOptions(target=target, inplace=inplace))
    return [c.function for op, c in zip(graph.ops, program.calls) if op.kind in CONV_LIKE]


def check(model: bytes, target: str, inplace: bool = True, samples: int = 3):
    functions = dsp_functions(model, target, inplace)
    assert functions and all(f.endswith("_dsp") for f in functions), functions
    report = check_on_target(model, target, samples=samples, seed=11, options=CompileOptions(inplace=inplace))
    assert report.bit_exact, report.exactness.mismatches[:3]
    assert report.exactness.tensors_compared == samples * len(read(model).ops)
    return functions


@pytest.mark.parametrize("target", TARGETS)
def test_conv_kernels_bit_exact(target):
    functions = check(conv_model(), target)
    assert functions.count("te_conv1x1_s8_dsp") == 1 and functions.count("te_conv2d_s8_dsp") == 4
    assert functions[-1] == "te_fc_s8_dsp"


@pytest.mark.parametrize("inplace", [True, False], ids=["inplace", "separate"])
@pytest.mark.parametrize("target", TARGETS)
def test_depthwise_kernels_bit_exact(target, inplace):
    functions = check(depthwise_model(), target, inplace)
    kernel = "te_depthwise_inplace_s8_dsp" if inplace else "te_depthwise_s8_dsp"
    assert functions.count(kernel) == 5


@pytest.mark.parametrize("kind", ["conv", "depthwise"])
@pytest.mark.parametrize("target", TARGETS)
def test_huge_bias_uses_the_wide_requantisation(target, kind):
    model = huge_bias_model(kind)
    graph = read(model)
    call = compile_graph(graph, CompileOptions(target=target)).calls[0]
    assert call.args[-3 if kind == "depthwise" else -1] == 1  # wide: accumulators may reach 2^29
    check(model, target)


@pytest.mark.parametrize("inplace", [True, False], ids=["inplace", "separate"])
@pytest.mark.parametrize("target", TARGETS)
def test_depthwise_fast_path_bit_exact(target, inplace):
    functions = check(depthwise_fast_model(), target, inplace)
    assert len(functions) == 5
    if inplace:
        calls = compile_graph(read(depthwise_fast_model()), CompileOptions(target=target)).calls
        assert [c.args[-2] for c in calls[:2]] == [1, 0]  # padded copy, then zero-point windows


@pytest.mark.parametrize("target", TARGETS)
def test_pointwise_kernels_bit_exact(target):
    functions = check(pointwise_model(), target)
    assert functions.count("te_conv1x1_s8_dsp") == 5
    assert all(c.scratch_bytes == 0 for c in compile_graph(read(pointwise_model()), CompileOptions(target=target)).calls
               if c is not None and c.function == "te_conv1x1_s8_dsp")


@pytest.mark.parametrize("target", TARGETS)
def test_conv_borrowing_the_output_end_bit_exact(target):
    calls = [c for c in compile_graph(read(borrowing_model()), CompileOptions(target=target)).calls if c is not None]
    assert [c.scratch_bytes == 0 for c in calls] == [True, True, False]
    check(borrowing_model(), target)
    check(unfoldable_bias(borrowing_model()), target)  # the wide requantisation on the direct pixels


@pytest.mark.parametrize("target", TARGETS)
def test_unfolded_output_offset_bit_exact(target):
    model = tiny_multiplier(pointwise_model())
    calls = compile_graph(read(model), CompileOptions(target=target)).calls
    assert any(c.args[8] != 0 for c in calls if c is not None and c.function == "te_conv1x1_s8_dsp")
    check(model, target)
    check(tiny_multiplier(depthwise_fast_model()), target)


@pytest.mark.parametrize("model", ["depthwise_fast", "pointwise", "borrowing", "unfoldable_borrowing"])
def test_c_fallback_bit_exact(monkeypatch, model):
    """The C forms of the assembly loops (TE_DSP_NO_ASM, also what -O0 builds get)."""
    build = functools.partial(cortexm.build_elf, opt="-DTE_DSP_NO_ASM")  # and no -O: unoptimised
    monkeypatch.setattr(cortexm, "build_elf", build)
    models = {"depthwise_fast": depthwise_fast_model, "pointwise": pointwise_model, "borrowing": borrowing_model,
              "unfoldable_borrowing": lambda: unfoldable_bias(borrowing_model())}
    check(models[model](), "cortex-m7", samples=2)


def test_host_keeps_the_portable_kernels():
    assert not any(f.endswith("_dsp") for f in dsp_functions(conv_model(), "host"))
    assert not any(f.endswith("_dsp") for f in dsp_functions(depthwise_model(), "host"))
