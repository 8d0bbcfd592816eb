/* Batch normalization over the channel axis (every axis but the last is reduced), with tfjs/Keras semantics:
 *   training:  y = γ·(x − μ_B)/√(σ²_B + ε) + β with the batch's mean and (biased) variance, and
 *              moving = moving·momentum + batch·(1 − momentum)
 *   inference: the same with the moving statistics.
 * A frozen layer (trainable = 0) runs in inference mode even during fit, and leaves its statistics alone (Keras 2).
 * Parameters, in tfjs order: gamma (if scale), beta (if center), movingMean, movingVariance. */
#include <math.h>
#include <string.h>

#include "../internal.h"
#include "../parallel.h"

typedef struct { float* gamma; float* beta; float* moving_mean; float* moving_var; float* dgamma; float* dbeta; } bn_params;

static bn_params params_of(cnn_model* m, const cnn_node* node) {
    bn_params p = {0};
    int i = node->first_param;
    if (node->cfg.bn.scale) { p.gamma = m->params[i].data; p.dgamma = m->params[i].grad; i++; }
    if (node->cfg.bn.center) { p.beta = m->params[i].data; p.dbeta = m->params[i].grad; i++; }
    p.moving_mean = m->params[i].data;
    p.moving_var = m->params[i + 1].data;
    return p;
}

/* Statistics are sums over rows (every pixel of every sample), cut into a fixed partition of at most BN_PARTS parts
 * of at least BN_MIN_PART_ROWS rows (it depends on the row count alone, parallel.h): each part's sums in double, then
 * the parts added in order. Threads take parts; the single-threaded build runs the same parts in order. */
enum { BN_PARTS = 64, BN_MIN_PART_ROWS = 32, BN_CHANNEL_BLOCK = 256, BN_ROW_GROUP = 8 };

/* saved: per channel mean and 1/√(var + ε) of the last forward, as used by backward. scratch: per channel, two
 * double sums and a centre for every part, and two reduced values. */
static cnn_layer_needs bn_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    (void)m;
    (void)capacity;
    const uint64_t doubles = (uint64_t)node->c * (3 * BN_PARTS + 2);
    cnn_layer_needs needs = {2 * doubles + CNN_SCRATCH_SLACK_FLOATS, 2 * (uint64_t)node->c, 0};
    return needs;
}

typedef struct bn_job {
    const float* x;
    const float* dy;
    float* y;
    float* dx;
    const float* mean;
    const float* inv_std;
    const float* gamma;
    const float* beta;
    double* part_a; /* [part][c] */
    double* part_b;
    double* part_c; /* statistics: each part's centre */
    const double* sum_dy;      /* backward: reduced sums */
    const double* sum_dy_xhat;
    size_t rows, part_rows;
    int c, pass, trainable;
    int accumulate; /* backward: add into dx, else overwrite it (cnn_grad_claim) */
} bn_job;

enum { BN_PASS_STATS, BN_PASS_GRAD };

/* One part's sums: BN_PASS_STATS: its mean c (rounded to float) from a first sweep, then Σ(x − c) (a) and
 * Σ(x − c)² (b) in a second sweep over the part while it is still in cache (small deviations: a float group sum of
 * activations near 3e4 is off by 1e-2, which a centre tolerates and a sum of deviations would not);
 * BN_PASS_GRAD: Σdy (a) and Σdy·x̂ (b). Rows add in float
 * over groups of BN_ROW_GROUP rows (counted from the part's start), and the groups in double: the float loops over
 * the channels vectorize, and a group's float sum of 8 terms loses nothing that matters against the double total. */
/* Rows in part p (the last part may be short). */
static size_t part_size(const bn_job* j, int p) {
    const size_t r0 = (size_t)p * j->part_rows;
    return j->rows - r0 < j->part_rows ? j->rows - r0 : j->part_rows;
}

static void bn_part_task(void* ctx, int part, int thread) {
    (void)thread;
    const bn_job* j = ctx;
    const size_t c = (size_t)j->c, r0 = (size_t)part * j->part_rows, r1 = r0 + part_size(j, part);
    double* a = j->part_a + (size_t)part * c;
    double* b = j->part_b + (size_t)part * c;
    for (size_t j0 = 0; j0 < c; j0 += BN_CHANNEL_BLOCK) {
        const size_t cols = c - j0 < BN_CHANNEL_BLOCK ? c - j0 : BN_CHANNEL_BLOCK;
        double sa[BN_CHANNEL_BLOCK], sb[BN_CHANNEL_BLOCK];
        float fa[BN_CHANNEL_BLOCK], fb[BN_CHANNEL_BLOCK], center[BN_CHANNEL_BLOCK];
        for (size_t k = 0; k < cols; k++) sa[k] = sb[k] = 0.0;
        const float* mean = j->mean + j0;
        const float* inv_std = j->inv_std + j0;
        if (j->pass == BN_PASS_STATS) {
            for (size_t g0 = r0; g0 < r1; g0 += BN_ROW_GROUP) {
                const size_t g1 = r1 - g0 < BN_ROW_GROUP ? r1 : g0 + BN_ROW_GROUP;
                for (size_t k = 0; k < cols; k++) fa[k] = 0.0f;
                for (size_t r = g0; r < g1; r++) {
                    const float* xr = j->x + r * c + j0;
                    for (size_t k = 0; k < cols; k++) fa[k] += xr[k];
                }
                for (size_t k = 0; k < cols; k++) sa[k] += fa[k];
            }
            for (size_t k = 0; k < cols; k++) center[k] = (float)(sa[k] / (double)(r1 - r0)), sa[k] = 0.0;
            for (size_t g0 = r0; g0 < r1; g0 += BN_ROW_GROUP) {
                const size_t g1 = r1 - g0 < BN_ROW_GROUP ? r1 : g0 + BN_ROW_GROUP;
                for (size_t k = 0; k < cols; k++) fa[k] = fb[k] = 0.0f;
                for (size_t r = g0; r < g1; r++) {
                    const float* xr = j->x + r * c + j0;
                    for (size_t k = 0; k < cols; k++) {
                        const float d = xr[k] - center[k];
                        fa[k] += d;
                        fb[k] += d * d;
                    }
                }
                for (size_t k = 0; k < cols; k++) sa[k] += fa[k], sb[k] += fb[k];
            }
            double* centers = j->part_c + (size_t)part * c;
            for (size_t k = 0; k < cols; k++) a[j0 + k] = sa[k], b[j0 + k] = sb[k], centers[j0 + k] = center[k];
            continue;
        }
        for (size_t g0 = r0; g0 < r1; g0 += BN_ROW_GROUP) {
            const size_t g1 = r1 - g0 < BN_ROW_GROUP ? r1 : g0 + BN_ROW_GROUP;
            for (size_t k = 0; k < cols; k++) fa[k] = fb[k] = 0.0f;
            for (size_t r = g0; r < g1; r++) {
                const float* xr = j->x + r * c + j0;
                const float* dyr = j->dy + r * c + j0;
                for (size_t k = 0; k < cols; k++) {
                    fa[k] += dyr[k];
                    fb[k] += dyr[k] * ((xr[k] - mean[k]) * inv_std[k]);
                }
            }
            for (size_t k = 0; k < cols; k++) sa[k] += fa[k], sb[k] += fb[k];
        }
        for (size_t k = 0; k < cols; k++) a[j0 + k] = sa[k], b[j0 + k] = sb[k];
    }
}

/* Runs one pass over the fixed parts, then combines the parts in order: BN_PASS_STATS: the mean (out_a) and the sum
 * of squared deviations from it (out_b), from each part's centre c and its sums of x − c and (x − c)² (exact in any
 * centre: μ = Σ_p (n_p·c + Σ(x − c)) / N, Σ(x − μ)² = Σ_p [Σ(x − c)² + 2(c − μ)·Σ(x − c) + n_p(c − μ)²], the
 * pairwise update of Chan et al.); BN_PASS_GRAD: the two sums. */
static void bn_reduce(const cnn_model* m, bn_job* j, int parts, int pass, double* out_a, double* out_b) {
    j->pass = pass;
    cnn_parallel_tasks(m, (int64_t)j->rows * j->c * CNN_ELEMENTWISE_COST, parts, bn_part_task, j);
    if (pass == BN_PASS_STATS) {
        for (int k = 0; k < j->c; k++) {
            double sum = 0.0, m2 = 0.0;
            for (int p = 0; p < parts; p++) {
                const size_t i = (size_t)p * j->c + k;
                sum += (double)part_size(j, p) * j->part_c[i] + j->part_a[i];
            }
            const double mean = sum / (double)j->rows;
            for (int p = 0; p < parts; p++) {
                const size_t i = (size_t)p * j->c + k;
                const double off = j->part_c[i] - mean;
                m2 += j->part_b[i] + 2.0 * off * j->part_a[i] + (double)part_size(j, p) * off * off;
            }
            out_a[k] = mean;
            out_b[k] = m2;
        }
        return;
    }
    for (int k = 0; k < j->c; k++) {
        double a = 0.0, b = 0.0;
        for (int p = 0; p < parts; p++) a += j->part_a[(size_t)p * j->c + k], b += j->part_b[(size_t)p * j->c + k];
        out_a[k] = a;
        if (out_b) out_b[k] = b;
    }
}

/* y = (x − μ)·(γ/σ) + β, per channel block with the factors gathered first (plain loops over the channels, which
 * vectorize). */
static void bn_normalize_range(void* ctx, size_t begin, size_t end) {
    const bn_job* j = ctx;
    const size_t c = (size_t)j->c;
    for (size_t j0 = 0; j0 < c; j0 += BN_CHANNEL_BLOCK) {
        const size_t cols = c - j0 < BN_CHANNEL_BLOCK ? c - j0 : BN_CHANNEL_BLOCK;
        float scale[BN_CHANNEL_BLOCK], shift[BN_CHANNEL_BLOCK];
        for (size_t k = 0; k < cols; k++) {
            scale[k] = j->gamma ? j->inv_std[j0 + k] * j->gamma[j0 + k] : j->inv_std[j0 + k];
            shift[k] = j->beta ? j->beta[j0 + k] : 0.0f;
        }
        const float* mean = j->mean + j0;
        for (size_t r = begin; r < end; r++) {
            const float* xr = j->x + r * c + j0;
            float* yr = j->y + r * c + j0;
            for (size_t k = 0; k < cols; k++) yr[k] = (xr[k] - mean[k]) * scale[k] + shift[k];
        }
    }
}

static void bn_forward(cnn_model* m, cnn_node* node, int n, int training) {
    const int c = node->c;
    const size_t rows = (size_t)n * (size_t)node->h * (size_t)node->w;
    float* mean = node->saved;
    float* inv_std = node->saved + c;
    const float eps = node->cfg.bn.epsilon;
    bn_params p = params_of(m, node);
    bn_job j = {m->nodes[node->inputs[0]].out, NULL, node->out, NULL, mean, inv_std, p.gamma, p.beta, NULL, NULL,
                NULL, NULL, NULL, rows, 0, c, 0, node->trainable, 0};
    if (training && node->trainable) {
        /* Deviations from a mean, never E[x²] − E[x]² (which loses everything to cancellation on large activations):
         * each part's from its own mean, in a second sweep while the part is in cache, then combined exactly. One
         * pass over x and one job instead of two (a mean pass, then a variance pass about the batch mean). */
        const int parts = cnn_reduce_parts(rows, BN_MIN_PART_ROWS, BN_PARTS, &j.part_rows);
        double* sums = (double*)cnn_scratch(m);
        j.part_a = sums;
        j.part_b = sums + (size_t)BN_PARTS * c;
        j.part_c = sums + (size_t)2 * BN_PARTS * c;
        double* batch_mean = sums + (size_t)3 * BN_PARTS * c;
        double* squares = batch_mean + c;
        bn_reduce(m, &j, parts, BN_PASS_STATS, batch_mean, squares);
        for (int k = 0; k < c; k++) mean[k] = (float)batch_mean[k];
        const float momentum = node->cfg.bn.momentum;
        for (int k = 0; k < c; k++) {
            float var = (float)(squares[k] / (double)rows);
            inv_std[k] = 1.0f / sqrtf(var + eps);
            if (!m->updating) continue; /* computeGradients must not move the statistics */
            p.moving_mean[k] = p.moving_mean[k] * momentum + mean[k] * (1.0f - momentum);
            p.moving_var[k] = p.moving_var[k] * momentum + var * (1.0f - momentum);
        }
    } else {
        for (int k = 0; k < c; k++) {
            mean[k] = p.moving_mean[k];
            inv_std[k] = 1.0f / sqrtf(p.moving_var[k] + eps);
        }
    }
    cnn_parallel_ranges(m, rows, 1, c * CNN_ELEMENTWISE_COST, bn_normalize_range, &j);
}

/* dx (+)= γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)) in training; γ/σ · dy when the statistics are constants (frozen). */
static void bn_input_grad_range(void* ctx, size_t begin, size_t end) {
    const bn_job* j = ctx;
    const size_t c = (size_t)j->c;
    for (size_t j0 = 0; j0 < c; j0 += BN_CHANNEL_BLOCK) {
        const size_t cols = c - j0 < BN_CHANNEL_BLOCK ? c - j0 : BN_CHANNEL_BLOCK;
        float scale[BN_CHANNEL_BLOCK], mean_dy[BN_CHANNEL_BLOCK], mean_dy_xhat[BN_CHANNEL_BLOCK];
        for (size_t k = 0; k < cols; k++) {
            scale[k] = (j->gamma ? j->gamma[j0 + k] : 1.0f) * j->inv_std[j0 + k];
            mean_dy[k] = j->trainable ? (float)(j->sum_dy[j0 + k] / (double)j->rows) : 0.0f;
            mean_dy_xhat[k] = j->trainable ? (float)(j->sum_dy_xhat[j0 + k] / (double)j->rows) : 0.0f;
        }
        const float* mean = j->mean + j0;
        const float* inv_std = j->inv_std + j0;
        for (size_t r = begin; r < end; r++) {
            const float* xr = j->x + r * c + j0;
            const float* dyr = j->dy + r * c + j0;
            float* dxr = j->dx + r * c + j0;
            if (!j->trainable) {
                if (j->accumulate)
                    for (size_t k = 0; k < cols; k++) dxr[k] += dyr[k] * scale[k];
                else
                    for (size_t k = 0; k < cols; k++) dxr[k] = dyr[k] * scale[k];
            } else if (j->accumulate) {
                for (size_t k = 0; k < cols; k++) {
                    const float xhat = (xr[k] - mean[k]) * inv_std[k];
                    dxr[k] += scale[k] * (dyr[k] - mean_dy[k] - xhat * mean_dy_xhat[k]);
                }
            } else {
                for (size_t k = 0; k < cols; k++) {
                    const float xhat = (xr[k] - mean[k]) * inv_std[k];
                    dxr[k] = scale[k] * (dyr[k] - mean_dy[k] - xhat * mean_dy_xhat[k]);
                }
            }
        }
    }
}

static void bn_backward(cnn_model* m, cnn_node* node, int n) {
    const int c = node->c;
    const size_t rows = (size_t)n * (size_t)node->h * (size_t)node->w;
    bn_params p = params_of(m, node);
    const int want_dx = cnn_wants_grad(m, node->inputs[0]);
    bn_job j = {m->nodes[node->inputs[0]].out, node->grad, NULL, m->nodes[node->inputs[0]].grad, node->saved,
                node->saved + c, p.gamma, p.beta, NULL, NULL, NULL, NULL, NULL, rows, 0, c, 0, node->trainable,
                0};
    if (node->trainable) {
        const int parts = cnn_reduce_parts(rows, BN_MIN_PART_ROWS, BN_PARTS, &j.part_rows);
        double* sums = (double*)cnn_scratch(m);
        j.part_a = sums;
        j.part_b = sums + (size_t)BN_PARTS * c;
        double* sum_dy = sums + (size_t)2 * BN_PARTS * c;
        double* sum_dy_xhat = sum_dy + c;
        bn_reduce(m, &j, parts, BN_PASS_GRAD, sum_dy, sum_dy_xhat);
        for (int k = 0; k < c; k++) {
            if (p.dgamma) p.dgamma[k] += (float)sum_dy_xhat[k];
            if (p.dbeta) p.dbeta[k] += (float)sum_dy[k];
        }
        j.sum_dy = sum_dy;
        j.sum_dy_xhat = sum_dy_xhat;
    }
    if (!want_dx) return;
    j.accumulate = !cnn_grad_claim(m, node->inputs[0]);
    cnn_parallel_ranges(m, rows, 1, c * CNN_ELEMENTWISE_COST, bn_input_grad_range, &j);
}

const cnn_layer_ops cnn_batchnorm_ops = {"batchNormalization", bn_needs, bn_forward, bn_backward, 1};

int cnn_model_add_batchnorm(cnn_model* m, int input, float momentum, float epsilon, int center, int scale) {
    cnn_status status = cnn_graph_check_input(m, input, "batchNormalization");
    if (status != CNN_STATUS_OK) return -status;
    if (!(momentum >= 0.0f && momentum <= 1.0f) || !(epsilon > 0.0f) || !isfinite(epsilon))
        return -cnn_fail(CNN_STATUS_INVALID_ARG,
                         "batchNormalization: momentum must be in [0, 1] and epsilon > 0, got %g and %g",
                         (double)momentum, (double)epsilon);
    const cnn_node* in = &m->nodes[input];
    const int c = in->c; /* adding the node may move m->nodes, and `in` with them */
    int id = cnn_graph_add_node(m, &cnn_batchnorm_ops, &input, 1, in->h, in->w, c);
    if (id < 0) return id;
    cnn_bn_cfg cfg = {momentum, epsilon, center != 0, scale != 0};
    m->nodes[id].cfg.bn = cfg;
    int32_t dims[1] = {c};
    int p = 0;
    if (scale) p = cnn_graph_add_param(m, id, 1, dims, c, c, CNN_INIT_ONES, 0);
    if (p >= 0 && center) p = cnn_graph_add_param(m, id, 1, dims, c, c, CNN_INIT_ZEROS, 0);
    if (p >= 0) p = cnn_graph_add_param(m, id, 1, dims, c, c, CNN_INIT_ZEROS, 0);
    if (p >= 0) m->params[p].is_state = 1;
    if (p >= 0) p = cnn_graph_add_param(m, id, 1, dims, c, c, CNN_INIT_ONES, 0);
    if (p >= 0) m->params[p].is_state = 1;
    if (p < 0) return cnn_graph_rollback(m, id, p);
    return id;
}
