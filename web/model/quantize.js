// Tensor encodings of model files: float32 as is, float16 (IEEE half, round to nearest even) and uint8 (per-tensor
// affine: value = min + scale * q, q in 0..255), as tfjs offers for its weight files. Records are padded to 4 bytes.

export const ENCODINGS = new Map([['float32', 0], ['float16', 1], ['uint8', 2]]);

/** Bytes a tensor of n values takes in `encoding`, padding included. */
export function encodedBytes(encoding, n) {
  if (encoding === 'float16') return (2 * n + 3) & ~3;
  if (encoding === 'uint8') return 8 + ((n + 3) & ~3);
  return 4 * n;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, rounding to nearest even; overflow to ±Infinity (weights never get there). */
export function toHalf(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) { // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++; // may carry into the exponent: still correct
  return sign | half;
}

/** IEEE half bits → float32 value. */
export function fromHalf(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Writes `values` in `encoding` at byte `at` of `view`; returns the offset after the (padded) record. */
export function encode(encoding, values, view, at) {
  const n = values.length;
  if (encoding === 'float32') {
    for (let i = 0; i < n; i++, at += 4) view.setFloat32(at, values[i], true);
    return at;
  }
  if (encoding === 'float16') {
    for (let i = 0; i < n; i++) view.setUint16(at + 2 * i, toHalf(values[i]), true);
    return at + encodedBytes(encoding, n);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) { if (values[i] < min) min = values[i]; if (values[i] > max) max = values[i]; }
  if (n === 0) min = max = 0;
  const scale = max > min ? (max - min) / 255 : 0;
  view.setFloat32(at, min, true);
  view.setFloat32(at + 4, scale, true);
  for (let i = 0; i < n; i++) view.setUint8(at + 8 + i, scale ? Math.round((values[i] - min) / scale) : 0);
  return at + encodedBytes(encoding, n);
}

/** Reads a record written by encode into `out` (Float32Array); returns the offset after it. */
export function decode(encoding, view, at, out) {
  const n = out.length;
  if (encoding === 'float32') {
    for (let i = 0; i < n; i++, at += 4) out[i] = view.getFloat32(at, true);
    return at;
  }
  if (encoding === 'float16') {
    for (let i = 0; i < n; i++) out[i] = fromHalf(view.getUint16(at + 2 * i, true));
    return at + encodedBytes(encoding, n);
  }
  const min = view.getFloat32(at, true);
  const scale = view.getFloat32(at + 4, true);
  for (let i = 0; i < n; i++) out[i] = min + scale * view.getUint8(at + 8 + i);
  return at + encodedBytes(encoding, n);
}
