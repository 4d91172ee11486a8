/* Timer set-up and stamps around te_icount_probe (te_icount.S). */
#include "te_icount.h"

#define TE_TIMER ((volatile uint32_t *)0x40000000u) /* CMSDK APB timer 0 */
#define TE_TIMER_CTRL 0
#define TE_TIMER_VALUE 1
#define TE_TIMER_RELOAD 2
#define TE_TIMER_ENABLE 1u
#define TE_SPIN_INSTRUCTIONS 4 /* ldr, adds, cmp, beq: one spin of the probe */

static int te_icount_missed;

void te_icount_start_timer(void) {
  /* Count down from the top: 2^32 ticks (2^32 * 40 instructions) before a wrap. */
  TE_TIMER[TE_TIMER_CTRL] = 0;
  TE_TIMER[TE_TIMER_RELOAD] = 0xFFFFFFFFu;
  TE_TIMER[TE_TIMER_VALUE] = 0xFFFFFFFFu;
  TE_TIMER[TE_TIMER_CTRL] = TE_TIMER_ENABLE;
}

static void te_icount_check(const uint32_t probe[3]) {
  if (probe[2] < 1 || probe[2] > 10) te_icount_missed = 1;
}

uint32_t te_icount_begin(void) {
  uint32_t probe[3];
  te_icount_probe(probe);
  te_icount_check(probe);
  return probe[0]; /* the probe's exit follows at a fixed distance */
}

uint32_t te_icount_end(void) {
  uint32_t probe[3];
  te_icount_probe(probe);
  te_icount_check(probe);
  /* Back to the probe's entry: the spins before the window vary per call. */
  return probe[0] - TE_SPIN_INSTRUCTIONS * probe[1];
}

int te_icount_failed(void) { return te_icount_missed; }
