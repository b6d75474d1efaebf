/*
 * socket.c - the socket system call wrappers (docs/network.md), linked
 * only into the programs that use the network.
 */
#include "vbase.h"

static long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    register long r_a0 __asm__("a0") = a0;
    register long r_a1 __asm__("a1") = a1;
    register long r_a2 __asm__("a2") = a2;
    register long r_a3 __asm__("a3") = a3;
    register long r_a4 __asm__("a4") = a4;
    register long r_a5 __asm__("a5") = a5;
    register long r_a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a5), "r"(r_a7) : "memory");
    return r_a0;
}

/* The socket calls: Linux riscv64's numbers, declared in abi.yaml. */
long sys_socket(int domain, int type, int protocol) { return syscall6(VBASE_SYS_socket, domain, type, protocol, 0, 0, 0); }
long sys_bind(int fd, const struct vb_sockaddr_in *addr, size_t len) { return syscall6(VBASE_SYS_bind, fd, (long)addr, (long)len, 0, 0, 0); }
long sys_sendto(int fd, const void *buf, size_t len, int flags, const struct vb_sockaddr_in *to, size_t tolen)
{
    return syscall6(VBASE_SYS_sendto, fd, (long)buf, (long)len, flags, (long)to, (long)tolen);
}
long sys_recvfrom(int fd, void *buf, size_t len, int flags, struct vb_sockaddr_in *from, uint32_t *fromlen)
{
    return syscall6(VBASE_SYS_recvfrom, fd, (long)buf, (long)len, flags, (long)from, (long)fromlen);
}
long sys_setsockopt(int fd, int level, int name, const void *value, size_t len)
{
    return syscall6(VBASE_SYS_setsockopt, fd, level, name, (long)value, (long)len, 0);
}

