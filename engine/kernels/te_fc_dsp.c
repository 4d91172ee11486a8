/* int8 FULLY_CONNECTED for Cortex-M4/M7 (DSP extension); see te_fc_dsp.h. */
#include "te_fc_dsp.h"

#include "te_dsp.h"

#if !defined(TE_DSP_NO_ASM)
/* One channel's chunk: r5 = its weight word at [W] (post-increment), then
 * ACC += (x0, x2) * (w0, w2) + (x1, x3) * (w1, w3) with r4 = the even pair. */
#define TE_FC_CHANNEL(ACC, W)               \
  "ldr r5, [%[" W "]], #4\n\t"             \
  "sxtb16 r4, r5\n\t"                      \
  "sxtb16 r5, r5, ror #8\n\t"              \
  "smlad " ACC ", %[x02], r4, " ACC "\n\t" \
  "smlad " ACC ", %[x13], r5, " ACC "\n\t"

/* te_fc4_chunks_dsp (te_fc_dsp.h). C's form of this loop made GCC spill
 * and recompute addresses (37 instructions per chunk against 23 here). An
 * external function: it needs 13 registers, more than an inlined asm
 * statement gets inside a loop. */
void te_fc4_chunks_dsp(const int8_t *x, int chunks, const int8_t *w0, const int8_t *w1, uint32_t offset2,
                       int32_t *acc) {
  register int32_t a0 __asm__("r0") = acc[0], a1 __asm__("r1") = acc[1], a2 __asm__("r2") = acc[2],
                                        a3 __asm__("r3") = acc[3];
  register int32_t t4 __asm__("r4"), t5 __asm__("r5");
  const int8_t *end = x + 4 * chunks;
  int32_t x02, x13;
  __asm__ volatile(
      "1:\n\t"
      "ldr %[x13], [%[x]], #4\n\t"
      "sxtab16 %[x02], %[off], %[x13]\n\t"
      "sxtab16 %[x13], %[off], %[x13], ror #8\n\t"
      TE_FC_CHANNEL("r0", "w0") TE_FC_CHANNEL("r1", "w0") TE_FC_CHANNEL("r2", "w1") TE_FC_CHANNEL("r3", "w1")
      "cmp %[x], %[end]\n\t"
      "bne 1b\n\t"
      : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "=&r"(t4), "=&r"(t5), [x] "+&r"(x), [w0] "+&r"(w0),
        [w1] "+&r"(w1), [x02] "=&r"(x02), [x13] "=&r"(x13)
      : [off] "r"(offset2), [end] "r"(end)
      : "cc", "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#else
void te_fc4_chunks_dsp(const int8_t *x, int chunks, const int8_t *w0, const int8_t *w1, uint32_t offset2,
                       int32_t *acc) {
  for (int k = 0; k < chunks; ++k, x += 4, w0 += 8, w1 += 8) {
    const uint32_t v = te_dsp_load32(x);
    const int32_t x02 = (int32_t)__sxtab16(offset2, v), x13 = te_dsp_odd_add(offset2, v);
    TE_DSP_MAC_CHUNK(acc[0], te_dsp_load32(w0));
    TE_DSP_MAC_CHUNK(acc[1], te_dsp_load32(w0 + 4));
    TE_DSP_MAC_CHUNK(acc[2], te_dsp_load32(w1));
    TE_DSP_MAC_CHUNK(acc[3], te_dsp_load32(w1 + 4));
  }
}
#endif

/* Output channels [o, o + n) of one row, n in {1, 2, 4}: the input chunk is
 * widened once per n channels, in registers (no scratch). */
static inline __attribute__((always_inline)) void te_fc_block(const int8_t *x, int depth, const int8_t *filter,
                                                              const int32_t *params, int o, int n, uint32_t offset2,
                                                              int8_t zp, int8_t *out, int32_t out_offset,
                                                              int32_t act_min, int32_t act_max, int mode) {
  const int chunks = (depth + 3) / 4;
  const int32_t *p = params + o * TE_DSP_PARAMS;
  int32_t acc[4] = {p[0], n > 1 ? p[TE_DSP_PARAMS] : 0, n > 2 ? p[2 * TE_DSP_PARAMS] : 0,
                    n > 2 ? p[3 * TE_DSP_PARAMS] : 0};
  const int8_t *w0 = filter + (o / 2) * chunks * 8; /* pair (o, o+1), or the odd last channel */
  const int8_t *w1 = w0 + chunks * 8;                /* pair (o+2, o+3) */
  int k = 0;
  if (n == 4 && depth >= 4) {
    k = depth / 4;
    te_fc4_chunks_dsp(x, k, w0, w1, offset2, acc);
  }
  for (; k < chunks; ++k) {
    /* Whole chunks load directly; only a last partial chunk is assembled. */
    const uint32_t v = k < depth / 4 ? te_dsp_load32(x + 4 * k) : te_dsp_chunk_within(x, k, 0, depth, zp);
    const int32_t x02 = (int32_t)__sxtab16(offset2, v), x13 = te_dsp_odd_add(offset2, v);
    if (n == 4) {
      const uint64_t u = te_dsp_load64(w0 + 8 * k), t = te_dsp_load64(w1 + 8 * k);
      TE_DSP_MAC_CHUNK(acc[0], (uint32_t)u);
      TE_DSP_MAC_CHUNK(acc[1], (uint32_t)(u >> 32));
      TE_DSP_MAC_CHUNK(acc[2], (uint32_t)t);
      TE_DSP_MAC_CHUNK(acc[3], (uint32_t)(t >> 32));
    } else if (n == 2) {
      const uint64_t u = te_dsp_load64(w0 + 8 * k);
      TE_DSP_MAC_CHUNK(acc[0], (uint32_t)u);
      TE_DSP_MAC_CHUNK(acc[1], (uint32_t)(u >> 32));
    } else {
      TE_DSP_MAC_CHUNK(acc[0], te_dsp_load32(w0 + 4 * k));
    }
  }
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
      te_fc_block(x, depth, filter, params, o, 4, offset2, zp, out, output_offset, act_min, act_max, mode);
    }
    for (; o + 2 <= out_c; o += 2) {
      te_fc_block(x, depth, filter, params, o, 2, offset2, zp, out, output_offset, act_min, act_max, mode);
    }
    if (o < out_c) {
      te_fc_block(x, depth, filter, params, o, 1, offset2, zp, out, output_offset, act_min, act_max, mode);
    }
  }
}
