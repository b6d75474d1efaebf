/*
 * events.c - event channel upcalls (Vbase only).
 *
 * At boot we bind VIRQ_CONSOLE, VIRQ_VBASE and VIRQ_ATTACK (the attack
 * mailbox, attack.c) to ports on our vCPU and enable the supervisor
 * external interrupt: the hypervisor raises it while
 * a port is pending and unmasked and upcall_mask is clear.  The handler
 * clears upcall_pending first (an event arriving while we scan sets it
 * again), then clears each pending, unmasked port with an atomic AND (the
 * hypervisor may set other bits of the same word concurrently), and says
 * once per port that it saw an event there.  Under QEMU there is no shared
 * info page and nothing is bound.
 */
#include "kernel.h"
#include "net.h"

static uint64_t seen[4];            /* ports already reported */
static uint64_t event_count;
static long console_port = -1;
static long attack_port = -1;

static long bind(int virq, const char *name)
{
    long port = hypercall(HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, virq, (long)plat.vcpu, 0);
    if (port < 0)
        kprintf("kernel: bind_virq(%s) failed: %ld\n", name, port);
    else
        kprintf("kernel: %s bound to port %ld\n", name, port);
    return port;
}

/* Reads and reports whatever console input is waiting (nobody consumes
   it: there is no read syscall yet). */
static void drain_console(void)
{
    static char buf[64];
    long n;
    while ((n = hypercall(HYPERVISOR_console_io, CONSOLEIO_read, sizeof buf, (long)buf, 0)) > 0) {
        kprintf("kernel: console input, %ld bytes: \"", n);
        for (long i = 0; i < n; i++) {
            if (buf[i] >= 32 && buf[i] < 127)
                kprintf("%c", buf[i]);
            else
                kprintf("\\x%02x", (unsigned char)buf[i]);
        }
        kprintf("\"\n");
    }
}

void events_init(void)
{
    if (!plat.vbase || !plat.shared)
        return;
    console_port = bind(VIRQ_CONSOLE, "VIRQ_CONSOLE");
    bind(VIRQ_VBASE, "VIRQ_VBASE");
    attack_port = bind(VIRQ_ATTACK, "VIRQ_ATTACK");
    if (attack_port >= 0)
        attack_init();

    plat.shared->vcpu_info[plat.vcpu].upcall_mask = 0;
    csr_set(sie, SIE_SEIE);
    drain_console();   /* input queued before VIRQ_CONSOLE was bound */
}

void events_handle(void)
{
    struct vbase_shared_info *s = plat.shared;
    if (!s)
        return;
    s->vcpu_info[plat.vcpu].upcall_pending = 0;
    for (int w = 0; w < 4; w++) {
        uint64_t ready = __atomic_load_n(&s->evtchn_pending[w], __ATOMIC_ACQUIRE) &
                         ~__atomic_load_n(&s->evtchn_mask[w], __ATOMIC_RELAXED);
        while (ready) {
            int bit = 0;               /* lowest set bit, without libgcc */
            while (!(ready >> bit & 1))
                bit++;
            uint64_t m = 1UL << bit;
            ready &= ~m;
            __atomic_fetch_and(&s->evtchn_pending[w], ~m, __ATOMIC_ACQ_REL);
            event_count++;
            if (!(seen[w] & m)) {
                seen[w] |= m;
                kprintf("kernel: event on port %d\n", w * 64 + bit);
            }
            if (w * 64 + bit == console_port)
                drain_console();
            if (w * 64 + bit == attack_port)
                attack_poll();
            if (w * 64 + bit == net_virtio_port())
                net_poll();
        }
    }
}
