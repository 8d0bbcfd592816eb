/* Pooling, NHWC. SIMD kernels run 4 channels per lane group with a scalar channel tail;
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

/* One output pixel, all channels, through the general (clipped-window) path. */
static void maxpool_output(const cnn_pool_geom* g, const float* image, int oy, int ox, float* y, int32_t* idx,
                           int use_simd) {
    const int c = g->c;
    const pool_window win = pool_window_of(g, oy, ox);
    if (window_empty(win)) {
        for (int ch = 0; ch < c; ch++) {
            y[ch] = 0.0f;
            if (idx) idx[ch] = -1;
        }
        return;
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
            cnn_v4f_store(y + ch, best);
            if (idx) cnn_v4i_store(idx + ch, best_idx);
        }
    }
    for (; ch < c; ch++) maxpool_channel(g, image, win, ch, y + ch, idx ? idx + ch : NULL);
}

/* 2×2 windows with stride 2 and no padding before: output (oy, ox) reads input rows 2oy, 2oy+1 and columns 2ox,
 * 2ox+1, all inside the image for oy < h/2, ox < w/2 (the "full" outputs; 'same' padding of an odd size clips the last
 * row / column, which go through the general path). The common case of LeNet, VGG and SegNet. */
static inline int is_2x2_stride2(const cnn_pool_geom* g) {
    return g->ph == 2 && g->pw == 2 && g->sh == 2 && g->sw == 2 && g->pad_top == 0 && g->pad_left == 0;
}

/* The full outputs, rows [0, oh) × columns [0, ow), which the 2×2 row kernels compute when the geometry is 2×2
 * stride 2 and `fast` (the SIMD path, and whatever else the row kernel needs) holds; all others take the general path. */
typedef struct full_outputs {
    int oh, ow;
} full_outputs;

static inline full_outputs full_2x2_outputs(const cnn_pool_geom* g, int fast) {
    full_outputs full = {0, 0};
    if (fast && is_2x2_stride2(g)) {
        full.oh = g->oh < g->h / 2 ? g->oh : g->h / 2;
        full.ow = g->ow < g->w / 2 ? g->ow : g->w / 2;
    }
    return full;
}

/* The running-max step of max_takes, on 4 lanes: take v when best is not NaN and !(v <= best), i.e. v > best or v is
 * NaN. Same decisions as the scalar rule, in 3 operations. */
static CNN_ALWAYS_INLINE cnn_v4m max_take_mask(cnn_v4f v, cnn_v4f best) {
    return cnn_v4m_andnot(cnn_v4f_eq(best, best), cnn_v4f_le(v, best));
}

/* Outputs [0, ox_end) of output row oy, c >= 4: 4 channels per step, the last step overlapping the previous one when
 * c is not a multiple of 4 (it recomputes identical values). with_idx is a constant after inlining. */
static CNN_ALWAYS_INLINE void maxpool_row_2x2(const cnn_pool_geom* g, const float* image, int oy, int ox_end,
                                              float* y, int32_t* idx, const int with_idx) {
    const int c = g->c, w = g->w;
    const float* r0 = image + (size_t)(2 * oy) * w * c;
    const float* r1 = r0 + (size_t)w * c;
    const cnn_v4i one = cnn_v4i_splat(1), down = cnn_v4i_splat(w);
    for (int ox = 0; ox < ox_end; ox++) {
        const float* p0 = r0 + (size_t)(2 * ox) * c;
        const float* p1 = r1 + (size_t)(2 * ox) * c;
        const cnn_v4i i00 = cnn_v4i_splat(2 * oy * w + 2 * ox);
        float* yo = y + (size_t)ox * c;
        for (int ch = 0; ch < c; ch += 4) {
            const int at = ch + 4 <= c ? ch : c - 4;
            cnn_v4f best = cnn_v4f_load(p0 + at);
            const cnn_v4f v01 = cnn_v4f_load(p0 + c + at);
            const cnn_v4f v10 = cnn_v4f_load(p1 + at);
            const cnn_v4f v11 = cnn_v4f_load(p1 + c + at);
            cnn_v4m take = max_take_mask(v01, best);
            best = cnn_v4f_select(take, v01, best);
            if (with_idx) {
                cnn_v4i bi = cnn_v4i_select(take, cnn_v4i_add(i00, one), i00);
                const cnn_v4i i10 = cnn_v4i_add(i00, down);
                take = max_take_mask(v10, best);
                best = cnn_v4f_select(take, v10, best);
                bi = cnn_v4i_select(take, i10, bi);
                take = max_take_mask(v11, best);
                best = cnn_v4f_select(take, v11, best);
                bi = cnn_v4i_select(take, cnn_v4i_add(i10, one), bi);
                cnn_v4i_store(idx + (size_t)ox * c + at, bi);
            } else {
                take = max_take_mask(v10, best);
                best = cnn_v4f_select(take, v10, best);
                take = max_take_mask(v11, best);
                best = cnn_v4f_select(take, v11, best);
            }
            cnn_v4f_store(yo + at, best);
        }
    }
}

/* maxpool_row_2x2 without indices, in 3 pseudo-max operations per 4 channels instead of 9 compares and selects:
 * pmax(best, v) takes v only when v > best, the exact rule whenever no NaN is involved. The four values of each
 * window are also summed into a running sum, which turns NaN when the row held a NaN (or infinities of both signs):
 * then the caller recomputes the row with the exact kernel, so NaN handling stays as the scalar rule. Returns whether
 * the row must be recomputed. */
static CNN_ALWAYS_INLINE int maxpool_row_2x2_pmax(const cnn_pool_geom* g, const float* image, int oy, int ox_end,
                                                  float* y) {
    const int c = g->c, w = g->w;
    const float* r0 = image + (size_t)(2 * oy) * w * c;
    const float* r1 = r0 + (size_t)w * c;
    cnn_v4f sum = cnn_v4f_zero();
    for (int ox = 0; ox < ox_end; ox++) {
        const float* p0 = r0 + (size_t)(2 * ox) * c;
        const float* p1 = r1 + (size_t)(2 * ox) * c;
        float* yo = y + (size_t)ox * c;
        for (int ch = 0; ch < c; ch += 4) {
            const int at = ch + 4 <= c ? ch : c - 4;
            const cnn_v4f v00 = cnn_v4f_load(p0 + at), v01 = cnn_v4f_load(p0 + c + at);
            const cnn_v4f v10 = cnn_v4f_load(p1 + at), v11 = cnn_v4f_load(p1 + c + at);
            const cnn_v4f best = cnn_v4f_pmax(cnn_v4f_pmax(cnn_v4f_pmax(v00, v01), v10), v11);
            sum = cnn_v4f_add(sum, cnn_v4f_add(cnn_v4f_add(v00, v01), cnn_v4f_add(v10, v11)));
            cnn_v4f_store(yo + at, best);
        }
    }
    return cnn_v4m_any(cnn_v4f_isnan(sum));
}

static void maxpool_impl(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    const full_outputs full = full_2x2_outputs(g, use_simd && c >= 4); /* the row kernels step 4 channels */
    for (int b = 0; b < g->n; b++) {
        const float* image = x + b * image_len;
        for (int oy = 0; oy < g->oh; oy++) {
            const size_t row = ((size_t)b * g->oh + oy) * g->ow * c;
            int ox = 0;
            if (oy < full.oh) {
                if (idx)
                    maxpool_row_2x2(g, image, oy, full.ow, y + row, idx + row, 1);
                else if (maxpool_row_2x2_pmax(g, image, oy, full.ow, y + row))
                    maxpool_row_2x2(g, image, oy, full.ow, y + row, NULL, 0);
                ox = full.ow;
            }
            for (; ox < g->ow; ox++) {
                const size_t out = row + (size_t)ox * c;
                maxpool_output(g, image, oy, ox, y + out, idx ? idx + out : NULL, use_simd);
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
                if (i >= 0 && i < plane) dx[o + ch] += dy_b[(size_t)i * c + ch];
            }
        }
    }
}

/* ---- average pool ------------------------------------------------------------------------------------------------ */

/* out[ch] = (sum of the window win of image) / divisor, all channels: the general path of both average pools (they
 * differ only in the divisor). Division (not a reciprocal multiply) so the SIMD and scalar paths round identically. */
static void avgpool_window_mean(const cnn_pool_geom* g, const float* image, pool_window win, float divisor, float* out,
                                int use_simd) {
    const int c = g->c;
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

/* One output pixel, all channels, general path: the divisor counts the window's pixels inside the image. */
static void avgpool_output(const cnn_pool_geom* g, const float* image, int oy, int ox, float* out, int use_simd) {
    const pool_window win = pool_window_of(g, oy, ox);
    const int count = window_empty(win) ? 0 : (win.y1 - win.y0) * (win.x1 - win.x0);
    avgpool_window_mean(g, image, win, count > 0 ? (float)count : 1.0f, out, use_simd);
}

/* Full 2×2 stride-2 outputs [0, ox_end) of row oy, c >= 4 (overlapping last channel step, as maxpool_row_2x2). The
 * sum runs in the reference's order from 0; ×0.25 equals ÷4 exactly (a power of two), so results match bit for bit. */
static void avgpool_row_2x2(const cnn_pool_geom* g, const float* image, int oy, int ox_end, float* y) {
    const int c = g->c, w = g->w;
    const float* r0 = image + (size_t)(2 * oy) * w * c;
    const float* r1 = r0 + (size_t)w * c;
    const cnn_v4f quarter = cnn_v4f_splat(0.25f);
    for (int ox = 0; ox < ox_end; ox++) {
        const float* p0 = r0 + (size_t)(2 * ox) * c;
        const float* p1 = r1 + (size_t)(2 * ox) * c;
        float* yo = y + (size_t)ox * c;
        for (int ch = 0; ch < c; ch += 4) {
            const int at = ch + 4 <= c ? ch : c - 4;
            cnn_v4f sum = cnn_v4f_add(cnn_v4f_zero(), cnn_v4f_load(p0 + at));
            sum = cnn_v4f_add(sum, cnn_v4f_load(p0 + c + at));
            sum = cnn_v4f_add(sum, cnn_v4f_load(p1 + at));
            sum = cnn_v4f_add(sum, cnn_v4f_load(p1 + c + at));
            cnn_v4f_store(yo + at, cnn_v4f_mul(sum, quarter));
        }
    }
}

static void avgpool_impl(const cnn_pool_geom* g, const float* x, float* y, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    const full_outputs full = full_2x2_outputs(g, use_simd && c >= 4); /* the row kernels step 4 channels */
    for (int b = 0; b < g->n; b++) {
        const float* image = x + b * image_len;
        for (int oy = 0; oy < g->oh; oy++) {
            float* row = y + ((size_t)b * g->oh + oy) * g->ow * c;
            int ox = 0;
            if (oy < full.oh) {
                avgpool_row_2x2(g, image, oy, full.ow, row);
                ox = full.ow;
            }
            for (; ox < g->ow; ox++) avgpool_output(g, image, oy, ox, row + (size_t)ox * c, use_simd);
        }
    }
}

void cnn_f32_avgpool__simd(const cnn_pool_geom* g, const float* x, float* y) { avgpool_impl(g, x, y, 1); }
void cnn_f32_avgpool__ref(const cnn_pool_geom* g, const float* x, float* y) { avgpool_impl(g, x, y, 0); }

/* Every pixel of the window win of image += grad[ch] / divisor, all channels: the general path of both average pools'
 * gradients. */
static void avgpool_window_spread(const cnn_pool_geom* g, const float* grad, pool_window win, float divisor,
                                  float* image, int use_simd) {
    const int c = g->c;
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

/* dx += the share of one output's gradient, general path. */
static void avgpool_backward_output(const cnn_pool_geom* g, const float* grad, int oy, int ox, float* image,
                                    int use_simd) {
    const pool_window win = pool_window_of(g, oy, ox);
    if (window_empty(win)) return;
    avgpool_window_spread(g, grad, win, (float)((win.y1 - win.y0) * (win.x1 - win.x0)), image, use_simd);
}

/* Full 2×2 stride-2 outputs of row oy: each input pixel receives from exactly one output (windows do not overlap),
 * so a channel tail cannot overlap here; it runs scalar. */
static void avgpool_backward_row_2x2(const cnn_pool_geom* g, const float* dy, int oy, int ox_end, float* image) {
    const int c = g->c, w = g->w;
    float* r0 = image + (size_t)(2 * oy) * w * c;
    float* r1 = r0 + (size_t)w * c;
    const cnn_v4f quarter = cnn_v4f_splat(0.25f);
    for (int ox = 0; ox < ox_end; ox++) {
        float* p0 = r0 + (size_t)(2 * ox) * c;
        float* p1 = r1 + (size_t)(2 * ox) * c;
        const float* grad = dy + (size_t)ox * c;
        int ch = 0;
        for (; ch + 4 <= c; ch += 4) {
            const cnn_v4f share = cnn_v4f_mul(cnn_v4f_load(grad + ch), quarter);
            cnn_v4f_store(p0 + ch, cnn_v4f_add(cnn_v4f_load(p0 + ch), share));
            cnn_v4f_store(p0 + c + ch, cnn_v4f_add(cnn_v4f_load(p0 + c + ch), share));
            cnn_v4f_store(p1 + ch, cnn_v4f_add(cnn_v4f_load(p1 + ch), share));
            cnn_v4f_store(p1 + c + ch, cnn_v4f_add(cnn_v4f_load(p1 + c + ch), share));
        }
        for (; ch < c; ch++) {
            const float share = grad[ch] / 4.0f;
            p0[ch] += share, p0[c + ch] += share, p1[ch] += share, p1[c + ch] += share;
        }
    }
}

static void avgpool_backward_impl(const cnn_pool_geom* g, const float* dy, float* dx, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    const full_outputs full = full_2x2_outputs(g, use_simd);
    for (int b = 0; b < g->n; b++) {
        float* image = dx + b * image_len;
        for (int oy = 0; oy < g->oh; oy++) {
            const float* row = dy + ((size_t)b * g->oh + oy) * g->ow * c;
            int ox = 0;
            if (oy < full.oh) {
                avgpool_backward_row_2x2(g, row, oy, full.ow, image);
                ox = full.ow;
            }
            for (; ox < g->ow; ox++) avgpool_backward_output(g, row + (size_t)ox * c, oy, ox, image, use_simd);
        }
    }
}

void cnn_f32_avgpool_backward__simd(const cnn_pool_geom* g, const float* dy, float* dx) {
    avgpool_backward_impl(g, dy, dx, 1);
}
void cnn_f32_avgpool_backward__ref(const cnn_pool_geom* g, const float* dy, float* dx) {
    avgpool_backward_impl(g, dy, dx, 0);
}

/* ---- average pool counting the padding (PyTorch's count_include_pad, ONNX's count_include_pad = 1) ----------------
 * The sum runs over the window clipped to the image, as above; the divisor counts the window's positions inside the
 * padded image [−pad_top, h + pad_bottom) × [−pad_left, w + pad_right): padding counts, a ceil-mode overhang beyond
 * it does not. General path only (SIMD across channels): padded pooling is off the common 2×2 path. */

static inline int padded_count(const cnn_pool_geom* g, int pad_bottom, int pad_right, int oy, int ox) {
    const int ys = oy * g->sh - g->pad_top, xs = ox * g->sw - g->pad_left;
    const int y0 = ys < -g->pad_top ? -g->pad_top : ys, x0 = xs < -g->pad_left ? -g->pad_left : xs;
    const int y1 = ys + g->ph > g->h + pad_bottom ? g->h + pad_bottom : ys + g->ph;
    const int x1 = xs + g->pw > g->w + pad_right ? g->w + pad_right : xs + g->pw;
    return y1 > y0 && x1 > x0 ? (y1 - y0) * (x1 - x0) : 0;
}

static void avgpool_inclpad_impl(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* x, float* y,
                                 int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    for (int b = 0; b < g->n; b++) {
        const float* image = x + b * image_len;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                const int count = padded_count(g, pad_bottom, pad_right, oy, ox);
                avgpool_window_mean(g, image, pool_window_of(g, oy, ox), count > 0 ? (float)count : 1.0f,
                                    y + (((size_t)b * g->oh + oy) * g->ow + ox) * c, use_simd);
            }
    }
}

void cnn_f32_avgpool_inclpad__simd(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* x, float* y) {
    avgpool_inclpad_impl(g, pad_bottom, pad_right, x, y, 1);
}
void cnn_f32_avgpool_inclpad__ref(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* x, float* y) {
    avgpool_inclpad_impl(g, pad_bottom, pad_right, x, y, 0);
}

static void avgpool_inclpad_backward_impl(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* dy,
                                          float* dx, int use_simd) {
    const int c = g->c;
    const size_t image_len = (size_t)g->h * g->w * c;
    for (int b = 0; b < g->n; b++) {
        float* image = dx + b * image_len;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                const float* grad = dy + (((size_t)b * g->oh + oy) * g->ow + ox) * c;
                const pool_window win = pool_window_of(g, oy, ox);
                const int count = padded_count(g, pad_bottom, pad_right, oy, ox);
                if (window_empty(win) || count == 0) continue;
                avgpool_window_spread(g, grad, win, (float)count, image, use_simd);
            }
    }
}

void cnn_f32_avgpool_inclpad_backward__simd(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* dy,
                                            float* dx) {
    avgpool_inclpad_backward_impl(g, pad_bottom, pad_right, dy, dx, 1);
}
void cnn_f32_avgpool_inclpad_backward__ref(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* dy,
                                           float* dx) {
    avgpool_inclpad_backward_impl(g, pad_bottom, pad_right, dy, dx, 0);
}
