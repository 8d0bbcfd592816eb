/* Merging layers: add (residual connections) and concatenate along channels (Inception). Their backward passes
 * write each input's gradient when they are its first writer and add into it otherwise, so an input that also feeds
 * other layers (fan-out) accumulates correctly. */
#include <string.h>

#include "../internal.h"
#include "../parallel.h"

/* Threads: disjoint ranges of elements (of pixels for concatenate), parallel.h; each element sums its inputs in
 * input order whatever the split. */
enum { MERGE_SKIP, MERGE_ADD, MERGE_WRITE };

typedef struct merge_job {
    const cnn_model* m;
    const cnn_node* node;
    int write[CNN_MAX_INPUTS]; /* backward, per input: MERGE_SKIP (no gradient wanted), _ADD, or _WRITE (first) */
} merge_job;

/* Backward: how each input's gradient is written, decided in input order (an input listed twice is written by its
 * first listing and added to by the second, cnn_grad_claim). */
static void claim_inputs(cnn_model* m, const cnn_node* node, merge_job* j) {
    for (int k = 0; k < node->n_inputs; k++)
        j->write[k] = !cnn_wants_grad(m, node->inputs[k]) ? MERGE_SKIP
                      : cnn_grad_claim(m, node->inputs[k]) ? MERGE_WRITE
                                                           : MERGE_ADD;
}

static void add_forward_range(void* ctx, size_t begin, size_t end) {
    const merge_job* j = ctx;
    const cnn_node* node = j->node;
    float* y = node->out;
    /* One pass for the first two inputs (a residual add has just two): a copy and then an add read y twice. */
    const float* x0 = j->m->nodes[node->inputs[0]].out;
    const float* x1 = j->m->nodes[node->inputs[1]].out;
    for (size_t i = begin; i < end; i++) y[i] = x0[i] + x1[i];
    for (int k = 2; k < node->n_inputs; k++) {
        const float* x = j->m->nodes[node->inputs[k]].out;
        for (size_t i = begin; i < end; i++) y[i] += x[i];
    }
}

static void add_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    merge_job j = {m, node, {0}};
    cnn_parallel_ranges(m, (size_t)n * (size_t)cnn_node_size(node), 64, node->n_inputs * CNN_ELEMENTWISE_COST,
                        add_forward_range, &j);
}

static void add_backward_range(void* ctx, size_t begin, size_t end) {
    const merge_job* j = ctx;
    const cnn_node* node = j->node;
    for (int k = 0; k < node->n_inputs; k++) {
        if (j->write[k] == MERGE_SKIP) continue;
        float* dx = j->m->nodes[node->inputs[k]].grad;
        if (j->write[k] == MERGE_ADD)
            for (size_t i = begin; i < end; i++) dx[i] += node->grad[i];
        else
            memcpy(dx + begin, node->grad + begin, (end - begin) * sizeof(float));
    }
}

static void add_backward(cnn_model* m, cnn_node* node, int n) {
    merge_job j = {m, node, {0}};
    claim_inputs(m, node, &j);
    cnn_parallel_ranges(m, (size_t)n * (size_t)cnn_node_size(node), 64, node->n_inputs * CNN_ELEMENTWISE_COST,
                        add_backward_range, &j);
}

const cnn_layer_ops cnn_add_ops = {"add", NULL, add_forward, add_backward, 1};

static cnn_status check_merge_inputs(const cnn_model* m, const int32_t* inputs, int n_inputs, const char* layer) {
    if (!inputs || n_inputs < 2 || n_inputs > CNN_MAX_INPUTS)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "%s: needs 2 to %d inputs, got %d", layer, CNN_MAX_INPUTS, n_inputs);
    for (int k = 0; k < n_inputs; k++) {
        cnn_status status = cnn_graph_check_input(m, inputs[k], layer);
        if (status != CNN_STATUS_OK) return status;
    }
    return CNN_STATUS_OK;
}

int cnn_model_add_add(cnn_model* m, const int32_t* inputs, int n_inputs) {
    cnn_status status = check_merge_inputs(m, inputs, n_inputs, "add");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* first = &m->nodes[inputs[0]];
    for (int k = 1; k < n_inputs; k++) {
        const cnn_node* in = &m->nodes[inputs[k]];
        if (in->h != first->h || in->w != first->w || in->c != first->c)
            return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "add: input %d has shape [%d, %d, %d], expected [%d, %d, %d] "
                             "like input 0", k, in->h, in->w, in->c, first->h, first->w, first->c);
    }
    return cnn_graph_add_node(m, &cnn_add_ops, inputs, n_inputs, first->h, first->w, first->c);
}

static void concat_forward_range(void* ctx, size_t begin, size_t end) {
    const merge_job* j = ctx;
    const cnn_node* node = j->node;
    int offset = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        const cnn_node* in = &j->m->nodes[node->inputs[k]];
        for (size_t p = begin; p < end; p++)
            memcpy(node->out + p * (size_t)node->c + (size_t)offset, in->out + p * (size_t)in->c,
                   (size_t)in->c * sizeof(float));
        offset += in->c;
    }
}

static void concat_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    merge_job j = {m, node, {0}};
    cnn_parallel_ranges(m, (size_t)n * (size_t)node->h * (size_t)node->w, 1, node->c * CNN_ELEMENTWISE_COST,
                        concat_forward_range, &j);
}

static void concat_backward_range(void* ctx, size_t begin, size_t end) {
    const merge_job* j = ctx;
    const cnn_node* node = j->node;
    int offset = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        const cnn_node* in = &j->m->nodes[node->inputs[k]];
        if (j->write[k] == MERGE_ADD)
            for (size_t p = begin; p < end; p++) {
                const float* dy = node->grad + p * (size_t)node->c + (size_t)offset;
                float* dx = in->grad + p * (size_t)in->c;
                for (int c = 0; c < in->c; c++) dx[c] += dy[c];
            }
        else if (j->write[k] == MERGE_WRITE)
            for (size_t p = begin; p < end; p++)
                memcpy(in->grad + p * (size_t)in->c, node->grad + p * (size_t)node->c + (size_t)offset,
                       (size_t)in->c * sizeof(float));
        offset += in->c;
    }
}

static void concat_backward(cnn_model* m, cnn_node* node, int n) {
    merge_job j = {m, node, {0}};
    claim_inputs(m, node, &j);
    cnn_parallel_ranges(m, (size_t)n * (size_t)node->h * (size_t)node->w, 1, node->c * CNN_ELEMENTWISE_COST,
                        concat_backward_range, &j);
}

const cnn_layer_ops cnn_concat_ops = {"concatenate", NULL, concat_forward, concat_backward, 1};

int cnn_model_add_concat(cnn_model* m, const int32_t* inputs, int n_inputs) {
    cnn_status status = check_merge_inputs(m, inputs, n_inputs, "concatenate");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* first = &m->nodes[inputs[0]];
    int64_t channels = 0;
    for (int k = 0; k < n_inputs; k++) {
        const cnn_node* in = &m->nodes[inputs[k]];
        if (in->h != first->h || in->w != first->w)
            return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "concatenate: input %d is %dx%d, expected %dx%d like input 0", k,
                             in->h, in->w, first->h, first->w);
        channels += in->c;
    }
    if (channels > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "concatenate: %lld channels in all is too many", (long long)channels);
    return cnn_graph_add_node(m, &cnn_concat_ops, inputs, n_inputs, first->h, first->w, (int)channels);
}
