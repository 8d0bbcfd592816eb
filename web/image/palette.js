// The one palette of class colours, for masks, overlays, the data generators and the demos: the Pascal VOC colour
// map (the usual segmentation colours; class 0, background, transparent black), then golden-angle hues past 256.
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';

function vocColour(i) {
  let r = 0; let g = 0; let b = 0;
  for (let c = i, bit = 7; c > 0 && bit >= 0; c >>= 3, bit--) {
    r |= (c & 1) << bit;
    g |= ((c >> 1) & 1) << bit;
    b |= ((c >> 2) & 1) << bit;
  }
  return [r, g, b];
}

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
 * black [0, 0, 0, 0], the others opaque. Colour a mask: `rgba[4 * p + k] = pal[4 * mask[p] + k]`.
 */
export function palette(numClasses) {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 65536) {
    throw new CnnError(`palette: numClasses must be an integer in 1..65536, got ${show(numClasses)}`);
  }
  const out = new Uint8Array(numClasses * 4);
  for (let c = 1; c < numClasses; c++) {
    const k = c - 256;
    const rgb = c < 256 ? vocColour(c)
      : hsv((k * 0.6180339887498949) % 1, 0.55 + 0.45 * ((k * 7) % 3) / 2, 0.65 + 0.35 * ((k * 5) % 4) / 3);
    out.set(rgb, c * 4);
    out[c * 4 + 3] = 255;
  }
  return out;
}

/** The palette masks use when none is given: 256 colours. */
export const DEFAULT_PALETTE = new Uint8ClampedArray(palette(256));

/** cnn.browser.defaultPalette() → a copy of the default palette (256 RGBA colours, class 0 transparent). */
export function defaultPalette() { return DEFAULT_PALETTE.slice(); }
