/*
 * vbase.h (Linux) - the runtime of the paper's applications when they run
 * under Linux instead of the small Vbase kernel: the same names as
 * guest/apps/include/vbase.h for what secure-app.c and vault.c use, so the
 * sources build unchanged with riscv64-linux-gnu-gcc -static (glibc).
 * Printing is stdio's; sys_vbase is the paper's system call, served by
 * vbase.ko through /dev/vbase (vbase-linux.c).
 */
#ifndef VBASE_H
#define VBASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* vbase(va, len, op): op 0 enter, 1 exit; the hypervisor's answer (>= 0 the
   region id) or a negative errno, as the small kernel's syscall returns. */
long sys_vbase(void *va, size_t len, int op);

#define vb_printf printf

#endif
