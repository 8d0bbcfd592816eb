// Class maps to colours: masks as ImageData, and overlays of a mask on an image.
import { CnnError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { Tensor, describe } from '../core/tensor.js';
import { isTypeOf, isBytes, checkSize, makeImage, readPixels, get2d } from './pixels.js';
import { DEFAULT_PALETTE } from './palette.js';
import { nearestTaps } from './resize.js';


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

