/*
 * counter - prints "<name> i" for i = 0..COUNT-1 with busy work in
 * between, never yielding: two instances interleave only if the kernel
 * preempts them on the timer.  The busy loop is ~4 instructions per
 * round, so one line costs ~SPIN*4 instructions (a few scheduler ticks).
 */
#include "vbase.h"

#define COUNT 8
#define SPIN  100000

int main(int argc, char **argv)
{
    (void)argc;
    for (int i = 0; i < COUNT; i++) {
        vb_printf("%s %d\n", argv[0], i);
        for (volatile int k = 0; k < SPIN; k++)
            ;
    }
    vb_printf("%s done\n", argv[0]);
    return 0;
}
