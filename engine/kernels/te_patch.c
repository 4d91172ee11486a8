/* Window copies for patch-based inference; see te_patch.h. */
#include "te_patch.h"

#include <string.h>

void te_copy_window(const void *src, int src_stride, void *dst, int dst_stride, int rows, int row_bytes) {
  const unsigned char *s = (const unsigned char *)src;
  unsigned char *d = (unsigned char *)dst;
  for (int r = 0; r < rows; ++r) {
    memcpy(d + (size_t)r * (size_t)dst_stride, s + (size_t)r * (size_t)src_stride, (size_t)row_bytes);
  }
}
