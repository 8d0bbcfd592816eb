/* The layers' use of the pool: threaded GEMM (C split into row blocks, then column blocks when rows run out, one task
 * each), the task / range helpers of parallel.h. */
#include "parallel.h"

#include "kernels/gemm_tile.h" /* GEMM_NR: the packed kernel's panel width */

typedef struct gemm_job {
    cnn_model* m;
    int M, N, K, lda, ldb, ldc, trans_a, trans_b, accumulate;
    const float* A;
    const float* B;
    const cnn_f32_packed_b* packed; /* or NULL: B packed ahead */
    const float* bias; /* or NULL */
    float* C;
    int mb, nb, tiles_n; /* block sizes and the number of column blocks */
    int check;           /* cnn_f32_gemm_bias_finite: ... */
    cnn_thread_flags nonfinite;      /* ... per thread: one of its blocks came out with a non-finite value */
} gemm_job;

int64_t cnn_threaded_min_work = INT64_C(1) << 18;

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
/* min_int, round_up: gemm_tile.h */

static void gemm_task(void* ctx, int task, int thread) {
    gemm_job* j = ctx;
    const int i0 = task / j->tiles_n * j->mb, j0 = task % j->tiles_n * j->nb;
    const float* a = j->trans_a ? j->A + i0 : j->A + (size_t)i0 * j->lda;
    const float* b = !j->B ? NULL : j->trans_b ? j->B + (size_t)j0 * j->ldb : j->B + j0; /* NULL when packed */
    const int mb = min_int(j->mb, j->M - i0), nb = min_int(j->nb, j->N - j0);
    const float* bias = j->bias ? j->bias + j0 : NULL;
    float* c = j->C + (size_t)i0 * j->ldc + j0;
    float* ws = cnn_thread_scratch(j->m, thread);
    cnn_f32_packed_b block;
    if (j->packed) block = *j->packed, block.col0 += j0; /* the task's columns of the packed kernel */
    if (!cnn_f32_gemm_run(mb, nb, j->K, a, j->lda, j->trans_a, b, j->ldb, j->trans_b, j->packed ? &block : NULL, bias,
                          c, j->ldc, j->accumulate, j->check, ws))
        j->nonfinite.raised[thread] = 1;
}

int cnn_gemm_split(cnn_model* m, int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                   int trans_b, const cnn_f32_packed_b* packed, const float* bias, float* C, int ldc, int accumulate,
                   int check) {
    /* About 4 tasks per thread (dynamic claiming evens out uneven blocks). */
    const int64_t work = (int64_t)M * N * (K > 0 ? K : 1);
    const int tasks = cnn_model_threaded(m) && work >= cnn_threaded_min_work ? 4 * cnn_thread_count() : 1;
    if (M <= 0 || N <= 0 || tasks <= 1)
        return cnn_f32_gemm_run(M, N, K, A, lda, trans_a, B, ldb, trans_b, packed, bias, C, ldc, accumulate, check,
                                cnn_scratch(m));
    gemm_job j = {m, M, N, K, lda, ldb, ldc, trans_a, trans_b, accumulate, A, B, packed, bias, C, 0, 0, 0, check,
                   {{0}}};
    int tiles_m = min_int(tasks, ceil_div(M, 4));
    j.mb = round_up(ceil_div(M, tiles_m), 4);
    tiles_m = ceil_div(M, j.mb);
    int tiles_n = min_int(tasks / tiles_m > 1 ? tasks / tiles_m : 1, ceil_div(N, 8));
    j.nb = round_up(ceil_div(N, tiles_n), 8);
    j.tiles_n = ceil_div(N, j.nb);
    cnn_parallel_for(tiles_m * j.tiles_n, gemm_task, &j);
    return !cnn_thread_flags_any(&j.nonfinite);
}

typedef struct pack_job {
    const float* B;
    int ldb, trans_b, N, K;
    float* dst;
} pack_job;

static void pack_range(void* ctx, size_t begin, size_t end) {
    const pack_job* j = ctx; /* [begin, end): column panels */
    const int j_end = (int)end * GEMM_NR < j->N ? (int)end * GEMM_NR : j->N;
    cnn_f32_gemm_pack_b_whole(j->N, j->K, j->B, j->ldb, j->trans_b, (int)begin * GEMM_NR, j_end, j->dst);
}

const cnn_f32_packed_b* cnn_packed_kernel(cnn_model* m, cnn_node* node, int slot, const float* B, int ldb,
                                          int trans_b, int N, int K, cnn_f32_packed_b* storage) {
    if (!cnn_packed_kernel_floats(N, K)) return NULL;
    *storage = (cnn_f32_packed_b){node->saved, round_up(N, GEMM_NR), 0};
    if (node->cache_version[slot] != m->weights_version) {
        pack_job j = {B, ldb, trans_b, N, K, node->saved};
        cnn_parallel_ranges(m, (size_t)ceil_div(N, GEMM_NR), 1, GEMM_NR * K * CNN_ELEMENTWISE_COST, pack_range, &j);
        node->cache_version[slot] = m->weights_version;
    }
    return storage;
}

void cnn_parallel_tasks(const cnn_model* m, int64_t work, int n_tasks, cnn_task_fn fn, void* ctx) {
    if (n_tasks > 1 && cnn_model_threaded(m) && work >= cnn_threaded_min_work) {
        cnn_parallel_for(n_tasks, fn, ctx);
        return;
    }
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
}

typedef struct range_job {
    cnn_range_fn fn;
    void* ctx;
    size_t count, per_task;
} range_job;

static void range_task(void* ctx, int task, int thread) {
    (void)thread;
    const range_job* j = ctx;
    const size_t begin = (size_t)task * j->per_task;
    j->fn(j->ctx, begin, j->count - begin < j->per_task ? j->count : begin + j->per_task);
}

void cnn_parallel_ranges(const cnn_model* m, size_t count, size_t grain, int cost, cnn_range_fn fn, void* ctx) {
    if (count == 0) return;
    if (grain < 1) grain = 1;
    const int64_t work = (int64_t)(count < (size_t)INT64_MAX / 64 ? count : (size_t)INT64_MAX / 64) * cost;
    if (!cnn_model_threaded(m) || work < cnn_threaded_min_work) {
        fn(ctx, 0, count);
        return;
    }
    /* About 4 ranges per thread (dynamic claiming evens out a thread that starts late), of whole grains. */
    const size_t grains = (count + grain - 1) / grain, want = 4 * (size_t)cnn_thread_count();
    const size_t per_task = (grains + want - 1) / want * grain;
    range_job j = {fn, ctx, count, per_task};
    cnn_parallel_for((int)((count + per_task - 1) / per_task), range_task, &j);
}
