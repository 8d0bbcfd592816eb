/* The wasm SIMD multiply-add ceiling of this machine, measured in the bench's own run (tests/bench/perf.js):
 * 12 independent f32x4 chains of acc = acc·a + b. The multiply is on each chain's dependency path, so nothing can be
 * hoisted; a and b come from volatile globals (constants were folded away by emcc); the accumulators are named
 * locals (an array of them spills in V8 and reads ~30 GFLOP/s instead of ~45-50). Built by build.sh into
 * build/bench/ceiling.wasm (no imports); each call of ceiling_run does iters × 96 flops. */
#include <wasm_simd128.h>

static volatile float g_a = 0.999f, g_b = 1e-3f;

__attribute__((export_name("ceiling_run"))) float ceiling_run(int iters) {
    const v128_t a = wasm_f32x4_splat(g_a), b = wasm_f32x4_splat(g_b);
    v128_t c0 = b, c1 = b, c2 = b, c3 = b, c4 = b, c5 = b, c6 = b, c7 = b, c8 = b, c9 = b, c10 = b, c11 = b;
    for (int i = 0; i < iters; i++) {
        c0 = wasm_f32x4_add(wasm_f32x4_mul(c0, a), b);
        c1 = wasm_f32x4_add(wasm_f32x4_mul(c1, a), b);
        c2 = wasm_f32x4_add(wasm_f32x4_mul(c2, a), b);
        c3 = wasm_f32x4_add(wasm_f32x4_mul(c3, a), b);
        c4 = wasm_f32x4_add(wasm_f32x4_mul(c4, a), b);
        c5 = wasm_f32x4_add(wasm_f32x4_mul(c5, a), b);
        c6 = wasm_f32x4_add(wasm_f32x4_mul(c6, a), b);
        c7 = wasm_f32x4_add(wasm_f32x4_mul(c7, a), b);
        c8 = wasm_f32x4_add(wasm_f32x4_mul(c8, a), b);
        c9 = wasm_f32x4_add(wasm_f32x4_mul(c9, a), b);
        c10 = wasm_f32x4_add(wasm_f32x4_mul(c10, a), b);
        c11 = wasm_f32x4_add(wasm_f32x4_mul(c11, a), b);
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(c0, c1), wasm_f32x4_add(c2, c3)),
                              wasm_f32x4_add(wasm_f32x4_add(c4, c5), wasm_f32x4_add(c6, c7)));
    s = wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_add(c8, c9), wasm_f32x4_add(c10, c11)));
    return wasm_f32x4_extract_lane(s, 0);
}
