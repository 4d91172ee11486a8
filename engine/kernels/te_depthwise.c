/* int8 depthwise convolutions; see te_depthwise.h for the contract. */
#include "te_depthwise.h"

#include "te_window.h"

/* Geometry of one output pixel's window, shared by the block helpers. */
typedef struct {
  const int8_t *input;
  const int8_t *filter;
  int in_w, in_c, out_c, k_w, dilation_h, dilation_w, depth_multiplier;
  int iy0, ix0, ky0, ky1, kx0, kx1;
} te_dw_window;

/* acc[j] += sum over the window's taps of (x + offset) * w for the n <= TE_LANES
 * output channels starting at c0. offset is 0 where the bias was folded. */
static void te_dw_block(const te_dw_window *win, int c0, int n, int32_t offset, int32_t *acc) {
  const int dm = win->depth_multiplier;
  for (int ky = win->ky0; ky < win->ky1; ++ky) {
    const int iy = win->iy0 + ky * win->dilation_h;
    for (int kx = win->kx0; kx < win->kx1; ++kx) {
      const int ix = win->ix0 + kx * win->dilation_w;
      const int8_t *x = win->input + (iy * win->in_w + ix) * win->in_c;
      const int8_t *w = win->filter + (ky * win->k_w + kx) * win->out_c + c0;
      if (dm == 1) {
        /* Two call sites so the folded one (offset 0) compiles without the add. */
        if (offset == 0) {
          te_mac_lanes_s8(acc, x + c0, w, n, 0);
        } else {
          te_mac_lanes_s8(acc, x + c0, w, n, offset);
        }
      } else {
        for (int j = 0; j < n; ++j) acc[j] += (x[(c0 + j) / dm] + offset) * w[j];
      }
    }
  }
}

void te_depthwise_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                     int depth_multiplier, const int32_t *bias, const int32_t *bias_folded, int8_t *output,
                     int out_h, int out_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                     int pad_left, int32_t input_offset, int32_t output_offset, const int32_t *multiplier,
                     const int32_t *shift, int32_t act_min, int32_t act_max) {
  const int out_c = in_c * depth_multiplier;
  te_dw_window win = {input, filter, in_w, in_c, out_c, k_w, dilation_h, dilation_w, depth_multiplier,
                      0, 0, 0, 0, 0, 0};
  for (int oy = 0; oy < out_h; ++oy) {
    win.iy0 = oy * stride_h - pad_top;
    te_tap_range(win.iy0, in_h, k_h, dilation_h, &win.ky0, &win.ky1);
    for (int ox = 0; ox < out_w; ++ox) {
      win.ix0 = ox * stride_w - pad_left;
      te_tap_range(win.ix0, in_w, k_w, dilation_w, &win.kx0, &win.kx1);
      const int whole = win.ky0 == 0 && win.ky1 == k_h && win.kx0 == 0 && win.kx1 == k_w;
      const int folded = whole && bias_folded != 0;
      const int32_t *b = folded ? bias_folded : bias;
      int8_t *out = output + (oy * out_w + ox) * out_c;
      for (int c0 = 0; c0 < out_c; c0 += TE_LANES) {
        const int n = TE_MIN(TE_LANES, out_c - c0);
        int32_t acc[TE_LANES];
        if (n == TE_LANES) {
          for (int j = 0; j < TE_LANES; ++j) acc[j] = b[c0 + j];
        } else {
          for (int j = 0; j < n; ++j) acc[j] = b[c0 + j];
        }
        te_dw_block(&win, c0, n, folded ? 0 : input_offset, acc);
        for (int j = 0; j < n; ++j) {
          out[c0 + j] = te_output_s8(acc[j], multiplier[c0 + j], shift[c0 + j], output_offset, act_min, act_max);
        }
      }
    }
  }
}

/* One channel's output plane into `plane` (out_h * out_w bytes). */
static void te_dw_channel_plane(const te_dw_window *geometry, int c, int in_h, int k_h, int out_h, int out_w,
                                int stride_h, int stride_w, int pad_top, int pad_left, const int32_t *bias,
                                const int32_t *bias_folded, int32_t input_offset, int32_t output_offset,
                                int32_t multiplier, int32_t shift, int32_t act_min, int32_t act_max, int8_t *plane) {
  te_dw_window win = *geometry;
  const int channels = win.in_c;
  for (int oy = 0; oy < out_h; ++oy) {
    win.iy0 = oy * stride_h - pad_top;
    te_tap_range(win.iy0, in_h, k_h, win.dilation_h, &win.ky0, &win.ky1);
    for (int ox = 0; ox < out_w; ++ox) {
      win.ix0 = ox * stride_w - pad_left;
      te_tap_range(win.ix0, geometry->in_w, win.k_w, win.dilation_w, &win.kx0, &win.kx1);
      const int whole = win.ky0 == 0 && win.ky1 == k_h && win.kx0 == 0 && win.kx1 == win.k_w;
      const int folded = whole && bias_folded != 0;
      const int32_t offset = folded ? 0 : input_offset;
      int32_t acc = folded ? bias_folded[c] : bias[c];
      for (int ky = win.ky0; ky < win.ky1; ++ky) {
        const int iy = win.iy0 + ky * win.dilation_h;
        for (int kx = win.kx0; kx < win.kx1; ++kx) {
          const int ix = win.ix0 + kx * win.dilation_w;
          acc += (win.input[(iy * win.in_w + ix) * channels + c] + offset) * win.filter[(ky * win.k_w + kx) * channels + c];
        }
      }
      plane[oy * out_w + ox] = te_output_s8(acc, multiplier, shift, output_offset, act_min, act_max);
    }
  }
}

void te_depthwise_inplace_s8(const int8_t *input, int in_h, int in_w, int channels, const int8_t *filter, int k_h,
                             int k_w, const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h,
                             int out_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                             int pad_left, int32_t input_offset, int32_t output_offset, const int32_t *multiplier,
                             const int32_t *shift, int32_t act_min, int32_t act_max, int8_t *scratch) {
  const te_dw_window geometry = {input, filter, in_w, channels, channels, k_w, dilation_h, dilation_w, 1,
                                 0, 0, 0, 0, 0, 0};
  const int pixels = out_h * out_w;
  for (int c = 0; c < channels; ++c) {
    te_dw_channel_plane(&geometry, c, in_h, k_h, out_h, out_w, stride_h, stride_w, pad_top, pad_left, bias,
                        bias_folded, input_offset, output_offset, multiplier[c], shift[c], act_min, act_max,
                        scratch);
    /* Input channel c is consumed: its bytes (index mod C == c) take the output. */
    for (int p = 0; p < pixels; ++p) output[p * channels + c] = scratch[p];
  }
}
