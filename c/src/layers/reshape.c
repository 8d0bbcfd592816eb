/* The input node and flatten. Flatten is a copy: NHWC per-sample data is already in tfjs's flatten order. */
#include <string.h>

#include "../internal.h"

const cnn_layer_ops cnn_input_ops = {"input", NULL, NULL, NULL};

int cnn_model_add_input(cnn_model* m, int h, int w, int c) {
    if (!m) return -cnn_fail(CNN_STATUS_INVALID_ARG, "input: model is NULL");
    if (m->input_node >= 0) return -cnn_fail(CNN_STATUS_INVALID_STATE, "input: the model already has an input");
    if (m->capacity > 0 || m->compiled)
        return -cnn_fail(CNN_STATUS_INVALID_STATE, "input: the model is already compiled or planned");
    int id = cnn_graph_add_node(m, &cnn_input_ops, NULL, 0, h, w, c);
    if (id >= 0) m->input_node = id;
    return id;
}

static void flatten_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    memcpy(node->out, m->nodes[node->inputs[0]].out, (size_t)n * (size_t)cnn_node_size(node) * sizeof(float));
}

static void flatten_backward(cnn_model* m, cnn_node* node, int n) {
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    float* dx = m->nodes[node->inputs[0]].grad;
    size_t count = (size_t)n * (size_t)cnn_node_size(node);
    for (size_t i = 0; i < count; i++) dx[i] += node->grad[i];
}

const cnn_layer_ops cnn_flatten_ops = {"flatten", NULL, flatten_forward, flatten_backward};

int cnn_model_add_flatten(cnn_model* m, int input) {
    cnn_status status = cnn_graph_check_input(m, input, "flatten");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* in = &m->nodes[input];
    return cnn_graph_add_node(m, &cnn_flatten_ops, &input, 1, 1, 1, cnn_node_size(in));
}
