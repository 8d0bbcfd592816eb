/* Model lifecycle: create, compile, plan buffers, and the per-batch entry points (one call per batch from JS). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/kernels.h"
#include "parallel.h"

cnn_model* cnn_model_create(uint32_t seed) {
    cnn_model* m = calloc(1, sizeof *m);
    if (!m) {
        cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "out of memory creating a model");
        return NULL;
    }
    cnn_rng_seed(&m->rng, seed, 1);
    cnn_rng_seed(&m->dropout_rng, seed, 2);
    m->input_node = -1;
    m->output_node = -1;
    return m;
}

cnn_status cnn_model_set_learning_rate(cnn_model* m, float learning_rate) {
    if (!m || !m->compiled) return cnn_fail(CNN_STATUS_INVALID_STATE, "setLearningRate: compile the model first");
    if (!(learning_rate > 0.0f) || !isfinite(learning_rate))
        return cnn_fail(CNN_STATUS_INVALID_ARG, "setLearningRate: learning rate must be a positive number, got %g",
                        (double)learning_rate);
    m->opt.learning_rate = learning_rate;
    return CNN_STATUS_OK;
}

void cnn_model_set_seed(cnn_model* m, uint32_t seed) {
    if (m) cnn_rng_seed(&m->dropout_rng, seed, 2);
}

static void free_plan(cnn_model* m) {
    for (int i = 0; i < m->n_nodes; i++) {
        cnn_node* node = &m->nodes[i];
        free(node->out);
        free(node->grad);
        free(node->saved);
        free(node->saved_i32);
        node->out = node->grad = node->saved = NULL;
        node->saved_i32 = NULL;
    }
    for (int i = 0; i < m->n_params; i++) {
        free(m->params[i].grad);
        m->params[i].grad = NULL;
    }
    free(m->scratch);
    free(m->labels);
    free(m->class_counts);
    m->scratch = NULL;
    m->labels = NULL;
    m->class_counts = NULL;
    m->input_grad = NULL;
    m->scratch_floats = 0;
    m->threads = 0;
    m->capacity = 0;
    m->with_grads = 0;
}

void cnn_model_free(cnn_model* m) {
    if (!m) return;
    free_plan(m);
    for (int i = 0; i < m->n_params; i++) {
        free(m->params[i].data);
        free(m->params[i].m1);
        free(m->params[i].m2);
    }
    free(m->params);
    free(m->nodes);
    free(m->class_weights);
    free(m);
}

cnn_status cnn_model_set_output(cnn_model* m, int node) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "model is NULL");
    if (node < 0 || node >= m->n_nodes)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "output node %d does not exist (the model has %d nodes)", node,
                        m->n_nodes);
    /* The plan sized the label, output and class-count buffers for the output node it saw. */
    if (m->capacity > 0 && node != m->output_node)
        return cnn_fail(CNN_STATUS_INVALID_STATE, "set_output: cannot change the output of a planned model (from node "
                        "%d to %d)", m->output_node, node);
    m->output_node = node;
    return CNN_STATUS_OK;
}

cnn_status cnn_model_node_shape(const cnn_model* m, int node, int32_t* hwc3) {
    if (!m || !hwc3 || node < 0 || node >= m->n_nodes)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "node %d does not exist", node);
    hwc3[0] = m->nodes[node].h;
    hwc3[1] = m->nodes[node].w;
    hwc3[2] = m->nodes[node].c;
    return CNN_STATUS_OK;
}

int cnn_model_param_count(const cnn_model* m) { return m ? m->n_params : 0; }

float* cnn_model_param(cnn_model* m, int index, int32_t* ndim, int32_t* dims4) {
    if (!m || index < 0 || index >= m->n_params) return NULL;
    cnn_param* p = &m->params[index];
    if (ndim) *ndim = p->ndim;
    if (dims4)
        for (int i = 0; i < 4; i++) dims4[i] = i < p->ndim ? p->dims[i] : 1;
    return p->data;
}

float* cnn_model_param_grad(cnn_model* m, int index) {
    if (!m || index < 0 || index >= m->n_params) return NULL;
    return m->params[index].grad;
}

int cnn_model_param_node(const cnn_model* m, int index) {
    if (!m || index < 0 || index >= m->n_params) return -CNN_STATUS_INVALID_ARG;
    return m->params[index].node;
}

cnn_status cnn_model_grad_norms(const cnn_model* m, float* norms) {
    if (!m || !norms) return cnn_fail(CNN_STATUS_INVALID_ARG, "grad_norms: model or output is NULL");
    if (!m->with_grads) return cnn_fail(CNN_STATUS_INVALID_STATE, "grad_norms: no backward pass has run");
    for (int i = 0; i < m->n_params; i++) {
        double sq = 0.0;
        for (int j = 0; j < m->params[i].size; j++) sq += (double)m->params[i].grad[j] * m->params[i].grad[j];
        norms[i] = (float)sqrt(sq);
    }
    return CNN_STATUS_OK;
}

cnn_status cnn_model_take_class_counts(cnn_model* m, float* out) {
    if (!m || !out) return cnn_fail(CNN_STATUS_INVALID_ARG, "class_counts: model or output is NULL");
    if (!m->class_counts) return cnn_fail(CNN_STATUS_INVALID_STATE, "class_counts: the model has not been planned");
    int c = m->nodes[m->output_node].c;
    for (int i = 0; i < 3 * c; i++) {
        out[i] = (float)m->class_counts[i];
        m->class_counts[i] = 0.0;
    }
    return CNN_STATUS_OK;
}

int cnn_model_param_is_state(const cnn_model* m, int index) {
    if (!m || index < 0 || index >= m->n_params) return 0;
    return m->params[index].is_state;
}

cnn_status cnn_model_set_trainable(cnn_model* m, int node, int trainable) {
    if (!m || node < 0 || node >= m->n_nodes) return cnn_fail(CNN_STATUS_INVALID_ARG, "node %d does not exist", node);
    m->nodes[node].trainable = trainable != 0;
    return CNN_STATUS_OK;
}

cnn_status cnn_model_compile(cnn_model* m, int loss, const cnn_optimizer_config* opt) {
    if (!m || !opt) return cnn_fail(CNN_STATUS_INVALID_ARG, "compile: model or optimizer is NULL");
    if (m->input_node < 0 || m->output_node < 0)
        return cnn_fail(CNN_STATUS_INVALID_STATE, "compile: the model has no input or no output");
    if (loss < CNN_LOSS_SPARSE_CE || loss > CNN_LOSS_MSE)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "compile: unknown loss %d", loss);
    if (opt->kind < CNN_OPT_SGD || opt->kind > CNN_OPT_ADAM)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "compile: unknown optimizer %d", (int)opt->kind);
    if (!(opt->learning_rate > 0.0f) || !isfinite(opt->learning_rate))
        return cnn_fail(CNN_STATUS_INVALID_ARG, "compile: learning rate must be a positive number, got %g",
                        (double)opt->learning_rate);
    if (!(opt->weight_decay >= 0.0f) || !(opt->clip_norm >= 0.0f))
        return cnn_fail(CNN_STATUS_INVALID_ARG, "compile: weightDecay and clipNorm must be >= 0, got %g and %g",
                        (double)opt->weight_decay, (double)opt->clip_norm);
    if (opt->kind == CNN_OPT_ADAM && !(opt->beta1 >= 0.0f && opt->beta1 < 1.0f && opt->beta2 >= 0.0f &&
                                       opt->beta2 < 1.0f && opt->epsilon > 0.0f))
        return cnn_fail(CNN_STATUS_INVALID_ARG, "compile: Adam needs 0 <= beta1, beta2 < 1 and epsilon > 0");
    for (int i = 0; i < m->n_params; i++) {
        cnn_param* p = &m->params[i];
        int need_m1 = opt->kind != CNN_OPT_SGD, need_m2 = opt->kind == CNN_OPT_ADAM;
        free(p->m1);
        free(p->m2);
        p->m1 = need_m1 ? calloc((size_t)p->size, sizeof(float)) : NULL;
        p->m2 = need_m2 ? calloc((size_t)p->size, sizeof(float)) : NULL;
        if ((need_m1 && !p->m1) || (need_m2 && !p->m2))
            return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "compile: out of memory for optimizer state");
    }
    m->loss = loss;
    m->opt = *opt;
    m->step = 0;
    m->compiled = 1;
    return CNN_STATUS_OK;
}

cnn_status cnn_model_plan(cnn_model* m, int capacity, int with_grads) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "plan: model is NULL");
    if (m->input_node < 0 || m->output_node < 0)
        return cnn_fail(CNN_STATUS_INVALID_STATE, "plan: the model has no input or no output");
    if (capacity < 1 || capacity > 65536)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "plan: batch capacity must be in [1, 65536], got %d", capacity);
    with_grads = with_grads != 0;
    if (capacity == m->capacity && with_grads <= m->with_grads && m->threads == cnn_thread_count()) return CNN_STATUS_OK;
    free_plan(m);

    size_t scratch = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        cnn_node* node = &m->nodes[i];
        size_t count = (size_t)capacity * (size_t)cnn_node_size(node);
        node->out = malloc(count * sizeof(float));
        node->grad = with_grads ? calloc(count, sizeof(float)) : NULL;
        cnn_layer_needs needs = {0, 0, 0};
        if (node->ops->needs) needs = node->ops->needs(m, node, capacity);
        node->saved = needs.saved_floats ? malloc(needs.saved_floats * sizeof(float)) : NULL;
        node->saved_i32 = needs.saved_ints ? malloc(needs.saved_ints * sizeof(int32_t)) : NULL;
        if (!node->out || (with_grads && !node->grad) || (needs.saved_floats && !node->saved) ||
            (needs.saved_ints && !node->saved_i32)) {
            free_plan(m);
            return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for node %d (%s) at batch %d", i,
                            node->ops->name, capacity);
        }
        if (needs.scratch_floats > scratch) scratch = needs.scratch_floats;
    }
    for (int i = 0; with_grads && i < m->n_params; i++) {
        m->params[i].grad = calloc((size_t)m->params[i].size, sizeof(float));
        if (!m->params[i].grad) {
            free_plan(m);
            return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for gradients");
        }
    }
    /* One scratch space per thread, each 64-byte aligned (cnn_thread_scratch). */
    m->scratch = malloc(cnn_scratch_alloc_floats(scratch, cnn_thread_count()) * sizeof(float));
    const cnn_node* out = &m->nodes[m->output_node];
    m->labels = malloc((size_t)capacity * (size_t)cnn_node_size(out) * sizeof(float));
    m->class_counts = calloc(3 * (size_t)out->c, sizeof(double));
    if (!m->scratch || !m->labels || !m->class_counts) {
        free_plan(m);
        return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for scratch space");
    }
    m->scratch_floats = scratch;
    m->threads = cnn_thread_count();
    m->input_grad = m->nodes[m->input_node].grad;
    m->capacity = capacity;
    m->with_grads = with_grads;
    return CNN_STATUS_OK;
}

float* cnn_model_input_buffer(cnn_model* m) { return m && m->capacity ? m->nodes[m->input_node].out : NULL; }
float* cnn_model_output_buffer(cnn_model* m) { return m && m->capacity ? m->nodes[m->output_node].out : NULL; }
void* cnn_model_label_buffer(cnn_model* m) { return m ? m->labels : NULL; }
float* cnn_model_input_grad_buffer(cnn_model* m) { return m ? m->input_grad : NULL; }

static cnn_status check_batch(const cnn_model* m, int n, int need_grads, int need_loss, const char* what) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "%s: model is NULL", what);
    if (!m->capacity) return cnn_fail(CNN_STATUS_INVALID_STATE, "%s: the model has not been planned", what);
    if (need_grads && !m->with_grads)
        return cnn_fail(CNN_STATUS_INVALID_STATE, "%s: the model was planned without gradients", what);
    if (need_loss && !m->compiled) return cnn_fail(CNN_STATUS_INVALID_STATE, "%s: compile the model first", what);
    if (n < 1 || n > m->capacity)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "%s: batch of %d samples, expected 1 to %d", what, n, m->capacity);
    return CNN_STATUS_OK;
}

/* The input must be finite: a NaN would silently poison every weight it touches. */
static cnn_status check_input_finite(const cnn_model* m, int n, const char* what) {
    const cnn_node* in = &m->nodes[m->input_node];
    size_t count = (size_t)n * (size_t)cnn_node_size(in);
    size_t i = cnn_f32_first_nonfinite(count, in->out);
    if (i < count)
        return cnn_fail(CNN_STATUS_NON_FINITE, "%s: input value %zu (sample %zu) is %g; inputs must be finite", what, i,
                        i / (size_t)cnn_node_size(in), (double)in->out[i]);
    return CNN_STATUS_OK;
}

static cnn_status forward_backward(cnn_model* m, int n, float* stats, const char* what) {
    cnn_status status = check_batch(m, n, 1, 1, what);
    if (status == CNN_STATUS_OK) status = check_input_finite(m, n, what);
    if (status != CNN_STATUS_OK) return status;
    float local[4] = {0, 0, 0, 0};
    if (!stats) stats = local;
    cnn_graph_forward(m, n, 1);
    for (int i = 0; i < m->n_nodes; i++) {
        cnn_node* node = &m->nodes[i];
        memset(node->grad, 0, (size_t)n * (size_t)cnn_node_size(node) * sizeof(float));
    }
    for (int i = 0; i < m->n_params; i++) memset(m->params[i].grad, 0, (size_t)m->params[i].size * sizeof(float));
    int start = cnn_loss_compute(m, n, 1, stats);
    if (start < 0) return (cnn_status)-start;
    cnn_graph_backward(m, n, start);
    if (!isfinite(stats[0]))
        return cnn_fail(CNN_STATUS_NON_FINITE, "%s: the loss became %g (diverged: lower the learning rate or set "
                        "clipNorm)", what, (double)stats[0]);
    return CNN_STATUS_OK;
}

cnn_status cnn_model_train_step(cnn_model* m, int n, float* stats) {
    float local[4] = {0, 0, 0, 0};
    if (!stats) stats = local;
    if (m) m->want_input_grad = 0;
    if (m) m->updating = 1;
    cnn_status status = forward_backward(m, n, stats, "train_step");
    if (m) m->updating = 0;
    if (status != CNN_STATUS_OK) return status;
    stats[3] = cnn_optimizer_step(m);
    if (!isfinite(stats[3]))
        return cnn_fail(CNN_STATUS_NON_FINITE, "train_step: the gradient norm became %g; weights were not updated",
                        (double)stats[3]);
    return CNN_STATUS_OK;
}

cnn_status cnn_model_compute_gradients(cnn_model* m, int n, float* stats) {
    if (m) m->want_input_grad = 1;
    cnn_status status = forward_backward(m, n, stats, "compute_gradients");
    if (m) m->want_input_grad = 0;
    return status;
}

cnn_status cnn_model_forward(cnn_model* m, int n) {
    cnn_status status = check_batch(m, n, 0, 0, "predict");
    if (status == CNN_STATUS_OK) status = check_input_finite(m, n, "predict");
    if (status != CNN_STATUS_OK) return status;
    cnn_graph_forward(m, n, 0);
    return CNN_STATUS_OK;
}

cnn_status cnn_model_evaluate(cnn_model* m, int n, float* stats) {
    cnn_status status = check_batch(m, n, 0, 1, "evaluate");
    if (status == CNN_STATUS_OK) status = check_input_finite(m, n, "evaluate");
    if (status != CNN_STATUS_OK) return status;
    float local[4] = {0, 0, 0, 0};
    if (!stats) stats = local;
    cnn_graph_forward(m, n, 0);
    int start = cnn_loss_compute(m, n, 0, stats);
    if (start < 0) return (cnn_status)-start;
    return CNN_STATUS_OK;
}
