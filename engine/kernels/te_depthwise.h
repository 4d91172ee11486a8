/* int8 depthwise convolutions, bit-exact with TFLM's
 * reference_integer_ops::DepthwiseConvPerChannel.
 *
 * Layouts: input NHWC (batch 1), filter 1HWC' with C' = C * depth_multiplier
 * (output channel c' reads input channel c' / depth_multiplier), output NHWC.
 * Padding, `bias`/`bias_folded` and requantisation follow te_conv.h.
 */
#ifndef TE_DEPTHWISE_H
#define TE_DEPTHWISE_H

#include <stdint.h>

/* Any kernel size, stride, dilation, padding and depth multiplier. Works on
 * blocks of TE_LANES channels so every filter tap is one vector multiply-add. */
void te_depthwise_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                     int depth_multiplier, const int32_t *bias, const int32_t *bias_folded, int8_t *output,
                     int out_h, int out_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                     int pad_left, int32_t input_offset, int32_t output_offset, const int32_t *multiplier,
                     const int32_t *shift, int32_t act_min, int32_t act_max);

/* The same op (depth multiplier 1) with output allowed to be input: the
 * output overwrites the input buffer, so the op needs max(input, output)
 * bytes instead of their sum (TinyEngine's in-place depthwise).
 *
 * Output pixel p's channel c goes to byte p * C + c, which holds input
 * channel c of some pixel (index mod C == c in both layouts). Working on a
 * group of channels at a time, pixels are computed into a ring and stored as
 * soon as no later pixel of the group reads the input bytes they replace;
 * other groups' bytes are untouched. The ring (about one output row plus a
 * window's overlap) is in `scratch` (out_h * out_w bytes) or, where that
 * holds fewer channels, in 1 KB of stack; the group is as wide as it allows.
 * Requires out_h * out_w <= in_h * in_w. */
void te_depthwise_inplace_s8(const int8_t *input, int in_h, int in_w, int channels, const int8_t *filter, int k_h,
                             int k_w, const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h,
                             int out_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                             int pad_left, int32_t input_offset, int32_t output_offset, const int32_t *multiplier,
                             const int32_t *shift, int32_t act_min, int32_t act_max, int8_t *scratch);

#endif /* TE_DEPTHWISE_H */
