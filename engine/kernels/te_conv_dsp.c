/* int8 convolutions for Cortex-M4/M7 (DSP extension); see te_conv_dsp.h.
 *
 * Conv scratch (TE_CONV_DSP_SCRATCH bytes, 16-byte aligned) holds the
 * widened columns, chunks * 16 bytes: for chunk k the words
 * [A02, A13, B02, B13] of columns A and B (pairs in SXTB16 order, te_dsp.h),
 * then one segment of int8 staging for segments that cannot be widened
 * straight from the input.
 */
#include "te_conv_dsp.h"

#include "te_fc_dsp.h"

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

/* Output channels [o, out_c) of columns A and B (B skipped when out_b is
 * NULL); o is 0 or the last odd channel. */
static inline __attribute__((always_inline)) void te_dsp_mat2_body(const int32_t *cols, int chunks, const int8_t *w,
                                                                   const int32_t *params, int o, int out_c,
                                                                   int8_t *out_a, int8_t *out_b, int32_t out_offset,
                                                                   int32_t act_min, int32_t act_max, int mode) {
  w += (o / 2) * chunks * 8;
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

#if !defined(TE_DSP_NO_ASM)
/* Loop state of te_dsp_mat2_pairs kept in memory: the chunks need every
 * register. */
typedef struct {
  int8_t *out_a, *out_b;     /* the next pair's outputs in columns A and B */
  const int32_t *p, *p_end;  /* the next pair's params; after the last */
  const int32_t *cols, *end; /* the widened columns */
  int odd;                   /* chunks is odd */
  uint32_t entry;            /* where a pair's chunk loop starts (Thumb bit set): 3f, or 5f when odd */
  int32_t out_offset;        /* added after requantising when not folded */
  const int8_t *w_saved;     /* the weight pointer while its register holds out_offset */
} te_mat2_loop;

/* One chunk of both columns times channels o, o+1: r6/r8 = the weight
 * words, r12/lr and r6/r8 their pairs (SXTB16 order), r4/r5 a column's
 * pairs; acc r0 = (o, A), r1 = (o+1, A), r2 = (o, B), r3 = (o+1, B). */
#define TE_MAT2_CHUNK                   \
  "ldrd r6, r8, [%[w]], #8\n\t"         \
  "ldrd r4, r5, [%[c]], #8\n\t"         \
  "sxtb16 r12, r6\n\t"                  \
  "sxtb16 r6, r6, ror #8\n\t"           \
  "sxtb16 lr, r8\n\t"                   \
  "sxtb16 r8, r8, ror #8\n\t"           \
  "smlad r0, r4, r12, r0\n\t"           \
  "smlad r0, r5, r6, r0\n\t"            \
  "smlad r1, r4, lr, r1\n\t"            \
  "smlad r1, r5, r8, r1\n\t"            \
  "ldrd r4, r5, [%[c]], #8\n\t"         \
  "smlad r2, r4, r12, r2\n\t"           \
  "smlad r2, r5, r6, r2\n\t"            \
  "smlad r3, r4, lr, r3\n\t"            \
  "smlad r3, r5, r8, r3\n\t"

/* te_dsp_requant of accumulator ACC (r6 = multiplier, r8 = addend, r12 =
 * e), then ADD: "add" when the output offset (in the weight pointer's
 * register, see TE_MAT2_PAIRS) is added here, "@" (an assembler comment)
 * when it is folded into the addend; SSAT; stored at [OUT], post-increment. */
#define TE_MAT2_OUT(ACC, OUT, ADD)                \
  "lsl " ACC ", " ACC ", #1\n\t"                \
  "add %[c], r8, " ACC ", asr #31\n\t"          \
  "smmlar " ACC ", " ACC ", r6, %[c]\n\t"       \
  "asr " ACC ", " ACC ", r12\n\t"               \
  ADD " " ACC ", " ACC ", %[w]\n\t"             \
  "ssat " ACC ", #8, " ACC "\n\t"               \
  "strb " ACC ", [" OUT "], #1\n\t"

/* te_dsp_requant_wide3 of ACC (r12 = e - 1): the 64-bit sum
 * acc * m + addend' * 2^31 + 2^30 in (%[c] low, %[end] high), by SMLAL. */
#define TE_MAT2_OUT_WIDE(ACC, OUT, ADD)           \
  "add %[end], r8, " ACC ", asr #31\n\t"        \
  "lsl %[c], %[end], #31\n\t"                   \
  "orr %[c], %[c], #0x40000000\n\t"             \
  "asr %[end], %[end], #1\n\t"                  \
  "smlal %[c], %[end], " ACC ", r6\n\t"         \
  "asr " ACC ", %[end], r12\n\t"                \
  ADD " " ACC ", " ACC ", %[w]\n\t"             \
  "ssat " ACC ", #8, " ACC "\n\t"               \
  "strb " ACC ", [" OUT "], #1\n\t"

/* The loop over channel pairs; OUT is TE_MAT2_OUT or TE_MAT2_OUT_WIDE,
 * SETUP_E prepares r12 from e, ADD is "add" or "@" (TE_MAT2_OUT). With
 * "add", PARK is "" and the weight pointer is parked in memory while its
 * register holds the output offset; otherwise PARK is "@". */
#define TE_MAT2_PAIRS(OUT, SETUP_E, ADD, PARK)                                        \
  te_mat2_loop s = {out_a, out_b, params, params + 8 * pairs, cols, cols + 4 * chunks, chunks & 1, 0, \
                    out_offset, 0};                                               \
  const int32_t *c = cols, *end = s.end;                                          \
  register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3"); \
  register int32_t t4 __asm__("r4"), t5 __asm__("r5"), t6 __asm__("r6"), t8 __asm__("r8"); \
  __asm__ volatile(                                                               \
      "adr.w r5, 3f\n\t"                                                          \
      "ldr r4, %[odd]\n\t"                                                        \
      "cmp r4, #0\n\t"                                                            \
      "beq 6f\n\t"                                                                \
      "adr.w r5, 5f\n\t" /* odd: enter the two-chunk body at its second chunk */  \
      "6:\n\t"                                                                    \
      "orr r5, r5, #1\n\t"                                                        \
      "str r5, %[entry]\n\t"                                                      \
      "1:\n\t"                                                                    \
      "ldr lr, %[p]\n\t"                                                          \
      "ldr r0, [lr]\n\t"                                                          \
      "ldr r1, [lr, #16]\n\t"                                                     \
      "mov r2, r0\n\t"                                                            \
      "mov r3, r1\n\t"                                                            \
      "ldr pc, %[entry]\n\t" /* one load instead of two tests per pair */         \
      "3:\n\t"                                                                    \
      TE_MAT2_CHUNK                                                               \
      "5:\n\t"                                                                    \
      TE_MAT2_CHUNK                                                               \
      "cmp %[c], %[end]\n\t"                                                      \
      "bne 3b\n\t"                                                                \
      "ldr lr, %[p]\n\t"                                                          \
      "ldrd r4, r5, %[outs]\n\t"                                                  \
      "ldrd r6, r8, [lr, #4]\n\t"                                                 \
      "ldr r12, [lr, #12]\n\t"                                                    \
      PARK "str %[w], %[ws]\n\t"                                                  \
      PARK "ldr %[w], %[off]\n\t"                                                 \
      SETUP_E OUT("r0", "r4", ADD) OUT("r2", "r5", ADD)                           \
      "ldrd r6, r8, [lr, #20]\n\t"                                                \
      "ldr r12, [lr, #28]\n\t"                                                    \
      SETUP_E OUT("r1", "r4", ADD) OUT("r3", "r5", ADD)                           \
      PARK "ldr %[w], %[ws]\n\t"                                                  \
      "strd r4, r5, %[outs]\n\t"                                                  \
      "add lr, lr, #32\n\t"                                                       \
      "str lr, %[p]\n\t"                                                          \
      "ldrd %[c], %[end], %[cols]\n\t"                                            \
      "ldr r4, %[p_end]\n\t"                                                      \
      "cmp lr, r4\n\t"                                                            \
      "bne 1b\n\t"                                                                \
      : "=&r"(a0), "=&r"(a1), "=&r"(a2), "=&r"(a3), "=&r"(t4), "=&r"(t5), "=&r"(t6), "=&r"(t8), \
        [c] "+&r"(c), [end] "+&r"(end), [w] "+&r"(w), [outs] "+m"(s.out_a), [p] "+m"(s.p), \
        [ws] "+m"(s.w_saved), [entry] "+m"(s.entry)                               \
      : [odd] "m"(s.odd), [cols] "m"(s.cols), [p_end] "m"(s.p_end), "m"(s.out_b), "m"(s.end), \
        [off] "m"(s.out_offset)                                                   \
      : "r12", "lr", "cc", "memory")

/* Channel pairs [0, pairs) of columns A and B (out_b may be out_a when both
 * columns hold the same pixel) when the activation range is all of int8.
 * Four copies: accumulators below 2^29 or not (wide), the output offset
 * folded into the addends (out_offset 0) or added. Not inlined: the block
 * needs 13 registers. */
#define TE_MAT2_FUNCTION(NAME, OUT, SETUP_E, ADD, PARK)                                                           \
  static __attribute__((noinline)) void NAME(const int32_t *cols, int chunks, const int8_t *w,               \
                                             const int32_t *params, int pairs, int8_t *out_a, int8_t *out_b, \
                                             int32_t out_offset) {                                           \
    TE_MAT2_PAIRS(OUT, SETUP_E, ADD, PARK);                                                                      \
  }
TE_MAT2_FUNCTION(te_dsp_mat2_pairs, TE_MAT2_OUT, "", "@", "@")
TE_MAT2_FUNCTION(te_dsp_mat2_pairs_off, TE_MAT2_OUT, "", "add", "")
TE_MAT2_FUNCTION(te_dsp_mat2_pairs_wide, TE_MAT2_OUT_WIDE, "sub r12, r12, #1\n\t", "@", "@")
TE_MAT2_FUNCTION(te_dsp_mat2_pairs_wide_off, TE_MAT2_OUT_WIDE, "sub r12, r12, #1\n\t", "add", "")
#endif

/* te_dsp_mat2_body with its mode a constant in each copy; the channel pairs
 * in assembly where the mode allows (see te_dsp_mat2_pairs). */
static void te_dsp_mat2(const int32_t *cols, int chunks, const int8_t *w, const int32_t *params, int out_c,
                        int8_t *out_a, int8_t *out_b, int32_t out_offset, int32_t act_min, int32_t act_max,
                        int mode) {
  int o = 0;
#if !defined(TE_DSP_NO_ASM)
  if (!(mode & TE_DSP_CLAMP) && out_c >= 2) {
    int8_t *b = out_b ? out_b : out_a; /* both columns then hold out_a's pixel */
    const int pairs = out_c / 2;
    if (mode & TE_DSP_WIDE) {
      (out_offset ? te_dsp_mat2_pairs_wide_off : te_dsp_mat2_pairs_wide)(cols, chunks, w, params, pairs, out_a, b,
                                                                           out_offset);
    } else {
      (out_offset ? te_dsp_mat2_pairs_off : te_dsp_mat2_pairs)(cols, chunks, w, params, pairs, out_a, b,
                                                                 out_offset);
    }
    if (!(out_c & 1)) return;
    o = out_c - 1;
  }
#endif
  switch (mode) {
    case 0:
      te_dsp_mat2_body(cols, chunks, w, params, o, out_c, out_a, out_b, out_offset, act_min, act_max, 0);
      break;
    case TE_DSP_CLAMP:
      te_dsp_mat2_body(cols, chunks, w, params, o, out_c, out_a, out_b, out_offset, act_min, act_max,
                       TE_DSP_CLAMP);
      break;
    case TE_DSP_WIDE:
      te_dsp_mat2_body(cols, chunks, w, params, o, out_c, out_a, out_b, out_offset, act_min, act_max,
                       TE_DSP_WIDE);
      break;
    default:
      te_dsp_mat2_body(cols, chunks, w, params, o, out_c, out_a, out_b, out_offset, act_min, act_max,
                       TE_DSP_WIDE | TE_DSP_CLAMP);
  }
}

void te_conv1x1_s8_dsp(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *params,
                       int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                       int32_t act_max, int wide) {
  const int mode = te_dsp_mode(act_min, act_max, wide);
  const int chunks = (in_c + 3) / 4;
  const uint32_t offset2 = te_dsp_pair(input_offset);
  /* The widened columns live in the output's last bytes, which no pair
   * below writes (8-byte aligned for LDRD); the pixels whose outputs lie
   * there go through te_fc_s8_dsp, which needs no scratch. */
  int scratch_at = pixels * out_c - 20 * chunks;
  scratch_at -= (int)((uintptr_t)(output + scratch_at) & 7);
  const int paired = scratch_at < 0 ? 0 : (scratch_at / out_c) & ~1;
  int32_t *cols = (int32_t *)(void *)(output + scratch_at);
  int8_t *stage = (int8_t *)(cols + 4 * chunks);
  const int8_t zp = (int8_t)(-input_offset);
  const int input_end = pixels * in_c;
  for (int p = 0; p < paired; p += 2) {
    for (int j = 0; j < 2; ++j) {
      const int8_t *x = input + (p + j) * in_c;
      if (in_c % 4 != 0 && (p + j) * in_c + 4 * chunks > input_end) {
        /* Pad the chunk with the zero point (x + offset = 0); elsewhere the
         * bytes past in_c belong to the next pixel and meet zero weights. */
        for (int i = 0; i < 4 * chunks; ++i) stage[i] = i < in_c ? x[i] : zp;
        x = stage;
      }
      te_dsp_widen(x, chunks, offset2, cols + 2 * j, 4);
    }
    te_dsp_mat2(cols, chunks, filter, params, out_c, output + p * out_c, output + (p + 1) * out_c, output_offset,
                act_min, act_max, mode);
  }
  te_fc_s8_dsp(input + paired * in_c, pixels - paired, in_c, filter, params, output + paired * out_c, out_c,
               input_offset, output_offset, act_min, act_max, wide);
}

/* Geometry of a te_conv2d_s8_dsp call. */
typedef struct {
  const int8_t *input;
  int in_h, in_w, in_c, k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int32_t input_offset;
  int seg_taps, seg_bytes; /* segments of the filter's depth (te_conv_dsp.h) */
  int input_end;           /* bytes in the input */
} te_conv_dsp_geom;

/* n bytes from src to dst, words while they last (unaligned words are allowed). */
static void te_dsp_copy(int8_t *dst, const int8_t *src, int n) {
  for (; n >= 4; n -= 4, src += 4, dst += 4) te_dsp_store32(dst, te_dsp_load32(src));
  for (; n > 0; --n) *dst++ = *src++;
}

/* One segment of a column: seg_taps consecutive taps of a kernel row
 * starting at input pixel (iy, ix), taps [t0, t1) of it inside the input,
 * into d (column slot and chunk already applied). A whole segment is
 * widened straight from the input, the bytes past its taps included (their
 * weights are zero) as long as they lie inside the input; otherwise it is
 * staged with the zero point (x + offset = 0) for the taps outside and the
 * tail. */
static void te_dsp_im2col_seg(const te_conv_dsp_geom *g, int iy, int ix, int t0, int t1, int32_t *d,
                              uint32_t offset2, int8_t *stage) {
  const int chunks = g->seg_bytes / 4;
  const int start = (iy * g->in_w + ix) * g->in_c;
  if (t0 == 0 && t1 == g->seg_taps && start + g->seg_bytes <= g->input_end) {
    te_dsp_widen(g->input + start, chunks, offset2, d, 4);
    return;
  }
  const int8_t zp = (int8_t)(-g->input_offset);
  for (int i = 0; i < t0 * g->in_c; ++i) stage[i] = zp;
  for (int i = t1 * g->in_c; i < g->seg_bytes; ++i) stage[i] = zp;
  te_dsp_copy(stage + t0 * g->in_c, g->input + start + t0 * g->in_c, (t1 - t0) * g->in_c);
  te_dsp_widen(stage, chunks, offset2, d, 4);
}

/* `rows` segments of `chunks` chunks, `stride` input bytes apart, widened
 * into d (column slot applied): the im2col of a pixel whose window lies
 * inside the input, in simple loops (the general path costs 3x more). */
static void te_dsp_widen_rows(const int8_t *x, int stride, int rows, int chunks, uint32_t offset2, int32_t *d) {
  for (int r = 0; r < rows; ++r, x += stride) {
    const int8_t *s = x;
    for (int k = 0; k < chunks; ++k, s += 4, d += 4) {
      const uint32_t v = te_dsp_load32(s);
      d[0] = (int32_t)__sxtab16(offset2, v);
      d[1] = te_dsp_odd_add(offset2, v);
    }
  }
}

/* Tap (0, 0) of pixel (oy, ox) in the input when its whole window lies
 * inside and its last segment may be read whole (see te_dsp_im2col_seg);
 * NULL otherwise. Only for row segments (dilation_w 1). */
static const int8_t *te_dsp_interior(const te_conv_dsp_geom *g, int oy, int ox) {
  const int iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
  const int last_row = iy0 + (g->k_h - 1) * g->dilation_h;
  if (g->seg_taps != g->k_w || iy0 < 0 || ix0 < 0 || last_row >= g->in_h || ix0 + g->k_w > g->in_w ||
      (last_row * g->in_w + ix0) * g->in_c + g->seg_bytes > g->input_end) {
    return 0;
  }
  return g->input + (iy0 * g->in_w + ix0) * g->in_c;
}

/* Both columns of two interior pixels at once (a: tap (0, 0) of column A,
 * b of column B): per chunk 9 instructions for both, against 9 for one in C.
 * Each segment of chunks is a kernel row, `row` input bytes apart. */
static void te_dsp_im2col2(const te_conv_dsp_geom *g, const int8_t *a, const int8_t *b, int32_t *cols) {
  const int chunks = g->seg_bytes / 4, row = g->dilation_h * g->in_w * g->in_c;
  const uint32_t offset2 = te_dsp_pair(g->input_offset);
#if !defined(TE_DSP_NO_ASM)
  const int ab = (int)(b - a) - 4; /* from A's next chunk to B's current one */
  for (int r = 0; r < g->k_h; ++r, a += row) {
    register int32_t a02 __asm__("r0"), a13 __asm__("r1"), b02 __asm__("r2"), b13 __asm__("r3");
    const int8_t *x = a, *end = a + 4 * chunks;
    __asm__ volatile(
        "1:\n\t"
        "ldr r1, [%[x]], #4\n\t"
        "ldr r3, [%[x], %[ab]]\n\t"
        "sxtab16 r0, %[off], r1\n\t"
        "sxtab16 r1, %[off], r1, ror #8\n\t"
        "sxtab16 r2, %[off], r3\n\t"
        "sxtab16 r3, %[off], r3, ror #8\n\t"
        "stm %[d]!, {r0, r1, r2, r3}\n\t"
        "cmp %[x], %[end]\n\t"
        "bne 1b\n\t"
        : "=&r"(a02), "=&r"(a13), "=&r"(b02), "=&r"(b13), [x] "+&r"(x), [d] "+&r"(cols)
        : [ab] "r"(ab), [off] "r"(offset2), [end] "r"(end)
        : "cc", "memory");
  }
#else
  for (int r = 0; r < g->k_h; ++r, a += row, b += row) {
    te_dsp_widen(a, chunks, offset2, cols, 4);
    te_dsp_widen(b, chunks, offset2, cols + 2, 4);
    cols += 4 * chunks;
  }
#endif
}

/* im2col of output pixel (oy, ox) into column slot `col` (0 or 1) of cols. */
static void te_dsp_im2col(const te_conv_dsp_geom *g, int oy, int ox, int32_t *cols, int col, int8_t *stage) {
  const int iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
  const int last_row = iy0 + (g->k_h - 1) * g->dilation_h;
  if (g->seg_taps == g->k_w && iy0 >= 0 && ix0 >= 0 && last_row < g->in_h && ix0 + g->k_w <= g->in_w &&
      (last_row * g->in_w + ix0) * g->in_c + g->seg_bytes <= g->input_end) {
    te_dsp_widen_rows(g->input + (iy0 * g->in_w + ix0) * g->in_c, g->dilation_h * g->in_w * g->in_c, g->k_h,
                      g->seg_bytes / 4, te_dsp_pair(g->input_offset), cols + 2 * col);
    return;
  }
  int ky0, ky1, kx0, kx1;
  te_tap_range(iy0, g->in_h, g->k_h, g->dilation_h, &ky0, &ky1);
  te_tap_range(ix0, g->in_w, g->k_w, g->dilation_w, &kx0, &kx1);
  const uint32_t offset2 = te_dsp_pair(g->input_offset);
  const int chunks = g->seg_bytes / 4, n = g->seg_taps;
  int32_t *d = cols + 2 * col;
  for (int ky = 0; ky < g->k_h; ++ky) {
    for (int t = 0; t < g->k_w; t += n, d += 4 * chunks) {
      const int t0 = TE_MAX(kx0, t) - t, t1 = TE_MIN(kx1, t + n) - t;
      if (ky < ky0 || ky >= ky1 || t0 >= t1) {
        te_dsp_zero(d, chunks, 4);
      } else {
        te_dsp_im2col_seg(g, iy0 + ky * g->dilation_h, ix0 + t * g->dilation_w, t0, t1, d, offset2, stage);
      }
    }
  }
}

static void te_conv_direct(const te_conv_dsp_geom *g, int oy, int ox, const int8_t *filter, const int32_t *params,
                           int out_c, int8_t *out, int32_t out_offset, int32_t act_min, int32_t act_max, int mode);

void te_conv2d_s8_dsp(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                      const int32_t *params, int8_t *output, int out_h, int out_w, int out_c, int stride_h,
                      int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left, int32_t input_offset,
                      int32_t output_offset, int32_t act_min, int32_t act_max, int wide, void *scratch) {
  const int mode = te_dsp_mode(act_min, act_max, wide);
  const int seg_taps = TE_CONV_DSP_SEG_TAPS(k_w, dilation_w), seg_bytes = TE_CONV_DSP_SEG_BYTES(seg_taps, in_c);
  const te_conv_dsp_geom g = {input,    in_h,     in_w,      in_c,     k_h,          k_w,      stride_h,
                              stride_w, dilation_h, dilation_w, pad_top, pad_left, input_offset, seg_taps,
                              seg_bytes, in_h * in_w * in_c};
  const int chunks = k_h * (k_w / seg_taps) * seg_bytes / 4;
  const int pixels = out_h * out_w;
  int paired = pixels;
  if (!scratch) {
    /* No scratch given: the columns use the output's last bytes (8-byte
     * aligned), which no pair below writes; the pixels whose outputs lie
     * there are computed straight from the input (te_conv_direct). */
    int at = pixels * out_c - 16 * chunks - seg_bytes;
    at -= (int)((uintptr_t)(output + at) & 7);
    paired = at < 0 ? 0 : (at / out_c) & ~1;
    scratch = output + (at < 0 ? 0 : at);
  }
  int32_t *cols = (int32_t *)scratch;
  int8_t *stage = (int8_t *)(cols + 4 * chunks);
  for (int p = 0; p < paired; p += 2) {
    const int two = p + 1 < paired;
    const int q = two ? p + 1 : p; /* a lone last pixel fills both columns */
    const int8_t *a = te_dsp_interior(&g, p / out_w, p % out_w), *b = a ? te_dsp_interior(&g, q / out_w, q % out_w) : 0;
    if (b) {
      te_dsp_im2col2(&g, a, b, cols);
    } else {
      te_dsp_im2col(&g, p / out_w, p % out_w, cols, 0, stage);
      te_dsp_im2col(&g, q / out_w, q % out_w, cols, 1, stage);
    }
    te_dsp_mat2(cols, chunks, filter, params, out_c, output + p * out_c, two ? output + q * out_c : 0,
                output_offset, act_min, act_max, mode);
  }
  for (int p = paired; p < pixels; ++p) {
    te_conv_direct(&g, p / out_w, p % out_w, filter, params, out_c, output + p * out_c, output_offset, act_min,
                   act_max, mode);
  }
}

/* acc[0..n) += the chunk v (its pairs x02, x13) times chunk k of the n
 * channels' weights (w0: a pair's or the odd channel's stream, w1: the next pair's). */
static inline __attribute__((always_inline)) void te_conv_direct_mac(int n, uint32_t v, uint32_t offset2,
                                                                     const int8_t *w0, const int8_t *w1, int k,
                                                                     int32_t *acc) {
  const int32_t x02 = (int32_t)__sxtab16(offset2, v), x13 = te_dsp_odd_add(offset2, v);
  if (n == 1) {
    TE_DSP_MAC_CHUNK(acc[0], te_dsp_load32(w0 + 4 * k));
    return;
  }
  TE_DSP_MAC_CHUNK(acc[0], te_dsp_load32(w0 + 8 * k));
  TE_DSP_MAC_CHUNK(acc[1], te_dsp_load32(w0 + 8 * k + 4));
  if (n == 4) {
    TE_DSP_MAC_CHUNK(acc[2], te_dsp_load32(w1 + 8 * k));
    TE_DSP_MAC_CHUNK(acc[3], te_dsp_load32(w1 + 8 * k + 4));
  }
}

/* Channels [o, o + n) (n in {1, 2, 4}) of output pixel (oy, ox) straight from
 * the input, segment by segment, no scratch: the conv's last pixels when its
 * columns borrow the output's end. Segments outside the input add nothing. */
static void te_conv_direct_block(const te_conv_dsp_geom *g, int oy, int ox, const int8_t *filter,
                                 const int32_t *params, int o, int n, int32_t *acc) {
  const int iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
  int ky0, ky1, kx0, kx1;
  te_tap_range(iy0, g->in_h, g->k_h, g->dilation_h, &ky0, &ky1);
  te_tap_range(ix0, g->in_w, g->k_w, g->dilation_w, &kx0, &kx1);
  const int seg_chunks = g->seg_bytes / 4, taps = g->seg_taps, segs = g->k_w / taps;
  const int chunks = g->k_h * segs * seg_chunks;
  const uint32_t offset2 = te_dsp_pair(g->input_offset);
  const int8_t zp = (int8_t)(-g->input_offset);
  const int8_t *w0 = filter + (o / 2) * chunks * 8, *w1 = w0 + chunks * 8;
  for (int j = 0; j < n; ++j) acc[j] = params[(o + j) * TE_DSP_PARAMS];
  for (int ky = ky0; ky < ky1; ++ky) {
    for (int s = 0; s < segs; ++s) {
      const int t = s * taps, t0 = TE_MAX(kx0, t) - t, t1 = TE_MIN(kx1, t + taps) - t;
      if (t0 >= t1) continue;
      const int start = ((iy0 + ky * g->dilation_h) * g->in_w + ix0 + t * g->dilation_w) * g->in_c;
      const int8_t *x = g->input + start;
      const int k0 = (ky * segs + s) * seg_chunks;
      const int whole = t0 == 0 && t1 == taps && start + g->seg_bytes <= g->input_end;
      if (whole && n == 4) {
        te_fc4_chunks_dsp(x, seg_chunks, w0 + 8 * k0, w1 + 8 * k0, offset2, acc);
        continue;
      }
      for (int j = 0; j < seg_chunks; ++j) {
        /* x is the segment's first tap; only the bytes of taps [t0, t1) lie inside the input. */
        const uint32_t v =
            whole ? te_dsp_load32(x + 4 * j) : te_dsp_chunk_within(x, j, t0 * g->in_c, t1 * g->in_c, zp);
        te_conv_direct_mac(n, v, offset2, w0, w1, k0 + j, acc);
      }
    }
  }
}

static void te_conv_direct(const te_conv_dsp_geom *g, int oy, int ox, const int8_t *filter, const int32_t *params,
                           int out_c, int8_t *out, int32_t out_offset, int32_t act_min, int32_t act_max, int mode) {
  int32_t acc[4];
  for (int o = 0; o < out_c;) {
    const int n = out_c - o >= 4 ? 4 : out_c - o >= 2 ? 2 : 1;
    te_conv_direct_block(g, oy, ox, filter, params, o, n, acc);
    for (int j = 0; j < n; ++j) {
      out[o + j] = te_dsp_output(acc[j], params + (o + j) * TE_DSP_PARAMS, out_offset, act_min, act_max, mode);
    }
    o += n;
  }
}
