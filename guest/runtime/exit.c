/*
 * exit.c - ending a run through the SiFive test finisher, and the report
 * for traps nobody expected.
 */
#include "vbase.h"

_Noreturn void vb_exit(int code)
{
    /* QEMU exits with status 0 for PASS and with bits 31:16 for FAIL;
       FAIL with code 0 would also exit 0, but PASS says what we mean. */
    uint32_t cmd = code == 0 ? VB_FINISHER_PASS
                             : ((uint32_t)(code & 0xffff) << 16) | VB_FINISHER_FAIL;
    vb_write32(VB_FINISHER_BASE, cmd);
    /* Not reached on QEMU or Vbase; stay put on anything else. */
    for (;;)
        __asm__ volatile("wfi");
}

/* Called from vb_default_trap_entry (crt0.S). */
_Noreturn void vb_unexpected_trap(uint64_t mcause, uint64_t mepc, uint64_t mtval)
{
    vb_printf("\nunexpected trap: mcause=0x%lx mepc=0x%lx mtval=0x%lx\n",
              (unsigned long)mcause, (unsigned long)mepc, (unsigned long)mtval);
    vb_exit(127);
}
