/* int8 convolutions; see te_conv.h for the arithmetic contract.
 *
 * Both kernels work on one output pixel and a block of TE_LANES output
 * channels at a time, accumulating in the outer-product form of
 * te_mac_depth_s8: each input byte is multiplied by a contiguous row of
 * weights (HWIO layout), so there are no per-output horizontal sums.
 */
#include "te_conv.h"

#include "te_window.h"

/* Geometry of one output pixel's receptive field. */
typedef struct {
  int iy0, ix0;   /* input coordinates of tap (0, 0); may be negative */
  int ky0, ky1;   /* filter rows inside the input: [ky0, ky1) */
  int kx0, kx1;   /* filter columns inside the input: [kx0, kx1) */
} te_conv_window;

/* acc (n channels from oc0) += the window's taps, each input byte plus offset. */
static void te_conv_block(const int8_t *input, int in_w, int in_c, const int8_t *filter, int k_w, int out_c,
                          int dilation_h, int dilation_w, const te_conv_window *win, int oc0, int n, int32_t offset,
                          int32_t *acc) {
  if (win->kx1 <= win->kx0) return; /* no tap inside the input */
  for (int ky = win->ky0; ky < win->ky1; ++ky) {
    const int iy = win->iy0 + ky * dilation_h;
    const int8_t *w_row = filter + (ky * k_w * in_c) * out_c + oc0;
    if (dilation_w == 1) {
      /* A row's taps are consecutive pixels and consecutive weight rows: one run. */
      const int8_t *x = input + (iy * in_w + win->ix0 + win->kx0) * in_c;
      te_mac_depth_s8(acc, x, w_row + win->kx0 * in_c * out_c, (win->kx1 - win->kx0) * in_c, out_c, n, offset);
      continue;
    }
    for (int kx = win->kx0; kx < win->kx1; ++kx) {
      const int8_t *x = input + (iy * in_w + win->ix0 + kx * dilation_w) * in_c;
      te_mac_depth_s8(acc, x, w_row + kx * in_c * out_c, in_c, out_c, n, offset);
    }
  }
}

void te_conv2d_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                  const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h, int out_w, int out_c,
                  int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left,
                  int32_t input_offset, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                  int32_t act_min, int32_t act_max) {
  te_conv_window win;
  for (int oy = 0; oy < out_h; ++oy) {
    win.iy0 = oy * stride_h - pad_top;
    te_tap_range(win.iy0, in_h, k_h, dilation_h, &win.ky0, &win.ky1);
    for (int ox = 0; ox < out_w; ++ox) {
      win.ix0 = ox * stride_w - pad_left;
      te_tap_range(win.ix0, in_w, k_w, dilation_w, &win.kx0, &win.kx1);
      const int whole = win.ky0 == 0 && win.ky1 == k_h && win.kx0 == 0 && win.kx1 == k_w;
      /* Folding needs every tap to read a real input byte (see te_conv.h). */
      const int folded = whole && bias_folded != 0;
      const int32_t *b = folded ? bias_folded : bias;
      const int32_t offset = folded ? 0 : input_offset;
      int8_t *out = output + (oy * out_w + ox) * out_c;
      for (int oc0 = 0; oc0 < out_c; oc0 += TE_LANES) {
        const int n = TE_MIN(TE_LANES, out_c - oc0);
        int32_t acc[TE_LANES];
        for (int j = 0; j < n; ++j) acc[j] = b[oc0 + j];
        te_conv_block(input, in_w, in_c, filter, k_w, out_c, dilation_h, dilation_w, &win, oc0, n, offset, acc);
        for (int j = 0; j < n; ++j) {
          const int oc = oc0 + j;
          out[oc] = te_output_s8(acc[j], multiplier[oc], shift[oc], output_offset, act_min, act_max);
        }
      }
    }
  }
}

void te_conv1x1_s8(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *bias_folded,
                   int8_t *output, int out_c, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                   int quant_stride, int32_t act_min, int32_t act_max) {
  for (int p = 0; p < pixels; ++p) {
    const int8_t *x = input + p * in_c;
    int8_t *out = output + p * out_c;
    for (int oc0 = 0; oc0 < out_c; oc0 += TE_LANES) {
      const int n = TE_MIN(TE_LANES, out_c - oc0);
      int32_t acc[TE_LANES];
      for (int j = 0; j < n; ++j) acc[j] = bias_folded[oc0 + j];
      te_mac_depth_s8(acc, x, filter + oc0, in_c, out_c, n, 0);
      for (int j = 0; j < n; ++j) {
        const int q = (oc0 + j) * quant_stride;
        out[oc0 + j] = te_output_s8(acc[j], multiplier[q], shift[q], output_offset, act_min, act_max);
      }
    }
  }
}

/* sum(a[i] * b[i]) over n bytes, in TE_LANES partial sums (vectorisable at -O2).
 * |a * b| <= 2^14, so the int32 sums are exact for the lowering's depths. */
static int32_t te_dot_s8(const int8_t *a, const int8_t *b, int n) {
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

void te_fc_s8(const int8_t *input, int rows, int depth, const int8_t *filter, const int32_t *bias_folded,
              int8_t *output, int out_c, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
              int quant_stride, int32_t act_min, int32_t act_max) {
  for (int r = 0; r < rows; ++r) {
    const int8_t *x = input + r * depth;
    for (int oc = 0; oc < out_c; ++oc) {
      const int32_t acc = bias_folded[oc] + te_dot_s8(x, filter + oc * depth, depth);
      const int q = oc * quant_stride;
      output[r * out_c + oc] = te_output_s8(acc, multiplier[q], shift[q], output_offset, act_min, act_max);
    }
  }
}
