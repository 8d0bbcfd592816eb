/* Elementwise activations and softmax over the channel axis. Backward uses the saved output y, which determines
 * every derivative here: relu' = [y > 0], sigmoid' = y(1 − y), tanh' = 1 − y², softmax: dx = y ⊙ (dy − ⟨dy, y⟩). */
#include <math.h>

#include "../internal.h"
#include "../kernels/kernels.h"
#include "../parallel.h"

void cnn_activation_forward(int kind, float alpha, size_t count, int c, const float* x, float* y) {
    switch (kind) {
    case CNN_ACT_RELU:
        for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case CNN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
        break;
    case CNN_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case CNN_ACT_TANH:
        for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
        break;
    case CNN_ACT_SOFTMAX:
        for (size_t r = 0; r < count / (size_t)c; r++) {
            const float* xr = x + r * (size_t)c;
            float* yr = y + r * (size_t)c;
            float max = xr[0];
            for (int j = 1; j < c; j++) max = xr[j] > max ? xr[j] : max;
            float sum = 0.0f;
            for (int j = 0; j < c; j++) {
                yr[j] = expf(xr[j] - max);
                sum += yr[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j < c; j++) yr[j] *= inv;
        }
        break;
    default: /* linear */
        for (size_t i = 0; i < count; i++) y[i] = x[i];
        break;
    }
}

/* Threads: disjoint ranges of elements (whole rows of c for softmax), parallel.h. */
typedef struct act_job {
    int kind, c, accumulate; /* backward: add into dx, else overwrite it (cnn_grad_claim) */
    float alpha;
    const float* x;
    const float* y;
    const float* dy;
    float* out;
} act_job;

static void forward_range(void* ctx, size_t begin, size_t end) {
    const act_job* j = ctx;
    cnn_activation_forward(j->kind, j->alpha, end - begin, j->c, j->x + begin, j->out + begin);
}

static int cost_of(int kind) {
    return kind == CNN_ACT_SIGMOID || kind == CNN_ACT_TANH || kind == CNN_ACT_SOFTMAX ? 8 * CNN_ELEMENTWISE_COST
                                                                                       : CNN_ELEMENTWISE_COST;
}

static void activation_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const int kind = node->cfg.act.kind;
    act_job j = {kind, node->c, 0, node->cfg.act.alpha, in->out, NULL, NULL, node->out};
    cnn_parallel_ranges(m, (size_t)n * (size_t)cnn_node_size(node), kind == CNN_ACT_SOFTMAX ? (size_t)node->c : 64,
                        cost_of(kind), forward_range, &j);
}

/* dx[begin, end) (+)= the activation's derivative times dy; x is the layer's input (leaky ReLU reads its sign). */
static void backward_range(void* ctx, size_t begin, size_t end) {
    const act_job* j = ctx;
    const float* y = j->y;
    const float* dy = j->dy;
    const float* x = j->x;
    float* dx = j->out;
    const float alpha = j->alpha;
    const int acc = j->accumulate;
    switch (j->kind) {
    case CNN_ACT_RELU:
        cnn_f32_relu_backward(end - begin, y + begin, dy + begin, dx + begin, acc);
        break;
    case CNN_ACT_LEAKY_RELU: /* for alpha > 0, y > 0 exactly when x > 0 */
        cnn_f32_leaky_relu_backward(end - begin, x + begin, dy + begin, alpha, dx + begin, acc);
        break;
    case CNN_ACT_SIGMOID:
        for (size_t i = begin; i < end; i++) {
            const float g = dy[i] * y[i] * (1.0f - y[i]);
            dx[i] = acc ? dx[i] + g : g;
        }
        break;
    case CNN_ACT_TANH:
        for (size_t i = begin; i < end; i++) {
            const float g = dy[i] * (1.0f - y[i] * y[i]);
            dx[i] = acc ? dx[i] + g : g;
        }
        break;
    case CNN_ACT_SOFTMAX: {
        const size_t c = (size_t)j->c;
        for (size_t r = begin / c; r < end / c; r++) {
            const float* yr = y + r * c;
            const float* dyr = dy + r * c;
            float dot = 0.0f;
            for (size_t k = 0; k < c; k++) dot += dyr[k] * yr[k];
            for (size_t k = 0; k < c; k++) {
                const float g = yr[k] * (dyr[k] - dot);
                dx[r * c + k] = acc ? dx[r * c + k] + g : g;
            }
        }
        break;
    }
    default:
        for (size_t i = begin; i < end; i++) dx[i] = acc ? dx[i] + dy[i] : dy[i];
        break;
    }
}

static void activation_backward(cnn_model* m, cnn_node* node, int n) {
    cnn_node* in = &m->nodes[node->inputs[0]];
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    const int kind = node->cfg.act.kind;
    act_job j = {kind, node->c, !cnn_grad_claim(m, node->inputs[0]), node->cfg.act.alpha, in->out, node->out,
                 node->grad, in->grad};
    cnn_parallel_ranges(m, (size_t)n * (size_t)cnn_node_size(node), kind == CNN_ACT_SOFTMAX ? (size_t)node->c : 64,
                        cost_of(kind), backward_range, &j);
}

const cnn_layer_ops cnn_activation_ops = {"activation", NULL, activation_forward, activation_backward, 1};

int cnn_model_add_activation(cnn_model* m, int input, int activation, float alpha) {
    cnn_status status = cnn_graph_check_input(m, input, "activation");
    if (status != CNN_STATUS_OK) return -status;
    if (activation < CNN_ACT_LINEAR || activation > CNN_ACT_LEAKY_RELU)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "activation: unknown activation %d", activation);
    if (!isfinite(alpha) || alpha < 0.0f)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "activation: alpha must be a finite number >= 0, got %g",
                         (double)alpha);
    const cnn_node* in = &m->nodes[input];
    int id = cnn_graph_add_node(m, &cnn_activation_ops, &input, 1, in->h, in->w, in->c);
    if (id < 0) return id;
    m->nodes[id].cfg.act.kind = activation;
    m->nodes[id].cfg.act.alpha = alpha;
    return id;
}
