/*
 * fpdiff.c - the F and D instructions on random operands, for a byte-for-byte
 * comparison of Vbase against QEMU (tests/Vbase.Cli.Tests/FpDifferentialTests.cs).
 *
 * For every instruction, CASES cases (a build parameter: -DCASES=N) with
 * operands drawn from a fixed generator that favours the edge cases (zeros,
 * infinities, quiet and signalling NaNs, subnormals, the largest and smallest
 * normals, values at the integer limits, improperly NaN-boxed singles) and a
 * rounding mode drawn from the five static ones and the dynamic one (frm set
 * at random).  Each case's result (the whole 64-bit f register, so that the
 * boxing shows, or the x register) and its fflags go into a per-instruction
 * FNV-1a hash; the first cases are printed in full.  Build with -DVERBOSE to
 * print every case (to find a divergence).
 */
#include <stdint.h>
#include "vbase.h"

#ifndef CASES
#define CASES 1000
#endif
#ifndef SHOWN
#define SHOWN 3
#endif

typedef uint64_t u64;

static u64 state = 0x9E3779B97F4A7C15ull;
static u64 next(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
}

/* A binary32 or binary64 encoding (fraction bits fb, exponent bits eb), edge cases first. */
static u64 gen_bits(int fb, int eb)
{
    u64 r = next(), s = next();
    u64 sign = (r & 1) ? 1ull << (fb + eb) : 0;
    u64 emax = (1ull << eb) - 1, bias = emax >> 1, fmask = (1ull << fb) - 1;
    u64 frac = s & fmask, e;
    switch ((r >> 1) % 20) {
    case 0: return sign;                                        /* zero */
    case 1: return sign | (emax << fb);                         /* infinity */
    case 2: return sign | (emax << fb) | (1ull << (fb - 1)) | (frac >> 1 & (next() & 1 ? fmask : 0)); /* qNaN */
    case 3: frac >>= 1; return sign | (emax << fb) | (frac ? frac : 1);  /* sNaN */
    case 4: return sign | (frac >> ((r >> 8) % fb));            /* subnormal (or zero) */
    case 5: return sign | (1ull << fb) | (frac & 0xF);          /* near the smallest normal */
    case 6: return sign | ((emax - 1) << fb) | (fmask - (frac & 0xF)); /* near the largest */
    case 7: return sign | (bias << fb) | (frac & ((r >> 20) & 1 ? 0xFF : fmask)); /* near 1 */
    case 8: e = bias + 20 + (r >> 9) % 46; return sign | (e << fb) | (frac & ~((1ull << ((r >> 16) % (fb + 1))) - 1) & fmask); /* 2^20..2^65 */
    case 9: e = bias + (r >> 9) % 8; return sign | (e << fb) | (frac & ~((1ull << ((r >> 16) % (fb + 1))) - 1) & fmask); /* halves, small integers */
    case 10: e = (r >> 9) % (fb + 3); return sign | (e << fb) | frac; /* tiny normals */
    case 11: e = emax - 1 - (r >> 9) % (fb + 3); return sign | (e << fb) | frac; /* huge */
    default: e = (r >> 9) % emax; return sign | (e << fb) | frac;
    }
}

static u64 gen_single(void)
{
    u64 v = gen_bits(23, 8);
    if ((next() & 31) == 0) {
        return v | (next() & 0x7FFFFFFFull) << 32;  /* not NaN-boxed: reads as the canonical NaN */
    }
    return v | 0xFFFFFFFF00000000ull;
}

static u64 gen_double(void) { return gen_bits(52, 11); }

static u64 gen_int(void)
{
    u64 r = next(), s = next();
    switch (r % 12) {
    case 0: return 0;
    case 1: return (r >> 8) & 1 ? 1 : (u64)-1;
    case 2: return 0x7FFFFFFFull + ((r >> 8) % 5) - 2;
    case 3: return 0xFFFFFFFF80000000ull + ((r >> 8) % 5) - 2;
    case 4: return 0x7FFFFFFFFFFFFFFFull + ((r >> 8) % 5) - 2;
    case 5: return 0xFFFFFFFFull + ((r >> 8) % 5) - 2;
    case 6: return s >> ((r >> 8) % 64);
    case 7: return -(s >> ((r >> 8) % 64));
    case 8: return ((1ull << (20 + (r >> 8) % 44)) + ((s & 0xFF) - 0x80));  /* around 2^24, 2^53 */
    default: return s;
    }
}

/* The rounding-mode operand: 0..4 static, 7 dynamic (frm random 0..4). */
static int gen_rm(void)
{
    u64 r = next() % 6;
    if (r == 5) {
        __asm__ volatile("fsrm %0" :: "r"(next() % 5));
        return 7;
    }
    return (int)r;
}

/* ---- one function per operand shape and rounding mode, from these macros ---- */

#define LOAD3 "fmv.d.x ft0, %2\n fmv.d.x ft1, %3\n fmv.d.x ft2, %4\n fsflags zero\n"
#define OUTS  : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"
#define FF(ins, rms) LOAD3 ins " ft3, ft0, ft1" rms "\n frflags %1\n fmv.x.d %0, ft3"
#define FFF(ins, rms) LOAD3 ins " ft3, ft0, ft1, ft2" rms "\n frflags %1\n fmv.x.d %0, ft3"
#define F1(ins, rms) LOAD3 ins " ft3, ft0" rms "\n frflags %1\n fmv.x.d %0, ft3"
#define XFF(ins, rms) LOAD3 ins " %0, ft0, ft1" rms "\n frflags %1"
#define XF(ins, rms) LOAD3 ins " %0, ft0" rms "\n frflags %1"
#define FX(ins, rms) LOAD3 ins " ft3, %2" rms "\n frflags %1\n fmv.x.d %0, ft3"

#define WITH_RM(SHAPE, ins)                                                    \
    switch (rm) {                                                              \
    case 0: __asm__ volatile(SHAPE(ins, ", rne") OUTS); break;                 \
    case 1: __asm__ volatile(SHAPE(ins, ", rtz") OUTS); break;                 \
    case 2: __asm__ volatile(SHAPE(ins, ", rdn") OUTS); break;                 \
    case 3: __asm__ volatile(SHAPE(ins, ", rup") OUTS); break;                 \
    case 4: __asm__ volatile(SHAPE(ins, ", rmm") OUTS); break;                 \
    default: __asm__ volatile(SHAPE(ins, ", dyn") OUTS); break;                \
    }

#define DEFINE(fn, SHAPE, ins, has_rm)                                         \
    static u64 fn(u64 a, u64 b, u64 c, int rm, u64 *flags)                     \
    {                                                                          \
        u64 r, f;                                                              \
        if (has_rm) { WITH_RM(SHAPE, ins) }                                    \
        else { (void)rm; __asm__ volatile(SHAPE(ins, "") OUTS); }             \
        *flags = f;                                                            \
        return r;                                                              \
    }

enum { S_FF, S_FFF, S_F1, S_XFF, S_XF, S_FX };
enum { G_S, G_D, G_X };

struct op {
    const char *name;
    u64 (*run)(u64, u64, u64, int, u64 *);
    int gen;     /* operand kind */
    int related; /* sometimes make b close to a (cancellation, ties, equality) */
};

#define OPS(X)                                                                \
    X(fadd_s, "fadd.s", FF, 1, G_S, 1) X(fsub_s, "fsub.s", FF, 1, G_S, 1)     \
    X(fmul_s, "fmul.s", FF, 1, G_S, 0) X(fdiv_s, "fdiv.s", FF, 1, G_S, 1)     \
    X(fsqrt_s, "fsqrt.s", F1, 1, G_S, 0)                                      \
    X(fmadd_s, "fmadd.s", FFF, 1, G_S, 1) X(fmsub_s, "fmsub.s", FFF, 1, G_S, 1) \
    X(fnmsub_s, "fnmsub.s", FFF, 1, G_S, 1) X(fnmadd_s, "fnmadd.s", FFF, 1, G_S, 1) \
    X(fsgnj_s, "fsgnj.s", FF, 0, G_S, 0) X(fsgnjn_s, "fsgnjn.s", FF, 0, G_S, 0) \
    X(fsgnjx_s, "fsgnjx.s", FF, 0, G_S, 0)                                    \
    X(fmin_s, "fmin.s", FF, 0, G_S, 1) X(fmax_s, "fmax.s", FF, 0, G_S, 1)     \
    X(feq_s, "feq.s", XFF, 0, G_S, 1) X(flt_s, "flt.s", XFF, 0, G_S, 1)       \
    X(fle_s, "fle.s", XFF, 0, G_S, 1) X(fclass_s, "fclass.s", XF, 0, G_S, 0)  \
    X(fcvt_w_s, "fcvt.w.s", XF, 1, G_S, 0) X(fcvt_wu_s, "fcvt.wu.s", XF, 1, G_S, 0) \
    X(fcvt_l_s, "fcvt.l.s", XF, 1, G_S, 0) X(fcvt_lu_s, "fcvt.lu.s", XF, 1, G_S, 0) \
    X(fcvt_s_w, "fcvt.s.w", FX, 1, G_X, 0) X(fcvt_s_wu, "fcvt.s.wu", FX, 1, G_X, 0) \
    X(fcvt_s_l, "fcvt.s.l", FX, 1, G_X, 0) X(fcvt_s_lu, "fcvt.s.lu", FX, 1, G_X, 0) \
    X(fmv_x_w, "fmv.x.w", XF, 0, G_S, 0) X(fmv_w_x, "fmv.w.x", FX, 0, G_X, 0)  \
    X(fadd_d, "fadd.d", FF, 1, G_D, 1) X(fsub_d, "fsub.d", FF, 1, G_D, 1)     \
    X(fmul_d, "fmul.d", FF, 1, G_D, 0) X(fdiv_d, "fdiv.d", FF, 1, G_D, 1)     \
    X(fsqrt_d, "fsqrt.d", F1, 1, G_D, 0)                                      \
    X(fmadd_d, "fmadd.d", FFF, 1, G_D, 1) X(fmsub_d, "fmsub.d", FFF, 1, G_D, 1) \
    X(fnmsub_d, "fnmsub.d", FFF, 1, G_D, 1) X(fnmadd_d, "fnmadd.d", FFF, 1, G_D, 1) \
    X(fsgnj_d, "fsgnj.d", FF, 0, G_D, 0) X(fsgnjn_d, "fsgnjn.d", FF, 0, G_D, 0) \
    X(fsgnjx_d, "fsgnjx.d", FF, 0, G_D, 0)                                    \
    X(fmin_d, "fmin.d", FF, 0, G_D, 1) X(fmax_d, "fmax.d", FF, 0, G_D, 1)     \
    X(fcvt_s_d, "fcvt.s.d", F1, 1, G_D, 0) X(fcvt_d_s, "fcvt.d.s", F1, 0, G_S, 0) \
    X(feq_d, "feq.d", XFF, 0, G_D, 1) X(flt_d, "flt.d", XFF, 0, G_D, 1)       \
    X(fle_d, "fle.d", XFF, 0, G_D, 1) X(fclass_d, "fclass.d", XF, 0, G_D, 0)  \
    X(fcvt_w_d, "fcvt.w.d", XF, 1, G_D, 0) X(fcvt_wu_d, "fcvt.wu.d", XF, 1, G_D, 0) \
    X(fcvt_l_d, "fcvt.l.d", XF, 1, G_D, 0) X(fcvt_lu_d, "fcvt.lu.d", XF, 1, G_D, 0) \
    X(fcvt_d_w, "fcvt.d.w", FX, 0, G_X, 0) X(fcvt_d_wu, "fcvt.d.wu", FX, 0, G_X, 0) \
    X(fcvt_d_l, "fcvt.d.l", FX, 1, G_X, 0) X(fcvt_d_lu, "fcvt.d.lu", FX, 1, G_X, 0) \
    X(fmv_x_d, "fmv.x.d", XF, 0, G_D, 0) X(fmv_d_x, "fmv.d.x", FX, 0, G_X, 0)

#define X_DEFINE(fn, ins, SHAPE, has_rm, gen, related) DEFINE(run_##fn, SHAPE, ins, has_rm)
OPS(X_DEFINE)

#define X_ROW(fn, ins, SHAPE, has_rm, gen, related) { ins, run_##fn, gen, related },
static const struct op ops[] = { OPS(X_ROW) };

static void hex(u64 v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        vb_putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
    }
}

static u64 fnv(u64 h, u64 v)
{
    for (int i = 0; i < 8; i++) {
        h = (h ^ ((v >> (8 * i)) & 0xFF)) * 0x100000001B3ull;
    }
    return h;
}

static u64 gen(int kind)
{
    return kind == G_S ? gen_single() : kind == G_D ? gen_double() : gen_int();
}

/* b near a: the same value, its negation, or a few units in the last place away. */
static u64 near(u64 a, int kind)
{
    u64 r = next();
    u64 signbit = kind == G_S ? 1ull << 31 : 1ull << 63;
    switch (r % 3) {
    case 0: return a;
    case 1: return a ^ signbit;
    default: return a + (r >> 8) % 5 - 2;
    }
}

static void memory_ops(void)
{
    static volatile u64 cell[4] __attribute__((aligned(16)));
    u64 a = 0x3FF0000000000001ull, s = 0xFFFFFFFF40490FDBull, bad = 0x1234567840490FDBull, r1, r2, r3;
    cell[0] = a;
    cell[1] = 0xDEADBEEFCAFEF00Dull;
    /* fld/fsd, flw (boxes)/fsw (stores the low half of even an unboxed value), c.fld/c.fsd via the assembler */
    __asm__ volatile(
        "fld ft0, 0(%3)\n fsd ft0, 16(%3)\n"
        "flw ft1, 8(%3)\n fmv.x.d %0, ft1\n"
        "fmv.d.x ft2, %4\n fsw ft2, 24(%3)\n"
        "fmv.d.x ft3, %5\n fsw ft3, 28(%3)\n"
        "fmv.x.w %1, ft3\n fld fa0, 16(%3)\n fmv.x.d %2, fa0\n"
        : "=&r"(r1), "=&r"(r2), "=&r"(r3) : "r"(cell), "r"(s), "r"(bad) : "ft0", "ft1", "ft2", "ft3", "fa0", "memory");
    vb_puts("ldst ");
    hex(r1, 16); vb_putc(' '); hex(r2, 16); vb_putc(' '); hex(r3, 16); vb_putc(' ');
    hex(cell[2], 16); vb_putc(' '); hex(cell[3], 16); vb_putc('\n');
    /* mstatus.FS is Dirty now, SD set; fcsr round trip */
    u64 fcsr;
    __asm__ volatile("fscsr %0\n frcsr %0" : "=r"(fcsr) : "0"(0xFFull));
    vb_puts("fcsr "); hex(fcsr, 2); vb_puts(" fs "); hex((vb_csr_read(mstatus) >> 13) & 3, 1);
    vb_puts(" sd "); hex(vb_csr_read(mstatus) >> 63, 1); vb_putc('\n');
    __asm__ volatile("fscsr zero");
}

int main(void)
{
    vb_puts("fpdiff: ");
    vb_put_udec(CASES);
    vb_puts(" cases per instruction\n");
    memory_ops();
    for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const struct op *o = &ops[i];
        u64 h = 0xCBF29CE484222325ull, all = 0;
        for (unsigned n = 0; n < CASES; n++) {
            u64 a = gen(o->gen), b = o->related && (next() & 3) == 0 ? near(a, o->gen) : gen(o->gen), c = gen(o->gen);
            int rm = gen_rm();
            u64 flags, r = o->run(a, b, c, rm, &flags);
            h = fnv(fnv(h, r), flags);
            all |= flags;
#ifndef VERBOSE
            if (n < SHOWN)
#endif
            {
                vb_puts("  "); vb_puts(o->name); vb_putc(' ');
                hex(a, 16); vb_putc(' '); hex(b, 16); vb_putc(' '); hex(c, 16);
                vb_puts(" rm "); hex((u64)rm, 1); vb_puts(" -> "); hex(r, 16); vb_puts(" fflags "); hex(flags, 2);
                vb_putc('\n');
            }
        }
        vb_puts(o->name); vb_puts(" hash "); hex(h, 16); vb_puts(" flags "); hex(all, 2); vb_putc('\n');
    }
    vb_puts("fpdiff: done\n");
    return 0;
}
