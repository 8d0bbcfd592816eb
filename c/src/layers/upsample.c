/* Upsampling by integer factors (tfjs UpSampling2D). Nearest: each pixel is repeated fh×fw times. Bilinear: tfjs's
 * resizeBilinear with align_corners = false and no half-pixel centres: output pixel y samples input row y / fh,
 * interpolating between floor and the next row (clamped at the border); or with half-pixel centres (PyTorch's
 * align_corners=False) or aligned corners (cnn_upsampling_mode). */
#include "../internal.h"

/* One axis of bilinear sampling: the two source indices and the weight of the second. */
static void bilinear_tap(int mode, int out_index, int factor, int in_size, int* i0, int* i1, float* frac) {
    float src;
    if (mode == CNN_UPSAMPLE_BILINEAR_HALF_PIXEL) {
        src = ((float)out_index + 0.5f) / (float)factor - 0.5f;
        if (src < 0.0f) src = 0.0f;
    } else if (mode == CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS) {
        const int out_size = in_size * factor;
        src = out_size > 1 ? (float)((double)out_index * (in_size - 1) / (out_size - 1)) : 0.0f;
    } else {
        src = (float)out_index / (float)factor;
    }
    int lo = (int)src;
    if (lo > in_size - 1) lo = in_size - 1;
    *i0 = lo;
    *i1 = lo + 1 < in_size ? lo + 1 : in_size - 1;
    *frac = src - (float)lo;
}

static void upsample_forward(cnn_model* m, cnn_node* node, int n, int training) {
    (void)training;
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_upsample_cfg* cfg = &node->cfg.up;
    const int c = node->c;
    for (int b = 0; b < n; b++) {
        const float* x = in->out + (size_t)b * (size_t)cnn_node_size(in);
        float* y = node->out + (size_t)b * (size_t)cnn_node_size(node);
        for (int oy = 0; oy < node->h; oy++)
            for (int ox = 0; ox < node->w; ox++) {
                float* dst = y + ((size_t)oy * node->w + ox) * c;
                if (!cfg->bilinear) {
                    const float* src = x + ((size_t)(oy / cfg->fh) * in->w + (size_t)(ox / cfg->fw)) * c;
                    for (int j = 0; j < c; j++) dst[j] = src[j];
                    continue;
                }
                int y0, y1, x0, x1;
                float fy, fx;
                bilinear_tap(cfg->bilinear, oy, cfg->fh, in->h, &y0, &y1, &fy);
                bilinear_tap(cfg->bilinear, ox, cfg->fw, in->w, &x0, &x1, &fx);
                const float* a = x + ((size_t)y0 * in->w + x0) * c;
                const float* bb = x + ((size_t)y0 * in->w + x1) * c;
                const float* cc = x + ((size_t)y1 * in->w + x0) * c;
                const float* d = x + ((size_t)y1 * in->w + x1) * c;
                for (int j = 0; j < c; j++) {
                    float top = a[j] + (bb[j] - a[j]) * fx;
                    float bottom = cc[j] + (d[j] - cc[j]) * fx;
                    dst[j] = top + (bottom - top) * fy;
                }
            }
    }
}

static void upsample_backward(cnn_model* m, cnn_node* node, int n) {
    if (!cnn_wants_grad(m, node->inputs[0])) return;
    cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_upsample_cfg* cfg = &node->cfg.up;
    const int c = node->c;
    for (int b = 0; b < n; b++) {
        float* dx = in->grad + (size_t)b * (size_t)cnn_node_size(in);
        const float* dy = node->grad + (size_t)b * (size_t)cnn_node_size(node);
        for (int oy = 0; oy < node->h; oy++)
            for (int ox = 0; ox < node->w; ox++) {
                const float* g = dy + ((size_t)oy * node->w + ox) * c;
                if (!cfg->bilinear) {
                    float* dst = dx + ((size_t)(oy / cfg->fh) * in->w + (size_t)(ox / cfg->fw)) * c;
                    for (int j = 0; j < c; j++) dst[j] += g[j];
                    continue;
                }
                int y0, y1, x0, x1;
                float fy, fx;
                bilinear_tap(cfg->bilinear, oy, cfg->fh, in->h, &y0, &y1, &fy);
                bilinear_tap(cfg->bilinear, ox, cfg->fw, in->w, &x0, &x1, &fx);
                float wa = (1 - fy) * (1 - fx), wb = (1 - fy) * fx, wc = fy * (1 - fx), wd = fy * fx;
                float* a = dx + ((size_t)y0 * in->w + x0) * c;
                float* bb = dx + ((size_t)y0 * in->w + x1) * c;
                float* cc = dx + ((size_t)y1 * in->w + x0) * c;
                float* d = dx + ((size_t)y1 * in->w + x1) * c;
                for (int j = 0; j < c; j++) {
                    a[j] += g[j] * wa;
                    bb[j] += g[j] * wb;
                    cc[j] += g[j] * wc;
                    d[j] += g[j] * wd;
                }
            }
    }
}

const cnn_layer_ops cnn_upsampling_ops = {"upSampling2d", NULL, upsample_forward, upsample_backward, 0};

int cnn_model_add_upsampling2d(cnn_model* m, int input, int fh, int fw, int bilinear) {
    cnn_status status = cnn_graph_check_input(m, input, "upSampling2d");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* in = &m->nodes[input];
    if (bilinear < CNN_UPSAMPLE_NEAREST || bilinear > CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "upSampling2d: unknown interpolation mode %d", bilinear);
    if (fh < 1 || fw < 1 || (int64_t)in->h * fh > CNN_MAX_DIM || (int64_t)in->w * fw > CNN_MAX_DIM)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "upSampling2d: size must be >= 1 and the output not too large, got %dx%d",
                         fh, fw);
    int id = cnn_graph_add_node(m, &cnn_upsampling_ops, &input, 1, in->h * fh, in->w * fw, in->c);
    if (id >= 0) {
        cnn_upsample_cfg cfg = {fh, fw, bilinear};
        m->nodes[id].cfg.up = cfg;
    }
    return id;
}
