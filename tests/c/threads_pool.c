/* The thread pool (c/src/threads.c) with POSIX threads, and the threaded layers against the serial code. Built by
 * build.sh as build/native/test_threads (ASan/UBSan) and test_threads_tsan (ThreadSanitizer), with
 * -DCNN_THREADS_PTHREAD; run by tests/native.test.js.
 *   pool: every task runs exactly once for job sizes 0 … 1000, thread ids stay in range, nested calls run serially,
 *         thousands of back-to-back jobs (the job-word protocol), stop and restart;
 *   layers: convolutions of every algorithm (direct with bands, im2col chunks, pointwise, dilated, padding larger than
 *         the image, Winograd F2 and F4 forward and input gradient, Winograd F(3×3, 2×2) and F(3×3, 4×4) weight
 *         gradients split into parts, transposed), a small network trained for a few
 *         steps (with explicit-pad / ceil-mode / count_include_pad pooling) and a small SegNet (max-unpooling,
 *         per-pixel weighted cross-entropy with an ignored label) give the same bits with 1, 2 and 3 threads;
 *   Winograd: any split of the tile range (cnn_f32_winograd_range, SIMD and reference) gives the whole call's bits. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "kernels/winograd.h"
#include "parallel.h"
#include "threads.h"

static int passed, failed;

static void expect(int ok, const char* what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s (last error: %s)\n", what, cnn_last_error());
    }
}

/* ---- pool ---------------------------------------------------------------------------------------------------- */

typedef struct count_job {
    _Atomic int* runs;    /* per task */
    _Atomic int bad_thread;
    _Atomic int threads_seen[CNN_MAX_THREADS];
    int* out;
    int nested;           /* tasks issue a nested parallel_for */
} count_job;

static void inner_task(void* ctx, int task, int thread) {
    _Atomic int* sum = ctx;
    (void)thread;
    /* Atomic: a call nested in a task runs serially while a job is running, but a job of one task runs inline
     * without occupying the pool, so a parallel_for inside it may run on every thread. */
    atomic_fetch_add(sum, task);
}

static void count_task(void* ctx, int task, int thread) {
    count_job* j = ctx;
    atomic_fetch_add(&j->runs[task], 1);
    if (thread < 0 || thread >= cnn_thread_count()) atomic_store(&j->bad_thread, 1);
    else atomic_store(&j->threads_seen[thread], 1);
    int value = task * 3 + 1;
    if (j->nested) {
        _Atomic int sum = 0;
        cnn_parallel_for(5, inner_task, &sum);
        value += atomic_load(&sum); /* 0+1+2+3+4 */
    }
    j->out[task] = value;
}

static void check_pool(int threads) {
    char what[160];
    const int sizes[] = {0, 1, 2, 3, 7, 64, 1000};
    for (int nested = 0; nested < 2; nested++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            const int n = sizes[s];
            count_job j;
            memset(&j, 0, sizeof j);
            j.runs = calloc((size_t)n + 1, sizeof *j.runs);
            j.out = calloc((size_t)n + 1, sizeof *j.out);
            j.nested = nested;
            cnn_parallel_for(n, count_task, &j);
            int ok = !atomic_load(&j.bad_thread);
            for (int t = 0; t < n; t++)
                ok = ok && atomic_load(&j.runs[t]) == 1 && j.out[t] == t * 3 + 1 + (nested ? 10 : 0);
            snprintf(what, sizeof what, "pool of %d threads: %d tasks (nested %d) each ran once with the right result",
                     threads, n, nested);
            expect(ok, what);
            free((void*)j.runs);
            free(j.out);
        }
    /* Back-to-back small jobs: a late worker must never run a task of the next job with the previous one's count. */
    int ok = 1;
    for (int rep = 0; rep < 3000 && ok; rep++) {
        const int n = 1 + rep % 9;
        count_job j;
        memset(&j, 0, sizeof j);
        _Atomic int runs[9];
        int out[9];
        for (int t = 0; t < 9; t++) atomic_init(&runs[t], 0), out[t] = -1;
        j.runs = runs;
        j.out = out;
        cnn_parallel_for(n, count_task, &j);
        for (int t = 0; t < 9; t++) ok = ok && atomic_load(&runs[t]) == (t < n) && (t >= n || out[t] == t * 3 + 1);
    }
    snprintf(what, sizeof what, "pool of %d threads: 3000 back-to-back jobs of 1-9 tasks", threads);
    expect(ok, what);
}

/* ---- layers -------------------------------------------------------------------------------------------------- */

static unsigned rng_state;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Everything a run produces, concatenated: outputs, parameter gradients or weights, input gradient, losses. */
typedef struct blob { float* data; size_t n, cap; } blob;
static void blob_add(blob* b, const float* x, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->data = realloc(b->data, b->cap * sizeof(float));
    }
    memcpy(b->data + b->n, x, n * sizeof(float));
    b->n += n;
}

/* Every parameter's values, in parameter order. */
static void blob_add_params(blob* b, cnn_model* m) {
    for (int p = 0; p < cnn_model_param_count(m); p++) {
        int32_t nd, dims[4];
        float* data = cnn_model_param(m, p, &nd, dims);
        blob_add(b, data, (size_t)dims[0] * dims[1] * dims[2] * dims[3]);
    }
}

static cnn_optimizer_config adam(void) {
    cnn_optimizer_config opt = {CNN_OPT_ADAM, 0.01f, 0, 0, 0.9f, 0.999f, 1e-7f, 0, 0};
    return opt;
}

typedef struct conv_case {
    int n, h, w, c, filters, kh, kw, sh, sw, dh, dw, padding;
    const char* what;
    int transpose; /* conv2dTranspose (no dilation) */
} conv_case;

static const conv_case conv_cases[] = {
    {3, 9, 11, 2, 5, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, "3x3 on 2 channels (direct)", 0},
    {3, 7, 7, 3, 9, 5, 5, 2, 2, 1, 1, CNN_PADDING_SAME, "5x5 stride 2 (direct)", 0},
    {2, 40, 40, 3, 4, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, "40x40 (direct, 6 bands per sample)", 0},
    {2, 48, 48, 3, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, "48x48x3 -> 8 (direct; MSE loss in 3 parts)", 0},
    {3, 3, 3, 2, 4, 7, 7, 1, 1, 1, 1, CNN_PADDING_SAME, "7x7 on 3x3 (padding larger than the image)", 0},
    {3, 10, 10, 16, 16, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, "3x3 16->16 (im2col)", 0},
    {3, 30, 30, 24, 20, 3, 3, 1, 1, 1, 1, CNN_PADDING_VALID, "3x3 24->20 on 30x30 (im2col, 10 chunks)", 0},
    {3, 12, 12, 12, 12, 3, 3, 1, 1, 2, 2, CNN_PADDING_VALID, "3x3 dilation 2 (im2col)", 0},
    {2, 13, 11, 32, 40, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, "3x3 32->40 on 13x11 (Winograd F4, partial tiles)", 0},
    {3, 9, 7, 8, 9, 3, 3, 1, 1, 1, 1, CNN_PADDING_VALID, "3x3 8->9 valid (Winograd F2)", 0},
    {4, 64, 64, 4, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME,
     "3x3 4->8 on 64x64 (Winograd F2, 4096 tiles: tasks of several chunks, then of one)", 0},
    {3, 6, 6, 5, 7, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, "1x1 (pointwise GEMM)", 0},
    {3, 12, 12, 8, 8, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, "1x1 on 12x12 (pointwise, weight gradient in 2 slices)", 0},
    {2, 9, 9, 40, 16, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, "3x3 40->16 (weight gradient by blocks of dW)", 0},
    {3, 22, 21, 64, 64, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME,
     "3x3 64->64 on 22x21 (Winograd F(3x3,4x4) weight gradient in 3 parts, partial tiles)", 0},
    {3, 8, 8, 128, 128, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME,
     "3x3 128->128 on 8x8 (Winograd F(3x3,2x2) weight gradient in 2 parts: 12 4x4 tiles are too few for F4)", 0},
    {2, 11, 11, 48, 12, 3, 3, 1, 1, 2, 2, CNN_PADDING_SAME, "3x3 dilation 2, 48->12 (dW blocks over dilated taps)", 0},
    {2, 9, 10, 50, 9, 5, 5, 2, 2, 1, 1, CNN_PADDING_SAME, "5x5 stride 2, 50->9 (dW blocks, padded rows)", 0},
    {3, 9, 9, 40, 10, 1, 1, 2, 2, 1, 1, CNN_PADDING_SAME, "1x1 stride 2 (im2col)", 0},
    {3, 7, 9, 6, 5, 3, 3, 2, 2, 1, 1, CNN_PADDING_SAME, "transposed 3x3 stride 2", 1},
    {2, 12, 12, 20, 8, 4, 4, 2, 2, 1, 1, CNN_PADDING_VALID, "transposed 4x4 stride 2 on 12x12x20 (several chunks)", 1},
};

/* One conv layer, MSE loss: forward output, kernel and bias gradients, input gradient. */
static blob run_conv(const conv_case* k) {
    blob b = {0, 0, 0};
    rng_state = 777u;
    cnn_model* m = cnn_model_create(5);
    int x = cnn_model_add_input(m, k->h, k->w, k->c);
    int y = k->transpose ? cnn_model_add_conv2d_transpose(m, x, k->filters, k->kh, k->kw, k->sh, k->sw, k->padding, 1,
                                                          CNN_INIT_GLOROT_UNIFORM)
                         : cnn_model_add_conv2d(m, x, k->filters, k->kh, k->kw, k->sh, k->sw, k->dh, k->dw,
                                                k->padding, 1, CNN_INIT_GLOROT_UNIFORM);
    cnn_optimizer_config opt = adam();
    if (y < 0 || cnn_model_set_output(m, y) || cnn_model_compile(m, CNN_LOSS_MSE, &opt) ||
        cnn_model_plan(m, k->n, 1)) {
        expect(0, k->what);
        cnn_model_free(m);
        return b;
    }
    int32_t shape[3];
    cnn_model_node_shape(m, y, shape);
    const size_t in_count = (size_t)k->n * k->h * k->w * k->c, out_count = (size_t)k->n * shape[0] * shape[1] * shape[2];
    float* in = cnn_model_input_buffer(m);
    for (size_t i = 0; i < in_count; i++) in[i] = frand();
    float* target = cnn_model_label_buffer(m);
    for (size_t i = 0; i < out_count; i++) target[i] = frand();
    float stats[4];
    expect(cnn_model_compute_gradients(m, k->n, stats) == CNN_STATUS_OK, k->what);
    blob_add(&b, cnn_model_output_buffer(m), out_count);
    for (int p = 0; p < cnn_model_param_count(m); p++) {
        int32_t nd, dims[4];
        cnn_model_param(m, p, &nd, dims);
        blob_add(&b, cnn_model_param_grad(m, p), (size_t)dims[0] * dims[1] * dims[2] * dims[3]);
    }
    blob_add(&b, cnn_model_input_grad_buffer(m), in_count);
    blob_add(&b, stats, 1);
    cnn_model_free(m);
    return b;
}

/* conv (direct) → conv (Winograd) → strided conv → 1x1 conv → max pool → batch norm → average pool (padded) →
 * average pool (count_include_pad) → max pool (explicit pads, ceil mode) → dense → dropout → dense, Adam, 4 steps:
 * losses and final weights. */
static blob run_training(void) {
    blob b = {0, 0, 0};
    rng_state = 99u;
    cnn_model* m = cnn_model_create(11);
    int x = cnn_model_add_input(m, 14, 14, 2);
    int l = cnn_model_add_conv2d(m, x, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_HE_NORMAL);
    l = cnn_model_add_activation(m, l, CNN_ACT_RELU, 0);
    l = cnn_model_add_conv2d(m, l, 16, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_HE_NORMAL);
    l = cnn_model_add_conv2d(m, cnn_model_add_conv2d(m, l, 16, 3, 3, 2, 2, 1, 1, CNN_PADDING_SAME, 0,
                                                     CNN_INIT_HE_NORMAL),
                             12, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_HE_NORMAL);
    l = cnn_model_add_pool2d(m, l, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PADDING_VALID);
    l = cnn_model_add_batchnorm(m, l, 0.9f, 1e-3f, 1, 1);
    l = cnn_model_add_pool2d(m, l, CNN_POOL_AVG, 3, 3, 1, 1, CNN_PADDING_SAME);
    l = cnn_model_add_pool2d_explicit(m, l, CNN_POOL_AVG, 2, 2, 1, 1, 1, 0, 0, 1, 0, 1); /* count_include_pad */
    l = cnn_model_add_pool2d_explicit(m, l, CNN_POOL_MAX, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0); /* ceil mode */
    l = cnn_model_add_flatten(m, l);
    l = cnn_model_add_dense(m, l, 24, 1, CNN_INIT_GLOROT_UNIFORM);
    l = cnn_model_add_dropout(m, l, 0.3f);
    l = cnn_model_add_dense(m, l, 5, 1, CNN_INIT_GLOROT_UNIFORM);
    cnn_optimizer_config opt = adam();
    const int n = 12;
    if (l < 0 || cnn_model_set_output(m, l) || cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &opt) ||
        cnn_model_plan(m, n, 1)) {
        expect(0, "building the training network");
        cnn_model_free(m);
        return b;
    }
    for (int step = 0; step < 4; step++) {
        float* in = cnn_model_input_buffer(m);
        for (int i = 0; i < n * 14 * 14 * 2; i++) in[i] = frand();
        int32_t* labels = cnn_model_label_buffer(m);
        for (int i = 0; i < n; i++) labels[i] = (int32_t)((frand() + 1.0f) * 2.5f) % 5;
        float stats[4];
        expect(cnn_model_train_step(m, n, stats) == CNN_STATUS_OK, "train step");
        blob_add(&b, stats, 4);
    }
    blob_add_params(&b, m);
    cnn_model_free(m);
    return b;
}

/* A small SegNet: max pooling whose indices two max-unpooling layers reuse, per-pixel cross-entropy with class
 * weights and an ignored label (its stats with the per-class counts); 3 steps of SGD with momentum. */
static blob run_segnet(void) {
    blob b = {0, 0, 0};
    rng_state = 7u;
    cnn_model* m = cnn_model_create(5);
    const int hw = 12, classes = 3, n = 6;
    int x = cnn_model_add_input(m, hw, hw, 3);
    int e1 = cnn_model_add_conv2d(m, x, 6, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_HE_NORMAL);
    int p1 = cnn_model_add_pool2d(m, e1, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PADDING_VALID);
    int e2 = cnn_model_add_conv2d(m, p1, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_HE_NORMAL);
    int p2 = cnn_model_add_pool2d(m, e2, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PADDING_VALID);
    int u2 = cnn_model_add_max_unpool2d(m, p2, p2);
    int d2 = cnn_model_add_conv2d(m, u2, 6, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_HE_NORMAL);
    int u1 = cnn_model_add_max_unpool2d(m, d2, p1);
    int l = cnn_model_add_conv2d(m, u1, classes, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    cnn_optimizer_config opt = {0};
    opt.kind = CNN_OPT_MOMENTUM;
    opt.learning_rate = 0.05f;
    opt.momentum = 0.9f;
    const float weights[3] = {0.5f, 1.0f, 2.0f};
    if (l < 0 || cnn_model_set_output(m, l) || cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &opt) ||
        cnn_model_set_class_weights(m, weights, classes) || cnn_model_set_ignore_label(m, 1, 255) ||
        cnn_model_set_stats(m, 1, 0) || cnn_model_plan(m, n, 1)) {
        expect(0, "building the SegNet");
        cnn_model_free(m);
        return b;
    }
    for (int step = 0; step < 3; step++) {
        float* in = cnn_model_input_buffer(m);
        for (int i = 0; i < n * hw * hw * 3; i++) in[i] = frand();
        int32_t* labels = cnn_model_label_buffer(m);
        for (int i = 0; i < n * hw * hw; i++) labels[i] = i % 17 == 0 ? 255 : (int32_t)((frand() + 1.0f) * 1.5f) % classes;
        float stats[4 + 3 * 3]; /* the header, then the class counts, which each thread counts apart (loss.c) */
        expect(cnn_model_stats_count(m) == 4 + 3 * classes, "SegNet stats with class counts");
        expect(cnn_model_train_step(m, n, stats) == CNN_STATUS_OK, "SegNet train step");
        blob_add(&b, stats, 4 + 3 * classes);
        blob_add(&b, cnn_model_output_buffer(m), (size_t)n * hw * hw * classes);
    }
    blob_add_params(&b, m);
    cnn_model_free(m);
    return b;
}

/* cnn_f32_winograd_range over uneven splits of the tiles against one whole call, both directions and tiles. */
static void check_winograd_ranges(void) {
    const cnn_conv_geom g = {2, 11, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 11, 9};
    const int N = 6;
    rng_state = 4242u;
    for (int tile = 2; tile <= 4; tile += 2)
        for (int dir = 0; dir < 2; dir++)
            for (int simd = 0; simd < 2; simd++) {
                uint64_t u_len, ws_len;
                int64_t tiles;
                int chunk;
                const size_t x_len = (size_t)g.n * g.h * g.w * g.c, y_len = (size_t)g.n * g.oh * g.ow * N;
                const size_t in_len = dir ? y_len : x_len, out_len = dir ? x_len : y_len;
                expect(cnn_f32_winograd_weights_floats(tile, g.c, N, &u_len) == CNN_STATUS_OK &&
                       cnn_f32_winograd_workspace_floats(&g, N, tile, dir, &ws_len) == CNN_STATUS_OK &&
                       cnn_f32_winograd_tiles(&g, N, tile, dir, &tiles, &chunk) == CNN_STATUS_OK && tiles > 8,
                       "winograd sizes");
                float* w = malloc((size_t)9 * g.c * N * sizeof(float));
                float* u = malloc(u_len * sizeof(float));
                float* in = malloc(in_len * sizeof(float));
                float* bias = malloc((size_t)N * sizeof(float));
                float* whole = malloc(out_len * sizeof(float));
                float* split = malloc(out_len * sizeof(float));
                float* ws = aligned_alloc(16, (ws_len * sizeof(float) + 15) & ~(size_t)15);
                for (int i = 0; i < 9 * g.c * N; i++) w[i] = frand();
                for (size_t i = 0; i < in_len; i++) in[i] = frand();
                for (int i = 0; i < N; i++) bias[i] = frand();
                for (size_t i = 0; i < out_len; i++) whole[i] = split[i] = frand(); /* backward adds into it */
                cnn_f32_winograd_transform_weights(tile, g.c, N, w, dir, u);
                int (*run)(const cnn_conv_geom*, int, int, int, const float*, const float*, const float*, float*,
                           float*, int64_t, int64_t, int*) =
                    simd ? cnn_f32_winograd_range__simd : cnn_f32_winograd_range__ref;
                int ok = run(&g, N, tile, dir, in, u, bias, whole, ws, 0, tiles, NULL) == CNN_STATUS_OK;
                const int64_t cuts[] = {0, 1, 5, 6, tiles - 3, tiles};
                for (int c = 0; c + 1 < 6; c++)
                    ok &= run(&g, N, tile, dir, in, u, bias, split, ws, cuts[c], cuts[c + 1], NULL) == CNN_STATUS_OK;
                ok &= memcmp(whole, split, out_len * sizeof(float)) == 0;
                ok &= run(&g, N, tile, dir, in, u, bias, split, ws, 2, tiles + 1, NULL) == CNN_STATUS_INVALID_ARG &&
                      run(&g, N, tile, dir, in, u, bias, split, ws, 3, 2, NULL) == CNN_STATUS_INVALID_ARG;
                char what[120];
                snprintf(what, sizeof what, "winograd range split = whole call (F%d, %s, %s)", tile,
                         dir ? "input gradient" : "forward", simd ? "SIMD" : "reference");
                expect(ok, what);
                free(w), free(u), free(in), free(bias), free(whole), free(split), free(ws);
            }
}

#define N_CONV (sizeof conv_cases / sizeof *conv_cases)

static void compare(const blob* ref, const blob* got, const char* what, int threads) {
    char msg[200];
    size_t diff = ref->n;
    if (got->n == ref->n)
        for (size_t i = 0; i < ref->n; i++)
            if (memcmp(&ref->data[i], &got->data[i], sizeof(float)) != 0) { diff = i; break; }
    snprintf(msg, sizeof msg, "%s: %d threads give the serial bits (%zu values; first difference at %zu)", what,
             threads, ref->n, diff == ref->n ? (size_t)0 : diff);
    expect(got->n == ref->n && diff == ref->n && ref->n > 0, msg);
}

int main(void) {
    /* Serial references: no pool yet. */
    expect(cnn_thread_count() == 1, "one thread before the pool starts");
    check_pool(1);
    check_winograd_ranges();
    blob ref_conv[N_CONV];
    for (size_t i = 0; i < N_CONV; i++) ref_conv[i] = run_conv(&conv_cases[i]);
    blob ref_train = run_training();
    blob ref_segnet = run_segnet();

    /* Every pass threaded, however small (the shapes here are), so that each threaded path meets its reference. */
    cnn_threaded_min_work = 0;
    expect(cnn_threads_start(0) != 0 && cnn_threads_start(CNN_MAX_THREADS + 1) != 0, "bad pool sizes are refused");
    for (int threads = 2; threads <= 3; threads++) {
        expect(cnn_threads_start(threads) == 0 && cnn_thread_count() == threads, "pool starts");
        expect(cnn_threads_start(threads) != 0, "a running pool cannot be configured again");
        check_pool(threads);
        for (size_t i = 0; i < N_CONV; i++) {
            blob got = run_conv(&conv_cases[i]);
            compare(&ref_conv[i], &got, conv_cases[i].what, threads);
            free(got.data);
        }
        blob got = run_training();
        compare(&ref_train, &got, "training 4 steps (conv, max and average pool, batch norm, dense, dropout; Adam)", threads);
        free(got.data);
        got = run_segnet();
        compare(&ref_segnet, &got, "SegNet 3 steps (max-unpooling, per-pixel weighted cross-entropy)", threads);
        free(got.data);
        cnn_threads_join();
        expect(cnn_thread_count() == 1 && cnn_threads_alive() == 0, "pool stops and joins");
    }
    for (size_t i = 0; i < N_CONV; i++) free(ref_conv[i].data);
    free(ref_train.data);
    free(ref_segnet.data);
    printf("threads: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
