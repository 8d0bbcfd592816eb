/* Engine internals shared by the graph, the layers, the losses and the optimizers. Not part of the public API. */
#ifndef CNN_INTERNAL_H
#define CNN_INTERNAL_H

#include <assert.h> /* internal invariants only, checked in debug builds (the release wasm has -DNDEBUG) */
#include <stddef.h>
#include <stdint.h>

#include "cnn.h"
#include "rng.h"

/* Floats allocated beyond what a layer's kernels use in the shared scratch space: cnn_scratch() moves the start up
 * to the next 64-byte boundary (at most 15 floats), and kernels read whole 4-float vectors at the end of their
 * workspace. One constant for the layers' needs and the plan. */
#define CNN_SCRATCH_SLACK_FLOATS 16

/* ---- checked sizes -------------------------------------------------------------------------------------------------
 * Every buffer size is computed in 64 bits with saturation (a product or sum that overflows becomes UINT64_MAX) and
 * compared with CNN_MAX_BUFFER_BYTES / CNN_MAX_PLAN_BYTES before anything is allocated. The ceilings are the same
 * on every platform (wasm32's 4 GiB), so native tests and the fuzzer meet the limits wasm meets. */
static inline uint64_t cnn_size_mul(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}
static inline uint64_t cnn_size_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }
static inline uint64_t cnn_max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
/* Whether `bytes` may be one allocation (then it also fits size_t on every platform). */
static inline int cnn_size_fits(uint64_t bytes) { return bytes <= CNN_MAX_BUFFER_BYTES; }

typedef struct cnn_model cnn_model;
typedef struct cnn_node cnn_node;

/* What a layer needs beyond its output and gradient buffers, for batches of up to `capacity` samples. */
typedef struct cnn_layer_needs {
    uint64_t scratch_floats; /* shared between layers: valid only during one forward or backward call */
    uint64_t saved_floats;   /* owned by the node: kept from forward to backward (dropout mask, ...) */
    uint64_t saved_ints;     /* owned by the node (max-pool argmax indices, ...) */
} cnn_layer_needs; /* 64-bit (saturating) so that the plan can refuse sizes past its ceilings instead of wrapping */

/* One layer family's behaviour. forward writes node->out; backward reads node->grad and ADDS into its inputs'
 * gradients (darknet's rule), which makes fan-out, residual add and concat correct without special cases.
 * Node gradients are not zeroed in bulk before the backward walk (for a ResNet-20 step at batch 32 that was 88 MB
 * of memset, 4% of the step): the walk zeroes an input's gradient just before the first layer that adds into it.
 * A layer with writes_grads set does that itself, per input it writes: cnn_grad_claim() says whether it is the
 * first writer, which then overwrites (=) instead of adding; a path of it that only adds calls cnn_grad_prepare(). */
typedef struct cnn_layer_ops {
    const char* name;
    cnn_layer_needs (*needs)(const cnn_model* m, const cnn_node* node, int capacity);
    void (*forward)(cnn_model* m, cnn_node* node, int n, int training);
    void (*backward)(cnn_model* m, cnn_node* node, int n);
    int writes_grads; /* backward claims or prepares each input gradient it writes (see above) */
} cnn_layer_ops;

typedef struct cnn_conv_cfg {
    int filters, kh, kw, sh, sw, dh, dw, padding, use_bias;
    int pad_top, pad_left, oh, ow;
} cnn_conv_cfg;

typedef struct cnn_pool_cfg {
    int kind, ph, pw, sh, sw, padding;
    int pad_top, pad_left;
    int pad_bottom, pad_right, ceil_mode, count_include_pad; /* explicit pooling (cnn_model_add_pool2d_explicit) */
} cnn_pool_cfg;

typedef struct cnn_dense_cfg { int units, use_bias; } cnn_dense_cfg;
typedef struct cnn_act_cfg { int kind; float alpha; } cnn_act_cfg;
typedef struct cnn_dropout_cfg { float rate; } cnn_dropout_cfg;
typedef struct cnn_bn_cfg { float momentum, epsilon; int center, scale; } cnn_bn_cfg;
typedef struct cnn_pad_cfg { int top, bottom, left, right; } cnn_pad_cfg;
typedef struct cnn_upsample_cfg { int fh, fw, bilinear; } cnn_upsample_cfg;

struct cnn_node {
    int id;
    const cnn_layer_ops* ops;
    int inputs[CNN_MAX_INPUTS];
    int n_inputs;
    int h, w, c;          /* output shape of one sample */
    int first_param, n_params;
    int trainable;
    float* out;           /* capacity × size; for the input node: the model's input buffer */
    int out_owned;        /* out is this node's allocation (else a shared slot of an inference plan: m->act_slots) */
    float* grad;          /* capacity × size, or NULL when planned without gradients */
    int grad_written;     /* this backward walk has written grad (else its contents are stale) */
    float* saved;         /* see cnn_layer_needs */
    uint64_t saved_floats; /* its size */
    int32_t* saved_i32;
    /* Caches derived from the node's weights inside `saved` (conv: Winograd-transformed kernels, or the GEMM's packed
     * kernel; dense: its packed kernel), one per kind: the m->weights_version they were computed from, 0 = not
     * computed since the plan allocated them. */
    uint64_t cache_version[2];
    union {
        cnn_conv_cfg conv;
        cnn_pool_cfg pool;
        cnn_dense_cfg dense;
        cnn_act_cfg act;
        cnn_dropout_cfg dropout;
        cnn_bn_cfg bn;
        cnn_pad_cfg pad;
        cnn_upsample_cfg up;
    } cfg;
};

typedef struct cnn_param {
    int node;
    int ndim;
    int32_t dims[4];
    int size;
    int fan_in, fan_out;
    int decays;   /* weight decay applies (kernels yes, biases no, as PyTorch users usually set it up) */
    int is_state; /* updated by its layer, not by the optimizer (batch norm's moving statistics) */
    float* data;
    float* grad;  /* NULL until planned with gradients */
    float* m1;    /* optimizer state: momentum / Adam first moment */
    float* m2;    /* Adam second moment */
} cnn_param;

struct cnn_model {
    cnn_node* nodes;
    int n_nodes, nodes_cap;
    cnn_param* params;
    int n_params, params_cap;
    int input_node;
    int output_node;
    int output_before_add; /* output_node before the last node was added, restored if adding it fails */
    cnn_rng rng;          /* initialisation */
    cnn_rng dropout_rng;  /* training-time randomness, re-seedable per fit */

    int compiled;
    int loss;
    cnn_optimizer_config opt;
    int64_t step;         /* optimizer steps taken (Adam bias correction) */
    float* class_weights; /* NULL or one weight per output class (sparse cross-entropy) */
    int n_class_weights;  /* as many as the output had classes when they were set */
    double* class_counts; /* 3 × classes: true positives, predicted, true, of the last loss computation; then
                           * one such slice per thread of the plan (the loss's scratch), every slice
                           * cnn_class_count_stride doubles from the last */
    int stats_class_counts; /* cnn_model_set_stats: the stats vector carries class counts */
    int stats_grad_norms;   /* ... and per-parameter gradient norms */
    int has_ignore_label;
    int ignore_label;     /* sparse labels equal to this count neither in the loss nor in accuracy */

    int capacity;         /* planned batch capacity, 0 = not planned */
    int with_grads;
    int want_input_grad;  /* backward also computes d loss / d input */
    int updating;         /* inside train_step: layers may update their state (batch norm statistics) */
    int plan_with_grads;  /* the plan being sized has gradients (read by needs(); m->with_grads is the current plan's) */
    int winograd_off;     /* cnn_model_set_winograd(m, 0): 3x3 convolutions take the direct / GEMM reference path */
    int vouch_output;     /* predict's forward: the output node's layer may check its output as it stores it ... */
    int output_vouched;   /* ... and did: every value of the output is finite (predict then skips its own scan) */
    uint64_t weights_version; /* bumped whenever parameters may have changed: caches derived from them compare it */
    float** act_slots;    /* inference plans: activation buffers shared by nodes whose lifetimes do not overlap */
    int n_act_slots;
    float* scratch;
    size_t scratch_floats; /* usable floats from cnn_thread_scratch(m, t) on, for each of `threads` threads */
    int threads;          /* pool size the scratch space was planned for (parallel.h) */
    float* input_grad;
    void* labels;
};

/* Parameters may have changed (optimizer step, a pointer handed out for writing): derived caches are stale. */
static inline void cnn_weights_changed(cnn_model* m) { m->weights_version++; }

static inline int cnn_node_size(const cnn_node* node) { return node->h * node->w * node->c; }

/* Whether this node's forward should check its output for predict (it is the output, and predict asked): a layer
 * that can do so while its output is in cache sets m->output_vouched when every value came out finite. */
static inline int cnn_vouch_wanted(const cnn_model* m, const cnn_node* node) {
    return m->vouch_output && node == &m->nodes[m->output_node];
}

/* Whether backward must produce the gradient of node `id` (the model input's only when asked for). */
static inline int cnn_wants_grad(const cnn_model* m, int id) { return id != m->input_node || m->want_input_grad; }

/* For a layer's backward (writes_grads): 1 when nothing has written node id's gradient in this walk yet, so the
 * caller must overwrite all n samples of it (=) rather than add; 0 when it must add. Either way the gradient counts
 * as written afterwards. Call on the engine's thread before starting the pass, once per input written (an input
 * listed twice: the first listing overwrites, the second adds). graph.c. */
int cnn_grad_claim(cnn_model* m, int id);

/* For a pass that only adds into node id's gradient: zeroes it (n samples, threaded) when nothing has written it in
 * this walk yet. graph.c. */
void cnn_grad_prepare(cnn_model* m, int id, int n);

/* Rows of the patch matrix processed at once by the convolutions (conv.c, conv_transpose.c): about 64K floats
 * (256 KiB, L2-resident) of patches, at least 16 rows, a multiple of the GEMM's 8-row tiles, at most M. */
static inline int cnn_patch_chunk_rows(int K, int M) {
    int rows = (64 * 1024) / (K > 0 ? K : 1);
    if (rows < 16) rows = 16;
    rows -= rows % 8;
    return rows < M ? rows : M;
}

/* Floats that `rows` rows of the patch matrix (K each) take at the start of the scratch space, rounded up to 16 so
 * that the GEMM workspace placed after them stays 64-byte aligned. 64-bit: 16 rows of a 2^28-float kernel pass 2^32. */
static inline uint64_t cnn_patch_chunk_floats(int rows, int K) {
    return ((uint64_t)rows * (uint64_t)K + 15) & ~(uint64_t)15;
}

/* The shared scratch space, aligned to 64 bytes (the plan allocates CNN_SCRATCH_SLACK_FLOATS spare floats). */
static inline float* cnn_scratch(cnn_model* m) {
    uintptr_t p = (uintptr_t)m->scratch;
    return (float*)((p + 63u) & ~(uintptr_t)63u);
}

/* error.c: formats the thread's error message and returns the status, so callers can `return cnn_fail(...)`. */
cnn_status cnn_fail(cnn_status status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* graph.c */
int cnn_graph_add_node(cnn_model* m, const cnn_layer_ops* ops, const int* inputs, int n_inputs, int h, int w, int c);
int cnn_graph_add_param(cnn_model* m, int node, int ndim, const int32_t* dims, int fan_in, int fan_out, int init,
                        int decays);
/* Removes the node just added (and its parameters) after a later step of adding it failed; returns status. */
int cnn_graph_rollback(cnn_model* m, int node, int status);
cnn_status cnn_graph_check_input(const cnn_model* m, int input, const char* layer);
void cnn_graph_forward(cnn_model* m, int n, int training);
void cnn_graph_backward(cnn_model* m, int n, int start_node);

/* Output size of a windowed op along one axis, and the padding before it (tfjs/TensorFlow rules). Returns the output
 * size, or 0 when the effective window does not fit. */
int cnn_window_out(int in, int k, int stride, int dilation, int padding, int* pad_before);

/* Layer families (one file each in layers/). */
extern const cnn_layer_ops cnn_input_ops;
extern const cnn_layer_ops cnn_conv2d_ops;
extern const cnn_layer_ops cnn_pool2d_ops;
extern const cnn_layer_ops cnn_dense_ops;
extern const cnn_layer_ops cnn_flatten_ops;
extern const cnn_layer_ops cnn_dropout_ops;
extern const cnn_layer_ops cnn_activation_ops;
extern const cnn_layer_ops cnn_batchnorm_ops;
extern const cnn_layer_ops cnn_add_ops;
extern const cnn_layer_ops cnn_concat_ops;
extern const cnn_layer_ops cnn_global_pool_ops;
extern const cnn_layer_ops cnn_zero_pad_ops;
extern const cnn_layer_ops cnn_conv2d_transpose_ops;
extern const cnn_layer_ops cnn_upsampling_ops;
extern const cnn_layer_ops cnn_max_unpool_ops;

/* activation.c: applies an activation over rows of `c` channels (softmax needs the row). */
void cnn_activation_forward(int kind, float alpha, size_t count, int c, const float* x, float* y);

/* init.c */
int cnn_init_is_valid(int init);
void cnn_init_fill(cnn_rng* rng, int init, int fan_in, int fan_out, float* data, int size);

/* loss.c: computes the loss of the output node against the label buffer, writes d loss / d (start node output)
 * into the gradient of the returned start node (when grads != 0), fills the stats header's loss, correct and counted,
 * and leaves this call's per-class counts in m->class_counts. Returns the node where
 * backward begins (the softmax's input when softmax and cross-entropy are fused). */
int cnn_loss_compute(cnn_model* m, int n, int grads, float* stats);

/* Doubles from one slice of m->class_counts to the next: the 3 × classes counts and a cache line (8 doubles) of gap,
 * so that two threads counting into neighbouring slices never write the same line (whatever the allocation's
 * alignment): with 4 classes, slices 96 bytes apart shared lines, and SegNet's loss ran no faster on two threads
 * than on one. */
static inline size_t cnn_class_count_stride(int classes) { return ((size_t)3 * (size_t)classes + 7) / 8 * 8 + 8; }

/* optim.c: global gradient norm, clipping, weight decay, update. Returns the norm before clipping. */
float cnn_optimizer_step(cnn_model* m);

#endif
