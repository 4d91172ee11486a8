/* Window copies for patch-based inference (MCUNetV2).
 *
 * A patch's input window (with its halo) or a crop of a patch buffer is a
 * rectangle of pixels inside a larger row-major NHWC buffer: `rows` runs of
 * `row_bytes` contiguous bytes, `src_stride` bytes apart in the source and
 * `dst_stride` apart in the destination. Strides and sizes are in bytes, so
 * one copy serves every element type. Source and destination never overlap.
 */
#ifndef TE_PATCH_H
#define TE_PATCH_H

void te_copy_window(const void *src, int src_stride, void *dst, int dst_stride, int rows, int row_bytes);

#endif /* TE_PATCH_H */
