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

/* sum(a[i] * b[i]) over n bytes. |a * b| <= 128 * 128, so an int32 sum is
 * exact for n < 2^17; callers' lowerings check their accumulation depth. */
static inline int32_t te_dot_s8(const int8_t *a, const int8_t *b, int n) {
  int32_t part[TE_LANES] = {0};
  int i = 0;
  for (; i + TE_LANES <= n; i += TE_LANES) {
    for (int j = 0; j < TE_LANES; ++j) part[j] += a[i + j] * b[i + j];
  }
  int32_t acc = 0;
  for (int j = 0; j < TE_LANES; ++j) acc += part[j];
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

/* sum((a[i] + offset) * b[i]): TFLM's accumulation with the input offset
 * (-zero_point, in [-127, 128]) added to every input byte. */
static inline int32_t te_dot_offset_s8(const int8_t *a, const int8_t *b, int n, int32_t offset) {
  int32_t part[TE_LANES] = {0};
  int i = 0;
  for (; i + TE_LANES <= n; i += TE_LANES) {
    for (int j = 0; j < TE_LANES; ++j) part[j] += (a[i + j] + offset) * b[i + j];
  }
  int32_t acc = 0;
  for (int j = 0; j < TE_LANES; ++j) acc += part[j];
  for (; i < n; ++i) acc += (a[i] + offset) * b[i];
  return acc;
}

/* acc[j] += (x[j] + offset) * w[j] for j < n, n <= TE_LANES: one filter tap
 * of a depthwise convolution over a block of channels. */
static inline void te_mac_lanes_s8(int32_t *acc, const int8_t *x, const int8_t *w, int n, int32_t offset) {
  if (n == TE_LANES) {
    for (int j = 0; j < TE_LANES; ++j) acc[j] += (x[j] + offset) * w[j];
  } else {
    for (int j = 0; j < n; ++j) acc[j] += (x[j] + offset) * w[j];
  }
}

/* The int8 output of an int32 accumulator: TFLM's requantisation, output
 * zero point, then the fused activation's clamp. */
static inline int8_t te_output_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                  int32_t act_min, int32_t act_max) {
  return te_clamp_s8(te_requantize(acc, multiplier, (int)shift) + output_offset, act_min, act_max);
}

#endif /* TE_WINDOW_H */
