/* libFuzzer target for the engine's public API (c/include/cnn.h): the input bytes are a small program that builds a
 * model (every layer and every parameter fuzzed, including negative, zero, huge and NaN values and invalid node ids),
 * then compiles, plans, fills the input and label buffers, trains, evaluates and reads results in a fuzzed order.
 * The engine must answer every call with a valid status or node id, and never crash, leak, trip ASan/UBSan or abort
 * (house rule: the C engine returns status codes; it never calls abort() on input). This harness aborts when a
 * return value is not a valid status, so libFuzzer reports that too.
 *
 * Work per input is capped so exec/s stays high: at most 16 layer adds and 64 actions, and calls that the engine
 * would accept but that would allocate or compute more than the budgets below are skipped (calls the engine must
 * reject, like sizes < 1 or > 65536, are always made).
 *
 * Byte format (tests/fuzz/make-corpus.mjs writes seed inputs in it):
 *   u32 seed, int h, int w, int c (cnn_model_add_input), then actions: one byte (op % OP_COUNT) and its arguments.
 *   int  (fz_int lo hi): byte b < 224 -> lo + b % (hi - lo + 1); else special_ints[b - 224].
 *   node (fz_node):       byte b < 240 -> node n_nodes - 1 - b % n_nodes (0 = the last node); else special ids.
 *   float (fz_float):     byte b < 192 -> (b - 96) / 32; b < 240 -> special_floats[b - 192]; else 4 raw bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"

#define MAX_LAYERS 16
#define MAX_ACTIONS 64
#define MAX_RUNS 8
#define MAX_NODES (MAX_LAYERS + 2)
#define PARAM_BUDGET (1 << 18)  /* floats of parameters in all */
#define ACT_BUDGET (1 << 20)    /* floats of planned activations (and gradients) */
#define COST_BUDGET (1 << 22)   /* multiply-adds per forward pass of the whole planned batch */
#define ENGINE_MAX_DIM CNN_MAX_DIM /* the engine's limits (cnn.h), to tell calls it must reject */
#define ENGINE_MAX_ELEMENTS CNN_MAX_ELEMENTS

/* ---- byte reader ------------------------------------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t* p;
    size_t n;
} reader;

static int more(const reader* r) { return r->n > 0; }

static uint8_t u8(reader* r) {
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

static uint32_t u32(reader* r) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)u8(r) << (8 * i);
    return v;
}

static const int special_ints[32] = {
    -1, 0, 1, 2, 3, 4, 7, 8, 16, 31, 32, 33, 63, 64, 255, 1023, 1024, 1025, 4096, 40000, 46341, 65535, 65536, 65537,
    1 << 20, 1 << 28, (1 << 28) + 1, 0x7fffffff, (int)0x80000000, -2, -65536, -1000000,
};

static int fz_int(reader* r, int lo, int hi) {
    uint8_t b = u8(r);
    if (b < 224) return lo + (int)(b % (unsigned)(hi - lo + 1));
    return special_ints[b - 224];
}

static int fz_node(reader* r, int n_nodes) {
    uint8_t b = u8(r);
    if (b < 240) return n_nodes > 0 ? n_nodes - 1 - (int)(b % (unsigned)n_nodes) : 0;
    static const int specials[16] = {-1, -2, 0x7fffffff, (int)0x80000000, 65536, 8, 17, 18, 19, 100, -100, 1, 0, 2, 3, 4};
    int v = specials[b - 240];
    if (b == 240 + 5) v = n_nodes;     /* just past the last node */
    if (b == 240 + 6) v = n_nodes + 1;
    return v;
}

static float fz_float(reader* r) {
    uint8_t b = u8(r);
    if (b < 192) return (float)((int)b - 96) / 32.0f;
    if (b < 240) {
        static const float specials[48] = {
            NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.17549435e-38f, 1.4e-45f, 3.40282347e38f, -3.40282347e38f,
            1.0f, 0.5f, 0.9f, 0.99f, 0.999f, 0.999999f, 1.0000001f, 1e-3f, 1e-7f, 1e10f, -1e10f, 1e-30f, 0.1f, 0.01f,
            0.001f, 1e-4f, 2.0f, 100.0f, 1e30f, -1e-30f, 0.9999999f, 65536.0f, -1.0f, -0.5f, 1e-8f, 1e-5f, 0.3f, 0.2f,
            5.0f, 10.0f, 1000.0f, 1e20f, -1e20f, 3.0f, 0.05f, 0.25f, 0.75f, 1e38f,
        };
        return specials[b - 192];
    }
    uint32_t bits = u32(r);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- checks ----------------------------------------------------------------------------------------------------- */

static void fail(const char* what, long long value) {
    fprintf(stderr, "fuzz_graph: %s returned %lld (last error: %s)\n", what, value, cnn_last_error());
    abort();
}

/* FUZZ_GRAPH_TRACE=1 prints every call's result (for checking what an input does). */
static int tracing(void) {
    static int trace = -1;
    if (trace < 0) trace = getenv("FUZZ_GRAPH_TRACE") != NULL;
    return trace;
}

static void check_status(const char* what, cnn_status s) {
    if (tracing()) fprintf(stderr, "  %-18s -> %d%s%s\n", what, (int)s, s ? "  " : "", s ? cnn_last_error() : "");
    if ((int)s < CNN_STATUS_OK || (int)s > CNN_STATUS_NON_FINITE) fail(what, (long long)s);
    if (s != CNN_STATUS_OK && cnn_last_error()[0] == '\0') fail("(empty error message) status", (long long)s);
}

/* ---- the model as the harness sees it ---------------------------------------------------------------------------- */

typedef struct shape {
    int h, w, c;
} shape;

typedef struct state {
    cnn_model* m;
    int n_nodes;
    shape nodes[MAX_NODES];
    double cost[MAX_NODES]; /* multiply-adds per sample of each node's forward pass */
    int64_t params;         /* floats of parameters */
    int input;              /* input node id or -1 */
    int output;             /* the engine's output node (the last added, or set by cnn_model_set_output) */
    int compiled_loss;      /* -1 before a successful compile */
    /* The last successful plan (buffer sizes). */
    int cap;
    int64_t in_size, out_size, out_rows;
    int out_classes;
    int runs;
    int stats_counts, stats_norms; /* cnn_model_set_stats */
    uint32_t prng;
} state;

static int64_t size_of(shape s) { return (int64_t)s.h * s.w * s.c; }

static int valid_node(const state* st, int id) { return id >= 0 && id < st->n_nodes; }

static int in_dim(int v) { return v >= 1 && v <= ENGINE_MAX_DIM; }

/* A kernel of `floats` values (plus a bias) that the engine may accept but that would break the budget. */
static int too_many_params(const state* st, double floats, int bias) {
    return floats <= ENGINE_MAX_ELEMENTS && (double)st->params + floats + (bias > 0 ? bias : 0) > PARAM_BUDGET;
}

static double total_cost(const state* st) {
    double sum = 0.0;
    for (int i = 0; i < st->n_nodes; i++) sum += st->cost[i] + 1.0;
    return sum;
}

/* Registers the id a layer add returned: a new node with its shape, or a negative status. */
static int added(state* st, const char* what, int id, double cost_per_out, int64_t params) {
    if (tracing() && id >= 0) fprintf(stderr, "  %-18s -> node %d\n", what, id);
    if (id < 0) {
        if (id < -CNN_STATUS_NON_FINITE) fail(what, id);
        check_status(what, (cnn_status)-id);
        return id;
    }
    if (id != st->n_nodes || id >= MAX_NODES) fail(what, id);
    int32_t hwc[3];
    if (cnn_model_node_shape(st->m, id, hwc) != CNN_STATUS_OK) fail("node_shape of the new node", id);
    shape s = {hwc[0], hwc[1], hwc[2]};
    if (s.h < 1 || s.w < 1 || s.c < 1 || size_of(s) > ENGINE_MAX_ELEMENTS) fail("node_shape h*w*c", size_of(s));
    st->nodes[id] = s;
    st->cost[id] = cost_per_out * (double)size_of(s);
    st->params += params;
    st->n_nodes++;
    st->output = id;
    if (tracing()) {
        int64_t engine_params = 0;
        for (int i = 0; i < cnn_model_param_count(st->m); i++) {
            int32_t ndim, dims[4];
            cnn_model_param(st->m, i, &ndim, dims);
            engine_params += (int64_t)dims[0] * dims[1] * dims[2] * dims[3];
        }
        fprintf(stderr, "    shape [%d, %d, %d], params %lld (harness: %lld), cost %g\n", s.h, s.w, s.c,
                (long long)engine_params, (long long)st->params, st->cost[id]);
    }
    if (cnn_model_param_count(st->m) < 0) fail("param_count", cnn_model_param_count(st->m));
    return id;
}

static uint32_t prng_next(state* st) {
    st->prng ^= st->prng << 13;
    st->prng ^= st->prng >> 17;
    st->prng ^= st->prng << 5;
    return st->prng;
}

static float prng_float(state* st) { return (float)(prng_next(st) >> 8) * (2.0f / 16777216.0f) - 1.0f; }

/* Fills n 4-byte slots: zeros, a constant, pseudo-random values (with one fuzzed value at a fuzzed place), or raw
 * bytes from the input. Labels are ints in [0, classes) in the pseudo-random modes. */
static void fill(state* st, reader* r, void* buf, int64_t n, int labels, int classes) {
    uint8_t mode = u8(r) % 5;
    float* f = buf;
    int32_t* l = buf;
    st->prng = u32(r) | 1u;
    if (mode == 0) {
        memset(buf, 0, (size_t)n * 4);
    } else if (mode == 1) {
        if (labels) {
            int v = fz_int(r, -1, 15);
            for (int64_t i = 0; i < n; i++) l[i] = v;
        } else {
            float v = fz_float(r);
            for (int64_t i = 0; i < n; i++) f[i] = v;
        }
    } else if (mode == 2 || mode == 3) {
        for (int64_t i = 0; i < n; i++) {
            if (labels)
                l[i] = (int32_t)(prng_next(st) % (uint32_t)(classes > 0 ? classes : 1));
            else
                f[i] = prng_float(st);
        }
        if (mode == 3) {
            int64_t at = (int64_t)(u32(r) % (uint32_t)n);
            if (labels)
                l[at] = fz_int(r, -2, 20);
            else
                f[at] = fz_float(r);
        }
    } else {
        size_t bytes = (size_t)n * 4;
        size_t take = r->n < bytes ? r->n : bytes;
        memset(buf, 0, bytes);
        memcpy(buf, r->p, take);
        r->p += take;
        r->n -= take;
    }
}

/* Reads every value of a buffer so ASan sees a too-small one. */
static volatile float sink;
static void touch(const float* p, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += p[i];
    sink = s;
}

enum {
    OP_CONV, OP_POOL, OP_DENSE, OP_FLATTEN, OP_DROPOUT, OP_ACT, OP_BN, OP_ADD, OP_CONCAT, OP_GPOOL, OP_ZPAD, OP_CONVT,
    OP_UPSAMPLE, OP_UNPOOL, OP_INPUT, OP_SET_OUTPUT, OP_COMPILE, OP_CLASS_WEIGHTS, OP_IGNORE, OP_PLAN, OP_FILL_INPUT,
    OP_FILL_LABELS, OP_TRAIN, OP_EVAL, OP_FORWARD, OP_GRADS, OP_PARAMS, OP_SET_STATS, OP_OPT_STATE, OP_SET_LR,
    OP_SET_SEED, OP_SET_TRAINABLE, OP_NODE_SHAPE, OP_READ_BUFFERS, OP_COUNT
};

static int is_layer_op(int op) { return op <= OP_INPUT; }

static void layer_op(state* st, reader* r, int op) {
    cnn_model* m = st->m;
    int n = st->n_nodes;
    switch (op) {
    case OP_CONV: {
        int in = fz_node(r, n), filters = fz_int(r, 1, 16), kh = fz_int(r, 1, 5), kw = fz_int(r, 1, 5);
        int sh = fz_int(r, 1, 3), sw = fz_int(r, 1, 3), dh = fz_int(r, 1, 3), dw = fz_int(r, 1, 3);
        int padding = fz_int(r, 0, 1), bias = fz_int(r, 0, 1), init = fz_int(r, 0, 6);
        double k = 0; /* kernel floats (double: the product of fuzzed sizes overflows int64) */
        if (valid_node(st, in) && in_dim(filters) && in_dim(kh) && in_dim(kw))
            k = (double)kh * kw * st->nodes[in].c * filters;
        if (too_many_params(st, k, filters)) return;
        int id = cnn_model_add_conv2d(m, in, filters, kh, kw, sh, sw, dh, dw, padding, bias, init);
        double cost = id >= 0 ? (double)kh * kw * st->nodes[in].c : 0;
        added(st, "conv2d", id, cost, id >= 0 ? (int64_t)k + (bias ? filters : 0) : 0);
        break;
    }
    case OP_POOL: {
        int in = fz_node(r, n), kind = fz_int(r, 0, 1), ph = fz_int(r, 1, 4), pw = fz_int(r, 1, 4);
        int sh = fz_int(r, 1, 4), sw = fz_int(r, 1, 4), padding = fz_int(r, 0, 1);
        int id = cnn_model_add_pool2d(m, in, kind, ph, pw, sh, sw, padding);
        double window = 0;
        if (id >= 0) {
            shape s = st->nodes[in];
            window = (double)(ph < s.h ? ph : s.h) * (pw < s.w ? pw : s.w);
        }
        added(st, "pool2d", id, window, 0);
        break;
    }
    case OP_DENSE: {
        int in = fz_node(r, n), units = fz_int(r, 1, 16), bias = fz_int(r, 0, 1), init = fz_int(r, 0, 6);
        double k = 0;
        if (valid_node(st, in) && in_dim(units)) k = (double)size_of(st->nodes[in]) * units;
        if (too_many_params(st, k, units)) return;
        int id = cnn_model_add_dense(m, in, units, bias, init);
        double cost = id >= 0 ? (double)size_of(st->nodes[in]) : 0;
        added(st, "dense", id, cost, id >= 0 ? (int64_t)k + (bias ? units : 0) : 0);
        break;
    }
    case OP_FLATTEN:
        added(st, "flatten", cnn_model_add_flatten(m, fz_node(r, n)), 1, 0);
        break;
    case OP_DROPOUT: {
        int in = fz_node(r, n);
        added(st, "dropout", cnn_model_add_dropout(m, in, fz_float(r)), 1, 0);
        break;
    }
    case OP_ACT: {
        int in = fz_node(r, n), kind = fz_int(r, 0, 7);
        added(st, "activation", cnn_model_add_activation(m, in, kind, fz_float(r)), 2, 0);
        break;
    }
    case OP_BN: {
        int in = fz_node(r, n);
        float momentum = fz_float(r), eps = fz_float(r);
        int center = fz_int(r, 0, 1), scale = fz_int(r, 0, 1);
        int id = cnn_model_add_batchnorm(m, in, momentum, eps, center, scale);
        added(st, "batchnorm", id, 4, id >= 0 ? 4 * (int64_t)st->nodes[in].c : 0);
        break;
    }
    case OP_ADD:
    case OP_CONCAT: {
        int count = fz_int(r, 0, 4);
        int32_t ids[10];
        int pass = count < 0 ? count : (count > 10 ? 10 : count); /* the array holds at most 10 */
        for (int i = 0; i < (pass > 0 ? pass : 0); i++) ids[i] = fz_node(r, n);
        const int32_t* arg = u8(r) == 0xff ? NULL : ids;
        int id = op == OP_ADD ? cnn_model_add_add(m, arg, pass) : cnn_model_add_concat(m, arg, pass);
        added(st, op == OP_ADD ? "add" : "concat", id, (double)(pass > 0 ? pass : 0), 0);
        break;
    }
    case OP_GPOOL: {
        int in = fz_node(r, n), kind = fz_int(r, 0, 1);
        int id = cnn_model_add_global_pool2d(m, in, kind);
        added(st, "global_pool2d", id, id >= 0 ? (double)st->nodes[in].h * st->nodes[in].w : 0, 0);
        break;
    }
    case OP_ZPAD: {
        int in = fz_node(r, n), t = fz_int(r, 0, 3), b = fz_int(r, 0, 3), l = fz_int(r, 0, 3), rr = fz_int(r, 0, 3);
        added(st, "zero_padding2d", cnn_model_add_zero_padding2d(m, in, t, b, l, rr), 1, 0);
        break;
    }
    case OP_CONVT: {
        int in = fz_node(r, n), filters = fz_int(r, 1, 16), kh = fz_int(r, 1, 5), kw = fz_int(r, 1, 5);
        int sh = fz_int(r, 1, 3), sw = fz_int(r, 1, 3), padding = fz_int(r, 0, 1), bias = fz_int(r, 0, 1);
        int init = fz_int(r, 0, 7);
        double k = 0; /* kernel floats (double: the product of fuzzed sizes overflows int64) */
        if (valid_node(st, in) && in_dim(filters) && in_dim(kh) && in_dim(kw))
            k = (double)kh * kw * st->nodes[in].c * filters;
        if (too_many_params(st, k, filters)) return;
        int id = cnn_model_add_conv2d_transpose(m, in, filters, kh, kw, sh, sw, padding, bias, init);
        double cost = 0;
        if (id >= 0) /* per output value: the input pixels whose kernel window covers it, times input channels */
            cost = (double)((kh + sh - 1) / sh) * ((kw + sw - 1) / sw) * st->nodes[in].c + 1;
        added(st, "conv2d_transpose", id, cost, id >= 0 ? (int64_t)k + (bias ? filters : 0) : 0);
        break;
    }
    case OP_UPSAMPLE: {
        int in = fz_node(r, n), fh = fz_int(r, 1, 4), fw = fz_int(r, 1, 4), bilinear = fz_int(r, 0, 1);
        added(st, "upsampling2d", cnn_model_add_upsampling2d(m, in, fh, fw, bilinear), 4, 0);
        break;
    }
    case OP_UNPOOL: {
        int values = fz_node(r, n), pool = fz_node(r, n);
        added(st, "max_unpool2d", cnn_model_add_max_unpool2d(m, values, pool), 1, 0);
        break;
    }
    case OP_INPUT: {
        int h = fz_int(r, 1, 32), w = fz_int(r, 1, 32), c = fz_int(r, 1, 8);
        int id = cnn_model_add_input(m, h, w, c);
        added(st, "input", id, 0, 0);
        if (id >= 0) st->input = id;
        break;
    }
    }
}

/* Activations (and gradients) of the whole model at batch capacity, in floats. */
static double plan_floats(const state* st, int cap) {
    double sum = 0.0;
    for (int i = 0; i < st->n_nodes; i++) sum += (double)size_of(st->nodes[i]);
    return sum * cap * 3.0; /* out, grad, saved (dropout mask, pool indices) */
}

/* The stats vector of a successful run: every float written, class counts consistent with the header (for the
 * cross-entropy losses: each counted row adds one predicted and one true; true positives are at most either), norms
 * >= 0 (NaN allowed: a NaN gradient is reported, not hidden), zero for evaluate. */
static void check_stats(const state* st, const float* stats, int count, int evaluate) {
    for (int i = 0; i < count; i++)
        if (stats[i] == -12345.0f) fail("stats float left unwritten at", i);
    if (!(stats[CNN_STATS_COUNTED] >= 0.0f)) fail("stats counted", -1);
    int at = CNN_STATS_HEADER;
    if (st->stats_counts) {
        const int c = st->out_classes;
        double predicted = 0, truth = 0;
        for (int j = 0; j < c; j++) {
            const float tp = stats[at + j], pr = stats[at + c + j], tr = stats[at + 2 * c + j];
            if (!(tp >= 0.0f && tp <= pr && tp <= tr)) fail("class counts of class", j);
            predicted += pr, truth += tr;
        }
        const int ce = st->compiled_loss == CNN_LOSS_SPARSE_CE || st->compiled_loss == CNN_LOSS_CATEGORICAL_CE;
        const double counted = ce ? stats[CNN_STATS_COUNTED] : 0.0;
        if (predicted != counted || truth != counted) fail("class counts do not add up to counted", (long long)counted);
        at += 3 * c;
    }
    if (st->stats_norms)
        for (int i = at; i < count; i++)
            if (evaluate ? stats[i] != 0.0f : !(stats[i] >= 0.0f || isnan(stats[i]))) fail("grad norm at", i - at);
}

static void run_op(state* st, reader* r, int op) {
    cnn_model* m = st->m;
    switch (op) {
    case OP_SET_OUTPUT: {
        int node = fz_node(r, st->n_nodes);
        cnn_status s = cnn_model_set_output(m, node);
        check_status("set_output", s);
        if (s == CNN_STATUS_OK) st->output = node;
        break;
    }
    case OP_COMPILE: {
        int loss = fz_int(r, 0, 3);
        cnn_optimizer_config opt;
        opt.kind = fz_int(r, 0, 3);
        opt.learning_rate = fz_float(r);
        opt.momentum = fz_float(r);
        opt.nesterov = fz_int(r, 0, 1);
        opt.beta1 = fz_float(r);
        opt.beta2 = fz_float(r);
        opt.epsilon = fz_float(r);
        opt.weight_decay = fz_float(r);
        opt.clip_norm = fz_float(r);
        cnn_status s = cnn_model_compile(m, loss, u8(r) == 0xff ? NULL : &opt);
        check_status("compile", s);
        if (s == CNN_STATUS_OK) st->compiled_loss = loss;
        break;
    }
    case OP_CLASS_WEIGHTS: {
        int classes = st->output >= 0 ? st->nodes[st->output].c : 1;
        int count = u8(r) < 192 ? classes : fz_int(r, -1, 8);
        float* w = NULL;
        if (count > 0 && count <= (1 << 20)) {
            w = malloc((size_t)count * sizeof(float));
            float v = fz_float(r);
            for (int i = 0; i < count; i++) w[i] = v * (float)(1 + i % 3);
            if (count > 0 && u8(r) >= 128) w[u8(r) % count] = fz_float(r);
        }
        check_status("set_class_weights", cnn_model_set_class_weights(m, w, count));
        free(w);
        break;
    }
    case OP_IGNORE: {
        int enabled = fz_int(r, 0, 1), label = fz_int(r, -1, 16);
        check_status("set_ignore_label", cnn_model_set_ignore_label(m, enabled, label));
        break;
    }
    case OP_PLAN: {
        int cap = fz_int(r, 1, 4), grads = fz_int(r, 0, 1);
        /* A node whose batch buffer passes the engine's ceiling: the plan must refuse it (before allocating, so the
         * call is cheap). Otherwise plans over the harness's budget are skipped. */
        int must_refuse = 0;
        for (int i = 0; i < st->n_nodes && cap >= 1; i++)
            if ((double)size_of(st->nodes[i]) * cap * 4.0 > (double)CNN_MAX_BUFFER_BYTES) must_refuse = 1;
        if (!must_refuse && cap >= 1 && cap <= CNN_MAX_BATCH && plan_floats(st, cap) > ACT_BUDGET) return;
        cnn_status s = cnn_model_plan(m, cap, grads);
        check_status("plan", s);
        if (must_refuse && s == CNN_STATUS_OK) fail("plan accepted a buffer over CNN_MAX_BUFFER_BYTES; capacity", cap);
        if (s == CNN_STATUS_OK) {
            if (st->input < 0 || st->output < 0) fail("plan without input or output", s);
            st->cap = cap;
            st->in_size = size_of(st->nodes[st->input]);
            shape o = st->nodes[st->output];
            st->out_size = size_of(o);
            st->out_rows = (int64_t)o.h * o.w;
            st->out_classes = o.c;
        } else if (!cnn_model_input_buffer(m)) {
            st->cap = 0;
        }
        break;
    }
    case OP_FILL_INPUT: {
        float* x = cnn_model_input_buffer(m);
        if (!x != !st->cap) fail("input_buffer is NULL exactly when unplanned; planned", st->cap);
        if (x) fill(st, r, x, st->cap * st->in_size, 0, 0);
        break;
    }
    case OP_FILL_LABELS: {
        void* labels = cnn_model_label_buffer(m);
        if (!labels != !st->cap) fail("label_buffer is NULL exactly when unplanned; planned", st->cap);
        if (labels) fill(st, r, labels, st->cap * st->out_size, u8(r) & 1, st->out_classes);
        break;
    }
    case OP_TRAIN:
    case OP_EVAL:
    case OP_FORWARD:
    case OP_GRADS: {
        int n = fz_int(r, 1, 4);
        /* The stats vector with a sentinel in every float, to catch one the engine leaves unwritten. */
        const int count = cnn_model_stats_count(m);
        if (count < CNN_STATS_HEADER) fail("stats_count", count);
        float* stats = malloc((size_t)count * sizeof(float));
        for (int i = 0; i < count; i++) stats[i] = -12345.0f;
        float* sp = u8(r) == 0xff ? NULL : stats;
        if (st->runs >= MAX_RUNS || (n >= 1 && n <= st->cap && total_cost(st) * n > COST_BUDGET)) {
            free(stats);
            return;
        }
        if (st->cap) st->runs++;
        cnn_status s;
        if (op == OP_TRAIN)
            check_status("train_step", s = cnn_model_train_step(m, n, sp));
        else if (op == OP_EVAL)
            check_status("evaluate", s = cnn_model_evaluate(m, n, sp));
        else if (op == OP_FORWARD)
            check_status("forward", s = cnn_model_forward(m, n));
        else
            check_status("compute_gradients", s = cnn_model_compute_gradients(m, n, sp));
        if (s == CNN_STATUS_OK && sp && op != OP_FORWARD) check_stats(st, stats, count, op == OP_EVAL);
        if (tracing() && s == CNN_STATUS_OK && sp && op != OP_FORWARD)
            fprintf(stderr, "    stats: loss %g, correct %g of %g, grad norm %g\n", (double)stats[0], (double)stats[1],
                    (double)stats[2], op == OP_TRAIN ? (double)stats[3] : 0.0);
        free(stats);
        break;
    }
    case OP_PARAMS: {
        int count = cnn_model_param_count(m);
        for (int i = -1; i <= count; i++) {
            int32_t ndim = -1, dims[4] = {-1, -1, -1, -1};
            float* p = cnn_model_param(m, i, &ndim, dims);
            if ((p != NULL) != (i >= 0 && i < count)) fail("param pointer for index", i);
            if (!p) continue;
            if (ndim < 1 || ndim > 4) fail("param ndim", ndim);
            int64_t size = 1;
            for (int d = 0; d < 4; d++) {
                if (dims[d] < 1) fail("param dim", dims[d]);
                size *= dims[d];
            }
            if (size > PARAM_BUDGET) fail("param size", size);
            touch(p, size);
            float* g = cnn_model_param_grad(m, i);
            if (g) touch(g, size);
            int node = cnn_model_param_node(m, i);
            if (!valid_node(st, node)) fail("param_node", node);
            int is_state = cnn_model_param_is_state(m, i);
            if (is_state != 0 && is_state != 1) fail("param_is_state", is_state);
        }
        if (cnn_model_param_node(m, count) >= 0) fail("param_node past the end", count);
        break;
    }
    case OP_SET_STATS: {
        int counts = fz_int(r, 0, 1), norms = fz_int(r, 0, 1);
        cnn_status s = cnn_model_set_stats(u8(r) == 0xff ? NULL : m, counts, norms);
        check_status("set_stats", s);
        if (s == CNN_STATUS_OK) st->stats_counts = counts != 0, st->stats_norms = norms != 0;
        int classes = st->output >= 0 ? st->nodes[st->output].c : 0;
        int expect = CNN_STATS_HEADER + (st->stats_counts ? 3 * classes : 0) +
                     (st->stats_norms ? cnn_model_param_count(m) : 0);
        if (cnn_model_stats_count(m) != expect) fail("stats_count, expected", expect);
        break;
    }
    case OP_OPT_STATE: {
        const int slots = cnn_model_optimizer_slots(m), count = cnn_model_param_count(m);
        if (slots < 0 || slots > 2) fail("optimizer_slots", slots);
        for (int p = -1; p <= count; p++)
            for (int slot = -1; slot <= slots; slot++) {
                float* state = cnn_model_optimizer_state(m, p, slot);
                if ((state != NULL) != (p >= 0 && p < count && slot >= 0 && slot < slots))
                    fail("optimizer_state pointer for param", p);
                if (state) {
                    int32_t ndim, dims[4];
                    cnn_model_param(m, p, &ndim, dims);
                    touch(state, (int64_t)dims[0] * dims[1] * dims[2] * dims[3]);
                }
            }
        int32_t step = fz_int(r, -1, 8);
        cnn_status s = cnn_model_set_optimizer_step(m, step);
        check_status("set_optimizer_step", s);
        if (s == CNN_STATUS_OK && cnn_model_optimizer_step(m) != step) fail("optimizer_step after set", step);
        break;
    }
    case OP_SET_LR:
        check_status("set_learning_rate", cnn_model_set_learning_rate(m, fz_float(r)));
        break;
    case OP_SET_SEED:
        cnn_model_set_seed(m, u32(r));
        break;
    case OP_SET_TRAINABLE: {
        int node = fz_node(r, st->n_nodes), trainable = fz_int(r, 0, 1);
        check_status("set_trainable", cnn_model_set_trainable(m, node, trainable));
        break;
    }
    case OP_NODE_SHAPE: {
        int node = fz_node(r, st->n_nodes);
        int32_t hwc[3];
        int32_t* out = u8(r) == 0xff ? NULL : hwc;
        cnn_status s = cnn_model_node_shape(m, node, out);
        check_status("node_shape", s);
        if ((s == CNN_STATUS_OK) != (valid_node(st, node) && out)) fail("node_shape of node", node);
        if (s == CNN_STATUS_OK &&
            (hwc[0] != st->nodes[node].h || hwc[1] != st->nodes[node].w || hwc[2] != st->nodes[node].c))
            fail("node_shape changed for node", node);
        break;
    }
    case OP_READ_BUFFERS: {
        float* out = cnn_model_output_buffer(m);
        if (out) touch(out, st->cap * st->out_size);
        float* dx = cnn_model_input_grad_buffer(m);
        if (dx) touch(dx, st->cap * st->in_size);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    reader r = {data, size};
    state st;
    memset(&st, 0, sizeof st);
    st.input = st.output = st.compiled_loss = -1;
    st.m = cnn_model_create(u32(&r));
    if (!st.m) return 0;
    int h = fz_int(&r, 1, 32), w = fz_int(&r, 1, 32), c = fz_int(&r, 1, 8);
    int id = added(&st, "input", cnn_model_add_input(st.m, h, w, c), 0, 0);
    if (id >= 0) st.input = id;

    int layers = 0;
    for (int action = 0; action < MAX_ACTIONS && more(&r); action++) {
        int op = u8(&r) % OP_COUNT;
        if (is_layer_op(op)) {
            if (layers++ >= MAX_LAYERS) continue;
            layer_op(&st, &r, op);
        } else {
            run_op(&st, &r, op);
        }
    }
    cnn_model_free(st.m);
    return 0;
}
