/*
 * kernel.h - declarations shared by the guest kernel's files.
 *
 * The kernel is single-hart and never preempted: it runs with
 * sstatus.SIE = 0 and takes interrupts only while a U-mode process runs
 * (an S-level interrupt is always taken from U).  So there is one kernel
 * stack, no locks, and a trap returns to whichever process the scheduler
 * picked.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "vbase/abi.h"

#define PAGE_SIZE  4096UL
#define PAGE_SHIFT 12
#define PAGE_ROUND_UP(x)   (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PAGE_ROUND_DOWN(x) ((x) & ~(PAGE_SIZE - 1))

/* Errors returned to U-mode: Linux values, the hypervisor's (vbase/abi.h) where it has one. */
#define EPERM  VBASE_EPERM
#define ENOENT VBASE_ENOENT
#define ESRCH  VBASE_ESRCH
#define EAGAIN VBASE_EAGAIN
#define ENOMEM VBASE_ENOMEM
#define EACCES 13   /* the kernel's own: the hypervisor never returns it */
#define EFAULT VBASE_EFAULT
#define EINVAL VBASE_EINVAL
#define ENOSYS VBASE_ENOSYS

/* ---- ecall to the hypervisor / SBI ---- */
struct sbiret { long error, value; };

static inline long hypercall5(long nr, long a0, long a1, long a2, long a3, long a4)
{
    register long r_a0 asm("a0") = a0;
    register long r_a1 asm("a1") = a1;
    register long r_a2 asm("a2") = a2;
    register long r_a3 asm("a3") = a3;
    register long r_a4 asm("a4") = a4;
    register long r_a7 asm("a7") = nr;
    asm volatile("ecall"
                 : "+r"(r_a0), "+r"(r_a1)
                 : "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a7)
                 : "memory");
    return r_a0;
}

static inline long hypercall(long nr, long a0, long a1, long a2, long a3)
{
    return hypercall5(nr, a0, a1, a2, a3, 0);
}

static inline struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2)
{
    register long r_a0 asm("a0") = a0;
    register long r_a1 asm("a1") = a1;
    register long r_a2 asm("a2") = a2;
    register long r_a6 asm("a6") = fid;
    register long r_a7 asm("a7") = ext;
    asm volatile("ecall"
                 : "+r"(r_a0), "+r"(r_a1)
                 : "r"(r_a2), "r"(r_a6), "r"(r_a7)
                 : "memory");
    return (struct sbiret){ r_a0, r_a1 };
}

#define csr_read(csr) ({ uint64_t v_; asm volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" :: "rK"((uint64_t)(v)) : "memory")
#define csr_set(csr, v)   asm volatile("csrs " #csr ", %0" :: "rK"((uint64_t)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" :: "rK"((uint64_t)(v)) : "memory")

#define SSTATUS_SIE  (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP  (1UL << 8)
#define SSTATUS_SUM  (1UL << 18)
#define SIE_SSIE (1UL << 1)
#define SIE_STIE (1UL << 5)
#define SIE_SEIE (1UL << 9)

/* ---- platform (main.c) ---- */
struct platform {
    int      vbase;          /* 1: Vbase hypervisor (start info found); 0: QEMU + OpenSBI */
    uint64_t vcpu;
    uint64_t ram_base, ram_end;
    uint64_t domid;
    struct vbase_shared_info *shared;   /* NULL under QEMU */
    int      attacker;       /* cmdline "attacker": idle for a mailbox command instead of shutting down */
};
extern struct platform plat;

uint64_t now_ticks(void);
void set_timer(uint64_t deadline);
void shutdown(int code) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void attacker_idle(int code) __attribute__((noreturn));

/* ---- console (console.c) ---- */
void console_write(const char *buf, size_t len);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* ---- memory (mm.c) ---- */
typedef uint64_t pte_t;
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE_PPN(pte) (((pte) >> 10) & ((1UL << 44) - 1))

/* Where the kernel sees physical 0..1 GiB (device windows such as the
   virtio-mmio slots): the I/O gigapage of every address space (mm.c). */
#define KERNEL_IO_VA(pa) (0xC0000000UL + (uint64_t)(pa))

void     mm_init(uint64_t free_start, uint64_t free_end);
void    *page_alloc(void);             /* zeroed; NULL when out of memory */
void     page_free(void *page);
uint64_t pages_free(void);
pte_t   *pt_create(void);              /* a root with the kernel's 1:1 mapping */
int      pt_map(pte_t *root, uint64_t va, uint64_t pa, uint64_t flags);
pte_t   *pt_lookup(pte_t *root, uint64_t va);  /* leaf PTE (4 KiB) or NULL */
void     pt_destroy(pte_t *root);       /* frees user pages and tables */
uint64_t pt_satp(pte_t *root);
void     kernel_pt_activate(void);

/* ---- processes (proc.c) ---- */
struct trapframe {
    uint64_t x[32];      /* x[0] unused; x[2] is the user sp */
    uint64_t sepc;
};
#define TF_SEPC_OFFSET (32 * 8)

/* The FPU state of a process (fp.S): f0-f31, then fcsr. */
struct fpstate {
    uint64_t f[32];
    uint64_t fcsr;
};
void fp_save(struct fpstate *fp);
void fp_restore(const struct fpstate *fp);
#define SSTATUS_FS        (3UL << 13)
#define SSTATUS_FS_INITIAL (1UL << 13)
#define SSTATUS_FS_CLEAN   (2UL << 13)
#define SSTATUS_FS_DIRTY   (3UL << 13)

int  proc_spawn(const char *name, const void *elf, uint64_t size);
pte_t *proc_root(int pid, int *resolved);   /* 0: the last caller of vbase(enter); NULL if none */
void sched_start(void) __attribute__((noreturn));
struct trapframe *trap_handler(struct trapframe *tf);
void user_return(struct trapframe *tf) __attribute__((noreturn));

/* ---- events (events.c) ---- */
void events_init(void);
void events_handle(void);

/* ---- the attack mailbox (attack.c) ---- */
void attack_init(void);             /* magic, once VIRQ_ATTACK is bound */
void attack_poll(void);             /* performs a posted command, if any */
extern uint64_t attack_commands_done;

/* Copies n bytes with kernel loads and stores (8 at a time when everything
   is 8-byte aligned); 0, or -EACCES if an access faulted (entry.S). */
long kcopy(void *dst, const void *src, size_t n);

#endif
