/* Winograd F(2×2,3×3) and F(4×4,3×3) convolution (see winograd.h for the API and the data flow).
 *
 * Transform matrices (Lavin & Gray 2015; interpolation points 0, ±1, ∞ for F2 and 0, ±1, ±2, ∞ for F4):
 *   F2: Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 -1 -1]
 *   F4: Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *       G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
 *       Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * The SIMD transforms factor these by hand (shared sums), 4 channels per vector, NHWC making channels contiguous.
 * The __ref kernels multiply by the dense matrices in plain loops.
 *
 * Scratch (floats): V [α²][chunk][cin] then M [α²][chunk][cout8], α = tile + 2, cout8 = round_up(cout, 8), chunk a
 * multiple of 4 tiles chosen so V + M stay near WINO_CHUNK_FLOATS (L2-resident next to one U_p). */
#include "kernels/winograd.h"

#include <stdint.h>
#include <string.h>

#include "cnn.h"
#include "kernels/winograd_bt.h"
#include "simd.h"

#ifndef WINO_CHUNK_FLOATS
#define WINO_CHUNK_FLOATS (16 * 1024) /* 64 KiB of V + M per chunk: 8K-128K measured in bench_winograd.c, 16K best */
#endif
enum { WINO_MAX_ALPHA = 6, WINO_MAX_CHUNK = 512, WINO_F4_MIN_CHANNELS = 32 };

static CNN_ALWAYS_INLINE cnn_v4f v_sub(cnn_v4f a, cnn_v4f b) { return cnn_v4f_sub(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f v_add(cnn_v4f a, cnn_v4f b) { return cnn_v4f_add(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f v_scale(cnn_v4f a, float s) { return cnn_v4f_mul(a, cnn_v4f_splat(s)); }

/* ---- plan: validated geometry of one call ----------------------------------------------------------------------- */

typedef struct wino_plan {
    int m, alpha;             /* output tile edge, input tile edge */
    int n, h, w, cin;         /* input of this pass */
    int oh, ow, cout, cout8;  /* output of this pass */
    int pt, pl;               /* zero rows / columns before the input */
    int th, tw;               /* tiles per column / row */
    int64_t tiles;            /* n · th · tw */
    int chunk;                /* tiles per chunk, a multiple of 4 */
} wino_plan;

/* *out = a · b when it fits in 64 bits; 0 otherwise. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t* out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Floats addressable by this build (size_t bytes). */
static uint64_t max_floats(void) { return (uint64_t)(SIZE_MAX / sizeof(float)); }

static int round_up8(int x) { return (int)(((int64_t)x + 7) / 8 * 8); }

static int check_tile(int tile) { return tile == 2 || tile == 4; }

/* Chunk of tiles for these channel counts: a multiple of 4, at least 4, at most the (rounded-up) tile count. */
static int chunk_tiles(int alpha, int cin, int cout8, int64_t tiles) {
    const uint64_t per_tile = (uint64_t)alpha * alpha * ((uint64_t)cin + (uint64_t)cout8);
    uint64_t c = WINO_CHUNK_FLOATS / per_tile;
    if (c > WINO_MAX_CHUNK) c = WINO_MAX_CHUNK;
    c &= ~(uint64_t)3;
    if (c < 4) c = 4;
    const uint64_t all = ((uint64_t)tiles + 3) & ~(uint64_t)3;
    return (int)(c < all ? c : all);
}

int cnn_f32_winograd_check(const cnn_conv_geom* g, int N, int tile) {
    if (!g || !check_tile(tile) || N < 1) return CNN_STATUS_INVALID_ARG;
    if (g->n < 1 || g->h < 1 || g->w < 1 || g->c < 1 || g->oh < 1 || g->ow < 1) return CNN_STATUS_INVALID_ARG;
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1) return CNN_STATUS_INVALID_ARG;
    if (g->pad_top < 0 || g->pad_top > 2 || g->pad_left < 0 || g->pad_left > 2) return CNN_STATUS_INVALID_ARG;
    /* The tensors themselves must be addressable (the caller holds them; a wrapped size would mean it does not). */
    uint64_t a = 0, b = 0;
    if (!mul_u64((uint64_t)g->n * (uint64_t)g->h, (uint64_t)g->w * (uint64_t)g->c, &a) || a > max_floats())
        return CNN_STATUS_INVALID_SHAPE;
    if (!mul_u64((uint64_t)g->n * (uint64_t)g->oh, (uint64_t)g->ow * (uint64_t)N, &b) || b > max_floats())
        return CNN_STATUS_INVALID_SHAPE;
    return CNN_STATUS_OK;
}

/* The plan of one pass: the forward geometry as given, or the input gradient's transposed one. */
static int plan_make(const cnn_conv_geom* g, int N, int tile, int direction, wino_plan* p) {
    const int status = cnn_f32_winograd_check(g, N, tile);
    if (status != CNN_STATUS_OK) return status;
    if (direction != CNN_WINOGRAD_FORWARD && direction != CNN_WINOGRAD_BACKWARD_DATA &&
        direction != CNN_WINOGRAD_BACKWARD_DATA_WRITE)
        return CNN_STATUS_INVALID_ARG;
    memset(p, 0, sizeof *p);
    p->m = tile, p->alpha = tile + 2, p->n = g->n;
    if (direction == CNN_WINOGRAD_FORWARD) {
        p->h = g->h, p->w = g->w, p->cin = g->c, p->oh = g->oh, p->ow = g->ow, p->cout = N;
        p->pt = g->pad_top, p->pl = g->pad_left;
    } else {
        p->h = g->oh, p->w = g->ow, p->cin = N, p->oh = g->h, p->ow = g->w, p->cout = g->c;
        p->pt = 2 - g->pad_top, p->pl = 2 - g->pad_left;
    }
    p->cout8 = round_up8(p->cout);
    p->th = (p->oh + tile - 1) / tile, p->tw = (p->ow + tile - 1) / tile;
    p->tiles = (int64_t)p->n * p->th * p->tw; /* < 2^31 · 2^30: no overflow */
    p->chunk = chunk_tiles(p->alpha, p->cin, p->cout8, p->tiles);
    return CNN_STATUS_OK;
}

static int plan_workspace(const wino_plan* p, uint64_t* floats) {
    uint64_t per_tile;
    if (!mul_u64((uint64_t)p->alpha * p->alpha, (uint64_t)p->cin + (uint64_t)p->cout8, &per_tile) ||
        !mul_u64(per_tile, (uint64_t)p->chunk, floats) || *floats > max_floats())
        return CNN_STATUS_INVALID_SHAPE;
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_workspace_floats(const cnn_conv_geom* g, int N, int tile, int direction, uint64_t* floats) {
    wino_plan p;
    uint64_t f;
    if (!floats) return CNN_STATUS_INVALID_ARG;
    int status = plan_make(g, N, tile, direction, &p);
    if (status == CNN_STATUS_OK) status = plan_workspace(&p, &f);
    if (status != CNN_STATUS_OK) return status;
    *floats = f;
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_weights_floats(int tile, int cin, int cout, uint64_t* floats) {
    if (!floats || !check_tile(tile) || cin < 1 || cout < 1) return CNN_STATUS_INVALID_ARG;
    const int alpha = tile + 2;
    /* Both orientations: α² · cin · round_up(cout, 8) and α² · cout · round_up(cin, 8); report the larger. */
    uint64_t a, b;
    if (!mul_u64((uint64_t)alpha * alpha * (uint64_t)cin, (uint64_t)round_up8(cout), &a) ||
        !mul_u64((uint64_t)alpha * alpha * (uint64_t)cout, (uint64_t)round_up8(cin), &b))
        return CNN_STATUS_INVALID_SHAPE;
    if (b > a) a = b;
    if (a > max_floats()) return CNN_STATUS_INVALID_SHAPE;
    *floats = a;
    return CNN_STATUS_OK;
}

/* ---- weight transform (once per weight update; not a hot loop) --------------------------------------------------- */

static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

int cnn_f32_winograd_transform_weights(int tile, int cin, int cout, const float* w, int flipped, float* u) {
    return cnn_f32_winograd_transform_weights_rows(tile, cin, cout, w, flipped, u, 0, flipped ? cout : cin);
}

int cnn_f32_winograd_transform_weights_rows(int tile, int cin, int cout, const float* w, int flipped, float* u,
                                            int k_begin, int k_end) {
    uint64_t total;
    const int status = cnn_f32_winograd_weights_floats(tile, cin, cout, &total);
    if (status != CNN_STATUS_OK) return status;
    if (!w || !u || k_begin < 0 || k_end < k_begin || k_end > (flipped ? cout : cin)) return CNN_STATUS_INVALID_ARG;
    const int alpha = tile + 2;
    const double(*G)[3] = tile == 2 ? G2 : G4;
    /* The GEMM's k (rows of U) and j (columns) in this orientation. */
    const int K = flipped ? cout : cin, J = flipped ? cin : cout, J8 = round_up8(J);
    const size_t pos_len = (size_t)K * J8;
    /* One 8-column panel and one k at a time: the lane loops (jj) vectorise, and the 8 results of each position
     * are one contiguous store; k innermost makes every position's writes one sequential stream (k outermost ran
     * 5x slower on 256 -> 256 channels, 9 MB of U). Columns past J get zero weights, hence zero U (the GEMM reads
     * them). */
    for (int j0 = 0; j0 < J8; j0 += 8)
        for (int k = k_begin; k < k_end; k++) {
            double g[3][3][8], t[WINO_MAX_ALPHA][3][8];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    const int sy = flipped ? 2 - ky : ky, sx = flipped ? 2 - kx : kx;
                    const float* tap = w + (size_t)(sy * 3 + sx) * cin * cout;
                    for (int jj = 0; jj < 8; jj++) {
                        const int j = j0 + jj;
                        g[ky][kx][jj] = j >= J ? 0.0 : flipped ? tap[(size_t)j * cout + k] : tap[(size_t)k * cout + j];
                    }
                }
            for (int a = 0; a < alpha; a++) /* t = G g */
                for (int kx = 0; kx < 3; kx++)
                    for (int jj = 0; jj < 8; jj++)
                        t[a][kx][jj] = G[a][0] * g[0][kx][jj] + G[a][1] * g[1][kx][jj] + G[a][2] * g[2][kx][jj];
            float* dst = u + (size_t)j0 * K + (size_t)k * 8;
            for (int a = 0; a < alpha; a++) /* U = t Gᵀ */
                for (int b = 0; b < alpha; b++) {
                    float* out = dst + (size_t)(a * alpha + b) * pos_len;
                    for (int jj = 0; jj < 8; jj++)
                        out[jj] = (float)(t[a][0][jj] * G[b][0] + t[a][1][jj] * G[b][1] + t[a][2][jj] * G[b][2]);
                }
        }
    return CNN_STATUS_OK;
}

/* ---- tile addressing --------------------------------------------------------------------------------------------- */

typedef struct tile_pos {
    int b, y0, x0; /* sample, first output row / column of the tile */
} tile_pos;

static inline tile_pos tile_at(const wino_plan* p, int64_t t) {
    const int64_t per_image = (int64_t)p->th * p->tw;
    const int b = (int)(t / per_image);
    const int r = (int)(t - (int64_t)b * per_image);
    tile_pos tp = {b, (r / p->tw) * p->m, (r % p->tw) * p->m};
    return tp;
}

/* ---- SIMD kernels ------------------------------------------------------------------------------------------------ */

/* 1-D Aᵀ·s over α values → m outputs. */
static CNN_ALWAYS_INLINE void at_1d(int alpha, const cnn_v4f* s, cnn_v4f* o) {
    if (alpha == 4) {
        o[0] = v_add(v_add(s[0], s[1]), s[2]);
        o[1] = v_sub(v_sub(s[1], s[2]), s[3]);
    } else {
        const cnn_v4f a = v_add(s[1], s[2]), b = v_sub(s[1], s[2]);
        const cnn_v4f c = v_add(s[3], s[4]), d = v_sub(s[3], s[4]);
        o[0] = v_add(v_add(s[0], a), c);
        o[1] = v_add(b, v_scale(d, 2.0f));
        o[2] = v_add(a, v_scale(c, 4.0f));
        o[3] = v_add(v_add(b, v_scale(d, 8.0f)), s[5]);
    }
}

/* V[pos][i][c] for tiles t0 .. t0+bt of x. */
static CNN_ALWAYS_INLINE void input_transform_simd(int alpha, const wino_plan* p, const float* x, int64_t t0, int bt,
                                                   float* V) {
    const int cin = p->cin, m = p->m;
    const size_t pos_stride = (size_t)bt * cin, row_len = (size_t)p->w * cin;
    for (int i = 0; i < bt; i++) {
        const tile_pos tp = tile_at(p, t0 + i);
        const int iy0 = tp.y0 - p->pt, ix0 = tp.x0 - p->pl;
        const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + alpha <= p->h && ix0 + alpha <= p->w;
        const float* image = x + (size_t)tp.b * p->h * row_len;
        float* v_tile = V + (size_t)i * cin;
        (void)m;
        for (int c = 0; c < cin; c += 4) {
            const int nc = cin - c < 4 ? cin - c : 4;
            cnn_v4f tmp[WINO_MAX_ALPHA][WINO_MAX_ALPHA];
            for (int r = 0; r < alpha; r++) {
                cnn_v4f d[WINO_MAX_ALPHA];
                const int iy = iy0 + r;
                if (inside && nc == 4) {
                    const float* src = image + (size_t)iy * row_len + (size_t)ix0 * cin + c;
                    for (int j = 0; j < alpha; j++) d[j] = cnn_v4f_load(src + (size_t)j * cin);
                } else {
                    for (int j = 0; j < alpha; j++) {
                        const int ix = ix0 + j;
                        d[j] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                   ? cnn_v4f_load_part(image + (size_t)iy * row_len + (size_t)ix * cin + c, nc)
                                   : cnn_v4f_zero();
                    }
                }
                cnn_wino_bt_1d(alpha, d, tmp[r]);
            }
            for (int j = 0; j < alpha; j++) {
                cnn_v4f col[WINO_MAX_ALPHA], o[WINO_MAX_ALPHA];
                for (int r = 0; r < alpha; r++) col[r] = tmp[r][j];
                cnn_wino_bt_1d(alpha, col, o);
                for (int r = 0; r < alpha; r++) {
                    float* dst = v_tile + (size_t)(r * alpha + j) * pos_stride + c;
                    if (nc == 4) cnn_v4f_store(dst, o[r]);
                    else cnn_v4f_store_part(dst, o[r], nc);
                }
            }
        }
    }
}

/* y tiles from M[pos][i][cout8] (+ bias, or added onto y when accumulate), clipped at the image border. Notes every
 * value it stores in *seen (cnn_v4f_note_nonfinite): predict's output check, two operations per stored vector next
 * to the transform's dozens, so always made. */
static CNN_ALWAYS_INLINE void output_transform_simd(int alpha, const wino_plan* p, const float* M, int64_t t0, int bt,
                                                    const float* bias, int accumulate, float* y, cnn_v4f* seen) {
    cnn_v4f check = *seen;
    const int m = alpha - 2, cout = p->cout, cout8 = p->cout8;
    const size_t pos_stride = (size_t)bt * cout8, row_len = (size_t)p->ow * cout;
    for (int i = 0; i < bt; i++) {
        const tile_pos tp = tile_at(p, t0 + i);
        const int rows = p->oh - tp.y0 < m ? p->oh - tp.y0 : m, cols = p->ow - tp.x0 < m ? p->ow - tp.x0 : m;
        float* image = y + (size_t)tp.b * p->oh * row_len;
        const float* m_tile = M + (size_t)i * cout8;
        for (int c = 0; c < cout; c += 4) {
            const int nc = cout - c < 4 ? cout - c : 4;
            const cnn_v4f bv = bias ? cnn_v4f_load_part(bias + c, nc) : cnn_v4f_zero();
            cnn_v4f tmp[WINO_MAX_ALPHA][4];
            for (int r = 0; r < alpha; r++) {
                cnn_v4f s[WINO_MAX_ALPHA];
                for (int j = 0; j < alpha; j++) s[j] = cnn_v4f_load(m_tile + (size_t)(r * alpha + j) * pos_stride + c);
                at_1d(alpha, s, tmp[r]);
            }
            for (int j = 0; j < cols; j++) {
                cnn_v4f col[WINO_MAX_ALPHA], o[4];
                for (int r = 0; r < alpha; r++) col[r] = tmp[r][j];
                at_1d(alpha, col, o);
                for (int r = 0; r < rows; r++) {
                    float* dst = image + (size_t)(tp.y0 + r) * row_len + (size_t)(tp.x0 + j) * cout + c;
                    cnn_v4f v = v_add(o[r], bv);
                    if (nc == 4) {
                        if (accumulate) v = v_add(cnn_v4f_load(dst), v);
                        cnn_v4f_store(dst, v);
                        check = cnn_v4f_note_nonfinite(check, v);
                    } else {
                        if (accumulate) v = v_add(cnn_v4f_load_part(dst, nc), v);
                        check = cnn_v4f_note_nonfinite(check, v); /* lanes past nc hold the zero-padded columns' sums */
                        cnn_v4f_store_part(dst, v, nc);
                    }
                }
            }
        }
    }
    *seen = check;
}

/* Mp (bt × cout8) = Vp (bt × cin) · Up (panels of cin × 8). 4×8 register blocks, Vp read in place with splats (as
 * gemm.c's ukernel_direct_a); rows past bt in the last block alias the last valid row and are not stored. */
static void gemm_position_simd(int bt, int cin, int cout8, const float* Vp, const float* Up, float* Mp) {
    for (int jp = 0; jp < cout8; jp += 8) {
        const float* panel = Up + (size_t)jp * cin;
        for (int i = 0; i < bt; i += 4) {
            const int mr = bt - i < 4 ? bt - i : 4;
            const float* r0 = Vp + (size_t)i * cin;
            const float* r1 = mr > 1 ? r0 + cin : r0;
            const float* r2 = mr > 2 ? r1 + cin : r1;
            const float* r3 = mr > 3 ? r2 + cin : r2;
            cnn_v4f c00 = cnn_v4f_zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            const float* b = panel;
            for (int k = 0; k < cin; k++, b += 8) {
                const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
                cnn_v4f a = cnn_v4f_load_splat(r0 + k);
                c00 = cnn_v4f_muladd(c00, a, b0), c01 = cnn_v4f_muladd(c01, a, b1);
                a = cnn_v4f_load_splat(r1 + k);
                c10 = cnn_v4f_muladd(c10, a, b0), c11 = cnn_v4f_muladd(c11, a, b1);
                a = cnn_v4f_load_splat(r2 + k);
                c20 = cnn_v4f_muladd(c20, a, b0), c21 = cnn_v4f_muladd(c21, a, b1);
                a = cnn_v4f_load_splat(r3 + k);
                c30 = cnn_v4f_muladd(c30, a, b0), c31 = cnn_v4f_muladd(c31, a, b1);
            }
            float* out = Mp + (size_t)i * cout8 + jp;
            cnn_v4f_store(out, c00), cnn_v4f_store(out + 4, c01);
            if (mr > 1) cnn_v4f_store(out + cout8, c10), cnn_v4f_store(out + cout8 + 4, c11);
            if (mr > 2) cnn_v4f_store(out + 2 * (size_t)cout8, c20), cnn_v4f_store(out + 2 * (size_t)cout8 + 4, c21);
            if (mr > 3) cnn_v4f_store(out + 3 * (size_t)cout8, c30), cnn_v4f_store(out + 3 * (size_t)cout8 + 4, c31);
        }
    }
}

/* Tiles [first, end) in chunks of p->chunk. Every tile's outputs are computed alone (its sums run over cin in
 * order), so how a range is cut into chunks or calls never changes a bit. */
static CNN_ALWAYS_INLINE void run_simd(int alpha, const wino_plan* p, const float* x, const float* u,
                                       const float* bias, int accumulate, float* y, float* workspace, int64_t first,
                                       int64_t end, cnn_v4f* seen) {
    const int positions = alpha * alpha;
    float* V = workspace;
    float* M = workspace + (size_t)positions * p->chunk * p->cin;
    const size_t u_pos = (size_t)p->cin * p->cout8;
    for (int64_t t0 = first; t0 < end; t0 += p->chunk) {
        const int bt = end - t0 < p->chunk ? (int)(end - t0) : p->chunk;
        input_transform_simd(alpha, p, x, t0, bt, V);
        for (int pos = 0; pos < positions; pos++)
            gemm_position_simd(bt, p->cin, p->cout8, V + (size_t)pos * bt * p->cin, u + (size_t)pos * u_pos,
                               M + (size_t)pos * bt * p->cout8);
        output_transform_simd(alpha, p, M, t0, bt, bias, accumulate, y, seen);
    }
}

static void run_simd_f2(const wino_plan* p, const float* x, const float* u, const float* bias, int acc, float* y,
                        float* ws, int64_t first, int64_t end, cnn_v4f* seen) {
    run_simd(4, p, x, u, bias, acc, y, ws, first, end, seen);
}
static void run_simd_f4(const wino_plan* p, const float* x, const float* u, const float* bias, int acc, float* y,
                        float* ws, int64_t first, int64_t end, cnn_v4f* seen) {
    run_simd(6, p, x, u, bias, acc, y, ws, first, end, seen);
}

/* ---- scalar references: dense matrices, plain loops ------------------------------------------------------------ */

static const float BT2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const float AT2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
static const float BT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const float AT4[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

static float bt_at(int alpha, int i, int j) { return alpha == 4 ? BT2[i][j] : BT4[i][j]; }
static float at_at(int alpha, int i, int j) { return alpha == 4 ? AT2[i][j] : AT4[i][j]; }

static void run_ref(const wino_plan* p, const float* x, const float* u, const float* bias, int accumulate, float* y,
                    float* workspace, int64_t first, int64_t end, float* seen) {
    const int alpha = p->alpha, m = p->m, positions = alpha * alpha, cin = p->cin, cout = p->cout, cout8 = p->cout8;
    float* V = workspace;
    float* M = workspace + (size_t)positions * p->chunk * cin;
    for (int64_t t0 = first; t0 < end; t0 += p->chunk) {
        const int bt = end - t0 < p->chunk ? (int)(end - t0) : p->chunk;
        for (int i = 0; i < bt; i++) {
            const tile_pos tp = tile_at(p, t0 + i);
            for (int c = 0; c < cin; c++) {
                float d[WINO_MAX_ALPHA][WINO_MAX_ALPHA], t[WINO_MAX_ALPHA][WINO_MAX_ALPHA];
                for (int r = 0; r < alpha; r++)
                    for (int j = 0; j < alpha; j++) {
                        const int iy = tp.y0 - p->pt + r, ix = tp.x0 - p->pl + j;
                        d[r][j] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                      ? x[(((size_t)tp.b * p->h + iy) * p->w + ix) * cin + c]
                                      : 0.0f;
                    }
                for (int a = 0; a < alpha; a++) /* t = Bᵀ d */
                    for (int j = 0; j < alpha; j++) {
                        float s = 0.0f;
                        for (int r = 0; r < alpha; r++) s += bt_at(alpha, a, r) * d[r][j];
                        t[a][j] = s;
                    }
                for (int a = 0; a < alpha; a++) /* V = t B */
                    for (int b = 0; b < alpha; b++) {
                        float s = 0.0f;
                        for (int j = 0; j < alpha; j++) s += t[a][j] * bt_at(alpha, b, j);
                        V[((size_t)(a * alpha + b) * bt + i) * cin + c] = s;
                    }
            }
        }
        for (int pos = 0; pos < positions; pos++)
            for (int i = 0; i < bt; i++)
                for (int co = 0; co < cout8; co++) {
                    float s = 0.0f;
                    for (int k = 0; k < cin; k++)
                        s += V[((size_t)pos * bt + i) * cin + k] *
                             u[(size_t)pos * cin * cout8 + (size_t)(co / 8) * cin * 8 + (size_t)k * 8 + co % 8];
                    M[((size_t)pos * bt + i) * cout8 + co] = s;
                }
        for (int i = 0; i < bt; i++) {
            const tile_pos tp = tile_at(p, t0 + i);
            for (int co = 0; co < cout; co++) {
                float t[4][WINO_MAX_ALPHA];
                for (int r = 0; r < m; r++) /* t = Aᵀ M */
                    for (int b = 0; b < alpha; b++) {
                        float s = 0.0f;
                        for (int a = 0; a < alpha; a++)
                            s += at_at(alpha, r, a) * M[((size_t)(a * alpha + b) * bt + i) * cout8 + co];
                        t[r][b] = s;
                    }
                for (int r = 0; r < m; r++)
                    for (int c = 0; c < m; c++) {
                        const int oy = tp.y0 + r, ox = tp.x0 + c;
                        if (oy >= p->oh || ox >= p->ow) continue;
                        float s = 0.0f;
                        for (int b = 0; b < alpha; b++) s += t[r][b] * at_at(alpha, c, b);
                        float* dst = &y[(((size_t)tp.b * p->oh + oy) * p->ow + ox) * cout + co];
                        s += bias ? bias[co] : 0.0f;
                        *dst = accumulate ? *dst + s : s;
                        *seen += *dst - *dst;
                    }
            }
        }
    }
}

/* ---- entry points ------------------------------------------------------------------------------------------------ */

static int run(const cnn_conv_geom* g, int N, int tile, int direction, const float* in, const float* u,
               const float* bias, float* out, float* workspace, int simd, int64_t first, int64_t end,
               int* all_finite) {
    wino_plan p;
    const int status = plan_make(g, N, tile, direction, &p);
    if (status != CNN_STATUS_OK) return status;
    if (!in || !u || !out || !workspace) return CNN_STATUS_INVALID_ARG;
    if (end < 0) end = p.tiles; /* the whole pass */
    if (first < 0 || first > end || end > p.tiles) return CNN_STATUS_INVALID_ARG;
    const int accumulate = direction == CNN_WINOGRAD_BACKWARD_DATA;
    if (direction != CNN_WINOGRAD_FORWARD) bias = NULL;
    cnn_v4f seen = cnn_v4f_zero();
    float seen_ref = 0.0f;
    if (!simd) run_ref(&p, in, u, bias, accumulate, out, workspace, first, end, &seen_ref);
    else if (tile == 2) run_simd_f2(&p, in, u, bias, accumulate, out, workspace, first, end, &seen);
    else run_simd_f4(&p, in, u, bias, accumulate, out, workspace, first, end, &seen);
    if (all_finite) *all_finite = !cnn_v4m_any(cnn_v4f_isnan(seen)) && seen_ref == seen_ref;
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_tiles(const cnn_conv_geom* g, int N, int tile, int direction, int64_t* tiles, int* chunk) {
    wino_plan p;
    if (!tiles || !chunk) return CNN_STATUS_INVALID_ARG;
    const int status = plan_make(g, N, tile, direction, &p);
    if (status != CNN_STATUS_OK) return status;
    *tiles = p.tiles;
    *chunk = p.chunk;
    return CNN_STATUS_OK;
}

int cnn_f32_winograd_range__simd(const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                                 const float* u, const float* bias, float* out, float* workspace, int64_t first,
                                 int64_t end, int* all_finite) {
    return run(g, N, tile, direction, in, u, bias, out, workspace, 1, first, end, all_finite);
}

int cnn_f32_winograd_range__ref(const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                                const float* u, const float* bias, float* out, float* workspace, int64_t first,
                                int64_t end, int* all_finite) {
    return run(g, N, tile, direction, in, u, bias, out, workspace, 0, first, end, all_finite);
}

int cnn_f32_winograd_forward__simd(const cnn_conv_geom* g, int N, int tile, const float* x, const float* u,
                                   const float* bias, float* y, float* workspace) {
    return run(g, N, tile, CNN_WINOGRAD_FORWARD, x, u, bias, y, workspace, 1, 0, -1, NULL);
}

int cnn_f32_winograd_forward__ref(const cnn_conv_geom* g, int N, int tile, const float* x, const float* u,
                                  const float* bias, float* y, float* workspace) {
    return run(g, N, tile, CNN_WINOGRAD_FORWARD, x, u, bias, y, workspace, 0, 0, -1, NULL);
}

int cnn_f32_winograd_backward_data__simd(const cnn_conv_geom* g, int N, int tile, const float* dy,
                                         const float* u_flipped, float* dx, float* workspace) {
    return run(g, N, tile, CNN_WINOGRAD_BACKWARD_DATA, dy, u_flipped, NULL, dx, workspace, 1, 0, -1, NULL);
}

int cnn_f32_winograd_backward_data__ref(const cnn_conv_geom* g, int N, int tile, const float* dy,
                                        const float* u_flipped, float* dx, float* workspace) {
    return run(g, N, tile, CNN_WINOGRAD_BACKWARD_DATA, dy, u_flipped, NULL, dx, workspace, 0, 0, -1, NULL);
}

/* Measured in Node 20 (wasm SIMD, tests/c/bench_winograd.c, batches 1 and 32) against the engine's im2col + GEMM /
 * direct path: F4 wins 2-5x wherever the output has a few full 4×4 tiles (8×8 and up: 56×56×64→64, 128×128×16→32,
 * 32×32×16→16, 14×14×256→256, 16×16×8→8, 32×32×3→16); on 4×4 and 2×2 outputs F4 computes mostly discarded border
 * (one 6×6 tile per 2×2 output) and F2 wins instead (2x at batch 32, even at batch 1); with one input channel
 * (28×28×1→8) the transforms cost more than they save and the direct kernel stays. Independent of the batch size, so
 * a plan and its run agree.
 * Accuracy: F4 (interpolation points 0, ±1, ±2, whose transforms multiply by up to 8) rounds about 10x worse than F2.
 * In a narrow VGG-11 with batch norm on 3-sample batch statistics (tests/js/zoo.test.js) that error, amplified
 * through the normalisations, moved a first-layer kernel gradient by 2.6e-2 relative (tolerance 1e-3); F2 there:
 * 6e-6. So F4 only for wide layers (both channel counts >= WINO_F4_MIN_CHANNELS), where its extra speed matters most
 * and the tfjs cross-checks pass; F2 elsewhere. (Points 0, ±1, ±1/2 would make F4 more accurate: not done yet.) */
int cnn_f32_winograd_preferred(const cnn_conv_geom* g, int N) {
    if (cnn_f32_winograd_check(g, N, 4) != CNN_STATUS_OK) return 0;
    if (g->c < 3 || N < 8) return 0;
    const int edge = g->oh < g->ow ? g->oh : g->ow;
    if (edge < 2) return 0;
    return edge >= 8 && g->c >= WINO_F4_MIN_CHANNELS && N >= WINO_F4_MIN_CHANNELS ? 4 : 2;
}
