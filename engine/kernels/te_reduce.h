/* int8 MEAN, SUM and REDUCE_MAX over one contiguous block of axes, bit-exact with TFLM's
 * reduce kernels (reduce_common.cc).
 *
 * The input is viewed as [outer, reduce, inner] (NHWC MEAN over H, W with
 * batch 1 is [1, H * W, C]); the output is [outer, inner].
 */
#ifndef TE_REDUCE_H
#define TE_REDUCE_H

#include <stdint.h>

/* TFLM's QuantizedMeanOrSum: (sum - input_zp * reduce) requantised by
 * (multiplier, shift), plus output_zp, clamped to int8. For MEAN the lowering
 * has already folded 1 / reduce into (multiplier, shift) as TFLM does. */
void te_reduce_requant_s8(const int8_t *input, int outer, int reduce, int inner, int8_t *output, int32_t input_zp,
                          int32_t output_zp, int32_t multiplier, int32_t shift);

/* TFLM's int8 REDUCE_MAX: the largest value over the reduced block (TFLM requires the input's
 * scale and zero point on the output, so no requantisation). */
void te_reduce_max_s8(const int8_t *input, int outer, int reduce, int inner, int8_t *output);

#endif /* TE_REDUCE_H */
