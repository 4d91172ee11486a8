/* A stand-in model with the generated API and no work (bench harness only).
 *
 * Linked instead of the model, it gives the harness's own share of Flash and
 * SRAM, so the model's share is the full ELF minus this one.
 */
#include TE_HEADER

#define TE_CAT2(a, b) a##_##b
#define TE_CAT(a, b) TE_CAT2(a, b)
#define TE_FN(f) TE_CAT(TE_PREFIX, f)

/* Never run, only linked: no storage, so every byte of data and bss left in
 * the stub ELF belongs to the harness. */
void *TE_FN(input)(int index) {
  (void)index;
  return 0;
}
size_t TE_FN(input_bytes)(int index) {
  (void)index;
  return 0;
}
int TE_FN(input_count)(void) { return 0; }
const void *TE_FN(output)(int index) {
  (void)index;
  return 0;
}
size_t TE_FN(output_bytes)(int index) {
  (void)index;
  return 0;
}
int TE_FN(output_count)(void) { return 0; }
int TE_FN(invoke)(void) { return 0; }
