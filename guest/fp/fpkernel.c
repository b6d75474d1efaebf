/*
 * fpkernel.c - floating point as C programs use it: a small numerical kernel
 * (LU solve, a Jacobi iteration, series for exp/sin, single precision too)
 * and its results through picolibc's printf (%f, %e, %g, %a), which itself
 * runs on the FPU.  Vbase and QEMU must print the same.
 */
#include <stdio.h>
#include "vbase.h"

static int console_put(char c, FILE *f)
{
    (void)f;
    vb_putc(c);
    return (unsigned char)c;
}

static FILE console = FDEV_SETUP_STREAM(console_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &console;

#define N 8

static double a[N][N], b[N], x[N];

static void build(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            a[i][j] = 1.0 / (i + j + 1) + (i == j ? N : 0);   /* a diagonally dominant Hilbert-like matrix */
        }
        b[i] = (double)(i + 1) / 3.0;
    }
}

/* Gaussian elimination with partial pivoting. */
static void lu_solve(void)
{
    for (int k = 0; k < N; k++) {
        int p = k;
        for (int i = k + 1; i < N; i++) {
            if (__builtin_fabs(a[i][k]) > __builtin_fabs(a[p][k])) p = i;
        }
        for (int j = 0; j < N; j++) { double t = a[k][j]; a[k][j] = a[p][j]; a[p][j] = t; }
        double t = b[k]; b[k] = b[p]; b[p] = t;
        for (int i = k + 1; i < N; i++) {
            double m = a[i][k] / a[k][k];
            for (int j = k; j < N; j++) a[i][j] -= m * a[k][j];
            b[i] -= m * b[k];
        }
    }
    for (int i = N - 1; i >= 0; i--) {
        double s = b[i];
        for (int j = i + 1; j < N; j++) s -= a[i][j] * x[j];
        x[i] = s / a[i][i];
    }
}

static double exp_series(double v)
{
    double term = 1, sum = 1;
    for (int n = 1; n < 30; n++) { term *= v / n; sum += term; }
    return sum;
}

static float sin_series(float v)
{
    float term = v, sum = v;
    for (int n = 1; n < 12; n++) { term *= -v * v / (float)((2 * n) * (2 * n + 1)); sum += term; }
    return sum;
}

int main(void)
{
    build();
    lu_solve();
    for (int i = 0; i < N; i++) {
        printf("x[%d] = %.17g\n", i, x[i]);
    }
    double u[N] = {0}, v[N];
    build();
    for (int it = 0; it < 50; it++) {                       /* Jacobi */
        for (int i = 0; i < N; i++) {
            double s = b[i];
            for (int j = 0; j < N; j++) if (j != i) s -= a[i][j] * u[j];
            v[i] = s / a[i][i];
        }
        for (int i = 0; i < N; i++) u[i] = v[i];
    }
    double err = 0;
    for (int i = 0; i < N; i++) err += (u[i] - x[i]) * (u[i] - x[i]);
    printf("jacobi error %e sqrt %.6e\n", err, __builtin_sqrt(err));
    printf("exp(1) = %.17f exp(-3.5) = %.10e\n", exp_series(1.0), exp_series(-3.5));
    for (int k = 0; k < 5; k++) {
        float s = sin_series(0.5f * k);
        printf("sin(%.1f) = %.9g (%a)\n", 0.5 * k, (double)s, (double)s);
    }
    volatile double big = 1e308, tiny = 5e-324, zero = 0;
    printf("%g %g %g %g %g\n", big * 10, -big * 10, tiny / 2, zero / zero, 1 / -zero);
    printf("%f %e %.3g %10.4f|%-10.2e|\n", 3.14159265358979, 6.02214076e23, 1.0 / 3, -2.5, 1e-300);
    long l = (long)(x[0] * 1e15);
    float f = (float)x[1];
    printf("%ld %.8e %u\n", l, (double)f, (unsigned)(f * 1e9f));
    return 0;
}
