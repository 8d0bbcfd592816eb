/* f32 GEMM: C = op(A)·op(B) (+ C). BLIS-style blocking around a 4×8 register-blocked microkernel.
 *
 * Loop nest (outer → inner): columns in NC blocks → K in KC blocks (pack that KC×NC slice of op(B) into 8-wide
 * panels), then
 *  - column blocks of GEMM_BCAST_MIN_N (64) or more: 4-row panels of op(A), one at a time, packed broadcast (every
 *    value stored as a whole f32x4, 16 floats per k step) → 8-wide column panels → ukernel_bcast_a. The A panel
 *    (KC×16 floats, up to 16 KB) stays in L1 while the packed B block streams by from L2. Untransposed A is packed
 *    by the first column panel's kernel, which reads A in place and stores each broadcast value as it uses it: no
 *    packing pass of its own (against a separate pass in one binary holding both versions, which can distort:
 *    3136x64x576 +7-11%, 2048x64x576 +9%, the 1x1's dX +3-5%; the engine's 1x1 layer, best call against the best
 *    ceiling run: 73.4-74.0 -> 74.4-75.1%).
 *  - narrower blocks: rows in MC blocks (pack op(A) into 4-tall panels when A is transposed) → 8-wide column panels
 *    → 4-tall row panels → microkernel; a packed B micro-panel (KC×8 floats, 8 KB) stays in L1 while row panels
 *    stream by. Untransposed A is read in place: its rows are K-contiguous, so the microkernel splats
 *    (v128.load32_splat, a broadcast load) straight from four row pointers, two k steps per iteration as
 *    ukernel_bcast_a (tests/c/bench_gemm.c --best, three runs each in separate processes: LeNet conv1 forward
 *    50176x6x25 16.1-17.3 -> 21.0-21.4 GFLOP/s, conv2 6400x16x150 30.7-32.2 -> 34.5-35.2, 16384x32x144
 *    25.8-27.2 -> 25.6-29.8; the broadcast paths unchanged). For skinny N (LeNet: N = 6, 16; 3x3
 *    convs with 16-32 filters) packing costs as much as the arithmetic saved (LeNet conv2 32 -> 23 GFLOP/s, ResNet
 *    32x32x16 23 -> 15 with 4-row panels; broadcast panels lost 3-5% at N = 32).
 *
 * Why 4×8: 8 accumulators + 2 B vectors + the A values + a product fit the 15 xmm registers V8 allocates. V8 (Node 20)
 * hoists every load of a basic block to its top, so all of a k step's loads are live at once: 5×8, 3×12, 4×12 and
 * 6×8 spill (18-37% slower in a kernel-only test), and so did K unrolled inside one block (-25%).
 *
 * Why broadcast A panels (tests/c/bench_gemm.c, fastest of 3 interleaved runs, same-run ceiling 51.3 GFLOP/s): with
 * four broadcast loads per k step the splat loop reached 65-68% of the ceiling (not the ~99% this comment once said),
 * and V8 gives each constant offset of a broadcast load a base register of its own (lea; seen in its code through
 * node --perf-prof). From a broadcast panel the kernel does plain vector loads at constant offsets, two k steps per
 * iteration with the exit test between them (two blocks, each within the registers): one stack check and index update
 * per two steps. 28x28x128 -> 256 1x1: 34.7 -> 39.3 GFLOP/s (67.6 -> 76.6% of the ceiling; with the conv's bias,
 * cnn_f32_gemm_bias below, 33.9 -> 38.6, 75.2%); its dW (trans_a) 35.1 -> 37.9 (73.9%) and dX (trans_b)
 * 34.5 -> 38.8 (75.7%); 256³ 35.8 -> 39.2; 56x56x64 3x3 (N = 64) 30.7 -> 32.6, its dX 29.6 -> 37.3; LeNet dense
 * 400 -> 120 32.7 -> 37.7. A broadcast panel is 4× the floats of a plain one: from 64 columns on, the column panels
 * repay it. Packing costs ~2-4% of the 1x1 (skipped altogether, which gives wrong results: +2-6%); the rest is the
 * loop itself, 6 loads per 16 multiply/adds with no register to spare for a wider tile. Running the 1x1 transposed
 * instead (Cᵀ = Bᵀ·Aᵀ, the weights as the broadcast operand, packed once per call, tiles stored through 4×4
 * transposes) measured 0.89-0.99x of this path: not taken.
 *
 * Bits: every path runs the same k order per output element from the same zeroed accumulators, so the results are
 * bit-identical whichever path a block takes (the threaded splits in conv_threads.c and parallel.c rely on that;
 * tests/c/test_gemm.c checks block splits bit for bit). Rows past M in an edge panel alias the last valid row
 * (in-bounds reads whose results are never stored). Packed B panels are zero-padded; edge tiles store only their
 * valid part with 2- and 1-lane stores.
 *
 * cnn_f32_gemm_bias adds a per-column bias to C after the last K block of each broadcast row panel (4 rows × NC',
 * still in L1) or MC row block: the bits of the GEMM followed by cnn_f32_add_bias, without its pass over C. (Added
 * after every tile instead, V8's code for the whole driver got 5% slower.)
 *
 * Packed ahead: a layer's kernel is the B of every GEMM it runs (each chunk of patch rows, each block of a threaded
 * split, each predict call), so the layers pack it whole once (cnn_f32_gemm_pack_b_whole: per K block, all of its
 * 8-wide panels) and keep it until the weights move (parallel.h). The drivers below read B only packed: a GEMM on
 * an unpacked B packs one KC×NC block at a time into the workspace and runs the same driver on it. Engine-only
 * 28x28x128 -> 256 1x1, same-process alternation against packing per call (median per-call ratios): 1 thread
 * 0.99-1.00 (one pack per call, ~1%), 2 threads 0.945-0.95 (each of the 8 blocks of the split packed all of B).
 *
 * Workspace (floats): [packed B: KC' × round_up(NC', 8)] [packed A: max(round_up(MC', 4), 16) × KC'], X' = min(X, dim).
 * Rounding: each K block adds its partial sums into C, so results differ from the __ref k-order sum by rounding. */
#include "kernels/gemm_tile.h"
#include "kernels/kernels.h"
#include "simd.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>


size_t cnn_f32_gemm_workspace_floats(int M, int N, int K) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    const size_t kc = (size_t)min_int(K, GEMM_KC);
    const size_t nc = (size_t)round_up(min_int(N, GEMM_NC), GEMM_NR);
    const size_t mc = (size_t)round_up(min_int(M, GEMM_MC), GEMM_MR);
    return kc * nc + (mc > 4 * GEMM_MR ? mc : 4 * GEMM_MR) * kc; /* A: MC-row panels or one broadcast panel */
}

/* ---- reference ------------------------------------------------------------------------------------------------- */

void cnn_f32_gemm__ref(int M, int N, int K,
                       const float* A, int lda, int trans_a,
                       const float* B, int ldb, int trans_b,
                       float* C, int ldc, int accumulate, float* workspace) {
    (void)workspace;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++) {
                const float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                const float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                sum += a * b;
            }
            float* c = &C[(size_t)i * ldc + j];
            *c = accumulate ? *c + sum : sum;
        }
    }
}

void cnn_f32_gemm_bias__ref(int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                            int trans_b, const float* bias, float* C, int ldc, int accumulate, float* workspace) {
    cnn_f32_gemm__ref(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate, workspace);
    for (int i = 0; i < M && bias; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] += bias[j];
}

int cnn_f32_gemm_bias_finite__ref(int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                                  int trans_b, const float* bias, float* C, int ldc, int accumulate, float* workspace) {
    cnn_f32_gemm_bias__ref(M, N, K, A, lda, trans_a, B, ldb, trans_b, bias, C, ldc, accumulate, workspace);
    for (int i = 0; i < M; i++)
        if (cnn_f32_first_nonfinite__ref((size_t)N, C + (size_t)i * ldc) < (size_t)N) return 0;
    return 1;
}

/* op(B)[k][j] of a whole packed B (cnn_f32_gemm_pack_b_whole), j counted from B->col0. */
static float packed_b_at(const cnn_f32_packed_b* B, int K, int k, int j) {
    const int k0 = k / GEMM_KC * GEMM_KC, kc = min_int(GEMM_KC, K - k0), col = B->col0 + j;
    return B->data[(size_t)k0 * B->ld + (size_t)(col / GEMM_NR) * kc * GEMM_NR + (size_t)(k - k0) * GEMM_NR +
                   col % GEMM_NR];
}

void cnn_f32_gemm_bias_packed__ref(int M, int N, int K, const float* A, int lda, int trans_a,
                                   const cnn_f32_packed_b* B, const float* bias, float* C, int ldc, int accumulate,
                                   float* workspace) {
    (void)workspace;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++)
                sum += (trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) * packed_b_at(B, K, k, j);
            float* c = &C[(size_t)i * ldc + j];
            *c = accumulate ? *c + sum : sum;
            if (bias) *c += bias[j];
        }
    }
}

int cnn_f32_gemm_bias_packed_finite__ref(int M, int N, int K, const float* A, int lda, int trans_a,
                                         const cnn_f32_packed_b* B, const float* bias, float* C, int ldc,
                                         int accumulate, float* workspace) {
    cnn_f32_gemm_bias_packed__ref(M, N, K, A, lda, trans_a, B, bias, C, ldc, accumulate, workspace);
    for (int i = 0; i < M; i++)
        if (cnn_f32_first_nonfinite__ref((size_t)N, C + (size_t)i * ldc) < (size_t)N) return 0;
    return 1;
}

/* ---- packing --------------------------------------------------------------------------------------------------- */

/* op(B)[k0 : k0+kc, j0 : j0+nc] → panels of 8 columns: panel p holds dst[p·kc·8 + k·8 + jj], zero past nc. */
void cnn_f32_gemm_pack_b(int kc, int nc, const float* B, int ldb, int trans_b, int k0, int j0, float* dst) {
    for (int jp = 0; jp < nc; jp += GEMM_NR) {
        const int nr = min_int(GEMM_NR, nc - jp);
        float* d = dst + (size_t)jp * kc;
        if (!trans_b) {
            const float* src = B + (size_t)k0 * ldb + j0 + jp;
            if (nr == GEMM_NR) {
                for (int k = 0; k < kc; k++, src += ldb, d += GEMM_NR) {
                    cnn_v4f_store(d, cnn_v4f_load(src));
                    cnn_v4f_store(d + 4, cnn_v4f_load(src + 4));
                }
            } else {
                const int lo = min_int(nr, 4), hi = nr - lo;
                for (int k = 0; k < kc; k++, src += ldb, d += GEMM_NR) {
                    cnn_v4f_store(d, load_first(src, lo));
                    cnn_v4f_store(d + 4, load_first(src + 4, hi));
                }
            }
        } else if (nr == GEMM_NR) {
            /* B is N×K: each packed column is a K-contiguous source row; 4×4 transposes of two row quads. */
            const float* src = B + (size_t)(j0 + jp) * ldb + k0;
            int k = 0;
            for (; k + 4 <= kc; k += 4, d += 4 * GEMM_NR) {
                for (int h = 0; h < 2; h++) {
                    const float* s = src + (size_t)(4 * h) * ldb + k;
                    cnn_v4f r0 = cnn_v4f_load(s), r1 = cnn_v4f_load(s + ldb);
                    cnn_v4f r2 = cnn_v4f_load(s + 2 * (size_t)ldb), r3 = cnn_v4f_load(s + 3 * (size_t)ldb);
                    cnn_v4f_transpose4(&r0, &r1, &r2, &r3);
                    cnn_v4f_store(d + 4 * h, r0);
                    cnn_v4f_store(d + GEMM_NR + 4 * h, r1);
                    cnn_v4f_store(d + 2 * GEMM_NR + 4 * h, r2);
                    cnn_v4f_store(d + 3 * GEMM_NR + 4 * h, r3);
                }
            }
            for (; k < kc; k++, d += GEMM_NR)
                for (int jj = 0; jj < GEMM_NR; jj++) d[jj] = src[(size_t)jj * ldb + k];
        } else {
            for (int jj = 0; jj < GEMM_NR; jj++) {
                const float* src = B + (size_t)(j0 + jp + jj) * ldb + k0;
                if (jj < nr)
                    for (int k = 0; k < kc; k++) d[(size_t)k * GEMM_NR + jj] = src[k];
                else
                    for (int k = 0; k < kc; k++) d[(size_t)k * GEMM_NR + jj] = 0.0f;
            }
        }
    }
}

uint64_t cnn_f32_gemm_packed_b_floats(int N, int K) {
    return N <= 0 || K <= 0 ? 0 : (uint64_t)K * (uint64_t)round_up(N, GEMM_NR);
}

void cnn_f32_gemm_pack_b_whole(int N, int K, const float* B, int ldb, int trans_b, int j_begin, int j_end,
                               float* packed) {
    assert(j_begin % GEMM_NR == 0 && j_begin <= j_end && j_end <= N && (j_end == N || j_end % GEMM_NR == 0));
    const size_t ld = (size_t)round_up(N, GEMM_NR);
    for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        const int kc = min_int(GEMM_KC, K - k0);
        cnn_f32_gemm_pack_b(kc, j_end - j_begin, B, ldb, trans_b, k0, j_begin,
                            packed + (size_t)k0 * ld + (size_t)j_begin * kc);
    }
}

/* op(A)[i0 : i0+mc, k0 : k0+kc] with A stored K×M (trans_a) → panels of 4 rows: dst[p·kc·4 + k·4 + ii], zero past mc.
 * Four consecutive floats of a source row are one packed k step. */
static void pack_a_transposed(int mc, int kc, const float* A, int lda, int i0, int k0, float* dst) {
    for (int ip = 0; ip < mc; ip += GEMM_MR) {
        const int mr = min_int(GEMM_MR, mc - ip);
        const float* src = A + (size_t)k0 * lda + i0 + ip;
        float* d = dst + (size_t)ip * kc;
        if (mr == GEMM_MR)
            for (int k = 0; k < kc; k++, src += lda, d += GEMM_MR) cnn_v4f_store(d, cnn_v4f_load(src));
        else
            for (int k = 0; k < kc; k++, src += lda, d += GEMM_MR) cnn_v4f_store(d, load_first(src, mr));
    }
}

/* ---- microkernels ---------------------------------------------------------------------------------------------- */

/* Same, reading 4 rows of A in place (row stride lda, K-contiguous). Rows past mr alias the last valid row. kc >= 1. */
static void ukernel_direct_a(int kc, const float* a, int lda, int mr, const float* b, float* c, int ldc, int nr,
                             int accumulate) {
    const float* rows[GEMM_MR];
    rows[0] = a;
    for (int r = 1; r < GEMM_MR; r++) rows[r] = r < mr ? rows[r - 1] + lda : rows[r - 1];
    cnn_v4f acc[GEMM_MR][2];
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = acc[r][1] = cnn_v4f_zero();
    /* Two k steps per iteration, each its own block with the exit test between them (see ukernel_bcast_a). */
    const float* b_end = b + (size_t)kc * GEMM_NR;
    for (int k = 0;;) {
        cnn_gemm_step_rows(acc, rows, k, b);
        k++, b += GEMM_NR;
        if (b == b_end) break;
        cnn_gemm_step_rows(acc, rows, k, b);
        k++, b += GEMM_NR;
        if (b == b_end) break;
    }
    store_tile(acc, c, ldc, mr, nr, accumulate);
}

/* ---- broadcast A panels ---------------------------------------------------------------------------------------- */

/* One 4-row panel of op(A), rows [i, i+mr) and k in [k0, k0+kc), with every value stored as a whole vector:
 * dst[k·16 + r·4 + lane] = op(A)[i + r][k0 + k]. The microkernel then reads A with plain
 * vector loads at constant offsets, where V8 gives each broadcast load's offset a register of its own (lea). */
static void pack_a_bcast(int mr, int kc, const float* A, int lda, int trans_a, int i, int k0, float* dst) {
    /* Source rows or columns past mr alias the last valid one: in bounds, and their sums are never stored. */
    const size_t step = trans_a ? 1 : (size_t)lda; /* from one row of op(A) to the next */
    const float* s0 = trans_a ? A + (size_t)k0 * lda + i : A + (size_t)i * lda + k0;
    const float* s1 = mr > 1 ? s0 + step : s0;
    const float* s2 = mr > 2 ? s1 + step : s1;
    const float* s3 = mr > 3 ? s2 + step : s2;
    const size_t kstep = trans_a ? (size_t)lda : 1; /* from one k to the next */
    for (int k = 0; k < kc; k++, dst += 4 * GEMM_MR) {
        const size_t o = (size_t)k * kstep;
        cnn_v4f_store(dst, cnn_v4f_load_splat(s0 + o));
        cnn_v4f_store(dst + 4, cnn_v4f_load_splat(s1 + o));
        cnn_v4f_store(dst + 8, cnn_v4f_load_splat(s2 + o));
        cnn_v4f_store(dst + 12, cnn_v4f_load_splat(s3 + o));
    }
}

/* ukernel_direct_a for the first column panel of a broadcast row panel: it reads the 4 rows of A in place and stores
 * each broadcast value into the panel (dst, laid out as pack_a_bcast's) as it goes, so that the panel costs no pass
 * of its own. Same k order, same bits. */
static void ukernel_direct_a_packing(int kc, const float* a, int lda, int mr, const float* b, float* c, int ldc,
                                     int nr, int accumulate, float* dst) {
    const float* rows[GEMM_MR];
    rows[0] = a;
    for (int r = 1; r < GEMM_MR; r++) rows[r] = r < mr ? rows[r - 1] + lda : rows[r - 1];
    cnn_v4f acc[GEMM_MR][2];
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = acc[r][1] = cnn_v4f_zero();
    /* Its own loop body, not cnn_gemm_step_rows with a store added: that measured 1-3% slower on the broadcast
     * paths (tests/c/bench_gemm.c --best, separate processes). */
    for (int k = 0; k < kc; k++, b += GEMM_NR, dst += 4 * GEMM_MR) {
        const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
        for (int r = 0; r < GEMM_MR; r++) {
            const cnn_v4f av = cnn_v4f_load_splat(rows[r] + k);
            cnn_v4f_store(dst + 4 * r, av);
            acc[r][0] = cnn_v4f_muladd(acc[r][0], av, b0);
            acc[r][1] = cnn_v4f_muladd(acc[r][1], av, b1);
        }
    }
    store_tile(acc, c, ldc, mr, nr, accumulate);
}

/* acc[r][·] += a[r·4 : r·4+4] · b[0:8]: one k step over a broadcast A panel. */
static CNN_ALWAYS_INLINE void step_bcast(cnn_v4f acc[GEMM_MR][2], const float* a, const float* b) {
    const cnn_v4f b0 = cnn_v4f_load(b), b1 = cnn_v4f_load(b + 4);
    for (int r = 0; r < GEMM_MR; r++) {
        const cnn_v4f av = cnn_v4f_load(a + 4 * r);
        acc[r][0] = cnn_v4f_muladd(acc[r][0], av, b0);
        acc[r][1] = cnn_v4f_muladd(acc[r][1], av, b1);
    }
}

/* The packed microkernel over a broadcast A panel (kc >= 1), in the same k order (the same bits). Two k steps per
 * iteration with the exit test between them: V8 is front-end bound here, and this halves the loop's stack check and
 * index updates. Two blocks rather than one: V8 hoists every load of a block to its top, and two steps' loads plus
 * the 8 accumulators overflow its 15 xmm registers (one block of two steps spilled and lost 25%). */
static void ukernel_bcast_a(int kc, const float* a, const float* b, float* c, int ldc, int mr, int nr,
                            int accumulate) {
    cnn_v4f acc[GEMM_MR][2];
    for (int r = 0; r < GEMM_MR; r++) acc[r][0] = acc[r][1] = cnn_v4f_zero();
    const float* b_end = b + (size_t)kc * GEMM_NR;
    for (;;) {
        step_bcast(acc, a, b);
        a += 4 * GEMM_MR, b += GEMM_NR;
        if (b == b_end) break;
        step_bcast(acc, a, b);
        a += 4 * GEMM_MR, b += GEMM_NR;
        if (b == b_end) break;
    }
    store_tile(acc, c, ldc, mr, nr, accumulate);
}

/* ---- driver ---------------------------------------------------------------------------------------------------- */

/* C[0:mr, 0:nr] += bias[0:nr], on rows just stored (still in cache): the same bits as a later pass over C. */
static void add_bias_tile(float* c, int ldc, int mr, int nr, const float* bias) {
    for (int r = 0; r < mr; r++, c += ldc) {
        int j = 0;
        for (; j + 4 <= nr; j += 4) cnn_v4f_store(c + j, cnn_v4f_add(cnn_v4f_load(c + j), cnn_v4f_load(bias + j)));
        for (; j < nr; j++) c[j] += bias[j];
    }
}

/* The same (bias may be NULL), also noting every final value in *seen (cnn_v4f_note_nonfinite). Loops of their
 * own, so the unchecked GEMM keeps its code. */
static void finish_tile_checked(float* c, int ldc, int mr, int nr, const float* bias, cnn_v4f* seen) {
    cnn_v4f acc = *seen;
    float tail = 0.0f;
    for (int r = 0; r < mr; r++, c += ldc) {
        int j = 0;
        if (bias) {
            for (; j + 4 <= nr; j += 4) {
                const cnn_v4f v = cnn_v4f_add(cnn_v4f_load(c + j), cnn_v4f_load(bias + j));
                cnn_v4f_store(c + j, v);
                acc = cnn_v4f_note_nonfinite(acc, v);
            }
        } else {
            for (; j + 4 <= nr; j += 4) acc = cnn_v4f_note_nonfinite(acc, cnn_v4f_load(c + j));
        }
        for (; j < nr; j++) {
            if (bias) c[j] += bias[j];
            tail += c[j] - c[j]; /* 0, or NaN from the first infinity or NaN on */
        }
    }
    *seen = cnn_v4f_note_nonfinite(acc, cnn_v4f_splat(tail));
}

/* The GEMM on a packed B, with bias (or NULL) added to C's rows after their last K block. With `check`, returns
 * whether every final value of C is finite (looked at in that same pass, while the rows are in cache); else returns
 * 1. Inlined into one driver per value of `check`: with a run-time flag, V8's code for the unchecked driver ran ~1%
 * slower. The GEMMs on an unpacked B (gemm_unpacked below) run these same two drivers one packed block at a time:
 * a pack branch in here (four drivers) made the wasm 30 KB larger, and a run-time choice between packed and
 * unpacked B made the packed 1x1 ~2% slower. */
static CNN_ALWAYS_INLINE int gemm(int M, int N, int K, const float* A, int lda, int trans_a,
                                  const cnn_f32_packed_b* packed, const float* bias, float* C, int ldc, int accumulate,
                                  float* workspace, int check) {
    if (M <= 0 || N <= 0) return 1;
    cnn_v4f seen = cnn_v4f_zero();
    assert(lda >= (trans_a ? M : K) && ldc >= N);
    assert(K <= 0 || (packed->col0 % GEMM_NR == 0 && packed->col0 + N <= packed->ld)); /* whole panels, inside B */
    assert(K <= 0 || ((uintptr_t)workspace & 15u) == 0); /* the packed A panels are read with aligned vector loads */
    if (K <= 0) {
        for (int i = 0; i < M; i++) {
            if (!accumulate) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
            if (check) finish_tile_checked(C + (size_t)i * ldc, ldc, 1, N, bias, &seen);
            else if (bias) add_bias_tile(C + (size_t)i * ldc, ldc, 1, N, bias);
        }
        return !cnn_v4m_any(cnn_v4f_isnan(seen));
    }
    /* Past the packed B block gemm_unpacked may have put at the start of the workspace. */
    float* packed_a = workspace + (size_t)min_int(K, GEMM_KC) * round_up(min_int(N, GEMM_NC), GEMM_NR);

    for (int j0 = 0; j0 < N; j0 += GEMM_NC) {
        const int nc = min_int(GEMM_NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            const int kc = min_int(GEMM_KC, K - k0);
            const int acc = accumulate || k0 > 0; /* later K blocks add onto what the first one wrote */
            const int last = k0 + kc == K;
            const float* tile_bias = last ? bias : NULL;
            /* op(B)[k0 : k0+kc, j0 : j0+nc] as 8-wide panels */
            const float* block_b = packed->data + (size_t)k0 * packed->ld + (size_t)(packed->col0 + j0) * kc;
            if (nc >= GEMM_BCAST_MIN_N) {
                /* One broadcast A panel at a time (L1-resident), swept across the packed B block (L2). */
                for (int i = 0; i < M; i += GEMM_MR) {
                    const int mr = min_int(GEMM_MR, M - i);
                    float* c_row = C + (size_t)i * ldc + j0;
                    int jp = 0;
                    if (trans_a) {
                        pack_a_bcast(mr, kc, A, lda, trans_a, i, k0, packed_a);
                    } else {
                        ukernel_direct_a_packing(kc, A + (size_t)i * lda + k0, lda, mr, block_b, c_row, ldc,
                                                 min_int(GEMM_NR, nc), acc, packed_a);
                        jp = GEMM_NR;
                    }
                    for (; jp < nc; jp += GEMM_NR) {
                        const int nr = min_int(GEMM_NR, nc - jp);
                        ukernel_bcast_a(kc, packed_a, block_b + (size_t)jp * kc, c_row + jp, ldc, mr, nr, acc);
                    }
                    if (last && check) finish_tile_checked(c_row, ldc, mr, nc, bias ? bias + j0 : NULL, &seen);
                    else if (tile_bias) add_bias_tile(c_row, ldc, mr, nc, tile_bias + j0);
                }
                continue;
            }
            for (int i0 = 0; i0 < M; i0 += GEMM_MC) {
                const int mc = min_int(GEMM_MC, M - i0);
                const int a_packed = trans_a; /* else A's rows are read in place */
                if (a_packed) pack_a_transposed(mc, kc, A, lda, i0, k0, packed_a);
                for (int jp = 0; jp < nc; jp += GEMM_NR) {
                    const int nr = min_int(GEMM_NR, nc - jp);
                    const float* b_panel = block_b + (size_t)jp * kc;
                    float* c_panel = C + (size_t)i0 * ldc + j0 + jp;
                    for (int ip = 0; ip < mc; ip += GEMM_MR) {
                        const int mr = min_int(GEMM_MR, mc - ip);
                        float* c_tile = c_panel + (size_t)ip * ldc;
                        if (a_packed)
                            cnn_gemm_ukernel_packed(kc, packed_a + (size_t)ip * kc, b_panel, c_tile, ldc, mr, nr, acc);
                        else
                            ukernel_direct_a(kc, A + (size_t)(i0 + ip) * lda + k0, lda, mr, b_panel, c_tile, ldc,
                                             nr, acc);
                    }
                }
                float* c_block = C + (size_t)i0 * ldc + j0;
                if (last && check) finish_tile_checked(c_block, ldc, mc, nc, bias ? bias + j0 : NULL, &seen);
                else if (tile_bias) add_bias_tile(c_block, ldc, mc, nc, tile_bias + j0);
            }
        }
    }
    return !cnn_v4m_any(cnn_v4f_isnan(seen));
}

static int gemm_packed_unchecked(int M, int N, int K, const float* A, int lda, int trans_a,
                                 const cnn_f32_packed_b* B, const float* bias, float* C, int ldc, int accumulate,
                                 float* workspace) {
    return gemm(M, N, K, A, lda, trans_a, B, bias, C, ldc, accumulate, workspace, 0);
}

static int gemm_packed_checked(int M, int N, int K, const float* A, int lda, int trans_a, const cnn_f32_packed_b* B,
                               const float* bias, float* C, int ldc, int accumulate, float* workspace) {
    return gemm(M, N, K, A, lda, trans_a, B, bias, C, ldc, accumulate, workspace, 1);
}

/* The GEMM on an unpacked B: the drivers above, one block of op(B) (KC×NC) at a time, packed into the workspace:
 * the same loop nest, so the same bits as on B packed whole. Later K blocks add onto C; the bias and the check go
 * with the last. */
static int gemm_unpacked(int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                         int trans_b, const float* bias, float* C, int ldc, int accumulate, float* workspace,
                         int check) {
    if (M <= 0 || N <= 0) return 1;
    assert(ldb >= (trans_b ? K : N));
    if (K <= 0) {
        const cnn_f32_packed_b none = {NULL, 0, 0}; /* not read */
        return check ? gemm_packed_checked(M, N, K, A, lda, trans_a, &none, bias, C, ldc, accumulate, workspace)
                     : gemm_packed_unchecked(M, N, K, A, lda, trans_a, &none, bias, C, ldc, accumulate, workspace);
    }
    int finite = 1;
    for (int j0 = 0; j0 < N; j0 += GEMM_NC) {
        const int nc = min_int(GEMM_NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            const int kc = min_int(GEMM_KC, K - k0);
            const int acc = accumulate || k0 > 0, last = k0 + kc == K;
            const float* a = trans_a ? A + (size_t)k0 * lda : A + k0;
            const float* block_bias = last && bias ? bias + j0 : NULL;
            const cnn_f32_packed_b block = {workspace, round_up(nc, GEMM_NR), 0};
            cnn_f32_gemm_pack_b(kc, nc, B, ldb, trans_b, k0, j0, workspace);
            if (last && check)
                finite &= gemm_packed_checked(M, nc, kc, a, lda, trans_a, &block, block_bias, C + j0, ldc, acc,
                                              workspace);
            else
                gemm_packed_unchecked(M, nc, kc, a, lda, trans_a, &block, block_bias, C + j0, ldc, acc, workspace);
        }
    }
    return finite;
}

void cnn_f32_gemm__simd(int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                        int trans_b, float* C, int ldc, int accumulate, float* workspace) {
    gemm_unpacked(M, N, K, A, lda, trans_a, B, ldb, trans_b, NULL, C, ldc, accumulate, workspace, 0);
}

void cnn_f32_gemm_bias__simd(int M, int N, int K, const float* A, int lda, int trans_a, const float* B, int ldb,
                             int trans_b, const float* bias, float* C, int ldc, int accumulate, float* workspace) {
    gemm_unpacked(M, N, K, A, lda, trans_a, B, ldb, trans_b, bias, C, ldc, accumulate, workspace, 0);
}

int cnn_f32_gemm_bias_finite__simd(int M, int N, int K, const float* A, int lda, int trans_a, const float* B,
                                   int ldb, int trans_b, const float* bias, float* C, int ldc, int accumulate,
                                   float* workspace) {
    return gemm_unpacked(M, N, K, A, lda, trans_a, B, ldb, trans_b, bias, C, ldc, accumulate, workspace, 1);
}

void cnn_f32_gemm_bias_packed__simd(int M, int N, int K, const float* A, int lda, int trans_a,
                                    const cnn_f32_packed_b* B, const float* bias, float* C, int ldc, int accumulate,
                                    float* workspace) {
    gemm_packed_unchecked(M, N, K, A, lda, trans_a, B, bias, C, ldc, accumulate, workspace);
}

int cnn_f32_gemm_bias_packed_finite__simd(int M, int N, int K, const float* A, int lda, int trans_a,
                                          const cnn_f32_packed_b* B, const float* bias, float* C, int ldc,
                                          int accumulate, float* workspace) {
    return gemm_packed_checked(M, N, K, A, lda, trans_a, B, bias, C, ldc, accumulate, workspace);
}
