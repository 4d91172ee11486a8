"""SOFTMAX lowering: int8 in, int8 out, TFLM's gemmlowp fixed-point path.

TFLM's SoftmaxPrepare for int8 -> int8 requires the output quantised with
zero point -128 and scale exactly 1/256, and computes the input rescaling as
PreprocessSoftmaxScaling(beta, input_scale, 5) with diff_min =
-CalculateInputRadius(5, left_shift). We compute the same three constants.
For larger inputs the exp of each possible difference (there are only 256)
is tabulated here, with the same fixed-point arithmetic.
"""

from __future__ import annotations

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
from engine.lower.ops._nonconv_common import (
    inputs,
    num_elements,
    output,
    per_tensor,
    require_dtype,
)
from engine.lower.quant import calculate_input_radius, preprocess_softmax_scaling, quantize_multiplier_smaller_than_one
from tflite_bridge.ir import DType, Graph, Op

SCALED_DIFF_INTEGER_BITS = (
    5  # Q5.26 input differences, as TFLM's kScaledDiffIntegerBits
)
# From this many elements on, a 1 KiB exp table (te_softmax_lut_s8) replaces
# the two fixed-point exps per element; below it the table costs more Flash
# than the cycles it saves.
LUT_MIN_ELEMENTS = 256


def _operands(graph: Graph, op: Op, out_quant: tuple[float, int], quant_text: str):
    """(input, output, input scale) of an int8 SOFTMAX-like op whose output quantisation TFLM fixes."""
    (x,) = inputs(graph, op)
    y = output(graph, op)
    require_dtype(op, x, DType.INT8)
    require_dtype(op, y, DType.INT8)
    in_scale, _ = per_tensor(op, x)
    out_scale, out_zp = per_tensor(op, y)
    if out_zp != out_quant[1] or out_scale != np.float32(out_quant[0]):
        raise UnsupportedOp(
            f"{op.kind}: output quantisation ({out_scale}, {out_zp}) is not ({quant_text}) as TFLM requires"
        )
    if not x.shape or x.shape != y.shape:
        raise UnsupportedOp(f"{op.kind}: input shape {x.shape} vs output shape {y.shape}")
    return x, y, in_scale


@lowering("SOFTMAX", limits="output scale 1/256, zero point -128 (as TFLM requires)")
def lower_softmax(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x, y, in_scale = _operands(graph, op, (1.0 / 256, -128), "1/256, -128")
    # TFLM casts the float32 beta and scale to double before multiplying.
    beta = float(np.float32(op.attrs.beta))
    try:
        multiplier, left_shift = preprocess_softmax_scaling(
            beta, float(in_scale), SCALED_DIFF_INTEGER_BITS
        )
    except ValueError as e:  # TFLM's Prepare CHECK-fails on these
        raise UnsupportedOp(f"SOFTMAX: {e}") from e
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)
    depth = x.shape[-1]
    outer = num_elements(x) // depth
    if num_elements(x) >= LUT_MIN_ELEMENTS:
        table = exp_table(multiplier, left_shift, diff_min)
        function, params = "te_softmax_lut_s8", (ConstArray("int32_t", table),)
    else:
        function, params = "te_softmax_s8", (multiplier, left_shift, diff_min)
    return Call(
        function=function,
        args=(TensorArg(x.id), TensorArg(y.id), outer, depth, *params),
        sources=("te_softmax",),
        alias=(0, 0) if options.inplace else None,
        alias_bytes=x.nbytes if options.inplace else 0,
    )


def exp_table(multiplier: int, left_shift: int, diff_min: int) -> tuple[int, ...]:
    """te_softmax_lut_s8's table: entry d is TFLM's Q0.31 exp of the difference -d.

    The rescaling is MultiplyByQuantizedMultiplierGreaterThanOne into Q5.26,
    then gemmlowp's exp_on_negative_values; differences below diff_min, which
    TFLM skips, get 0 (they then add nothing and output -128, as in TFLM).
    """
    diffs = -np.arange(256, dtype=np.int64)
    valid = diffs >= diff_min
    rescaled = fp.srdhm(fp.wrap(np.where(valid, diffs, 0) << left_shift), multiplier)
    exps = fp.exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    return tuple(int(v) for v in np.where(valid, exps, 0))


@lowering("LOG_SOFTMAX", limits="output scale 16/256, zero point 127 (as TFLM requires)")
def lower_log_softmax(graph: Graph, op: Op, options: LowerOptions) -> Call:
    """TFLM's log_softmax.cc Prepare: beta 1, Q5.26 differences, output (16/256, 127)."""
    x, y, in_scale = _operands(graph, op, (16.0 / 256, 127), "16/256, 127")
    try:
        multiplier, left_shift = preprocess_softmax_scaling(1.0, float(in_scale), SCALED_DIFF_INTEGER_BITS)
        if not 0 < left_shift < 31:
            raise ValueError(f"input left shift {left_shift} is outside [1, 30]")
        # PreprocessLogSoftmaxScalingExp: the inverse of the input rescaling, as a multiplier < 1.
        divisor, reverse_shift = quantize_multiplier_smaller_than_one((1 << (31 - left_shift)) / float(multiplier))
    except ValueError as e:  # TFLM's Prepare CHECK-fails on these
        raise UnsupportedOp(f"LOG_SOFTMAX: {e}") from e
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)
    depth = x.shape[-1]
    return Call(
        function="te_log_softmax_s8",
        args=(TensorArg(x.id), TensorArg(y.id), num_elements(x) // depth, depth, multiplier, left_shift, divisor,
              reverse_shift, diff_min),
        sources=("te_softmax",),
        alias=(0, 0) if options.inplace else None,
        alias_bytes=x.nbytes if options.inplace else 0,
    )
