"""Passes: a zero-point PAD folds into the conv that reads it, bit-exact with TFLM."""

import pytest

from engine.check.bitexact import check_bit_exact
from engine.compile import CompileOptions, compile_graph
from engine.passes import fuse_pad as passes
from tests.oneop import int8_model
from tflite_bridge import read


def _padded_conv(kind: str, pads, strides: int, padding: str = "valid"):
    import tf_keras as keras

    def build(x):
        y = keras.layers.ZeroPadding2D(pads)(x)
        if kind == "conv":
            return keras.layers.Conv2D(8, 3, strides=strides, padding=padding, activation="relu")(y)
        return keras.layers.DepthwiseConv2D(3, strides=strides, padding=padding)(y)

    return int8_model(build, [(11, 10, 5)], key=f"fuse_pad_{kind}_{pads}_{strides}_{padding}")


@pytest.mark.parametrize(
    "kind, pads, strides, padding",
    [
        ("conv", ((1, 2), (0, 1)), 1, "valid"),
        ("conv", ((2, 0), (1, 1)), 2, "valid"),
        ("depthwise", ((0, 1), (0, 1)), 2, "valid"),
        ("depthwise", ((1, 1), (2, 0)), 1, "same"),
    ],
)
def test_pad_fuses_into_conv_bit_exact(kind, pads, strides, padding):
    model = _padded_conv(kind, pads, strides, padding)
    graph = read(model)
    assert "PAD" in [op.kind for op in graph.ops]
    fused = passes.fuse_pad(graph)
    assert [op.kind for op in fused.ops] == [op.kind for op in graph.ops if op.kind != "PAD"]
    assert hasattr(fused.ops[0].attrs, "pads")
    report = check_bit_exact(model, samples=20, seed=4)
    assert report.bit_exact, report.mismatches[:3]
    # the padded copy of the input is never stored: the arena is the input plus the output
    program = compile_graph(graph, CompileOptions(inplace=False))
    pad_out = graph.ops[0].outputs[0]
    buffers = {b.id: b for b in program.layout.buffers}
    assert pad_out not in buffers
    assert set(buffers) == {graph.inputs[0], program.graph.ops[0].outputs[0]}
    assert program.arena_bytes == sum(b.footprint for b in buffers.values())


def test_pad_with_two_readers_stays():
    import tf_keras as keras

    def build(x):
        y = keras.layers.ZeroPadding2D(((1, 0), (0, 1)))(x)
        a = keras.layers.Conv2D(4, 3)(y)
        b = keras.layers.Conv2D(4, 3)(y)
        return keras.layers.Add()([a, b])

    model = int8_model(build, [(8, 8, 3)], key="fuse_pad_two_readers")
    graph = read(model)
    assert passes.fuse_pad(graph) == graph
    assert check_bit_exact(model, samples=5).bit_exact
