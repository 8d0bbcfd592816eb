// Images in and out: cnn.browser.fromPixels / toPixels as in tfjs. Everything works on the main thread, in a
// (module) Web Worker with OffscreenCanvas, and in Node on plain { width, height, data } objects (RGBA bytes, the
// layout of ImageData). Pixels are read with getImageData and all arithmetic happens in JS, so the results are the
// same in every environment.
import { CnnError } from '../core/errors.js';
import { Tensor, wrap, describe } from '../core/tensor.js';

const hasType = (name) => typeof globalThis[name] === 'function';
export const isTypeOf = (value, name) => hasType(name) && value instanceof globalThis[name];
export const isBytes = (a) => a instanceof Uint8ClampedArray || a instanceof Uint8Array;

// ---- reading pixels -------------------------------------------------------------------------------------------

let scratchContext = null; // a 2D context for decoding images, videos and bitmaps (created on first use)

function scratch2d(width, height, what) {
  if (!scratchContext) {
    let canvas;
    if (hasType('OffscreenCanvas')) canvas = new OffscreenCanvas(width, height);
    else if (typeof document !== 'undefined') canvas = document.createElement('canvas');
    else throw new CnnError(`${what}: this environment has neither OffscreenCanvas nor a document to draw the image on; pass ImageData or { width, height, data } instead`);
    scratchContext = canvas.getContext('2d', { willReadFrequently: true });
    if (!scratchContext) throw new CnnError(`${what}: could not create a 2D canvas context to read the image`);
  }
  scratchContext.canvas.width = width;
  scratchContext.canvas.height = height;
  return scratchContext;
}


export function checkSize(width, height, what) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new CnnError(`${what}: width and height must be non-negative integers, got ${width} x ${height}`);
  }
  if (width === 0 || height === 0) throw new CnnError(`${what}: the image is empty (${width} x ${height} pixels)`);
}

function drawnPixels(source, width, height, what) {
  checkSize(width, height, what);
  const ctx = scratch2d(width, height, what);
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(source, 0, 0, width, height);
  return { width, height, data: ctx.getImageData(0, 0, width, height).data };
}

const ACCEPTED = 'ImageData, a { width, height, data } object with RGBA bytes, HTMLCanvasElement, OffscreenCanvas, ' +
  'HTMLImageElement, HTMLVideoElement, ImageBitmap or VideoFrame';

/** Any supported image as { width, height, data: RGBA bytes } (no copy for ImageData and plain objects). */
export function readPixels(pixels, what = 'fromPixels') {
  if (pixels === null || pixels === undefined || typeof pixels !== 'object') {
    throw new CnnError(`${what}: expected ${ACCEPTED}, got ${describe(pixels)}`);
  }
  if (pixels instanceof Tensor) {
    throw new CnnError(`${what}: got a ${pixels}; pass an image (${ACCEPTED})`);
  }
  if ('data' in pixels && !('getContext' in pixels)) { // ImageData and plain objects
    const { width, height, data } = pixels;
    checkSize(width, height, what);
    if (!isBytes(data)) {
      throw new CnnError(`${what}: data must be a Uint8ClampedArray or Uint8Array of RGBA bytes, got ${describe(data)}`);
    }
    if (data.length !== width * height * 4) {
      throw new CnnError(`${what}: data holds ${data.length} bytes, but a ${width} x ${height} RGBA image needs ${width * height * 4}`);
    }
    return { width, height, data };
  }
  if (isTypeOf(pixels, 'HTMLVideoElement')) {
    if (pixels.readyState < 2) throw new CnnError(`${what}: the video has no frame yet (readyState ${pixels.readyState}); wait for its 'loadeddata' event`);
    return drawnPixels(pixels, pixels.videoWidth, pixels.videoHeight, what);
  }
  if (isTypeOf(pixels, 'HTMLImageElement')) {
    if (!pixels.complete || pixels.naturalWidth === 0) {
      throw new CnnError(`${what}: the image is not loaded or could not be decoded (${pixels.src ? String(pixels.src).slice(0, 80) : 'no src'}); ` +
        '`await img.decode()` before using it');
    }
    return drawnPixels(pixels, pixels.naturalWidth, pixels.naturalHeight, what);
  }
  if (isTypeOf(pixels, 'VideoFrame')) return drawnPixels(pixels, pixels.displayWidth, pixels.displayHeight, what);
  if (typeof pixels.getContext === 'function') { // HTMLCanvasElement, OffscreenCanvas
    const { width, height } = pixels;
    checkSize(width, height, what);
    let ctx = null;
    try { ctx = pixels.getContext('2d'); } catch { /* an OffscreenCanvas placeholder, etc. */ }
    // A canvas that already has a WebGL / bitmaprenderer context gives no 2D context; drawing it still works.
    if (!ctx) return drawnPixels(pixels, width, height, what);
    return { width, height, data: ctx.getImageData(0, 0, width, height).data };
  }
  if (isTypeOf(pixels, 'ImageBitmap')) {
    if (pixels.width === 0 && pixels.height === 0) throw new CnnError(`${what}: the ImageBitmap is closed or empty`);
    return drawnPixels(pixels, pixels.width, pixels.height, what);
  }
  throw new CnnError(`${what}: expected ${ACCEPTED}, got ${pixels.constructor?.name ?? describe(pixels)}`);
}

/**
 * cnn.browser.fromPixels(pixels, numChannels = 3) → float32 Tensor [height, width, numChannels] with values 0..255
 * (tfjs gives int32 with the same values). numChannels 1 keeps red, 3 RGB, 4 RGBA, as tfjs does.
 */
export function fromPixels(pixels, numChannels = 3) {
  if (![1, 3, 4].includes(numChannels)) {
    throw new CnnError(`fromPixels: numChannels must be 1, 3 or 4, got ${JSON.stringify(numChannels)}`);
  }
  const { width, height, data } = readPixels(pixels, 'fromPixels');
  const n = width * height;
  const out = new Float32Array(n * numChannels);
  if (numChannels === 4) {
    out.set(data);
  } else {
    for (let i = 0, j = 0; i < n; i++) {
      for (let c = 0; c < numChannels; c++) out[j++] = data[i * 4 + c];
    }
  }
  return wrap(out, [height, width, numChannels]);
}

// ---- writing pixels -------------------------------------------------------------------------------------------

export function makeImage(data, width, height) {
  return hasType('ImageData') ? new ImageData(data, width, height) : { width, height, data };
}

export function get2d(canvas, what) {
  let ctx = null;
  try { ctx = canvas.getContext('2d'); } catch { /* handled below */ }
  if (!ctx) throw new CnnError(`${what}: could not get a 2D context from the canvas (it has a WebGL or bitmaprenderer context, or its control was transferred to a worker)`);
  return ctx;
}

/**
 * cnn.browser.toPixels(tensor, canvas?) → Promise<Uint8ClampedArray> of RGBA bytes, as tfjs: a [h, w] or [h, w, 1]
 * tensor is drawn as grey, [h, w, 3] as RGB with alpha 255, [h, w, 4] as RGBA; float32 values must be in [0, 1],
 * int32 values in [0, 255]. When `canvas` is given (canvas or OffscreenCanvas) it is resized to the tensor and drawn
 * on; a plain object receives { width, height, data }.
 */
export async function toPixels(img, canvas) {
  if (!(img instanceof Tensor)) throw new CnnError(`toPixels: expected a Tensor, got ${describe(img)}`);
  if (img.rank !== 2 && img.rank !== 3) throw new CnnError(`toPixels: only rank 2 or 3 tensors are supported, got rank ${img.rank} [${img.shape}]`);
  const [height, width] = img.shape;
  const depth = img.rank === 2 ? 1 : img.shape[2];
  if (![1, 3, 4].includes(depth)) throw new CnnError(`toPixels: the last dimension must be 1, 3 or 4 channels, got ${depth}`);
  checkSize(width, height, 'toPixels');
  const values = img.values();
  const isFloat = img.dtype === 'float32';
  const max = isFloat ? 1 : 255;
  const multiplier = isFloat ? 255 : 1;
  const bytes = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const j = i * 4;
    bytes[j + 3] = 255;
    for (let d = 0; d < depth; d++) {
      const v = values[i * depth + d];
      if (!(v >= 0 && v <= max)) {
        throw new CnnError(`toPixels: values of a ${img.dtype} tensor must be in [0, ${max}], but value ${i * depth + d} is ${v}`);
      }
      const b = Math.round(v * multiplier);
      if (depth === 1) { bytes[j] = b; bytes[j + 1] = b; bytes[j + 2] = b; } else bytes[j + d] = b;
    }
  }
  if (canvas !== undefined && canvas !== null) {
    if (typeof canvas.getContext === 'function') {
      canvas.width = width;
      canvas.height = height;
      const ctx = get2d(canvas, 'toPixels');
      ctx.putImageData(hasType('ImageData') ? new ImageData(bytes, width, height) : imageDataFrom(ctx, bytes, width, height), 0, 0);
    } else if (typeof canvas === 'object') {
      canvas.width = width;
      canvas.height = height;
      canvas.data = bytes.slice();
    } else {
      throw new CnnError(`toPixels: canvas must be a canvas, an OffscreenCanvas or an object, got ${describe(canvas)}`);
    }
  }
  return bytes;
}

function imageDataFrom(ctx, bytes, width, height) {
  const image = ctx.createImageData(width, height);
  image.data.set(bytes);
  return image;
}

