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
 *   float* stats = malloc(cnn_model_stats_count(m) * sizeof(float));
 *   for (each batch of n <= 64 samples) {
 *       memcpy(cnn_model_input_buffer(m), images, ...);          // n × 28 × 28 × 1 floats
 *       memcpy(cnn_model_label_buffer(m), labels, ...);          // n int32 class indices (sparse cross-entropy)
 *       cnn_model_train_step(m, n, stats);                       // forward, loss, backward, update: no allocation
 *       // stats[CNN_STATS_LOSS], stats[CNN_STATS_CORRECT] / stats[CNN_STATS_COUNTED], ...
 *   }
 *   cnn_model_free(m);
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

/* Version of the binary interface below (structs, enums, stats layout, signatures); cnn_abi_json() reports it. */
#define CNN_ABI_VERSION 2

/* ---- limits -------------------------------------------------------------------------------------------------------
 * Everything the engine enforces, so callers can check first and name the limit (cnn_abi_json() lists them). */
#define CNN_MAX_DIM 65536            /* largest height, width or channel count of any tensor; filters and units */
#define CNN_MAX_KERNEL 65536         /* conv kernel size and its dilated span ((k - 1)·dilation + 1), pool size */
#define CNN_MAX_STRIDE 65536         /* conv / pool strides, dilation */
#define CNN_MAX_PADDING 65536        /* each side of zeroPadding2d */
#define CNN_MAX_TRANSPOSE_KERNEL 1024 /* conv2dTranspose kernel size and strides */
#define CNN_MAX_INPUTS 8             /* inputs of add / concat */
#define CNN_MAX_ELEMENTS (1 << 28)   /* floats of one sample's tensor at any node, or of one parameter (1 GiB) */
#define CNN_MAX_BATCH 65536          /* batch capacity of cnn_model_plan */
/* Bytes of one planned buffer (a node's activations or gradients for the whole batch, scratch space, labels): larger
 * is refused with CNN_STATUS_OUT_OF_MEMORY. 2 GiB, so byte offsets stay below 2^31 for JS typed-array views. */
#define CNN_MAX_BUFFER_BYTES ((uint64_t)1 << 31)
/* Bytes of everything one plan allocates: wasm32 addresses at most 4 GiB. The same ceilings apply natively. */
#define CNN_MAX_PLAN_BYTES ((uint64_t)1 << 32)
#define CNN_ERROR_BYTES 512          /* size of the cnn_last_error() buffer, terminating zero included */

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

/* Sampling of cnn_model_add_upsampling2d. Output index o of an axis upsampled by f from n samples source position
 * o / f (BILINEAR: tfjs's default), (o + 0.5) / f − 0.5 clamped at 0 (HALF_PIXEL: PyTorch's align_corners=False,
 * tfjs's halfPixelCenters, ONNX's half_pixel) or o·(n − 1) / (n·f − 1) (ALIGN_CORNERS); bilinear modes interpolate
 * between the two neighbours, clamped at the border. */
typedef enum cnn_upsampling_mode {
    CNN_UPSAMPLE_NEAREST = 0,
    CNN_UPSAMPLE_BILINEAR = 1,
    CNN_UPSAMPLE_BILINEAR_HALF_PIXEL = 2,
    CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS = 3,
} cnn_upsampling_mode;

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

/* Layout of the stats vector that train_step, compute_gradients and evaluate fill (cnn_model_stats_count floats):
 * a header, then optional per-class counts and per-parameter gradient norms (cnn_model_set_stats). */
typedef enum cnn_stats {
    CNN_STATS_LOSS = 0,      /* mean loss over the batch */
    CNN_STATS_CORRECT = 1,   /* correct predictions */
    CNN_STATS_COUNTED = 2,   /* predictions counted (samples, or pixels for per-pixel outputs) */
    CNN_STATS_GRAD_NORM = 3, /* global gradient norm before clipping (train_step; 0 otherwise) */
    CNN_STATS_HEADER = 4,    /* floats before the optional parts */
} cnn_stats;

typedef struct cnn_model cnn_model;

/* The ABI as JSON (static storage, built on the first call): {"abi_version", "sizeof", "offsetof", "enums", "limits"},
 * for the JS side to compare with its own tables at load time. */
const char* cnn_abi_json(void);

/* Message of the last failure in this thread (static storage, overwritten by the next failure). */
const char* cnn_last_error(void);

/* Returns NULL when out of memory. The caller owns the model: free it with cnn_model_free. */
cnn_model* cnn_model_create(uint32_t seed);
void cnn_model_free(cnn_model* m);

/* ---- building the graph (each returns the node id or a negative cnn_status) ---- */
/* The model's one input: h × w × c per sample. */
int cnn_model_add_input(cnn_model* m, int h, int w, int c);
/* 2-D convolution (tfjs conv2d; kernel [kh, kw, in_channels, filters], then bias [filters]). */
int cnn_model_add_conv2d(cnn_model* m,
                         int input,        /* node id */
                         int filters,      /* output channels, 1..CNN_MAX_DIM */
                         int kh, int kw,   /* kernel size; dilated span (k - 1)·d + 1 <= CNN_MAX_KERNEL */
                         int sh, int sw,   /* strides, 1..CNN_MAX_STRIDE */
                         int dh, int dw,   /* dilation, 1..CNN_MAX_STRIDE; > 1 only with strides 1 (tfjs) */
                         int padding,      /* cnn_padding */
                         int use_bias,     /* 0 or 1 */
                         int kernel_init); /* cnn_init */
/* Max or average pooling (tfjs semantics: padded positions are never the max, never counted in the average). */
int cnn_model_add_pool2d(cnn_model* m,
                         int input,      /* node id */
                         int kind,       /* cnn_pool_kind */
                         int ph, int pw, /* window, 1..CNN_MAX_KERNEL */
                         int sh, int sw, /* strides, 1..CNN_MAX_STRIDE */
                         int padding);   /* cnn_padding */
/* Fully connected (kernel [input size, units], then bias [units]); the input is read flat in NHWC order. */
int cnn_model_add_dense(cnn_model* m,
                        int input,        /* node id */
                        int units,        /* 1..CNN_MAX_DIM */
                        int use_bias,     /* 0 or 1 */
                        int kernel_init); /* cnn_init */
int cnn_model_add_flatten(cnn_model* m, int input);
int cnn_model_add_dropout(cnn_model* m, int input, float rate);
int cnn_model_add_activation(cnn_model* m, int input, int activation, float alpha);
/* Batch normalization over the channel axis (tfjs defaults: momentum 0.99, epsilon 1e-3). */
int cnn_model_add_batchnorm(cnn_model* m,
                            int input,      /* node id */
                            float momentum, /* moving-statistics momentum, [0, 1] */
                            float epsilon,  /* > 0, finite */
                            int center,     /* learn beta (0 or 1) */
                            int scale);     /* learn gamma (0 or 1) */
/* Elementwise sum of n_inputs nodes of the same shape (residual connections). */
int cnn_model_add_add(cnn_model* m, const int32_t* inputs, int n_inputs);
/* Concatenation along the channel axis of nodes with the same height and width (Inception). */
int cnn_model_add_concat(cnn_model* m, const int32_t* inputs, int n_inputs);
/* Global average or max pooling over height and width: output 1×1×c. */
int cnn_model_add_global_pool2d(cnn_model* m, int input, int kind);
/* Zero padding of height and width (each side 0..CNN_MAX_PADDING; the result within CNN_MAX_DIM). */
int cnn_model_add_zero_padding2d(cnn_model* m, int input, int top, int bottom, int left, int right);
/* Transposed convolution (tfjs conv2dTranspose; kernel [kh, kw, filters, in_channels], then bias [filters]). */
int cnn_model_add_conv2d_transpose(cnn_model* m,
                                   int input,        /* node id */
                                   int filters,      /* output channels, 1..CNN_MAX_DIM */
                                   int kh, int kw,   /* kernel size, 1..CNN_MAX_TRANSPOSE_KERNEL */
                                   int sh, int sw,   /* strides (the upsampling factor), 1..CNN_MAX_TRANSPOSE_KERNEL */
                                   int padding,      /* cnn_padding: 'same' gives in·stride */
                                   int use_bias,     /* 0 or 1 */
                                   int kernel_init); /* cnn_init, or CNN_INIT_BILINEAR */
/* Upsampling by integer factors: nearest neighbour or bilinear (tfjs's resizeBilinear, align_corners false). */
int cnn_model_add_upsampling2d(cnn_model* m,
                               int input,      /* node id */
                               int fh, int fw, /* factors >= 1; the output within CNN_MAX_DIM */
                               int bilinear);  /* cnn_upsampling_mode (0: nearest, 1: bilinear, ...) */
/* Max-unpooling (SegNet): values (shaped like the pool's output) are put back where the max-pool node `pool`
 * found its maxima, zeros elsewhere; the output has the pool's input size. */
int cnn_model_add_max_unpool2d(cnn_model* m, int values, int pool);
/* Max or average pooling with explicit pads and ceil mode (PyTorch's MaxPool2d / AvgPool2d, ONNX's MaxPool /
 * AveragePool). Padded positions are never the max (−∞ padding); the average sums the image part of a window and
 * divides by its image positions, or with count_include_pad by its positions inside the padded image (a ceil-mode
 * overhang past the padding never counts). Output size: floor (or with ceil_mode ceil) of
 * (in + pads − window) / stride, plus 1; in ceil mode a last window that would start in the trailing padding is
 * dropped (PyTorch's rule). */
int cnn_model_add_pool2d_explicit(cnn_model* m,
                                  int input,           /* node id */
                                  int kind,            /* cnn_pool_kind */
                                  int ph, int pw,      /* window, 1..CNN_MAX_KERNEL */
                                  int sh, int sw,      /* strides, 1..CNN_MAX_STRIDE */
                                  int top, int bottom, /* pads, each 0..window − 1 */
                                  int left, int right,
                                  int ceil_mode,          /* 0 or 1 */
                                  int count_include_pad); /* 0 or 1; average pooling only */
/* Transposed convolution with PyTorch's explicit crops (ConvTranspose2d's padding) and output_padding: the full
 * output (in − 1)·stride + kernel, cropped by top / bottom / left / right, then out_pad rows / columns added at the end
 * (they receive only the bias). Output size (in − 1)·stride + kernel − top − bottom + out_pad_h, within
 * [1, CNN_MAX_DIM]; crops and output padding 0..CNN_MAX_TRANSPOSE_KERNEL. Other parameters as above. */
int cnn_model_add_conv2d_transpose_explicit(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw,
                                            int top, int bottom, int left, int right, int out_pad_h, int out_pad_w,
                                            int use_bias, int kernel_init);
cnn_status cnn_model_set_output(cnn_model* m, int node);

/* Output shape of a node (per sample): h, w, c. Dense and flatten outputs are 1×1×c. */
cnn_status cnn_model_node_shape(const cnn_model* m, int node, int32_t* hwc3);

/* ---- parameters, in tfjs getWeights() order: per node in creation order, kernel then bias ---- */
int cnn_model_param_count(const cnn_model* m);
/* Writes ndim and dims (up to 4) and returns the parameter's data (owned by the model), or NULL if index is bad.
 * The caller may write through the pointer until its next batch call (the engine then recomputes what it derives
 * from the weights, such as Winograd-transformed kernels): call this again for each later write. */
float* cnn_model_param(cnn_model* m, int index, int32_t* ndim, int32_t* dims4);
/* The gradient buffer of parameter index after the last backward pass (NULL before planning with gradients). */
float* cnn_model_param_grad(cnn_model* m, int index);
/* Node that owns parameter index. */
int cnn_model_param_node(const cnn_model* m, int index);
/* 1 when the parameter is layer state updated outside the optimizer (batch norm's moving statistics). */
int cnn_model_param_is_state(const cnn_model* m, int index);
/* Winograd F(2x2,3x3) / F(4x4,3x3) for the 3x3 stride-1 convolutions where it measured faster (the default), or
 * off (enabled = 0): every convolution then takes the direct / im2col + GEMM reference path, which rounds
 * differently (within 1e-4 relative on the tfjs cross-checks). Changing it drops the plan: plan again before the
 * next batch call. */
cnn_status cnn_model_set_winograd(cnn_model* m, int enabled);
cnn_status cnn_model_set_trainable(cnn_model* m, int node, int trainable);

/* ---- training set-up ---- */
/* Sets the loss and the optimizer; (re)allocates and zeroes the optimizer state (step 0). */
cnn_status cnn_model_compile(cnn_model* m,
                             int loss,                        /* cnn_loss */
                             const cnn_optimizer_config* opt); /* copied */
/* Plans activation (and with_grads: gradient) buffers for batches of up to capacity samples. Allocates; every
 * call below with n <= capacity then runs without allocating. Refuses (CNN_STATUS_OUT_OF_MEMORY, naming the node
 * and the size) any buffer over CNN_MAX_BUFFER_BYTES or a plan over CNN_MAX_PLAN_BYTES. */
cnn_status cnn_model_plan(cnn_model* m,
                          int capacity,    /* largest batch, 1..CNN_MAX_BATCH */
                          int with_grads); /* 1: gradient buffers too (training); 0: inference only */
/* The model-owned input buffer (capacity × input size floats) and the output node's buffer. */
float* cnn_model_input_buffer(cnn_model* m);
float* cnn_model_output_buffer(cnn_model* m);
/* A label buffer of capacity × (output rows) int32 (sparse) or capacity × output-size floats (other losses). */
void* cnn_model_label_buffer(cnn_model* m);
/* The input gradient of the last cnn_model_compute_gradients (capacity × input size floats; train_step does not
 * compute it and leaves the buffer stale). */
float* cnn_model_input_grad_buffer(cnn_model* m);
/* Changes the learning rate between steps (schedules); the optimizer state is kept. */
cnn_status cnn_model_set_learning_rate(cnn_model* m, float learning_rate);
/* Re-seeds the training-time randomness (dropout). */
void cnn_model_set_seed(cnn_model* m, uint32_t seed);
/* Per-class weights of sparse cross-entropy (count = output classes; count 0 removes them), and a label value whose
 * rows are ignored (PyTorch's ignore_index). The loss is the weighted mean over the rows that count. */
cnn_status cnn_model_set_class_weights(cnn_model* m, const float* weights, int count);
cnn_status cnn_model_set_ignore_label(cnn_model* m, int enabled, int label);

/* ---- optimizer state (for saving and restoring a training run) ---- */
/* Moment buffers per parameter: 0 for SGD, 1 for momentum (the accumulator), 2 for Adam (first, second moment);
 * 0 before compile. */
int cnn_model_optimizer_slots(const cnn_model* m);
/* The moment buffer `slot` of parameter `param` (as many floats as the parameter; owned by the model, valid until the
 * next compile or free), or NULL when either is out of range. Writable: restoring state is copying into it. */
float* cnn_model_optimizer_state(cnn_model* m, int param, int slot);
/* Optimizer steps taken since compile (Adam's t in its bias correction). */
int32_t cnn_model_optimizer_step(const cnn_model* m);
cnn_status cnn_model_set_optimizer_step(cnn_model* m, int32_t step); /* step >= 0, after compile */

/* ---- one call per batch ---- */
/* What the stats vector holds after the header: class_counts (0/1) adds 3 × classes floats, this call's per-class
 * counts (true positives [c], predicted [c], true [c] of the output's classes; cross-entropy losses, zeros for MSE);
 * grad_norms (0/1) adds param_count floats, the L2 norm of each parameter's gradient of this step before clipping and
 * weight decay (zeros for evaluate). Off by default. */
cnn_status cnn_model_set_stats(cnn_model* m, int class_counts, int grad_norms);
/* Floats of the stats vector: CNN_STATS_HEADER + (class_counts ? 3 × classes : 0) + (grad_norms ? param_count : 0),
 * with classes those of the output node; 0 for a NULL model. */
int cnn_model_stats_count(const cnn_model* m);

/* Forward, loss, backward and optimizer update of the first n samples of the input and label buffers. stats (may be
 * NULL): cnn_model_stats_count floats, see cnn_stats and cnn_model_set_stats. */
cnn_status cnn_model_train_step(cnn_model* m, int n, float* stats);
/* Forward and backward without an update (gradients left in the grad buffers); training-mode forward. stats as for
 * train_step, with CNN_STATS_GRAD_NORM 0. */
cnn_status cnn_model_compute_gradients(cnn_model* m, int n, float* stats);
/* Inference-mode forward of the n samples in the input buffer into the output buffer. CNN_STATUS_NON_FINITE when an
 * input is NaN or infinite (nothing runs), or when an output is although every input is finite (weights that
 * overflow float32; the message names the first such sample within this batch; the outputs are left in place). */
cnn_status cnn_model_forward(cnn_model* m, int n);
/* Inference-mode forward plus loss, accuracy and class counts into stats (as for train_step; gradient norm and
 * gradient norms 0). */
cnn_status cnn_model_evaluate(cnn_model* m, int n, float* stats);

#ifdef __cplusplus
}
#endif
#endif
