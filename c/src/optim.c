/* Optimizers. Order within a step (PyTorch's): clip the global gradient norm, add weight decay (L2, coupled, on
 * kernels only), then the update rule. Update rules follow tfjs so that training matches it step for step:
 *   sgd:      w −= lr·g
 *   momentum: a = μ·a + g;  w −= lr·a   (Nesterov: w −= lr·(g + μ·a))
 *   adam:     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lr·m̂ / (√v̂ + ε),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
 * Frozen layers (trainable = 0) get no update at all. */
#include <math.h>

#include "internal.h"
#include "parallel.h"

static int param_is_trainable(const cnn_model* m, const cnn_param* p) {
    return m->nodes[p->node].trainable && !p->is_state;
}

/* Threads: the parameters are walked end to end as one array of trainable values. The gradient norm is a sum cut
 * into a fixed partition (at most NORM_PARTS parts of at least NORM_MIN_PART values, by the trainable count alone),
 * parts added in order; the update is elementwise, split into any ranges (parallel.h). */
enum { NORM_PARTS = 256, NORM_MIN_PART = 4096 };

typedef struct opt_job {
    cnn_model* m;
    size_t part;                 /* values per norm part */
    double* part_sums;
    double* acc;                 /* norm_piece's running sum */
    float clip, step_size, inv_sqrt_bias2;
} opt_job;

typedef void (*piece_fn)(const opt_job* j, cnn_param* p, size_t lo, size_t hi);

/* Calls fn for every trainable parameter p with the part [lo, hi) of its values inside [begin, end) of the
 * end-to-end order. */
static void for_trainable(const opt_job* j, size_t begin, size_t end, piece_fn fn) {
    size_t at = 0;
    for (int i = 0; i < j->m->n_params && at < end; i++) {
        cnn_param* p = &j->m->params[i];
        if (!param_is_trainable(j->m, p)) continue;
        const size_t len = (size_t)p->size;
        const size_t lo = begin > at ? begin - at : 0, hi = end - at < len ? end - at : len;
        if (lo < hi) fn(j, p, lo, hi);
        at += len;
    }
}

static void norm_piece(const opt_job* j, cnn_param* p, size_t lo, size_t hi) {
    double sq = 0.0;
    for (size_t k = lo; k < hi; k++) sq += (double)p->grad[k] * p->grad[k];
    *j->acc += sq;
}

static void norm_part_task(void* ctx, int part, int thread) {
    (void)thread;
    const opt_job* j = ctx;
    const size_t begin = (size_t)part * j->part;
    double sq = 0.0;
    opt_job local = *j;
    local.acc = &sq;
    for_trainable(&local, begin, begin + j->part, norm_piece);
    j->part_sums[part] = sq;
}

static void update_piece(const opt_job* j, cnn_param* p, size_t lo, size_t hi) {
    const cnn_optimizer_config* opt = &j->m->opt;
    const float clip = j->clip, lr = opt->learning_rate;
    const float decay = p->decays ? opt->weight_decay : 0.0f;
    float* w = p->data;
    const float* grad = p->grad;
    switch (opt->kind) {
    case CNN_OPT_SGD:
        for (size_t k = lo; k < hi; k++) w[k] -= lr * (grad[k] * clip + decay * w[k]);
        break;
    case CNN_OPT_MOMENTUM:
        for (size_t k = lo; k < hi; k++) {
            float g = grad[k] * clip + decay * w[k];
            p->m1[k] = opt->momentum * p->m1[k] + g;
            w[k] -= lr * (opt->nesterov ? g + opt->momentum * p->m1[k] : p->m1[k]);
        }
        break;
    default: {
        const float b1 = opt->beta1, b2 = opt->beta2;
        for (size_t k = lo; k < hi; k++) {
            float g = grad[k] * clip + decay * w[k];
            p->m1[k] = b1 * p->m1[k] + (1.0f - b1) * g;
            p->m2[k] = b2 * p->m2[k] + (1.0f - b2) * g * g;
            w[k] -= j->step_size * p->m1[k] / (sqrtf(p->m2[k]) * j->inv_sqrt_bias2 + opt->epsilon);
        }
        break;
    }
    }
}

static void update_range(void* ctx, size_t begin, size_t end) { for_trainable(ctx, begin, end, update_piece); }

float cnn_optimizer_step(cnn_model* m) {
    const cnn_optimizer_config* opt = &m->opt;
    size_t total = 0;
    for (int i = 0; i < m->n_params; i++)
        if (param_is_trainable(m, &m->params[i])) total += (size_t)m->params[i].size;
    double part_sums[NORM_PARTS];
    opt_job j = {m, 0, part_sums, NULL, 1.0f, 0.0f, 0.0f};
    const int parts = cnn_reduce_parts(total, NORM_MIN_PART, NORM_PARTS, &j.part);
    cnn_parallel_tasks(m, (int64_t)total * CNN_ELEMENTWISE_COST, parts, norm_part_task, &j);
    double sq = 0.0;
    for (int k = 0; k < parts; k++) sq += part_sums[k];
    double norm = sqrt(sq);
    if (!isfinite(norm)) return (float)norm; /* the caller reports it; no weight is touched */
    if (opt->clip_norm > 0.0f && norm > opt->clip_norm) j.clip = (float)(opt->clip_norm / (norm + 1e-6));

    m->step++;
    cnn_weights_changed(m);
    if (opt->kind == CNN_OPT_ADAM) {
        const double bias1 = 1.0 - pow(opt->beta1, (double)m->step);
        const double bias2 = 1.0 - pow(opt->beta2, (double)m->step);
        j.step_size = (float)(opt->learning_rate / bias1);
        j.inv_sqrt_bias2 = (float)(1.0 / sqrt(bias2));
    }
    cnn_parallel_ranges(m, total, 64, opt->kind == CNN_OPT_ADAM ? 4 * CNN_ELEMENTWISE_COST : CNN_ELEMENTWISE_COST,
                        update_range, &j);
    return (float)norm;
}
