/* The model DAG: nodes in creation order (which is a topological order, since a node's inputs must exist before
 * it), their parameters, and the forward and backward walks. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "parallel.h"

static int grow(void** items, int* cap, int needed, size_t item_size) {
    if (needed <= *cap) return 1;
    int new_cap = *cap ? *cap : 16;
    while (new_cap < needed) {
        if (new_cap > INT32_MAX / 2) return 0;
        new_cap *= 2;
    }
    /* Checked in 64 bits: in wasm32 the array of nodes would wrap size_t long before int overflows. */
    if (!cnn_size_fits(cnn_size_mul((uint64_t)new_cap, item_size))) return 0;
    void* grown = realloc(*items, (size_t)new_cap * item_size);
    if (!grown) return 0;
    memset((char*)grown + (size_t)*cap * item_size, 0, (size_t)(new_cap - *cap) * item_size);
    *items = grown;
    *cap = new_cap;
    return 1;
}

cnn_status cnn_graph_check_input(const cnn_model* m, int input, const char* layer) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "%s: model is NULL", layer);
    if (m->capacity > 0 || m->compiled)
        return cnn_fail(CNN_STATUS_INVALID_STATE, "%s: cannot add layers to a model that is already compiled or planned",
                        layer);
    if (input < 0 || input >= m->n_nodes)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "%s: input node %d does not exist (the model has %d nodes)", layer,
                        input, m->n_nodes);
    return CNN_STATUS_OK;
}

int cnn_graph_add_node(cnn_model* m, const cnn_layer_ops* ops, const int* inputs, int n_inputs, int h, int w, int c) {
    if (n_inputs > CNN_MAX_INPUTS)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "%s: %d inputs given, at most %d supported", ops->name, n_inputs,
                         CNN_MAX_INPUTS);
    if (h < 1 || w < 1 || c < 1 || h > CNN_MAX_DIM || w > CNN_MAX_DIM || c > CNN_MAX_DIM ||
        (int64_t)h * w * c > CNN_MAX_ELEMENTS)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "%s: output shape [%d, %d, %d] is empty or too large", ops->name,
                         h, w, c);
    if (!grow((void**)&m->nodes, &m->nodes_cap, m->n_nodes + 1, sizeof(cnn_node)))
        return -cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "%s: out of memory adding a node", ops->name);
    cnn_node* node = &m->nodes[m->n_nodes];
    memset(node, 0, sizeof *node);
    node->id = m->n_nodes;
    node->ops = ops;
    for (int i = 0; i < n_inputs; i++) node->inputs[i] = inputs[i];
    node->n_inputs = n_inputs;
    node->h = h;
    node->w = w;
    node->c = c;
    node->first_param = m->n_params;
    node->trainable = 1;
    m->output_before_add = m->output_node;
    m->output_node = node->id;
    return m->n_nodes++;
}

int cnn_graph_add_param(cnn_model* m, int node, int ndim, const int32_t* dims, int fan_in, int fan_out, int init,
                        int decays) {
    if (!cnn_init_is_valid(init))
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "%s: unknown initializer %d", m->nodes[node].ops->name, init);
    int64_t size = 1;
    for (int i = 0; i < ndim; i++) size *= dims[i];
    if (size < 1 || size > CNN_MAX_ELEMENTS)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "%s: parameter of %lld values is empty or too large",
                         m->nodes[node].ops->name, (long long)size);
    if (!grow((void**)&m->params, &m->params_cap, m->n_params + 1, sizeof(cnn_param)))
        return -cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "out of memory adding a parameter");
    cnn_param* p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    p->data = malloc((size_t)size * sizeof(float));
    if (!p->data)
        return -cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "%s: out of memory for a parameter of %lld values",
                         m->nodes[node].ops->name, (long long)size);
    p->node = node;
    p->ndim = ndim;
    for (int i = 0; i < ndim; i++) p->dims[i] = dims[i];
    p->size = (int)size;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    p->decays = decays;
    cnn_init_fill(&m->rng, init, fan_in, fan_out, p->data, p->size);
    m->nodes[node].n_params++;
    return m->n_params++;
}

int cnn_graph_rollback(cnn_model* m, int node, int status) {
    if (node == m->n_nodes - 1) {
        while (m->n_params > m->nodes[node].first_param) {
            m->n_params--;
            free(m->params[m->n_params].data);
        }
        m->n_nodes--;
        m->output_node = m->output_before_add; /* a failed add leaves the model as it was */
    }
    return status;
}

int cnn_window_out(int in, int k, int stride, int dilation, int padding, int* pad_before) {
    int effective = (k - 1) * dilation + 1;
    if (padding == CNN_PADDING_SAME) {
        int out = (in + stride - 1) / stride;
        int pad_total = (out - 1) * stride + effective - in;
        if (pad_total < 0) pad_total = 0;
        *pad_before = pad_total / 2;
        return out;
    }
    *pad_before = 0;
    if (effective > in) return 0;
    return (in - effective) / stride + 1;
}

void cnn_graph_forward(cnn_model* m, int n, int training) {
    assert(n >= 1 && n <= m->capacity); /* the public entry points checked the batch */
    for (int i = 0; i < m->n_nodes; i++) {
        cnn_node* node = &m->nodes[i];
        if (node->ops->forward) node->ops->forward(m, node, n, training);
    }
}

typedef struct zero_job {
    float* buf;
} zero_job;

static void zero_range(void* ctx, size_t begin, size_t end) {
    memset(((zero_job*)ctx)->buf + begin, 0, (end - begin) * sizeof(float));
}

int cnn_grad_claim(cnn_model* m, int id) {
    cnn_node* node = &m->nodes[id];
    const int first = !node->grad_written;
    node->grad_written = 1;
    return first;
}

void cnn_grad_prepare(cnn_model* m, int id, int n) {
    if (!cnn_grad_claim(m, id)) return;
    zero_job j = {m->nodes[id].grad};
    cnn_parallel_ranges(m, (size_t)n * (size_t)cnn_node_size(&m->nodes[id]), 1024, 1, zero_range, &j);
}

/* Walks from start_node back to the inputs. The loss has written start_node's gradient; every other node gradient
 * is stale until a layer claims or prepares it (cnn_layer_ops). */
void cnn_graph_backward(cnn_model* m, int n, int start_node) {
    assert(start_node >= 0 && start_node < m->n_nodes && m->with_grads && n <= m->capacity);
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].grad_written = i == start_node;
    for (int i = start_node; i >= 0; i--) {
        cnn_node* node = &m->nodes[i];
        if (!node->ops->backward) continue;
        /* No layer after it took its gradient (a branch the loss does not reach): zeros, as if summed over none. */
        cnn_grad_prepare(m, i, n);
        if (!node->ops->writes_grads)
            for (int k = 0; k < node->n_inputs; k++)
                if (cnn_wants_grad(m, node->inputs[k])) cnn_grad_prepare(m, node->inputs[k], n);
        node->ops->backward(m, node, n);
    }
    /* d loss / d input was asked for but no layer reads the input (a model that ignores it): zeros. */
    if (m->want_input_grad) cnn_grad_prepare(m, m->input_node, n);
}
