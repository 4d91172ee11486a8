"""gemmlowp fixed-point arithmetic and TFLM's integer requantisation in numpy.

Used at compile time to tabulate int8 -> int8 pointwise ops: TFLM evaluates
LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU and int8 QUANTIZE with integer
arithmetic on one int8 input, so running that same arithmetic over all 256
inputs gives a table that is exactly TFLM's function (tests check all 256
entries against the TFLM runtime).

Values are int64 arrays holding int32 (or int16) quantities; every helper
reproduces the C++ semantics of its namesake, including truncating division,
saturation, and the wrap-around of the 16-bit types where TFLM has it.
"""

from __future__ import annotations

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def wrap(x, bits: int = 32) -> np.ndarray:
    """Two's complement wrap-around of `x` to a signed `bits`-bit integer."""
    half = 1 << (bits - 1)
    return ((_i64(x) + half) % (1 << bits)) - half


def _trunc_div(x: np.ndarray, d: int) -> np.ndarray:
    """C integer division (rounds toward zero)."""
    return np.sign(x) * (np.abs(x) // d)


def srdhm(a, b, bits: int = 32) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul: round(a * b / 2^(bits-1)), saturating min*min."""
    a, b = np.broadcast_arrays(_i64(a), _i64(b))
    lo = -(1 << (bits - 1))
    ab = a * b
    nudge = np.where(ab >= 0, 1 << (bits - 2), 1 - (1 << (bits - 2)))
    out = _trunc_div(ab + nudge, 1 << (bits - 1))
    return np.where((a == lo) & (b == lo), -lo - 1, out)


def doubling_high_mul_16(a, b) -> np.ndarray:
    """TFLite's SaturatingDoublingHighMul on int16: a * b / 2^15 truncated, saturating."""
    a, b = np.broadcast_arrays(_i64(a), _i64(b))
    out = _trunc_div(a * b, 1 << 15)
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, out)


def rdbpot(x, exponent: int, bits: int = 32) -> np.ndarray:
    """RoundingDivideByPOT: x / 2^exponent rounded half away from zero.

    For 16-bit raw types gemmlowp builds the mask in the narrow type, so an
    exponent of 16 or more wraps the mask; `bits` reproduces that.
    """
    x = _i64(x)
    mask = int(wrap((1 << exponent) - 1, bits))
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def mul_pot(x, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT on int32 (saturating left / rounding right)."""
    x = _i64(x)
    if exponent < 0:
        return rdbpot(x, -exponent)
    if exponent == 0:
        return x
    threshold = (1 << (31 - exponent)) - 1
    return np.where(
        x > threshold,
        INT32_MAX,
        np.where(x < -threshold, INT32_MIN, wrap(x << exponent)),
    )


def multiply_by_quantized_multiplier(x, multiplier: int, shift: int) -> np.ndarray:
    """TFLM's MultiplyByQuantizedMultiplier (double rounding, 32-bit left shift)."""
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap(_i64(x) << left), multiplier), right)


def rounding_half_sum(a, b) -> np.ndarray:
    s = _i64(a) + _i64(b)
    return _trunc_div(s + np.where(s >= 0, 1, -1), 2)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series around -1/8)."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap(_i64(a) + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(wrap(srdhm(wrap(x4_over_4 + x3), one_third) + x2), 1)
    return wrap(constant_term + srdhm(constant_term, wrap(x + poly)))


_EXP_BARREL = (
    (-2, 1672461947),
    (-1, 1302514674),
    (0, 790015084),
    (1, 290630308),
    (2, 39332535),
    (3, 720401),
    (4, 242),
)


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 in Q(integer_bits); result in Q0.31."""
    a = _i64(a)
    frac = 31 - integer_bits
    quarter = 1 << (frac - 2)
    a_mod = wrap((a & (quarter - 1)) - quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        mul_pot(a_mod, integer_bits)
    )
    remainder = wrap(a_mod - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = (remainder & (1 << (frac + exponent))) != 0
            result = np.where(bit, srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _newton_reciprocal_q2(a) -> np.ndarray:
    """x ~ 1 / ((1 + a) / 2) in Q2.29 for a in [0, 1) Q0.31, as gemmlowp iterates it."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = wrap(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = wrap((1 << 29) - srdhm(half_denominator, x))
        x = wrap(x + mul_pot(srdhm(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    return mul_pot(_newton_reciprocal_q2(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    return mul_pot(wrap(_newton_reciprocal_q2(a) - (1 << 29)), 2)


def logistic(a, integer_bits: int) -> np.ndarray:
    """gemmlowp::logistic of a Q(integer_bits) value; Q0.31 result."""
    a = _i64(a)
    positive = a > 0
    abs_a = np.where(positive, a, wrap(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(wrap(-abs_a), integer_bits)
    )
    if_negative = wrap(INT32_MAX - if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def tanh(a, integer_bits: int) -> np.ndarray:
    """gemmlowp::tanh of a Q(integer_bits) value; Q0.31 result."""
    a = _i64(a)
    negative = a < 0
    n = np.where(negative, a, wrap(-a))
    # exp(2n): the same raw value read with one more integer bit.
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(n, integer_bits + 1)
    )
    return np.where(a == 0, 0, np.where(negative, wrap(-t), t))
