/*
 * net-bank.c - the networked secure application (docs/network-attacks.md):
 * a bank server in the App VM and its client in a second VM, over UDP
 * through Dom0's bridge.  One source, four programs (guest/Makefile):
 *
 *   net-plain-server / net-plain-client    -DNETBANK_SERVER, plaintext
 *   net-sealed-server / net-sealed-client  -DSEALED: ChaCha20-Poly1305
 *
 * The server (10.0.0.1, port NETBANK_PORT) keeps in one protected page,
 * registered with vbase(enter) as the vault does: the session key, the
 * provisioned pre-shared key, the login token (the declared secret) and
 * four accounts.  Everything in the page is written before enter: under
 * an architecture that drops the application's stores to its region
 * after enter (vbase, the paper's read-only pages) a transfer does not
 * land, the server sees that on read-back and says "kept" instead of
 * "ok"; the client accepts either as long as every later balance agrees.
 *
 * The wire (abi.yaml, "netbank"): a 32-byte header - magic "VBNK",
 * variant 'P' or 'S', type, body length, seq, ref, status, reason - then
 * the body: text ("transfer alice bob 25").  Sealed: the body is
 * ChaCha20-Poly1305 ciphertext and tag under the session key, the header
 * its associated data, the nonce the direction and the seq; the server
 * acts only on a request whose tag verifies and whose seq is above the
 * last one it acted on.  Plain: it acts on every well-formed request.
 * Both give a copy of the last request (a client's retransmission, same
 * bytes) the last reply again without acting.
 *
 * The server's report: every reply says what the server did with the
 * request it answers - status acted, resent or rejected (with a reason),
 * and ref, the FNV-1a 64 digest of that request's datagram.  The header is
 * in the clear (sealed: authenticated, not encrypted), so the Oracle reads
 * it from the frame as the server sent it, before any tap, typed.
 *
 * Keys: the pre-shared key is provisioned in the image, masked; the
 * server unmasks it straight into the protected page, derives the session
 * key there (the first 32 bytes of the ChaCha20 block of the PSK at
 * counter 0 with the session nonce) and wipes the stack it used, before
 * enter and before it binds its port, so no client can talk to it before.
 *
 * Client: a fixed script of requests, each sent until its reply comes
 * (REPLY_USEC per try, TRIES tries); replies that answer another request
 * (ref), fail their tag or repeat an older seq are ignored.  Exit 0 when
 * every reply was what the script expects.  Server: exit 0 after "bye",
 * 2 if nothing came for IDLE_USEC.
 */
#include "vbase.h"
#include "format.h"
#include "lib/chachapoly.h"

#ifdef SEALED
#define VARIANT 'S'
#define WHO_SUFFIX "sealed"
#else
#define VARIANT 'P'
#define WHO_SUFFIX "plain"
#endif
#ifdef NETBANK_SERVER
#define WHO "net-" WHO_SUFFIX "-server"
#else
#define WHO "net-" WHO_SUFFIX "-client"
#endif

#define PAGE_SIZE  4096
#define MAX_BODY   256
#define MAX_DGRAM  (NETBANK_HEADER_BYTES + MAX_BODY + NETBANK_TAG_BYTES)
#define TOKEN_LEN  33
#define ACCOUNTS   4

struct hdr {
    char     magic[4];
    uint8_t  variant, type;
    uint16_t len;
    uint64_t seq, ref;
    uint8_t  status, reason, zero[6];
};
_Static_assert(sizeof(struct hdr) == NETBANK_HEADER_BYTES, "the header");
_Static_assert(__builtin_offsetof(struct hdr, seq) == NETBANK_OFF_SEQ, "seq");
_Static_assert(__builtin_offsetof(struct hdr, ref) == NETBANK_OFF_REF, "ref");
_Static_assert(__builtin_offsetof(struct hdr, status) == NETBANK_OFF_STATUS, "status");
_Static_assert(__builtin_offsetof(struct hdr, reason) == NETBANK_OFF_REASON, "reason");

/* Masked at compile time as the vault masks its secret: no plaintext copy
   of the token or the key lands in the image (which stays in guest RAM). */
#define MASK_KEY 0xb7e1u
#define MASK_BYTE(k, i) ((uint8_t)(((k) >> ((i) & 7)) + 0x3d * (i)))
#define M(i, c) ((uint8_t)((c) ^ MASK_BYTE(MASK_KEY, i)))
#define M4(i, a, b, c, d) M(i, a), M(i + 1, b), M(i + 2, c), M(i + 3, d)
/* "NETBANK-TOKEN-9d4e17b2-alice-0042" */
static const uint8_t token_masked[TOKEN_LEN] = {
    M4(0, 'N', 'E', 'T', 'B'), M4(4, 'A', 'N', 'K', '-'), M4(8, 'T', 'O', 'K', 'E'), M4(12, 'N', '-', '9', 'd'),
    M4(16, '4', 'e', '1', '7'), M4(20, 'b', '2', '-', 'a'), M4(24, 'l', 'i', 'c', 'e'), M4(28, '-', '0', '0', '4'),
    M(32, '2'),
};
/* The pre-shared key, 32 bytes: "psk:vbase-netbank-7c41e0-2026!#$" */
static const uint8_t psk_masked[32] = {
    M4(0, 'p', 's', 'k', ':'), M4(4, 'v', 'b', 'a', 's'), M4(8, 'e', '-', 'n', 'e'), M4(12, 't', 'b', 'a', 'n'),
    M4(16, 'k', '-', '7', 'c'), M4(20, '4', '1', 'e', '0'), M4(24, '-', '2', '0', '2'), M4(28, '6', '!', '#', '$'),
};
static const uint8_t session_nonce[12] = { 'n', 'e', 't', 'b', 'a', 'n', 'k', '-', 's', '0', '0', '1' };

/* Unmasks n bytes into dst; the mask key goes through a register the
   compiler cannot see into, so it cannot fold the plaintext in. */
static void unmask(volatile uint8_t *dst, const uint8_t *masked, int n)
{
    uint64_t k = MASK_KEY;
    __asm__ volatile("" : "+r"(k));
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)(masked[i] ^ MASK_BYTE(k, i));
}

static void wipe(volatile void *p, size_t n)
{
    volatile uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = 0;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

#ifdef SEALED
/* The AEAD nonce: the direction, then the seq (little-endian). */
static void nonce_of(uint8_t nonce[12], int to_server, uint64_t seq)
{
    nonce[0] = to_server ? 'C' : 'S';
    nonce[1] = '2';
    nonce[2] = to_server ? 'S' : 'C';
    nonce[3] = 0;
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(seq >> (8 * i));
}
#endif

struct out { char *p; size_t n, cap; };

static void out_sink(void *ctx, char c)
{
    struct out *o = ctx;
    if (o->n + 1 < o->cap)
        o->p[o->n++] = c;
}

static size_t fmt(char *buf, size_t cap, const char *f, ...)
{
    struct out o = { buf, 0, cap };
    va_list ap;
    va_start(ap, f);
    vformat(out_sink, &o, f, ap);
    va_end(ap);
    buf[o.n] = 0;
    return o.n;
}

/* Builds a datagram: header, then the body (sealed: encrypted, then the tag). */
static size_t build(uint8_t *dgram, const uint8_t *key, int to_server, uint8_t type, uint64_t seq, uint64_t ref,
                    uint8_t status, uint8_t reason, const char *body, size_t len)
{
    struct hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "VBNK", 4);
    h.variant = VARIANT;
    h.type = type;
    h.len = (uint16_t)len;
    h.seq = seq;
    h.ref = ref;
    h.status = status;
    h.reason = reason;
    memcpy(dgram, &h, sizeof h);
#ifdef SEALED
    uint8_t nonce[12];
    nonce_of(nonce, to_server, seq);
    aead_seal(key, nonce, dgram, sizeof h, (const uint8_t *)body, len, dgram + sizeof h, dgram + sizeof h + len);
    return sizeof h + len + NETBANK_TAG_BYTES;
#else
    (void)key;
    (void)to_server;
    memcpy(dgram + sizeof h, body, len);
    return sizeof h + len;
#endif
}

/* Checks a datagram's shape and opens its body into body (NUL-terminated);
   0 if it is well formed and (sealed) its tag verifies, -1 if malformed,
   -2 if the tag fails. */
static int parse(const uint8_t *dgram, size_t n, const uint8_t *key, int to_server, uint8_t type,
                 struct hdr *h, char *body)
{
    if (n < sizeof *h)
        return -1;
    memcpy(h, dgram, sizeof *h);
    size_t extra = VARIANT == 'S' ? NETBANK_TAG_BYTES : 0;
    if (memcmp(h->magic, "VBNK", 4) != 0 || h->variant != VARIANT || h->type != type || h->len > MAX_BODY - 1 ||
        n != sizeof *h + h->len + extra)
        return -1;
#ifdef SEALED
    uint8_t nonce[12];
    nonce_of(nonce, to_server, h->seq);
    if (aead_open(key, nonce, dgram, sizeof *h, dgram + sizeof *h, h->len, dgram + sizeof *h + h->len,
                  (uint8_t *)body) != 0)
        return -2;
#else
    (void)key;
    (void)to_server;
    memcpy(body, dgram + sizeof *h, h->len);
#endif
    body[h->len] = 0;
    return 0;
}

static int open_socket(uint16_t port, int64_t usec)
{
    long fd = sys_socket(VB_AF_INET, VB_SOCK_DGRAM, 0);
    struct vb_sockaddr_in me = { VB_AF_INET, vb_htons(port), { 0, 0, 0, 0 }, { 0 } };
    struct vb_timeval tv = { usec / 1000000, usec % 1000000 };
    if (fd < 0 || sys_bind((int)fd, &me, sizeof me) < 0 ||
        sys_setsockopt((int)fd, VB_SOL_SOCKET, VB_SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        vb_printf("%s: no socket (%ld)\n", WHO, fd);
        vb_exit(1);
    }
    return (int)fd;
}

/* Splits s at spaces into at most max words; returns how many. */
static int words(char *s, char **w, int max)
{
    int n = 0;
    while (*s && n < max) {
        while (*s == ' ')
            *s++ = 0;
        if (!*s)
            break;
        w[n++] = s;
        while (*s && *s != ' ')
            s++;
    }
    return n;
}

static int number(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > 1000000000ull)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return 0;
}

static const char *const names[ACCOUNTS] = { "alice", "bob", "carol", "mallory" };
static const uint64_t opening[ACCOUNTS] = { 1000, 500, 250, 0 };

static int account_of(const char *name)
{
    for (int i = 0; i < ACCOUNTS; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

#ifdef NETBANK_SERVER
#define IDLE_USEC 30000           /* 30 M ticks without a request: the client is gone */

/* The protected page: everything secret the server holds, and the ledger. */
struct bank {
    uint8_t  key[32];             /* the session key (sealed; plain: zero) */
    uint8_t  psk[32];             /* the provisioned pre-shared key (sealed) */
    uint8_t  token[40];           /* the login token: the declared secret */
    uint8_t  pad[24];
    struct { char name[8]; uint64_t balance; } accounts[ACCOUNTS];
    uint8_t  rest[PAGE_SIZE - 192];
};
_Static_assert(sizeof(struct bank) == PAGE_SIZE, "one page");
_Static_assert(__builtin_offsetof(struct bank, accounts) == 128, "the ledger at 128");
static struct bank bank __attribute__((aligned(PAGE_SIZE)));

static volatile uint64_t *balance(int i)
{
    return (volatile uint64_t *)&bank.accounts[i].balance;
}

__attribute__((noinline)) static void provision(void)
{
    unmask(bank.token, token_masked, TOKEN_LEN);
    for (int i = 0; i < ACCOUNTS; i++) {
        memcpy(bank.accounts[i].name, names[i], strlen(names[i]));
        *balance(i) = opening[i];
    }
#ifdef SEALED
    unmask(bank.psk, psk_masked, 32);
    uint8_t block[64];
    chacha20_block(bank.psk, 0, session_nonce, block);
    memcpy(bank.key, block, 32);
    wipe(block, sizeof block);
#else
    (void)psk_masked;
    (void)session_nonce;
#endif
}

/* Carries out one request; NETBANK_ACTED or NETBANK_BAD_REQUEST. */
static int execute(char *request, char *reply, size_t cap, size_t *len, int *bye)
{
    char *w[5];
    int n = words(request, w, 5);
    uint64_t amount;
    if (n == 2 && strcmp(w[0], "login") == 0 && strcmp(w[1], "alice") == 0) {
        memcpy(reply, "token ", 6);
        memcpy(reply + 6, bank.token, TOKEN_LEN);
        *len = 6 + TOKEN_LEN;
        return NETBANK_ACTED;
    }
    if (n == 2 && strcmp(w[0], "balance") == 0 && account_of(w[1]) >= 0) {
        int a = account_of(w[1]);
        *len = fmt(reply, cap, "balance %s %lu", names[a], (unsigned long)*balance(a));
        return NETBANK_ACTED;
    }
    if (n == 4 && strcmp(w[0], "transfer") == 0 && account_of(w[1]) >= 0 && account_of(w[2]) >= 0 &&
        account_of(w[1]) != account_of(w[2]) && number(w[3], &amount) == 0) {
        int from = account_of(w[1]), to = account_of(w[2]);
        uint64_t a = *balance(from), b = *balance(to);
        if (amount > a) {
            *len = fmt(reply, cap, "transfer refused %s %lu", names[from], (unsigned long)a);
            return NETBANK_ACTED;
        }
        *balance(from) = a - amount;
        *balance(to) = b + amount;
        /* Read back: under an architecture that drops the stores, nothing changed. */
        uint64_t na = *balance(from), nb = *balance(to);
        int landed = na == a - amount && nb == b + amount;
        *len = fmt(reply, cap, "transfer %s %s %lu %s %lu", landed ? "ok" : "kept", names[from],
                   (unsigned long)na, names[to], (unsigned long)nb);
        return NETBANK_ACTED;
    }
    if (n == 1 && strcmp(w[0], "bye") == 0) {
        *len = fmt(reply, cap, "bye");
        *bye = 1;
        return NETBANK_ACTED;
    }
    return NETBANK_BAD_REQUEST;
}

static const char *const reasons[] = { "", "malformed", "bad tag", "stale seq", "bad request" };

int main(void)
{
    provision();
    long r = sys_vbase(&bank, sizeof bank, 0);
    vb_printf("%s: vbase(bank, %lu, enter) = %ld\n", WHO, (unsigned long)sizeof bank, r);
    int fd = open_socket(NETBANK_PORT, IDLE_USEC);
    vb_printf("%s: listening on port %d\n", WHO, NETBANK_PORT);

    static uint8_t rx[MAX_DGRAM + 64], tx[MAX_DGRAM];
    static char body[MAX_BODY], reply[MAX_BODY], last_reply[MAX_BODY];
    size_t last_len = 0;
    uint64_t last_seq = 0, last_digest = 0, reply_seq = 0;
    int acted = 0, rejected = 0, bye = 0, code = 0;
    while (!bye) {
        struct vb_sockaddr_in from;
        uint32_t fromlen = sizeof from;
        long n = sys_recvfrom(fd, rx, sizeof rx, 0, &from, &fromlen);
        if (n == -VB_EAGAIN) {
            vb_printf("%s: nothing for %d us: the client is gone\n", WHO, IDLE_USEC);
            code = 2;
            break;
        }
        if (n < 0)
            continue;
        uint64_t digest = fnv1a64(rx, (size_t)n);
        struct hdr h;
        int p = parse(rx, (size_t)n, bank.key, 1, NETBANK_TYPE_REQUEST, &h, body);
        int status = NETBANK_REJECTED, reason = 0;
        size_t len = 0;
        if (p == -1) {
            reason = NETBANK_MALFORMED;
        } else if (h.seq == last_seq && digest == last_digest) {
            status = NETBANK_RESENT;
            memcpy(reply, last_reply, last_len);
            len = last_len;
        } else if (p == -2) {
            reason = NETBANK_BAD_TAG;
        } else if (VARIANT == 'S' && h.seq <= last_seq) {
            reason = NETBANK_STALE;
        } else {
            status = execute(body, reply, sizeof reply, &len, &bye);
            if (status == NETBANK_ACTED) {
                last_seq = h.seq;
                last_digest = digest;
                memcpy(last_reply, reply, len);
                last_len = len;
            } else {
                reason = status;
                status = NETBANK_REJECTED;
            }
        }
        if (status == NETBANK_REJECTED)
            len = (size_t)fmt(reply, sizeof reply, "rejected %s", reasons[reason]);
        size_t out = build(tx, bank.key, 0, NETBANK_TYPE_REPLY, ++reply_seq, digest, (uint8_t)status,
                           (uint8_t)reason, reply, len);
        sys_sendto(fd, tx, out, 0, &from, sizeof from);
        acted += status == NETBANK_ACTED;
        rejected += status == NETBANK_REJECTED;
        vb_printf("%s: request seq %lu digest %016lx: %s%s\n", WHO, (unsigned long)h.seq, (unsigned long)digest,
                  status == NETBANK_ACTED ? "acted" : status == NETBANK_RESENT ? "resent the last reply" : "rejected: ",
                  status == NETBANK_REJECTED ? reasons[reason] : "");
    }
    vb_printf("%s: %d acted on, %d rejected\n", WHO, acted, rejected);
    r = sys_vbase(&bank, sizeof bank, 1);
    vb_printf("%s: vbase(bank, %lu, exit) = %ld\n", WHO, (unsigned long)sizeof bank, r);
    wipe(&bank, sizeof bank);
    return code;
}

#else /* the client */
#define REPLY_USEC 2000           /* 2 M ticks per try: far more than a round trip */
#define TRIES      5

static const uint8_t server_ip[4] = { 10, 0, 0, 1 };
static const char *const script[] = {
    "login alice", "balance alice", "transfer alice bob 25", "balance alice",
    "balance bob", "transfer bob alice 10", "balance alice", "bye",
};
#define STEPS ((int)(sizeof script / sizeof script[0]))

static uint8_t key[32];
static uint64_t model[ACCOUNTS];

/* Whether the reply body is what the script expects; updates the model. */
static int expected(const char *request, const char *got)
{
    char req[64], want[MAX_BODY];
    char *w[5];
    memcpy(req, request, strlen(request) + 1);
    int n = words(req, w, 5);
    if (strcmp(w[0], "login") == 0) {
        char token[TOKEN_LEN];
        unmask((volatile uint8_t *)token, token_masked, TOKEN_LEN);
        int ok = strlen(got) == 6 + TOKEN_LEN && memcmp(got, "token ", 6) == 0 && memcmp(got + 6, token, TOKEN_LEN) == 0;
        wipe(token, sizeof token);
        return ok;
    }
    if (strcmp(w[0], "balance") == 0) {
        int a = account_of(w[1]);
        fmt(want, sizeof want, "balance %s %lu", names[a], (unsigned long)model[a]);
        return strcmp(got, want) == 0;
    }
    if (n == 4 && strcmp(w[0], "transfer") == 0) {
        int from = account_of(w[1]), to = account_of(w[2]);
        uint64_t amount = 0;
        number(w[3], &amount);
        fmt(want, sizeof want, "transfer kept %s %lu %s %lu", names[from], (unsigned long)model[from], names[to],
            (unsigned long)model[to]);
        if (strcmp(got, want) == 0)
            return 1;
        fmt(want, sizeof want, "transfer ok %s %lu %s %lu", names[from], (unsigned long)(model[from] - amount),
            names[to], (unsigned long)(model[to] + amount));
        if (strcmp(got, want) != 0)
            return 0;
        model[from] -= amount;
        model[to] += amount;
        return 1;
    }
    return strcmp(got, "bye") == 0;
}

int main(void)
{
#ifdef SEALED
    uint8_t psk[32], block[64];
    unmask(psk, psk_masked, 32);
    chacha20_block(psk, 0, session_nonce, block);
    memcpy(key, block, 32);
    wipe(psk, sizeof psk);
    wipe(block, sizeof block);
#else
    (void)psk_masked;
    (void)session_nonce;
#endif
    for (int i = 0; i < ACCOUNTS; i++)
        model[i] = opening[i];
    int fd = open_socket(0, REPLY_USEC);
    struct vb_sockaddr_in server = { VB_AF_INET, vb_htons(NETBANK_PORT), { 0 }, { 0 } };
    memcpy(server.sin_addr, server_ip, 4);

    static uint8_t tx[MAX_DGRAM], rx[MAX_DGRAM + 64];
    static char body[MAX_BODY];
    uint64_t last_reply = 0;
    int good = 0, ignored = 0;
    for (int step = 0; step < STEPS; step++) {
        uint64_t seq = (uint64_t)step + 1;
        size_t n = build(tx, key, 1, NETBANK_TYPE_REQUEST, seq, 0, 0, 0, script[step], strlen(script[step]));
        uint64_t digest = fnv1a64(tx, n);
        int answered = 0, ok = 0;
        for (int t = 0; t < TRIES && !answered; t++) {
            if (sys_sendto(fd, tx, n, 0, &server, sizeof server) != (long)n) {
                vb_printf("%s: sendto failed\n", WHO);
                return 1;
            }
            for (;;) {
                struct vb_sockaddr_in from;
                uint32_t fromlen = sizeof from;
                long got = sys_recvfrom(fd, rx, sizeof rx, 0, &from, &fromlen);
                if (got < 0)
                    break;          /* timed out: send again */
                struct hdr h;
                if (parse(rx, (size_t)got, key, 0, NETBANK_TYPE_REPLY, &h, body) != 0 || h.ref != digest ||
                    (VARIANT == 'S' && h.seq <= last_reply)) {
                    ignored++;
                    continue;
                }
                last_reply = h.seq;
                answered = 1;
                ok = (h.status == NETBANK_ACTED || h.status == NETBANK_RESENT) && expected(script[step], body);
                vb_printf("%s: %d '%s': %s\n", WHO, step + 1, script[step],
                          h.status == NETBANK_REJECTED ? "rejected" : !ok ? "unexpected reply" :
                          step == 0 ? "the expected token" : body);
                break;
            }
        }
        if (!answered)
            vb_printf("%s: %d '%s': no reply after %d tries\n", WHO, step + 1, script[step], TRIES);
        good += ok;
        if (!answered)
            break;
    }
    vb_printf("%s: %d of %d replies as expected (%d stray datagrams ignored)\n", WHO, good, STEPS, ignored);
    return good == STEPS ? 0 : 1;
}
#endif
