/* Weight gradient of convolutions with few input channels and few filters (a network's first layer: LeNet's 1 -> 6,
 * an RGB image's 3 -> 16), straight from x and dy:
 *   dw[ky][kx][ci][co] += Σ_{b, oy, ox} x[b][oy·sh + ky·dh − pt][ox·sw + kx·dw − pl][ci] · dy[b][oy][ox][co].
 * im2col + colsᵀ·dy writes a patch matrix kh·kw·c wide and runs a GEMM whose output is a few 4×8 tiles: on LeNet's
 * first layer it ran at 4 GFLOP/s. Here each (tap, ci) pair keeps its ⌈N/4⌉ sums in registers over a block of
 * output rows (dy's block stays in L1 across the taps); the blocks are fixed by the geometry and added in order.
 * A (tap, ci) pair's sums depend on that pair alone, so any split of the pairs across calls or threads gives the
 * same bits. The __ref twin runs the same order in scalars (same bits). */
#include "kernels/kernels.h"
#include "simd.h"

enum { WGRAD_DIRECT_BLOCK_ROWS = 4 }; /* output rows (across the batch) per block */

int cnn_f32_conv2d_weight_grad_direct_supported(const cnn_conv_geom* g, int N) {
    return g->c >= 1 && g->c <= CNN_WGRAD_DIRECT_MAX_CHANNELS && N >= 1 && N <= CNN_WGRAD_DIRECT_MAX_FILTERS;
}

/* The output columns [*lo, *hi) whose tap column kx reads inside the image. */
static void valid_columns(const cnn_conv_geom* g, int kx, int* lo, int* hi) {
    const int off = kx * g->dw - g->pad_left; /* ix = ox·sw + off */
    int a = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
    int b = g->w - off <= 0 ? 0 : (g->w - off + g->sw - 1) / g->sw;
    if (b > g->ow) b = g->ow;
    *lo = a;
    *hi = b > a ? b : a;
}

/* s[0:nv] += x · dy[0:N] for one output column: nv vectors of 4 filters, the last holding `tail` of them. */
static CNN_ALWAYS_INLINE void pair_step(const float* xp, const float* dyp, int nv, int tail, cnn_v4f* s0, cnn_v4f* s1,
                                        cnn_v4f* s2, cnn_v4f* s3) {
    const cnn_v4f xv = cnn_v4f_load_splat(xp);
    if (tail == 4) {
        *s0 = cnn_v4f_muladd(*s0, xv, cnn_v4f_load(dyp));
        if (nv > 1) *s1 = cnn_v4f_muladd(*s1, xv, cnn_v4f_load(dyp + 4));
        if (nv > 2) *s2 = cnn_v4f_muladd(*s2, xv, cnn_v4f_load(dyp + 8));
        if (nv > 3) *s3 = cnn_v4f_muladd(*s3, xv, cnn_v4f_load(dyp + 12));
        return;
    }
    const cnn_v4f lv = cnn_v4f_load_part(dyp + 4 * (nv - 1), tail);
    *s0 = cnn_v4f_muladd(*s0, xv, nv == 1 ? lv : cnn_v4f_load(dyp));
    if (nv > 1) *s1 = cnn_v4f_muladd(*s1, xv, nv == 2 ? lv : cnn_v4f_load(dyp + 4));
    if (nv > 2) *s2 = cnn_v4f_muladd(*s2, xv, nv == 3 ? lv : cnn_v4f_load(dyp + 8));
    if (nv > 3) *s3 = cnn_v4f_muladd(*s3, xv, lv);
}

/* One (tap, channel) pair over output rows [r0, r1): out[0:N] += Σ x · dy, in nv vectors of 4 filters (the last
 * holds `tail` of them). nv and tail are constants at each call site (always inlined): the sums live in registers
 * and the partial load is one instruction. Two columns per iteration, each its own basic block with the exit test
 * between them (as gemm.c's ukernel_bcast_a): V8 is front-end bound here, and hoists a block's loads to its top.
 * Kernel alone in wasm under V8's optimizing tier (node --no-liftoff, fastest of 40 calls): LeNet's first layer at
 * batch 64 1.52-1.59 -> 1.16-1.21 ms, RGB 3 -> 16 3x3 at batch 32 1.21-1.26 -> 1.16-1.20. Two sets of sums (even and
 * odd columns) instead of one: no gain. */
static CNN_ALWAYS_INLINE void pair_rows_simd(const cnn_conv_geom* g, int N, const float* x, const float* dy, int r0,
                                             int r1, int ky, int kx, int ci, int lo, int hi, int nv, int tail,
                                             float* out) {
    cnn_v4f a0 = cnn_v4f_zero(), a1 = a0, a2 = a0, a3 = a0;
    const int c = g->c, ix0 = lo * g->sw + kx * g->dw - g->pad_left;
    const size_t x_step = (size_t)g->sw * c;
    for (int r = r0; r < r1; r++) {
        const int b = r / g->oh, oy = r % g->oh, iy = oy * g->sh + ky * g->dh - g->pad_top;
        if (iy < 0 || iy >= g->h) continue;
        const float* xp = x + (((size_t)b * g->h + iy) * g->w + ix0) * c + ci;
        const float* dyp = dy + ((size_t)r * g->ow + lo) * N;
        const float* dy_end = dyp + (size_t)(hi - lo) * N; /* lo < hi: weight_grad skips empty taps */
        for (;;) {
            pair_step(xp, dyp, nv, tail, &a0, &a1, &a2, &a3);
            xp += x_step, dyp += N;
            if (dyp == dy_end) break;
            pair_step(xp, dyp, nv, tail, &a0, &a1, &a2, &a3);
            xp += x_step, dyp += N;
            if (dyp == dy_end) break;
        }
    }
    const cnn_v4f acc[4] = {a0, a1, a2, a3};
    for (int q = 0; q < nv; q++) {
        const int n = q < nv - 1 ? 4 : tail;
        cnn_v4f_store_part(out + 4 * q, cnn_v4f_add(cnn_v4f_load_part(out + 4 * q, n), acc[q]), n);
    }
}

static void weight_grad(const cnn_conv_geom* g, int N, const float* x, const float* dy, float* dw, int first, int end,
                        int simd) {
    const int c = g->c, rows = g->n * g->oh;
    for (int r0 = 0; r0 < rows; r0 += WGRAD_DIRECT_BLOCK_ROWS) {
        const int r1 = rows - r0 < WGRAD_DIRECT_BLOCK_ROWS ? rows : r0 + WGRAD_DIRECT_BLOCK_ROWS;
        for (int pair = first; pair < end; pair++) {
            const int tap = pair / c, ci = pair % c, ky = tap / g->kw, kx = tap % g->kw;
            int lo, hi;
            valid_columns(g, kx, &lo, &hi);
            if (lo >= hi) continue; /* every column of this tap falls in the padding */
            float* out = dw + (size_t)pair * N;
            if (simd) {
                /* The vector count and the last vector's width as constants: the sums stay in named registers
                 * and the partial load is one instruction, not a switch in the loop. */
#define PAIR_ROWS(n) \
    case n: pair_rows_simd(g, N, x, dy, r0, r1, ky, kx, ci, lo, hi, ((n) + 3) / 4, (n) - 4 * (((n) + 3) / 4 - 1), out); break;
                switch (N) {
                PAIR_ROWS(1) PAIR_ROWS(2) PAIR_ROWS(3) PAIR_ROWS(4) PAIR_ROWS(5) PAIR_ROWS(6) PAIR_ROWS(7)
                PAIR_ROWS(8) PAIR_ROWS(9) PAIR_ROWS(10) PAIR_ROWS(11) PAIR_ROWS(12) PAIR_ROWS(13) PAIR_ROWS(14)
                PAIR_ROWS(15) default: PAIR_ROWS(16)
                }
#undef PAIR_ROWS
            } else {
                float acc[CNN_WGRAD_DIRECT_MAX_FILTERS] = {0};
                for (int r = r0; r < r1; r++) {
                    const int b = r / g->oh, oy = r % g->oh, iy = oy * g->sh + ky * g->dh - g->pad_top;
                    if (iy < 0 || iy >= g->h) continue;
                    for (int ox = lo; ox < hi; ox++) {
                        const float xv = x[(((size_t)b * g->h + iy) * g->w + ox * g->sw + kx * g->dw - g->pad_left) * c + ci];
                        for (int co = 0; co < N; co++) acc[co] += xv * dy[((size_t)r * g->ow + ox) * N + co];
                    }
                }
                for (int co = 0; co < N; co++) out[co] += acc[co];
            }
        }
    }
}

void cnn_f32_conv2d_weight_grad_direct__simd(const cnn_conv_geom* g, int N, const float* x, const float* dy,
                                             float* dw, int first, int end) {
    weight_grad(g, N, x, dy, dw, first, end, 1);
}

void cnn_f32_conv2d_weight_grad_direct__ref(const cnn_conv_geom* g, int N, const float* x, const float* dy,
                                            float* dw, int first, int end) {
    weight_grad(g, N, x, dy, dw, first, end, 0);
}
