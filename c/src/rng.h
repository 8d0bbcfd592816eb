/* A small seeded generator (PCG32: O'Neill 2014, the XSH-RR output on a 64-bit LCG). The same seed gives the same
 * stream natively and in every wasm runtime, which makes initialisation and dropout reproducible. */
#ifndef CNN_RNG_H
#define CNN_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct cnn_rng { uint64_t state, inc; } cnn_rng;

static inline uint32_t cnn_rng_u32(cnn_rng* r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

static inline void cnn_rng_seed(cnn_rng* r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    cnn_rng_u32(r);
    r->state += seed;
    cnn_rng_u32(r);
}

/* Uniform in [0, 1) with 24 random bits, so every value is exactly representable as a float. */
static inline float cnn_rng_uniform(cnn_rng* r) { return (float)(cnn_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

/* Standard normal by Box-Muller in double (one value per call: simple and deterministic). */
static inline double cnn_rng_normal(cnn_rng* r) {
    double u1 = ((double)(cnn_rng_u32(r) >> 5) + 1.0) * (1.0 / 134217729.0); /* (0, 1]: log never sees 0 */
    double u2 = (double)cnn_rng_u32(r) * (1.0 / 4294967296.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
