/*
 * faulty - stores to an unmapped address.  The kernel must kill it
 * ("kernel: pid N killed: cause 15 ...") and carry on with the others.
 */
#include "vbase.h"

int main(void)
{
    vb_printf("faulty: pid %ld storing to unmapped address 0xdead0000\n", sys_getpid());
    vb_flush();
    *(volatile int *)0xdead0000UL = 42;
    vb_puts("faulty: still alive (the kernel did not stop me!)\n");
    return 3;
}
