/* Pooling and small row-wise helpers, NHWC. SIMD kernels run 4 channels per lane group with a scalar channel tail;
 * each does exactly the arithmetic of its __ref twin in the same order, so the two agree bit for bit.
 *
 * A window is clipped to the image (padding never takes part). A window with no input pixel at all (possible only
 * when padding ≥ window size) yields 0, index −1 for max pooling; the backward kernels skip indices outside
 * [0, out_h·out_w), so such outputs pass no gradient and a corrupt index never writes out of bounds. */
#include "kernels/kernels.h"
#include "simd.h"

/* Input rows [y0, y1) and columns [x0, x1) of the window for output (oy, ox). */
typedef struct pool_window {
    int y0, y1, x0, x1;
} pool_window;

static inline pool_window pool_window_of(const cnn_pool_geom* g, int oy, int ox) {
    const int ys = oy * g->sh - g->pad_top, xs = ox * g->sw - g->pad_left;
    pool_window win = {ys < 0 ? 0 : ys, ys + g->ph > g->h ? g->h : ys + g->ph,
                       xs < 0 ? 0 : xs, xs + g->pw > g->w ? g->w : xs + g->pw};
    return win;
}

static inline int window_empty(pool_window win) { return win.y0 >= win.y1 || win.x0 >= win.x1; }

/* The running max takes v when v is larger, or when v is the first NaN (a NaN best is then never replaced, because
 * every comparison with it is false). Strict '>' keeps the first of equal maxima. */
static inline int max_takes(float v, float best) { return v > best || (v != v && best == best); }

/* ---- max pool ---------------------------------------------------------------------------------------------------- */

/* One channel of one output, scalar: the reference and the SIMD tail both use it. */
static inline void maxpool_channel(const cnn_pool_geom* g, const float* image, pool_window win, int ch,
                                   float* y, int32_t* idx) {
    const int c = g->c;
    float best = image[((size_t)win.y0 * g->w + win.x0) * c + ch];
    int32_t best_idx = win.y0 * g->w + win.x0;
    for (int iy = win.y0; iy < win.y1; iy++) {
        for (int ix = win.x0; ix < win.x1; ix++) {
            const float v = image[((size_t)iy * g->w + ix) * c + ch];
            if (max_takes(v, best)) best = v, best_idx = iy * g->w + ix;
        }
    }
    *y = best;
    if (idx) *idx = best_idx;
}

static void maxpool_impl(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    for (int b = 0; b < g->n; b++) {
        const float* image = x + b * image_len;
        for (int oy = 0; oy < g->oh; oy++) {
            for (int ox = 0; ox < g->ow; ox++) {
                const size_t out = (((size_t)b * g->oh + oy) * g->ow + ox) * c;
                const pool_window win = pool_window_of(g, oy, ox);
                if (window_empty(win)) {
                    for (int ch = 0; ch < c; ch++) {
                        y[out + ch] = 0.0f;
                        if (idx) idx[out + ch] = -1;
                    }
                    continue;
                }
                int ch = 0;
                if (use_simd) {
                    for (; ch + 4 <= c; ch += 4) {
                        cnn_v4f best = cnn_v4f_load(image + ((size_t)win.y0 * g->w + win.x0) * c + ch);
                        cnn_v4i best_idx = cnn_v4i_splat(win.y0 * g->w + win.x0);
                        for (int iy = win.y0; iy < win.y1; iy++) {
                            for (int ix = win.x0; ix < win.x1; ix++) {
                                const cnn_v4f v = cnn_v4f_load(image + ((size_t)iy * g->w + ix) * c + ch);
                                const cnn_v4m take = cnn_v4m_or(cnn_v4f_gt(v, best),
                                                                cnn_v4m_andnot(cnn_v4f_isnan(v), cnn_v4f_isnan(best)));
                                best = cnn_v4f_select(take, v, best);
                                best_idx = cnn_v4i_select(take, cnn_v4i_splat(iy * g->w + ix), best_idx);
                            }
                        }
                        cnn_v4f_store(y + out + ch, best);
                        if (idx) cnn_v4i_store(idx + out + ch, best_idx);
                    }
                }
                for (; ch < c; ch++) maxpool_channel(g, image, win, ch, y + out + ch, idx ? idx + out + ch : NULL);
            }
        }
    }
}

void cnn_f32_maxpool__simd(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx) {
    maxpool_impl(g, x, y, idx, 1);
}

void cnn_f32_maxpool__ref(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx) {
    maxpool_impl(g, x, y, idx, 0);
}

void cnn_f32_maxpool_backward(int n, int oh, int ow, int c, const float* dy, const int32_t* idx,
                              int out_h, int out_w, float* dx) {
    const int32_t plane = out_h * out_w;
    for (int b = 0; b < n; b++) {
        float* dx_b = dx + (size_t)b * plane * c;
        const size_t first = (size_t)b * oh * ow * c, last = first + (size_t)oh * ow * c;
        for (size_t o = first; o < last; o += c) {
            for (int ch = 0; ch < c; ch++) {
                const int32_t i = idx[o + ch];
                if (i >= 0 && i < plane) dx_b[(size_t)i * c + ch] += dy[o + ch];
            }
        }
    }
}

void cnn_f32_maxunpool_backward(int n, int oh, int ow, int c, const float* dy_unpooled, const int32_t* idx,
                                int unpooled_h, int unpooled_w, float* dx) {
    const int32_t plane = unpooled_h * unpooled_w;
    for (int b = 0; b < n; b++) {
        const float* dy_b = dy_unpooled + (size_t)b * plane * c;
        const size_t first = (size_t)b * oh * ow * c, last = first + (size_t)oh * ow * c;
        for (size_t o = first; o < last; o += c) {
            for (int ch = 0; ch < c; ch++) {
                const int32_t i = idx[o + ch];
                dx[o + ch] = i >= 0 && i < plane ? dy_b[(size_t)i * c + ch] : 0.0f;
            }
        }
    }
}

/* ---- average pool ------------------------------------------------------------------------------------------------ */

static void avgpool_impl(const cnn_pool_geom* g, const float* x, float* y, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    for (int b = 0; b < g->n; b++) {
        const float* image = x + b * image_len;
        for (int oy = 0; oy < g->oh; oy++) {
            for (int ox = 0; ox < g->ow; ox++) {
                float* out = y + (((size_t)b * g->oh + oy) * g->ow + ox) * c;
                const pool_window win = pool_window_of(g, oy, ox);
                const int count = window_empty(win) ? 0 : (win.y1 - win.y0) * (win.x1 - win.x0);
                /* Division (not a reciprocal multiply) so the SIMD and scalar paths round identically. */
                const float divisor = count > 0 ? (float)count : 1.0f;
                int ch = 0;
                if (use_simd) {
                    const cnn_v4f vdiv = cnn_v4f_splat(divisor);
                    for (; ch + 4 <= c; ch += 4) {
                        cnn_v4f sum = cnn_v4f_zero();
                        for (int iy = win.y0; iy < win.y1; iy++)
                            for (int ix = win.x0; ix < win.x1; ix++)
                                sum = cnn_v4f_add(sum, cnn_v4f_load(image + ((size_t)iy * g->w + ix) * c + ch));
                        cnn_v4f_store(out + ch, cnn_v4f_div(sum, vdiv));
                    }
                }
                for (; ch < c; ch++) {
                    float sum = 0.0f;
                    for (int iy = win.y0; iy < win.y1; iy++)
                        for (int ix = win.x0; ix < win.x1; ix++) sum += image[((size_t)iy * g->w + ix) * c + ch];
                    out[ch] = sum / divisor;
                }
            }
        }
    }
}

void cnn_f32_avgpool__simd(const cnn_pool_geom* g, const float* x, float* y) { avgpool_impl(g, x, y, 1); }
void cnn_f32_avgpool__ref(const cnn_pool_geom* g, const float* x, float* y) { avgpool_impl(g, x, y, 0); }

static void avgpool_backward_impl(const cnn_pool_geom* g, const float* dy, float* dx, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    for (int b = 0; b < g->n; b++) {
        float* image = dx + b * image_len;
        for (int oy = 0; oy < g->oh; oy++) {
            for (int ox = 0; ox < g->ow; ox++) {
                const float* grad = dy + (((size_t)b * g->oh + oy) * g->ow + ox) * c;
                const pool_window win = pool_window_of(g, oy, ox);
                if (window_empty(win)) continue;
                const float divisor = (float)((win.y1 - win.y0) * (win.x1 - win.x0));
                int ch = 0;
                if (use_simd) {
                    const cnn_v4f vdiv = cnn_v4f_splat(divisor);
                    for (; ch + 4 <= c; ch += 4) {
                        const cnn_v4f share = cnn_v4f_div(cnn_v4f_load(grad + ch), vdiv);
                        for (int iy = win.y0; iy < win.y1; iy++) {
                            for (int ix = win.x0; ix < win.x1; ix++) {
                                float* d = image + ((size_t)iy * g->w + ix) * c + ch;
                                cnn_v4f_store(d, cnn_v4f_add(cnn_v4f_load(d), share));
                            }
                        }
                    }
                }
                for (; ch < c; ch++) {
                    const float share = grad[ch] / divisor;
                    for (int iy = win.y0; iy < win.y1; iy++)
                        for (int ix = win.x0; ix < win.x1; ix++) image[((size_t)iy * g->w + ix) * c + ch] += share;
                }
            }
        }
    }
}

void cnn_f32_avgpool_backward__simd(const cnn_pool_geom* g, const float* dy, float* dx) {
    avgpool_backward_impl(g, dy, dx, 1);
}
void cnn_f32_avgpool_backward__ref(const cnn_pool_geom* g, const float* dy, float* dx) {
    avgpool_backward_impl(g, dy, dx, 0);
}

/* ---- bias helpers ------------------------------------------------------------------------------------------------ */

void cnn_f32_add_bias(int rows, int cols, const float* bias, float* y) {
    for (int r = 0; r < rows; r++) {
        float* row = y + (size_t)r * cols;
        int j = 0;
        for (; j + 4 <= cols; j += 4) cnn_v4f_store(row + j, cnn_v4f_add(cnn_v4f_load(row + j), cnn_v4f_load(bias + j)));
        for (; j < cols; j++) row[j] += bias[j];
    }
}

void cnn_f32_sum_rows_add(int rows, int cols, const float* dy, float* db) {
    /* Rows in order per column, as a naive loop would: the result does not depend on the vector width. */
    for (int r = 0; r < rows; r++) {
        const float* row = dy + (size_t)r * cols;
        int j = 0;
        for (; j + 4 <= cols; j += 4) cnn_v4f_store(db + j, cnn_v4f_add(cnn_v4f_load(db + j), cnn_v4f_load(row + j)));
        for (; j < cols; j++) db[j] += row[j];
    }
}
