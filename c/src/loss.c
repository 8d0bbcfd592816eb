/* Losses over rows of the output: one row per sample, or per output pixel for [n, h, w, classes] outputs (per-pixel
 * segmentation losses, averaged over all pixels as tfjs/Keras do).
 * Cross-entropy is fused with a softmax output: the loss is computed from the logits (log-sum-exp, stable) and the
 * gradient of the logits is simply p − t. Without a softmax output, tfjs's formula on probabilities is used
 * (normalise by the row sum, clip to [1e-7, 1 − 1e-7]). Class weights and the ignore label follow PyTorch's
 * CrossEntropyLoss: a weighted mean over the rows that are not ignored. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "parallel.h"

#define CE_EPSILON 1e-7f

static int argmax(const float* v, int c) {
    int best = 0;
    for (int j = 1; j < c; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

static double clip_probability(double u) {
    return u < CE_EPSILON ? CE_EPSILON : (u > 1.0 - CE_EPSILON ? 1.0 - CE_EPSILON : u);
}

/* d loss / d u_j for loss = −Σ t log(clip(u)): zero where the clip is active. */
static double ce_du(double u, float t) {
    return (u < CE_EPSILON || u > 1.0 - CE_EPSILON || t == 0.0f) ? 0.0 : -t / u;
}

/* −Σ t log(clip(p / Σp)) for one row (tfjs's categoricalCrossentropy on probabilities); writes scale × its gradient
 * with respect to p into dp (when not NULL). Since d u_i / d p_j = (δ_ij − u_i) / Σp, dp_j = (g_j − Σ g_i u_i) / Σp. */
static double probability_ce_row(const float* p, const float* t, int c, float scale, float* dp) {
    double sum = 0.0;
    for (int j = 0; j < c; j++) sum += p[j];
    if (!(sum > 0.0)) sum = CE_EPSILON;
    double loss = 0.0, dot = 0.0;
    for (int j = 0; j < c; j++) {
        double u = p[j] / sum;
        loss -= t[j] * log(clip_probability(u));
        dot += ce_du(u, t[j]) * u;
    }
    if (dp)
        for (int j = 0; j < c; j++) dp[j] = (float)((ce_du(p[j] / sum, t[j]) - dot) / sum * scale);
    return loss;
}

/* The cross-entropy rows run in a fixed partition (at most LOSS_PARTS parts of at least LOSS_MIN_PART_ROWS rows,
 * parallel.h), in two passes: the first checks the labels and sums the row weights, the second sums the losses and
 * writes the gradients; per part in double, the parts added in part order, so any thread count gives the serial
 * bits. The second pass also counts (correct rows, class counts): whole numbers, exact in double in any order, so
 * each thread counts into its own slice of m->class_counts (cnn_class_count_stride apart, after the result's). */
enum { LOSS_PARTS = 64, LOSS_MIN_PART_ROWS = 256 };

typedef struct ce_job {
    const cnn_model* m;
    int c, fused, sparse;
    const float *y, *logits, *targets;
    const int32_t* labels;
    float* dstart;
    double inv;
    size_t rows, part_rows;
    double part_loss[LOSS_PARTS], part_weight[LOSS_PARTS], part_correct[LOSS_PARTS], part_counted[LOSS_PARTS];
    size_t part_bad_row[LOSS_PARTS]; /* first row with a label out of range, or rows */
} ce_job;

/* One row's weighted loss (before the 1 / Σweights), writing its scaled gradient into dr when not NULL (zeros for an
 * ignored row): the loss is the first and only writer of that gradient (graph.c's walk starts there). */
static double ce_row(const ce_job* j, size_t r) {
    const cnn_model* m = j->m;
    const int c = j->c;
    const float* yr = j->y + r * (size_t)c;
    float* dr = j->dstart ? j->dstart + r * (size_t)c : NULL;
    int target_class = 0; /* sparse labels only: the categorical paths read the target row itself */
    float weight = 1.0f;
    if (j->sparse) {
        target_class = j->labels[r];
        if (m->has_ignore_label && target_class == m->ignore_label) {
            if (dr) memset(dr, 0, (size_t)c * sizeof(float));
            return 0.0;
        }
        if (m->class_weights) weight = m->class_weights[target_class];
    }
    const float scale = (float)(weight * j->inv);
    if (j->fused) {
        const float* z = j->logits + r * (size_t)c;
        float zmax = z[0];
        for (int k = 1; k < c; k++) zmax = z[k] > zmax ? z[k] : zmax;
        double sum = 0.0;
        for (int k = 0; k < c; k++) sum += exp((double)z[k] - zmax);
        const double lse = zmax + log(sum);
        if (j->sparse) {
            if (dr) {
                for (int k = 0; k < c; k++) dr[k] = yr[k] * scale;
                dr[target_class] -= scale;
            }
            return weight * (lse - z[target_class]);
        }
        const float* t = j->targets + r * (size_t)c;
        double loss = 0.0, tsum = 0.0;
        for (int k = 0; k < c; k++) {
            loss += t[k] * (lse - z[k]);
            tsum += t[k];
        }
        if (dr)
            for (int k = 0; k < c; k++) dr[k] = (float)((yr[k] * tsum - t[k]) * scale);
        return loss;
    }
    if (j->sparse) {
        /* The one-hot case of probability_ce_row, without materialising the one-hot row. */
        double sum = 0.0;
        for (int k = 0; k < c; k++) sum += yr[k];
        if (!(sum > 0.0)) sum = CE_EPSILON;
        const double u = yr[target_class] / sum;
        const double g = ce_du(u, 1.0f);
        if (dr)
            for (int k = 0; k < c; k++) dr[k] = g != 0.0 ? (float)(g * ((k == target_class) - u) / sum * scale) : 0.0f;
        return weight * -log(clip_probability(u));
    }
    return probability_ce_row(yr, j->targets + r * (size_t)c, c, scale, dr);
}

static int row_is_ignored(const cnn_model* m, int32_t label) { return m->has_ignore_label && label == m->ignore_label; }

/* First pass: labels in range (sparse), and the weight of every counted row, so the gradients can be scaled by the
 * weighted mean's denominator. */
static void ce_weight_task(void* ctx, int part, int thread) {
    (void)thread;
    ce_job* j = ctx;
    const cnn_model* m = j->m;
    const size_t r0 = (size_t)part * j->part_rows, r1 = j->rows - r0 < j->part_rows ? j->rows : r0 + j->part_rows;
    double weight = 0.0;
    j->part_bad_row[part] = j->rows;
    if (!j->sparse) {
        weight = (double)(r1 - r0);
    } else {
        for (size_t r = r0; r < r1; r++) {
            const int32_t label = j->labels[r];
            if (row_is_ignored(m, label)) continue;
            if (label < 0 || label >= j->c) {
                j->part_bad_row[part] = r;
                break;
            }
            weight += m->class_weights ? m->class_weights[label] : 1.0f;
        }
    }
    j->part_weight[part] = weight;
}

/* Second pass: losses, gradients, and the counts (into this thread's slice of m->class_counts). */
static void ce_part_task(void* ctx, int part, int thread) {
    ce_job* j = ctx;
    const cnn_model* m = j->m;
    const int c = j->c;
    const size_t r0 = (size_t)part * j->part_rows, r1 = j->rows - r0 < j->part_rows ? j->rows : r0 + j->part_rows;
    double* counts = m->class_counts + cnn_class_count_stride(c) * (size_t)(1 + thread);
    double loss = 0.0, correct = 0.0, counted = 0.0;
    for (size_t r = r0; r < r1; r++) {
        loss += ce_row(j, r);
        const int target_class = j->sparse ? j->labels[r] : argmax(j->targets + r * (size_t)c, c);
        if (j->sparse && row_is_ignored(m, target_class)) continue;
        const int predicted = argmax(j->y + r * (size_t)c, c);
        correct += predicted == target_class;
        counted += 1.0;
        counts[target_class] += predicted == target_class;
        counts[c + predicted] += 1.0;
        counts[2 * c + target_class] += 1.0;
    }
    j->part_loss[part] = loss;
    j->part_correct[part] = correct;
    j->part_counted[part] = counted;
}

/* Mean squared error in a fixed partition of rows too (at least MSE_MIN_PART_FLOATS values a part): each part's
 * squared errors summed in double over 4 independent sums, its gradients 2·(y − t)/count, and its rows' correct
 * predictions; the parts' sums add in part order. It was one serial loop with a double division per value and a
 * single add chain: 1.8 ms for 784 × 256 outputs. */
enum { MSE_MIN_PART_FLOATS = 16384 };

typedef struct mse_job {
    const float *y, *targets;
    float* dstart;
    int c;
    double scale; /* 2 / count */
    size_t rows, part_rows;
    double part_loss[LOSS_PARTS];
    double part_correct[LOSS_PARTS];
} mse_job;

static void mse_part_task(void* ctx, int part, int thread) {
    (void)thread;
    mse_job* j = ctx;
    const size_t c = (size_t)j->c;
    const size_t r0 = (size_t)part * j->part_rows, r1 = j->rows - r0 < j->part_rows ? j->rows : r0 + j->part_rows;
    const float *y = j->y, *t = j->targets;
    float* dy = j->dstart;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = r0 * c;
    const size_t end = r1 * c;
    for (; i + 4 <= end; i += 4) {
        const double d0 = (double)y[i] - t[i], d1 = (double)y[i + 1] - t[i + 1];
        const double d2 = (double)y[i + 2] - t[i + 2], d3 = (double)y[i + 3] - t[i + 3];
        s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
        if (dy) {
            dy[i] = (float)(d0 * j->scale), dy[i + 1] = (float)(d1 * j->scale);
            dy[i + 2] = (float)(d2 * j->scale), dy[i + 3] = (float)(d3 * j->scale);
        }
    }
    for (; i < end; i++) {
        const double d = (double)y[i] - t[i];
        s0 += d * d;
        if (dy) dy[i] = (float)(d * j->scale);
    }
    double correct = 0.0;
    for (size_t r = r0; r < r1; r++) {
        const float *yr = y + r * c, *tr = t + r * c;
        correct += c == 1 ? ((yr[0] > 0.5f) == (tr[0] > 0.5f)) : (argmax(yr, (int)c) == argmax(tr, (int)c));
    }
    j->part_loss[part] = (s0 + s1) + (s2 + s3);
    j->part_correct[part] = correct;
}

/* Cross-entropy on a softmax output is fused: its gradient goes into the softmax's input (the logits). */
static int loss_is_fused(const cnn_model* m) {
    const cnn_node* out = &m->nodes[m->output_node];
    return (m->loss == CNN_LOSS_SPARSE_CE || m->loss == CNN_LOSS_CATEGORICAL_CE) && out->ops == &cnn_activation_ops &&
           out->cfg.act.kind == CNN_ACT_SOFTMAX;
}

static int loss_start_node(const cnn_model* m) {
    return loss_is_fused(m) ? m->nodes[m->output_node].inputs[0] : m->output_node;
}

int cnn_loss_compute(cnn_model* m, int n, int grads, float* stats) {
    assert(m->capacity > 0 && m->labels && m->class_counts && n <= m->capacity);
    cnn_node* out = &m->nodes[m->output_node];
    const int c = out->c;
    const size_t rows = (size_t)n * (size_t)out->h * (size_t)out->w;
    const float* y = out->out;
    const int fused = loss_is_fused(m);
    cnn_node* start = &m->nodes[loss_start_node(m)];
    const float* logits = start->out;
    float* dstart = grads ? start->grad : NULL;
    const int32_t* labels = (const int32_t*)m->labels;
    const float* targets = (const float*)m->labels;

    /* The output may have changed since the weights were set (layers added after them). */
    if (m->loss == CNN_LOSS_SPARSE_CE && m->class_weights && m->n_class_weights != c)
        return -cnn_fail(CNN_STATUS_INVALID_STATE, "loss: %d class weights were set, the output has %d classes",
                         m->n_class_weights, c);

    double loss = 0.0, correct = 0.0, counted = 0.0;
    /* Class counts are of this call only (the stats vector reports them per batch); the threads' slices follow. */
    const int threads = cnn_model_threaded(m) ? cnn_thread_count() : 1;
    memset(m->class_counts, 0, cnn_class_count_stride(c) * (size_t)(1 + threads) * sizeof(double));
    if (m->loss == CNN_LOSS_MSE) {
        const size_t count = rows * (size_t)c;
        mse_job j = {y, targets, dstart, c, 2.0 / (double)count, rows, 0, {0}, {0}};
        const size_t min_rows = MSE_MIN_PART_FLOATS / (size_t)c > 0 ? MSE_MIN_PART_FLOATS / (size_t)c : 1;
        const int parts = cnn_reduce_parts(rows, min_rows, LOSS_PARTS, &j.part_rows);
        cnn_parallel_tasks(m, (int64_t)count * 4, parts, mse_part_task, &j);
        for (int p = 0; p < parts; p++) loss += j.part_loss[p], correct += j.part_correct[p];
        loss /= (double)count;
        counted = (double)rows;
    } else {
        ce_job j = {m, c, fused, m->loss == CNN_LOSS_SPARSE_CE, y, logits, targets, labels, dstart, 0.0, rows, 0,
                    {0}, {0}, {0}, {0}, {0}};
        const int parts = cnn_reduce_parts(rows, LOSS_MIN_PART_ROWS, LOSS_PARTS, &j.part_rows);
        cnn_parallel_tasks(m, (int64_t)rows, parts, ce_weight_task, &j);
        double weight_sum = 0.0;
        for (int p = 0; p < parts; p++) {
            if (j.part_bad_row[p] < rows) {
                const size_t r = j.part_bad_row[p];
                return -cnn_fail(CNN_STATUS_INVALID_ARG,
                                 "loss: label %d of sample %zu is out of range: expected 0 to %d", (int)labels[r],
                                 r / ((size_t)out->h * (size_t)out->w), c - 1);
            }
            weight_sum += j.part_weight[p];
        }
        j.inv = weight_sum > 0.0 ? 1.0 / weight_sum : 0.0;
        cnn_parallel_tasks(m, (int64_t)rows * c * 16, parts, ce_part_task, &j); /* exp and log per class: ~16 */
        for (int p = 0; p < parts; p++) loss += j.part_loss[p], correct += j.part_correct[p], counted += j.part_counted[p];
        const size_t stride = cnn_class_count_stride(c);
        for (int t = 1; t <= threads; t++)
            for (size_t i = 0; i < 3 * (size_t)c; i++) m->class_counts[i] += m->class_counts[stride * (size_t)t + i];
        loss *= j.inv;
    }
    stats[CNN_STATS_LOSS] = (float)loss;
    stats[CNN_STATS_CORRECT] = (float)correct;
    stats[CNN_STATS_COUNTED] = (float)counted;
    return (int)(start - m->nodes);
}

cnn_status cnn_model_set_class_weights(cnn_model* m, const float* weights, int count) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "classWeights: model is NULL");
    if (count == 0 || !weights) {
        free(m->class_weights);
        m->class_weights = NULL;
        m->n_class_weights = 0;
        return CNN_STATUS_OK;
    }
    if (m->output_node < 0 || count != m->nodes[m->output_node].c)
        return cnn_fail(CNN_STATUS_INVALID_SHAPE, "classWeights: %d weights given, the output has %d classes", count,
                        m->output_node < 0 ? 0 : m->nodes[m->output_node].c);
    for (int i = 0; i < count; i++)
        if (!(weights[i] >= 0.0f) || !isfinite(weights[i]))
            return cnn_fail(CNN_STATUS_INVALID_ARG, "classWeights: weight %d is %g, expected a finite value >= 0", i,
                            (double)weights[i]);
    float* copy = malloc((size_t)count * sizeof(float));
    if (!copy) return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "classWeights: out of memory");
    memcpy(copy, weights, (size_t)count * sizeof(float));
    free(m->class_weights);
    m->class_weights = copy;
    m->n_class_weights = count;
    return CNN_STATUS_OK;
}

cnn_status cnn_model_set_ignore_label(cnn_model* m, int enabled, int label) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "ignoreLabel: model is NULL");
    m->has_ignore_label = enabled != 0;
    m->ignore_label = label;
    return CNN_STATUS_OK;
}
