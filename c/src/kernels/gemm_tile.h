/* Pieces of the 4×8 GEMM microkernel shared by gemm.c, conv_direct.c and winograd_wgrad.c (private to kernels/): the
 * tile size, B packing into 8-column panels, the edge-safe tile store and the packed-panel microkernel. */
#ifndef CNN_GEMM_TILE_H
#define CNN_GEMM_TILE_H

#include <stddef.h>

#include "simd.h"

enum {
    GEMM_MR = 4,   /* microkernel rows */
    GEMM_NR = 8,   /* microkernel columns: two f32x4 */
    GEMM_KC = 256, /* K block: A (4×KC) and B (KC×8) micro-panels sit in L1 together */
    GEMM_MC = 128, /* row block of A: 128×256×4 B = 128 KB, lives in L2 */
    GEMM_NC = 512, /* column block of packed B: up to 512 KB, lives in L2 */
    GEMM_BCAST_MIN_N = 64, /* column blocks at least this wide use broadcast A panels (gemm.c) */
};

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* Packs op(B)[k0 : k0+kc, j0 : j0+nc] into panels of GEMM_NR columns (see gemm.c). */
void cnn_f32_gemm_pack_b(int kc, int nc, const float* B, int ldb, int trans_b, int k0, int j0, float* dst);

/* The first n (0..4) floats at p, zeros in the other lanes; reads nothing past p[n-1]. */
static CNN_ALWAYS_INLINE cnn_v4f load_first(const float* p, int n) {
    switch (n) {
    case 0: return cnn_v4f_zero();
    case 1: return cnn_v4f_load1(p);
    case 2: return cnn_v4f_load2(p);
    case 3: return cnn_v4f_combine_low(cnn_v4f_load2(p), cnn_v4f_load1(p + 2));
    default: return cnn_v4f_load(p);
    }
}

/* c[0:4] (+)= v */
static CNN_ALWAYS_INLINE void store_vector(float* c, cnn_v4f v, int accumulate) {
    cnn_v4f_store(c, accumulate ? cnn_v4f_add(cnn_v4f_load(c), v) : v);
}

/* c[0:n] (+)= v[0:n] for n < 4, with 2- and 1-lane stores: nothing outside the row is read or written. */
static CNN_ALWAYS_INLINE void store_partial(float* c, cnn_v4f v, int n, int accumulate) {
    if (n & 2) {
        cnn_v4f_store2(c, accumulate ? cnn_v4f_add(cnn_v4f_load2(c), v) : v);
        c += 2;
        v = cnn_v4f_high_half(v);
    }
    if (n & 1) cnn_v4f_store1(c, accumulate ? cnn_v4f_add(cnn_v4f_load1(c), v) : v);
}

/* C[0:mr, 0:nr] (+)= acc, touching only the valid part of an edge tile. */
static CNN_ALWAYS_INLINE void store_tile(cnn_v4f acc[GEMM_MR][2], float* c, int ldc, int mr, int nr,
                                         int accumulate) {
    if (mr == GEMM_MR && nr == GEMM_NR) {
        for (int r = 0; r < GEMM_MR; r++) {
            store_vector(c + (size_t)r * ldc, acc[r][0], accumulate);
            store_vector(c + (size_t)r * ldc + 4, acc[r][1], accumulate);
        }
        return;
    }
    for (int r = 0; r < GEMM_MR; r++) {
        if (r >= mr) break;
        float* crow = c + (size_t)r * ldc;
        if (nr == GEMM_NR) {
            store_vector(crow, acc[r][0], accumulate);
            store_vector(crow + 4, acc[r][1], accumulate);
        } else if (nr >= 4) {
            store_vector(crow, acc[r][0], accumulate);
            store_partial(crow + 4, acc[r][1], nr - 4, accumulate);
        } else {
            store_partial(crow, acc[r][0], nr, accumulate);
        }
    }
}

/* acc[r][·] += rows[r][k] · b[0:8]: one k step of the 4×8 tile reading four rows of A in place (splat loads), for
 * gemm.c's in-place kernel and conv_direct.c's patch rows. */
static CNN_ALWAYS_INLINE void cnn_gemm_step_rows(cnn_v4f acc[GEMM_MR][2], const float* const rows[GEMM_MR], int k,
                                                 const float* b) {
    const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
    for (int r = 0; r < GEMM_MR; r++) {
        const cnn_v4f av = cnn_v4f_load_splat(rows[r] + k);
        acc[r][0] = cnn_v4f_muladd(acc[r][0], av, b0);
        acc[r][1] = cnn_v4f_muladd(acc[r][1], av, b1);
    }
}

/* C[0:mr, 0:nr] (+)= Σ_k a[k·4 + r] · b[k·8 + j] over a packed A panel (4 rows per k step) and a packed B panel
 * (8 columns per k step); k runs in order from 0, so every caller gets the same bits for the same panels. */
static inline void cnn_gemm_ukernel_packed(int kc, const float* a, const float* b, float* c, int ldc, int mr, int nr,
                                           int accumulate) {
    cnn_v4f acc[GEMM_MR][2];
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = acc[r][1] = cnn_v4f_zero();
    /* Loop on the B pointer against its end: one induction update fewer than a k counter (+4% on the 28x28x128 ->
     * 256 1x1 GEMM in tests/c/bench_gemm.c when it ran on this kernel, before gemm.c's broadcast A panels). */
    for (const float* b_end = b + (size_t)kc * GEMM_NR; b < b_end; a += GEMM_MR, b += GEMM_NR) {
        const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
        for (int r = 0; r < GEMM_MR; r++) {
            const cnn_v4f av = cnn_v4f_load_splat(a + r);
            acc[r][0] = cnn_v4f_muladd(acc[r][0], av, b0);
            acc[r][1] = cnn_v4f_muladd(acc[r][1], av, b1);
        }
    }
    store_tile(acc, c, ldc, mr, nr, accumulate);
}

#endif
