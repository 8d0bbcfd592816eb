/* Native tests for c/src/kernels (the GEMM's are in test_gemm.c): every __simd kernel against its __ref twin, and
 * the references against naive loops written here. Sizes sweep below, at and above the tiles; buffers are allocated
 * to their exact extent so ASan / valgrind catch any out-of-bounds access. Prints one line per check, then
 * "N passed, M failed".
 *
 * Build (from the repository root; the sources are every .c file in c/src/kernels):
 *   gcc -O2 -g -std=c11 -Wall -Wextra -fsanitize=address,undefined -Ic/src -Ic/include tests/c/test_kernels.c
 *       c/src/kernels/[*].c -lm -o build/native/test_kernels */
#include "kernels/kernels.h"
#include "simd.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- im2col / col2im ----------------------------------------------------------------------------------------- */

static float naive_patch_value(const cnn_conv_geom* g, const float* x, int r, int ky, int kx, int ci) {
    const int ox = r % g->ow, oy = (r / g->ow) % g->oh, b = r / (g->ow * g->oh);
    const int iy = oy * g->sh + ky * g->dh - g->pad_top, ix = ox * g->sw + kx * g->dw - g->pad_left;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) return 0.0f;
    return x[(((size_t)b * g->h + iy) * g->w + ix) * g->c + ci];
}

static int conv_case(const cnn_conv_geom* g, char* why, size_t why_len) {
    const int rows = g->n * g->oh * g->ow, row_len = g->kh * g->kw * g->c;
    const size_t x_len = (size_t)g->n * g->h * g->w * g->c, cols_len = (size_t)rows * row_len;
    float* x = random_floats(x_len);
    float* cols = xmalloc(cols_len * sizeof(float));
    float* y = random_floats(cols_len);
    float* dx = xmalloc(x_len * sizeof(float));
    float* dx_naive = xmalloc(x_len * sizeof(float));
    int ok = 1;
    /* Whole matrix, then the same rows written in two uneven chunks (row0 > 0). */
    cnn_f32_im2col(g, x, 0, rows, cols);
    for (int r = 0; r < rows && ok; r++)
        for (int ky = 0; ky < g->kh && ok; ky++)
            for (int kx = 0; kx < g->kw && ok; kx++)
                for (int ci = 0; ci < g->c && ok; ci++) {
                    const float want = naive_patch_value(g, x, r, ky, kx, ci);
                    const float got = cols[(size_t)r * row_len + (ky * g->kw + kx) * g->c + ci];
                    if (!same_float(want, got)) {
                        snprintf(why, why_len, "im2col row %d tap (%d,%d) ch %d: %g vs %g", r, ky, kx, ci, got, want);
                        ok = 0;
                    }
                }
    const int split = rows / 3;
    float* cols2 = xmalloc(cols_len * sizeof(float));
    cnn_f32_im2col(g, x, 0, split, cols2);
    cnn_f32_im2col(g, x, split, rows - split, cols2 + (size_t)split * row_len);
    if (ok && memcmp(cols, cols2, cols_len * sizeof(float)) != 0) {
        snprintf(why, why_len, "im2col in chunks differs");
        ok = 0;
    }
    /* col2im_add is the adjoint of im2col: <im2col(x), y> == <x, col2im(y)>. It adds, so start from a base. */
    for (size_t i = 0; i < x_len; i++) dx[i] = dx_naive[i] = 0.5f;
    cnn_f32_col2im_add(g, y, 0, split, dx);
    cnn_f32_col2im_add(g, y + (size_t)split * row_len, split, rows - split, dx);
    double lhs = 0, rhs = 0, scale = 0;
    for (size_t i = 0; i < cols_len; i++) lhs += (double)cols[i] * y[i], scale += fabs((double)cols[i] * y[i]);
    for (size_t i = 0; i < x_len; i++) rhs += (double)x[i] * (dx[i] - 0.5);
    if (ok && !(fabs(lhs - rhs) <= 1e-5 * (scale + 1e-30))) {
        snprintf(why, why_len, "adjoint: <im2col x, y> %.9g vs <x, col2im y> %.9g", lhs, rhs);
        ok = 0;
    }
    /* And against a naive scatter in the same order. */
    for (int r = 0; r < rows; r++) {
        const int ox = r % g->ow, oy = (r / g->ow) % g->oh, b = r / (g->ow * g->oh);
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                const int iy = oy * g->sh + ky * g->dh - g->pad_top, ix = ox * g->sw + kx * g->dw - g->pad_left;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                for (int ci = 0; ci < g->c; ci++)
                    dx_naive[(((size_t)b * g->h + iy) * g->w + ix) * g->c + ci] +=
                        y[(size_t)r * row_len + (ky * g->kw + kx) * g->c + ci];
            }
    }
    for (size_t i = 0; i < x_len && ok; i++)
        if (!(fabs((double)dx[i] - dx_naive[i]) <= 1e-6 * (fabs(dx_naive[i]) + 1))) {
            snprintf(why, why_len, "col2im_add[%zu] %g vs naive %g", i, dx[i], dx_naive[i]);
            ok = 0;
        }
    free(x), free(cols), free(cols2), free(y), free(dx), free(dx_naive);
    return ok;
}

static void test_im2col(void) {
    static const int kernels[] = {1, 3, 5}, channels[] = {1, 3, 4, 5, 8}, sizes[][2] = {{1, 1}, {5, 7}, {8, 6}};
    for (size_t ik = 0; ik < 3; ik++)
        for (int stride = 1; stride <= 2; stride++)
            for (int dil = 1; dil <= 2; dil++) {
                int cases = 0, ok = 1;
                char why[320] = ""; /* room for the case and its 200-byte detail */
                for (size_t ic = 0; ic < 5 && ok; ic++)
                    for (size_t is = 0; is < 3 && ok; is++)
                        for (int pad = 0; pad <= 3 && ok; pad++) {
                            const int k = kernels[ik];
                            /* pad 3 = asymmetric: top 1, left 2, no bottom/right padding (tfjs 'same', odd). */
                            const int pt = pad == 3 ? 1 : pad, pl = pad == 3 ? 2 : pad, pb = pad == 3 ? 0 : pad;
                            cnn_conv_geom g = {2, sizes[is][0], sizes[is][1], channels[ic], k, k + (k > 1 ? -1 : 0),
                                               stride, stride + 1 - (stride == 2), dil, dil, pt, pl, 0, 0};
                            g.oh = (g.h + pt + pb - g.dh * (g.kh - 1) - 1) / g.sh + 1;
                            g.ow = (g.w + pl + pb - g.dw * (g.kw - 1) - 1) / g.sw + 1;
                            if (g.h + pt + pb - g.dh * (g.kh - 1) - 1 < 0 || g.w + pl + pb - g.dw * (g.kw - 1) - 1 < 0)
                                continue;
                            char detail[200];
                            cases++;
                            if (!conv_case(&g, detail, sizeof detail)) {
                                snprintf(why, sizeof why, " — h=%d w=%d c=%d k=%dx%d pad=%d/%d: %s", g.h, g.w, g.c,
                                         g.kh, g.kw, pt, pl, detail);
                                ok = 0;
                            }
                        }
                report(ok, "im2col/col2im kernel %d stride %d dilation %d (%d cases)%s", kernels[ik], stride, dil,
                       cases, why);
            }
}

/* ---- direct convolution ------------------------------------------------------------------------------------- */

/* cnn_f32_conv2d__simd vs __ref (which is itself checked against im2col + GEMM__ref here). */
static int direct_conv_case(const cnn_conv_geom* g, int N, int with_bias, char* why, size_t why_len) {
    const int K = g->kh * g->kw * g->c, rows = g->n * g->oh * g->ow;
    const size_t x_len = (size_t)g->n * g->h * g->w * g->c, w_len = (size_t)K * N, y_len = (size_t)rows * N;
    float* x = random_floats(x_len);
    float* w = random_floats(w_len);
    float* bias = random_floats((size_t)N);
    float* y_simd = xmalloc(y_len * sizeof(float));
    float* y_ref = xmalloc(y_len * sizeof(float));
    float* y_gemm = xmalloc(y_len * sizeof(float));
    float* cols = xmalloc((size_t)rows * K * sizeof(float));
    float* ws = xmalloc(cnn_f32_conv2d_workspace_floats(g, N) * sizeof(float));
    const float* b = with_bias ? bias : NULL;
    cnn_f32_conv2d__simd(g, x, w, b, N, y_simd, ws);
    cnn_f32_conv2d__ref(g, x, w, b, N, y_ref, NULL);
    cnn_f32_im2col(g, x, 0, rows, cols);
    cnn_f32_gemm__ref(rows, N, K, cols, K, 0, w, N, 0, y_gemm, N, 0, NULL);
    int ok = 1;
    const double tol = 1e-5 * sqrt((double)K + 1);
    for (int r = 0; r < rows && ok; r++)
        for (int j = 0; j < N && ok; j++) {
            const size_t at = (size_t)r * N + j;
            double magnitude = with_bias ? fabs(bias[j]) : 0.0;
            for (int k = 0; k < K; k++) magnitude += fabs((double)cols[(size_t)r * K + k] * w[(size_t)k * N + j]);
            const double want = y_gemm[at] + (with_bias ? bias[j] : 0.0f);
            if (!(fabs((double)y_simd[at] - y_ref[at]) <= tol * magnitude + 1e-30) ||
                !(fabs(y_ref[at] - want) <= tol * magnitude + 1e-30)) {
                snprintf(why, why_len, "y[%d][%d] simd %.9g ref %.9g im2col+gemm %.9g", r, j, y_simd[at], y_ref[at],
                         want);
                ok = 0;
            }
        }
    free(x), free(w), free(bias), free(y_simd), free(y_ref), free(y_gemm), free(cols), free(ws);
    return ok;
}

static void test_direct_conv(void) {
    static const int kernels[] = {1, 2, 3, 5}, channels[] = {1, 2, 3, 4, 6}, sizes[][2] = {{1, 1}, {5, 7}, {9, 6}};
    static const int filters[] = {1, 3, 4, 6, 8, 9, 16, 17};
    for (size_t ik = 0; ik < 4; ik++)
        for (int stride = 1; stride <= 2; stride++)
            for (int dil = 1; dil <= 2; dil++) {
                int cases = 0, ok = 1;
                char why[300] = "";
                for (size_t ic = 0; ic < 5 && ok; ic++)
                    for (size_t is = 0; is < 3 && ok; is++)
                        for (int pad = 0; pad <= 3 && ok; pad++)
                            for (size_t in = 0; in < 8 && ok; in++) {
                                const int k = kernels[ik], N = filters[in];
                                const int pt = pad == 3 ? 1 : pad, pl = pad == 3 ? 2 : pad, pb = pad == 3 ? 0 : pad;
                                /* Horizontal dilation stays 1 (the kernel's requirement); vertical may not. */
                                cnn_conv_geom g = {2, sizes[is][0], sizes[is][1], channels[ic], k, k + (k > 1 ? -1 : 0),
                                                   stride, stride + 1 - (stride == 2), dil, 1, pt, pl, 0, 0};
                                const int span_h = g.h + pt + pb - g.dh * (g.kh - 1) - 1;
                                const int span_w = g.w + pl + pb - (g.kw - 1) - 1;
                                if (span_h < 0 || span_w < 0) continue;
                                g.oh = span_h / g.sh + 1, g.ow = span_w / g.sw + 1;
                                if (!cnn_f32_conv2d_supported(&g, N)) { ok = 0; snprintf(why, sizeof why, " unsupported"); }
                                char detail[200];
                                cases++;
                                if (ok && !direct_conv_case(&g, N, (int)(in + is) % 2, detail, sizeof detail)) {
                                    snprintf(why, sizeof why, " — h=%d w=%d c=%d k=%dx%d pad=%d/%d N=%d: %s", g.h, g.w,
                                             g.c, g.kh, g.kw, pt, pl, N, detail);
                                    ok = 0;
                                }
                            }
                report(ok, "direct conv kernel %d stride %d dilation %dx1 (%d cases)%s", kernels[ik], stride, dil,
                       cases, why);
            }
    /* LeNet shapes, whole batch of 3. */
    cnn_conv_geom lenet1 = {3, 28, 28, 1, 5, 5, 1, 1, 1, 1, 2, 2, 28, 28};
    cnn_conv_geom lenet2 = {3, 14, 14, 6, 5, 5, 1, 1, 1, 1, 0, 0, 10, 10};
    char why[200] = "";
    report(direct_conv_case(&lenet1, 6, 1, why, sizeof why), "direct conv LeNet conv1 %s", why);
    report(direct_conv_case(&lenet2, 16, 1, why, sizeof why), "direct conv LeNet conv2 %s", why);
}

/* Direct weight gradient (few channels and filters) against a double sum over the naive patches; SIMD and __ref
 * bit for bit; any split of the (tap, channel) pairs gives the whole call's bits; dw accumulates. */
static int direct_wgrad_case(const cnn_conv_geom* g, int N, char* why, size_t why_len) {
    const int pairs = g->kh * g->kw * g->c, rows = g->n * g->oh * g->ow;
    const size_t x_len = (size_t)g->n * g->h * g->w * g->c, dy_len = (size_t)rows * N, dw_len = (size_t)pairs * N;
    float* x = random_floats(x_len);
    float* dy = random_floats(dy_len);
    float* start = random_floats(dw_len);
    float* dw_simd = copy_floats(start, dw_len);
    float* dw_ref = copy_floats(start, dw_len);
    float* dw_split = copy_floats(start, dw_len);
    cnn_f32_conv2d_weight_grad_direct__simd(g, N, x, dy, dw_simd, 0, pairs);
    cnn_f32_conv2d_weight_grad_direct__ref(g, N, x, dy, dw_ref, 0, pairs);
    for (int first = 0, step = 1; first < pairs; first += step, step = step % 3 + 1)
        cnn_f32_conv2d_weight_grad_direct(g, N, x, dy, dw_split, first, first + step < pairs ? first + step : pairs);
    int ok = memcmp(dw_simd, dw_ref, dw_len * sizeof(float)) == 0 && memcmp(dw_simd, dw_split, dw_len * sizeof(float)) == 0;
    if (!ok) snprintf(why, why_len, "SIMD, __ref and split calls differ");
    for (int pair = 0; pair < pairs && ok; pair++) {
        const int tap = pair / g->c, ci = pair % g->c, ky = tap / g->kw, kx = tap % g->kw;
        for (int co = 0; co < N && ok; co++) {
            double want = start[(size_t)pair * N + co], magnitude = fabs(want);
            for (int r = 0; r < rows; r++) {
                const double t = (double)naive_patch_value(g, x, r, ky, kx, ci) * dy[(size_t)r * N + co];
                want += t, magnitude += fabs(t);
            }
            const float got = dw_simd[(size_t)pair * N + co];
            if (!(fabs(got - want) <= 1e-6 * magnitude + 1e-30)) {
                snprintf(why, why_len, "dw[pair %d][%d] %.9g, want %.9g", pair, co, got, want);
                ok = 0;
            }
        }
    }
    free(x), free(dy), free(start), free(dw_simd), free(dw_ref), free(dw_split);
    return ok;
}

static void test_direct_weight_grad(void) {
    int cases = 0, ok = 1;
    char why[300] = "";
    for (int c = 1; c <= CNN_WGRAD_DIRECT_MAX_CHANNELS && ok; c++)
        for (int N = 1; N <= CNN_WGRAD_DIRECT_MAX_FILTERS && ok; N++) /* every N: each is its own kernel */
            for (int variant = 0; variant < 4 && ok; variant++) {
                /* kernel, stride, dilation, padding (top / left) and image size vary with the variant */
                const int k = variant == 3 ? 1 : 3 + (variant & 1) * 2, s = 1 + (variant == 2), d = 1 + (variant == 1);
                const int pt = variant == 3 ? 0 : variant, pl = variant == 2 ? 0 : (k - 1) * d / 2;
                cnn_conv_geom g = {2, 7 + variant, 6 + c, c, k, k, s, s, d, d, pt, pl, 0, 0};
                g.oh = (g.h + 2 * pt - d * (k - 1) - 1) / s + 1;
                g.ow = (g.w + 2 * pl - d * (k - 1) - 1) / s + 1;
                if (g.oh < 1 || g.ow < 1) continue;
                char detail[200];
                cases++;
                if (!cnn_f32_conv2d_weight_grad_direct_supported(&g, N)) {
                    snprintf(why, sizeof why, " — c=%d N=%d refused", c, N);
                    ok = 0;
                } else if (!direct_wgrad_case(&g, N, detail, sizeof detail)) {
                    snprintf(why, sizeof why, " — c=%d N=%d k=%d s=%d d=%d pad=%d/%d: %s", c, N, k, s, d, pt, pl, detail);
                    ok = 0;
                }
            }
    cnn_conv_geom wide = {1, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4}, wide_ok_channels = wide;
    wide_ok_channels.c = 4;
    ok &= !cnn_f32_conv2d_weight_grad_direct_supported(&wide, 4) && !cnn_f32_conv2d_weight_grad_direct_supported(&wide_ok_channels, 17);
    report(ok, "direct weight gradient, 1-4 channels, 1-16 filters, strides / dilations / padding (%d cases)%s", cases, why);
    cnn_conv_geom lenet1 = {3, 28, 28, 1, 5, 5, 1, 1, 1, 1, 2, 2, 28, 28};
    report(direct_wgrad_case(&lenet1, 6, why, sizeof why), "direct weight gradient, LeNet conv1 %s", why);
}

/* ---- pooling ------------------------------------------------------------------------------------------------- */

/* Naive max pool straight from the documented semantics. */
static void naive_maxpool(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx) {
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int ch = 0; ch < g->c; ch++) {
                    float best = 0.0f;
                    int32_t best_i = -1;
                    for (int ky = 0; ky < g->ph; ky++)
                        for (int kx = 0; kx < g->pw; kx++) {
                            const int iy = oy * g->sh - g->pad_top + ky, ix = ox * g->sw - g->pad_left + kx;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            const float v = x[(((size_t)b * g->h + iy) * g->w + ix) * g->c + ch];
                            if (best_i < 0) { best = v, best_i = iy * g->w + ix; continue; }
                            if (isnan(best)) continue;            /* the first NaN sticks */
                            if (isnan(v) || v > best) best = v, best_i = iy * g->w + ix;
                        }
                    const size_t o = (((size_t)b * g->oh + oy) * g->ow + ox) * g->c + ch;
                    y[o] = best, idx[o] = best_i;
                }
}

static void naive_avgpool(const cnn_pool_geom* g, const float* x, float* y) {
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int ch = 0; ch < g->c; ch++) {
                    double sum = 0;
                    int count = 0;
                    for (int ky = 0; ky < g->ph; ky++)
                        for (int kx = 0; kx < g->pw; kx++) {
                            const int iy = oy * g->sh - g->pad_top + ky, ix = ox * g->sw - g->pad_left + kx;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            sum += x[(((size_t)b * g->h + iy) * g->w + ix) * g->c + ch], count++;
                        }
                    y[(((size_t)b * g->oh + oy) * g->ow + ox) * g->c + ch] = count ? (float)(sum / count) : 0.0f;
                }
}

static int pool_case(const cnn_pool_geom* g, int with_nan, char* why, size_t why_len) {
    const size_t x_len = (size_t)g->n * g->h * g->w * g->c, y_len = (size_t)g->n * g->oh * g->ow * g->c;
    float* x = random_floats(x_len);
    float* y_simd = xmalloc(y_len * sizeof(float));
    float* y_ref = xmalloc(y_len * sizeof(float));
    float* y_naive = xmalloc(y_len * sizeof(float));
    int32_t* i_simd = xmalloc(y_len * sizeof(int32_t));
    int32_t* i_ref = xmalloc(y_len * sizeof(int32_t));
    int32_t* i_naive = xmalloc(y_len * sizeof(int32_t));
    float* dx_a = xmalloc(x_len * sizeof(float));
    float* dx_b = xmalloc(x_len * sizeof(float));
    float* dy = random_floats(y_len);
    /* Coarse values make ties common, which exercises "first maximum wins". */
    /* -0 beside +0: a tie whose first value must win bit for bit. */
    for (size_t i = 0; i < x_len; i++) x[i] = rand_u32() % 11 == 0 ? -0.0f : floorf(x[i] * 3.0f);
    /* with_nan 1: NaN everywhere; 2: a rare NaN or infinity, so that most rows take the fast path of the pooling
     * without indices and a few its exact fallback. */
    for (size_t i = 0; with_nan && i < x_len; i++) {
        const uint32_t r = rand_u32() % (with_nan == 1 ? 7 : 331);
        if (r == 0) x[i] = NAN;
        else if (with_nan == 2 && r == 1) x[i] = INFINITY;
        else if (with_nan == 2 && r == 2) x[i] = -INFINITY;
    }
    int ok = 1;
    cnn_f32_maxpool__simd(g, x, y_simd, i_simd);
    cnn_f32_maxpool__ref(g, x, y_ref, i_ref);
    naive_maxpool(g, x, y_naive, i_naive);
    for (size_t o = 0; o < y_len && ok; o++) {
        const int naive_empty = i_naive[o] < 0;
        if (!same_float(y_simd[o], y_ref[o]) || i_simd[o] != i_ref[o] || i_ref[o] != i_naive[o] ||
            (!naive_empty && !same_float(y_ref[o], y_naive[o])) || (naive_empty && y_ref[o] != 0.0f)) {
            snprintf(why, why_len, "maxpool out %zu: simd %g@%d ref %g@%d naive %g@%d", o, y_simd[o], i_simd[o],
                     y_ref[o], i_ref[o], y_naive[o], i_naive[o]);
            ok = 0;
        }
    }
    /* y without indices must not change. */
    cnn_f32_maxpool__simd(g, x, y_naive, NULL);
    for (size_t o = 0; o < y_len && ok; o++)
        if (!same_float(y_naive[o], y_simd[o])) snprintf(why, why_len, "maxpool without idx differs"), ok = 0;
    /* Backward scatter vs naive (adds onto existing gradient). */
    for (size_t i = 0; i < x_len; i++) dx_a[i] = dx_b[i] = 0.25f;
    cnn_f32_maxpool_backward(g->n, g->oh, g->ow, g->c, dy, i_simd, g->h, g->w, dx_a);
    for (int b = 0; b < g->n; b++)
        for (size_t o = 0; o < (size_t)g->oh * g->ow * g->c; o++) {
            const size_t oo = (size_t)b * g->oh * g->ow * g->c + o;
            if (i_simd[oo] >= 0)
                dx_b[((size_t)b * g->h * g->w + i_simd[oo]) * g->c + o % g->c] += dy[oo];
        }
    if (ok && memcmp(dx_a, dx_b, x_len * sizeof(float)) != 0) snprintf(why, why_len, "maxpool_backward"), ok = 0;
    /* Unpool backward gather-adds through the same indices (dx_a doubles as dy_unpooled) onto a base value. */
    for (size_t o = 0; o < y_len; o++) y_ref[o] = 0.5f;
    cnn_f32_maxunpool_backward(g->n, g->oh, g->ow, g->c, dx_a, i_simd, g->h, g->w, y_ref);
    for (size_t o = 0; o < y_len && ok; o++) {
        const int b = (int)(o / ((size_t)g->oh * g->ow * g->c));
        const float want = i_simd[o] < 0 ? 0.5f : 0.5f + dx_a[((size_t)b * g->h * g->w + i_simd[o]) * g->c + o % g->c];
        if (!same_float(y_ref[o], want)) snprintf(why, why_len, "maxunpool_backward at %zu", o), ok = 0;
    }
    if (!with_nan) {
        /* Average pool: simd == ref bitwise, ref ≈ naive (double) and backward is the adjoint. */
        cnn_f32_avgpool__simd(g, x, y_simd);
        cnn_f32_avgpool__ref(g, x, y_ref);
        naive_avgpool(g, x, y_naive);
        for (size_t o = 0; o < y_len && ok; o++)
            if (!same_float(y_simd[o], y_ref[o]) || !(fabsf(y_ref[o] - y_naive[o]) <= 1e-5f * (1 + fabsf(y_naive[o]))))
                snprintf(why, why_len, "avgpool out %zu: simd %g ref %g naive %g", o, y_simd[o], y_ref[o], y_naive[o]),
                    ok = 0;
        for (size_t i = 0; i < x_len; i++) dx_a[i] = dx_b[i] = 0.25f;
        cnn_f32_avgpool_backward__simd(g, dy, dx_a);
        cnn_f32_avgpool_backward__ref(g, dy, dx_b);
        if (ok && memcmp(dx_a, dx_b, x_len * sizeof(float)) != 0) snprintf(why, why_len, "avgpool_backward simd/ref"), ok = 0;
        double lhs = 0, rhs = 0, scale = 0;
        for (size_t o = 0; o < y_len; o++) lhs += (double)y_ref[o] * dy[o], scale += fabs((double)y_ref[o] * dy[o]);
        for (size_t i = 0; i < x_len; i++) rhs += (double)x[i] * (dx_a[i] - 0.25);
        if (ok && !(fabs(lhs - rhs) <= 1e-5 * (scale + 1))) snprintf(why, why_len, "avgpool adjoint %g vs %g", lhs, rhs), ok = 0;
    }
    free(x), free(y_simd), free(y_ref), free(y_naive), free(i_simd), free(i_ref), free(i_naive);
    free(dx_a), free(dx_b), free(dy);
    return ok;
}

static void test_pool(void) {
    static const int sizes[][2] = {{1, 1}, {4, 4}, {5, 7}, {7, 3}};
    for (int c = 1; c <= 9; c++)
        for (int with_nan = 0; with_nan <= 1; with_nan++) {
            int cases = 0, ok = 1;
            char why[320] = ""; /* room for the case and its 200-byte detail */
            for (size_t is = 0; is < 4 && ok; is++)
                for (int p = 1; p <= 3 && ok; p++)
                    for (int s = 1; s <= 3 && ok; s++)
                        for (int pad = 0; pad <= 2 && ok; pad++) {
                            /* pad may equal the window (empty edge windows) — the kernels must cope. */
                            if (pad > p) continue;
                            cnn_pool_geom g = {2, sizes[is][0], sizes[is][1], c, p, p + (p == 2), s, s, pad, pad, 0, 0};
                            g.oh = (g.h + 2 * pad - g.ph) / g.sh + 1;
                            g.ow = (g.w + 2 * pad - g.pw) / g.sw + 1;
                            if (g.h + 2 * pad < g.ph || g.w + 2 * pad < g.pw) continue;
                            char detail[200];
                            cases++;
                            if (!pool_case(&g, with_nan, detail, sizeof detail)) {
                                snprintf(why, sizeof why, " — h=%d w=%d %dx%d s=%d pad=%d: %s", g.h, g.w, g.ph, g.pw,
                                         s, pad, detail);
                                ok = 0;
                            }
                        }
            report(ok, "pool c=%d%s (%d cases)%s", c, with_nan ? " with NaN" : "", cases, why);
        }
    /* 2×2 stride 2 (the fast path): even and odd sizes, 'valid' (floor) and 'same' (ceil: the last row / column
     * clipped), channels below, at and above the 4-lane step. */
    for (int with_nan = 0; with_nan <= 2; with_nan++) {
        int cases = 0, ok = 1;
        char why[320] = ""; /* room for the case and its 200-byte detail */
        for (int c = 1; c <= 13 && ok; c++)
            for (int h = 1; h <= 9 && ok; h++)
                for (int w = 1; w <= 9 && ok; w += 2 - (w < 4))
                    for (int same = 0; same <= 1 && ok; same++) {
                        cnn_pool_geom g = {3, h, w, c, 2, 2, 2, 2, 0, 0, 0, 0};
                        g.oh = same ? (h + 1) / 2 : h / 2;
                        g.ow = same ? (w + 1) / 2 : w / 2;
                        if (g.oh < 1 || g.ow < 1) continue;
                        char detail[200];
                        cases++;
                        if (!pool_case(&g, with_nan, detail, sizeof detail)) {
                            snprintf(why, sizeof why, " — h=%d w=%d c=%d same=%d: %s", h, w, c, same, detail);
                            ok = 0;
                        }
                    }
        report(ok, "pool 2x2 stride 2%s (%d cases)%s",
               with_nan == 2 ? " with rare NaN / infinities" : with_nan ? " with NaN" : "", cases, why);
    }
}

/* Average pooling counting the padding: simd == ref bitwise, both equal a naive double computation, and backward
 * is the adjoint. Pads each side 0..window − 1, output sizes with and without a ceil overhang. */
static void test_avgpool_inclpad(void) {
    int cases = 0, ok = 1;
    char why[240] = "";
    for (int c = 1; c <= 9 && ok; c += 2)
        for (int k = 1; k <= 3 && ok; k++)
            for (int s = 1; s <= 2 && ok; s++)
                for (int top = 0; top < k && ok; top++)
                    for (int bottom = 0; bottom < k && ok; bottom++)
                        for (int extra = 0; extra <= 1 && ok; extra++) {
                            const int h = 5, w = 4, left = bottom, right = top;
                            cnn_pool_geom g = {2, h, w, c, k, k, s, s, top, left, 0, 0};
                            g.oh = (h + top + bottom - k) / s + 1 + extra;
                            g.ow = (w + left + right - k) / s + 1 + extra;
                            if ((g.oh - 1) * s >= h + top || (g.ow - 1) * s >= w + left) continue;
                            const size_t x_len = (size_t)2 * h * w * c, y_len = (size_t)2 * g.oh * g.ow * c;
                            float* x = random_floats(x_len);
                            float* ya = xmalloc(y_len * sizeof(float));
                            float* yb = xmalloc(y_len * sizeof(float));
                            float* dy = random_floats(y_len);
                            float* dxa = xmalloc(x_len * sizeof(float));
                            float* dxb = xmalloc(x_len * sizeof(float));
                            cnn_f32_avgpool_inclpad__simd(&g, bottom, right, x, ya);
                            cnn_f32_avgpool_inclpad__ref(&g, bottom, right, x, yb);
                            for (size_t o = 0; o < y_len && ok; o++) {
                                const int ch = (int)(o % c), ox = (int)(o / c % g.ow), oy = (int)(o / c / g.ow % g.oh);
                                const int b = (int)(o / c / g.ow / g.oh);
                                double sum = 0;
                                int count = 0;
                                for (int ky = 0; ky < k; ky++)
                                    for (int kx = 0; kx < k; kx++) {
                                        const int iy = oy * s - top + ky, ix = ox * s - left + kx;
                                        if (iy >= h + bottom || ix >= w + right) continue;
                                        count++;
                                        if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                            sum += x[(((size_t)b * h + iy) * w + ix) * c + ch];
                                    }
                                const double want = sum / count;
                                if (!same_float(ya[o], yb[o]) || !(fabs(yb[o] - want) <= 1e-5 * (1 + fabs(want))))
                                    snprintf(why, sizeof why, " — k=%d s=%d pads %d,%d c=%d out %zu: simd %g ref %g "
                                             "naive %g", k, s, top, bottom, c, o, ya[o], yb[o], want), ok = 0;
                            }
                            for (size_t i = 0; i < x_len; i++) dxa[i] = dxb[i] = 0.25f;
                            cnn_f32_avgpool_inclpad_backward__simd(&g, bottom, right, dy, dxa);
                            cnn_f32_avgpool_inclpad_backward__ref(&g, bottom, right, dy, dxb);
                            if (ok && memcmp(dxa, dxb, x_len * sizeof(float)) != 0)
                                snprintf(why, sizeof why, " — backward simd/ref differ"), ok = 0;
                            double lhs = 0, rhs = 0, scale = 0;
                            for (size_t o = 0; o < y_len; o++) lhs += (double)yb[o] * dy[o], scale += fabs((double)yb[o] * dy[o]);
                            for (size_t i = 0; i < x_len; i++) rhs += (double)x[i] * (dxa[i] - 0.25);
                            if (ok && !(fabs(lhs - rhs) <= 1e-5 * (scale + 1)))
                                snprintf(why, sizeof why, " — adjoint %g vs %g", lhs, rhs), ok = 0;
                            cases++;
                            free(x), free(ya), free(yb), free(dy), free(dxa), free(dxb);
                        }
    report(ok, "avgpool count_include_pad (%d cases)%s", cases, why);
}

/* ---- input checks -------------------------------------------------------------------------------------------- */

static void test_first_nonfinite(void) {
    int ok = 1;
    static const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int n = 0; n <= 2100 && ok; n += n < 40 ? 1 : 97) {
        float* x = random_floats((size_t)n);
        for (int i = 0; i < n; i += 7) x[i] *= 1e30f; /* large but finite */
        if (n > 0) x[n / 2] = 1e-44f;                 /* subnormal */
        if (cnn_f32_first_nonfinite__simd((size_t)n, x) != (size_t)n ||
            cnn_f32_first_nonfinite__ref((size_t)n, x) != (size_t)n)
            ok = 0;
        for (int at = 0; at < n && ok; at += 1 + n / 5) {
            for (int k = 0; k < 3 && ok; k++) {
                const float keep = x[at];
                x[at] = bad[k];
                if (n - at > 1) x[n - 1] = bad[(k + 1) % 3]; /* a later one must not win */
                if (cnn_f32_first_nonfinite__simd((size_t)n, x) != (size_t)at ||
                    cnn_f32_first_nonfinite__ref((size_t)n, x) != (size_t)at)
                    ok = 0;
                x[at] = keep;
                fill_random(x + n - 1, 1);
            }
        }
        free(x);
    }
    report(ok, "first_nonfinite simd/ref, n 0..2100, NaN/inf at several positions");
}

/* ---- activation gradients ------------------------------------------------------------------------------------ */

/* ReLU / leaky ReLU gradients: simd == ref bit for bit over lengths around the vector width, with signed zeros,
 * infinities, NaN and values at the kink in x / y and in dy; and ref equals the rule written out. */
static void test_activation_backward(void) {
    int ok = 1;
    static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-44f, -1e-44f};
    for (int n = 0; n <= 37 && ok; n++) {
        float *x = random_floats((size_t)n + 1), *dy = random_floats((size_t)n + 1), *base = random_floats((size_t)n + 1);
        float *a = xmalloc(((size_t)n + 1) * sizeof(float)), *b = xmalloc(((size_t)n + 1) * sizeof(float));
        for (int i = 0; i < n; i += 3) x[i] = specials[(i / 3) % 7];
        for (int i = 1; i < n; i += 4) dy[i] = specials[(i / 4 + 2) % 7];
        for (int i = 2; i < n; i += 5) base[i] = specials[(i / 5 + 4) % 7];
        for (int mode = 0; mode < 4 && ok; mode++) {
            const int leaky = mode & 1, acc = mode >> 1;
            memcpy(a, base, (size_t)n * sizeof(float)), memcpy(b, base, (size_t)n * sizeof(float));
            a[n] = b[n] = 42.0f; /* past the end: untouched */
            if (leaky) {
                cnn_f32_leaky_relu_backward__simd((size_t)n, x, dy, 0.2f, a, acc);
                cnn_f32_leaky_relu_backward__ref((size_t)n, x, dy, 0.2f, b, acc);
            } else {
                cnn_f32_relu_backward__simd((size_t)n, x, dy, a, acc);
                cnn_f32_relu_backward__ref((size_t)n, x, dy, b, acc);
            }
            ok &= memcmp(a, b, ((size_t)n + 1) * sizeof(float)) == 0 && a[n] == 42.0f;
            for (int i = 0; i < n && ok; i++) {
                const float g = x[i] > 0.0f ? dy[i] : leaky ? 0.2f * dy[i] : 0.0f;
                const float want = acc ? base[i] + g : g;
                ok &= memcmp(&want, &b[i], sizeof want) == 0 || (want != want && b[i] != b[i]);
            }
        }
        free(x), free(dy), free(base), free(a), free(b);
    }
    report(ok, "relu / leaky relu backward (added and written) simd == ref bitwise, n 0..37, signed zeros, inf, NaN, "
                "subnormals");
}

/* ---- bias helpers -------------------------------------------------------------------------------------------- */

static void test_bias(void) {
    int ok = 1;
    for (int rows = 1; rows <= 5; rows++)
        for (int cols = 1; cols <= 9; cols++) {
            float y[45], want[45], bias[9], db[9], db_want[9];
            fill_random(y, 45), fill_random(bias, 9), fill_random(db, 9);
            memcpy(want, y, sizeof y), memcpy(db_want, db, sizeof db);
            cnn_f32_add_bias(rows, cols, bias, y);
            cnn_f32_sum_rows_add(rows, cols, want, db);
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) db_want[j] += want[r * cols + j], want[r * cols + j] += bias[j];
            if (memcmp(y, want, sizeof y) != 0 || memcmp(db, db_want, sizeof db) != 0) ok = 0;
        }
    report(ok, "add_bias / sum_rows_add rows 1..5 cols 1..9");
}

int main(void) {
    xorshift_seed(0x9E3779B97F4A7C15ull);
    printf("SIMD backend: %s\n", CNN_SIMD_BACKEND);
    test_im2col();
    test_direct_conv();
    test_direct_weight_grad();
    test_pool();
    test_avgpool_inclpad();
    test_bias();
    test_first_nonfinite();
    test_activation_backward();
    return test_summary();
}
