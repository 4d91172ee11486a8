/* int8 convolutions for ARMv7E-M (Cortex-M4/M7) with the DSP extension,
 * bit-exact with the portable te_conv.h kernels and so with TFLM.
 *
 * The model's input bytes are widened to int16 pairs with the input offset
 * added (SXTAB16), two output pixels ("columns") at a time, into the op's
 * scratch; then each pair of output channels is a run of SMLADs over both
 * columns: 16 multiply-accumulates per 4-byte chunk of weights for 15
 * instructions. Padding taps are columns of zeros, so every pixel uses the
 * model's own bias: (x + input_offset) * w summed over the taps inside the
 * input, exactly TFLM's sum.
 *
 * Filter layout (prepared by engine/ops/_dsp.py): the [out_c][depth] matrix
 * (depth = k_h * k_w * in_c in the model's HWI order), depth zero-padded to a
 * multiple of 4 ("chunks"), channels in pairs: for each pair (o, o+1) and
 * chunk k, 4 bytes of o then 4 bytes of o+1; a last odd channel's chunks
 * follow. `params` holds TE_DSP_PARAMS int32 per output channel (te_dsp.h);
 * `wide` is nonzero when accumulators may reach 2^29 (te_dsp_requant_wide).
 */
#ifndef TE_CONV_DSP_H
#define TE_CONV_DSP_H

#include <stdint.h>

/* Scratch bytes the conv kernels need: 16 per 4-byte chunk of a filter's
 * `depth` for the two widened columns, plus 4 per chunk of int8 staging when
 * the input has a channel count `in_c` that is not a multiple of 4. */
#define TE_CONV_DSP_SCRATCH(depth, in_c) ((16 + ((in_c) % 4 ? 4 : 0)) * (((depth) + 3) / 4))

/* Pointwise convolution (1x1, stride 1, no padding) over `pixels` rows of
 * `in_c` bytes. */
void te_conv1x1_s8_dsp(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *params,
                       int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                       int32_t act_max, int wide, void *scratch);

/* General convolution (any kernel, stride, dilation, explicit padding) by
 * im2col of two output pixels at a time. */
void te_conv2d_s8_dsp(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                      const int32_t *params, int8_t *output, int out_h, int out_w, int out_c, int stride_h,
                      int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left, int32_t input_offset,
                      int32_t output_offset, int32_t act_min, int32_t act_max, int wide, void *scratch);

/* FULLY_CONNECTED: `rows` input rows of `depth` bytes; each 4-byte chunk of
 * a row is widened in registers once per 4 output channels (no scratch). */
void te_fc_s8_dsp(const int8_t *input, int rows, int depth, const int8_t *filter, const int32_t *params,
                  int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                  int32_t act_max, int wide);

#endif /* TE_CONV_DSP_H */
