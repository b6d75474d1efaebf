/*
 * entry.S - boot entry, the trap vector and the return to U-mode.
 *
 * sscratch holds the current process's trapframe while U-mode runs and 0
 * while the kernel runs, so the vector can tell a trap from U (save the
 * user registers into the trapframe, switch to the kernel stack) from a
 * trap in the kernel itself: an interrupt while the attacker kernel idles,
 * a fault in kcopy (the attack mailbox's accesses), or else a bug (report
 * and shut down).
 */
#define TF_SIZE (33 * 8)
#define TF_SEPC (32 * 8)

    .section .text.init, "ax"
    .globl _start
_start:
    /* a0 = vCPU (hart) id, a1 = start info GPA (Vbase) or DTB (QEMU). */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    sie, zero
    csrw    sscratch, zero
    bnez    a0, park            /* one vCPU runs the kernel; others idle */
    la      sp, kernel_stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, trap_vector
    csrw    stvec, t0
    call    kmain               /* kmain(vcpu, start_info) never returns */
park:
    wfi
    j       park

    .text
    .balign 4
    .globl trap_vector
trap_vector:
    csrrw   sp, sscratch, sp    /* sp = trapframe, sscratch = user sp */
    beqz    sp, kernel_trap
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    csrr    t0, sscratch
    sd      t0, 2*8(sp)         /* the user sp */
    csrr    t0, sepc
    sd      t0, TF_SEPC(sp)
    csrw    sscratch, zero      /* now in the kernel */
    .option push
    .option norelax
    la      gp, __global_pointer$   /* U-mode may have changed gp */
    .option pop
    mv      a0, sp
    la      sp, kernel_stack_top
    call    trap_handler        /* returns the trapframe to resume */
    /* fall through */

    /* user_return(tf): resume a process from its trapframe (never returns). */
    .globl user_return
user_return:
    ld      t0, TF_SEPC(a0)
    csrw    sepc, t0
    li      t0, 0x100           /* sstatus.SPP = 0: sret goes to U */
    csrc    sstatus, t0
    li      t0, 0x20            /* SPIE = 1 (U-mode takes interrupts anyway) */
    csrs    sstatus, t0
    csrw    sscratch, a0
    ld      x1, 1*8(a0)
    ld      x2, 2*8(a0)
    ld      x3, 3*8(a0)
    ld      x4, 4*8(a0)
    ld      x5, 5*8(a0)
    ld      x6, 6*8(a0)
    ld      x7, 7*8(a0)
    ld      x8, 8*8(a0)
    ld      x9, 9*8(a0)
    ld      x11, 11*8(a0)
    ld      x12, 12*8(a0)
    ld      x13, 13*8(a0)
    ld      x14, 14*8(a0)
    ld      x15, 15*8(a0)
    ld      x16, 16*8(a0)
    ld      x17, 17*8(a0)
    ld      x18, 18*8(a0)
    ld      x19, 19*8(a0)
    ld      x20, 20*8(a0)
    ld      x21, 21*8(a0)
    ld      x22, 22*8(a0)
    ld      x23, 23*8(a0)
    ld      x24, 24*8(a0)
    ld      x25, 25*8(a0)
    ld      x26, 26*8(a0)
    ld      x27, 27*8(a0)
    ld      x28, 28*8(a0)
    ld      x29, 29*8(a0)
    ld      x30, 30*8(a0)
    ld      x31, 31*8(a0)
    ld      x10, 10*8(a0)
    sret

kernel_trap:
    /* A trap while the kernel ran.  Only two kinds are expected: an
       interrupt while the attacker kernel idles with SIE set, and an access
       or page fault inside kcopy.  Save the caller-saved registers, let
       kernel_trap_handler decide (it resumes, redirects sepc to kcopy's
       fault exit, or shuts down), then resume where the trap hit. */
    csrrw   sp, sscratch, sp    /* sp = the kernel's sp, sscratch = 0 again */
    addi    sp, sp, -128
    sd      ra, 0*8(sp)
    sd      t0, 1*8(sp)
    sd      t1, 2*8(sp)
    sd      t2, 3*8(sp)
    sd      t3, 4*8(sp)
    sd      t4, 5*8(sp)
    sd      t5, 6*8(sp)
    sd      t6, 7*8(sp)
    sd      a0, 8*8(sp)
    sd      a1, 9*8(sp)
    sd      a2, 10*8(sp)
    sd      a3, 11*8(sp)
    sd      a4, 12*8(sp)
    sd      a5, 13*8(sp)
    sd      a6, 14*8(sp)
    sd      a7, 15*8(sp)
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    kernel_trap_handler
    ld      ra, 0*8(sp)
    ld      t0, 1*8(sp)
    ld      t1, 2*8(sp)
    ld      t2, 3*8(sp)
    ld      t3, 4*8(sp)
    ld      t4, 5*8(sp)
    ld      t5, 6*8(sp)
    ld      t6, 7*8(sp)
    ld      a0, 8*8(sp)
    ld      a1, 9*8(sp)
    ld      a2, 10*8(sp)
    ld      a3, 11*8(sp)
    ld      a4, 12*8(sp)
    ld      a5, 13*8(sp)
    ld      a6, 14*8(sp)
    ld      a7, 15*8(sp)
    addi    sp, sp, 128
    sret                        /* SPP = S: back into the kernel */

    /* long kcopy(void *dst, const void *src, size_t n): the attack
       mailbox's kernel accesses.  A load or store here that faults (the
       plugged-in architecture may refuse a kernel access) does not panic:
       kernel_trap_handler resumes at kcopy_fault, which returns -EACCES. */
    .globl kcopy, kcopy_start, kcopy_end, kcopy_fault
kcopy:
kcopy_start:
    or      t0, a0, a1
    or      t0, t0, a2
    andi    t0, t0, 7
    bnez    t0, 2f
1:  beqz    a2, 3f              /* 8 bytes at a time */
    ld      t1, 0(a1)
    sd      t1, 0(a0)
    addi    a0, a0, 8
    addi    a1, a1, 8
    addi    a2, a2, -8
    j       1b
2:  beqz    a2, 3f              /* bytes */
    lbu     t1, 0(a1)
    sb      t1, 0(a0)
    addi    a0, a0, 1
    addi    a1, a1, 1
    addi    a2, a2, -1
    j       2b
3:  li      a0, 0
    ret
kcopy_end:
kcopy_fault:
    li      a0, -13             /* -EACCES */
    ret

    .bss
    .balign 16
kernel_stack:
    .skip   16384
    .globl kernel_stack_top
kernel_stack_top:
