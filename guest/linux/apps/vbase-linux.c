/*
 * vbase-linux.c - sys_vbase for Linux: the paper's vbase system call as an
 * ioctl on /dev/vbase (vbase.ko; guest/linux/vbase/vbase-ioctl.h).  The
 * device is opened once and stays open: the module ties a region to the
 * open file, and closing it (at exit) leaves a region still entered.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>

#include "vbase.h"
#include "vbase-ioctl.h"

long sys_vbase(void *va, size_t len, int op)
{
    static int fd = -1;
    struct vbase_ioc_region r = { (uint64_t)(uintptr_t)va, len };

    if (op != 0 && op != 1)
        return -EINVAL;
    if (fd < 0 && (fd = open(VBASE_DEVICE, O_RDWR | O_CLOEXEC)) < 0)
        return -errno;
    long rc = ioctl(fd, op == 0 ? VBASE_IOC_ENTER : VBASE_IOC_EXIT, &r);
    return rc < 0 ? -errno : rc;
}
