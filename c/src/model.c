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
    m->weights_version = 1; /* caches start at 0: stale */
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
        if (node->out_owned) free(node->out);
        node->out_owned = 0;
        free(node->grad);
        free(node->saved);
        free(node->saved_i32);
        node->cache_version[0] = node->cache_version[1] = 0;
        node->out = node->grad = node->saved = NULL;
        node->saved_floats = 0;
        node->saved_i32 = NULL;
    }
    for (int i = 0; i < m->n_params; i++) {
        free(m->params[i].grad);
        m->params[i].grad = NULL;
    }
    for (int i = 0; i < m->n_act_slots; i++) free(m->act_slots[i]);
    free(m->act_slots);
    m->act_slots = NULL;
    m->n_act_slots = 0;
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
    cnn_weights_changed(m); /* the caller may write through the pointer until its next batch call */
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

int cnn_model_param_is_state(const cnn_model* m, int index) {
    if (!m || index < 0 || index >= m->n_params) return 0;
    return m->params[index].is_state;
}

cnn_status cnn_model_set_winograd(cnn_model* m, int enabled) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "set_winograd: model is NULL");
    enabled = enabled != 0;
    if (enabled == !m->winograd_off) return CNN_STATUS_OK;
    /* The plan sized the conv layers' buffers for the old choice: plan again (the caller's next plan call does). */
    free_plan(m);
    m->winograd_off = !enabled;
    return CNN_STATUS_OK;
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

/* Refuses a buffer over CNN_MAX_BUFFER_BYTES, naming the node, what the buffer holds and its size. */
static cnn_status check_buffer(const cnn_model* m, int node, const char* what, uint64_t bytes, int capacity) {
    if (cnn_size_fits(bytes)) return CNN_STATUS_OK;
    const char* name = node >= 0 ? m->nodes[node].ops->name : "model";
    if (bytes == UINT64_MAX)
        return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: node %d (%s) needs more than 2^64 bytes of %s at batch %d; "
                        "one buffer may take at most %llu bytes", node, name, what, capacity,
                        (unsigned long long)CNN_MAX_BUFFER_BYTES);
    return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: node %d (%s) needs %llu bytes of %s at batch %d; one buffer may "
                    "take at most %llu bytes", node, name, (unsigned long long)bytes, what, capacity,
                    (unsigned long long)CNN_MAX_BUFFER_BYTES);
}

static uint64_t float_bytes(uint64_t count) { return cnn_size_mul(count, sizeof(float)); }

/* Every size of the plan, checked in 64 bits before anything is allocated (so a refused plan keeps the old one). */
static cnn_status plan_sizes(const cnn_model* m, int capacity, int with_grads, uint64_t* scratch_floats) {
    uint64_t total = 0, scratch = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const cnn_node* node = &m->nodes[i];
        const uint64_t out = float_bytes(cnn_size_mul((uint64_t)capacity, (uint64_t)cnn_node_size(node)));
        cnn_status status = check_buffer(m, i, "activations", out, capacity);
        if (status != CNN_STATUS_OK) return status;
        total = cnn_size_add(total, with_grads ? cnn_size_mul(out, 2) : out);
        /* Only now: needs() computes batch row counts in int, which the check above bounds (nodes are in
         * topological order, so every input was checked before). */
        cnn_layer_needs needs = {0, 0, 0};
        if (node->ops->needs) needs = node->ops->needs(m, node, capacity);
        const uint64_t saved = float_bytes(needs.saved_floats), saved_i = float_bytes(needs.saved_ints);
        if ((status = check_buffer(m, i, "saved state", saved, capacity)) != CNN_STATUS_OK ||
            (status = check_buffer(m, i, "saved indices", saved_i, capacity)) != CNN_STATUS_OK ||
            (status = check_buffer(m, i, "scratch space", float_bytes(cnn_scratch_alloc_floats(needs.scratch_floats,
                                                                                   cnn_thread_count())),
                                   capacity)) != CNN_STATUS_OK)
            return status;
        total = cnn_size_add(total, cnn_size_add(saved, saved_i));
        scratch = cnn_max_u64(scratch, needs.scratch_floats);
    }
    const cnn_node* out = &m->nodes[m->output_node];
    const uint64_t labels = float_bytes(cnn_size_mul((uint64_t)capacity, (uint64_t)cnn_node_size(out)));
    cnn_status status = check_buffer(m, m->output_node, "labels", labels, capacity);
    if (status != CNN_STATUS_OK) return status;
    total = cnn_size_add(total, cnn_size_add(labels, float_bytes(cnn_scratch_alloc_floats(scratch, cnn_thread_count()))));
    for (int i = 0; with_grads && i < m->n_params; i++) total = cnn_size_add(total, float_bytes(m->params[i].size));
    if (total > CNN_MAX_PLAN_BYTES)
        return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: batch %d needs %llu bytes in all, more than the %llu bytes a "
                        "plan may take; use a smaller batch", capacity, (unsigned long long)total,
                        (unsigned long long)CNN_MAX_PLAN_BYTES);
    *scratch_floats = scratch;
    return CNN_STATUS_OK;
}

/* Inference plans: a node's output is needed only until its last consumer has run, so nodes share a few buffers
 * (SegNet at 256x256: 91 MB of activations in 26 MB). Kept whole: the input (written by the caller), the output and,
 * when the loss fuses softmax with cross-entropy, the logits before it (read by evaluate). A buffer is released
 * after the consumer's forward pass, so no node's output aliases one of its inputs. Best fit among the free
 * buffers, else the largest free one grows (nodes are pointed at their buffers once all have their final size), else
 * a new one. Returns 0 when out of
 * memory (the caller frees the plan). Training plans keep one buffer per node: backward reads every output. */
static int plan_shared_outputs(cnn_model* m, int capacity) {
    const int n = m->n_nodes;
    int* last_use = malloc((size_t)n * sizeof(int));
    int* slot_of = malloc((size_t)n * sizeof(int));
    size_t* slot_floats = calloc((size_t)n, sizeof(size_t));
    char* slot_free = calloc((size_t)n, 1);
    m->act_slots = calloc((size_t)n, sizeof(float*));
    int ok = last_use && slot_of && slot_floats && slot_free && m->act_slots;
    for (int i = 0; ok && i < n; i++) last_use[i] = i, slot_of[i] = -1;
    for (int i = 0; ok && i < n; i++)
        for (int k = 0; k < m->nodes[i].n_inputs; k++)
            if (last_use[m->nodes[i].inputs[k]] < i) last_use[m->nodes[i].inputs[k]] = i;
    const cnn_node* out = ok ? &m->nodes[m->output_node] : NULL;
    const int logits = out && out->ops == &cnn_activation_ops && out->n_inputs == 1 ? out->inputs[0] : -1;
    for (int i = 0; ok && i < n; i++) {
        cnn_node* node = &m->nodes[i];
        const size_t floats = (size_t)capacity * (size_t)cnn_node_size(node);
        if (i == m->input_node || i == m->output_node || i == logits) {
            node->out = malloc(floats * sizeof(float));
            node->out_owned = 1;
            ok = node->out != NULL;
            continue;
        }
        int best = -1, largest = -1;
        for (int s = 0; s < m->n_act_slots; s++) {
            if (!slot_free[s]) continue;
            if (slot_floats[s] >= floats && (best < 0 || slot_floats[s] < slot_floats[best])) best = s;
            if (largest < 0 || slot_floats[s] > slot_floats[largest]) largest = s;
        }
        if (best < 0 && largest >= 0) {
            float* grown = realloc(m->act_slots[largest], floats * sizeof(float));
            if (!grown) { ok = 0; break; }
            m->act_slots[largest] = grown, slot_floats[largest] = floats, best = largest;
        }
        if (best < 0) {
            best = m->n_act_slots;
            m->act_slots[best] = malloc(floats * sizeof(float));
            if (!m->act_slots[best]) { ok = 0; break; }
            m->n_act_slots++, slot_floats[best] = floats;
        }
        slot_free[best] = 0, slot_of[i] = best;
        /* Release what this node was the last to read (and itself, when nothing reads it). */
        for (int k = 0; k <= node->n_inputs; k++) {
            const int j = k < node->n_inputs ? node->inputs[k] : i;
            if (last_use[j] == i && slot_of[j] >= 0) slot_free[slot_of[j]] = 1;
        }
    }
    /* Only now: a grown buffer may have moved, and every node that shares it writes there. */
    for (int i = 0; ok && i < n; i++)
        if (slot_of[i] >= 0) m->nodes[i].out = m->act_slots[slot_of[i]];
    free(last_use), free(slot_of), free(slot_floats), free(slot_free);
    return ok;
}

cnn_status cnn_model_plan(cnn_model* m, int capacity, int with_grads) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "plan: model is NULL");
    if (m->input_node < 0 || m->output_node < 0)
        return cnn_fail(CNN_STATUS_INVALID_STATE, "plan: the model has no input or no output");
    if (capacity < 1 || capacity > CNN_MAX_BATCH)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "plan: batch capacity must be in [1, %d], got %d", CNN_MAX_BATCH,
                        capacity);
    with_grads = with_grads != 0;
    if (capacity == m->capacity && with_grads <= m->with_grads && m->threads == cnn_thread_count())
        return CNN_STATUS_OK;
    uint64_t scratch = 0;
    m->plan_with_grads = with_grads;
    cnn_status status = plan_sizes(m, capacity, with_grads, &scratch);
    if (status != CNN_STATUS_OK) return status;
    free_plan(m);

    /* Every size below was checked by plan_sizes: the size_t casts cannot wrap. */
    for (int i = 0; i < m->n_nodes; i++) {
        cnn_node* node = &m->nodes[i];
        size_t count = (size_t)capacity * (size_t)cnn_node_size(node);
        if (with_grads) {
            node->out = malloc(count * sizeof(float));
            node->out_owned = 1;
        }
        node->grad = with_grads ? calloc(count, sizeof(float)) : NULL;
        cnn_layer_needs needs = {0, 0, 0};
        if (node->ops->needs) needs = node->ops->needs(m, node, capacity);
        /* 64-byte aligned: packed kernels (parallel.h) are read with vector loads that must not straddle lines. */
        node->saved = needs.saved_floats
                          ? aligned_alloc(64, ((size_t)needs.saved_floats * sizeof(float) + 63) & ~(size_t)63)
                          : NULL;
        node->saved_floats = needs.saved_floats;
        node->saved_i32 = needs.saved_ints ? malloc((size_t)needs.saved_ints * sizeof(int32_t)) : NULL;
        if ((with_grads && (!node->out || !node->grad)) || (needs.saved_floats && !node->saved) ||
            (needs.saved_ints && !node->saved_i32)) {
            free_plan(m);
            return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for node %d (%s) at batch %d", i,
                            node->ops->name, capacity);
        }
    }
    if (!with_grads && !plan_shared_outputs(m, capacity)) {
        free_plan(m);
        return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for activations at batch %d", capacity);
    }
    for (int i = 0; with_grads && i < m->n_params; i++) {
        m->params[i].grad = calloc((size_t)m->params[i].size, sizeof(float));
        if (!m->params[i].grad) {
            free_plan(m);
            return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for gradients");
        }
    }
    /* One scratch space per thread, each 64-byte aligned (cnn_thread_scratch); plan_sizes counted them all. */
    m->scratch = malloc((size_t)cnn_scratch_alloc_floats(scratch, cnn_thread_count()) * sizeof(float));
    const cnn_node* out = &m->nodes[m->output_node];
    m->labels = malloc((size_t)capacity * (size_t)cnn_node_size(out) * sizeof(float));
    /* The counts, then one slice per thread for the loss's parts to count into (loss.c). */
    m->class_counts = calloc(cnn_class_count_stride(out->c) * (size_t)(1 + cnn_thread_count()), sizeof(double));
    if (!m->scratch || !m->labels || !m->class_counts) {
        free_plan(m);
        return cnn_fail(CNN_STATUS_OUT_OF_MEMORY, "plan: out of memory for scratch space");
    }
    m->scratch_floats = (size_t)scratch;
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

/* cnn_f32_first_nonfinite over x[0, count), split into ranges across the threads (the first index found is the
 * same whatever the split). */
enum { FINITE_TASKS = 4 * CNN_MAX_THREADS };

typedef struct finite_job {
    const float* x;
    size_t count, per_task;
    size_t first[FINITE_TASKS]; /* per task: its first non-finite index, or count */
} finite_job;

static void finite_task(void* ctx, int task, int thread) {
    (void)thread;
    finite_job* j = ctx;
    const size_t begin = (size_t)task * j->per_task;
    const size_t n = j->count - begin < j->per_task ? j->count - begin : j->per_task;
    const size_t i = cnn_f32_first_nonfinite(n, j->x + begin);
    j->first[task] = i < n ? begin + i : j->count;
}

static size_t first_nonfinite(const cnn_model* m, size_t count, const float* x) {
    const int want = cnn_model_threaded(m) ? 4 * cnn_thread_count() : 1;
    finite_job j = {x, count, (count + (size_t)want - 1) / (size_t)want, {0}};
    if (j.per_task == 0) return count;
    const int tasks = (int)((count + j.per_task - 1) / j.per_task);
    /* Costed as an elementwise pass: a 56x56x64 input (200K floats) splits; it ran alone while the other core idled. */
    cnn_parallel_tasks(m, (int64_t)count * CNN_ELEMENTWISE_COST, tasks, finite_task, &j);
    for (int t = 0; t < tasks; t++)
        if (j.first[t] < count) return j.first[t];
    return count;
}

/* The input must be finite: a NaN would silently poison every weight it touches. */
static cnn_status check_input_finite(const cnn_model* m, int n, const char* what) {
    const cnn_node* in = &m->nodes[m->input_node];
    size_t count = (size_t)n * (size_t)cnn_node_size(in);
    size_t i = first_nonfinite(m, count, in->out);
    if (i < count)
        return cnn_fail(CNN_STATUS_NON_FINITE, "%s: input value %zu (sample %zu) is %g; inputs must be finite", what, i,
                        i / (size_t)cnn_node_size(in), (double)in->out[i]);
    return CNN_STATUS_OK;
}

/* ---- stats ----------------------------------------------------------------------------------------------------- */

static int output_classes(const cnn_model* m) { return m->output_node >= 0 ? m->nodes[m->output_node].c : 0; }

cnn_status cnn_model_set_stats(cnn_model* m, int class_counts, int grad_norms) {
    if (!m) return cnn_fail(CNN_STATUS_INVALID_ARG, "set_stats: model is NULL");
    m->stats_class_counts = class_counts != 0;
    m->stats_grad_norms = grad_norms != 0;
    return CNN_STATUS_OK;
}

int cnn_model_stats_count(const cnn_model* m) {
    if (!m) return 0;
    return CNN_STATS_HEADER + (m->stats_class_counts ? 3 * output_classes(m) : 0) +
           (m->stats_grad_norms ? m->n_params : 0);
}

/* Writes the optional parts of the stats vector after the header: this call's class counts (cnn_loss_compute left
 * them in m->class_counts) and, when with_norms, the L2 norm of every parameter's gradient (read before the
 * optimizer step; it never modifies the gradient buffers, so this is before clipping and weight decay). */
static void write_stats_tail(const cnn_model* m, float* stats, int with_norms) {
    float* tail = stats + CNN_STATS_HEADER;
    if (m->stats_class_counts) {
        const int c = output_classes(m);
        for (int i = 0; i < 3 * c; i++) tail[i] = (float)m->class_counts[i];
        tail += 3 * c;
    }
    if (m->stats_grad_norms) {
        for (int i = 0; i < m->n_params; i++) {
            double sq = 0.0;
            const cnn_param* p = &m->params[i];
            for (int j = 0; with_norms && j < p->size; j++) sq += (double)p->grad[j] * p->grad[j];
            tail[i] = (float)sqrt(sq);
        }
    }
}

/* ---- per-batch entry points --------------------------------------------------------------------------------------- */

/* Zeroes every parameter's gradient (layers add into them); node gradients are written by the loss (its start node)
 * or zeroed lazily by the backward walk (graph.c). Threaded as ranges of all of them end to end. */
static void zero_range(void* ctx, size_t begin, size_t end) {
    cnn_model* m = ctx;
    size_t at = 0; /* where the current buffer starts in the end-to-end order */
    for (int i = 0; i < m->n_params && at < end; i++) {
        const size_t len = (size_t)m->params[i].size;
        const size_t lo = begin > at ? begin - at : 0, hi = end - at < len ? end - at : len;
        if (lo < hi) memset(m->params[i].grad + lo, 0, (hi - lo) * sizeof(float));
        at += len;
    }
}

static void zero_gradients(cnn_model* m) {
    size_t total = 0;
    for (int i = 0; i < m->n_params; i++) total += (size_t)m->params[i].size;
    cnn_parallel_ranges(m, total, 1024, 1, zero_range, m);
}

static cnn_status forward_backward(cnn_model* m, int n, float* stats, const char* what) {
    cnn_status status = check_batch(m, n, 1, 1, what);
    if (status == CNN_STATUS_OK) status = check_input_finite(m, n, what);
    if (status != CNN_STATUS_OK) return status;
    cnn_graph_forward(m, n, 1);
    zero_gradients(m);
    int start = cnn_loss_compute(m, n, 1, stats);
    if (start < 0) return (cnn_status)-start;
    cnn_graph_backward(m, n, start);
    if (!isfinite(stats[CNN_STATS_LOSS]))
        return cnn_fail(CNN_STATUS_NON_FINITE, "%s: the loss became %g (diverged: lower the learning rate or set "
                        "clipNorm)", what, (double)stats[CNN_STATS_LOSS]);
    return CNN_STATUS_OK;
}

cnn_status cnn_model_train_step(cnn_model* m, int n, float* stats) {
    float header[CNN_STATS_HEADER] = {0, 0, 0, 0};
    if (m) m->want_input_grad = 0;
    if (m) m->updating = 1;
    cnn_status status = forward_backward(m, n, header, "train_step");
    if (m) m->updating = 0;
    if (status != CNN_STATUS_OK) return status;
    if (stats) write_stats_tail(m, stats, 1);
    header[CNN_STATS_GRAD_NORM] = cnn_optimizer_step(m);
    if (stats) memcpy(stats, header, sizeof header);
    if (!isfinite(header[CNN_STATS_GRAD_NORM]))
        return cnn_fail(CNN_STATUS_NON_FINITE, "train_step: the gradient norm became %g; weights were not updated",
                        (double)header[CNN_STATS_GRAD_NORM]);
    return CNN_STATUS_OK;
}

cnn_status cnn_model_compute_gradients(cnn_model* m, int n, float* stats) {
    float header[CNN_STATS_HEADER] = {0, 0, 0, 0};
    if (m) m->want_input_grad = 1;
    cnn_status status = forward_backward(m, n, header, "compute_gradients");
    if (m) m->want_input_grad = 0;
    if (status != CNN_STATUS_OK) return status;
    if (stats) {
        memcpy(stats, header, sizeof header);
        write_stats_tail(m, stats, 1);
    }
    return CNN_STATUS_OK;
}

/* Finite inputs and finite weights can still overflow float32 (weights of 1e30 from a damaged or diverged model):
 * predict never hands back NaN or infinity silently. One SIMD scan of the output, unless the output layer checked it
 * as it stored it (m->output_vouched: conv and dense in the GEMM's bias pass, Winograd in its output transform);
 * also the scan that finds the first bad value for the message when that check failed. */
static cnn_status check_output_finite(const cnn_model* m, int n, const char* what) {
    const cnn_node* out = &m->nodes[m->output_node];
    const size_t size = (size_t)cnn_node_size(out), count = (size_t)n * size;
    const size_t i = first_nonfinite(m, count, out->out);
    if (i < count) {
        const float v = out->out[i]; /* named as JavaScript prints it: the message reaches JS users */
        return cnn_fail(CNN_STATUS_NON_FINITE, "%s: the output of sample %zu is %s at value %zu although the input is "
                        "finite: the weights overflow float32 (a diverged or damaged model)", what, i / size,
                        v != v ? "NaN" : v > 0 ? "Infinity" : "-Infinity", i % size);
    }
    return CNN_STATUS_OK;
}

cnn_status cnn_model_forward(cnn_model* m, int n) {
    cnn_status status = check_batch(m, n, 0, 0, "predict");
    if (status == CNN_STATUS_OK) status = check_input_finite(m, n, "predict");
    if (status != CNN_STATUS_OK) return status;
    m->vouch_output = 1, m->output_vouched = 0;
    cnn_graph_forward(m, n, 0);
    m->vouch_output = 0;
    if (m->output_vouched) return CNN_STATUS_OK; /* checked as the output layer stored it */
    return check_output_finite(m, n, "predict");
}

cnn_status cnn_model_evaluate(cnn_model* m, int n, float* stats) {
    cnn_status status = check_batch(m, n, 0, 1, "evaluate");
    if (status == CNN_STATUS_OK) status = check_input_finite(m, n, "evaluate");
    if (status != CNN_STATUS_OK) return status;
    float header[CNN_STATS_HEADER] = {0, 0, 0, 0};
    cnn_graph_forward(m, n, 0);
    int start = cnn_loss_compute(m, n, 0, header);
    if (start < 0) return (cnn_status)-start;
    if (stats) {
        memcpy(stats, header, sizeof header);
        write_stats_tail(m, stats, 0);
    }
    return CNN_STATUS_OK;
}

/* ---- optimizer state ---------------------------------------------------------------------------------------------- */

int cnn_model_optimizer_slots(const cnn_model* m) {
    if (!m || !m->compiled) return 0;
    return m->opt.kind == CNN_OPT_ADAM ? 2 : m->opt.kind == CNN_OPT_MOMENTUM ? 1 : 0;
}

float* cnn_model_optimizer_state(cnn_model* m, int param, int slot) {
    if (!m || param < 0 || param >= m->n_params || slot < 0 || slot >= cnn_model_optimizer_slots(m)) return NULL;
    return slot == 0 ? m->params[param].m1 : m->params[param].m2;
}

int32_t cnn_model_optimizer_step(const cnn_model* m) {
    if (!m) return 0;
    return m->step > INT32_MAX ? INT32_MAX : (int32_t)m->step;
}

cnn_status cnn_model_set_optimizer_step(cnn_model* m, int32_t step) {
    if (!m || !m->compiled) return cnn_fail(CNN_STATUS_INVALID_STATE, "set_optimizer_step: compile the model first");
    if (step < 0) return cnn_fail(CNN_STATUS_INVALID_ARG, "set_optimizer_step: step must be >= 0, got %d", (int)step);
    m->step = step;
    return CNN_STATUS_OK;
}
