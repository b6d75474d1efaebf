/*
 * mm.c - physical pages and Sv39 page tables.
 *
 * Pages: a bump pointer over [free_start, free_end) plus a free list of
 * pages given back by exited processes.  free_start is the first page after
 * the kernel image, so neither the kernel nor the modules (below the kernel,
 * at 0x8001_0000) are ever handed out.
 *
 * Address spaces: the kernel maps the 1 GiB at 0x8000_0000 1:1 with one
 * gigapage (global, S-only, RWX), so a kernel virtual address is the GPA
 * the hypervisor wants.  Every process root table shares that entry and has
 * its own user pages (U bit) below 1 GiB, reached through root[0].  A
 * second global gigapage maps physical 0..1 GiB (devices) at KERNEL_IO_VA.
 */
#include "kernel.h"

static uint64_t bump, bump_end;
static void *free_list;          /* first word of a free page links to the next */
static uint64_t nr_free;

/* The kernel's root: only the 1:1 gigapage. */
static pte_t kernel_root[512] __attribute__((aligned(4096)));

#define KERNEL_GIGAPAGE_INDEX ((VBASE_RAM_BASE >> 30) & 511)

static void zero_page(void *p)
{
    uint64_t *w = p;
    for (size_t i = 0; i < PAGE_SIZE / 8; i++)
        w[i] = 0;
}

void mm_init(uint64_t free_start, uint64_t free_end)
{
    bump = PAGE_ROUND_UP(free_start);
    bump_end = PAGE_ROUND_DOWN(free_end);
    nr_free = (bump_end - bump) / PAGE_SIZE;

    /* A and D are set up front: a hypervisor without hardware A/D
       updates (Svade) would otherwise fault on the first access. */
    kernel_root[KERNEL_GIGAPAGE_INDEX] =
        ((VBASE_RAM_BASE >> PAGE_SHIFT) << 10) |
        PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D;
    /* The I/O gigapage: physical 0..1 GiB (the virtio-mmio windows) at
       KERNEL_IO_VA, read/write, never executable, S-only. */
    kernel_root[(KERNEL_IO_VA(0) >> 30) & 511] =
        PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D;
}

void *page_alloc(void)
{
    void *p;
    if (free_list) {
        p = free_list;
        free_list = *(void **)p;
    } else if (bump < bump_end) {
        p = (void *)bump;
        bump += PAGE_SIZE;
    } else {
        return NULL;
    }
    nr_free--;
    zero_page(p);
    return p;
}

void page_free(void *page)
{
    *(void **)page = free_list;
    free_list = page;
    nr_free++;
}

uint64_t pages_free(void)
{
    return nr_free;
}

uint64_t pt_satp(pte_t *root)
{
    return (8UL << 60) | ((uint64_t)root >> PAGE_SHIFT);   /* mode 8 = Sv39, ASID 0 */
}

void kernel_pt_activate(void)
{
    csr_write(satp, pt_satp(kernel_root));
    asm volatile("sfence.vma" ::: "memory");
}

pte_t *pt_create(void)
{
    pte_t *root = page_alloc();
    if (!root)
        return NULL;
    for (int i = 0; i < 512; i++)
        root[i] = kernel_root[i];
    return root;
}

/* Walks to the level-0 PTE of va, creating tables on the way if `alloc`. */
static pte_t *walk(pte_t *root, uint64_t va, int alloc)
{
    pte_t *table = root;
    for (int level = 2; level > 0; level--) {
        pte_t *pte = &table[(va >> (12 + 9 * level)) & 511];
        if (*pte & PTE_V) {
            if (*pte & (PTE_R | PTE_W | PTE_X))
                return NULL;            /* a superpage (the kernel's): not a user page */
            table = (pte_t *)(PTE_PPN(*pte) << PAGE_SHIFT);
        } else {
            if (!alloc)
                return NULL;
            pte_t *next = page_alloc();
            if (!next)
                return NULL;
            *pte = (((uint64_t)next >> PAGE_SHIFT) << 10) | PTE_V;
            table = next;
        }
    }
    return &table[(va >> 12) & 511];
}

/* Maps one 4 KiB page; an existing mapping of va gains the new permissions
   (two ELF segments may share a page). */
int pt_map(pte_t *root, uint64_t va, uint64_t pa, uint64_t flags)
{
    if (va >= (1UL << 30))
        return -EINVAL;                 /* user space is root[0] only */
    pte_t *pte = walk(root, va, 1);
    if (!pte)
        return -ENOMEM;
    if (*pte & PTE_V)
        *pte |= flags;
    else
        *pte = ((pa >> PAGE_SHIFT) << 10) | flags | PTE_V | PTE_A | PTE_D;
    return 0;
}

pte_t *pt_lookup(pte_t *root, uint64_t va)
{
    if (va >= (1UL << 30))
        return NULL;
    pte_t *pte = walk(root, va, 0);
    return pte && (*pte & PTE_V) ? pte : NULL;
}

/* Frees every table and page that is not the kernel's. */
void pt_destroy(pte_t *root)
{
    for (int i = 0; i < 512; i++) {
        if (root[i] == kernel_root[i] || !(root[i] & PTE_V))
            continue;
        pte_t *l1 = (pte_t *)(PTE_PPN(root[i]) << PAGE_SHIFT);
        for (int j = 0; j < 512; j++) {
            if (!(l1[j] & PTE_V))
                continue;
            pte_t *l0 = (pte_t *)(PTE_PPN(l1[j]) << PAGE_SHIFT);
            for (int k = 0; k < 512; k++)
                if (l0[k] & PTE_V)
                    page_free((void *)(PTE_PPN(l0[k]) << PAGE_SHIFT));
            page_free(l0);
        }
        page_free(l1);
    }
    page_free(root);
}
