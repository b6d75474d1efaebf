/*
 * traps_asm.S - trap entry/exit for M and S mode, and the small pieces of
 * the traps test that must be written in assembly.
 */
#include "traps.h"

#define REG(n) ((n) * 8)

/* Saves x1, x3..x31 and the pre-trap sp.  t0 (x5) was saved by the
   entry stub, which left the vector index in t0. */
.macro SAVE_GPRS
    sd      t0, FRAME_VEC(sp)
    sd      x1, REG(1)(sp)
    addi    t0, sp, FRAME_SIZE
    sd      t0, REG(2)(sp)
    sd      x3, REG(3)(sp)
    sd      x4, REG(4)(sp)
    .irp n, 6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, REG(\n)(sp)
    .endr
.endm

/* Restores every GPR from the frame, sp last (the handler may move it). */
.macro RESTORE_GPRS
    ld      x1, REG(1)(sp)
    ld      x3, REG(3)(sp)
    ld      x4, REG(4)(sp)
    .irp n, 5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, REG(\n)(sp)
    .endr
    ld      sp, REG(2)(sp)
.endm

/* The common body of a trap handler for mode prefix m or s. */
.macro TRAP_COMMON p, handler, xret
    SAVE_GPRS
    csrr    t0, \p\()epc
    sd      t0, FRAME_EPC(sp)
    csrr    t0, \p\()cause
    sd      t0, FRAME_CAUSE(sp)
    csrr    t0, \p\()tval
    sd      t0, FRAME_TVAL(sp)
    csrr    t0, \p\()status
    sd      t0, FRAME_STATUS(sp)
    mv      a0, sp
    call    \handler
    /* The handler may change where and to which mode we return. */
    ld      t0, FRAME_EPC(sp)
    csrw    \p\()epc, t0
    ld      t0, FRAME_STATUS(sp)
    csrw    \p\()status, t0
    RESTORE_GPRS
    \xret
.endm

    .text

/* ---- M-mode, direct ---------------------------------------------------- */

    .balign 4
    .globl m_trap_entry
m_trap_entry:
    addi    sp, sp, -FRAME_SIZE
    sd      t0, REG(5)(sp)
    li      t0, -1
    j       m_trap_common

m_trap_common:
    TRAP_COMMON m, m_trap_handler, mret

/* ---- M-mode, vectored: slot n is jumped to for interrupt cause n ------- */

.macro VECTOR_STUB n
m_vec_\n:
    addi    sp, sp, -FRAME_SIZE
    sd      t0, REG(5)(sp)
    li      t0, \n
    j       m_trap_common
.endm

    .balign 64
    .globl m_vector_table
m_vector_table:
    .option push
    .option norvc           /* every slot is exactly 4 bytes */
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       m_vec_\n
    .endr
    .option pop

    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    VECTOR_STUB \n
    .endr

/* ---- S-mode, direct ---------------------------------------------------- */

    .balign 4
    .globl s_trap_entry
s_trap_entry:
    addi    sp, sp, -FRAME_SIZE
    sd      t0, REG(5)(sp)
    li      t0, -1
    TRAP_COMMON s, s_trap_handler, sret

/* ---- privilege changes -------------------------------------------------- */

/* void drop_from_m(long mode): "return" to the caller in `mode`. */
    .globl drop_from_m
drop_from_m:
    li      t0, 3 << 11             /* mstatus.MPP */
    csrc    mstatus, t0
    slli    t0, a0, 11
    csrs    mstatus, t0
    csrw    mepc, ra
    mret

/* void drop_from_s(void): "return" to the caller in U-mode. */
    .globl drop_from_s
drop_from_s:
    li      t0, 1 << 8              /* sstatus.SPP */
    csrc    sstatus, t0
    csrw    sepc, ra
    sret

/* long call_va(uintptr_t va): calls va.  When the fetch faults, the
   handler resumes at ra, i.e. right after the jalr, with a0 == va. */
    .globl call_va
call_va:
    addi    sp, sp, -16
    sd      ra, 8(sp)
    jalr    ra, 0(a0)
    ld      ra, 8(sp)
    addi    sp, sp, 16
    ret

    .globl ret42
ret42:
    li      a0, 42
    ret

/*
 * long user_call(uintptr_t va, long arg), from S-mode: runs the U-mode
 * snippet at va with a0 = arg.  The snippet ends with ecall SYS_USER_RET;
 * the S handler then srets to user_call_return, in S-mode, with the
 * snippet's a0, and we restore the callee-saved state kept here.
 */
    .globl user_call
user_call:
    la      t0, user_ctx
    sd      ra, 0(t0)
    sd      sp, 8(t0)
    sd      s0, 16(t0)
    sd      s1, 24(t0)
    sd      s2, 32(t0)
    sd      s3, 40(t0)
    sd      s4, 48(t0)
    sd      s5, 56(t0)
    sd      s6, 64(t0)
    sd      s7, 72(t0)
    sd      s8, 80(t0)
    sd      s9, 88(t0)
    sd      s10, 96(t0)
    sd      s11, 104(t0)
    csrw    sepc, a0
    li      t0, 1 << 8              /* sstatus.SPP = U */
    csrc    sstatus, t0
    mv      a0, a1
    sret

    .globl user_call_return
user_call_return:
    la      t0, user_ctx
    ld      ra, 0(t0)
    ld      sp, 8(t0)
    ld      s0, 16(t0)
    ld      s1, 24(t0)
    ld      s2, 32(t0)
    ld      s3, 40(t0)
    ld      s4, 48(t0)
    ld      s5, 56(t0)
    ld      s6, 64(t0)
    ld      s7, 72(t0)
    ld      s8, 80(t0)
    ld      s9, 88(t0)
    ld      s10, 96(t0)
    ld      s11, 104(t0)
    ret

    .bss
    .balign 8
user_ctx:
    .space  14 * 8

/*
 * U-mode snippets, alone on a page of their own so that the page can be
 * mapped with the U bit.  A faulting access is skipped by the handler,
 * which leaves a0 unchanged.
 */
    .section .text.user, "ax", @progbits
    .balign 4096
    .globl user_page
user_page:
    .option push
    .option norvc

    /* a0 = address: returns the doubleword there. */
    .globl user_load
user_load:
    ld      a0, 0(a0)
    li      a7, SYS_USER_RET
    ecall

    /* a0 = address: stores 0x5a there; returns 0. */
    .globl user_store
user_store:
    li      t0, 0x5a
    sd      t0, 0(a0)
    li      a0, 0
    li      a7, SYS_USER_RET
    ecall

    /* Returns 7; S-mode must not be able to execute it (U page). */
    .globl user_ret7
user_ret7:
    li      a0, 7
    ret

    .option pop
    .balign 4096
    .globl user_page_end
user_page_end:
