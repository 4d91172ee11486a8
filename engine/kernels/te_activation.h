/* int8 -> int8 pointwise activations (LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU,
 * RELU, RELU6) and int8 requantisation, as 256-entry lookup tables.
 *
 * TFLM computes each of these with integer arithmetic from one int8 input,
 * so the function is fully described by its value on the 256 possible
 * inputs. The engine evaluates TFLM's arithmetic on all of them at compile
 * time (engine/fixedpoint.py, engine/ops/activation.py) and the kernel only
 * indexes the table: exact by construction, and one load per element. */
#ifndef TE_ACTIVATION_H
#define TE_ACTIVATION_H

#include <stdint.h>

/* output[i] = table[input[i] + 128] for i < size. `output` may equal `input`. */
void te_lut_s8(const int8_t *input, int8_t *output, int32_t size, const int8_t *table);

/* The same on raw bytes, for tables whose input or output is uint8 (a
 * uint8 <-> int8 QUANTIZE): output byte i = table[input byte i]. Pointers are
 * void so int8 and uint8 tensors can both be passed. */
void te_lut_u8(const void *input, void *output, int32_t size, const uint8_t *table);

#endif /* TE_ACTIVATION_H */
