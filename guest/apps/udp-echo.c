/*
 * udp-echo.c - a UDP echo server and its client, one source
 * (docs/network.md).  Built twice: udp-echo-server (-DUDP_ECHO_SERVER) and
 * udp-echo-client.  The server is 10.0.0.1, port 7 (the echo port); the
 * scenario gives its VM that address (scenarios/udp-echo.yaml).
 *
 * Client: ROUNDS requests "ping <i> from <pid>", each sent until its echo
 * comes back (a request may arrive before the server has bound its port:
 * then it is lost, as UDP loses it, and sent again after the timeout);
 * prints each round trip in ticks of virtual time (rdtime).  Exit 0 when
 * every echo matched, 1 otherwise.
 * Server: echoes ROUNDS datagrams back to their senders, then exits 0; 2 if
 * nothing arrived for IDLE_USEC of virtual time.
 *
 * -DUDP_BENCH (udp-bench-server/-client, bench/network.sh): ROUNDS round
 * trips of a 32-byte payload, and one summary line instead of one per
 * datagram.
 */
#include "vbase.h"

#ifndef ROUNDS
#define ROUNDS 4
#endif
#define PORT 7
#define TRIES 5

static int open_socket(const char *who, uint16_t port, int64_t usec)
{
    long fd = sys_socket(VB_AF_INET, VB_SOCK_DGRAM, 0);
    if (fd < 0) {
        vb_printf("%s: socket: %ld\n", who, fd);
        vb_exit(1);
    }
    struct vb_sockaddr_in me = { VB_AF_INET, vb_htons(port), { 0, 0, 0, 0 }, { 0 } };
    long r = sys_bind((int)fd, &me, sizeof me);
    struct vb_timeval tv = { usec / 1000000, usec % 1000000 };
    long t = sys_setsockopt((int)fd, VB_SOL_SOCKET, VB_SO_RCVTIMEO, &tv, sizeof tv);
    if (r < 0 || t < 0) {
        vb_printf("%s: bind %ld, setsockopt %ld\n", who, r, t);
        vb_exit(1);
    }
    return (int)fd;
}

#ifdef UDP_ECHO_SERVER
#define IDLE_USEC 200000          /* 200 M ticks */

static void show(const struct vb_sockaddr_in *a)
{
    vb_printf("%u.%u.%u.%u:%u", a->sin_addr[0], a->sin_addr[1], a->sin_addr[2], a->sin_addr[3],
              (unsigned)vb_htons(a->sin_port));
}

int main(void)
{
    int fd = open_socket("udp-echo-server", PORT, IDLE_USEC);
    vb_printf("udp-echo-server: listening on port %d\n", PORT);
    char buf[512];
    for (int served = 0; served < ROUNDS;) {
        struct vb_sockaddr_in from;
        uint32_t fromlen = sizeof from;
        long n = sys_recvfrom(fd, buf, sizeof buf, 0, &from, &fromlen);
        if (n == -VB_EAGAIN) {
            vb_printf("udp-echo-server: nothing for %d us, %d served\n", IDLE_USEC, served);
            return 2;
        }
        if (n < 0) {
            vb_printf("udp-echo-server: recvfrom: %ld\n", n);
            return 1;
        }
        long s = sys_sendto(fd, buf, (size_t)n, 0, &from, sizeof from);
#ifndef UDP_BENCH
        vb_printf("udp-echo-server: %ld bytes from ", n);
        show(&from);
        vb_printf(", echoed: %ld\n", s);
#else
        (void)s;
        (void)show;
#endif
        served++;
    }
    vb_printf("udp-echo-server: done\n");
    return 0;
}
#else
#define REPLY_USEC 2000           /* 2 M ticks: far more than a round trip */

static const uint8_t server_ip[4] = { 10, 0, 0, 1 };

int main(void)
{
    int fd = open_socket("udp-echo-client", 0, REPLY_USEC);
    struct vb_sockaddr_in server = { VB_AF_INET, vb_htons(PORT), { 0 }, { 0 } };
    memcpy(server.sin_addr, server_ip, 4);
    int good = 0;
    uint64_t total = 0, lo = ~0UL, hi = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char msg[64], buf[64];
        int len = 0;
        const char *p = "ping ";
        while (*p)
            msg[len++] = *p++;
        msg[len++] = (char)('0' + i % 10);
#ifdef UDP_BENCH
        while (len < 32)
            msg[len++] = '.';
#endif
        long got = -VB_EAGAIN;
        uint64_t sent = 0, back = 0;
        for (int t = 0; t < TRIES && got == -VB_EAGAIN; t++) {
            sent = vb_csr_read(time);
            long s = sys_sendto(fd, msg, (size_t)len, 0, &server, sizeof server);
            if (s != len) {
                vb_printf("udp-echo-client: sendto: %ld\n", s);
                return 1;
            }
            struct vb_sockaddr_in from;
            uint32_t fromlen = sizeof from;
            got = sys_recvfrom(fd, buf, sizeof buf, 0, &from, &fromlen);
            back = vb_csr_read(time);
            if (got == -VB_EAGAIN)
                vb_printf("udp-echo-client: no echo of ping %d yet, sending again\n", i);
        }
        if (got == len && memcmp(buf, msg, (size_t)len) == 0) {
            uint64_t rtt = back - sent;
            good++;
            total += rtt;
            lo = rtt < lo ? rtt : lo;
            hi = rtt > hi ? rtt : hi;
#ifndef UDP_BENCH
            vb_printf("udp-echo-client: echo of ping %d, rtt %lu ticks\n", i, (unsigned long)rtt);
#endif
        } else {
            vb_printf("udp-echo-client: ping %d: %ld\n", i, got);
        }
    }
    vb_printf("udp-echo-client: %d of %d echoes\n", good, ROUNDS);
    if (good)
        vb_printf("udp-echo-client: rtt min %lu avg %lu max %lu ticks\n", (unsigned long)lo,
                  (unsigned long)(total / (uint64_t)good), (unsigned long)hi);
    return good == ROUNDS ? 0 : 1;
}
#endif
