"""PAD/PADV2, MIRROR_PAD, CONCATENATION, RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR (int8).

These only move bytes; what must match TFLM is which bytes: the pad value
(PAD uses the output zero point, PADV2 its constant), that CONCATENATION
copies without rescaling (TFLM's int8 kernel requires equal input and output
quantisation, so neither do we rescale), and the
nearest-neighbour index maps, computed here in float32 as TFLM's
GetNearestNeighbor does. RESIZE_BILINEAR does arithmetic, all integer
(TFLM's ResizeBilinearInteger); its sample positions are tabulated here.
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
from engine.lower.ops._nonconv_common import output, per_tensor, require_dtype
from engine.lower.quant import tflite_round
from tflite_bridge.attrs import Activation, MirrorPadMode
from tflite_bridge.ir import DType, Graph, Op

PAD_AXES = 5  # TE_PAD_AXES in te_shape.c


def _const(graph: Graph, op: Op, slot: int) -> np.ndarray:
    tid = op.inputs[slot] if slot < len(op.inputs) else -1
    if tid < 0 or not graph.tensor(tid).is_constant:
        raise UnsupportedOp(f"{op.kind}: input {slot} must be a constant tensor")
    return np.asarray(graph.tensor(tid).data)


def pad_descriptor(in_shape, paddings) -> tuple[int, ...]:
    """te_pad_s8's 15 ints: input extents, output extents, padding before (5 each).

    Axes without padding are folded into the axis before them, so the
    innermost extent is as long a contiguous run as possible.
    """
    axes = [
        [int(n), int(n) + int(b) + int(a), int(b)]
        for n, (b, a) in zip(in_shape, paddings)
    ]
    merged: list[list[int]] = []
    for ext, out, before in axes:
        if merged and out == ext:  # unpadded: fold into the previous axis
            merged[-1] = [merged[-1][0] * ext, merged[-1][1] * ext, merged[-1][2] * ext]
        else:
            merged.append([ext, out, before])
    if len(merged) > PAD_AXES:
        raise UnsupportedOp(f"PAD: {len(merged)} padded axes, kernel takes {PAD_AXES}")
    merged = [[1, 1, 0]] * (PAD_AXES - len(merged)) + merged
    return (
        tuple(m[0] for m in merged)
        + tuple(m[1] for m in merged)
        + tuple(m[2] for m in merged)
    )


@lowering("PAD", "PADV2", limits="constant paddings; up to 5 padded axes (unpadded ones merge)")
def lower_pad(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x = graph.tensor(op.inputs[0])
    y = output(graph, op)
    require_dtype(op, x, DType.INT8)
    require_dtype(op, y, DType.INT8)
    paddings = _const(graph, op, 1).reshape(-1, 2)
    if paddings.shape[0] != len(x.shape) or (paddings < 0).any():
        raise UnsupportedOp(
            f"PAD: paddings {paddings.tolist()} do not fit input shape {x.shape}"
        )
    expected = tuple(int(n + b + a) for n, (b, a) in zip(x.shape, paddings))
    if expected != tuple(y.shape):
        raise UnsupportedOp(
            f"PAD: input {x.shape} padded by {paddings.tolist()} is {expected}, output is {y.shape}"
        )
    if op.kind == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        pad_value = int(_const(graph, op, 2).reshape(-1)[0])
    else:
        pad_value = per_tensor(op, y)[1]
    desc = pad_descriptor(x.shape, paddings)
    return Call(
        function="te_pad_s8",
        args=(TensorArg(x.id), TensorArg(y.id), ConstArray("int32_t", desc), pad_value),
        sources=("te_shape",),
    )


@lowering("CONCATENATION", limits="inputs quantised as the output (as TFLM requires); no fused activation")
def lower_concatenation(graph: Graph, op: Op, options: LowerOptions) -> Call:
    y = output(graph, op)
    xs = [graph.tensor(t) for t in op.inputs]
    for t in (*xs, y):
        require_dtype(op, t, DType.INT8)
    if op.attrs.fused_activation_function != Activation.NONE:
        raise UnsupportedOp(
            f"CONCATENATION: fused activation {op.attrs.fused_activation_function.name}"
        )
    rank = len(y.shape)
    axis = op.attrs.axis + rank if op.attrs.axis < 0 else op.attrs.axis
    if not 0 <= axis < rank or any(len(t.shape) != rank for t in xs):
        raise UnsupportedOp(
            f"CONCATENATION: axis {op.attrs.axis} for shapes {[t.shape for t in xs]}"
        )
    if sum(t.shape[axis] for t in xs) != y.shape[axis]:
        raise UnsupportedOp(
            f"CONCATENATION: inputs {[t.shape for t in xs]} do not add up to {y.shape}"
        )
    out_q = per_tensor(op, y)
    for t in xs:
        if per_tensor(op, t) != out_q:
            raise UnsupportedOp(
                f"CONCATENATION: input {t.id} quantisation {per_tensor(op, t)} differs from output {out_q}; "
                "TFLM requires equal"
            )
    outer = math.prod(y.shape[:axis])
    args: tuple = (TensorArg(y.id), outer, math.prod(y.shape[axis:]), len(xs))
    for t in xs:
        args += (TensorArg(t.id), math.prod(t.shape[axis:]))
    return Call(function="te_concatenation_s8", args=args, sources=("te_shape",))


def nearest_neighbor_map(
    input_size: int, output_size: int, align_corners: bool, half_pixel_centers: bool
) -> list[int]:
    """TFLM's GetNearestNeighbor for every output index, in float32 arithmetic."""
    if align_corners and output_size > 1:
        scale = np.float32(input_size - 1) / np.float32(output_size - 1)
    else:
        scale = np.float32(input_size) / np.float32(output_size)
    offset = np.float32(0.5 if half_pixel_centers else 0.0)
    result = []
    for i in range(output_size):
        pos = (np.float32(i) + offset) * scale
        value = tflite_round(float(pos)) if align_corners else math.floor(float(pos))
        value = min(value, input_size - 1)
        result.append(max(0, value) if half_pixel_centers else value)
    return result


def _check_resize(graph: Graph, op: Op, x, y) -> None:
    require_dtype(op, x, DType.INT8)
    require_dtype(op, y, DType.INT8)
    if (
        len(x.shape) != 4
        or len(y.shape) != 4
        or x.shape[0] != y.shape[0]
        or x.shape[3] != y.shape[3]
    ):
        raise UnsupportedOp(
            f"{op.kind}: shapes {x.shape} -> {y.shape} are not NHWC with equal N, C"
        )
    size = _const(graph, op, 1).reshape(-1)
    if tuple(int(v) for v in size) != tuple(y.shape[1:3]):
        raise UnsupportedOp(f"{op.kind}: size {size.tolist()} vs output {y.shape}")


def _resize_call(graph: Graph, op: Op, function: str, index_map) -> Call:
    """A resize kernel call: shapes plus one int32 table per spatial axis, `index_map(in, out)`."""
    x = graph.tensor(op.inputs[0])
    y = output(graph, op)
    _check_resize(graph, op, x, y)
    n, h, w, c = x.shape
    ys, xs = index_map(h, y.shape[1]), index_map(w, y.shape[2])
    return Call(
        function=function,
        args=(
            TensorArg(x.id),
            TensorArg(y.id),
            n,
            h,
            w,
            c,
            y.shape[1],
            y.shape[2],
            ConstArray("int32_t", tuple(ys)),
            ConstArray("int32_t", tuple(xs)),
        ),
        sources=("te_shape",),
    )


@lowering("RESIZE_NEAREST_NEIGHBOR", limits="NHWC; constant size")
def lower_resize_nearest(graph: Graph, op: Op, options: LowerOptions) -> Call:
    attrs = op.attrs
    return _resize_call(graph, op, "te_resize_nearest_s8",
                        lambda i, o: nearest_neighbor_map(i, o, attrs.align_corners, attrs.half_pixel_centers))


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero), for b > 0."""
    return a // b if a >= 0 else -(-a // b)


def bilinear_params(
    input_size: int, output_size: int, align_corners: bool, half_pixel_centers: bool
) -> list[int]:
    """(input position in 1/1024, lower, upper) per output index: TFLM's
    ComputeInterpolationValuesInteger with its integer scale_10."""
    scale = ((1 << 10) * input_size + output_size // 2) // output_size
    if align_corners and output_size > 1:
        scale = ((1 << 10) * (input_size - 1) + (output_size - 1) // 2) // (
            output_size - 1
        )
    params = []
    for i in range(output_size):
        pos = i * scale + scale // 2 - (1 << 9) if half_pixel_centers else i * scale
        lower = max(_c_div(pos, 1 << 10), 0)
        upper = min(_c_div(pos + (1 << 10) - 1, 1 << 10), input_size - 1)
        params += [pos, lower, upper]
    return params


@lowering("RESIZE_BILINEAR", limits="NHWC; constant size; not align_corners with half_pixel_centers (TFLM neither)")
def lower_resize_bilinear(graph: Graph, op: Op, options: LowerOptions) -> Call:
    attrs = op.attrs
    if attrs.align_corners and attrs.half_pixel_centers:
        raise UnsupportedOp(
            "RESIZE_BILINEAR: align_corners with half_pixel_centers (TFLM rejects it)"
        )
    return _resize_call(graph, op, "te_resize_bilinear_s8",
                        lambda i, o: bilinear_params(i, o, attrs.align_corners, attrs.half_pixel_centers))


MAP_AXES = 5  # TE_MAP_AXES in te_shape.c


def mirror_index(i: int, left: int, size: int, offset: int) -> int:
    """TFLM's GetInputDimension: the input index read for padded index `i`
    (offset 1 for REFLECT, 0 for SYMMETRIC)."""
    if i < left:
        original = left + offset - 1
        return original - min(i, original - offset)
    i -= left
    if i >= size:
        i -= size
        original = size - (1 + offset)
        return original - min(i, original)
    return i


@lowering("MIRROR_PAD", limits="constant paddings; rank up to 5")
def lower_mirror_pad(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x = graph.tensor(op.inputs[0])
    y = output(graph, op)
    if x.dtype not in (DType.INT8, DType.FLOAT32) or y.dtype != x.dtype:
        raise UnsupportedOp(
            f"MIRROR_PAD: {x.dtype.name} -> {y.dtype.name} (int8 or float32 only, as TFLM)"
        )
    paddings = _const(graph, op, 1).reshape(-1, 2)
    rank = len(x.shape)
    if paddings.shape[0] != rank or rank > MAP_AXES:
        raise UnsupportedOp(
            f"MIRROR_PAD: paddings {paddings.tolist()} for shape {x.shape}"
        )
    offset = 0 if op.attrs.mode == MirrorPadMode.SYMMETRIC else 1
    maps = [
        [mirror_index(i, int(left), n, offset) for i in range(m)]
        for n, m, (left, _) in zip(x.shape, y.shape, paddings)
    ]
    pad = MAP_AXES - rank
    strides = [1] * pad + [math.prod(x.shape[d + 1 :]) for d in range(rank)]
    extents = [1] * pad + list(y.shape)
    flat_maps = [0] * pad + [v for m in maps for v in m]
    return Call(
        function="te_axis_map_copy",
        args=(
            TensorArg(x.id),
            TensorArg(y.id),
            ConstArray("int32_t", tuple(extents + strides)),
            ConstArray("int32_t", tuple(flat_maps)),
            x.dtype.itemsize,
        ),
        sources=("te_shape",),
    )
