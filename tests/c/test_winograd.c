/* Native tests for c/src/kernels/winograd.c: F(2×2,3×3) and F(4×4,3×3), forward and input gradient, __simd and
 * __ref, against a direct convolution in double written here; and winograd_wgrad.c's weight gradient F(3×3,2×2),
 * __simd and __ref against a double reference, with filter-range splits bit-identical to one call. Sizes sweep below, at and above the tiles (H, W in
 * 1..11 and 56, channels 1..9 and 64, batches 1 and 3, 'valid' and 'same'). Outputs start as NaN (forward) or random
 * values the gradient is added to (input gradient), so an element the kernel forgets fails. Buffers have their exact
 * extent so ASan / valgrind catch any out-of-bounds access. Errors are max |ours − double| / max |double| (the tfjs
 * cross-checks' measure), limit 1e-4; the worst figures are printed per tile size.
 *
 * Build (from the repository root):
 *   gcc -O1 -g -std=c11 -Wall -Wextra -fsanitize=address,undefined -Ic/src -Ic/include tests/c/test_winograd.c
 *       c/src/kernels/[*].c -lm -o build/native/test_winograd */
#include "kernels/winograd.h"
#include "cnn.h"
#include "test_util.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- references in double ----------------------------------------------------------------------------------------- */

static void conv_ref(const cnn_conv_geom* g, int N, const float* x, const float* w, const float* bias, double* y) {
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int f = 0; f < N; f++) {
                    double s = bias ? bias[f] : 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            const int iy = oy + ky - g->pad_top, ix = ox + kx - g->pad_left;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            for (int ci = 0; ci < g->c; ci++)
                                s += (double)x[(((size_t)b * g->h + iy) * g->w + ix) * g->c + ci] *
                                     w[((size_t)(ky * 3 + kx) * g->c + ci) * N + f];
                        }
                    y[(((size_t)b * g->oh + oy) * g->ow + ox) * N + f] = s;
                }
}

/* dx = the adjoint of conv_ref (without bias) applied to dy. */
static void conv_backward_data_ref(const cnn_conv_geom* g, int N, const float* dy, const float* w, double* dx) {
    memset(dx, 0, (size_t)g->n * g->h * g->w * g->c * sizeof(double));
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        const int iy = oy + ky - g->pad_top, ix = ox + kx - g->pad_left;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                        const float* d = dy + (((size_t)b * g->oh + oy) * g->ow + ox) * N;
                        double* out = dx + (((size_t)b * g->h + iy) * g->w + ix) * g->c;
                        for (int ci = 0; ci < g->c; ci++) {
                            const float* wk = w + ((size_t)(ky * 3 + kx) * g->c + ci) * N;
                            double s = 0.0;
                            for (int f = 0; f < N; f++) s += (double)d[f] * wk[f];
                            out[ci] += s;
                        }
                    }
}

/* max |got − want| / max |want| (0 when want is all zeros and got matches); NaN anywhere gives +inf. */
typedef struct error_figures {
    double abs, rel;
} error_figures;

static error_figures compare(size_t n, const float* got, const double* want, const float* base) {
    double max_err = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double expect = want[i] + (base ? base[i] : 0.0);
        const double err = fabs((double)got[i] - expect);
        if (!(err == err)) max_err = INFINITY;
        else if (err > max_err) max_err = err;
        if (fabs(expect) > max_ref) max_ref = fabs(expect);
    }
    error_figures e = {max_err, max_ref > 0 ? max_err / max_ref : (max_err > 0 ? INFINITY : 0.0)};
    return e;
}

static error_figures g_worst[2][2][2]; /* [tile 2/4][forward/backward][simd/ref] */
static const double TOLERANCE = 1e-4;

static void note(error_figures* w, error_figures e) {
    if (e.abs > w->abs) w->abs = e.abs;
    if (e.rel > w->rel) w->rel = e.rel;
}

/* ---- one convolution shape -------------------------------------------------------------------------------------- */

static cnn_conv_geom geom_of(int n, int h, int w, int c, int same) {
    cnn_conv_geom g = {n, h, w, c, 3, 3, 1, 1, 1, 1, same ? 1 : 0, same ? 1 : 0, same ? h : h - 2, same ? w : w - 2};
    return g;
}

/* Runs both tiles, both directions, __simd and __ref. Returns 1 when every check passed; why says what failed. */
static int conv_case(int n, int h, int w, int cin, int cout, int same, char* why, size_t why_len) {
    const cnn_conv_geom g = geom_of(n, h, w, cin, same);
    const size_t x_len = (size_t)n * h * w * cin, y_len = (size_t)n * g.oh * g.ow * cout;
    const size_t w_len = (size_t)9 * cin * cout;
    float* x = random_floats(x_len);
    float* wt = random_floats(w_len);
    float* bias = random_floats((size_t)cout);
    float* dy = random_floats(y_len);
    float* dx0 = random_floats(x_len);
    double* y_want = xmalloc(y_len * sizeof(double));
    double* dx_want = xmalloc(x_len * sizeof(double));
    float* y = xmalloc(y_len * sizeof(float));
    float* dx = xmalloc(x_len * sizeof(float));
    conv_ref(&g, cout, x, wt, bias, y_want);
    conv_backward_data_ref(&g, cout, dy, wt, dx_want);
    int ok = 1;
    for (int ti = 0; ti < 2 && ok; ti++) {
        const int tile = ti ? 4 : 2;
        uint64_t u_len = 0, ws_fwd = 0, ws_bwd = 0;
        if (cnn_f32_winograd_weights_floats(tile, cin, cout, &u_len) ||
            cnn_f32_winograd_workspace_floats(&g, cout, tile, CNN_WINOGRAD_FORWARD, &ws_fwd) ||
            cnn_f32_winograd_workspace_floats(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA, &ws_bwd)) {
            snprintf(why, why_len, "F%d: a size function refused a supported shape", tile);
            ok = 0;
            break;
        }
        float* u = xmalloc(u_len * sizeof(float));
        float* uf = xmalloc(u_len * sizeof(float));
        float* ws_f = xmalloc(ws_fwd * sizeof(float));
        float* ws_b = xmalloc(ws_bwd * sizeof(float));
        cnn_f32_winograd_transform_weights(tile, cin, cout, wt, 0, u);
        cnn_f32_winograd_transform_weights(tile, cin, cout, wt, 1, uf);
        for (int simd = 1; simd >= 0 && ok; simd--) {
            fill_nan(y, y_len);
            const int s1 = simd ? cnn_f32_winograd_forward__simd(&g, cout, tile, x, u, bias, y, ws_f)
                                : cnn_f32_winograd_forward__ref(&g, cout, tile, x, u, bias, y, ws_f);
            const error_figures ef = compare(y_len, y, y_want, NULL);
            memcpy(dx, dx0, x_len * sizeof(float));
            const int s2 = simd ? cnn_f32_winograd_backward_data__simd(&g, cout, tile, dy, uf, dx, ws_b)
                                : cnn_f32_winograd_backward_data__ref(&g, cout, tile, dy, uf, dx, ws_b);
            /* Error of the gradient itself, against the scale of the gradient (not of dx0). */
            for (size_t i = 0; i < x_len; i++) dx[i] -= dx0[i];
            const error_figures eb = compare(x_len, dx, dx_want, NULL);
            note(&g_worst[ti][0][!simd], ef);
            note(&g_worst[ti][1][!simd], eb);
            /* The written form (first writer of dx) over NaN: every element written, and the added form's bits on a
             * zero dx (one call in two tile ranges: any split gives the whole call's bits). */
            int64_t tiles;
            int chunk, s3 = cnn_f32_winograd_tiles(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA_WRITE, &tiles, &chunk);
            float* dx_write = xmalloc(x_len * sizeof(float));
            fill_nan(dx_write, x_len);
            memset(dx, 0, x_len * sizeof(float));
            for (int part = 0; part < 2 && !s3; part++) {
                const int64_t first = part ? tiles / 2 : 0, end = part ? tiles : tiles / 2;
                s3 = simd ? cnn_f32_winograd_range__simd(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA_WRITE, dy, uf,
                                                         bias, dx_write, ws_b, first, end, NULL)
                          : cnn_f32_winograd_range__ref(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA_WRITE, dy, uf,
                                                        bias, dx_write, ws_b, first, end, NULL);
            }
            if (!s3) s3 = simd ? cnn_f32_winograd_backward_data__simd(&g, cout, tile, dy, uf, dx, ws_b)
                               : cnn_f32_winograd_backward_data__ref(&g, cout, tile, dy, uf, dx, ws_b);
            for (size_t i = 0; i < x_len && !s3; i++)
                if (!same_float(dx_write[i], dx[i]) && !(dx_write[i] == 0.0f && dx[i] == 0.0f)) s3 = -1;
            free(dx_write);
            if (s3) {
                snprintf(why, why_len, "F%d %s: the written input gradient differs from the added one on zeros (%d)",
                         tile, simd ? "simd" : "ref", s3);
                ok = 0;
            }
            if (s1 || s2 || !(ef.rel <= TOLERANCE) || !(eb.rel <= TOLERANCE)) {
                snprintf(why, why_len, "F%d %s: status %d/%d, forward rel err %.3g, input-gradient rel err %.3g",
                         tile, simd ? "simd" : "ref", s1, s2, ef.rel, eb.rel);
                ok = 0;
            }
        }
        free(u), free(uf), free(ws_f), free(ws_b);
    }
    free(x), free(wt), free(bias), free(dy), free(dx0), free(y_want), free(dx_want), free(y), free(dx);
    return ok;
}

/* ---- sweeps ------------------------------------------------------------------------------------------------------ */

static void sweep_spatial(void) {
    /* Every H, W in 1..11 (below, at and above both tile sizes), random channels 1..9, batches 1 and 3. */
    for (int same = 0; same <= 1; same++) {
        int cases = 0, ok = 1;
        char why[300] = "";
        for (int h = 1; h <= 11 && ok; h++)
            for (int w = 1; w <= 11 && ok; w++) {
                if (!same && (h < 3 || w < 3)) continue;
                const int n = (h + w) % 2 ? 3 : 1, cin = 1 + (int)(rand_u32() % 9), cout = 1 + (int)(rand_u32() % 9);
                char detail[200];
                cases++;
                if (!conv_case(n, h, w, cin, cout, same, detail, sizeof detail)) {
                    snprintf(why, sizeof why, " — n=%d %dx%dx%d->%d: %s", n, h, w, cin, cout, detail);
                    ok = 0;
                }
            }
        report(ok, "winograd %s: H, W in 1..11, channels 1..9, batch 1/3 (%d shapes)%s", same ? "same" : "valid",
               cases, why);
    }
}

static void sweep_channels(void) {
    /* Every Cin, Cout in {1..9, 64} on a 7x6 image (partial tiles both ways for both tile sizes). */
    static const int chans[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 64};
    for (int same = 0; same <= 1; same++) {
        int cases = 0, ok = 1;
        char why[300] = "";
        for (int a = 0; a < 10 && ok; a++)
            for (int b = 0; b < 10 && ok; b++) {
                const int n = (a + b) % 2 ? 3 : 1;
                char detail[200];
                cases++;
                if (!conv_case(n, 7, 6, chans[a], chans[b], same, detail, sizeof detail)) {
                    snprintf(why, sizeof why, " — n=%d 7x6x%d->%d: %s", n, chans[a], chans[b], detail);
                    ok = 0;
                }
            }
        report(ok, "winograd %s: Cin, Cout in 1..9 and 64, 7x6, batch 1/3 (%d shapes)%s", same ? "same" : "valid",
               cases, why);
    }
}

static void large_shapes(void) {
    static const struct { int n, h, w, cin, cout, same; } shapes[] = {
        {1, 56, 56, 64, 64, 1}, /* ResNet-size layer: many chunks, 64 = 8 panels ('valid' 64 -> 64: sweep_channels) */
        {3, 11, 9, 64, 64, 1},  /* batch 3: chunks spanning samples */
        {3, 56, 56, 3, 9, 0},   /* channel tails with many tiles */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char why[200] = "";
        const int ok = conv_case(shapes[i].n, shapes[i].h, shapes[i].w, shapes[i].cin, shapes[i].cout,
                                 shapes[i].same, why, sizeof why);
        report(ok, "winograd n=%d %dx%dx%d->%d %s%s%s", shapes[i].n, shapes[i].h, shapes[i].w, shapes[i].cin,
               shapes[i].cout, shapes[i].same ? "same" : "valid", ok ? "" : " — ", why);
    }
}

/* Inputs of magnitude 1e3 and 1e-3: the relative error must not depend on scale. */
static void scaled_inputs(void) {
    int ok = 1;
    char why[200] = "";
    const cnn_conv_geom g = geom_of(1, 12, 12, 16, 1);
    const int N = 16;
    const size_t x_len = 12 * 12 * 16, y_len = 12 * 12 * 16, w_len = 9 * 16 * 16;
    float* x = xmalloc(x_len * sizeof(float));
    float* wt = xmalloc(w_len * sizeof(float));
    float* y = xmalloc(y_len * sizeof(float));
    double* want = xmalloc(y_len * sizeof(double));
    for (int s = 0; s < 2 && ok; s++) {
        const float scale = s ? 1e3f : 1e-3f;
        fill_random(x, x_len), fill_random(wt, w_len);
        for (size_t i = 0; i < x_len; i++) x[i] *= scale;
        conv_ref(&g, N, x, wt, NULL, want);
        for (int tile = 2; tile <= 4 && ok; tile += 2) {
            uint64_t u_len, ws_len;
            cnn_f32_winograd_weights_floats(tile, 16, N, &u_len);
            cnn_f32_winograd_workspace_floats(&g, N, tile, CNN_WINOGRAD_FORWARD, &ws_len);
            float* u = xmalloc(u_len * sizeof(float));
            float* ws = xmalloc(ws_len * sizeof(float));
            cnn_f32_winograd_transform_weights(tile, 16, N, wt, 0, u);
            fill_nan(y, y_len);
            cnn_f32_winograd_forward(&g, N, tile, x, u, NULL, y, ws);
            const error_figures e = compare(y_len, y, want, NULL);
            if (!(e.rel <= TOLERANCE)) {
                snprintf(why, sizeof why, " — F%d, inputs x%g: rel err %.3g", tile, scale, e.rel);
                ok = 0;
            }
            free(u), free(ws);
        }
    }
    report(ok, "winograd: relative error independent of input scale (1e-3, 1e3)%s", why);
    free(x), free(wt), free(y), free(want);
}

/* ---- weight gradient: F(3×3, 2×2) and F(3×3, 4×4) (winograd_wgrad.c) ------------------------------------------- */

/* dw[ky][kx][ci][co] = Σ x · dy in double. */
static void weight_grad_ref(const cnn_conv_geom* g, int N, const float* x, const float* dy, double* dw) {
    memset(dw, 0, (size_t)9 * g->c * N * sizeof(double));
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        const int iy = oy + ky - g->pad_top, ix = ox + kx - g->pad_left;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                        const float* xs = x + (((size_t)b * g->h + iy) * g->w + ix) * g->c;
                        const float* d = dy + (((size_t)b * g->oh + oy) * g->ow + ox) * N;
                        for (int ci = 0; ci < g->c; ci++) {
                            double* out = dw + ((size_t)(ky * 3 + kx) * g->c + ci) * N;
                            for (int f = 0; f < N; f++) out[f] += (double)xs[ci] * d[f];
                        }
                    }
}

static error_figures g_worst_wgrad[2][2]; /* [F2, F4][simd, ref] */

/* __simd and __ref against the double reference, added onto random values; and the filters split into ranges of 8
 * and 16 (one call each, last first) give the bits of one call over all of them. *rel (may be NULL): the SIMD
 * path's relative error. */
static int wgrad_case_err(int n, int h, int w, int cin, int cout, int same, int tile, char* why, size_t why_len,
                          double* rel) {
    const cnn_conv_geom g = geom_of(n, h, w, cin, same);
    const size_t x_len = (size_t)n * h * w * cin, y_len = (size_t)n * g.oh * g.ow * cout;
    const size_t w_len = (size_t)9 * cin * cout;
    float* x = random_floats(x_len);
    float* dy = random_floats(y_len);
    float* base = random_floats(w_len);
    double* want = xmalloc(w_len * sizeof(double));
    float* dw = xmalloc(w_len * sizeof(float));
    float* dw_whole = xmalloc(w_len * sizeof(float));
    uint64_t ws_len = 0;
    int ok = 1;
    if (cnn_f32_winograd_weight_grad_workspace_floats(&g, cout, tile, &ws_len) != CNN_STATUS_OK) {
        snprintf(why, why_len, "workspace refused");
        ok = 0;
    }
    float* ws = xmalloc((ok ? ws_len : 1) * sizeof(float));
    weight_grad_ref(&g, cout, x, dy, want);
    for (int simd = 1; simd >= 0 && ok; simd--) {
        memcpy(dw, base, w_len * sizeof(float));
        fill_nan(ws, ws_len); /* the kernel must not read scratch it did not write */
        const int status = simd ? cnn_f32_winograd_weight_grad__simd(&g, cout, tile, x, dy, dw, ws, 0, cout)
                                : cnn_f32_winograd_weight_grad__ref(&g, cout, tile, x, dy, dw, ws, 0, cout);
        const error_figures e = compare(w_len, dw, want, base);
        note(&g_worst_wgrad[tile == 4][simd ? 0 : 1], e);
        if (simd && rel) *rel = e.rel;
        if (status != CNN_STATUS_OK || !(e.rel <= TOLERANCE)) {
            snprintf(why, why_len, "F(3,%d) %s: status %d, rel err %.3g", tile, simd ? "simd" : "ref", status, e.rel);
            ok = 0;
        }
        if (simd) memcpy(dw_whole, dw, w_len * sizeof(float));
    }
    for (int step = 8; step <= 16 && ok && cout > 8; step += 8) {
        memcpy(dw, base, w_len * sizeof(float));
        for (int f = (cout - 1) / step * step; f >= 0; f -= step)
            cnn_f32_winograd_weight_grad(&g, cout, tile, x, dy, dw, ws, f, f + step < cout ? f + step : cout);
        if (memcmp(dw, dw_whole, w_len * sizeof(float)) != 0) {
            snprintf(why, why_len, "filters in ranges of %d, one call each, differ from one call", step);
            ok = 0;
        }
    }
    free(x), free(dy), free(base), free(want), free(dw), free(dw_whole), free(ws);
    return ok;
}

/* Both tiles. */
static int wgrad_case(int n, int h, int w, int cin, int cout, int same, char* why, size_t why_len) {
    return wgrad_case_err(n, h, w, cin, cout, same, 2, why, why_len, NULL) &&
           wgrad_case_err(n, h, w, cin, cout, same, 4, why, why_len, NULL);
}

static void weight_grad_tests(void) {
    for (int same = 0; same <= 1; same++) {
        int ok = 1, cases = 0;
        char why[260] = "";
        static const int chans[] = {1, 3, 4, 5, 8, 9};
        for (int h = same ? 1 : 3; h <= 9 && ok; h++)
            for (int w = same ? 1 : 3; w <= 9 && ok; w += 2)
                for (int ci = 0; ci < 6 && ok; ci++)
                    for (int n = 1; n <= 3 && ok; n += 2, cases++) {
                        char detail[160] = "";
                        const int c = chans[ci], N = chans[(ci + h) % 6];
                        if (!wgrad_case(n, h, w, c, N, same, detail, sizeof detail)) {
                            snprintf(why, sizeof why, " — n=%d %dx%dx%d->%d: %s", n, h, w, c, N, detail);
                            ok = 0;
                        }
                    }
        report(ok, "winograd weight gradient %s: H in 1..9, W odd, channels 1..9, batch 1/3 (%d shapes)%s",
               same ? "same" : "valid", cases, why);
    }
    static const struct { int n, h, w, cin, cout, same; } shapes[] = {
        {4, 8, 8, 64, 64, 1},     /* ResNet-20 stage 4 shape, several chunks of tiles */
        {2, 32, 32, 16, 16, 1},   /* ResNet-20 stage 2 shape */
        {1, 23, 17, 13, 7, 1},    /* odd edges and channel tails with many chunks */
        {1, 3, 3, 2048, 21, 1},   /* wide c: blocks of 8 filters inside one call */
        {2, 5, 6, 1100, 10, 0},   /* wide c, 'valid', a short last block */
        {1, 56, 56, 64, 64, 1},   /* issue 9's shape: F(3x3,4x4) is chosen for it */
        {8, 32, 32, 16, 16, 1},   /* 512 F4 tiles (2048 F2 tiles) summed: the rounding that grows with the batch */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char why[200] = "";
        const int ok = wgrad_case(shapes[i].n, shapes[i].h, shapes[i].w, shapes[i].cin, shapes[i].cout,
                                  shapes[i].same, why, sizeof why);
        report(ok, "winograd weight gradient n=%d %dx%dx%d->%d %s%s%s", shapes[i].n, shapes[i].h, shapes[i].w,
               shapes[i].cin, shapes[i].cout, shapes[i].same ? "same" : "valid", ok ? "" : " — ", why);
    }
    /* Refusals: not a 3×3 stride-1 geometry, NULL buffers, a block range outside [0, blocks]; nothing written. */
    cnn_conv_geom g = geom_of(1, 8, 8, 4, 1);
    float x[8 * 8 * 4] = {0}, dy[8 * 8 * 4] = {0}, dw[9 * 4 * 4], ws[1 << 14];
    uint64_t f = 12345;
    int all = 1;
    fill_nan(dw, 9 * 4 * 4);
    all &= cnn_f32_winograd_weight_grad_workspace_floats(&g, 4, 2, &f) == CNN_STATUS_OK && f <= (1u << 14);
    all &= cnn_f32_winograd_weight_grad_workspace_floats(&g, 4, 4, &f) == CNN_STATUS_OK && f <= (1u << 14);
    all &= cnn_f32_winograd_weight_grad(&g, 4, 2, x, dy, dw, ws, 0, 5) == CNN_STATUS_INVALID_ARG;
    all &= cnn_f32_winograd_weight_grad(&g, 4, 2, x, dy, dw, ws, 1, 0) == CNN_STATUS_INVALID_ARG;
    all &= cnn_f32_winograd_weight_grad(&g, 4, 4, x, dy, dw, ws, 1, 4) == CNN_STATUS_INVALID_ARG;
    all &= cnn_f32_winograd_weight_grad(&g, 4, 2, NULL, dy, dw, ws, 0, 1) == CNN_STATUS_INVALID_ARG;
    all &= cnn_f32_winograd_weight_grad(&g, 4, 3, x, dy, dw, ws, 0, 4) == CNN_STATUS_INVALID_ARG;
    f = 12345;
    all &= cnn_f32_winograd_weight_grad_workspace_floats(&g, 4, 6, &f) == CNN_STATUS_INVALID_ARG && f == 12345;
    g.sh = 2, g.oh = 4;
    all &= cnn_f32_winograd_weight_grad(&g, 4, 4, x, dy, dw, ws, 0, 1) == CNN_STATUS_INVALID_ARG;
    all &= cnn_f32_winograd_weight_grad_workspace_floats(&g, 4, 2, &f) == CNN_STATUS_INVALID_ARG && f == 12345;
    all &= dw[0] != dw[0] && dw[9 * 4 * 4 - 1] != dw[9 * 4 * 4 - 1];
    report(all, "winograd weight gradient refusals: stride 2, tile 3 or 6, NULL buffers, filter ranges outside [0, N] or not starting at a multiple of 8");
}

/* ---- weight transform by row ranges (the threaded plan splits it) -------------------------------------------------- */

/* Disjoint row ranges, in any order, give the whole transform's bits for both orientations and tiles; an entry
 * outside the ranges is never written; bad ranges are refused. 13 -> 21 channels: neither a multiple of 8. */
static void transform_rows(void) {
    const int cin = 13, cout = 21;
    float* w = random_floats((size_t)9 * cin * cout);
    int all = 1;
    for (int tile = 2; tile <= 4; tile += 2)
        for (int flipped = 0; flipped < 2; flipped++) {
            uint64_t len;
            cnn_f32_winograd_weights_floats(tile, cin, cout, &len);
            float* whole = xmalloc(len * sizeof(float));
            float* split = xmalloc(len * sizeof(float));
            fill_nan(whole, len);
            fill_nan(split, len);
            const int rows = flipped ? cout : cin;
            expect(cnn_f32_winograd_transform_weights(tile, cin, cout, w, flipped, whole) == CNN_STATUS_OK, "whole transform");
            const int cuts[] = {rows, 9, 4, 0}; /* ranges [9, rows), [4, 9), [0, 4): last first */
            for (int r = 0; r + 1 < 4; r++)
                all &= cnn_f32_winograd_transform_weights_rows(tile, cin, cout, w, flipped, split, cuts[r + 1],
                                                               cuts[r]) == CNN_STATUS_OK;
            all &= memcmp(whole, split, len * sizeof(float)) == 0;
            /* Rows [4, 9) alone leave the others' entries untouched. */
            fill_nan(split, len);
            cnn_f32_winograd_transform_weights_rows(tile, cin, cout, w, flipped, split, 4, 9);
            size_t written = 0;
            for (size_t i = 0; i < len; i++) written += split[i] == split[i];
            const size_t columns8 = (size_t)((flipped ? cin : cout) + 7) / 8 * 8; /* len is the larger orientation's */
            all &= written == (size_t)(tile + 2) * (tile + 2) * 5 * columns8;
            all &= cnn_f32_winograd_transform_weights_rows(tile, cin, cout, w, flipped, split, 5, 4) == CNN_STATUS_INVALID_ARG;
            all &= cnn_f32_winograd_transform_weights_rows(tile, cin, cout, w, flipped, split, 0, rows + 1) ==
                   CNN_STATUS_INVALID_ARG;
            all &= cnn_f32_winograd_transform_weights_rows(tile, cin, cout, w, flipped, split, -1, 2) ==
                   CNN_STATUS_INVALID_ARG;
            free(whole);
            free(split);
        }
    free(w);
    report(all, "winograd weight transform: row ranges give the whole transform's bits, write only their rows, bad "
                "ranges refused (F2, F4, both orientations, 13 -> 21 channels)");
}

/* ---- refusals ---------------------------------------------------------------------------------------------------- */

static void refusals(void) {
    const cnn_conv_geom ok_g = geom_of(1, 8, 8, 4, 1);
    cnn_conv_geom g;
    uint64_t f = 12345;
    int all = 1;
#define EXPECT(cond, what)                                    \
    do {                                                      \
        if (!(cond)) {                                        \
            report(0, "winograd refusal: %s", what);          \
            all = 0;                                          \
        }                                                     \
    } while (0)
    EXPECT(cnn_f32_winograd_check(&ok_g, 4, 2) == CNN_STATUS_OK, "accepts 8x8x4->4 3x3 same");
    EXPECT(cnn_f32_winograd_check(&ok_g, 4, 3) == CNN_STATUS_INVALID_ARG, "tile 3");
    EXPECT(cnn_f32_winograd_check(&ok_g, 0, 2) == CNN_STATUS_INVALID_ARG, "N = 0");
    EXPECT(cnn_f32_winograd_check(NULL, 4, 2) == CNN_STATUS_INVALID_ARG, "NULL geometry");
    g = ok_g, g.kh = g.kw = 5;
    EXPECT(cnn_f32_winograd_check(&g, 4, 2) == CNN_STATUS_INVALID_ARG, "5x5 kernel");
    g = ok_g, g.sh = 2, g.oh = 4;
    EXPECT(cnn_f32_winograd_check(&g, 4, 2) == CNN_STATUS_INVALID_ARG, "stride 2");
    g = ok_g, g.dw = 2;
    EXPECT(cnn_f32_winograd_check(&g, 4, 2) == CNN_STATUS_INVALID_ARG, "dilation 2");
    g = ok_g, g.pad_left = 3;
    EXPECT(cnn_f32_winograd_check(&g, 4, 2) == CNN_STATUS_INVALID_ARG, "padding 3");
    g = ok_g, g.oh = 0;
    EXPECT(cnn_f32_winograd_check(&g, 4, 2) == CNN_STATUS_INVALID_ARG, "empty output");
    /* Sizes that wrap 64 bits must be refused, not wrapped. */
    g = ok_g, g.n = g.h = g.w = g.c = g.oh = g.ow = INT_MAX;
    EXPECT(cnn_f32_winograd_check(&g, 4, 2) == CNN_STATUS_INVALID_SHAPE, "n·h·w·c beyond 64 bits");
    EXPECT(cnn_f32_winograd_workspace_floats(&g, 4, 2, CNN_WINOGRAD_FORWARD, &f) == CNN_STATUS_INVALID_SHAPE && f == 12345,
           "workspace of a huge tensor refused, output untouched");
    EXPECT(cnn_f32_winograd_weights_floats(4, INT_MAX, INT_MAX, &f) == CNN_STATUS_INVALID_SHAPE && f == 12345,
           "weights of INT_MAX x INT_MAX channels refused");
    if (sizeof(size_t) == 4) /* wasm32: 2^31 channels² would wrap 32 bits */
        EXPECT(cnn_f32_winograd_weights_floats(2, 65536, 65536, &f) == CNN_STATUS_INVALID_SHAPE,
               "weights beyond 2^32 bytes refused in 32 bits");
    g = ok_g, g.c = 1 << 30;
    EXPECT(cnn_f32_winograd_workspace_floats(&g, 1 << 30, 4, CNN_WINOGRAD_BACKWARD_DATA, &f) ==
               (sizeof(size_t) == 4 ? CNN_STATUS_INVALID_SHAPE : CNN_STATUS_OK),
           "workspace of 2^30 channels: refused in 32 bits, computed in 64");
    EXPECT(cnn_f32_winograd_workspace_floats(&ok_g, 4, 2, 7, &f) == CNN_STATUS_INVALID_ARG, "unknown direction");
    EXPECT(cnn_f32_winograd_transform_weights(2, 4, 4, NULL, 0, (float*)&f) == CNN_STATUS_INVALID_ARG, "NULL weights");
    /* A refused call writes nothing. */
    float y[8 * 8 * 4], x[8 * 8 * 4] = {0}, u[16 * 4 * 8] = {0}, ws[4096];
    fill_nan(y, 64 * 4);
    g = ok_g, g.sw = 2, g.ow = 4;
    EXPECT(cnn_f32_winograd_forward(&g, 4, 2, x, u, NULL, y, ws) == CNN_STATUS_INVALID_ARG && y[0] != y[0] &&
               y[255] != y[255], "forward with stride 2 refused, y untouched");
    EXPECT(cnn_f32_winograd_backward_data(&ok_g, 4, 2, x, u, NULL, ws) == CNN_STATUS_INVALID_ARG, "NULL dx");
    EXPECT(cnn_f32_winograd_preferred(&g, 4) == 0, "not preferred for stride 2");
    /* The measured rule: F4 from 8×8 outputs on wide layers (32+ channels in and out: F4's rounding), F2 below and on
     * narrow layers, never for one input channel or 1-pixel outputs. */
    g = geom_of(32, 56, 56, 64, 1);
    EXPECT(cnn_f32_winograd_preferred(&g, 64) == 4, "F4 preferred for 56x56x64->64");
    g = geom_of(1, 4, 4, 64, 1);
    EXPECT(cnn_f32_winograd_preferred(&g, 64) == 2, "F2 preferred for 4x4x64->64");
    g = geom_of(1, 32, 32, 16, 1);
    EXPECT(cnn_f32_winograd_preferred(&g, 16) == 2, "F2 for the narrow 32x32x16->16");
    g = geom_of(1, 16, 16, 32, 1);
    EXPECT(cnn_f32_winograd_preferred(&g, 16) == 2 && cnn_f32_winograd_preferred(&g, 32) == 4,
           "F4 only with 32+ channels in and out");
    g = geom_of(1, 3, 3, 64, 0);
    EXPECT(cnn_f32_winograd_preferred(&g, 64) == 0, "not preferred for a 1x1 output");
    g = geom_of(1, 28, 28, 1, 1);
    EXPECT(cnn_f32_winograd_preferred(&g, 8) == 0, "not preferred for one input channel");
#undef EXPECT
    if (all) report(1, "winograd refusals: unsupported geometry, 64-bit overflow, NULL buffers, bad direction; preferred rule");
}

/* The range's all_finite (predict's output check, made as the output transform stores): 1 with the forward's bits
 * on finite data; 0 when any one stored value is NaN or infinite — at every position of the output (through the
 * accumulating input gradient over a NaN / infinity, which reaches the clipped border tiles), and through a bias of
 * infinity in any one channel (the 1-3 lane channel tails: 6 channels). Both tiles, SIMD and reference. */
static void finite_check(void) {
    const cnn_conv_geom g = geom_of(2, 7, 5, 3, 1);
    const int cout = 6;
    const size_t x_len = (size_t)g.n * g.h * g.w * g.c, y_len = (size_t)g.n * g.oh * g.ow * cout;
    float* x = random_floats(x_len);
    float* wt = random_floats((size_t)9 * g.c * cout);
    float* bias = random_floats((size_t)cout);
    float* dy = random_floats(y_len);
    float* y = xmalloc(y_len * sizeof(float));
    float* y2 = xmalloc(y_len * sizeof(float));
    float* dx = xmalloc(x_len * sizeof(float));
    int ok = 1, cases = 0;
    char why[160] = "";
    for (int tile = 2; tile <= 4 && ok; tile += 2)
        for (int simd = 1; simd >= 0 && ok; simd--) {
            uint64_t u_len = 0, ws_f = 0, ws_b = 0;
            int64_t tiles = 0, tiles_b = 0;
            int chunk;
            cnn_f32_winograd_weights_floats(tile, g.c, cout, &u_len);
            cnn_f32_winograd_workspace_floats(&g, cout, tile, CNN_WINOGRAD_FORWARD, &ws_f);
            cnn_f32_winograd_workspace_floats(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA, &ws_b);
            cnn_f32_winograd_tiles(&g, cout, tile, CNN_WINOGRAD_FORWARD, &tiles, &chunk);
            cnn_f32_winograd_tiles(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA, &tiles_b, &chunk);
            float* u = xmalloc(u_len * sizeof(float));
            float* uf = xmalloc(u_len * sizeof(float));
            float* ws = xmalloc((ws_f > ws_b ? ws_f : ws_b) * sizeof(float));
            cnn_f32_winograd_transform_weights(tile, g.c, cout, wt, 0, u);
            cnn_f32_winograd_transform_weights(tile, g.c, cout, wt, 1, uf);
            int (*range)(const cnn_conv_geom*, int, int, int, const float*, const float*, const float*, float*,
                         float*, int64_t, int64_t, int*) =
                simd ? cnn_f32_winograd_range__simd : cnn_f32_winograd_range__ref;
            int finite = -1;
            (simd ? cnn_f32_winograd_forward__simd : cnn_f32_winograd_forward__ref)(&g, cout, tile, x, u, bias, y, ws);
            int status = range(&g, cout, tile, CNN_WINOGRAD_FORWARD, x, u, bias, y2, ws, 0, tiles, &finite);
            cases++;
            if (status || finite != 1 || memcmp(y, y2, y_len * sizeof(float)) != 0) {
                snprintf(why, sizeof why, "F%d %s: finite forward: status %d, all_finite %d", tile,
                         simd ? "simd" : "ref", status, finite);
                ok = 0;
            }
            for (int co = 0; co < cout && ok; co++) {
                float* inf_bias = copy_floats(bias, (size_t)cout);
                inf_bias[co] = co % 2 ? INFINITY : -INFINITY;
                finite = -1, cases++;
                range(&g, cout, tile, CNN_WINOGRAD_FORWARD, x, u, inf_bias, y2, ws, 0, tiles, &finite);
                if (finite != 0) {
                    snprintf(why, sizeof why, "F%d %s: bias[%d] = inf not seen", tile, simd ? "simd" : "ref", co);
                    ok = 0;
                }
                free(inf_bias);
            }
            for (size_t e = 0; e < x_len && ok; e++) { /* the input gradient adds into dx: poison one value */
                memset(dx, 0, x_len * sizeof(float));
                dx[e] = e % 2 ? NAN : INFINITY;
                finite = -1, cases++;
                range(&g, cout, tile, CNN_WINOGRAD_BACKWARD_DATA, dy, uf, NULL, dx, ws, 0, tiles_b, &finite);
                if (finite != 0) {
                    snprintf(why, sizeof why, "F%d %s: %g at dx[%zu] not seen", tile, simd ? "simd" : "ref",
                             (double)(e % 2 ? NAN : INFINITY), e);
                    ok = 0;
                }
            }
            free(u), free(uf), free(ws);
        }
    report(ok, "winograd range all_finite: forward bits, every NaN / infinity seen (%d cases) %s", cases, why);
    free(x), free(wt), free(bias), free(dy), free(y), free(y2), free(dx);
}

int main(void) {
    xorshift_seed(0x2545F4914F6CDD1Dull);
    finite_check();
    refusals();
    transform_rows();
    sweep_spatial();
    sweep_channels();
    large_shapes();
    scaled_inputs();
    weight_grad_tests();
    const char* names[2] = {"forward", "input gradient"};
    for (int ti = 0; ti < 2; ti++)
        for (int d = 0; d < 2; d++)
            printf("worst F(%dx%d,3x3) %-14s simd: max abs %.3g rel %.3g | ref: max abs %.3g rel %.3g\n", ti ? 4 : 2,
                   ti ? 4 : 2, names[d], g_worst[ti][d][0].abs, g_worst[ti][d][0].rel, g_worst[ti][d][1].abs,
                   g_worst[ti][d][1].rel);
    for (int ti = 0; ti < 2; ti++)
        printf("worst F(3x3,%dx%d) weight gradient simd: max abs %.3g rel %.3g | ref: max abs %.3g rel %.3g\n",
               ti ? 4 : 2, ti ? 4 : 2, g_worst_wgrad[ti][0].abs, g_worst_wgrad[ti][0].rel, g_worst_wgrad[ti][1].abs,
               g_worst_wgrad[ti][1].rel);
    return test_summary();
}
