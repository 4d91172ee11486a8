/* Data movement for PAD, CONCATENATION and RESIZE_NEAREST_NEIGHBOR (int8). */
#include "te_shape.h"

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

enum { TE_PAD_AXES = 5, TE_COPY_AXES = 6, TE_MAP_AXES = 5 };

void te_pad_s8(const int8_t *input, int8_t *output, const int32_t *desc, int32_t pad_value) {
  const int32_t *in = desc, *out = desc + TE_PAD_AXES, *before = desc + 2 * TE_PAD_AXES;
  int32_t out_stride[TE_PAD_AXES];
  int32_t i0, i1, i2, i3, a;
  int32_t total = 1;
  for (a = TE_PAD_AXES - 1; a >= 0; --a) {
    out_stride[a] = total;
    total *= out[a];
  }
  /* Fill everything with the pad value, then copy the input rows over it. */
  memset(output, (int8_t)pad_value, (size_t)total);
  for (i0 = 0; i0 < in[0]; ++i0) {
    for (i1 = 0; i1 < in[1]; ++i1) {
      for (i2 = 0; i2 < in[2]; ++i2) {
        for (i3 = 0; i3 < in[3]; ++i3) {
          const int32_t dst = (i0 + before[0]) * out_stride[0] + (i1 + before[1]) * out_stride[1] +
                              (i2 + before[2]) * out_stride[2] + (i3 + before[3]) * out_stride[3] + before[4];
          memcpy(output + dst, input, (size_t)in[4]);
          input += in[4];
        }
      }
    }
  }
}

void te_concatenation_s8(int8_t *output, int32_t outer, int32_t output_inner, int32_t num_inputs, ...) {
  int32_t k;
  int32_t offset = 0; /* bytes of each output block filled by the inputs so far */
  va_list args;
  va_start(args, num_inputs);
  for (k = 0; k < num_inputs; ++k) {
    const int8_t *data = va_arg(args, const int8_t *);
    const int32_t inner = va_arg(args, int32_t);
    int32_t o;
    for (o = 0; o < outer; ++o) memcpy(output + o * output_inner + offset, data + o * inner, (size_t)inner);
    offset += inner;
  }
  va_end(args);
}

void te_resize_nearest_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t input_height,
                          int32_t input_width, int32_t depth, int32_t output_height, int32_t output_width,
                          const int32_t *y_map, const int32_t *x_map) {
  const int32_t row = input_width * depth;
  int32_t b, y, x;
  for (b = 0; b < batches; ++b) {
    const int8_t *image = input + b * input_height * row;
    for (y = 0; y < output_height; ++y) {
      const int8_t *src_row = image + y_map[y] * row;
      for (x = 0; x < output_width; ++x) {
        memcpy(output, src_row + x_map[x] * depth, (size_t)depth);
        output += depth;
      }
    }
  }
}

void te_split_s8(const int8_t *input, int32_t outer, int32_t input_inner, int32_t num_outputs, ...) {
  int32_t k;
  int32_t offset = 0; /* bytes of each input block handed out so far */
  va_list args;
  va_start(args, num_outputs);
  for (k = 0; k < num_outputs; ++k) {
    int8_t *data = va_arg(args, int8_t *);
    const int32_t inner = va_arg(args, int32_t);
    int32_t o;
    for (o = 0; o < outer; ++o) memcpy(data + o * inner, input + o * input_inner + offset, (size_t)inner);
    offset += inner;
  }
  va_end(args);
}

void te_strided_copy(const void *input, void *output, const int32_t *desc, int32_t elem_bytes) {
  const int32_t *e = desc, *s = desc + TE_COPY_AXES;
  const char *in = (const char *)input + (ptrdiff_t)desc[2 * TE_COPY_AXES] * elem_bytes;
  char *out = (char *)output;
  const size_t row_bytes = (size_t)e[5] * (size_t)elem_bytes;
  int32_t i0, i1, i2, i3, i4, i5;
  for (i0 = 0; i0 < e[0]; ++i0)
    for (i1 = 0; i1 < e[1]; ++i1)
      for (i2 = 0; i2 < e[2]; ++i2)
        for (i3 = 0; i3 < e[3]; ++i3)
          for (i4 = 0; i4 < e[4]; ++i4) {
            const ptrdiff_t first = (ptrdiff_t)i0 * s[0] + (ptrdiff_t)i1 * s[1] + (ptrdiff_t)i2 * s[2] +
                                    (ptrdiff_t)i3 * s[3] + (ptrdiff_t)i4 * s[4];
            const char *src = in + first * elem_bytes;
            if (s[5] == 1) {
              memcpy(out, src, row_bytes);
              out += row_bytes;
            } else {
              for (i5 = 0; i5 < e[5]; ++i5) {
                memcpy(out, src + (ptrdiff_t)i5 * s[5] * elem_bytes, (size_t)elem_bytes);
                out += elem_bytes;
              }
            }
          }
}

void te_gather(const void *input, const int32_t *coords, void *output, int32_t batch, int32_t outer,
               int32_t axis_size, int32_t coord_size, int32_t inner, int32_t elem_bytes) {
  const size_t slice = (size_t)inner * (size_t)elem_bytes;
  const char *in = (const char *)input;
  char *out = (char *)output;
  int32_t b, o, k;
  for (b = 0; b < batch; ++b) {
    for (o = 0; o < outer; ++o) {
      const char *block = in + ((size_t)b * outer + o) * axis_size * slice;
      for (k = 0; k < coord_size; ++k) {
        const int32_t position = coords[b * coord_size + k];
        if (position >= 0 && position < axis_size) {
          memcpy(out, block + (size_t)position * slice, slice);
        } else {
          memset(out, 0, slice);
        }
        out += slice;
      }
    }
  }
}

void te_resize_bilinear_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t input_height,
                           int32_t input_width, int32_t depth, int32_t output_height, int32_t output_width,
                           const int32_t *y_params, const int32_t *x_params) {
  const int32_t row = input_width * depth;
  int32_t b, y, x, c;
  for (b = 0; b < batches; ++b) {
    const int8_t *image = input + b * input_height * row;
    for (y = 0; y < output_height; ++y) {
      const int32_t dy = y_params[3 * y] - 1024 * y_params[3 * y + 1]; /* weight of row y1, in 1/1024 */
      const int8_t *row0 = image + y_params[3 * y + 1] * row;
      const int8_t *row1 = image + y_params[3 * y + 2] * row;
      for (x = 0; x < output_width; ++x) {
        const int32_t dx = x_params[3 * x] - 1024 * x_params[3 * x + 1];
        const int32_t x0 = x_params[3 * x + 1] * depth, x1 = x_params[3 * x + 2] * depth;
        for (c = 0; c < depth; ++c) {
          /* Sums of products of int8 and two 11-bit weights: int64 as in TFLM. */
          const int64_t sum = (int64_t)row0[x0 + c] * (1024 - dy) * (1024 - dx) +
                              (int64_t)row1[x0 + c] * dy * (1024 - dx) + (int64_t)row0[x1 + c] * (1024 - dy) * dx +
                              (int64_t)row1[x1 + c] * dy * dx;
          const int64_t round = sum > 0 ? (1 << 19) : -(1 << 19);
          *output++ = (int8_t)((sum + round) / (1 << 20)); /* C division truncates, like TFLM */
        }
      }
    }
  }
}

void te_arg_min_max_s8(const int8_t *input, int32_t *output, int32_t outer, int32_t axis_size, int32_t inner,
                       int32_t is_max) {
  int32_t o, k, i;
  for (o = 0; o < outer; ++o) {
    for (k = 0; k < inner; ++k) {
      const int8_t *column = input + (size_t)o * axis_size * inner + k;
      int8_t best = column[0];
      int32_t best_index = 0;
      for (i = 1; i < axis_size; ++i) {
        const int8_t v = column[(size_t)i * inner];
        /* Strict comparison: ties keep the first index, as TFLM. */
        if (is_max ? v > best : v < best) {
          best = v;
          best_index = i;
        }
      }
      output[o * inner + k] = best_index;
    }
  }
}

void te_axis_map_copy(const void *input, void *output, const int32_t *desc, const int32_t *maps,
                      int32_t elem_bytes) {
  const int32_t *e = desc, *s = desc + TE_MAP_AXES;
  const int32_t *m0 = maps, *m1 = m0 + e[0], *m2 = m1 + e[1], *m3 = m2 + e[2], *m4 = m3 + e[3];
  const char *in = (const char *)input;
  char *out = (char *)output;
  int32_t i0, i1, i2, i3, i4;
  for (i0 = 0; i0 < e[0]; ++i0)
    for (i1 = 0; i1 < e[1]; ++i1)
      for (i2 = 0; i2 < e[2]; ++i2)
        for (i3 = 0; i3 < e[3]; ++i3) {
          const ptrdiff_t row = (ptrdiff_t)m0[i0] * s[0] + (ptrdiff_t)m1[i1] * s[1] + (ptrdiff_t)m2[i2] * s[2] +
                                (ptrdiff_t)m3[i3] * s[3];
          for (i4 = 0; i4 < e[4]; ++i4) {
            memcpy(out, in + (row + (ptrdiff_t)m4[i4] * s[4]) * elem_bytes, (size_t)elem_bytes);
            out += elem_bytes;
          }
        }
}
