"""Every host kernel the patch analysis can put in a stage is one the stage can retarget.

The stage rewrites a kernel's geometry arguments by parameter name (`Call.names`)
and runs only the kernels in `engine.patch.stage.RETARGETABLE`; a new kernel variant for a window or
pointwise op that is not listed would silently end every patchable prefix. Lowering each such op
in each variant the lowerings choose (in place or not, small and table-sized ADD) catches that.
"""

import pytest

from engine.lower.call import LowerOptions
from engine.lower.lowering import lower_ops
from engine.patch.analysis import POINTWISE_KINDS, WINDOW_KINDS
from engine.patch.stage import RETARGETABLE
from tests.oneop import int8_model
from tflite_bridge import read


def _models():
    import tf_keras as keras

    L = keras.layers
    yield "window ops", int8_model(
        lambda x: L.MaxPooling2D(3, strides=2, padding="same")(L.AveragePooling2D(3, strides=1, padding="same")(
            L.DepthwiseConv2D(3, strides=2, padding="same")(L.DepthwiseConv2D(5, padding="same")(
                L.Conv2D(8, 1)(L.Conv2D(8, 3, strides=2, padding="same")(x)))))),
        [(32, 32, 3)], key="retarget|window")
    for size in (4, 32):  # 4x4x4 elements: plain ADD; 32x32x4 (>= 1024): the tabulated ADD
        yield f"pointwise {size}", int8_model(
            lambda x, y: L.Multiply()([L.Subtract()([L.Add()([x, y]), y]), x]), [(size, size, 4)] * 2,
            key=f"retarget|pointwise|{size}")


@pytest.mark.parametrize("inplace", [True, False], ids=["inplace", "separate"])
def test_patchable_ops_lower_to_retargetable_kernels(inplace):
    seen = set()
    for name, model in _models():
        graph = read(model)
        calls = lower_ops(graph, LowerOptions(inplace=inplace, target="host"))
        for i, op in enumerate(graph.ops):
            if op.kind in WINDOW_KINDS | POINTWISE_KINDS:
                function = calls[i].function
                assert function in RETARGETABLE, f"{name}: op {i} ({op.kind}) lowers to {function}"
                names = calls[i].names
                # the stage rewrites a patch's geometry through one of these parameters
                assert {"out_h", "pixels", "bcast"} & set(names), (function, names)
                seen.add(function)
    expected = {"te_conv2d_s8", "te_conv1x1_s8", "te_avgpool_s8", "te_maxpool_s8", "te_add_s8", "te_add_lut_s8",
                "te_sub_s8", "te_mul_s8", "te_depthwise_inplace_s8" if inplace else "te_depthwise_s8"}
    assert expected <= seen, expected - seen
