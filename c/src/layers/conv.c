/* 2-D convolution. The layer picks its forward algorithm per shape, as XNNPACK's operators pick a microkernel:
 *   - pointwise (1×1, stride 1, no padding): one GEMM over the input itself;
 *   - direct (kernels/conv_direct.c): patches read in place, bias fused, where it measured faster (conv_algorithm_of);
 *   - otherwise a GEMM over the patch matrix (im2col), in row chunks so the scratch space stays small and
 *     cache-resident.
 *   - Winograd (kernels/winograd.c) for 3×3 stride-1 layers where cnn_f32_winograd_preferred says it measured
 *     faster, forward (bias fused) and the input gradient; the transformed kernels live in the node's saved
 *     buffer and are recomputed when m->weights_version moves (after an optimizer step or a parameter write);
 *     so is the GEMM paths' packed kernel (parallel.h: cnn_packed_kernel), which every chunk and task reads.
 * Kernel layout [kh, kw, cin, filters] (tfjs), which is already the K×N matrix the GEMM wants. The weight gradient
 * runs through Winograd F(3×3, 4×4) or F(3×3, 2×2) where wgrad_tile says it measured faster, else im2col + GEMM (or
 * the pointwise GEMM); the input gradient through Winograd where the forward does, else col2im(dy·Wᵀ).
 * Threads (parallel.h, conv_threads.c): each pass splits into tasks that write disjoint outputs and compute exactly
 * what the serial loop computes (GEMM row chunks, direct-conv bands, Winograd tiles, dW blocks, dx per sample).
 *   forward:  y = cols · W (+ b)
 *   backward: dW += colsᵀ · dy,  db += Σ dy,  dx += col2im(dy · Wᵀ) */
#include <assert.h>
#include <string.h>

#include "../internal.h"
#include "../kernels/kernels.h"
#include "../kernels/winograd.h"
#include "../parallel.h"

static cnn_conv_geom geometry(const cnn_model* m, const cnn_node* node, int n) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    cnn_conv_geom g = {n, in->h, in->w, in->c, cfg->kh, cfg->kw, cfg->sh, cfg->sw, cfg->dh, cfg->dw,
                       cfg->pad_top, cfg->pad_left, node->h, node->w};
    return g;
}

typedef enum conv_algorithm { CONV_POINTWISE, CONV_DIRECT, CONV_IM2COL } conv_algorithm;

static int is_pointwise(const cnn_conv_cfg* cfg) {
    return cfg->kh == 1 && cfg->kw == 1 && cfg->sh == 1 && cfg->sw == 1 && cfg->pad_top == 0 && cfg->pad_left == 0;
}

/* Measured in Node 20 (wasm SIMD) against im2col + GEMM at batch 1: the direct kernel wins while the patch matrix
 * is costly next to the arithmetic — short kernel rows (kw·c ≤ 40: 1.2-3x on LeNet, 3→32 3x3, 12→12 3x3) or few
 * filters (N ≤ 8) — and loses 5-25% on long kernel rows with N ≥ 16 (64→64 3x3, 16→32 3x3), where the blocked
 * GEMM keeps its B panels in L1 better. Not when the padded copy outgrows the patch matrix it replaces (kernels much
 * larger than the image). Both sizes are 64-bit: the padded copy can pass 2^32 floats, which wrapped in wasm32's
 * size_t and picked the direct kernel with a too-small workspace (issue 12). The choice depends on the geometry, not
 * on the batch size, so the plan and the run agree. */
static conv_algorithm conv_algorithm_of(const cnn_conv_cfg* cfg, const cnn_conv_geom* g) {
    if (is_pointwise(cfg)) return CONV_POINTWISE;
    const int N = cfg->filters;
    const uint64_t patches = (uint64_t)g->oh * (uint64_t)g->ow * (uint64_t)g->kh * (uint64_t)g->kw * (uint64_t)g->c;
    if (cnn_f32_conv2d_supported(g, N) && (g->kw * g->c <= 40 || N <= 8) &&
        cnn_f32_conv2d_padded_floats(g) <= patches)
        return CONV_DIRECT;
    return CONV_IM2COL;
}

/* The Winograd tiles of this layer: forward and input gradient (0 = not Winograd), with the floats of the
 * transformed kernels and of the workspaces for batches of g->n. Depends on the geometry, not on the batch size,
 * so the plan and the run agree. */
typedef struct wino_choice {
    int fwd, bwd;                 /* tiles */
    uint64_t u_fwd, u_bwd;        /* transformed-kernel floats */
    uint64_t ws_fwd, ws_bwd;      /* workspace floats */
} wino_choice;

/* The input gradient as a forward convolution: dy (oh×ow×N) → dx (h×w×c), pads 2 − pad. */
static cnn_conv_geom backward_geometry(const cnn_conv_geom* g, int N) {
    cnn_conv_geom b = {g->n, g->oh, g->ow, N, 3, 3, 1, 1, 1, 1, 2 - g->pad_top, 2 - g->pad_left, g->h, g->w};
    return b;
}

static wino_choice winograd_of(const cnn_model* m, const cnn_node* node, const cnn_conv_geom* g) {
    wino_choice w = {0, 0, 0, 0, 0, 0};
    const int N = node->cfg.conv.filters;
    if (m->winograd_off) return w;
    w.fwd = cnn_f32_winograd_preferred(g, N);
    if (w.fwd && (cnn_f32_winograd_weights_floats(w.fwd, g->c, N, &w.u_fwd) != CNN_STATUS_OK ||
                  cnn_f32_winograd_workspace_floats(g, N, w.fwd, CNN_WINOGRAD_FORWARD, &w.ws_fwd) != CNN_STATUS_OK))
        w.fwd = 0, w.u_fwd = w.ws_fwd = 0;
    if (!w.fwd) return w; /* the input gradient too only where the forward measured faster */
    const cnn_conv_geom b = backward_geometry(g, N);
    w.bwd = cnn_f32_winograd_preferred(&b, g->c);
    if (w.bwd && (cnn_f32_winograd_weights_floats(w.bwd, g->c, N, &w.u_bwd) != CNN_STATUS_OK ||
                  cnn_f32_winograd_workspace_floats(g, N, w.bwd, CNN_WINOGRAD_BACKWARD_DATA, &w.ws_bwd) !=
                      CNN_STATUS_OK))
        w.bwd = 0, w.u_bwd = w.ws_bwd = 0;
    return w;
}

/* Winograd weight gradient F(3×3, 2×2) (kernels/winograd_wgrad.c): for 3×3 stride-1 layers with 8+ channels in and
 * out, measured in tests/c/bench_winograd.c (wasm, Node 20, batches 1 and 32) against im2col + GEMM: 1.6-2.2x at
 * 56×56×64→64, 128×128×16→32, 32×32×16→16, 8×8×64→64 batch 32, 4×4×64→64 batch 32, 2×2×128→128 batch 32; slower
 * with few tiles of dy (8×8×64 batch 1: 16 tiles, 0.7x; 2×2 batch 1) and with 1-3 input channels. `eligible` depends
 * on the geometry (the plan sizes the scratch for it); the choice also on the tile count, i.e. the batch.
 * F(3×3, 4×4) (2.25 multiplies per dy position instead of 4) measured 1.4-2.7x faster than F(3×3, 2×2) in the same
 * bench: 56×56×64→64 batch 1 94 vs 54 GFLOP/s, 128×128×16→32 batch 1 81 vs 58, and at batch 32 32×32×16→16 70 vs
 * 26, 16×16×32→32 86 vs 40, 8×8×64→64 87 vs 53; it lost with 4 tiles (8×8×64 batch 1) and where its products
 * (36 · c · N floats) need more than one block of filters, as each block repeats the x transform (14×14×256→256:
 * 33 vs 50). Its rounding is 2-12x F(3×3, 2×2)'s: at most 8e-6 of the largest entry against a double sum on random
 * uniform, ReLU-like and offset inputs, 56×56×64 and 128×128×16 at batches 1 and 8 and the ResNet-20 shapes at batch
 * 32, not growing with the tile count (tests/c/test_winograd.c checks 56×56×64 and 512 tiles); the cross-checks
 * allow 1e-4 (forward) and 1e-3 (gradients). A weight gradient feeds no other gradient, so unlike the forward's F4
 * (winograd.c) its rounding is not amplified through batch norm. */
enum { WGRAD_MIN_CHANNELS = 8, WGRAD_MIN_TILES = 32, WGRAD_F4_MIN_TILES = 16 };

static int wgrad_eligible(const cnn_model* m, const cnn_conv_geom* g, int N) {
    return !m->winograd_off && g->c >= WGRAD_MIN_CHANNELS && N >= WGRAD_MIN_CHANNELS &&
           cnn_f32_winograd_check(g, N, 2) == CNN_STATUS_OK;
}

/* F(3×3, 4×4) is possible for this geometry whatever the batch (the plan sizes the scratch for both tiles): all the
 * filters in one block. */
static int wgrad_f4_eligible(const cnn_model* m, const cnn_conv_geom* g, int N) {
    cnn_wgrad_layout l;
    return wgrad_eligible(m, g, N) && cnn_f32_winograd_weight_grad_layout(g, N, 4, &l) == CNN_STATUS_OK &&
           l.block >= N;
}

/* The weight gradient's Winograd tile for this call: 4, 2, or 0 (im2col + GEMM). */
static int wgrad_tile(const cnn_model* m, const cnn_conv_geom* g, int N) {
    if (!wgrad_eligible(m, g, N) || (int64_t)g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2) < WGRAD_MIN_TILES) return 0;
    return wgrad_f4_eligible(m, g, N) && (int64_t)g->n * ((g->oh + 3) / 4) * ((g->ow + 3) / 4) >= WGRAD_F4_MIN_TILES
               ? 4
               : 2;
}

typedef struct wgrad_job {
    cnn_model* m;
    const cnn_conv_geom* g;
    int N, tile, f0, parts;
    const float *x, *dy;
    float* M[CNN_WGRAD_MAX_PARTS]; /* each part's products */
} wgrad_job;

static void wgrad_part_task(void* ctx, int part, int thread) {
    const wgrad_job* j = ctx;
    const int status = cnn_f32_winograd_weight_grad_part__simd(j->g, j->N, j->tile, j->x, j->dy, j->f0, part,
                                                               cnn_thread_scratch(j->m, thread), j->M[part]);
    assert(status == CNN_STATUS_OK); /* the caller checked the geometry */
    (void)status;
}

static void wgrad_sum_range(void* ctx, size_t begin, size_t end) {
    const wgrad_job* j = ctx;
    cnn_f32_winograd_weight_grad_sum_parts(begin, end, j->parts, j->M);
}

/* Scratch floats per thread for the threaded weight gradient (wgrad_run): a chunk's transforms, and the products
 * of the parts whose slots it holds (part q lives in thread q % threads's scratch). 0 when it runs serially. */
static uint64_t wgrad_threaded_floats(const cnn_conv_geom* g, int N, int tile, int threads) {
    cnn_wgrad_layout l;
    if (threads < 2 || cnn_f32_winograd_weight_grad_layout(g, N, tile, &l) != CNN_STATUS_OK || l.parts < 2) return 0;
    return cnn_size_add(l.transform_floats,
                        cnn_size_mul((uint64_t)((l.parts + threads - 1) / threads), l.part_floats));
}

/* Scratch floats of the weight gradient with this tile, serial or threaded (0 if refused). */
static uint64_t wgrad_floats(const cnn_conv_geom* g, int N, int tile) {
    uint64_t serial;
    if (cnn_f32_winograd_weight_grad_workspace_floats(g, N, tile, &serial) != CNN_STATUS_OK) return 0;
    return cnn_max_u64(serial, wgrad_threaded_floats(g, N, tile, cnn_thread_count()));
}

/* dw += the weight gradient through Winograd. Threaded: the parts of the sum over tiles run concurrently, each into
 * its own products, which add in part order: the serial call's bits (winograd.h). */
static void wgrad_run(cnn_model* m, const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                      float* dw) {
    cnn_wgrad_layout l;
    const int threads = cnn_thread_count();
    if (cnn_model_threaded(m) && (int64_t)g->n * g->oh * g->ow * 9 * g->c * N >= cnn_threaded_min_work &&
        cnn_f32_winograd_weight_grad_layout(g, N, tile, &l) == CNN_STATUS_OK && l.parts >= 2 &&
        l.parts <= CNN_WGRAD_MAX_PARTS) {
        assert(wgrad_threaded_floats(g, N, tile, threads) <= m->scratch_floats);
        wgrad_job j = {m, g, N, tile, 0, l.parts, x, dy, {0}};
        for (int q = 0; q < l.parts; q++)
            j.M[q] = cnn_thread_scratch(m, q % threads) + l.transform_floats + (size_t)(q / threads) * l.part_floats;
        for (j.f0 = 0; j.f0 < N; j.f0 += l.block) {
            cnn_parallel_for(l.parts, wgrad_part_task, &j);
            const int fb = N - j.f0 < l.block ? N - j.f0 : l.block; /* the block's M: [P][c4][fb8] (winograd.h) */
            const size_t count = (size_t)l.positions * ((g->c + 3) / 4 * 4) * ((fb + 7) / 8 * 8);
            cnn_parallel_ranges(m, count, 64, l.parts, wgrad_sum_range, &j);
            const int status = cnn_f32_winograd_weight_grad_finish__simd(g, N, tile, j.M[0], j.f0, dw);
            assert(status == CNN_STATUS_OK);
            (void)status;
        }
        return;
    }
    const int status = cnn_f32_winograd_weight_grad(g, N, tile, x, dy, dw, cnn_scratch(m), 0, N);
    assert(status == CNN_STATUS_OK);
    (void)status;
}

typedef struct direct_wgrad_job {
    const cnn_conv_geom* g;
    int N, pairs, per_task;
    const float *x, *dy;
    float* dw;
} direct_wgrad_job;

static void direct_wgrad_task(void* ctx, int task, int thread) {
    (void)thread;
    const direct_wgrad_job* j = ctx;
    const int first = task * j->per_task, end = first + j->per_task < j->pairs ? first + j->per_task : j->pairs;
    cnn_f32_conv2d_weight_grad_direct(j->g, j->N, j->x, j->dy, j->dw, first, end);
}

/* dw += the weight gradient of a layer with few channels and filters (kernels.h); threaded over its (tap, channel)
 * pairs, whose entries are independent (any split gives the same bits). */
static void direct_wgrad_run(cnn_model* m, const cnn_conv_geom* g, int N, const float* x, const float* dy, float* dw) {
    const int pairs = g->kh * g->kw * g->c;
    const int64_t work = (int64_t)g->n * g->oh * g->ow * pairs * N;
    const int want = cnn_model_threaded(m) && work >= cnn_threaded_min_work ? 2 * cnn_thread_count() : 1;
    direct_wgrad_job j = {g, N, pairs, (pairs + want - 1) / want, x, dy, dw};
    cnn_parallel_for((pairs + j.per_task - 1) / j.per_task, direct_wgrad_task, &j);
}

typedef struct wino_weights_job {
    int tile, cin, cout, kind, rows_per_task, rows;
    const float* w;
    float* u;
} wino_weights_job;

static void wino_weights_task(void* ctx, int task, int thread) {
    (void)thread;
    const wino_weights_job* j = ctx;
    const int k0 = task * j->rows_per_task, k1 = k0 + j->rows_per_task < j->rows ? k0 + j->rows_per_task : j->rows;
    const int status = cnn_f32_winograd_transform_weights_rows(j->tile, j->cin, j->cout, j->w, j->kind, j->u, k0, k1);
    assert(status == CNN_STATUS_OK); /* the plan checked these sizes */
    (void)status;
}

/* The transformed kernel of `kind` (0: forward, 1: input gradient), recomputed when the weights moved since: after
 * every training step, twice per layer, so it is threaded over GEMM rows (in double, about 2 ms of a ResNet-20 step
 * on one thread). Rows are independent: any split gives the same bits. */
static const float* winograd_weights(cnn_model* m, cnn_node* node, const wino_choice* w, int kind) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    float* u = node->saved + (kind ? w->u_fwd : 0);
    if (node->cache_version[kind] != m->weights_version) {
        const int tile = kind ? w->bwd : w->fwd, cin = in->c, cout = node->cfg.conv.filters;
        const int rows = kind ? cout : cin, tasks_wanted = 2 * cnn_thread_count();
        wino_weights_job j = {tile, cin, cout, kind, (rows + tasks_wanted - 1) / tasks_wanted, rows,
                              m->params[node->first_param].data, u};
        /* Work: about 40 double multiply-adds per position entry. */
        const int64_t work = (int64_t)(tile + 2) * (tile + 2) * cin * cout * 40;
        cnn_parallel_tasks(m, work, (rows + j.rows_per_task - 1) / j.rows_per_task, wino_weights_task, &j);
        node->cache_version[kind] = m->weights_version;
    }
    return u;
}

static cnn_layer_needs conv_needs(const cnn_model* m, const cnn_node* node, int capacity) {
    const cnn_node* in = &m->nodes[node->inputs[0]];
    const cnn_conv_cfg* cfg = &node->cfg.conv;
    int K = cfg->kh * cfg->kw * in->c, N = cfg->filters;
    int M = capacity * node->h * node->w; /* fits: the plan checked this node's output buffer first */
    int rows = cnn_patch_chunk_rows(K, M);
    cnn_layer_needs needs = {0, 0, 0};
    uint64_t gemm;
    cnn_conv_geom geom = geometry(m, node, capacity);
    switch (conv_algorithm_of(cfg, &geom)) {
    case CONV_POINTWISE:
        /* No patch matrix, and the whole batch is one GEMM. */
        gemm = cnn_max_u64(cnn_f32_gemm_workspace_floats(M, N, K), cnn_f32_gemm_workspace_floats(K, N, M));
        gemm = cnn_max_u64(gemm, cnn_f32_gemm_workspace_floats(M, K, N));
        needs.scratch_floats = gemm + CNN_SCRATCH_SLACK_FLOATS;
        needs.saved_floats = cnn_packed_kernel_floats(N, K);
        return needs;
    case CONV_DIRECT:
        /* The forward pass runs as a direct convolution; backward still needs the im2col space below. */
        needs.scratch_floats = cnn_f32_conv2d_workspace_floats(&geom, N) + CNN_SCRATCH_SLACK_FLOATS;
        break;
    case CONV_IM2COL:
        break;
    }
    const wino_choice wc = winograd_of(m, node, &geom);
    if (wc.fwd) {
        /* Forward through Winograd; with gradients the input gradient too (when it is the faster path), the
         * weight gradient through im2col + GEMM below. The transformed kernels are the node's. */
        needs.scratch_floats = wc.ws_fwd + CNN_SCRATCH_SLACK_FLOATS;
        needs.saved_floats = wc.u_fwd;
        if (m->plan_with_grads && wc.bwd) {
            needs.scratch_floats = cnn_max_u64(needs.scratch_floats, wc.ws_bwd + CNN_SCRATCH_SLACK_FLOATS);
            needs.saved_floats = cnn_size_add(needs.saved_floats, wc.u_bwd);
        }
        if (!m->plan_with_grads) return needs;
    } else if (conv_algorithm_of(cfg, &geom) == CONV_IM2COL) {
        needs.saved_floats = cnn_packed_kernel_floats(N, K);
    }
    /* The three GEMM shapes this layer runs, each with the chunked M. */
    gemm = cnn_max_u64(cnn_f32_gemm_workspace_floats(rows, N, K), cnn_f32_gemm_workspace_floats(K, N, rows));
    gemm = cnn_max_u64(gemm, cnn_f32_gemm_workspace_floats(rows, K, N));
    needs.scratch_floats =
        cnn_max_u64(needs.scratch_floats, cnn_patch_chunk_floats(rows, K) + gemm + CNN_SCRATCH_SLACK_FLOATS);
    /* Either weight-gradient tile (the choice depends on the batch, which may shrink below the planned one). */
    if (m->plan_with_grads && wgrad_eligible(m, &geom, N)) {
        uint64_t wgrad = wgrad_floats(&geom, N, 2);
        if (wgrad_f4_eligible(m, &geom, N)) wgrad = cnn_max_u64(wgrad, wgrad_floats(&geom, N, 4));
        needs.scratch_floats = cnn_max_u64(needs.scratch_floats, wgrad + CNN_SCRATCH_SLACK_FLOATS);
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
    cnn_conv_geom g = geometry(m, node, n);
    const wino_choice wc = winograd_of(m, node, &g);
    /* predict's output check, made as the output is stored (GEMM's bias pass, Winograd's output transform): then
     * m->output_vouched, and predict needs no pass of its own over the output. */
    const int vouch = cnn_vouch_wanted(m, node);
    int* vouched = vouch ? &m->output_vouched : NULL;
    if (wc.fwd) {
        /* Tiles are independent: threaded, each thread runs chunks of tiles on its own workspace (conv_threads.c). */
        assert(wc.ws_fwd <= m->scratch_floats);
        const float* u = winograd_weights(m, node, &wc, 0);
        if (cnn_model_threaded(m) &&
            cnn_winograd_threaded(m, &g, N, wc.fwd, CNN_WINOGRAD_FORWARD, in->out, u, bias, node->out, vouched))
            return;
        int64_t tiles = 0;
        int chunk, status = cnn_f32_winograd_tiles(&g, N, wc.fwd, CNN_WINOGRAD_FORWARD, &tiles, &chunk);
        if (status == CNN_STATUS_OK)
            status = cnn_f32_winograd_range(&g, N, wc.fwd, CNN_WINOGRAD_FORWARD, in->out, u, bias, node->out, scratch,
                                            0, tiles, vouched);
        assert(status == CNN_STATUS_OK);
        (void)status;
        return;
    }
    const conv_algorithm algorithm = conv_algorithm_of(cfg, &g);
    /* The GEMM paths' kernel, packed once and kept until the weights move (parallel.h). */
    cnn_f32_packed_b packed_kernel;
    const cnn_f32_packed_b* packed =
        algorithm == CONV_DIRECT ? NULL : cnn_packed_kernel(m, node, 0, kernel->data, N, 0, N, K, &packed_kernel);
    if (cnn_model_threaded(m) && /* the same passes, split into tasks (conv_threads.c) */
        cnn_conv2d_forward_threaded(m, &g, algorithm == CONV_POINTWISE, algorithm == CONV_DIRECT,
                                    cnn_patch_chunk_rows(K, M), in->out, kernel->data, packed, bias, N, node->out,
                                    vouched))
        return;
    /* The bias goes in inside the GEMM, while y is still in cache (cnn_f32_gemm_bias): no second pass over y. */
    if (algorithm == CONV_POINTWISE) {
        const int finite = cnn_f32_gemm_run(M, N, K, in->out, K, 0, kernel->data, N, 0, packed, bias, node->out, N, 0,
                                            vouch, scratch);
        if (vouch) m->output_vouched = finite;
    } else if (algorithm == CONV_DIRECT) {
        /* Patches read in place, bias fused: no patch matrix, no second pass over y. */
        assert(cnn_f32_conv2d_workspace_floats(&g, N) <= m->scratch_floats);
        cnn_f32_conv2d(&g, in->out, kernel->data, bias, N, node->out, scratch);
        return;
    } else {
        int rows = cnn_patch_chunk_rows(K, M);
        float* cols = scratch;
        float* gemm_ws = scratch + cnn_patch_chunk_floats(rows, K);
        assert(cnn_patch_chunk_floats(rows, K) + cnn_f32_gemm_workspace_floats(rows, N, K) <= m->scratch_floats);
        int finite = 1;
        for (int row0 = 0; row0 < M; row0 += rows) {
            int r = M - row0 < rows ? M - row0 : rows;
            float* y = node->out + (size_t)row0 * N;
            cnn_f32_im2col(&g, in->out, row0, r, cols);
            finite &= cnn_f32_gemm_run(r, N, K, cols, K, 0, kernel->data, N, 0, packed, bias, y, N, 0, vouch, gemm_ws);
        }
        if (vouch) m->output_vouched = finite;
    }
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
    if (!need_dw && !need_dx) return;
    cnn_conv_geom g = geometry(m, node, n);
    const int rows = cnn_patch_chunk_rows(K, M);
    const wino_choice wc = is_pointwise(cfg) ? (wino_choice){0, 0, 0, 0, 0, 0} : winograd_of(m, node, &g);
    /* Winograd and the pointwise GEMM can write dx when this layer is its first writer (graph.c); col2im adds. */
    int dx_accumulate = 1;
    if (need_dx && (wc.bwd || is_pointwise(cfg))) dx_accumulate = !cnn_grad_claim(m, node->inputs[0]);
    else if (need_dx) cnn_grad_prepare(m, node->inputs[0], n);
    if (need_dx && wc.bwd) {
        assert(wc.ws_bwd <= m->scratch_floats);
        const float* u = winograd_weights(m, node, &wc, 1);
        const int direction = dx_accumulate ? CNN_WINOGRAD_BACKWARD_DATA : CNN_WINOGRAD_BACKWARD_DATA_WRITE;
        if (!cnn_model_threaded(m) ||
            !cnn_winograd_threaded(m, &g, N, wc.bwd, direction, node->grad, u, NULL, in->grad, NULL)) {
            int64_t tiles;
            int chunk;
            int status = cnn_f32_winograd_tiles(&g, N, wc.bwd, direction, &tiles, &chunk);
            if (status == CNN_STATUS_OK)
                status = cnn_f32_winograd_range(&g, N, wc.bwd, direction, node->grad, u, NULL, in->grad, scratch, 0,
                                                tiles, NULL);
            assert(status == CNN_STATUS_OK);
            (void)status;
        }
        need_dx = 0;
        if (!need_dw) return;
    }
    if (need_dw && cnn_f32_conv2d_weight_grad_direct_supported(&g, N)) {
        direct_wgrad_run(m, &g, N, in->out, node->grad, kernel->grad);
        need_dw = 0;
        if (!need_dx) return;
    }
    const int wgrad = need_dw && !is_pointwise(cfg) ? wgrad_tile(m, &g, N) : 0;
    if (wgrad) {
        wgrad_run(m, &g, N, wgrad, in->out, node->grad, kernel->grad);
        need_dw = 0;
        if (!need_dx) return;
    }
    if (cnn_model_threaded(m) && /* the same passes, split into tasks (conv_threads.c) */
        cnn_conv2d_backward_threaded(m, &g, is_pointwise(cfg), rows, in->out, kernel->data, node->grad, N,
                                     need_dw ? kernel->grad : NULL, need_dx ? in->grad : NULL, dx_accumulate))
        return;
    if (is_pointwise(cfg)) {
        if (need_dw) cnn_f32_gemm(K, N, M, in->out, K, 1, node->grad, N, 0, kernel->grad, N, 1, scratch);
        if (need_dx) cnn_f32_gemm(M, K, N, node->grad, N, 0, kernel->data, N, 1, in->grad, K, dx_accumulate, scratch);
        return;
    }
    float* cols = scratch;
    float* gemm_ws = scratch + cnn_patch_chunk_floats(rows, K);
    /* Threaded (conv_threads.c): dx per sample (col2im adds across chunk borders inside an image), dW per block of
     * its elements, each block running through every chunk in this order: the bits of this loop. */
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

const cnn_layer_ops cnn_conv2d_ops = {"conv2d", conv_needs, conv_forward, conv_backward, 1};

int cnn_model_add_conv2d(cnn_model* m, int input, int filters, int kh, int kw, int sh, int sw, int dh, int dw,
                         int padding, int use_bias, int kernel_init) {
    cnn_status status = cnn_graph_check_input(m, input, "conv2d");
    if (status != CNN_STATUS_OK) return -status;
    const cnn_node* in = &m->nodes[input];
    if (filters < 1 || filters > CNN_MAX_DIM || kh < 1 || kw < 1 || kh > CNN_MAX_KERNEL || kw > CNN_MAX_KERNEL ||
        sh < 1 || sw < 1 || dh < 1 || dw < 1 || sh > CNN_MAX_STRIDE || sw > CNN_MAX_STRIDE || dh > CNN_MAX_STRIDE ||
        dw > CNN_MAX_STRIDE)
        return -cnn_fail(CNN_STATUS_INVALID_ARG,
                         "conv2d: filters must be in [1, %d], kernel size in [1, %d], strides and dilation in [1, %d], "
                         "got filters=%d kernel=%dx%d strides=%dx%d dilation=%dx%d", CNN_MAX_DIM, CNN_MAX_KERNEL,
                         CNN_MAX_STRIDE, filters, kh, kw, sh, sw, dh, dw);
    if (padding != CNN_PADDING_VALID && padding != CNN_PADDING_SAME)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "conv2d: unknown padding %d", padding);
    if ((int64_t)(kh - 1) * dh + 1 > CNN_MAX_KERNEL || (int64_t)(kw - 1) * dw + 1 > CNN_MAX_KERNEL)
        return -cnn_fail(CNN_STATUS_INVALID_ARG, "conv2d: kernel %dx%d with dilation %dx%d spans more than %d pixels",
                         kh, kw, dh, dw, CNN_MAX_KERNEL);
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
