/*
 * console.c - kernel console output.
 *
 * Under Vbase the console_io hypercall writes a whole buffer (given by its
 * GPA: the kernel maps RAM 1:1, so a kernel address is a GPA).  A negative
 * answer means "no such hypercall" (OpenSBI answers -2 to any unknown
 * extension), and we fall back to the SBI debug console, and if that is
 * missing too (QEMU 7.2's OpenSBI 1.1 predates it) to legacy putchar.  The
 * first method that works is remembered.
 */
#include "kernel.h"
#include "format.h"

enum { CON_HYPERCALL, CON_DBCN, CON_LEGACY };
static int method = CON_HYPERCALL;

void console_write(const char *buf, size_t len)
{
    if (len == 0)
        return;
    if (method == CON_HYPERCALL) {
        long r = hypercall(HYPERVISOR_console_io, CONSOLEIO_write, (long)len, (long)buf, 0);
        if (r >= 0)
            return;
        method = CON_DBCN;
    }
    if (method == CON_DBCN) {
        /* DBCN write may write less than asked: loop on what it took. */
        while (len) {
            struct sbiret r = sbi_call(SBI_EXT_DBCN, 0, (long)len, (long)buf, 0);
            if (r.error < 0)
                break;
            buf += r.value;
            len -= (size_t)r.value;
        }
        if (len == 0)
            return;
        method = CON_LEGACY;
    }
    for (size_t i = 0; i < len; i++)
        sbi_call(SBI_LEGACY_CONSOLE_PUTCHAR, 0, (unsigned char)buf[i], 0, 0);
}

/* kprintf collects a line before writing it: one hypercall per line. */
struct linebuf { char buf[128]; size_t n; };

static void line_sink(void *ctx, char c)
{
    struct linebuf *lb = ctx;
    lb->buf[lb->n++] = c;
    if (c == '\n' || lb->n == sizeof lb->buf) {
        console_write(lb->buf, lb->n);
        lb->n = 0;
    }
}

void kvprintf(const char *fmt, va_list ap)
{
    struct linebuf lb;
    lb.n = 0;
    vformat(line_sink, &lb, fmt, ap);
    console_write(lb.buf, lb.n);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}
