/* Transposed 2-D convolution (FCN upsampling): the backward-data pass of a convolution, run forward. With tfjs's
 * kernel layout [kh, kw, filters, in_channels], the kernel is the (kh·kw·filters)×in_channels matrix W, and
 *   forward:  y = col2im(x · Wᵀ) (+ b)          — x is (n·h·w)×in_channels, y is n×oh×ow×filters
 *   backward: dx += im2col(dy) · W,  dW += im2col(dy)ᵀ · x,  db += Σ dy
 * where im2col/col2im use the geometry of the ordinary convolution that maps y's size back to x's size.
 * Output size (tfjs): 'same' → in·stride, 'valid' → in·stride + max(kernel − stride, 0). */
#include <math.h>
#include <string.h>

#include "../internal.h"
#include "../kernels/kernels.h"
#include "../parallel.h"

/* The convolution running from this layer's output (as its input) to this layer's input (as its output). */
static cnn_conv_geom geometry(const cnn_model* m, const cnn_node* node, int n) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    cnn_conv_geom g = {n, node->h, node->w, node->c, cfg->kh, cfg->kw, cfg->sh, cfg->sw, 1, 1,
                       cfg->pad_top, cfg->pad_left, in->h, in->w};
    return g;
}

static cnn_layer_needs tconv_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    int K = cfg->kh * cfg->kw * node->c, C = in->c, M = capacity * in->h * in->w;
    int rows = cnn_patch_chunk_rows(K, M);
    size_t gemm = 0, g;
    g = cnn_f32_gemm_workspace_floats(rows, K, C); if (g > gemm) gemm = g;
    g = cnn_f32_gemm_workspace_floats(rows, C, K); if (g > gemm) gemm = g;
    g = cnn_f32_gemm_workspace_floats(K, C, rows); if (g > gemm) gemm = g;
    cnn_layer_needs needs = {cnn_patch_chunk_floats(rows, K) + gemm + CNN_SCRATCH_SLACK_FLOATS, 0, 0};
    return needs;
}

static void tconv_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    const float* kernel = m->params[node->first_param].data;
    int K = cfg->kh * cfg->kw * node->c, C = in->c, M = n * in->h * in->w;
    cnn_conv_geom g = geometry(m, node, n);
    int rows = cnn_patch_chunk_rows(K, M);
    float* cols = cnn_scratch(m);
    float* ws = cols + cnn_patch_chunk_floats(rows, K);
    memset(node->out, 0, (size_t)n * (size_t)cnn_node_size(node) * sizeof(float));
    /* The same passes split into tasks (conv_threads.c), unless too small to gain from threads. */
    const int threaded = cnn_model_threaded(m) && cnn_conv2d_transpose_forward_threaded(m, &g, rows, in->out, kernel, C,
                                                                                          node->out);
    for (int row0 = 0; row0 < M && !threaded; row0 += rows) {
        int r = M - row0 < rows ? M - row0 : rows;
        cnn_f32_gemm(r, K, C, in->out + (size_t)row0 * C, C, 0, kernel, C, 1, cols, K, 0, ws);
        cnn_f32_col2im_add(&g, cols, row0, r, node->out);
    }
    if (cfg->use_bias)
        cnn_f32_add_bias(n * node->h * node->w, node->c, m->params[node->first_param + 1].data, node->out);
}

static void tconv_backward(cnn_model* m, cnn_node* node, int n) {
    cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    cnn_param* kernel = &m->params[node->first_param];
    int K = cfg->kh * cfg->kw * node->c, C = in->c, M = n * in->h * in->w;
    int need_dx = cnn_wants_grad(m, node->inputs[0]);
    int need_dw = node->trainable;
    if (need_dw && cfg->use_bias)
        cnn_f32_sum_rows_add(n * node->h * node->w, node->c, node->grad, m->params[node->first_param + 1].grad);
    if (!need_dx && !need_dw) return;
    cnn_conv_geom g = geometry(m, node, n);
    int rows = cnn_patch_chunk_rows(K, M);
    float* cols = cnn_scratch(m);
    float* ws = cols + cnn_patch_chunk_floats(rows, K);
    if (cnn_model_threaded(m) &&
        cnn_conv2d_transpose_backward_threaded(m, &g, rows, in->out, kernel->data, node->grad, C,
                                               need_dw ? kernel->grad : NULL, need_dx ? in->grad : NULL))
        return;
    for (int row0 = 0; row0 < M; row0 += rows) {
        int r = M - row0 < rows ? M - row0 : rows;
        cnn_f32_im2col(&g, node->grad, row0, r, cols);
        if (need_dx) cnn_f32_gemm(r, C, K, cols, K, 0, kernel->data, C, 0, in->grad + (size_t)row0 * C, C, 1, ws);
        if (need_dw) cnn_f32_gemm(K, C, r, cols, K, 1, in->out + (size_t)row0 * C, C, 0, kernel->grad, C, 1, ws);
    }
}

const cnn_layer_ops cnn_conv2d_transpose_ops = {"conv2dTranspose", tconv_needs, tconv_forward, tconv_backward, 0};

/* FCN's bilinear upsampling kernel: each output channel interpolates its own input channel. */
static void fill_bilinear(float* w, int kh, int kw, int filters, int channels) {
    double fh = (kh + 1) / 2, fw = (kw + 1) / 2;
    double ch = kh % 2 ? fh - 1 : fh - 0.5, cw = kw % 2 ? fw - 1 : fw - 0.5;
    memset(w, 0, (size_t)kh * kw * filters * channels * sizeof(float));
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++) {
            float v = (float)((1.0 - fabs(y - ch) / fh) * (1.0 - fabs(x - cw) / fw));
            for (int f = 0; f < filters && f < channels; f++)
                w[(((size_t)y * kw + x) * filters + f) * channels + f] = v;
        }
}

static int64_t transpose_out(int in, int k, int stride, int padding) {
    if (padding == CNN_PADDING_SAME) return (int64_t)in * stride;
    return (int64_t)in * stride + (k > stride ? k - stride : 0); /* tfjs's deconvLength */
}

/* Checks shared by both adders. */
static cnn_status check_args(const cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw,
                             int kernel_init) {
    cnn_status status = cnn_graph_check_input(m, input, "conv2dTranspose");
    if (status != CNN_STATUS_OK) return status;
    const cnn_node* in = &m->nodes[input];
    if (filters < 1 || filters > CNN_MAX_DIM || kh < 1 || kw < 1 || kh > CNN_MAX_TRANSPOSE_KERNEL ||
        kw > CNN_MAX_TRANSPOSE_KERNEL || sh < 1 || sw < 1 || sh > CNN_MAX_TRANSPOSE_KERNEL ||
        sw > CNN_MAX_TRANSPOSE_KERNEL)
        return cnn_fail(CNN_STATUS_INVALID_ARG, "conv2dTranspose: filters must be in [1, %d], kernel size and strides in "
                        "[1, %d], got filters=%d kernel=%dx%d strides=%dx%d", CNN_MAX_DIM, CNN_MAX_TRANSPOSE_KERNEL,
                        filters, kh, kw, sh, sw);
    if (kernel_init != CNN_INIT_BILINEAR && !cnn_init_is_valid(kernel_init))
        return cnn_fail(CNN_STATUS_INVALID_ARG, "conv2dTranspose: unknown initializer %d", kernel_init);
    if ((int64_t)kh * kw * in->c > CNN_MAX_ELEMENTS / filters) /* before the fans are computed in int */
        return cnn_fail(CNN_STATUS_INVALID_SHAPE, "conv2dTranspose: kernel of %dx%dx%dx%d is too large", kh, kw,
                        filters, in->c);
    return CNN_STATUS_OK;
}

/* Adds the node of output size oh×ow whose forward convolution (cfg's pads) maps it back onto the input. */
static int add_node(cnn_model* m, int input, cnn_conv_cfg cfg, int oh, int ow, int kernel_init) {
    const int in_c = m->nodes[input].c; /* adding the node may move m->nodes */
    const int kh = cfg.kh, kw = cfg.kw, filters = cfg.filters;
    int id = cnn_graph_add_node(m, &cnn_conv2d_transpose_ops, &input, 1, oh, ow, filters);
    if (id < 0) return id;
    m->nodes[id].cfg.conv = cfg;
    int32_t kdims[4] = {kh, kw, filters, in_c};
    /* tfjs's fans for a transposed kernel [kh, kw, out, in]: fan_in = kh·kw·out, fan_out = kh·kw·in. */
    int fan_in = kh * kw * filters, fan_out = kh * kw * in_c;
    int init = kernel_init == CNN_INIT_BILINEAR ? CNN_INIT_ZEROS : kernel_init;
    int p = cnn_graph_add_param(m, id, 4, kdims, fan_in, fan_out, init, 1);
    if (p < 0) return cnn_graph_rollback(m, id, p);
    if (kernel_init == CNN_INIT_BILINEAR) fill_bilinear(m->params[p].data, kh, kw, filters, in_c);
    if (cfg.use_bias) {
        int32_t bdims[1] = {filters};
        p = cnn_graph_add_param(m, id, 1, bdims, fan_in, fan_out, CNN_INIT_ZEROS, 0);
        if (p < 0) return cnn_graph_rollback(m, id, p);
    }
    return id;
}

int cnn_model_add_conv2d_transpose(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw, int padding,
                                   int use_bias, int kernel_init) {
    cnn_status status = check_args(m, input, filters, kh, kw, sh, sw, kernel_init);
    if (status != CNN_STATUS_OK) return -status;
    if (padding != CNN_PADDING_VALID && padding != CNN_PADDING_SAME)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "conv2dTranspose: unknown padding %d", padding);
    const cnn_node* in = &m->nodes[input];
    int64_t oh = transpose_out(in->h, kh, sh, padding), ow = transpose_out(in->w, kw, sw, padding);
    if (oh > CNN_MAX_DIM || ow > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "conv2dTranspose: output %lldx%lld is too large", (long long)oh,
                         (long long)ow);
    cnn_conv_cfg cfg = {filters, kh, kw, sh, sw, 1, 1, padding, use_bias != 0, 0, 0, 0, 0};
    /* The forward convolution from (oh, ow) must land exactly on the input size. */
    int back_h = cnn_window_out((int)oh, kh, sh, 1, padding, &cfg.pad_top);
    int back_w = cnn_window_out((int)ow, kw, sw, 1, padding, &cfg.pad_left);
    if (back_h != in->h || back_w != in->w)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "conv2dTranspose: kernel %dx%d with strides %dx%d does not fit input "
                         "%dx%d", kh, kw, sh, sw, in->h, in->w);
    return add_node(m, input, cfg, (int)oh, (int)ow, kernel_init);
}

/* PyTorch's ConvTranspose2d: the full output (in − 1)·s + k, cropped by top/bottom/left/right, then extended by
 * output_padding rows / columns at the end (which receive only the bias). Output (oy, ox) is full position
 * (oy + top, ox + left): the forward convolution from the output reads it with pads (top, left). */
int cnn_model_add_conv2d_transpose_explicit(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw,
                                            int top, int bottom, int left, int right, int out_pad_h, int out_pad_w,
                                            int use_bias, int kernel_init) {
    cnn_status status = check_args(m, input, filters, kh, kw, sh, sw, kernel_init);
    if (status != CNN_STATUS_OK) return -status;
    if (top < 0 || bottom < 0 || left < 0 || right < 0 || top > CNN_MAX_TRANSPOSE_KERNEL ||
        bottom > CNN_MAX_TRANSPOSE_KERNEL || left > CNN_MAX_TRANSPOSE_KERNEL || right > CNN_MAX_TRANSPOSE_KERNEL ||
        out_pad_h < 0 || out_pad_w < 0 || out_pad_h > CNN_MAX_TRANSPOSE_KERNEL || out_pad_w > CNN_MAX_TRANSPOSE_KERNEL)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "conv2dTranspose: crops and output padding must be in [0, %d], got "
                         "top %d bottom %d left %d right %d, output padding %dx%d", CNN_MAX_TRANSPOSE_KERNEL, top,
                         bottom, left, right, out_pad_h, out_pad_w);
    const cnn_node* in = &m->nodes[input];
    const int64_t oh = (int64_t)(in->h - 1) * sh + kh - top - bottom + out_pad_h;
    const int64_t ow = (int64_t)(in->w - 1) * sw + kw - left - right + out_pad_w;
    if (oh < 1 || ow < 1 || oh > CNN_MAX_DIM || ow > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_SHAPE, "conv2dTranspose: the crops leave an output of %lldx%lld (input "
                         "%dx%d, kernel %dx%d, strides %dx%d); it must be in [1, %d]", (long long)oh, (long long)ow,
                         in->h, in->w, kh, kw, sh, sw, CNN_MAX_DIM);
    cnn_conv_cfg cfg = {filters, kh, kw, sh, sw, 1, 1, CNN_PADDING_VALID, use_bias != 0, top, left, 0, 0};
    return add_node(m, input, cfg, (int)oh, (int)ow, kernel_init);
}
