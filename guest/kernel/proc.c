/*
 * proc.c - processes: ELF loading, round-robin scheduling on the timer,
 * the trap handler and the system calls (including the vbase syscall).
 */
#include "kernel.h"
#include "net.h"

#define NPROC       16
#define USER_STACK_TOP   0x40000000UL   /* top of root[0]'s gigabyte */
#define USER_STACK_PAGES 16             /* 64 KiB, as the bare-metal runtime */
#define USER_MIN_VA      0x10000UL

/* Linux RISC-V syscall numbers. */
#define SYS_write        64
#define SYS_exit         93
#define SYS_exit_group   94
#define SYS_sched_yield 124
#define SYS_getpid      172
#define SYS_getppid     173

enum { UNUSED, RUNNABLE, ZOMBIE };

struct proc {
    struct trapframe tf;        /* first: the vector saves into it */
    int      state;
    int      pid;
    int      exit_status;
    pte_t   *root;
    char     name[48];
    int      fp_used;           /* has run an FP instruction: fp holds its state */
    struct fpstate fp;
};

static struct proc procs[NPROC];
static struct proc *current;
static struct proc *fp_owner;   /* whose state the FP registers hold; NULL: nobody's */
static int next_pid = 1;
static int last_enter_pid;      /* the last process that called vbase(enter) */
extern uint64_t tick_interval;

/* ---- ELF ------------------------------------------------------------ */
struct elf64_ehdr {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4
#define EM_RISCV 243

static void copy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    while (n--)
        *d++ = *s++;
}

/* Loads a static ELF into `root`; returns the entry point or 0. */
static uint64_t load_elf(pte_t *root, const void *image, uint64_t size, const char **why)
{
    const struct elf64_ehdr *eh = image;
    if (size < sizeof *eh || eh->ident[0] != 0x7f || eh->ident[1] != 'E' ||
        eh->ident[2] != 'L' || eh->ident[3] != 'F') {
        *why = "not an ELF file";
        return 0;
    }
    if (eh->ident[4] != 2 || eh->machine != EM_RISCV || eh->type != 2) {
        *why = "not a static RV64 executable";
        return 0;
    }
    if (eh->phentsize != sizeof(struct elf64_phdr) ||
        eh->phoff + (uint64_t)eh->phnum * sizeof(struct elf64_phdr) > size) {
        *why = "bad program headers";
        return 0;
    }
    const struct elf64_phdr *ph = (const void *)((const char *)image + eh->phoff);
    for (int i = 0; i < eh->phnum; i++, ph++) {
        if (ph->type != PT_LOAD || ph->memsz == 0)
            continue;
        if (ph->offset + ph->filesz > size || ph->filesz > ph->memsz ||
            ph->vaddr < USER_MIN_VA || ph->vaddr + ph->memsz > USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE) {
            *why = "segment outside the file or the user area";
            return 0;
        }
        uint64_t flags = PTE_U | (ph->flags & PF_R ? PTE_R : 0) |
                         (ph->flags & PF_W ? PTE_W | PTE_R : 0) | (ph->flags & PF_X ? PTE_X : 0);
        for (uint64_t va = PAGE_ROUND_DOWN(ph->vaddr); va < ph->vaddr + ph->memsz; va += PAGE_SIZE) {
            pte_t *pte = pt_lookup(root, va);
            char *page;
            if (pte) {
                page = (char *)(PTE_PPN(*pte) << PAGE_SHIFT);
            } else {
                page = page_alloc();
                if (!page) {
                    *why = "out of memory";
                    return 0;
                }
            }
            if (pt_map(root, va, (uint64_t)page, flags) < 0) {
                *why = "out of memory";
                return 0;
            }
            /* The part of the file that lands in this page (the rest is
               zero: page_alloc clears). */
            uint64_t lo = va > ph->vaddr ? va : ph->vaddr;
            uint64_t hi = va + PAGE_SIZE < ph->vaddr + ph->filesz ? va + PAGE_SIZE
                                                                  : ph->vaddr + ph->filesz;
            if (hi > lo)
                copy(page + (lo - va), (const char *)image + ph->offset + (lo - ph->vaddr), hi - lo);
        }
    }
    return eh->entry;
}

/* ---- process creation and exit ---------------------------------------- */

static int name_taken(const char *name)
{
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].state == UNUSED)
            continue;
        const char *a = procs[i].name, *b = name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == *b)
            return 1;
    }
    return 0;
}

/* Creates a process running `elf`; returns its pid or a negative error.
   The program is started as main(1, {name}); a name used by an earlier
   process gets ".<pid>" appended so that output can be told apart. */
int proc_spawn(const char *name, const void *elf, uint64_t size)
{
    struct proc *p = NULL;
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == UNUSED) {
            p = &procs[i];
            break;
        }
    if (!p) {
        kprintf("kernel: %s not started: too many processes\n", name);
        return -ENOMEM;
    }

    int pid = next_pid;
    size_t n = 0;
    while (name[n] && n < sizeof p->name - 8)
        n++;
    int dup = name_taken(name);
    copy(p->name, name, n);
    p->name[n] = 0;
    if (dup) {   /* ".<pid>", pid < 100 in practice */
        p->name[n++] = '.';
        if (pid >= 10)
            p->name[n++] = (char)('0' + pid / 10 % 10);
        p->name[n++] = (char)('0' + pid % 10);
        p->name[n] = 0;
    }

    const char *why = "out of memory";
    pte_t *root = pt_create();
    uint64_t entry = root ? load_elf(root, elf, size, &why) : 0;

    /* The stack, with the name and argv[] at its top. */
    char *top_page = NULL;
    for (int i = 1; entry && i <= USER_STACK_PAGES; i++) {
        char *page = page_alloc();
        if (!page || pt_map(root, USER_STACK_TOP - i * PAGE_SIZE, (uint64_t)page,
                            PTE_U | PTE_R | PTE_W) < 0) {
            why = "out of memory";
            entry = 0;
            if (page)
                page_free(page);
            break;
        }
        if (i == 1)
            top_page = page;
    }
    if (!entry) {
        kprintf("kernel: %s not started: %s\n", p->name, why);
        if (root)
            pt_destroy(root);
        return -EINVAL;
    }

    /* Top of stack: the name string (64 bytes), then argv[0], argv[1] = 0. */
    uint64_t sp = USER_STACK_TOP - 64;
    copy(top_page + PAGE_SIZE - 64, p->name, sizeof p->name);
    uint64_t *argv = (uint64_t *)(top_page + PAGE_SIZE - 64 - 16);
    argv[0] = sp;
    argv[1] = 0;
    sp -= 16;

    for (int i = 0; i < 32; i++)
        p->tf.x[i] = 0;
    p->tf.x[2] = sp;
    p->tf.x[10] = 1;          /* a0 = argc */
    p->tf.x[11] = sp;         /* a1 = argv */
    p->tf.sepc = entry;
    p->root = root;
    p->pid = pid;
    p->exit_status = 0;
    p->state = RUNNABLE;
    next_pid++;
    kprintf("kernel: pid %d: %s, entry 0x%lx\n", pid, p->name, (unsigned long)entry);
    return pid;
}

/* The domain's exit code: the largest exit status of all processes; a
   process the kernel killed counts as 128 + its trap cause, as a shell
   reports a signal. */
static int shutdown_code;

static void proc_exit(struct proc *p, int status)
{
    p->exit_status = status;
    if (status > shutdown_code)
        shutdown_code = status;
    p->state = ZOMBIE;
    if (fp_owner == p)
        fp_owner = NULL;           /* the next user restores its own (or zeros) */
    net_proc_exit(p->pid);
    kernel_pt_activate();          /* leave the address space we free */
    pt_destroy(p->root);
    p->root = NULL;
}

/* ---- scheduling ----------------------------------------------------- */

/* Round robin: the next runnable process after `from` (maybe itself). */
static struct proc *pick_next(struct proc *from)
{
    int start = from ? (int)(from - procs) : NPROC - 1;
    for (int k = 1; k <= NPROC; k++) {
        struct proc *p = &procs[(start + k) % NPROC];
        if (p->state == RUNNABLE)
            return p;
    }
    return NULL;
}

/* ---- FP ----------------------------------------------------------------
 * Lazy, by sstatus.FS, as Linux does: a process that never ran an FP
 * instruction runs with FS = Off, so its first one traps (illegal
 * instruction) and fp_first_use gives it zeroed registers.  Switching away
 * from a process saves its registers only if FS says Dirty; switching to
 * one restores them only if another process's state is in the registers. */

static void fs_set(uint64_t fs)
{
    csr_clear(sstatus, SSTATUS_FS);
    csr_set(sstatus, fs);
}

static void fp_switch(struct proc *from, struct proc *to)
{
    if (from && fp_owner == from && (csr_read(sstatus) & SSTATUS_FS) == SSTATUS_FS_DIRTY)
        fp_save(&from->fp);
    if (!to->fp_used) {
        fs_set(0);
        return;
    }
    if (fp_owner != to) {
        fs_set(SSTATUS_FS_INITIAL);
        fp_restore(&to->fp);
        fp_owner = to;
    }
    fs_set(SSTATUS_FS_CLEAN);
}

/* An illegal instruction from a process with FS = Off that never used FP:
   its first FP instruction.  Returns 1 if it is to be retried. */
static int fp_first_use(struct proc *p)
{
    if (p->fp_used || (csr_read(sstatus) & SSTATUS_FS) != 0)
        return 0;
    /* FS is Off only after fp_switch saved a Dirty state: fp_owner's is in
       fp_owner->fp already. */
    p->fp_used = 1;
    fs_set(SSTATUS_FS_INITIAL);
    fp_restore(&p->fp);           /* zeroed at spawn: +0.0 everywhere, fcsr 0 */
    fp_owner = p;
    fs_set(SSTATUS_FS_INITIAL);
    return 1;
}

static struct trapframe *switch_to(struct proc *p)
{
    if (!p) {
        kprintf("kernel: all processes exited\n");
        if (plat.attacker && !attack_commands_done)
            attacker_idle(shutdown_code);
        shutdown(shutdown_code);
    }
    fp_switch(current, p);
    if (p != current || csr_read(satp) != pt_satp(p->root)) {
        csr_write(satp, pt_satp(p->root));
        asm volatile("sfence.vma" ::: "memory");
    }
    current = p;
    return &p->tf;
}

void sched_start(void)
{
    csr_set(sie, SIE_STIE | SIE_SSIE);
    set_timer(now_ticks() + tick_interval);
    user_return(switch_to(pick_next(NULL)));
}

/* The page table of process `pid`, for the attack mailbox; pid 0 is the
   last process that called vbase(enter).  NULL if there is no such live
   process; *resolved = the pid looked for. */
pte_t *proc_root(int pid, int *resolved)
{
    if (pid == 0)
        pid = last_enter_pid;
    *resolved = pid;
    for (int i = 0; pid > 0 && i < NPROC; i++)
        if (procs[i].state == RUNNABLE && procs[i].pid == pid)
            return procs[i].root;
    return NULL;
}

/* ---- system calls ----------------------------------------------------- */

/* Copies user bytes at va into buf by walking the page table (no SUM, and
   no kernel page fault on a bad pointer); -EFAULT if a page is not a
   readable user page. */
static long copy_from_user(struct proc *p, void *buf, uint64_t va, size_t len)
{
    char *d = buf;
    while (len) {
        pte_t *pte = pt_lookup(p->root, va);
        if (!pte || (*pte & (PTE_U | PTE_R)) != (PTE_U | PTE_R))
            return -EFAULT;
        size_t in_page = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;
        copy(d, (const char *)((PTE_PPN(*pte) << PAGE_SHIFT) | (va & (PAGE_SIZE - 1))), n);
        d += n;
        va += n;
        len -= n;
    }
    return 0;
}

static struct proc *proc_by_pid(int pid)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == RUNNABLE && procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

/* The socket calls' access to user memory (net.c). */
long user_read(int pid, void *dst, uint64_t va, size_t len)
{
    struct proc *p = proc_by_pid(pid);
    return p ? copy_from_user(p, dst, va, len) : -EFAULT;
}

long user_write(int pid, uint64_t va, const void *src, size_t len)
{
    struct proc *p = proc_by_pid(pid);
    const char *s = src;
    if (!p)
        return -EFAULT;
    /* Every page is checked before the first byte is written. */
    for (uint64_t a = va & ~(PAGE_SIZE - 1); len && a < va + len; a += PAGE_SIZE) {
        pte_t *pte = pt_lookup(p->root, a);
        if (!pte || (*pte & (PTE_U | PTE_W)) != (PTE_U | PTE_W) || va + len < va)
            return -EFAULT;
    }
    while (len) {
        pte_t *pte = pt_lookup(p->root, va);
        size_t in_page = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;
        copy((char *)((PTE_PPN(*pte) << PAGE_SHIFT) | (va & (PAGE_SIZE - 1))), s, n);
        s += n;
        va += n;
        len -= n;
    }
    return 0;
}

static long sys_write(struct proc *p, uint64_t fd, uint64_t va, uint64_t len)
{
    static char kbuf[512];          /* the hypercall gets this kernel GPA */
    if (fd != 1 && fd != 2)
        return -EINVAL;             /* Linux says EBADF; we have no files */
    uint64_t done = 0;
    while (done < len) {
        size_t n = len - done < sizeof kbuf ? len - done : sizeof kbuf;
        if (copy_from_user(p, kbuf, va + done, n) < 0)
            return done ? (long)done : -EFAULT;
        console_write(kbuf, n);
        done += n;
    }
    return (long)done;
}

/*
 * vbase(va, len, op): the paper's kernel module.  The secure application
 * names a page-aligned region of its own address space; the kernel walks
 * the process's page table for every page, collects the guest frame
 * numbers into a frame list in kernel memory and hands the list's GPA to
 * the hypervisor (vbase_op: a0 = cmd (0 enter, 1 exit), a1 = list GPA,
 * a2 = count, a3 = op, a4 = the region's VA, for the Monitor).  The architecture plugged into the hypervisor does
 * the rest; without one the answer is -ENOSYS.
 */
/* VBASE_MAX_FRAMES (vbase/abi.h): one page of GFNs, 2 MiB of user memory. */
static uint64_t frame_list[VBASE_MAX_FRAMES] __attribute__((aligned(4096)));

static long sys_vbase(struct proc *p, uint64_t va, uint64_t len, uint64_t op)
{
    if ((va | len) & (PAGE_SIZE - 1) || len == 0 || len / PAGE_SIZE > VBASE_MAX_FRAMES ||
        va + len < va || (op != VBASEOP_enter && op != VBASEOP_exit))
        return -EINVAL;
    if (op == VBASEOP_enter)
        last_enter_pid = p->pid;
    uint64_t count = len / PAGE_SIZE;
    for (uint64_t i = 0; i < count; i++) {
        pte_t *pte = pt_lookup(p->root, va + i * PAGE_SIZE);
        if (!pte || !(*pte & PTE_U))
            return -EFAULT;
        frame_list[i] = PTE_PPN(*pte);    /* PPN of a guest PTE = GFN */
    }
    /* Under QEMU there is no hypervisor to ask (OpenSBI would say -2). */
    long r = plat.vbase ? hypercall5(HYPERVISOR_vbase_op, (long)op, (long)(uint64_t)frame_list,
                                     (long)count, (long)op, (long)va)
                        : -ENOSYS;
    kprintf("kernel: vbase(0x%lx, %lu, %s) by pid %d: %lu frames from GFN 0x%lx -> %ld\n",
            (unsigned long)va, (unsigned long)len, op == VBASEOP_enter ? "enter" : "exit", p->pid,
            (unsigned long)count, (unsigned long)frame_list[0], r);
    return r;
}

static const char *cause_name(uint64_t cause)
{
    switch (cause) {
    case 0: return "misaligned fetch";
    case 1: return "fetch access fault";
    case 2: return "illegal instruction";
    case 3: return "breakpoint";
    case 4: return "misaligned load";
    case 5: return "load access fault";
    case 6: return "misaligned store";
    case 7: return "store access fault";
    case 12: return "fetch page fault";
    case 13: return "load page fault";
    case 15: return "store page fault";
    default: return "exception";
    }
}

/* Called by the vector for every trap from U-mode; returns the trapframe
   of the process to resume. */
struct trapframe *trap_handler(struct trapframe *tf)
{
    struct proc *p = current;
    uint64_t scause = csr_read(scause);

    if (scause >> 63) {
        switch (scause & 0xff) {
        case 5:  /* timer: next tick, next process */
            set_timer(now_ticks() + tick_interval);
            return switch_to(pick_next(p));
        case 9:  /* event channel upcall */
            events_handle();
            return tf;
        case 1:  /* software: nobody sends them; clear and go on */
            csr_clear(sip, SIE_SSIE);
            return tf;
        default:
            kprintf("kernel: unexpected interrupt %lu\n", (unsigned long)(scause & 0xff));
            return tf;
        }
    }

    if (scause == 8) {  /* ecall from U */
        tf->sepc += 4;
        uint64_t a0 = tf->x[10], a1 = tf->x[11], a2 = tf->x[12];
        long r;
        switch (tf->x[17]) {
        case SYS_write:
            r = sys_write(p, a0, a1, a2);
            break;
        case SYS_exit:
        case SYS_exit_group:
            kprintf("kernel: pid %d (%s) exited with %d\n", p->pid, p->name, (int)(a0 & 0xff));
            proc_exit(p, (int)(a0 & 0xff));
            return switch_to(pick_next(p));
        case SYS_getpid:
            r = p->pid;
            break;
        case SYS_getppid:
            r = 0;              /* started by the kernel */
            break;
        case SYS_sched_yield:
            tf->x[10] = 0;
            return switch_to(pick_next(p));
        case VBASE_SYS_vbase:
            r = sys_vbase(p, a0, a1, a2);
            break;
        case VBASE_SYS_socket:
            r = sys_socket(p->pid, a0, a1, a2);
            break;
        case VBASE_SYS_bind:
            r = sys_bind(p->pid, tf);
            break;
        case VBASE_SYS_sendto:
            r = sys_sendto(p->pid, tf);
            break;
        case VBASE_SYS_setsockopt:
            r = sys_setsockopt(p->pid, tf);
            break;
        case VBASE_SYS_recvfrom:
            if (sys_recvfrom(p->pid, tf, &r)) {
                /* Nothing yet: run the ecall again once the others had their turn. */
                tf->sepc -= 4;
                return switch_to(pick_next(p));
            }
            break;
        default:
            r = -ENOSYS;
            break;
        }
        tf->x[10] = (uint64_t)r;
        return tf;
    }

    if (scause == 2 && fp_first_use(p))
        return tf;

    /* Any other exception is the process's fault: kill it, carry on. */
    kprintf("kernel: pid %d killed: cause %lu (%s) at pc 0x%lx, stval 0x%lx\n", p->pid,
            (unsigned long)scause, cause_name(scause), (unsigned long)tf->sepc,
            (unsigned long)csr_read(stval));
    proc_exit(p, 128 + (int)scause);
    return switch_to(pick_next(p));
}
