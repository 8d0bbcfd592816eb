/* Weight gradient of a 3×3 stride-1 convolution through Winograd F(3×3, 2×2) or F(3×3, 4×4) (see winograd.h for the
 * API).
 *
 * dW[ky][kx][ci][co] = Σ_{b,oy,ox} x[b][oy + ky − pt][ox + kx − pl][ci] · dy[b][oy][ox][co] is, per m×m tile of dy
 * and the α×α tile of x under it (α = m + 2), the correlation of an α-tap signal with an m-tap one giving 3 outputs:
 * Winograd F(3, m), the transpose of the forward pass's F(m, 3). In 1-D, with d the x taps and e the dy taps:
 *   dw = Gᵀ [(A e) ⊙ (Bᵀ d)]   with the forward pass's Bᵀ (the input transform), its Aᵀ (transposed: A e maps m dy
 *   taps to α values) and its G (transposed: Gᵀ maps α products to the 3 taps).
 * F(3, 2) (interpolation points 0, ±1, ∞):
 *   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A e = [e0, ½(e0 + e1), ½(e0 − e1), −e1],  Gᵀ = [1 1 1 0; 0 1 -1 0; 0 1 1 1]
 *   (the halves of F(2, 3)'s G are folded into A; a multiply by ½ is exact).
 * F(3, 4) (points 0, ±1, ±2, ∞; winograd.c's F4 matrices):
 *   Bᵀ = winograd.c's 6×6,  A e = [e0, e0+e1+e2+e3, e0−e1+e2−e3, e0+2e1+4e2+8e3, e0−2e1+4e2−8e3, e3],
 *   Gᵀ = [¼ −⅙ −⅙ 1/24 1/24 0; 0 −⅙ ⅙ 1/12 −1/12 0; 0 −⅙ −⅙ ⅙ ⅙ 1]
 *   (the fractions stay in the output transform: it runs once per (ci, co), the dy transform once per tile).
 * In 2-D the elementwise products of the P = α² positions sum over every tile of the batch before one output
 * transform per (ci, co):
 *   V_p[t][ci] = (Bᵀ d_t B)_p,  E_p[t][co] = (A e_t Aᵀ)_p,  M_p = Σ_t V_p[t]ᵀ E_p[t]  (P GEMMs, K = tiles),
 *   dW[:, :, ci, co] += Gᵀ M[:, :][ci][co] G.
 * Multiplies per dy position and (ci, co): 16 / 4 = 4 (F2), 36 / 16 = 2.25 (F4), instead of 9 for colsᵀ·dy. F4's
 * transformed values are larger (Bᵀ's 4s and 5s, A's 8s) and Gᵀ cancels them, so its rounding grows faster with the
 * tile count (tests/c/test_winograd.c measures both against a double sum).
 *
 * Tiles run in chunks (WGRAD_CHUNK_FLOATS of V and E, WGRAD_F4_CHUNK_FLOATS for F4); each chunk's P products add into M (the K blocks of the sum
 * over tiles are the chunks: fixed by the layer's geometry). The chunks group into at most 8 parts, each summed into
 * an M of its own, the parts added in order: threads run the parts (parallel.h's fixed partitions). Filters run in
 * blocks (M holds P · c4 · block floats); each block repeats the x transform (a few % of the products' work at 64
 * channels). A filter's dw entries depend on that filter alone (the products' columns are independent), so any split
 * of the filters across calls or threads gives the same bits.
 *
 * The transforms write V and E straight in the layout of the GEMM microkernel's packed panels (gemm_tile.h: 4 x
 * channels × 8 filters per register tile), so the P products need no packing pass.
 *
 * Scratch (floats): V [P][c4 / 4][chunk][4], E [P][block / 8][chunk][8], M [P][c4][block] (c4: c rounded up to
 * 4; padding lanes are zeros). The __ref path keeps [P][chunk][c], [P][chunk][fb], [P][c][fb] in the same space. */
#include "kernels/winograd.h"

#include <stdint.h>
#include <string.h>

#include "cnn.h"
#include "kernels/gemm_tile.h"
#include "kernels/winograd_bt.h"
#include "simd.h"

enum {
#ifndef WGRAD_CHUNK
#define WGRAD_CHUNK (128 * 1024)
#endif
    WGRAD_CHUNK_FLOATS = WGRAD_CHUNK, /* V + E of one F2 chunk: 512 KiB */
    /* F4's: 768 KiB (fewer chunks, so fewer parts to sum: 56x56x64->64 batch 1 103-105 vs 96-99 GFLOP/s at 512 KiB
     * and 96 at 1 MiB in the same runs, 16x16x32->32 batch 32 98 vs 90; F2 on 128x128x16->32 fell from 59 to 30 at
     * 768 KiB, so it keeps 512) */
    WGRAD_F4_CHUNK_FLOATS = WGRAD_CHUNK / 2 * 3,
    WGRAD_M_FLOATS = 256 * 1024,     /* M of one block of filters: 1 MiB */
    WGRAD_MIN_CHUNK = 16,
    WGRAD_MAX_CHUNK = 256, /* one GEMM K block */
    WGRAD_MAX_PARTS = CNN_WGRAD_MAX_PARTS, /* parts of the sum over tiles (wgrad_plan_make) */
    WGRAD_MAX_ALPHA = 6,
};

typedef struct wgrad_plan {
    int n, h, w, c, oh, ow, N, pt, pl;
    int m, alpha, P; /* dy tile edge, x tile edge, transform positions α² */
    int th, tw;
    int64_t tiles;
    int chunk, block; /* tiles per chunk, filters per block (a multiple of 8) */
    int c4, N8;       /* c rounded up to 4 (V's panels), N rounded up to 8 (E's panels) */
    int parts;        /* the sum over tiles runs in this many parts of whole chunks (part_range) */
    int64_t chunks;
} wgrad_plan;

static int wgrad_plan_make(const cnn_conv_geom* g, int N, int tile, wgrad_plan* p) {
    /* Same geometry checks as the forward pass (3×3, stride 1, dilation 1, pads 0..2, addressable tensors; tile 2 or
     * 4). */
    const int status = cnn_f32_winograd_check(g, N, tile);
    if (status != CNN_STATUS_OK) return status;
    memset(p, 0, sizeof *p);
    p->n = g->n, p->h = g->h, p->w = g->w, p->c = g->c, p->oh = g->oh, p->ow = g->ow, p->N = N;
    p->pt = g->pad_top, p->pl = g->pad_left;
    p->m = tile, p->alpha = tile + 2, p->P = p->alpha * p->alpha;
    p->th = (g->oh + tile - 1) / tile, p->tw = (g->ow + tile - 1) / tile;
    p->tiles = (int64_t)g->n * p->th * p->tw;
    p->c4 = (int)(((int64_t)g->c + 3) / 4 * 4), p->N8 = (int)(((int64_t)N + 7) / 8 * 8);
    int64_t block = WGRAD_M_FLOATS / (p->P * (int64_t)p->c4);
    block = block < 8 ? 8 : block & ~(int64_t)7;
    p->block = (int)(block < p->N8 ? block : p->N8);
    int64_t chunk = (tile == 4 ? WGRAD_F4_CHUNK_FLOATS : WGRAD_CHUNK_FLOATS) / (p->P * ((int64_t)p->c4 + p->block));
    chunk = chunk < WGRAD_MIN_CHUNK ? WGRAD_MIN_CHUNK : chunk > WGRAD_MAX_CHUNK ? WGRAD_MAX_CHUNK : chunk;
    p->chunk = (int)(chunk < p->tiles ? chunk : p->tiles);
    /* The sum over tiles in a fixed partition (it depends on the geometry only): each part sums its chunks into a
     * product M of its own, and the parts' products add in part order. Threads run the parts concurrently and add
     * them in that same order, so every thread count gives the bits of the serial call. The chunks spread evenly over
     * the parts (49 chunks: 8 parts of 6 or 7), so that threads get even shares. */
    p->chunks = (p->tiles + p->chunk - 1) / p->chunk;
    /* An odd count below the cap (16x16x32->32 batch 32 under F4: 7 chunks of 74 tiles) leaves one of two threads
     * a part more: one more, smaller chunk evens it (8 of 64). */
    if (p->chunks > 1 && p->chunks < WGRAD_MAX_PARTS && p->chunks % 2 == 1) {
        const int64_t even = (p->tiles + p->chunks) / (p->chunks + 1);
        if (even >= WGRAD_MIN_CHUNK) {
            p->chunk = (int)even;
            p->chunks = (p->tiles + p->chunk - 1) / p->chunk;
        }
    }
    p->parts = (int)(p->chunks < WGRAD_MAX_PARTS ? p->chunks : WGRAD_MAX_PARTS);
    return CNN_STATUS_OK;
}

/* Floats of V + E (one chunk), and of one part's M (one block of filters). */
static uint64_t wgrad_transform_floats(const wgrad_plan* p) {
    return (uint64_t)p->P * (uint64_t)p->chunk * ((uint64_t)p->c4 + (uint64_t)p->block);
}
static uint64_t wgrad_m_floats(const wgrad_plan* p) { return (uint64_t)p->P * (uint64_t)p->c4 * (uint64_t)p->block; }

/* A serial call's workspace: V + E, M, and the next part's M. */
static uint64_t wgrad_own_floats(const wgrad_plan* p) { return wgrad_transform_floats(p) + 2 * wgrad_m_floats(p); }

int cnn_f32_winograd_weight_grad_workspace_floats(const cnn_conv_geom* g, int N, int tile, uint64_t* floats) {
    wgrad_plan p;
    if (!floats) return CNN_STATUS_INVALID_ARG;
    const int status = wgrad_plan_make(g, N, tile, &p);
    if (status != CNN_STATUS_OK) return status;
    /* V and E sizes are bounded by the chunk rule (≤ 36 · 256 · (c + N) with c, N < 2^30 fits in 64 bits). */
    const uint64_t total = wgrad_own_floats(&p);
    if (total > (uint64_t)(SIZE_MAX / sizeof(float))) return CNN_STATUS_INVALID_SHAPE;
    *floats = total;
    return CNN_STATUS_OK;
}

/* ---- transforms: SIMD over 4 channels, and the scalar reference -------------------------------------------------- */

/* A e over m values → α. */
static CNN_ALWAYS_INLINE void a_1d(int m, const cnn_v4f* e, cnn_v4f* o) {
    if (m == 2) {
        const cnn_v4f half = cnn_v4f_splat(0.5f);
        o[0] = e[0];
        o[1] = cnn_v4f_mul(cnn_v4f_add(e[0], e[1]), half);
        o[2] = cnn_v4f_mul(cnn_v4f_sub(e[0], e[1]), half);
        o[3] = cnn_v4f_sub(cnn_v4f_zero(), e[1]);
    } else {
        const cnn_v4f two = cnn_v4f_splat(2.0f), four = cnn_v4f_splat(4.0f), eight = cnn_v4f_splat(8.0f);
        const cnn_v4f even1 = cnn_v4f_add(e[0], e[2]), odd1 = cnn_v4f_add(e[1], e[3]);
        const cnn_v4f even2 = cnn_v4f_add(e[0], cnn_v4f_mul(e[2], four));
        const cnn_v4f odd2 = cnn_v4f_add(cnn_v4f_mul(e[1], two), cnn_v4f_mul(e[3], eight));
        o[0] = e[0];
        o[1] = cnn_v4f_add(even1, odd1);
        o[2] = cnn_v4f_sub(even1, odd1);
        o[3] = cnn_v4f_add(even2, odd2);
        o[4] = cnn_v4f_sub(even2, odd2);
        o[5] = e[3];
    }
}

/* Gᵀ m over α values → 3. */
static CNN_ALWAYS_INLINE void gt_1d(int alpha, const cnn_v4f* m, cnn_v4f* o) {
    if (alpha == 4) {
        const cnn_v4f s = cnn_v4f_add(m[1], m[2]);
        o[0] = cnn_v4f_add(m[0], s);
        o[1] = cnn_v4f_sub(m[1], m[2]);
        o[2] = cnn_v4f_add(s, m[3]);
    } else {
        const cnn_v4f a = cnn_v4f_add(m[1], m[2]), b = cnn_v4f_sub(m[1], m[2]);
        const cnn_v4f c = cnn_v4f_add(m[3], m[4]), d = cnn_v4f_sub(m[3], m[4]);
        const cnn_v4f sixth = cnn_v4f_splat(1.0f / 6);
        o[0] = cnn_v4f_add(cnn_v4f_sub(cnn_v4f_mul(m[0], cnn_v4f_splat(0.25f)), cnn_v4f_mul(a, sixth)),
                           cnn_v4f_mul(c, cnn_v4f_splat(1.0f / 24)));
        o[1] = cnn_v4f_sub(cnn_v4f_mul(d, cnn_v4f_splat(1.0f / 12)), cnn_v4f_mul(b, sixth));
        o[2] = cnn_v4f_add(cnn_v4f_mul(cnn_v4f_sub(c, a), sixth), m[5]);
    }
}

/* Tile t: sample b and the top-left dy pixel (m·ty, m·tx). */
static CNN_ALWAYS_INLINE void tile_origin(const wgrad_plan* p, int64_t t, int* b, int* y0, int* x0) {
    const int64_t per_image = (int64_t)p->th * p->tw;
    *b = (int)(t / per_image);
    const int r = (int)(t - (int64_t)*b * per_image);
    *y0 = r / p->tw * p->m, *x0 = r % p->tw * p->m;
}

/* V for channels [c0, c0 + cb) of the x tiles of tiles t0 .. t0 + bt, as the microkernel's A panels: position pos,
 * channels k..k+3 of tile i at V[pos·bt·cb4 + k·bt + i·4] (channels past cb are zeros). */
static CNN_ALWAYS_INLINE void x_transform_simd(int alpha, const wgrad_plan* p, const float* x, int64_t t0, int bt,
                                               int c0, int cb, float* V) {
    const size_t pos_stride = (size_t)bt * p->c4, row_len = (size_t)p->w * p->c;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        const int iy0 = y0 - p->pt, ix0 = x0 - p->pl;
        const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + alpha <= p->h && ix0 + alpha <= p->w;
        const float* image = x + (size_t)b * p->h * row_len + c0;
        float* v = V + (size_t)i * 4;
        for (int k = 0; k < cb; k += 4) {
            const int nc = cb - k < 4 ? cb - k : 4;
            cnn_v4f t[WGRAD_MAX_ALPHA][WGRAD_MAX_ALPHA];
            for (int r = 0; r < alpha; r++) {
                cnn_v4f d[WGRAD_MAX_ALPHA];
                const int iy = iy0 + r;
                if (inside && nc == 4) {
                    const float* src = image + (size_t)iy * row_len + (size_t)ix0 * p->c + k;
                    for (int j = 0; j < alpha; j++) d[j] = cnn_v4f_load(src + (size_t)j * p->c);
                } else {
                    for (int j = 0; j < alpha; j++) {
                        const int ix = ix0 + j;
                        d[j] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                   ? cnn_v4f_load_part(image + (size_t)iy * row_len + (size_t)ix * p->c + k, nc)
                                   : cnn_v4f_zero();
                    }
                }
                cnn_wino_bt_1d(alpha, d, t[r]);
            }
            for (int j = 0; j < alpha; j++) {
                cnn_v4f col[WGRAD_MAX_ALPHA], o[WGRAD_MAX_ALPHA];
                for (int r = 0; r < alpha; r++) col[r] = t[r][j];
                cnn_wino_bt_1d(alpha, col, o);
                for (int r = 0; r < alpha; r++)
                    cnn_v4f_store(v + (size_t)(r * alpha + j) * pos_stride + (size_t)k * bt, o[r]);
            }
        }
    }
}

/* E for filters [f0, f0 + fb) of the dy tiles of tiles t0 .. t0 + bt (zeros past the output's edge), as the
 * microkernel's B panels: position pos, filters f0+co..f0+co+7 of tile i at E[pos·bt·fb8 + co·bt + i·8 + co % 8]
 * (filters past N are zeros). */
static CNN_ALWAYS_INLINE void dy_transform_simd(int m, const wgrad_plan* p, const float* dy, int64_t t0, int bt,
                                                int f0, int fb, float* E) {
    const int N = p->N, fb8 = (fb + 7) / 8 * 8, alpha = m + 2;
    const size_t pos_stride = (size_t)bt * fb8, row_len = (size_t)p->ow * N;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        const float* e00 = dy + ((size_t)b * p->oh + y0) * row_len + (size_t)x0 * N + f0;
        const int rows = p->oh - y0 < m ? p->oh - y0 : m, cols = p->ow - x0 < m ? p->ow - x0 : m;
        const int full = rows == m && cols == m;
        float* out = E + (size_t)i * 8;
        for (int co = 0; co < fb8; co += 4) {
            const int nc = fb - co < 4 ? fb - co : 4;
            float* panel = out + (size_t)(co & ~7) * bt + (co & 7);
            if (nc <= 0) {
                for (int q = 0; q < alpha * alpha; q++) cnn_v4f_store(panel + (size_t)q * pos_stride, cnn_v4f_zero());
                continue;
            }
            cnn_v4f t[WGRAD_MAX_ALPHA][4]; /* A applied down each of the m columns */
            for (int j = 0; j < m; j++) {
                cnn_v4f e[4];
                if (full && nc == 4) /* the common case: plain loads (load_part branches on nc) */
                    for (int r = 0; r < m; r++) e[r] = cnn_v4f_load(e00 + (size_t)r * row_len + (size_t)j * N + co);
                else
                    for (int r = 0; r < m; r++)
                        e[r] = r < rows && j < cols
                                   ? cnn_v4f_load_part(e00 + (size_t)r * row_len + (size_t)j * N + co, nc)
                                   : cnn_v4f_zero();
                cnn_v4f o[WGRAD_MAX_ALPHA];
                a_1d(m, e, o);
                for (int r = 0; r < alpha; r++) t[r][j] = o[r];
            }
            for (int r = 0; r < alpha; r++) {
                cnn_v4f o[WGRAD_MAX_ALPHA];
                a_1d(m, t[r], o);
                for (int j = 0; j < alpha; j++) cnn_v4f_store(panel + (size_t)(r * alpha + j) * pos_stride, o[j]);
            }
        }
    }
}

/* dw[:, :, k, f0 + co] += Gᵀ M[:, :][k][co] G for co < fb; M is [P][c4][fb8]. */
static void output_transform_simd(const wgrad_plan* p, const float* M, int f0, int fb, float* dw) {
    const int N = p->N, fb8 = (fb + 7) / 8 * 8, alpha = p->alpha;
    const size_t pos_stride = (size_t)p->c4 * fb8, tap_stride = (size_t)p->c * N;
    for (int k = 0; k < p->c; k++)
        for (int co = 0; co < fb; co += 4) {
            const int nc = fb - co < 4 ? fb - co : 4;
            const float* m = M + (size_t)k * fb8 + co;
            cnn_v4f t[3][WGRAD_MAX_ALPHA];
            for (int j = 0; j < alpha; j++) {
                cnn_v4f col[WGRAD_MAX_ALPHA], o[3];
                for (int r = 0; r < alpha; r++) col[r] = cnn_v4f_load(m + (size_t)(r * alpha + j) * pos_stride);
                gt_1d(alpha, col, o);
                t[0][j] = o[0], t[1][j] = o[1], t[2][j] = o[2];
            }
            for (int ky = 0; ky < 3; ky++) {
                cnn_v4f o[3];
                gt_1d(alpha, t[ky], o);
                for (int kx = 0; kx < 3; kx++) {
                    float* dst = dw + (size_t)(ky * 3 + kx) * tap_stride + (size_t)k * N + f0 + co;
                    cnn_v4f_store_part(dst, cnn_v4f_add(cnn_v4f_load_part(dst, nc), o[kx]), nc);
                }
            }
        }
}

/* Scalar reference transforms: the dense matrices in plain loops ([2] for F(3, 2), [4] for F(3, 4)). */
static const float WG2_BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const float WG2_A[4][2] = {{1, 0}, {0.5f, 0.5f}, {0.5f, -0.5f}, {0, -1}};
static const float WG2_GT[3][4] = {{1, 1, 1, 0}, {0, 1, -1, 0}, {0, 1, 1, 1}};
static const float WG4_BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                   {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const float WG4_A[6][4] = {{1, 0, 0, 0}, {1, 1, 1, 1}, {1, -1, 1, -1}, {1, 2, 4, 8}, {1, -2, 4, -8}, {0, 0, 0, 1}};
static const float WG4_GT[3][6] = {{0.25f, -1.0f / 6, -1.0f / 6, 1.0f / 24, 1.0f / 24, 0},
                                   {0, -1.0f / 6, 1.0f / 6, 1.0f / 12, -1.0f / 12, 0},
                                   {0, -1.0f / 6, -1.0f / 6, 1.0f / 6, 1.0f / 6, 1}};

/* Element (r, c) of the dense matrices of this plan. */
static float ref_bt(const wgrad_plan* p, int r, int c) { return p->m == 2 ? WG2_BT[r][c] : WG4_BT[r][c]; }
static float ref_a(const wgrad_plan* p, int r, int c) { return p->m == 2 ? WG2_A[r][c] : WG4_A[r][c]; }
static float ref_gt(const wgrad_plan* p, int r, int c) { return p->m == 2 ? WG2_GT[r][c] : WG4_GT[r][c]; }

static void x_transform_ref(const wgrad_plan* p, const float* x, int64_t t0, int bt, int c0, int cb, float* V) {
    const int alpha = p->alpha;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        for (int k = 0; k < cb; k++) {
            float d[WGRAD_MAX_ALPHA][WGRAD_MAX_ALPHA], t[WGRAD_MAX_ALPHA][WGRAD_MAX_ALPHA];
            for (int r = 0; r < alpha; r++)
                for (int j = 0; j < alpha; j++) {
                    const int iy = y0 - p->pt + r, ix = x0 - p->pl + j;
                    d[r][j] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                  ? x[(((size_t)b * p->h + iy) * p->w + ix) * p->c + c0 + k]
                                  : 0.0f;
                }
            for (int a = 0; a < alpha; a++)
                for (int j = 0; j < alpha; j++) {
                    float s = 0.0f;
                    for (int r = 0; r < alpha; r++) s += ref_bt(p, a, r) * d[r][j];
                    t[a][j] = s;
                }
            for (int a = 0; a < alpha; a++)
                for (int q = 0; q < alpha; q++) {
                    float s = 0.0f;
                    for (int j = 0; j < alpha; j++) s += t[a][j] * ref_bt(p, q, j);
                    V[((size_t)(a * alpha + q) * bt + i) * cb + k] = s;
                }
        }
    }
}

static void dy_transform_ref(const wgrad_plan* p, const float* dy, int64_t t0, int bt, int f0, int fb, float* E) {
    const int N = p->N, m = p->m, alpha = p->alpha;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        for (int co = 0; co < fb; co++) {
            float e[4][4], t[WGRAD_MAX_ALPHA][4];
            for (int r = 0; r < m; r++)
                for (int j = 0; j < m; j++)
                    e[r][j] = y0 + r < p->oh && x0 + j < p->ow
                                  ? dy[(((size_t)b * p->oh + y0 + r) * p->ow + x0 + j) * N + f0 + co]
                                  : 0.0f;
            for (int a = 0; a < alpha; a++)
                for (int j = 0; j < m; j++) {
                    float s = 0.0f;
                    for (int r = 0; r < m; r++) s += ref_a(p, a, r) * e[r][j];
                    t[a][j] = s;
                }
            for (int a = 0; a < alpha; a++)
                for (int q = 0; q < alpha; q++) {
                    float s = 0.0f;
                    for (int j = 0; j < m; j++) s += t[a][j] * ref_a(p, q, j);
                    E[((size_t)(a * alpha + q) * bt + i) * fb + co] = s;
                }
        }
    }
}

static void output_transform_ref(const wgrad_plan* p, const float* M, int f0, int fb, float* dw) {
    const int N = p->N, alpha = p->alpha;
    for (int k = 0; k < p->c; k++)
        for (int co = 0; co < fb; co++) {
            float t[3][WGRAD_MAX_ALPHA];
            for (int r = 0; r < 3; r++)
                for (int q = 0; q < alpha; q++) {
                    float s = 0.0f;
                    for (int a = 0; a < alpha; a++)
                        s += ref_gt(p, r, a) * M[((size_t)(a * alpha + q) * p->c + k) * fb + co];
                    t[r][q] = s;
                }
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    float s = 0.0f;
                    for (int q = 0; q < alpha; q++) s += t[ky][q] * ref_gt(p, kx, q);
                    dw[((size_t)(ky * 3 + kx) * p->c + k) * N + f0 + co] += s;
                }
        }
}

/* ---- driver ------------------------------------------------------------------------------------------------------ */

/* The transforms of one chunk, specialised per tile size (the constant α unrolls their loops). */
static void chunk_transforms_simd(const wgrad_plan* p, const float* x, const float* dy, int64_t t0, int bt, int f0,
                                  int fb, float* V, float* E) {
    if (p->m == 2) {
        x_transform_simd(4, p, x, t0, bt, 0, p->c, V);
        dy_transform_simd(2, p, dy, t0, bt, f0, fb, E);
    } else {
        x_transform_simd(6, p, x, t0, bt, 0, p->c, V);
        dy_transform_simd(4, p, dy, t0, bt, f0, fb, E);
    }
}

/* M (+)= the P products of the tiles [t_first, t_end) for filters [f0, f0 + fb), chunk by chunk: the first chunk
 * writes M, later ones add (the K blocks of the sum are the chunks). V and E: one chunk's transforms. SIMD: M is
 * [P][c4][fb8] from the transforms' packed panels; reference: [P][c][fb]. */
static void part_products(const wgrad_plan* p, const float* x, const float* dy, int f0, int fb, int64_t t_first,
                          int64_t t_end, float* V, float* E, float* M, int simd) {
    const int fb8 = (fb + 7) / 8 * 8;
    for (int64_t t0 = t_first; t0 < t_end; t0 += p->chunk) {
        const int bt = t_end - t0 < p->chunk ? (int)(t_end - t0) : p->chunk;
        if (simd) {
            chunk_transforms_simd(p, x, dy, t0, bt, f0, fb, V, E);
            for (int pos = 0; pos < p->P; pos++)
                for (int k = 0; k < p->c4; k += 4)
                    for (int co = 0; co < fb8; co += 8)
                        cnn_gemm_ukernel_packed(bt, V + ((size_t)pos * p->c4 + k) * bt, E + ((size_t)pos * fb8 + co) * bt,
                                                M + ((size_t)pos * p->c4 + k) * fb8 + co, fb8, 4, 8, t0 > t_first);
        } else {
            x_transform_ref(p, x, t0, bt, 0, p->c, V);
            dy_transform_ref(p, dy, t0, bt, f0, fb, E);
            for (int pos = 0; pos < p->P; pos++)
                cnn_f32_gemm__ref(p->c, fb, bt, V + (size_t)pos * bt * p->c, p->c, 1, E + (size_t)pos * bt * fb, fb, 0,
                                  M + (size_t)pos * p->c * fb, fb, t0 > t_first, NULL);
        }
    }
}

/* Part `part`: chunks [part · chunks / parts, (part + 1) · chunks / parts). */
static void part_range(const wgrad_plan* p, int part, int64_t* t_first, int64_t* t_end) {
    *t_first = part * p->chunks / p->parts * p->chunk;
    const int64_t end = (part + 1) * p->chunks / p->parts * p->chunk;
    *t_end = end < p->tiles ? end : p->tiles;
}

static int weight_grad(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy, float* dw,
                       float* workspace, int first, int end, int simd) {
    wgrad_plan p;
    const int status = wgrad_plan_make(g, N, tile, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!x || !dy || !dw || !workspace || first < 0 || first > end || end > N || (first % 8 != 0 && first != end))
        return CNN_STATUS_INVALID_ARG;
    /* The x transform runs once per block of filters: the filters of [first, end) in blocks of p.block. */
    for (int f0 = first; f0 < end; f0 += p.block) {
        const int fb = end - f0 < p.block ? end - f0 : p.block, fb8 = (fb + 7) / 8 * 8;
        float* V = workspace;
        float* E = V + (size_t)p.P * p.chunk * p.c4;
        float* M = V + wgrad_transform_floats(&p);
        float* next = M + wgrad_m_floats(&p);
        const size_t m_count = simd ? (size_t)p.P * p.c4 * fb8 : (size_t)p.P * p.c * fb;
        for (int part = 0; part < p.parts; part++) {
            int64_t t_first, t_end;
            part_range(&p, part, &t_first, &t_end);
            part_products(&p, x, dy, f0, fb, t_first, t_end, V, E, part ? next : M, simd);
            if (part) /* in part order, as cnn_f32_winograd_weight_grad_sum_parts */
                for (size_t i = 0; i < m_count; i++) M[i] += next[i];
        }
        if (simd) output_transform_simd(&p, M, f0, fb, dw);
        else output_transform_ref(&p, M, f0, fb, dw);
    }
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_weight_grad_layout(const cnn_conv_geom* g, int N, int tile, cnn_wgrad_layout* layout) {
    wgrad_plan p;
    if (!layout) return CNN_STATUS_INVALID_ARG;
    const int status = wgrad_plan_make(g, N, tile, &p);
    if (status != CNN_STATUS_OK) return status;
    layout->parts = p.parts;
    layout->block = p.block;
    layout->positions = p.P;
    layout->transform_floats = wgrad_transform_floats(&p);
    layout->part_floats = wgrad_m_floats(&p);
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_weight_grad_part__simd(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                                            int f0, int part, float* workspace, float* M) {
    wgrad_plan p;
    const int status = wgrad_plan_make(g, N, tile, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!x || !dy || !workspace || !M || f0 < 0 || f0 >= N || f0 % p.block != 0 || part < 0 || part >= p.parts)
        return CNN_STATUS_INVALID_ARG;
    const int fb = N - f0 < p.block ? N - f0 : p.block;
    int64_t t_first, t_end;
    part_range(&p, part, &t_first, &t_end);
    part_products(&p, x, dy, f0, fb, t_first, t_end, workspace, workspace + (size_t)p.P * p.chunk * p.c4, M, 1);
    return CNN_STATUS_OK;
}

void cnn_f32_winograd_weight_grad_sum_parts(size_t begin, size_t end, int parts, float* const* M) {
    /* 4 entries per vector (clang left the scalar loop scalar: the parts' pointers may alias), the same adds in the
     * same order per entry; the tail scalar. */
    for (; begin + 4 <= end; begin += 4) {
        cnn_v4f sum = cnn_v4f_load(M[0] + begin);
        for (int q = 1; q < parts; q++) sum = cnn_v4f_add(sum, cnn_v4f_load(M[q] + begin));
        cnn_v4f_store(M[0] + begin, sum);
    }
    for (size_t i = begin; i < end; i++) {
        float sum = M[0][i];
        for (int q = 1; q < parts; q++) sum += M[q][i];
        M[0][i] = sum;
    }
}

int cnn_f32_winograd_weight_grad_finish__simd(const cnn_conv_geom* g, int N, int tile, const float* M, int f0,
                                              float* dw) {
    wgrad_plan p;
    const int status = wgrad_plan_make(g, N, tile, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!M || !dw || f0 < 0 || f0 >= N || f0 % p.block != 0) return CNN_STATUS_INVALID_ARG;
    output_transform_simd(&p, M, f0, N - f0 < p.block ? N - f0 : p.block, dw);
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_weight_grad__simd(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                                       float* dw, float* workspace, int first, int end) {
    return weight_grad(g, N, tile, x, dy, dw, workspace, first, end, 1);
}

int cnn_f32_winograd_weight_grad__ref(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                                      float* dw, float* workspace, int first, int end) {
    return weight_grad(g, N, tile, x, dy, dw, workspace, first, end, 0);
}
