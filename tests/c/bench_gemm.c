/* GEMM micro-benchmark over the conv shapes the engine produces: GFLOP/s of __simd vs __ref (median of rounds).
 *
 * wasm (Node 20):  NODE_PATH=/usr/share/nodejs emcc -O3 -msimd128 -Ic/src -Ic/include tests/c/bench_gemm.c
 *                      c/src/kernels/gemm.c -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node
 *                      -sSINGLE_FILE -o build/wasm/bench_gemm.cjs
 *                  node build/wasm/bench_gemm.cjs [--no-ref] [--best]
 * native:          gcc -O2 -std=c11 -Ic/src -Ic/include tests/c/bench_gemm.c c/src/kernels/gemm.c -lm */
#define _POSIX_C_SOURCE 199309L
#include "kernels/kernels.h"
#include "simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef void (*gemm_fn)(int, int, int, const float*, int, int, const float*, int, int, float*, int, int, float*);

typedef struct shape {
    const char* what;
    int M, N, K, ta, tb;
} shape;

static int compare_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static int g_report_best; /* --best: fastest round instead of the median (steadier when the machine is busy) */

/* Median (or fastest) seconds per call over `rounds` rounds of enough calls to last ~min_time. */
static double time_gemm(gemm_fn fn, const shape* s, const float* A, const float* B, float* C, float* ws,
                        int rounds, double min_time) {
    const int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double best[32];
    int calls = 1;
    for (;;) { /* calibrate */
        const double t0 = now_seconds();
        for (int i = 0; i < calls; i++) fn(s->M, s->N, s->K, A, lda, s->ta, B, ldb, s->tb, C, s->N, 0, ws);
        if (now_seconds() - t0 >= min_time || calls > (1 << 20)) break;
        calls *= 2;
    }
    for (int r = 0; r < rounds; r++) {
        const double t0 = now_seconds();
        for (int i = 0; i < calls; i++) fn(s->M, s->N, s->K, A, lda, s->ta, B, ldb, s->tb, C, s->N, 0, ws);
        best[r] = (now_seconds() - t0) / calls;
    }
    qsort(best, rounds, sizeof best[0], compare_double);
    return g_report_best ? best[0] : best[rounds / 2];
}

int main(int argc, char** argv) {
    int with_ref = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-ref") == 0) with_ref = 0;
        if (strcmp(argv[i], "--best") == 0) g_report_best = 1;
    }
    static const shape shapes[] = {
        {"conv 56x56x64->64 3x3", 3136, 64, 576, 0, 0},
        {"square 256", 256, 256, 256, 0, 0},
        {"conv 28x28x128->256 1x1", 784, 256, 128, 0, 0},
        {"conv 128x128x16->32 3x3", 16384, 32, 144, 0, 0},
        {"LeNet conv1 fwd b64", 50176, 6, 25, 0, 0},
        {"LeNet conv2 fwd b64", 6400, 16, 150, 0, 0},
        {"LeNet conv2 dW (ta)", 150, 16, 6400, 1, 0},
        {"LeNet conv1 dW (ta)", 25, 6, 50176, 1, 0},
        {"LeNet conv2 dX (tb)", 6400, 150, 16, 0, 1},
        {"56x56x64 dX (tb)", 3136, 576, 64, 0, 1},
        {"56x56x64 dW (ta)", 576, 64, 3136, 1, 0},
    };
    printf("backend %s\n%-26s %18s %9s %9s\n", CNN_SIMD_BACKEND, "shape", "MxNxK", "simd", "ref");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape* s = &shapes[i];
        const size_t a_len = (size_t)s->M * s->K, b_len = (size_t)s->K * s->N, c_len = (size_t)s->M * s->N;
        float* A = malloc(a_len * sizeof(float));
        float* B = malloc(b_len * sizeof(float));
        float* C = malloc(c_len * sizeof(float));
        float* ws = malloc((cnn_f32_gemm_workspace_floats(s->M, s->N, s->K) + 1) * sizeof(float));
        if (!A || !B || !C || !ws) return 1;
        for (size_t j = 0; j < a_len; j++) A[j] = (float)((j * 7) % 13) * 0.1f - 0.6f;
        for (size_t j = 0; j < b_len; j++) B[j] = (float)((j * 5) % 11) * 0.1f - 0.5f;
        const double flops = 2.0 * s->M * s->N * s->K;
        const double t_simd = time_gemm(cnn_f32_gemm__simd, s, A, B, C, ws, g_report_best ? 21 : 7, g_report_best ? 0.02 : 0.05);
        const double t_ref = with_ref ? time_gemm(cnn_f32_gemm__ref, s, A, B, C, ws, 3, 0.02) : 0;
        char dims[40];
        snprintf(dims, sizeof dims, "%dx%dx%d", s->M, s->N, s->K);
        printf("%-26s %18s %9.2f %9.2f   GFLOP/s (%.3f ms)\n", s->what, dims, flops / t_simd * 1e-9,
               with_ref ? flops / t_ref * 1e-9 : 0.0, t_simd * 1e3);
        free(A), free(B), free(C), free(ws);
    }
    return 0;
}
