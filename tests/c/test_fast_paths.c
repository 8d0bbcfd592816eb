/* Native tests of the engine's fast paths against its reference paths, through the public API:
 *   - Winograd convolution (forward and input gradient) against the direct / GEMM path (cnn_model_set_winograd(m, 0))
 *     on a model whose 3x3 layers take F(4x4,3x3), F(2x2,3x3) and the reference path: outputs within 1e-4 and
 *     gradients within 1e-3 (the tfjs cross-checks' tolerances), the same bits run to run, the transformed kernels
 *     recomputed after an optimizer step and after a parameter write;
 *   - cnn_model_forward reports a non-finite output (finite input, overflowing weights) with CNN_STATUS_NON_FINITE.
 * Includes internal.h only to see which nodes hold transformed kernels (the test fails if none does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "test_util.h"
#include "internal.h"
#include "kernels/kernels.h"

enum { H = 12, W = 11, CIN = 3, CLASSES = 5, BATCH = 3 };

/* 12x11x3 → conv 3x3 same 32 (F2: 3 input channels; its input gradient on the GEMM path: 3 outputs) → relu → conv
 * 3x3 valid 32 (10x9, 32 channels: F4, input gradient F4) → maxpool 2x2 (5x4) → conv 3x3 same 8 (5x4: F2, input
 * gradient F2) →
 * tanh → conv 3x3 same 1 and conv 3x3 1 → 8 (too few filters / channels: the reference path) → global average →
 * dense 5 → softmax. */
static cnn_model* make_model(int winograd, int kind) {
    cnn_model* m = cnn_model_create(7);
    int x = cnn_model_add_input(m, H, W, CIN);
    int c = cnn_model_add_conv2d(m, x, 32, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    c = cnn_model_add_activation(m, c, CNN_ACT_RELU, 0.0f);
    c = cnn_model_add_conv2d(m, c, 32, 3, 3, 1, 1, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_GLOROT_UNIFORM);
    c = cnn_model_add_pool2d(m, c, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PADDING_VALID);
    c = cnn_model_add_conv2d(m, c, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 0, CNN_INIT_GLOROT_UNIFORM);
    c = cnn_model_add_activation(m, c, CNN_ACT_TANH, 0.0f);
    c = cnn_model_add_conv2d(m, c, 1, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    c = cnn_model_add_conv2d(m, c, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    c = cnn_model_add_global_pool2d(m, c, CNN_POOL_AVG);
    c = cnn_model_add_dense(m, c, CLASSES, 1, CNN_INIT_GLOROT_UNIFORM);
    c = cnn_model_add_activation(m, c, CNN_ACT_SOFTMAX, 0.0f);
    expect(c >= 0, "model builds");
    expect(cnn_model_set_winograd(m, winograd) == CNN_STATUS_OK, "set_winograd");
    cnn_optimizer_config opt = {kind, 0.05f, 0.9f, 0, 0.9f, 0.999f, 1e-7f, 0, 0};
    expect(cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &opt) == CNN_STATUS_OK, "compiles");
    expect(cnn_model_plan(m, BATCH, 1) == CNN_STATUS_OK, "plans");
    return m;
}

static void fill_batch(cnn_model* m, unsigned seed) {
    lcg_seed(seed);
    fill_frand(cnn_model_input_buffer(m), (size_t)BATCH * H * W * CIN);
    int32_t* labels = cnn_model_label_buffer(m);
    for (int i = 0; i < BATCH; i++) labels[i] = (int32_t)((unsigned)(frand() * 1000 + 1000) % CLASSES);
}

/* max |a - b| / max(1e-3, max |b|) */
static double rel_error(const float* a, const float* b, size_t n) {
    double diff = 0, scale = 1e-3;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

static size_t param_size(cnn_model* m, int p) {
    int32_t ndim, d[4];
    cnn_model_param(m, p, &ndim, d);
    return (size_t)d[0] * d[1] * d[2] * d[3];
}

/* Worst relative error of a's (output of the last forward, every parameter gradient, input gradient) against b's. */
static void compare(cnn_model* a, cnn_model* b, const char* when) {
    char what[160];
    /* The model input's gradient needs compute_gradients; the output of its forward pass is the softmax. */
    float sa[CNN_STATS_HEADER], sb[CNN_STATS_HEADER];
    expect(cnn_model_compute_gradients(a, BATCH, sa) == CNN_STATUS_OK, "compute_gradients (Winograd)");
    expect(cnn_model_compute_gradients(b, BATCH, sb) == CNN_STATUS_OK, "compute_gradients (reference)");
    snprintf(what, sizeof what, "%s: loss within 1e-4 (%g vs %g)", when, sa[CNN_STATS_LOSS], sb[CNN_STATS_LOSS]);
    expect(fabs(sa[CNN_STATS_LOSS] - sb[CNN_STATS_LOSS]) <= 1e-4 * fmax(1, fabs(sb[CNN_STATS_LOSS])), what);
    double worst = 0;
    for (int p = 0; p < cnn_model_param_count(a); p++)
        worst = fmax(worst, rel_error(cnn_model_param_grad(a, p), cnn_model_param_grad(b, p), param_size(a, p)));
    snprintf(what, sizeof what, "%s: weight gradients within 1e-3 (worst %.2g)", when, worst);
    expect(worst <= 1e-3, what);
    const double dx = rel_error(cnn_model_input_grad_buffer(a), cnn_model_input_grad_buffer(b),
                                (size_t)BATCH * H * W * CIN);
    snprintf(what, sizeof what, "%s: input gradient within 1e-3 (%.2g)", when, dx);
    expect(dx <= 1e-3, what);
    /* Every node's forward output, not only the last (a softmax hides small errors). */
    worst = 0;
    for (int i = 0; i < a->n_nodes; i++)
        worst = fmax(worst, rel_error(a->nodes[i].out, b->nodes[i].out, (size_t)BATCH * cnn_node_size(&a->nodes[i])));
    snprintf(what, sizeof what, "%s: every node's output within 1e-4 (worst %.2g)", when, worst);
    expect(worst <= 1e-4, what);
}

/* Convs whose saved buffer holds Winograd-transformed kernels: anything but the GEMM's packed kernel, the only
 * other thing a conv keeps there. */
static int transformed_nodes(const cnn_model* m) {
    int count = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const cnn_node* node = &m->nodes[i];
        if (node->ops != &cnn_conv2d_ops || !node->saved) continue;
        const int K = node->cfg.conv.kh * node->cfg.conv.kw * m->nodes[node->inputs[0]].c;
        count += node->saved_floats != cnn_f32_gemm_packed_b_floats(node->cfg.conv.filters, K);
    }
    return count;
}

static void test_winograd_matches_reference(void) {
    cnn_model* a = make_model(1, CNN_OPT_ADAM);
    cnn_model* b = make_model(0, CNN_OPT_ADAM);
    expect(transformed_nodes(a) == 3, "three of the five 3x3 convs hold transformed kernels");
    expect(transformed_nodes(b) == 0, "none with Winograd off");
    fill_batch(a, 1);
    fill_batch(b, 1);
    compare(a, b, "initial weights");
    /* Train a a few steps, then give b a's weights: a's transformed kernels must follow the optimizer's updates
     * (a's weights are read through the struct: cnn_model_param would mark them changed and hide a missed update;
     * training both would not do: Adam amplifies the rounding differences of the two paths). */
    for (int k = 0; k < 4; k++) {
        fill_batch(a, 10 + (unsigned)k);
        expect(cnn_model_train_step(a, BATCH, NULL) == CNN_STATUS_OK, "train step (Winograd)");
    }
    for (int p = 0; p < cnn_model_param_count(a); p++)
        memcpy(cnn_model_param(b, p, NULL, NULL), a->params[p].data, param_size(b, p) * sizeof(float));
    fill_batch(a, 3);
    fill_batch(b, 3);
    compare(a, b, "after 4 Adam steps");
    /* A parameter write (as set-weights and load do) must reach the next forward pass. */
    for (int p = 0; p < cnn_model_param_count(a); p++) {
        const size_t n = param_size(a, p);
        float* wa = cnn_model_param(a, p, NULL, NULL);
        float* wb = cnn_model_param(b, p, NULL, NULL);
        for (size_t i = 0; i < n; i++) wa[i] = wb[i] = 0.5f * frand();
    }
    compare(a, b, "after a parameter write");
    cnn_model_free(a);
    cnn_model_free(b);
}

/* Same seed, same data: the same bits, run to run and in a freshly planned model. */
static void test_winograd_deterministic(void) {
    float* first = NULL;
    size_t total = 0;
    int same = 1;
    for (int run = 0; run < 2; run++) {
        cnn_model* m = make_model(1, CNN_OPT_MOMENTUM);
        for (int k = 0; k < 3; k++) {
            fill_batch(m, 50 + (unsigned)k);
            cnn_model_train_step(m, BATCH, NULL);
        }
        size_t n = 0;
        for (int p = 0; p < cnn_model_param_count(m); p++) n += param_size(m, p);
        float* all = malloc(n * sizeof(float));
        size_t at = 0;
        for (int p = 0; p < cnn_model_param_count(m); p++) {
            memcpy(all + at, cnn_model_param(m, p, NULL, NULL), param_size(m, p) * sizeof(float));
            at += param_size(m, p);
        }
        if (run == 0) first = all, total = n;
        else same = n == total && memcmp(all, first, n * sizeof(float)) == 0, free(all);
        cnn_model_free(m);
    }
    free(first);
    expect(same, "Winograd training is bit-identical run to run");
}

/* Toggling after a plan drops the plan (buffers were sized for the other choice). */
static void test_winograd_toggle(void) {
    cnn_model* m = make_model(1, CNN_OPT_SGD);
    expect(cnn_model_set_winograd(m, 1) == CNN_STATUS_OK && cnn_model_input_buffer(m) != NULL, "same value keeps the plan");
    expect(cnn_model_set_winograd(m, 0) == CNN_STATUS_OK && cnn_model_input_buffer(m) == NULL, "a change drops it");
    expect(cnn_model_forward(m, 1) == CNN_STATUS_INVALID_STATE, "forward then asks for a plan");
    expect(cnn_model_plan(m, BATCH, 0) == CNN_STATUS_OK && transformed_nodes(m) == 0, "replanned without Winograd");
    expect(cnn_model_set_winograd(NULL, 1) == CNN_STATUS_INVALID_ARG, "NULL model refused");
    cnn_model_free(m);
}

/* Finite input, weights that overflow float32: predict must not hand back infinities silently. */
static void test_nonfinite_output(void) {
    cnn_model* m = cnn_model_create(3);
    int x = cnn_model_add_input(m, 4, 4, 2);
    int d = cnn_model_add_flatten(m, x);
    d = cnn_model_add_dense(m, d, 3, 1, CNN_INIT_ONES);
    expect(d >= 0 && cnn_model_plan(m, 4, 0) == CNN_STATUS_OK, "dense model plans");
    float* in = cnn_model_input_buffer(m);
    for (int i = 0; i < 4 * 32; i++) in[i] = 1.0f;
    expect(cnn_model_forward(m, 4) == CNN_STATUS_OK, "finite weights: forward ok");
    float* w = cnn_model_param(m, 0, NULL, NULL);
    for (int i = 0; i < 32 * 3; i++) w[i] = 3e37f; /* 32 × 3e37 overflows, but only where the input is 1 */
    for (int i = 0; i < 4 * 32; i++) in[i] = i < 2 * 32 ? 1e-3f : 1.0f; /* samples 0, 1 stay finite */
    expect(cnn_model_forward(m, 4) == CNN_STATUS_NON_FINITE, "overflowing output reported");
    expect(strstr(cnn_last_error(), "output of sample 2 is Infinity at value 0") != NULL && strstr(cnn_last_error(), "float32") != NULL,
           "the message names the first sample and the cause");
    for (int i = 0; i < 4 * 32; i++) in[i] = 1e-3f;
    expect(cnn_model_forward(m, 4) == CNN_STATUS_OK, "finite again");
    cnn_model_free(m);
}

/* Inference plans share activation buffers between nodes whose lifetimes do not overlap: the same outputs, bit for
 * bit, as a training plan (one buffer per node), on a graph with fan-out, add, concat, max-unpooling (it reads its
 * pool's indices) and a dead branch, and fewer bytes. */
static cnn_model* shared_model(void) {
    cnn_model* m = cnn_model_create(5);
    int x = cnn_model_add_input(m, 8, 8, 3);
    int a = cnn_model_add_conv2d(m, x, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    int r = cnn_model_add_activation(m, a, CNN_ACT_RELU, 0.0f);
    int p = cnn_model_add_pool2d(m, r, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PADDING_VALID);
    int b = cnn_model_add_conv2d(m, p, 8, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    int dead = cnn_model_add_activation(m, b, CNN_ACT_TANH, 0.0f); /* read by nobody */
    int sum_in[2] = {b, p};
    int s = cnn_model_add_add(m, sum_in, 2);
    int u = cnn_model_add_max_unpool2d(m, s, p);
    int cat_in[2] = {u, r};
    int c = cnn_model_add_concat(m, cat_in, 2);
    int d = cnn_model_add_conv2d(m, c, 4, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_GLOROT_UNIFORM);
    int o = cnn_model_add_activation(m, d, CNN_ACT_SOFTMAX, 0.0f);
    expect(dead >= 0 && o >= 0, "shared-buffer model builds");
    cnn_model_set_output(m, o);
    return m;
}

static void test_shared_activations(void) {
    cnn_model* a = shared_model();
    cnn_model* b = shared_model();
    expect(cnn_model_plan(a, 2, 0) == CNN_STATUS_OK && cnn_model_plan(b, 2, 1) == CNN_STATUS_OK, "both plan");
    expect(a->n_act_slots > 0 && a->n_act_slots < a->n_nodes - 3, "the inference plan shares buffers");
    lcg_seed(99);
    float* xa = cnn_model_input_buffer(a);
    float* xb = cnn_model_input_buffer(b);
    for (int i = 0; i < 2 * 8 * 8 * 3; i++) xa[i] = xb[i] = frand();
    expect(cnn_model_forward(a, 2) == CNN_STATUS_OK && cnn_model_forward(b, 2) == CNN_STATUS_OK, "forward");
    expect(memcmp(cnn_model_output_buffer(a), cnn_model_output_buffer(b), 2 * 8 * 8 * 4 * sizeof(float)) == 0,
           "shared buffers: the same output bits as one buffer per node");
    int distinct = 1;
    for (int i = 1; i < a->n_nodes; i++)
        for (int k = 0; k < a->nodes[i].n_inputs; k++) distinct &= a->nodes[i].out != a->nodes[a->nodes[i].inputs[k]].out;
    expect(distinct, "no node's output aliases one of its inputs");
    /* Planning with gradients afterwards gives every node its own buffer again. */
    expect(cnn_model_plan(a, 2, 1) == CNN_STATUS_OK && a->n_act_slots == 0, "a training plan owns every buffer");
    cnn_model_free(a);
    cnn_model_free(b);
}

/* predict's output check through each conv path and dense: made as the output is stored on the GEMM paths
 * (pointwise, im2col) and Winograd (m->output_vouched: no scan), by the scan on the direct path; either way an
 * output that overflows in one sample is reported with that sample, and a finite one passes. */
static void test_nonfinite_conv_outputs(void) {
    static const struct { const char* name; int h, c, filters, k, bias, vouched; } cases[] = {
        {"pointwise", 6, 16, 8, 1, 1, 1}, {"pointwise without bias", 6, 16, 8, 1, 0, 1},
        {"im2col", 8, 16, 16, 5, 1, 1},   {"direct", 8, 1, 6, 5, 1, 0},
        {"winograd", 8, 4, 8, 3, 1, 1},   {"dense", 4, 4, 12, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[160];
        cnn_model* m = cnn_model_create(7);
        const int h = cases[i].h, c = cases[i].c, k = cases[i].k;
        int x = cnn_model_add_input(m, h, h, c), y;
        if (k) {
            y = cnn_model_add_conv2d(m, x, cases[i].filters, k, k, 1, 1, 1, 1, CNN_PADDING_SAME, cases[i].bias,
                                     CNN_INIT_GLOROT_UNIFORM);
        } else {
            y = cnn_model_add_dense(m, cnn_model_add_flatten(m, x), cases[i].filters, 1, CNN_INIT_GLOROT_UNIFORM);
        }
        snprintf(what, sizeof what, "%s: builds and plans", cases[i].name);
        expect(y >= 0 && cnn_model_plan(m, 3, 0) == CNN_STATUS_OK, what);
        const int size = h * h * c;
        float* in = cnn_model_input_buffer(m);
        for (int j = 0; j < 3 * size; j++) in[j] = frand();
        m->output_vouched = -1;
        snprintf(what, sizeof what, "%s: finite output passes, %s", cases[i].name,
                 cases[i].vouched ? "checked by the layer" : "checked by the scan");
        expect(cnn_model_forward(m, 3) == CNN_STATUS_OK && m->output_vouched == cases[i].vouched, what);
        int32_t ndim = 0, dims[4] = {1, 1, 1, 1}, count = 1;
        float* w = cnn_model_param(m, 0, &ndim, dims);
        for (int d = 0; d < ndim; d++) count *= dims[d];
        for (int j = 0; j < count; j++) w[j] = 3e37f; /* sums of many overflow where the input is 1 */
        for (int j = 0; j < 3 * size; j++) in[j] = j < 2 * size ? 1e-4f : 1.0f; /* samples 0, 1 stay finite */
        snprintf(what, sizeof what, "%s: an output that overflows in sample 2 is reported", cases[i].name);
        expect(cnn_model_forward(m, 3) == CNN_STATUS_NON_FINITE && strstr(cnn_last_error(), "output of sample 2 is"),
               what);
        cnn_model_free(m);
    }
}

/* The GEMM layers keep their kernel packed between calls (parallel.h: cnn_packed_kernel). After predict filled that
 * cache, weights written through cnn_model_param must be the ones the next predict uses: its output must be the
 * bits of a fresh model given the same weights, for the pointwise and im2col convs and dense. */
static void test_packed_kernel_follows_weights(void) {
    static const struct { const char* name; int h, c, filters, k; } cases[] = {
        {"pointwise", 6, 16, 24, 1}, {"im2col", 8, 16, 16, 5}, {"dense", 4, 8, 20, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cnn_model* models[2];
        for (int v = 0; v < 2; v++) {
            cnn_model* m = models[v] = cnn_model_create(11 + (unsigned)v);
            const int x = cnn_model_add_input(m, cases[i].h, cases[i].h, cases[i].c);
            const int y = cases[i].k ? cnn_model_add_conv2d(m, x, cases[i].filters, cases[i].k, cases[i].k, 1, 1, 1,
                                                            1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM)
                                     : cnn_model_add_dense(m, cnn_model_add_flatten(m, x), cases[i].filters, 1,
                                                           CNN_INIT_GLOROT_UNIFORM);
            expect(y >= 0 && cnn_model_plan(m, 2, 0) == CNN_STATUS_OK, "packed-kernel model builds and plans");
        }
        const size_t in_size = (size_t)2 * cases[i].h * cases[i].h * cases[i].c;
        const size_t out_size = (size_t)2 * cnn_node_size(&models[0]->nodes[models[0]->output_node]);
        for (int v = 0; v < 2; v++) fill_frand(cnn_model_input_buffer(models[v]), in_size);
        memcpy(cnn_model_input_buffer(models[1]), cnn_model_input_buffer(models[0]), in_size * sizeof(float));
        expect(cnn_model_forward(models[0], 2) == CNN_STATUS_OK, "predict fills the packed kernel");
        const int layer = models[0]->output_node;
        const uint64_t packed_at = models[0]->nodes[layer].cache_version[0];
        expect(packed_at == models[0]->weights_version && cnn_model_forward(models[0], 2) == CNN_STATUS_OK &&
                   models[0]->nodes[layer].cache_version[0] == packed_at && packed_at == models[0]->weights_version,
               "a second predict reuses the packed kernel (no repack while the weights stay put)");
        for (int p = 0; p < cnn_model_param_count(models[0]); p++) { /* new weights for both */
            float* a = cnn_model_param(models[0], p, NULL, NULL);
            float* b = cnn_model_param(models[1], p, NULL, NULL);
            for (size_t j = 0; j < param_size(models[0], p); j++) a[j] = b[j] = frand();
        }
        expect(cnn_model_forward(models[0], 2) == CNN_STATUS_OK && cnn_model_forward(models[1], 2) == CNN_STATUS_OK,
               "predict after new weights");
        const float* ya = models[0]->nodes[models[0]->output_node].out;
        const float* yb = models[1]->nodes[models[1]->output_node].out;
        char what[160];
        snprintf(what, sizeof what, "%s: predict after weights were written uses them (a fresh model's bits)",
                 cases[i].name);
        expect(memcmp(ya, yb, out_size * sizeof(float)) == 0, what);
        cnn_model_free(models[0]);
        cnn_model_free(models[1]);
    }
}

/* Batch norm's training statistics come from one pass over fixed parts, each summed and then swept again about its
 * own mean, combined exactly (batchnorm.c). On activations far from zero (offsets up to 3e4, where E[x²] − E[x]²
 * would lose everything), over uneven parts and more channels than one block, the batch mean and 1/√(var + ε) it
 * keeps for backward must match a double two-pass reference on the same floats (the two passes about the float batch
 * mean that this replaced read 5e-6 on the 300-channel case). */
static void test_batchnorm_statistics(void) {
    static const struct { int n, h, w, c; } cases[] = {{3, 13, 17, 5}, {9, 31, 29, 3}, {2, 4, 5, 300}, {1, 1, 7, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int n = cases[i].n, h = cases[i].h, w = cases[i].w, c = cases[i].c;
        cnn_model* m = cnn_model_create(3);
        const int x = cnn_model_add_input(m, h, w, c);
        const int bn = cnn_model_add_batchnorm(m, x, 0.99f, 1e-3f, 1, 1);
        cnn_optimizer_config opt = {CNN_OPT_SGD, 0.01f, 0.0f, 0, 0.9f, 0.999f, 1e-7f, 0, 0};
        expect(bn >= 0 && cnn_model_compile(m, CNN_LOSS_MSE, &opt) == CNN_STATUS_OK &&
                   cnn_model_plan(m, n, 1) == CNN_STATUS_OK, "batch-norm model builds and plans");
        const size_t rows = (size_t)n * h * w;
        float* in = cnn_model_input_buffer(m);
        for (size_t r = 0; r < rows; r++)
            for (int k = 0; k < c; k++) in[r * c + k] = (float)(k % 4) * 1e4f + (1.0f + (float)(k % 3)) * frand();
        memset(cnn_model_label_buffer(m), 0, rows * c * sizeof(float));
        float stats[CNN_STATS_HEADER];
        expect(cnn_model_compute_gradients(m, n, stats) == CNN_STATUS_OK, "batch-norm training forward");
        const float* mean = m->nodes[bn].saved;
        const float* inv_std = m->nodes[bn].saved + c;
        double worst_mean = 0, worst_inv_std = 0;
        for (int k = 0; k < c; k++) {
            double sum = 0, squares = 0;
            for (size_t r = 0; r < rows; r++) sum += in[r * c + k];
            const double mu = sum / (double)rows;
            for (size_t r = 0; r < rows; r++) squares += (in[r * c + k] - mu) * (in[r * c + k] - mu);
            const double want = 1.0 / sqrt(squares / (double)rows + 1e-3);
            worst_mean = fmax(worst_mean, fabs(mean[k] - mu) / fmax(1.0, fabs(mu)));
            worst_inv_std = fmax(worst_inv_std, fabs(inv_std[k] - want) / want);
        }
        char what[200];
        snprintf(what, sizeof what, "batch norm %dx%dx%dx%d: mean within 1e-7 (%.2g), 1/sqrt(var + eps) within 1e-6 "
                 "(%.2g) of a double two-pass", n, h, w, c, worst_mean, worst_inv_std);
        expect(worst_mean <= 1e-7 && worst_inv_std <= 1e-6, what);
        cnn_model_free(m);
    }
}

int main(void) {
    lcg_seed(4242u);
    test_shared_activations();
    test_winograd_matches_reference();
    test_winograd_deterministic();
    test_winograd_toggle();
    test_nonfinite_output();
    test_nonfinite_conv_outputs();
    test_packed_kernel_follows_weights();
    test_batchnorm_statistics();
    return test_summary();
}
