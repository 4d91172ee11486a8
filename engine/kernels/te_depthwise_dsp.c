/* int8 depthwise convolutions for Cortex-M4/M7 (DSP); see te_depthwise_dsp.h.
 *
 * Both entry points walk one group of 4 channels over every output pixel
 * (the in-place variant must, and the constants of a group then stay in one
 * place). Per output row the taps inside the input are found once; pixels
 * whose whole window lies inside the input take the interior path, the
 * others the border path, which adds the input offset tap by tap and skips
 * the taps outside.
 *
 * The interior 3x3 path (most of the work in MobileNet-style models) is one
 * block of inline assembly per pixel: GCC 12 spills the accumulators and
 * pointers of the C form around every tap and requantisation, which more
 * than doubled its instruction count. The block is the C path's arithmetic
 * instruction for instruction (TE_DSP_NO_ASM selects the C path instead).
 */
#include "te_depthwise_dsp.h"

#include "te_dsp.h"
#include "te_window.h"

#define TE_DW_BIAS_IN 0 /* word offsets in a group's block (te_depthwise_dsp.h) */
#define TE_DW_BIAS 4
#define TE_DW_MRE 8
#define TE_DW_TAPS 20

/* One call's constants. */
typedef struct {
  const int8_t *input;
  const int32_t *blocks;
  int in_h, in_w, channels, k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
  int wide, out_h, out_w;
} te_dw_dsp;

/* The int8 output of accumulator `acc` (2 * acc unless wide). */
static inline __attribute__((always_inline)) int8_t te_dw_output(const te_dw_dsp *d, int32_t acc, const int32_t *mre) {
  const int32_t q = d->wide ? te_dsp_requant_wide3(acc, mre) : te_dsp_requant2(acc, mre);
  int32_t r = __ssat(q + d->output_offset, 8);
  r = r < d->act_min ? d->act_min : r;
  return (int8_t)(r > d->act_max ? d->act_max : r);
}

/* The 4 outputs of a group at one pixel from the bias and the taps
 * [ky0, ky1) x [kx0, kx1) inside the input; x is tap (0, 0)'s input for the
 * group (it may lie outside the input: only inside taps are read), taps
 * row_step and col_step bytes apart. */
static void te_dw_group_c(const te_dw_dsp *d, const int32_t *blk, const int8_t *x, int row_step, int col_step,
                          int ky0, int ky1, int kx0, int kx1, int8_t *out) {
  const uint32_t offset2 = ((uint32_t)d->input_offset & 0xFFFFu) * 0x10001u;
  int32_t a0 = blk[TE_DW_BIAS], a1 = blk[TE_DW_BIAS + 1], a2 = blk[TE_DW_BIAS + 2], a3 = blk[TE_DW_BIAS + 3];
  for (int ky = ky0; ky < ky1; ++ky) {
    const int8_t *xr = x + ky * row_step;
    const int32_t *w = blk + TE_DW_TAPS + 2 * ky * d->k_w;
    for (int kx = kx0; kx < kx1; ++kx) {
      const uint32_t v = te_dsp_load32(xr + kx * col_step);
      const int32_t x02 = (int32_t)__sxtab16(offset2, v), x13 = te_dsp_odd_add(offset2, v);
      a0 = __smlabb(x02, w[2 * kx], a0);
      a2 = __smlatt(x02, w[2 * kx], a2);
      a1 = __smlabb(x13, w[2 * kx + 1], a1);
      a3 = __smlatt(x13, w[2 * kx + 1], a3);
    }
  }
  out[0] = te_dw_output(d, a0, blk + TE_DW_MRE);
  out[1] = te_dw_output(d, a1, blk + TE_DW_MRE + 3);
  out[2] = te_dw_output(d, a2, blk + TE_DW_MRE + 6);
  out[3] = te_dw_output(d, a3, blk + TE_DW_MRE + 9);
}

#if !defined(TE_DSP_NO_ASM)
/* One tap of the interior 3x3 block: r4 = the input word at ADDR, r6/r12 =
 * the tap's weight pairs (word W of the block), then
 * acc(c0, c2) += (x0, x2) * (w0, w2) and acc(c1, c3) += (x1, x3) * (w1, w3). */
#define TE_DW_TAP(ADDR, W)                     \
  "ldr r4, " ADDR "\n\t"                       \
  "ldrd r6, r12, [%[b], #(" #W ") * 4]\n\t"      \
  "sxtb16 r5, r4\n\t"                          \
  "sxtb16 r4, r4, ror #8\n\t"                  \
  "smlabb r0, r5, r6, r0\n\t"                  \
  "smlatt r2, r5, r6, r2\n\t"                  \
  "smlabb r1, r4, r12, r1\n\t"                 \
  "smlatt r3, r4, r12, r3\n\t"
#define TE_DW_ROW(W)                           \
  TE_DW_TAP("[%[x]]", W)                       \
  TE_DW_TAP("[%[x], %[cs]]", W + 2)            \
  TE_DW_TAP("[%[x], %[cs], lsl #1]", W + 4)
/* Output byte J from accumulator rJ: te_dsp_requant2 with the output offset
 * folded into the addend, then SSAT (the activation range is all of int8);
 * lr walks the (multiplier, addend, e) triples, r12 is the output pixel. */
#define TE_DW_OUT(J)                           \
  "ldm lr!, {r4, r5, r6}\n\t"                  \
  "add r5, r5, r" #J ", asr #31\n\t"           \
  "smmlar r" #J ", r" #J ", r4, r5\n\t"        \
  "asr r" #J ", r" #J ", r6\n\t"               \
  "ssat r" #J ", #8, r" #J "\n\t"              \
  "strb r" #J ", [r12, #" #J "]\n\t"

/* Loop state of te_dw3x3_run kept in memory: the taps need every register. */
typedef struct {
  int8_t *out;          /* the next pixel's 4 output bytes */
  int out_step;         /* bytes between output pixels of a row */
  int8_t *row_end;      /* out after the current row's last pixel */
  int x_back;           /* from the last tap row of a pixel to the next pixel's first */
  int x_skip, out_skip; /* from after a row's last pixel to the next row's first */
  int rows;             /* rows left, the current one included */
  int row_bytes;        /* n * out_step */
} te_dw_loop;

/* te_dw_group_c for `rows` rows of n >= 1 pixels whose whole 3x3 windows
 * lie inside the input, with raw input bytes and the interior bias (mode 0,
 * not wide, output offset folded). x: the first pixel's tap (0, 0); pixels
 * x_step input bytes and out_step output bytes apart, rows x_row and
 * out_row apart. Not inlined: the block needs 13 registers, which GCC
 * cannot give an asm statement inside a loop. */
static __attribute__((noinline)) void te_dw3x3_run(const int32_t *blk, const int8_t *x, int row_step, int col_step,
                                                  int x_step, int x_row, int8_t *out, int out_step, int out_row,
                                                  int n, int rows) {
  te_dw_loop s = {out,          out_step, out + n * out_step, x_step - 2 * row_step, x_row - n * x_step,
                  out_row - n * out_step, rows, n * out_step};
  register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
  register int32_t t4 __asm__("r4"), t5 __asm__("r5"), t6 __asm__("r6");
  __asm__ volatile(
      "1:\n\t"
      "ldm %[b], {r0, r1, r2, r3}\n\t"
      TE_DW_ROW(20)
      "add %[x], %[x], %[rs]\n\t"
      TE_DW_ROW(26)
      "add %[x], %[x], %[rs]\n\t"
      TE_DW_ROW(32)
      "add lr, %[b], #32\n\t"
      "ldr r12, %[out]\n\t"
      TE_DW_OUT(0) TE_DW_OUT(1) TE_DW_OUT(2) TE_DW_OUT(3)
      "ldrd r4, r5, %[step]\n\t" /* out_step, row_end */
      "ldr r6, %[back]\n\t"
      "add r12, r12, r4\n\t"
      "add %[x], %[x], r6\n\t"
      "str r12, %[out]\n\t"
      "cmp r12, r5\n\t"
      "bne 1b\n\t"
      "ldrd r4, r5, %[skip]\n\t" /* the row is done: x_skip, out_skip */
      "ldr r6, %[rows]\n\t"
      "add %[x], %[x], r4\n\t"
      "add r12, r12, r5\n\t"
      "subs r6, r6, #1\n\t"
      "beq 2f\n\t"
      "ldr r4, %[rb]\n\t"
      "str r6, %[rows]\n\t"
      "str r12, %[out]\n\t"
      "add r12, r12, r4\n\t"
      "str r12, %[end]\n\t"
      "b 1b\n\t"
      "2:\n\t"
      : "=&r"(a0), "=&r"(a1), "=&r"(a2), "=&r"(a3), "=&r"(t4), "=&r"(t5), "=&r"(t6), [x] "+&r"(x),
        [out] "+m"(s.out), [end] "+m"(s.row_end), [rows] "+m"(s.rows)
      : [b] "r"(blk), [rs] "r"(row_step), [cs] "r"(col_step), [step] "m"(s.out_step), [back] "m"(s.x_back),
        [skip] "m"(s.x_skip), [rb] "m"(s.row_bytes)
      : "r12", "lr", "cc", "memory");
}
#else
/* The C form of the block above (TE_DSP_NO_ASM): raw bytes, interior bias. */
static void te_dw3x3_run(const int32_t *blk, const int8_t *x, int row_step, int col_step, int x_step, int x_row,
                         int8_t *out, int out_step, int out_row, int n, int rows) {
  for (int r = 0; r < rows * n; ++r) {
    const int8_t *xp = x + (r / n) * x_row + (r % n) * x_step;
    int8_t *o = out + (r / n) * out_row + (r % n) * out_step;
    int32_t a0 = blk[TE_DW_BIAS_IN], a1 = blk[TE_DW_BIAS_IN + 1], a2 = blk[TE_DW_BIAS_IN + 2],
            a3 = blk[TE_DW_BIAS_IN + 3];
    for (int t = 0; t < 9; ++t) {
      const uint32_t v = te_dsp_load32(xp + (t / 3) * row_step + (t % 3) * col_step);
      const int32_t x02 = te_dsp_even(v), x13 = te_dsp_odd(v), w02 = blk[TE_DW_TAPS + 2 * t];
      const int32_t w13 = blk[TE_DW_TAPS + 2 * t + 1];
      a0 = __smlabb(x02, w02, a0);
      a2 = __smlatt(x02, w02, a2);
      a1 = __smlabb(x13, w13, a1);
      a3 = __smlatt(x13, w13, a3);
    }
    o[0] = (int8_t)__ssat(te_dsp_requant2(a0, blk + TE_DW_MRE), 8);
    o[1] = (int8_t)__ssat(te_dsp_requant2(a1, blk + TE_DW_MRE + 3), 8);
    o[2] = (int8_t)__ssat(te_dsp_requant2(a2, blk + TE_DW_MRE + 6), 8);
    o[3] = (int8_t)__ssat(te_dsp_requant2(a3, blk + TE_DW_MRE + 9), 8);
  }
}
#endif

/* Where a group's input bytes are read from: the input itself (pix =
 * channels bytes per pixel, taps outside skipped) or a copy of the group's
 * 4 channels with the zero point all around (te_dw_pad, pix = 4). */
typedef struct {
  const int8_t *base; /* the group's bytes at input pixel (0, 0) */
  int pix, line;      /* bytes per pixel, per row */
  int top, left;      /* padding the copy holds (0 for the input) */
  int rows, cols;     /* pixels per column and row, padding included */
} te_dw_src;

/* Output columns [*lo, *hi) whose taps all lie inside the source's width. */
static void te_dw_interior_cols(const te_dw_dsp *d, const te_dw_src *s, int *lo, int *hi) {
  int a = 0, b = d->out_w;
  while (a < b && a * d->stride_w - d->pad_left + s->left < 0) ++a;
  while (b > a && (b - 1) * d->stride_w - d->pad_left + s->left + (d->k_w - 1) * d->dilation_w >= s->cols) --b;
  *lo = a;
  *hi = b;
}

/* A 3x3 pixel at the border: its window with the zero point for the taps
 * outside (so raw bytes and the interior bias give TFLM's sum), then the
 * interior block on that window. */
static void te_dw3x3_border(const int32_t *blk, const int8_t *x, int row_step, int col_step, int ky0, int ky1,
                            int kx0, int kx1, uint32_t zp4, int8_t *out) {
  uint32_t win[9];
  for (int ky = 0; ky < 3; ++ky) {
    for (int kx = 0; kx < 3; ++kx) {
      const int inside = ky >= ky0 && ky < ky1 && kx >= kx0 && kx < kx1;
      win[3 * ky + kx] = inside ? te_dsp_load32(x + ky * row_step + kx * col_step) : zp4;
    }
  }
  te_dw3x3_run(blk, (const int8_t *)win, 12, 4, 0, 0, out, 4, 0, 1, 1);
}

/* Output rows [*lo, *hi) whose taps all lie inside the source's height. */
static void te_dw_interior_rows(const te_dw_dsp *d, const te_dw_src *s, int *lo, int *hi) {
  int a = 0, b = d->out_h;
  while (a < b && a * d->stride_h - d->pad_top + s->top < 0) ++a;
  while (b > a && (b - 1) * d->stride_h - d->pad_top + s->top + (d->k_h - 1) * d->dilation_h >= s->rows) --b;
  *lo = a;
  *hi = b;
}

/* Group c at every output pixel from source s; pixel p's 4 bytes go to
 * out + p * out_step. With the fast 3x3 block, the interior rectangle is one
 * call; the other pixels are borders. */
static void te_dw_run(const te_dw_dsp *d, const te_dw_src *s, const int32_t *blk, int8_t *out, int out_step) {
  const int row_step = d->dilation_h * s->line, col_step = d->dilation_w * s->pix, x_step = d->stride_w * s->pix;
  int lo, hi, top, bottom;
  te_dw_interior_cols(d, s, &lo, &hi);
  te_dw_interior_rows(d, s, &top, &bottom);
  const int fast = d->k_h == 3 && d->k_w == 3 && !d->wide && d->output_offset == 0 && d->act_min == -128 &&
                   d->act_max == 127;
  const uint32_t zp4 = ((uint32_t)(-d->input_offset) & 0xFFu) * 0x01010101u;
  const int8_t *x00 = s->base + (s->top - d->pad_top) * s->line + (s->left - d->pad_left) * s->pix;
  const int block = fast && hi > lo && bottom > top;
  if (block) {
    te_dw3x3_run(blk, x00 + top * d->stride_h * s->line + lo * x_step, row_step, col_step, x_step,
                 d->stride_h * s->line, out + (top * d->out_w + lo) * out_step, out_step, d->out_w * out_step,
                 hi - lo, bottom - top);
  }
  for (int oy = 0; oy < d->out_h; ++oy) {
    const int inner_row = block && oy >= top && oy < bottom;
    if (inner_row && lo == 0 && hi == d->out_w) continue; /* the whole row was in the block */
    const int iy0 = oy * d->stride_h - d->pad_top + s->top;
    int ky0, ky1;
    te_tap_range(iy0, s->rows, d->k_h, d->dilation_h, &ky0, &ky1);
    for (int ox = 0; ox < d->out_w; ++ox) {
      if (inner_row && ox == lo) ox = hi; /* done above */
      if (ox >= d->out_w) break;
      const int ix0 = ox * d->stride_w - d->pad_left + s->left;
      const int8_t *x = s->base + iy0 * s->line + ix0 * s->pix;
      int8_t *o = out + (oy * d->out_w + ox) * out_step;
      int kx0, kx1;
      te_tap_range(ix0, s->cols, d->k_w, d->dilation_w, &kx0, &kx1);
      if (fast) {
        te_dw3x3_border(blk, x, row_step, col_step, ky0, ky1, kx0, kx1, zp4, o);
      } else {
        te_dw_group_c(d, blk, x, row_step, col_step, ky0, ky1, kx0, kx1, o);
      }
    }
  }
}

/* The input as a source (taps outside are skipped). */
static te_dw_src te_dw_input(const te_dw_dsp *d, int c) {
  const te_dw_src s = {d->input + c, d->channels, d->in_w * d->channels, 0, 0, d->in_h, d->in_w};
  return s;
}

/* Group c's 4 channels copied into `plane` with the zero point around them:
 * every window then lies inside (padding as TE_DW_PADDED_BYTES counts it). */
static te_dw_src te_dw_pad(const te_dw_dsp *d, int c, int8_t *plane, int fill) {
  const int bottom = TE_MAX(0, (d->out_h - 1) * d->stride_h + (d->k_h - 1) * d->dilation_h + 1 - d->in_h - d->pad_top);
  const int right = TE_MAX(0, (d->out_w - 1) * d->stride_w + (d->k_w - 1) * d->dilation_w + 1 - d->in_w - d->pad_left);
  const int cols = d->pad_left + d->in_w + right, rows = d->pad_top + d->in_h + bottom;
  const uint32_t zp4 = ((uint32_t)(-d->input_offset) & 0xFFu) * 0x01010101u;
  uint32_t *w = (uint32_t *)plane, *end = w + rows * cols;
  const int step = d->channels;
  /* The zero point everywhere for the first group; later groups overwrite
   * only the input's own pixels, so the padding stays. */
  for (uint32_t *p = w; fill && p != end; ++p) *p = zp4;
  const int8_t *x = d->input + c;
  uint32_t *dst = w + d->pad_top * cols + d->pad_left;
  for (int iy = 0; iy < d->in_h; ++iy, dst += cols) {
    uint32_t *q = dst, *q_end = dst + d->in_w;
    for (; q + 2 <= q_end; q += 2, x += 2 * step) { /* two per turn: fewer loop instructions */
      q[0] = te_dsp_load32(x);
      q[1] = te_dsp_load32(x + step);
    }
    if (q != q_end) {
      *q = te_dsp_load32(x);
      x += step;
    }
  }
  const te_dw_src s = {(const int8_t *)plane, 4, 4 * cols, d->pad_top, d->pad_left, rows, cols};
  return s;
}

/* Channel c (one of the last channels % 4) at output pixel (oy, ox). */
static int8_t te_dw_channel(const te_dw_dsp *d, int c, int oy, int ox) {
  const int32_t *blk = d->blocks + (c / 4) * TE_DW_BLOCK(d->k_h, d->k_w);
  const int lane = c % 4, half = (lane & 2) ? 16 : 0, word = lane & 1; /* (w0, w2), (w1, w3) */
  const int iy0 = oy * d->stride_h - d->pad_top, ix0 = ox * d->stride_w - d->pad_left;
  int ky0, ky1, kx0, kx1;
  te_tap_range(iy0, d->in_h, d->k_h, d->dilation_h, &ky0, &ky1);
  te_tap_range(ix0, d->in_w, d->k_w, d->dilation_w, &kx0, &kx1);
  int32_t acc = blk[TE_DW_BIAS + lane];
  for (int ky = ky0; ky < ky1; ++ky) {
    for (int kx = kx0; kx < kx1; ++kx) {
      const int iy = iy0 + ky * d->dilation_h, ix = ix0 + kx * d->dilation_w;
      const int8_t x = d->input[(iy * d->in_w + ix) * d->channels + c];
      const int16_t w = (int16_t)((uint32_t)blk[TE_DW_TAPS + 2 * (ky * d->k_w + kx) + word] >> half);
      acc += (x + d->input_offset) * w;
    }
  }
  return te_dw_output(d, acc, blk + TE_DW_MRE + 3 * lane);
}

static te_dw_dsp te_dw_make(const int8_t *input, int in_h, int in_w, int channels, const int32_t *blocks, int k_h,
                            int k_w, int out_h, int out_w, int stride_h, int stride_w, int dilation_h,
                            int dilation_w, int pad_top, int pad_left, int32_t input_offset, int32_t output_offset,
                            int32_t act_min, int32_t act_max, int wide) {
  const te_dw_dsp d = {input,      blocks,     in_h,    in_w,     channels,     k_h,           k_w,
                       stride_h,   stride_w,   dilation_h, dilation_w, pad_top, pad_left, input_offset,
                       output_offset, act_min, act_max, wide, out_h, out_w};
  return d;
}

void te_depthwise_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int32_t *blocks, int k_h,
                         int k_w, int8_t *output, int out_h, int out_w, int stride_h, int stride_w, int dilation_h,
                         int dilation_w, int pad_top, int pad_left, int32_t input_offset, int32_t output_offset,
                         int32_t act_min, int32_t act_max, int wide) {
  const te_dw_dsp d = te_dw_make(input, in_h, in_w, channels, blocks, k_h, k_w, out_h, out_w, stride_h, stride_w,
                                 dilation_h, dilation_w, pad_top, pad_left, input_offset, output_offset, act_min,
                                 act_max, wide);
  const int groups_end = channels & ~3;
  for (int c = 0; c < groups_end; c += 4) {
    const te_dw_src src = te_dw_input(&d, c);
    te_dw_run(&d, &src, d.blocks + (c / 4) * TE_DW_BLOCK(k_h, k_w), output + c, channels);
  }
  for (int c = groups_end; c < channels; ++c) {
    for (int oy = 0; oy < out_h; ++oy) {
      for (int ox = 0; ox < out_w; ++ox) output[(oy * out_w + ox) * channels + c] = te_dw_channel(&d, c, oy, ox);
    }
  }
}

void te_depthwise_inplace_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int32_t *blocks,
                                 int k_h, int k_w, int8_t *output, int out_h, int out_w, int stride_h, int stride_w,
                                 int dilation_h, int dilation_w, int pad_top, int pad_left, int32_t input_offset,
                                 int32_t output_offset, int32_t act_min, int32_t act_max, int wide, int padded,
                                 void *scratch) {
  const te_dw_dsp d = te_dw_make(input, in_h, in_w, channels, blocks, k_h, k_w, out_h, out_w, stride_h, stride_w,
                                 dilation_h, dilation_w, pad_top, pad_left, input_offset, output_offset, act_min,
                                 act_max, wide);
  const int pixels = out_h * out_w;
  int8_t *plane = (int8_t *)scratch;
  for (int c = 0; c < channels; c += 4) {
    const int n = TE_MIN(4, channels - c);
    const int32_t *blk = blocks + (c / 4) * TE_DW_BLOCK(k_h, k_w);
    if (n == 4 && padded) { /* the group's input is copied out: its bytes take the output at once */
      const te_dw_src src = te_dw_pad(&d, c, plane, c == 0);
      te_dw_run(&d, &src, blk, output + c, channels);
      continue;
    }
    if (n == 4) {
      const te_dw_src src = te_dw_input(&d, c);
      te_dw_run(&d, &src, blk, plane, 4);
    } else {
      for (int p = 0; p < pixels; ++p) {
        for (int j = 0; j < n; ++j) plane[4 * p + j] = te_dw_channel(&d, c + j, p / out_w, p % out_w);
      }
    }
    /* Input channels [c, c + n) are consumed: their bytes take the output. */
    if (n == 4) {
      for (int p = 0; p < pixels; ++p) te_dsp_store32(output + p * channels + c, te_dsp_load32(plane + 4 * p));
    } else {
      for (int p = 0; p < pixels; ++p) {
        for (int j = 0; j < n; ++j) output[p * channels + c + j] = plane[4 * p + j];
      }
    }
  }
}
