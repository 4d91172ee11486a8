/* Test runner for engine/frontend: int16 PCM on stdin -> int8 features on stdout.
 * Scratch is malloc'ed at exactly kws_features_scratch_bytes() so ASan catches any overrun.
 * Usage: kws_frontend_main <scale> <zero_point> */
#include <stdio.h>
#include <stdlib.h>

#include "kws_tables.h"

int main(int argc, char **argv) {
  static int16_t audio[1 << 20];
  const kws_frontend *fe = &kws_frontend_config;
  size_t n, count;
  void *scratch;
  int8_t *out;
  int status;
  if (argc != 3) return 2;
  n = fread(audio, sizeof(int16_t), sizeof(audio) / sizeof(audio[0]), stdin);
  count = (size_t)fe->num_frames * (size_t)kws_features_per_frame(fe);
  scratch = malloc(kws_features_scratch_bytes(fe));
  out = (int8_t *)malloc(count);
  if (scratch == NULL || out == NULL) return 3;
  status = kws_features_int8(fe, audio, (int32_t)n, (float)atof(argv[1]), atoi(argv[2]), out, scratch);
  if (status == KWS_OK) fwrite(out, 1, count, stdout);
  free(scratch);
  free(out);
  return status;
}
