/* int8 FULLY_CONNECTED for ARMv7E-M (Cortex-M4/M7) with the DSP extension,
 * bit-exact with te_fc_s8 and so with TFLM. The filter and `params` are in
 * te_conv_dsp.h's layout (one segment: the row's `depth` bytes); te_conv_dsp.c
 * uses these functions too for pixels it computes without columns.
 */
#ifndef TE_FC_DSP_H
#define TE_FC_DSP_H

#include <stdint.h>

/* `rows` input rows of `depth` bytes; each 4-byte chunk of a row is widened
 * in registers once per 4 output channels (no scratch). */
void te_fc_s8_dsp(const int8_t *input, int rows, int depth, const int8_t *filter, const int32_t *params,
                  int8_t *output, int out_c, int32_t input_offset, int32_t output_offset, int32_t act_min,
                  int32_t act_max, int wide);

/* acc[0..3] += chunks [0, chunks) of x (4 bytes each, plus the input offset
 * in both int16 lanes of offset2) times channels o..o+3: w0 the pair
 * (o, o+1)'s chunks, w1 the pair (o+2, o+3)'s, 8 bytes per chunk. */
void te_fc4_chunks_dsp(const int8_t *x, int chunks, const int8_t *w0, const int8_t *w1, uint32_t offset2,
                       int32_t *acc);

#endif /* TE_FC_DSP_H */
