/*
 * entry.S - boot entry of the hostile guest kernels: a stack, then main().
 * They run alone in S-mode as a domain's kernel; vCPUs other than 0 idle.
 */
    .section .text.init, "ax"
    .globl _start
_start:
    bnez    a0, park
    la      sp, stack_top
    call    main
park:
    wfi
    j       park

    .section .bss
    .balign 16
stack:
    .space  16384
stack_top:
