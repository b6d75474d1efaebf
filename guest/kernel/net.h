/*
 * net.h - the guest kernel's network: the virtio-net driver
 * (virtio-net.c) and a small IPv4/UDP stack with sockets (net.c).
 * docs/network.md describes both.
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <stdint.h>

#define NET_MTU       1500
#define NET_FRAME_MAX (NET_MTU + 14)
#define NET_UDP_MAX   (NET_MTU - 20 - 8)   /* the largest UDP payload: no fragments */

/* Linux's errno values for what only the network says. */
#define EADDRINUSE   98
#define ENETDOWN     100
#define EHOSTUNREACH 113

extern uint8_t net_mac[6];

int  virtio_net_init(void);            /* 0 when a card is up */
int  net_up(void);
void net_poll(void);                   /* frames in, finished sends out */
long net_transmit(const uint8_t *frame, size_t len);
void net_input(const uint8_t *frame, size_t len);   /* called by net_poll */

void net_init(const struct vbase_start_info *si);   /* NULL: no network (QEMU) */
int  net_virtio_port(void);            /* the VIRQ_VIRTIO port, or -1 */
void net_proc_exit(int pid);           /* closes the process's sockets */

struct proc;
struct trapframe;
/* The socket system calls.  recvfrom may block: it returns 1 with the
   trapframe set up to retry the ecall after other processes ran. */
long sys_socket(int pid, uint64_t domain, uint64_t type, uint64_t protocol);
long sys_bind(int pid, struct trapframe *tf);
long sys_sendto(int pid, struct trapframe *tf);
long sys_setsockopt(int pid, struct trapframe *tf);
int  sys_recvfrom(int pid, struct trapframe *tf, long *result);   /* 1: blocked, retry later */

/* User memory (proc.c): -EFAULT unless every byte is a user page of pid. */
long user_read(int pid, void *dst, uint64_t va, size_t len);
long user_write(int pid, uint64_t va, const void *src, size_t len);

#endif
