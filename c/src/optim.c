/* Optimizers. Order within a step (PyTorch's): clip the global gradient norm, add weight decay (L2, coupled, on
 * kernels only), then the update rule. Update rules follow tfjs so that training matches it step for step:
 *   sgd:      w −= lr·g
 *   momentum: a = μ·a + g;  w −= lr·a   (Nesterov: w −= lr·(g + μ·a))
 *   adam:     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lr·m̂ / (√v̂ + ε),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
 * Frozen layers (trainable = 0) get no update at all. */
#include <math.h>

#include "internal.h"

static int param_is_trainable(const cnn_model* m, const cnn_param* p) {
    return m->nodes[p->node].trainable && !p->is_state;
}

float cnn_optimizer_step(cnn_model* m) {
    const cnn_optimizer_config* opt = &m->opt;
    double sq = 0.0;
    for (int i = 0; i < m->n_params; i++) {
        const cnn_param* p = &m->params[i];
        if (!param_is_trainable(m, p)) continue;
        for (int j = 0; j < p->size; j++) sq += (double)p->grad[j] * p->grad[j];
    }
    double norm = sqrt(sq);
    if (!isfinite(norm)) return (float)norm; /* the caller reports it; no weight is touched */
    float clip = 1.0f;
    if (opt->clip_norm > 0.0f && norm > opt->clip_norm) clip = (float)(opt->clip_norm / (norm + 1e-6));

    m->step++;
    cnn_weights_changed(m);
    const float lr = opt->learning_rate;
    double bias1 = 1.0, bias2 = 1.0;
    if (opt->kind == CNN_OPT_ADAM) {
        bias1 = 1.0 - pow(opt->beta1, (double)m->step);
        bias2 = 1.0 - pow(opt->beta2, (double)m->step);
    }
    for (int i = 0; i < m->n_params; i++) {
        cnn_param* p = &m->params[i];
        if (!param_is_trainable(m, p)) continue;
        float decay = p->decays ? opt->weight_decay : 0.0f;
        float* w = p->data;
        const float* grad = p->grad;
        switch (opt->kind) {
        case CNN_OPT_SGD:
            for (int j = 0; j < p->size; j++) w[j] -= lr * (grad[j] * clip + decay * w[j]);
            break;
        case CNN_OPT_MOMENTUM:
            for (int j = 0; j < p->size; j++) {
                float g = grad[j] * clip + decay * w[j];
                p->m1[j] = opt->momentum * p->m1[j] + g;
                w[j] -= lr * (opt->nesterov ? g + opt->momentum * p->m1[j] : p->m1[j]);
            }
            break;
        default: {
            const float b1 = opt->beta1, b2 = opt->beta2;
            const float step_size = (float)(lr / bias1);
            const float inv_sqrt_bias2 = (float)(1.0 / sqrt(bias2));
            for (int j = 0; j < p->size; j++) {
                float g = grad[j] * clip + decay * w[j];
                p->m1[j] = b1 * p->m1[j] + (1.0f - b1) * g;
                p->m2[j] = b2 * p->m2[j] + (1.0f - b2) * g * g;
                w[j] -= step_size * p->m1[j] / (sqrtf(p->m2[j]) * inv_sqrt_bias2 + opt->epsilon);
            }
            break;
        }
        }
    }
    return (float)norm;
}
