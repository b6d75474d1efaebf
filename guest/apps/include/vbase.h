/*
 * vbase.h (user) - the tiny runtime of U-mode programs under the Vbase
 * guest kernel.  Same name and printing API as runtime/include/vbase.h, so
 * a bare-metal program such as cpubench.c builds as a process unchanged;
 * output goes through the write syscall instead of the UART.
 */
#ifndef VBASE_H
#define VBASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* System calls (Linux RISC-V numbers; vbase is the guest kernel's own). */
long sys_write(int fd, const void *buf, size_t len);
void sys_exit(int code) __attribute__((noreturn));
long sys_getpid(void);
long sys_sched_yield(void);
long sys_vbase(void *va, size_t len, int op);   /* op 0 enter, 1 exit */

/* UDP sockets (docs/network.md; Linux's numbers and structures). */
struct vb_sockaddr_in {
    uint16_t sin_family;         /* VB_AF_INET */
    uint16_t sin_port;           /* network byte order: vb_htons */
    uint8_t  sin_addr[4];        /* a.b.c.d */
    uint8_t  sin_zero[8];
};
struct vb_timeval { int64_t tv_sec, tv_usec; };
#include "vbase/abi.h"
#define VB_AF_INET     VBASE_AF_INET
#define VB_SOCK_DGRAM  VBASE_SOCK_DGRAM
#define VB_SOL_SOCKET  VBASE_SOL_SOCKET
#define VB_SO_RCVTIMEO VBASE_SO_RCVTIMEO
#define VB_EAGAIN      VBASE_EAGAIN
#define vb_htons(x) ((uint16_t)((((x) & 0xff) << 8) | (((x) >> 8) & 0xff)))
long sys_socket(int domain, int type, int protocol);
long sys_bind(int fd, const struct vb_sockaddr_in *addr, size_t len);
long sys_sendto(int fd, const void *buf, size_t len, int flags, const struct vb_sockaddr_in *to, size_t tolen);
long sys_recvfrom(int fd, void *buf, size_t len, int flags, struct vb_sockaddr_in *from, uint32_t *fromlen);
long sys_setsockopt(int fd, int level, int name, const void *value, size_t len);

/* Output, line-buffered per call (one write syscall per line). */
void vb_putc(char c);
void vb_puts(const char *s);
void vb_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vb_vprintf(const char *fmt, va_list ap);
void vb_flush(void);

/* Exit: flushes output, then exit(code). */
void vb_exit(int code) __attribute__((noreturn));

#define VB_STR_(x) #x
#define VB_STR(x) VB_STR_(x)
#define vb_csr_read(csr) ({ uint64_t v_;                                     \
    __asm__ volatile("csrr %0, " VB_STR(csr) : "=r"(v_)); v_; })

void  *memcpy(void *dst, const void *src, size_t n);
void  *memmove(void *dst, const void *src, size_t n);
void  *memset(void *dst, int c, size_t n);
int    memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int    strcmp(const char *a, const char *b);

#endif
