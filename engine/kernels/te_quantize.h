/* QUANTIZE (float32 -> int8) and DEQUANTIZE (int8 -> float32), bit-exact with
 * TFLM's AffineQuantize and Dequantize. (int8 -> int8 QUANTIZE is a table:
 * te_lut_s8 in te_activation.h.) Scales travel as the IEEE-754 bits of the
 * float32 scale in an int32, since kernel arguments are integers. */
#ifndef TE_QUANTIZE_H
#define TE_QUANTIZE_H

#include <stdint.h>

/* output = clamp(round_half_away(input / scale) + zero_point, -128, 127). */
void te_quantize_f32_s8(const float *input, int8_t *output, int32_t size, int32_t scale_bits, int32_t zero_point);

/* output = scale * (input - zero_point), rounded once to float. */
void te_dequantize_s8_f32(const int8_t *input, float *output, int32_t size, int32_t scale_bits, int32_t zero_point);

#endif /* TE_QUANTIZE_H */
