/* Pooling split by sample for the thread pool: a sample's outputs, indices and input gradient depend on that sample
 * alone, so each task runs the serial kernel on a batch of one and the bits match the whole-batch call (parallel.h). */
#include <stdint.h>
#include <string.h>

#include "../parallel.h"

typedef struct pool_job {
    const cnn_pool_geom* g;
    const float* x;  /* forward input, or backward dy */
    float* y;        /* forward output, or backward dx */
    int32_t* idx;    /* max pooling's indices (may be NULL in inference) */
    int kind, backward;
    int pad_bottom, pad_right; /* CNN_POOL_THREAD_AVG_INCLPAD */
} pool_job;

static void pool_task(void* ctx, int b, int thread) {
    (void)thread;
    const pool_job* j = ctx;
    const cnn_pool_geom* g = j->g;
    cnn_pool_geom one = *g;
    one.n = 1;
    const size_t in_size = (size_t)g->h * g->w * g->c, out_size = (size_t)g->oh * g->ow * g->c;
    int32_t* idx = j->idx ? j->idx + (size_t)b * out_size : NULL;
    if (!j->backward) {
        const float* x = j->x + (size_t)b * in_size;
        float* y = j->y + (size_t)b * out_size;
        if (j->kind == CNN_POOL_THREAD_MAX) cnn_f32_maxpool(&one, x, y, idx);
        else if (j->kind == CNN_POOL_THREAD_AVG_INCLPAD) cnn_f32_avgpool_inclpad(&one, j->pad_bottom, j->pad_right, x, y);
        else cnn_f32_avgpool(&one, x, y);
    } else {
        const float* dy = j->x + (size_t)b * out_size;
        float* dx = j->y + (size_t)b * in_size;
        if (j->kind == CNN_POOL_THREAD_MAX) cnn_f32_maxpool_backward(1, g->oh, g->ow, g->c, dy, idx, g->h, g->w, dx);
        else if (j->kind == CNN_POOL_THREAD_AVG_INCLPAD)
            cnn_f32_avgpool_inclpad_backward(&one, j->pad_bottom, j->pad_right, dy, dx);
        else cnn_f32_avgpool_backward(&one, dy, dx);
    }
}

/* One task per sample, all on this thread when the whole input is small (waking workers costs more). */
static int tasks_for(const cnn_pool_geom* g) {
    return (int64_t)g->n * g->h * g->w * g->c * 4 >= cnn_threaded_min_work ? g->n : 1;
}

static void pool_all_task(void* ctx, int task, int thread) {
    const pool_job* j = ctx;
    for (int b = 0; b < j->g->n; b++) pool_task(ctx, b, thread);
    (void)task;
}

void cnn_pool2d_forward_threaded(const cnn_pool_geom* g, int kind, int pad_bottom, int pad_right, const float* x,
                                 float* y, int32_t* idx) {
    pool_job j = {g, x, y, idx, kind, 0, pad_bottom, pad_right};
    if (tasks_for(g) > 1) cnn_parallel_for(g->n, pool_task, &j);
    else pool_all_task(&j, 0, 0);
}

void cnn_pool2d_backward_threaded(const cnn_pool_geom* g, int kind, int pad_bottom, int pad_right, const float* dy,
                                  const int32_t* idx, float* dx) {
    pool_job j = {g, dy, dx, (int32_t*)idx, kind, 1, pad_bottom, pad_right};
    if (tasks_for(g) > 1) cnn_parallel_for(g->n, pool_task, &j);
    else pool_all_task(&j, 0, 0);
}

/* Max-unpooling (SegNet), one task per sample: forward zeroes the sample's output and scatters its values through
 * its indices, backward gathers its gradient; the indices of a sample point inside that sample only. */
typedef struct unpool_job {
    int oh, ow, c, h, w; /* pooled (values) size, unpooled size */
    const float* in;     /* forward: values; backward: dy of the unpooled output */
    const int32_t* idx;
    float* out;          /* forward: the unpooled output; backward: the values' gradient */
    int backward;
} unpool_job;

static void unpool_task(void* ctx, int b, int thread) {
    (void)thread;
    const unpool_job* j = ctx;
    const size_t small = (size_t)j->oh * j->ow * j->c, large = (size_t)j->h * j->w * j->c;
    const int32_t* idx = j->idx + (size_t)b * small;
    if (!j->backward) {
        float* y = j->out + (size_t)b * large;
        memset(y, 0, large * sizeof(float));
        cnn_f32_maxpool_backward(1, j->oh, j->ow, j->c, j->in + (size_t)b * small, idx, j->h, j->w, y);
    } else {
        cnn_f32_maxunpool_backward(1, j->oh, j->ow, j->c, j->in + (size_t)b * large, idx, j->h, j->w,
                                   j->out + (size_t)b * small);
    }
}

void cnn_max_unpool_threaded(int n, int oh, int ow, int c, int h, int w, int backward, const float* in,
                             const int32_t* idx, float* out) {
    unpool_job j = {oh, ow, c, h, w, in, idx, out, backward};
    if ((int64_t)n * h * w * c * 2 >= cnn_threaded_min_work && n > 1) {
        cnn_parallel_for(n, unpool_task, &j);
    } else {
        for (int b = 0; b < n; b++) unpool_task(&j, b, 0);
    }
}
