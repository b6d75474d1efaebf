/*
 * vbase-demo - a "secure application": puts a secret in a page-aligned
 * buffer, asks the kernel to protect it (vbase enter), uses it, and
 * releases it (vbase exit).  Without an architecture plugged into the
 * hypervisor both calls answer -38 (ENOSYS); the program still finishes
 * and checks that its secret is intact (exit 1 if not).
 */
#include "vbase.h"

#define PAGES 2
static char secret[PAGES * 4096] __attribute__((aligned(4096)));

static uint32_t checksum(const char *p, size_t n)
{
    uint32_t h = 2166136261u;               /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

int main(void)
{
    const char *text = "VBASE-SECRET: the launch code is 0000";
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = text[i % 37];
    uint32_t before = checksum(secret, sizeof secret);

    long r = sys_vbase(secret, sizeof secret, 0);
    vb_printf("vbase-demo: vbase enter(%p, %lu) = %ld\n", secret, (unsigned long)sizeof secret, r);

    /* Work on the protected data. */
    uint32_t during = checksum(secret, sizeof secret);
    vb_printf("vbase-demo: secret checksum 0x%08x (%s)\n", during,
              during == before ? "intact" : "CHANGED");

    r = sys_vbase(secret, sizeof secret, 1);
    vb_printf("vbase-demo: vbase exit = %ld\n", r);

    /* The kernel rejects what it must. */
    vb_printf("vbase-demo: unaligned -> %ld, unmapped -> %ld\n",
              sys_vbase(secret + 1, 4096, 0), sys_vbase((void *)0x20000000, 4096, 0));
    return during == before ? 0 : 1;
}
