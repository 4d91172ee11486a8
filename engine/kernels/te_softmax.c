/* SOFTMAX int8 -> int8, following TFLM's reference_ops::Softmax.
 *
 * For each row: d = x - max(x) <= 0 is rescaled by beta * input_scale into
 * Q5.26 (so |d| up to 32 is representable; exp(-32) is far below one output
 * step), exp(d) is evaluated in Q0.31 with gemmlowp's fixed-point exp, the
 * exps are summed in Q12.19 (room for 4096 terms of at most 1.0), and each
 * output is exp(d) / sum, rescaled to 256 steps and offset by -128.
 * Differences below diff_min would overflow the rescaling; their exp is
 * treated as 0 (TFLM skips them in the sum and outputs -128).
 */
#include "te_softmax.h"

#include "te_common.h"
#include "te_fixedpoint.h"

enum { kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12 };

/* exp(input_diff * beta * input_scale) in Q0.31. The left shift cannot
 * overflow: the caller only passes input_diff >= diff_min. */
static int32_t te_softmax_exp(int32_t input_diff, int32_t multiplier, int32_t left_shift) {
  const int32_t rescaled = te_sat_rounding_doubling_high_mul((int32_t)((uint32_t)input_diff << left_shift), multiplier);
  return te_fp_exp_on_negative_values(rescaled, kScaledDiffIntegerBits);
}

static void te_softmax_row_s8(const int8_t *input, int8_t *output, int32_t depth, int32_t multiplier,
                              int32_t left_shift, int32_t diff_min) {
  int8_t max_in_row = INT8_MIN;
  int32_t sum_of_exps = 0; /* Q12.19 */
  int num_bits_over_unit, exponent;
  int32_t shifted_scale, c;
  for (c = 0; c < depth; ++c) max_in_row = TE_MAX(max_in_row, input[c]);
  for (c = 0; c < depth; ++c) {
    const int32_t input_diff = (int32_t)input[c] - max_in_row;
    if (input_diff >= diff_min) {
      /* Q0.31 -> Q12.19: a rounding right shift by 12. */
      sum_of_exps = te_fp_add(
          sum_of_exps, te_fp_mul_pot(te_softmax_exp(input_diff, multiplier, left_shift), -kAccumulationIntegerBits));
    }
  }
  /* 1/sum as a Q0.31 value in [0.5, 1) times 2^-num_bits_over_unit. */
  shifted_scale = te_fp_get_reciprocal(sum_of_exps, kAccumulationIntegerBits, &num_bits_over_unit);
  /* Q0.31 probability -> 256 output steps: shift right by 31 - 8, plus the
   * reciprocal's own scaling. */
  exponent = num_bits_over_unit + 31 - 8;
  for (c = 0; c < depth; ++c) {
    const int32_t input_diff = (int32_t)input[c] - max_in_row;
    if (input_diff >= diff_min) {
      const int32_t exp_in_0 = te_softmax_exp(input_diff, multiplier, left_shift);
      const int32_t unsat_output = te_rounding_divide_by_pot(te_fp_mul(shifted_scale, exp_in_0), exponent);
      output[c] = te_clamp_s8(unsat_output + INT8_MIN, INT8_MIN, INT8_MAX);
    } else {
      output[c] = INT8_MIN;
    }
  }
}

void te_softmax_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t depth,
                   int32_t input_beta_multiplier, int32_t input_beta_left_shift, int32_t diff_min) {
  int32_t i;
  for (i = 0; i < outer; ++i) {
    te_softmax_row_s8(input + i * depth, output + i * depth, depth, input_beta_multiplier, input_beta_left_shift,
                      diff_min);
  }
}

static void te_softmax_lut_row_s8(const int8_t *input, int8_t *output, int32_t depth, const int32_t *exp_table) {
  int8_t max_in_row = INT8_MIN;
  int32_t sum_of_exps = 0; /* Q12.19 */
  int num_bits_over_unit, exponent;
  int32_t shifted_scale, c;
  for (c = 0; c < depth; ++c) max_in_row = TE_MAX(max_in_row, input[c]);
  for (c = 0; c < depth; ++c) {
    sum_of_exps = te_fp_add(sum_of_exps, te_fp_mul_pot(exp_table[max_in_row - input[c]], -kAccumulationIntegerBits));
  }
  shifted_scale = te_fp_get_reciprocal(sum_of_exps, kAccumulationIntegerBits, &num_bits_over_unit);
  exponent = num_bits_over_unit + 31 - 8;
  for (c = 0; c < depth; ++c) {
    const int32_t exp_in_0 = exp_table[max_in_row - input[c]];
    const int32_t unsat_output = te_rounding_divide_by_pot(te_fp_mul(shifted_scale, exp_in_0), exponent);
    output[c] = te_clamp_s8(unsat_output + INT8_MIN, INT8_MIN, INT8_MAX);
  }
}

void te_softmax_lut_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t depth, const int32_t *exp_table) {
  int32_t i;
  for (i = 0; i < outer; ++i) te_softmax_lut_row_s8(input + i * depth, output + i * depth, depth, exp_table);
}

/* One row: log(exp(d) / sum exp) = d - log(sum exp) with d = x - max(x) in Q5.26 and the sum in
 * Q12.19; outputs in 1/16 steps below 127. Differences at or below adjusted_diff_min (where
 * d - log(sum) would leave int32, or TFLM skipped them in the sum) output -128. */
static void te_log_softmax_row_s8(const int8_t *input, int8_t *output, int32_t depth, int32_t multiplier,
                                  int32_t left_shift, int32_t reverse_divisor, int32_t reverse_shift,
                                  int32_t diff_min) {
  enum { kOutputIntegerBits = 4 };
  int8_t max_in_row = INT8_MIN;
  int32_t sum_of_exps = 0; /* Q12.19 */
  int32_t c;
  for (c = 0; c < depth; ++c) max_in_row = TE_MAX(max_in_row, input[c]);
  for (c = 0; c < depth; ++c) {
    const int32_t input_diff = (int32_t)input[c] - max_in_row;
    if (input_diff >= diff_min) {
      const int32_t diff_q5 = te_requantize(input_diff, multiplier, left_shift);
      sum_of_exps = te_fp_add(
          sum_of_exps, te_fp_mul_pot(te_fp_exp_on_negative_values(diff_q5, kScaledDiffIntegerBits),
                                     -kAccumulationIntegerBits));
    }
  }
  {
    const int32_t log_sum_q5 = te_fp_log_x_ge_1(sum_of_exps, kAccumulationIntegerBits, kScaledDiffIntegerBits);
    /* The most negative Q5.26 value plus log(sum), back in input steps: below it d - log(sum) overflows. */
    const int32_t floor_q5 = te_fp_add(log_sum_q5, INT32_MIN);
    const int32_t reversed = te_requantize(floor_q5, reverse_divisor, reverse_shift);
    const int32_t adjusted_diff_min = TE_MAX(diff_min - 1, reversed);
    for (c = 0; c < depth; ++c) {
      const int32_t input_diff = (int32_t)input[c] - max_in_row;
      if (input_diff > adjusted_diff_min) {
        const int32_t diff_q5 = te_requantize(input_diff, multiplier, left_shift);
        const int32_t unsat = te_rounding_divide_by_pot(te_fp_sub(diff_q5, log_sum_q5),
                                                        31 - kScaledDiffIntegerBits - kOutputIntegerBits) + INT8_MAX;
        output[c] = te_clamp_s8(unsat, INT8_MIN, INT8_MAX);
      } else {
        output[c] = INT8_MIN;
      }
    }
  }
}

void te_log_softmax_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t depth, int32_t input_multiplier,
                       int32_t input_left_shift, int32_t reverse_divisor, int32_t reverse_shift, int32_t diff_min) {
  int32_t i;
  for (i = 0; i < outer; ++i) {
    te_log_softmax_row_s8(input + i * depth, output + i * depth, depth, input_multiplier, input_left_shift,
                          reverse_divisor, reverse_shift, diff_min);
  }
}
