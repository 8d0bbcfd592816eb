/* The convolution's passes split into tasks for the thread pool; each computes exactly what conv.c's serial loops
 * compute (parallel.h), so the bits do not depend on the thread count.
 *   forward, im2col path: one task per chunk of patch rows (im2col, GEMM, bias), as the serial loop's iterations;
 *   forward, direct path: one task per band of output rows of one sample (a sub-geometry whose padding and taps are
 *     those of the whole image, so every output sums the same products in the same order);
 *   weight gradient: one task per block of dW (rows = patch columns, columns = filters), each running through all
 *     chunks in order: the same K-blocked sums per element as the serial chunk loop, with im2col restricted to the
 *     block's patch columns;
 *   input gradient: one task per sample (its patch rows only reach its own dx, in the serial order);
 *   Winograd (forward and input gradient): one task per range of tiles, each tile computed alone (winograd.h). */
#include <stdint.h>

#include "../kernels/winograd.h"
#include "../parallel.h"

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int round_up(int x, int m) { return ceil_div(x, m) * m; }
static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }

typedef struct conv_job {
    cnn_model* m;
    const cnn_conv_geom* g;
    const float* x;
    const float* w;
    const float* bias;
    const float* dy;
    float* y;
    float* dw;
    float* dx;
    int N, K, M, rows;
    int accumulate;       /* chunk GEMMs add into y (the transposed convolution's input gradient) */
    int band_rows, bands; /* direct forward */
    int kb, nb, tiles_n;  /* weight-gradient blocks */
} conv_job;

/* ---- forward ----------------------------------------------------------------------------------------------------- */

static void forward_chunk_task(void* ctx, int task, int thread) {
    const conv_job* j = ctx;
    const int row0 = task * j->rows, r = min_int(j->rows, j->M - row0);
    float* cols = cnn_thread_scratch(j->m, thread);
    float* gemm_ws = cols + cnn_patch_chunk_floats(j->rows, j->K);
    float* y = j->y + (size_t)row0 * j->N;
    cnn_f32_im2col(j->g, j->x, row0, r, cols);
    cnn_f32_gemm(r, j->N, j->K, cols, j->K, 0, j->w, j->N, 0, y, j->N, j->accumulate, gemm_ws);
    if (j->bias) cnn_f32_add_bias(r, j->N, j->bias, y);
}

static void forward_band_task(void* ctx, int task, int thread) {
    const conv_job* j = ctx;
    const cnn_conv_geom* g = j->g;
    const int b = task / j->bands, oy0 = task % j->bands * j->band_rows;
    /* Input rows from the band's first tap row on; rows above it (or padding) are not reached. */
    const int first = oy0 * g->sh - g->pad_top, skip = max_int(first, 0);
    cnn_conv_geom sub = *g;
    sub.n = 1;
    sub.h = g->h - skip;
    sub.pad_top = first < 0 ? -first : 0;
    sub.oh = min_int(j->band_rows, g->oh - oy0);
    const float* x = j->x + ((size_t)b * g->h + skip) * g->w * g->c;
    float* y = j->y + (((size_t)b * g->oh + oy0) * g->ow) * j->N;
    cnn_f32_conv2d(&sub, x, j->w, j->bias, j->N, y, cnn_thread_scratch(j->m, thread));
}

static void bias_task(void* ctx, int task, int thread) {
    (void)thread;
    const conv_job* j = ctx;
    const int row0 = task * j->rows;
    cnn_f32_add_bias(min_int(j->rows, j->M - row0), j->N, j->bias, j->y + (size_t)row0 * j->N);
}

static int worth_splitting(int M, int K, int N) { return (int64_t)M * K * N >= cnn_threaded_min_work; }

int cnn_conv2d_forward_threaded(cnn_model* m, const cnn_conv_geom* g, int pointwise, int direct, int rows,
                                const float* x, const float* w, const float* bias, int N, float* y) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    if (!worth_splitting(M, K, N)) return 0;
    conv_job j = {m, g, x, w, bias, NULL, y, NULL, NULL, N, K, M, rows, 0, 0, 0, 0, 0, 0};
    if (pointwise) {
        cnn_gemm_threaded(m, M, N, K, x, K, 0, w, N, 0, y, N, 0);
        if (bias) {
            j.rows = 1024;
            cnn_parallel_for(ceil_div(M, j.rows), bias_task, &j);
        }
    } else if (direct) {
        /* Bands of about 256 output pixels, so packing the weights (once per task) stays small next to the work.
         * One band per sample when a band would start below the image (huge padding). */
        j.band_rows = min_int(g->oh, max_int(1, ceil_div(256, g->ow)));
        j.bands = ceil_div(g->oh, j.band_rows);
        if ((j.bands - 1) * j.band_rows * g->sh - g->pad_top >= g->h) j.band_rows = g->oh, j.bands = 1;
        cnn_parallel_for(g->n * j.bands, forward_band_task, &j);
    } else {
        cnn_parallel_for(ceil_div(M, rows), forward_chunk_task, &j);
    }
    return 1;
}

/* ---- backward ---------------------------------------------------------------------------------------------------- */

/* Columns [k0, k0 + kc) of patch rows [row0, row0 + rows) into cols (rows × kc): the values cnn_f32_im2col writes
 * there (input pixels, zeros for padding). */
static void im2col_columns(const cnn_conv_geom* g, const float* x, int row0, int rows, int k0, int kc, float* cols) {
    const int c = g->c, kw = g->kw, w = g->w, kernel_row_len = kw * c;
    const size_t image_len = (size_t)g->h * w * c;
    for (int r = row0; r < row0 + rows; r++) {
        const int ox = r % g->ow, t = r / g->ow, oy = t % g->oh, b = t / g->oh;
        const int iy0 = oy * g->sh - g->pad_top, ix0 = ox * g->sw - g->pad_left;
        const float* image = x + (size_t)b * image_len;
        const int row_inside = g->dw == 1 && ix0 >= 0 && ix0 + kw <= w;
        float* dst = cols + (size_t)(r - row0) * kc;
        for (int k = k0; k < k0 + kc;) {
            const int ky = k / kernel_row_len, in_row = k % kernel_row_len;
            const int end = min_int(k0 + kc, (ky + 1) * kernel_row_len); /* this kernel row's part of the range */
            const int iy = iy0 + ky * g->dh;
            if (iy < 0 || iy >= g->h) {
                for (; k < end; k++) *dst++ = 0.0f;
                continue;
            }
            const float* src_row = image + (size_t)iy * w * c;
            if (row_inside) {
                const float* src = src_row + (size_t)ix0 * c + in_row;
                for (; k < end; k++) *dst++ = *src++;
                continue;
            }
            for (; k < end; k++) {
                const int rem = k % kernel_row_len, ix = ix0 + rem / c * g->dw;
                *dst++ = ix < 0 || ix >= w ? 0.0f : src_row[(size_t)ix * c + rem % c];
            }
        }
    }
}

static void weight_grad_task(void* ctx, int task, int thread) {
    const conv_job* j = ctx;
    const int k0 = task / j->tiles_n * j->kb, j0 = task % j->tiles_n * j->nb;
    const int kc = min_int(j->kb, j->K - k0), nc = min_int(j->nb, j->N - j0);
    float* cols = cnn_thread_scratch(j->m, thread);
    float* gemm_ws = cols + cnn_patch_chunk_floats(j->rows, j->K);
    for (int row0 = 0; row0 < j->M; row0 += j->rows) {
        const int r = min_int(j->rows, j->M - row0);
        im2col_columns(j->g, j->x, row0, r, k0, kc, cols);
        cnn_f32_gemm(kc, nc, r, cols, kc, 1, j->dy + (size_t)row0 * j->N + j0, j->N, 0, j->dw + (size_t)k0 * j->N + j0,
                     j->N, 1, gemm_ws);
    }
}

static void input_grad_task(void* ctx, int b, int thread) {
    const conv_job* j = ctx;
    const int per_sample = j->g->oh * j->g->ow;
    float* cols = cnn_thread_scratch(j->m, thread);
    float* gemm_ws = cols + cnn_patch_chunk_floats(j->rows, j->K);
    for (int row0 = b * per_sample; row0 < (b + 1) * per_sample; row0 += j->rows) {
        const int r = min_int(j->rows, (b + 1) * per_sample - row0);
        cnn_f32_gemm(r, j->K, j->N, j->dy + (size_t)row0 * j->N, j->N, 0, j->w, j->N, 1, cols, j->K, 0, gemm_ws);
        cnn_f32_col2im_add(j->g, cols, row0, r, j->dx);
    }
}

/* The blocks of dW (K × N) the weight-gradient tasks take. */
static void plan_weight_blocks(conv_job* j) {
    /* About 4 blocks per thread; blocks of at least 16 patch columns (each block re-packs dy, a 1/kb share of its
     * work), then the filters split in 8s when the patch columns run out. */
    const int want = 4 * cnn_thread_count();
    const int tiles_k = min_int(want, max_int(1, j->K / 16));
    j->kb = round_up(ceil_div(j->K, tiles_k), 4);
    const int blocks_k = ceil_div(j->K, j->kb);
    const int tiles_n = min_int(max_int(1, want / blocks_k), ceil_div(j->N, 8));
    j->nb = round_up(ceil_div(j->N, tiles_n), 8);
    j->tiles_n = ceil_div(j->N, j->nb);
}

int cnn_conv2d_backward_threaded(cnn_model* m, const cnn_conv_geom* g, int pointwise, int rows, const float* x,
                                 const float* w, const float* dy, int N, float* dw, float* dx) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    if (!worth_splitting(M, K, N)) return 0;
    if (pointwise) {
        if (dw) cnn_gemm_threaded(m, K, N, M, x, K, 1, dy, N, 0, dw, N, 1);
        if (dx) cnn_gemm_threaded(m, M, K, N, dy, N, 0, w, N, 1, dx, K, 1);
        return 1;
    }
    conv_job j = {m, g, x, w, NULL, dy, NULL, dw, dx, N, K, M, rows, 0, 0, 0, 0, 0, 0};
    if (dw) {
        plan_weight_blocks(&j);
        cnn_parallel_for(ceil_div(K, j.kb) * j.tiles_n, weight_grad_task, &j);
    }
    if (dx) cnn_parallel_for(g->n, input_grad_task, &j);
    return 1;
}

/* ---- transposed convolution ---------------------------------------------------------------------------------------
 * conv_transpose.c runs a convolution's passes the other way round over the geometry g of the convolution from the
 * transposed layer's output (n×oh'×ow'×filters, g's input) to its input (g's output, C channels): its forward is
 * that convolution's input gradient, its input gradient that convolution's forward, its weight gradient the same
 * colsᵀ·dy with the roles of the two tensors swapped. Same tasks, same bits. */

int cnn_conv2d_transpose_forward_threaded(cnn_model* m, const cnn_conv_geom* g, int rows, const float* x,
                                          const float* w, int C, float* y) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    if (!worth_splitting(M, K, C)) return 0;
    conv_job j = {m, g, NULL, w, NULL, x, NULL, NULL, y, C, K, M, rows, 0, 0, 0, 0, 0, 0};
    cnn_parallel_for(g->n, input_grad_task, &j);
    return 1;
}

int cnn_conv2d_transpose_backward_threaded(cnn_model* m, const cnn_conv_geom* g, int rows, const float* x,
                                           const float* w, const float* dy, int C, float* dw, float* dx) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    if (!worth_splitting(M, K, C)) return 0;
    if (dx) {
        conv_job j = {m, g, dy, w, NULL, NULL, dx, NULL, NULL, C, K, M, rows, 1, 0, 0, 0, 0, 0};
        cnn_parallel_for(ceil_div(M, rows), forward_chunk_task, &j);
    }
    if (dw) {
        conv_job j = {m, g, dy, NULL, NULL, x, NULL, dw, NULL, C, K, M, rows, 0, 0, 0, 0, 0, 0};
        plan_weight_blocks(&j);
        cnn_parallel_for(ceil_div(K, j.kb) * j.tiles_n, weight_grad_task, &j);
    }
    return 1;
}

/* ---- Winograd ------------------------------------------------------------------------------------------------------ */

typedef struct wino_job {
    cnn_model* m;
    const cnn_conv_geom* g;
    int N, tile, direction;
    const float* in;
    const float* u;
    const float* bias;
    float* out;
    int64_t tiles;
    int per_task;
} wino_job;

static void wino_task(void* ctx, int task, int thread) {
    const wino_job* j = ctx;
    const int64_t first = (int64_t)task * j->per_task;
    const int64_t end = first + j->per_task < j->tiles ? first + j->per_task : j->tiles;
    const int status = cnn_f32_winograd_range(j->g, j->N, j->tile, j->direction, j->in, j->u, j->bias, j->out,
                                              cnn_thread_scratch(j->m, thread), first, end);
    (void)status; /* the caller's cnn_f32_winograd_tiles checked the geometry; the ranges are in bounds */
}

int cnn_winograd_threaded(cnn_model* m, const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                          const float* u, const float* bias, float* out) {
    const int K = 9 * g->c, M = g->n * g->oh * g->ow;
    int64_t tiles;
    int chunk;
    if (!worth_splitting(M, K, N) || cnn_f32_winograd_tiles(g, N, tile, direction, &tiles, &chunk) != CNN_STATUS_OK)
        return 0;
    /* Tasks of one workspace chunk; smaller (multiples of 4 tiles) when that leaves fewer than 2 tasks per thread.
     * Any split gives the same bits. */
    const int64_t want = 2 * (int64_t)cnn_thread_count();
    int64_t per = chunk;
    if ((tiles + per - 1) / per < want) per = ((tiles + want - 1) / want + 3) & ~(int64_t)3;
    if (per < 4) per = 4;
    const int64_t tasks = (tiles + per - 1) / per;
    if (tasks < 2 || tasks > INT32_MAX) return 0;
    wino_job j = {m, g, N, tile, direction, in, u, bias, out, tiles, (int)per};
    cnn_parallel_for((int)tasks, wino_task, &j);
    return 1;
}
