/**
 * Browser test of cnn.browser and model.segment in headless Chromium (see /work/shared/BROWSER.md), on the page
 * tests/browser/pages/canvas.html. Main thread: fromPixels from a canvas, ImageData, an <img> (data URL) and an
 * ImageBitmap; toPixels onto a canvas; segment of a drawn scene and its overlay on a canvas, checked pixel by pixel.
 * Module Web Worker: cnn.ready(), fromPixels(OffscreenCanvas / ImageBitmap), segment and overlay on the
 * OffscreenCanvas, the result transferred back as an ImageBitmap and checked. No console errors.
 *
 *   node --test tests/browser/canvas.test.js      (needs `bash build.sh` first)
 * Screenshot: build/screenshots/canvas.png
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowserPage } from './browser.js';

// The scene's probe points (tests/browser/pages/canvas-worker.js): expected class, pixel, and pixel after the overlay
// (alpha 0.5 over the default palette: class 1 (128,0,0), 2 (0,128,0), 3 (128,128,0), class 0 transparent).
const PROBES = [
  { name: 'red rectangle', cls: 1, rgb: [255, 0, 0], overlay: [192, 0, 0, 255] },
  { name: 'green disc', cls: 2, rgb: [0, 255, 0], overlay: [0, 192, 0, 255] },
  { name: 'blue bar', cls: 3, rgb: [0, 0, 255], overlay: [64, 64, 128, 255] },
  { name: 'background (top right)', cls: 0, rgb: [255, 255, 255], overlay: [255, 255, 255, 255] },
  { name: 'background (bottom left)', cls: 0, rgb: [255, 255, 255], overlay: [255, 255, 255, 255] },
];
const classesOf = PROBES.map((p) => p.cls);

let page;
const session = useBrowserPage({
  viewport: { width: 1100, height: 520 },
  screenshot: 'canvas.png',
  workers: true,
  setup: async (s) => {
    page = s.page;
    await page.goto(`${s.server.url}tests/browser/pages/canvas.html`);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', await page.textContent('#log'));
  },
});
const { problems } = session; // console errors and page errors (the worker's included), checked by every test

const run = (name) => page.evaluate((n) => window.__tests[n](), name);

test('fromPixels reads a canvas and its ImageData: float32 0..255, 1/3/4 channels', async () => {
  const r = await run('fromPixelsCanvas');
  assert.deepEqual(r.shapes, [[90, 120, 3], [90, 120, 4], [90, 120, 1]]);
  assert.equal(r.dtype, 'float32');
  r.probes.forEach((p, i) => {
    assert.deepEqual(p.rgb, PROBES[i].rgb, PROBES[i].name);
    assert.equal(p.alpha, 255);
    assert.equal(p.red, PROBES[i].rgb[0]);
  });
  assert.equal(r.imageDataEqual, true);
  assert.deepEqual(problems, []);
});

test('fromPixels reads an <img> from a data URL and an ImageBitmap exactly; an unloaded <img> is refused', async () => {
  const r = await run('fromPixelsImage');
  assert.deepEqual(r.shape, [2, 3, 4]);
  assert.deepEqual(r.values, r.expected);
  assert.deepEqual(r.bitmapValues, r.expected);
  assert.match(r.notLoadedError, /fromPixels: the image is not loaded or could not be decoded .*await img.decode\(\)/);
  assert.deepEqual(problems, []);
});

test('toPixels draws a float tensor on a canvas (resized to the tensor) and returns the same RGBA bytes', async () => {
  const r = await run('toPixelsCanvas');
  assert.deepEqual([r.width, r.height], [3, 2]);
  assert.deepEqual(r.bytes, [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 51, 102, 153, 255, 255, 255, 255, 255, 0, 0, 0, 255]);
  assert.deepEqual(r.drawn, r.bytes);
  assert.deepEqual(problems, []);
});

test('segment + maskToImageData + overlay on the main thread', async () => {
  const r = await run('segmentAndOverlay');
  console.log(`# main thread: segment of a 120x90 canvas through a 32x32 model in ${r.timeMs.toFixed(1)} ms`);
  assert.deepEqual([r.width, r.height, r.numClasses], [120, 90, 4]);
  assert.equal(r.isUint8Array, true);
  assert.equal(r.leaked, 0);
  assert.deepEqual(r.probes, classesOf);
  assert.equal(r.sameFromImg, true, 'an <img> of the same scene gives the same classes');
  const counts = [0, 0, 0, 0];
  for (const c of r.classes) counts[c]++;
  // Areas: red 40x30 = 1200, green disc pi 20^2 ~ 1257, blue 70x22 = 1540 (± the 32x32 model's coarse edges).
  for (const [cls, area] of [[1, 1200], [2, 1257], [3, 1540]]) {
    assert.ok(Math.abs(counts[cls] - area) < 0.2 * area, `class ${cls}: ${counts[cls]} pixels, expected about ${area}`);
  }
  assert.equal(r.maskIsImageData, true);
  assert.deepEqual(r.maskProbes, [[128, 0, 0, 255], [0, 128, 0, 255], [128, 128, 0, 255], [0, 0, 0, 0], [0, 0, 0, 0]]);
  assert.equal(r.returnedCanvas, true);
  r.overlayProbes.forEach((px, i) => assert.deepEqual(px, PROBES[i].overlay, PROBES[i].name));
  assert.deepEqual(problems, []);
});

test('in a module Web Worker: cnn.ready, fromPixels(OffscreenCanvas), segment, overlay, transfer back', async () => {
  const main = await run('segmentAndOverlay');
  const r = await run('worker');
  console.log(`# worker: cnn.ready() ${r.readyMs.toFixed(1)} ms, segment ${r.segment.timeMs.toFixed(1)} ms`);
  assert.deepEqual(r.context, { isWorker: true, hasOffscreenCanvas: true });
  assert.deepEqual(r.fromPixels.shape, [90, 120, 3]);
  assert.deepEqual(r.fromPixels.bitmapShape, [90, 120, 4]);
  assert.equal(r.fromPixels.bitmapAlpha, 255);
  assert.deepEqual(r.fromPixels.probes, PROBES.map((p) => p.rgb));
  assert.deepEqual([r.segment.width, r.segment.height, r.segment.numClasses], [120, 90, 4]);
  assert.deepEqual(r.segment.probes, classesOf);
  assert.equal(r.leakedTensors, 0);
  assert.deepEqual(r.classes, main.classes, 'the worker and the main thread give the same class map');
  assert.equal(r.maskIsImageData, true);
  r.overlayProbes.forEach((px, i) => assert.deepEqual(px, PROBES[i].overlay, `worker overlay: ${PROBES[i].name}`));
  r.transferredBack.forEach((px, i) => assert.deepEqual(px, PROBES[i].overlay, `transferred back: ${PROBES[i].name}`));
  assert.deepEqual(problems, []);
});
