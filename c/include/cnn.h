/* wasm-cnn engine: the public C API.
 *
 *   cnn_model* m = cnn_model_create(42);                       // seed for initialisation and dropout
 *   int x  = cnn_model_add_input(m, 28, 28, 1);
 *   int c1 = cnn_model_add_conv2d(m, x, 6, 5, 5, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
 *   int a1 = cnn_model_add_activation(m, c1, CNN_ACT_RELU, 0.0f);
 *   ...
 *   cnn_model_set_output(m, logits);
 *   cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &optimizer_config);
 *   cnn_model_plan(m, 64, 1);                                    // buffers for batches up to 64, with gradients
 *   cnn_model_train_step(m, images, labels, 64, stats);          // forward, loss, backward, update: no allocation
 *
 * Conventions: tensors are f32 NHWC. Functions that add nodes return the new node's id (>= 0) or a negative
 * cnn_status. Every other function returns a cnn_status; on failure cnn_last_error() holds a message naming the
 * node and the expected and actual values. The model owns every buffer it hands out (parameter and input/output
 * pointers stay valid until the next cnn_model_plan or cnn_model_free). Nothing here aborts on bad input. */
#ifndef CNN_H
#define CNN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cnn_status {
    CNN_STATUS_OK = 0,
    CNN_STATUS_INVALID_ARG = 1,     /* a parameter out of range */
    CNN_STATUS_INVALID_SHAPE = 2,   /* shapes do not fit together */
    CNN_STATUS_OUT_OF_MEMORY = 3,
    CNN_STATUS_INVALID_STATE = 4,   /* called in the wrong order, e.g. train before compile */
    CNN_STATUS_NON_FINITE = 5,      /* NaN or infinity where a finite number is required */
} cnn_status;

typedef enum cnn_padding { CNN_PADDING_VALID = 0, CNN_PADDING_SAME = 1 } cnn_padding;

typedef enum cnn_activation {
    CNN_ACT_LINEAR = 0,
    CNN_ACT_RELU = 1,
    CNN_ACT_SIGMOID = 2,
    CNN_ACT_TANH = 3,
    CNN_ACT_SOFTMAX = 4,     /* over the last (channel) axis */
    CNN_ACT_LEAKY_RELU = 5,  /* alpha = negative slope */
} cnn_activation;

typedef enum cnn_init {
    CNN_INIT_ZEROS = 0,
    CNN_INIT_ONES = 1,
    CNN_INIT_GLOROT_UNIFORM = 2,
    CNN_INIT_GLOROT_NORMAL = 3,   /* truncated normal, as tfjs */
    CNN_INIT_HE_NORMAL = 4,       /* truncated normal, as tfjs */
    CNN_INIT_HE_UNIFORM = 5,
    CNN_INIT_BILINEAR = 6,        /* transposed convolution only: FCN's bilinear upsampling kernel */
} cnn_init;

typedef enum cnn_pool_kind { CNN_POOL_MAX = 0, CNN_POOL_AVG = 1 } cnn_pool_kind;

typedef enum cnn_loss {
    CNN_LOSS_SPARSE_CE = 0,       /* int32 labels; softmax fused when the output node is a softmax */
    CNN_LOSS_CATEGORICAL_CE = 1,  /* f32 one-hot (or soft) targets of the output's shape */
    CNN_LOSS_MSE = 2,             /* f32 targets of the output's shape */
} cnn_loss;

typedef enum cnn_optimizer_kind { CNN_OPT_SGD = 0, CNN_OPT_MOMENTUM = 1, CNN_OPT_ADAM = 2 } cnn_optimizer_kind;

typedef struct cnn_optimizer_config {
    int32_t kind;          /* cnn_optimizer_kind */
    float learning_rate;
    float momentum;        /* CNN_OPT_MOMENTUM */
    int32_t nesterov;      /* CNN_OPT_MOMENTUM */
    float beta1, beta2, epsilon; /* CNN_OPT_ADAM */
    float weight_decay;    /* L2 added to the gradient (PyTorch's weight_decay); 0 = off */
    float clip_norm;       /* clip the global gradient norm to this (PyTorch clip_grad_norm_); 0 = off */
} cnn_optimizer_config;

typedef struct cnn_model cnn_model;

/* Message of the last failure in this thread (static storage, overwritten by the next failure). */
const char* cnn_last_error(void);

/* Returns NULL when out of memory. The caller owns the model: free it with cnn_model_free. */
cnn_model* cnn_model_create(uint32_t seed);
void cnn_model_free(cnn_model* m);

/* ---- building the graph (each returns the node id or a negative cnn_status) ---- */
int cnn_model_add_input(cnn_model* m, int h, int w, int c);
int cnn_model_add_conv2d(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw, int dh, int dw,
                         int padding, int use_bias, int kernel_init);
int cnn_model_add_pool2d(cnn_model* m, int input, int kind, int ph, int pw, int sh, int sw, int padding);
int cnn_model_add_dense(cnn_model* m, int input, int units, int use_bias, int kernel_init);
int cnn_model_add_flatten(cnn_model* m, int input);
int cnn_model_add_dropout(cnn_model* m, int input, float rate);
int cnn_model_add_activation(cnn_model* m, int input, int activation, float alpha);
/* Batch normalization over the channel axis (tfjs defaults: momentum 0.99, epsilon 1e-3). */
int cnn_model_add_batchnorm(cnn_model* m, int input, float momentum, float epsilon, int center, int scale);
/* Elementwise sum of n_inputs nodes of the same shape (residual connections). */
int cnn_model_add_add(cnn_model* m, const int32_t* inputs, int n_inputs);
/* Concatenation along the channel axis of nodes with the same height and width (Inception). */
int cnn_model_add_concat(cnn_model* m, const int32_t* inputs, int n_inputs);
/* Global average or max pooling over height and width: output 1×1×c. */
int cnn_model_add_global_pool2d(cnn_model* m, int input, int kind);
/* Zero padding of height and width. */
int cnn_model_add_zero_padding2d(cnn_model* m, int input, int top, int bottom, int left, int right);
/* Transposed convolution (tfjs conv2dTranspose; kernel [kh, kw, filters, in_channels]). */
int cnn_model_add_conv2d_transpose(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw, int padding,
                                   int use_bias, int kernel_init);
/* Upsampling by integer factors: nearest neighbour or bilinear (tfjs's resizeBilinear, align_corners false). */
int cnn_model_add_upsampling2d(cnn_model* m, int input, int fh, int fw, int bilinear);
/* Max-unpooling (SegNet): values (shaped like the pool's output) are put back where the max-pool node `pool`
 * found its maxima, zeros elsewhere; the output has the pool's input size. */
int cnn_model_add_max_unpool2d(cnn_model* m, int values, int pool);
cnn_status cnn_model_set_output(cnn_model* m, int node);

/* Output shape of a node (per sample): h, w, c. Dense and flatten outputs are 1×1×c. */
cnn_status cnn_model_node_shape(const cnn_model* m, int node, int32_t* hwc3);

/* ---- parameters, in tfjs getWeights() order: per node in creation order, kernel then bias ---- */
int cnn_model_param_count(const cnn_model* m);
/* Writes ndim and dims (up to 4) and returns the parameter's data (owned by the model), or NULL if index is bad. */
float* cnn_model_param(cnn_model* m, int index, int32_t* ndim, int32_t* dims4);
/* The gradient buffer of parameter index after the last backward pass (NULL before planning with gradients). */
float* cnn_model_param_grad(cnn_model* m, int index);
/* Per-class counts accumulated by every loss computation (train_step, evaluate) since the last call, for
 * segmentation metrics: out[0..c) true positives, out[c..2c) predicted count, out[2c..3c) true count, where c is
 * the number of output classes. Resets the counts. Cross-entropy losses only. */
cnn_status cnn_model_take_class_counts(cnn_model* m, float* out);
/* Writes the L2 norm of every parameter's gradient from the last backward pass (before clipping and weight
 * decay) into norms[param_count]; for watching gradients vanish or explode layer by layer. */
cnn_status cnn_model_grad_norms(const cnn_model* m, float* norms);
/* Node that owns parameter index. */
int cnn_model_param_node(const cnn_model* m, int index);
/* 1 when the parameter is layer state updated outside the optimizer (batch norm's moving statistics). */
int cnn_model_param_is_state(const cnn_model* m, int index);
cnn_status cnn_model_set_trainable(cnn_model* m, int node, int trainable);

/* ---- training set-up ---- */
cnn_status cnn_model_compile(cnn_model* m, int loss, const cnn_optimizer_config* opt);
/* Plans activation (and with_grads: gradient) buffers for batches of up to capacity samples. Allocates; every
 * call below with n <= capacity then runs without allocating. */
cnn_status cnn_model_plan(cnn_model* m, int capacity, int with_grads);
/* The model-owned input buffer (capacity × input size floats) and the output node's buffer. */
float* cnn_model_input_buffer(cnn_model* m);
float* cnn_model_output_buffer(cnn_model* m);
/* A label buffer of capacity × (output rows) int32 (sparse) or capacity × output-size floats (other losses). */
void* cnn_model_label_buffer(cnn_model* m);
/* The input gradient of the last backward pass (capacity × input size floats). */
float* cnn_model_input_grad_buffer(cnn_model* m);
/* Changes the learning rate between steps (schedules); the optimizer state is kept. */
cnn_status cnn_model_set_learning_rate(cnn_model* m, float learning_rate);
/* Re-seeds the training-time randomness (dropout). */
void cnn_model_set_seed(cnn_model* m, uint32_t seed);
/* Per-class weights of sparse cross-entropy (count = output classes; count 0 removes them), and a label value whose
 * rows are ignored (PyTorch's ignore_index). The loss is the weighted mean over the rows that count. */
cnn_status cnn_model_set_class_weights(cnn_model* m, const float* weights, int count);
cnn_status cnn_model_set_ignore_label(cnn_model* m, int enabled, int label);

/* stats (may be NULL): [0] = mean loss over the batch, [1] = number of correct predictions, [2] = number of
 * predictions counted (samples, or pixels for per-pixel outputs), [3] = global gradient norm before clipping. */
cnn_status cnn_model_train_step(cnn_model* m, int n, float* stats);
/* Forward and backward without an update (gradients left in the grad buffers); training-mode forward. */
cnn_status cnn_model_compute_gradients(cnn_model* m, int n, float* stats);
/* Inference-mode forward of the n samples in the input buffer into the output buffer. */
cnn_status cnn_model_forward(cnn_model* m, int n);
/* Inference-mode forward plus loss and accuracy counts into stats (as for train_step; [3] unused). */
cnn_status cnn_model_evaluate(cnn_model* m, int n, float* stats);

#ifdef __cplusplus
}
#endif
#endif
