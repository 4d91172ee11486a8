/* Data-movement ops: PAD/PADV2 (constant), CONCATENATION, SPLIT,
 * RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, GATHER, ARG_MAX/ARG_MIN, MIRROR_PAD and one strided copy behind TRANSPOSE, SLICE,
 * STRIDED_SLICE, DEPTH_TO_SPACE and SPACE_TO_DEPTH. They move bytes only,
 * as TFLM's reference kernels do (its int8 CONCATENATION requires equal
 * input and output quantisation, so nothing is rescaled). */
#ifndef TE_SHAPE_H
#define TE_SHAPE_H

#include <stdint.h>

/* Constant padding of a tensor folded to 5 axes. `desc` holds 15 int32: the
 * input extents (5), the output extents (5) and the padding before each axis
 * (5). Trailing unpadded axes are merged by the compiler, so the innermost
 * extent is one contiguous run copied with memcpy. */
void te_pad_s8(const int8_t *input, int8_t *output, const int32_t *desc, int32_t pad_value);

/* Concatenation along one axis: the output is `outer` blocks of
 * `output_inner` bytes; each block is the inputs' blocks in order. The
 * variadic part is `num_inputs` pairs (const int8_t *data, int32_t inner),
 * inner being the input's bytes per block (its extent along the axis times
 * the product of the later extents). */
void te_concatenation_s8(int8_t *output, int32_t outer, int32_t output_inner, int32_t num_inputs, ...);

/* Nearest-neighbour resize of an NHWC tensor: output pixel (y, x) copies
 * input pixel (y_map[y], x_map[x]); the maps are TFLM's GetNearestNeighbor,
 * evaluated at compile time. */
void te_resize_nearest_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t input_height,
                          int32_t input_width, int32_t depth, int32_t output_height, int32_t output_width,
                          const int32_t *y_map, const int32_t *x_map);

/* The inverse of te_concatenation_s8: `input` is `outer` blocks of
 * `input_inner` bytes, cut in order into `num_outputs` pieces given as pairs
 * (int8_t *data, int32_t inner). Serves SPLIT, SPLIT_V and UNPACK. */
void te_split_s8(const int8_t *input, int32_t outer, int32_t input_inner, int32_t num_outputs, ...);

/* output (dense) = the 6-axis strided view of `input` described by `desc`:
 * 6 output extents (outermost first), 6 input strides in elements (may be
 * negative or 0), then the element offset of the view's first element.
 * Elements are `elem_bytes` wide; a unit innermost stride copies rows with
 * memcpy. */
void te_strided_copy(const void *input, void *output, const int32_t *desc, int32_t elem_bytes);

/* RESIZE_BILINEAR for int8 NHWC, TFLM's integer path (ResizeBilinearInteger):
 * positions in 1/1024 steps. For output row y, y_params[3y..3y+2] holds
 * (input_y, y0, y1): the scaled position and the two source rows; x_params
 * likewise for columns. Each output is the 4-tap weighted sum in 2^-20 units,
 * rounded half away from zero. */
void te_resize_bilinear_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t input_height,
                           int32_t input_width, int32_t depth, int32_t output_height, int32_t output_width,
                           const int32_t *y_params, const int32_t *x_params);

/* output[i0..i4] = input[sum_k maps_k[i_k] * stride_k] over 5 axes: an
 * independent index map per axis (MIRROR_PAD's reflections). `desc` holds the
 * 5 output extents then the 5 input strides (elements); `maps` the per-axis
 * maps one after the other (extent k entries for axis k). */
void te_axis_map_copy(const void *input, void *output, const int32_t *desc, const int32_t *maps,
                      int32_t elem_bytes);

/* ARG_MAX (is_max 1) / ARG_MIN (0) of int8 data viewed as [outer, axis_size,
 * inner]: the first index of the extreme value, as int32 (TFLM's only type). */
void te_arg_min_max_s8(const int8_t *input, int32_t *output, int32_t outer, int32_t axis_size, int32_t inner,
                       int32_t is_max);

/* GATHER along one axis: the input is [batch, outer, axis_size, inner]
 * elements, `coords` [batch, coord_size] int32 positions, the output
 * [batch, outer, coord_size, inner]. A position outside [0, axis_size) is an
 * error in TFLM; here its slice of the output is zero-filled. */
void te_gather(const void *input, const int32_t *coords, void *output, int32_t batch, int32_t outer,
               int32_t axis_size, int32_t coord_size, int32_t inner, int32_t elem_bytes);

#endif /* TE_SHAPE_H */
