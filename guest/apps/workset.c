/*
 * workset - the DRAM-boundary benchmark (bench/boundary.sh): a U-mode program
 * whose whole working set (WORKSET bytes, page-aligned, default 384 KiB) is one
 * protected region, doing real work on it: ROUNDS rounds of
 *
 *   - UPDATES random read-modify-writes of 8-byte words (an LCG picks the word),
 *   - a sequential pass that reads one word per 64-byte line and folds it in.
 *
 * The random updates touch lines all over the set (so a cache smaller than the
 * set misses, and dirty lines go back to DRAM); the pass reads every line.
 * Built three times: workset.elf registers the set with vbase(enter) before the
 * work and releases it after; workset-plain.elf (-DUNPROTECTED) never does, the
 * unprotected reference on the same instructions; workset-code.elf
 * (-DCODE_IN_SET) also puts the work's code in the protected region (just
 * before the set, in one writable and executable segment), so that every
 * instruction of the work is fetched through the DRAM boundary too.  Prints the
 * checksum, which differs only where an architecture drops writes (vbase);
 * exits 0.
 */
#include "vbase.h"

#ifndef WORKSET
#define WORKSET (384 * 1024)
#endif
#ifndef ROUNDS
#define ROUNDS 2000
#endif
#define WORDS   (WORKSET / 8)
#define UPDATES (WORDS / 2)

#ifdef CODE_IN_SET
/*
 * The work (a leaf: no calls) at the start of a page, the set after it, both in the data segment (link-user.ld
 * puts .workset.* there, which makes the segment executable): one region covers both.
 */
#define WORK_CODE __attribute__((section(".workset.0code"), aligned(4096), noinline))
#define SET_DATA  __attribute__((section(".workset.1set"), aligned(4096)))
#else
#define WORK_CODE static inline __attribute__((always_inline))
#define SET_DATA  __attribute__((aligned(4096)))
#endif

static uint64_t set[WORDS] SET_DATA;

WORK_CODE uint64_t work(uint64_t x);

int main(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < WORDS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        set[i] = x;
    }
#ifdef CODE_IN_SET
    char *start = (char *)((uintptr_t)work & ~(uintptr_t)4095);
    if (start >= (char *)set || (char *)set - start > 2 * 4096) {
        vb_printf("workset: the work's code is not just before the set\n");
        return 1;
    }
#elif !defined(UNPROTECTED)
    char *start = (char *)set;
#endif
#ifndef UNPROTECTED
    long rc = sys_vbase(start, (char *)set + sizeof set - start, 0);
    if (rc < 0) {
        vb_printf("workset: vbase enter failed: %ld\n", rc);
        return 1;
    }
#endif
    uint64_t sum = work(x);
#ifndef UNPROTECTED
    sys_vbase(start, (char *)set + sizeof set - start, 1);
#endif
    vb_printf("workset: %u KiB, %u rounds, checksum %lx\n", (unsigned)(WORKSET / 1024), (unsigned)ROUNDS, (unsigned long)sum);
    return 0;
}

WORK_CODE uint64_t work(uint64_t x)
{
    uint64_t sum = 0;
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned i = 0; i < UPDATES; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            unsigned w = (unsigned)(x >> 33) % WORDS;
            uint64_t v = set[w];
            set[w] = (v ^ (v >> 29)) * 0xbf58476d1ce4e5b9ull + i;
            sum += v;
        }
        for (unsigned i = 0; i < WORDS; i += 8) {
            sum = (sum ^ set[i]) * 0x94d049bb133111ebull;
        }
    }
    return sum;
}
