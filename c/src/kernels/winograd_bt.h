/* The input transform Bᵀ·d shared by the Winograd passes of kernels/ (private to kernels/): the forward and input
 * gradient (winograd.c) and the F(3×3, 4×4) weight gradient (winograd_wgrad.c), whose x transform is the forward's. */
#ifndef CNN_WINOGRAD_BT_H
#define CNN_WINOGRAD_BT_H

#include "simd.h"

/* 1-D Bᵀ·d over α = 4 (F(2×2, 3×3)) or 6 (F(4×4, 3×3)) values, vectors of 4 channels. */
static CNN_ALWAYS_INLINE void cnn_wino_bt_1d(int alpha, const cnn_v4f* d, cnn_v4f* o) {
    if (alpha == 4) {
        o[0] = cnn_v4f_sub(d[0], d[2]);
        o[1] = cnn_v4f_add(d[1], d[2]);
        o[2] = cnn_v4f_sub(d[2], d[1]);
        o[3] = cnn_v4f_sub(d[1], d[3]);
    } else {
        const cnn_v4f four = cnn_v4f_splat(4.0f), five = cnn_v4f_splat(5.0f), two = cnn_v4f_splat(2.0f);
        const cnn_v4f t0 = cnn_v4f_sub(d[4], cnn_v4f_mul(d[2], four)); /* d4 − 4 d2 */
        const cnn_v4f t1 = cnn_v4f_sub(cnn_v4f_mul(d[1], four), d[3]); /* 4 d1 − d3 */
        const cnn_v4f t2 = cnn_v4f_sub(d[4], d[2]);                    /* d4 − d2 */
        const cnn_v4f t3 = cnn_v4f_mul(cnn_v4f_sub(d[1], d[3]), two);  /* 2 (d1 − d3) */
        o[0] = cnn_v4f_add(cnn_v4f_sub(cnn_v4f_mul(d[0], four), cnn_v4f_mul(d[2], five)), d[4]);
        o[1] = cnn_v4f_sub(t0, t1);
        o[2] = cnn_v4f_add(t0, t1);
        o[3] = cnn_v4f_sub(t2, t3);
        o[4] = cnn_v4f_add(t2, t3);
        o[5] = cnn_v4f_add(cnn_v4f_sub(cnn_v4f_mul(d[1], four), cnn_v4f_mul(d[3], five)), d[5]);
    }
}

#endif
