/* 2-D convolution as a GEMM over the patch matrix (im2col), processed in row chunks so the scratch space stays
 * small and cache-resident. Kernel layout [kh, kw, cin, filters] (tfjs), which is already the K×N matrix the GEMM
 * wants. 1×1 stride-1 unpadded convolutions use the input itself as the patch matrix.
 *   forward:  y = cols · W (+ b)
 *   backward: dW += colsᵀ · dy,  db += Σ dy,  dx += col2im(dy · Wᵀ) */
#include <string.h>

#include "../internal.h"
#include "../kernels/kernels.h"
#include "../parallel.h"

static cnn_conv_geom geometry(const cnn_model* m, const cnn_node* node, int n) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    cnn_conv_geom g = {n, in->h, in->w, in->c, cfg->kh, cfg->kw, cfg->sh, cfg->sw, cfg->dh, cfg->dw,
                       cfg->pad_top, cfg->pad_left, node->h, node->w};
    return g;
}

static int is_pointwise(const cnn_conv_cfg* cfg) {
    return cfg->kh == 1 && cfg->kw == 1 && cfg->sh == 1 && cfg->sw == 1 && cfg->pad_top == 0 && cfg->pad_left == 0;
}

static cnn_layer_needs conv_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    int K = cfg->kh * cfg->kw * in->c, N = cfg->filters;
    int M = capacity * node->h * node->w;
    int rows = cnn_patch_chunk_rows(K, M);
    size_t gemm = 0, g;
    /* The three GEMM shapes this layer runs, each with the chunked M. */
    g = cnn_f32_gemm_workspace_floats(rows, N, K); if (g > gemm) gemm = g;
    g = cnn_f32_gemm_workspace_floats(K, N, rows); if (g > gemm) gemm = g;
    g = cnn_f32_gemm_workspace_floats(rows, K, N); if (g > gemm) gemm = g;
    if (is_pointwise(cfg)) {
        /* No patch matrix, and the whole batch is one GEMM. */
        gemm = 0;
        g = cnn_f32_gemm_workspace_floats(M, N, K); if (g > gemm) gemm = g;
        g = cnn_f32_gemm_workspace_floats(K, N, M); if (g > gemm) gemm = g;
        g = cnn_f32_gemm_workspace_floats(M, K, N); if (g > gemm) gemm = g;
        cnn_layer_needs needs = {gemm + 16, 0, 0};
        return needs;
    }
    cnn_layer_needs needs = {cnn_patch_chunk_floats(rows, K) + gemm + 16, 0, 0};
    cnn_conv_geom geom = geometry(m, node, capacity);
    if (cnn_f32_conv2d_preferred(&geom, N)) {
        /* The forward pass runs as a direct (implicit-GEMM) convolution. */
        size_t direct = cnn_f32_conv2d_workspace_floats(&geom, N) + 16;
        if (direct > needs.scratch_floats) needs.scratch_floats = direct;
    }
    return needs;
}

static void conv_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    const cnn_param* kernel = &m->params[node->first_param];
    int K = cfg->kh * cfg->kw * in->c, N = cfg->filters, M = n * node->h * node->w;
    float* scratch = cnn_scratch(m);
    const float* bias = cfg->use_bias ? m->params[node->first_param + 1].data : NULL;
    if (cnn_model_threaded(m)) { /* the same passes, split into tasks (conv_threads.c) */
        cnn_conv_geom g = geometry(m, node, n);
        if (cnn_conv2d_forward_threaded(m, &g, is_pointwise(cfg), !is_pointwise(cfg) && cnn_f32_conv2d_preferred(&g, N),
                                        cnn_patch_chunk_rows(K, M), in->out, kernel->data, bias, N, node->out))
            return;
    }
    if (is_pointwise(cfg)) {
        cnn_f32_gemm(M, N, K, in->out, K, 0, kernel->data, N, 0, node->out, N, 0, scratch);
    } else {
        cnn_conv_geom g = geometry(m, node, n);
        if (cnn_f32_conv2d_preferred(&g, N)) {
            /* Patches read in place, bias fused: no patch matrix, no second pass over y. */
            cnn_f32_conv2d(&g, in->out, kernel->data, bias, N, node->out, scratch);
            return;
        }
        int rows = cnn_patch_chunk_rows(K, M);
        float* cols = scratch;
        float* gemm_ws = scratch + cnn_patch_chunk_floats(rows, K);
        for (int row0 = 0; row0 < M; row0 += rows) {
            int r = M - row0 < rows ? M - row0 : rows;
            cnn_f32_im2col(&g, in->out, row0, r, cols);
            cnn_f32_gemm(r, N, K, cols, K, 0, kernel->data, N, 0, node->out + (size_t)row0 * N, N, 0, gemm_ws);
        }
    }
    if (bias) cnn_f32_add_bias(M, N, bias, node->out);
}

static void conv_backward(cnn_model* m, cnn_node* node, int n) {
    cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    cnn_param* kernel = &m->params[node->first_param];
    int K = cfg->kh * cfg->kw * in->c, N = cfg->filters, M = n * node->h * node->w;
    int need_dx = cnn_wants_grad(m, node->inputs[0]);
    int need_dw = node->trainable;
    float* scratch = cnn_scratch(m);
    if (need_dw && cfg->use_bias) cnn_f32_sum_rows_add(M, N, node->grad, m->params[node->first_param + 1].grad);
    if (cnn_model_threaded(m) && (need_dw || need_dx)) {
        cnn_conv_geom g = geometry(m, node, n);
        if (cnn_conv2d_backward_threaded(m, &g, is_pointwise(cfg), cnn_patch_chunk_rows(K, M), in->out, kernel->data,
                                         node->grad, N, need_dw ? kernel->grad : NULL, need_dx ? in->grad : NULL))
            return;
    }
    if (is_pointwise(cfg)) {
        if (need_dw) cnn_f32_gemm(K, N, M, in->out, K, 1, node->grad, N, 0, kernel->grad, N, 1, scratch);
        if (need_dx) cnn_f32_gemm(M, K, N, node->grad, N, 0, kernel->data, N, 1, in->grad, K, 1, scratch);
        return;
    }
    if (!need_dw && !need_dx) return;
    cnn_conv_geom g = geometry(m, node, n);
    int rows = cnn_patch_chunk_rows(K, M);
    float* cols = scratch;
    float* gemm_ws = scratch + cnn_patch_chunk_floats(rows, K);
    for (int row0 = 0; row0 < M; row0 += rows) {
        int r = M - row0 < rows ? M - row0 : rows;
        const float* dy = node->grad + (size_t)row0 * N;
        if (need_dw) {
            cnn_f32_im2col(&g, in->out, row0, r, cols);
            cnn_f32_gemm(K, N, r, cols, K, 1, dy, N, 0, kernel->grad, N, 1, gemm_ws);
        }
        if (need_dx) {
            /* The patch matrix is no longer needed: its space takes the patch gradient. */
            cnn_f32_gemm(r, K, N, dy, N, 0, kernel->data, N, 1, cols, K, 0, gemm_ws);
            cnn_f32_col2im_add(&g, cols, row0, r, in->grad);
        }
    }
}

const cnn_layer_ops cnn_conv2d_ops = {"conv2d", conv_needs, conv_forward, conv_backward};

int cnn_model_add_conv2d(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw, int dh, int dw,
                         int padding, int use_bias, int kernel_init) {
    cnn_status status = cnn_graph_check_input(m, input, "conv2d");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* in = &m->nodes[input];
    if (filters < 1 || filters > CNN_MAX_DIM || kh < 1 || kw < 1 || kh > CNN_MAX_DIM || kw > CNN_MAX_DIM ||
        sh < 1 || sw < 1 || dh < 1 || dw < 1 || sh > CNN_MAX_DIM || sw > CNN_MAX_DIM || dh > CNN_MAX_DIM ||
        dw > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_ARG,
                         "conv2d: filters, kernel size, strides and dilation must be >= 1, got filters=%d "
                         "kernel=%dx%d strides=%dx%d dilation=%dx%d", filters, kh, kw, sh, sw, dh, dw);
    if (padding != CNN_PADDING_VALID && padding != CNN_PADDING_SAME)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "conv2d: unknown padding %d", padding);
    if ((int64_t)(kh - 1) * dh + 1 > CNN_MAX_DIM || (int64_t)(kw - 1) * dw + 1 > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "conv2d: kernel %dx%d with dilation %dx%d spans more than %d pixels",
                         kh, kw, dh, dw, CNN_MAX_DIM);
    if ((dh > 1 || dw > 1) && (sh > 1 || sw > 1))
        return -cnn_fail(CNN_STATUS_INVALID_ARG,
                         "conv2d: dilation %dx%d with strides %dx%d: dilation needs strides 1 (as in tfjs)", dh, dw,
                         sh, sw);
    cnn_conv_cfg cfg = {filters, kh, kw, sh, sw, dh, dw, padding, use_bias != 0, 0, 0, 0, 0};
    cfg.oh = cnn_window_out(in->h, kh, sh, dh, padding, &cfg.pad_top);
    cfg.ow = cnn_window_out(in->w, kw, sw, dw, padding, &cfg.pad_left);
    if (cfg.oh < 1 || cfg.ow < 1)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE,
                         "conv2d: kernel %dx%d (dilation %dx%d) is larger than its input %dx%d with padding 'valid'",
                         kh, kw, dh, dw, in->h, in->w);
    if ((int64_t)kh * kw * in->c > CNN_MAX_ELEMENTS / (filters > 0 ? filters : 1))
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "conv2d: kernel of %dx%dx%dx%d is too large", kh, kw, in->c,
                         filters);
    const int in_c = in->c; /* adding the node may move m->nodes, and `in` with them */
    int id = cnn_graph_add_node(m, &cnn_conv2d_ops, &input, 1, cfg.oh, cfg.ow, filters);
    if (id < 0) return id;
    m->nodes[id].cfg.conv = cfg;
    int32_t kdims[4] = {kh, kw, in_c, filters};
    int fan_in = kh * kw * in_c, fan_out = kh * kw * filters;
    int p = cnn_graph_add_param(m, id, 4, kdims, fan_in, fan_out, kernel_init, 1);
    if (p < 0) return cnn_graph_rollback(m, id, p);
    if (cfg.use_bias) {
        int32_t bdims[1] = {filters};
        p = cnn_graph_add_param(m, id, 1, bdims, fan_in, fan_out, CNN_INIT_ZEROS, 0);
        if (p < 0) return cnn_graph_rollback(m, id, p);
    }
    return id;
}
