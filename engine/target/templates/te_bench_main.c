/* Bench harness for a generated model on QEMU's Cortex-M boards (not part of the model).
 *
 * Reads te_in.bin (K samples, all inputs concatenated per sample) through
 * semihosting, invokes the model on each, appends all outputs to te_out.bin and
 * writes one text line per measurement to te_report.txt:
 *
 *   calibration <instructions of the measuring glue> stack <bytes>
 *   hook <instructions of the profile hook>          (with -DTE_PROFILE)
 *   sample <s> instructions <n> stack <bytes>
 *   op <i> instructions <n>                          (with -DTE_PROFILE)
 *
 * `instructions` counts what <name>_invoke() executes, exactly (te_icount.S);
 * `stack` is the deepest stack below the call, found by painting the free
 * stack (at least the probe's own 40 bytes). Profile builds (-DTE_PROFILE
 * -DTE_PROFILE_OPS=<ops>) stamp around every op through the te_trace hook and
 * report per-op sums over all samples, the hook's overhead subtracted (the
 * model calls te_trace only when compiled with -DTE_TRACE, so profile builds
 * define both macros). Built with -DTE_TRACE alone, it writes every op's
 * outputs to te_trace.bin as records {int32 op, int32 tensor, int32 bytes, data}, like the host runner.
 * Compiled with -DTE_PREFIX=<name> -DTE_HEADER='"<name>.h"'.
 */
#include <stdint.h>
#include <string.h>

#include TE_HEADER
#include "te_icount.h"
#include "te_semihost.h"


#define TE_CAT2(a, b) a##_##b
#define TE_CAT(a, b) TE_CAT2(a, b)
#define TE_FN(f) TE_CAT(TE_PREFIX, f)

enum { TE_OK = 0, TE_BAD_INPUT = 2, TE_INVOKE_FAILED = 3, TE_PROBE_MISSED = 4, TE_IO_FAILED = 5 };

#define TE_STACK_PAINT 0xA5C3E1F0u
#define TE_STACK_GUARD 256 /* bytes left unpainted below the caller's frame */

extern uint32_t __stack_limit[];
static int te_report_handle = -1;

static void te_report(const char *key, long a, const char *key2, long b, const char *key3, long c) {
  /* One "key a key2 b [key3 c]" line, to the report file and the console. */
  char line[96];
  char *p = line;
  const char *parts[3] = {key, key2, key3};
  long values[3] = {a, b, c};
  for (int k = 0; k < 3 && parts[k]; k++) {
    char digits[12];
    int n = 0;
    unsigned long v = values[k] < 0 ? (unsigned long)-values[k] : (unsigned long)values[k];
    do digits[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    if (k) *p++ = ' ';
    p += strlen(strcpy(p, parts[k]));
    *p++ = ' ';
    if (values[k] < 0) *p++ = '-';
    while (n) *p++ = digits[--n];
  }
  *p++ = '\n';
  *p = 0;
  te_sh_write(te_report_handle, line, (size_t)(p - line));
  te_sh_puts(line);
}

#if defined(TE_TRACE) && !defined(TE_PROFILE)
static int te_trace_handle = -1;

void te_trace(int op, int tensor, const void *data, size_t bytes) {
  int32_t head[3] = {op, tensor, (int32_t)bytes};
  if (te_trace_handle < 0) return;
  te_sh_write(te_trace_handle, head, sizeof head);
  te_sh_write(te_trace_handle, data, bytes);
}
#endif

#ifdef TE_PROFILE
#define TE_MAX_OPS 4096
#define TE_CALIBRATION_SLOT (TE_MAX_OPS - 1)
static uint32_t te_op_instructions[TE_MAX_OPS];
static uint32_t te_op_start, te_hook_overhead;

/* Called after each op: closes the op's interval, opens the next one. The
 * hook's own instructions (and its call) are measured once and subtracted;
 * every call takes the same path through it. What remains of an op is its
 * kernel call plus the few instructions (about 3) that load the hook's
 * arguments: an alias op such as RESHAPE shows just those. */
void te_trace(int op, int tensor, const void *data, size_t bytes) {
  uint32_t now = te_icount_end();
  (void)tensor, (void)data, (void)bytes;
  if (op >= 0 && op < TE_MAX_OPS) te_op_instructions[op] += now - te_op_start - te_hook_overhead;
  te_op_start = te_icount_begin();
}

static void te_calibrate_hook(void) {
  /* Three calls in a row, nothing between them but their arguments: the
   * second and third intervals are pure hook overhead (the first one starts
   * elsewhere, so it goes to a slot of its own). */
  te_trace(TE_CALIBRATION_SLOT - 1, 0, 0, 0);
  te_trace(TE_CALIBRATION_SLOT, 0, 0, 0);
  te_trace(TE_CALIBRATION_SLOT, 0, 0, 0);
  te_hook_overhead = te_op_instructions[TE_CALIBRATION_SLOT] / 2;
}
#endif

typedef int (*te_fn)(void);
int te_icount_empty(void); /* te_icount.S: `movs r0, #0; bx lr` */
#define TE_EMPTY_INSTRUCTIONS 2

/* Instructions from the begin stamp to the end stamp around one call of fn;
 * *sp gets the stack pointer at the call. noipa: the one copy of this code
 * measures both the model and the empty calibration function. */
__attribute__((noipa)) static uint32_t te_measure(te_fn fn, int *status, uint32_t *sp) {
  uint32_t here;
  __asm__ volatile("mov %0, sp" : "=r"(here));
  *sp = here;
  uint32_t t0 = te_icount_begin();
#ifdef TE_PROFILE
  te_op_start = t0; /* op 0's interval starts here */
#endif
  int s = fn();
  uint32_t t1 = te_icount_end();
  *status = s;
  return t1 - t0;
}

static void te_paint_stack(void) {
  uint32_t here;
  __asm__ volatile("mov %0, sp" : "=r"(here));
  for (uint32_t *w = __stack_limit; (uint32_t)w < here - TE_STACK_GUARD; w++) *w = TE_STACK_PAINT;
}

static uint32_t te_stack_low(void) {
  uint32_t *w = __stack_limit;
  while (*w == TE_STACK_PAINT) w++;
  return (uint32_t)w;
}

/* Instructions of one call of fn (region glue included) and its stack depth. */
static uint32_t te_run(te_fn fn, int *status, uint32_t *stack_bytes) {
  uint32_t sp;
  te_paint_stack();
  uint32_t n = te_measure(fn, status, &sp);
  *stack_bytes = sp - te_stack_low();
  return n;
}

static int te_load_sample(int handle) {
  for (int i = 0; i < TE_FN(input_count)(); i++)
    if (te_sh_read(handle, TE_FN(input)(i), TE_FN(input_bytes)(i)) != 0) return TE_BAD_INPUT;
  return TE_OK;
}

static int te_write_outputs(int handle) {
  for (int i = 0; i < TE_FN(output_count)(); i++)
    if (te_sh_write(handle, TE_FN(output)(i), TE_FN(output_bytes)(i)) != 0) return TE_IO_FAILED;
  return TE_OK;
}

static long te_samples(int handle) {
  long sample = 0, length = te_sh_length(handle);
  for (int i = 0; i < TE_FN(input_count)(); i++) sample += (long)TE_FN(input_bytes)(i);
  return (sample > 0 && length > 0 && length % sample == 0) ? length / sample : -1;
}

static int te_bench(int in, int out) {
  int status;
  uint32_t stack, probe_stack;
  long count = te_samples(in);
  if (count < 0) return TE_BAD_INPUT;
  /* The region's own glue: measured around a function of known length. */
  uint32_t glue = te_run(te_icount_empty, &status, &probe_stack) - TE_EMPTY_INSTRUCTIONS;
  te_report("calibration", (long)glue, "stack", (long)probe_stack, 0, 0);
#ifdef TE_PROFILE
  te_calibrate_hook();
  te_report("hook", (long)te_hook_overhead, 0, 0, 0, 0);
#endif
  for (long s = 0; s < count; s++) {
    if (te_load_sample(in) != TE_OK) return TE_BAD_INPUT;
    uint32_t n = te_run(TE_FN(invoke), &status, &stack) - glue;
    if (status != 0) return TE_INVOKE_FAILED;
    te_report("sample", s, "instructions", (long)n, "stack", (long)stack);
    if (te_write_outputs(out) != TE_OK) return TE_IO_FAILED;
  }
#ifdef TE_PROFILE
  for (int op = 0; op < TE_CALIBRATION_SLOT - 1 && op < TE_PROFILE_OPS; op++)
    te_report("op", op, "instructions", (long)te_op_instructions[op], 0, 0);
#endif
  return te_icount_failed() ? TE_PROBE_MISSED : TE_OK;
}

int main(void) {
  te_icount_start_timer();
  int in = te_sh_open("te_in.bin", 0), out = te_sh_open("te_out.bin", 1);
  te_report_handle = te_sh_open("te_report.txt", 1);
  if (in < 0 || out < 0 || te_report_handle < 0) return TE_IO_FAILED;
#if defined(TE_TRACE) && !defined(TE_PROFILE)
  te_trace_handle = te_sh_open("te_trace.bin", 1);
  if (te_trace_handle < 0) return TE_IO_FAILED;
#endif
  int status = te_bench(in, out);
  te_sh_close(in);
  te_sh_close(out);
  te_sh_close(te_report_handle);
#if defined(TE_TRACE) && !defined(TE_PROFILE)
  te_sh_close(te_trace_handle);
#endif
  return status;
}
