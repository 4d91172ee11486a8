/* ARMv7E-M (Cortex-M4/M7) DSP helpers shared by the te_*_dsp kernels.
 *
 * Only Cortex-M folders include this file (the lowerings pick a te_*_dsp
 * kernel when LowerOptions.target is cortex-m4/m7); everything else uses the
 * portable kernels. The intrinsics are GCC's ACLE ones (arm_acle.h) plus
 * SMMLAR, which ACLE lacks, as one line of inline assembly.
 *
 * Packed int16 pairs: SXTB16 sign-extends bytes 0 and 2 of a word into two
 * int16 lanes, SXTB16 of the word rotated by 8 bytes 1 and 3. So a 4-byte
 * chunk (b0, b1, b2, b3) becomes the pairs (b0, b2) and (b1, b3); inputs and
 * weights are both taken in that order, and SMLAD((x0,x2),(w0,w2)) +
 * SMLAD((x1,x3),(w1,w3)) is the chunk's dot product.
 *
 * Requantisation (te_dsp_requant) is TFLM's MultiplyByQuantizedMultiplier in
 * a shorter but identical form, valid under two conditions the lowering
 * proves from the constant weights and bias before it picks a DSP kernel
 * (engine/ops/_dsp.py):
 *   (a) shift < 0 for every channel with a nonzero multiplier, so TFLM's left
 *       shift is 0 and its right shift e = -shift >= 1 (a zero multiplier
 *       gives 0 for any e; the lowering then uses e = 1);
 *   (b) |acc| < 2^29 for every possible accumulator.
 * Proof. With m >= 0 and no saturation (m < 2^31), gemmlowp's
 * SaturatingRoundingDoublingHighMul is y = trunc((acc*m + nudge) / 2^31) with
 * nudge = 2^30 for acc*m >= 0 and 1 - 2^30 otherwise; for both signs that is
 * y = floor((acc*m + 2^30) / 2^31). SMMLAR(2*acc, m, c) is
 * c + floor((2*acc*m + 2^31) / 2^32) = c + y (2*acc fits by (b)).
 * RoundingDivideByPOT(y, e) rounds half away from zero; writing
 * y = q*2^e + r it returns q + [r >= 2^(e-1) + [y<0]], which is
 * floor((y + 2^(e-1) - [y<0]) / 2^e). Finally [y<0] may be replaced by
 * [acc<0]: they differ only when acc < 0 and y = 0, and then
 * floor((2^(e-1) - 1) / 2^e) = 0 = floor(2^(e-1) / 2^e). By (b) |y| < 2^29,
 * so y + 2^(e-1) (e <= 31) never leaves int32.
 */
#ifndef TE_DSP_H
#define TE_DSP_H

#if !defined(__ARM_FEATURE_DSP)
#error "te_*_dsp kernels need the ARMv7E-M DSP extension (-mcpu=cortex-m4 or cortex-m7)"
#endif

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

/* The kernels' inline-assembly loops need 13 registers; unoptimised builds
 * keep r7 as the frame pointer and spill operands, leaving too few, so they
 * (and anyone defining TE_DSP_NO_ASM) get the C form of every loop. */
#if !defined(TE_DSP_NO_ASM) && !defined(__OPTIMIZE__)
#define TE_DSP_NO_ASM 1
#endif

/* Per output channel, the DSP kernels read 4 int32 parameters. */
#define TE_DSP_PARAMS 4 /* bias, multiplier, 2^(e-1), e */

/* A 32-bit load from any address: Cortex-M4/M7 LDR allows unaligned words. */
static inline uint32_t te_dsp_load32(const void *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline void te_dsp_store32(void *p, uint32_t v) { memcpy(p, &v, 4); }

static inline uint32_t te_dsp_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

/* Two words from an 8-byte aligned address in one LDRD. */
static inline uint64_t te_dsp_load64(const void *p) { return *(const uint64_t *)p; }

/* v in both int16 lanes, as SXTAB16 adds it (the input offset). */
static inline uint32_t te_dsp_pair(int32_t v) { return ((uint32_t)v & 0xFFFFu) * 0x10001u; }

/* Bytes 0 and 2 of x as int16 lanes (SXTB16). */
static inline int32_t te_dsp_even(uint32_t x) { return (int32_t)__sxtb16(x); }

/* Bytes 1 and 3 of x as int16 lanes: SXTB16 with its free rotation, which
 * GCC does not fold from a separate rotate. */
static inline int32_t te_dsp_odd(uint32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}

/* a + bytes 1 and 3 of x (SXTAB16 with rotation). */
static inline int32_t te_dsp_odd_add(uint32_t a, uint32_t x) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}

/* c + round(a * b / 2^32) with the rounding of SMMLAR (add 2^31, floor). */
static inline int32_t te_dsp_smmlar(int32_t a, int32_t b, int32_t c) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}

/* TFLM's MultiplyByQuantizedMultiplier(acc, p[1], -p[3]) under the
 * conditions in the file comment; p = {bias, multiplier, 2^(e-1), e}. The
 * addend p[2] may also hold output_offset * 2^e, which then comes out added:
 * floor((y + 2^(e-1) - [acc<0] + off * 2^e) / 2^e) = q + off, and for
 * e <= 23 (the lowering checks) |y| + 2^(e-1) + 128 * 2^e
 * < 2^29 + 2^22 + 2^30 < 2^31: nothing leaves int32. */
static inline int32_t te_dsp_requant(int32_t acc, const int32_t *p) {
  return te_dsp_smmlar(acc * 2, p[1], p[2] + (acc >> 31)) >> p[3];
}

/* The same for an accumulator that is already 2 * acc (doubled weights and
 * bias); mre = {multiplier, addend, e}. 2 * acc has acc's sign. */
static inline int32_t te_dsp_requant2(int32_t acc2, const int32_t *mre) {
  return te_dsp_smmlar(acc2, mre[0], mre[1] + (acc2 >> 31)) >> mre[2];
}

/* The same for any int32 accumulator (condition (a) only), in 64 bits;
 * mre = {multiplier, addend, e}: the two roundings combine into one floor,
 * floor((acc*m + 2^30 + (addend - [acc<0]) * 2^31) / 2^(31+e)), because
 * floor((floor(X / B) + C) / D) = floor((X + C*B) / (B*D)) for integer C and
 * positive B, D. |acc*m| < 2^62 and the addend term < 2^61: no overflow. */
static inline int32_t te_dsp_requant_wide3(int32_t acc, const int32_t *mre) {
  const int64_t t = (int64_t)mre[1] + (acc >> 31);
  const int64_t v = (int64_t)acc * mre[0] + t * ((int64_t)1 << 31) + (1 << 30);
  return (int32_t)(v >> 32) >> (mre[2] - 1);
}

static inline int32_t te_dsp_requant_wide(int32_t acc, const int32_t *p) { return te_dsp_requant_wide3(acc, p + 1); }

/* Chunk k (bytes 4k .. 4k+3) of x as a word, the bytes outside [lo, hi) replaced by the zero
 * point zp (x + offset = 0), so no read leaves the valid bytes. */
static inline uint32_t te_dsp_chunk_within(const int8_t *x, int k, int lo, int hi, int8_t zp) {
  if (4 * k >= lo && 4 * k + 4 <= hi) return te_dsp_load32(x + 4 * k);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    const int pos = 4 * k + i;
    v = (v << 8) | (uint8_t)(pos >= lo && pos < hi ? x[pos] : zp);
  }
  return v;
}

/* acc += the chunk in pairs (x02, x13), local to the caller, times a channel's 4 weight bytes v. */
#define TE_DSP_MAC_CHUNK(acc, v)                 \
  do {                                           \
    acc = __smlad(x02, te_dsp_even(v), acc);     \
    acc = __smlad(x13, te_dsp_odd(v), acc);      \
  } while (0)

/* Kernel variants, a constant at every call site of te_dsp_output:
 * TE_DSP_CLAMP when the activation range is not all of int8 (otherwise SSAT
 * alone clamps), TE_DSP_WIDE when accumulators may reach 2^29. */
#define TE_DSP_CLAMP 1
#define TE_DSP_WIDE 2

/* The int8 output: requantised, plus the output zero point, clamped. */
static inline __attribute__((always_inline)) int8_t te_dsp_output(int32_t acc, const int32_t *p, int32_t out_offset,
                                                                  int32_t act_min, int32_t act_max, int mode) {
  const int32_t q = (mode & TE_DSP_WIDE) ? te_dsp_requant_wide(acc, p) : te_dsp_requant(acc, p);
  int32_t r = __ssat(q + out_offset, 8);
  if (!(mode & TE_DSP_CLAMP)) return (int8_t)r;
  r = r < act_min ? act_min : r;
  return (int8_t)(r > act_max ? act_max : r);
}

/* The mode of a call from its activation range and the lowering's `wide`. */
static inline int te_dsp_mode(int32_t act_min, int32_t act_max, int wide) {
  return (act_min == -128 && act_max == 127 ? 0 : TE_DSP_CLAMP) | (wide ? TE_DSP_WIDE : 0);
}

#endif /* TE_DSP_H */
