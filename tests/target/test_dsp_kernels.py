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

import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest

from engine.compile import CompileOptions, compile_graph
from engine.target import cortexm
from engine.target.verify import verify_target
from tests.engine_ops.test_conv_like import unfoldable_bias
from tests.oneop import int8_model
from tflite_bridge import read

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
    report = verify_target(model, target, samples=samples, seed=11, options=CompileOptions(inplace=inplace))
    assert report.bit_exact, report.verify.mismatches[:3]
    assert report.verify.tensors_compared == samples * len(read(model).ops)
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


def test_host_keeps_the_portable_kernels():
    assert not any(f.endswith("_dsp") for f in dsp_functions(conv_model(), "host"))
    assert not any(f.endswith("_dsp") for f in dsp_functions(depthwise_model(), "host"))
