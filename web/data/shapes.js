// cnn.data.shapes: circles, rectangles (axis-aligned and rotated) and triangles on textured backgrounds; 4 classes.
// See data/index.js for the conventions every generator follows (layout, seeds, determinism across engines).
import { CnnError } from '../core/errors.js';
import { Rng } from '../core/random.js';
import { imageSeed, checkKnown, intOption, numberOption, seedOption, checkTotal, MAX_ELEMENTS, addNoise, clip } from './common.js';

export const SHAPE_CLASSES = Object.freeze(['background', 'circle', 'rectangle', 'triangle']);

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
