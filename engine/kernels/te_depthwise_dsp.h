/* int8 depthwise convolutions (depth multiplier 1) for ARMv7E-M
 * (Cortex-M4/M7) with the DSP extension, bit-exact with te_depthwise.h and
 * so with TFLM.
 *
 * Four channels at a time ("groups"): one word of input bytes per tap becomes
 * two int16 pairs (SXTB16), multiplied into four int32 accumulators by
 * SMLABB/SMLATT. Taps outside the input are skipped, as TFLM does.
 *
 * Constants (engine/ops/_dsp.py: depthwise_blocks), TE_DW_BLOCK(k_h, k_w)
 * int32 words per group of channels c0..c3 (zeros past the last channel):
 *   [0, 4)   bias + input_offset * sum of the channel's weights: the bias of
 *            a pixel whose taps all lie inside the input ("interior"), where
 *            the kernel multiplies raw input bytes;
 *   [4, 8)   the bias alone (border pixels add the offset tap by tap);
 *   [8, 20)  per channel (multiplier, rounding addend, right shift e); the
 *            addend is 2^(e-1), plus output_offset * 2^e when the lowering
 *            folded the output zero point into it (then output_offset is 0);
 *   [20, ..) per tap (ky, kx) in row-major order two words: the int16
 *            weight pairs (w_c0, w_c2) and (w_c1, w_c3).
 * Unless `wide` (accumulators may reach 2^29), biases and weights are stored
 * doubled: the accumulator is then 2 * acc, the SMMLAR operand of
 * te_dsp_requant, one instruction fewer per output (te_dsp.h).
 */
#ifndef TE_DEPTHWISE_DSP_H
#define TE_DEPTHWISE_DSP_H

#include <stdint.h>

#define TE_DW_BLOCK(k_h, k_w) (20 + 2 * (k_h) * (k_w))

void te_depthwise_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int32_t *blocks, int k_h,
                         int k_w, int8_t *output, int out_h, int out_w, int stride_h, int stride_w, int dilation_h,
                         int dilation_w, int pad_top, int pad_left, int32_t input_offset, int32_t output_offset,
                         int32_t act_min, int32_t act_max, int wide);

/* In place (output may be input; te_depthwise_inplace_s8's contract), one
 * group of 4 channels at a time; `scratch` is 4-byte aligned. With `padded`
 * 0 each group is computed for every output pixel into scratch (4 * out_h *
 * out_w bytes), then stored over the group's input bytes, which no later
 * group reads. With `padded` 1 the group's input is first copied into
 * scratch with the zero point around it (TE_DW_PADDED_BYTES, at least
 * 4 * out_h * out_w), so every window lies inside and the outputs go
 * straight to their place. */
void te_depthwise_inplace_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int32_t *blocks,
                                 int k_h, int k_w, int8_t *output, int out_h, int out_w, int stride_h, int stride_w,
                                 int dilation_h, int dilation_w, int pad_top, int pad_left, int32_t input_offset,
                                 int32_t output_offset, int32_t act_min, int32_t act_max, int wide, int padded,
                                 void *scratch);

#endif /* TE_DEPTHWISE_DSP_H */
