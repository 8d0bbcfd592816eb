/* Direct convolution (implicit GEMM), the forward kernel the conv layer picks for short kernel rows or few filters
 * (layers/conv.c decides; this file only computes).
 *
 * The convolution y = patches(x)·W + bias without writing the patch matrix: with unit horizontal dilation, the kw·c
 * values of kernel row ky of a patch are contiguous in NHWC memory, so the microkernel reads each patch as kh
 * segments of kw·c floats, one image row (ky_step floats) apart. Padding is materialised once per sample in a zeroed
 * copy of the image (skipped when there is none), so no tap is ever checked. W is packed whole into 8-column panels
 * (zero past N) together with the bias, which seeds the accumulators. Rows past mr in an edge tile alias the last
 * valid patch, as in ukernel_direct_a. Two steps per iteration of a kernel row's loop, as gemm.c's kernels (node
 * --no-liftoff, fastest of 60 calls, three runs each: LeNet conv1 at batch 64 1.00-1.03 -> 0.85 ms, conv2
 * 1.23-1.56 -> 0.87, RGB 3 -> 16 3x3 at batch 32 1.30-1.69 -> 1.05, 28x28x1 -> 20 at batch 1 42-63 -> 36 µs). */

#include <string.h>

#include "kernels/gemm_tile.h"
#include "kernels/kernels.h"
#include "simd.h"

/* Padded image extent: the rows / columns the taps reach, counted from the first padded row / column. */
static int conv_span(int out, int stride, int k, int dil) { return (out - 1) * stride + (k - 1) * dil + 1; }

/* Whether the image can be read in place (no padding, every tap inside). */
static int conv_in_place(const cnn_conv_geom* g) {
    return g->pad_top == 0 && g->pad_left == 0 && conv_span(g->oh, g->sh, g->kh, g->dh) <= g->h &&
           conv_span(g->ow, g->sw, g->kw, g->dw) <= g->w;
}

/* Floats of the zero-padded copy of one image (0 when it is read in place), in 64 bits: a kernel far larger than the
 * image makes it huge (over 2^32 for a 65536-wide dilated kernel, which wrapped in wasm32's size_t). */
uint64_t cnn_f32_conv2d_padded_floats(const cnn_conv_geom* g) {
    if (conv_in_place(g)) return 0;
    return (uint64_t)conv_span(g->oh, g->sh, g->kh, g->dh) * (uint64_t)conv_span(g->ow, g->sw, g->kw, g->dw) *
           (uint64_t)g->c;
}

uint64_t cnn_f32_conv2d_workspace_floats(const cnn_conv_geom* g, int N) {
    const uint64_t K = (uint64_t)g->kh * (uint64_t)g->kw * (uint64_t)g->c, np = (uint64_t)round_up(N, GEMM_NR);
    return K * np + np + ((cnn_f32_conv2d_padded_floats(g) + 3) & ~(uint64_t)3);
}

int cnn_f32_conv2d_supported(const cnn_conv_geom* g, int N) {
    (void)N;
    return g->dw == 1;
}

static void ukernel_conv(int kh, int seg, size_t ky_step, const float* const* rows, const float* b,
                         const float* bias, float* c, int ldc, int mr, int nr) {
    cnn_v4f acc[GEMM_MR][2];
    const cnn_v4f bias0 = cnn_v4f_load(bias), bias1 = cnn_v4f_load(bias + 4);
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = bias0, acc[r][1] = bias1;
    /* Row pointers from a per-ky offset, never stepped past the last kernel row: with a large dilation that step
     * would leave the allocation (and wrap the address space in 32 bits, found by fuzz_graph_m32). */
    for (int ky = 0; ky < kh; ky++) {
        const size_t at = (size_t)ky * ky_step;
        const float* const r[GEMM_MR] = {rows[0] + at, rows[1] + at, rows[2] + at, rows[3] + at};
        /* Two steps per iteration, each its own block with the exit test between them (gemm.c's kernels). */
        const float* b_end = b + (size_t)seg * GEMM_NR;
        for (int k = 0;;) {
            cnn_gemm_step_rows(acc, r, k, b);
            k++, b += GEMM_NR;
            if (b == b_end) break;
            cnn_gemm_step_rows(acc, r, k, b);
            k++, b += GEMM_NR;
            if (b == b_end) break;
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
    cnn_f32_gemm_pack_b(K, N, w, N, 0, 0, 0, packed_w);
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
