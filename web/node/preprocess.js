// How the command line turns an image into a model input: values divided by 255 (models trained on [0, 1] inputs,
// as model.segment assumes), one channel = luminance (so a colour photo fed to a grey model is not just its red
// channel), 3 = RGB, 4 = RGBA; resized bilinearly (cnn.browser.resizeBilinear, tfjs's rule) when its size differs.
import { tensor, browser, CnnError } from '../index.js';

/** ITU-R BT.601 luma, the weights of most grey conversions (PIL's "L" mode among them). */
export function luminance(r, g, b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

/** A copy of an RGBA image with r = g = b = its luminance (alpha kept). */
export function toGrey({ width, height, data }) {
  const out = new Uint8ClampedArray(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const y = luminance(data[i], data[i + 1], data[i + 2]);
    out[i] = out[i + 1] = out[i + 2] = y;
    out[i + 3] = data[i + 3];
  }
  return { width, height, data: out };
}

/**
 * An RGBA image as a model input [h, w, c] of values in [0, 1]: { values: Float32Array, resized } where resized
 * says whether the image had to be scaled to [h, w].
 */
export function imageToInput(image, [h, w, c]) {
  if (![1, 3, 4].includes(c)) throw new CnnError(`imageToInput: the model's input has ${c} channels; images give 1 (grey), 3 (RGB) or 4 (RGBA)`);
  const { width, height, data } = image;
  const pixels = new Float32Array(width * height * c);
  for (let p = 0, i = 0; p < width * height; p++, i += 4) {
    if (c === 1) pixels[p] = luminance(data[i], data[i + 1], data[i + 2]);
    else for (let k = 0; k < c; k++) pixels[p * c + k] = data[i + k];
  }
  let values = pixels;
  const resized = width !== w || height !== h;
  if (resized) {
    const src = tensor(pixels, [height, width, c]);
    const out = browser.resizeBilinear(src, [h, w]);
    values = out.dataSync();
    src.dispose();
    out.dispose();
  }
  for (let i = 0; i < values.length; i++) values[i] /= 255;
  return { values, resized };
}
