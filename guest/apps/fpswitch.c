/*
 * fpswitch - a process whose FP state must survive the kernel switching it
 * with others.  Each round it puts a pattern of its own (from its pid and
 * the round) into f0-f31 and a rounding mode and flags into fcsr, works
 * long enough for the timer to switch processes several times, then reads
 * them back.  Between rounds it does real double arithmetic (compiled FP
 * code), which the others' would disturb if the kernel mixed them up.
 * (fill declares each register it sets clobbered, so the compiler keeps
 * nothing of its own there.)
 * Built -march=rv64gc -mabi=lp64d with an lp64d copy of the user runtime.
 */
#include "vbase.h"

#define ROUNDS 6
#define SPIN   60000

static uint64_t pattern(uint64_t seed, int reg)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)reg * 0xBF58476D1CE4E5B9ULL;
    return x ^ (x >> 29);
}

static void fill(uint64_t seed)
{
    __asm__ volatile("fmv.d.x f0, %0" :: "r"(pattern(seed, 0)) : "f0");
    __asm__ volatile("fmv.d.x f1, %0" :: "r"(pattern(seed, 1)) : "f1");
    __asm__ volatile("fmv.d.x f2, %0" :: "r"(pattern(seed, 2)) : "f2");
    __asm__ volatile("fmv.d.x f3, %0" :: "r"(pattern(seed, 3)) : "f3");
    __asm__ volatile("fmv.d.x f4, %0" :: "r"(pattern(seed, 4)) : "f4");
    __asm__ volatile("fmv.d.x f5, %0" :: "r"(pattern(seed, 5)) : "f5");
    __asm__ volatile("fmv.d.x f6, %0" :: "r"(pattern(seed, 6)) : "f6");
    __asm__ volatile("fmv.d.x f7, %0" :: "r"(pattern(seed, 7)) : "f7");
    __asm__ volatile("fmv.d.x f8, %0" :: "r"(pattern(seed, 8)) : "f8");
    __asm__ volatile("fmv.d.x f9, %0" :: "r"(pattern(seed, 9)) : "f9");
    __asm__ volatile("fmv.d.x f10, %0" :: "r"(pattern(seed, 10)) : "f10");
    __asm__ volatile("fmv.d.x f11, %0" :: "r"(pattern(seed, 11)) : "f11");
    __asm__ volatile("fmv.d.x f12, %0" :: "r"(pattern(seed, 12)) : "f12");
    __asm__ volatile("fmv.d.x f13, %0" :: "r"(pattern(seed, 13)) : "f13");
    __asm__ volatile("fmv.d.x f14, %0" :: "r"(pattern(seed, 14)) : "f14");
    __asm__ volatile("fmv.d.x f15, %0" :: "r"(pattern(seed, 15)) : "f15");
    __asm__ volatile("fmv.d.x f16, %0" :: "r"(pattern(seed, 16)) : "f16");
    __asm__ volatile("fmv.d.x f17, %0" :: "r"(pattern(seed, 17)) : "f17");
    __asm__ volatile("fmv.d.x f18, %0" :: "r"(pattern(seed, 18)) : "f18");
    __asm__ volatile("fmv.d.x f19, %0" :: "r"(pattern(seed, 19)) : "f19");
    __asm__ volatile("fmv.d.x f20, %0" :: "r"(pattern(seed, 20)) : "f20");
    __asm__ volatile("fmv.d.x f21, %0" :: "r"(pattern(seed, 21)) : "f21");
    __asm__ volatile("fmv.d.x f22, %0" :: "r"(pattern(seed, 22)) : "f22");
    __asm__ volatile("fmv.d.x f23, %0" :: "r"(pattern(seed, 23)) : "f23");
    __asm__ volatile("fmv.d.x f24, %0" :: "r"(pattern(seed, 24)) : "f24");
    __asm__ volatile("fmv.d.x f25, %0" :: "r"(pattern(seed, 25)) : "f25");
    __asm__ volatile("fmv.d.x f26, %0" :: "r"(pattern(seed, 26)) : "f26");
    __asm__ volatile("fmv.d.x f27, %0" :: "r"(pattern(seed, 27)) : "f27");
    __asm__ volatile("fmv.d.x f28, %0" :: "r"(pattern(seed, 28)) : "f28");
    __asm__ volatile("fmv.d.x f29, %0" :: "r"(pattern(seed, 29)) : "f29");
    __asm__ volatile("fmv.d.x f30, %0" :: "r"(pattern(seed, 30)) : "f30");
    __asm__ volatile("fmv.d.x f31, %0" :: "r"(pattern(seed, 31)) : "f31");
    uint64_t fcsr = (seed % 5) << 5 | (seed & 0x1f);   /* frm 0-4, some flags */
    __asm__ volatile("fscsr %0" :: "r"(fcsr));
}

static int check(uint64_t seed)
{
    int bad = 0;
    uint64_t v;
    __asm__ volatile("fmv.x.d %0, f0" : "=r"(v)); bad += v != pattern(seed, 0);
    __asm__ volatile("fmv.x.d %0, f1" : "=r"(v)); bad += v != pattern(seed, 1);
    __asm__ volatile("fmv.x.d %0, f2" : "=r"(v)); bad += v != pattern(seed, 2);
    __asm__ volatile("fmv.x.d %0, f3" : "=r"(v)); bad += v != pattern(seed, 3);
    __asm__ volatile("fmv.x.d %0, f4" : "=r"(v)); bad += v != pattern(seed, 4);
    __asm__ volatile("fmv.x.d %0, f5" : "=r"(v)); bad += v != pattern(seed, 5);
    __asm__ volatile("fmv.x.d %0, f6" : "=r"(v)); bad += v != pattern(seed, 6);
    __asm__ volatile("fmv.x.d %0, f7" : "=r"(v)); bad += v != pattern(seed, 7);
    __asm__ volatile("fmv.x.d %0, f8" : "=r"(v)); bad += v != pattern(seed, 8);
    __asm__ volatile("fmv.x.d %0, f9" : "=r"(v)); bad += v != pattern(seed, 9);
    __asm__ volatile("fmv.x.d %0, f10" : "=r"(v)); bad += v != pattern(seed, 10);
    __asm__ volatile("fmv.x.d %0, f11" : "=r"(v)); bad += v != pattern(seed, 11);
    __asm__ volatile("fmv.x.d %0, f12" : "=r"(v)); bad += v != pattern(seed, 12);
    __asm__ volatile("fmv.x.d %0, f13" : "=r"(v)); bad += v != pattern(seed, 13);
    __asm__ volatile("fmv.x.d %0, f14" : "=r"(v)); bad += v != pattern(seed, 14);
    __asm__ volatile("fmv.x.d %0, f15" : "=r"(v)); bad += v != pattern(seed, 15);
    __asm__ volatile("fmv.x.d %0, f16" : "=r"(v)); bad += v != pattern(seed, 16);
    __asm__ volatile("fmv.x.d %0, f17" : "=r"(v)); bad += v != pattern(seed, 17);
    __asm__ volatile("fmv.x.d %0, f18" : "=r"(v)); bad += v != pattern(seed, 18);
    __asm__ volatile("fmv.x.d %0, f19" : "=r"(v)); bad += v != pattern(seed, 19);
    __asm__ volatile("fmv.x.d %0, f20" : "=r"(v)); bad += v != pattern(seed, 20);
    __asm__ volatile("fmv.x.d %0, f21" : "=r"(v)); bad += v != pattern(seed, 21);
    __asm__ volatile("fmv.x.d %0, f22" : "=r"(v)); bad += v != pattern(seed, 22);
    __asm__ volatile("fmv.x.d %0, f23" : "=r"(v)); bad += v != pattern(seed, 23);
    __asm__ volatile("fmv.x.d %0, f24" : "=r"(v)); bad += v != pattern(seed, 24);
    __asm__ volatile("fmv.x.d %0, f25" : "=r"(v)); bad += v != pattern(seed, 25);
    __asm__ volatile("fmv.x.d %0, f26" : "=r"(v)); bad += v != pattern(seed, 26);
    __asm__ volatile("fmv.x.d %0, f27" : "=r"(v)); bad += v != pattern(seed, 27);
    __asm__ volatile("fmv.x.d %0, f28" : "=r"(v)); bad += v != pattern(seed, 28);
    __asm__ volatile("fmv.x.d %0, f29" : "=r"(v)); bad += v != pattern(seed, 29);
    __asm__ volatile("fmv.x.d %0, f30" : "=r"(v)); bad += v != pattern(seed, 30);
    __asm__ volatile("fmv.x.d %0, f31" : "=r"(v)); bad += v != pattern(seed, 31);
    __asm__ volatile("frcsr %0" : "=r"(v));
    bad += v != ((seed % 5) << 5 | (seed & 0x1f));
    return bad;
}

/* Leibniz: pi/4 = 1 - 1/3 + 1/5 - ... (n terms), in doubles. */
static double leibniz(int n)
{
    double sum = 0.0, sign = 1.0;
    for (int k = 0; k < n; k++) {
        sum += sign / (2.0 * k + 1.0);
        sign = -sign;
    }
    return 4.0 * sum;
}

int main(int argc, char **argv)
{
    (void)argc;
    long pid = sys_getpid();
    int bad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t seed = (uint64_t)pid * 1000 + (uint64_t)round;
        fill(seed);
        for (volatile int k = 0; k < SPIN; k++)
            ;
        bad += check(seed);
        __asm__ volatile("fscsr zero");
        double pi = leibniz(20000 + 1000 * (int)pid);
        /* 3.14159...: print the first digits with integer arithmetic. */
        long micro = (long)(pi * 1e6 + 0.5);
        vb_printf("%s %d: pi ~ %ld.%06ld\n", argv[0], round, micro / 1000000, micro % 1000000);
    }
    if (bad) {
        vb_printf("%s: FP state lost: %d registers differed\n", argv[0], bad);
        return 1;
    }
    vb_printf("%s: FP state kept over %d rounds\n", argv[0], ROUNDS);
    return 0;
}
