/* Fully connected layer: y = x · W (+ b), kernel [inputs, units] (tfjs layout). The input's per-sample tensor is
 * read as a flat vector in NHWC order, which is what tfjs's flatten produces. */
#include "../internal.h"
#include "../kernels/kernels.h"
#include "../parallel.h"

static cnn_layer_needs dense_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    int K = cnn_node_size(&m->nodes[node->inputs[0]]), N = node->c, M = capacity;
    size_t ws = 0, g;
    g = cnn_f32_gemm_workspace_floats(M, N, K); if (g > ws) ws = g;
    g = cnn_f32_gemm_workspace_floats(K, N, M); if (g > ws) ws = g;
    g = cnn_f32_gemm_workspace_floats(M, K, N); if (g > ws) ws = g;
    cnn_layer_needs needs = {ws + CNN_SCRATCH_SLACK_FLOATS, cnn_packed_kernel_floats(N, K), 0};
    return needs;
}

static void dense_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    int K = cnn_node_size(in), N = node->c;
    const float* bias = node->cfg.dense.use_bias ? m->params[node->first_param + 1].data : NULL;
    const float* w = m->params[node->first_param].data;
    const int vouch = cnn_vouch_wanted(m, node);
    cnn_f32_packed_b packed_kernel; /* packed once while the weights stay put (parallel.h) */
    const cnn_f32_packed_b* packed = cnn_packed_kernel(m, node, 0, w, N, 0, N, K, &packed_kernel);
    const int finite = cnn_gemm_split(m, n, N, K, in->out, K, 0, w, N, 0, packed, bias, node->out, N, 0, vouch);
    if (vouch) m->output_vouched = finite;
}

static void dense_backward(cnn_model* m, cnn_node* node, int n) {
    cnn_node* in = &m->nodes[node->inputs[0]];
    cnn_param* kernel = &m->params[node->first_param];
    int K = cnn_node_size(in), N = node->c;
    if (node->trainable) {
        cnn_gemm_threaded(m, K, N, n, in->out, K, 1, node->grad, N, 0, kernel->grad, N, 1);
        if (node->cfg.dense.use_bias) cnn_f32_sum_rows_add(n, N, node->grad, m->params[node->first_param + 1].grad);
    }
    if (cnn_wants_grad(m, node->inputs[0]))
        cnn_gemm_threaded(m, n, K, N, node->grad, N, 0, kernel->data, N, 1, in->grad, K, 1);
}

const cnn_layer_ops cnn_dense_ops = {"dense", dense_needs, dense_forward, dense_backward, 0};

int cnn_model_add_dense(cnn_model* m, int input, int units, int use_bias, int kernel_init) {
    cnn_status status = cnn_graph_check_input(m, input, "dense");
    if (status != CNN_STATUS_OK) return -status;
    int K = cnn_node_size(&m->nodes[input]);
    if (units < 1 || units > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "dense: units must be in [1, %d], got %d", CNN_MAX_DIM, units);
    if ((int64_t)K * units > CNN_MAX_ELEMENTS)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "dense: a %dx%d kernel is too large", K, units);
    int id = cnn_graph_add_node(m, &cnn_dense_ops, &input, 1, 1, 1, units);
    if (id < 0) return id;
    m->nodes[id].cfg.dense.units = units;
    m->nodes[id].cfg.dense.use_bias = use_bias != 0;
    int32_t kdims[2] = {K, units};
    int p = cnn_graph_add_param(m, id, 2, kdims, K, units, kernel_init, 1);
    if (p < 0) return cnn_graph_rollback(m, id, p);
    if (use_bias) {
        int32_t bdims[1] = {units};
        p = cnn_graph_add_param(m, id, 1, bdims, K, units, CNN_INIT_ZEROS, 0);
        if (p < 0) return cnn_graph_rollback(m, id, p);
    }
    return id;
}
