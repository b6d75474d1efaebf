/*
 * cpubench - an integer CPU benchmark in the spirit of CoreMark.
 *
 * Each iteration runs six kernels on inputs derived from the iteration
 * number, so no work is loop-invariant and the compiler cannot hoist it:
 *
 *   list    linked-list find / reverse / merge sort (pointer chasing)
 *   matrix  16-bit matrix multiply and bit-field extraction
 *   crc     bitwise CRC-32 and CRC-16 over a buffer (shifts, branches)
 *   state   a number-recognising state machine over text (byte loads, switch)
 *   sort    heap sort of 32-bit keys (data-dependent branches)
 *   muldiv  mul/mulh/div/rem in 64 and 32 bits, including the defined
 *           edge cases (division by zero, INT_MIN / -1)
 *
 * Every kernel folds its result into a per-kernel CRC, and those into a
 * final checksum, all printed at the end so that two emulators' outputs
 * can be compared byte for byte.  ITERATIONS sets the amount of work; if
 * EXPECTED_CHECKSUM is defined the program checks itself and exits 1 on a
 * mismatch.  PROTECT_UNTOUCHED_PAGE (the cpubench-secure app) first asks the
 * kernel to protect a page the benchmark never touches, to measure what a
 * plugged-in architecture costs code that does not use protected memory.
 */
#include "vbase.h"

#ifndef ITERATIONS
#define ITERATIONS 100
#endif

/* ---- helpers -------------------------------------------------------------- */

static uint32_t crc32_byte(uint32_t crc, uint8_t b)
{
    crc ^= b;
    for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    return crc;
}

static uint32_t crc32_word(uint32_t crc, uint32_t w)
{
    for (int i = 0; i < 4; i++)
        crc = crc32_byte(crc, (uint8_t)(w >> (8 * i)));
    return crc;
}

static uint16_t crc16_byte(uint16_t crc, uint8_t b)
{
    crc ^= (uint16_t)b << 8;
    for (int k = 0; k < 8; k++)
        crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    return crc;
}

/* xorshift64: cheap, deterministic, no multiply (that is muldiv's job). */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t seed_for(uint32_t iter, uint32_t kernel)
{
    return 0x9E3779B97F4A7C15ull ^ ((uint64_t)iter << 20) ^ ((uint64_t)kernel << 52) ^ 0x5bd1e995u;
}

/* ---- list ----------------------------------------------------------------- */

#define LIST_NODES 64

struct node {
    struct node *next;
    int16_t data;
    int16_t idx;
};

static struct node list_pool[LIST_NODES];

static struct node *list_find(struct node *l, int16_t data)
{
    while (l && l->data != data)
        l = l->next;
    return l;
}

static struct node *list_reverse(struct node *l)
{
    struct node *prev = 0;
    while (l) {
        struct node *next = l->next;
        l->next = prev;
        prev = l;
        l = next;
    }
    return prev;
}

/* Bottom-up merge sort by (data, idx), as CoreMark's core_list_mergesort. */
static struct node *list_sort(struct node *list)
{
    for (int insize = 1;; insize *= 2) {
        struct node *p = list, *tail = 0;
        int merges = 0;
        list = 0;
        while (p) {
            merges++;
            struct node *q = p;
            int psize = 0;
            for (int i = 0; i < insize && q; i++) {
                psize++;
                q = q->next;
            }
            int qsize = insize;
            while (psize > 0 || (qsize > 0 && q)) {
                struct node *e;
                if (psize == 0) {
                    e = q; q = q->next; qsize--;
                } else if (qsize == 0 || !q) {
                    e = p; p = p->next; psize--;
                } else if (p->data < q->data || (p->data == q->data && p->idx <= q->idx)) {
                    e = p; p = p->next; psize--;
                } else {
                    e = q; q = q->next; qsize--;
                }
                if (tail)
                    tail->next = e;
                else
                    list = e;
                tail = e;
            }
            p = q;
        }
        tail->next = 0;
        if (merges <= 1)
            return list;
    }
}

static uint32_t kernel_list(uint32_t iter)
{
    uint64_t s = seed_for(iter, 1);
    for (int i = 0; i < LIST_NODES; i++) {
        list_pool[i].next = i + 1 < LIST_NODES ? &list_pool[i + 1] : 0;
        list_pool[i].data = (int16_t)(next_rand(&s) & 0x3ff) - 0x200;
        list_pool[i].idx = (int16_t)i;
    }
    struct node *l = &list_pool[0];
    uint16_t crc = 0;
    int found = 0;

    /* Look for a few values, some present, some (probably) not. */
    for (int k = 0; k < 8; k++) {
        int16_t want = (k & 1) ? list_pool[(k * 7 + iter) % LIST_NODES].data
                               : (int16_t)(next_rand(&s) & 0x3ff) - 0x200;
        struct node *n = list_find(l, want);
        if (n) {
            found++;
            crc = crc16_byte(crc, (uint8_t)n->idx);
        }
    }
    l = list_reverse(l);
    l = list_sort(l);
    for (struct node *n = l; n; n = n->next) {
        crc = crc16_byte(crc, (uint8_t)n->data);
        crc = crc16_byte(crc, (uint8_t)n->idx);
    }
    /* Restore index order by sorting on idx alone: re-key, sort, count. */
    for (struct node *n = l; n; n = n->next)
        n->data = n->idx;
    l = list_sort(l);
    int in_order = 1;
    for (struct node *n = l; n && n->next; n = n->next)
        in_order &= n->idx < n->next->idx;
    return ((uint32_t)crc << 16) | ((uint32_t)found << 8) | (uint32_t)in_order;
}

/* ---- matrix --------------------------------------------------------------- */

#define MAT_N 16

static int16_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N];
static int32_t mat_c[MAT_N][MAT_N];

static uint32_t kernel_matrix(uint32_t iter)
{
    uint64_t s = seed_for(iter, 2);
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            uint64_t r = next_rand(&s);
            /* Small signed values keep the 16-term dot products in int32. */
            mat_a[i][j] = (int16_t)((int)(r & 0xff) - 128);
            mat_b[i][j] = (int16_t)((int)((r >> 8) & 0xff) - 128);
        }

    int16_t k = (int16_t)(iter & 0x3f);
    for (int i = 0; i < MAT_N; i++) /* A += constant */
        for (int j = 0; j < MAT_N; j++)
            mat_a[i][j] = (int16_t)(mat_a[i][j] + k);

    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            int32_t acc = 0;
            for (int x = 0; x < MAT_N; x++)
                acc += (int32_t)mat_a[i][x] * mat_b[x][j];
            mat_c[i][j] = acc;
        }

    /* CoreMark-style reduction: sum bit fields of each element, and count
       elements above the running mean. */
    uint32_t sum = 0, above = 0;
    int32_t prev = 0;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            int32_t v = mat_c[i][j];
            sum += (uint32_t)((v >> 2) & 0xf) + (uint32_t)((v >> 5) & 0x7f);
            above += v > prev;
            prev = v;
        }
    return sum ^ (above << 20) ^ (uint32_t)mat_c[iter % MAT_N][(iter / MAT_N) % MAT_N];
}

/* ---- crc ------------------------------------------------------------------ */

#define CRC_BYTES 256

static uint8_t crc_buf[CRC_BYTES];

static uint32_t kernel_crc(uint32_t iter)
{
    uint64_t s = seed_for(iter, 3);
    for (int i = 0; i < CRC_BYTES; i += 8) {
        uint64_t r = next_rand(&s);
        for (int b = 0; b < 8; b++)
            crc_buf[i + b] = (uint8_t)(r >> (8 * b));
    }
    uint32_t c32 = 0xffffffffu;
    uint16_t c16 = 0xffff;
    for (int i = 0; i < CRC_BYTES; i++) {
        c32 = crc32_byte(c32, crc_buf[i]);
        c16 = crc16_byte(c16, crc_buf[i]);
    }
    return ~c32 ^ ((uint32_t)c16 << 7);
}

/* ---- state machine -------------------------------------------------------- */

enum state { S_START, S_INT, S_SIGN, S_FLOAT, S_EXP, S_EXP_SIGN, S_SCI, S_INVALID, S_COUNT };

#define TEXT_BYTES 320

static char state_text[TEXT_BYTES + 1];

/* Fragments the text is assembled from: numbers of each kind and junk. */
static const char *const fragments[] = {
    "5012", "1234", "-874", "+122", "1.23e-5", "-0.5E+4", "35.5421",
    "T0.3e-1F", "-.9", "7e", "x1", "0x1F", "+", "9.", "42E7", "--3",
};

static enum state classify(char c, enum state st, uint32_t *transitions)
{
    int digit = c >= '0' && c <= '9';
    enum state next = st;
    switch (st) {
    case S_START:
        if (digit) next = S_INT;
        else if (c == '+' || c == '-') next = S_SIGN;
        else if (c == '.') next = S_FLOAT;
        else next = S_INVALID;
        break;
    case S_SIGN:
        if (digit) next = S_INT;
        else if (c == '.') next = S_FLOAT;
        else next = S_INVALID;
        break;
    case S_INT:
        if (c == '.') next = S_FLOAT;
        else if (c == 'e' || c == 'E') next = S_EXP;
        else if (!digit) next = S_INVALID;
        break;
    case S_FLOAT:
        if (c == 'e' || c == 'E') next = S_EXP;
        else if (!digit) next = S_INVALID;
        break;
    case S_EXP:
        if (c == '+' || c == '-') next = S_EXP_SIGN;
        else if (digit) next = S_SCI;
        else next = S_INVALID;
        break;
    case S_EXP_SIGN:
        next = digit ? S_SCI : S_INVALID;
        break;
    case S_SCI:
        if (!digit) next = S_INVALID;
        break;
    default:
        break;
    }
    if (next != st)
        transitions[st]++;
    return next;
}

static uint32_t kernel_state(uint32_t iter)
{
    uint64_t s = seed_for(iter, 4);
    int n = 0;
    while (n < TEXT_BYTES - 12) {
        const char *f = fragments[next_rand(&s) % (sizeof fragments / sizeof fragments[0])];
        while (*f)
            state_text[n++] = *f++;
        state_text[n++] = ',';
    }
    state_text[n] = 0;

    uint32_t finals[S_COUNT] = { 0 }, transitions[S_COUNT] = { 0 };
    /* Two passes: the second over a copy with every 5th byte corrupted,
       as CoreMark does, to exercise other paths through the switch. */
    for (int pass = 0; pass < 2; pass++) {
        enum state st = S_START;
        for (const char *p = state_text; *p; p++) {
            if (*p == ',') {
                finals[st]++;
                st = S_START;
            } else {
                st = classify(*p, st, transitions);
            }
        }
        for (int i = (int)(iter % 5); i < n; i += 5)
            if (state_text[i] != ',')
                state_text[i] ^= 0x11;
    }
    uint32_t crc = 0xffffffffu;
    for (int i = 0; i < S_COUNT; i++) {
        crc = crc32_word(crc, finals[i]);
        crc = crc32_word(crc, transitions[i]);
    }
    return crc;
}

/* ---- sort ----------------------------------------------------------------- */

#define SORT_N 192

static uint32_t sort_keys[SORT_N];

static void sift_down(uint32_t *a, int root, int end)
{
    while (2 * root + 1 < end) {
        int child = 2 * root + 1;
        if (child + 1 < end && a[child] < a[child + 1])
            child++;
        if (a[root] >= a[child])
            return;
        uint32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static uint32_t kernel_sort(uint32_t iter)
{
    uint64_t s = seed_for(iter, 5);
    for (int i = 0; i < SORT_N; i++) /* many duplicates in the low keys */
        sort_keys[i] = (uint32_t)next_rand(&s) >> (i & 1 ? 0 : 24);

    for (int i = SORT_N / 2 - 1; i >= 0; i--)
        sift_down(sort_keys, i, SORT_N);
    for (int end = SORT_N - 1; end > 0; end--) {
        uint32_t t = sort_keys[0];
        sort_keys[0] = sort_keys[end];
        sort_keys[end] = t;
        sift_down(sort_keys, 0, end);
    }

    uint32_t sorted = 1, acc = 0;
    for (int i = 0; i < SORT_N; i++) {
        if (i)
            sorted &= sort_keys[i - 1] <= sort_keys[i];
        acc = (acc << 3 | acc >> 29) ^ sort_keys[i];
    }
    return acc ^ sorted;
}

/* ---- mul/div -------------------------------------------------------------- */

/* The M-extension instructions, used directly so that division by zero
   and overflow have the ISA's defined results rather than C's UB. */
#define RV_OP(op, a, b) ({ uint64_t r_;                                           \
        __asm__(#op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })

#define MULDIV_ROUNDS 48

static uint32_t kernel_muldiv(uint32_t iter)
{
    uint64_t s = seed_for(iter, 6);
    uint64_t acc = 0;
    for (int i = 0; i < MULDIV_ROUNDS; i++) {
        uint64_t a = next_rand(&s), b = next_rand(&s);
        /* Every 8th round uses an edge-case divisor or dividend. */
        switch (i & 7) {
        case 3: b = 0; break;
        case 5: a = 0x8000000000000000ull; b = (uint64_t)-1; break;
        case 6: a = 0xffffffff80000000ull; b = (uint64_t)-1; break; /* INT32_MIN */
        case 7: b >>= (a & 63); break;                              /* small divisors */
        default: break;
        }
        acc += RV_OP(mul, a, b);
        acc ^= RV_OP(mulh, a, b);
        acc += RV_OP(mulhu, a, b);
        acc ^= RV_OP(mulhsu, a, b);
        acc += RV_OP(div, a, b);
        acc ^= RV_OP(divu, a, b);
        acc += RV_OP(rem, a, b);
        acc ^= RV_OP(remu, a, b);
        acc += RV_OP(mulw, a, b);
        acc ^= RV_OP(divw, a, b);
        acc += RV_OP(divuw, a, b);
        acc ^= RV_OP(remw, a, b);
        acc += RV_OP(remuw, a, b);
        acc = acc << 7 | acc >> 57;
    }
    return (uint32_t)acc ^ (uint32_t)(acc >> 32);
}

/* ---- driver --------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t (*run)(uint32_t iter);
} kernels[] = {
    { "list", kernel_list },     { "matrix", kernel_matrix }, { "crc", kernel_crc },
    { "state", kernel_state },   { "sort", kernel_sort },     { "muldiv", kernel_muldiv },
};

#define NKERNELS (sizeof kernels / sizeof kernels[0])

int main(void)
{
    uint32_t crc[NKERNELS];
    for (unsigned k = 0; k < NKERNELS; k++)
        crc[k] = 0xffffffffu;

#ifdef PROTECT_UNTOUCHED_PAGE
    static char untouched[4096] __attribute__((aligned(4096)));
    for (unsigned i = 0; i < sizeof untouched; i++)
        untouched[i] = (char)i;
    vb_printf("cpubench: vbase enter on a page it never touches = %ld\n",
              sys_vbase(untouched, sizeof untouched, 0));
#endif
    vb_printf("cpubench: %d iterations\n", ITERATIONS);
    for (uint32_t iter = 0; iter < ITERATIONS; iter++)
        for (unsigned k = 0; k < NKERNELS; k++)
            crc[k] = crc32_word(crc[k], kernels[k].run(iter));

    uint32_t total = 0xffffffffu;
    for (unsigned k = 0; k < NKERNELS; k++) {
        vb_printf("%-8s 0x%08x\n", kernels[k].name, crc[k]);
        total = crc32_word(total, crc[k]);
    }
    vb_printf("checksum 0x%08x\n", total);
#ifdef REPORT_INSTRET
    /* Calibration only (not in the committed images: the count differs
       between emulators).  Under QEMU, run with -icount shift=0. */
    vb_printf("minstret %lu\n", (unsigned long)vb_csr_read(minstret));
#endif

#ifdef EXPECTED_CHECKSUM
    if (total != (uint32_t)(EXPECTED_CHECKSUM)) {
        vb_printf("cpubench: MISMATCH, expected 0x%08x\n", (uint32_t)(EXPECTED_CHECKSUM));
        return 1;
    }
    vb_puts("cpubench: checksum ok\n");
#endif
    return 0;
}
