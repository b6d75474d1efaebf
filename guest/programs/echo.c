/*
 * echo - reads one line from the UART (up to a newline or 64 characters)
 * and writes it back in upper case.  Exercises UART input: LSR.DR polling
 * and RBR reads.
 */
#include "vbase.h"

#define MAX_LINE 64

int main(void)
{
    char line[MAX_LINE];
    int n = 0;

    vb_puts("echo: ready\n");
    while (n < MAX_LINE) {
        int c = vb_getc();
        /* A terminal may send CR for Enter; a pipe sends LF. */
        if (c == '\n' || c == '\r')
            break;
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        line[n++] = (char)c;
    }
    for (int i = 0; i < n; i++)
        vb_putc(line[i]);
    vb_putc('\n');
    return 0;
}
