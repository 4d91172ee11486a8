"""ADD, SUB, MUL, MAXIMUM, MINIMUM, PRELU, SQUARED_DIFFERENCE: int8 with broadcasting.

Prepare-time constants follow TFLM exactly, including where it differs by op:
ADD forms its multipliers in double precision (add_common.cc), SUB in float32
(sub_common.cc), MUL as s1 * s2 / s_out in double (mul_common.cc).
"""

from __future__ import annotations

import math

import numpy as np

from engine.lower import fixedpoint as fp
from engine.lower.call import (
    Call,
    ConstArray,
    LowerOptions,
    TensorArg,
    UnsupportedOp,
    lowering,
)
from engine.lower.ops._nonconv_common import inputs, output, per_tensor, require_dtype
from engine.lower.quant import (
    activation_range,
    quantize_multiplier,
    quantize_multiplier_smaller_than_one,
)
from tflite_bridge.ir import DType, Graph, Op, Tensor

LEFT_SHIFT_INT8 = 20  # TFLM's headroom shift for int8 ADD/SUB
BCAST_AXES = 6  # axes of the broadcast descriptor (TE_BCAST_AXES in te_elementwise.c)
_BROADCAST = f"broadcasting over up to {BCAST_AXES} axes after merging"
# From this many output elements on, ADD/SUB tabulate each input's rescaling
# (2 KiB of tables) and pay one requantisation per element instead of three.
ADD_LUT_MIN_ELEMENTS = 1024


def broadcast_descriptor(shape1, shape2, out_shape) -> tuple[int, ...]:
    """The 18-int32 descriptor of te_elementwise.h: 6 output extents, 6 + 6 strides.

    Shapes are right-aligned (numpy rules); axes of extent 1 are dropped and
    neighbouring axes merged while both inputs stay contiguous across them.
    Raises UnsupportedOp if more than 6 axes remain.
    """
    rank = len(out_shape)
    if rank == 0:
        return (1,) * BCAST_AXES + (0,) * (2 * BCAST_AXES)
    axes = []  # (extent, stride1, stride2), outermost first
    strides = [_dense_strides(_extend(s, rank)) for s in (shape1, shape2)]
    for d in range(rank):
        ext = out_shape[d]
        if ext == 1:
            continue
        s1, s2 = (
            st[d] if _extend(sh, rank)[d] == ext else 0
            for st, sh in zip(strides, (shape1, shape2))
        )
        if axes and axes[-1][1] == s1 * ext and axes[-1][2] == s2 * ext:
            prev = axes.pop()
            axes.append((prev[0] * ext, s1, s2))
        else:
            axes.append((ext, s1, s2))
    if len(axes) > BCAST_AXES:
        raise UnsupportedOp(
            f"broadcast of {shape1} with {shape2} needs {len(axes)} axes, kernels take {BCAST_AXES}"
        )
    axes = [(1, 0, 0)] * (BCAST_AXES - len(axes)) + axes
    return (
        tuple(a[0] for a in axes)
        + tuple(a[1] for a in axes)
        + tuple(a[2] for a in axes)
    )


def _extend(shape, rank: int) -> tuple[int, ...]:
    return (1,) * (rank - len(shape)) + tuple(shape)


def _dense_strides(shape) -> list[int]:
    return [math.prod(shape[d + 1 :]) for d in range(len(shape))]


def _check_broadcast(op: Op, a: Tensor, b: Tensor, y: Tensor) -> None:
    expected = tuple(np.broadcast_shapes(a.shape, b.shape))
    if expected != tuple(y.shape):
        raise UnsupportedOp(
            f"{op.kind}: inputs {a.shape} and {b.shape} broadcast to {expected}, output is {y.shape}"
        )


def _operands(graph: Graph, op: Op) -> tuple[Tensor, Tensor, Tensor]:
    a, b = inputs(graph, op)
    y = output(graph, op)
    for t in (a, b, y):
        require_dtype(op, t, DType.INT8)
    _check_broadcast(op, a, b, y)
    return a, b, y


def _binary(graph: Graph, op: Op):
    """Operands, their (scale, zero point)s and the kernel's leading arguments.

    Every binary kernel starts with (a, b, y, broadcast descriptor).
    """
    a, b, y = _operands(graph, op)
    quants = tuple(per_tensor(op, t) for t in (a, b, y))
    bcast = broadcast_descriptor(a.shape, b.shape, y.shape)
    head = (TensorArg(a.id), TensorArg(b.id), TensorArg(y.id), ConstArray("int32_t", bcast))
    return a, b, y, quants, head


def _add_sub_multipliers(
    kind: str, s1: np.float32, s2: np.float32, s_out: np.float32
) -> list[tuple[int, int]]:
    """(multiplier, shift) for input 1, input 2 and the output, as TFLM's Prepare."""
    if kind == "ADD":
        twice_max = 2 * float(max(s1, s2))
        reals = [
            float(s1) / twice_max,
            float(s2) / twice_max,
            twice_max / ((1 << LEFT_SHIFT_INT8) * float(s_out)),
        ]
    else:  # SUB: TFLM computes these in float32
        twice_max = np.float32(2) * max(s1, s2)
        reals = [
            float(s1 / twice_max),
            float(s2 / twice_max),
            float(twice_max / (np.float32(1 << LEFT_SHIFT_INT8) * s_out)),
        ]
    try:
        return [quantize_multiplier_smaller_than_one(r) for r in reals]
    except ValueError as e:
        raise UnsupportedOp(f"{kind}: {e}") from e


@lowering("ADD", "SUB", limits=_BROADCAST)
def lower_add_sub(graph: Graph, op: Op, options: LowerOptions) -> Call:
    a, b, y, ((s1, z1), (s2, z2), (so, zo)), args = _binary(graph, op)
    (m1, sh1), (m2, sh2), (mo, sho) = _add_sub_multipliers(op.kind, s1, s2, so)
    act_min, act_max = activation_range(
        op.attrs.fused_activation_function, float(so), zo, DType.INT8
    )
    if y.num_elements >= ADD_LUT_MIN_ELEMENTS:
        table1 = scaled_input_table(z1, m1, sh1)
        table2 = scaled_input_table(z2, m2, sh2, negate=op.kind == "SUB")
        args += (
            ConstArray("int32_t", table1),
            ConstArray("int32_t", table2),
            mo,
            sho,
            zo,
            act_min,
            act_max,
        )
        return _call("te_add_lut_s8", a, b, y, args, options)
    args += (-z1, m1, sh1, -z2, m2, sh2, LEFT_SHIFT_INT8, mo, sho, zo, act_min, act_max)
    return _call(
        "te_add_s8" if op.kind == "ADD" else "te_sub_s8", a, b, y, args, options
    )


def scaled_input_table(
    zero_point: int, multiplier: int, shift: int, negate: bool = False
) -> tuple[int, ...]:
    """One ADD/SUB input's rescaled value for every int8 (index = value + 128).

    TFLM's per-element arithmetic ((x - zp) << 20, then a multiplier < 1) on
    all 256 values; SUB's second input is negated here, which is exact.
    """
    shifted = (np.arange(-128, 128, dtype=np.int64) - zero_point) << LEFT_SHIFT_INT8
    scaled = fp.rdbpot(fp.srdhm(shifted, multiplier), -shift)
    return tuple(int(v) for v in (-scaled if negate else scaled))


@lowering("MUL", limits=_BROADCAST)
def lower_mul(graph: Graph, op: Op, options: LowerOptions) -> Call:
    a, b, y, ((s1, z1), (s2, z2), (so, zo)), args = _binary(graph, op)
    mult, shift = quantize_multiplier(float(s1) * float(s2) / float(so))
    act_min, act_max = activation_range(
        op.attrs.fused_activation_function, float(so), zo, DType.INT8
    )
    args += (-z1, -z2, mult, shift, zo, act_min, act_max)
    return _call("te_mul_s8", a, b, y, args, options)


def _call(
    function: str, a: Tensor, b: Tensor, y: Tensor, args: tuple, options: LowerOptions
) -> Call:
    """The Call, in place on the first input whose shape is the output's (if any)."""
    alias = None
    if options.inplace and not a.is_constant and tuple(a.shape) == tuple(y.shape):
        alias = (0, 0)
    elif options.inplace and not b.is_constant and tuple(b.shape) == tuple(y.shape):
        alias = (1, 0)
    return Call(
        function=function,
        args=args,
        sources=("te_elementwise",),
        alias=alias,
        alias_bytes=y.nbytes if alias else 0,
    )


@lowering("MAXIMUM", "MINIMUM", limits=_BROADCAST)
def lower_maximum_minimum(graph: Graph, op: Op, options: LowerOptions) -> Call:
    """Raw int8 max / min: TFLM compares quantised values without rescaling."""
    a, b, y, _, args = _binary(graph, op)
    return _call(
        "te_maximum_s8" if op.kind == "MAXIMUM" else "te_minimum_s8",
        a,
        b,
        y,
        args,
        options,
    )


@lowering("PRELU", limits=_BROADCAST)
def lower_prelu(graph: Graph, op: Op, options: LowerOptions) -> Call:
    """PRELU with a broadcast alpha; multipliers in double, as CalculatePreluParams."""
    x, alpha, y, ((sx, zx), (sa, za), (so, zo)), args = _binary(graph, op)
    m1, sh1 = quantize_multiplier(float(sx) / float(so))
    m2, sh2 = quantize_multiplier(float(sx) * float(sa) / float(so))
    args += (-zx, -za, m1, sh1, m2, sh2, zo)
    return _call("te_prelu_s8", x, alpha, y, args, options)


SQUARED_DIFFERENCE_LEFT_SHIFT = 7  # TFLM: 255^2 * 2^(2*7) still fits int32


@lowering("SQUARED_DIFFERENCE", limits=_BROADCAST)
def lower_squared_difference(graph: Graph, op: Op, options: LowerOptions) -> Call:
    """SQUARED_DIFFERENCE as TFLM's PrepareQuantized: input multipliers in double,
    the output's denominator 2^14 * s_out formed in float32."""
    a, b, y, ((s1, z1), (s2, z2), (so, zo)), args = _binary(graph, op)
    twice_max = 2.0 * float(max(s1, s2))
    try:
        m1, sh1 = quantize_multiplier_smaller_than_one(float(s1) / twice_max)
        m2, sh2 = quantize_multiplier_smaller_than_one(float(s2) / twice_max)
    except ValueError as e:
        raise UnsupportedOp(f"SQUARED_DIFFERENCE: {e}") from e
    denominator = float(np.float32(1 << (2 * SQUARED_DIFFERENCE_LEFT_SHIFT)) * so)
    mo, sho = quantize_multiplier(twice_max * twice_max / denominator)
    args += (-z1, m1, sh1, -z2, m2, sh2, SQUARED_DIFFERENCE_LEFT_SHIFT, mo, sho, zo)
    return _call("te_squared_difference_s8", a, b, y, args, options)
