/* f32 GEMM: C = op(A)·op(B) (+ C). BLIS-style blocking around a 4×8 register-blocked microkernel.
 *
 * Loop nest (outer → inner): columns in NC blocks → K in KC blocks (pack that KC×NC slice of op(B) into 8-wide
 * panels) → rows in MC blocks (pack op(A) into 4-tall panels, only when A is transposed) → 8-wide column panels →
 * 4-tall row panels → microkernel. A packed B micro-panel (KC×8 floats, 8 KB) stays in L1 while row panels stream by.
 *
 * Why 4×8: 8 accumulators + 2 B vectors + a splat + a product fit the 15 xmm registers V8 allocates; 5×8 is no
 * faster and 6×8 spills (3-4× slower). The loop reaches ~99% of what independent f32x4 mul+add reaches in Node 20 on
 * this machine; unrolling K by hand made V8 spill and lost ~20%.
 *
 * op(A) is read in place when trans_a == 0 and the column block is narrower than GEMM_PACK_A_MIN_N: its rows are
 * K-contiguous, so the microkernel splats (wasm_v128_load32_splat, a broadcast load) straight from four row pointers.
 * For skinny N (LeNet: N = 6, 16; 3x3 convs with 16-64 filters) packing costs as much as the arithmetic saved
 * (measured in tests/c/bench_gemm.c, wasm: LeNet conv2 32 -> 23 GFLOP/s, ResNet 32x32x16 23 -> 15 when packed).
 * From 128 columns on, A is packed into 4-row panels too: the packed microkernel then loads A from one pointer with
 * constant offsets, fewer address updates per k step, and measured 7% faster (256³ 33.4 -> 35.6, 28x28x128 -> 256
 * 1x1 32.2 -> 34.5, ceiling 51 in the same run). Same k order either way: the results are bit-identical. Rows past M in an edge panel alias the last valid
 * row (in-bounds reads whose results are never stored). Packed panels are zero-padded; edge tiles store only their
 * valid part with 2- and 1-lane stores.
 *
 * Workspace (floats): [packed B: KC' × round_up(NC', 8)] [packed A: round_up(MC', 4) × KC'], where X' = min(X, dim).
 * Rounding: each K block adds its partial sums into C, so results differ from the __ref k-order sum by rounding. */
#include "kernels/gemm_tile.h"
#include "kernels/kernels.h"
#include "simd.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>


size_t cnn_f32_gemm_workspace_floats(int M, int N, int K) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    const size_t kc = (size_t)min_int(K, GEMM_KC);
    const size_t nc = (size_t)round_up(min_int(N, GEMM_NC), GEMM_NR);
    const size_t mc = (size_t)round_up(min_int(M, GEMM_MC), GEMM_MR);
    return kc * nc + mc * kc;
}

/* ---- reference ------------------------------------------------------------------------------------------------- */

void cnn_f32_gemm__ref(int M, int N, int K,
                       const float* A, int lda, int trans_a,
                       const float* B, int ldb, int trans_b,
                       float* C, int ldc, int accumulate, float* workspace) {
    (void)workspace;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++) {
                const float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                const float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                sum += a * b;
            }
            float* c = &C[(size_t)i * ldc + j];
            *c = accumulate ? *c + sum : sum;
        }
    }
}

/* ---- packing --------------------------------------------------------------------------------------------------- */

/* op(B)[k0 : k0+kc, j0 : j0+nc] → panels of 8 columns: panel p holds dst[p·kc·8 + k·8 + jj], zero past nc. */
void cnn_f32_gemm_pack_b(int kc, int nc, const float* B, int ldb, int trans_b, int k0, int j0, float* dst) {
    for (int jp = 0; jp < nc; jp += GEMM_NR) {
        const int nr = min_int(GEMM_NR, nc - jp);
        float* d = dst + (size_t)jp * kc;
        if (!trans_b) {
            const float* src = B + (size_t)k0 * ldb + j0 + jp;
            if (nr == GEMM_NR) {
                for (int k = 0; k < kc; k++, src += ldb, d += GEMM_NR) {
                    cnn_v4f_store(d, cnn_v4f_load(src));
                    cnn_v4f_store(d + 4, cnn_v4f_load(src + 4));
                }
            } else {
                const int lo = min_int(nr, 4), hi = nr - lo;
                for (int k = 0; k < kc; k++, src += ldb, d += GEMM_NR) {
                    cnn_v4f_store(d, load_first(src, lo));
                    cnn_v4f_store(d + 4, load_first(src + 4, hi));
                }
            }
        } else {
            /* B is N×K: each packed column is a K-contiguous source row. */
            for (int jj = 0; jj < GEMM_NR; jj++) {
                const float* src = B + (size_t)(j0 + jp + jj) * ldb + k0;
                if (jj < nr)
                    for (int k = 0; k < kc; k++) d[(size_t)k * GEMM_NR + jj] = src[k];
                else
                    for (int k = 0; k < kc; k++) d[(size_t)k * GEMM_NR + jj] = 0.0f;
            }
        }
    }
}

/* op(A)[i0 : i0+mc, k0 : k0+kc] with A stored K×M (trans_a) → panels of 4 rows: dst[p·kc·4 + k·4 + ii], zero past mc.
 * Four consecutive floats of a source row are one packed k step. */
static void pack_a_transposed(int mc, int kc, const float* A, int lda, int i0, int k0, float* dst) {
    for (int ip = 0; ip < mc; ip += GEMM_MR) {
        const int mr = min_int(GEMM_MR, mc - ip);
        const float* src = A + (size_t)k0 * lda + i0 + ip;
        float* d = dst + (size_t)ip * kc;
        if (mr == GEMM_MR)
            for (int k = 0; k < kc; k++, src += lda, d += GEMM_MR) cnn_v4f_store(d, cnn_v4f_load(src));
        else
            for (int k = 0; k < kc; k++, src += lda, d += GEMM_MR) cnn_v4f_store(d, load_first(src, mr));
    }
}

/* op(A)[i0 : i0+mc, k0 : k0+kc] with A stored M×K → the same 4-row panels (4×4 transposes). */
static void pack_a_rows(int mc, int kc, const float* A, int lda, int i0, int k0, float* dst) {
    for (int ip = 0; ip < mc; ip += GEMM_MR) {
        const int mr = min_int(GEMM_MR, mc - ip);
        const float* src = A + (size_t)(i0 + ip) * lda + k0;
        float* d = dst + (size_t)ip * kc;
        for (int k = 0; k < kc; k++)
            for (int r = 0; r < GEMM_MR; r++) d[(size_t)k * GEMM_MR + r] = r < mr ? src[(size_t)r * lda + k] : 0.0f;
    }
}

/* ---- microkernels ---------------------------------------------------------------------------------------------- */

/* Same, reading 4 rows of A in place (row stride lda, K-contiguous). Rows past mr alias the last valid row. */
static void ukernel_direct_a(int kc, const float* a, int lda, int mr, const float* b, float* c, int ldc, int nr,
                             int accumulate) {
    const float* rows[GEMM_MR];
    rows[0] = a;
    for (int r = 1; r < GEMM_MR; r++) rows[r] = r < mr ? rows[r - 1] + lda : rows[r - 1];
    cnn_v4f acc[GEMM_MR][2];
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = acc[r][1] = cnn_v4f_zero();
    for (int k = 0; k < kc; k++, b += GEMM_NR) {
        const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
        for (int r = 0; r < GEMM_MR; r++) {
            const cnn_v4f av = cnn_v4f_load_splat(rows[r] + k);
            acc[r][0] = cnn_v4f_muladd(acc[r][0], av, b0);
            acc[r][1] = cnn_v4f_muladd(acc[r][1], av, b1);
        }
    }
    store_tile(acc, c, ldc, mr, nr, accumulate);
}

/* ---- driver ---------------------------------------------------------------------------------------------------- */

void cnn_f32_gemm__simd(int M, int N, int K,
                        const float* A, int lda, int trans_a,
                        const float* B, int ldb, int trans_b,
                        float* C, int ldc, int accumulate, float* workspace) {
    if (M <= 0 || N <= 0) return;
    assert(lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N);
    assert(K <= 0 || ((uintptr_t)workspace & 15u) == 0); /* the packed panels are read with aligned vector loads */
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    const int kc_max = min_int(K, GEMM_KC);
    assert(GEMM_PACK_A_MIN_N >= GEMM_NR);
    float* packed_b = workspace;
    float* packed_a = workspace + (size_t)kc_max * round_up(min_int(N, GEMM_NC), GEMM_NR);

    for (int j0 = 0; j0 < N; j0 += GEMM_NC) {
        const int nc = min_int(GEMM_NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            const int kc = min_int(GEMM_KC, K - k0);
            const int acc = accumulate || k0 > 0; /* later K blocks add onto what the first one wrote */
            cnn_f32_gemm_pack_b(kc, nc, B, ldb, trans_b, k0, j0, packed_b);
            for (int i0 = 0; i0 < M; i0 += GEMM_MC) {
                const int mc = min_int(GEMM_MC, M - i0);
                if (trans_a) pack_a_transposed(mc, kc, A, lda, i0, k0, packed_a);
                /* Wide blocks: pack A too (the packed microkernel addresses A from one pointer with constant
                 * offsets, ~7% faster than four row pointers), where nc / 8 column panels repay the packing. */
                const int packed = trans_a || nc >= GEMM_PACK_A_MIN_N;
                if (!trans_a && packed) pack_a_rows(mc, kc, A, lda, i0, k0, packed_a);
                for (int jp = 0; jp < nc; jp += GEMM_NR) {
                    const int nr = min_int(GEMM_NR, nc - jp);
                    const float* b_panel = packed_b + (size_t)jp * kc;
                    float* c_panel = C + (size_t)i0 * ldc + j0 + jp;
                    for (int ip = 0; ip < mc; ip += GEMM_MR) {
                        const int mr = min_int(GEMM_MR, mc - ip);
                        float* c_tile = c_panel + (size_t)ip * ldc;
                        if (packed)
                            cnn_gemm_ukernel_packed(kc, packed_a + (size_t)ip * kc, b_panel, c_tile, ldc, mr, nr, acc);
                        else
                            ukernel_direct_a(kc, A + (size_t)(i0 + ip) * lda + k0, lda, mr, b_panel, c_tile, ldc,
                                             nr, acc);
                    }
                }
            }
        }
    }
}
