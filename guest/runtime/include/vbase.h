/*
 * vbase.h - the bare-metal runtime shared by every guest program.
 *
 * The platform is QEMU `virt`-compatible (see shared DESIGN.md, "Bare-metal
 * platform"): programs start in M-mode at 0x80000000 on hart 0 and talk to
 * the world through a 16550 UART and the SiFive test finisher.
 */
#ifndef VBASE_H
#define VBASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory map ------------------------------------------------------- */

#define VB_FINISHER_BASE   0x00100000UL
#define VB_CLINT_BASE      0x02000000UL
#define VB_CLINT_MSIP      (VB_CLINT_BASE + 0x0000) /* 32-bit, hart 0 */
#define VB_CLINT_MTIMECMP  (VB_CLINT_BASE + 0x4000) /* 64-bit, hart 0 */
#define VB_CLINT_MTIME     (VB_CLINT_BASE + 0xBFF8) /* 64-bit */
#define VB_PLIC_BASE       0x0C000000UL
#define VB_UART_BASE       0x10000000UL
#define VB_RAM_BASE        0x80000000UL
#define VB_RAM_SIZE        (128UL << 20)

/* Test finisher commands (value written as one 32-bit store). */
#define VB_FINISHER_PASS   0x5555u
#define VB_FINISHER_FAIL   0x3333u /* exit code goes in bits 31:16 */

/* ---- MMIO --------------------------------------------------------------- */

static inline uint8_t vb_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint32_t vb_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t vb_read64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void vb_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void vb_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void vb_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* ---- CSRs (name is the assembler's CSR name, e.g. mstatus) -------------- */

#define VB_STR_(x) #x
#define VB_STR(x) VB_STR_(x)

#define vb_csr_read(csr) ({ uint64_t v_;                                     \
        __asm__ volatile("csrr %0, " VB_STR(csr) : "=r"(v_) :: "memory"); v_; })
#define vb_csr_write(csr, val)                                                \
        __asm__ volatile("csrw " VB_STR(csr) ", %0" :: "rK"((uint64_t)(val)) : "memory")
#define vb_csr_set(csr, bits)                                                 \
        __asm__ volatile("csrs " VB_STR(csr) ", %0" :: "rK"((uint64_t)(bits)) : "memory")
#define vb_csr_clear(csr, bits)                                               \
        __asm__ volatile("csrc " VB_STR(csr) ", %0" :: "rK"((uint64_t)(bits)) : "memory")

/* ---- console (uart.c) --------------------------------------------------- */

void vb_putc(char c);
void vb_puts(const char *s);              /* no newline appended */
int  vb_getc(void);                       /* blocks until a byte arrives */
int  vb_trygetc(void);                    /* -1 when nothing is waiting */
void vb_put_hex(uint64_t v);              /* "0x" + minimal hex digits */
void vb_put_dec(int64_t v);
void vb_put_udec(uint64_t v);

/*
 * A small printf: %d %i %u %x %X %c %s %p %%, with the length modifiers
 * l / ll / z, the '0' and '-' flags and a field width (e.g. "%016lx").
 */
void vb_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vb_vprintf(const char *fmt, va_list ap);

/* ---- exit (exit.c) ------------------------------------------------------ */

/* Ends the run through the test finisher: QEMU exits with `code`. */
_Noreturn void vb_exit(int code);

/* ---- freestanding libc subset (string.c) -------------------------------- */

void  *memcpy(void *dst, const void *src, size_t n);
void  *memmove(void *dst, const void *src, size_t n);
void  *memset(void *dst, int c, size_t n);
int    memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int    strcmp(const char *a, const char *b);

/* ---- symbols from the linker script ------------------------------------- */

extern char __bss_start[], __bss_end[], __stack_top[], _end[];

#endif /* VBASE_H */
