/* Table-driven int8 pointwise ops; see te_activation.h for why a table is exact. */
#include "te_activation.h"

void te_lut_s8(const int8_t *input, int8_t *output, int32_t size, const int8_t *table) {
  int32_t i;
  /* table is indexed from -128: input + 128 is in [0, 255]. */
  for (i = 0; i < size; ++i) output[i] = table[(int32_t)input[i] + 128];
}

void te_lut_u8(const void *input, void *output, int32_t size, const uint8_t *table) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  int32_t i;
  for (i = 0; i < size; ++i) out[i] = table[in[i]];
}
