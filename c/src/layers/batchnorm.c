/* Batch normalization over the channel axis (every axis but the last is reduced), with tfjs/Keras semantics:
 *   training:  y = γ·(x − μ_B)/√(σ²_B + ε) + β with the batch's mean and (biased) variance, and
 *              moving = moving·momentum + batch·(1 − momentum)
 *   inference: the same with the moving statistics.
 * A frozen layer (trainable = 0) runs in inference mode even during fit, and leaves its statistics alone (Keras 2).
 * Parameters, in tfjs order: gamma (if scale), beta (if center), movingMean, movingVariance. */
#include <math.h>
#include <string.h>

#include "../internal.h"

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

/* saved: per channel mean and 1/√(var + ε) of the last forward, as used by backward. */
static cnn_layer_needs bn_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    (void)m;
    (void)capacity;
    cnn_layer_needs needs = {0, 2 * (uint64_t)node->c, 0};
    return needs;
}

static void bn_forward(cnn_model* m, cnn_node* node, int n, int training) {
    const int c = node->c;
    const size_t rows = (size_t)n * (size_t)node->h * (size_t)node->w;
    const float* x = m->nodes[node->inputs[0]].out;
    float* y = node->out;
    float* mean = node->saved;
    float* inv_std = node->saved + c;
    const float eps = node->cfg.bn.epsilon;
    bn_params p = params_of(m, node);
    int batch_stats = training && node->trainable;
    if (batch_stats) {
        /* Two passes in double: one-pass E[x²] − E[x]² loses everything to cancellation on large activations. */
        double sums[256];
        for (int j0 = 0; j0 < c; j0 += 256) {
            int cols = c - j0 < 256 ? c - j0 : 256;
            for (int j = 0; j < cols; j++) sums[j] = 0.0;
            for (size_t r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) sums[j] += x[r * (size_t)c + (size_t)(j0 + j)];
            for (int j = 0; j < cols; j++) mean[j0 + j] = (float)(sums[j] / (double)rows);
            for (int j = 0; j < cols; j++) sums[j] = 0.0;
            for (size_t r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) {
                    double d = (double)x[r * (size_t)c + (size_t)(j0 + j)] - mean[j0 + j];
                    sums[j] += d * d;
                }
            const float momentum = node->cfg.bn.momentum;
            for (int j = 0; j < cols; j++) {
                float var = (float)(sums[j] / (double)rows);
                inv_std[j0 + j] = 1.0f / sqrtf(var + eps);
                if (!m->updating) continue; /* computeGradients must not move the statistics */
                p.moving_mean[j0 + j] = p.moving_mean[j0 + j] * momentum + mean[j0 + j] * (1.0f - momentum);
                p.moving_var[j0 + j] = p.moving_var[j0 + j] * momentum + var * (1.0f - momentum);
            }
        }
    } else {
        for (int j = 0; j < c; j++) {
            mean[j] = p.moving_mean[j];
            inv_std[j] = 1.0f / sqrtf(p.moving_var[j] + eps);
        }
    }
    for (size_t r = 0; r < rows; r++) {
        const float* xr = x + r * (size_t)c;
        float* yr = y + r * (size_t)c;
        for (int j = 0; j < c; j++) {
            float v = (xr[j] - mean[j]) * inv_std[j];
            if (p.gamma) v *= p.gamma[j];
            if (p.beta) v += p.beta[j];
            yr[j] = v;
        }
    }
}

static void bn_backward(cnn_model* m, cnn_node* node, int n) {
    const int c = node->c;
    const size_t rows = (size_t)n * (size_t)node->h * (size_t)node->w;
    const float* x = m->nodes[node->inputs[0]].out;
    const float* dy = node->grad;
    const float* mean = node->saved;
    const float* inv_std = node->saved + c;
    bn_params p = params_of(m, node);
    int want_dx = cnn_wants_grad(m, node->inputs[0]);
    float* dx = m->nodes[node->inputs[0]].grad;
    double sum_dy[256], sum_dy_xhat[256];
    for (int j0 = 0; j0 < c; j0 += 256) {
        int cols = c - j0 < 256 ? c - j0 : 256;
        for (int j = 0; j < cols; j++) sum_dy[j] = sum_dy_xhat[j] = 0.0;
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) {
                size_t i = r * (size_t)c + (size_t)(j0 + j);
                float xhat = (x[i] - mean[j0 + j]) * inv_std[j0 + j];
                sum_dy[j] += dy[i];
                sum_dy_xhat[j] += (double)dy[i] * xhat;
            }
        if (node->trainable) {
            for (int j = 0; j < cols; j++) {
                if (p.dgamma) p.dgamma[j0 + j] += (float)sum_dy_xhat[j];
                if (p.dbeta) p.dbeta[j0 + j] += (float)sum_dy[j];
            }
        }
        if (!want_dx) continue;
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) {
                int ch = j0 + j;
                size_t i = r * (size_t)c + (size_t)ch;
                float scale = (p.gamma ? p.gamma[ch] : 1.0f) * inv_std[ch];
                if (!node->trainable) { /* statistics are constants in inference mode */
                    dx[i] += dy[i] * scale;
                    continue;
                }
                float xhat = (x[i] - mean[ch]) * inv_std[ch];
                dx[i] += scale * (float)(dy[i] - sum_dy[j] / (double)rows - xhat * sum_dy_xhat[j] / (double)rows);
            }
    }
}

const cnn_layer_ops cnn_batchnorm_ops = {"batchNormalization", bn_needs, bn_forward, bn_backward};

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
