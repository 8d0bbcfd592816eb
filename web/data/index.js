// Seeded synthetic segmentation data sets (cnn.data.*), for users, tests and demos: no segmentation data set can be
// downloaded in every setting this library runs in, so it generates its own. Pure JS (no DOM, no Node API): works in
// Node, on the browser's main thread and in Web Workers.
//
//   shapes(...)       circles, rectangles (axis-aligned and rotated) and triangles on textured backgrounds; 4 classes.
//   mnistScenes(...)  several real MNIST digits (passed in by the caller) scattered on a canvas; 11 classes.
//   palette(n)        n distinct RGBA colours to show masks (the library's one palette, image/palette.js);
//                     SHAPE_CLASSES the class names of shapes().
//
// Layout is NHWC float32 in [0, 1] for images and one int32 class per pixel for masks, as sparseCategoricalCrossentropy
// wants. Every image is generated from its own random stream, derived from (seed, generator, image index): the same
// seed gives bit-identical output, and the first k images of a call with count n > k equal those of a call with
// count k. Only +, −, ×, ÷, sqrt and comparisons are used on floats (no Math.sin/exp/...), so the output is the same
// in every JavaScript engine.
import { shapes, SHAPE_CLASSES } from './shapes.js';
import { mnistScenes } from './mnist-scenes.js';
import { palette } from '../image/palette.js';

export const data = Object.freeze({ shapes, mnistScenes, palette, SHAPE_CLASSES });
