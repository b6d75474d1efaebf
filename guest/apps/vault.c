/*
 * vault - a key-value vault that does real work on protected data; the
 * secure application of the attack suite (snoop, spoof, splice, replay).
 *
 * DECLARED SECRET: the 33 bytes "VAULT-SECRET-7f3a9c2e-launch-code" (NUL
 * padded to 40) are the data of record 0, at the vault's first byte + 16.
 * The attack suite searches machine memory for them.  They exist in
 * plaintext only inside the vault: the image holds them masked (a byte-wise
 * XOR with a key the compiler cannot see through, so no folded copy lands
 * in .rodata), they are unmasked word by word in registers straight into
 * the record, never pass through the stack, are never printed (only the
 * checksum is), and the vault is zeroed after vbase exit.
 *
 * The vault: 4 pages (VAULT_PAGES), page-aligned, holding 256 records of
 * 64 bytes, one 64-byte line each (never straddling a page):
 *
 *   offset  size  field
 *        0     4  key      slot * 0x9e3779b1 | 1 (never changes)
 *        4     4  version  starts at 1, +1 per update
 *        8     8  value    starts from an LCG, rewritten per update
 *       16    40  data     record 0: the secret; others: LCG filler (never changes)
 *       56     8  check    seal(slot, bytes 0..55): FNV-1a 64 over the 56 bytes
 *                          seeded with the slot, then a xorshift-multiply finish
 *
 * The check binds the record to its slot, so a record copied from another
 * slot (splice) or overwritten with chosen bytes (spoof) fails it; an older
 * copy of the same record (replay) does not - catching that is the
 * architecture's job, not the application's.
 *
 * Run: fill every record, vbase(vault, 16 KiB, enter), then ITERATIONS
 * times: pick a slot with an LCG, read and verify it (the running checksum
 * folds in the check computed over what was read), then update it - write
 * the header word (key, version+1), the value and the new check: three
 * aligned 8-byte stores inside one 64-byte line - and read it back.  A
 * progress line every PROGRESS iterations; at the end a scan of all
 * records, the summary, vbase exit, the wipe.  Exit 0 if no record ever
 * failed its check, 1 otherwise.
 *
 * Works whether writes to the vault land (architecture "none", or none at
 * all) or are dropped (architecture "vbase"): the record is only read
 * after its whole update, and a dropped update leaves the old record,
 * itself consistent.  The read-back classifies every update as landed
 * (new version, check ok) or dropped (old version, check ok); anything
 * else - a torn update, some stores landed and some not - fails the check
 * and is counted.  A record that fails is neither updated (that would
 * seal tampered data) nor repaired.  Only counts and checksums are printed.
 *
 * ~11 million instructions in all; deterministic (fixed LCG seeds).
 */
#include "vbase.h"

#define PAGE_SIZE   4096
#define VAULT_PAGES 4
#define RECORDS     (VAULT_PAGES * PAGE_SIZE / 64)
#ifndef ITERATIONS
#define ITERATIONS  8192
#endif
#define PROGRESS    1024

struct record {
    uint32_t key;
    uint32_t version;
    uint64_t value;
    uint8_t  data[40];
    uint64_t check;
};
_Static_assert(sizeof(struct record) == 64, "a record is one 64-byte line");

/* Fills its 4 pages alone: no other variable shares a protected frame. */
static struct record vault[RECORDS] __attribute__((aligned(PAGE_SIZE)));

/* Bookkeeping, outside the vault (not secret). */
static uint8_t failed[RECORDS];

/* The secret, masked at compile time: byte i is stored XOR mask_byte(i). */
#define SECRET_LEN 33
#define MASK_KEY   0xc3a5u
#define MASK_BYTE(k, i) ((uint8_t)(((k) >> ((i) & 7)) + 0x3d * (i)))
#define M(i, c) ((uint8_t)((c) ^ MASK_BYTE(MASK_KEY, i)))
static const uint8_t secret_masked[40] = {
    M(0, 'V'),  M(1, 'A'),  M(2, 'U'),  M(3, 'L'),  M(4, 'T'),  M(5, '-'),
    M(6, 'S'),  M(7, 'E'),  M(8, 'C'),  M(9, 'R'),  M(10, 'E'), M(11, 'T'),
    M(12, '-'), M(13, '7'), M(14, 'f'), M(15, '3'), M(16, 'a'), M(17, '9'),
    M(18, 'c'), M(19, '2'), M(20, 'e'), M(21, '-'), M(22, 'l'), M(23, 'a'),
    M(24, 'u'), M(25, 'n'), M(26, 'c'), M(27, 'h'), M(28, '-'), M(29, 'c'),
    M(30, 'o'), M(31, 'd'), M(32, 'e'), M(33, 0),   M(34, 0),   M(35, 0),
    M(36, 0),   M(37, 0),   M(38, 0),   M(39, 0),
};

/* Record i as eight 8-byte words; every access is a real load or store. */
static volatile uint64_t *words(unsigned slot)
{
    return (volatile uint64_t *)&vault[slot];
}

static uint32_t key_of(unsigned slot)
{
    return (uint32_t)slot * 0x9e3779b1u | 1;
}

static uint64_t fnv_word(uint64_t h, uint64_t w)
{
    for (int b = 0; b < 8; b++) {
        h = (h ^ (w & 0xff)) * 0x100000001b3ull;
        w >>= 8;
    }
    return h;
}

/* The check of slot's record with header word `head` and value `value`;
   the data words are read from the record itself. */
__attribute__((noinline)) static uint64_t seal(unsigned slot, uint64_t head, uint64_t value)
{
    volatile uint64_t *w = words(slot);
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)slot * 0x9e3779b97f4a7c15ull);
    h = fnv_word(h, head);
    h = fnv_word(h, value);
    for (int i = 2; i < 7; i++)
        h = fnv_word(h, w[i]);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
}

/* Reads and verifies a record: 1 if it is consistent; *sealed = the check
   computed over what was read (folded into the checksum either way). */
__attribute__((noinline)) static int verify(unsigned slot, uint64_t *sealed)
{
    volatile uint64_t *w = words(slot);
    uint64_t head = w[0];
    uint64_t value = w[1];
    uint64_t check = w[7];
    uint64_t s = seal(slot, head, value);
    *sealed = s;
    return s == check && (uint32_t)head == key_of(slot);
}

static uint64_t lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state;
}

static uint64_t fold(uint64_t sum, uint64_t x)
{
    sum = (sum ^ x) * 0x100000001b3ull;
    return sum ^ (sum >> 29);
}

static unsigned failures;       /* reads that failed their check */

static void fail(unsigned slot)
{
    failures++;
    failed[slot] = 1;
}

__attribute__((noinline)) static void fill(void)
{
    uint64_t rng = 0x5eed0005eed0001ull;
    /* The mask key goes through a register the compiler cannot see into,
       so it cannot fold the plaintext secret into the image. */
    uint64_t k = MASK_KEY;
    __asm__ volatile("" : "+r"(k));
    for (unsigned slot = 0; slot < RECORDS; slot++) {
        volatile uint64_t *w = words(slot);
        uint64_t head = (uint64_t)1 << 32 | key_of(slot);
        uint64_t value = lcg(&rng);
        w[0] = head;
        w[1] = value;
        for (int i = 0; i < 5; i++) {
            uint64_t d = 0;
            if (slot == 0) {
                for (int b = 7; b >= 0; b--) {
                    int at = i * 8 + b;
                    d = d << 8 | (uint8_t)(secret_masked[at] ^ MASK_BYTE(k, at));
                }
            } else {
                d = lcg(&rng);
            }
            w[2 + i] = d;
        }
        w[7] = seal(slot, head, value);
    }
}

int main(void)
{
    vb_printf("vault: %d records of 64 bytes in %d pages\n", RECORDS, VAULT_PAGES);
    fill();

    long r = sys_vbase(vault, sizeof vault, 0);
    vb_printf("vault: vbase(vault, %lu, enter) = %ld\n", (unsigned long)sizeof vault, r);

    uint64_t rng = 0x7661756c74ull;     /* "vault" */
    uint64_t sum = 0x811c9dc5ull;
    unsigned landed = 0, dropped = 0;
    for (unsigned it = 1; it <= ITERATIONS; it++) {
        unsigned slot = (unsigned)(lcg(&rng) >> 33) % RECORDS;
        volatile uint64_t *w = words(slot);

        /* Read and use the record. */
        uint64_t sealed;
        int ok = verify(slot, &sealed);
        sum = fold(sum, sealed);
        if (!ok) {
            fail(slot);
        } else {
            /* Update it: new value and version, sealed over the new fields
               and the unchanged key and data. */
            uint64_t head = w[0];
            uint64_t value = w[1];
            uint32_t version = (uint32_t)(head >> 32);
            uint64_t nhead = (uint64_t)(version + 1) << 32 | (uint32_t)head;
            uint64_t nvalue = (value ^ (value >> 17)) * 0x2545f4914f6cdd1dull + it;
            uint64_t ncheck = seal(slot, nhead, nvalue);
            w[0] = nhead;
            w[1] = nvalue;
            w[7] = ncheck;

            /* Read it back: landed, dropped, or neither (torn). */
            ok = verify(slot, &sealed);
            uint32_t now = (uint32_t)(w[0] >> 32);
            if (ok && now == version + 1)
                landed++;
            else if (ok && now == version)
                dropped++;
            else
                fail(slot);
        }

        if (it % PROGRESS == 0)
            vb_printf("vault: iteration %u checksum 0x%016lx\n", it, (unsigned long)sum);
    }

    /* Every record once more. */
    for (unsigned slot = 0; slot < RECORDS; slot++) {
        uint64_t sealed;
        int ok = verify(slot, &sealed);
        sum = fold(sum, sealed);
        if (!ok)
            fail(slot);
    }
    unsigned bad = 0;
    for (unsigned slot = 0; slot < RECORDS; slot++)
        bad += failed[slot];

    vb_printf("vault: updates landed %u, dropped %u\n", landed, dropped);
    vb_printf("vault: %u records failed their check (%u failed reads)\n", bad, failures);
    vb_printf("vault: final checksum 0x%016lx\n", (unsigned long)sum);

    r = sys_vbase(vault, sizeof vault, 1);
    vb_printf("vault: vbase(vault, %lu, exit) = %ld\n", (unsigned long)sizeof vault, r);

    /* Leave no plaintext behind in the freed frames. */
    volatile uint64_t *all = (volatile uint64_t *)vault;
    for (unsigned i = 0; i < sizeof vault / 8; i++)
        all[i] = 0;

    vb_printf("vault: %s\n", bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}
