/* Arm semihosting calls; see te_semihost.h. */
#include "te_semihost.h"

#include <string.h>

enum {
  SYS_OPEN = 0x01,
  SYS_CLOSE = 0x02,
  SYS_WRITE0 = 0x04,
  SYS_WRITE = 0x05,
  SYS_READ = 0x06,
  SYS_FLEN = 0x0C,
  SYS_EXIT_EXTENDED = 0x20,
  ADP_STOPPED_APPLICATION_EXIT = 0x20026,
  MODE_RB = 1, /* fopen modes by index: "r", "rb", "r+", "r+b", "w", "wb", ... */
  MODE_WB = 5,
};

static int te_semihost(int op, const void *block) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = block;
  /* The "memory" clobber: the host reads and writes the block and buffers. */
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

int te_sh_open(const char *path, int for_writing) {
  uint32_t block[3] = {(uint32_t)path, for_writing ? MODE_WB : MODE_RB, (uint32_t)strlen(path)};
  return te_semihost(SYS_OPEN, block);
}

void te_sh_close(int handle) {
  uint32_t block[1] = {(uint32_t)handle};
  (void)te_semihost(SYS_CLOSE, block);
}

long te_sh_length(int handle) {
  uint32_t block[1] = {(uint32_t)handle};
  return te_semihost(SYS_FLEN, block);
}

int te_sh_read(int handle, void *buf, size_t bytes) {
  uint32_t block[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)bytes};
  return te_semihost(SYS_READ, block); /* bytes NOT read */
}

int te_sh_write(int handle, const void *buf, size_t bytes) {
  uint32_t block[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)bytes};
  return te_semihost(SYS_WRITE, block); /* bytes NOT written */
}

void te_sh_puts(const char *text) { (void)te_semihost(SYS_WRITE0, text); }

void te_sh_exit(int status) {
  /* SYS_EXIT_EXTENDED: unlike plain SYS_EXIT on AArch32, it carries the status
   * to the host, which QEMU turns into its own exit code. */
  uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  (void)te_semihost(SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}
