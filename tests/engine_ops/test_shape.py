"""Shape ops against TFLM at zero tolerance: PAD, PADV2, MIRROR_PAD,
CONCATENATION, RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (int8)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.lower.ops.shape import pad_descriptor
from tests.engine_ops.handmade import Spec, assert_bit_exact, one_op_model, options

# --- PAD / CONCATENATION / RESIZE ------------------------------------------------


@pytest.mark.parametrize("kind", ["PAD", "PADV2"])
@pytest.mark.parametrize(
    "shape,pads",
    [
        ((1, 4, 4, 3), [[0, 0], [1, 1], [1, 1], [0, 0]]),
        ((1, 5, 6, 2), [[0, 0], [0, 2], [3, 0], [0, 0]]),
        ((1, 3, 3, 4), [[0, 0], [0, 0], [0, 0], [1, 3]]),
        ((1, 2, 3, 4, 5), [[0, 0], [1, 0], [0, 1], [1, 1], [0, 0]]),
    ],
    ids=str,
)
def test_pad(kind, shape, pads):
    out = tuple(n + b + a for n, (b, a) in zip(shape, pads))
    paddings = np.array(pads, np.int32)
    ins = [
        Spec(shape, scale=0.1, zero_point=-7),
        Spec(paddings.shape, "int32", data=paddings),
    ]
    if kind == "PADV2":
        ins.append(Spec((1,), scale=0.1, zero_point=-7, data=np.array([33], np.int8)))
    assert_bit_exact(
        one_op_model(kind, ins, [Spec(out, scale=0.1, zero_point=-7)]), samples=2
    )


@pytest.mark.parametrize(
    "mode,shape,pads",
    [
        (0, (1, 4, 4, 3), [[0, 0], [1, 1], [2, 1], [0, 0]]),
        (0, (5,), [[4, 3]]),
        (1, (2, 3, 4), [[1, 1], [2, 0], [0, 3]]),
        (1, (1, 3, 3, 2), [[0, 0], [3, 3], [3, 3], [0, 0]]),
    ],
    ids=str,
)
def test_mirror_pad(mode, shape, pads):  # mode 0 REFLECT, 1 SYMMETRIC
    out = tuple(n + b + a for n, (b, a) in zip(shape, pads))
    paddings = np.array(pads, np.int32)
    model = one_op_model(
        "MIRROR_PAD",
        [Spec(shape, scale=0.1), Spec(paddings.shape, "int32", data=paddings)],
        [Spec(out, scale=0.1)],
        options("MirrorPadOptions", mode=mode),
    )
    assert_bit_exact(model, samples=2, sanitize=shape == (2, 3, 4))


def test_pad_descriptor_folds_unpadded_axes():
    # NHWC with only H, W padded: C is folded into W, so rows are W*C bytes long.
    assert pad_descriptor((1, 4, 4, 3), [[0, 0], [1, 1], [1, 1], [0, 0]]) == (
        1,
        1,
        1,
        4,
        12,
        1,
        1,
        1,
        6,
        18,
        0,
        0,
        0,
        1,
        3,
    )


@pytest.mark.parametrize(
    "shapes,axis",
    [
        ([(1, 4, 4, 3), (1, 4, 4, 5)], 3),
        ([(1, 4, 4, 3), (1, 2, 4, 3), (1, 1, 4, 3)], 1),
        ([(2, 3), (2, 4)], -1),
        ([(1, 2, 2, 1), (1, 2, 2, 1)], 0),
    ],
    ids=str,
)
def test_concatenation(shapes, axis):
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    model = one_op_model(
        "CONCATENATION",
        [Spec(s, scale=0.1, zero_point=3) for s in shapes],
        [Spec(tuple(out), scale=0.1, zero_point=3)],
        options("ConcatenationOptions", axis=axis),
    )
    assert_bit_exact(model, samples=2)


RESIZE_SHAPES = [
    ((4, 4), (8, 8)),
    ((3, 5), (7, 4)),
    ((5, 5), (2, 3)),
    ((1, 1), (3, 3)),
    ((2, 3), (9, 11)),
]
RESIZE_MODES = [
    (False, False),
    (True, False),
    (False, True),
]  # (align_corners, half_pixel_centers)
# Each shape meets one of the three coordinate modes, in turn (and each kind all of them).
RESIZE_CASES = [(hw, RESIZE_MODES[i % 3]) for i, hw in enumerate(RESIZE_SHAPES)]


@pytest.mark.parametrize("kind", ["RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"])
@pytest.mark.parametrize("shapes,mode", RESIZE_CASES, ids=str)
def test_resize(kind, shapes, mode):
    (in_hw, out_hw), (align_corners, half_pixel) = shapes, mode
    size = np.array(out_hw, np.int32)
    model = one_op_model(
        kind,
        [Spec((1, *in_hw, 3), scale=0.1), Spec((2,), "int32", data=size)],
        [Spec((1, *out_hw, 3), scale=0.1)],
        options(
            "ResizeNearestNeighborOptions"
            if kind == "RESIZE_NEAREST_NEIGHBOR"
            else "ResizeBilinearOptions",
            alignCorners=align_corners,
            halfPixelCenters=half_pixel,
        ),
        version=3,
    )
    assert_bit_exact(
        model, samples=2, sanitize=kind == "RESIZE_BILINEAR" and out_hw == (9, 11)
    )
