/* Max and average pooling (tfjs semantics: padded positions are never the max and never counted in the average).
 * Max pooling records the argmax of every output (spatial index iy·w + ix within its sample and channel), which its
 * backward pass scatters through. */

#include "../internal.h"
#include "../kernels/kernels.h"
#include "../parallel.h"

static cnn_pool_geom geometry(const cnn_model* m, const cnn_node* node, int n) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_pool_cfg* cfg = &node->cfg.pool;
    cnn_pool_geom g = {n, in->h, in->w, in->c, cfg->ph, cfg->pw, cfg->sh, cfg->sw,
                       cfg->pad_top, cfg->pad_left, node->h, node->w};
    return g;
}

static cnn_layer_needs pool_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    (void)m;
    cnn_layer_needs needs = {0, 0, 0};
    if (node->cfg.pool.kind == CNN_POOL_MAX) needs.saved_ints = (uint64_t)capacity * (uint64_t)cnn_node_size(node);
    return needs;
}

/* Whether a max-unpooling node reads this pool's argmax indices (it does so in inference too). */
static int indices_reused(const cnn_model* m, const cnn_node* node) {
    for (int i = node->id + 1; i < m->n_nodes; i++)
        if (m->nodes[i].ops == &cnn_max_unpool_ops && m->nodes[i].inputs[1] == node->id) return 1;
    return 0;
}

/* The pooling pool_threads.c runs for this node. */
static int thread_kind(const cnn_node* node) {
    if (node->cfg.pool.kind == CNN_POOL_MAX) return CNN_POOL_THREAD_MAX;
    return node->cfg.pool.count_include_pad ? CNN_POOL_THREAD_AVG_INCLPAD : CNN_POOL_THREAD_AVG;
}

static void pool_forward(cnn_model* m, cnn_node* node, int n, int training) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    cnn_pool_geom g = geometry(m, node, n);
    /* The indices serve the backward pass (training forwards only) and max-unpooling: inference without unpooling
     * skips writing them. */
    if (cnn_model_threaded(m)) /* one task per sample (pool_threads.c) */
        cnn_pool2d_forward_threaded(&g, thread_kind(node), node->cfg.pool.pad_bottom, node->cfg.pool.pad_right,
                                    in->out, node->out, training || indices_reused(m, node) ? node->saved_i32 : NULL);
    else if (node->cfg.pool.kind == CNN_POOL_MAX)
        cnn_f32_maxpool(&g, in->out, node->out, training || indices_reused(m, node) ? node->saved_i32 : NULL);
    else if (node->cfg.pool.count_include_pad)
        cnn_f32_avgpool_inclpad(&g, node->cfg.pool.pad_bottom, node->cfg.pool.pad_right, in->out, node->out);
    else
        cnn_f32_avgpool(&g, in->out, node->out);
}

static void pool_backward(cnn_model* m, cnn_node* node, int n) {
    cnn_node* in = &m->nodes[node->inputs[0]];
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    if (cnn_model_threaded(m)) {
        cnn_pool_geom g = geometry(m, node, n);
        cnn_pool2d_backward_threaded(&g, thread_kind(node), node->cfg.pool.pad_bottom, node->cfg.pool.pad_right,
                                     node->grad, node->saved_i32, in->grad);
    } else if (node->cfg.pool.kind == CNN_POOL_MAX) {
        cnn_f32_maxpool_backward(n, node->h, node->w, node->c, node->grad, node->saved_i32, in->h, in->w, in->grad);
    } else {
        cnn_pool_geom g = geometry(m, node, n);
        if (node->cfg.pool.count_include_pad)
            cnn_f32_avgpool_inclpad_backward(&g, node->cfg.pool.pad_bottom, node->cfg.pool.pad_right, node->grad,
                                             in->grad);
        else
            cnn_f32_avgpool_backward(&g, node->grad, in->grad);
    }
}

const cnn_layer_ops cnn_pool2d_ops = {"pool2d", pool_needs, pool_forward, pool_backward, 0};

/* The checks both pool constructors make, in order: the input, the kind, the window and stride ranges. Returns 0
 * or the negated status to return. */
static int check_pool_args(const cnn_model* m, int input, int kind, int ph, int pw, int sh, int sw, const char* name) {
    cnn_status status = cnn_graph_check_input(m, input, name);
    if (status != CNN_STATUS_OK) return -status;
    if (kind != CNN_POOL_MAX && kind != CNN_POOL_AVG)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "pool2d: unknown pooling kind %d", kind);
    if (ph < 1 || pw < 1 || sh < 1 || sw < 1 || ph > CNN_MAX_KERNEL || pw > CNN_MAX_KERNEL || sh > CNN_MAX_STRIDE ||
        sw > CNN_MAX_STRIDE)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "%s: pool size must be in [1, %d] and strides in [1, %d], got %dx%d "
                         "and %dx%d", name, CNN_MAX_KERNEL, CNN_MAX_STRIDE, ph, pw, sh, sw);
    return 0;
}

int cnn_model_add_pool2d(cnn_model* m, int input, int kind, int ph, int pw, int sh, int sw, int padding) {
    const char* name = kind == CNN_POOL_AVG ? "averagePooling2d" : "maxPooling2d";
    const int bad = check_pool_args(m, input, kind, ph, pw, sh, sw, name);
    if (bad) return bad;
    const cnn_node* in = &m->nodes[input];
    if (padding != CNN_PADDING_VALID && padding != CNN_PADDING_SAME)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "%s: unknown padding %d", name, padding);
    cnn_pool_cfg cfg = {kind, ph, pw, sh, sw, padding, 0, 0, 0, 0, 0, 0};
    int oh = cnn_window_out(in->h, ph, sh, 1, padding, &cfg.pad_top);
    int ow = cnn_window_out(in->w, pw, sw, 1, padding, &cfg.pad_left);
    if (oh < 1 || ow < 1)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "%s: pool size %dx%d is larger than its input %dx%d", name, ph, pw,
                         in->h, in->w);
    int id = cnn_graph_add_node(m, &cnn_pool2d_ops, &input, 1, oh, ow, in->c);
    if (id < 0) return id;
    m->nodes[id].cfg.pool = cfg;
    return id;
}

/* Explicit pads and ceil mode (PyTorch / ONNX pooling). Output size along an axis: floor or ceil of
 * (in + before + after − k) / s, plus 1; in ceil mode the last window must start inside the image or its leading
 * padding (PyTorch's rule), and every pad is smaller than the window, so no window lies wholly in padding. */
static int64_t explicit_out(int in, int k, int s, int before, int after, int ceil_mode) {
    const int64_t span = (int64_t)in + before + after - k;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= (int64_t)in + before) out--;
    return out;
}

int cnn_model_add_pool2d_explicit(cnn_model* m, int input, int kind, int ph, int pw, int sh, int sw, int top,
                                  int bottom, int left, int right, int ceil_mode, int count_include_pad) {
    const char* name = kind == CNN_POOL_AVG ? "averagePooling2d" : "maxPooling2d";
    const int bad = check_pool_args(m, input, kind, ph, pw, sh, sw, name);
    if (bad) return bad;
    const cnn_node* in = &m->nodes[input];
    if (top < 0 || bottom < 0 || top >= ph || bottom >= ph || left < 0 || right < 0 || left >= pw || right >= pw)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "%s: each pad must be in [0, pool size - 1] (%d for height, %d for "
                         "width), got top %d bottom %d left %d right %d", name, ph - 1, pw - 1, top, bottom, left,
                         right);
    if ((ceil_mode != 0 && ceil_mode != 1) || (count_include_pad != 0 && count_include_pad != 1))
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "%s: ceil_mode and count_include_pad must be 0 or 1, got %d and %d",
                         name, ceil_mode, count_include_pad);
    if (count_include_pad && kind != CNN_POOL_AVG)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "maxPooling2d: count_include_pad is for average pooling only");
    const int64_t oh = explicit_out(in->h, ph, sh, top, bottom, ceil_mode);
    const int64_t ow = explicit_out(in->w, pw, sw, left, right, ceil_mode);
    if (oh < 1 || ow < 1)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "%s: pool size %dx%d is larger than its padded input %dx%d", name,
                         ph, pw, in->h + top + bottom, in->w + left + right);
    if (oh > CNN_MAX_DIM || ow > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "%s: output %lldx%lld is too large", name, (long long)oh,
                         (long long)ow);
    /* Counting the padding changes nothing without padding (a ceil overhang is never counted): the plain kernel. */
    const int counts_pad = count_include_pad && (top || bottom || left || right);
    cnn_pool_cfg cfg = {kind, ph, pw, sh, sw, CNN_PADDING_VALID, top, left, bottom, right, ceil_mode, counts_pad};
    int id = cnn_graph_add_node(m, &cnn_pool2d_ops, &input, 1, (int)oh, (int)ow, in->c);
    if (id < 0) return id;
    m->nodes[id].cfg.pool = cfg;
    return id;
}

/* Global pooling: one value per channel over the whole image. Max keeps the argmax (spatial index) per channel. */
static cnn_layer_needs global_pool_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    (void)m;
    cnn_layer_needs needs = {0, 0, 0};
    if (node->cfg.pool.kind == CNN_POOL_MAX) needs.saved_ints = (uint64_t)capacity * (uint64_t)node->c;
    return needs;
}

static void global_pool_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const int c = in->c, hw = in->h * in->w;
    for (int b = 0; b < n; b++) {
        const float* x = in->out + (size_t)b * (size_t)hw * (size_t)c;
        float* y = node->out + (size_t)b * (size_t)c;
        if (node->cfg.pool.kind == CNN_POOL_MAX) {
            int32_t* idx = node->saved_i32 + (size_t)b * (size_t)c;
            for (int j = 0; j < c; j++) { y[j] = x[j]; idx[j] = 0; }
            for (int p = 1; p < hw; p++)
                for (int j = 0; j < c; j++) {
                    float v = x[(size_t)p * (size_t)c + (size_t)j];
                    if (v > y[j]) { y[j] = v; idx[j] = p; }
                }
        } else {
            for (int j = 0; j < c; j++) y[j] = 0.0f;
            for (int p = 0; p < hw; p++)
                for (int j = 0; j < c; j++) y[j] += x[(size_t)p * (size_t)c + (size_t)j];
            const float inv = 1.0f / (float)hw;
            for (int j = 0; j < c; j++) y[j] *= inv;
        }
    }
}

static void global_pool_backward(cnn_model* m, cnn_node* node, int n) {
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    cnn_node* in = &m->nodes[node->inputs[0]];
    const int c = in->c, hw = in->h * in->w;
    for (int b = 0; b < n; b++) {
        float* dx = in->grad + (size_t)b * (size_t)hw * (size_t)c;
        const float* dy = node->grad + (size_t)b * (size_t)c;
        if (node->cfg.pool.kind == CNN_POOL_MAX) {
            const int32_t* idx = node->saved_i32 + (size_t)b * (size_t)c;
            for (int j = 0; j < c; j++) dx[(size_t)idx[j] * (size_t)c + (size_t)j] += dy[j];
        } else {
            const float inv = 1.0f / (float)hw;
            for (int p = 0; p < hw; p++)
                for (int j = 0; j < c; j++) dx[(size_t)p * (size_t)c + (size_t)j] += dy[j] * inv;
        }
    }
}

const cnn_layer_ops cnn_global_pool_ops = {"globalPooling2d", global_pool_needs, global_pool_forward,
                                           global_pool_backward, 0};

int cnn_model_add_global_pool2d(cnn_model* m, int input, int kind) {
    const char* name = kind == CNN_POOL_AVG ? "globalAveragePooling2d" : "globalMaxPooling2d";
    cnn_status status = cnn_graph_check_input(m, input, name);
    if (status != CNN_STATUS_OK) return -status;
    if (kind != CNN_POOL_MAX && kind != CNN_POOL_AVG)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "globalPooling2d: unknown pooling kind %d", kind);
    int id = cnn_graph_add_node(m, &cnn_global_pool_ops, &input, 1, 1, 1, m->nodes[input].c);
    if (id >= 0) m->nodes[id].cfg.pool.kind = kind;
    return id;
}

/* Max-unpooling (SegNet): scatters the values through the argmax indices its mirror max-pool node recorded in this
 * same forward pass; zeros elsewhere. Backward gathers through the same indices. inputs: [values, pool]. */
static void unpool_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* values = &m->nodes[node->inputs[0]];
    const cnn_node* pool = &m->nodes[node->inputs[1]];
    cnn_max_unpool_threaded(n, values->h, values->w, values->c, node->h, node->w, 0, values->out, pool->saved_i32,
                            node->out);
}

static void unpool_backward(cnn_model* m, cnn_node* node, int n) {
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    cnn_node* values = &m->nodes[node->inputs[0]];
    const cnn_node* pool = &m->nodes[node->inputs[1]];
    /* Gather-add: each value's gradient is the output gradient where it was placed. */
    cnn_max_unpool_threaded(n, values->h, values->w, values->c, node->h, node->w, 1, node->grad, pool->saved_i32,
                            values->grad);
}

const cnn_layer_ops cnn_max_unpool_ops = {"maxUnpooling2d", NULL, unpool_forward, unpool_backward, 0};

int cnn_model_add_max_unpool2d(cnn_model* m, int values, int pool) {
    cnn_status status = cnn_graph_check_input(m, values, "maxUnpooling2d");
    if (status == CNN_STATUS_OK) status = cnn_graph_check_input(m, pool, "maxUnpooling2d");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* p = &m->nodes[pool];
    const cnn_node* v = &m->nodes[values];
    if (p->ops != &cnn_pool2d_ops || p->cfg.pool.kind != CNN_POOL_MAX)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "maxUnpooling2d: node %d is a %s, not a max pooling whose indices "
                         "can be reused", pool, p->ops->name);
    if (v->h != p->h || v->w != p->w || v->c != p->c)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "maxUnpooling2d: values of shape [%d, %d, %d] do not match the "
                         "pooling output [%d, %d, %d] whose indices they reuse", v->h, v->w, v->c, p->h, p->w, p->c);
    const cnn_node* pooled_input = &m->nodes[p->inputs[0]];
    int inputs[2] = {values, pool};
    return cnn_graph_add_node(m, &cnn_max_unpool_ops, inputs, 2, pooled_input->h, pooled_input->w, v->c);
}
