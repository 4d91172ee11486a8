/* Broadcasting int8 ADD / SUB / MUL; see te_elementwise.h for the shape descriptor.
 *
 * Arithmetic, per element (TFLM reference, double rounding throughout):
 *  ADD/SUB: v = (x + offset) << 20 fits easily in int32 (|x + offset| <= 255);
 *           each v is scaled by a multiplier < 1 to the common scale 2*max(s1,s2),
 *           so the sum of two fits too; the sum is requantised to the output.
 *  MUL:     (x1 + o1) * (x2 + o2) is at most 255 * 255 in magnitude, requantised
 *           with the multiplier s1 * s2 / s_out (which may shift left).
 */
#include "te_elementwise.h"

#include "te_common.h"

enum { TE_BCAST_AXES = 6 };

typedef struct {
  int32_t in1_offset, in1_multiplier, in1_shift;
  int32_t in2_offset, in2_multiplier, in2_shift;
  int32_t left_shift, out_multiplier, out_shift, out_offset, act_min, act_max;
  int32_t subtract; /* 1 for SUB */
} te_add_params;

typedef struct {
  int32_t in1_offset, in2_offset, out_multiplier, out_shift, out_offset, act_min, act_max;
} te_mul_params;

typedef struct {
  const int32_t *table1, *table2; /* indexed by value + 128 */
  int32_t out_multiplier, out_shift, out_offset, act_min, act_max;
} te_add_lut_params;

typedef struct {
  int32_t input_offset, alpha_offset, multiplier_1, shift_1, multiplier_2, shift_2, out_offset;
} te_prelu_params;

/* TFLM's MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0 only,
 * so no left-shift step (ADD/SUB/SQUARED_DIFFERENCE multipliers are < 1). */
static inline int32_t te_requantize_down(int32_t x, int32_t multiplier, int32_t shift) {
  return te_rounding_divide_by_pot(te_sat_rounding_doubling_high_mul(x, multiplier), -shift);
}

static inline int8_t te_add_elem(int8_t x, int8_t y, const te_add_params p) {
  const int32_t shifted1 = (p.in1_offset + x) * (1 << p.left_shift);
  const int32_t shifted2 = (p.in2_offset + y) * (1 << p.left_shift);
  const int32_t scaled1 = te_requantize_down(shifted1, p.in1_multiplier, p.in1_shift);
  const int32_t scaled2 = te_requantize_down(shifted2, p.in2_multiplier, p.in2_shift);
  const int32_t raw = p.subtract ? scaled1 - scaled2 : scaled1 + scaled2;
  const int32_t out = te_requantize_down(raw, p.out_multiplier, p.out_shift) + p.out_offset;
  return te_clamp_s8(out, p.act_min, p.act_max);
}

static inline int8_t te_add_lut_elem(int8_t x, int8_t y, const te_add_lut_params p) {
  const int32_t raw = p.table1[x + 128] + p.table2[y + 128];
  const int32_t out = te_requantize_down(raw, p.out_multiplier, p.out_shift) + p.out_offset;
  return te_clamp_s8(out, p.act_min, p.act_max);
}

static inline int8_t te_squared_difference_elem(int8_t x, int8_t y, const te_add_params p) {
  const int32_t scaled1 = te_requantize_down((p.in1_offset + x) * (1 << p.left_shift), p.in1_multiplier, p.in1_shift);
  const int32_t scaled2 = te_requantize_down((p.in2_offset + y) * (1 << p.left_shift), p.in2_multiplier, p.in2_shift);
  /* |d| <= 255 * 2^7 / 2 after scaling, so d * d < 2^31. */
  const int32_t d = scaled1 - scaled2;
  const int32_t out = te_requantize(d * d, p.out_multiplier, p.out_shift) + p.out_offset;
  return te_clamp_s8(out, INT8_MIN, INT8_MAX);
}

static inline int8_t te_mul_elem(int8_t x, int8_t y, const te_mul_params p) {
  const int32_t product = (p.in1_offset + x) * (p.in2_offset + y);
  const int32_t out = p.out_offset + te_requantize(product, p.out_multiplier, p.out_shift);
  return te_clamp_s8(out, p.act_min, p.act_max);
}

static inline int8_t te_max_elem(int8_t x, int8_t y, const int unused) {
  (void)unused;
  return x > y ? x : y;
}

static inline int8_t te_min_elem(int8_t x, int8_t y, const int unused) {
  (void)unused;
  return x < y ? x : y;
}

static inline int8_t te_prelu_elem(int8_t x, int8_t alpha, const te_prelu_params p) {
  const int32_t v = p.input_offset + x;
  /* |v * (alpha + offset)| <= 255 * 255: the product cannot overflow. */
  const int32_t out = v >= 0 ? te_requantize(v, p.multiplier_1, p.shift_1)
                             : te_requantize(v * (p.alpha_offset + alpha), p.multiplier_2, p.shift_2);
  return te_clamp_s8(out + p.out_offset, INT8_MIN, INT8_MAX);
}

/* The six-level broadcast walk, shared by every op through a macro so the
 * element function inlines (C99 has no templates). Parameters travel by value
 * in a struct whose address is never taken: stores through the int8 output
 * pointer could otherwise alias them and force a reload per element. */
#define TE_BROADCAST_LOOP(ELEM, PARAMS)                                                          \
  do {                                                                                           \
    const int32_t *e = bcast, *s1 = bcast + TE_BCAST_AXES, *s2 = bcast + 2 * TE_BCAST_AXES;        \
    int32_t i0, i1, i2, i3, i4, i5;                                                              \
    for (i0 = 0; i0 < e[0]; ++i0)                                                                \
      for (i1 = 0; i1 < e[1]; ++i1)                                                              \
        for (i2 = 0; i2 < e[2]; ++i2)                                                            \
          for (i3 = 0; i3 < e[3]; ++i3)                                                          \
            for (i4 = 0; i4 < e[4]; ++i4) {                                                      \
              const int8_t *a = in1 + i0 * s1[0] + i1 * s1[1] + i2 * s1[2] + i3 * s1[3] + i4 * s1[4]; \
              const int8_t *b = in2 + i0 * s2[0] + i1 * s2[1] + i2 * s2[2] + i3 * s2[3] + i4 * s2[4]; \
              for (i5 = 0; i5 < e[5]; ++i5) *out++ = ELEM(a[i5 * s1[5]], b[i5 * s2[5]], PARAMS);   \
            }                                                                                    \
  } while (0)

static void te_add_sub_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast,
                          const te_add_params p) {
  TE_BROADCAST_LOOP(te_add_elem, p);
}

void te_add_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, int32_t in1_offset,
               int32_t in1_multiplier, int32_t in1_shift, int32_t in2_offset, int32_t in2_multiplier,
               int32_t in2_shift, int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
               int32_t out_offset, int32_t act_min, int32_t act_max) {
  const te_add_params p = {in1_offset, in1_multiplier, in1_shift, in2_offset, in2_multiplier, in2_shift,
                           left_shift, out_multiplier, out_shift, out_offset, act_min, act_max, 0};
  te_add_sub_s8(in1, in2, out, bcast, p);
}

void te_sub_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, int32_t in1_offset,
               int32_t in1_multiplier, int32_t in1_shift, int32_t in2_offset, int32_t in2_multiplier,
               int32_t in2_shift, int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
               int32_t out_offset, int32_t act_min, int32_t act_max) {
  const te_add_params p = {in1_offset, in1_multiplier, in1_shift, in2_offset, in2_multiplier, in2_shift,
                           left_shift, out_multiplier, out_shift, out_offset, act_min, act_max, 1};
  te_add_sub_s8(in1, in2, out, bcast, p);
}

void te_mul_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, int32_t in1_offset,
               int32_t in2_offset, int32_t out_multiplier, int32_t out_shift, int32_t out_offset, int32_t act_min,
               int32_t act_max) {
  const te_mul_params p = {in1_offset, in2_offset, out_multiplier, out_shift, out_offset, act_min, act_max};
  TE_BROADCAST_LOOP(te_mul_elem, p);
}

void te_maximum_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast) {
  TE_BROADCAST_LOOP(te_max_elem, 0);
}

void te_minimum_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast) {
  TE_BROADCAST_LOOP(te_min_elem, 0);
}

void te_prelu_s8(const int8_t *input, const int8_t *alpha, int8_t *out, const int32_t *bcast, int32_t input_offset,
                 int32_t alpha_offset, int32_t multiplier_1, int32_t shift_1, int32_t multiplier_2, int32_t shift_2,
                 int32_t out_offset) {
  const te_prelu_params p = {input_offset, alpha_offset, multiplier_1, shift_1, multiplier_2, shift_2, out_offset};
  const int8_t *in1 = input, *in2 = alpha;
  TE_BROADCAST_LOOP(te_prelu_elem, p);
}

void te_squared_difference_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast,
                              int32_t in1_offset, int32_t in1_multiplier, int32_t in1_shift, int32_t in2_offset,
                              int32_t in2_multiplier, int32_t in2_shift, int32_t left_shift, int32_t out_multiplier,
                              int32_t out_shift, int32_t out_offset) {
  const te_add_params p = {in1_offset, in1_multiplier, in1_shift, in2_offset, in2_multiplier, in2_shift,
                           left_shift, out_multiplier, out_shift, out_offset, INT8_MIN, INT8_MAX, 0};
  TE_BROADCAST_LOOP(te_squared_difference_elem, p);
}

void te_add_lut_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, const int32_t *table1,
                   const int32_t *table2, int32_t out_multiplier, int32_t out_shift, int32_t out_offset,
                   int32_t act_min, int32_t act_max) {
  const te_add_lut_params p = {table1, table2, out_multiplier, out_shift, out_offset, act_min, act_max};
  TE_BROADCAST_LOOP(te_add_lut_elem, p);
}
