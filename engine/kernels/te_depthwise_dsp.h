/* int8 depthwise convolutions (depth multiplier 1) for ARMv7E-M
 * (Cortex-M4/M7) with the DSP extension, bit-exact with te_depthwise.h and
 * so with TFLM.
 *
 * Four channels at a time: one word of input bytes per tap becomes two int16
 * pairs with the input offset added (SXTAB16), multiplied into four int32
 * accumulators by SMLABB/SMLATT. The model's bias is used everywhere (taps
 * outside the input are skipped, as TFLM does), so no folding is involved.
 *
 * Filter layout (engine/ops/_dsp.py), int16: for each group of 4 channels
 * (c0..c3, zero weights past the last channel) and each tap (ky, kx) in
 * row-major order, (w_c0, w_c2, w_c1, w_c3). `params` holds TE_DSP_PARAMS
 * int32 per channel (te_dsp.h); `wide` is nonzero when accumulators may reach
 * 2^29 (te_dsp_requant_wide).
 */
#ifndef TE_DEPTHWISE_DSP_H
#define TE_DEPTHWISE_DSP_H

#include <stdint.h>

void te_depthwise_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int16_t *filter, int k_h,
                         int k_w, const int32_t *params, int8_t *output, int out_h, int out_w, int stride_h,
                         int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left,
                         int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max, int wide);

/* In place (output may be input; te_depthwise_inplace_s8's contract): each
 * group of 4 channels is computed for every output pixel into `scratch`
 * (4 * out_h * out_w bytes, 4-byte aligned), then stored over the group's
 * input bytes, which no later group reads. */
void te_depthwise_inplace_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int16_t *filter,
                                 int k_h, int k_w, const int32_t *params, int8_t *output, int out_h, int out_w,
                                 int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                                 int pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
                                 int32_t act_max, int wide, void *scratch);

#endif /* TE_DEPTHWISE_DSP_H */
