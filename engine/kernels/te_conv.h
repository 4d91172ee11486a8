/* int8 convolutions (CONV_2D, and FULLY_CONNECTED as a 1x1 convolution),
 * bit-exact with TFLM's reference_integer_ops::ConvPerChannel.
 *
 * Layouts: input NHWC (batch 1), output NHWC, filter: the model's OHWI
 * ([out_c][k_h][k_w][in_c], for FULLY_CONNECTED [out_c][depth]) with each
 * output channel's row zero-padded from depth = k_h * k_w * in_c to
 * depth_p = depth rounded up to TE_DEPTH_ALIGN (the lowering pads it; rows
 * start depth_p bytes apart). Per-channel requantisation (multiplier[c],
 * shift[c]); a per-tensor filter scale is a per-channel one with equal
 * entries, as TFLM broadcasts it.
 *
 * Zero-point folding: TFLM accumulates sum((x + input_offset) * w) over the
 * taps inside the input, then adds the bias. Where the whole window is
 * inside, that equals bias_folded + sum(x * w) with
 * bias_folded = bias + input_offset * sum(w) (precomputed by the lowering,
 * which also checks that neither form can overflow int32).
 */
#ifndef TE_CONV_H
#define TE_CONV_H

#include <stdint.h>

/* Filter rows are padded to a multiple of this many bytes (te_conv.c). */
#define TE_DEPTH_ALIGN 16

/* General convolution: any kernel size, stride, dilation and padding.
 * pad_top/pad_left are the explicit zero-point paddings before the first
 * row/column (after-padding follows from the output size), so a PAD op can be
 * fused by adding its amounts. `bias` is TFLM's bias (never NULL: zeros when
 * the model has none); `bias_folded` may be NULL to disable folding. */
void te_conv2d_s8(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                  const int32_t *bias, const int32_t *bias_folded, int8_t *output, int out_h, int out_w, int out_c,
                  int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left,
                  int32_t input_offset, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                  int32_t act_min, int32_t act_max);

/* Pointwise convolution (1x1, stride 1, no padding) over `pixels` rows of
 * `in_c` bytes, filter [out_c][in_c] (rows padded):
 * output[p][o] = requant(bias_folded[o] + sum_i input[p][i] * filter[i][o]).
 * multiplier/shift advance by `quant_stride` per output channel: 1
 * per-channel, 0 per-tensor. */
void te_conv1x1_s8(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *bias_folded,
                   int8_t *output, int out_c, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
                   int quant_stride, int32_t act_min, int32_t act_max);

/* FULLY_CONNECTED: `rows` input rows of `depth` bytes times the model's
 * [out_c][depth] filter (rows padded): te_conv1x1_s8 under the op's name.
 * Bias folded and quant_stride as in te_conv1x1_s8. */
void te_fc_s8(const int8_t *input, int rows, int depth, const int8_t *filter, const int32_t *bias_folded,
              int8_t *output, int out_c, int32_t output_offset, const int32_t *multiplier, const int32_t *shift,
              int quant_stride, int32_t act_min, int32_t act_max);

#endif /* TE_CONV_H */
