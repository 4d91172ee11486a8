/* SOFTMAX for int8 in / int8 out, bit-exact with TFLM's reference kernel
 * (reference_ops::Softmax<int8_t, int8_t>, gemmlowp fixed point). */
#ifndef TE_SOFTMAX_H
#define TE_SOFTMAX_H

#include <stdint.h>

/* Softmax over the last axis of an [outer, depth] int8 tensor.
 * The output is quantised with scale 1/256 and zero point -128, as TFLM
 * requires. `input_beta_multiplier`/`input_beta_left_shift` and `diff_min`
 * are PreprocessSoftmaxScaling and -CalculateInputRadius for 5 integer bits.
 * `output` may equal `input` (every element is read before it is written). */
void te_softmax_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t depth,
                   int32_t input_beta_multiplier, int32_t input_beta_left_shift, int32_t diff_min);

/* The same function with exp tabulated: exp_table[d] is the Q0.31 exp of the
 * rescaled difference -d for d in [0, 255], or 0 where -d < diff_min (an
 * excluded element then adds 0 to the sum and outputs -128, as in TFLM).
 * One load replaces two fixed-point exps per element. */
void te_softmax_lut_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t depth, const int32_t *exp_table);

/* LOG_SOFTMAX over the last axis, as TFLM's reference_integer_ops::LogSoftmax: output scale
 * 16/256, zero point 127. `input_multiplier`/`input_left_shift` and `diff_min` as for SOFTMAX
 * (beta 1); `reverse_divisor`/`reverse_shift` (<= 0) is QuantizeMultiplierSmallerThanOneExp of
 * 2^(31 - input_left_shift) / input_multiplier. `output` may equal `input`. */
void te_log_softmax_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t depth, int32_t input_multiplier,
                       int32_t input_left_shift, int32_t reverse_divisor, int32_t reverse_shift, int32_t diff_min);

#endif /* TE_SOFTMAX_H */
