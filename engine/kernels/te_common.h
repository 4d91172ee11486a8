/* Integer arithmetic shared by every kernel: TFLM's requantisation, exactly.
 *
 * real_multiplier ~= quantized_multiplier * 2^(shift - 31), with
 * quantized_multiplier in [2^30, 2^31) (Q0.31) and shift in [-31, 30].
 * TFLM (without TFLITE_SINGLE_ROUNDING) applies the left shift, then a
 * rounding doubling high multiply, then a rounding right shift: two roundings.
 * We reproduce that order; a single-rounding version would differ by 1 LSB.
 */
#ifndef TE_COMMON_H
#define TE_COMMON_H

#include <stdint.h>

#define TE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TE_MAX(a, b) ((a) > (b) ? (a) : (b))

/* (a * b * 2) >> 32, rounded half away from zero as gemmlowp does; the only
 * overflowing input pair (INT32_MIN * INT32_MIN) saturates to INT32_MAX. */
static inline int32_t te_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
  /* C division truncates toward zero, matching gemmlowp's int64 division. */
  return (int32_t)((ab + nudge) / (1ll << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero (gemmlowp's
 * RoundingDivideByPOT). Relies on arithmetic right shift of negative values,
 * which GCC and Clang guarantee. */
static inline int32_t te_rounding_divide_by_pot(int32_t x, int exponent) {
  int32_t mask = (int32_t)((1ll << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's MultiplyByQuantizedMultiplier for int32 accumulators. The left shift
 * is done in 32 bits as TFLM does (x * (1 << left_shift)); TFLM's converter
 * never produces a left shift that overflows for in-range accumulators. */
static inline int32_t te_requantize(int32_t x, int32_t multiplier, int shift) {
  int left_shift = shift > 0 ? shift : 0;
  int right_shift = shift > 0 ? 0 : -shift;
  return te_rounding_divide_by_pot(
      te_sat_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier),
      right_shift);
}

static inline int8_t te_clamp_s8(int32_t x, int32_t lo, int32_t hi) {
  return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

#endif /* TE_COMMON_H */
