/* int8 depthwise convolutions; see te_depthwise.h for the contract.
 *
 * Both kernels compute one output pixel for a block of channels at a time
 * (te_dw_pixel): the accumulators of the block stay in vector registers over
 * all filter taps, and each tap is one multiply-add across the block. The
 * in-place kernel runs that over groups of channels, pixel by pixel, through a
 * small ring of pixels in the scratch (te_dw_group_inplace).
 */
#include "te_depthwise.h"

#include <string.h>

#include "te_window.h"

/* Everything about the op but the buffers' current use. */
typedef struct {
  const int8_t *input;
  const int8_t *filter;
  const int32_t *bias, *bias_folded, *multiplier, *shift;
  int in_h, in_w, in_c, out_c, k_h, k_w, depth_multiplier, out_h, out_w;
  int stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
} te_dw_params;

/* acc[j] += sum over rows x cols taps of (x[j] + offset) * w[j] for
 * j < lanes (depth multiplier 1). Called with a constant `lanes` so that, once
 * inlined, the inner loop has a fixed trip count (vectorised at -O2) and the
 * accumulators stay in registers across the taps. |x + offset| <= 255 and
 * |w| <= 128, so each product fits in int16: the cast lets the compiler
 * multiply 8 lanes per instruction before widening to the int32 sums. */
static inline void te_dw_taps(const te_dw_params *p, const int8_t *x0, const int8_t *w0, int rows, int cols,
                              int lanes, int32_t offset, int32_t *acc) {
  int32_t a[TE_LANES];
  for (int j = 0; j < lanes; ++j) a[j] = acc[j];
  for (int ky = 0; ky < rows; ++ky) {
    for (int kx = 0; kx < cols; ++kx) {
      const int8_t *x = x0 + (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * p->in_c;
      const int8_t *w = w0 + (ky * p->k_w + kx) * p->out_c;
      for (int j = 0; j < lanes; ++j) a[j] += (int16_t)((int16_t)(x[j] + offset) * w[j]);
    }
  }
  for (int j = 0; j < lanes; ++j) acc[j] = a[j];
}

/* The same sum for any depth multiplier (output channel c reads input c / dm). */
static void te_dw_taps_any(const te_dw_params *p, const int8_t *x0, const int8_t *w0, int rows, int cols, int c0,
                           int n, int32_t offset, int32_t *acc) {
  const int dm = p->depth_multiplier;
  for (int ky = 0; ky < rows; ++ky) {
    for (int kx = 0; kx < cols; ++kx) {
      const int8_t *x = x0 + (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * p->in_c;
      const int8_t *w = w0 + (ky * p->k_w + kx) * p->out_c;
      for (int j = 0; j < n; ++j) acc[j] += (x[(c0 + j) / dm] + offset) * w[j];
    }
  }
}

/* Output pixel (oy, ox), channels [c0, c0 + n), n <= TE_LANES, into out[0, n). */
static void te_dw_pixel(const te_dw_params *p, int oy, int ox, int c0, int n, int8_t *out) {
  const int iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  int ky0, ky1, kx0, kx1;
  te_tap_range(iy0, p->in_h, p->k_h, p->dilation_h, &ky0, &ky1);
  te_tap_range(ix0, p->in_w, p->k_w, p->dilation_w, &kx0, &kx1);
  /* Folding needs every tap to read a real input byte (see te_conv.h). */
  const int folded = ky0 == 0 && ky1 == p->k_h && kx0 == 0 && kx1 == p->k_w && p->bias_folded != 0;
  const int32_t *b = folded ? p->bias_folded : p->bias;
  const int32_t offset = folded ? 0 : p->input_offset;
  const int rows = ky1 - ky0, cols = kx1 - kx0; /* >= 0 (te_tap_range) */
  /* The first tap inside the input and its weights. */
  const int8_t *x0 = rows == 0 || cols == 0 ? p->input
                     : p->input + ((iy0 + ky0 * p->dilation_h) * p->in_w + ix0 + kx0 * p->dilation_w) * p->in_c;
  const int8_t *w0 = p->filter + (ky0 * p->k_w + kx0) * p->out_c + c0;
  int32_t acc[TE_LANES];
  for (int j = 0; j < n; ++j) acc[j] = b[c0 + j];
  if (p->depth_multiplier != 1) {
    te_dw_taps_any(p, x0, w0, rows, cols, c0, n, offset, acc);
  } else if (n == 16) {
    te_dw_taps(p, x0 + c0, w0, rows, cols, 16, offset, acc);
  } else if (n == 8) {
    te_dw_taps(p, x0 + c0, w0, rows, cols, 8, offset, acc);
  } else if (n == 4) {
    te_dw_taps(p, x0 + c0, w0, rows, cols, 4, offset, acc);
  } else {
    te_dw_taps(p, x0 + c0, w0, rows, cols, n, offset, acc);
  }
  for (int j = 0; j < n; ++j) {
    const int c = c0 + j;
    out[j] = te_output_s8(acc[j], p->multiplier[c], p->shift[c], p->output_offset, p->act_min, p->act_max);
  }
}

/* Channel block size for `left` channels: 16, then 8 and 4 for the tails. */
static int te_dw_block(int left) {
  return left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left;
}

void te_depthwise_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                     int depth_multiplier, const int32_t *bias, const int32_t *bias_folded, int8_t *output,
                     int out_h, int out_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                     int pad_left, int32_t input_offset, int32_t output_offset, const int32_t *multiplier,
                     const int32_t *shift, int32_t act_min, int32_t act_max) {
  const te_dw_params p = {input, filter, bias, bias_folded, multiplier, shift, in_h, in_w, in_c,
                          in_c * depth_multiplier, k_h, k_w, depth_multiplier, out_h, out_w, stride_h, stride_w,
                          dilation_h, dilation_w, pad_top, pad_left, input_offset, output_offset, act_min, act_max};
  for (int oy = 0; oy < out_h; ++oy) {
    for (int ox = 0; ox < out_w; ++ox) {
      int8_t *out = output + (oy * out_w + ox) * p.out_c;
      for (int c0 = 0; c0 < p.out_c;) {
        const int n = te_dw_block(p.out_c - c0);
        te_dw_pixel(&p, oy, ox, c0, n, out + c0);
        c0 += n;
      }
    }
  }
}

/* The first input row that output row oy may read (a lower bound, clamped to
 * [0, in_h]; out_h for oy == out_h means "nothing"). */
static int te_dw_first_row(const te_dw_params *p, int oy) {
  const int iy = oy * p->stride_h - p->pad_top;
  return oy >= p->out_h || iy > p->in_h ? p->in_h : iy < 0 ? 0 : iy;
}

/* A lower bound of the first input pixel (index y * in_w + x) that output
 * pixel (oy, ox) or any later one reads: later pixels of this row start no
 * earlier than this one, the next rows no earlier than their first row. */
static long te_dw_first_read(const te_dw_params *p, int oy, int ox) {
  const int ix = ox * p->stride_w - p->pad_left;
  const long here = (long)te_dw_first_row(p, oy) * p->in_w + (ix < 0 ? 0 : ix > p->in_w ? p->in_w : ix);
  const long next = (long)te_dw_first_row(p, oy + 1) * p->in_w;
  return TE_MIN(here, next);
}

/* The in-place walk over output pixels q = oy * out_w + ox (for one group of
 * channels): pixel q is computed into ring slot q % ring; output pixel d may
 * be stored once no later computation reads input pixels before d + 1 (in
 * NHWC both are d's bytes, index mod C picking the group's channels, so the
 * test is the same for every group). Returns the first pixel not yet stored
 * before computing pixel q, advancing `done`. */
static int te_dw_storable(const te_dw_params *p, int done, int q) {
  const long first = te_dw_first_read(p, q / p->out_w, q % p->out_w);
  while (done < q && done + 1 <= first) ++done;
  return done;
}

/* Ring slots needed: the most pixels computed but not yet stored, plus one. */
static int te_dw_ring_pixels(const te_dw_params *p) {
  int most = 1;
  for (int q = 0, done = 0; q < p->out_h * p->out_w; ++q) {
    done = te_dw_storable(p, done, q);
    most = TE_MAX(most, q - done + 1);
  }
  return most;
}

/* Output pixels of channels [c0, c0 + n), through a ring of `slots` pixels. */
static void te_dw_group_inplace(const te_dw_params *p, int c0, int n, int8_t *ring, int slots, int8_t *output) {
  const int pixels = p->out_h * p->out_w;
  int done = 0; /* pixels [0, done) are stored */
  for (int q = 0; q <= pixels; ++q) {
    const int ready = q == pixels ? pixels : te_dw_storable(p, done, q);
    for (; done < ready; ++done) memcpy(output + done * p->out_c + c0, ring + (done % slots) * n, (size_t)n);
    if (q == pixels) break;
    int8_t *slot = ring + (q % slots) * n;
    for (int j = 0; j < n;) {
      const int m = te_dw_block(n - j);
      te_dw_pixel(p, q / p->out_w, q % p->out_w, c0 + j, m, slot + j);
      j += m;
    }
  }
}

/* Channels per group: as many as the scratch holds, in whole lane blocks. */
static int te_dw_group(int channels, int fit) {
  if (fit >= channels) return channels;
  return fit >= 16 ? fit / 16 * 16 : fit >= 8 ? 8 : fit >= 4 ? 4 : fit;
}

/* Stack bytes the ring may use when the scratch is too small for wide groups:
 * small feature maps (6x6, 3x3) leave out_h * out_w bytes of scratch for a ring
 * of about out_w + 2 pixels, i.e. 1-4 channels at a time, where 16 run several
 * times faster. 1 KB is what te_conv.c's column already takes, so the deepest
 * stack of a model does not grow. */
#define TE_DW_STACK_RING 1024

void te_depthwise_inplace_s8(const int8_t *input, int in_h, int in_w, int channels, const int8_t *filter, int k_h,
                             int k_w, const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h,
                             int out_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                             int pad_left, int32_t input_offset, int32_t output_offset, const int32_t *multiplier,
                             const int32_t *shift, int32_t act_min, int32_t act_max, int8_t *scratch) {
  const te_dw_params p = {input, filter, bias, bias_folded, multiplier, shift, in_h, in_w, channels, channels, k_h,
                          k_w, 1, out_h, out_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                          input_offset, output_offset, act_min, act_max};
  /* The ring holds `slots` pixels of as many channels as fit in the scratch
   * (out_h * out_w bytes: at least one channel, as slots <= out_h * out_w) or
   * on the stack, whichever holds more. */
  int8_t stack_ring[TE_DW_STACK_RING];
  const int slots = te_dw_ring_pixels(&p);
  const int in_scratch = out_h * out_w / slots, on_stack = TE_DW_STACK_RING / slots;
  int8_t *ring = on_stack > in_scratch ? stack_ring : scratch;
  const int group = te_dw_group(channels, TE_MAX(in_scratch, on_stack));
  for (int c0 = 0; c0 < channels; c0 += group) {
    te_dw_group_inplace(&p, c0, TE_MIN(group, channels - c0), ring, slots, output);
  }
}
