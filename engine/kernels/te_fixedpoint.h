/* gemmlowp-style Q-format fixed point on int32, as TFLM's softmax uses it.
 *
 * A raw int32 `x` in format Qm (m integer bits, 31 - m fractional bits)
 * stands for x / 2^(31 - m). Multiplying a Qa by a Qb with
 * te_sat_rounding_doubling_high_mul gives a Q(a+b). Every function below
 * reproduces the corresponding gemmlowp function bit for bit, including its
 * rounding (half away from zero) and its saturation; constants are gemmlowp's
 * raw values. gemmlowp's plain `+`/`-` on raw values may wrap in theory; we
 * wrap explicitly through uint32 so the C stays free of undefined behaviour.
 */
#ifndef TE_FIXEDPOINT_H
#define TE_FIXEDPOINT_H

#include <stdint.h>

#include "te_common.h"

static inline int32_t te_fp_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t te_fp_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline int32_t te_fp_mul(int32_t a, int32_t b) { return te_sat_rounding_doubling_high_mul(a, b); }

/* Count of leading zero bits; 32 for zero. One CLZ instruction on Cortex-M3+. */
static inline int te_clz32(uint32_t x) {
  if (x == 0) return 32;
#if defined(__GNUC__)
  return __builtin_clz(x);
#else
  {
    int n = 0;
    while (!(x & 0x80000000u)) {
      x <<= 1;
      ++n;
    }
    return n;
  }
#endif
}

/* (a + b) / 2 rounded half away from zero, in 64 bits (gemmlowp RoundingHalfSum). */
static inline int32_t te_fp_rounding_half_sum(int32_t a, int32_t b) {
  int64_t sum = (int64_t)a + (int64_t)b;
  int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* x * 2^exponent: a saturating left shift for exponent > 0, a rounding right
 * shift for exponent < 0 (gemmlowp SaturatingRoundingMultiplyByPOT). */
static inline int32_t te_fp_mul_pot(int32_t x, int exponent) {
  if (exponent < 0) return te_rounding_divide_by_pot(x, -exponent);
  if (exponent == 0) return x;
  {
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
  }
}

/* Q0 value of 1.0 (not representable: gemmlowp uses the largest raw value). */
#define TE_FP_Q0_ONE INT32_MAX

/* exp(a) for a in [-1/4, 0), a and result in Q0.31: Taylor series around -1/8. */
static inline int32_t te_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;    /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883; /* 1/3 */
  const int32_t x = te_fp_add(a, 1 << 28);     /* a + 1/8 */
  const int32_t x2 = te_fp_mul(x, x);
  const int32_t x3 = te_fp_mul(x2, x);
  const int32_t x4 = te_fp_mul(x2, x2);
  const int32_t x4_over_4 = te_fp_mul_pot(x4, -2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
      te_fp_mul_pot(te_fp_add(te_fp_mul(te_fp_add(x4_over_4, x3), constant_1_over_3), x2), -1);
  return te_fp_add(constant_term, te_fp_mul(constant_term, te_fp_add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

/* exp(a) for a <= 0 given in Q(integer_bits); result in Q0.31.
 * exp(a) = exp(a mod 1/4 - 1/4) * prod exp(-2^k) over the set bits k of the
 * remainder (a "barrel shifter" of constant multipliers). */
static inline int32_t te_fp_exp_on_negative_values(int32_t a, int integer_bits) {
  static const int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = te_fp_sub(a & mask, one_quarter);
  int32_t result = te_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(
      te_fp_mul_pot(a_mod_quarter_minus_one_quarter, integer_bits));
  const int32_t remainder = te_fp_sub(a_mod_quarter_minus_one_quarter, a);
  int exponent;
  for (exponent = -2; exponent <= 4; ++exponent) {
    if (integer_bits > exponent && (remainder & ((int32_t)1 << (fractional_bits + exponent)))) {
      result = te_fp_mul(result, kMultipliers[exponent + 2]);
    }
  }
  if (integer_bits > 5) {
    /* Inputs below -32 underflow to zero. */
    const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
    if (a < clamp) result = 0;
  }
  if (a == 0) result = TE_FP_Q0_ONE;
  return result;
}

/* 1 / (1 + a) for a in [0, 1), a and result in Q0.31: three Newton-Raphson
 * steps on half the denominator, in Q2.29, from the 48/17 - 32/17 d guess. */
static inline int32_t te_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t half_denominator = te_fp_rounding_half_sum(a, TE_FP_Q0_ONE);
  const int32_t constant_48_over_17 = 1515870810;
  const int32_t constant_neg_32_over_17 = -1010580540;
  const int32_t q2_one = (int32_t)1 << 29;
  int32_t x = te_fp_add(constant_48_over_17, te_fp_mul(half_denominator, constant_neg_32_over_17));
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = te_fp_mul(half_denominator, x);
    const int32_t one_minus_half_denominator_times_x = te_fp_sub(q2_one, half_denominator_times_x);
    /* x (Q2) * (1 - d x) (Q2) is Q4; back to Q2 with a saturating shift. */
    x = te_fp_add(x, te_fp_mul_pot(te_fp_mul(x, one_minus_half_denominator_times_x), 2));
  }
  /* x / 2 read as Q1, then rescaled to Q0. */
  return te_fp_mul_pot(x, 1);
}

/* TFLM GetReciprocal: 1/x for x > 0 in Q(x_integer_digits), returned as a Q0
 * value scaled by 2^-num_bits_over_unit (so the result stays in [0.5, 1)). */
static inline int32_t te_fp_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
  const int headroom_plus_one = te_clz32((uint32_t)x);
  const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - (1u << 31));
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  return te_fp_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

/* a + b and a - b saturated to int32 (TFLite's SaturatingAddNonGemmlowp and SaturatingSub). */
static inline int32_t te_fp_sat_add(int32_t a, int32_t b) {
  const int64_t s = (int64_t)a + b;
  return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int32_t te_fp_sat_sub(int32_t a, int32_t b) {
  const int64_t d = (int64_t)a - b;
  return d > INT32_MAX ? INT32_MAX : (d < INT32_MIN ? INT32_MIN : (int32_t)d);
}

/* log(x) for x >= 1 in Q(input_integer_bits), result in Q(output_integer_bits), as TFLite's
 * log_x_for_x_greater_than_or_equal_to_1_impl: x = 2^z * r with r normalised twice (z_a from
 * x's leading zeros, z_b from x * sqrt(1/2)'s) and the pair kept whose r lies nearer 1; log(r)
 * from a rational approximation around 2^(-1/4), log(x) = z * log(2) + log(r), accumulated with
 * one extra integer bit. Constants are TFLite's raw Q0.31 values. */
static inline int32_t te_fp_log_x_ge_1(int32_t x, int input_integer_bits, int output_integer_bits) {
  const int accum_bits = output_integer_bits + 1;
  const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
  const int32_t one_quarter = 536870912;
  const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
  const int32_t shifted_quarter = te_fp_mul_pot(one_quarter, -accum_bits); /* Q0 -> Q(accum) */
  const int z_a_headroom_plus_1 = te_clz32((uint32_t)x);
  const int32_t r_a_tmp = te_fp_mul_pot(x, z_a_headroom_plus_1 - 1);
  const int32_t r_a_raw = te_fp_mul_pot(te_fp_mul(r_a_tmp, sqrt_half), 1);
  const int32_t z_a_pow_2_adj =
      te_fp_sat_add(te_fp_mul_pot(input_integer_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter);
  const int32_t z_b = te_fp_mul(x, sqrt_half);
  const int z_b_headroom = te_clz32((uint32_t)z_b) - 1;
  const int32_t r_b_raw = te_fp_mul_pot(x, z_b_headroom);
  const int32_t z_b_pow_2_adj =
      te_fp_sat_sub(te_fp_mul_pot(input_integer_bits - z_b_headroom, 31 - accum_bits), shifted_quarter);
  const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
  const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;
  const int32_t p = te_fp_rounding_half_sum(r, sqrt_sqrt_half);
  const int32_t q_half = te_fp_sub(r, sqrt_sqrt_half);
  const int32_t q = te_fp_add(q_half, q_half);
  const int32_t common_sq = te_fp_mul(q, q);
  const int32_t num = te_fp_add(te_fp_mul(q, r), te_fp_mul(te_fp_mul(q, common_sq), alpha_n));
  const int32_t denom_minus_one =
      te_fp_add(te_fp_mul(p, te_fp_add(te_fp_add(alpha_i, q), te_fp_mul(alpha_d, common_sq))), te_fp_mul(alpha_f, q));
  const int32_t recip_denom = te_fp_one_over_one_plus_x_for_x_in_0_1(denom_minus_one);
  const int32_t num_scaled = te_fp_mul_pot(num, -accum_bits); /* Q0 -> Q(accum) */
  const int32_t log_x = te_fp_add(te_fp_mul(z_pow_2_adj, log_2), te_fp_mul(num_scaled, recip_denom));
  return te_fp_mul_pot(log_x, accum_bits - output_integer_bits);
}

#endif /* TE_FIXEDPOINT_H */
