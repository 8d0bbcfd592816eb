/* Weight gradient of a 3×3 stride-1 convolution through Winograd F(3×3, 2×2) (see winograd.h for the API).
 *
 * dW[ky][kx][ci][co] = Σ_{b,oy,ox} x[b][oy + ky − pt][ox + kx − pl][ci] · dy[b][oy][ox][co] is, per 2×2 tile of dy
 * and the 4×4 tile of x under it, the correlation of a 4-tap signal with a 2-tap one giving 3 outputs: Winograd
 * F(3, 2), the transpose of the forward pass's F(2, 3). In 1-D, with d the x taps and e the dy taps:
 *   dw = Gᵀ [(A e) ⊙ (Bᵀ d)],   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] (the forward input transform),
 *   A e = [e0, ½(e0 + e1), ½(e0 − e1), −e1],   Gᵀ = [1 1 1 0; 0 1 -1 0; 0 1 1 1]
 * (the halves of F(2, 3)'s G are folded into A; a multiply by ½ is exact). In 2-D the elementwise products of the 16
 * positions sum over every tile of the batch before one output transform per (ci, co):
 *   V_p[t][ci] = (Bᵀ d_t B)_p,  E_p[t][co] = (A e_t Aᵀ)_p,  M_p = Σ_t V_p[t]ᵀ E_p[t]  (16 GEMMs, K = tiles),
 *   dW[:, :, ci, co] += Gᵀ M[:, :][ci][co] G.
 * 16 multiplies per dy tile and (ci, co) instead of 36: 2.25x fewer than colsᵀ·dy.
 *
 * Tiles run in chunks (WGRAD_CHUNK_FLOATS of V and E); each chunk's 16 products add into M (the K blocks of the sum
 * over tiles are the chunks: fixed by the layer's geometry). The chunks group into at most 8 parts, each summed into
 * an M of its own, the parts added in order: threads run the parts (parallel.h's fixed partitions). Filters run in blocks (M holds 16 · c4 · block floats);
 * each block repeats the x transform (a few % of the products' work at 64 channels). A filter's dw entries depend
 * on that filter alone (the products' columns are independent), so any split of the filters across calls or
 * threads gives the same bits.
 *
 * The transforms write V and E straight in the layout of the GEMM microkernel's packed panels (gemm_tile.h: 4 x
 * channels × 8 filters per register tile), so the 16 products need no packing pass.
 *
 * Scratch (floats): V [16][c4 / 4][chunk][4], E [16][block / 8][chunk][8], M [16][c4][block] (c4: c rounded up to
 * 4; padding lanes are zeros). The __ref path keeps [16][chunk][c], [16][chunk][fb], [16][c][fb] in the same space. */
#include "kernels/winograd.h"

#include <stdint.h>
#include <string.h>

#include "cnn.h"
#include "kernels/gemm_tile.h"
#include "simd.h"

enum {
#ifndef WGRAD_CHUNK
#define WGRAD_CHUNK (128 * 1024)
#endif
    WGRAD_CHUNK_FLOATS = WGRAD_CHUNK, /* V + E of one chunk: 512 KiB */
    WGRAD_M_FLOATS = 256 * 1024,     /* M of one block of filters: 1 MiB */
    WGRAD_MIN_CHUNK = 16,
    WGRAD_MAX_CHUNK = 256, /* one GEMM K block */
    WGRAD_MAX_PARTS = CNN_WGRAD_MAX_PARTS, /* parts of the sum over tiles (wgrad_plan_make) */
};

typedef struct wgrad_plan {
    int n, h, w, c, oh, ow, N, pt, pl;
    int th, tw;
    int64_t tiles;
    int chunk, block; /* tiles per chunk, filters per block (a multiple of 8) */
    int c4, N8;       /* c rounded up to 4 (V's panels), N rounded up to 8 (E's panels) */
    int parts;        /* the sum over tiles runs in this many parts of whole chunks (part_range) */
    int64_t chunks;
} wgrad_plan;

static int wgrad_plan_make(const cnn_conv_geom* g, int N, wgrad_plan* p) {
    /* Same geometry checks as the forward pass (3×3, stride 1, dilation 1, pads 0..2, addressable tensors). */
    const int status = cnn_f32_winograd_check(g, N, 2);
    if (status != CNN_STATUS_OK) return status;
    memset(p, 0, sizeof *p);
    p->n = g->n, p->h = g->h, p->w = g->w, p->c = g->c, p->oh = g->oh, p->ow = g->ow, p->N = N;
    p->pt = g->pad_top, p->pl = g->pad_left;
    p->th = (g->oh + 1) / 2, p->tw = (g->ow + 1) / 2;
    p->tiles = (int64_t)g->n * p->th * p->tw;
    p->c4 = (int)(((int64_t)g->c + 3) / 4 * 4), p->N8 = (int)(((int64_t)N + 7) / 8 * 8);
    int64_t block = WGRAD_M_FLOATS / (16 * (int64_t)p->c4);
    block = block < 8 ? 8 : block & ~(int64_t)7;
    p->block = (int)(block < p->N8 ? block : p->N8);
    int64_t chunk = WGRAD_CHUNK_FLOATS / (16 * ((int64_t)p->c4 + p->block));
    chunk = chunk < WGRAD_MIN_CHUNK ? WGRAD_MIN_CHUNK : chunk > WGRAD_MAX_CHUNK ? WGRAD_MAX_CHUNK : chunk;
    p->chunk = (int)(chunk < p->tiles ? chunk : p->tiles);
    /* The sum over tiles in a fixed partition (it depends on the geometry only): each part sums its chunks into a
     * product M of its own, and the parts' products add in part order. Threads run the parts concurrently and add
     * them in that same order, so every thread count gives the bits of the serial call. The chunks spread evenly over
     * the parts (49 chunks: 8 parts of 6 or 7), so that threads get even shares. */
    p->chunks = (p->tiles + p->chunk - 1) / p->chunk;
    p->parts = (int)(p->chunks < WGRAD_MAX_PARTS ? p->chunks : WGRAD_MAX_PARTS);
    return CNN_STATUS_OK;
}

/* Floats of V + E (one chunk), and of one part's M (one block of filters). */
static uint64_t wgrad_transform_floats(const wgrad_plan* p) {
    return 16 * (uint64_t)p->chunk * ((uint64_t)p->c4 + (uint64_t)p->block);
}
static uint64_t wgrad_m_floats(const wgrad_plan* p) { return 16 * (uint64_t)p->c4 * (uint64_t)p->block; }

/* A serial call's workspace: V + E, M, and the next part's M. */
static uint64_t wgrad_own_floats(const wgrad_plan* p) { return wgrad_transform_floats(p) + 2 * wgrad_m_floats(p); }

int cnn_f32_winograd_weight_grad_workspace_floats(const cnn_conv_geom* g, int N, uint64_t* floats) {
    wgrad_plan p;
    if (!floats) return CNN_STATUS_INVALID_ARG;
    const int status = wgrad_plan_make(g, N, &p);
    if (status != CNN_STATUS_OK) return status;
    /* V and E sizes are bounded by the chunk rule (≤ 16 · 256 · (c + N) with c, N < 2^30 fits in 64 bits). */
    const uint64_t total = wgrad_own_floats(&p);
    if (total > (uint64_t)(SIZE_MAX / sizeof(float))) return CNN_STATUS_INVALID_SHAPE;
    *floats = total;
    return CNN_STATUS_OK;
}

/* ---- transforms: SIMD over 4 channels, and the scalar reference -------------------------------------------------- */

/* Bᵀ d over 4 values. */
static CNN_ALWAYS_INLINE void bt4(const cnn_v4f* d, cnn_v4f* o) {
    o[0] = cnn_v4f_sub(d[0], d[2]);
    o[1] = cnn_v4f_add(d[1], d[2]);
    o[2] = cnn_v4f_sub(d[2], d[1]);
    o[3] = cnn_v4f_sub(d[1], d[3]);
}

/* A e over 2 values → 4. */
static CNN_ALWAYS_INLINE void a2(cnn_v4f e0, cnn_v4f e1, cnn_v4f* o) {
    const cnn_v4f half = cnn_v4f_splat(0.5f);
    o[0] = e0;
    o[1] = cnn_v4f_mul(cnn_v4f_add(e0, e1), half);
    o[2] = cnn_v4f_mul(cnn_v4f_sub(e0, e1), half);
    o[3] = cnn_v4f_sub(cnn_v4f_zero(), e1);
}

/* Gᵀ m over 4 values → 3. */
static CNN_ALWAYS_INLINE void gt4(const cnn_v4f* m, cnn_v4f* o) {
    const cnn_v4f s = cnn_v4f_add(m[1], m[2]);
    o[0] = cnn_v4f_add(m[0], s);
    o[1] = cnn_v4f_sub(m[1], m[2]);
    o[2] = cnn_v4f_add(s, m[3]);
}

/* Tile t: sample b and the top-left dy pixel (2·ty, 2·tx). */
static CNN_ALWAYS_INLINE void tile_origin(const wgrad_plan* p, int64_t t, int* b, int* y0, int* x0) {
    const int64_t per_image = (int64_t)p->th * p->tw;
    *b = (int)(t / per_image);
    const int r = (int)(t - (int64_t)*b * per_image);
    *y0 = r / p->tw * 2, *x0 = r % p->tw * 2;
}

/* V for channels [c0, c0 + cb) of the x tiles of tiles t0 .. t0 + bt, as the microkernel's A panels: position pos,
 * channels k..k+3 of tile i at V[pos·bt·cb4 + k·bt + i·4] (channels past cb are zeros). */
static void x_transform_simd(const wgrad_plan* p, const float* x, int64_t t0, int bt, int c0, int cb, float* V) {
    const size_t pos_stride = (size_t)bt * p->c4, row_len = (size_t)p->w * p->c;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        const int iy0 = y0 - p->pt, ix0 = x0 - p->pl;
        const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= p->h && ix0 + 4 <= p->w;
        const float* image = x + (size_t)b * p->h * row_len + c0;
        float* v = V + (size_t)i * 4;
        for (int k = 0; k < cb; k += 4) {
            const int nc = cb - k < 4 ? cb - k : 4;
            cnn_v4f t[4][4];
            for (int r = 0; r < 4; r++) {
                cnn_v4f d[4];
                const int iy = iy0 + r;
                if (inside && nc == 4) {
                    const float* src = image + (size_t)iy * row_len + (size_t)ix0 * p->c + k;
                    for (int j = 0; j < 4; j++) d[j] = cnn_v4f_load(src + (size_t)j * p->c);
                } else {
                    for (int j = 0; j < 4; j++) {
                        const int ix = ix0 + j;
                        d[j] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                   ? cnn_v4f_load_part(image + (size_t)iy * row_len + (size_t)ix * p->c + k, nc)
                                   : cnn_v4f_zero();
                    }
                }
                bt4(d, t[r]);
            }
            for (int j = 0; j < 4; j++) {
                const cnn_v4f col[4] = {t[0][j], t[1][j], t[2][j], t[3][j]};
                cnn_v4f o[4];
                bt4(col, o);
                for (int r = 0; r < 4; r++) cnn_v4f_store(v + (size_t)(r * 4 + j) * pos_stride + (size_t)k * bt, o[r]);
            }
        }
    }
}

/* E for filters [f0, f0 + fb) of the dy tiles of tiles t0 .. t0 + bt (zeros past the output's edge), as the
 * microkernel's B panels: position pos, filters f0+co..f0+co+7 of tile i at E[pos·bt·fb8 + co·bt + i·8 + co % 8]
 * (filters past N are zeros). */
static void dy_transform_simd(const wgrad_plan* p, const float* dy, int64_t t0, int bt, int f0, int fb, float* E) {
    const int N = p->N, fb8 = (fb + 7) / 8 * 8;
    const size_t pos_stride = (size_t)bt * fb8, row_len = (size_t)p->ow * N;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        const float* e00 = dy + ((size_t)b * p->oh + y0) * row_len + (size_t)x0 * N + f0;
        const int has_y1 = y0 + 1 < p->oh, has_x1 = x0 + 1 < p->ow;
        float* out = E + (size_t)i * 8;
        for (int co = 0; co < fb8; co += 4) {
            const int nc = fb - co < 4 ? fb - co : 4;
            float* panel = out + (size_t)(co & ~7) * bt + (co & 7);
            if (nc <= 0) {
                for (int q = 0; q < 16; q++) cnn_v4f_store(panel + (size_t)q * pos_stride, cnn_v4f_zero());
                continue;
            }
            const cnn_v4f e[2][2] = {
                {cnn_v4f_load_part(e00 + co, nc), has_x1 ? cnn_v4f_load_part(e00 + N + co, nc) : cnn_v4f_zero()},
                {has_y1 ? cnn_v4f_load_part(e00 + row_len + co, nc) : cnn_v4f_zero(),
                 has_y1 && has_x1 ? cnn_v4f_load_part(e00 + row_len + N + co, nc) : cnn_v4f_zero()}};
            cnn_v4f c0[4], c1[4]; /* A applied down each of the 2 columns */
            a2(e[0][0], e[1][0], c0);
            a2(e[0][1], e[1][1], c1);
            for (int r = 0; r < 4; r++) {
                cnn_v4f o[4];
                a2(c0[r], c1[r], o);
                for (int j = 0; j < 4; j++) cnn_v4f_store(panel + (size_t)(r * 4 + j) * pos_stride, o[j]);
            }
        }
    }
}

/* dw[:, :, k, f0 + co] += Gᵀ M[:, :][k][co] G for co < fb; M is [16][c4][fb8]. */
static void output_transform_simd(const wgrad_plan* p, const float* M, int f0, int fb, float* dw) {
    const int N = p->N, fb8 = (fb + 7) / 8 * 8;
    const size_t pos_stride = (size_t)p->c4 * fb8, tap_stride = (size_t)p->c * N;
    for (int k = 0; k < p->c; k++)
        for (int co = 0; co < fb; co += 4) {
            const int nc = fb - co < 4 ? fb - co : 4;
            const float* m = M + (size_t)k * fb8 + co;
            cnn_v4f t[3][4];
            for (int j = 0; j < 4; j++) {
                const cnn_v4f col[4] = {cnn_v4f_load(m + (size_t)j * pos_stride),
                                        cnn_v4f_load(m + (size_t)(4 + j) * pos_stride),
                                        cnn_v4f_load(m + (size_t)(8 + j) * pos_stride),
                                        cnn_v4f_load(m + (size_t)(12 + j) * pos_stride)};
                cnn_v4f o[3];
                gt4(col, o);
                t[0][j] = o[0], t[1][j] = o[1], t[2][j] = o[2];
            }
            for (int ky = 0; ky < 3; ky++) {
                cnn_v4f o[3];
                gt4(t[ky], o);
                for (int kx = 0; kx < 3; kx++) {
                    float* dst = dw + (size_t)(ky * 3 + kx) * tap_stride + (size_t)k * N + f0 + co;
                    cnn_v4f_store_part(dst, cnn_v4f_add(cnn_v4f_load_part(dst, nc), o[kx]), nc);
                }
            }
        }
}

/* Scalar reference transforms: the dense matrices in plain loops. */
static const float WG_BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const float WG_A[4][2] = {{1, 0}, {0.5f, 0.5f}, {0.5f, -0.5f}, {0, -1}};
static const float WG_GT[3][4] = {{1, 1, 1, 0}, {0, 1, -1, 0}, {0, 1, 1, 1}};

static void x_transform_ref(const wgrad_plan* p, const float* x, int64_t t0, int bt, int c0, int cb, float* V) {
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        for (int k = 0; k < cb; k++) {
            float d[4][4], t[4][4];
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 4; j++) {
                    const int iy = y0 - p->pt + r, ix = x0 - p->pl + j;
                    d[r][j] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                  ? x[(((size_t)b * p->h + iy) * p->w + ix) * p->c + c0 + k]
                                  : 0.0f;
                }
            for (int a = 0; a < 4; a++)
                for (int j = 0; j < 4; j++) {
                    float s = 0.0f;
                    for (int r = 0; r < 4; r++) s += WG_BT[a][r] * d[r][j];
                    t[a][j] = s;
                }
            for (int a = 0; a < 4; a++)
                for (int q = 0; q < 4; q++) {
                    float s = 0.0f;
                    for (int j = 0; j < 4; j++) s += t[a][j] * WG_BT[q][j];
                    V[((size_t)(a * 4 + q) * bt + i) * cb + k] = s;
                }
        }
    }
}

static void dy_transform_ref(const wgrad_plan* p, const float* dy, int64_t t0, int bt, int f0, int fb, float* E) {
    const int N = p->N;
    for (int i = 0; i < bt; i++) {
        int b, y0, x0;
        tile_origin(p, t0 + i, &b, &y0, &x0);
        for (int co = 0; co < fb; co++) {
            float e[2][2], t[4][2];
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < 2; j++)
                    e[r][j] = y0 + r < p->oh && x0 + j < p->ow
                                  ? dy[(((size_t)b * p->oh + y0 + r) * p->ow + x0 + j) * N + f0 + co]
                                  : 0.0f;
            for (int a = 0; a < 4; a++)
                for (int j = 0; j < 2; j++) t[a][j] = WG_A[a][0] * e[0][j] + WG_A[a][1] * e[1][j];
            for (int a = 0; a < 4; a++)
                for (int q = 0; q < 4; q++)
                    E[((size_t)(a * 4 + q) * bt + i) * fb + co] = t[a][0] * WG_A[q][0] + t[a][1] * WG_A[q][1];
        }
    }
}

static void output_transform_ref(const wgrad_plan* p, const float* M, int f0, int fb, float* dw) {
    const int N = p->N;
    for (int k = 0; k < p->c; k++)
        for (int co = 0; co < fb; co++) {
            float t[3][4];
            for (int r = 0; r < 3; r++)
                for (int q = 0; q < 4; q++) {
                    float s = 0.0f;
                    for (int a = 0; a < 4; a++) s += WG_GT[r][a] * M[((size_t)(a * 4 + q) * p->c + k) * fb + co];
                    t[r][q] = s;
                }
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    float s = 0.0f;
                    for (int q = 0; q < 4; q++) s += t[ky][q] * WG_GT[kx][q];
                    dw[((size_t)(ky * 3 + kx) * p->c + k) * N + f0 + co] += s;
                }
        }
}

/* ---- driver ------------------------------------------------------------------------------------------------------ */

/* M (+)= the 16 products of the tiles [t_first, t_end) for filters [f0, f0 + fb), chunk by chunk: the first chunk
 * writes M, later ones add (the K blocks of the sum are the chunks). V and E: one chunk's transforms. SIMD: M is
 * [16][c4][fb8] from the transforms' packed panels; reference: [16][c][fb]. */
static void part_products(const wgrad_plan* p, const float* x, const float* dy, int f0, int fb, int64_t t_first,
                          int64_t t_end, float* V, float* E, float* M, int simd) {
    const int fb8 = (fb + 7) / 8 * 8;
    for (int64_t t0 = t_first; t0 < t_end; t0 += p->chunk) {
        const int bt = t_end - t0 < p->chunk ? (int)(t_end - t0) : p->chunk;
        if (simd) {
            x_transform_simd(p, x, t0, bt, 0, p->c, V);
            dy_transform_simd(p, dy, t0, bt, f0, fb, E);
            for (int pos = 0; pos < 16; pos++)
                for (int k = 0; k < p->c4; k += 4)
                    for (int co = 0; co < fb8; co += 8)
                        cnn_gemm_ukernel_packed(bt, V + ((size_t)pos * p->c4 + k) * bt, E + ((size_t)pos * fb8 + co) * bt,
                                                M + ((size_t)pos * p->c4 + k) * fb8 + co, fb8, 4, 8, t0 > t_first);
        } else {
            x_transform_ref(p, x, t0, bt, 0, p->c, V);
            dy_transform_ref(p, dy, t0, bt, f0, fb, E);
            for (int pos = 0; pos < 16; pos++)
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

static int weight_grad(const cnn_conv_geom* g, int N, const float* x, const float* dy, float* dw, float* workspace,
                       int first, int end, int simd) {
    wgrad_plan p;
    const int status = wgrad_plan_make(g, N, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!x || !dy || !dw || !workspace || first < 0 || first > end || end > N || (first % 8 != 0 && first != end))
        return CNN_STATUS_INVALID_ARG;
    /* The x transform runs once per block of filters: the filters of [first, end) in blocks of p.block. */
    for (int f0 = first; f0 < end; f0 += p.block) {
        const int fb = end - f0 < p.block ? end - f0 : p.block, fb8 = (fb + 7) / 8 * 8;
        float* V = workspace;
        float* E = V + (size_t)16 * p.chunk * p.c4;
        float* M = V + wgrad_transform_floats(&p);
        float* next = M + wgrad_m_floats(&p);
        const size_t m_count = simd ? (size_t)16 * p.c4 * fb8 : (size_t)16 * p.c * fb;
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

int cnn_f32_winograd_weight_grad_layout(const cnn_conv_geom* g, int N, cnn_wgrad_layout* layout) {
    wgrad_plan p;
    if (!layout) return CNN_STATUS_INVALID_ARG;
    const int status = wgrad_plan_make(g, N, &p);
    if (status != CNN_STATUS_OK) return status;
    layout->parts = p.parts;
    layout->block = p.block;
    layout->transform_floats = wgrad_transform_floats(&p);
    layout->part_floats = wgrad_m_floats(&p);
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_weight_grad_part__simd(const cnn_conv_geom* g, int N, const float* x, const float* dy, int f0,
                                            int part, float* workspace, float* M) {
    wgrad_plan p;
    const int status = wgrad_plan_make(g, N, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!x || !dy || !workspace || !M || f0 < 0 || f0 >= N || f0 % p.block != 0 || part < 0 || part >= p.parts)
        return CNN_STATUS_INVALID_ARG;
    const int fb = N - f0 < p.block ? N - f0 : p.block;
    int64_t t_first, t_end;
    part_range(&p, part, &t_first, &t_end);
    part_products(&p, x, dy, f0, fb, t_first, t_end, workspace, workspace + (size_t)16 * p.chunk * p.c4, M, 1);
    return CNN_STATUS_OK;
}

void cnn_f32_winograd_weight_grad_sum_parts(size_t begin, size_t end, int parts, float* const* M) {
    for (size_t i = begin; i < end; i++) {
        float sum = M[0][i];
        for (int q = 1; q < parts; q++) sum += M[q][i];
        M[0][i] = sum;
    }
}

int cnn_f32_winograd_weight_grad_finish__simd(const cnn_conv_geom* g, int N, const float* M, int f0, float* dw) {
    wgrad_plan p;
    const int status = wgrad_plan_make(g, N, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!M || !dw || f0 < 0 || f0 >= N || f0 % p.block != 0) return CNN_STATUS_INVALID_ARG;
    output_transform_simd(&p, M, f0, N - f0 < p.block ? N - f0 : p.block, dw);
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_weight_grad__simd(const cnn_conv_geom* g, int N, const float* x, const float* dy, float* dw,
                                       float* workspace, int first, int end) {
    return weight_grad(g, N, x, dy, dw, workspace, first, end, 1);
}

int cnn_f32_winograd_weight_grad__ref(const cnn_conv_geom* g, int N, const float* x, const float* dy, float* dw,
                                      float* workspace, int first, int end) {
    return weight_grad(g, N, x, dy, dw, workspace, first, end, 0);
}
