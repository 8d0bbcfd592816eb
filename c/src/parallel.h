/* The engine's use of the thread pool (threads.h): per-thread scratch space, and threaded drivers for the layers.
 *
 * Rule that keeps results independent of the thread count: every threaded driver computes exactly what the serial
 * code computes, operation for operation, only split into tasks that write disjoint outputs. A GEMM split into
 * blocks of rows or columns of C is bit-identical to the whole GEMM (each element's sum runs over the same K blocks
 * in the same order). A reduction (batch-norm statistics, the gradient norm, a weight gradient over the batch) is
 * split only into a FIXED partition that depends on the sizes, never on the thread count, with one partial result
 * per part reduced afterwards in part order; the serial code runs the very same partition (cnn_parallel_tasks runs
 * the tasks in order on one thread), so 1, 2 or 3 threads, and the single-threaded build, give the same bits, and
 * the serial code stays the reference. */
#ifndef CNN_PARALLEL_H
#define CNN_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "kernels/kernels.h"
#include "threads.h"

/* Passes with fewer multiply-adds (pooling: input elements × 4) run serially: waking the workers costs tens of
 * microseconds. 2^18 by default; the native tests set 0 so that every threaded path runs on their small shapes. */
extern int64_t cnn_threaded_min_work;

/* Work units (multiply-adds) per element of an elementwise pass, for the threshold above: a pass of fewer than
 * 2^16 elements stays on this thread. */
#define CNN_ELEMENTWISE_COST 4

/* Runs fn(ctx, task, thread) for every task in [0, n_tasks): across the pool when the model runs threaded and the
 * pass has at least cnn_threaded_min_work of work, else in task order on this thread. Tasks write disjoint outputs
 * (or their own part's partial results), so the bits are the same either way. */
void cnn_parallel_tasks(const cnn_model* m, int64_t work, int n_tasks, cnn_task_fn fn, void* ctx);

/* Elementwise passes: fn(ctx, begin, end) over disjoint ranges covering [0, count), each a multiple of `grain`
 * items long except the last (grain: 1, or a row length when a row must stay in one range). Threaded as
 * cnn_parallel_tasks, with work = count · cost. Any split gives the same bits (an element depends on itself only). */
typedef void (*cnn_range_fn)(void* ctx, size_t begin, size_t end);
void cnn_parallel_ranges(const cnn_model* m, size_t count, size_t grain, int cost, cnn_range_fn fn, void* ctx);

/* Fixed partitions for reductions: the number of parts of at least min_part items each (and at most max_parts)
 * that [0, count) is cut into, and *part the items per part. Depends on count alone (not on the thread count). */
static inline int cnn_reduce_parts(size_t count, size_t min_part, int max_parts, size_t* part) {
    size_t p = (count + (size_t)max_parts - 1) / (size_t)max_parts;
    if (p < min_part) p = min_part;
    if (p < 1) p = 1;
    *part = p;
    return count ? (int)((count + p - 1) / p) : 0;
}

/* One flag per thread, raised by that thread's tasks only (no two threads write one): e.g. "stored a non-finite
 * value", read by the caller once the job is over. */
typedef struct cnn_thread_flags {
    char raised[CNN_MAX_THREADS];
} cnn_thread_flags;

static inline int cnn_thread_flags_any(const cnn_thread_flags* f) {
    for (int t = 0; t < CNN_MAX_THREADS; t++)
        if (f->raised[t]) return 1;
    return 0;
}

/* Floats to allocate for `threads` scratch spaces of `per_thread` floats each, 64-byte aligned; for one thread
 * exactly what the serial plan always allocated (per_thread + CNN_SCRATCH_SLACK_FLOATS). 64-bit and saturating
 * (internal.h), so the plan can check it against wasm32's ceilings before allocating. */
static inline uint64_t cnn_scratch_alloc_floats(uint64_t per_thread, int threads) {
    if (threads <= 1) return cnn_size_add(per_thread, CNN_SCRATCH_SLACK_FLOATS);
    return cnn_size_add(cnn_size_mul((uint64_t)threads, cnn_size_add(per_thread, 15) & ~(uint64_t)15),
                        CNN_SCRATCH_SLACK_FLOATS);
}

/* Thread `thread`'s scratch space (thread 0's is cnn_scratch(m)). */
static inline float* cnn_thread_scratch(cnn_model* m, int thread) {
    return cnn_scratch(m) + (size_t)thread * ((m->scratch_floats + 15) & ~(size_t)15);
}

/* Whether layers should run threaded: a pool of more than one thread, and scratch planned for it. Constant 0 in
 * serial builds, where the threaded code then drops out. */
static inline int cnn_model_threaded(const cnn_model* m) {
    return cnn_thread_count() > 1 && m->threads == cnn_thread_count();
}

/* cnn_f32_gemm_bias (bias may be NULL) split into blocks of C when the model runs threaded, each thread using its
 * own scratch as workspace (at most what the whole GEMM needs); else one call on the scratch space. With packed (else NULL), B is that packed op(B) and B, ldb, trans_b are unused.
 * With check: as cnn_f32_gemm_bias_finite, returns whether every value of C came out finite; else returns 1.
 * parallel.c. */
int cnn_gemm_split(cnn_model* m, int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                   int trans_b, const cnn_f32_packed_b* packed, const float* bias, float* C, int ldc, int accumulate,
                   int check);

/* A layer's kernel packed for the GEMM once, not by every GEMM that uses it (each chunk of patch rows, each task of
 * a threaded split, each predict call): op(B) (K×N; B with ldb, transposed when trans_b) packed at the start of the
 * node's saved buffer, where the layer planned cnn_packed_kernel_floats(N, K) floats, and kept there as the node's
 * cache slot `slot` until m->weights_version moves (an optimizer step, a parameter handed out for writing).
 * Repacking runs threaded over column panels. Returns *storage describing it, or NULL for kernels past
 * CNN_PACKED_KERNEL_MAX_FLOATS, which get no cache (size 0): their GEMMs pack as they go, so a large dense layer
 * does not hold its weights twice. */
#define CNN_PACKED_KERNEL_MAX_FLOATS (UINT64_C(1) << 22)
static inline uint64_t cnn_packed_kernel_floats(int N, int K) {
    const uint64_t floats = cnn_f32_gemm_packed_b_floats(N, K);
    return floats <= CNN_PACKED_KERNEL_MAX_FLOATS ? floats : 0;
}
const cnn_f32_packed_b* cnn_packed_kernel(cnn_model* m, cnn_node* node, int slot, const float* B, int ldb,
                                          int trans_b, int N, int K, cnn_f32_packed_b* storage);

/* C = op(A)·op(B) (+ C) on the scratch space, split across the threads when the model runs threaded. */
static inline void cnn_gemm_threaded(cnn_model* m, int M, int N, int K, const float* A, int lda, int trans_a,
                                     const float* B, int ldb, int trans_b, float* C, int ldc, int accumulate) {
    cnn_gemm_split(m, M, N, K, A, lda, trans_a, B, ldb, trans_b, NULL, NULL, C, ldc, accumulate, 0);
}

/* conv_threads.c: the convolution's passes, threaded (called only when cnn_model_threaded(m)). Each returns 1, or 0
 * without doing anything when the pass is too small to gain from threads (the caller then runs its serial code).
 * Forward with all_finite (else NULL): the GEMM paths also check y as they store it and set *all_finite to whether
 * every value came out finite; the direct path does not check (sets 0).
 * Forward: y = conv(x, w) + bias with the same algorithm the serial layer picks (pointwise GEMM, direct, or im2col
 * chunks of `rows` patch rows). Backward: dw += colsᵀ·dy (when dw), dx += col2im(dy·wᵀ) (when dx; pointwise and
 * !dx_accumulate: dx = dy·wᵀ); the bias gradient stays with the caller. */
int cnn_conv2d_forward_threaded(cnn_model* m, const cnn_conv_geom* g, int pointwise, int direct, int rows,
                                const float* x, const float* w, const cnn_f32_packed_b* packed, const float* bias,
                                int N, float* y, int* all_finite);
int cnn_conv2d_backward_threaded(cnn_model* m, const cnn_conv_geom* g, int pointwise, int rows, const float* x,
                                 const float* w, const float* dy, int N, float* dw, float* dx, int dx_accumulate);

/* Winograd (kernels/winograd.h) forward (bias may be NULL) or input gradient (`direction`), split by tiles; the
 * workspace of each thread is its scratch space, which the plan sized for one whole-pass call. all_finite (or NULL):
 * set to whether every value stored came out finite. Returns 0 without
 * doing anything when the pass is too small to gain from threads. */
int cnn_winograd_threaded(cnn_model* m, const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                          const float* u, const float* bias, float* out, int* all_finite);

/* The transposed convolution's passes (conv_transpose.c), over the geometry g of the convolution its forward pass
 * is the input gradient of: forward y += col2im(x·wᵀ) (y zeroed by the caller, bias added by the caller); backward
 * dx += im2col(dy)·w (when dx), dw += im2col(dy)ᵀ·x (when dw). C: channels of the layer's input. */
int cnn_conv2d_transpose_forward_threaded(cnn_model* m, const cnn_conv_geom* g, int rows, const float* x,
                                          const float* w, int C, float* y);
int cnn_conv2d_transpose_backward_threaded(cnn_model* m, const cnn_conv_geom* g, int rows, const float* x,
                                           const float* w, const float* dy, int C, float* dw, float* dx);

/* pool_threads.c: pooling and its backward pass, one task per sample. kind: CNN_POOL_THREAD_MAX (idx: its indices,
 * may be NULL in the forward pass), _AVG, or _AVG_INCLPAD (count_include_pad, with the layer's bottom / right pads).
 * Backward adds into dx, as the serial kernels. */
enum { CNN_POOL_THREAD_MAX, CNN_POOL_THREAD_AVG, CNN_POOL_THREAD_AVG_INCLPAD };
void cnn_pool2d_forward_threaded(const cnn_pool_geom* g, int kind, int pad_bottom, int pad_right, const float* x,
                                 float* y, int32_t* idx);
void cnn_pool2d_backward_threaded(const cnn_pool_geom* g, int kind, int pad_bottom, int pad_right, const float* dy,
                                  const int32_t* idx, float* dx);

/* Max-unpooling of n samples (pooled oh x ow x c values, unpooled h x w x c), one task per sample: forward writes
 * the zero-filled unpooled output `out` from the values `in`; backward adds the gathered dy `in` into `out`. */
void cnn_max_unpool_threaded(int n, int oh, int ow, int c, int h, int w, int backward, const float* in,
                             const int32_t* idx, float* out);

#endif
