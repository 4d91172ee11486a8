/* Broadcasting int8 binary ops ADD, SUB, MUL, MAXIMUM, MINIMUM, PRELU and
 * SQUARED_DIFFERENCE, bit-exact with TFLM's reference integer kernels (AddFunc,
 * SubElementwise, MulElementwise, MaximumMinimumBroadcastSlow,
 * BroadcastPrelu4DSlow, SquaredDifference).
 *
 * Shapes arrive as a broadcast descriptor `bcast` of 18 int32: the output
 * extents e[0..5] (outermost first), then the element strides of input 1
 * and of input 2 along those six axes, 0 where that input is broadcast.
 * The compiler drops unit axes and merges axes that stay contiguous in both
 * inputs, so a plain same-shape op is {1,1,1,1,1,n, 0,0,0,0,0,1, 0,0,0,0,0,1}
 * and the inner loop is usually long. The output is written densely in order,
 * so it may share memory with an input that has the output's shape. */
#ifndef TE_ELEMENTWISE_H
#define TE_ELEMENTWISE_H

#include <stdint.h>

/* out = clamp(requant(in1 * 2^left_shift scaled by m1 +/- in2 ... scaled by m2)),
 * TFLM's ADD/SUB: both inputs are offset, shifted left by `left_shift` (20 for
 * int8) and brought to a common scale (multipliers < 1), added or subtracted,
 * then requantised to the output and clamped to [act_min, act_max]. */
void te_add_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, int32_t in1_offset,
               int32_t in1_multiplier, int32_t in1_shift, int32_t in2_offset, int32_t in2_multiplier,
               int32_t in2_shift, int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
               int32_t out_offset, int32_t act_min, int32_t act_max);

void te_sub_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, int32_t in1_offset,
               int32_t in1_multiplier, int32_t in1_shift, int32_t in2_offset, int32_t in2_multiplier,
               int32_t in2_shift, int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
               int32_t out_offset, int32_t act_min, int32_t act_max);

/* ADD/SUB with the input scaling tabulated: table1[x + 128] and
 * table2[y + 128] hold each input's offset, shifted and rescaled value (the
 * first two requantisations of te_add_s8, which depend on one int8 only;
 * for SUB table2 holds the negated values), so each element costs one
 * requantisation instead of three. */
void te_add_lut_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, const int32_t *table1,
                   const int32_t *table2, int32_t out_multiplier, int32_t out_shift, int32_t out_offset,
                   int32_t act_min, int32_t act_max);

/* out = clamp(out_offset + requant((in1 + in1_offset) * (in2 + in2_offset))). */
void te_mul_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast, int32_t in1_offset,
               int32_t in2_offset, int32_t out_multiplier, int32_t out_shift, int32_t out_offset, int32_t act_min,
               int32_t act_max);

/* SQUARED_DIFFERENCE: as ADD's input scaling (with left_shift 7, so the
 * square of the difference fits int32), then (d1 - d2)^2 requantised. */
void te_squared_difference_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast,
                              int32_t in1_offset, int32_t in1_multiplier, int32_t in1_shift, int32_t in2_offset,
                              int32_t in2_multiplier, int32_t in2_shift, int32_t left_shift, int32_t out_multiplier,
                              int32_t out_shift, int32_t out_offset);

/* Elementwise max / min of the raw int8 values (TFLM does not rescale). */
void te_maximum_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast);
void te_minimum_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const int32_t *bcast);

/* PRELU: v = x + input_offset; v >= 0 ? requant1(v) : requant2(v * (alpha + alpha_offset)),
 * plus output_offset, saturated to int8. `alpha` broadcasts like a second input. */
void te_prelu_s8(const int8_t *input, const int8_t *alpha, int8_t *out, const int32_t *bcast, int32_t input_offset,
                 int32_t alpha_offset, int32_t multiplier_1, int32_t shift_1, int32_t multiplier_2, int32_t shift_2,
                 int32_t out_offset);

#endif /* TE_ELEMENTWISE_H */
