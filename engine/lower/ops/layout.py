"""Layout ops lowered to pure copies: TRANSPOSE, SLICE, STRIDED_SLICE,
DEPTH_TO_SPACE, SPACE_TO_DEPTH (one strided view copy, te_strided_copy) and
SPLIT, SPLIT_V, UNPACK, PACK (b copies, te_split_s8 / te_concatenation_s8)
and GATHER (te_gather), ARG_MAX/ARG_MIN (te_arg_min_max_s8).

Each op is described as a strided view of its input: output extents, input
strides (in elements) and a start offset, computed here from the constant
operands with TFLM's own index rules (StridedSliceStartForAxis/EndForAxis).
"""

from __future__ import annotations

import math

import numpy as np

from engine.lower.call import (
    Call,
    ConstArray,
    LowerOptions,
    TensorArg,
    UnsupportedOp,
    lowering,
)
from engine.lower.ops._nonconv_common import output
from tflite_bridge.ir import DType, Graph, Op, Tensor

COPY_AXES = 6  # TE_COPY_AXES in te_shape.c


def dense_strides(shape) -> list[int]:
    return [math.prod(shape[d + 1 :]) for d in range(len(shape))]


def copy_descriptor(extents, strides, offset: int) -> tuple[int, ...]:
    """te_strided_copy's 13 ints, with unit axes dropped and contiguous axes merged."""
    axes: list[tuple[int, int]] = []
    for ext, stride in zip(extents, strides):
        if ext == 1:
            continue
        if axes and axes[-1][1] == stride * ext:
            axes[-1] = (axes[-1][0] * ext, stride)
        else:
            axes.append((int(ext), int(stride)))
    if len(axes) > COPY_AXES:
        raise UnsupportedOp(
            f"strided copy of extents {tuple(extents)} needs {len(axes)} axes, kernel takes {COPY_AXES}"
        )
    axes = [(1, 0)] * (COPY_AXES - len(axes)) + axes
    return tuple(a[0] for a in axes) + tuple(a[1] for a in axes) + (int(offset),)


def _copy_call(x: Tensor, y: Tensor, extents, strides, offset: int) -> Call:
    if x.dtype != y.dtype:
        raise UnsupportedOp(
            f"copy from {x.dtype.name} tensor {x.id} to {y.dtype.name} tensor {y.id}"
        )
    if math.prod(extents) != math.prod(y.shape):
        raise UnsupportedOp(
            f"view extents {tuple(extents)} do not fill output {y.shape}"
        )
    desc = copy_descriptor(extents, strides, offset)
    return Call(
        function="te_strided_copy",
        args=(
            TensorArg(x.id),
            TensorArg(y.id),
            ConstArray("int32_t", desc),
            x.dtype.itemsize,
        ),
        sources=("te_shape",),
    )


def _const(graph: Graph, op: Op, slot: int) -> np.ndarray:
    tid = op.inputs[slot] if slot < len(op.inputs) else -1
    if tid < 0 or not graph.tensor(tid).is_constant:
        raise UnsupportedOp(f"{op.kind}: input {slot} must be a constant tensor")
    return np.asarray(graph.tensor(tid).data).reshape(-1)


@lowering("TRANSPOSE", limits="constant permutation; up to 6 axes after merging")
def lower_transpose(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x, y = graph.tensor(op.inputs[0]), output(graph, op)
    perm = [int(p) for p in _const(graph, op, 1)]
    if sorted(perm) != list(range(len(x.shape))):
        raise UnsupportedOp(f"TRANSPOSE: permutation {perm} for shape {x.shape}")
    strides = dense_strides(x.shape)
    return _copy_call(x, y, [x.shape[p] for p in perm], [strides[p] for p in perm], 0)


@lowering("SLICE", limits="constant begin and size; up to 6 axes after merging")
def lower_slice(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x, y = graph.tensor(op.inputs[0]), output(graph, op)
    begin, size = _const(graph, op, 1), _const(graph, op, 2)
    # TFLM: a size of -1 means "to the end of the axis".
    extents = [
        int(n) - int(b) if s == -1 else int(s) for n, b, s in zip(x.shape, begin, size)
    ]
    strides = dense_strides(x.shape)
    return _copy_call(
        x, y, extents, strides, sum(int(b) * s for b, s in zip(begin, strides))
    )


def strided_slice_axis(
    n: int, begin: int, end: int, stride: int, bits: dict[str, bool], offset: bool
):
    """TFLM's StridedSliceStartForAxis / EndForAxis: (start, count) along one axis."""
    start = begin + n if begin < 0 else begin
    start = min(max(start, 0), n) if stride > 0 else min(max(start, -1), n - 1)
    if bits["begin"]:
        start = 0 if stride > 0 else n - 1
    if bits["shrink"]:
        stop = start if start >= n else start + 1
    else:
        stop = end + start if offset else end
        stop = stop + n if stop < 0 else stop
        stop = min(max(stop, 0), n) if stride > 0 else min(max(stop, -1), n - 1)
        if bits["end"]:
            stop = n if stride > 0 else -1
    count = (
        -(-(stop - start) // stride) if stride > 0 else -(-(start - stop) // -stride)
    )
    return start, max(count, 0)


@lowering("STRIDED_SLICE", limits="constant begin, end, strides; no ellipsis or new-axis mask (TFLM neither)")
def lower_strided_slice(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x, y = graph.tensor(op.inputs[0]), output(graph, op)
    attrs = op.attrs
    if attrs.ellipsis_mask or attrs.new_axis_mask:
        raise UnsupportedOp(
            "STRIDED_SLICE: ellipsis and new-axis masks are not supported (TFLM neither)"
        )
    begin, end, step = (_const(graph, op, k) for k in (1, 2, 3))
    if not len(begin) == len(end) == len(step) == len(x.shape) or (step == 0).any():
        raise UnsupportedOp(
            f"STRIDED_SLICE: begin/end/strides {begin}, {end}, {step} for shape {x.shape}"
        )
    in_strides = dense_strides(x.shape)
    extents, strides, offset = [], [], 0
    for d, n in enumerate(x.shape):
        bits = {
            k: bool(getattr(attrs, f"{k}_mask") >> d & 1)
            for k in ("begin", "end", "shrink_axis")
        }
        bits["shrink"] = bits.pop("shrink_axis")
        start, count = strided_slice_axis(
            n, int(begin[d]), int(end[d]), int(step[d]), bits, attrs.offset
        )
        extents.append(count)
        strides.append(in_strides[d] * int(step[d]))
        offset += max(start, 0) * in_strides[d] if count else 0
    return _copy_call(x, y, extents, strides, offset)


@lowering("DEPTH_TO_SPACE", "SPACE_TO_DEPTH", limits="NHWC")
def lower_depth_space(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x, y = graph.tensor(op.inputs[0]), output(graph, op)
    b = op.attrs.block_size
    if len(x.shape) != 4:
        raise UnsupportedOp(f"{op.kind}: input {x.shape} is not NHWC")
    n, h, w, c = x.shape
    if op.kind == "DEPTH_TO_SPACE":
        # out[n, h*b + i, w*b + j, k] = in[n, h, w, (i*b + j)*c' + k]
        cc = c // (b * b)
        extents = [n, h, b, w, b, cc]
        strides = [h * w * c, w * c, b * cc, c, cc, 1]
    else:
        # out[n, h, w, (i*b + j)*c + k] = in[n, h*b + i, w*b + j, k]
        extents = [n, h // b, w // b, b, b, c]
        strides = [h * w * c, b * w * c, b * c, w * c, c, 1]
    return _copy_call(x, y, extents, strides, 0)


def _blocks_call(function: str, whole: Tensor, parts: list[Tensor], axis: int) -> Call:
    """te_concatenation_s8 / te_split_s8 over `parts` along `axis` of `whole`."""
    for t in (whole, *parts):
        if t.dtype != DType.INT8:
            raise UnsupportedOp(
                f"{function}: tensor {t.id} is {t.dtype.name}, only int8 is supported"
            )
    outer = math.prod(whole.shape[:axis])
    pieces: tuple = ()
    for t in parts:
        pieces += (TensorArg(t.id), t.num_elements // outer)
    if sum(p for p in pieces[1::2]) * outer != whole.num_elements:
        raise UnsupportedOp(
            f"{function}: parts {[t.shape for t in parts]} do not tile {whole.shape}"
        )
    head = (TensorArg(whole.id), outer, whole.num_elements // max(outer, 1), len(parts))
    return Call(function=function, args=head + pieces, sources=("te_shape",))


def _axis(axis: int, rank: int, kind: str) -> int:
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < max(rank, 1):
        raise UnsupportedOp(f"{kind}: axis {axis} out of range for rank {rank}")
    return axis


@lowering("SPLIT", "SPLIT_V", limits="constant axis")
def lower_split(graph: Graph, op: Op, options: LowerOptions) -> Call:
    data_slot, axis_slot = (1, 0) if op.kind == "SPLIT" else (0, 2)
    x = graph.tensor(op.inputs[data_slot])
    axis = _axis(int(_const(graph, op, axis_slot)[0]), len(x.shape), op.kind)
    return _blocks_call("te_split_s8", x, [graph.tensor(t) for t in op.outputs], axis)


@lowering("UNPACK")
def lower_unpack(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x = graph.tensor(op.inputs[0])
    axis = _axis(op.attrs.axis, len(x.shape), op.kind)
    return _blocks_call("te_split_s8", x, [graph.tensor(t) for t in op.outputs], axis)


@lowering("PACK")
def lower_pack(graph: Graph, op: Op, options: LowerOptions) -> Call:
    y = output(graph, op)
    axis = _axis(op.attrs.axis, len(y.shape), op.kind)
    # Stacking along `axis` lays the inputs out as concatenation along it would.
    return _blocks_call(
        "te_concatenation_s8", y, [graph.tensor(t) for t in op.inputs], axis
    )


@lowering("GATHER", dtypes="int8 data, int32 positions")
def lower_gather(graph: Graph, op: Op, options: LowerOptions) -> Call:
    """GATHER of int8 or float32 data by int32 positions (constant or computed)."""
    x, coords, y = (
        graph.tensor(op.inputs[0]),
        graph.tensor(op.inputs[1]),
        output(graph, op),
    )
    if (
        x.dtype not in (DType.INT8, DType.FLOAT32)
        or coords.dtype != DType.INT32
        or y.dtype != x.dtype
    ):
        raise UnsupportedOp(
            f"GATHER: {x.dtype.name} data by {coords.dtype.name} positions is not supported"
        )
    rank, crank = len(x.shape), len(coords.shape)
    axis = _axis(op.attrs.axis, rank, op.kind)
    batch_dims = (
        op.attrs.batch_dims + crank if op.attrs.batch_dims < 0 else op.attrs.batch_dims
    )
    if not 0 <= batch_dims <= min(axis, crank) or tuple(x.shape[:batch_dims]) != tuple(
        coords.shape[:batch_dims]
    ):
        raise UnsupportedOp(
            f"GATHER: batch_dims {op.attrs.batch_dims} for {x.shape} and {coords.shape}"
        )
    args = (
        TensorArg(x.id),
        TensorArg(coords.id),
        TensorArg(y.id),
        math.prod(x.shape[:batch_dims]),
        math.prod(x.shape[batch_dims:axis]),
        x.shape[axis],
        math.prod(coords.shape[batch_dims:]),
        math.prod(x.shape[axis + 1 :]),
        x.dtype.itemsize,
    )
    return Call(function="te_gather", args=args, sources=("te_shape",))


@lowering("ARG_MAX", "ARG_MIN", dtypes="int8 -> int32", limits="constant axis")
def lower_arg_min_max(graph: Graph, op: Op, options: LowerOptions) -> Call:
    """First index of the int8 maximum / minimum along a constant axis."""
    x, y = graph.tensor(op.inputs[0]), output(graph, op)
    if x.dtype != DType.INT8 or y.dtype != DType.INT32:
        raise UnsupportedOp(
            f"{op.kind}: {x.dtype.name} -> {y.dtype.name} (int8 -> int32 only, as TFLM)"
        )
    axis = _axis(int(_const(graph, op, 1)[0]), len(x.shape), op.kind)
    args = (
        TensorArg(x.id),
        TensorArg(y.id),
        math.prod(x.shape[:axis]),
        x.shape[axis],
        math.prod(x.shape[axis + 1 :]),
        int(op.kind == "ARG_MAX"),
    )
    return Call(function="te_arg_min_max_s8", args=args, sources=("te_shape",))
