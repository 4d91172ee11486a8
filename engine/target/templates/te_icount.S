/* Exact instruction stamps from QEMU's CMSDK timer (bench harness only).
 *
 * Under `-icount shift=0` QEMU's virtual clock advances exactly 1 ns per
 * executed instruction, and the CMSDK APB timer 0 (0x40000000) counts down at
 * the 25 MHz system clock: one tick per 40 instructions. Reading the timer
 * once therefore gives the time to 40 instructions. This probe does better,
 * to the single instruction:
 *
 *   1. spin until the timer ticks (edge E1), counting the spins;
 *   2. run a fixed run of NOPs so the next edge E2 = E1 + 40 falls inside
 *   3. a window of 11 back-to-back timer loads (one instruction apart).
 *
 * The loads before E2 return v, those after return v - 1, so the number of
 * loads after E2 ("after", 1..10 when the window straddles E2) places the
 * window at exactly 40 * ticks(E2) - (11 - after) instructions. QEMU performs
 * each device read at the exact instruction count (icount makes an I/O
 * instruction end its translation block), so all of this is deterministic.
 *
 * void te_icount_probe(uint32_t out[3]):
 *   out[0] = instruction time of the window (mod 2^32, constant offset dropped),
 *   out[1] = spin iterations (4 instructions each) before it,
 *   out[2] = "after"; outside 1..10 the window missed E2 (see te_icount.h).
 * Everything after the window runs a fixed number of instructions, so the
 * probe's exit is a fixed distance after out[0]; its entry is
 * 4 * out[1] + constant before it.
 */
  .syntax unified
  .thumb
  .text

  .equ TE_TIMER_VALUE, 0x40000004
  .equ TE_INSTR_PER_TICK, 40
  .equ TE_WINDOW, 11
  /* NOPs between the spin exit and the window: centres E2 in the window
   * (measured: "after" stays in 3..6 on mps2-an386 and mps2-an500). */
  .equ TE_PAD, 28

  .global te_icount_probe
  .type te_icount_probe, %function
  .thumb_func
te_icount_probe:
  push {r4-r11, lr}
  push {r0}
  ldr r0, =TE_TIMER_VALUE
  movs r3, #0
  ldr r1, [r0]
1:
  ldr r2, [r0]          @ spin until the timer leaves the value in r1
  adds r3, r3, #1
  cmp r2, r1
  beq 1b
  .rept TE_PAD
  nop
  .endr
  ldr r1, [r0]          @ the window: 11 loads, one instruction apart
  ldr r4, [r0]
  ldr r5, [r0]
  ldr r6, [r0]
  ldr r7, [r0]
  ldr r8, [r0]
  ldr r9, [r0]
  ldr r10, [r0]
  ldr r11, [r0]
  ldr r12, [r0]
  ldr lr, [r0]
  add r1, r1, r4        @ sum of the 11 loads = 11 * v - after
  add r1, r1, r5
  add r1, r1, r6
  add r1, r1, r7
  add r1, r1, r8
  add r1, r1, r9
  add r1, r1, r10
  add r1, r1, r11
  add r1, r1, r12
  add r1, r1, lr
  movs r4, #TE_WINDOW
  mul r4, r2, r4
  subs r4, r4, r1       @ r4 = after
  subs r2, r2, #1       @ value after E2; the timer counts down from 0xFFFFFFFF,
  mvns r2, r2           @ so ticks elapsed at E2 = ~(v - 1)
  movs r5, #TE_INSTR_PER_TICK
  mul r2, r2, r5
  adds r2, r2, r4       @ 40 * ticks + after (= window time + 11)
  pop {r0}
  str r2, [r0]
  str r3, [r0, #4]
  str r4, [r0, #8]
  pop {r4-r11, pc}
  .pool
  .size te_icount_probe, . - te_icount_probe

/* int te_icount_empty(void): a function of exactly two instructions, the
 * calibration stand-in for the model's invoke (same signature). */
  .global te_icount_empty
  .type te_icount_empty, %function
  .thumb_func
te_icount_empty:
  movs r0, #0
  bx lr
  .size te_icount_empty, . - te_icount_empty
