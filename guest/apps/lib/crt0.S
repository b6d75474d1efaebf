/*
 * crt0.S - U-mode entry.  The kernel starts a process at its ELF entry
 * with sp below argv, a0 = argc, a1 = argv (argv[0] = the process name)
 * and zeroed .bss (fresh pages); we set gp and call main(argc, argv), then
 * exit with its result.
 */
    .section .text.init, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    call    main
    tail    vb_exit
