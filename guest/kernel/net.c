/*
 * net.c - ARP, IPv4 and UDP, and datagram sockets for U-mode programs.
 *
 * Addresses are static (docs/network.md): the scenario gives each card an
 * IPv4 address and every other card's (ip, mac), which the hypervisor puts
 * in the start info (net_ip, net_arp).  The kernel answers ARP requests
 * for its address but never asks: a destination outside the table is
 * -EHOSTUNREACH.  IPv4 without options or fragments; UDP with checksums
 * (sent always, checked when present).
 *
 * Sockets (Linux riscv64 numbers, vbase/abi.h): socket(AF_INET,
 * SOCK_DGRAM, 0) gives fd 3 + slot; bind to a port (0: an ephemeral one
 * from 49152); sendto binds an unbound socket first; recvfrom takes the
 * oldest queued datagram or waits, at most SO_RCVTIMEO (struct timeval,
 * one second = 10^9 ticks of virtual time; 0 = forever) and then answers
 * -EAGAIN.  A waiting process does not spin in the kernel: the ecall is
 * restarted after the other processes have had their turn, so a kernel
 * that is never preempted still lets everyone run.
 */
#include "kernel.h"
#include "net.h"

#define NSOCK 8
#define SOCK_FD0 3
#define QDEPTH 4

struct datagram { uint16_t len, port; uint8_t ip[4]; uint8_t data[NET_UDP_MAX]; };

struct sock {
    int      pid;                /* 0: free */
    uint16_t port;               /* host order; 0: unbound */
    uint64_t timeout;            /* ticks; 0: wait forever */
    uint64_t deadline;           /* while a recvfrom waits */
    int      waiting;
    int      head, count;
    struct datagram *q[QDEPTH];  /* two a page, taken at socket() and given back at exit */
};

_Static_assert(2 * sizeof(struct datagram) <= PAGE_SIZE, "two datagrams fit a page");

static struct sock socks[NSOCK];
static uint8_t my_ip[4];
static struct vbase_arp_entry arp[VBASE_MAX_ARP];
static uint32_t nr_arp;
static int virtio_port = -1;
static uint16_t next_ephemeral = 49152;
static uint16_t ip_id;
static uint64_t dropped;
static uint8_t *frame;            /* the frame being built: a page taken at net_init */

int net_virtio_port(void) { return virtio_port; }

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static int eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}
static void cp(uint8_t *d, const uint8_t *s, size_t n) { for (size_t i = 0; i < n; i++) d[i] = s[i]; }

/* The Internet checksum (RFC 1071) over a buffer, continuing from sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    return sum;
}
static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t udp_checksum(const uint8_t *src, const uint8_t *dst, const uint8_t *udp, size_t len)
{
    uint8_t pseudo[12];
    cp(pseudo, src, 4);
    cp(pseudo + 4, dst, 4);
    pseudo[8] = 0;
    pseudo[9] = 17;
    put16(pseudo + 10, (uint16_t)len);
    uint16_t c = fold(sum16(sum16(0, pseudo, 12), udp, len));
    return c ? c : 0xffff;
}

void net_init(const struct vbase_start_info *si)
{
    if (!si || !si->net_ip)
        return;
    int r = virtio_net_init();
    if (r < 0) {
        kprintf("kernel: net: no virtio-net card (%d)\n", r);
        return;
    }
    frame = page_alloc();
    if (!frame) {
        kprintf("kernel: net: out of memory\n");
        return;
    }
    cp(my_ip, (const uint8_t *)&si->net_ip, 4);
    nr_arp = si->net_nr_arp < VBASE_MAX_ARP ? si->net_nr_arp : VBASE_MAX_ARP;
    for (uint32_t i = 0; i < nr_arp; i++)
        arp[i] = si->net_arp[i];
    long port = hypercall(HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, VIRQ_VIRTIO, (long)plat.vcpu, 0);
    virtio_port = port < 0 ? -1 : (int)port;
    kprintf("kernel: net: virtio-net %02x:%02x:%02x:%02x:%02x:%02x, ip %u.%u.%u.%u, %u ARP entries, VIRQ_VIRTIO port %d\n",
            net_mac[0], net_mac[1], net_mac[2], net_mac[3], net_mac[4], net_mac[5],
            my_ip[0], my_ip[1], my_ip[2], my_ip[3], (unsigned)nr_arp, virtio_port);
}

static const uint8_t *arp_lookup(const uint8_t *ip)
{
    for (uint32_t i = 0; i < nr_arp; i++)
        if (eq((const uint8_t *)&arp[i].ip, ip, 4))
            return arp[i].mac;
    return NULL;
}


/* An ARP request for our address gets a reply (so that a peer that does ask,
   such as Linux in Dom0 later, finds us); everything else is ignored. */
static void arp_input(const uint8_t *p, size_t len)
{
    if (len < 28 || get16(p) != 1 || get16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4 ||
        get16(p + 6) != 1 || !eq(p + 24, my_ip, 4))
        return;
    cp(frame, p + 8, 6);
    cp(frame + 6, net_mac, 6);
    put16(frame + 12, 0x0806);
    uint8_t *a = frame + 14;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 2);
    cp(a + 8, net_mac, 6);
    cp(a + 14, my_ip, 4);
    cp(a + 18, p + 8, 10);      /* the asker's MAC and IP */
    net_transmit(frame, 14 + 28);
}

static void udp_input(const uint8_t *ip, const uint8_t *udp, size_t len)
{
    if (len < 8 || get16(udp + 4) < 8 || get16(udp + 4) > len)
        return;
    len = get16(udp + 4);
    /* Summed with its checksum field, a correct datagram folds to 0, which
       udp_checksum spells 0xffff. */
    if (get16(udp + 6) && udp_checksum(ip + 12, ip + 16, udp, len) != 0xffff) {
        dropped++;
        return;
    }
    uint16_t port = get16(udp + 2);
    for (int i = 0; i < NSOCK; i++) {
        struct sock *s = &socks[i];
        if (!s->pid || s->port != port)
            continue;
        if (s->count == QDEPTH) {
            dropped++;
            return;
        }
        struct datagram *d = s->q[(s->head + s->count) % QDEPTH];
        d->len = (uint16_t)(len - 8);
        d->port = get16(udp);
        cp(d->ip, ip + 12, 4);
        cp(d->data, udp + 8, len - 8);
        s->count++;
        return;
    }
    dropped++;                   /* no socket on that port (no ICMP: we are quiet) */
}

void net_input(const uint8_t *f, size_t len)
{
    if (len < 14)
        return;
    int mine = eq(f, net_mac, 6) || (f[0] & f[1] & f[2] & f[3] & f[4] & f[5]) == 0xff;
    if (!mine)
        return;
    uint16_t type = get16(f + 12);
    const uint8_t *p = f + 14;
    len -= 14;
    if (type == 0x0806) {
        arp_input(p, len);
        return;
    }
    if (type != 0x0800 || len < 20 || (p[0] >> 4) != 4 || (p[0] & 15) < 5)
        return;
    size_t ihl = (size_t)(p[0] & 15) * 4, total = get16(p + 2);
    if (total < ihl || total > len || ihl > len || fold(sum16(0, p, ihl)) != 0)
        return;                  /* bad lengths or header checksum */
    if ((get16(p + 6) & 0x3fff) != 0 || !eq(p + 16, my_ip, 4))
        return;                  /* a fragment, or not for us */
    if (p[9] == 17)
        udp_input(p, p + ihl, total - ihl);
}

static struct sock *sock_of(int pid, uint64_t fd)
{
    if (fd < SOCK_FD0 || fd >= SOCK_FD0 + NSOCK)
        return NULL;
    struct sock *s = &socks[fd - SOCK_FD0];
    return s->pid == pid ? s : NULL;
}

static void sock_free(struct sock *s)
{
    for (int k = 0; k < QDEPTH; k += 2)
        if (s->q[k])
            page_free(s->q[k]);
    for (int k = 0; k < QDEPTH; k++)
        s->q[k] = NULL;
    s->pid = 0;
}

void net_proc_exit(int pid)
{
    for (int i = 0; i < NSOCK; i++)
        if (socks[i].pid == pid)
            sock_free(&socks[i]);
}

long sys_socket(int pid, uint64_t domain, uint64_t type, uint64_t protocol)
{
    if (domain != VBASE_AF_INET || type != VBASE_SOCK_DGRAM || (protocol != 0 && protocol != 17))
        return -EINVAL;
    if (!net_up() || !frame)
        return -ENETDOWN;
    for (int i = 0; i < NSOCK; i++) {
        if (!socks[i].pid) {
            struct sock *s = &socks[i];
            for (int k = 0; k < QDEPTH; k += 2) {
                uint8_t *page = page_alloc();
                if (!page) {
                    sock_free(s);
                    return -ENOMEM;
                }
                s->q[k] = (struct datagram *)page;
                s->q[k + 1] = (struct datagram *)(page + PAGE_SIZE / 2);
            }
            s->pid = pid;
            s->port = 0;
            s->timeout = 0;
            s->waiting = 0;
            s->head = s->count = 0;
            return SOCK_FD0 + i;
        }
    }
    return -ENOMEM;
}

static int port_used(uint16_t port)
{
    for (int i = 0; i < NSOCK; i++)
        if (socks[i].pid && socks[i].port == port)
            return 1;
    return 0;
}

static long bind_port(struct sock *s, uint16_t port)
{
    if (s->port)
        return -EINVAL;
    if (!port) {
        for (int tries = 0; tries < 16384 && !port; tries++) {
            uint16_t p = next_ephemeral++;
            if (next_ephemeral == 0)
                next_ephemeral = 49152;
            if (!port_used(p))
                port = p;
        }
        if (!port)
            return -EADDRINUSE;
    } else if (port_used(port)) {
        return -EADDRINUSE;
    }
    s->port = port;
    return 0;
}

/* struct sockaddr_in: u16 family, u16 port (network order), 4 address bytes, 8 zero. */
static long read_sockaddr(int pid, uint64_t va, uint64_t len, uint16_t *port, uint8_t *ip)
{
    uint8_t sa[16];
    if (len < 8)
        return -EINVAL;
    if (user_read(pid, sa, va, 8) < 0)
        return -EFAULT;
    if ((sa[0] | sa[1] << 8) != VBASE_AF_INET)
        return -EINVAL;
    *port = get16(sa + 2);
    cp(ip, sa + 4, 4);
    return 0;
}

long sys_bind(int pid, struct trapframe *tf)
{
    struct sock *s = sock_of(pid, tf->x[10]);
    if (!s)
        return -EINVAL;          /* Linux: EBADF/ENOTSOCK; we have no files */
    uint16_t port;
    uint8_t ip[4];
    long r = read_sockaddr(pid, tf->x[11], tf->x[12], &port, ip);
    return r < 0 ? r : bind_port(s, port);
}

long sys_setsockopt(int pid, struct trapframe *tf)
{
    struct sock *s = sock_of(pid, tf->x[10]);
    if (!s)
        return -EINVAL;
    if (tf->x[11] != VBASE_SOL_SOCKET || tf->x[12] != VBASE_SO_RCVTIMEO || tf->x[14] < 16)
        return -EINVAL;          /* Linux: ENOPROTOOPT; we have only this one */
    int64_t tv[2];
    if (user_read(pid, tv, tf->x[13], 16) < 0)
        return -EFAULT;
    if (tv[0] < 0 || tv[1] < 0 || tv[1] >= 1000000 || tv[0] > 1000000000L)
        return -EINVAL;
    s->timeout = (uint64_t)tv[0] * 1000000000UL + (uint64_t)tv[1] * 1000UL;
    return 0;
}

long sys_sendto(int pid, struct trapframe *tf)
{
    struct sock *s = sock_of(pid, tf->x[10]);
    uint64_t buf = tf->x[11], len = tf->x[12];
    if (!s)
        return -EINVAL;
    if (len > NET_UDP_MAX)
        return -EINVAL;          /* Linux: EMSGSIZE */
    uint16_t port;
    uint8_t ip[4];
    long r = read_sockaddr(pid, tf->x[14], tf->x[15], &port, ip);
    if (r < 0)
        return r;
    const uint8_t *mac = arp_lookup(ip);
    if (!mac)
        return -EHOSTUNREACH;
    if (!s->port && (r = bind_port(s, 0)) < 0)
        return r;
    uint8_t *e = frame, *p = frame + 14, *u = frame + 34;
    if (user_read(pid, u + 8, buf, len) < 0)
        return -EFAULT;
    cp(e, mac, 6);
    cp(e + 6, net_mac, 6);
    put16(e + 12, 0x0800);
    p[0] = 0x45;
    p[1] = 0;
    put16(p + 2, (uint16_t)(20 + 8 + len));
    put16(p + 4, ip_id++);
    put16(p + 6, 0x4000);        /* don't fragment */
    p[8] = 64;
    p[9] = 17;
    put16(p + 10, 0);
    cp(p + 12, my_ip, 4);
    cp(p + 16, ip, 4);
    put16(p + 10, fold(sum16(0, p, 20)));
    put16(u, s->port);
    put16(u + 2, port);
    put16(u + 4, (uint16_t)(8 + len));
    put16(u + 6, 0);
    put16(u + 6, udp_checksum(my_ip, ip, u, 8 + len));
    r = net_transmit(frame, 14 + 20 + 8 + len);
    return r < 0 ? r : (long)len;
}

int sys_recvfrom(int pid, struct trapframe *tf, long *result)
{
    struct sock *s = sock_of(pid, tf->x[10]);
    uint64_t buf = tf->x[11], len = tf->x[12], addr = tf->x[14], addrlen = tf->x[15];
    if (!s) {
        *result = -EINVAL;
        return 0;
    }
    net_poll();
    if (!s->count) {
        uint64_t now = now_ticks();
        if (!s->waiting) {
            s->waiting = 1;
            s->deadline = s->timeout ? now + s->timeout : ~0UL;
        }
        if (now < s->deadline)
            return 1;            /* the caller restarts the ecall after the others ran */
        s->waiting = 0;
        *result = -EAGAIN;
        return 0;
    }
    s->waiting = 0;
    struct datagram *d = s->q[s->head];
    size_t n = d->len < len ? d->len : len;   /* the rest is discarded, as UDP does */
    long r = (long)n;
    if (user_write(pid, buf, d->data, n) < 0)
        r = -EFAULT;
    if (r >= 0 && addr) {
        uint8_t sa[16] = { VBASE_AF_INET & 0xff, VBASE_AF_INET >> 8 };
        put16(sa + 2, d->port);
        cp(sa + 4, d->ip, 4);
        uint32_t have;
        if (user_read(pid, &have, addrlen, 4) < 0 || user_write(pid, addr, sa, have < 16 ? have : 16) < 0)
            r = -EFAULT;
        else {
            uint32_t full = 16;
            user_write(pid, addrlen, &full, 4);
        }
    }
    s->head = (s->head + 1) % QDEPTH;
    s->count--;
    *result = r;
    return 0;
}
