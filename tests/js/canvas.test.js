// cnn.browser (web/image/) in Node, on plain { width, height, data } images: fromPixels channel selection and
// values, toPixels (tfjs semantics) and the round trip, resizeBilinear against tfjs's resizeBilinear(halfPixelCenters),
// maskToImageData colours, overlay blending, and model.segment with a hand-made 1x1-convolution model whose class is
// the dominant RGB channel: class maps at the image's own size for images larger, smaller and of other aspect than the
// model's input, checked by hand and against a reference built on tfjs's resize ops; error messages.
//
//   bash build.sh && node --test tests/js/canvas.test.js
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import { mulberry32 } from './helpers.js';

const { browser } = cnn;
const L = cnn.layers;

before(async () => { await cnn.ready(); });

/** A plain RGBA image; colour(x, y) gives [r, g, b] or [r, g, b, a]. */
function image(width, height, colour) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = colour(x, y);
      data.set([r, g, b, a], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];
const BG_BIAS = 0.1;

/**
 * A per-pixel classifier [h, w, channels] -> [h, w, 4]: class 0 (background) has logit 0.1; class k = 1..3 has
 * logit channel_{k-1} minus the other two channels (inputs in [0, 1]). Pure red / green / blue give classes 1 / 2 / 3;
 * white, black and grey give 0.
 */
function rgbClassifier(size = [4, 4], { channels = 3, pool = false } = {}) {
  const layers = [L.conv2d({ inputShape: [...size, channels], filters: 4, kernelSize: 1, activation: 'softmax' })];
  if (pool) layers.push(L.maxPooling2d({ poolSize: 2 }));
  const model = cnn.sequential({ seed: 1, layers });
  const kernel = new Float32Array(channels * 4);
  for (let i = 0; i < channels; i++) {
    for (let k = 1; k < 4; k++) kernel[i * 4 + k] = i === k - 1 ? 1 : (i < 3 ? -1 : 0);
  }
  const w = [cnn.tensor(kernel, [1, 1, channels, 4]), cnn.tensor([BG_BIAS, 0, 0, 0], [4])];
  model.setWeights(w);
  w.forEach((t) => t.dispose());
  return model;
}

/** The classifier's decision for one pixel, from values in [0, 1]; null when two logits are within 1e-4. */
function classOf([r, g, b]) {
  const logits = [BG_BIAS, r - g - b, g - r - b, b - r - g];
  const order = logits.map((v, i) => [v, i]).sort((p, q) => q[0] - p[0]);
  return order[0][0] - order[1][0] < 1e-4 ? null : order[0][1];
}

const noLeaks = (fn) => {
  const before = cnn.memory().numTensors;
  const out = fn();
  assert.equal(cnn.memory().numTensors, before, 'tensors leaked');
  return out;
};

describe('fromPixels', () => {
  const img = image(3, 2, (x, y) => [10 * x + y, 100 + x, 200 + y, 50 + x + 10 * y]);

  test('numChannels 4, 3 and 1 take RGBA, RGB and red, as float32 0..255', () => {
    const t4 = browser.fromPixels(img, 4);
    assert.deepEqual(t4.shape, [2, 3, 4]);
    assert.equal(t4.dtype, 'float32');
    assert.deepEqual(Array.from(t4.dataSync()), Array.from(img.data));
    const t3 = browser.fromPixels(img); // default 3
    assert.deepEqual(t3.shape, [2, 3, 3]);
    assert.deepEqual(t3.arraySync()[1][2], [21, 102, 201]);
    const t1 = browser.fromPixels(img, 1);
    assert.deepEqual(t1.arraySync(), [[[0], [10], [20]], [[1], [11], [21]]]);
    [t4, t3, t1].forEach((t) => t.dispose());
  });

  test('accepts Uint8Array data and ImageData-like objects', () => {
    const t = browser.fromPixels({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]) }, 4);
    assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3, 4]);
    t.dispose();
  });

  test('clear errors', () => {
    const cases = [
      [() => browser.fromPixels(null), /fromPixels: expected ImageData, .* got null/],
      [() => browser.fromPixels(42), /fromPixels: expected ImageData/],
      [() => browser.fromPixels(new Map()), /fromPixels: expected .* got Map/],
      [() => browser.fromPixels(cnn.tensor([1], [1, 1, 1])), /fromPixels: got a Tensor\(float32, \[1,1,1\]\); pass an image/],
      [() => browser.fromPixels(img, 2), /numChannels must be 1, 3 or 4, got 2/],
      [() => browser.fromPixels({ width: 0, height: 5, data: new Uint8ClampedArray(0) }), /the image is empty \(0 x 5 pixels\)/],
      [() => browser.fromPixels({ width: 2, height: 2, data: new Uint8ClampedArray(12) }), /data holds 12 bytes, but a 2 x 2 RGBA image needs 16/],
      [() => browser.fromPixels({ width: 1, height: 1, data: new Float32Array(4) }), /data must be a Uint8ClampedArray or Uint8Array of RGBA bytes, got Float32Array\(4\)/],
      [() => browser.fromPixels({ width: 1.5, height: 1, data: new Uint8ClampedArray(4) }), /width and height must be non-negative integers/],
      [() => browser.fromPixels({ data: new Uint8ClampedArray(4) }), /width and height must be non-negative integers, got undefined x undefined/],
    ];
    for (const [fn, message] of cases) assert.throws(fn, (err) => err instanceof cnn.CnnError && message.test(err.message), String(message));
  });
});

describe('toPixels', () => {
  test('float32 in [0, 1] as RGB with opaque alpha; the plain-object target gets the pixels', async () => {
    const t = cnn.tensor([0, 0.5, 1, 1, 0.25, 0], [1, 2, 3]);
    const target = {};
    const bytes = await browser.toPixels(t, target);
    assert.ok(bytes instanceof Uint8ClampedArray);
    assert.deepEqual(Array.from(bytes), [0, 128, 255, 255, 255, 64, 0, 255]);
    assert.equal(target.width, 2);
    assert.equal(target.height, 1);
    assert.deepEqual(Array.from(target.data), Array.from(bytes));
    t.dispose();
  });

  test('rank 2 and depth 1 draw grey; int32 0..255 and depth 4 pass straight through', async () => {
    const grey = cnn.tensor([0, 1, 0.2, 0.8], [2, 2]);
    assert.deepEqual(Array.from(await browser.toPixels(grey)).slice(0, 8), [0, 0, 0, 255, 255, 255, 255, 255]);
    const grey1 = cnn.tensor([7, 9], [1, 2, 1], 'int32');
    assert.deepEqual(Array.from(await browser.toPixels(grey1)), [7, 7, 7, 255, 9, 9, 9, 255]);
    [grey, grey1].forEach((t) => t.dispose());
  });

  test('round trip: fromPixels(toPixels(int32 RGBA)) gives the same values', async () => {
    const r = mulberry32(3);
    const values = Int32Array.from({ length: 5 * 4 * 4 }, () => Math.floor(r() * 256));
    const t = cnn.tensor(values, [5, 4, 4], 'int32');
    const target = {};
    await browser.toPixels(t, target);
    const back = browser.fromPixels(target, 4);
    assert.deepEqual(back.shape, [5, 4, 4]);
    assert.deepEqual(Array.from(back.dataSync()), Array.from(values));
    // float32 [0, 1]: back as 0..255 within rounding.
    const f = cnn.tensor(Float32Array.from({ length: 12 }, () => r()), [2, 2, 3]);
    const fb = browser.fromPixels({ width: 2, height: 2, data: await browser.toPixels(f) });
    const a = f.dataSync(), b = fb.dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] * 255 - b[i]) <= 0.5 + 1e-6, `value ${i}`);
    [t, back, f, fb].forEach((x) => x.dispose());
  });

  test('errors follow tfjs', async () => {
    const bad = [
      [cnn.tensor([1.5], [1, 1]), /values of a float32 tensor must be in \[0, 1\], but value 0 is 1.5/],
      [cnn.tensor([0, 300, 0], [1, 1, 3], 'int32'), /values of a int32 tensor must be in \[0, 255\], but value 1 is 300/],
      [cnn.tensor([NaN], [1, 1]), /but value 0 is NaN/],
      [cnn.tensor([0, 0], [1, 1, 2]), /1, 3 or 4 channels, got 2/],
      [cnn.tensor([0], [1]), /only rank 2 or 3 tensors are supported, got rank 1/],
    ];
    for (const [t, message] of bad) {
      await assert.rejects(browser.toPixels(t), (err) => err instanceof cnn.CnnError && message.test(err.message), String(message));
      t.dispose();
    }
    await assert.rejects(browser.toPixels([1, 2]), /toPixels: expected a Tensor, got Array\(2\)/);
  });
});

describe('resizeBilinear', () => {
  test('matches tf.image.resizeBilinear(alignCorners = false, halfPixelCenters = true)', () => {
    const r = mulberry32(5);
    for (const [h, w, c, oh, ow] of [[5, 7, 3, 4, 4], [3, 2, 1, 8, 5], [6, 6, 4, 6, 6], [1, 9, 2, 3, 2], [10, 4, 3, 3, 13]]) {
      const values = Float32Array.from({ length: h * w * c }, () => r() * 255);
      const ours = browser.resizeBilinear(cnn.tensor(values, [h, w, c]), [oh, ow]);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(values, [h, w, c]), [oh, ow], false, true).dataSync());
      assert.deepEqual(ours.shape, [oh, ow, c]);
      const got = ours.dataSync();
      for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(got[i] - ref[i]) < 1e-3, `[${h},${w},${c}]->[${oh},${ow}] value ${i}: ${got[i]} vs ${ref[i]}`);
      ours.dispose();
    }
    const batch = browser.resizeBilinear(cnn.tensor(new Float32Array(2 * 2 * 2 * 1).map((_, i) => i), [2, 2, 2, 1]), 1);
    assert.deepEqual(batch.shape, [2, 1, 1, 1]);
    assert.deepEqual(Array.from(batch.dataSync()), [1.5, 5.5]);
    batch.dispose();
  });
});

describe('maskToImageData', () => {
  test('default palette: class 0 transparent, then the Pascal VOC colours', () => {
    const out = browser.maskToImageData({ width: 2, height: 2, classes: new Uint8Array([0, 1, 2, 15]) });
    assert.equal(out.width, 2);
    assert.equal(out.height, 2);
    assert.ok(out.data instanceof Uint8ClampedArray);
    assert.deepEqual(Array.from(out.data), [0, 0, 0, 0, 128, 0, 0, 255, 0, 128, 0, 255, 192, 128, 128, 255]);
    assert.deepEqual(Array.from(browser.defaultPalette().slice(12, 16)), [128, 128, 0, 255]);
  });

  test('custom palettes (arrays of colours or flat RGBA) and int32 tensor masks', () => {
    const mask = cnn.tensor([1, 0, 2, 1], [2, 2], 'int32');
    const a = browser.maskToImageData(mask, [[1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    assert.deepEqual(Array.from(a.data), [4, 5, 6, 7, 1, 2, 3, 255, 8, 9, 10, 11, 4, 5, 6, 7]);
    const b = browser.maskToImageData(mask, new Uint8Array([1, 2, 3, 255, 4, 5, 6, 7, 8, 9, 10, 11]));
    assert.deepEqual(Array.from(b.data), [4, 5, 6, 7, 1, 2, 3, 255, 8, 9, 10, 11, 4, 5, 6, 7]);
    mask.dispose();
  });

  test('errors name the pixel, the class and the palette', () => {
    const m = { width: 3, height: 1, classes: new Uint8Array([0, 1, 5]) };
    assert.throws(() => browser.maskToImageData(m, [[0, 0, 0], [1, 1, 1]]), /class 5 at pixel \(2, 0\) has no palette colour \(the palette has 2\)/);
    assert.throws(() => browser.maskToImageData(m, [1, 2, 3]), /multiple of 4 values\), got 3 values/);
    assert.throws(() => browser.maskToImageData(m, [[0, 0, 300]]), /palette colour 0: value 2 is 300/);
    assert.throws(() => browser.maskToImageData({ width: 2, height: 2, classes: new Uint8Array(3) }), /mask.classes must hold width \* height = 4 class ids/);
    assert.throws(() => browser.maskToImageData({ width: 1, height: 1, classes: [0.5] }), /class ids must be non-negative integers, got 0.5/);
    const t = cnn.tensor([0, 0, 0, 0], [1, 2, 2]);
    assert.throws(() => browser.maskToImageData(t), /shape \[h, w\] \(or \[h, w, 1\]\) of class ids, got \[1,2,2\]/);
    t.dispose();
    assert.throws(() => browser.maskToImageData('mask'), /mask must be segment\(\)'s \{ width, height, classes \} or a \[h, w\] Tensor/);
  });
});

describe('overlay', () => {
  const palette = [[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 128]];

  test('blends opaque pixels: out = colour * alpha * paletteAlpha + base * (1 - that)', () => {
    const base = image(3, 1, () => [100, 200, 50]);
    const mask = { width: 3, height: 1, classes: new Uint8Array([0, 1, 2]) };
    const out = browser.overlay(base, mask, { alpha: 0.5, palette });
    const w2 = 0.5 * 128 / 255;
    assert.deepEqual(Array.from(out.data), [
      100, 200, 50, 255, // class 0: transparent, unchanged
      Math.round(0.5 * 255 + 0.5 * 100), 100, 25, 255,
      Math.round(100 * (1 - w2)), Math.round(200 * (1 - w2)), Math.round(255 * w2 + 50 * (1 - w2)), 255,
    ]);
    assert.deepEqual(Array.from(base.data.slice(0, 4)), [100, 200, 50, 255], 'the input is left unchanged');
    assert.deepEqual(Array.from(browser.overlay(base, mask, { alpha: 0, palette }).data), Array.from(base.data));
    assert.deepEqual(Array.from(browser.overlay(base, mask, { alpha: 1, palette }).data.slice(4, 8)), [255, 0, 0, 255]);
  });

  test('source-over onto transparent and half-transparent pixels', () => {
    const base = image(2, 1, (x) => (x === 0 ? [0, 0, 0, 0] : [0, 255, 0, 128]));
    const out = browser.overlay(base, { width: 2, height: 1, classes: new Uint8Array([1, 1]) }, { alpha: 0.5, palette });
    // Transparent base: just the colour at 50 % opacity.
    assert.deepEqual(Array.from(out.data.slice(0, 4)), [255, 0, 0, 128]);
    // a = 0.5 + (128/255)(0.5); rgb = (c * 0.5 + base * (128/255) * 0.5) / a
    const ba = 128 / 255, a = 0.5 + ba * 0.5;
    assert.deepEqual(Array.from(out.data.slice(4, 8)),
      [Math.round(255 * 0.5 / a), Math.round(255 * ba * 0.5 / a), 0, Math.round(a * 255)]);
  });

  test('the mask is scaled to the image with nearest neighbour', () => {
    const base = image(4, 4, () => WHITE);
    const mask = { width: 2, height: 2, classes: new Uint8Array([1, 0, 0, 1]) };
    const out = browser.overlay(base, mask, { alpha: 1, palette: [[0, 0, 0, 0], [9, 9, 9]] });
    const grid = [];
    for (let i = 0; i < 16; i++) grid.push(out.data[i * 4] === 9 ? 1 : 0);
    assert.deepEqual(grid, [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
  });

  test('errors', () => {
    const base = image(1, 1, () => WHITE);
    const mask = { width: 1, height: 1, classes: new Uint8Array([1]) };
    assert.throws(() => browser.overlay(base, mask, { alpha: 2 }), /overlay: alpha must be a number in \[0, 1\], got 2/);
    assert.throws(() => browser.overlay(base, mask, { opacity: 1 }), /overlay: unknown option 'opacity'; known options: alpha, palette/);
    assert.throws(() => browser.overlay({ width: 1, height: 1 }, mask), /overlay: expected ImageData/);
  });
});

describe('model.segment', () => {
  test('a block image larger than the input, of another aspect ratio: exact classes per block at the image size', () => {
    const model = rgbClassifier([4, 4]);
    // 12 x 8 pixels: a 4 x 4 grid of 3 x 2 blocks. Resized to 4 x 4, each model pixel samples inside one block.
    const blockColours = [RED, GREEN, BLUE, WHITE];
    const blockClass = (bx, by) => (bx + 2 * by) % 4;
    const img = image(12, 8, (x, y) => blockColours[blockClass(Math.floor(x / 3), Math.floor(y / 2))]);
    const result = noLeaks(() => model.segment(img));
    assert.equal(result.width, 12);
    assert.equal(result.height, 8);
    assert.equal(result.numClasses, 4);
    assert.ok(result.classes instanceof Uint8Array);
    assert.equal(result.classes.length, 96);
    assert.ok(result.timeMs >= 0);
    const expected = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 12; x++) expected.push([1, 2, 3, 0][blockClass(Math.floor(x / 3), Math.floor(y / 2))]);
    assert.deepEqual(Array.from(result.classes), expected);
    model.dispose();
  });

  test('a 2 x 2 image smaller than the input: model pixels 1 and 3 (nearest back-resize) decide', () => {
    const model = rgbClassifier([4, 4]);
    const img = image(2, 2, (x, y) => [[RED, GREEN], [BLUE, WHITE]][y][x]);
    const { classes, width, height } = model.segment(img);
    assert.deepEqual([width, height], [2, 2]);
    // Model pixel (1, 1) reads 0.75/0.25 blends (9/16 of the top-left colour), so each source colour keeps its class.
    assert.deepEqual(Array.from(classes), [1, 2, 3, 0]);
    model.dispose();
  });

  test('random images of many sizes match a reference built on tfjs resize ops', () => {
    const r = mulberry32(11);
    const palette = [RED, GREEN, BLUE, WHITE, [40, 30, 20], [255, 255, 0]];
    let compared = 0, skipped = 0;
    for (const [modelSize, w, h] of [[[4, 4], 5, 7], [[4, 4], 13, 3], [[6, 5], 6, 5], [[6, 5], 17, 23], [[8, 8], 3, 2], [[5, 7], 64, 48]]) {
      const model = rgbClassifier(modelSize);
      // Blocky random images (2 x 2 blocks of palette colours) so that most pixels have clear classes.
      const blocks = Array.from({ length: Math.ceil(w / 2) * Math.ceil(h / 2) }, () => palette[Math.floor(r() * palette.length)]);
      const img = image(w, h, (x, y) => blocks[Math.floor(y / 2) * Math.ceil(w / 2) + Math.floor(x / 2)]);
      const result = model.segment(img, { size: modelSize });
      // Reference: tfjs bilinear resize to the model size, the logits' argmax in JS, tfjs nearest resize back.
      const small = tf.tidy(() => {
        const rgb = tf.tensor3d(Float32Array.from({ length: w * h * 3 }, (_, i) => img.data[Math.floor(i / 3) * 4 + (i % 3)] / 255), [h, w, 3]);
        return tf.image.resizeBilinear(rgb, modelSize, false, true).arraySync();
      });
      const map = small.map((row) => row.map((px) => classOf(px)));
      const back = tf.tidy(() => tf.image.resizeNearestNeighbor(
        tf.tensor3d(map.flat().map((c) => (c === null ? 255 : c)), [...modelSize, 1], 'int32'), [h, w], false, true).dataSync());
      for (let i = 0; i < w * h; i++) {
        if (back[i] === 255) { skipped++; continue; }
        compared++;
        assert.equal(result.classes[i], back[i], `model ${modelSize}, image ${w} x ${h}: pixel (${i % w}, ${Math.floor(i / w)})`);
      }
      model.dispose();
    }
    assert.ok(skipped < compared / 20, `${skipped} near-tie pixels skipped of ${compared + skipped}`);
  });

  test('Tensor input, normalize, 1-channel models (red), sigmoid outputs and outputs smaller than the input', () => {
    const model = rgbClassifier([4, 4]);
    const img = image(4, 4, (x) => [RED, GREEN, BLUE, WHITE][x]);
    const fromImage = model.segment(img);
    const t = browser.fromPixels(img);
    assert.deepEqual(Array.from(model.segment(t).classes), Array.from(fromImage.classes));
    // normalize: null feeds the values unchanged (0..255): white becomes 255 - 510 < 0.1 → class 0 still, red → 1.
    const scaled = cnn.tensor(t.dataSync().map((v) => v / 255), t.shape);
    assert.deepEqual(Array.from(model.segment(scaled, { normalize: null }).classes), Array.from(fromImage.classes));
    // A custom normalize that inverts the colours: red (1,0,0) → cyan (0,1,1) → background; white → black → background.
    const inverted = model.segment(img, { normalize: (v) => 1 - v / 255 });
    assert.deepEqual(Array.from(inverted.classes).slice(0, 4), [0, 0, 0, 0]);
    [t, scaled].forEach((x) => x.dispose());
    model.dispose();

    // One input channel: the red channel of the image.
    const gray = rgbClassifier([4, 4], { channels: 1 });
    const r = gray.segment(image(4, 1, (x) => [[0, 20, 40, 255][x], 255, 255]));
    assert.deepEqual(Array.from(r.classes), [0, 0, 1, 1]); // red/255 > 0.1 → class 1
    gray.dispose();

    // A single sigmoid output: thresholded at 0.5 into classes 0 / 1.
    const binary = cnn.sequential({ seed: 2, layers: [L.conv2d({ inputShape: [2, 2, 3], filters: 1, kernelSize: 1, activation: 'sigmoid' })] });
    const w = [cnn.tensor([10, -10, -10], [1, 1, 3, 1]), cnn.tensor([-1], [1])];
    binary.setWeights(w);
    const b = binary.segment(image(2, 2, (x, y) => [[RED, GREEN], [WHITE, RED]][y][x]));
    assert.equal(b.numClasses, 2);
    assert.deepEqual(Array.from(b.classes), [1, 0, 0, 1]);
    w.forEach((x) => x.dispose());
    binary.dispose();

    // The model's output is 2 x 2 (after pooling): its classes are scaled to the 8 x 8 image.
    const pooled = rgbClassifier([4, 4], { pool: true });
    const quad = image(8, 8, (x, y) => [[RED, GREEN], [BLUE, WHITE]][Math.floor(y / 4)][Math.floor(x / 4)]);
    const p = pooled.segment(quad);
    const expected = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expected.push([[1, 2], [3, 0]][Math.floor(y / 4)][Math.floor(x / 4)]);
    assert.deepEqual(Array.from(p.classes), expected);
    pooled.dispose();
  });

  test('errors name the option or the mismatch', () => {
    const model = rgbClassifier([4, 4]);
    const img = image(4, 4, () => RED);
    const cases = [
      [() => model.segment(img, { size: [8, 8] }), /segment: size \[8, 8\] differs from the model's input size \[4, 4\]; the model takes a fixed size, so leave size out/],
      [() => model.segment(img, { size: [4] }), /segment: size must be \[height, width\]/],
      [() => model.segment(img, { scale: 1 }), /segment: unknown option 'scale'; known options: size, normalize, batchSize/],
      [() => model.segment(img, { normalize: 3 }), /normalize must be a function \(value => number\) or null, got number/],
      [() => model.segment(img, { normalize: () => NaN }), /normalize\(255\) returned NaN; expected a finite number/],
      [() => model.segment({ width: 4, height: 4, data: new Uint8ClampedArray(4) }), /segment: data holds 4 bytes/],
      [() => model.segment(cnn.tensor(new Float32Array(16), [4, 4, 1])), /the image tensor has 1 channels but the model's input has 3/],
      [() => model.segment(cnn.tensor(new Float32Array(16), [16])), /an image tensor must have shape \[h, w, c\], got \[16\]/],
    ];
    for (const [fn, message] of cases) assert.throws(fn, (err) => err instanceof cnn.CnnError && message.test(err.message), String(message));
    model.dispose();

    const two = cnn.sequential({ layers: [L.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 1, activation: 'softmax' })] });
    assert.throws(() => two.segment(img), /the model's input has 2 channels; images give 1 \(red\), 3 \(RGB\) or 4 \(RGBA\); pass a \[h, w, 2\] Tensor instead/);
    two.dispose();
    const dense = cnn.sequential({ layers: [L.flatten({ inputShape: [4, 4, 3] }), L.dense({ units: 2, activation: 'softmax' })] });
    assert.throws(() => dense.segment(img), /the model must output a class map \[h, w, classes\] \(softmax over the last axis\), got \[2\]/);
    dense.dispose();
  });
});
