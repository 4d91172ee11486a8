"""TFLM's quantisation parameter arithmetic, reproduced exactly in Python.

The kernels are bit-exact only if their constants are too: these functions
follow TFLM's Prepare-time code (quantization_util.cc, kernel_util.cc) down to
the float32/float64 conversions and round-half-away-from-zero.
"""

from __future__ import annotations

import math

import numpy as np

from tflite_bridge.attrs import Activation
from tflite_bridge.ir import DType

QRANGE = {
    DType.INT8: (-128, 127),
    DType.UINT8: (0, 255),
    DType.INT16: (-32768, 32767),
    DType.INT32: (-(2**31), 2**31 - 1),
}


def tflite_round(x: float) -> int:
    """std::round: halves away from zero (Python's round() is banker's)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(real: float, max_shift: int = 30) -> tuple[int, int]:
    """QuantizeMultiplier: real ~= m * 2^(shift-31), m in [2^30, 2^31).

    Returns (quantized_multiplier, shift). Zero maps to (0, 0); multipliers
    too small to represent (shift < -31) also map to (0, 0), as in TFLM.
    A shift above `max_shift` raises ValueError: TFLM's (double-rounding)
    MultiplyByQuantizedMultiplier computes x * (1 << shift) in int32, which
    overflows from 31 on, so no result could match (softmax's scaling, which
    only shifts small differences, allows 31).
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > max_shift:
        raise ValueError(f"multiplier {real!r} needs a left shift of {shift} (at most {max_shift})")
    return int(q_fixed), int(shift)


def f32(x: float) -> np.float32:
    return np.float32(x)


def activation_range(act: Activation, scale: float, zero_point: int, dtype: DType) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp bounds of a fused activation."""
    qmin, qmax = QRANGE[dtype]

    def quantize(f: float) -> int:
        # TFLM: zero_point + static_cast<int32_t>(TfLiteRound(f / scale)), in float32.
        return zero_point + tflite_round(float(np.float32(f) / np.float32(scale)))

    if act == Activation.NONE:
        return qmin, qmax
    if act == Activation.RELU:
        return max(qmin, quantize(0.0)), qmax
    if act == Activation.RELU6:
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if act == Activation.RELU_N1_TO_1:
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(f"fused activation {act.name} has no integer range")


# --- Prepare-time helpers of the non-conv kernels (softmax, logistic, tanh, hard swish) ---


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: as quantize_multiplier, checking 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"multiplier {real!r} is not in (0, 1)")
    return quantize_multiplier(real)


def frexp_multiplier(real: float) -> tuple[int, int]:
    """The (multiplier, shift) TFLM's int8 LOGISTIC and TANH Prepare compute inline.

    Unlike QuantizeMultiplier there is no renormalisation when rounding reaches
    2^31, nor a flush of tiny values: `q = frexp(real); m = round(q * 2^31)`.
    """
    q, shift = math.frexp(real)
    mult = tflite_round(q * (1 << 31))
    if mult >= 1 << 31:
        raise ValueError(f"multiplier {real!r} rounds to 2^31, which TFLM would overflow")
    return mult, shift


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """PreprocessSoftmaxScaling (double rounding build): (multiplier, left_shift).

    beta * input_scale is taken to Q(input_integer_bits).(31 - input_integer_bits)
    and capped at 2^31 - 1, then split with QuantizeMultiplierGreaterThanOne.
    """
    real = min(float(beta) * float(input_scale) * (1 << (31 - input_integer_bits)), (1 << 31) - 1.0)
    if not real > 1.0:
        raise ValueError(f"softmax multiplier {real!r} (beta {beta}, scale {input_scale}) is not > 1")
    mult, shift = quantize_multiplier(real, max_shift=31)
    if shift < 0:
        raise ValueError(f"softmax left shift {shift} < 0")
    return mult, shift


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius: the largest |input| whose rescaling cannot overflow."""
    max_input_rescaled = (
        1.0
        * ((1 << input_integer_bits) - 1)
        * (1 << (total_signed_bits - input_integer_bits))
        / (1 << input_left_shift)
    )
    return math.floor(max_input_rescaled)


def downscale_int32_to_int16_multiplier(multiplier: int) -> int:
    """DownScaleInt32ToInt16Multiplier: a Q0.31 multiplier rounded to Q0.15."""
    if multiplier < 0:
        raise ValueError(f"multiplier {multiplier} < 0")
    rounding = 1 << 15
    if multiplier >= (2**31 - 1) - rounding:
        return 2**15 - 1
    return (multiplier + rounding) >> 16
