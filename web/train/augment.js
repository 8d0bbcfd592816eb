// Training-time augmentation for fit({ augment }): each sample of a batch is flipped and/or rotated by a multiple of
// 90° as it is copied into the engine, with the same transform applied to per-pixel labels (segmentation masks), so
// a small data set covers its symmetries. Seeded by fit's seed; predict and evaluate never augment.
import { CnnError } from '../core/errors.js';

/** fit's `augment` option → { flips, rotations } or null. */
export function parseAugment(value, inputShape) {
  if (value === undefined || value === null || value === false) return null;
  if (typeof value !== 'object') throw new CnnError(`fit: augment must be an object like { flips: true, rotations: true }, got ${JSON.stringify(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'flips' && key !== 'rotations') throw new CnnError(`fit: unknown augment option '${key}'; known options: flips, rotations`);
  }
  if (inputShape.length !== 3) throw new CnnError(`fit: augment needs image inputs [h, w, c], the model takes [${inputShape}]`);
  const flips = !!value.flips;
  const rotations = !!value.rotations;
  if (rotations && inputShape[0] !== inputShape[1]) {
    throw new CnnError(`fit: augment.rotations needs square images, the model takes ${inputShape[0]}x${inputShape[1]}`);
  }
  return flips || rotations ? { flips, rotations } : null;
}

/**
 * A random element of the symmetry group the options allow: [transpose, flipRows, flipCols]. Rotations by 90° are
 * a transpose plus one flip, so flips and rotations together give all 8 symmetries of a square.
 */
export function drawTransform(options, random) {
  const r = Math.floor(random() * 8);
  let transpose = (r & 4) !== 0;
  let flipRows = (r & 2) !== 0;
  let flipCols = (r & 1) !== 0;
  if (!options.rotations) transpose = false;
  if (!options.flips && options.rotations) {
    // rotations only: 0°, 90°, 180°, 270° = identity, transpose+flipCols, flipRows+flipCols, transpose+flipRows
    const k = r & 3;
    [transpose, flipRows, flipCols] = [[false, false, false], [true, false, true], [false, true, true], [true, true, false]][k];
  }
  return [transpose, flipRows, flipCols];
}

/** Copies one h×w×c image (or mask, c = 1) from src[srcOffset…] to dst[dstOffset…] through the transform. */
export function copyTransformed(src, srcOffset, dst, dstOffset, h, w, c, [transpose, flipRows, flipCols]) {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sy = transpose ? x : y;
      let sx = transpose ? y : x;
      if (flipRows) sy = h - 1 - sy;
      if (flipCols) sx = w - 1 - sx;
      const from = srcOffset + (sy * w + sx) * c;
      const to = dstOffset + (y * w + x) * c;
      for (let k = 0; k < c; k++) dst[to + k] = src[from + k];
    }
  }
}
