/* int8 MEAN / SUM / REDUCE_MAX; see te_reduce.h for the contract. */
#include "te_reduce.h"

#include "te_window.h"

/* acc[j] = sum over r < reduce of x[r * inner + j], for n <= TE_LANES. The
 * int32 sum of int8 values is exact for reduce < 2^24. */
static void te_column_sums(const int8_t *x, int reduce, int inner, int n, int32_t *acc) {
  for (int j = 0; j < n; ++j) acc[j] = 0;
  for (int r = 0; r < reduce; ++r) {
    const int8_t *row = x + r * inner;
    if (n == TE_LANES) {
      for (int j = 0; j < TE_LANES; ++j) acc[j] += row[j];
    } else {
      for (int j = 0; j < n; ++j) acc[j] += row[j];
    }
  }
}

void te_reduce_requant_s8(const int8_t *input, int outer, int reduce, int inner, int8_t *output, int32_t input_zp,
                          int32_t output_zp, int32_t multiplier, int32_t shift) {
  const int32_t zp_sum = input_zp * reduce;
  for (int o = 0; o < outer; ++o) {
    for (int i0 = 0; i0 < inner; i0 += TE_LANES) {
      const int n = TE_MIN(TE_LANES, inner - i0);
      int32_t acc[TE_LANES];
      te_column_sums(input + o * reduce * inner + i0, reduce, inner, n, acc);
      for (int j = 0; j < n; ++j) {
        output[o * inner + i0 + j] = te_output_s8(acc[j] - zp_sum, multiplier, shift, output_zp, INT8_MIN, INT8_MAX);
      }
    }
  }
}

void te_reduce_max_s8(const int8_t *input, int outer, int reduce, int inner, int8_t *output) {
  for (int o = 0; o < outer; ++o) {
    int8_t *best = output + o * inner;
    const int8_t *x = input + o * reduce * inner;
    for (int i = 0; i < inner; ++i) best[i] = INT8_MIN;
    for (int r = 0; r < reduce; ++r, x += inner) { /* rows in memory order; the output row stays in cache */
      for (int i = 0; i < inner; ++i) best[i] = x[i] > best[i] ? x[i] : best[i];
    }
  }
}
