"""int8 pointwise activations lowered to 256-entry lookup tables.

Each `*_table` function reproduces, over all 256 int8 inputs, the integer
arithmetic TFLM runs for that op (its Prepare-time constants included), so
the table *is* TFLM's function; tests compare every entry with the TFLM
runtime. Only the arithmetic TFLM actually uses is reproduced, including the
quantisation parameters it ignores (LOGISTIC and TANH never read the output
scale; RELU6 never rescales).
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
from engine.lower.quant import (
    calculate_input_radius,
    downscale_int32_to_int16_multiplier,
    frexp_multiplier,
    quantize_multiplier,
    tflite_round,
)
from tflite_bridge.ir import DType, Graph, Op, Tensor

ALL_INT8 = np.arange(-128, 128, dtype=np.int64)  # table index i holds input i - 128


def _saturate_int8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127).astype(np.int8)


def _sigmoid_like(
    x_minus_zp: np.ndarray, in_scale: np.float32, fn, out_shift: int, out_offset: int
) -> np.ndarray:
    """TFLM's int8 LOGISTIC/TANH: saturate beyond the input radius, else fixed point.

    The input is rescaled to Q4.27 with a multiplier from frexp(scale * 2^27),
    `fn` (gemmlowp logistic or tanh) gives Q0.31, which is rounded (half away
    from zero) to 2^-out_shift steps and offset.
    """
    integer_bits = 4
    try:
        multiplier, shift = frexp_multiplier(
            float(in_scale) * float(1 << (31 - integer_bits))
        )
    except ValueError as e:
        raise UnsupportedOp(f"LOGISTIC/TANH: {e}") from e
    radius = calculate_input_radius(integer_bits, shift, 31)
    inside = (x_minus_zp > -radius) & (x_minus_zp < radius)
    q4 = fp.multiply_by_quantized_multiplier(
        np.where(inside, x_minus_zp, 0), multiplier, shift
    )
    value = fp.rdbpot(fn(q4, integer_bits), 31 - out_shift) + out_offset
    value = np.where(
        x_minus_zp <= -radius, -128, np.where(x_minus_zp >= radius, 127, value)
    )
    return _saturate_int8(value)


def logistic_table(in_scale: np.float32, in_zp: int) -> np.ndarray:
    """LOGISTIC: output scale 1/256, zero point -128 (TFLM assumes both)."""
    return _sigmoid_like(ALL_INT8 - in_zp, in_scale, fp.logistic, 8, -128)


def tanh_table(in_scale: np.float32, in_zp: int) -> np.ndarray:
    """TANH: output scale 1/128, zero point 0 (TFLM assumes both)."""
    return _sigmoid_like(ALL_INT8 - in_zp, in_scale, fp.tanh, 7, 0)


def _shift_16(x: np.ndarray, amount: int) -> np.ndarray:
    """TFLite's SaturatingLeftShift on int16."""
    return np.clip(x * (1 << amount), fp.INT16_MIN, fp.INT16_MAX)


def _hard_swish_multipliers(
    in_scale: np.float32, out_scale: np.float32
) -> tuple[int, int, int, int]:
    """HardSwishPrepare: (output mult16, output exponent, reluish mult16, reluish exponent)."""
    hires_input_scale = (
        np.float32(1.0 / 128.0) * in_scale
    )  # float32 arithmetic, as in TFLM
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    out_mult, out_exp = quantize_multiplier(float(hires_input_scale / out_scale))
    relu_mult, relu_exp = quantize_multiplier(float(hires_input_scale / reluish_scale))
    if out_exp > 0:
        raise UnsupportedOp(
            f"HARD_SWISH: output multiplier exponent {out_exp} > 0, which TFLM rejects"
        )
    return (
        downscale_int32_to_int16_multiplier(out_mult),
        out_exp,
        downscale_int32_to_int16_multiplier(relu_mult),
        relu_exp,
    )


def hard_swish_table(
    in_scale: np.float32, in_zp: int, out_scale: np.float32, out_zp: int
) -> np.ndarray:
    """HARD_SWISH: reference_ops::HardSwish<int8_t>, in 16-bit fixed point."""
    out_mult, out_exp, relu_mult, relu_exp = _hard_swish_multipliers(
        in_scale, out_scale
    )
    hires = fp.wrap((ALL_INT8 - in_zp) * 128, 16)
    preshift_output = fp.srdhm(hires, out_mult, bits=16)
    reluish = hires
    if relu_exp > 0:
        reluish = _shift_16(reluish, relu_exp - 1)
    reluish = fp.srdhm(reluish, relu_mult, bits=16)
    if relu_exp > 0:
        reluish = _shift_16(reluish, 1)
    if relu_exp < 0:
        reluish = fp.rdbpot(reluish, -relu_exp, bits=16)
    reluish = (reluish + (1 << 15)) >> 1  # [-1, 1] -> [0, 1]
    value = fp.rdbpot(
        fp.doubling_high_mul_16(reluish, preshift_output), -out_exp, bits=16
    )
    return _saturate_int8(fp.wrap(value + out_zp, 16))


def leaky_relu_table(
    in_scale: np.float32, in_zp: int, out_scale: np.float32, out_zp: int, alpha: float
) -> np.ndarray:
    """LEAKY_RELU: identity or alpha multiplier by the sign of x - zp.

    The installed TFLM forms the alpha multiplier in double precision (a float32
    product rounds scale 0.3 * alpha -0.5 / scale 0.1 to a tie at -1.5 and
    disagrees with it), so both multipliers are computed in double here.
    """
    alpha_mult, alpha_shift = quantize_multiplier(
        float(in_scale) * float(np.float32(alpha)) / float(out_scale)
    )
    id_mult, id_shift = quantize_multiplier(float(in_scale) / float(out_scale))
    x = ALL_INT8 - in_zp
    positive = fp.multiply_by_quantized_multiplier(x, id_mult, id_shift)
    # TFLM multiplies by |alpha multiplier| and negates afterwards (its
    # MultiplyByQuantizedMultiplier wants a non-negative multiplier); that
    # rounds ties differently from multiplying by the negative value.
    negative = fp.multiply_by_quantized_multiplier(x, abs(alpha_mult), alpha_shift)
    negative = -negative if alpha_mult < 0 else negative
    return _saturate_int8(out_zp + np.where(x >= 0, positive, negative))


def relu_table(
    in_scale: np.float32, in_zp: int, out_scale: np.float32, out_zp: int
) -> np.ndarray:
    """RELU: requantise to the output scale, clamp below at the output's zero."""
    mult, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    value = out_zp + fp.multiply_by_quantized_multiplier(ALL_INT8 - in_zp, mult, shift)
    return _saturate_int8(np.maximum(value, max(-128, out_zp)))


def relu6_table(in_scale: np.float32, in_zp: int) -> np.ndarray:
    """RELU6: TFLM clamps the raw input to [zp, quantised 6] without rescaling."""
    six = int(
        np.clip(tflite_round(float(np.float32(6.0) / in_scale)) + in_zp, -128, 127)
    )
    # TFLM's `val > six ? six : val < zero ? zero : val`, kept as written so
    # even a zero point above `six` gives TFLM's result.
    return np.where(
        ALL_INT8 > six, six, np.where(ALL_INT8 < in_zp, in_zp, ALL_INT8)
    ).astype(np.int8)


def requantize_table(
    in_scale: np.float32, in_zp: int, out_scale: np.float32, out_zp: int
) -> np.ndarray:
    """int8 -> int8 QUANTIZE: reference_ops::Requantize with a double multiplier."""
    mult, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    return _saturate_int8(
        fp.multiply_by_quantized_multiplier(ALL_INT8 - in_zp, mult, shift) + out_zp
    )


def lut_call(x: Tensor, y: Tensor, table: np.ndarray, options: LowerOptions) -> Call:
    """The te_lut_s8 call applying `table` (256 int8, index = input + 128)."""
    return Call(
        function="te_lut_s8",
        args=(
            TensorArg(x.id),
            TensorArg(y.id),
            num_elements(x),
            ConstArray("int8_t", tuple(int(v) for v in table)),
        ),
        sources=("te_activation",),
        alias=(0, 0) if options.inplace else None,
        alias_bytes=x.nbytes if options.inplace else 0,
    )


def _unary_int8(
    graph: Graph, op: Op
) -> tuple[Tensor, Tensor, np.float32, int, np.float32, int]:
    (x,) = inputs(graph, op)
    y = output(graph, op)
    require_dtype(op, x, DType.INT8)
    require_dtype(op, y, DType.INT8)
    if num_elements(x) != num_elements(y):
        raise UnsupportedOp(
            f"{op.kind}: input shape {x.shape} vs output shape {y.shape}"
        )
    return (x, y, *per_tensor(op, x), *per_tensor(op, y))


@lowering("LOGISTIC", limits="output zero point -128 (as TFLM requires)")
@lowering("TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6")
def lower_activation(graph: Graph, op: Op, options: LowerOptions) -> Call:
    x, y, in_scale, in_zp, out_scale, out_zp = _unary_int8(graph, op)
    if op.kind == "LOGISTIC":
        if out_zp != -128:
            raise UnsupportedOp(
                f"LOGISTIC: output zero point {out_zp}, TFLM requires -128"
            )
        table = logistic_table(in_scale, in_zp)
    elif op.kind == "TANH":
        table = tanh_table(in_scale, in_zp)
    elif op.kind == "HARD_SWISH":
        table = hard_swish_table(in_scale, in_zp, out_scale, out_zp)
    elif op.kind == "LEAKY_RELU":
        table = leaky_relu_table(in_scale, in_zp, out_scale, out_zp, op.attrs.alpha)
    elif op.kind == "RELU":
        table = relu_table(in_scale, in_zp, out_scale, out_zp)
    else:
        table = relu6_table(in_scale, in_zp)
    return lut_call(x, y, table, options)
