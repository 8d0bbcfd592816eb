/* Thin 4-lane f32 SIMD mapping, written once for the kernels (ggml's simd-mappings idea, kept small).
 *
 *   cnn_v4f acc = cnn_v4f_zero();
 *   acc = cnn_v4f_muladd(acc, cnn_v4f_load(a), cnn_v4f_splat(s));   // acc + a·s, two roundings (no FMA)
 *   cnn_v4f_store(out, acc);
 *
 * Backends: wasm simd128 (__wasm_simd128__), SSE2 (__SSE2__), else a plain struct of 4 floats. CNN_SIMD_BACKEND names
 * the active one. Loads and stores are unaligned. Masks (cnn_v4m) are all-ones / all-zeros lanes from comparisons and
 * feed the selects; comparisons follow IEEE (anything compared with NaN is false), so NaN handling is explicit.
 * Multiply and add stay separate on purpose: fused multiply-add would round differently from the __ref kernels. */
#ifndef CNN_SIMD_H
#define CNN_SIMD_H

#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define CNN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CNN_ALWAYS_INLINE inline
#endif

#if defined(__wasm_simd128__)
/* ---------------------------------------------------------------------------------------------------- wasm simd128 */
#include <wasm_simd128.h>
#define CNN_SIMD_BACKEND "wasm-simd128"
typedef v128_t cnn_v4f;
typedef v128_t cnn_v4i;
typedef v128_t cnn_v4m;

static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load(const float* p) { return wasm_v128_load(p); }
static CNN_ALWAYS_INLINE void cnn_v4f_store(float* p, cnn_v4f v) { wasm_v128_store(p, v); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load_splat(const float* p) { return wasm_v128_load32_splat(p); }
/* Partial loads/stores for tails: 2 or 1 floats at p; loads zero the other lanes. */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load2(const float* p) { return wasm_v128_load64_zero(p); }
static CNN_ALWAYS_INLINE void cnn_v4f_store2(float* p, cnn_v4f v) { wasm_v128_store64_lane(p, v, 0); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load1(const float* p) { return wasm_v128_load32_zero(p); }
static CNN_ALWAYS_INLINE void cnn_v4f_store1(float* p, cnn_v4f v) { wasm_v128_store32_lane(p, v, 0); }
/* Lanes 2, 3 moved down to 0, 1. */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_high_half(cnn_v4f v) { return wasm_i32x4_shuffle(v, v, 2, 3, 2, 3); }
/* [a0 a1 b0 b1] */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_combine_low(cnn_v4f a, cnn_v4f b) { return wasm_i64x2_shuffle(a, b, 0, 2); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_splat(float s) { return wasm_f32x4_splat(s); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_zero(void) { return wasm_f32x4_const_splat(0.0f); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_add(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_add(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_sub(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_sub(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_mul(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_mul(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_div(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_div(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_gt(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_gt(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_le(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_le(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_eq(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_eq(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_isnan(cnn_v4f a) { return wasm_f32x4_ne(a, a); }
/* b > a ? b : a (pseudo-max: one instruction; a NaN in a survives, one in b does not). */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_pmax(cnn_v4f a, cnn_v4f b) { return wasm_f32x4_pmax(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4m_or(cnn_v4m a, cnn_v4m b) { return wasm_v128_or(a, b); }
/* seen | bits(v - v): +0 (no bits) while every v is finite, NaN in a lane from its first infinity or NaN on (test
 * with cnn_v4f_isnan). A bitwise OR: a one-cycle chain where an add chain (3-4 cycles) showed in the GEMM. */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_note_nonfinite(cnn_v4f seen, cnn_v4f v) {
    return wasm_v128_or(seen, wasm_f32x4_sub(v, v));
}
/* a & ~b */
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4m_andnot(cnn_v4m a, cnn_v4m b) { return wasm_v128_andnot(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_select(cnn_v4m m, cnn_v4f t, cnn_v4f f) { return wasm_v128_bitselect(t, f, m); }
static CNN_ALWAYS_INLINE cnn_v4i cnn_v4i_splat(int32_t s) { return wasm_i32x4_splat(s); }
static CNN_ALWAYS_INLINE cnn_v4i cnn_v4i_add(cnn_v4i a, cnn_v4i b) { return wasm_i32x4_add(a, b); }
/* Any lane set. */
static CNN_ALWAYS_INLINE int cnn_v4m_any(cnn_v4m m) { return wasm_v128_any_true(m); }
static CNN_ALWAYS_INLINE cnn_v4i cnn_v4i_select(cnn_v4m m, cnn_v4i t, cnn_v4i f) { return wasm_v128_bitselect(t, f, m); }
static CNN_ALWAYS_INLINE void cnn_v4i_store(int32_t* p, cnn_v4i v) { wasm_v128_store(p, v); }
/* Rows r0..r3 of a 4×4 block become its columns (packing GEMM panels). */
static CNN_ALWAYS_INLINE void cnn_v4f_transpose4(cnn_v4f* r0, cnn_v4f* r1, cnn_v4f* r2, cnn_v4f* r3) {
    const v128_t t0 = wasm_i32x4_shuffle(*r0, *r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(*r0, *r1, 2, 6, 3, 7);
    const v128_t t2 = wasm_i32x4_shuffle(*r2, *r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(*r2, *r3, 2, 6, 3, 7);
    *r0 = wasm_i64x2_shuffle(t0, t2, 0, 2), *r1 = wasm_i64x2_shuffle(t0, t2, 1, 3);
    *r2 = wasm_i64x2_shuffle(t1, t3, 0, 2), *r3 = wasm_i64x2_shuffle(t1, t3, 1, 3);
}

#elif defined(__SSE2__)
/* ------------------------------------------------------------------------------------------------------------ SSE2 */
#include <emmintrin.h>
#define CNN_SIMD_BACKEND "sse2"
typedef __m128 cnn_v4f;
typedef __m128i cnn_v4i;
typedef __m128 cnn_v4m;

static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load(const float* p) { return _mm_loadu_ps(p); }
static CNN_ALWAYS_INLINE void cnn_v4f_store(float* p, cnn_v4f v) { _mm_storeu_ps(p, v); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load_splat(const float* p) { return _mm_load1_ps(p); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load2(const float* p) { return _mm_loadl_pi(_mm_setzero_ps(), (const __m64*)p); }
static CNN_ALWAYS_INLINE void cnn_v4f_store2(float* p, cnn_v4f v) { _mm_storel_pi((__m64*)p, v); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load1(const float* p) { return _mm_load_ss(p); }
static CNN_ALWAYS_INLINE void cnn_v4f_store1(float* p, cnn_v4f v) { _mm_store_ss(p, v); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_high_half(cnn_v4f v) { return _mm_movehl_ps(v, v); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_combine_low(cnn_v4f a, cnn_v4f b) { return _mm_movelh_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_splat(float s) { return _mm_set1_ps(s); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_zero(void) { return _mm_setzero_ps(); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_add(cnn_v4f a, cnn_v4f b) { return _mm_add_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_sub(cnn_v4f a, cnn_v4f b) { return _mm_sub_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_mul(cnn_v4f a, cnn_v4f b) { return _mm_mul_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_div(cnn_v4f a, cnn_v4f b) { return _mm_div_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_gt(cnn_v4f a, cnn_v4f b) { return _mm_cmpgt_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_le(cnn_v4f a, cnn_v4f b) { return _mm_cmple_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_eq(cnn_v4f a, cnn_v4f b) { return _mm_cmpeq_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4f_isnan(cnn_v4f a) { return _mm_cmpunord_ps(a, a); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_pmax(cnn_v4f a, cnn_v4f b) { return _mm_max_ps(b, a); }
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4m_or(cnn_v4m a, cnn_v4m b) { return _mm_or_ps(a, b); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_note_nonfinite(cnn_v4f seen, cnn_v4f v) {
    return _mm_or_ps(seen, _mm_sub_ps(v, v));
}
/* a & ~b (note _mm_andnot_ps negates its first operand) */
static CNN_ALWAYS_INLINE cnn_v4m cnn_v4m_andnot(cnn_v4m a, cnn_v4m b) { return _mm_andnot_ps(b, a); }
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_select(cnn_v4m m, cnn_v4f t, cnn_v4f f) {
    return _mm_or_ps(_mm_and_ps(m, t), _mm_andnot_ps(m, f));
}
static CNN_ALWAYS_INLINE cnn_v4i cnn_v4i_splat(int32_t s) { return _mm_set1_epi32(s); }
static CNN_ALWAYS_INLINE cnn_v4i cnn_v4i_add(cnn_v4i a, cnn_v4i b) { return _mm_add_epi32(a, b); }
static CNN_ALWAYS_INLINE int cnn_v4m_any(cnn_v4m m) { return _mm_movemask_ps(m) != 0; }
static CNN_ALWAYS_INLINE cnn_v4i cnn_v4i_select(cnn_v4m m, cnn_v4i t, cnn_v4i f) {
    const __m128i mi = _mm_castps_si128(m);
    return _mm_or_si128(_mm_and_si128(mi, t), _mm_andnot_si128(mi, f));
}
static CNN_ALWAYS_INLINE void cnn_v4i_store(int32_t* p, cnn_v4i v) { _mm_storeu_si128((__m128i*)p, v); }
static CNN_ALWAYS_INLINE void cnn_v4f_transpose4(cnn_v4f* r0, cnn_v4f* r1, cnn_v4f* r2, cnn_v4f* r3) {
    _MM_TRANSPOSE4_PS(*r0, *r1, *r2, *r3);
}

#else
/* ------------------------------------------------------------------------------------- portable fallback (scalar) */
#define CNN_SIMD_BACKEND "scalar"
typedef struct { float f[4]; } cnn_v4f;
typedef struct { int32_t i[4]; } cnn_v4i;
typedef struct { int m[4]; } cnn_v4m; /* 0 or 1 per lane */

static inline cnn_v4f cnn_v4f_load(const float* p) { cnn_v4f v; for (int l = 0; l < 4; l++) v.f[l] = p[l]; return v; }
static inline void cnn_v4f_store(float* p, cnn_v4f v) { for (int l = 0; l < 4; l++) p[l] = v.f[l]; }
static inline cnn_v4f cnn_v4f_splat(float s) { cnn_v4f v; for (int l = 0; l < 4; l++) v.f[l] = s; return v; }
static inline cnn_v4f cnn_v4f_load_splat(const float* p) { return cnn_v4f_splat(*p); }
static inline cnn_v4f cnn_v4f_load2(const float* p) { cnn_v4f v = {{p[0], p[1], 0.0f, 0.0f}}; return v; }
static inline void cnn_v4f_store2(float* p, cnn_v4f v) { p[0] = v.f[0], p[1] = v.f[1]; }
static inline cnn_v4f cnn_v4f_load1(const float* p) { cnn_v4f v = {{p[0], 0.0f, 0.0f, 0.0f}}; return v; }
static inline void cnn_v4f_store1(float* p, cnn_v4f v) { p[0] = v.f[0]; }
static inline cnn_v4f cnn_v4f_high_half(cnn_v4f v) { cnn_v4f h = {{v.f[2], v.f[3], v.f[2], v.f[3]}}; return h; }
static inline cnn_v4f cnn_v4f_combine_low(cnn_v4f a, cnn_v4f b) { cnn_v4f c = {{a.f[0], a.f[1], b.f[0], b.f[1]}}; return c; }
static inline cnn_v4f cnn_v4f_zero(void) { return cnn_v4f_splat(0.0f); }
static inline cnn_v4f cnn_v4f_add(cnn_v4f a, cnn_v4f b) { for (int l = 0; l < 4; l++) a.f[l] += b.f[l]; return a; }
static inline cnn_v4f cnn_v4f_sub(cnn_v4f a, cnn_v4f b) { for (int l = 0; l < 4; l++) a.f[l] -= b.f[l]; return a; }
static inline cnn_v4f cnn_v4f_mul(cnn_v4f a, cnn_v4f b) { for (int l = 0; l < 4; l++) a.f[l] *= b.f[l]; return a; }
static inline cnn_v4f cnn_v4f_div(cnn_v4f a, cnn_v4f b) { for (int l = 0; l < 4; l++) a.f[l] /= b.f[l]; return a; }
static inline cnn_v4m cnn_v4f_gt(cnn_v4f a, cnn_v4f b) { cnn_v4m m; for (int l = 0; l < 4; l++) m.m[l] = a.f[l] > b.f[l]; return m; }
static inline cnn_v4m cnn_v4f_le(cnn_v4f a, cnn_v4f b) { cnn_v4m m; for (int l = 0; l < 4; l++) m.m[l] = a.f[l] <= b.f[l]; return m; }
static inline cnn_v4m cnn_v4f_eq(cnn_v4f a, cnn_v4f b) { cnn_v4m m; for (int l = 0; l < 4; l++) m.m[l] = a.f[l] == b.f[l]; return m; }
static inline cnn_v4m cnn_v4f_isnan(cnn_v4f a) { cnn_v4m m; for (int l = 0; l < 4; l++) m.m[l] = a.f[l] != a.f[l]; return m; }
static inline cnn_v4f cnn_v4f_pmax(cnn_v4f a, cnn_v4f b) { for (int l = 0; l < 4; l++) if (b.f[l] > a.f[l]) a.f[l] = b.f[l]; return a; }
static inline cnn_v4m cnn_v4m_or(cnn_v4m a, cnn_v4m b) { for (int l = 0; l < 4; l++) a.m[l] = a.m[l] | b.m[l]; return a; }
static inline cnn_v4f cnn_v4f_note_nonfinite(cnn_v4f seen, cnn_v4f v) { return cnn_v4f_add(seen, cnn_v4f_sub(v, v)); }
static inline cnn_v4m cnn_v4m_andnot(cnn_v4m a, cnn_v4m b) { for (int l = 0; l < 4; l++) a.m[l] = a.m[l] & !b.m[l]; return a; }
static inline cnn_v4f cnn_v4f_select(cnn_v4m m, cnn_v4f t, cnn_v4f f) { for (int l = 0; l < 4; l++) if (m.m[l]) f.f[l] = t.f[l]; return f; }
static inline cnn_v4i cnn_v4i_splat(int32_t s) { cnn_v4i v; for (int l = 0; l < 4; l++) v.i[l] = s; return v; }
static inline cnn_v4i cnn_v4i_add(cnn_v4i a, cnn_v4i b) { for (int l = 0; l < 4; l++) a.i[l] += b.i[l]; return a; }
static inline int cnn_v4m_any(cnn_v4m m) { return m.m[0] | m.m[1] | m.m[2] | m.m[3]; }
static inline cnn_v4i cnn_v4i_select(cnn_v4m m, cnn_v4i t, cnn_v4i f) { for (int l = 0; l < 4; l++) if (m.m[l]) f.i[l] = t.i[l]; return f; }
static inline void cnn_v4i_store(int32_t* p, cnn_v4i v) { for (int l = 0; l < 4; l++) p[l] = v.i[l]; }
static inline void cnn_v4f_transpose4(cnn_v4f* r0, cnn_v4f* r1, cnn_v4f* r2, cnn_v4f* r3) {
    cnn_v4f* r[4] = {r0, r1, r2, r3};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) {
            const float t = r[i]->f[j];
            r[i]->f[j] = r[j]->f[i], r[j]->f[i] = t;
        }
}
#endif

/* acc + a·b as a separate multiply and add (see the header comment). */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_muladd(cnn_v4f acc, cnn_v4f a, cnn_v4f b) {
    return cnn_v4f_add(acc, cnn_v4f_mul(a, b));
}

/* The first n (1..4) floats at p, zeros in the other lanes; reads nothing past p[n-1] (a row's ragged end). */
static CNN_ALWAYS_INLINE cnn_v4f cnn_v4f_load_part(const float* p, int n) {
    switch (n) {
    case 1: return cnn_v4f_load1(p);
    case 2: return cnn_v4f_load2(p);
    case 3: return cnn_v4f_combine_low(cnn_v4f_load2(p), cnn_v4f_load1(p + 2));
    default: return cnn_v4f_load(p);
    }
}

/* p[0:n] = v[0:n] for n in 1..4; writes nothing past p[n-1]. */
static CNN_ALWAYS_INLINE void cnn_v4f_store_part(float* p, cnn_v4f v, int n) {
    if (n == 4) {
        cnn_v4f_store(p, v);
        return;
    }
    if (n & 2) {
        cnn_v4f_store2(p, v);
        p += 2;
        v = cnn_v4f_high_half(v);
    }
    if (n & 1) cnn_v4f_store1(p, v);
}

#endif
