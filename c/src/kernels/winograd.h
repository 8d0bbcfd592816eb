/* Winograd convolution F(m×m, 3×3) for 3×3, stride-1, dilation-1 layers, f32 NHWC, forward and input gradient.
 *
 *   // once per weight update (w: [3, 3, c, N], tfjs layout):
 *   uint64_t u_len;  cnn_f32_winograd_weights_floats(tile, c, N, &u_len);      // same count for the flipped kernel
 *   cnn_f32_winograd_transform_weights(tile, c, N, w, 0, u);                 // forward
 *   cnn_f32_winograd_transform_weights(tile, c, N, w, 1, u_flipped);         // input gradient
 *   // plan time: scratch for the largest batch (floats, 16-byte aligned)
 *   cnn_f32_winograd_workspace_floats(&g, N, tile, CNN_WINOGRAD_FORWARD, &ws_len);
 *   // every step:
 *   cnn_f32_winograd_forward(&g, N, tile, x, u, bias, y, ws);               // y  = conv(x, w) + bias
 *   cnn_f32_winograd_backward_data(&g, N, tile, dy, u_flipped, dx, ws);     // dx += the input gradient
 *
 * tile is the output tile edge m: 2 (F(2×2,3×3): 16 multiplies per 4 outputs instead of 36) or 4 (F(4×4,3×3): 36
 * per 16 instead of 144). Geometry: g as for every conv kernel (kernels.h) with kh = kw = 3, sh = sw = 1,
 * dh = dw = 1, pad_top and pad_left in [0, 2] ('valid': 0, 'same': 1), any n, h, w, c, oh, ow >= 1; input taps
 * outside the image are zeros, so partial border tiles and images smaller than a tile need no special call.
 *
 * Per chunk of tiles (sized so that its scratch stays in L2): input transform V = Bᵀ d B of each tile into
 * V[position][tile][c]; per position a 4×8 register-blocked GEMM V_p · U_p into M[position][tile][N8]; output
 * transform Aᵀ M A (+ bias) into y. The input gradient is the full correlation of dy with the 180°-rotated,
 * in/out-swapped kernel: the same path on the geometry (oh, ow, N) → (h, w, c) with pads 2 − pad.
 *
 * Every function returns a cnn_status (0 = CNN_STATUS_OK): CNN_STATUS_INVALID_ARG for a geometry or tile this path
 * does not compute, CNN_STATUS_INVALID_SHAPE when a size does not fit in memory (all sizes checked in 64 bits). On
 * failure nothing is written. The __ref twins (scalar loops over the dense transform matrices, naive GEMM) share
 * the signatures, the transformed-weight layout and the workspace size. */
#ifndef CNN_WINOGRAD_H
#define CNN_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

enum {
    CNN_WINOGRAD_FORWARD = 0,        /* workspace for cnn_f32_winograd_forward */
    CNN_WINOGRAD_BACKWARD_DATA = 1,  /* workspace for cnn_f32_winograd_backward_data */
    /* The input gradient written instead of added (dx = ...): for the first layer to write dx in a backward walk
     * (graph.c), which then need not zero it first. Through cnn_f32_winograd_range; same workspace as _DATA. */
    CNN_WINOGRAD_BACKWARD_DATA_WRITE = 2,
};

/* CNN_STATUS_OK when g (with N filters) is a convolution this path computes, with tile 2 or 4. */
int cnn_f32_winograd_check(const cnn_conv_geom* g, int N, int tile);

/* The tile that measured fastest for this layer (2 or 4), or 0 when im2col + GEMM / the direct kernel should stay
 * (unsupported geometry, or a shape where Winograd lost in tests/c/bench_winograd.c). */
int cnn_f32_winograd_preferred(const cnn_conv_geom* g, int N);

/* *floats = the transformed-weight count: (tile + 2)² · cin · round_up(cout, 8), for either orientation. */
int cnn_f32_winograd_weights_floats(int tile, int cin, int cout, uint64_t* floats);

/* w: [3, 3, cin, cout] (tfjs). flipped == 0: u for the forward pass (U = G g Gᵀ per (ci, co)); flipped != 0: u of
 * the 180°-rotated kernel with cin and cout swapped, for the input gradient (its size is (tile + 2)² · cout ·
 * round_up(cin, 8), the same count). Computed in double, rounded once. Layout: [position][cout/8 panel][cin][8],
 * zero past cout. */
int cnn_f32_winograd_transform_weights(int tile, int cin, int cout, const float* w, int flipped, float* u);

/* The same for the GEMM rows k in [k_begin, k_end) only (k: cin when flipped == 0, cout when flipped != 0): every
 * (k, column) entry is computed alone, so disjoint row ranges on different threads give transform_weights's bits. */
int cnn_f32_winograd_transform_weights_rows(int tile, int cin, int cout, const float* w, int flipped, float* u,
                                            int k_begin, int k_end);

/* *floats = the scratch one call of the given direction needs for g (capped by a chunk of tiles, so it does not
 * grow with the image beyond a few hundred KiB, and never grows when n shrinks: plan for the largest batch). */
int cnn_f32_winograd_workspace_floats(const cnn_conv_geom* g, int N, int tile, int direction, uint64_t* floats);

/* y (n×oh×ow×N) = conv(x (n×h×w×c), w) + bias (N floats, may be NULL); u from transform_weights(flipped = 0).
 * Every element of y is written. x and y must not overlap. Tiles are independent: a threaded caller can split the
 * tile range across threads (each with its own workspace) and get bit-identical results for any thread count. */
int cnn_f32_winograd_forward__simd(const cnn_conv_geom* g, int N, int tile, const float* x, const float* u,
                                   const float* bias, float* y, float* workspace);
int cnn_f32_winograd_forward__ref(const cnn_conv_geom* g, int N, int tile, const float* x, const float* u,
                                  const float* bias, float* y, float* workspace);
#define cnn_f32_winograd_forward cnn_f32_winograd_forward__simd

/* dx (n×h×w×c) += d loss / dx given dy (n×oh×ow×N) of the forward geometry g; u_flipped from
 * transform_weights(flipped = 1). Adds, like every backward (an input may fan out). */
int cnn_f32_winograd_backward_data__simd(const cnn_conv_geom* g, int N, int tile, const float* dy,
                                         const float* u_flipped, float* dx, float* workspace);
int cnn_f32_winograd_backward_data__ref(const cnn_conv_geom* g, int N, int tile, const float* dy,
                                        const float* u_flipped, float* dx, float* workspace);
#define cnn_f32_winograd_backward_data cnn_f32_winograd_backward_data__simd

/* Threads: a pass split by tiles. *tiles = the pass's tile count (n · ⌈oh/m⌉ · ⌈ow/m⌉ of its output), *chunk = the
 * tiles one workspace holds (a multiple of 4). range runs tiles [first, end) of the pass (`direction` as for the
 * workspace; the bias only forward), in chunks, on its own workspace: each tile's outputs (forward and _WRITE:
 * written; input gradient: added; tiles never overlap) depend on that tile alone, so any split of [0, tiles) across calls
 * gives the bits of the whole call. CNN_STATUS_INVALID_ARG for a range outside [0, tiles]. all_finite (or NULL):
 * set to whether every value the range stored came out finite (checked as it is stored: predict's output check). */
int cnn_f32_winograd_tiles(const cnn_conv_geom* g, int N, int tile, int direction, int64_t* tiles, int* chunk);
int cnn_f32_winograd_range__simd(const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                                 const float* u, const float* bias, float* out, float* workspace, int64_t first,
                                 int64_t end, int* all_finite);
int cnn_f32_winograd_range__ref(const cnn_conv_geom* g, int N, int tile, int direction, const float* in,
                                const float* u, const float* bias, float* out, float* workspace, int64_t first,
                                int64_t end, int* all_finite);
#define cnn_f32_winograd_range cnn_f32_winograd_range__simd

/* ---- weight gradient (winograd_wgrad.c): F(3×3, 2×2) and F(3×3, 4×4) -------------------------------------------
 * dw ([3, 3, c, N], tfjs layout) += the weight gradient of the forward geometry g (3×3, stride 1, as
 * cnn_f32_winograd_check) given x (n×h×w×c) and dy (n×oh×ow×N), through Winograd on tile×tile tiles of dy: tile 2
 * (F(3×3, 2×2): 16 multiplies per 4 dy positions and (ci, co), instead of 36) or 4 (F(3×3, 4×4): 36 per 16 instead
 * of 144; larger rounding, see winograd_wgrad.c). A call computes the filters [first, end) (first a multiple of 8,
 * end ≤ N; the whole gradient: 0, N) on its workspace (cnn_f32_winograd_weight_grad_workspace_floats floats, 16-byte
 * aligned, one per concurrent call). A filter's dw entries depend on that filter alone: any split of [0, N) across
 * calls or threads gives the bits of one call. Rounding differs from colsᵀ·dy (the transforms round, and the sum over
 * the batch runs per transform position). The __ref twin (dense transform matrices, cnn_f32_gemm__ref) shares the
 * signature and the workspace. CNN_STATUS_INVALID_ARG for another geometry or tile, NULL buffers or a bad filter
 * range (nothing written). */
int cnn_f32_winograd_weight_grad_workspace_floats(const cnn_conv_geom* g, int N, int tile, uint64_t* floats);
int cnn_f32_winograd_weight_grad__simd(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                                       float* dw, float* workspace, int first, int end);
int cnn_f32_winograd_weight_grad__ref(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                                      float* dw, float* workspace, int first, int end);
#define cnn_f32_winograd_weight_grad cnn_f32_winograd_weight_grad__simd

/* The same gradient in pieces that threads run concurrently, with the serial call's bits: the sum over the tiles
 * runs in a fixed partition of `parts` parts (it depends on the geometry and tile only), and the filters in blocks of
 * `block`. For each block (f0 = 0, block, 2·block, …): every part writes its products into an M of its own
 * (cnn_f32_winograd_weight_grad_part, part_floats each, with transform_floats of workspace per concurrent call);
 * cnn_f32_winograd_weight_grad_sum_parts adds them into M[0] in part order (any split into ranges of the block's
 * positions · (c rounded up to 4) · (its filters rounded up to 8) floats); cnn_f32_winograd_weight_grad_finish adds
 * the block's dw. SIMD path only. At most CNN_WGRAD_MAX_PARTS parts. */
#define CNN_WGRAD_MAX_PARTS 8
typedef struct cnn_wgrad_layout {
    int parts, block, positions; /* positions: (tile + 2)² */
    uint64_t transform_floats, part_floats;
} cnn_wgrad_layout;
int cnn_f32_winograd_weight_grad_layout(const cnn_conv_geom* g, int N, int tile, cnn_wgrad_layout* layout);
int cnn_f32_winograd_weight_grad_part__simd(const cnn_conv_geom* g, int N, int tile, const float* x, const float* dy,
                                            int f0, int part, float* workspace, float* M);
void cnn_f32_winograd_weight_grad_sum_parts(size_t begin, size_t end, int parts, float* const* M);
int cnn_f32_winograd_weight_grad_finish__simd(const cnn_conv_geom* g, int N, int tile, const float* M, int f0,
                                              float* dw);

#endif
