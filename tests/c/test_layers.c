/* Native layer tests through the public C API: central-difference gradient checks of every layer and loss (weights
 * and input), bad arguments returning status codes (never aborting), and the engine staying usable afterwards.
 * Built with ASan/UBSan by build.sh, and run under valgrind by tests/native.test.js. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "test_util.h"

typedef struct { int n; int in_size; int out_rows; int classes; int loss; } setup;

static float loss_at(cnn_model* m, const setup* s, const float* x) {
    memcpy(cnn_model_input_buffer(m), x, sizeof(float) * (size_t)s->n * (size_t)s->in_size);
    float stats[4];
    if (cnn_model_evaluate(m, s->n, stats) != CNN_STATUS_OK) return NAN;
    return stats[0];
}

/* The values perturbed: x itself (param < 0), or parameter `param`, which the model reads in place; its pointer is
 * taken again before each write, which tells the engine to recompute what it derives from the weights (Winograd). */
static float* values_of(cnn_model* m, int param, float* x) {
    int32_t ndim, dims[4];
    return param < 0 ? x : cnn_model_param(m, param, &ndim, dims);
}

/* Worst relative error between `analytic` and central differences of the loss at input x, over 12 random coordinates
 * of the values (count floats, values_of). Each is restored after use. */
static double worst_gradient_error(cnn_model* m, const setup* s, float* x, int param, const float* analytic,
                                   size_t count) {
    const float eps = 1e-2f;
    double worst = 0.0;
    for (int t = 0; t < 12; t++) {
        size_t i = (size_t)(g_lcg_state % count);
        frand();
        float keep = values_of(m, param, x)[i];
        values_of(m, param, x)[i] = keep + eps;
        float lp = loss_at(m, s, x);
        values_of(m, param, x)[i] = keep - eps;
        float lm = loss_at(m, s, x);
        values_of(m, param, x)[i] = keep;
        double numeric = ((double)lp - lm) / (2.0 * eps);
        double err = fabs(numeric - analytic[i]) / fmax(1e-2, fabs(numeric) + fabs(analytic[i]));
        if (err > worst) worst = err;
    }
    return worst;
}

/* Compares analytic gradients with central differences on a sample of coordinates of the input and every
 * parameter, from the second of two backward passes. Labels must already be in the label buffer. */
static void gradient_check(cnn_model* m, const setup* s, const char* name) {
    size_t in_count = (size_t)s->n * (size_t)s->in_size;
    float* x = malloc(in_count * sizeof(float));
    /* A first backward pass on other inputs leaves its values in every gradient buffer: the checked pass must not
     * build on them (gradients are zeroed lazily, graph.c). */
    for (size_t i = 0; i < in_count; i++) x[i] = 3.0f * frand();
    memcpy(cnn_model_input_buffer(m), x, in_count * sizeof(float));
    float stats[4];
    cnn_model_compute_gradients(m, s->n, stats);
    for (size_t i = 0; i < in_count; i++) x[i] = frand();
    memcpy(cnn_model_input_buffer(m), x, in_count * sizeof(float));
    cnn_status st = cnn_model_compute_gradients(m, s->n, stats);
    char what[160];
    snprintf(what, sizeof what, "%s: compute_gradients", name);
    expect(st == CNN_STATUS_OK, what);
    if (st != CNN_STATUS_OK) {
        free(x);
        return;
    }
    float* input_grad = malloc(in_count * sizeof(float));
    memcpy(input_grad, cnn_model_input_grad_buffer(m), in_count * sizeof(float));
    double worst = worst_gradient_error(m, s, x, -1, input_grad, in_count);
    snprintf(what, sizeof what, "%s: input gradient (worst relative error %.2e)", name, worst);
    expect(worst < 2e-2, what);

    for (int p = 0; p < cnn_model_param_count(m); p++) {
        int32_t ndim, dims[4];
        cnn_model_param(m, p, &ndim, dims);
        int size = dims[0] * dims[1] * dims[2] * dims[3];
        float* grad = malloc((size_t)size * sizeof(float));
        memcpy(grad, cnn_model_param_grad(m, p), (size_t)size * sizeof(float));
        worst = worst_gradient_error(m, s, x, p, grad, (size_t)size);
        snprintf(what, sizeof what, "%s: parameter %d gradient (worst relative error %.2e)", name, p, worst);
        expect(worst < 2e-2, what);
        free(grad);
    }
    free(input_grad);
    free(x);
}

static void fill_labels(cnn_model* m, const setup* s) {
    size_t rows = (size_t)s->n * (size_t)s->out_rows;
    if (s->loss == CNN_LOSS_SPARSE_CE) {
        int32_t* labels = cnn_model_label_buffer(m);
        for (size_t r = 0; r < rows; r++) labels[r] = (int32_t)(r * 7 % (size_t)s->classes);
    } else {
        float* targets = cnn_model_label_buffer(m);
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < s->classes; j++) {
                float v = (float)((r + (size_t)j) % (size_t)s->classes == 0);
                targets[r * (size_t)s->classes + (size_t)j] = s->loss == CNN_LOSS_MSE ? frand() : v;
            }
    }
}

static cnn_optimizer_config sgd(float lr) {
    cnn_optimizer_config opt = {CNN_OPT_SGD, lr, 0, 0, 0.9f, 0.999f, 1e-7f, 0, 0};
    return opt;
}

/* input h×w×c → body → (flatten → dense classes) → optional softmax, gradient-checked under `loss`. */
typedef int (*body_fn)(cnn_model* m, int input);

static void check_model(const char* name, int h, int w, int c, body_fn body, int classes, int act, int loss) {
    cnn_model* m = cnn_model_create(7);
    int x = cnn_model_add_input(m, h, w, c);
    int y = body(m, x);
    int f = cnn_model_add_flatten(m, y);
    int d = cnn_model_add_dense(m, f, classes, 1, CNN_INIT_GLOROT_UNIFORM);
    int out = act == CNN_ACT_LINEAR ? d : cnn_model_add_activation(m, d, act, 0.0f);
    char what[160];
    snprintf(what, sizeof what, "%s: building", name);
    expect(x >= 0 && y >= 0 && f >= 0 && d >= 0 && out >= 0, what);
    cnn_optimizer_config opt = sgd(0.01f);
    cnn_model_set_output(m, out);
    expect(cnn_model_compile(m, loss, &opt) == CNN_STATUS_OK, "compile");
    expect(cnn_model_plan(m, 3, 1) == CNN_STATUS_OK, "plan");
    setup s = {3, h * w * c, 1, classes, loss};
    fill_labels(m, &s);
    gradient_check(m, &s, name);
    cnn_model_free(m);
}

static int body_conv_same(cnn_model* m, int x) {
    int c = cnn_model_add_conv2d(m, x, 4, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    return cnn_model_add_activation(m, c, CNN_ACT_TANH, 0.0f);
}
static int body_conv_stride(cnn_model* m, int x) {
    return cnn_model_add_conv2d(m, x, 5, 5, 3, 2, 2, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_HE_NORMAL);
}
static int body_conv_dilated(cnn_model* m, int x) {
    return cnn_model_add_conv2d(m, x, 3, 3, 3, 1, 1, 2, 2, CNN_PADDING_VALID, 0, CNN_INIT_GLOROT_NORMAL);
}
static int body_conv_pointwise(cnn_model* m, int x) {
    int c = cnn_model_add_conv2d(m, x, 6, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_HE_UNIFORM);
    return cnn_model_add_activation(m, c, CNN_ACT_SIGMOID, 0.0f);
}
static int body_avgpool(cnn_model* m, int x) {
    return cnn_model_add_pool2d(m, x, CNN_POOL_AVG, 3, 3, 2, 2, CNN_PADDING_SAME);
}
static int body_maxpool(cnn_model* m, int x) {
    return cnn_model_add_pool2d(m, x, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PADDING_VALID);
}
static int body_leaky(cnn_model* m, int x) { return cnn_model_add_activation(m, x, CNN_ACT_LEAKY_RELU, 0.2f); }
static int body_dropout0(cnn_model* m, int x) { return cnn_model_add_dropout(m, x, 0.0f); }

/* Explicit pooling: asymmetric pads, ceil-mode windows hanging over the end, count_include_pad both ways. */
static int body_maxpool_explicit(cnn_model* m, int x) {
    return cnn_model_add_pool2d_explicit(m, x, CNN_POOL_MAX, 3, 2, 2, 2, 2, 1, 0, 1, 1, 0);
}
static int body_avgpool_include_pad(cnn_model* m, int x) {
    return cnn_model_add_pool2d_explicit(m, x, CNN_POOL_AVG, 3, 3, 2, 2, 1, 2, 0, 1, 1, 1);
}
static int body_avgpool_exclude_pad(cnn_model* m, int x) {
    return cnn_model_add_pool2d_explicit(m, x, CNN_POOL_AVG, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0);
}
/* PyTorch's ConvTranspose2d(k=3, s=2, p=1, output_padding=1), and an asymmetric crop. */
static int body_tconv_explicit(cnn_model* m, int x) {
    return cnn_model_add_conv2d_transpose_explicit(m, x, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, CNN_INIT_GLOROT_UNIFORM);
}
static int body_tconv_asymmetric(cnn_model* m, int x) {
    return cnn_model_add_conv2d_transpose_explicit(m, x, 2, 4, 3, 2, 3, 2, 0, 0, 1, 0, 2, 1, CNN_INIT_HE_NORMAL);
}
static int body_upsample_half_pixel(cnn_model* m, int x) {
    return cnn_model_add_upsampling2d(m, x, 2, 3, CNN_UPSAMPLE_BILINEAR_HALF_PIXEL);
}
static int body_upsample_align_corners(cnn_model* m, int x) {
    return cnn_model_add_upsampling2d(m, x, 3, 2, CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS);
}

/* Output sizes and refusals of the explicit variants. */
/* Gradients are zeroed lazily (graph.c): the first layer to write one overwrites it, later ones add. This graph
 * has each order: r feeds an add (walked first: writes r's gradient) and a conv (then adds, Winograd at 8 channels);
 * the input's only writer is a Winograd conv (writes); add and concatenate take the same input twice (write, then
 * add); average pooling (which adds into zeros) and a conv 1x1 (pointwise GEMM, writes) share their input; and a dead
 * branch (a conv the loss never reads) must leave zeros, not stale values, in its parameter gradient. */
static int body_lazy_gradients(cnn_model* m, int x) {
    int c1 = cnn_model_add_conv2d(m, x, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    int r = cnn_model_add_activation(m, c1, CNN_ACT_TANH, 0.0f); /* smooth: finite differences across a ReLU kink fail */
    int c2 = cnn_model_add_conv2d(m, r, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 0, CNN_INIT_GLOROT_UNIFORM);
    int32_t sum_in[2] = {c2, r};
    int s = cnn_model_add_add(m, sum_in, 2);
    int32_t twice[2] = {s, s};
    int d = cnn_model_add_add(m, twice, 2);
    int e = cnn_model_add_concat(m, twice, 2);
    cnn_model_add_conv2d(m, d, 2, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_GLOROT_UNIFORM); /* dead */
    int p = cnn_model_add_pool2d(m, e, CNN_POOL_AVG, 2, 2, 2, 2, CNN_PADDING_VALID);
    int q = cnn_model_add_conv2d(m, e, 4, 1, 1, 2, 2, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_GLOROT_UNIFORM);
    int32_t cat_in[2] = {p, q};
    return cnn_model_add_concat(m, cat_in, 2);
}

/* Per-pixel labels are checked in parts (loss.c): the first bad label in row order is the one reported, wherever
 * the part boundaries fall, an ignored label is not one, nothing is updated, and ignored pixels get zero gradients. */
static void test_pixel_label_checks(void) {
    cnn_model* m = cnn_model_create(3);
    int x = cnn_model_add_input(m, 16, 16, 2);
    int y = cnn_model_add_conv2d(m, x, 3, 1, 1, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    cnn_optimizer_config opt = sgd(0.1f);
    int ok = y >= 0 && cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &opt) == CNN_STATUS_OK &&
             cnn_model_set_ignore_label(m, 1, 255) == CNN_STATUS_OK && cnn_model_plan(m, 4, 1) == CNN_STATUS_OK;
    if (ok) {
        float* in = cnn_model_input_buffer(m);
        for (int i = 0; i < 4 * 256 * 2; i++) in[i] = frand();
        int32_t* labels = cnn_model_label_buffer(m);
        for (int i = 0; i < 4 * 256; i++) labels[i] = i % 40 == 0 ? 255 : i % 3;
        labels[3 * 256 + 200] = -1; /* sample 3, the last part of 256 rows */
        labels[3 * 256 + 250] = 7;
        int32_t ndim, dims[4];
        const float w0 = cnn_model_param(m, 0, &ndim, dims)[0];
        float stats[4];
        ok &= cnn_model_train_step(m, 4, stats) == CNN_STATUS_INVALID_ARG &&
              strstr(cnn_last_error(), "label -1 of sample 3") != NULL && cnn_model_param(m, 0, &ndim, dims)[0] == w0;
        labels[2 * 256 + 17] = 3; /* now an earlier part has one too */
        ok &= cnn_model_evaluate(m, 4, stats) == CNN_STATUS_INVALID_ARG &&
              strstr(cnn_last_error(), "label 3 of sample 2") != NULL;
        labels[2 * 256 + 17] = 0, labels[3 * 256 + 200] = 1, labels[3 * 256 + 250] = 2;
        ok &= cnn_model_train_step(m, 4, stats) == CNN_STATUS_OK && stats[2] == 4 * 256 - 26; /* 26 ignored */
        /* Every pixel ignored after a pass that wrote the logits' gradient: the loss writes zeros for ignored
         * rows (it is that gradient's only writer), so the kernel's gradient is exactly zero, not stale. */
        for (int i = 0; i < 4 * 256; i++) labels[i] = 255;
        ok &= cnn_model_compute_gradients(m, 4, stats) == CNN_STATUS_OK && stats[2] == 0;
        const float* dw = cnn_model_param_grad(m, 0);
        for (int i = 0; i < 2 * 3; i++) ok &= dw[i] == 0.0f;
    }
    cnn_model_free(m);
    report(ok, "per-pixel labels: the first out of range in row order is reported (not the part's), ignored labels "
               "are not counted, no update on error, zero gradients when all are ignored");
}

static void test_explicit_variants(void) {
    cnn_model* m = cnn_model_create(1);
    int x = cnn_model_add_input(m, 5, 6, 2);
    int32_t hwc[3];
    /* 5 + 1 + 0 − 3 = 3 → ceil(3/2) + 1 = 3; 6 + 1 + 1 − 2 = 6 → 6/2 + 1 = 4. */
    int p = cnn_model_add_pool2d_explicit(m, x, CNN_POOL_MAX, 3, 2, 2, 2, 1, 0, 1, 1, 1, 0);
    expect(p >= 0 && cnn_model_node_shape(m, p, hwc) == CNN_STATUS_OK && hwc[0] == 3 && hwc[1] == 4 && hwc[2] == 2,
           "explicit pooling output size with ceil mode");
    /* Width: ceil mode's last window would start in the trailing pad, so it is dropped (6 + 0 + 1 − 2 = 5 →
     * ceil 3 + 1 = 4 → 3); height keeps its overhanging window (5 + 1 − 2 = 4 → 3, starting at row 4 < 5). */
    p = cnn_model_add_pool2d_explicit(m, x, CNN_POOL_AVG, 2, 2, 2, 2, 0, 1, 0, 1, 1, 1);
    expect(p >= 0 && cnn_model_node_shape(m, p, hwc) == CNN_STATUS_OK && hwc[0] == 3 && hwc[1] == 3,
           "ceil mode drops a window that starts in the trailing padding");
    expect(cnn_model_add_pool2d_explicit(m, x, CNN_POOL_MAX, 2, 2, 1, 1, 2, 0, 0, 0, 0, 0) == -CNN_STATUS_INVALID_ARG,
           "a pad as large as the window is refused");
    expect(strstr(cnn_last_error(), "top 2") != NULL, "the message names the pad");
    expect(cnn_model_add_pool2d_explicit(m, x, CNN_POOL_MAX, 2, 2, 1, 1, 0, 0, 0, 0, 0, 1) == -CNN_STATUS_INVALID_ARG,
           "count_include_pad on max pooling is refused");
    expect(cnn_model_add_pool2d_explicit(m, x, CNN_POOL_AVG, 2, 2, 1, 1, 0, 0, 0, 0, 2, 0) == -CNN_STATUS_INVALID_ARG,
           "ceil_mode 2 is refused");
    /* (5 − 1)·2 + 3 − 1 − 1 + 1 = 10, (6 − 1)·2 + 3 − 2 + 0 = 11. */
    int t = cnn_model_add_conv2d_transpose_explicit(m, x, 4, 3, 3, 2, 2, 1, 1, 2, 0, 1, 0, 1, CNN_INIT_GLOROT_UNIFORM);
    expect(t >= 0 && cnn_model_node_shape(m, t, hwc) == CNN_STATUS_OK && hwc[0] == 10 && hwc[1] == 11 && hwc[2] == 4,
           "explicit transposed convolution output size");
    expect(cnn_model_add_conv2d_transpose_explicit(m, x, 4, 3, 3, 1, 1, 4, 4, 0, 0, 0, 0, 1, 2) ==
               -CNN_STATUS_INVALID_SHAPE, "crops that leave no output are refused");
    expect(cnn_model_add_conv2d_transpose_explicit(m, x, 4, 3, 3, 1, 1, -1, 0, 0, 0, 0, 0, 1, 2) ==
               -CNN_STATUS_INVALID_ARG, "a negative crop is refused");
    expect(cnn_model_add_upsampling2d(m, x, 2, 2, 4) == -CNN_STATUS_INVALID_ARG, "an unknown upsampling mode is refused");
    cnn_model_free(m);
}

static void test_bad_arguments(void) {
    cnn_model* m = cnn_model_create(1);
    expect(cnn_model_add_conv2d(m, 0, 4, 3, 3, 1, 1, 1, 1, 0, 1, 2) < 0, "conv2d on a missing input fails");
    int x = cnn_model_add_input(m, 5, 5, 1);
    expect(cnn_model_add_input(m, 5, 5, 1) == -CNN_STATUS_INVALID_STATE, "a second input is refused");
    expect(cnn_model_add_conv2d(m, x, 4, 7, 7, 1, 1, 1, 1, CNN_PADDING_VALID, 1, 2) == -CNN_STATUS_INVALID_SHAPE,
           "a kernel larger than its valid input is refused");
    expect(strstr(cnn_last_error(), "7x7") != NULL, "the message names the kernel size");
    expect(cnn_model_add_conv2d(m, x, 0, 3, 3, 1, 1, 1, 1, 0, 1, 2) == -CNN_STATUS_INVALID_ARG, "0 filters refused");
    expect(cnn_model_add_conv2d(m, x, 2, 3, 3, 1, 1, 1, 1, 0, 1, 99) == -CNN_STATUS_INVALID_ARG,
           "unknown initializer refused");
    expect(cnn_model_add_pool2d(m, x, CNN_POOL_MAX, 9, 9, 1, 1, CNN_PADDING_VALID) == -CNN_STATUS_INVALID_SHAPE,
           "a pool larger than its input is refused");
    expect(cnn_model_add_dropout(m, x, 1.0f) == -CNN_STATUS_INVALID_ARG, "dropout rate 1 refused");
    expect(cnn_model_add_activation(m, x, 42, 0.0f) == -CNN_STATUS_INVALID_ARG, "unknown activation refused");
    expect(cnn_model_add_dense(m, x, 1 << 30, 1, 2) < 0, "a huge dense layer is refused, not allocated");
    /* Still usable: a valid model trains. */
    int f = cnn_model_add_flatten(m, x);
    int d = cnn_model_add_dense(m, f, 3, 1, CNN_INIT_GLOROT_UNIFORM);
    int sm = cnn_model_add_activation(m, d, CNN_ACT_SOFTMAX, 0.0f);
    expect(f >= 0 && d >= 0 && sm >= 0, "valid layers are accepted after refusals");
    cnn_model_set_output(m, sm);
    float stats[4];
    expect(cnn_model_train_step(m, 1, stats) == CNN_STATUS_INVALID_STATE, "train before plan/compile is refused");
    cnn_optimizer_config bad = sgd(-1.0f);
    expect(cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &bad) == CNN_STATUS_INVALID_ARG, "negative learning rate");
    cnn_optimizer_config opt = sgd(0.1f);
    expect(cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &opt) == CNN_STATUS_OK, "compile");
    expect(cnn_model_plan(m, 0, 1) == CNN_STATUS_INVALID_ARG, "capacity 0 refused");
    expect(cnn_model_plan(m, 4, 1) == CNN_STATUS_OK, "plan");
    expect(cnn_model_train_step(m, 5, stats) == CNN_STATUS_INVALID_ARG, "batch above capacity refused");
    float* in = cnn_model_input_buffer(m);
    for (int i = 0; i < 4 * 25; i++) in[i] = frand();
    int32_t* labels = cnn_model_label_buffer(m);
    for (int i = 0; i < 4; i++) labels[i] = 5;
    expect(cnn_model_train_step(m, 4, stats) == CNN_STATUS_INVALID_ARG, "label out of range refused");
    in[3] = NAN;
    for (int i = 0; i < 4; i++) labels[i] = i % 3;
    expect(cnn_model_train_step(m, 4, stats) == CNN_STATUS_NON_FINITE, "NaN input refused");
    in[3] = 0.5f;
    float first = 0.0f;
    for (int step = 0; step < 50; step++) {
        expect(cnn_model_train_step(m, 4, stats) == CNN_STATUS_OK, "train step after errors");
        if (step == 0) first = stats[0];
    }
    expect(stats[0] < first * 0.5f, "loss falls after the refused calls");
    cnn_model_free(m);
    cnn_model_free(NULL);
}

int main(void) {
    lcg_seed(12345u);
    check_model("conv same 3x3 + tanh, sparse CE (fused softmax)", 6, 7, 2, body_conv_same, 4, CNN_ACT_SOFTMAX,
                CNN_LOSS_SPARSE_CE);
    check_model("conv 5x3 stride 2 same, categorical CE", 7, 9, 3, body_conv_stride, 3, CNN_ACT_SOFTMAX,
                CNN_LOSS_CATEGORICAL_CE);
    check_model("conv dilated 2, MSE", 9, 8, 2, body_conv_dilated, 3, CNN_ACT_LINEAR, CNN_LOSS_MSE);
    check_model("conv 1x1 + sigmoid, MSE", 4, 5, 3, body_conv_pointwise, 2, CNN_ACT_TANH, CNN_LOSS_MSE);
    check_model("avg pool 3x3/2 same", 7, 7, 5, body_avgpool, 3, CNN_ACT_SOFTMAX, CNN_LOSS_SPARSE_CE);
    check_model("max pool 2x2/2", 6, 6, 3, body_maxpool, 3, CNN_ACT_SOFTMAX, CNN_LOSS_SPARSE_CE);
    check_model("leaky relu", 4, 4, 2, body_leaky, 3, CNN_ACT_SOFTMAX, CNN_LOSS_SPARSE_CE);
    check_model("dropout 0 + sigmoid output, sparse CE on probabilities", 3, 3, 2, body_dropout0, 3,
                CNN_ACT_SIGMOID, CNN_LOSS_SPARSE_CE);
    check_model("max pool 3x2/2 asymmetric pads, ceil mode", 6, 7, 2, body_maxpool_explicit, 3, CNN_ACT_SOFTMAX,
                CNN_LOSS_SPARSE_CE);
    check_model("avg pool 3x3/2 count_include_pad, ceil mode", 7, 6, 3, body_avgpool_include_pad, 3,
                CNN_ACT_SOFTMAX, CNN_LOSS_SPARSE_CE);
    check_model("avg pool 3x2 strides 2x1 pads excluded, ceil mode", 6, 5, 5, body_avgpool_exclude_pad, 3,
                CNN_ACT_LINEAR, CNN_LOSS_MSE);
    check_model("conv2dTranspose k3 s2 p1 output_padding 1", 3, 4, 2, body_tconv_explicit, 3, CNN_ACT_SOFTMAX,
                CNN_LOSS_SPARSE_CE);
    check_model("conv2dTranspose 4x3 strides 2x3 asymmetric crops", 3, 3, 2, body_tconv_asymmetric, 2,
                CNN_ACT_LINEAR, CNN_LOSS_MSE);
    check_model("upsampling bilinear half-pixel 2x3", 3, 4, 2, body_upsample_half_pixel, 3, CNN_ACT_SOFTMAX,
                CNN_LOSS_SPARSE_CE);
    check_model("upsampling bilinear align corners 3x2", 3, 2, 2, body_upsample_align_corners, 3, CNN_ACT_LINEAR,
                CNN_LOSS_MSE);
    check_model("lazy gradients: fan-out, inputs listed twice, dead branch", 8, 8, 8, body_lazy_gradients, 3,
                CNN_ACT_SOFTMAX, CNN_LOSS_SPARSE_CE);
    test_pixel_label_checks();
    test_explicit_variants();
    test_bad_arguments();
    return test_summary();
}
