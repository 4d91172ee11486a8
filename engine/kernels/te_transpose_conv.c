/* int8 TRANSPOSE_CONV; see te_transpose_conv.h for the contract. */
#include "te_transpose_conv.h"

#include "te_common.h"

/* First and one-past-last filter tap k with 0 <= origin + k < size. */
static void te_taps_inside(int origin, int size, int k_size, int *k0, int *k1) {
  *k0 = origin < 0 ? -origin : 0;
  *k1 = size - origin < k_size ? size - origin : k_size;
  if (*k1 < *k0) *k1 = *k0;
}

void te_transpose_conv_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                          const int32_t *bias, int8_t *output, int out_h, int out_w, int out_c, int stride_h,
                          int stride_w, int pad_top, int pad_left, int32_t input_offset, int32_t output_offset,
                          const int32_t *multipliers, const int32_t *shifts, int32_t act_min, int32_t act_max,
                          void *scratch) {
  int32_t *acc = (int32_t *)scratch;
  const int outputs = out_h * out_w * out_c;
  const int filter_stride = k_h * k_w * in_c; /* from output channel o to o + 1 */
  for (int i = 0; i < outputs; ++i) acc[i] = 0;
  for (int iy = 0; iy < in_h; ++iy) {
    const int oy0 = iy * stride_h - pad_top;
    int ky0, ky1;
    te_taps_inside(oy0, out_h, k_h, &ky0, &ky1);
    for (int ix = 0; ix < in_w; ++ix) {
      const int ox0 = ix * stride_w - pad_left;
      int kx0, kx1;
      te_taps_inside(ox0, out_w, k_w, &kx0, &kx1);
      const int8_t *x = input + (iy * in_w + ix) * in_c;
      for (int ky = ky0; ky < ky1; ++ky) {
        for (int kx = kx0; kx < kx1; ++kx) {
          int32_t *a = acc + ((oy0 + ky) * out_w + ox0 + kx) * out_c;
          const int8_t *w = filter + (ky * k_w + kx) * in_c;
          for (int o = 0; o < out_c; ++o, w += filter_stride) {
            int32_t sum = 0;
            for (int c = 0; c < in_c; ++c) sum += (x[c] + input_offset) * w[c];
            a[o] += sum;
          }
        }
      }
    }
  }
  for (int p = 0; p < out_h * out_w; ++p) {
    for (int o = 0; o < out_c; ++o) {
      const int32_t total = acc[p * out_c + o] + (bias ? bias[o] : 0);
      output[p * out_c + o] =
          te_clamp_s8(te_requantize(total, multipliers[o], shifts[o]) + output_offset, act_min, act_max);
    }
  }
}
