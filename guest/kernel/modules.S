/*
 * modules.S - user programs linked into the kernel image, for running
 * under QEMU where nobody packs modules for us.  Built twice:
 *  - without EMBED_MODULES for kernel.elf: an empty table;
 *  - with it for kernel-qemu.elf: hello, counter and counter (the
 *    Makefile passes the paths in HELLO_ELF and COUNTER_ELF).
 * Each module starts 8-byte aligned, as in Vbase's module area.
 */
    .section .rodata
    .balign 8
    .globl embedded_module_count
#ifdef EMBED_MODULES
embedded_module_count: .dword 3

    .globl embedded_modules
embedded_modules:                  /* { name, start, end } */
    .dword name_hello, mod_hello, mod_hello_end
    .dword name_counter_a, mod_counter, mod_counter_end
    .dword name_counter_b, mod_counter, mod_counter_end

name_hello:     .asciz "hello"
name_counter_a: .asciz "counter-a"
name_counter_b: .asciz "counter-b"

    .balign 8
mod_hello:
    .incbin HELLO_ELF
mod_hello_end:
    .balign 8
mod_counter:          /* one copy: each process gets its own pages */
    .incbin COUNTER_ELF
mod_counter_end:
#else
embedded_module_count: .dword 0
    .globl embedded_modules
embedded_modules:
#endif
