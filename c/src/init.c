/* Weight initialisers with tfjs's definitions (fans of a conv kernel [kh, kw, in, out]: fan_in = kh·kw·in,
 * fan_out = kh·kw·out). The "normal" variants draw from a normal truncated at two standard deviations, as tfjs's
 * VarianceScaling does (without a variance correction, also as tfjs). */
#include <math.h>

#include "internal.h"

static void fill_uniform(cnn_rng* rng, float limit, float* data, int size) {
    for (int i = 0; i < size; i++) data[i] = (2.0f * cnn_rng_uniform(rng) - 1.0f) * limit;
}

static void fill_truncated_normal(cnn_rng* rng, double stddev, float* data, int size) {
    for (int i = 0; i < size; i++) {
        double z;
        do z = cnn_rng_normal(rng);
        while (z < -2.0 || z > 2.0);
        data[i] = (float)(z * stddev);
    }
}

int cnn_init_is_valid(int init) { return init >= CNN_INIT_ZEROS && init <= CNN_INIT_HE_UNIFORM; }

void cnn_init_fill(cnn_rng* rng, int init, int fan_in, int fan_out, float* data, int size) {
    double fan_avg = 0.5 * ((double)fan_in + (double)fan_out);
    switch (init) {
    case CNN_INIT_ONES:
        for (int i = 0; i < size; i++) data[i] = 1.0f;
        break;
    case CNN_INIT_GLOROT_UNIFORM:
        fill_uniform(rng, (float)sqrt(3.0 / fan_avg), data, size);
        break;
    case CNN_INIT_GLOROT_NORMAL:
        fill_truncated_normal(rng, sqrt(1.0 / fan_avg), data, size);
        break;
    case CNN_INIT_HE_NORMAL:
        fill_truncated_normal(rng, sqrt(2.0 / fan_in), data, size);
        break;
    case CNN_INIT_HE_UNIFORM:
        fill_uniform(rng, (float)sqrt(6.0 / fan_in), data, size);
        break;
    default:
        for (int i = 0; i < size; i++) data[i] = 0.0f;
        break;
    }
}
