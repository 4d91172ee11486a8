/* Exact instruction counting under QEMU -icount shift=0 (bench harness only).
 *
 *   uint32_t t0 = te_icount_begin();   // stamp: the probe's exit
 *   ... code ...
 *   uint32_t t1 = te_icount_end();     // stamp: the probe's entry
 *   t1 - t0 = instructions of the code + a constant of the call sites,
 *
 * which callers calibrate away by measuring an empty region the same way.
 * See te_icount.S for how the CMSDK timer (one tick per 40 instructions)
 * yields single-instruction resolution.
 */
#ifndef TE_ICOUNT_H
#define TE_ICOUNT_H

#include <stdint.h>

void te_icount_probe(uint32_t out[3]);
void te_icount_start_timer(void);
uint32_t te_icount_begin(void);
uint32_t te_icount_end(void);
int te_icount_failed(void); /* nonzero if a probe's window ever missed the timer edge */

#endif /* TE_ICOUNT_H */
