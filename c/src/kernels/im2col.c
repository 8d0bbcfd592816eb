/* im2col / col2im for NHWC convolution. cols row r = (b·oh + oy)·ow + ox, columns ordered (ky, kx, ci).
 * In NHWC a tap is c contiguous floats, and with dilation 1 a whole kernel row (kw taps) is kw·c contiguous floats,
 * so the common interior case is one straight copy per kernel row; only border taps go through the checked path. */
#include "kernels/kernels.h"
#include "simd.h"

static inline void copy_floats(float* dst, const float* src, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        cnn_v4f_store(dst + i, cnn_v4f_load(src + i));
        cnn_v4f_store(dst + i + 4, cnn_v4f_load(src + i + 4));
    }
    for (; i + 4 <= n; i += 4) cnn_v4f_store(dst + i, cnn_v4f_load(src + i));
    if (i < n && n >= 4) {
        /* Tail of 1-3 floats as one vector ending at n, overlapping floats already copied (same values): kernel
         * rows like 5 taps × 1 channel are common, and this avoids a scalar loop. dst and src do not overlap. */
        cnn_v4f_store(dst + n - 4, cnn_v4f_load(src + n - 4));
        return;
    }
    for (; i < n; i++) dst[i] = src[i];
}

static inline void zero_floats(float* dst, int n) {
    const cnn_v4f z = cnn_v4f_zero();
    int i = 0;
    for (; i + 4 <= n; i += 4) cnn_v4f_store(dst + i, z);
    for (; i < n; i++) dst[i] = 0.0f;
}

/* dst[i] += src[i] */
static inline void add_floats(float* dst, const float* src, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        cnn_v4f_store(dst + i, cnn_v4f_add(cnn_v4f_load(dst + i), cnn_v4f_load(src + i)));
        cnn_v4f_store(dst + i + 4, cnn_v4f_add(cnn_v4f_load(dst + i + 4), cnn_v4f_load(src + i + 4)));
    }
    for (; i + 4 <= n; i += 4) cnn_v4f_store(dst + i, cnn_v4f_add(cnn_v4f_load(dst + i), cnn_v4f_load(src + i)));
    for (; i < n; i++) dst[i] += src[i];
}

/* Output pixel of patch row r: sample b, top-left input corner (iy0, ix0) of its receptive field. */
typedef struct patch_origin {
    int b, iy0, ix0;
} patch_origin;

static inline patch_origin patch_origin_of(const cnn_conv_geom* g, int r) {
    const int ox = r % g->ow;
    const int t = r / g->ow;
    const int oy = t % g->oh;
    patch_origin p = {t / g->oh, oy * g->sh - g->pad_top, ox * g->sw - g->pad_left};
    return p;
}

void cnn_f32_im2col(const cnn_conv_geom* g, const float* x, int row0, int rows, float* cols) {
    const int c = g->c, kw = g->kw, w = g->w;
    const int kernel_row_len = kw * c;
    const size_t row_len = (size_t)g->kh * kernel_row_len;
    const size_t image_len = (size_t)g->h * w * c;
    if (rows <= 0) return;
    /* Output pixel of the first row, then stepped along (no division per row). */
    patch_origin p = patch_origin_of(g, row0);
    int ox = row0 % g->ow;
    for (int r = row0; r < row0 + rows; r++) {
        const float* image = x + (size_t)p.b * image_len;
        float* dst = cols + (size_t)(r - row0) * row_len;
        /* Whole kernel row inside horizontally and contiguous in memory → one copy per ky. */
        const int row_inside = g->dw == 1 && p.ix0 >= 0 && p.ix0 + kw <= w;
        for (int ky = 0; ky < g->kh; ky++, dst += kernel_row_len) {
            const int iy = p.iy0 + ky * g->dh;
            if (iy < 0 || iy >= g->h) {
                zero_floats(dst, kernel_row_len);
                continue;
            }
            const float* src_row = image + (size_t)iy * w * c;
            if (row_inside) {
                copy_floats(dst, src_row + (size_t)p.ix0 * c, kernel_row_len);
                continue;
            }
            for (int kx = 0; kx < kw; kx++) {
                const int ix = p.ix0 + kx * g->dw;
                if (ix < 0 || ix >= w)
                    zero_floats(dst + kx * c, c);
                else
                    copy_floats(dst + kx * c, src_row + (size_t)ix * c, c);
            }
        }
        if (++ox < g->ow) {
            p.ix0 += g->sw;
        } else {
            ox = 0;
            p.ix0 = -g->pad_left;
            p.iy0 += g->sh;
            if (p.iy0 > (g->oh - 1) * g->sh - g->pad_top) p.iy0 = -g->pad_top, p.b++;
        }
    }
}

void cnn_f32_col2im_add(const cnn_conv_geom* g, const float* cols, int row0, int rows, float* dx) {
    const int c = g->c, kw = g->kw, w = g->w;
    const int kernel_row_len = kw * c;
    const size_t row_len = (size_t)g->kh * kernel_row_len;
    const size_t image_len = (size_t)g->h * w * c;
    for (int r = row0; r < row0 + rows; r++) {
        const patch_origin p = patch_origin_of(g, r);
        float* image = dx + (size_t)p.b * image_len;
        const float* src = cols + (size_t)(r - row0) * row_len;
        const int row_inside = g->dw == 1 && p.ix0 >= 0 && p.ix0 + kw <= w;
        for (int ky = 0; ky < g->kh; ky++, src += kernel_row_len) {
            const int iy = p.iy0 + ky * g->dh;
            if (iy < 0 || iy >= g->h) continue; /* padding taps have no input to receive gradient */
            float* dst_row = image + (size_t)iy * w * c;
            if (row_inside) {
                add_floats(dst_row + (size_t)p.ix0 * c, src, kernel_row_len);
                continue;
            }
            for (int kx = 0; kx < kw; kx++) {
                const int ix = p.ix0 + kx * g->dw;
                if (ix >= 0 && ix < w) add_floats(dst_row + (size_t)ix * c, src + kx * c, c);
            }
        }
    }
}
