/*
 * fpbench.c - a floating-point benchmark for bench/fp.sh: a Mandelbrot set
 * (double), an n-body-like force loop (double, sqrt and divide) and a
 * single-precision dot product with fused multiply-adds.  Prints checksums
 * (the same under Vbase and QEMU).
 */
#include <stdint.h>
#include "vbase.h"

#ifndef SCALE
#define SCALE 4
#endif

static unsigned mandelbrot(int size, int limit)
{
    unsigned inside = 0;
    for (int py = 0; py < size; py++) {
        for (int px = 0; px < size; px++) {
            double cr = -2.0 + 2.5 * px / size, ci = -1.25 + 2.5 * py / size, zr = 0, zi = 0;
            int n = 0;
            while (n < limit && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                n++;
            }
            inside += n == limit;
        }
    }
    return inside;
}

static double forces(int bodies, int steps)
{
    double x[16], y[16], vx[16] = {0}, vy[16] = {0};
    for (int i = 0; i < bodies; i++) { x[i] = i * 0.7 + 0.1; y[i] = (i * 37 % 11) * 0.3; }
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < bodies; i++) {
            double ax = 0, ay = 0;
            for (int j = 0; j < bodies; j++) {
                if (j == i) continue;
                double dx = x[j] - x[i], dy = y[j] - y[i], d2 = dx * dx + dy * dy + 0.01;
                double inv = 1.0 / (d2 * __builtin_sqrt(d2));
                ax += dx * inv; ay += dy * inv;
            }
            vx[i] += 0.001 * ax; vy[i] += 0.001 * ay;
        }
        for (int i = 0; i < bodies; i++) { x[i] += 0.001 * vx[i]; y[i] += 0.001 * vy[i]; }
    }
    double e = 0;
    for (int i = 0; i < bodies; i++) e += vx[i] * vx[i] + vy[i] * vy[i];
    return e;
}

static float dot(int n, int rounds)
{
    static float u[256], v[256];
    for (int i = 0; i < 256; i++) { u[i] = (float)i / 256.0f; v[i] = 1.0f - (float)i / 512.0f; }
    float acc = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++) acc = __builtin_fmaf(u[i], v[i], acc);
        acc *= 0.5f;
    }
    return acc;
}

int main(void)
{
    unsigned m = mandelbrot(40 * SCALE, 200);
    double e = forces(16, 150 * SCALE);
    float d = dot(256, 500 * SCALE);
    union { double d; uint64_t u; } ue = { e };
    union { float f; uint32_t u; } ud = { d };
    vb_puts("fpbench: mandelbrot ");
    vb_put_udec(m);
    vb_puts(" forces ");
    vb_put_hex(ue.u);
    vb_puts(" dot ");
    vb_put_hex(ud.u);
    vb_putc('\n');
    return 0;
}
