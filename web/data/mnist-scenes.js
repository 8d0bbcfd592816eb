// cnn.data.mnistScenes: several real MNIST digits (passed in by the caller) scattered on a canvas; 11 classes.
// See data/index.js for the conventions every generator follows.
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';
import { Rng } from '../core/random.js';
import { imageSeed, checkKnown, intOption, numberOption, seedOption, checkTotal, MAX_ELEMENTS, addNoise } from './common.js';

const DIGIT_CLASSES = Object.freeze(['background', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
/** mnistScenes: a pixel is labelled with a digit when that digit's resampled intensity exceeds this. */
const DIGIT_THRESHOLD = 0.3;
const MNIST_SIDE = 28;
const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

const MNIST_OPTIONS = ['digits', 'count', 'size', 'seed', 'minDigits', 'maxDigits', 'channels', 'scale', 'noise'];
const MAX_INK_OVERLAP = 0.03; // a new digit's strokes may touch earlier digits' on at most 3% of its labelled pixels
const HALO = 0.05;            // strokes: intensity above this (the faint rim of the digit included)

function checkDigits(what, digits) {
  if (digits === undefined) {
    throw new CnnError(`data.${what}: digits is required: { images: Float32Array(n × 784) in [0, 1], labels, count } ` +
      'as returned by loadMnist / splitMnist of recipes/mnist.js in the repository');
  }
  if (digits === null || typeof digits !== 'object') {
    throw new CnnError(`data.${what}: digits must be an object { images, labels, count }, got ${show(digits)}`);
  }
  const { images, labels } = digits;
  const isArrayLike = (a) => ArrayBuffer.isView(a) || Array.isArray(a);
  if (!isArrayLike(labels)) throw new CnnError(`data.${what}: digits.labels must be an array of digit classes 0..9`);
  const count = digits.count ?? labels.length;
  if (!Number.isInteger(count) || count < 1) {
    throw new CnnError(`data.${what}: digits.count must be a positive integer, got ${show(digits.count)}`);
  }
  if (labels.length < count) {
    throw new CnnError(`data.${what}: digits.labels has ${labels.length} entries, fewer than digits.count (${count})`);
  }
  if (!isArrayLike(images) || images.length !== count * MNIST_PIXELS) {
    throw new CnnError(`data.${what}: digits.images must hold count × 784 values (28 × 28 greyscale digits), got ` +
      `${isArrayLike(images) ? images.length : show(images)} for count ${count}`);
  }
  for (let i = 0; i < count; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l > 9) {
      throw new CnnError(`data.${what}: digits.labels[${i}] must be a digit class 0..9, got ${show(l)}`);
    }
  }
  let max = 0;
  for (let i = 0; i < images.length; i++) { const v = images[i]; if (!(v >= 0)) max = NaN; else if (v > max) max = v; }
  if (!(max <= 1)) {
    throw new CnnError(`data.${what}: digits.images must be in [0, 1] (divide bytes by 255), found ${max}`);
  }
  return { images, labels, count };
}

/** Bilinear resampling of a 28 × 28 digit to T × T (pixel centres aligned, zero outside). */
function resampleDigit(src, offset, T, out) {
  const f = MNIST_SIDE / T;
  for (let y = 0; y < T; y++) {
    const sy = (y + 0.5) * f - 0.5;
    const y0 = Math.floor(sy);
    const ty = sy - y0;
    for (let x = 0; x < T; x++) {
      const sx = (x + 0.5) * f - 0.5;
      const x0 = Math.floor(sx);
      const tx = sx - x0;
      const at = (yy, xx) => (yy < 0 || yy >= MNIST_SIDE || xx < 0 || xx >= MNIST_SIDE ? 0 : src[offset + yy * MNIST_SIDE + xx]);
      out[y * T + x] = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1)) +
        ty * ((1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1));
    }
  }
}

/**
 * Scenes of several real MNIST digits on a dark canvas, for segmentation: each pixel is labelled 0 (background) or
 * 1 + the class of the digit covering it (numClasses 11, classNames ['background', '0', ..., '9']).
 *
 * Each scene holds minDigits..maxDigits digits drawn at random from `digits`, each resampled (bilinear) to a random
 * scale in `scale` (× 28 px) and placed fully inside the canvas at a random position where its strokes (intensity
 * > 0.05) overlap earlier digits' strokes on at most 3% as many pixels as it labels (few placements fail; a digit
 * that fits nowhere is left out, unless it is needed to reach minDigits). The canvas takes the maximum of the digits' intensities; then per-pixel noise of standard
 * deviation `noise` is added and values clipped to [0, 1]. Labels: a pixel belongs to a digit when the digit's
 * resampled intensity exceeds `threshold` = 0.3 (where two digits both do, the brighter one wins); the noise does not
 * change labels. channels 3 replicates the grey value.
 *
 * @param {{ digits: { images: Float32Array, labels: Int32Array, count: number }, count: number, size?: number,
 *   seed?: number, minDigits?: number, maxDigits?: number, channels?: 1 | 3, scale?: [number, number], noise?: number }} options
 * @returns {{ images: Float32Array, masks: Int32Array, count: number, height: number, width: number, channels: number,
 *   numClasses: 11, classNames: string[], threshold: number,
 *   objects: Array<Array<{ label: number, index: number, x: number, y: number, size: number, pixels: number }>> }}
 *   `objects[i]` lists the digits of scene i: `index` into `digits`, top-left (x, y) and side `size` of its resampled
 *   box, `pixels` how many mask pixels carry its label.
 */
export function mnistScenes(options) {
  const what = 'mnistScenes';
  const o = checkKnown(what, options, MNIST_OPTIONS);
  const digits = checkDigits(what, o.digits);
  if (o.count === undefined) throw new CnnError(`data.${what}: count (the number of scenes) is required`);
  const count = intOption(what, 'count', o.count, 1, MAX_ELEMENTS);
  const scale = o.scale ?? [0.8, 1.4];
  if (!Array.isArray(scale) || scale.length !== 2 || scale.some((v) => typeof v !== 'number' || !(v >= 0.25 && v <= 16)) ||
      scale[0] > scale[1]) {
    throw new CnnError(`data.${what}: scale must be [min, max] with 0.25 <= min <= max <= 16 (digit size / 28 px), ` +
      `got ${show(scale)}`);
  }
  const maxSide = Math.round(MNIST_SIDE * scale[1]);
  const size = o.size ?? 64;
  if (!Number.isInteger(size) || size < maxSide || size > 4096) {
    throw new CnnError(`data.${what}: size must be an integer in ${maxSide}..4096 (at least the largest digit, ` +
      `28 × scale[1] px), got ${show(size)}`);
  }
  const seed = seedOption(what, o.seed ?? 1);
  const maxDigits = intOption(what, 'maxDigits', o.maxDigits ?? 3, 1, 64);
  const minDigits = intOption(what, 'minDigits', o.minDigits ?? Math.min(1, maxDigits), 0, 64);
  if (minDigits > maxDigits) {
    throw new CnnError(`data.${what}: minDigits (${minDigits}) must not exceed maxDigits (${maxDigits})`);
  }
  const channels = o.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new CnnError(`data.${what}: channels must be 1 or 3, got ${show(channels)}`);
  const noise = numberOption(what, 'noise', o.noise ?? 0.05, 0, 1);
  checkTotal(what, count, size, channels);

  const pixels = size * size;
  const images = new Float32Array(count * pixels * channels);
  const masks = new Int32Array(count * pixels);
  const objects = new Array(count);
  const canvas = new Float64Array(pixels);
  const digit = new Float64Array(maxSide * maxSide);
  for (let i = 0; i < count; i++) {
    const rng = new Rng(imageSeed(seed, 2, i));
    const mask = masks.subarray(i * pixels, (i + 1) * pixels);
    canvas.fill(0);
    const placed = [];
    const boxes = []; // stroke bounding boxes [x0, y0, x1, y1] (inclusive) in canvas coordinates
    const n = rng.int(minDigits, maxDigits);
    for (let k = 0; k < n; k++) {
      const index = rng.int(0, digits.count - 1);
      const label = digits.labels[index];
      const T = Math.max(1, Math.round(MNIST_SIDE * rng.range(scale[0], scale[1])));
      resampleDigit(digits.images, index * MNIST_PIXELS, T, digit);
      let ix0 = T; let iy0 = T; let ix1 = -1; let iy1 = -1; let ink = 0; // box of the strokes, labelled pixels
      for (let y = 0; y < T; y++) {
        for (let x = 0; x < T; x++) {
          const v = digit[y * T + x];
          if (v > DIGIT_THRESHOLD) ink++;
          if (v > HALO) {
            if (x < ix0) ix0 = x; if (x > ix1) ix1 = x; if (y < iy0) iy0 = y; if (y > iy1) iy1 = y;
          }
        }
      }
      let best = null;
      for (let attempt = 0; attempt < 40; attempt++) {
        const x = rng.int(0, size - T);
        const y = rng.int(0, size - T);
        let overlap = 0;
        for (const [bx0, by0, bx1, by1] of boxes) {
          // Only where the stroke boxes intersect can strokes collide.
          const ox0 = Math.max(bx0, x + ix0); const ox1 = Math.min(bx1, x + ix1);
          const oy0 = Math.max(by0, y + iy0); const oy1 = Math.min(by1, y + iy1);
          for (let yy = oy0; yy <= oy1; yy++) {
            for (let xx = ox0; xx <= ox1; xx++) {
              if (canvas[yy * size + xx] > HALO && digit[(yy - y) * T + (xx - x)] > HALO) overlap++;
            }
          }
        }
        if (!best || overlap < best.overlap) best = { x, y, overlap };
        if (overlap <= MAX_INK_OVERLAP * ink) break;
      }
      if (best.overlap > MAX_INK_OVERLAP * ink && placed.length >= minDigits) continue;
      const { x, y } = best;
      for (let yy = 0; yy < T; yy++) {
        for (let xx = 0; xx < T; xx++) {
          const v = digit[yy * T + xx];
          const p = (y + yy) * size + x + xx;
          if (v > canvas[p]) {
            canvas[p] = v;
            if (v > DIGIT_THRESHOLD) mask[p] = 1 + label;
          }
        }
      }
      if (ix1 >= 0) boxes.push([x + ix0, y + iy0, x + ix1, y + iy1]);
      placed.push({ label, index, x, y, size: T, pixels: 0 });
    }
    // Count the labelled pixels each digit kept (the brighter digit wins where two overlap).
    for (const obj of placed) {
      let kept = 0;
      for (let yy = obj.y; yy < obj.y + obj.size; yy++) {
        for (let xx = obj.x; xx < obj.x + obj.size; xx++) if (mask[yy * size + xx] === 1 + obj.label) kept++;
      }
      obj.pixels = kept; // boxes of same-label digits may overlap; the count then includes the other digit's pixels
    }
    objects[i] = placed;
    const base = i * pixels * channels;
    if (noise > 0) addNoise(rng, canvas, noise); // digits are in [0, 1] already: no clipping needed without noise
    if (channels === 1) images.set(canvas, base);
    else for (let p = 0; p < pixels; p++) { const v = canvas[p]; const q = base + p * 3; images[q] = v; images[q + 1] = v; images[q + 2] = v; }
  }
  return {
    images, masks, count, height: size, width: size, channels,
    numClasses: DIGIT_CLASSES.length, classNames: [...DIGIT_CLASSES], threshold: DIGIT_THRESHOLD, objects,
  };
}

