/* Host runner for a generated model folder (not part of the model).
 *
 *   runner run IN OUT [TRACE]   IN holds K samples (all inputs concatenated per
 *                               sample); OUT receives K x all outputs; TRACE
 *                               (built with -DTE_TRACE) every op's outputs as
 *                               records {int32 op, int32 tensor, int32 bytes, data}.
 *   runner bench IN N           invoke N times on the first sample and print the
 *                               median nanoseconds per invoke.
 * Compiled with -DTE_PREFIX=<name> -DTE_HEADER='"<name>.h"'.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include TE_HEADER

#define TE_CAT2(a, b) a##_##b
#define TE_CAT(a, b) TE_CAT2(a, b)
#define TE_FN(f) TE_CAT(TE_PREFIX, f)

static FILE *trace_file;

#ifdef TE_TRACE
void te_trace(int op, int tensor, const void *data, size_t bytes) {
  int32_t head[3] = {op, tensor, (int32_t)bytes};
  if (!trace_file) return;
  fwrite(head, sizeof head, 1, trace_file);
  fwrite(data, 1, bytes, trace_file);
}
#endif

static size_t total_bytes(size_t (*size)(int), int count) {
  size_t n = 0;
  for (int i = 0; i < count; i++) n += size(i);
  return n;
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void load_inputs(const unsigned char *p) {
  for (int i = 0; i < TE_FN(input_count)(); i++) {
    memcpy(TE_FN(input)(i), p, TE_FN(input_bytes)(i));
    p += TE_FN(input_bytes)(i);
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int bench(const unsigned char *in, int n) {
  int64_t *t = malloc(sizeof(int64_t) * (size_t)n);
  if (!t) return 1;
  for (int k = 0; k < n; k++) {
    struct timespec a, b;
    load_inputs(in);
    clock_gettime(CLOCK_MONOTONIC, &a);
    TE_FN(invoke)();
    clock_gettime(CLOCK_MONOTONIC, &b);
    t[k] = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
  }
  qsort(t, (size_t)n, sizeof(int64_t), cmp_i64);
  printf("%lld\n", (long long)t[n / 2]);
  free(t);
  return 0;
}

int main(int argc, char **argv) {
  size_t len = 0;
  if (argc < 4) { fprintf(stderr, "usage: runner run IN OUT [TRACE] | runner bench IN N\n"); return 2; }
  unsigned char *in = read_all(argv[2], &len);
  size_t sample = total_bytes(TE_FN(input_bytes), TE_FN(input_count)());
  if (!in || sample == 0 || len % sample != 0 || len == 0) { fprintf(stderr, "bad input file %s\n", argv[2]); return 2; }
  if (strcmp(argv[1], "bench") == 0) return bench(in, atoi(argv[3]));
  FILE *out = fopen(argv[3], "wb");
  if (!out) return 2;
  if (argc > 4) trace_file = fopen(argv[4], "wb");
  for (size_t s = 0; s < len / sample; s++) {
    load_inputs(in + s * sample);
    if (TE_FN(invoke)() != 0) return 3;
    for (int i = 0; i < TE_FN(output_count)(); i++) fwrite(TE_FN(output)(i), 1, TE_FN(output_bytes)(i), out);
  }
  fclose(out);
  if (trace_file) fclose(trace_file);
  free(in);
  return 0;
}
