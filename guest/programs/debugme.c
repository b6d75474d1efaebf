/* debugme - a small program with debug information (-g -Og) for the GDB
   stub's tests and docs/debugging.md: a function with locals to read and a
   loop to step through, a global to watch, and an exit code to see. */
#include "vbase.h"

/* Written on every turn of the loop: a watchpoint's target. */
volatile int progress;

__attribute__((noinline)) int sum_of_squares(int n)
{
    int total = 0;
    for (int i = 1; i <= n; i++) {
        total += i * i;
        progress = total;
    }
    return total;
}

int main(void)
{
    int sum = sum_of_squares(5); /* 55 */
    vb_puts("debugme: done\n");
    return sum - 48; /* exit code 7 */
}
