/* QUANTIZE / DEQUANTIZE at the float edges of a model.
 *
 * Both stay in single precision and still match TFLM exactly:
 *  - TFLM quantizes with TfLiteRound(val / (float)scale): a float division
 *    (identical here) then round half away from zero, done below without
 *    libm from the exact fraction f - trunc(f).
 *  - TFLM dequantizes as (float)((double)scale * (val - zero_point)). The
 *    double product of a 24-bit significand and |val - zp| <= 255 is exact,
 *    so its rounding to float equals the correctly rounded float product.
 */
#include "te_quantize.h"

#include <string.h>

#include "te_common.h"

static float te_float_from_bits(int32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* round(f) half away from zero for |f| <= 2^23, where f - trunc(f) is exact. */
static int32_t te_round_half_away(float f) {
  const int32_t t = (int32_t)f;
  const float frac = f - (float)t;
  if (frac >= 0.5f) return t + 1;
  if (frac <= -0.5f) return t - 1;
  return t;
}

void te_quantize_f32_s8(const float *input, int8_t *output, int32_t size, int32_t scale_bits, int32_t zero_point) {
  const float scale = te_float_from_bits(scale_bits);
  int32_t i;
  for (i = 0; i < size; ++i) {
    float q = input[i] / scale;
    /* Anything beyond +-2^20 saturates anyway; clamping first keeps the
     * float -> int conversion defined (NaN becomes 0). */
    if (!(q > -1048576.0f)) q = (q < 0.0f) ? -1048576.0f : 0.0f;
    if (q > 1048576.0f) q = 1048576.0f;
    output[i] = te_clamp_s8(te_round_half_away(q) + zero_point, INT8_MIN, INT8_MAX);
  }
}

void te_dequantize_s8_f32(const int8_t *input, float *output, int32_t size, int32_t scale_bits, int32_t zero_point) {
  const float scale = te_float_from_bits(scale_bits);
  int32_t i;
  for (i = 0; i < size; ++i) output[i] = scale * (float)((int32_t)input[i] - zero_point);
}
