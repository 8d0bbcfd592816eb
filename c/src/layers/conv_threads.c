/* The convolution's passes split into tasks for the thread pool; each computes exactly what conv.c's serial loops
 * compute (parallel.h), so the bits do not depend on the thread count.
 *   forward, im2col path: one task per chunk of patch rows (im2col, GEMM, bias), as the serial loop's iterations;
 *   forward, direct path: one task per band of output rows of one sample (a sub-geometry whose padding and taps are
 *     those of the whole image, so every output sums the same products in the same order);
 *   weight gradient: one task per slice of the batch's patch rows (a K block of the serial GEMM inside one chunk),
 *     each computing that slice's partial product alone; then dW adds the partial products in slice order, which is
 *     what the serial chunk loop's GEMM does (see "weight gradient by slices" below). Large dW (over
 *     SLICE_MAX_DW_FLOATS): one task per block of dW instead, each running through all chunks in order with im2col
 *     restricted to the block's patch columns;
 *   input gradient: one task per sample (its patch rows only reach its own dx, in the serial order);
 *   Winograd (forward and input gradient): one task per range of tiles, each tile computed alone (winograd.h). */
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "../kernels/gemm_tile.h" /* GEMM_KC: the K blocks of the serial GEMM, which the weight-gradient slices follow */
#include "../kernels/winograd.h"
#include "../parallel.h"

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int max_int(int a, int b) { return a > b ? a : b; }

typedef struct conv_job {
    cnn_model* m;
    const cnn_conv_geom* g;
    const float* x;
    const float* w;
    const cnn_f32_packed_b* packed; /* forward: w packed ahead (or NULL) */
    const float* bias;
    const float* dy;
    float* y;
    float* dw;
    float* dx;
    int N, K, M, rows;
    int accumulate;       /* chunk GEMMs add into y (the transposed convolution's input gradient) */
    int band_rows, bands; /* direct forward */
    int kb, nb, tiles_n;  /* weight-gradient blocks */
    int check;            /* forward chunks: check the output (cnn_f32_gemm_bias_finite) ... */
    cnn_thread_flags nonfinite;      /* ... per thread: one of its chunks came out with a non-finite value */
} conv_job;

/* ---- forward ----------------------------------------------------------------------------------------------------- */

static void forward_chunk_task(void* ctx, int task, int thread) {
    conv_job* j = ctx;
    const int row0 = task * j->rows, r = min_int(j->rows, j->M - row0);
    float* cols = cnn_thread_scratch(j->m, thread);
    float* gemm_ws = cols + cnn_patch_chunk_floats(j->rows, j->K);
    float* y = j->y + (size_t)row0 * j->N;
    cnn_f32_im2col(j->g, j->x, row0, r, cols);
    if (!cnn_f32_gemm_run(r, j->N, j->K, cols, j->K, 0, j->w, j->N, 0, j->packed, j->bias, y, j->N, j->accumulate,
                          j->check, gemm_ws))
        j->nonfinite.raised[thread] = 1;
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

static int worth_splitting(int M, int K, int N) { return (int64_t)M * K * N >= cnn_threaded_min_work; }

int cnn_conv2d_forward_threaded(cnn_model* m, const cnn_conv_geom* g, int pointwise, int direct, int rows,
                                const float* x, const float* w, const cnn_f32_packed_b* packed, const float* bias,
                                int N, float* y, int* all_finite) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    if (!worth_splitting(M, K, N)) return 0;
    conv_job j = {m, g, x, w, packed, bias, NULL, y, NULL, NULL, N, K, M, rows, 0, 0, 0, 0, 0, 0, all_finite != NULL,
                  {{0}}};
    if (all_finite) *all_finite = 0; /* unless a path below checks */
    if (pointwise) {
        /* bias added as each block is stored */
        const int finite = cnn_gemm_split(m, M, N, K, x, K, 0, w, N, 0, packed, bias, y, N, 0, all_finite != NULL);
        if (all_finite) *all_finite = finite;
    } else if (direct) {
        /* Bands of about 256 output pixels, so packing the weights (once per task) stays small next to the work.
         * One band per sample when a band would start below the image (huge padding). */
        j.band_rows = min_int(g->oh, max_int(1, ceil_div(256, g->ow)));
        j.bands = ceil_div(g->oh, j.band_rows);
        if ((j.bands - 1) * j.band_rows * g->sh - g->pad_top >= g->h) j.band_rows = g->oh, j.bands = 1;
        cnn_parallel_for(g->n * j.bands, forward_band_task, &j);
    } else {
        cnn_parallel_for(ceil_div(M, rows), forward_chunk_task, &j);
        if (all_finite) *all_finite = !cnn_thread_flags_any(&j.nonfinite);
    }
    return 1;
}

/* ---- backward ---------------------------------------------------------------------------------------------------- */

/* Columns [k0, k0 + kc) of patch rows [row0, row0 + rows) into cols (rows × kc): the values cnn_f32_im2col writes
 * there (input pixels, zeros for padding), copied as runs: the range's part of each kernel row (contiguous in NHWC
 * when the row is inside the image and undilated), else its part of each tap. */
static void im2col_columns(const cnn_conv_geom* g, const float* x, int row0, int rows, int k0, int kc, float* cols) {
    const int c = g->c, kw = g->kw, w = g->w, krl = kw * c;
    const size_t image_len = (size_t)g->h * w * c;
    const int ky_first = k0 / krl, ky_last = (k0 + kc - 1) / krl;
    int ox = row0 % g->ow, t = row0 / g->ow, oy = t % g->oh, b = t / g->oh;
    for (int r = 0; r < rows; r++) {
        const int iy0 = oy * g->sh - g->pad_top, ix0 = ox * g->sw - g->pad_left;
        const float* image = x + (size_t)b * image_len;
        const int row_inside = g->dw == 1 && ix0 >= 0 && ix0 + kw <= w;
        float* dst = cols + (size_t)r * kc;
        for (int ky = ky_first; ky <= ky_last; ky++) {
            const int base = ky * krl;
            const int lo = max_int(k0, base) - base, hi = min_int(k0 + kc, base + krl) - base; /* in the kernel row */
            float* d = dst + (base + lo - k0);
            const int iy = iy0 + ky * g->dh;
            if (iy < 0 || iy >= g->h) {
                memset(d, 0, (size_t)(hi - lo) * sizeof(float));
                continue;
            }
            const float* src_row = image + (size_t)iy * w * c;
            if (row_inside) {
                memcpy(d, src_row + (size_t)ix0 * c + lo, (size_t)(hi - lo) * sizeof(float));
                continue;
            }
            for (int kx = lo / c; kx * c < hi; kx++) {
                const int from = max_int(lo, kx * c), to = min_int(hi, (kx + 1) * c);
                const int ix = ix0 + kx * g->dw;
                if (ix < 0 || ix >= w) memset(d + (from - lo), 0, (size_t)(to - from) * sizeof(float));
                else memcpy(d + (from - lo), src_row + (size_t)ix * c + (from - kx * c), (size_t)(to - from) * sizeof(float));
            }
        }
        if (++ox == g->ow) {
            ox = 0;
            if (++oy == g->oh) oy = 0, b++;
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

/* ---- weight gradient by slices ----------------------------------------------------------------------------------
 * conv.c's serial loop runs, per chunk of `rows` patch rows, dW += colsᵀ·dy as one GEMM, and the GEMM (gemm.c) adds
 * its product into C one K block of GEMM_KC rows at a time, each block's sum started from zero: per element,
 * dW = ((dW + P_0) + P_1) + … over the slices s (the K blocks of every chunk, in order), P_s = colsᵀ·dy over the
 * slice's rows. Here tasks compute the P_s of a wave of slices side by side (a GEMM with accumulate = 0 over one
 * slice, a single K block, so P_s is that very sum), then dW adds the wave's P_s in slice order, split by elements:
 * the serial bits. Unlike blocks of dW, no task re-reads the batch (im2col and the dy panels once per row), and a
 * small dW (LeNet's first layer: 6 filters of 25) still splits into many tasks. The partial products live in one
 * buffer grown on demand (the engine's calling thread is the only one that runs this); when it cannot grow, the
 * caller's serial loop runs instead. */
/* Where slices pay: each slice writes and re-reads its K·N partial sums, against K·N·len multiply-adds, so slices
 * need long slices (len ≥ SLICE_MIN_ROWS) unless dW is small; the wave's buffer stays within L2-sized reach. */
enum { SLICE_SMALL_DW_FLOATS = 1 << 12, SLICE_MAX_DW_FLOATS = 1 << 16, SLICE_MIN_ROWS = 192,
       SLICE_WAVE_FLOATS = 1 << 18 };

static float* slice_buffer;
static size_t slice_buffer_floats;

typedef struct slice_job {
    cnn_model* m;
    const cnn_conv_geom* g;
    const float* x;
    const float* dy;
    float* dw;
    int K, N, M, rows, pointwise;
    int per_chunk;  /* slices of a full chunk */
    int first;      /* the wave's first slice */
    float* partial; /* the wave's P_s, K·N floats each */
} slice_job;

/* Rows [*row0, *row0 + *len) of slice s. */
static void slice_rows(const slice_job* j, int s, int* row0, int* len) {
    const int chunk = s / j->per_chunk, block = s % j->per_chunk;
    const int start = chunk * j->rows, r = min_int(j->rows, j->M - start);
    *row0 = start + block * GEMM_KC;
    *len = min_int(GEMM_KC, r - block * GEMM_KC);
}

static void slice_task(void* ctx, int task, int thread) {
    const slice_job* j = ctx;
    int row0, len;
    slice_rows(j, j->first + task, &row0, &len);
    float* out = j->partial + (size_t)task * j->K * j->N;
    float* cols = cnn_thread_scratch(j->m, thread);
    float* gemm_ws = cols + (j->pointwise ? 0 : cnn_patch_chunk_floats(j->rows, j->K));
    const float* a = cols;
    if (j->pointwise) a = j->x + (size_t)row0 * j->K; /* the input is the patch matrix */
    else cnn_f32_im2col(j->g, j->x, row0, len, cols);
    cnn_f32_gemm(j->K, j->N, len, a, j->K, 1, j->dy + (size_t)row0 * j->N, j->N, 0, out, j->N, 0, gemm_ws);
}

typedef struct slice_sum_job {
    const slice_job* j;
    int count;
} slice_sum_job;

static void slice_sum_range(void* ctx, size_t begin, size_t end) {
    const slice_sum_job* s = ctx;
    const size_t kn = (size_t)s->j->K * s->j->N;
    float* dw = s->j->dw;
    for (int t = 0; t < s->count; t++) {
        const float* p = s->j->partial + (size_t)t * kn;
        for (size_t e = begin; e < end; e++) dw[e] += p[e];
    }
}

/* dW += colsᵀ·dy by slices; returns 0 (nothing done) when dW is large or there is a single slice, or when the
 * buffer for the partial products cannot grow. rows: conv.c's chunk rows (the whole M for the pointwise GEMM). */
static int weight_grad_slices(cnn_model* m, const cnn_conv_geom* g, int pointwise, int rows, const float* x,
                              const float* dy, int K, int N, int M, float* dw) {
    const size_t kn = (size_t)K * N;
    if (kn > SLICE_MAX_DW_FLOATS || rows < 1 || (kn > SLICE_SMALL_DW_FLOATS && min_int(rows, GEMM_KC) < SLICE_MIN_ROWS))
        return 0;
    slice_job j = {m, g, x, dy, dw, K, N, M, rows, pointwise, ceil_div(rows, GEMM_KC), 0, NULL};
    const int chunks = ceil_div(M, rows), last = M - (chunks - 1) * rows;
    const int64_t slices = (int64_t)(chunks - 1) * j.per_chunk + ceil_div(last, GEMM_KC);
    if (slices < 2 || slices > INT32_MAX) return 0;
    int64_t wave = (int64_t)(SLICE_WAVE_FLOATS / kn);
    if (wave < 2 * cnn_thread_count()) wave = 2 * cnn_thread_count();
    if (wave > slices) wave = slices;
    const int64_t waves = (slices + wave - 1) / wave;
    wave = (slices + waves - 1) / waves; /* waves of even size: a short last wave would leave threads idle */
    const size_t need = (size_t)wave * kn;
    if (need > slice_buffer_floats) {
        float* grown = realloc(slice_buffer, need * sizeof(float));
        if (!grown) return 0;
        slice_buffer = grown;
        slice_buffer_floats = need;
    }
    j.partial = slice_buffer;
    for (int64_t first = 0; first < slices; first += wave) {
        j.first = (int)first;
        const int count = (int)(slices - first < wave ? slices - first : wave);
        cnn_parallel_for(count, slice_task, &j);
        slice_sum_job sum = {&j, count};
        cnn_parallel_ranges(m, kn, 16, count, slice_sum_range, &sum);
    }
    return 1;
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
                                 const float* w, const float* dy, int N, float* dw, float* dx, int dx_accumulate) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    assert(!dx || dx_accumulate || pointwise); /* col2im adds */
    if (!worth_splitting(M, K, N)) return 0;
    if (pointwise) {
        if (dw && !weight_grad_slices(m, g, 1, M, x, dy, K, N, M, dw)) cnn_gemm_threaded(m, K, N, M, x, K, 1, dy, N, 0, dw, N, 1);
        if (dx) cnn_gemm_threaded(m, M, K, N, dy, N, 0, w, N, 1, dx, K, dx_accumulate);
        return 1;
    }
    conv_job j = {m, g, x, w, NULL, NULL, dy, NULL, dw, dx, N, K, M, rows, 0, 0, 0, 0, 0, 0, 0, {{0}}};
    if (dw && !weight_grad_slices(m, g, 0, rows, x, dy, K, N, M, dw)) {
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
    conv_job j = {m, g, NULL, w, NULL, NULL, x, NULL, NULL, y, C, K, M, rows, 0, 0, 0, 0, 0, 0, 0, {{0}}};
    cnn_parallel_for(g->n, input_grad_task, &j);
    return 1;
}

int cnn_conv2d_transpose_backward_threaded(cnn_model* m, const cnn_conv_geom* g, int rows, const float* x,
                                           const float* w, const float* dy, int C, float* dw, float* dx) {
    const int K = g->kh * g->kw * g->c, M = g->n * g->oh * g->ow;
    if (!worth_splitting(M, K, C)) return 0;
    if (dx) {
        conv_job j = {m, g, dy, w, NULL, NULL, NULL, dx, NULL, NULL, C, K, M, rows, 1, 0, 0, 0, 0, 0, 0, {{0}}};
        cnn_parallel_for(ceil_div(M, rows), forward_chunk_task, &j);
    }
    if (dw) {
        conv_job j = {m, g, dy, NULL, NULL, NULL, x, NULL, dw, NULL, C, K, M, rows, 0, 0, 0, 0, 0, 0, 0, {{0}}};
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
    int64_t big_tasks, big, small; /* tasks [0, big_tasks) take `big` tiles each, the later ones `small` */
    int check;                      /* check the output as it is stored ... */
    cnn_thread_flags nonfinite;      /* ... per thread: one of its ranges stored a non-finite value */
} wino_job;

static void wino_task(void* ctx, int task, int thread) {
    wino_job* j = ctx;
    const int64_t big_end = j->big_tasks * j->big;
    const int64_t first = task < j->big_tasks ? (int64_t)task * j->big : big_end + (task - j->big_tasks) * j->small;
    const int64_t size = task < j->big_tasks ? j->big : j->small;
    const int64_t end = first + size < j->tiles ? first + size : j->tiles;
    int finite = 1;
    const int status = cnn_f32_winograd_range(j->g, j->N, j->tile, j->direction, j->in, j->u, j->bias, j->out,
                                              cnn_thread_scratch(j->m, thread), first, end, j->check ? &finite : NULL);
    (void)status; /* the caller's cnn_f32_winograd_tiles checked the geometry; the ranges are in bounds */
    if (!finite) j->nonfinite.raised[thread] = 1;
}

int cnn_winograd_threaded(cnn_model* m, const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                          const float* u, const float* bias, float* out, int* all_finite) {
    const int K = 9 * g->c, M = g->n * g->oh * g->ow;
    int64_t tiles;
    int chunk;
    if (!worth_splitting(M, K, N) || cnn_f32_winograd_tiles(g, N, tile, direction, &tiles, &chunk) != CNN_STATUS_OK)
        return 0;
    /* Tasks of one workspace chunk; smaller (multiples of 4 tiles) when that leaves fewer than 2 tasks per thread.
     * When there are many chunks (a 128x128 image has some 200; a claim is a contended atomic), the first three
     * quarters of the tiles go in tasks of several chunks, about 6 per thread, and the rest one chunk a task: the
     * threads end together even when one core runs slower (a host sharing it) or a worker wakes late. Any split
     * gives the same bits. */
    const int64_t want = 2 * (int64_t)cnn_thread_count();
    int64_t small = chunk;
    if ((tiles + small - 1) / small < want) small = ((tiles + want - 1) / want + 3) & ~(int64_t)3;
    if (small < 4) small = 4;
    int64_t big = small, big_tasks = 0;
    const int64_t chunks_per_big = tiles * 3 / 4 / (small * 3 * want);
    if (chunks_per_big > 1) {
        big = small * chunks_per_big;
        big_tasks = tiles * 3 / 4 / big;
    }
    const int64_t tasks = big_tasks + (tiles - big_tasks * big + small - 1) / small;
    if (tasks < 2 || tasks > INT32_MAX) return 0;
    wino_job j = {m, g, N, tile, direction, in, u, bias, out, tiles, big_tasks, big, small, all_finite != NULL, {{0}}};
    cnn_parallel_for((int)tasks, wino_task, &j);
    if (all_finite) *all_finite = !cnn_thread_flags_any(&j.nonfinite);
    return 1;
}
