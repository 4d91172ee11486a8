/* Startup for the bench harness on QEMU's MPS2 boards (not part of the model).
 *
 * The vector table sits at address 0 (VTOR's reset value): the initial stack
 * pointer, then the reset handler. Reset enables the FPU (the code is built
 * for the hard-float ABI, so the compiler may use FP registers), copies .data
 * from its load image in Flash, zeroes .bss, runs main() and reports its
 * return value through semihosting. Every fault ends the run with status 70.
 */
#include <stdint.h>
#include <string.h>

#include "te_semihost.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
int main(void);

void te_reset_handler(void);
void te_fault_handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CPACR_CP10_CP11_FULL (0xFu << 20)

void te_reset_handler(void) {
  SCB_CPACR |= CPACR_CP10_CP11_FULL;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
  memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
  te_sh_exit(main());
}

void te_fault_handler(void) {
  te_sh_puts("te: fault (HardFault, MemManage, BusFault or UsageFault)\n");
  te_sh_exit(70);
}

/* Initial SP, reset, then NMI, HardFault, MemManage, BusFault, UsageFault. */
__attribute__((section(".vectors"), used)) static void (*const te_vectors[7])(void) = {
    (void (*)(void))__stack_top, te_reset_handler, te_fault_handler, te_fault_handler,
    te_fault_handler,          te_fault_handler, te_fault_handler,
};
