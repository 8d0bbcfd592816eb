// cnn.browser: pixels in and out, resizing, masks and overlays (the names follow tfjs's tf.browser).
import { fromPixels, toPixels } from './pixels.js';
import { resizeBilinear } from './resize.js';
import { maskToImageData, overlay } from './masks.js';
import { defaultPalette } from './palette.js';

export const browser = Object.freeze({ fromPixels, toPixels, resizeBilinear, maskToImageData, overlay, defaultPalette });
