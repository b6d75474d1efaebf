/*
 * vbase-check - /dev/vbase's answers to bad requests, for the tests
 * (docs/linux.md): every line is "vbase-check: WHAT -> RESULT" with the
 * negative errno the module gave, then a good enter and exit, and a region
 * left entered at exit (the module leaves it when the file is closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vbase.h"
#include "vbase-ioctl.h"
#include "vbase/abi.h"

static char page[2 * 4096] __attribute__((aligned(4096)));

static void show(const char *what, long r) { printf("vbase-check: %s -> %ld\n", what, r); }

int main(void)
{
    page[0] = 1;
    page[4096] = 2;
    show("unaligned va", sys_vbase(page + 8, 4096, 0));
    show("zero length", sys_vbase(page, 0, 0));
    show("unaligned length", sys_vbase(page, 100, 0));
    show("too many pages", sys_vbase(page, (VBASE_MAX_FRAMES + 1) * 4096UL, 0));
    show("kernel va", sys_vbase((void *)0xffffffd800000000UL, 4096, 0));
    /* A hole in the address space: mapped, then unmapped. */
    void *hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 4096);
    show("unmapped va", sys_vbase(hole, 4096, 0));
    /* Read-only memory: the module pins for writing, the application's own pages. */
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("read-only va", sys_vbase(ro, 4096, 0));
    show("exit before enter", sys_vbase(page, 4096, 1));
    show("bad op", sys_vbase(page, 4096, 7));

    int fd = open(VBASE_DEVICE, O_RDWR);
    show("bad ioctl", ioctl(fd, _IO(VBASE_IOC_MAGIC, 9), 0) < 0 ? -errno : 0);
    show("bad argument pointer", ioctl(fd, VBASE_IOC_ENTER, (void *)8) < 0 ? -errno : 0);

    show("enter", sys_vbase(page, 4096, 0));
    show("enter again", sys_vbase(page + 4096, 4096, 0));
    show("exit with another region", sys_vbase(page + 4096, 4096, 1));
    show("exit", sys_vbase(page, 4096, 1));
    /* Left entered: the module leaves it when the process exits and the file closes. */
    struct vbase_ioc_region r = { (uint64_t)(uintptr_t)(page + 4096), 4096 };
    long left = ioctl(fd, VBASE_IOC_ENTER, &r);
    show("enter, left at exit", left < 0 ? -errno : left);
    return 0;
}
