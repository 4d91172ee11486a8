/* int8 convolutions; see te_conv.h for the arithmetic contract.
 *
 * All three kernels are dot products in the same shape: per output pixel, the
 * receptive field is widened once into an int16 column on the stack (im2col:
 * x + input_offset, 0 for taps outside the input and for the padding up to a
 * multiple of TE_DEPTH_ALIGN), then each output channel is the dot product of
 * that column with its filter row (OHWI, rows padded alike), four rows at a
 * time (te_dot4).
 *
 * Why this form: summing int16 * int16 products into int32 is the pattern GCC
 * 12 at -O2 turns into pmaddwd on x86-64 (8 products and their pairwise sums
 * per instruction, no widening of the products; checked in the assembly). It
 * needs the column in int16 (an int8 * int8 product is not matched) and a
 * trip count the compiler knows to be a multiple of the vector width, as
 * -O2's "very cheap" vectoriser refuses loops that need an epilogue: hence
 * the zero padding. No -O3 or per-function attributes are needed.
 */
#include "te_conv.h"

#include "te_window.h"

/* Column elements kept on the stack (2 bytes each). Deeper receptive fields
 * are processed in chunks of this size, refilled per block of TE_LANES output
 * channels. A multiple of TE_DEPTH_ALIGN. */
#define TE_COL 512

/* acc[o] += sum over i < len of col[i] * w[o * w_stride + i], for o < 4.
 * len is a multiple of TE_DEPTH_ALIGN; masking it says so to the compiler.
 * |col| <= 255 and |w| <= 128: every product and pairwise sum fits in int32,
 * and the lowering bounds bias + the whole sum (check_accumulator), so no
 * partial sum overflows either. */
static inline void te_dot4(const int16_t *col, const int8_t *w, int w_stride, int len, int32_t *acc) {
  const int8_t *w1 = w + w_stride, *w2 = w1 + w_stride, *w3 = w2 + w_stride;
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  len &= -TE_DEPTH_ALIGN;
  for (int i = 0; i < len; ++i) {
    s0 += col[i] * w[i];
    s1 += col[i] * w1[i];
    s2 += col[i] * w2[i];
    s3 += col[i] * w3[i];
  }
  acc[0] += s0;
  acc[1] += s1;
  acc[2] += s2;
  acc[3] += s3;
}

/* te_dot4 for one filter row. */
static inline int32_t te_dot1(const int16_t *col, const int8_t *w, int len) {
  int32_t s = 0;
  len &= -TE_DEPTH_ALIGN;
  for (int i = 0; i < len; ++i) s += col[i] * w[i];
  return s;
}

/* acc[j] += column . filter row (oc0 + j) over [e0, e0 + len), j < n. */
static void te_dot_rows(const int16_t *col, const int8_t *filter, int depth_p, int oc0, int n, int e0, int len,
                        int32_t *acc) {
  const int8_t *w = filter + oc0 * depth_p + e0;
  int j = 0;
  for (; j + 4 <= n; j += 4) te_dot4(col, w + j * depth_p, depth_p, len, acc + j);
  for (; j < n; ++j) acc[j] += te_dot1(col, w + j * depth_p, len);
}

/* col[j] = x[j] + offset for j < n: whole blocks first (vectorised; restrict:
 * without it the int16 stores might alias the int8 input), then the rest. */
static inline void te_widen(int16_t *restrict col, const int8_t *restrict x, int n, int32_t offset) {
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    for (int t = 0; t < 16; ++t) col[j + t] = (int16_t)(x[j + t] + offset);
  }
  for (; j < n; ++j) col[j] = (int16_t)(x[j] + offset);
}

static inline void te_zero16(int16_t *col, int n) {
  for (int j = 0; j < n; ++j) col[j] = 0;
}

/* The receptive field of one output pixel, in (ky, kx, c) order. */
typedef struct {
  const int8_t *input;
  int in_h, in_w, in_c, k_h, k_w, dilation_h, dilation_w;
  int iy0, ix0;    /* input coordinates of tap (0, 0); may be negative */
  int32_t offset;  /* added to every input byte */
} te_conv_field;

/* The part [e0, e1) of a run of n column elements starting at element e: x
 * (the run's input bytes, NULL for padding taps) plus offset, or zeros. */
static void te_im2col_run(const te_conv_field *f, const int8_t *x, int e, int n, int e0, int e1, int16_t *col) {
  const int lo = TE_MAX(e, e0), hi = TE_MIN(e + n, e1);
  if (lo >= hi) return;
  if (x != 0) {
    te_widen(col + (lo - e0), x + (lo - e), hi - lo, f->offset);
  } else {
    te_zero16(col + (lo - e0), hi - lo);
  }
}

/* col[e - e0] for window elements e in [e0, e1): the input byte plus offset
 * where the tap is inside the input, 0 outside it and past the window. Taps
 * are walked row by row; with dilation_w == 1 a row's taps inside the input
 * are one contiguous run of input bytes (one widen, not one per tap). */
static void te_im2col(const te_conv_field *f, int e0, int e1, int16_t *col) {
  const int row = f->k_w * f->in_c, depth = f->k_h * row;
  int kx0, kx1;
  te_tap_range(f->ix0, f->in_w, f->k_w, f->dilation_w, &kx0, &kx1);
  for (int ky = 0, e = 0; ky < f->k_h && e < e1; ++ky, e += row) {
    const int iy = f->iy0 + ky * f->dilation_h;
    if (e + row <= e0) continue;
    if (iy < 0 || iy >= f->in_h || kx0 >= kx1) {
      te_im2col_run(f, 0, e, row, e0, e1, col);
      continue;
    }
    const int8_t *x = f->input + (iy * f->in_w + f->ix0 + kx0 * f->dilation_w) * f->in_c;
    te_im2col_run(f, 0, e, kx0 * f->in_c, e0, e1, col); /* taps left of the input */
    if (f->dilation_w == 1) {
      te_im2col_run(f, x, e + kx0 * f->in_c, (kx1 - kx0) * f->in_c, e0, e1, col);
    } else {
      for (int kx = kx0; kx < kx1; ++kx) {
        te_im2col_run(f, x + (kx - kx0) * f->dilation_w * f->in_c, e + kx * f->in_c, f->in_c, e0, e1, col);
      }
    }
    te_im2col_run(f, 0, e + kx1 * f->in_c, (f->k_w - kx1) * f->in_c, e0, e1, col); /* right of it */
  }
  if (depth < e1) te_im2col_run(f, 0, depth, e1 - depth, e0, e1, col); /* the rows' padding */
}

/* The int8 outputs of channels [oc0, oc0 + n) from their accumulators. */
static void te_store(const int32_t *acc, int oc0, int n, const int32_t *multiplier, const int32_t *shift,
                     int quant_stride, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out) {
  for (int j = 0; j < n; ++j) {
    const int q = (oc0 + j) * quant_stride;
    out[oc0 + j] = te_output_s8(acc[j], multiplier[q], shift[q], output_offset, act_min, act_max);
  }
}

/* One output pixel: every output channel from a field of depth_p (padded)
 * elements. bias[oc] starts each sum. */
static void te_conv_pixel(const te_conv_field *f, int depth_p, const int8_t *filter, const int32_t *bias,
                          int out_c, const int32_t *multiplier, const int32_t *shift, int quant_stride,
                          int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out) {
  int16_t col[TE_COL];
  const int whole = depth_p <= TE_COL; /* one chunk: fill once for all channels */
  if (whole) te_im2col(f, 0, depth_p, col);
  for (int oc0 = 0; oc0 < out_c; oc0 += TE_LANES) {
    const int n = TE_MIN(TE_LANES, out_c - oc0);
    int32_t acc[TE_LANES];
    for (int j = 0; j < n; ++j) acc[j] = bias[oc0 + j];
    for (int e0 = 0; e0 < depth_p; e0 += TE_COL) {
      const int len = TE_MIN(TE_COL, depth_p - e0);
      if (!whole) te_im2col(f, e0, e0 + len, col);
      te_dot_rows(col, filter, depth_p, oc0, n, e0, len, acc);
    }
    te_store(acc, oc0, n, multiplier, shift, quant_stride, output_offset, act_min, act_max, out);
  }
}

static int te_depth_padded(int depth) {
  return (depth + TE_DEPTH_ALIGN - 1) / TE_DEPTH_ALIGN * TE_DEPTH_ALIGN;
}

void te_conv2d_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                  const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h, int out_w, int out_c,
                  int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left,
                  int32_t input_offset, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                  int32_t act_min, int32_t act_max) {
  te_conv_field f = {input, in_h, in_w, in_c, k_h, k_w, dilation_h, dilation_w, 0, 0, 0};
  const int depth_p = te_depth_padded(k_h * k_w * in_c);
  for (int oy = 0; oy < out_h; ++oy) {
    f.iy0 = oy * stride_h - pad_top;
    int ky0, ky1;
    te_tap_range(f.iy0, in_h, k_h, dilation_h, &ky0, &ky1);
    for (int ox = 0; ox < out_w; ++ox) {
      f.ix0 = ox * stride_w - pad_left;
      int kx0, kx1;
      te_tap_range(f.ix0, in_w, k_w, dilation_w, &kx0, &kx1);
      /* Folding needs every tap to read a real input byte (see te_conv.h). */
      const int folded = bias_folded != 0 && ky0 == 0 && ky1 == k_h && kx0 == 0 && kx1 == k_w;
      f.offset = folded ? 0 : input_offset;
      te_conv_pixel(&f, depth_p, filter, folded ? bias_folded : bias, out_c, multiplier, shift, 1, output_offset,
                    act_min, act_max, output + (oy * out_w + ox) * out_c);
    }
  }
}

void te_conv1x1_s8(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *bias_folded,
                   int8_t *output, int out_c, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                   int quant_stride, int32_t act_min, int32_t act_max) {
  /* A pixel's field is its in_c bytes: a 1x1 window, always inside. */
  te_conv_field f = {input, pixels, 1, in_c, 1, 1, 1, 1, 0, 0, 0};
  const int depth_p = te_depth_padded(in_c);
  for (int p = 0; p < pixels; ++p) {
    f.iy0 = p;
    te_conv_pixel(&f, depth_p, filter, bias_folded, out_c, multiplier, shift, quant_stride, output_offset, act_min,
                  act_max, output + p * out_c);
  }
}

void te_fc_s8(const int8_t *input, int rows, int depth, const int8_t *filter, const int32_t *bias_folded,
              int8_t *output, int out_c, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
              int quant_stride, int32_t act_min, int32_t act_max) {
  /* FULLY_CONNECTED is the 1x1 convolution of `rows` pixels of `depth` bytes. */
  te_conv1x1_s8(input, rows, depth, filter, bias_folded, output, out_c, output_offset, multiplier, shift,
                quant_stride, act_min, act_max);
}
