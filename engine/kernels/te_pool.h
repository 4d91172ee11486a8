/* int8 AVERAGE_POOL_2D and MAX_POOL_2D, bit-exact with TFLM's
 * reference_integer_ops::AveragePool / MaxPool.
 *
 * NHWC, batch 1. Windows are clipped to the input (padding taps are not
 * counted, as in TFLM); there is no requantisation (TFLM uses the input
 * bytes as output bytes), only the fused activation's clamp.
 */
#ifndef TE_POOL_H
#define TE_POOL_H

#include <stdint.h>

/* Average of the window's taps inside the input, rounded to nearest with
 * ties away from zero: (sum +- count / 2) / count, C division truncating. */
void te_avgpool_s8(const int8_t *input, int in_h, int in_w, int channels, int8_t *output, int out_h, int out_w,
                   int k_h, int k_w, int stride_h, int stride_w, int pad_top, int pad_left, int32_t act_min,
                   int32_t act_max);

/* Maximum of the window's taps inside the input. */
void te_maxpool_s8(const int8_t *input, int in_h, int in_w, int channels, int8_t *output, int out_h, int out_w,
                   int k_h, int k_w, int stride_h, int stride_w, int pad_top, int pad_left, int32_t act_min,
                   int32_t act_max);

#endif /* TE_POOL_H */
