/*
 * vbase-ioctl.h - /dev/vbase, the interface between a Linux process and
 * vbase.ko (the paper's kernel module, Listing 4).  Shared by the module
 * and the user-space shim (guest/linux/apps/vbase.h).
 *
 * ioctl(fd, VBASE_IOC_ENTER, &r) registers the page-aligned region
 * [r.va, r.va + r.len) of the caller: the module pins its pages, turns each
 * VA into a PFN (= the GFN: Linux's physical addresses are guest-physical)
 * and hands the frame list to the hypervisor (vbase_op enter).  It returns
 * what the hypervisor answered: >= 0 the region id; -1 with errno set to
 * the hypervisor's error (ENOSYS with no architecture), or EINVAL (bad
 * region), EFAULT (a page not mapped), EBUSY (this file already has a
 * region).  VBASE_IOC_EXIT leaves it (vbase_op exit, then the pages are
 * unpinned); closing the file does the same for a region still entered.
 * The paper's syscall is vbase(va, len, op): op 0 is ENTER, op 1 EXIT.
 */
#ifndef VBASE_IOCTL_H
#define VBASE_IOCTL_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <sys/ioctl.h>
#include <stdint.h>
#endif

struct vbase_ioc_region {
    uint64_t va;     /* page-aligned user VA of the region */
    uint64_t len;    /* bytes, a multiple of the page size, at most VBASE_MAX_FRAMES pages */
};

#define VBASE_DEVICE     "/dev/vbase"
#define VBASE_IOC_MAGIC  'V'
#define VBASE_IOC_ENTER  _IOW(VBASE_IOC_MAGIC, 0, struct vbase_ioc_region)
#define VBASE_IOC_EXIT   _IOW(VBASE_IOC_MAGIC, 1, struct vbase_ioc_region)

#endif
