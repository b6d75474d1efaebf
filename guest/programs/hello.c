/* hello - the smallest end-to-end check: UART output and a clean exit. */
#include "vbase.h"

int main(void)
{
    vb_puts("Hello from Vbase!\n");
    vb_puts("Bare-metal RV64 in M-mode on a QEMU virt-compatible machine.\n");
    return 0;
}
