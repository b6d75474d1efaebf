/*
 * crt0.S - reset entry.
 *
 * QEMU's `virt` reset vector (with -bios none) jumps here, to 0x80000000,
 * in M-mode with a0 = hart id and a1 = the device-tree address, which we
 * ignore.  The linker script puts .text.init first so that _start is the
 * very first byte of RAM.
 */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    /* gp must be set before anything that linker relaxation may have
       rewritten into gp-relative form - and not be relaxed itself. */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop

    /* Only hart 0 runs the program; others (if any) sleep forever. */
    csrr    t0, mhartid
    bnez    t0, .Lpark

    la      sp, __stack_top

#ifdef __riscv_flen
    /* Programs built with F/D: the hart starts with mstatus.FS = Off (as
       QEMU's virt does), so turn the FPU on (Initial) before any FP code. */
    li      t0, 1 << 13
    csrs    mstatus, t0
#endif

    /* Catch anything unexpected before main installs its own handler. */
    la      t0, vb_default_trap_entry
    csrw    mtvec, t0

    /* Zero .bss (the linker script keeps both ends 8-byte aligned). */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    li      a0, 0           /* argc */
    li      a1, 0           /* argv */
    call    main
    tail    vb_exit         /* main's return value is already in a0 */

.Lpark:
    wfi
    j       .Lpark

/*
 * Default M-mode trap vector: report the trap and stop with exit code 127.
 * It runs on whatever stack was live; good enough for a diagnostic.
 */
    .text
    .balign 4
    .globl vb_default_trap_entry
vb_default_trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    andi    sp, sp, -16
    call    vb_unexpected_trap
1:  j       1b
