"""Layout ops (pure copies) against TFLM at zero tolerance: TRANSPOSE, SLICE,
STRIDED_SLICE, DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPLIT, SPLIT_V, PACK, UNPACK."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from engine.check.bitexact import check_bit_exact, first_lines
from engine.lower.ops.layout import copy_descriptor, strided_slice_axis
from tests.engine_ops.handmade import Spec, assert_bit_exact, one_op_model, options

Q = {"scale": 0.1, "zero_point": 2}


def i32(*values) -> np.ndarray:
    return np.array(values, np.int32)


def const(*values) -> Spec:
    return Spec((len(values),), "int32", data=i32(*values))


@pytest.mark.parametrize(
    "shape,perm",
    [
        ((1, 4, 5, 3), (0, 3, 1, 2)),
        ((2, 3, 4), (2, 0, 1)),
        ((1, 2, 3, 4, 5), (4, 2, 0, 3, 1)),
        ((3, 4), (1, 0)),
    ],
    ids=str,
)
def test_transpose(shape, perm):
    out = tuple(shape[p] for p in perm)
    assert_bit_exact(
        one_op_model("TRANSPOSE", [Spec(shape, **Q), const(*perm)], [Spec(out, **Q)])
    )


@pytest.mark.parametrize(
    "shape,begin,size",
    [((1, 6, 6, 4), (0, 1, 2, 0), (1, 3, -1, 2)), ((5, 7), (2, 1), (3, 5))],
    ids=str,
)
def test_slice(shape, begin, size):
    out = tuple(n - b if s == -1 else s for n, b, s in zip(shape, begin, size))
    assert_bit_exact(
        one_op_model(
            "SLICE", [Spec(shape, **Q), const(*begin), const(*size)], [Spec(out, **Q)]
        )
    )


def numpy_strided_slice_shape(
    shape, begin, end, step, begin_mask, end_mask, shrink_mask
):
    """The output shape by numpy's slicing, an independent check of TFLM's rules."""
    index = []
    for d in range(len(shape)):
        if shrink_mask >> d & 1:
            index.append(begin[d])
        else:
            b = None if begin_mask >> d & 1 else begin[d]
            e = None if end_mask >> d & 1 else end[d]
            index.append(slice(b, e, step[d]))
    return np.empty(shape)[tuple(index)].shape


@pytest.mark.parametrize(
    "shape,begin,end,step,masks",
    [
        ((1, 8, 8, 3), (0, 1, 0, 0), (1, 7, 8, 3), (1, 2, 3, 1), (0, 0, 0)),
        ((1, 8, 8, 3), (0, -1, -2, 0), (1, 0, 0, 3), (1, -1, -2, 1), (1, 9, 0)),
        ((4, 6), (1, 2), (3, 5), (1, 1), (0, 0, 1)),
        ((4, 6), (-3, 0), (0, -1), (1, 2), (0, 1, 0)),
        ((2, 9, 3), (0, 20, 0), (2, -20, 3), (1, -4, 1), (0, 0, 0)),
    ],
    ids=str,
)
def test_strided_slice(shape, begin, end, step, masks):
    out = numpy_strided_slice_shape(shape, begin, end, step, *masks)
    opts = options(
        "StridedSliceOptions",
        beginMask=masks[0],
        endMask=masks[1],
        shrinkAxisMask=masks[2],
    )
    model = one_op_model(
        "STRIDED_SLICE",
        [Spec(shape, **Q), const(*begin), const(*end), const(*step)],
        [Spec(out, **Q)],
        opts,
    )
    assert_bit_exact(model)


def test_strided_slice_axis_rules():
    no_masks = {"begin": False, "end": False, "shrink": False}
    assert strided_slice_axis(10, -3, 100, 1, no_masks, False) == (
        7,
        3,
    )  # negative begin, clamped end
    assert strided_slice_axis(10, 100, -100, -3, no_masks, False) == (
        9,
        4,
    )  # 9, 6, 3, 0
    assert strided_slice_axis(10, 4, 2, 1, {**no_masks, "shrink": True}, False) == (
        4,
        1,
    )
    assert strided_slice_axis(10, 2, 3, 1, no_masks, True) == (
        2,
        3,
    )  # offset: end = begin + 3


@pytest.mark.parametrize("block", [2, 3])
def test_depth_to_space_and_back(block):
    deep, wide = (
        Spec((1, 3, 2, block * block * 2), **Q),
        Spec((1, 3 * block, 2 * block, 2), **Q),
    )
    assert_bit_exact(
        one_op_model(
            "DEPTH_TO_SPACE",
            [deep],
            [wide],
            options("DepthToSpaceOptions", blockSize=block),
        )
    )
    assert_bit_exact(
        one_op_model(
            "SPACE_TO_DEPTH",
            [wide],
            [deep],
            options("SpaceToDepthOptions", blockSize=block),
        )
    )


def test_split_and_split_v():
    x = Spec((1, 4, 4, 6), **Q)
    split = one_op_model(
        "SPLIT",
        [const(3), x],
        [Spec((1, 4, 4, 2), **Q)] * 3,
        options("SplitOptions", numSplits=3),
    )
    assert_bit_exact(split, sanitize=True)
    split_h = one_op_model(
        "SPLIT",
        [const(1), x],
        [Spec((1, 2, 4, 6), **Q)] * 2,
        options("SplitOptions", numSplits=2),
    )
    assert_bit_exact(split_h)
    parts = [Spec((1, 4, 4, c), **Q) for c in (1, 3, 2)]
    assert_bit_exact(
        one_op_model(
            "SPLIT_V",
            [x, const(1, 3, 2), const(-1)],
            parts,
            options("SplitVOptions", numSplits=3),
        )
    )


def test_pack_and_unpack():
    pack = one_op_model(
        "PACK",
        [Spec((3, 4), **Q)] * 3,
        [Spec((3, 3, 4), **Q)],
        options("PackOptions", valuesCount=3, axis=1),
    )
    assert_bit_exact(pack)
    unpack = one_op_model(
        "UNPACK",
        [Spec((3, 2, 4), **Q)],
        [Spec((3, 4), **Q)] * 2,
        options("UnpackOptions", num=2, axis=1),
    )
    assert_bit_exact(unpack)


def test_strided_copy_under_sanitizers():
    # Negative strides and a non-unit innermost stride take the element-wise path.
    shape, begin, end, step, masks = (
        (1, 8, 8, 3),
        (0, -1, -2, 0),
        (1, 0, 0, 3),
        (1, -1, -2, 2),
        (1, 9, 0),
    )
    out = numpy_strided_slice_shape(shape, begin, end, step, *masks)
    opts = options(
        "StridedSliceOptions",
        beginMask=masks[0],
        endMask=masks[1],
        shrinkAxisMask=masks[2],
    )
    model = one_op_model(
        "STRIDED_SLICE",
        [Spec(shape, **Q), const(*begin), const(*end), const(*step)],
        [Spec(out, **Q)],
        opts,
    )
    assert_bit_exact(model, sanitize=True)


def test_copy_descriptor_merges_contiguous_axes():
    # A dense view is one row of 120; in a permuted view only contiguous neighbours merge.
    dense = copy_descriptor([2, 3, 4, 5], [60, 20, 5, 1], 0)
    assert dense == (1,) * 5 + (120,) + (0,) * 5 + (1, 0)
    permuted = copy_descriptor([3, 4, 5], [1, 20, 3], 7)
    assert permuted == (1, 1, 1, 3, 4, 5) + (0, 0, 0, 1, 20, 3) + (7,)
    merged = copy_descriptor(
        [3, 4, 5], [1, 15, 3], 7
    )  # 15 = 3 * 5: the last two axes are one
    assert merged == (1, 1, 1, 1, 3, 20) + (0, 0, 0, 0, 1, 3) + (7,)


@pytest.mark.parametrize(
    "shape,positions,axis,batch_dims",
    [
        ((5, 4), [3, 0, 4, 4], 0, 0),
        ((1, 6, 3), [[2, 5], [0, 1]], 1, 0),
        ((2, 5, 3), [[1, 4], [0, 0]], 1, 1),
        ((3, 4), [1], -1, 0),
    ],
    ids=str,
)
@pytest.mark.parametrize("constant_positions", [True, False])
def test_gather(shape, positions, axis, batch_dims, constant_positions):
    positions = np.array(positions, np.int32)
    ax = axis % len(shape)
    out = (*shape[:ax], *positions.shape[batch_dims:], *shape[ax + 1 :])
    data = positions if constant_positions else None
    opts = options("GatherOptions", axis=axis, batchDims=batch_dims)
    model = one_op_model(
        "GATHER",
        [Spec(shape, **Q), Spec(positions.shape, "int32", data=data)],
        [Spec(out, **Q)],
        opts,
    )
    x = np.random.default_rng(0).integers(-128, 128, shape).astype(np.int8)
    sample = [x] if constant_positions else [x, positions]
    sanitize = batch_dims == 1 and not constant_positions  # one case under ASan/UBSan
    report = check_bit_exact(model, samples=0, inputs=[sample], sanitize=sanitize)
    assert report.bit_exact, first_lines(report)


@pytest.mark.parametrize("kind", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize(
    "shape,axis", [((1, 10), 1), ((1, 4, 4, 6), -3), ((3, 5, 2), 0)], ids=str
)
def test_arg_min_max(kind, shape, axis):
    out = tuple(n for d, n in enumerate(shape) if d != axis % len(shape))
    opts = options(
        "ArgMaxOptions" if kind == "ARG_MAX" else "ArgMinOptions",
        outputType=schema.TensorType.INT32,
    )
    model = one_op_model(
        kind, [Spec(shape, **Q), const(axis)], [Spec(out, "int32")], opts
    )
    ties = (
        np.random.default_rng(0).integers(-3, 3, shape).astype(np.int8)
    )  # many ties: first index wins
    report = check_bit_exact(
        model,
        samples=2,
        inputs=[[ties]],
        sanitize=shape == (3, 5, 2) and kind == "ARG_MIN",
    )
    assert report.bit_exact, first_lines(report)
