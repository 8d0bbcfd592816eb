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
 * op(A) is read in place when trans_a == 0: its rows are K-contiguous, so the microkernel splats straight from four
 * row pointers. Measured, this beats packing (even with 4×4 transposes) on every conv shape, and for skinny N
 * (LeNet: N = 6, 16) packing would cost as much as the arithmetic. Rows past M in an edge panel alias the last valid
 * row (in-bounds reads whose results are never stored). Packed panels are zero-padded; edge tiles store only their
 * valid part with 2- and 1-lane stores.
 *
 * Workspace (floats): [packed B: KC' × round_up(NC', 8)] [packed A: round_up(MC', 4) × KC'], where X' = min(X, dim).
 * Rounding: each K block adds its partial sums into C, so results differ from the __ref k-order sum by rounding. */
#include "kernels/kernels.h"
#include "simd.h"

#include <string.h>

enum {
    GEMM_MR = 4,   /* microkernel rows */
    GEMM_NR = 8,   /* microkernel columns: two f32x4 */
    GEMM_KC = 256, /* K block: A (4×KC) and B (KC×8) micro-panels sit in L1 together */
    GEMM_MC = 128, /* row block of A: 128×256×4 B = 128 KB, lives in L2 */
    GEMM_NC = 512, /* column block of packed B: up to 512 KB, lives in L2 */
};

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

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

/* op(B)[k0 : k0+kc, j0 : j0+nc] → panels of 8 columns: panel p holds dst[p·kc·8 + k·8 + jj], zero past nc. */
static void pack_b(int kc, int nc, const float* B, int ldb, int trans_b, int k0, int j0, float* dst) {
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

/* ---- microkernels ---------------------------------------------------------------------------------------------- */

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

/* acc[4×8] = Σ_k a[k·4 + r] · b[k·8 + j] over a packed A panel and a packed B panel. */
static void ukernel_packed_a(int kc, const float* a, const float* b, float* c, int ldc, int mr, int nr,
                             int accumulate) {
    cnn_v4f acc[GEMM_MR][2];
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = acc[r][1] = cnn_v4f_zero();
    for (int k = 0; k < kc; k++, a += GEMM_MR, b += GEMM_NR) {
        const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
        for (int r = 0; r < GEMM_MR; r++) {
            const cnn_v4f av = cnn_v4f_load_splat(a + r);
            acc[r][0] = cnn_v4f_muladd(acc[r][0], av, b0);
            acc[r][1] = cnn_v4f_muladd(acc[r][1], av, b1);
        }
    }
    store_tile(acc, c, ldc, mr, nr, accumulate);
}

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
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    const int kc_max = min_int(K, GEMM_KC);
    float* packed_b = workspace;
    float* packed_a = workspace + (size_t)kc_max * round_up(min_int(N, GEMM_NC), GEMM_NR);

    for (int j0 = 0; j0 < N; j0 += GEMM_NC) {
        const int nc = min_int(GEMM_NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            const int kc = min_int(GEMM_KC, K - k0);
            const int acc = accumulate || k0 > 0; /* later K blocks add onto what the first one wrote */
            pack_b(kc, nc, B, ldb, trans_b, k0, j0, packed_b);
            for (int i0 = 0; i0 < M; i0 += GEMM_MC) {
                const int mc = min_int(GEMM_MC, M - i0);
                if (trans_a) pack_a_transposed(mc, kc, A, lda, i0, k0, packed_a);
                for (int jp = 0; jp < nc; jp += GEMM_NR) {
                    const int nr = min_int(GEMM_NR, nc - jp);
                    const float* b_panel = packed_b + (size_t)jp * kc;
                    float* c_panel = C + (size_t)i0 * ldc + j0 + jp;
                    for (int ip = 0; ip < mc; ip += GEMM_MR) {
                        const int mr = min_int(GEMM_MR, mc - ip);
                        float* c_tile = c_panel + (size_t)ip * ldc;
                        if (trans_a)
                            ukernel_packed_a(kc, packed_a + (size_t)ip * kc, b_panel, c_tile, ldc, mr, nr, acc);
                        else
                            ukernel_direct_a(kc, A + (size_t)(i0 + ip) * lda + k0, lda, mr, b_panel, c_tile, ldc,
                                             nr, acc);
                    }
                }
            }
        }
    }
}

/* ---- implicit-GEMM convolution ----------------------------------------------------------------------------------
 * The convolution y = patches(x)·W + bias without writing the patch matrix: with unit horizontal dilation, the kw·c
 * values of kernel row ky of a patch are contiguous in NHWC memory, so the microkernel reads each patch as kh
 * segments of kw·c floats, one image row (ky_step floats) apart. Padding is materialised once per sample in a zeroed
 * copy of the image (skipped when there is none), so no tap is ever checked. W is packed whole into 8-column panels
 * (zero past N) together with the bias, which seeds the accumulators. Rows past mr in an edge tile alias the last
 * valid patch, as in ukernel_direct_a. */

/* Padded image extent: the rows / columns the taps reach, counted from the first padded row / column. */
static int conv_span(int out, int stride, int k, int dil) { return (out - 1) * stride + (k - 1) * dil + 1; }

/* Whether the image can be read in place (no padding, every tap inside). */
static int conv_in_place(const cnn_conv_geom* g) {
    return g->pad_top == 0 && g->pad_left == 0 && conv_span(g->oh, g->sh, g->kh, g->dh) <= g->h &&
           conv_span(g->ow, g->sw, g->kw, g->dw) <= g->w;
}

/* Floats of the zero-padded copy of one image (0 when it is read in place). size_t: a kernel far larger than the
 * image makes it huge. */
static size_t conv_padded_floats(const cnn_conv_geom* g) {
    if (conv_in_place(g)) return 0;
    return (size_t)conv_span(g->oh, g->sh, g->kh, g->dh) * (size_t)conv_span(g->ow, g->sw, g->kw, g->dw) *
           (size_t)g->c;
}

size_t cnn_f32_conv2d_workspace_floats(const cnn_conv_geom* g, int N) {
    const size_t K = (size_t)g->kh * g->kw * g->c, np = (size_t)round_up(N, GEMM_NR);
    return K * np + np + ((conv_padded_floats(g) + 3) & ~(size_t)3);
}

int cnn_f32_conv2d_supported(const cnn_conv_geom* g, int N) {
    (void)N;
    return g->dw == 1;
}

/* Measured in Node 20 (wasm SIMD) against im2col + GEMM at batch 1: the direct kernel wins while the patch matrix
 * is costly next to the arithmetic — short kernel rows (kw·c ≤ 40: 1.2-3x on LeNet, 3→32 3x3, 12→12 3x3) or few
 * filters (N ≤ 8) — and loses 5-25% on long kernel rows with N ≥ 16 (64→64 3x3, 16→32 3x3), where the blocked
 * GEMM keeps its B panels in L1 better. */
int cnn_f32_conv2d_preferred(const cnn_conv_geom* g, int N) {
    /* Not when the padded copy outgrows the patch matrix it replaces (kernels much larger than the image). */
    return cnn_f32_conv2d_supported(g, N) && (g->kw * g->c <= 40 || N <= 8) &&
           conv_padded_floats(g) <= (size_t)g->oh * g->ow * g->kh * g->kw * g->c;
}

static void ukernel_conv(int kh, int seg, size_t ky_step, const float* const* rows, const float* b,
                         const float* bias, float* c, int ldc, int mr, int nr) {
    cnn_v4f acc[GEMM_MR][2];
    const cnn_v4f bias0 = cnn_v4f_load(bias), bias1 = cnn_v4f_load(bias + 4);
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = bias0, acc[r][1] = bias1;
    const float* r0 = rows[0];
    const float* r1 = rows[1];
    const float* r2 = rows[2];
    const float* r3 = rows[3];
    for (int ky = 0; ky < kh; ky++, r0 += ky_step, r1 += ky_step, r2 += ky_step, r3 += ky_step) {
        for (int k = 0; k < seg; k++, b += GEMM_NR) {
            const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
            cnn_v4f av = cnn_v4f_load_splat(r0 + k);
            acc[0][0] = cnn_v4f_muladd(acc[0][0], av, b0);
            acc[0][1] = cnn_v4f_muladd(acc[0][1], av, b1);
            av = cnn_v4f_load_splat(r1 + k);
            acc[1][0] = cnn_v4f_muladd(acc[1][0], av, b0);
            acc[1][1] = cnn_v4f_muladd(acc[1][1], av, b1);
            av = cnn_v4f_load_splat(r2 + k);
            acc[2][0] = cnn_v4f_muladd(acc[2][0], av, b0);
            acc[2][1] = cnn_v4f_muladd(acc[2][1], av, b1);
            av = cnn_v4f_load_splat(r3 + k);
            acc[3][0] = cnn_v4f_muladd(acc[3][0], av, b0);
            acc[3][1] = cnn_v4f_muladd(acc[3][1], av, b1);
        }
    }
    store_tile(acc, c, ldc, mr, nr, 0);
}

void cnn_f32_conv2d__simd(const cnn_conv_geom* g, const float* x, const float* w, const float* bias, int N, float* y,
                          float* workspace) {
    const int c = g->c, K = g->kh * g->kw * c, seg = g->kw * c, np = round_up(N, GEMM_NR);
    const int rows_out = g->oh * g->ow;
    float* packed_w = workspace;
    float* packed_bias = packed_w + (size_t)K * np;
    float* padded = packed_bias + np;
    pack_b(K, N, w, N, 0, 0, 0, packed_w);
    for (int j = 0; j < np; j++) packed_bias[j] = bias && j < N ? bias[j] : 0.0f;

    /* Image as the microkernel reads it: rows of row_len floats, starting at the first padded row / column. */
    const int in_place = conv_in_place(g);
    const int hp = in_place ? g->h : conv_span(g->oh, g->sh, g->kh, g->dh);
    const int wp = in_place ? g->w : conv_span(g->ow, g->sw, g->kw, g->dw);
    const size_t row_len = (size_t)wp * c, image_len = (size_t)g->h * g->w * c;
    if (!in_place) memset(padded, 0, (size_t)hp * row_len * sizeof(float));
    /* Interior of the padded copy: input rows [0, copy_h) land at padded row pad_top + iy, likewise columns. */
    const int copy_h = hp - g->pad_top < g->h ? hp - g->pad_top : g->h;
    const int copy_w = wp - g->pad_left < g->w ? wp - g->pad_left : g->w;
    const size_t ky_step = (size_t)g->dh * row_len;
    const size_t pix_step = (size_t)g->sw * c;

    for (int b = 0; b < g->n; b++) {
        const float* image = x + (size_t)b * image_len;
        if (!in_place) {
            for (int iy = 0; iy < copy_h; iy++)
                memcpy(padded + (size_t)(g->pad_top + iy) * row_len + (size_t)g->pad_left * c,
                       image + (size_t)iy * g->w * c, (size_t)copy_w * c * sizeof(float));
            image = padded;
        }
        float* y_b = y + (size_t)b * rows_out * N;
        int oy = 0, ox = 0; /* output pixel of the tile's first row */
        for (int p = 0; p < rows_out; p += GEMM_MR) {
            const int mr = min_int(GEMM_MR, rows_out - p);
            const float* rows[GEMM_MR];
            int ty = oy, tx = ox;
            for (int r = 0; r < GEMM_MR; r++) {
                if (r < mr) {
                    rows[r] = image + (size_t)ty * g->sh * row_len + (size_t)tx * pix_step;
                    if (++tx == g->ow) tx = 0, ty++;
                } else {
                    rows[r] = rows[r - 1];
                }
            }
            oy = ty, ox = tx;
            float* c_tile = y_b + (size_t)p * N;
            for (int jp = 0; jp < N; jp += GEMM_NR)
                ukernel_conv(g->kh, seg, ky_step, rows, packed_w + (size_t)jp * K, packed_bias + jp, c_tile + jp, N,
                             mr, min_int(GEMM_NR, N - jp));
        }
    }
}

void cnn_f32_conv2d__ref(const cnn_conv_geom* g, const float* x, const float* w, const float* bias, int N, float* y,
                         float* workspace) {
    (void)workspace;
    const int c = g->c;
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int f = 0; f < N; f++) {
                    float sum = bias ? bias[f] : 0.0f;
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            const int iy = oy * g->sh + ky * g->dh - g->pad_top;
                            const int ix = ox * g->sw + kx * g->dw - g->pad_left;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            const float* px = x + (((size_t)b * g->h + iy) * g->w + ix) * c;
                            const float* wk = w + ((size_t)(ky * g->kw + kx) * c) * N + f;
                            for (int ci = 0; ci < c; ci++) sum += px[ci] * wk[(size_t)ci * N];
                        }
                    y[(((size_t)b * g->oh + oy) * g->ow + ox) * N + f] = sum;
                }
}
