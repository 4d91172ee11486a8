/* Helpers shared by the windowed int8 kernels (conv, depthwise, pooling, mean).
 *
 * Padding is handled by clamping the filter-tap loops to the taps that land
 * inside the input (te_tap_range), never by a test per tap. Inner loops run
 * over TE_LANES contiguous bytes with a constant trip count: GCC vectorises
 * those even at -O2 (its "very cheap" cost model refuses loops whose trip
 * count is unknown), and they stay simple scalar loops on a Cortex-M.
 */
#ifndef TE_WINDOW_H
#define TE_WINDOW_H

#include <stdint.h>

#include "te_common.h"

#define TE_LANES 16

/* Filter taps k in [*first, *last) whose input coordinate origin + k * dilation
 * lies in [0, size). The range is empty (first == last) when none does. */
static inline void te_tap_range(int origin, int size, int taps, int dilation, int *first, int *last) {
  int lo = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
  int room = size - origin; /* taps need origin + k * dilation <= size - 1 */
  int hi = room <= 0 ? 0 : (room + dilation - 1) / dilation;
  *first = lo;
  *last = TE_MAX(TE_MIN(hi, taps), lo);
}

/* te_requantize for multiplier >= 0 (every conv-like multiplier is), in
 * fewer, branch-free steps with the same result:
 * - the doubling high multiply, (ab + nudge) / 2^31 truncated with a nudge of
 *   +2^30 or 1 - 2^30 by sign, rounds ab / 2^31 half up, so it is
 *   floor((ab + 2^30) / 2^31): one add and an arithmetic shift. Its one
 *   saturating case (both operands INT32_MIN) needs a negative multiplier.
 * - RoundingDivideByPOT(h, e) (ties away from zero) is
 *   floor((2h + 2^e - [h < 0]) / 2^(e + 1)): for e >= 1 the numerator is odd
 *   when h < 0, so this equals floor((h + 2^(e-1) - [h < 0]) / 2^e), which
 *   rounds a negative h up only past the half; for e == 0 it gives h.
 * Both in int64, so no add can overflow; the results fit in int32. */
static inline int32_t te_requantize_nonneg(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = left_shift - shift;
  const int64_t ab = (int64_t)(int32_t)((uint32_t)x << left_shift) * multiplier;
  const int64_t high = (ab + (1ll << 30)) >> 31;
  return (int32_t)((2 * high + (1ll << right_shift) - (high < 0)) >> (right_shift + 1));
}

/* The int8 output of an int32 accumulator: TFLM's requantisation, output
 * zero point, then the fused activation's clamp. multiplier >= 0. */
static inline int8_t te_output_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                  int32_t act_min, int32_t act_max) {
  return te_clamp_s8(te_requantize_nonneg(acc, multiplier, (int)shift) + output_offset, act_min, act_max);
}

#endif /* TE_WINDOW_H */
