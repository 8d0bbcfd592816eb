// Seeded synthetic segmentation data sets (cnn.data.*), for users, tests and demos: no segmentation data set can be
// downloaded in every setting this library runs in, so it generates its own. Pure JS (no DOM, no Node API): works in
// Node, on the browser's main thread and in Web Workers.
//
//   shapes(...)       circles, rectangles (axis-aligned and rotated) and triangles on textured backgrounds; 4 classes.
//   mnistScenes(...)  several real MNIST digits (passed in by the caller) scattered on a canvas; 11 classes.
//   palette(n)        n distinct RGBA colours to show masks; SHAPE_CLASSES the class names of shapes().
//
// Layout is NHWC float32 in [0, 1] for images and one int32 class per pixel for masks, as sparseCategoricalCrossentropy
// wants. Every image is generated from its own random stream, derived from (seed, generator, image index): the same
// seed gives bit-identical output, and the first k images of a call with count n > k equal those of a call with
// count k. Only +, −, ×, ÷, sqrt and comparisons are used on floats (no Math.sin/exp/...), so the output is the same
// in every JavaScript engine.
import { CnnError } from './engine.js';

export const SHAPE_CLASSES = Object.freeze(['background', 'circle', 'rectangle', 'triangle']);
const DIGIT_CLASSES = Object.freeze(['background', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/** mnistScenes: a pixel is labelled with a digit when that digit's resampled intensity exceeds this. */
const DIGIT_THRESHOLD = 0.3;
const MNIST_SIDE = 28;
const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
const MAX_ELEMENTS = 2 ** 30; // per output array: 4 GiB of float32 is more than any JS engine will allocate
const SQRT6 = Math.sqrt(6);

// ---- random numbers ---------------------------------------------------------------------------------------------

function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The seed of image `index` of generator `stream` (safe-integer `seed`, negative allowed). */
function imageSeed(seed, stream, index) {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return mix32(mix32(lo ^ mix32(hi + stream)) ^ mix32(index + 0x9e3779b9));
}

/** mulberry32. */
class Rng {
  constructor(seed) { this.state = seed >>> 0; }
  u32() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next() { return this.u32() / 4294967296; }
  /** Uniform in [a, b). */
  range(a, b) { return a + (b - a) * this.next(); }
  /** Uniform integer in [a, b] (inclusive). */
  int(a, b) { return a + Math.floor(this.next() * (b - a + 1)); }
  /** A uniformly random unit vector [x, y] (rejection sampling in the unit disc). */
  direction() {
    for (;;) {
      const x = 2 * this.next() - 1;
      const y = 2 * this.next() - 1;
      const n2 = x * x + y * y;
      if (n2 > 1e-4 && n2 <= 1) { const n = Math.sqrt(n2); return [x / n, y / n]; }
    }
  }
  color() { return [this.next(), this.next(), this.next()]; }
}

// ---- option checking --------------------------------------------------------------------------------------------

function checkKnown(what, options, known) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CnnError(`data.${what}: options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new CnnError(`data.${what}: unknown option '${key}'; known options: ${known.join(', ')}`);
    }
  }
  return options;
}

function intOption(what, key, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CnnError(`data.${what}: ${key} must be an integer in ${min}..${max}, got ${show(value)}`);
  }
  return value;
}

function numberOption(what, key, value, min, max) {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new CnnError(`data.${what}: ${key} must be a number in [${min}, ${max}], got ${show(value)}`);
  }
  return value;
}

function seedOption(what, value) {
  if (!Number.isSafeInteger(value)) throw new CnnError(`data.${what}: seed must be an integer, got ${show(value)}`);
  return value;
}

function show(value) {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
}

function checkTotal(what, count, size, channels) {
  if (count * size * size * channels > MAX_ELEMENTS) {
    throw new CnnError(`data.${what}: count × size × size × channels = ${count * size * size * channels} values is ` +
      `too many for one Float32Array (at most ${MAX_ELEMENTS}); generate in smaller parts (same seed, the images ` +
      `do not depend on count)`);
  }
}

// ---- shapes -----------------------------------------------------------------------------------------------------

const SHAPE_OPTIONS = ['count', 'size', 'seed', 'minShapes', 'maxShapes', 'noise'];
const MIN_VISIBLE = 0.6;       // an earlier shape keeps at least this fraction of its pixels visible
const MIN_CONTRAST = 0.35;     // RGB distance between a shape's colour and the mean colour it covers
const COS_MIN_ANGLE = 0.9063;  // triangles: every angle at least 25°

/**
 * Images of circles, rectangles (axis-aligned or rotated) and triangles on noisy textured backgrounds, with per-pixel
 * masks: 0 background, 1 circle, 2 rectangle, 3 triangle.
 *
 * Each image: a background of a linear colour gradient, low-frequency value noise and 0–4 soft colour blobs (random
 * colours, so backgrounds can look like shapes in colour); then minShapes..maxShapes shapes of uniformly random class,
 * size, position and solid colour (drawn independently of the class; only required to differ from the mean colour
 * of what the shape covers, so it is visible); then per-pixel noise of standard deviation `noise` on every channel;
 * values clipped to [0, 1]. Shapes lie fully inside the image and may overlap: later shapes occlude earlier ones
 * (each earlier shape stays at least 60% visible). The mask is the class of the topmost shape containing each pixel
 * centre, exactly the pixels painted in the shape's colour (no anti-aliasing). Sizes scale with `size`: at 64, circles
 * are 8–36 px across, rectangle sides 8–32 px (aspect at most 3; half of them rotated by a random angle), triangles
 * (no angle under 25°) inscribed in circles of radius 9–28 px; the smallest shapes cover about 50 pixels.
 *
 * @param {{ count: number, size?: number, seed?: number, minShapes?: number, maxShapes?: number, noise?: number }} options
 * @returns {{ images: Float32Array, masks: Int32Array, count: number, height: number, width: number, channels: 3,
 *   numClasses: 4, classNames: string[], objects: Array<Array<{ classIndex: number, className: string,
 *   color: number[], pixels: number, visiblePixels: number }>> }}
 *   `objects[i]` lists the shapes of image i bottom to top: `color` the RGB fill (as stored in `images`),
 *   `pixels` its area in pixel centres, `visiblePixels` how many remain visible.
 */
export function shapes(options) {
  const what = 'shapes';
  const o = checkKnown(what, options, SHAPE_OPTIONS);
  if (o.count === undefined) throw new CnnError(`data.${what}: count (the number of images) is required`);
  const count = intOption(what, 'count', o.count, 1, MAX_ELEMENTS);
  const size = intOption(what, 'size', o.size ?? 64, 16, 4096);
  const seed = seedOption(what, o.seed ?? 1);
  const maxShapes = intOption(what, 'maxShapes', o.maxShapes ?? 4, 1, 64);
  const minShapes = intOption(what, 'minShapes', o.minShapes ?? Math.min(1, maxShapes), 0, 64);
  if (minShapes > maxShapes) {
    throw new CnnError(`data.${what}: minShapes (${minShapes}) must not exceed maxShapes (${maxShapes})`);
  }
  const noise = numberOption(what, 'noise', o.noise ?? 0.1, 0, 1);
  checkTotal(what, count, size, 3);

  const pixels = size * size;
  const images = new Float32Array(count * pixels * 3);
  const masks = new Int32Array(count * pixels);
  const objects = new Array(count);
  const ctx = {
    size, scale: size / 64,
    owner: new Int16Array(pixels),       // index of the topmost shape at each pixel, -1 background
    cand: new Int32Array(pixels),        // pixels of a candidate shape
    covered: new Int32Array(64),         // per earlier shape: its visible pixels a candidate would cover
    gx: new Int32Array(size), wx: new Float64Array(size), rowLat: new Float64Array(6 * 3),
  };
  for (let i = 0; i < count; i++) {
    const rng = new Rng(imageSeed(seed, 1, i));
    const img = images.subarray(i * pixels * 3, (i + 1) * pixels * 3);
    const mask = masks.subarray(i * pixels, (i + 1) * pixels);
    drawBackground(rng, img, ctx);
    objects[i] = drawShapes(rng, img, mask, ctx, rng.int(minShapes, maxShapes), minShapes);
    if (noise > 0) addNoise(rng, img, noise);
    else clip(img);
  }
  return {
    images, masks, count, height: size, width: size, channels: 3,
    numClasses: SHAPE_CLASSES.length, classNames: [...SHAPE_CLASSES], objects,
  };
}

const smooth = (t) => t * t * (3 - 2 * t);

function drawBackground(rng, img, ctx) {
  const { size, gx, wx, rowLat } = ctx;
  // Linear gradient between two random colours, in a random direction.
  const c0 = rng.color();
  const c1 = rng.color();
  const [dx, dy] = rng.direction();
  // Value noise: a (g+1)² lattice of random colour offsets, interpolated with smoothstep.
  const g = rng.int(2, 5);
  const g1 = g + 1;
  const amp = rng.range(0.05, 0.35);
  const lattice = new Float64Array(g1 * g1 * 3);
  for (let k = 0; k < lattice.length; k++) lattice[k] = amp * (2 * rng.next() - 1);
  for (let x = 0; x < size; x++) {
    const u = ((x + 0.5) / size) * g;
    const cell = Math.min(g - 1, Math.floor(u));
    gx[x] = cell * 3; wx[x] = smooth(u - cell);
  }
  const d0 = c1[0] - c0[0]; const d1 = c1[1] - c0[1]; const d2 = c1[2] - c0[2];
  for (let y = 0; y < size; y++) {
    // This row of the lattice, interpolated in y: g + 1 colours.
    const v = ((y + 0.5) / size) * g;
    const cy = Math.min(g - 1, Math.floor(v));
    const ty = smooth(v - cy);
    const top = cy * g1 * 3;
    for (let k = 0; k < g1 * 3; k++) rowLat[k] = lattice[top + k] + ty * (lattice[top + g1 * 3 + k] - lattice[top + k]);
    const ty0 = ((y + 0.5) / size - 0.5) * dy + 0.5;
    let p = y * size * 3;
    for (let x = 0; x < size; x++, p += 3) {
      let t = ((x + 0.5) / size - 0.5) * dx + ty0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const l = gx[x];
      const w = wx[x];
      img[p] = c0[0] + d0 * t + rowLat[l] + w * (rowLat[l + 3] - rowLat[l]);
      img[p + 1] = c0[1] + d1 * t + rowLat[l + 1] + w * (rowLat[l + 4] - rowLat[l + 1]);
      img[p + 2] = c0[2] + d2 * t + rowLat[l + 2] + w * (rowLat[l + 5] - rowLat[l + 2]);
    }
  }
  // Soft blobs: a random colour blended in with weight strength × (1 − d²/r²)², within radius r.
  const nBlobs = rng.int(0, 4);
  for (let b = 0; b < nBlobs; b++) {
    const bx = rng.range(0, size);
    const by = rng.range(0, size);
    const r = rng.range(0.1, 0.4) * size;
    const [br, bg, bb] = rng.color();
    const strength = rng.range(0.3, 0.9);
    const inv = 1 / (r * r);
    const x0 = Math.max(0, Math.floor(bx - r)); const x1 = Math.min(size - 1, Math.ceil(bx + r));
    const y0 = Math.max(0, Math.floor(by - r)); const y1 = Math.min(size - 1, Math.ceil(by + r));
    for (let y = y0; y <= y1; y++) {
      const ey = y + 0.5 - by;
      for (let x = x0; x <= x1; x++) {
        const ex = x + 0.5 - bx;
        const q = (ex * ex + ey * ey) * inv;
        if (q < 1) {
          const w = strength * (1 - q) * (1 - q);
          const p = (y * size + x) * 3;
          img[p] += (br - img[p]) * w;
          img[p + 1] += (bg - img[p + 1]) * w;
          img[p + 2] += (bb - img[p + 2]) * w;
        }
      }
    }
  }
}

/** A random shape of class `cls` (1..3): its geometry and its half-extents (for placement). */
function randomShape(rng, s, cls) {
  if (cls === 1) {
    const r = rng.range(4, 18) * s;
    return { cls, ex: r, ey: r, r2: r * r };
  }
  if (cls === 2) {
    let w, h;
    do { w = rng.range(8, 32) * s; h = rng.range(8, 32) * s; } while (Math.max(w, h) > 3 * Math.min(w, h));
    const [c, sn] = rng.next() < 0.5 ? [1, 0] : rng.direction();
    const hw = w / 2;
    const hh = h / 2;
    return { cls, hw, hh, c, s: sn, ex: Math.abs(c) * hw + Math.abs(sn) * hh, ey: Math.abs(sn) * hw + Math.abs(c) * hh };
  }
  // Triangle: three random points on a circle of random radius, kept when no angle is under 25° and it is not
  // too small.
  for (;;) {
    const R = rng.range(9, 28) * s;
    const v = [];
    for (let k = 0; k < 3; k++) { const [x, y] = rng.direction(); v.push([R * x, R * y]); }
    let ok = true;
    let longest = 0;
    for (let k = 0; k < 3 && ok; k++) {
      const a = v[k];
      const b = v[(k + 1) % 3];
      const c = v[(k + 2) % 3];
      const ux = b[0] - a[0]; const uy = b[1] - a[1];
      const wx = c[0] - a[0]; const wy = c[1] - a[1];
      const nu = Math.sqrt(ux * ux + uy * uy);
      const nw = Math.sqrt(wx * wx + wy * wy);
      if (nu === 0 || nw === 0 || (ux * wx + uy * wy) / (nu * nw) > COS_MIN_ANGLE) ok = false;
      longest = Math.max(longest, nu);
    }
    if (!ok) continue;
    let area2 = (v[1][0] - v[0][0]) * (v[2][1] - v[0][1]) - (v[1][1] - v[0][1]) * (v[2][0] - v[0][0]);
    if (area2 < 0) { [v[1], v[2]] = [v[2], v[1]]; area2 = -area2; } // counter-clockwise (y down: any fixed order)
    if (longest < 12 * s || area2 / longest < 7 * s) continue; // longest side ≥ 12 px, height on it ≥ 7 px at 64
    // Centre the bounding box on the origin.
    const minX = Math.min(v[0][0], v[1][0], v[2][0]); const maxX = Math.max(v[0][0], v[1][0], v[2][0]);
    const minY = Math.min(v[0][1], v[1][1], v[2][1]); const maxY = Math.max(v[0][1], v[1][1], v[2][1]);
    const ox = (minX + maxX) / 2;
    const oy = (minY + maxY) / 2;
    for (const p of v) { p[0] -= ox; p[1] -= oy; }
    return { cls, v, ex: (maxX - minX) / 2, ey: (maxY - minY) / 2 };
  }
}

/** Writes the pixel indices whose centres lie in `shape` centred at (cx, cy) into ctx.cand; returns how many. */
function rasterize(shape, cx, cy, ctx) {
  const { size, cand } = ctx;
  const x0 = Math.max(0, Math.floor(cx - shape.ex));
  const x1 = Math.min(size - 1, Math.ceil(cx + shape.ex));
  const y0 = Math.max(0, Math.floor(cy - shape.ey));
  const y1 = Math.min(size - 1, Math.ceil(cy + shape.ey));
  let n = 0;
  if (shape.cls === 1) {
    const { r2 } = shape;
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - cx;
        if (dx * dx + dy * dy <= r2) cand[n++] = y * size + x;
      }
    }
  } else if (shape.cls === 2) {
    const { hw, hh, c, s } = shape;
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - cx;
        const u = dx * c + dy * s;
        const v = dy * c - dx * s;
        if (u <= hw && u >= -hw && v <= hh && v >= -hh) cand[n++] = y * size + x;
      }
    }
  } else {
    const [a, b, d] = shape.v;
    const ax = a[0] + cx; const ay = a[1] + cy;
    const bx = b[0] + cx; const by = b[1] + cy;
    const dx0 = d[0] + cx; const dy0 = d[1] + cy;
    const edge = (px, py, qx, qy, x, y) => (qx - px) * (y - py) - (qy - py) * (x - px);
    for (let y = y0; y <= y1; y++) {
      const py = y + 0.5;
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5;
        if (edge(ax, ay, bx, by, px, py) >= 0 && edge(bx, by, dx0, dy0, px, py) >= 0 &&
            edge(dx0, dy0, ax, ay, px, py) >= 0) cand[n++] = y * size + x;
      }
    }
  }
  return n;
}

function drawShapes(rng, img, mask, ctx, nShapes, minShapes) {
  const { size, scale, owner, cand, covered } = ctx;
  owner.fill(-1);
  const placed = [];
  const ATTEMPTS = 30;
  for (let k = 0; k < nShapes; k++) {
    let best = null; // { shape, cx, cy, worst } — worst: the smallest visible fraction left to an earlier shape
    const cls = rng.int(1, 3); // drawn once: size and position vary between attempts, the class does not
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const shape = randomShape(rng, scale, cls);
      const cx = rng.range(shape.ex, size - shape.ex);
      const cy = rng.range(shape.ey, size - shape.ey);
      const n = rasterize(shape, cx, cy, ctx);
      if (n === 0) continue;
      covered.fill(0, 0, placed.length);
      for (let j = 0; j < n; j++) { const w = owner[cand[j]]; if (w >= 0) covered[w]++; }
      let worst = 1;
      for (let j = 0; j < placed.length; j++) {
        worst = Math.min(worst, (placed[j].visiblePixels - covered[j]) / placed[j].pixels);
      }
      if (!best || worst > best.worst) best = { shape, cx, cy, worst };
      if (worst >= MIN_VISIBLE) break;
    }
    if (!best || (best.worst < MIN_VISIBLE && placed.length >= minShapes)) continue;
    const { shape, cx, cy } = best;
    const n = rasterize(shape, cx, cy, ctx);
    // Colour: random, independent of the class, but visibly different from the mean colour underneath.
    let mr = 0; let mg = 0; let mb = 0;
    for (let j = 0; j < n; j++) { const p = cand[j] * 3; mr += img[p]; mg += img[p + 1]; mb += img[p + 2]; }
    mr /= n; mg /= n; mb /= n;
    let color = null;
    let bestDist = -1;
    for (let attempt = 0; attempt < 30 && bestDist < MIN_CONTRAST; attempt++) {
      const c = rng.color();
      const d = Math.sqrt((c[0] - mr) ** 2 + (c[1] - mg) ** 2 + (c[2] - mb) ** 2);
      if (d > bestDist) { bestDist = d; color = c; }
    }
    color = color.map((c) => Math.fround(c));
    const id = placed.length;
    for (let j = 0; j < n; j++) {
      const q = cand[j];
      const w = owner[q];
      if (w >= 0) placed[w].visiblePixels--;
      owner[q] = id;
      mask[q] = shape.cls;
      img[q * 3] = color[0]; img[q * 3 + 1] = color[1]; img[q * 3 + 2] = color[2];
    }
    placed.push({ classIndex: shape.cls, className: SHAPE_CLASSES[shape.cls], color, pixels: n, visiblePixels: n });
  }
  return placed;
}

/**
 * Adds triangular noise of standard deviation `noise` to every value and clips to [0, 1]. Each 32-bit draw of a
 * mulberry32 stream seeded from `rng` gives two values (sums of two random bytes, 511 levels).
 */
function addNoise(rng, img, noise) {
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

function clip(img) {
  for (let p = 0; p < img.length; p++) { const v = img[p]; img[p] = v < 0 ? 0 : v > 1 ? 1 : v; }
}

// ---- MNIST scenes -----------------------------------------------------------------------------------------------

const MNIST_OPTIONS = ['digits', 'count', 'size', 'seed', 'minDigits', 'maxDigits', 'channels', 'scale', 'noise'];
const MAX_INK_OVERLAP = 0.03; // a new digit's strokes may touch earlier digits' on at most 3% of its labelled pixels
const HALO = 0.05;            // strokes: intensity above this (the faint rim of the digit included)

function checkDigits(what, digits) {
  if (digits === undefined) {
    throw new CnnError(`data.${what}: digits is required: { images: Float32Array(n × 784) in [0, 1], labels, count } ` +
      'as returned by loadMnist / splitMnist of demos/mnist/data.js');
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

// ---- palette ----------------------------------------------------------------------------------------------------

// Sasha Trubetskoy's 20 distinct colours, then golden-angle hues.
const DISTINCT = [
  [230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25], [245, 130, 48], [145, 30, 180], [70, 240, 240],
  [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200],
  [128, 0, 0], [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128], [128, 128, 128],
];

/** HSV (h in [0, 1)) → RGB bytes. */
function hsv(h, s, v) {
  const h6 = h * 6;
  const i = Math.floor(h6) % 6;
  const f = h6 - Math.floor(h6);
  const p = v * (1 - s); const q = v * (1 - s * f); const t = v * (1 - s * (1 - f));
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i];
  return rgb.map((c) => Math.round(c * 255));
}

/**
 * `numClasses` distinct colours as RGBA bytes (Uint8Array(numClasses × 4)): class 0 (background) fully transparent
 * black [0, 0, 0, 0], the others opaque — 20 hand-picked maximally distinct colours, then golden-angle hues.
 * Colour a mask: `rgba[4 * p + k] = pal[4 * mask[p] + k]`.
 * @param {number} numClasses
 */
export function palette(numClasses) {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 65536) {
    throw new CnnError(`data.palette: numClasses must be an integer in 1..65536, got ${show(numClasses)}`);
  }
  const out = new Uint8Array(numClasses * 4);
  for (let c = 1; c < numClasses; c++) {
    const k = c - 1;
    const rgb = k < DISTINCT.length ? DISTINCT[k]
      : hsv((k * 0.6180339887498949) % 1, 0.55 + 0.45 * ((k * 7) % 3) / 2, 0.65 + 0.35 * ((k * 5) % 4) / 3);
    out.set(rgb, c * 4);
    out[c * 4 + 3] = 255;
  }
  return out;
}

export const data = Object.freeze({ shapes, mnistScenes, palette, SHAPE_CLASSES });
