/* Native tests of the model-level API: the per-batch stats vector (header, class counts, gradient norms), the ABI
 * JSON, saving and restoring optimizer state, and the size ceilings of cnn_model_plan (the reproductions of issue
 * 12). build.sh also builds this file with -m32 (test_model_m32) when the toolchain can: there size_t is 32 bits
 * as in wasm32, so a size computation that wraps shows up natively. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "test_util.h"

static cnn_optimizer_config optimizer(int kind, float lr) {
    cnn_optimizer_config opt = {kind, lr, 0.9f, 0, 0.9f, 0.999f, 1e-7f, 1e-3f, 0};
    return opt;
}

static int argmax(const float* v, int c) {
    int best = 0;
    for (int j = 1; j < c; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

/* Per-pixel classifier: 6x5x2 input -> conv 3x3 same (C classes) -> softmax; one parameter pair (kernel, bias). */
enum { H = 6, W = 5, CIN = 2, C = 3, BATCH = 4 };

static cnn_model* pixel_model(uint32_t seed, int kind) {
    cnn_model* m = cnn_model_create(seed);
    int x = cnn_model_add_input(m, H, W, CIN);
    int c1 = cnn_model_add_conv2d(m, x, 4, 3, 3, 1, 1, 1, 1, CNN_PADDING_SAME, 1, CNN_INIT_GLOROT_UNIFORM);
    int c2 = cnn_model_add_conv2d(m, c1, C, 1, 1, 1, 1, 1, 1, CNN_PADDING_VALID, 1, CNN_INIT_GLOROT_UNIFORM);
    cnn_model_add_activation(m, c2, CNN_ACT_SOFTMAX, 0.0f);
    cnn_optimizer_config opt = optimizer(kind, 0.05f);
    expect(cnn_model_compile(m, CNN_LOSS_SPARSE_CE, &opt) == CNN_STATUS_OK, "pixel model compiles");
    expect(cnn_model_plan(m, BATCH, 1) == CNN_STATUS_OK, "pixel model plans");
    return m;
}

static void fill_batch(cnn_model* m, unsigned seed) {
    lcg_seed(seed);
    fill_frand(cnn_model_input_buffer(m), (size_t)BATCH * H * W * CIN);
    int32_t* labels = cnn_model_label_buffer(m);
    for (int i = 0; i < BATCH * H * W; i++) {
        frand();
        labels[i] = (int32_t)((g_lcg_state >> 9) % C);
    }
}

static void test_stats_vector(void) {
    cnn_model* m = pixel_model(11, CNN_OPT_SGD);
    const int params = cnn_model_param_count(m);
    expect(params == 4, "pixel model has 4 parameters");
    expect(cnn_model_stats_count(m) == CNN_STATS_HEADER, "stats are the header by default");
    expect(cnn_model_set_stats(m, 1, 0) == CNN_STATUS_OK, "set_stats(1, 0)");
    expect(cnn_model_stats_count(m) == CNN_STATS_HEADER + 3 * C, "class counts add 3 x classes");
    expect(cnn_model_set_stats(m, 0, 1) == CNN_STATUS_OK, "set_stats(0, 1)");
    expect(cnn_model_stats_count(m) == CNN_STATS_HEADER + params, "gradient norms add param_count");
    expect(cnn_model_set_stats(m, 1, 1) == CNN_STATUS_OK, "set_stats(1, 1)");
    const int count = cnn_model_stats_count(m);
    expect(count == CNN_STATS_HEADER + 3 * C + params, "both");
    expect(cnn_model_set_stats(NULL, 1, 1) == CNN_STATUS_INVALID_ARG, "set_stats on NULL is refused");
    expect(cnn_model_stats_count(NULL) == 0, "stats_count of NULL is 0");

    float* stats = malloc((size_t)count * sizeof(float));
    fill_batch(m, 5);
    /* compute_gradients: counts against the output it leaves, norms against the gradient buffers. */
    for (int i = 0; i < count; i++) stats[i] = -1.0f;
    expect(cnn_model_compute_gradients(m, 3, stats) == CNN_STATUS_OK, "compute_gradients with the full vector");
    const float* y = cnn_model_output_buffer(m);
    const int32_t* labels = cnn_model_label_buffer(m);
    float tp[C] = {0}, pred[C] = {0}, truth[C] = {0};
    for (int r = 0; r < 3 * H * W; r++) {
        int p = argmax(y + (size_t)r * C, C), t = labels[r];
        tp[t] += p == t, pred[p] += 1, truth[t] += 1;
    }
    int counts_ok = 1;
    for (int j = 0; j < C; j++)
        counts_ok &= stats[CNN_STATS_HEADER + j] == tp[j] && stats[CNN_STATS_HEADER + C + j] == pred[j] &&
                     stats[CNN_STATS_HEADER + 2 * C + j] == truth[j];
    expect(counts_ok, "class counts (tp, predicted, true) match the output and labels");
    expect(stats[CNN_STATS_COUNTED] == 3 * H * W, "counted = pixels of the 3 samples");
    expect(stats[CNN_STATS_CORRECT] == tp[0] + tp[1] + tp[2], "correct = sum of true positives");
    expect(stats[CNN_STATS_GRAD_NORM] == 0.0f, "compute_gradients reports no global norm");
    int norms_ok = 1;
    double global = 0.0;
    for (int p = 0; p < params; p++) {
        int32_t ndim, dims[4];
        cnn_model_param(m, p, &ndim, dims);
        const float* g = cnn_model_param_grad(m, p);
        double sq = 0.0;
        for (int i = 0; i < dims[0] * dims[1] * dims[2] * dims[3]; i++) sq += (double)g[i] * g[i];
        global += sq;
        norms_ok &= stats[CNN_STATS_HEADER + 3 * C + p] == (float)sqrt(sq) && sq > 0.0;
    }
    expect(norms_ok, "gradient norms equal the L2 norms of the gradient buffers");

    /* train_step: the same norms before the update, and the global norm in the header. */
    float* again = malloc((size_t)count * sizeof(float));
    expect(cnn_model_train_step(m, 3, again) == CNN_STATUS_OK, "train_step with the full vector");
    expect(memcmp(again + CNN_STATS_HEADER + 3 * C, stats + CNN_STATS_HEADER + 3 * C, (size_t)params * 4) == 0,
           "train_step's norms are those of compute_gradients on the same batch (before clipping/decay)");
    expect(fabsf(again[CNN_STATS_GRAD_NORM] - (float)sqrt(global)) <= 1e-5f * (float)sqrt(global),
           "header grad norm is the global norm");
    expect(memcmp(again, stats, 3 * sizeof(float)) == 0, "same loss, correct, counted as compute_gradients");

    /* evaluate: counts of this call only (twice the same batch gives the same counts, not double), norms 0. */
    float* e1 = malloc((size_t)count * sizeof(float));
    float* e2 = malloc((size_t)count * sizeof(float));
    expect(cnn_model_evaluate(m, 4, e1) == CNN_STATUS_OK && cnn_model_evaluate(m, 4, e2) == CNN_STATUS_OK,
           "evaluate twice");
    expect(memcmp(e1, e2, (size_t)count * sizeof(float)) == 0, "class counts are per call, not accumulated");
    float sum_pred = 0.0f;
    for (int j = 0; j < C; j++) sum_pred += e1[CNN_STATS_HEADER + C + j];
    expect(sum_pred == 4 * H * W && e1[CNN_STATS_COUNTED] == 4 * H * W, "evaluate counts every pixel of 4 samples");
    int zeros = 1;
    for (int p = 0; p < params; p++) zeros &= e1[CNN_STATS_HEADER + 3 * C + p] == 0.0f;
    expect(zeros && e1[CNN_STATS_GRAD_NORM] == 0.0f, "evaluate reports zero gradient norms");

    /* The ignore label: ignored pixels are neither counted nor in the class counts. */
    int32_t* lab = cnn_model_label_buffer(m);
    lab[0] = 9;
    lab[1] = 9;
    expect(cnn_model_set_ignore_label(m, 1, 9) == CNN_STATUS_OK, "ignore label 9");
    expect(cnn_model_evaluate(m, 4, e1) == CNN_STATUS_OK, "evaluate with ignored pixels");
    float sum_true = 0.0f;
    for (int j = 0; j < C; j++) sum_true += e1[CNN_STATS_HEADER + 2 * C + j];
    expect(sum_true == 4 * H * W - 2 && e1[CNN_STATS_COUNTED] == 4 * H * W - 2, "ignored pixels are not counted");

    /* NULL stats still work; header-only stats write only the header. */
    expect(cnn_model_train_step(m, 2, NULL) == CNN_STATUS_OK, "train_step with NULL stats");
    expect(cnn_model_set_stats(m, 0, 0) == CNN_STATUS_OK, "stats off");
    for (int i = 0; i < count; i++) stats[i] = -7.0f;
    expect(cnn_model_evaluate(m, 2, stats) == CNN_STATUS_OK, "evaluate, header only");
    expect(stats[CNN_STATS_HEADER] == -7.0f, "nothing is written past the header when the options are off");
    free(stats), free(again), free(e1), free(e2);
    cnn_model_free(m);

    /* MSE: the class counts are zeros (cross-entropy losses only). */
    cnn_model* r = cnn_model_create(3);
    int x = cnn_model_add_input(r, 2, 2, 1);
    int d = cnn_model_add_dense(r, cnn_model_add_flatten(r, x), 2, 1, CNN_INIT_GLOROT_UNIFORM);
    cnn_optimizer_config opt = optimizer(CNN_OPT_SGD, 0.1f);
    expect(d >= 0 && cnn_model_compile(r, CNN_LOSS_MSE, &opt) == CNN_STATUS_OK && cnn_model_plan(r, 2, 1) == 0,
           "MSE model");
    cnn_model_set_stats(r, 1, 1);
    float s[CNN_STATS_HEADER + 6 + 2];
    for (int i = 0; i < 8; i++) cnn_model_input_buffer(r)[i] = frand();
    for (int i = 0; i < 4; i++) ((float*)cnn_model_label_buffer(r))[i] = frand();
    expect(cnn_model_stats_count(r) == CNN_STATS_HEADER + 6 + 2, "MSE model stats count");
    expect(cnn_model_train_step(r, 2, s) == CNN_STATUS_OK, "MSE train step");
    int mse_zero = 1;
    for (int i = 0; i < 6; i++) mse_zero &= s[CNN_STATS_HEADER + i] == 0.0f;
    expect(mse_zero && s[CNN_STATS_HEADER + 6] > 0.0f, "MSE: class counts 0, gradient norms set");
    cnn_model_free(r);
}

/* Finds "key": value in the JSON (first occurrence after `after`) and returns the value, or -1. */
static long long json_value(const char* json, const char* after, const char* key) {
    const char* at = after ? strstr(json, after) : json;
    if (!at) return -1;
    char pattern[96];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char* hit = strstr(at, pattern);
    return hit ? strtoll(hit + strlen(pattern), NULL, 10) : -1;
}

static void test_abi_json(void) {
    const char* json = cnn_abi_json();
    expect(json != NULL && json[0] == '{', "cnn_abi_json returns an object");
    if (!json) return;
    expect(cnn_abi_json() == json, "built once: the same static string");
    int depth = 0, balanced = 1;
    for (const char* p = json; *p; p++) {
        depth += *p == '{';
        depth -= *p == '}';
        if (depth < 0) balanced = 0;
    }
    expect(balanced && depth == 0, "braces balance");
    expect(json_value(json, NULL, "abi_version") == CNN_ABI_VERSION, "abi_version");
    expect(json_value(json, "\"sizeof\"", "cnn_optimizer_config") == (long long)sizeof(cnn_optimizer_config),
           "sizeof cnn_optimizer_config");
    const char* off = "\"offsetof\"";
    expect(json_value(json, off, "kind") == 0 && json_value(json, off, "learning_rate") == 4 &&
           json_value(json, off, "momentum") == 8 && json_value(json, off, "nesterov") == 12 &&
           json_value(json, off, "beta1") == 16 && json_value(json, off, "beta2") == 20 &&
           json_value(json, off, "epsilon") == 24 && json_value(json, off, "weight_decay") == 28 &&
           json_value(json, off, "clip_norm") == 32, "every offset of cnn_optimizer_config");
    expect(json_value(json, "\"cnn_status\"", "CNN_STATUS_NON_FINITE") == CNN_STATUS_NON_FINITE &&
           json_value(json, "\"cnn_init\"", "CNN_INIT_BILINEAR") == CNN_INIT_BILINEAR &&
           json_value(json, "\"cnn_activation\"", "CNN_ACT_LEAKY_RELU") == CNN_ACT_LEAKY_RELU &&
           json_value(json, "\"cnn_padding\"", "CNN_PADDING_SAME") == CNN_PADDING_SAME &&
           json_value(json, "\"cnn_pool_kind\"", "CNN_POOL_AVG") == CNN_POOL_AVG &&
           json_value(json, "\"cnn_loss\"", "CNN_LOSS_MSE") == CNN_LOSS_MSE &&
           json_value(json, "\"cnn_optimizer_kind\"", "CNN_OPT_ADAM") == CNN_OPT_ADAM &&
           json_value(json, "\"cnn_stats\"", "CNN_STATS_HEADER") == CNN_STATS_HEADER, "enum values");
    const char* lim = "\"limits\"";
    expect(json_value(json, lim, "max_dim") == CNN_MAX_DIM && json_value(json, lim, "max_batch") == CNN_MAX_BATCH &&
           json_value(json, lim, "max_buffer_bytes") == (long long)CNN_MAX_BUFFER_BYTES &&
           json_value(json, lim, "max_plan_bytes") == (long long)CNN_MAX_PLAN_BYTES &&
           json_value(json, lim, "max_elements") == CNN_MAX_ELEMENTS &&
           json_value(json, lim, "error_bytes") == CNN_ERROR_BYTES &&
           json_value(json, lim, "max_transpose_kernel") == CNN_MAX_TRANSPOSE_KERNEL, "limits");
}

/* Weights of a model as one flat copy. */
static float* weights_of(cnn_model* m, size_t* total) {
    size_t n = 0;
    for (int p = 0; p < cnn_model_param_count(m); p++) {
        int32_t ndim, d[4];
        cnn_model_param(m, p, &ndim, d);
        n += (size_t)d[0] * d[1] * d[2] * d[3];
    }
    float* all = malloc(n * sizeof(float));
    size_t at = 0;
    for (int p = 0; p < cnn_model_param_count(m); p++) {
        int32_t ndim, d[4];
        const float* w = cnn_model_param(m, p, &ndim, d);
        size_t size = (size_t)d[0] * d[1] * d[2] * d[3];
        memcpy(all + at, w, size * sizeof(float));
        at += size;
    }
    *total = n;
    return all;
}

/* Train k steps on model a; make b with a's weights and a's optimizer state (or not); one more step on both. */
static int resumed_identically(int kind, int copy_state) {
    cnn_model* a = pixel_model(21, kind);
    for (int k = 0; k < 3; k++) {
        fill_batch(a, 100 + (unsigned)k);
        cnn_model_train_step(a, BATCH, NULL);
    }
    cnn_model* b = pixel_model(99, kind); /* other seed: its own initial weights, overwritten below */
    for (int p = 0; p < cnn_model_param_count(a); p++) {
        int32_t ndim, d[4];
        const float* w = cnn_model_param(a, p, &ndim, d);
        const size_t size = (size_t)d[0] * d[1] * d[2] * d[3];
        memcpy(cnn_model_param(b, p, NULL, NULL), w, size * sizeof(float));
        for (int slot = 0; copy_state && slot < cnn_model_optimizer_slots(a); slot++)
            memcpy(cnn_model_optimizer_state(b, p, slot), cnn_model_optimizer_state(a, p, slot), size * 4);
    }
    if (copy_state) cnn_model_set_optimizer_step(b, cnn_model_optimizer_step(a));
    fill_batch(a, 500);
    fill_batch(b, 500);
    cnn_model_train_step(a, BATCH, NULL);
    cnn_model_train_step(b, BATCH, NULL);
    size_t na, nb;
    float* wa = weights_of(a, &na);
    float* wb = weights_of(b, &nb);
    int same = na == nb && memcmp(wa, wb, na * sizeof(float)) == 0;
    free(wa), free(wb);
    cnn_model_free(a), cnn_model_free(b);
    return same;
}

static void test_optimizer_state(void) {
    cnn_model* m = cnn_model_create(1);
    expect(cnn_model_optimizer_slots(m) == 0 && cnn_model_optimizer_state(m, 0, 0) == NULL, "no state before compile");
    expect(cnn_model_set_optimizer_step(m, 3) == CNN_STATUS_INVALID_STATE, "set step before compile is refused");
    cnn_model_free(m);
    const int kinds[3] = {CNN_OPT_SGD, CNN_OPT_MOMENTUM, CNN_OPT_ADAM};
    for (int i = 0; i < 3; i++) {
        cnn_model* s = pixel_model(4, kinds[i]);
        expect(cnn_model_optimizer_slots(s) == i, "slots: 0 SGD, 1 momentum, 2 Adam");
        int range_ok = cnn_model_optimizer_state(s, -1, 0) == NULL && cnn_model_optimizer_state(s, 4, 0) == NULL &&
                       cnn_model_optimizer_state(s, 0, -1) == NULL && cnn_model_optimizer_state(s, 0, i) == NULL;
        for (int slot = 0; slot < i; slot++) range_ok &= cnn_model_optimizer_state(s, 3, slot) != NULL;
        expect(range_ok, "optimizer_state: NULL out of range, a buffer in range");
        expect(cnn_model_optimizer_step(s) == 0, "step 0 after compile");
        fill_batch(s, 9);
        cnn_model_train_step(s, 2, NULL);
        cnn_model_train_step(s, 2, NULL);
        expect(cnn_model_optimizer_step(s) == 2, "step counts train steps");
        expect(cnn_model_set_optimizer_step(s, -1) == CNN_STATUS_INVALID_ARG, "negative step refused");
        cnn_model_free(s);
    }
    expect(resumed_identically(CNN_OPT_ADAM, 1), "Adam: restored state gives a bit-identical next step");
    expect(resumed_identically(CNN_OPT_MOMENTUM, 1), "momentum: restored state gives a bit-identical next step");
    expect(resumed_identically(CNN_OPT_SGD, 1), "SGD: weights alone give a bit-identical next step");
    expect(!resumed_identically(CNN_OPT_ADAM, 0), "Adam without its state differs (the check can fail)");
    expect(!resumed_identically(CNN_OPT_MOMENTUM, 0), "momentum without its state differs");
}

/* Issue 12, reproduction 2: zeroPadding2d to 8192x8192 + global average pooling, planned at batch 16: 4 GiB of
 * activations, which wrapped to a small malloc in wasm32 and trapped. The plan must refuse it, naming the node. */
static void test_plan_ceiling(void) {
    cnn_model* m = cnn_model_create(1);
    int x = cnn_model_add_input(m, 1, 1, 1);
    int z = cnn_model_add_zero_padding2d(m, x, 0, 8191, 0, 8191);
    int g = cnn_model_add_global_pool2d(m, z, CNN_POOL_AVG);
    expect(x >= 0 && z >= 0 && g >= 0, "zero padding 8191 model builds");
    expect(cnn_model_plan(m, 16, 0) == CNN_STATUS_OUT_OF_MEMORY, "plan of 4 GiB activations is refused");
    expect(strstr(cnn_last_error(), "node 1 (zeroPadding2d)") && strstr(cnn_last_error(), "4294967296"),
           "the message names the node and the size");
    expect(cnn_model_input_buffer(m) == NULL, "nothing was planned");
    cnn_model_free(m);

    /* Every buffer under the ceiling, the whole plan over 4 GiB: refused as a whole. */
    m = cnn_model_create(1);
    x = cnn_model_add_input(m, 4096, 4096, 4); /* 256 MiB a sample */
    int a = cnn_model_add_activation(m, x, CNN_ACT_RELU, 0.0f);
    a = cnn_model_add_activation(m, a, CNN_ACT_TANH, 0.0f);
    a = cnn_model_add_activation(m, a, CNN_ACT_SIGMOID, 0.0f);
    expect(a >= 0, "four 256 MiB-a-sample nodes");
    expect(cnn_model_plan(m, 7, 0) == CNN_STATUS_OUT_OF_MEMORY, "a 7 GiB plan is refused");
    expect(strstr(cnn_last_error(), "in all") != NULL, "the message says the plan as a whole is too large");
    cnn_model_free(m);

    /* A refused plan keeps the previous one. */
    m = cnn_model_create(1);
    x = cnn_model_add_input(m, 64, 64, 16);
    int f = cnn_model_add_flatten(m, x);
    expect(f >= 0 && cnn_model_plan(m, 2, 0) == CNN_STATUS_OK, "small plan");
    float* before = cnn_model_input_buffer(m);
    expect(cnn_model_plan(m, 65536, 0) == CNN_STATUS_OUT_OF_MEMORY, "batch 65536 of 256 KiB samples is refused");
    expect(cnn_model_input_buffer(m) == before && before != NULL, "the previous plan is kept");
    memset(before, 0, 2 * 64 * 64 * 16 * sizeof(float));
    expect(cnn_model_forward(m, 2) == CNN_STATUS_OK, "and still runs");
    expect(cnn_model_plan(m, 65537, 0) == CNN_STATUS_INVALID_ARG, "capacity over CNN_MAX_BATCH is refused");
    cnn_model_free(m);
}

/* Issue 12, reproduction 3: conv on [1, 65536, 1], kernel 2x2, dilation [65535, 1], 'same', bias 0, input ones.
 * Every vertical tap lands in the padding, so the output is 0. The direct kernel's padded copy (65536 x 65537
 * floats) wrapped in 32 bits, looked smaller than the patch matrix, and the layer ran it with a too-small workspace:
 * 5 everywhere in wasm. */
static void test_dilated_wide_conv(void) {
    cnn_model* m = cnn_model_create(1);
    int x = cnn_model_add_input(m, 1, 65536, 1);
    int c = cnn_model_add_conv2d(m, x, 1, 2, 2, 1, 1, 65535, 1, CNN_PADDING_SAME, 1, CNN_INIT_ONES);
    expect(c >= 0, "dilated 65536-wide conv builds");
    expect(cnn_model_plan(m, 1, 0) == CNN_STATUS_OK, "and plans");
    float* in = cnn_model_input_buffer(m);
    if (!in) {
        cnn_model_free(m);
        return;
    }
    for (int i = 0; i < 65536; i++) in[i] = 1.0f;
    expect(cnn_model_forward(m, 1) == CNN_STATUS_OK, "forward");
    const float* y = cnn_model_output_buffer(m);
    int zeros = 1;
    for (int i = 0; i < 65536; i++) zeros &= y[i] == 0.0f;
    expect(zeros, "every output is 0 (all taps in the padding)");
    cnn_model_free(m);
}

int main(void) {
    lcg_seed(777u);
    test_stats_vector();
    test_abi_json();
    test_optimizer_state();
    test_plan_ceiling();
    test_dilated_wide_conv();
    return test_summary();
}
