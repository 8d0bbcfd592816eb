/* Native tests for the GEMM (c/src/kernels/gemm.c): __simd against __ref over sizes below, at and above the 4×8 tile
 * and the K / M / N blocks, both transposes, accumulation and padded leading dimensions; the bias GEMM against the
 * GEMM followed by add_bias, bit for bit; and block splits of C against the whole call, bit for bit (the threaded
 * GEMMs rely on it). Buffers are allocated to their exact extent so ASan / valgrind catch any out-of-bounds access.
 * Prints one line per check, then "N passed, M failed". The other kernels: test_kernels.c.
 *
 * Build (from the repository root):
 *   gcc -O2 -g -std=c11 -Wall -Wextra -fsanitize=address,undefined -Ic/src -Ic/include tests/c/test_gemm.c
 *       c/src/kernels/[*].c -lm -o build/native/test_gemm */
#include "kernels/kernels.h"
#include "simd.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- GEMM ---------------------------------------------------------------------------------------------------- */

/* Floats a rows×cols matrix with leading dimension ld occupies, without padding after the last row. */
static size_t extent(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : (size_t)(rows - 1) * ld + cols; }

/* One GEMM case, __simd vs __ref. Returns 1 when they agree (and C's padding between rows is untouched). */
static int gemm_case(int M, int N, int K, int ta, int tb, int acc, int ld_pad, char* why, size_t why_len) {
    const int a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int b_rows = tb ? N : K, b_cols = tb ? K : N;
    const int lda = a_cols + ld_pad, ldb = b_cols + ld_pad, ldc = N + ld_pad;
    const size_t a_len = extent(a_rows, a_cols, lda), b_len = extent(b_rows, b_cols, ldb);
    const size_t c_len = extent(M, N, ldc);
    const size_t ws_len = cnn_f32_gemm_workspace_floats(M, N, K);
    float* A = random_floats(a_len);
    float* B = random_floats(b_len);
    float* C0 = random_floats(c_len);
    float* C_simd = copy_floats(C0, c_len);
    float* C_ref = copy_floats(C0, c_len);
    float* ws = xmalloc(ws_len * sizeof(float));
    cnn_f32_gemm__simd(M, N, K, A, lda, ta, B, ldb, tb, C_simd, ldc, acc, ws);
    cnn_f32_gemm__ref(M, N, K, A, lda, ta, B, ldb, tb, C_ref, ldc, acc, NULL);
    int ok = 1;
    const double tol = 1e-5 * sqrt((double)(K > 1 ? K : 1));
    for (int i = 0; i < M && ok; i++) {
        for (int j = 0; j < ldc && ok; j++) {
            const size_t at = (size_t)i * ldc + j;
            if (at >= c_len) break;
            if (j >= N) { /* padding must stay as it was */
                if (!same_float(C_simd[at], C0[at])) {
                    snprintf(why, why_len, "padding C[%d][%d] overwritten", i, j);
                    ok = 0;
                }
                continue;
            }
            double magnitude = acc ? fabs(C0[at]) : 0.0; /* sum of |terms|: the scale of rounding error */
            for (int k = 0; k < K; k++) {
                const float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                const float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                magnitude += fabs((double)a * b);
            }
            const double err = fabs((double)C_simd[at] - C_ref[at]);
            if (!(err <= tol * magnitude + 1e-30)) {
                snprintf(why, why_len, "C[%d][%d] simd %.9g ref %.9g", i, j, C_simd[at], C_ref[at]);
                ok = 0;
            }
        }
    }
    free(A), free(B), free(C0), free(C_simd), free(C_ref), free(ws);
    return ok;
}

/* Runs every (M, N, K) of the lists under one transpose/accumulate setting; one printed check per call. */
static void gemm_sweep(const char* name, const int* Ms, int nM, const int* Ns, int nN, const int* Ks, int nK,
                       int ta, int tb, int acc) {
    int cases = 0, ok = 1;
    char why[200] = "";
    for (int im = 0; im < nM && ok; im++)
        for (int in = 0; in < nN && ok; in++)
            for (int ik = 0; ik < nK && ok; ik++)
                for (int pad = 0; pad <= 5 && ok; pad += 5) {
                    char detail[160];
                    cases++;
                    if (!gemm_case(Ms[im], Ns[in], Ks[ik], ta, tb, acc, pad, detail, sizeof detail)) {
                        snprintf(why, sizeof why, " — M=%d N=%d K=%d pad=%d: %s", Ms[im], Ns[in], Ks[ik], pad, detail);
                        ok = 0;
                    }
                }
    report(ok, "gemm %-22s ta=%d tb=%d acc=%d (%d cases)%s", name, ta, tb, acc, cases, why);
}

/* One sweep case's operands, random: A (M×K), B (K×N), a bias, C (M×N) and the GEMM's workspace. */
typedef struct operands { float *A, *B, *bias, *C, *ws; } operands;

static operands random_operands(int M, int N, int K) {
    operands o = {random_floats((size_t)M * K), random_floats((size_t)K * N), random_floats((size_t)N),
                  random_floats((size_t)M * N), xmalloc(cnn_f32_gemm_workspace_floats(M, N, K) * sizeof(float))};
    return o;
}

static void free_operands(operands* o) { free(o->A), free(o->B), free(o->bias), free(o->C), free(o->ws); }

/* The threaded GEMMs split C into blocks that take other paths than the whole call (a 4-row block of a wide C, an
 * 8-column block through the in-place A kernel, the broadcast panels whose first tile also packs): every path must
 * give the whole call's bits, or the thread count would change the weights. */
static void test_gemm_split_bits(void) {
    static const int shapes[][3] = {{77, 200, 300}, {13, 64, 513}, {37, 72, 9}, {130, 65, 256}};
    static const int row_blocks[] = {1, 4, 5, 36}, col_blocks[] = {8, 16, 64, 72};
    int ok = 1;
    char why[200] = "";
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && ok; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int ta = 0; ta <= 1 && ok; ta++)
            for (int tb = 0; tb <= 1 && ok; tb++) {
                const int lda = ta ? M : K, ldb = tb ? K : N;
                operands o = random_operands(M, N, K);
                const float *A = o.A, *B = o.B, *bias = o.bias;
                float *whole = o.C, *ws = o.ws;
                float* split = copy_floats(whole, (size_t)M * N);
                cnn_f32_gemm_bias__simd(M, N, K, A, lda, ta, B, ldb, tb, bias, whole, N, 1, ws);
                for (size_t rb = 0; rb < sizeof row_blocks / sizeof row_blocks[0] && ok; rb++)
                    for (size_t cb = 0; cb < sizeof col_blocks / sizeof col_blocks[0] && ok; cb++) {
                        float* c = copy_floats(split, (size_t)M * N);
                        for (int i0 = 0; i0 < M; i0 += row_blocks[rb])
                            for (int j0 = 0; j0 < N; j0 += col_blocks[cb]) {
                                const int mb = M - i0 < row_blocks[rb] ? M - i0 : row_blocks[rb];
                                const int nb = N - j0 < col_blocks[cb] ? N - j0 : col_blocks[cb];
                                const float* a = ta ? A + i0 : A + (size_t)i0 * lda;
                                const float* b = tb ? B + (size_t)j0 * ldb : B + j0;
                                cnn_f32_gemm_bias__simd(mb, nb, K, a, lda, ta, b, ldb, tb, bias + j0,
                                                        c + (size_t)i0 * N + j0, N, 1, ws);
                            }
                        for (int e = 0; e < M * N && ok; e++)
                            if (!same_float(c[e], whole[e])) {
                                snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d tb=%d in %dx%d blocks: C[%d] %.9g, "
                                         "whole call %.9g", M, N, K, ta, tb, row_blocks[rb], col_blocks[cb], e, c[e],
                                         whole[e]);
                                ok = 0;
                            }
                        free(c);
                    }
                free_operands(&o);
                free(split);
            }
    }
    report(ok, "gemm_bias: any split of C into row and column blocks gives the whole call's bits %s", why);
}

static void test_gemm(void) {
    /* Tile is 4×8 with K blocks of 256, row blocks of 128, column blocks of 512. */
    static const int small_m[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const int small_n[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    static const int small_k[] = {0, 1, 2, 3, 4, 7, 25};
    static const int kblock_m[] = {5, 13};
    static const int kblock_n[] = {9, 19};
    static const int kblock_k[] = {255, 256, 257, 513};
    static const int mblock_m[] = {127, 128, 129, 261};
    static const int mblock_n[] = {3, 8};
    static const int mblock_k[] = {5};
    static const int nblock_m[] = {3};
    static const int nblock_n[] = {511, 512, 513, 1030};
    static const int nblock_k[] = {4};
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            for (int acc = 0; acc <= 1; acc++) {
                gemm_sweep("small 1..2*tile+1", small_m, 9, small_n, 17, small_k, 7, ta, tb, acc);
                gemm_sweep("K blocks", kblock_m, 2, kblock_n, 2, kblock_k, 4, ta, tb, acc);
                gemm_sweep("M blocks", mblock_m, 4, mblock_n, 2, mblock_k, 1, ta, tb, acc);
                gemm_sweep("N blocks", nblock_m, 1, nblock_n, 4, nblock_k, 1, ta, tb, acc);
            }
    /* Scaled-down conv shapes: LeNet conv1/conv2 forward, weight gradient (trans_a), input gradient (trans_b). */
    static const int conv[][6] = {{333, 6, 25, 0, 0, 0}, {201, 16, 150, 0, 0, 1}, {150, 16, 643, 1, 0, 0},
                                  {25, 6, 777, 1, 0, 1}, {199, 150, 16, 0, 1, 0}, {99, 64, 576, 0, 0, 0},
                                  /* wide N (broadcast A panels), edge rows and K blocks */
                                  {133, 256, 300, 0, 0, 0}, {130, 128, 7, 0, 0, 1}, {131, 127, 9, 0, 1, 0},
                                  /* around GEMM_BCAST_MIN_N (broadcast A panels from 64 columns on): edge rows, K
                                   * blocks, both transposes, and the 1x1 conv's three GEMMs scaled down */
                                  {37, 63, 513, 1, 0, 1}, {45, 64, 300, 0, 1, 1}, {6, 65, 1, 0, 0, 0},
                                  {78, 64, 97, 0, 0, 0}, {97, 64, 78, 1, 0, 1}, {78, 97, 64, 0, 1, 1}};
    for (size_t s = 0; s < sizeof conv / sizeof conv[0]; s++) {
        char why[160] = "";
        const int ok = gemm_case(conv[s][0], conv[s][1], conv[s][2], conv[s][3], conv[s][4], conv[s][5], 0, why,
                                 sizeof why);
        report(ok, "gemm conv shape M=%d N=%d K=%d ta=%d tb=%d acc=%d %s", conv[s][0], conv[s][1], conv[s][2],
               conv[s][3], conv[s][4], conv[s][5], why);
    }
    /* The bias GEMM: the bits of the GEMM followed by cnn_f32_add_bias, on every path (direct, packed, broadcast A
     * panels), edge tiles, K blocks and K = 0. */
    static const int biased[][6] = {{13, 6, 25, 0, 0, 0}, {9, 16, 150, 1, 0, 1}, {37, 40, 513, 1, 0, 1},
                                    {45, 33, 300, 0, 1, 0}, {78, 256, 128, 0, 0, 0}, {7, 130, 0, 0, 0, 1},
                                    {5, 11, 0, 0, 1, 0}};
    int bias_ok = 1;
    char bias_why[160] = "";
    for (size_t s = 0; s < sizeof biased / sizeof biased[0] && bias_ok; s++) {
        const int M = biased[s][0], N = biased[s][1], K = biased[s][2], ta = biased[s][3], tb = biased[s][4];
        const int acc = biased[s][5];
        float* A = random_floats((size_t)M * (K > 0 ? K : 1));
        float* B = random_floats((size_t)N * (K > 0 ? K : 1));
        float* bias = random_floats((size_t)N);
        float* C0 = random_floats((size_t)M * N);
        float* C1 = copy_floats(C0, (size_t)M * N);
        float* C2 = copy_floats(C0, (size_t)M * N);
        float* C3 = copy_floats(C0, (size_t)M * N);
        float* C4 = copy_floats(C0, (size_t)M * N);
        float* ws = xmalloc((cnn_f32_gemm_workspace_floats(M, N, K) + 1) * sizeof(float));
        const int lda = ta ? M : K, ldb = tb ? K : N;
        cnn_f32_gemm_bias__simd(M, N, K, A, lda > 0 ? lda : 1, ta, B, ldb > 0 ? ldb : 1, tb, bias, C1, N, acc, ws);
        cnn_f32_gemm__simd(M, N, K, A, lda > 0 ? lda : 1, ta, B, ldb > 0 ? ldb : 1, tb, C2, N, acc, ws);
        /* A NULL bias is the plain GEMM (the threaded GEMMs all run through gemm_bias). */
        cnn_f32_gemm_bias__simd(M, N, K, A, lda > 0 ? lda : 1, ta, B, ldb > 0 ? ldb : 1, tb, NULL, C4, N, acc, ws);
        for (int e = 0; e < M * N && bias_ok; e++)
            if (!same_float(C4[e], C2[e])) {
                snprintf(bias_why, sizeof bias_why, "M=%d N=%d K=%d: NULL bias C[%d] %.9g, gemm %.9g", M, N, K, e,
                         C4[e], C2[e]);
                bias_ok = 0;
            }
        cnn_f32_add_bias(M, N, bias, C2);
        cnn_f32_gemm_bias__ref(M, N, K, A, lda > 0 ? lda : 1, ta, B, ldb > 0 ? ldb : 1, tb, bias, C3, N, acc, NULL);
        for (int e = 0; e < M * N && bias_ok; e++) {
            if (!same_float(C1[e], C2[e])) {
                snprintf(bias_why, sizeof bias_why, "M=%d N=%d K=%d: C[%d] %.9g, gemm + add_bias %.9g", M, N, K, e,
                         C1[e], C2[e]);
                bias_ok = 0;
            } else if (!(fabs((double)C1[e] - C3[e]) <= 1e-4 * (1.0 + fabs((double)C3[e])) * sqrt(K + 1.0))) {
                snprintf(bias_why, sizeof bias_why, "M=%d N=%d K=%d: C[%d] simd %.9g ref %.9g", M, N, K, e, C1[e],
                         C3[e]);
                bias_ok = 0;
            }
        }
        free(A), free(B), free(bias), free(C0), free(C1), free(C2), free(C3), free(C4), free(ws);
    }
    report(bias_ok, "gemm_bias = gemm then add_bias, bit for bit, and near __ref %s", bias_why);
    test_gemm_split_bits();
    /* M, N or K of 0 must not touch anything (the C buffer here is a single sentinel). */
    float sentinel = 42.0f;
    cnn_f32_gemm__simd(0, 0, 5, NULL, 5, 0, NULL, 1, 0, &sentinel, 1, 0, NULL);
    cnn_f32_gemm__simd(1, 0, 5, NULL, 5, 0, NULL, 1, 0, &sentinel, 1, 0, NULL);
    report(sentinel == 42.0f, "gemm empty M/N leaves C alone");
}

/* cnn_f32_gemm_bias_finite: the bits of cnn_f32_gemm_bias, and 1 exactly when every value of C came out finite.
 * A NaN or an infinity at each position of C in turn (through C itself with accumulate, or through a bias of
 * infinity in one column) must be seen, in every path (broadcast panels for N >= 64, in-place and packed A below,
 * edge rows and the 1-3 lane tails, K == 0); predict skips its own scan of the output on this answer. */
static void test_gemm_finite(void) {
    static const int shapes[][3] = {{13, 70, 33}, {6, 9, 5}, {5, 131, 300}, {4, 7, 0}};
    int ok = 1, cases = 0;
    char why[200] = "";
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && ok; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int ta = 0; ta <= 1 && ok; ta++) {
            const int lda = ta ? M : K > 0 ? K : 1, ldb = N;
            float* A = random_floats((size_t)M * (K > 0 ? K : 1));
            float* B = random_floats((size_t)(K > 0 ? K : 1) * N);
            float* bias = random_floats((size_t)N);
            float* C0 = random_floats((size_t)M * N);
            float* plain = xmalloc((size_t)M * N * sizeof(float));
            float* checked = xmalloc((size_t)M * N * sizeof(float));
            float* ws = xmalloc((cnn_f32_gemm_workspace_floats(M, N, K) + 4) * sizeof(float));
            for (int with_bias = 0; with_bias <= 1 && ok; with_bias++) {
                const float* b = with_bias ? bias : NULL;
                memcpy(plain, C0, (size_t)M * N * sizeof(float));
                memcpy(checked, C0, (size_t)M * N * sizeof(float));
                cnn_f32_gemm_bias__simd(M, N, K, A, lda, ta, B, ldb, 0, b, plain, N, 1, ws);
                int r = cnn_f32_gemm_bias_finite__simd(M, N, K, A, lda, ta, B, ldb, 0, b, checked, N, 1, ws);
                int same = 1;
                for (int e = 0; e < M * N; e++) same &= same_float(plain[e], checked[e]);
                cases++;
                if (r != 1 || !same || cnn_f32_gemm_bias_finite__ref(M, N, K, A, lda, ta, B, ldb, 0, b, plain, N, 1,
                                                                      ws) != 1) {
                    snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d bias=%d finite: returned %d, same bits %d", M, N,
                             K, ta, with_bias, r, same);
                    ok = 0;
                }
                for (int e = 0; e < M * N && ok; e++) {
                    const float bad = e % 3 == 0 ? NAN : e % 3 == 1 ? INFINITY : -INFINITY;
                    memcpy(checked, C0, (size_t)M * N * sizeof(float));
                    checked[e] = bad;
                    memcpy(plain, checked, (size_t)M * N * sizeof(float));
                    cases++;
                    if (cnn_f32_gemm_bias_finite__simd(M, N, K, A, lda, ta, B, ldb, 0, b, checked, N, 1, ws) != 0 ||
                        cnn_f32_gemm_bias_finite__ref(M, N, K, A, lda, ta, B, ldb, 0, b, plain, N, 1, ws) != 0) {
                        snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d bias=%d: %g at C[%d][%d] not seen", M, N, K,
                                 ta, with_bias, (double)bad, e / N, e % N);
                        ok = 0;
                    }
                }
            }
            for (int j = 0; j < N && ok; j++) { /* a bias of infinity: column j overflows, C held finite values */
                float* inf_bias = copy_floats(bias, (size_t)N);
                inf_bias[j] = INFINITY;
                memcpy(checked, C0, (size_t)M * N * sizeof(float));
                cases++;
                if (cnn_f32_gemm_bias_finite__simd(M, N, K, A, lda, ta, B, ldb, 0, inf_bias, checked, N, 0, ws) != 0) {
                    snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d: bias[%d] = inf not seen", M, N, K, ta, j);
                    ok = 0;
                }
                free(inf_bias);
            }
            free(A), free(B), free(bias), free(C0), free(plain), free(checked), free(ws);
        }
    }
    report(ok, "gemm_bias_finite: same bits, and every NaN / infinity in C seen, every path (%d cases) %s", cases,
           why);
}

/* The GEMM on a kernel packed ahead (cnn_f32_gemm_pack_b_whole, packed in column ranges as threads do): the bits
 * of cnn_f32_gemm_bias on the unpacked B, whole and in blocks of C's columns read through col0 (a threaded split),
 * over several K blocks (K > 256) and column blocks (N > 512), odd N, both op(B) layouts and op(A) layouts; the
 * checked twin sees a NaN in C; the __ref twins give the unpacked reference's bits. The packed buffer has its exact
 * size, so ASan / valgrind catch a read past it. */
static void test_gemm_packed(void) {
    static const int shapes[][3] = {{37, 21, 9}, {13, 600, 300}, {70, 64, 513}, {9, 131, 256}, {5, 8, 1},
                                    {6, 1100, 20}};
    static const int col_blocks[] = {8, 64, 136, 520};
    int ok = 1, cases = 0;
    char why[200] = "";
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && ok; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int ta = 0; ta <= 1 && ok; ta++)
            for (int tb = 0; tb <= 1 && ok; tb++) {
                const int lda = ta ? M : K, ldb = tb ? K : N;
                operands o = random_operands(M, N, K);
                const float *A = o.A, *B = o.B, *bias = o.bias, *C0 = o.C;
                float* ws = o.ws;
                float* want = copy_floats(C0, (size_t)M * N);
                const size_t packed_len = (size_t)cnn_f32_gemm_packed_b_floats(N, K);
                float* packed = xmalloc(packed_len * sizeof(float));
                for (int j = 0; j < N; j += 24) /* column ranges of 3 panels, as threads would pack them */
                    cnn_f32_gemm_pack_b_whole(N, K, B, ldb, tb, j, j + 24 < N ? j + 24 : N, packed);
                const cnn_f32_packed_b whole = {packed, (N + 7) / 8 * 8, 0};
                /* Odd shapes: overwrite C, no bias; even: accumulate with a bias. */
                const int acc = s % 2 == 0;
                const float* use_bias = acc ? bias : NULL;
                cnn_f32_gemm_bias__simd(M, N, K, A, lda, ta, B, ldb, tb, use_bias, want, N, acc, ws);
                for (size_t cb = 0; cb < sizeof col_blocks / sizeof col_blocks[0] + 1 && ok; cb++) {
                    const int block = cb < sizeof col_blocks / sizeof col_blocks[0] ? col_blocks[cb] : N;
                    float* c = copy_floats(C0, (size_t)M * N);
                    for (int j0 = 0; j0 < N; j0 += block) {
                        cnn_f32_packed_b part = whole;
                        part.col0 = j0;
                        const int nb = N - j0 < block ? N - j0 : block;
                        const float* a = A;
                        const float* block_bias = use_bias ? use_bias + j0 : NULL;
                        if (cb % 2)
                            cnn_f32_gemm_bias_packed__simd(M, nb, K, a, lda, ta, &part, block_bias, c + j0, N, acc, ws);
                        else if (cnn_f32_gemm_bias_packed_finite__simd(M, nb, K, a, lda, ta, &part, block_bias, c + j0,
                                                                       N, acc, ws) != 1)
                            ok = 0, snprintf(why, sizeof why, "M=%d N=%d K=%d: finite values reported as not", M, N, K);
                    }
                    cases++;
                    for (int e = 0; e < M * N && ok; e++)
                        if (!same_float(c[e], want[e])) {
                            snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d tb=%d, column blocks of %d: C[%d] %.9g, "
                                     "unpacked %.9g", M, N, K, ta, tb, block, e, c[e], want[e]);
                            ok = 0;
                        }
                    free(c);
                }
                /* A NaN in C (accumulated onto) is seen. */
                float* c = copy_floats(C0, (size_t)M * N);
                c[(size_t)(M - 1) * N + N / 2] = NAN;
                cases++;
                if (ok && cnn_f32_gemm_bias_packed_finite__simd(M, N, K, A, lda, ta, &whole, bias, c, N, 1, ws) != 0)
                    ok = 0, snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d tb=%d: a NaN in C not seen", M, N, K, ta, tb);
                /* The references: the unpacked reference's bits. */
                float* ref = copy_floats(C0, (size_t)M * N);
                float* ref_packed = copy_floats(C0, (size_t)M * N);
                cnn_f32_gemm_bias__ref(M, N, K, A, lda, ta, B, ldb, tb, bias, ref, N, 1, NULL);
                const int r = cnn_f32_gemm_bias_packed_finite__ref(M, N, K, A, lda, ta, &whole, bias, ref_packed, N, 1,
                                                                   NULL);
                cases++;
                for (int e = 0; e < M * N && ok; e++)
                    if (!same_float(ref[e], ref_packed[e]) || r != 1) {
                        snprintf(why, sizeof why, "M=%d N=%d K=%d ta=%d tb=%d: packed __ref C[%d] %.9g, __ref %.9g",
                                 M, N, K, ta, tb, e, ref_packed[e], ref[e]);
                        ok = 0;
                    }
                free_operands(&o);
                free(want), free(packed), free(c), free(ref), free(ref_packed);
            }
    }
    report(ok, "gemm_bias_packed: the unpacked GEMM's bits, whole and in column blocks (some past 512), checked and "
           "not, with and without accumulation and bias (%d cases) %s",
           cases, why);
}

int main(void) {
    xorshift_seed(0x9E3779B97F4A7C15ull);
    printf("SIMD backend: %s\n", CNN_SIMD_BACKEND);
    test_gemm();
    test_gemm_finite();
    test_gemm_packed();
    return test_summary();
}
