/* Elementwise activations and softmax over the channel axis. Backward uses the saved output y, which determines
 * every derivative here: relu' = [y > 0], sigmoid' = y(1 − y), tanh' = 1 − y², softmax: dx = y ⊙ (dy − ⟨dy, y⟩). */
#include <math.h>

#include "../internal.h"

void cnn_activation_forward(int kind, float alpha, size_t count, int c, const float* x, float* y) {
    switch (kind) {
    case CNN_ACT_RELU:
        for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case CNN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
        break;
    case CNN_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case CNN_ACT_TANH:
        for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
        break;
    case CNN_ACT_SOFTMAX:
        for (size_t r = 0; r < count / (size_t)c; r++) {
            const float* xr = x + r * (size_t)c;
            float* yr = y + r * (size_t)c;
            float max = xr[0];
            for (int j = 1; j < c; j++) max = xr[j] > max ? xr[j] : max;
            float sum = 0.0f;
            for (int j = 0; j < c; j++) {
                yr[j] = expf(xr[j] - max);
                sum += yr[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j < c; j++) yr[j] *= inv;
        }
        break;
    default: /* linear */
        for (size_t i = 0; i < count; i++) y[i] = x[i];
        break;
    }
}

static void activation_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    cnn_activation_forward(node->cfg.act.kind, node->cfg.act.alpha, (size_t)n * (size_t)cnn_node_size(node),
                           node->c, in->out, node->out);
}

static void activation_backward(cnn_model* m, cnn_node* node, int n) {
    cnn_node* in = &m->nodes[node->inputs[0]];
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    size_t count = (size_t)n * (size_t)cnn_node_size(node);
    const float* y = node->out;
    const float* dy = node->grad;
    float* dx = in->grad;
    float alpha = node->cfg.act.alpha;
    switch (node->cfg.act.kind) {
    case CNN_ACT_RELU:
        for (size_t i = 0; i < count; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case CNN_ACT_LEAKY_RELU: /* for alpha > 0, y > 0 exactly when x > 0 */
        for (size_t i = 0; i < count; i++) dx[i] += in->out[i] > 0.0f ? dy[i] : alpha * dy[i];
        break;
    case CNN_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case CNN_ACT_TANH:
        for (size_t i = 0; i < count; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case CNN_ACT_SOFTMAX: {
        int c = node->c;
        for (size_t r = 0; r < count / (size_t)c; r++) {
            const float* yr = y + r * (size_t)c;
            const float* dyr = dy + r * (size_t)c;
            float dot = 0.0f;
            for (int j = 0; j < c; j++) dot += dyr[j] * yr[j];
            for (int j = 0; j < c; j++) dx[r * (size_t)c + j] += yr[j] * (dyr[j] - dot);
        }
        break;
    }
    default:
        for (size_t i = 0; i < count; i++) dx[i] += dy[i];
        break;
    }
}

const cnn_layer_ops cnn_activation_ops = {"activation", NULL, activation_forward, activation_backward};

int cnn_model_add_activation(cnn_model* m, int input, int activation, float alpha) {
    cnn_status status = cnn_graph_check_input(m, input, "activation");
    if (status != CNN_STATUS_OK) return -status;
    if (activation < CNN_ACT_LINEAR || activation > CNN_ACT_LEAKY_RELU)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "activation: unknown activation %d", activation);
    if (!isfinite(alpha) || alpha < 0.0f)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "activation: alpha must be a finite number >= 0, got %g",
                         (double)alpha);
    const cnn_node* in = &m->nodes[input];
    int id = cnn_graph_add_node(m, &cnn_activation_ops, &input, 1, in->h, in->w, in->c);
    if (id < 0) return id;
    m->nodes[id].cfg.act.kind = activation;
    m->nodes[id].cfg.act.alpha = alpha;
    return id;
}
