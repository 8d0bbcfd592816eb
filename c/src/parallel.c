/* Threaded GEMM for the layers: C split into row blocks (then column blocks when rows run out), one task each. */
#include "parallel.h"

typedef struct gemm_job {
    cnn_model* m;
    int M, N, K, lda, ldb, ldc, trans_a, trans_b, accumulate;
    const float* A;
    const float* B;
    float* C;
    int mb, nb, tiles_n; /* block sizes and the number of column blocks */
} gemm_job;

int64_t cnn_threaded_min_work = INT64_C(1) << 18;

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int round_up(int x, int m) { return ceil_div(x, m) * m; }
static int min_int(int a, int b) { return a < b ? a : b; }

static void gemm_task(void* ctx, int task, int thread) {
    const gemm_job* j = ctx;
    const int i0 = task / j->tiles_n * j->mb, j0 = task % j->tiles_n * j->nb;
    const float* a = j->trans_a ? j->A + i0 : j->A + (size_t)i0 * j->lda;
    const float* b = j->trans_b ? j->B + (size_t)j0 * j->ldb : j->B + j0;
    cnn_f32_gemm(min_int(j->mb, j->M - i0), min_int(j->nb, j->N - j0), j->K, a, j->lda, j->trans_a, b, j->ldb,
                 j->trans_b, j->C + (size_t)i0 * j->ldc + j0, j->ldc, j->accumulate, cnn_thread_scratch(j->m, thread));
}

void cnn_gemm_split(cnn_model* m, int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                    int trans_b, float* C, int ldc, int accumulate) {
    /* About 4 tasks per thread (dynamic claiming evens out uneven blocks). */
    const int64_t work = (int64_t)M * N * (K > 0 ? K : 1);
    const int tasks = cnn_model_threaded(m) && work >= cnn_threaded_min_work ? 4 * cnn_thread_count() : 1;
    if (M <= 0 || N <= 0 || tasks <= 1) {
        cnn_f32_gemm(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate, cnn_scratch(m));
        return;
    }
    gemm_job j = {m, M, N, K, lda, ldb, ldc, trans_a, trans_b, accumulate, A, B, C, 0, 0, 0};
    int tiles_m = min_int(tasks, ceil_div(M, 4));
    j.mb = round_up(ceil_div(M, tiles_m), 4);
    tiles_m = ceil_div(M, j.mb);
    int tiles_n = min_int(tasks / tiles_m > 1 ? tasks / tiles_m : 1, ceil_div(N, 8));
    j.nb = round_up(ceil_div(N, tiles_n), 8);
    j.tiles_n = ceil_div(N, j.nb);
    cnn_parallel_for(tiles_m * j.tiles_n, gemm_task, &j);
}
