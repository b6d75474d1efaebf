/*
 * ulib.c - system call wrappers and buffered output for U-mode programs.
 */
#include "vbase.h"
#include "format.h"

static long syscall3(long nr, long a0, long a1, long a2)
{
    register long r_a0 __asm__("a0") = a0;
    register long r_a1 __asm__("a1") = a1;
    register long r_a2 __asm__("a2") = a2;
    register long r_a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a7) : "memory");
    return r_a0;
}

long sys_write(int fd, const void *buf, size_t len) { return syscall3(64, fd, (long)buf, (long)len); }
long sys_getpid(void) { return syscall3(172, 0, 0, 0); }
long sys_sched_yield(void) { return syscall3(124, 0, 0, 0); }
long sys_vbase(void *va, size_t len, int op) { return syscall3(1024, (long)va, (long)len, op); }

void sys_exit(int code)
{
    for (;;)
        syscall3(93, code, 0, 0);
}

/* Output is collected and written a line at a time, so that lines of
   processes running in turn do not mix within a line. */
static char outbuf[256];
static size_t outlen;

void vb_flush(void)
{
    if (outlen)
        sys_write(1, outbuf, outlen);
    outlen = 0;
}

void vb_putc(char c)
{
    outbuf[outlen++] = c;
    if (c == '\n' || outlen == sizeof outbuf)
        vb_flush();
}

void vb_puts(const char *s)
{
    while (*s)
        vb_putc(*s++);
}

static void sink(void *ctx, char c)
{
    (void)ctx;
    vb_putc(c);
}

void vb_vprintf(const char *fmt, va_list ap)
{
    vformat(sink, 0, fmt, ap);
}

void vb_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vb_vprintf(fmt, ap);
    va_end(ap);
}

void vb_exit(int code)
{
    vb_flush();
    sys_exit(code);
}
