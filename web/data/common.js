// What the scene generators share: per-image seeds, the checks of their options (messages start with data.<name>)
// and pixel noise.
import { CnnError } from '../core/errors.js';
import { checkOptions, show } from '../core/options.js';
import { mix32 } from '../core/random.js';

const SQRT6 = Math.sqrt(6);
export const MAX_ELEMENTS = 2 ** 30; // per output array: 4 GiB of float32 is more than any JS engine will allocate

/** The seed of image `index` of generator `stream` (safe-integer `seed`, negative allowed). */
export function imageSeed(seed, stream, index) {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return mix32(mix32(lo ^ mix32(hi + stream)) ^ mix32(index + 0x9e3779b9));
}

export function checkKnown(what, options, known) { return checkOptions(options, known, `data.${what}`); }

export function intOption(what, key, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CnnError(`data.${what}: ${key} must be an integer in ${min}..${max}, got ${show(value)}`);
  }
  return value;
}

export function numberOption(what, key, value, min, max) {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new CnnError(`data.${what}: ${key} must be a number in [${min}, ${max}], got ${show(value)}`);
  }
  return value;
}

export function seedOption(what, value) {
  if (!Number.isSafeInteger(value)) throw new CnnError(`data.${what}: seed must be an integer, got ${show(value)}`);
  return value;
}

export function checkTotal(what, count, size, channels) {
  if (count * size * size * channels > MAX_ELEMENTS) {
    throw new CnnError(`data.${what}: count × size × size × channels = ${count * size * size * channels} values is ` +
      `too many for one Float32Array (at most ${MAX_ELEMENTS}); generate in smaller parts (same seed, the images ` +
      `do not depend on count)`);
  }
}


/**
 * Adds triangular noise of standard deviation `noise` to every value and clips to [0, 1]. Each 32-bit draw of a
 * mulberry32 stream seeded from `rng` gives two values (sums of two random bytes, 511 levels).
 */
export function addNoise(rng, img, noise) {
  const a = (noise * SQRT6) / 255;
  let state = rng.u32();
  const n = img.length;
  for (let p = 0; p < n; p += 2) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t ^= t >>> 14;
    const v0 = img[p] + a * ((t & 255) + ((t >>> 8) & 255) - 255);
    img[p] = v0 < 0 ? 0 : v0 > 1 ? 1 : v0;
    if (p + 1 < n) {
      const v1 = img[p + 1] + a * (((t >>> 16) & 255) + (t >>> 24) - 255);
      img[p + 1] = v1 < 0 ? 0 : v1 > 1 ? 1 : v1;
    }
  }
}

export function clip(img) {
  for (let p = 0; p < img.length; p++) { const v = img[p]; img[p] = v < 0 ? 0 : v > 1 ? 1 : v; }
}

