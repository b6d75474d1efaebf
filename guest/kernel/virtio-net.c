/*
 * virtio-net.c - the driver of the virtio-net card (virtio 1.x over
 * virtio-mmio version 2, split virtqueues), as docs/network.md describes.
 *
 * The card sits in virtio-mmio slot 0 (VBASE_VIRTIO_MMIO_BASE, the same
 * place as QEMU virt's first slot).  The kernel reaches device registers
 * through its I/O gigapage (KERNEL_IO_VA, mm.c): physical 0..1 GiB at
 * kernel VA 0xC000_0000, global and S-only.  Its rings and buffers are
 * pages from the allocator: kernel VA == GPA, which is what the device wants.
 *
 * Receive: all QSIZE buffers are posted at start and each is re-posted as
 * soon as its frame is handed to net_input().  Transmit: the frame is
 * copied into the next of QSIZE buffers behind a zero virtio_net_hdr; a
 * buffer is reused once the device has returned it (Vbase returns it
 * before the notify store completes).  The kernel is never preempted, so
 * there is no locking; net_poll() runs from the VIRQ_VIRTIO upcall and
 * from the socket calls.
 */
#include "kernel.h"
#include "net.h"

#define VIRTIO_MAGIC 0x74726976u
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_DRIVER_LOW 0x090
#define R_QUEUE_DRIVER_HIGH 0x094
#define R_QUEUE_DEVICE_LOW 0x0a0
#define R_QUEUE_DEVICE_HIGH 0x0a4
#define R_CONFIG 0x100

#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u

#define F_MAC 5                  /* VIRTIO_NET_F_MAC */
#define F_VERSION_1_HIGH 0       /* VIRTIO_F_VERSION_1: bit 32, bit 0 of the high word */
#define DESC_F_WRITE 2

#define QSIZE 16
#define HDR 12                   /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define BUF (HDR + NET_FRAME_MAX)

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t avail_event; };

struct vq {
    struct desc desc[QSIZE] __attribute__((aligned(16)));
    struct avail avail __attribute__((aligned(4)));
    struct used used __attribute__((aligned(8)));
    uint16_t last_used;
};

/* Taken from the page allocator when a card is found, so that a kernel
   without one keeps its image and its boot as they were (nothing to clear). */
static struct vq *rxqp, *txqp;
#define rxq (*rxqp)
#define txq (*txqp)
static uint8_t *rx_buf[QSIZE], *tx_buf[QSIZE];   /* two buffers a page */

_Static_assert(sizeof(struct vq) <= PAGE_SIZE, "a queue fits a page");
_Static_assert(2 * BUF <= PAGE_SIZE, "two buffers fit a page");

static int alloc_buffers(uint8_t **bufs)
{
    for (int i = 0; i < QSIZE; i += 2) {
        uint8_t *page = page_alloc();
        if (!page)
            return -1;
        bufs[i] = page;
        bufs[i + 1] = page + PAGE_SIZE / 2;
    }
    return 0;
}
static uint16_t tx_next, tx_busy;
static volatile uint32_t *regs;
static int up;
uint8_t net_mac[6];

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }

static int setup_queue(int q, struct vq *vq)
{
    wr(R_QUEUE_SEL, (uint32_t)q);
    if (rd(R_QUEUE_READY) || rd(R_QUEUE_NUM_MAX) < QSIZE)
        return -1;
    wr(R_QUEUE_NUM, QSIZE);
    uint64_t d = (uint64_t)vq->desc, a = (uint64_t)&vq->avail, u = (uint64_t)&vq->used;
    wr(R_QUEUE_DESC_LOW, (uint32_t)d);
    wr(R_QUEUE_DESC_HIGH, (uint32_t)(d >> 32));
    wr(R_QUEUE_DRIVER_LOW, (uint32_t)a);
    wr(R_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
    wr(R_QUEUE_DEVICE_LOW, (uint32_t)u);
    wr(R_QUEUE_DEVICE_HIGH, (uint32_t)(u >> 32));
    wr(R_QUEUE_READY, 1);
    return 0;
}

int virtio_net_init(void)
{
    regs = (volatile uint32_t *)KERNEL_IO_VA(VBASE_VIRTIO_MMIO_BASE);
    if (rd(R_MAGIC) != VIRTIO_MAGIC || rd(R_VERSION) != 2 || rd(R_DEVICE_ID) != 1)
        return -1;                         /* no modern virtio-net card in slot 0 */
    wr(R_STATUS, 0);
    wr(R_STATUS, S_ACKNOWLEDGE);
    wr(R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
    wr(R_DEVICE_FEATURES_SEL, 0);
    uint32_t low = rd(R_DEVICE_FEATURES);
    wr(R_DEVICE_FEATURES_SEL, 1);
    uint32_t high = rd(R_DEVICE_FEATURES);
    if (!(low & (1u << F_MAC)) || !(high & (1u << F_VERSION_1_HIGH)))
        return -2;
    wr(R_DRIVER_FEATURES_SEL, 0);
    wr(R_DRIVER_FEATURES, 1u << F_MAC);
    wr(R_DRIVER_FEATURES_SEL, 1);
    wr(R_DRIVER_FEATURES, 1u << F_VERSION_1_HIGH);
    wr(R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    if (!(rd(R_STATUS) & S_FEATURES_OK))
        return -3;
    rxqp = page_alloc();
    txqp = page_alloc();
    if (!rxqp || !txqp || alloc_buffers(rx_buf) < 0 || alloc_buffers(tx_buf) < 0)
        return -5;
    if (setup_queue(0, &rxq) < 0 || setup_queue(1, &txq) < 0)
        return -4;
    volatile uint8_t *config = (volatile uint8_t *)regs + R_CONFIG;
    for (int i = 0; i < 6; i++)
        net_mac[i] = config[i];
    for (int i = 0; i < QSIZE; i++) {
        rxq.desc[i] = (struct desc){ (uint64_t)rx_buf[i], BUF, DESC_F_WRITE, 0 };
        rxq.avail.ring[i] = (uint16_t)i;
    }
    __sync_synchronize();
    rxq.avail.idx = QSIZE;
    wr(R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    __sync_synchronize();
    wr(R_QUEUE_NOTIFY, 0);
    up = 1;
    return 0;
}

/* Takes what the device returned: frames from the receive queue (each
   buffer posted again), finished sends from the transmit queue. */
void net_poll(void)
{
    if (!up)
        return;
    uint32_t why = rd(R_INTERRUPT_STATUS);
    if (why)
        wr(R_INTERRUPT_ACK, why);
    __sync_synchronize();
    int reposted = 0;
    while (rxq.last_used != rxq.used.idx) {
        struct used_elem e = rxq.used.ring[rxq.last_used % QSIZE];
        rxq.last_used++;
        if (e.id < QSIZE && e.len > HDR && e.len <= BUF)
            net_input(rx_buf[e.id] + HDR, e.len - HDR);
        if (e.id < QSIZE) {
            rxq.avail.ring[rxq.avail.idx % QSIZE] = (uint16_t)e.id;
            __sync_synchronize();
            rxq.avail.idx++;
            reposted = 1;
        }
    }
    while (txq.last_used != txq.used.idx) {
        txq.last_used++;
        tx_busy--;
    }
    if (reposted) {
        __sync_synchronize();
        wr(R_QUEUE_NOTIFY, 0);
    }
}

int net_up(void) { return up; }

/* Sends one Ethernet frame; -EAGAIN if every transmit buffer is in flight. */
long net_transmit(const uint8_t *frame, size_t len)
{
    if (!up)
        return -ENETDOWN;
    if (len < 14 || len > NET_FRAME_MAX)
        return -EINVAL;
    if (tx_busy == QSIZE)
        net_poll();
    if (tx_busy == QSIZE)
        return -EAGAIN;
    uint16_t slot = tx_next++ % QSIZE;
    uint8_t *b = tx_buf[slot];
    for (int i = 0; i < HDR; i++)
        b[i] = 0;
    for (size_t i = 0; i < len; i++)
        b[HDR + i] = frame[i];
    txq.desc[slot] = (struct desc){ (uint64_t)b, (uint32_t)(HDR + len), 0, 0 };
    txq.avail.ring[txq.avail.idx % QSIZE] = slot;
    __sync_synchronize();
    txq.avail.idx++;
    tx_busy++;
    __sync_synchronize();
    wr(R_QUEUE_NOTIFY, 1);
    return (long)len;
}
