/* The input node and flatten. Flatten is a copy: NHWC per-sample data is already in tfjs's flatten order. */
#include <string.h>

#include "../internal.h"

const cnn_layer_ops cnn_input_ops = {"input", NULL, NULL, NULL, 0};

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

const cnn_layer_ops cnn_flatten_ops = {"flatten", NULL, flatten_forward, flatten_backward, 0};

int cnn_model_add_flatten(cnn_model* m, int input) {
    cnn_status status = cnn_graph_check_input(m, input, "flatten");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* in = &m->nodes[input];
    return cnn_graph_add_node(m, &cnn_flatten_ops, &input, 1, 1, 1, cnn_node_size(in));
}

/* Zero padding of height and width: the input is copied into the middle of a zeroed output; backward crops. */
static void zero_pad_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_pad_cfg* pad = &node->cfg.pad;
    const size_t row = (size_t)in->w * (size_t)in->c;
    memset(node->out, 0, (size_t)n * (size_t)cnn_node_size(node) * sizeof(float));
    for (int b = 0; b < n; b++)
        for (int y = 0; y < in->h; y++) {
            float* dst = node->out + (((size_t)b * (size_t)node->h + (size_t)(y + pad->top)) * (size_t)node->w +
                                      (size_t)pad->left) * (size_t)node->c;
            memcpy(dst, in->out + ((size_t)b * (size_t)in->h + (size_t)y) * row, row * sizeof(float));
        }
}

static void zero_pad_backward(cnn_model* m, cnn_node* node, int n) {
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_pad_cfg* pad = &node->cfg.pad;
    const size_t row = (size_t)in->w * (size_t)in->c;
    for (int b = 0; b < n; b++)
        for (int y = 0; y < in->h; y++) {
            const float* src = node->grad + (((size_t)b * (size_t)node->h + (size_t)(y + pad->top)) * (size_t)node->w +
                                             (size_t)pad->left) * (size_t)node->c;
            float* dst = in->grad + ((size_t)b * (size_t)in->h + (size_t)y) * row;
            for (size_t i = 0; i < row; i++) dst[i] += src[i];
        }
}

const cnn_layer_ops cnn_zero_pad_ops = {"zeroPadding2d", NULL, zero_pad_forward, zero_pad_backward, 0};

int cnn_model_add_zero_padding2d(cnn_model* m, int input, int top, int bottom, int left, int right) {
    cnn_status status = cnn_graph_check_input(m, input, "zeroPadding2d");
    if (status != CNN_STATUS_OK) return -status;
    if (top < 0 || bottom < 0 || left < 0 || right < 0 || top > CNN_MAX_PADDING || bottom > CNN_MAX_PADDING ||
        left > CNN_MAX_PADDING || right > CNN_MAX_PADDING)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "zeroPadding2d: padding must be in [0, %d], got [[%d, %d], [%d, %d]]",
                         CNN_MAX_PADDING, top, bottom, left, right);
    const cnn_node* in = &m->nodes[input];
    int id = cnn_graph_add_node(m, &cnn_zero_pad_ops, &input, 1, in->h + top + bottom, in->w + left + right, in->c);
    if (id >= 0) {
        cnn_pad_cfg cfg = {top, bottom, left, right};
        m->nodes[id].cfg.pad = cfg;
    }
    return id;
}
