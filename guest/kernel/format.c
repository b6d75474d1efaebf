/*
 * format.c - the number formatting of runtime/uart.c, writing through a
 * sink so that the kernel (console hypercall) and U-mode programs (write
 * syscall) share one implementation.
 */
#include "format.h"

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
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
static void put_padded(format_sink out, void *ctx, const char *s, size_t len, int width, char pad, int left)
{
    if (!left)
        for (int i = (int)len; i < width; i++)
            out(ctx, pad);
    for (size_t i = 0; i < len; i++)
        out(ctx, s[i]);
    if (left)
        for (int i = (int)len; i < width; i++)
            out(ctx, ' ');
}

void vformat(format_sink out, void *ctx, const char *fmt, va_list ap)
{
    char buf[24]; /* 64-bit octal would need 22; we only do 10 and 16 */
    char *end = buf + sizeof buf;

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out(ctx, *fmt);
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
                    out(ctx, '-');
                    width--;
                } else {
                    *--p = '-';
                }
            }
            put_padded(out, ctx, p, (size_t)(end - p), width, pad, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            char *p = format_unsigned(end, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            put_padded(out, ctx, p, (size_t)(end - p), width, pad, left);
            break;
        }
        case 'p': {
            uint64_t v = (uintptr_t)va_arg(ap, void *);
            char *p = format_unsigned(end, v, 16, 0);
            out(ctx, '0');
            out(ctx, 'x');
            put_padded(out, ctx, p, (size_t)(end - p), width, pad, left);
            break;
        }
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            put_padded(out, ctx, buf, 1, width, ' ', left);
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(out, ctx, s, slen(s), width, ' ', left);
            break;
        case '%':
            out(ctx, '%');
            break;
        case '\0':
            return; /* lone '%' at the end */
        default: /* unknown conversion: show it rather than guess */
            out(ctx, '%');
            out(ctx, *fmt);
            break;
        }
    }
}

