/*
 * attack.c - the attack mailbox: the kernel as an adversary on command.
 *
 * Vbase's threat model does not trust the guest kernel, and the attack
 * suite needs a kernel that misbehaves on purpose.  Dom0's Controller finds
 * vbase_attack_mailbox by its ELF symbol, writes a command into it (Dom0's
 * WriteGuest), then sends VIRQ_ATTACK; events.c calls attack_poll on that
 * port.  A command is performed when seq != done_seq, and done_seq = seq is
 * written last.  The layout is struct vbase_attack_mailbox (vbase/abi.h,
 * docs/abi.md "Attack mailbox").
 *
 * Every access is one kernel code makes: through the kernel's own page
 * tables (the 1:1 gigapage, so kernel VA = GPA), then the hypervisor's p2m
 * and the plugged-in architecture, with real loads and stores (kcopy, which
 * turns an access fault into -EACCES instead of a kernel panic), and real
 * hypercalls for the foreign sweep.
 */
#include "kernel.h"

struct vbase_attack_mailbox vbase_attack_mailbox __attribute__((used, aligned(4096)));
uint64_t attack_commands_done;

/* Destination of the sweep's grant copies (in a frame of our own), moved
   into data[] by the first attempt that obtains anything; aligned to its
   size, so it never crosses a page. */
static uint8_t sweep_buf[VBASE_ATTACK_DATA_MAX] __attribute__((aligned(VBASE_ATTACK_DATA_MAX)));
static struct vbase_gnttab_copy copy_op;

void attack_init(void)
{
    vbase_attack_mailbox.magic = VBASE_ATTACK_MAGIC;
    kprintf("kernel: attack mailbox at 0x%lx\n", (unsigned long)(uint64_t)&vbase_attack_mailbox);
}

static void zero(void *p, size_t n)
{
    volatile uint8_t *b = p;
    while (n--)
        *b++ = 0;
}

/* ops 1 and 2: len bytes at the process's va, through the kernel's 1:1
   mapping of the frame the process's page table gives. */
static long attack_rw(struct vbase_attack_mailbox *m, int write, int *pid)
{
    pte_t *root = proc_root(m->pid, pid);
    if (m->len > VBASE_ATTACK_DATA_MAX || (m->va & (PAGE_SIZE - 1)) + m->len > PAGE_SIZE)
        return -EINVAL;
    if (!root)
        return -ESRCH;
    pte_t *pte = pt_lookup(root, m->va);
    if (!pte)
        return -EFAULT;
    m->gfn_before = PTE_PPN(*pte);
    char *k = (char *)((m->gfn_before << PAGE_SHIFT) | (m->va & (PAGE_SIZE - 1)));
    long r = write ? kcopy(k, m->data, m->len) : kcopy(m->data, k, m->len);
    return r < 0 ? r : (long)m->len;
}

/* op 3: a fresh page whose two halves are data[], put under va in place
   of the frame the process had (same PTE flags).  The old frame is not
   freed: it stays whatever the architecture made of it. */
static long attack_remap(struct vbase_attack_mailbox *m, int *pid)
{
    pte_t *root = proc_root(m->pid, pid);
    if (!root)
        return -ESRCH;
    pte_t *pte = pt_lookup(root, m->va);
    if (!pte)
        return -EFAULT;
    m->gfn_before = PTE_PPN(*pte);
    char *page = page_alloc();
    if (!page)
        return -ENOMEM;
    kcopy(page, m->data, VBASE_ATTACK_DATA_MAX);
    kcopy(page + VBASE_ATTACK_DATA_MAX, m->data, VBASE_ATTACK_DATA_MAX);
    *pte = (((uint64_t)page >> PAGE_SHIFT) << 10) | (*pte & 0x3ff);
    asm volatile("sfence.vma" ::: "memory");
    m->gfn_after = (uint64_t)page >> PAGE_SHIFT;
    return 0;
}

static void record(struct vbase_attack_mailbox *m, long code)
{
    if (m->attempts < VBASE_ATTACK_MAX_GFNS)
        m->codes[m->attempts++] = code;
}

/* The first attempt that succeeds gives the bytes (up to 2048) obtained. */
static void obtain(struct vbase_attack_mailbox *m, const void *from)
{
    if (m->obtained)
        return;
    if (kcopy(m->data, from, VBASE_ATTACK_DATA_MAX) == 0)
        m->obtained = VBASE_ATTACK_DATA_MAX;
}

/* grant copy of 2048 bytes from target (a GFN or a grant ref of it) into
   sweep_buf; the hypercall's error, else the copy's status. */
static long grant_copy(struct vbase_attack_mailbox *m, uint32_t flags, uint64_t source)
{
    copy_op.flags = flags;
    copy_op.source_domid = m->target_domid;
    copy_op.dest_domid = (uint16_t)plat.domid;
    copy_op.source = source;
    copy_op.dest = (uint64_t)sweep_buf >> PAGE_SHIFT;
    copy_op.source_offset = 0;
    copy_op.dest_offset = (uint32_t)((uint64_t)sweep_buf & (PAGE_SIZE - 1));
    copy_op.length = VBASE_ATTACK_DATA_MAX;
    copy_op.status = 1;   /* not written = not an answer we know */
    long r = hypercall(HYPERVISOR_grant_table_op, GNTTABOP_copy, (long)(uint64_t)&copy_op, 0, 0);
    if (r < 0)
        return r;
    return *(volatile int32_t *)&copy_op.status;
}

/*
 * op 4, for the attacker VM: every way an unprivileged domain has to reach
 * another domain's frames, in this order (codes[] in the same order):
 *  (a) memory_op map_foreign(target, gfns[i], hole + i) for the first up to
 *      4 GFNs, hole = the first GFN after RAM, at least 0x9_0000;
 *  (b) grant_table_op map_grant_ref(target, ref, hole + 4 + ref, read-only)
 *      for forged refs 0..7 (a mapping obtained is unmapped again);
 *  (c) grant_table_op copy of 2048 bytes from the target into a frame of
 *      ours: source = gfns[0] as a plain GFN (if gfn_count > 0), then
 *      source = forged grant refs 0..3.
 * A map that succeeds is read through the kernel's 1:1 mapping of the hole.
 */
static long attack_sweep(struct vbase_attack_mailbox *m)
{
    m->attempts = 0;
    m->obtained = 0;
    zero(m->codes, sizeof m->codes);
    zero(m->data, sizeof m->data);
    if (m->gfn_count > VBASE_ATTACK_MAX_GFNS)
        return -EINVAL;
    long dom = m->target_domid;
    uint64_t hole = plat.ram_end >> PAGE_SHIFT;
    if (hole < 0x90000)
        hole = 0x90000;

    unsigned n = m->gfn_count < 4 ? m->gfn_count : 4;
    for (unsigned i = 0; i < n; i++) {
        long r = hypercall(HYPERVISOR_memory_op, MEMOP_map_foreign, dom, (long)m->gfns[i], (long)(hole + i));
        record(m, r);
        if (r >= 0)
            obtain(m, (const void *)((hole + i) << PAGE_SHIFT));
    }
    for (long ref = 0; ref < 8; ref++) {
        uint64_t at = hole + 4 + (uint64_t)ref;
        long r = hypercall5(HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, dom, ref, (long)at,
                            GNTMAP_readonly);
        record(m, r);
        if (r >= 0) {
            obtain(m, (const void *)(at << PAGE_SHIFT));
            hypercall(HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, r, 0, 0);
        }
    }
    if (m->gfn_count > 0) {
        long r = grant_copy(m, 0, m->gfns[0]);
        record(m, r);
        if (r == 0)
            obtain(m, sweep_buf);
    }
    for (uint64_t ref = 0; ref < 4; ref++) {
        long r = grant_copy(m, GNTCOPY_source_gref, ref);
        record(m, r);
        if (r == 0)
            obtain(m, sweep_buf);
    }
    return m->obtained;
}

/* Performs the posted command, if there is one (seq != done_seq). */
void attack_poll(void)
{
    volatile struct vbase_attack_mailbox *vm = &vbase_attack_mailbox;
    struct vbase_attack_mailbox *m = &vbase_attack_mailbox;
    uint32_t seq = vm->seq;
    if (vm->magic != VBASE_ATTACK_MAGIC || seq == vm->done_seq)
        return;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);

    int pid = m->pid;
    long r;
    m->gfn_before = 0;
    m->gfn_after = 0;
    if (m->op != ATTACKOP_foreign_sweep)
        m->attempts = m->obtained = 0;
    switch (m->op) {
    case ATTACKOP_read:
    case ATTACKOP_write:
        r = attack_rw(m, m->op == ATTACKOP_write, &pid);
        kprintf("kernel: attack %s pid %d va 0x%lx gfn 0x%lx len %u -> %ld\n",
                m->op == ATTACKOP_write ? "write" : "read", pid, (unsigned long)m->va,
                (unsigned long)m->gfn_before, m->len, r);
        break;
    case ATTACKOP_remap:
        r = attack_remap(m, &pid);
        kprintf("kernel: attack remap pid %d va 0x%lx gfn 0x%lx new gfn 0x%lx -> %ld\n", pid,
                (unsigned long)m->va, (unsigned long)m->gfn_before, (unsigned long)m->gfn_after, r);
        break;
    case ATTACKOP_foreign_sweep:
        r = attack_sweep(m);
        kprintf("kernel: attack foreign-sweep dom %u gfns %u attempts %u -> %ld\n",
                (unsigned)m->target_domid, (unsigned)m->gfn_count, m->attempts, r);
        break;
    default:
        r = -EINVAL;
        kprintf("kernel: attack op %u -> %ld\n", m->op, r);
        break;
    }
    m->result = r;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vm->done_seq = seq;
    attack_commands_done++;
}
