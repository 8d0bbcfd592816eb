/* cnn_abi_json(): the binary interface as data, so the JS side checks its struct offsets, enum values, stats layout
 * and limits against the engine's at load time instead of trusting copies (issue 8). Each name is written once, in
 * the X-macro lists below; the _Static_asserts fail the build when a list and cnn.h drift apart (a field or an enum
 * value added on one side only). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "internal.h"

/* ---- the lists ---------------------------------------------------------------------------------------------------- */

#define OPTIMIZER_CONFIG_FIELDS(X) \
    X(kind) X(learning_rate) X(momentum) X(nesterov) X(beta1) X(beta2) X(epsilon) X(weight_decay) X(clip_norm)

#define STATUS_VALUES(X) \
    X(CNN_STATUS_OK) X(CNN_STATUS_INVALID_ARG) X(CNN_STATUS_INVALID_SHAPE) X(CNN_STATUS_OUT_OF_MEMORY) \
    X(CNN_STATUS_INVALID_STATE) X(CNN_STATUS_NON_FINITE)
#define PADDING_VALUES(X) X(CNN_PADDING_VALID) X(CNN_PADDING_SAME)
#define ACTIVATION_VALUES(X) \
    X(CNN_ACT_LINEAR) X(CNN_ACT_RELU) X(CNN_ACT_SIGMOID) X(CNN_ACT_TANH) X(CNN_ACT_SOFTMAX) X(CNN_ACT_LEAKY_RELU)
#define INIT_VALUES(X) \
    X(CNN_INIT_ZEROS) X(CNN_INIT_ONES) X(CNN_INIT_GLOROT_UNIFORM) X(CNN_INIT_GLOROT_NORMAL) X(CNN_INIT_HE_NORMAL) \
    X(CNN_INIT_HE_UNIFORM) X(CNN_INIT_BILINEAR)
#define POOL_KIND_VALUES(X) X(CNN_POOL_MAX) X(CNN_POOL_AVG)
#define UPSAMPLING_MODE_VALUES(X) \
    X(CNN_UPSAMPLE_NEAREST) X(CNN_UPSAMPLE_BILINEAR) X(CNN_UPSAMPLE_BILINEAR_HALF_PIXEL) \
    X(CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS)
#define LOSS_VALUES(X) X(CNN_LOSS_SPARSE_CE) X(CNN_LOSS_CATEGORICAL_CE) X(CNN_LOSS_MSE)
#define OPTIMIZER_KIND_VALUES(X) X(CNN_OPT_SGD) X(CNN_OPT_MOMENTUM) X(CNN_OPT_ADAM)
#define STATS_VALUES(X) \
    X(CNN_STATS_LOSS) X(CNN_STATS_CORRECT) X(CNN_STATS_COUNTED) X(CNN_STATS_GRAD_NORM) X(CNN_STATS_HEADER)

/* Limits as JSON names (without the CNN_ prefix, lower case) and values. */
#define LIMIT_VALUES(X) \
    X(max_dim, CNN_MAX_DIM) X(max_kernel, CNN_MAX_KERNEL) X(max_stride, CNN_MAX_STRIDE) \
    X(max_padding, CNN_MAX_PADDING) X(max_transpose_kernel, CNN_MAX_TRANSPOSE_KERNEL) \
    X(max_inputs, CNN_MAX_INPUTS) X(max_elements, CNN_MAX_ELEMENTS) X(max_batch, CNN_MAX_BATCH) \
    X(max_buffer_bytes, CNN_MAX_BUFFER_BYTES) X(max_plan_bytes, CNN_MAX_PLAN_BYTES) X(error_bytes, CNN_ERROR_BYTES)

/* ---- build-time checks -------------------------------------------------------------------------------------------- */

/* Every field is 4 bytes and the list covers the struct: a field added to cnn.h but not here changes sizeof. */
#define FIELD_SIZE(f) +sizeof(((cnn_optimizer_config*)0)->f)
_Static_assert(0 OPTIMIZER_CONFIG_FIELDS(FIELD_SIZE) == sizeof(cnn_optimizer_config),
               "OPTIMIZER_CONFIG_FIELDS must list every field of cnn_optimizer_config");
_Static_assert(sizeof(cnn_optimizer_config) == 36, "cnn_optimizer_config changed: bump CNN_ABI_VERSION");
_Static_assert(sizeof(float) == 4 && sizeof(int32_t) == 4, "the ABI assumes 4-byte floats and ints");

/* Each enum is dense from 0, so a list of n names must end at value n - 1; its last entry is the enum's last value. */
#define COUNT_ONE(name) +1
_Static_assert(0 STATUS_VALUES(COUNT_ONE) == CNN_STATUS_NON_FINITE + 1, "STATUS_VALUES is not cnn_status");
_Static_assert(0 PADDING_VALUES(COUNT_ONE) == CNN_PADDING_SAME + 1, "PADDING_VALUES is not cnn_padding");
_Static_assert(0 ACTIVATION_VALUES(COUNT_ONE) == CNN_ACT_LEAKY_RELU + 1, "ACTIVATION_VALUES is not cnn_activation");
_Static_assert(0 INIT_VALUES(COUNT_ONE) == CNN_INIT_BILINEAR + 1, "INIT_VALUES is not cnn_init");
_Static_assert(0 POOL_KIND_VALUES(COUNT_ONE) == CNN_POOL_AVG + 1, "POOL_KIND_VALUES is not cnn_pool_kind");
_Static_assert(0 UPSAMPLING_MODE_VALUES(COUNT_ONE) == CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS + 1,
               "UPSAMPLING_MODE_VALUES is not cnn_upsampling_mode");
_Static_assert(0 LOSS_VALUES(COUNT_ONE) == CNN_LOSS_MSE + 1, "LOSS_VALUES is not cnn_loss");
_Static_assert(0 OPTIMIZER_KIND_VALUES(COUNT_ONE) == CNN_OPT_ADAM + 1, "OPTIMIZER_KIND_VALUES is not its enum");
_Static_assert(0 STATS_VALUES(COUNT_ONE) == CNN_STATS_HEADER + 1, "STATS_VALUES is not cnn_stats");

/* ---- the JSON ----------------------------------------------------------------------------------------------------- */

typedef struct json_buf {
    char* p;
    size_t len, cap;
} json_buf;

/* Appends formatted text; on overflow the buffer is marked full (cap 0) and later appends do nothing. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(json_buf* b, const char* fmt, ...) {
    if (!b->cap) return;
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, args);
    va_end(args);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->cap = 0;
        return;
    }
    b->len += (size_t)n;
}

#define PUT_OFFSET(f) put(b, "%s\"" #f "\": %zu", first ? "" : ", ", offsetof(cnn_optimizer_config, f)), first = 0;
#define PUT_VALUE(name) put(b, "%s\"" #name "\": %d", first ? "" : ", ", (int)(name)), first = 0;
#define PUT_ENUM(type, LIST) \
    put(b, ", \"" type "\": {"), first = 1; \
    LIST(PUT_VALUE) put(b, "}");
#define PUT_LIMIT(key, value) \
    put(b, "%s\"" #key "\": %llu", first ? "" : ", ", (unsigned long long)(value)), first = 0;

static void build(json_buf* b) {
    int first;
    put(b, "{\"abi_version\": %d, \"sizeof\": {\"cnn_optimizer_config\": %zu}", CNN_ABI_VERSION,
        sizeof(cnn_optimizer_config));
    put(b, ", \"offsetof\": {\"cnn_optimizer_config\": {"), first = 1;
    OPTIMIZER_CONFIG_FIELDS(PUT_OFFSET)
    put(b, "}}, \"enums\": {\"cnn_status\": {"), first = 1;
    STATUS_VALUES(PUT_VALUE)
    put(b, "}");
    PUT_ENUM("cnn_padding", PADDING_VALUES)
    PUT_ENUM("cnn_activation", ACTIVATION_VALUES)
    PUT_ENUM("cnn_init", INIT_VALUES)
    PUT_ENUM("cnn_pool_kind", POOL_KIND_VALUES)
    PUT_ENUM("cnn_loss", LOSS_VALUES)
    PUT_ENUM("cnn_optimizer_kind", OPTIMIZER_KIND_VALUES)
    PUT_ENUM("cnn_stats", STATS_VALUES)
    PUT_ENUM("cnn_upsampling_mode", UPSAMPLING_MODE_VALUES)
    put(b, "}, \"limits\": {"), first = 1;
    LIMIT_VALUES(PUT_LIMIT)
    put(b, "}}");
}

const char* cnn_abi_json(void) {
    /* Built on the first call into static storage (4 KiB holds the whole document: about 1.6 KiB today). The wasm
     * engine is single-threaded; natively, racing first calls would write the same bytes. */
    static char json[4096];
    if (json[0]) return json;
    json_buf b = {json, 0, sizeof json};
    build(&b);
    if (!b.cap) {
        assert(!"cnn_abi_json: the document outgrew its buffer");
        json[0] = '\0';
        return NULL;
    }
    return json;
}
