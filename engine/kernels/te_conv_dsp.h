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
 * in the model's HWI order, cut into "segments" of taps that lie next to
 * each other in the input (a whole kernel row, or one tap when dilation_w >
 * 1), each segment zero-padded to a multiple of 4 bytes, so the columns can
 * be widened straight from the input a segment at a time; then channels in
 * pairs: for each pair (o, o+1) and 4-byte chunk k, 4 bytes of o then 4
 * bytes of o+1; a last odd channel's chunks follow. (For 1x1 kernels a
 * segment is the in_c bytes of a pixel.) `params` holds TE_DSP_PARAMS int32 per output channel (te_dsp.h);
 * `wide` is nonzero when accumulators may reach 2^29 (te_dsp_requant_wide).
 */
#ifndef TE_CONV_DSP_H
#define TE_CONV_DSP_H

#include <stdint.h>

/* Taps per segment and a segment's padded bytes. te_conv2d_s8_dsp's scratch
 * (engine/ops/_dsp.py: conv_scratch_bytes) is 16 bytes per 4-byte chunk of
 * the padded depth for two widened columns, plus one segment of staging. */
#define TE_CONV_DSP_SEG_TAPS(k_w, dilation_w) ((dilation_w) == 1 ? (k_w) : 1)
#define TE_CONV_DSP_SEG_BYTES(seg_taps, in_c) (((seg_taps) * (in_c) + 3) / 4 * 4)

/* Pointwise convolution (1x1, stride 1, no padding) over `pixels` rows of
 * `in_c` bytes. No scratch: the widened columns (20 bytes per chunk of in_c)
 * use the end of the output until the last pixels, which are computed as
 * te_fc_s8_dsp does. */
void te_conv1x1_s8_dsp(const int8_t *input, int pixels, int in_c, const int8_t *filter, const int32_t *params,
                       int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                       int32_t act_max, int wide);

/* General convolution (any kernel, stride, dilation, explicit padding) by
 * im2col of two output pixels at a time. */
void te_conv2d_s8_dsp(const int8_t *input, int in_h, int in_w, int in_c, const int8_t *filter, int k_h, int k_w,
                      const int32_t *params, int8_t *output, int out_h, int out_w, int out_c, int stride_h,
                      int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left, int32_t input_offset,
                      int32_t output_offset, int32_t act_min, int32_t act_max, int wide, void *scratch);

#endif /* TE_CONV_DSP_H */
