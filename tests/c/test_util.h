/* The native tests' shared harness: pass/fail counting (expect: quiet unless a check fails; report: a PASS/FAIL line
 * per check), the two small RNGs the tests draw from, fill and allocation helpers, and the closing summary line.
 * Each test file is one translation unit that includes this once, so the state below is per test. Everything is
 * static inline: a helper a file does not use costs nothing and does not warn. Each file seeds the RNG it uses at
 * the start of main (lcg_seed / xorshift_seed), so its draws do not depend on another file's. */
#ifndef CNN_TEST_UTIL_H
#define CNN_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"

static int g_passed, g_failed;

static inline void count_check(int ok) {
    if (ok) g_passed++; else g_failed++;
}

/* A check through the public API: silent when it holds, else a FAIL line with the engine's last error. */
static inline void expect(int ok, const char* what) {
    count_check(ok);
    if (!ok) printf("FAIL: %s (last error: %s)\n", what, cnn_last_error());
}

/* A check that prints "PASS ..." or "FAIL ..." either way (printf-style description). */
static inline void report(int ok, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    count_check(ok);
}

/* Prints "N passed, M failed"; returns main's exit status. */
static inline int test_summary(void) {
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}

/* ---- linear congruential generator (the model-level tests) --------------------------------------------------- */

/* Tests may read the state itself (e.g. to draw an index or a label from the last step). */
static unsigned g_lcg_state = 1u;

static inline void lcg_seed(unsigned seed) { g_lcg_state = seed; }

static inline float frand(void) { /* uniform in [-1, 1) */
    g_lcg_state = g_lcg_state * 1664525u + 1013904223u;
    return (float)((g_lcg_state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* n values of frand. */
static inline void fill_frand(float* p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = frand();
}

/* ---- xorshift64 (the kernel tests) ----------------------------------------------------------------------------- */

static uint64_t g_xorshift_state = 0x9E3779B97F4A7C15ull;

static inline void xorshift_seed(uint64_t seed) { g_xorshift_state = seed ? seed : 1u; /* 0 would stay 0 */ }

static inline uint32_t rand_u32(void) {
    g_xorshift_state ^= g_xorshift_state << 13, g_xorshift_state ^= g_xorshift_state >> 7,
        g_xorshift_state ^= g_xorshift_state << 17;
    return (uint32_t)(g_xorshift_state >> 16);
}

static inline float rand_unit(void) { return (float)(rand_u32() & 0xFFFFFF) / 8388608.0f - 1.0f; } /* [-1, 1) */

static inline void fill_random(float* p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = rand_unit();
}

static inline void fill_nan(float* p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = NAN;
}

/* ---- memory and comparisons --------------------------------------------------------------------------------------- */

/* malloc that exits the test on failure (exact extents, so ASan / valgrind see any overrun; 0 bytes allocates 1). */
static inline void* xmalloc(size_t bytes) {
    void* p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* xmalloc of n floats filled by fill_random. */
static inline float* random_floats(size_t n) {
    float* p = xmalloc(n * sizeof(float));
    fill_random(p, n);
    return p;
}

/* xmalloc of n floats holding a copy of src (the same start for several kernels under test). */
static inline float* copy_floats(const float* src, size_t n) {
    float* p = xmalloc(n * sizeof(float));
    memcpy(p, src, n * sizeof(float));
    return p;
}

/* Bitwise equality that treats any two NaNs as equal. */
static inline int same_float(float a, float b) {
    if (a != a || b != b) return a != a && b != b;
    return memcmp(&a, &b, sizeof a) == 0;
}

#endif
