/* Arm semihosting: the bench harness's only I/O (not part of the model).
 *
 * A `bkpt 0xab` with an operation number in r0 and an argument block in r1
 * traps to the debugger; QEMU serves it with -semihosting-config
 * enable=on,target=native, on host files relative to QEMU's working folder.
 * Operation numbers and blocks follow Arm's "Semihosting for AArch32 and
 * AArch64" specification.
 */
#ifndef TE_SEMIHOST_H
#define TE_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

int te_sh_open(const char *path, int for_writing); /* a handle, or -1 */
void te_sh_close(int handle);
long te_sh_length(int handle);                        /* bytes, or -1 */
int te_sh_read(int handle, void *buf, size_t bytes);  /* 0 when all were read */
int te_sh_write(int handle, const void *buf, size_t bytes); /* 0 when all were written */
void te_sh_puts(const char *text);                    /* to QEMU's console */
void te_sh_exit(int status) __attribute__((noreturn));

#endif /* TE_SEMIHOST_H */
