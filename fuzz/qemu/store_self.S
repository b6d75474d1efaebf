/* store_self.S - AMO, SC and SD over their own instruction (issue 12, defect 5).
   main returns 0 when every check passes, else a bit per failed check:
     1  amoor.d on its own doubleword: x0 read back non-zero afterwards
     2  amoor.d: rd did not get the old doubleword (its own code)
     4  sc.d over itself and the next instruction: memory does not hold rs2, or x0 != 0 after it
     8  sc.d: rd != 0 (the SC failed)
    16  sd over itself and the next instruction: memory does not hold rs2, or x0 != 0 after it
   Whether the instruction after an SC/SD that rewrote it runs as the old or the new code is not checked:
   without fence.i the spec allows either (Vbase runs the new code, QEMU the old one).
   Built with the guest runtime (see run.sh); run under QEMU and `vbase exec`. */
    .option norvc
    .text
    .globl main
main:
    li      a0, 0

    /* 1, 2: amoor.d a1, zero, (t0) where t0 = its own 8-byte-aligned address */
    la      t0, 1f
    .p2align 3
1:  amoor.d a1, zero, (t0)
    nop
    ld      t1, 0(t0)
    addi    t2, zero, 0      /* reads x0 */
    beqz    t2, 2f
    ori     a0, a0, 1
2:  beq     a1, t1, 3f
    ori     a0, a0, 2
3:
    /* 4, 8: lr.d; sc.d a2, t3, (t0) at t0, storing [nop, addi a3, zero, 40] over itself and the next word */
    li      a3, 0
    la      t0, 4f
    la      t4, newcode
    ld      t3, 0(t4)
    lr.d    t1, (t0)
    .p2align 3
4:  sc.d    a2, t3, (t0)
    addi    a3, zero, 1      /* replaced by addi a3, zero, 40 */
    addi    t2, zero, 0
    ld      t1, 0(t0)
    bnez    t2, 41f
    beq     t1, t3, 5f
41: ori     a0, a0, 4
5:  beqz    a2, 6f
    ori     a0, a0, 8
6:
    /* 16: sd t3, 0(t0) at t0, same new code */
    li      a3, 0
    la      t0, 7f
    .p2align 3
7:  sd      t3, 0(t0)
    addi    a3, zero, 1
    addi    t2, zero, 0
    ld      t1, 0(t0)
    bnez    t2, 71f
    beq     t1, t3, 8f
71: ori     a0, a0, 16
8:  fence.i
    ret

    .data
    .p2align 3
newcode:
    nop
    addi    a3, zero, 40
