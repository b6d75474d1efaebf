/*
 * uart.c - console on the 16550 UART, plus the number formatting that
 * every program uses.  Polled: no interrupts, no FIFO set-up (QEMU's and
 * Vbase's 16550 models accept bytes at reset without initialisation).
 */
#include "vbase.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_LSR 5 /* line status */
#define LSR_DR   0x01 /* data ready */
#define LSR_THRE 0x20 /* transmit holding register empty */

void vb_putc(char c)
{
    while (!(vb_read8(VB_UART_BASE + UART_LSR) & LSR_THRE))
        ;
    vb_write8(VB_UART_BASE + UART_THR, (uint8_t)c);
}

void vb_puts(const char *s)
{
    while (*s)
        vb_putc(*s++);
}

int vb_trygetc(void)
{
    if (!(vb_read8(VB_UART_BASE + UART_LSR) & LSR_DR))
        return -1;
    return vb_read8(VB_UART_BASE + UART_RBR);
}

int vb_getc(void)
{
    int c;
    while ((c = vb_trygetc()) < 0)
        ;
    return c;
}

/* Writes v in `base` into the end of buf; returns the first digit. */
static char *format_unsigned(char *end, uint64_t v, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

/* Emits s padded to `width` with `pad`, on the left unless `left`. */
static void put_padded(const char *s, size_t len, int width, char pad, int left)
{
    if (!left)
        for (int i = (int)len; i < width; i++)
            vb_putc(pad);
    for (size_t i = 0; i < len; i++)
        vb_putc(s[i]);
    if (left)
        for (int i = (int)len; i < width; i++)
            vb_putc(' ');
}

void vb_put_hex(uint64_t v)
{
    vb_printf("0x%lx", (unsigned long)v);
}

void vb_put_dec(int64_t v)
{
    vb_printf("%ld", (long)v);
}

void vb_put_udec(uint64_t v)
{
    vb_printf("%lu", (unsigned long)v);
}

void vb_vprintf(const char *fmt, va_list ap)
{
    char buf[24]; /* 64-bit octal would need 22; we only do 10 and 16 */
    char *end = buf + sizeof buf;

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            vb_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, longs = 0, left = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }

        const char *s;
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, long) : va_arg(ap, int);
            /* Negate as unsigned so INT64_MIN does not overflow. */
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            char *p = format_unsigned(end, mag, 10, 0);
            if (v < 0) {
                if (pad == '0') { /* sign goes before the zero padding */
                    vb_putc('-');
                    width--;
                } else {
                    *--p = '-';
                }
            }
            put_padded(p, (size_t)(end - p), width, pad, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            char *p = format_unsigned(end, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            put_padded(p, (size_t)(end - p), width, pad, left);
            break;
        }
        case 'p': {
            uint64_t v = (uintptr_t)va_arg(ap, void *);
            char *p = format_unsigned(end, v, 16, 0);
            vb_puts("0x");
            put_padded(p, (size_t)(end - p), width, pad, left);
            break;
        }
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            put_padded(buf, 1, width, ' ', left);
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(s, strlen(s), width, ' ', left);
            break;
        case '%':
            vb_putc('%');
            break;
        case '\0':
            return; /* lone '%' at the end */
        default: /* unknown conversion: show it rather than guess */
            vb_putc('%');
            vb_putc(*fmt);
            break;
        }
    }
}

void vb_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vb_vprintf(fmt, ap);
    va_end(ap);
}
