/* format.h - printf-style formatting to any character sink (kernel and apps). */
#ifndef FORMAT_H
#define FORMAT_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*format_sink)(void *ctx, char c);

/* %d %i %u %x %X %c %s %p %%, length l/ll/z, flags 0 and -, a width. */
void vformat(format_sink out, void *ctx, const char *fmt, va_list ap);

#endif
