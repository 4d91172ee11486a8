/* int8 convolutions; see te_conv.h for the arithmetic contract. */
#include "te_conv.h"

#include "te_window.h"

/* The accumulator of one output pixel and channel over the taps
 * [ky0, ky1) x [kx0, kx1) whose top-left input pixel is (iy0, ix0). With
 * offset_taps, each input byte gets input_offset added (TFLM's form, used
 * where the window is clipped); otherwise the bias was folded. */
typedef struct {
  const int8_t *input;
  int in_w, in_c, k_w, dilation_h, dilation_w;
  int iy0, ix0, ky0, ky1, kx0, kx1;
} te_window;

static int32_t te_window_dot(const te_window *win, const int8_t *filter_oc, int offset_taps, int32_t input_offset) {
  int32_t acc = 0;
  const int in_c = win->in_c;
  if (win->kx1 <= win->kx0) return 0; /* no tap inside the input */
  for (int ky = win->ky0; ky < win->ky1; ++ky) {
    const int iy = win->iy0 + ky * win->dilation_h;
    const int8_t *w_row = filter_oc + ky * win->k_w * in_c;
    if (win->dilation_w == 1) {
      /* Consecutive taps of a row are consecutive pixels: one long dot. */
      const int8_t *x = win->input + (iy * win->in_w + win->ix0 + win->kx0) * in_c;
      const int n = (win->kx1 - win->kx0) * in_c;
      acc += offset_taps ? te_dot_offset_s8(x, w_row + win->kx0 * in_c, n, input_offset)
                         : te_dot_s8(x, w_row + win->kx0 * in_c, n);
      continue;
    }
    for (int kx = win->kx0; kx < win->kx1; ++kx) {
      const int8_t *x = win->input + (iy * win->in_w + win->ix0 + kx * win->dilation_w) * in_c;
      acc += offset_taps ? te_dot_offset_s8(x, w_row + kx * in_c, in_c, input_offset)
                         : te_dot_s8(x, w_row + kx * in_c, in_c);
    }
  }
  return acc;
}

void te_conv2d_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                  const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h, int out_w, int out_c,
                  int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left,
                  int32_t input_offset, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                  int32_t act_min, int32_t act_max) {
  const int filter_size = k_h * k_w * in_c;
  te_window win = {input, in_w, in_c, k_w, dilation_h, dilation_w, 0, 0, 0, 0, 0, 0};
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
      int8_t *out = output + (oy * out_w + ox) * out_c;
      for (int oc = 0; oc < out_c; ++oc) {
        const int32_t acc = b[oc] + te_window_dot(&win, filter + oc * filter_size, !folded, input_offset);
        out[oc] = te_output_s8(acc, multiplier[oc], shift[oc], output_offset, act_min, act_max);
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
    for (int oc = 0; oc < out_c; ++oc) {
      const int32_t acc = bias_folded[oc] + te_dot_s8(x, filter + oc * in_c, in_c);
      const int q = oc * quant_stride;
      out[oc] = te_output_s8(acc, multiplier[q], shift[q], output_offset, act_min, act_max);
    }
  }
}
