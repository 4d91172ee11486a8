/* int8 convolutions for Cortex-M4/M7 (DSP extension); see te_conv_dsp.h.
 *
 * Conv scratch (TE_CONV_DSP_SCRATCH bytes, 16-byte aligned) holds the
 * widened columns, chunks * 16 bytes: for chunk k the words
 * [A02, A13, B02, B13] of columns A and B (pairs in SXTB16 order, te_dsp.h),
 * then chunks * 4 bytes of int8 staging when in_c is not a multiple of 4.
 */
#include "te_conv_dsp.h"

#include "te_dsp.h"
#include "te_window.h"

/* dst[k * stride + 0/1] = the pairs of chunk k of src, plus the offset pair. */
static void te_dsp_widen(const int8_t *src, int chunks, uint32_t offset2, int32_t *dst, int stride) {
  for (int k = 0; k < chunks; ++k) {
    const uint32_t x = te_dsp_load32(src);
    dst[0] = (int32_t)__sxtab16(offset2, x);
    dst[1] = te_dsp_odd_add(offset2, x);
    src += 4;
    dst += stride;
  }
}

static void te_dsp_zero(int32_t *dst, int chunks, int stride) {
  for (int k = 0; k < chunks; ++k) {
    dst[0] = 0;
    dst[1] = 0;
    dst += stride;
  }
}

/* The offset in both int16 lanes, as SXTAB16 adds it. */
static uint32_t te_dsp_pair(int32_t v) { return ((uint32_t)v & 0xFFFFu) * 0x10001u; }

/* One chunk of both columns times two channels' weights (v: 4 bytes each). */
#define TE_DSP_CHUNK2(c, v)                                              \
  do {                                                                   \
    const uint64_t ca = te_dsp_load64(c), cb = te_dsp_load64((c) + 2);   \
    const uint32_t v0 = (uint32_t)(v), v1 = (uint32_t)((v) >> 32);       \
    const int32_t w0e = te_dsp_even(v0), w0o = te_dsp_odd(v0);           \
    const int32_t w1e = te_dsp_even(v1), w1o = te_dsp_odd(v1);           \
    a0 = __smlad((int32_t)ca, w0e, a0);                                  \
    a0 = __smlad((int32_t)(ca >> 32), w0o, a0);                          \
    b0 = __smlad((int32_t)cb, w0e, b0);                                  \
    b0 = __smlad((int32_t)(cb >> 32), w0o, b0);                          \
    a1 = __smlad((int32_t)ca, w1e, a1);                                  \
    a1 = __smlad((int32_t)(ca >> 32), w1o, a1);                          \
    b1 = __smlad((int32_t)cb, w1e, b1);                                  \
    b1 = __smlad((int32_t)(cb >> 32), w1o, b1);                          \
  } while (0)

/* Output channels [0, out_c) of columns A and B (B skipped when out_b is NULL). */
static inline __attribute__((always_inline)) void te_dsp_mat2_body(const int32_t *cols, int chunks, const int8_t *w,
                                                                   const int32_t *params, int out_c, int8_t *out_a,
                                                                   int8_t *out_b, int32_t out_offset, int32_t act_min,
                                                                   int32_t act_max, int mode) {
  int o = 0;
  for (; o + 2 <= out_c; o += 2) {
    const int32_t *p = params + o * TE_DSP_PARAMS;
    int32_t a0 = p[0], b0 = p[0], a1 = p[TE_DSP_PARAMS], b1 = p[TE_DSP_PARAMS];
    const int32_t *c = cols;
    const int32_t *end = cols + 4 * (chunks & ~1);
    while (c != end) { /* two chunks per turn: fewer loop instructions */
      const uint64_t v = te_dsp_load64(w), u = te_dsp_load64(w + 8);
      TE_DSP_CHUNK2(c, v);
      TE_DSP_CHUNK2(c + 4, u);
      w += 16;
      c += 8;
    }
    if (chunks & 1) {
      const uint64_t v = te_dsp_load64(w);
      TE_DSP_CHUNK2(c, v);
      w += 8;
    }
    out_a[o] = te_dsp_output(a0, p, out_offset, act_min, act_max, mode);
    out_a[o + 1] = te_dsp_output(a1, p + TE_DSP_PARAMS, out_offset, act_min, act_max, mode);
    if (out_b) {
      out_b[o] = te_dsp_output(b0, p, out_offset, act_min, act_max, mode);
      out_b[o + 1] = te_dsp_output(b1, p + TE_DSP_PARAMS, out_offset, act_min, act_max, mode);
    }
  }
  if (o < out_c) { /* the last odd channel: its chunks follow the pairs */
    const int32_t *p = params + o * TE_DSP_PARAMS;
    int32_t a0 = p[0], b0 = p[0];
    for (int k = 0; k < chunks; ++k) {
      const uint32_t v0 = te_dsp_load32(w + 4 * k);
      const int32_t w0e = te_dsp_even(v0), w0o = te_dsp_odd(v0);
      a0 = __smlad(cols[4 * k + 1], w0o, __smlad(cols[4 * k], w0e, a0));
      b0 = __smlad(cols[4 * k + 3], w0o, __smlad(cols[4 * k + 2], w0e, b0));
    }
    out_a[o] = te_dsp_output(a0, p, out_offset, act_min, act_max, mode);
    if (out_b) out_b[o] = te_dsp_output(b0, p, out_offset, act_min, act_max, mode);
  }
}

/* te_dsp_mat2_body with its mode a constant in each copy. */
static void te_dsp_mat2(const int32_t *cols, int chunks, const int8_t *w, const int32_t *params, int out_c,
                        int8_t *out_a, int8_t *out_b, int32_t out_offset, int32_t act_min, int32_t act_max,
                        int mode) {
  switch (mode) {
    case 0:
      te_dsp_mat2_body(cols, chunks, w, params, out_c, out_a, out_b, out_offset, act_min, act_max, 0);
      break;
    case TE_DSP_CLAMP:
      te_dsp_mat2_body(cols, chunks, w, params, out_c, out_a, out_b, out_offset, act_min, act_max, TE_DSP_CLAMP);
      break;
    case TE_DSP_WIDE:
      te_dsp_mat2_body(cols, chunks, w, params, out_c, out_a, out_b, out_offset, act_min, act_max, TE_DSP_WIDE);
      break;
    default:
      te_dsp_mat2_body(cols, chunks, w, params, out_c, out_a, out_b, out_offset, act_min, act_max,
                       TE_DSP_WIDE | TE_DSP_CLAMP);
  }
}

void te_conv1x1_s8_dsp(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *params,
                       int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                       int32_t act_max, int wide, void *scratch) {
  const int mode = te_dsp_mode(act_min, act_max, wide);
  const int chunks = (in_c + 3) / 4;
  const uint32_t offset2 = te_dsp_pair(input_offset);
  int32_t *cols = (int32_t *)scratch;
  int8_t *stage = (int8_t *)(cols + 4 * chunks);
  const int8_t zp = (int8_t)(-input_offset);
  for (int p = 0; p < pixels; p += 2) {
    const int two = p + 1 < pixels;
    for (int j = 0; j < 2; ++j) {
      /* A lone last pixel fills both columns; only column A is stored. */
      const int8_t *x = input + (p + (two ? j : 0)) * in_c;
      if (in_c % 4 != 0) { /* pad the chunk with the zero point: x + offset = 0 */
        for (int i = 0; i < 4 * chunks; ++i) stage[i] = i < in_c ? x[i] : zp;
        x = stage;
      }
      te_dsp_widen(x, chunks, offset2, cols + 2 * j, 4);
    }
    te_dsp_mat2(cols, chunks, filter, params, out_c, output + p * out_c, two ? output + (p + 1) * out_c : 0,
                output_offset, act_min, act_max, mode);
  }
}

/* Geometry of a te_conv2d_s8_dsp call. */
typedef struct {
  const int8_t *input;
  int in_h, in_w, in_c, k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int32_t input_offset;
} te_conv_dsp_geom;

/* n bytes from src to dst, words while they last (unaligned words are allowed). */
static void te_dsp_copy(int8_t *dst, const int8_t *src, int n) {
  for (; n >= 4; n -= 4, src += 4, dst += 4) te_dsp_store32(dst, te_dsp_load32(src));
  for (; n > 0; --n) *dst++ = *src++;
}

/* im2col of output pixel (oy, ox) into column slot `col` (0 or 1) of cols. */
static void te_dsp_im2col(const te_conv_dsp_geom *g, int oy, int ox, int32_t *cols, int col, int8_t *stage) {
  const int iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
  int ky0, ky1, kx0, kx1;
  te_tap_range(iy0, g->in_h, g->k_h, g->dilation_h, &ky0, &ky1);
  te_tap_range(ix0, g->in_w, g->k_w, g->dilation_w, &kx0, &kx1);
  const uint32_t offset2 = te_dsp_pair(g->input_offset);
  const int depth = g->k_h * g->k_w * g->in_c, chunks = (depth + 3) / 4;
  if (g->in_c % 4 == 0) { /* tap by tap straight from the input */
    const int per_tap = g->in_c / 4;
    int32_t *d = cols + 2 * col;
    for (int ky = 0; ky < g->k_h; ++ky) {
      const int8_t *row = g->input + ((iy0 + ky * g->dilation_h) * g->in_w + ix0) * g->in_c;
      for (int kx = 0; kx < g->k_w; ++kx, d += 4 * per_tap) {
        if (ky < ky0 || ky >= ky1 || kx < kx0 || kx >= kx1) {
          te_dsp_zero(d, per_tap, 4);
        } else {
          te_dsp_widen(row + kx * g->dilation_w * g->in_c, per_tap, offset2, d, 4);
        }
      }
    }
    return;
  }
  /* Stage the taps' bytes; padding and the chunk tail hold the zero point. */
  const int8_t zp = (int8_t)(-g->input_offset);
  const int whole = ky0 == 0 && ky1 == g->k_h && kx0 == 0 && kx1 == g->k_w;
  for (int i = whole ? depth : 0; i < 4 * chunks; ++i) stage[i] = zp;
  const int run = g->dilation_w == 1 ? (kx1 - kx0) * g->in_c : g->in_c;
  for (int ky = ky0; ky < ky1; ++ky) {
    const int8_t *row = g->input + ((iy0 + ky * g->dilation_h) * g->in_w + ix0) * g->in_c;
    int8_t *dst = stage + ky * g->k_w * g->in_c;
    for (int kx = kx0; kx < kx1; kx += g->dilation_w == 1 ? kx1 - kx0 : 1) {
      te_dsp_copy(dst + kx * g->in_c, row + kx * g->dilation_w * g->in_c, run);
    }
  }
  te_dsp_widen(stage, chunks, offset2, cols + 2 * col, 4);
}

void te_conv2d_s8_dsp(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                      const int32_t *params, int8_t *output, int out_h, int out_w, int out_c, int stride_h,
                      int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left, int32_t input_offset,
                      int32_t output_offset, int32_t act_min, int32_t act_max, int wide, void *scratch) {
  const int mode = te_dsp_mode(act_min, act_max, wide);
  const te_conv_dsp_geom g = {input,  in_h,       in_w,       in_c,    k_h,      k_w,         stride_h,
                              stride_w, dilation_h, dilation_w, pad_top, pad_left, input_offset};
  const int chunks = (k_h * k_w * in_c + 3) / 4;
  int32_t *cols = (int32_t *)scratch;
  int8_t *stage = (int8_t *)(cols + 4 * chunks);
  const int pixels = out_h * out_w;
  for (int p = 0; p < pixels; p += 2) {
    const int two = p + 1 < pixels;
    te_dsp_im2col(&g, p / out_w, p % out_w, cols, 0, stage);
    const int q = two ? p + 1 : p; /* a lone last pixel fills both columns */
    te_dsp_im2col(&g, q / out_w, q % out_w, cols, 1, stage);
    te_dsp_mat2(cols, chunks, filter, params, out_c, output + p * out_c, two ? output + q * out_c : 0,
                output_offset, act_min, act_max, mode);
  }
}

/* Chunk k of an FC input row as a word; bytes past `depth` are the zero
 * point (x + offset = 0), so no read leaves the row. */
static uint32_t te_fc_chunk(const int8_t *x, int k, int depth, int8_t zp) {
  if (4 * k + 4 <= depth) return te_dsp_load32(x + 4 * k);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | (uint8_t)(4 * k + i < depth ? x[4 * k + i] : zp);
  return v;
}

/* acc[j] += the chunk (x02, x13) times channel j's 4 weight bytes. */
#define TE_FC_MAC(acc, v)                                   \
  do {                                                      \
    acc = __smlad(x02, te_dsp_even(v), acc);                \
    acc = __smlad(x13, te_dsp_odd(v), acc);                 \
  } while (0)

/* Output channels [o, o + n) of one row, n in {1, 2, 4}: the input chunk is
 * widened once per n channels, in registers (no scratch). */
static inline __attribute__((always_inline)) void te_fc_block(const int8_t *x, int depth, const int8_t *filter, const int32_t *params, int out_c, int o,
                        int n, uint32_t offset2, int8_t zp, int8_t *out, int32_t out_offset, int32_t act_min,
                        int32_t act_max, int mode) {
  const int chunks = (depth + 3) / 4;
  const int32_t *p = params + o * TE_DSP_PARAMS;
  int32_t acc[4] = {p[0], n > 1 ? p[TE_DSP_PARAMS] : 0, n > 2 ? p[2 * TE_DSP_PARAMS] : 0,
                    n > 2 ? p[3 * TE_DSP_PARAMS] : 0};
  const int8_t *w0 = filter + (o / 2) * chunks * 8; /* pair (o, o+1), or the odd last channel */
  const int8_t *w1 = w0 + chunks * 8;                /* pair (o+2, o+3) */
  for (int k = 0; k < chunks; ++k) {
    /* Whole chunks load directly; only a last partial chunk is assembled. */
    const uint32_t v = k < depth / 4 ? te_dsp_load32(x + 4 * k) : te_fc_chunk(x, k, depth, zp);
    const int32_t x02 = (int32_t)__sxtab16(offset2, v), x13 = te_dsp_odd_add(offset2, v);
    if (n == 4) {
      const uint64_t u = te_dsp_load64(w0 + 8 * k), t = te_dsp_load64(w1 + 8 * k);
      TE_FC_MAC(acc[0], (uint32_t)u);
      TE_FC_MAC(acc[1], (uint32_t)(u >> 32));
      TE_FC_MAC(acc[2], (uint32_t)t);
      TE_FC_MAC(acc[3], (uint32_t)(t >> 32));
    } else if (n == 2) {
      const uint64_t u = te_dsp_load64(w0 + 8 * k);
      TE_FC_MAC(acc[0], (uint32_t)u);
      TE_FC_MAC(acc[1], (uint32_t)(u >> 32));
    } else {
      TE_FC_MAC(acc[0], te_dsp_load32(w0 + 4 * k));
    }
  }
  (void)out_c;
  for (int j = 0; j < n; ++j) {
    out[o + j] = te_dsp_output(acc[j], p + j * TE_DSP_PARAMS, out_offset, act_min, act_max, mode);
  }
}

void te_fc_s8_dsp(const int8_t *input, int rows, int depth, const int8_t *filter, const int32_t *params,
                  int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                  int32_t act_max, int wide) {
  const int mode = te_dsp_mode(act_min, act_max, wide);
  const uint32_t offset2 = te_dsp_pair(input_offset);
  const int8_t zp = (int8_t)(-input_offset);
  for (int r = 0; r < rows; ++r) {
    const int8_t *x = input + r * depth;
    int8_t *out = output + r * out_c;
    int o = 0;
    for (; o + 4 <= out_c; o += 4) {
      te_fc_block(x, depth, filter, params, out_c, o, 4, offset2, zp, out, output_offset, act_min, act_max, mode);
    }
    for (; o + 2 <= out_c; o += 2) {
      te_fc_block(x, depth, filter, params, out_c, o, 2, offset2, zp, out, output_offset, act_min, act_max, mode);
    }
    if (o < out_c) {
      te_fc_block(x, depth, filter, params, out_c, o, 1, offset2, zp, out, output_offset, act_min, act_max, mode);
    }
  }
}
