/* Inverted dropout (as tfjs): while training, each value is kept with probability 1 − rate and scaled by
 * 1 / (1 − rate); at inference the layer is the identity. The mask (0 or the scale) is kept for backward. */
#include <math.h>
#include <string.h>

#include "../internal.h"

static cnn_layer_needs dropout_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    (void)m;
    cnn_layer_needs needs = {0, (uint64_t)capacity * (uint64_t)cnn_node_size(node), 0};
    return needs;
}

static void dropout_forward(cnn_model* m, cnn_node* node, int n, int training) {
    const float* x = m->nodes[node->inputs[0]].out;
    size_t count = (size_t)n * (size_t)cnn_node_size(node);
    float rate = node->cfg.dropout.rate;
    if (!training || rate == 0.0f) {
        memcpy(node->out, x, count * sizeof(float));
        for (size_t i = 0; i < count; i++) node->saved[i] = 1.0f;
        return;
    }
    float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++) {
        float keep = cnn_rng_uniform(&m->dropout_rng) >= rate ? scale : 0.0f;
        node->saved[i] = keep;
        node->out[i] = x[i] * keep;
    }
}

static void dropout_backward(cnn_model* m, cnn_node* node, int n) {
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    float* dx = m->nodes[node->inputs[0]].grad;
    size_t count = (size_t)n * (size_t)cnn_node_size(node);
    for (size_t i = 0; i < count; i++) dx[i] += node->grad[i] * node->saved[i];
}

const cnn_layer_ops cnn_dropout_ops = {"dropout", dropout_needs, dropout_forward, dropout_backward, 0};

int cnn_model_add_dropout(cnn_model* m, int input, float rate) {
    cnn_status status = cnn_graph_check_input(m, input, "dropout");
    if (status != CNN_STATUS_OK) return -status;
    if (!(rate >= 0.0f && rate < 1.0f))
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "dropout: rate must be in [0, 1), got %g", (double)rate);
    const cnn_node* in = &m->nodes[input];
    int id = cnn_graph_add_node(m, &cnn_dropout_ops, &input, 1, in->h, in->w, in->c);
    if (id < 0) return id;
    m->nodes[id].cfg.dropout.rate = rate;
    return id;
}
