/* Elementwise and row-wise helpers that are not tied to one layer: the finiteness check of inputs, the bias add of
 * conv/convT/dense and its adjoint (row sums). */
#include "kernels/kernels.h"
#include "simd.h"

/* ---- input checks ------------------------------------------------------------------------------------------------ */

/* x·0 is 0 for every finite x and NaN for ±inf and NaN, so a running sum of x·0 turns NaN as soon as a block holds a
 * non-finite value; the block is then rescanned in scalar to find the first one. */
size_t cnn_f32_first_nonfinite__simd(size_t n, const float* x) {
    enum { BLOCK = 1024 };
    const cnn_v4f zero = cnn_v4f_zero();
    for (size_t start = 0; start < n; start += BLOCK) {
        const size_t end = n - start < BLOCK ? n : start + BLOCK;
        /* Four chains: with two, the adds' latency (not the loads) bounded the scan. */
        cnn_v4f a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        size_t i = start;
        for (; i + 16 <= end; i += 16) {
            a0 = cnn_v4f_add(a0, cnn_v4f_mul(cnn_v4f_load(x + i), zero));
            a1 = cnn_v4f_add(a1, cnn_v4f_mul(cnn_v4f_load(x + i + 4), zero));
            a2 = cnn_v4f_add(a2, cnn_v4f_mul(cnn_v4f_load(x + i + 8), zero));
            a3 = cnn_v4f_add(a3, cnn_v4f_mul(cnn_v4f_load(x + i + 12), zero));
        }
        for (; i + 4 <= end; i += 4) a0 = cnn_v4f_add(a0, cnn_v4f_mul(cnn_v4f_load(x + i), zero));
        int bad = cnn_v4m_any(cnn_v4f_isnan(cnn_v4f_add(cnn_v4f_add(a0, a1), cnn_v4f_add(a2, a3))));
        for (; i < end; i++) bad |= !(x[i] - x[i] == 0.0f);
        if (bad) return start + cnn_f32_first_nonfinite__ref(end - start, x + start);
    }
    return n;
}

size_t cnn_f32_first_nonfinite__ref(size_t n, const float* x) {
    for (size_t i = 0; i < n; i++)
        if (!(x[i] - x[i] == 0.0f)) return i;
    return n;
}

/* ---- bias (row-wise) helpers ------------------------------------------------------------------------------------ */

void cnn_f32_add_bias(int rows, int cols, const float* bias, float* y) {
    for (int r = 0; r < rows; r++) {
        float* row = y + (size_t)r * cols;
        int j = 0;
        for (; j + 4 <= cols; j += 4) cnn_v4f_store(row + j, cnn_v4f_add(cnn_v4f_load(row + j), cnn_v4f_load(bias + j)));
        for (; j < cols; j++) row[j] += bias[j];
    }
}

void cnn_f32_sum_rows_add(int rows, int cols, const float* dy, float* db) {
    /* Rows in order per column, as a naive loop would: the result does not depend on the vector width. */
    for (int r = 0; r < rows; r++) {
        const float* row = dy + (size_t)r * cols;
        int j = 0;
        for (; j + 4 <= cols; j += 4) cnn_v4f_store(db + j, cnn_v4f_add(cnn_v4f_load(db + j), cnn_v4f_load(row + j)));
        for (; j < cols; j++) db[j] += row[j];
    }
}

/* ---- activation gradients ---------------------------------------------------------------------------------------
 * Selects instead of branches: a ReLU's sign pattern is random, and the scalar loop (a conditional load of dy) was
 * compiled to a branch per element that mispredicts about half the time (11% of a ResNet-20 training step). The
 * SIMD twins add the same values in the same order, so they are bit-identical to the references. */

void cnn_f32_relu_backward__simd(size_t n, const float* y, const float* dy, float* dx, int accumulate) {
    const cnn_v4f zero = cnn_v4f_zero();
    size_t i = 0;
    if (accumulate)
        for (; i + 4 <= n; i += 4) {
            const cnn_v4f g = cnn_v4f_select(cnn_v4f_gt(cnn_v4f_load(y + i), zero), cnn_v4f_load(dy + i), zero);
            cnn_v4f_store(dx + i, cnn_v4f_add(cnn_v4f_load(dx + i), g));
        }
    else
        for (; i + 4 <= n; i += 4)
            cnn_v4f_store(dx + i, cnn_v4f_select(cnn_v4f_gt(cnn_v4f_load(y + i), zero), cnn_v4f_load(dy + i), zero));
    cnn_f32_relu_backward__ref(n - i, y + i, dy + i, dx + i, accumulate);
}

void cnn_f32_relu_backward__ref(size_t n, const float* y, const float* dy, float* dx, int accumulate) {
    for (size_t i = 0; i < n; i++) {
        const float g = y[i] > 0.0f ? dy[i] : 0.0f;
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

void cnn_f32_leaky_relu_backward__simd(size_t n, const float* x, const float* dy, float alpha, float* dx,
                                       int accumulate) {
    const cnn_v4f zero = cnn_v4f_zero(), a = cnn_v4f_splat(alpha);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const cnn_v4f d = cnn_v4f_load(dy + i);
        const cnn_v4f g = cnn_v4f_select(cnn_v4f_gt(cnn_v4f_load(x + i), zero), d, cnn_v4f_mul(a, d));
        cnn_v4f_store(dx + i, accumulate ? cnn_v4f_add(cnn_v4f_load(dx + i), g) : g);
    }
    cnn_f32_leaky_relu_backward__ref(n - i, x + i, dy + i, alpha, dx + i, accumulate);
}

void cnn_f32_leaky_relu_backward__ref(size_t n, const float* x, const float* dy, float alpha, float* dx,
                                      int accumulate) {
    for (size_t i = 0; i < n; i++) {
        const float g = x[i] > 0.0f ? dy[i] : alpha * dy[i];
        dx[i] = accumulate ? dx[i] + g : g;
    }
}
