// Images in and out: cnn.browser.fromPixels / toPixels as in tfjs, a bilinear resize, class-map colouring and
// overlays, and model.segment(image), which runs a per-pixel model on an image of any size. Everything works on the
// main thread, in a (module) Web Worker with OffscreenCanvas, and in Node on plain { width, height, data } objects
// (RGBA bytes, the layout of ImageData). Pixels are read with getImageData and all arithmetic happens in JS, so the
// results are the same in every environment.
import { CnnError } from './engine.js';
import { Tensor, wrap, describe } from './tensor.js';

const hasType = (name) => typeof globalThis[name] === 'function';
const isTypeOf = (value, name) => hasType(name) && value instanceof globalThis[name];
const isBytes = (a) => a instanceof Uint8ClampedArray || a instanceof Uint8Array;
const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

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

function checkSize(width, height, what) {
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

function makeImage(data, width, height) {
  return hasType('ImageData') ? new ImageData(data, width, height) : { width, height, data };
}

function get2d(canvas, what) {
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

// ---- resizing -------------------------------------------------------------------------------------------------

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
function resampleBilinear(src, inH, inW, stride, channels, outH, outW, out, scale = 1) {
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

function parseSize(size, what) {
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
function nearestTaps(inSize, outSize) {
  const idx = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) idx[o] = Math.min(inSize - 1, Math.floor(((o + 0.5) * inSize) / outSize));
  return idx;
}

function resizeNearest(classes, inW, inH, outW, outH) {
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

// ---- masks, palettes, overlays --------------------------------------------------------------------------------

/** The Pascal VOC colour map (the usual segmentation colours); class 0 (background) is transparent. */
function vocPalette(count = 256) {
  const palette = new Uint8ClampedArray(count * 4);
  for (let i = 0; i < count; i++) {
    let [r, g, b] = [0, 0, 0];
    for (let c = i, bit = 7; c > 0 && bit >= 0; c >>= 3, bit--) {
      r |= (c & 1) << bit;
      g |= ((c >> 1) & 1) << bit;
      b |= ((c >> 2) & 1) << bit;
    }
    palette.set([r, g, b, i === 0 ? 0 : 255], i * 4);
  }
  return palette;
}

const DEFAULT_PALETTE = vocPalette();

/** cnn.browser.defaultPalette() → a copy of the default palette (256 RGBA colours, class 0 transparent). */
export function defaultPalette() { return DEFAULT_PALETTE.slice(); }

function parsePalette(palette, what) {
  if (palette === undefined || palette === null) return DEFAULT_PALETTE;
  if (Array.isArray(palette) && palette.length && palette.every((c) => Array.isArray(c) || ArrayBuffer.isView(c))) {
    const out = new Uint8ClampedArray(palette.length * 4);
    palette.forEach((c, i) => {
      if (c.length !== 3 && c.length !== 4) throw new CnnError(`${what}: palette colour ${i} must be [r, g, b] or [r, g, b, a], got ${JSON.stringify(Array.from(c))}`);
      checkBytes(c, `${what}: palette colour ${i}`);
      out.set([c[0], c[1], c[2], c.length === 4 ? c[3] : 255], i * 4);
    });
    return out;
  }
  if ((ArrayBuffer.isView(palette) && !(palette instanceof DataView)) || Array.isArray(palette)) {
    if (palette.length === 0 || palette.length % 4 !== 0) {
      throw new CnnError(`${what}: a flat palette holds RGBA bytes per class (a multiple of 4 values), got ${palette.length} values`);
    }
    checkBytes(palette, `${what}: palette`);
    return Uint8ClampedArray.from(palette);
  }
  throw new CnnError(`${what}: palette must be RGBA bytes per class (Uint8Array or array) or an array of [r, g, b(, a)], got ${describe(palette)}`);
}

function checkBytes(values, what) {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new CnnError(`${what}: value ${i} is ${v}; colours are integers 0..255`);
  }
}

/** A mask as { width, height, classes } from segment()'s result or a [h, w] / [h, w, 1] tensor of class ids. */
function parseMask(mask, what) {
  if (mask instanceof Tensor) {
    if (!(mask.rank === 2 || (mask.rank === 3 && mask.shape[2] === 1))) {
      throw new CnnError(`${what}: a mask tensor must have shape [h, w] (or [h, w, 1]) of class ids, got [${mask.shape}]`);
    }
    const [height, width] = mask.shape;
    checkSize(width, height, what);
    return { width, height, classes: mask.values() };
  }
  if (mask && typeof mask === 'object' && 'classes' in mask) {
    const { width, height, classes } = mask;
    checkSize(width, height, what);
    if (!(ArrayBuffer.isView(classes) || Array.isArray(classes)) || classes.length !== width * height) {
      throw new CnnError(`${what}: mask.classes must hold width * height = ${width * height} class ids, got ${describe(classes)}`);
    }
    return { width, height, classes };
  }
  throw new CnnError(`${what}: mask must be segment()'s { width, height, classes } or a [h, w] Tensor of class ids, got ${describe(mask)}`);
}

function checkClass(c, i, width, paletteSize, what) {
  if (Number.isInteger(c) && c >= 0 && c < paletteSize) return;
  const where = `pixel (${i % width}, ${Math.floor(i / width)})`;
  if (!Number.isInteger(c) || c < 0) throw new CnnError(`${what}: class ids must be non-negative integers, got ${c} at ${where}`);
  throw new CnnError(`${what}: class ${c} at ${where} has no palette colour (the palette has ${paletteSize})`);
}

/**
 * cnn.browser.maskToImageData(mask, palette?) → ImageData (a plain { width, height, data } where ImageData does not
 * exist) with each pixel coloured by its class; the default palette is the Pascal VOC one with class 0 transparent.
 */
export function maskToImageData(mask, palette) {
  const { width, height, classes } = parseMask(mask, 'maskToImageData');
  const colours = parsePalette(palette, 'maskToImageData');
  const n = colours.length / 4;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const c = classes[i];
    checkClass(c, i, width, n, 'maskToImageData');
    data[i * 4] = colours[c * 4];
    data[i * 4 + 1] = colours[c * 4 + 1];
    data[i * 4 + 2] = colours[c * 4 + 2];
    data[i * 4 + 3] = colours[c * 4 + 3];
  }
  return makeImage(data, width, height);
}

/**
 * Blends the mask's colours over RGBA bytes in place ("source-over" with opacity alpha x palette alpha); the mask is
 * scaled to width x height with nearest neighbour (half-pixel centres).
 */
function blend(data, width, height, mask, colours, alpha, what) {
  const n = colours.length / 4;
  const xs = nearestTaps(mask.width, width);
  const ys = nearestTaps(mask.height, height);
  for (let y = 0; y < height; y++) {
    const row = ys[y] * mask.width;
    for (let x = 0; x < width; x++) {
      const m = row + xs[x];
      const c = mask.classes[m];
      checkClass(c, m, mask.width, n, what);
      const w = alpha * colours[c * 4 + 3] / 255;
      if (w === 0) continue;
      const j = (y * width + x) * 4;
      const baseAlpha = data[j + 3] / 255;
      const outAlpha = w + baseAlpha * (1 - w);
      const keep = baseAlpha * (1 - w);
      for (let k = 0; k < 3; k++) data[j + k] = Math.round((colours[c * 4 + k] * w + data[j + k] * keep) / outAlpha);
      data[j + 3] = Math.round(outAlpha * 255);
    }
  }
}

/**
 * cnn.browser.overlay(target, mask, { alpha = 0.5, palette }): draws the mask, scaled to the target with nearest
 * neighbour, over a canvas or OffscreenCanvas (in place; returns it), or over ImageData / a plain { width, height,
 * data } image (returns a new blended image of the same kind and leaves the input unchanged).
 */
export function overlay(target, mask, options = {}) {
  const what = 'overlay';
  checkOptions(options, ['alpha', 'palette'], what);
  const alpha = options.alpha ?? 0.5;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new CnnError(`${what}: alpha must be a number in [0, 1], got ${alpha}`);
  const m = parseMask(mask, what);
  const colours = parsePalette(options.palette, what);
  if (target && typeof target.getContext === 'function') {
    const { width, height } = target;
    checkSize(width, height, what);
    const ctx = get2d(target, what);
    const image = ctx.getImageData(0, 0, width, height);
    blend(image.data, width, height, m, colours, alpha, what);
    ctx.putImageData(image, 0, 0);
    return target;
  }
  const { width, height, data } = readPixels(target, what);
  const copy = new Uint8ClampedArray(data);
  blend(copy, width, height, m, colours, alpha, what);
  return isTypeOf(target, 'ImageData') ? new ImageData(copy, width, height) : { width, height, data: copy };
}

function checkOptions(options, allowed, what) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CnnError(`${what}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new CnnError(`${what}: unknown option '${key}'; known options: ${allowed.join(', ')}`);
  }
}

// ---- segmentation ---------------------------------------------------------------------------------------------

const defaultNormalize = (v) => v / 255;

/**
 * model.segment(image, { size, normalize = v => v / 255, batchSize }) → { width, height, classes: Uint8Array,
 * numClasses, timeMs }: the image (anything fromPixels reads, or a [h, w, c] Tensor of 0..255 values) is resized
 * bilinearly to the model's input, normalized, run, and the per-pixel argmax is scaled back to the image's own size
 * with nearest neighbour. A single-channel output (sigmoid) is thresholded at 0.5 into classes 0 and 1.
 */
export function segment(model, image, options = {}) {
  const what = 'segment';
  const t0 = now();
  checkOptions(options, ['size', 'normalize', 'batchSize'], what);
  if (!model || typeof model.predict !== 'function' || !model.inputs) throw new CnnError(`${what}: expected a model with an input, got ${describe(model)}`);
  const inShape = model.inputs[0].sampleShape;
  const outShape = model.outputs[0].sampleShape;
  if (!inShape || inShape.length !== 3) throw new CnnError(`${what}: the model's input must be an image [h, w, c], got [${inShape ?? ''}]`);
  if (!outShape || outShape.length !== 3) {
    throw new CnnError(`${what}: the model must output a class map [h, w, classes] (softmax over the last axis), got [${outShape ?? ''}]`);
  }
  const [inH, inW, inC] = inShape;
  const [outH, outW, classCount] = outShape;
  if (options.size !== undefined) {
    const [h, w] = parseSize(options.size, what);
    if (h !== inH || w !== inW) {
      throw new CnnError(`${what}: size [${h}, ${w}] differs from the model's input size [${inH}, ${inW}]; the model takes a fixed size, so leave size out`);
    }
  }
  const numClasses = classCount === 1 ? 2 : classCount;
  if (numClasses > 256) throw new CnnError(`${what}: the model has ${numClasses} classes; segment() returns class ids as bytes (at most 256 classes)`);
  const normalize = options.normalize === undefined ? defaultNormalize : options.normalize;
  if (normalize !== null && typeof normalize !== 'function') {
    throw new CnnError(`${what}: normalize must be a function (value => number) or null, got ${describe(normalize)}`);
  }

  // The source image as interleaved values with `stride` values per pixel.
  let src, width, height, stride;
  if (image instanceof Tensor) {
    const shape = image.rank === 4 && image.shape[0] === 1 ? image.shape.slice(1) : image.shape;
    if (shape.length !== 3) throw new CnnError(`${what}: an image tensor must have shape [h, w, c], got [${image.shape}]`);
    [height, width, stride] = shape;
    checkSize(width, height, what);
    if (stride !== inC) throw new CnnError(`${what}: the image tensor has ${stride} channels but the model's input has ${inC}`);
    src = image.values();
  } else {
    if (![1, 3, 4].includes(inC)) {
      throw new CnnError(`${what}: the model's input has ${inC} channels; images give 1 (red), 3 (RGB) or 4 (RGBA); pass a [h, w, ${inC}] Tensor instead`);
    }
    ({ width, height, data: src } = readPixels(image, what));
    stride = 4;
  }

  const input = new Float32Array(inH * inW * inC);
  const fastScale = normalize === defaultNormalize ? 1 / 255 : 1;
  resampleBilinear(src, height, width, stride, inC, inH, inW, input, fastScale);
  if (normalize !== null && normalize !== defaultNormalize) {
    for (let i = 0; i < input.length; i++) {
      const v = normalize(input[i]);
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new CnnError(`${what}: normalize(${input[i]}) returned ${v}; expected a finite number`);
      input[i] = v;
    }
  }
  const x = wrap(input, [1, inH, inW, inC]);
  let scores;
  try {
    scores = model.predict(x, options.batchSize === undefined ? {} : { batchSize: options.batchSize });
  } finally {
    x.dispose();
  }
  const probs = scores.values();
  const small = new Uint8Array(outH * outW);
  if (classCount === 1) {
    for (let i = 0; i < small.length; i++) small[i] = probs[i] > 0.5 ? 1 : 0;
  } else {
    for (let i = 0, k = 0; i < small.length; i++, k += classCount) {
      let best = 0;
      let bestValue = probs[k];
      for (let c = 1; c < classCount; c++) {
        if (probs[k + c] > bestValue) { bestValue = probs[k + c]; best = c; }
      }
      small[i] = best;
    }
  }
  scores.dispose();
  const classes = resizeNearest(small, outW, outH, width, height);
  return { width, height, classes, numClasses, timeMs: now() - t0 };
}

export const browser = { fromPixels, toPixels, resizeBilinear, maskToImageData, overlay, defaultPalette };
