/* Hot loops of the engine. Every SIMD kernel (suffix __simd) has a scalar reference twin (suffix __ref) with the
 * same signature; both are always compiled so tests can compare them. Callers use the unsuffixed names, which map to
 * the SIMD variant. Kernels never allocate: scratch memory is passed in by the caller (sized by the *_workspace
 * functions), so a training step does no allocation. All tensors are f32 NHWC, row-major, densely packed. */
#ifndef CNN_KERNELS_H
#define CNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- GEMM -------------------------------------------------------------------------------------------------------
 * C = op(A)·op(B) (+ C when accumulate != 0).
 * op(A) is M×K: A is M×K row-major with leading dimension lda when trans_a == 0, or K×M (lda) when trans_a != 0.
 * op(B) is K×N: B is K×N (ldb) when trans_b == 0, or N×K (ldb) when trans_b != 0.
 * C is M×N with leading dimension ldc. M, N or K may be 0 (K == 0 and !accumulate writes zeros).
 * workspace: at least cnn_f32_gemm_workspace_floats(M, N, K) floats, 16-byte aligned (the __ref variant ignores it). */
size_t cnn_f32_gemm_workspace_floats(int M, int N, int K);
void cnn_f32_gemm__simd(int M, int N, int K,
                        const float* A, int lda, int trans_a,
                        const float* B, int ldb, int trans_b,
                        float* C, int ldc, int accumulate, float* workspace);
void cnn_f32_gemm__ref(int M, int N, int K,
                       const float* A, int lda, int trans_a,
                       const float* B, int ldb, int trans_b,
                       float* C, int ldc, int accumulate, float* workspace);
#define cnn_f32_gemm cnn_f32_gemm__simd
/* The same, then C[i][j] += bias[j] (N floats; NULL: none): added to C's rows while they are still in cache, saving
 * a pass over C, with the bits of cnn_f32_gemm followed by cnn_f32_add_bias. */
void cnn_f32_gemm_bias__simd(int M, int N, int K,
                             const float* A, int lda, int trans_a,
                             const float* B, int ldb, int trans_b,
                             const float* bias, float* C, int ldc, int accumulate, float* workspace);
void cnn_f32_gemm_bias__ref(int M, int N, int K,
                            const float* A, int lda, int trans_a,
                            const float* B, int ldb, int trans_b,
                            const float* bias, float* C, int ldc, int accumulate, float* workspace);
#define cnn_f32_gemm_bias cnn_f32_gemm_bias__simd
/* cnn_f32_gemm_bias (same bits), returning 1 when every final value of C is finite, else 0: predict's check of its
 * output, made in the bias pass while C's rows are still in cache instead of in a pass of its own. */
int cnn_f32_gemm_bias_finite__simd(int M, int N, int K,
                                   const float* A, int lda, int trans_a,
                                   const float* B, int ldb, int trans_b,
                                   const float* bias, float* C, int ldc, int accumulate, float* workspace);
int cnn_f32_gemm_bias_finite__ref(int M, int N, int K,
                                  const float* A, int lda, int trans_a,
                                  const float* B, int ldb, int trans_b,
                                  const float* bias, float* C, int ldc, int accumulate, float* workspace);
#define cnn_f32_gemm_bias_finite cnn_f32_gemm_bias_finite__simd
/* op(B) packed ahead of the GEMM, so that a kernel used by many GEMMs (every chunk of a conv, every block of a
 * threaded split, every predict call while the weights stay put) is packed once: per K block of 256 rows, its
 * 8-wide column panels, zero-padded (gemm.c). Packed whole it takes cnn_f32_gemm_packed_b_floats(N, K) floats, with
 * ld = N rounded up to 8; col0 (a multiple of 8) is the column of op(B) that C's column 0 uses, for a GEMM over a
 * block of C's columns. pack_b_whole packs columns [j_begin, j_end) (j_begin a multiple of 8) of op(B), so that
 * threads can pack disjoint column ranges. The packed GEMMs give cnn_f32_gemm_bias(_finite)'s bits. */
typedef struct cnn_f32_packed_b {
    const float* data;
    int ld;   /* N rounded up to 8 */
    int col0; /* first column used */
} cnn_f32_packed_b;
uint64_t cnn_f32_gemm_packed_b_floats(int N, int K);
void cnn_f32_gemm_pack_b_whole(int N, int K, const float* B, int ldb, int trans_b, int j_begin, int j_end,
                               float* packed);
void cnn_f32_gemm_bias_packed__simd(int M, int N, int K, const float* A, int lda, int trans_a,
                                    const cnn_f32_packed_b* B, const float* bias, float* C, int ldc, int accumulate,
                                    float* workspace);
void cnn_f32_gemm_bias_packed__ref(int M, int N, int K, const float* A, int lda, int trans_a,
                                   const cnn_f32_packed_b* B, const float* bias, float* C, int ldc, int accumulate,
                                   float* workspace);
#define cnn_f32_gemm_bias_packed cnn_f32_gemm_bias_packed__simd
int cnn_f32_gemm_bias_packed_finite__simd(int M, int N, int K, const float* A, int lda, int trans_a,
                                          const cnn_f32_packed_b* B, const float* bias, float* C, int ldc,
                                          int accumulate, float* workspace);
int cnn_f32_gemm_bias_packed_finite__ref(int M, int N, int K, const float* A, int lda, int trans_a,
                                         const cnn_f32_packed_b* B, const float* bias, float* C, int ldc,
                                         int accumulate, float* workspace);
#define cnn_f32_gemm_bias_packed_finite cnn_f32_gemm_bias_packed_finite__simd
/* One of the four above: on `packed` when not NULL (then B, ldb and trans_b are unused), checking C when `check`.
 * Returns whether every value of C came out finite when checking, else 1. */
static inline int cnn_f32_gemm_run(int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                                   int trans_b, const cnn_f32_packed_b* packed, const float* bias, float* C, int ldc,
                                   int accumulate, int check, float* workspace) {
    if (packed && check)
        return cnn_f32_gemm_bias_packed_finite(M, N, K, A, lda, trans_a, packed, bias, C, ldc, accumulate, workspace);
    if (packed)
        cnn_f32_gemm_bias_packed(M, N, K, A, lda, trans_a, packed, bias, C, ldc, accumulate, workspace);
    else if (check)
        return cnn_f32_gemm_bias_finite(M, N, K, A, lda, trans_a, B, ldb, trans_b, bias, C, ldc, accumulate,
                                        workspace);
    else
        cnn_f32_gemm_bias(M, N, K, A, lda, trans_a, B, ldb, trans_b, bias, C, ldc, accumulate, workspace);
    return 1;
}

/* ---- convolution geometry -----------------------------------------------------------------------------------------
 * Input x: n×h×w×c. Output: n×oh×ow×(filters). The patch matrix ("cols") has one row per output pixel of the whole
 * batch (row r = (b·oh + oy)·ow + ox) and kh·kw·c columns ordered (ky, kx, ci) — the layout of a tfjs conv kernel
 * [kh, kw, c, filters], so cols · kernel (as a (kh·kw·c)×filters matrix) is the convolution. Input pixel of tap
 * (ky, kx) for output (oy, ox): iy = oy·sh + ky·dh − pad_top, ix = ox·sw + kx·dw − pad_left; outside → 0. */
typedef struct cnn_conv_geom {
    int n, h, w, c;          /* input */
    int kh, kw;              /* kernel size */
    int sh, sw;              /* strides */
    int dh, dw;              /* dilation */
    int pad_top, pad_left;   /* zero padding before the first row / column */
    int oh, ow;              /* output size */
} cnn_conv_geom;

/* Writes rows [row0, row0 + rows) of the patch matrix into cols (rows × kh·kw·c, dense). */
void cnn_f32_im2col(const cnn_conv_geom* g, const float* x, int row0, int rows, float* cols);
/* Adds rows [row0, row0 + rows) of a patch-matrix gradient back into dx (n×h×w×c), the adjoint of im2col. */
void cnn_f32_col2im_add(const cnn_conv_geom* g, const float* cols, int row0, int rows, float* dx);

/* Direct convolution (implicit GEMM: patches read in place, no patch matrix; conv_direct.c), batch of g->n samples:
 * y (n×oh×ow×N) = conv(x, w) + bias, w laid out [kh, kw, c, N] (the K×N matrix above), bias (N floats) may be NULL.
 * Only when cnn_f32_conv2d_supported(g, N) (unit horizontal dilation); whether it is worth it is the conv layer's
 * choice (layers/conv.c). workspace: cnn_f32_conv2d_workspace_floats floats, 16-byte aligned (the __ref variant
 * ignores it). Rounding differs from im2col + GEMM (the bias is added first; one K block). Sizes are 64-bit so that
 * callers can refuse what does not fit before allocating. */
int cnn_f32_conv2d_supported(const cnn_conv_geom* g, int N);
/* Floats of the zero-padded copy of one image the kernel makes (0 when the image is read in place). */
uint64_t cnn_f32_conv2d_padded_floats(const cnn_conv_geom* g);
uint64_t cnn_f32_conv2d_workspace_floats(const cnn_conv_geom* g, int N);
void cnn_f32_conv2d__simd(const cnn_conv_geom* g, const float* x, const float* w, const float* bias, int N, float* y,
                          float* workspace);
void cnn_f32_conv2d__ref(const cnn_conv_geom* g, const float* x, const float* w, const float* bias, int N, float* y,
                         float* workspace);
#define cnn_f32_conv2d cnn_f32_conv2d__simd

/* Weight gradient straight from x and dy for layers with at most 4 input channels and 16 filters (a network's first
 * convolution; conv_wgrad_direct.c): dw ([kh, kw, c, N]) += the gradient of the (tap, channel) pairs [first, end)
 * (pair = (ky·kw + kx)·c + ci; the whole gradient: 0, kh·kw·c). Any geometry (stride, dilation, padding). A pair's
 * entries depend on that pair alone: any split across calls or threads gives the bits of one call; the __ref twin
 * gives the same bits. Rounding differs from colsᵀ·dy (the sum runs in blocks of 4 output rows). */
#define CNN_WGRAD_DIRECT_MAX_CHANNELS 4
#define CNN_WGRAD_DIRECT_MAX_FILTERS 16
int cnn_f32_conv2d_weight_grad_direct_supported(const cnn_conv_geom* g, int N);
void cnn_f32_conv2d_weight_grad_direct__simd(const cnn_conv_geom* g, int N, const float* x, const float* dy,
                                             float* dw, int first, int end);
void cnn_f32_conv2d_weight_grad_direct__ref(const cnn_conv_geom* g, int N, const float* x, const float* dy,
                                            float* dw, int first, int end);
#define cnn_f32_conv2d_weight_grad_direct cnn_f32_conv2d_weight_grad_direct__simd

/* ---- pooling --------------------------------------------------------------------------------------------------------
 * Windows ph×pw with strides sh, sw over x (n×h×w×c); padded positions are ignored (never the max, never counted in
 * the average: tfjs semantics). Vectorised across channels. */
typedef struct cnn_pool_geom {
    int n, h, w, c;
    int ph, pw;
    int sh, sw;
    int pad_top, pad_left;
    int oh, ow;
} cnn_pool_geom;

/* y: n×oh×ow×c. idx (may be NULL): for each output element, the spatial index iy·w + ix of its maximum within its
 * own sample and channel (PyTorch's MaxPool2d return_indices meaning). The first maximum in window scan order
 * (row-major) wins; a NaN in the window propagates to the output and its index. */
void cnn_f32_maxpool__simd(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx);
void cnn_f32_maxpool__ref(const cnn_pool_geom* g, const float* x, float* y, int32_t* idx);
#define cnn_f32_maxpool cnn_f32_maxpool__simd
/* dx[b, idx, ch] += dy[b, o, ch] for every output element (scatter-add through the recorded indices). dx has
 * out_h×out_w spatial positions per sample (the unpooled size). Also serves max-unpooling's forward pass. */
void cnn_f32_maxpool_backward(int n, int oh, int ow, int c, const float* dy, const int32_t* idx,
                              int out_h, int out_w, float* dx);
/* dx[b, o, ch] += dy[b, idx, ch] (gather-add): max-unpooling's backward pass. Adds, like every backward (an input
 * may fan out); outputs whose index is outside [0, unpooled_h·unpooled_w) receive nothing. */
void cnn_f32_maxunpool_backward(int n, int oh, int ow, int c, const float* dy_unpooled, const int32_t* idx,
                                int unpooled_h, int unpooled_w, float* dx);

void cnn_f32_avgpool__simd(const cnn_pool_geom* g, const float* x, float* y);
void cnn_f32_avgpool__ref(const cnn_pool_geom* g, const float* x, float* y);
#define cnn_f32_avgpool cnn_f32_avgpool__simd
/* dx += the average-pool adjoint of dy. */
void cnn_f32_avgpool_backward__simd(const cnn_pool_geom* g, const float* dy, float* dx);
void cnn_f32_avgpool_backward__ref(const cnn_pool_geom* g, const float* dy, float* dx);
#define cnn_f32_avgpool_backward cnn_f32_avgpool_backward__simd
/* Average pooling that counts padded positions (count_include_pad): the sum over the window clipped to the image,
 * divided by the number of window positions inside the padded image (pad_top / pad_left from g, pad_bottom and
 * pad_right here); a ceil-mode overhang beyond the padding is not counted. Backward: dx += the adjoint. */
void cnn_f32_avgpool_inclpad__simd(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* x, float* y);
void cnn_f32_avgpool_inclpad__ref(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* x, float* y);
#define cnn_f32_avgpool_inclpad cnn_f32_avgpool_inclpad__simd
void cnn_f32_avgpool_inclpad_backward__simd(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* dy,
                                            float* dx);
void cnn_f32_avgpool_inclpad_backward__ref(const cnn_pool_geom* g, int pad_bottom, int pad_right, const float* dy,
                                           float* dx);
#define cnn_f32_avgpool_inclpad_backward cnn_f32_avgpool_inclpad_backward__simd

/* ---- elementwise helpers (elementwise.c) ----------------------------------------------------------------------
 * Index of the first NaN or ±inf among x[0, n), or n when all are finite. */
size_t cnn_f32_first_nonfinite__simd(size_t n, const float* x);
size_t cnn_f32_first_nonfinite__ref(size_t n, const float* x);
#define cnn_f32_first_nonfinite cnn_f32_first_nonfinite__simd

/* Activation gradients g = y[i] > 0 ? dy[i] : 0 (ReLU, from its output y) and g = x[i] > 0 ? dy[i] : alpha·dy[i]
 * (leaky ReLU, from its input x), added (dx[i] += g) when accumulate, else written (dx[i] = g: the first layer to
 * write a gradient, graph.c). The SIMD twins are bit-identical to the references (NaN, ±0, inf included). */
void cnn_f32_relu_backward__simd(size_t n, const float* y, const float* dy, float* dx, int accumulate);
void cnn_f32_relu_backward__ref(size_t n, const float* y, const float* dy, float* dx, int accumulate);
#define cnn_f32_relu_backward cnn_f32_relu_backward__simd
void cnn_f32_leaky_relu_backward__simd(size_t n, const float* x, const float* dy, float alpha, float* dx,
                                       int accumulate);
void cnn_f32_leaky_relu_backward__ref(size_t n, const float* x, const float* dy, float alpha, float* dx,
                                      int accumulate);
#define cnn_f32_leaky_relu_backward cnn_f32_leaky_relu_backward__simd

/* y[r, j] += bias[j] for rows × cols. */
void cnn_f32_add_bias(int rows, int cols, const float* bias, float* y);
/* db[j] += sum over r of dy[r, j]. */
void cnn_f32_sum_rows_add(int rows, int cols, const float* dy, float* db);

#endif
