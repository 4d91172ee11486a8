/* int8 pooling; see te_pool.h for the contract. */
#include "te_pool.h"

#include "te_window.h"

/* Rounded division of TFLM's AveragePool; count > 0. */
static inline int32_t te_round_div(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/* Sums over rows x cols taps from the first tap x0, for n <= TE_LANES channels. */
static void te_window_sum(const int8_t *x0, int in_w, int channels, int rows, int cols, int n, int32_t *acc) {
  for (int j = 0; j < n; ++j) acc[j] = 0;
  for (int ky = 0; ky < rows; ++ky) {
    for (int kx = 0; kx < cols; ++kx) {
      const int8_t *x = x0 + (ky * in_w + kx) * channels;
      if (n == TE_LANES) {
        for (int j = 0; j < TE_LANES; ++j) acc[j] += x[j];
      } else {
        for (int j = 0; j < n; ++j) acc[j] += x[j];
      }
    }
  }
}

/* Maxima over rows x cols taps from the first tap x0, for n <= TE_LANES channels. */
static void te_window_max(const int8_t *x0, int in_w, int channels, int rows, int cols, int n, int8_t *best) {
  for (int j = 0; j < n; ++j) best[j] = INT8_MIN;
  for (int ky = 0; ky < rows; ++ky) {
    for (int kx = 0; kx < cols; ++kx) {
      const int8_t *x = x0 + (ky * in_w + kx) * channels;
      if (n == TE_LANES) {
        for (int j = 0; j < TE_LANES; ++j) best[j] = x[j] > best[j] ? x[j] : best[j];
      } else {
        for (int j = 0; j < n; ++j) best[j] = x[j] > best[j] ? x[j] : best[j];
      }
    }
  }
}

typedef enum { TE_POOL_AVERAGE, TE_POOL_MAX } te_pool_kind;

/* Both pools walk the same clipped windows; `kind` is a constant at both call sites, so the
 * compiler specialises this function for each (no per-window branch remains). */
static void te_pool_s8(te_pool_kind kind, const int8_t *input, int in_h, int in_w, int channels, int8_t *output,
                       int out_h, int out_w, int k_h, int k_w, int stride_h, int stride_w, int pad_top,
                       int pad_left, int32_t act_min, int32_t act_max) {
  for (int oy = 0; oy < out_h; ++oy) {
    const int iy0 = oy * stride_h - pad_top;
    int ky0, ky1;
    te_tap_range(iy0, in_h, k_h, 1, &ky0, &ky1);
    for (int ox = 0; ox < out_w; ++ox) {
      const int ix0 = ox * stride_w - pad_left;
      int kx0, kx1;
      te_tap_range(ix0, in_w, k_w, 1, &kx0, &kx1);
      /* TFLM fails AveragePool on an empty window; the lowering's geometry never makes one. */
      const int32_t count = TE_MAX((ky1 - ky0) * (kx1 - kx0), 1);
      /* The first tap inside the input (an empty window reads nothing). */
      const int8_t *x0 = ky1 > ky0 && kx1 > kx0 ? input + ((iy0 + ky0) * in_w + ix0 + kx0) * channels : input;
      int8_t *out = output + (oy * out_w + ox) * channels;
      for (int c0 = 0; c0 < channels; c0 += TE_LANES) {
        const int n = TE_MIN(TE_LANES, channels - c0);
        if (kind == TE_POOL_AVERAGE) {
          int32_t acc[TE_LANES];
          te_window_sum(x0 + c0, in_w, channels, ky1 - ky0, kx1 - kx0, n, acc);
          for (int j = 0; j < n; ++j) out[c0 + j] = te_clamp_s8(te_round_div(acc[j], count), act_min, act_max);
        } else {
          int8_t best[TE_LANES];
          te_window_max(x0 + c0, in_w, channels, ky1 - ky0, kx1 - kx0, n, best);
          for (int j = 0; j < n; ++j) out[c0 + j] = te_clamp_s8(best[j], act_min, act_max);
        }
      }
    }
  }
}

void te_avgpool_s8(const int8_t *input, int in_h, int in_w, int channels, int8_t *output, int out_h, int out_w,
                   int k_h, int k_w, int stride_h, int stride_w, int pad_top, int pad_left, int32_t act_min,
                   int32_t act_max) {
  te_pool_s8(TE_POOL_AVERAGE, input, in_h, in_w, channels, output, out_h, out_w, k_h, k_w, stride_h, stride_w,
             pad_top, pad_left, act_min, act_max);
}

void te_maxpool_s8(const int8_t *input, int in_h, int in_w, int channels, int8_t *output, int out_h, int out_w,
                   int k_h, int k_w, int stride_h, int stride_w, int pad_top, int pad_left, int32_t act_min,
                   int32_t act_max) {
  te_pool_s8(TE_POOL_MAX, input, in_h, in_w, channels, output, out_h, out_w, k_h, k_w, stride_h, stride_w,
             pad_top, pad_left, act_min, act_max);
}
