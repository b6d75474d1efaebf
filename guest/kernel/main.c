/*
 * main.c - boot: find out where we run, set up memory, load the modules,
 * start the scheduler; and the platform services (time, timer, shutdown).
 *
 * Two platforms:
 *  - Vbase: a1 points at the start info page ("VBASEST1"), which gives RAM
 *    and the modules (ELF files packed at 0x8001_0000).
 *  - QEMU virt + OpenSBI: a1 is the device tree.  We assume 128 MiB of RAM
 *    at 0x8000_0000 (OpenSBI keeps the first 2 MiB) and stop below the
 *    device tree, which QEMU puts near the top of RAM.  The modules are the
 *    ones linked into kernel-qemu.elf (modules.S).
 */
#include "kernel.h"
#include "net.h"

struct platform plat;

extern char _end[];

/* Modules linked into the image (modules.S); none in kernel.elf. */
struct embedded_module { const char *name; const void *start; const void *end; };
extern const struct embedded_module embedded_modules[];
extern const uint64_t embedded_module_count;

#define QEMU_RAM_SIZE (128UL << 20)

/* Scheduler tick in time ticks.  Vbase's time advances with retired
   instructions; QEMU's timebase is 10 MHz of wall time, where 100_000
   ticks (10 ms) would let a short program finish before any switch. */
#define TICK_VBASE 100000
#define TICK_QEMU  10000
uint64_t tick_interval;

uint64_t now_ticks(void)
{
    if (plat.vbase) {
        long t = hypercall(HYPERVISOR_vcpu_op, VCPUOP_time, 0, 0, 0);
        if (t >= 0)
            return (uint64_t)t;
    }
    return csr_read(time);
}

void set_timer(uint64_t deadline)
{
    struct sbiret r = sbi_call(SBI_EXT_TIME, 0, (long)deadline, 0, 0);
    if (r.error < 0)
        sbi_call(SBI_LEGACY_SET_TIMER, 0, (long)deadline, 0, 0);
}

void shutdown(int code)
{
    kprintf("kernel: shutting down, exit code %d\n", code);
    if (plat.vbase)
        hypercall(HYPERVISOR_sched_op, SCHEDOP_shutdown, SHUTDOWN_poweroff, code, 0);
    /* QEMU/OpenSBI (or a hypervisor that refused): SBI system reset, type
       shutdown, reason "no reason" or "system failure". */
    sbi_call(SBI_EXT_SRST, 0, 0, code ? 1 : 0, 0);
    sbi_call(SBI_LEGACY_SHUTDOWN, 0, 0, 0, 0);
    for (;;)
        asm volatile("wfi");
}

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kprintf("kernel: panic: ");
    kvprintf(fmt, ap);
    kprintf("\n");
    va_end(ap);
    shutdown(255);
}

void kernel_fault(uint64_t scause, uint64_t sepc, uint64_t stval)
{
    panic("trap in the kernel: scause 0x%lx sepc 0x%lx stval 0x%lx",
          (unsigned long)scause, (unsigned long)sepc, (unsigned long)stval);
}

extern char kcopy_start[], kcopy_end[], kcopy_fault[];

/* A trap taken in S-mode (entry.S, kernel_trap).  The kernel runs with
   SIE = 0, so an interrupt arrives here only while attacker_idle opens a
   window; an access or page fault only from kcopy, whose caller gets
   -EACCES.  Anything else is a kernel bug. */
void kernel_trap_handler(uint64_t scause, uint64_t sepc, uint64_t stval)
{
    if (scause >> 63) {
        switch (scause & 0xff) {
        case 9:  /* event channel upcall */
            events_handle();
            return;
        case 5:  /* a timer left armed by the scheduler: nothing to switch to */
            set_timer(~0UL);
            return;
        case 1:
            csr_clear(sip, SIE_SSIE);
            return;
        }
    } else if ((scause == 5 || scause == 7 || scause == 13 || scause == 15) &&
               sepc >= (uint64_t)kcopy_start && sepc < (uint64_t)kcopy_end) {
        csr_write(sepc, (uint64_t)kcopy_fault);
        return;
    }
    kernel_fault(scause, sepc, stval);
}

/* The attacker VM (cmdline "attacker") has no programs: wait, interrupts
   enabled, until a mailbox command has been carried out, then shut down.
   The condition is tested with SIE = 0 and WFI executed with SIE = 0 (it
   resumes on any pending interrupt, enabled or not), and the interrupt is
   taken in the window that follows: no event is lost between the test and
   the WFI. */
void attacker_idle(int code)
{
    kprintf("kernel: attacker: waiting for a mailbox command\n");
    for (;;) {
        if (attack_commands_done) {
            kprintf("kernel: attacker: mailbox command done, shutting down\n");
            shutdown(code);
        }
        asm volatile("wfi");
        csr_set(sstatus, SSTATUS_SIE);
        csr_clear(sstatus, SSTATUS_SIE);
    }
}

/* Is `word` one of the space-separated words of the cmdline? */
static int cmdline_has(const char *cmdline, size_t size, const char *word)
{
    size_t i = 0;
    while (i < size && cmdline[i]) {
        while (i < size && cmdline[i] == ' ')
            i++;
        size_t k = 0;
        while (i + k < size && word[k] && cmdline[i + k] == word[k])
            k++;
        if (!word[k] && (i + k == size || cmdline[i + k] == 0 || cmdline[i + k] == ' '))
            return 1;
        while (i < size && cmdline[i] && cmdline[i] != ' ')
            i++;
    }
    return 0;
}

static int is_start_info(uint64_t a1)
{
    /* Only look inside guest RAM, where a start info page can be. */
    if (a1 != VBASE_START_INFO_GPA)
        return 0;
    const char *m = (const char *)a1;
    const char *want = VBASE_START_MAGIC;
    for (int i = 0; i < 8; i++)
        if (m[i] != want[i])
            return 0;
    return 1;
}

void kmain(uint64_t vcpu, uint64_t a1)
{
    const struct vbase_start_info *si = NULL;

    plat.vcpu = vcpu;
    /* Under QEMU a1 is a DTB address, possibly anywhere: compare the
       address before reading it (Vbase always passes 0x8000_1000). */
    if (is_start_info(a1)) {
        si = (const struct vbase_start_info *)a1;
        plat.vbase = 1;
        plat.domid = si->domid;
        plat.ram_base = si->ram_base;
        plat.ram_end = si->ram_base + si->ram_size;
        plat.shared = (struct vbase_shared_info *)si->shared_info_gpa;
        plat.attacker = cmdline_has(si->cmdline, sizeof si->cmdline, "attacker");
        tick_interval = TICK_VBASE;
    } else {
        plat.ram_base = VBASE_RAM_BASE;
        plat.ram_end = VBASE_RAM_BASE + QEMU_RAM_SIZE;
        if (a1 > (uint64_t)_end && a1 < plat.ram_end)
            plat.ram_end = a1 & ~((2UL << 20) - 1);   /* keep the DTB */
        tick_interval = TICK_QEMU;
    }

    kprintf("kernel: Vbase guest kernel on %s, vCPU %lu\n",
            plat.vbase ? "Vbase" : "QEMU/OpenSBI", (unsigned long)vcpu);
    if (plat.vbase)
        kprintf("kernel: domain %lu, RAM 0x%lx-0x%lx, %lu modules, cmdline \"%s\"\n",
                (unsigned long)plat.domid, (unsigned long)plat.ram_base,
                (unsigned long)plat.ram_end, (unsigned long)si->nr_modules, si->cmdline);

    mm_init((uint64_t)_end, plat.ram_end);
    kernel_pt_activate();
    kprintf("kernel: Sv39 on, %lu free pages from 0x%lx\n",
            (unsigned long)pages_free(), (unsigned long)PAGE_ROUND_UP((uint64_t)_end));

    events_init();
    net_init(si);
    /* Programs may read the clock (rdtime), e.g. to time a round trip. */
    csr_write(scounteren, 2);

    int started = 0;
    if (si) {
        uint64_t n = si->nr_modules < VBASE_MAX_MODULES ? si->nr_modules : VBASE_MAX_MODULES;
        for (uint64_t i = 0; i < n; i++) {
            /* The process name: the module name without a directory or a
               ".elf" suffix ("../bin/apps/hello.elf" -> "hello"). */
            char name[sizeof si->modules[i].name];
            size_t len = 0, start = 0;
            for (size_t k = 0; k < sizeof name - 1 && si->modules[i].name[k]; k++)
                if (si->modules[i].name[k] == '/')
                    start = k + 1;
            for (size_t k = start; k < sizeof name - 1 && si->modules[i].name[k]; k++)
                name[len++] = si->modules[i].name[k];
            if (len > 4 && name[len - 4] == '.' && name[len - 3] == 'e' && name[len - 2] == 'l' &&
                name[len - 1] == 'f')
                len -= 4;
            name[len] = 0;
            if (proc_spawn(name, (const void *)si->modules[i].gpa, si->modules[i].size) > 0)
                started++;
        }
    } else {
        for (uint64_t i = 0; i < embedded_module_count; i++) {
            const struct embedded_module *m = &embedded_modules[i];
            if (proc_spawn(m->name, m->start,
                           (uint64_t)((const char *)m->end - (const char *)m->start)) > 0)
                started++;
        }
    }
    if (!started) {
        kprintf("kernel: no programs to run\n");
        if (plat.attacker)
            attacker_idle(0);
        shutdown(0);
    }
    sched_start();
}
