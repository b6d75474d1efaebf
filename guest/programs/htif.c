/*
 * htif-hello / htif-fail - end the run the Spike/HTIF way instead of
 * through the test finisher: store an odd value to the `tohost` symbol,
 * 1 for success or (code << 1) | 1 for exit code `code`.  The host finds
 * tohost/fromhost through the ELF symbol table.
 *
 * Built twice from this file with HTIF_EXIT_CODE = 0 and 3.
 */
#include "vbase.h"

#ifndef HTIF_EXIT_CODE
#error "define HTIF_EXIT_CODE"
#endif

/* Names, alignment and section follow riscv-tests' convention. */
volatile uint64_t tohost __attribute__((section(".tohost"), aligned(8)));
volatile uint64_t fromhost __attribute__((section(".tohost"), aligned(8)));

/*
 * A host that implements HTIF stops us at the store.  QEMU's `virt` does
 * not, so after a while we say so and leave through the finisher with a
 * code that no HTIF host would produce (99).
 */
#define HTIF_WAIT_SPINS 1000000

int main(void)
{
#if HTIF_EXIT_CODE == 0
    vb_puts("htif ok\n");
#else
    vb_printf("htif fail: exit code %d\n", HTIF_EXIT_CODE);
#endif
    tohost = ((uint64_t)HTIF_EXIT_CODE << 1) | 1;

    for (volatile int i = 0; i < HTIF_WAIT_SPINS; i++)
        ;
    vb_puts("htif: tohost was not acted on; exiting through the test finisher\n");
    return 99;
}
