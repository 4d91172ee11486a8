/* int8 TRANSPOSE_CONV, bit-exact with TFLM's reference_integer_ops::TransposeConv.
 *
 * Every input pixel scatters (x + input_offset) * w into the int32 scratch
 * (one accumulator per output element, out_h * out_w * out_c), at output
 * (in_y * stride_h - pad_top + ky, in_x * stride_w - pad_left + kx); then
 * each accumulator gets its channel's bias, is requantised per channel
 * (TFLM's MultiplyByQuantizedMultiplier), offset and clamped. The sums are
 * TFLM's, added in another order: int32 addition is exact in any order
 * while nothing overflows (the lowering refuses weights and biases that could).
 * Batch 1, NHWC input and output, OHWI filter; `bias` may be NULL.
 */
#ifndef TE_TRANSPOSE_CONV_H
#define TE_TRANSPOSE_CONV_H

#include <stdint.h>

void te_transpose_conv_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                          const int32_t *bias, int8_t *output, int out_h, int out_w, int out_c, int stride_h,
                          int stride_w, int pad_top, int pad_left, int32_t input_offset, int32_t output_offset,
                          const int32_t *multipliers, const int32_t *shifts, int32_t act_min, int32_t act_max,
                          void *scratch);

#endif /* TE_TRANSPOSE_CONV_H */
