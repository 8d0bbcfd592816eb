// Resizing: bilinear for images (tfjs's resizeBilinear, align_corners false, half-pixel centres) and nearest
// neighbour for class maps. Sizes are always given as height, then width.
import { CnnError } from '../core/errors.js';
import { Tensor, wrap, describe } from '../core/tensor.js';
import { checkSize } from './pixels.js';


/** Bilinear weights along one axis with half-pixel centres (tfjs halfPixelCenters, PyTorch align_corners=False). */
function axisTaps(inSize, outSize) {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const s = Math.max(0, (o + 0.5) * scale - 0.5);
    const l = Math.min(Math.floor(s), inSize - 1);
    lo[o] = l;
    hi[o] = Math.min(l + 1, inSize - 1);
    frac[o] = s - l;
  }
  return { lo, hi, frac };
}

/**
 * Resamples `channels` channels of an interleaved image (src: any typed array, `stride` values per pixel) to
 * outH x outW with bilinear interpolation; out is a Float32Array of outH * outW * channels; values are multiplied
 * by `scale`.
 */
export function resampleBilinear(src, inH, inW, stride, channels, outH, outW, out, scale = 1) {
  const ys = axisTaps(inH, outH);
  const xs = axisTaps(inW, outW);
  let k = 0;
  for (let y = 0; y < outH; y++) {
    const row0 = ys.lo[y] * inW;
    const row1 = ys.hi[y] * inW;
    const fy = ys.frac[y];
    for (let x = 0; x < outW; x++) {
      const fx = xs.frac[x];
      const a = (row0 + xs.lo[x]) * stride;
      const b = (row0 + xs.hi[x]) * stride;
      const c = (row1 + xs.lo[x]) * stride;
      const d = (row1 + xs.hi[x]) * stride;
      for (let ch = 0; ch < channels; ch++) {
        const top = src[a + ch] + (src[b + ch] - src[a + ch]) * fx;
        const bottom = src[c + ch] + (src[d + ch] - src[c + ch]) * fx;
        out[k++] = (top + (bottom - top) * fy) * scale;
      }
    }
  }
  return out;
}

export function parseSize(size, what) {
  const pair = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(pair) || pair.length !== 2 || pair.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new CnnError(`${what}: size must be [height, width] (positive integers) or one integer, got ${JSON.stringify(size)}`);
  }
  return pair;
}

/**
 * cnn.browser.resizeBilinear(images, [newHeight, newWidth]) for float32 [h, w, c] or [n, h, w, c] tensors: tfjs's
 * tf.image.resizeBilinear(images, size, alignCorners = false, halfPixelCenters = true). Returns a new float32 tensor.
 */
export function resizeBilinear(images, size) {
  if (!(images instanceof Tensor)) throw new CnnError(`resizeBilinear: expected a Tensor, got ${describe(images)}`);
  if (images.rank !== 3 && images.rank !== 4) throw new CnnError(`resizeBilinear: expected a [h, w, c] or [n, h, w, c] tensor, got [${images.shape}]`);
  const [outH, outW] = parseSize(size, 'resizeBilinear');
  const shape = images.rank === 3 ? [1, ...images.shape] : images.shape;
  const [n, h, w, c] = shape;
  checkSize(w, h, 'resizeBilinear');
  const values = images.values();
  const out = new Float32Array(n * outH * outW * c);
  for (let i = 0; i < n; i++) {
    resampleBilinear(values.subarray(i * h * w * c, (i + 1) * h * w * c), h, w, c, c, outH, outW,
      out.subarray(i * outH * outW * c, (i + 1) * outH * outW * c));
  }
  return wrap(out, images.rank === 3 ? [outH, outW, c] : [n, outH, outW, c]);
}

/** Nearest-neighbour source index per output index, half-pixel centres: floor((o + 0.5) * in / out). */
export function nearestTaps(inSize, outSize) {
  const idx = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) idx[o] = Math.min(inSize - 1, Math.floor(((o + 0.5) * inSize) / outSize));
  return idx;
}

/** Class map `classes` (inH x inW, row-major) resized to outH x outW by nearest neighbour. */
export function resizeNearest(classes, inH, inW, outH, outW) {
  if (inW === outW && inH === outH) return classes.slice();
  const xs = nearestTaps(inW, outW);
  const ys = nearestTaps(inH, outH);
  const out = new Uint8Array(outW * outH);
  for (let y = 0, k = 0; y < outH; y++) {
    const row = ys[y] * inW;
    for (let x = 0; x < outW; x++) out[k++] = classes[row + xs[x]];
  }
  return out;
}
