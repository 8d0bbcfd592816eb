// Main-thread part of the cnn.browser test page (driven by tests/browser/canvas.test.js). Each window.__tests
// function exercises one thing, draws into the page and returns plain data that the test asserts on.
import * as cnn from '../../../web/index.js';
import { SCENE, PROBES, drawScene, rgbClassifier, pixelAt } from './canvas-worker.js';

const $ = (id) => document.getElementById(id);
const log = (line) => { $('log').textContent += `${line}\n`; };

/** Known opaque 3 x 2 pixels (opaque, so canvas premultiplication loses nothing). */
const SMALL = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30], [200, 100, 50], [255, 255, 255]].flatMap((c) => [...c, 255]);

async function loadImage(src) {
  const img = $('img');
  img.src = src;
  await img.decode();
  return img;
}

function sceneCanvas() {
  const canvas = $('scene');
  drawScene(canvas.getContext('2d'));
  return canvas;
}

window.__tests = {
  async fromPixelsCanvas() {
    const canvas = sceneCanvas();
    const t3 = cnn.browser.fromPixels(canvas);
    const t4 = cnn.browser.fromPixels(canvas, 4);
    const t1 = cnn.browser.fromPixels(canvas, 1);
    const v3 = t3.dataSync(), v4 = t4.dataSync(), v1 = t1.dataSync();
    const out = {
      shapes: [t3.shape, t4.shape, t1.shape], dtype: t3.dtype,
      probes: PROBES.map((p) => ({
        rgb: Array.from(v3.slice((p.y * SCENE.width + p.x) * 3, (p.y * SCENE.width + p.x) * 3 + 3)),
        alpha: v4[(p.y * SCENE.width + p.x) * 4 + 3], red: v1[p.y * SCENE.width + p.x] })),
    };
    [t3, t4, t1].forEach((t) => t.dispose());
    // ImageData straight from the canvas gives the same values.
    const fromData = cnn.browser.fromPixels(canvas.getContext('2d').getImageData(0, 0, SCENE.width, SCENE.height));
    out.imageDataEqual = fromData.dataSync().every((v, i) => v === v3[i]);
    fromData.dispose();
    return out;
  },

  async fromPixelsImage() {
    const c = document.createElement('canvas');
    c.width = 3;
    c.height = 2;
    c.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(SMALL), 3, 2), 0, 0);
    const img = await loadImage(c.toDataURL('image/png'));
    const fromImg = cnn.browser.fromPixels(img, 4);
    const bitmap = await createImageBitmap(img);
    const fromBitmap = cnn.browser.fromPixels(bitmap, 4);
    const out = { shape: fromImg.shape, values: Array.from(fromImg.dataSync()), bitmapValues: Array.from(fromBitmap.dataSync()),
      expected: SMALL };
    [fromImg, fromBitmap].forEach((t) => t.dispose());
    bitmap.close();
    // An <img> that is not loaded gives a clear error.
    try { cnn.browser.fromPixels(new Image()); } catch (err) { out.notLoadedError = err.message; }
    return out;
  },

  async toPixelsCanvas() {
    const t = cnn.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 0.4, 0.6, 1, 1, 1, 0, 0, 0], [2, 3, 3]);
    const canvas = $('topixels');
    const bytes = await cnn.browser.toPixels(t, canvas);
    t.dispose();
    const drawn = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return { width: canvas.width, height: canvas.height, bytes: Array.from(bytes), drawn: Array.from(drawn) };
  },

  async segmentAndOverlay() {
    const canvas = sceneCanvas();
    const model = rgbClassifier();
    const before = cnn.memory().numTensors;
    const result = model.segment(canvas);
    const leaked = cnn.memory().numTensors - before;
    // The same scene as an <img> (PNG, lossless) gives the same classes.
    const img = await loadImage(canvas.toDataURL('image/png'));
    const fromImg = model.segment(img, { size: [32, 32] });
    model.dispose();

    const mask = cnn.browser.maskToImageData(result);
    const maskCanvas = $('mask');
    maskCanvas.width = mask.width;
    maskCanvas.height = mask.height;
    maskCanvas.getContext('2d').putImageData(mask, 0, 0);

    const target = $('overlay');
    target.width = SCENE.width;
    target.height = SCENE.height;
    drawScene(target.getContext('2d'));
    const returned = cnn.browser.overlay(target, result, { alpha: 0.5 });
    const drawn = target.getContext('2d').getImageData(0, 0, SCENE.width, SCENE.height).data;
    log(`main thread: segment ${result.width}x${result.height} in ${result.timeMs.toFixed(1)} ms`);
    return {
      width: result.width, height: result.height, numClasses: result.numClasses, timeMs: result.timeMs, leaked,
      isUint8Array: result.classes instanceof Uint8Array,
      probes: PROBES.map((p) => result.classes[p.y * result.width + p.x]),
      sameFromImg: fromImg.classes.every((c, i) => c === result.classes[i]),
      maskIsImageData: mask instanceof ImageData,
      maskProbes: PROBES.map((p) => pixelAt(mask.data, mask.width, p.x, p.y)),
      returnedCanvas: returned === target,
      overlayProbes: PROBES.map((p) => pixelAt(drawn, SCENE.width, p.x, p.y)),
      classes: Array.from(result.classes),
    };
  },

  async worker() {
    const canvas = sceneCanvas();
    const bitmap = await createImageBitmap(canvas);
    const worker = new Worker(new URL('./canvas-worker.js', import.meta.url), { type: 'module' });
    try {
      const reply = await new Promise((resolve, reject) => {
        worker.onerror = (e) => reject(new Error(`worker error: ${e.message ?? 'failed to load the worker script'}`));
        worker.onmessage = ({ data }) => {
          if (data.started) worker.postMessage({ bitmap }, [bitmap]);
          else if (data.error) reject(new Error(`in the worker: ${data.error}`));
          else resolve(data);
        };
      });
      const target = $('worker');
      target.width = reply.bitmap.width;
      target.height = reply.bitmap.height;
      const ctx = target.getContext('2d');
      ctx.drawImage(reply.bitmap, 0, 0);
      reply.bitmap.close();
      const drawn = ctx.getImageData(0, 0, target.width, target.height).data;
      log(`worker: cnn.ready() ${reply.readyMs.toFixed(1)} ms, segment in ${reply.segment.timeMs.toFixed(1)} ms`);
      const { bitmap: _, classes, ...rest } = reply;
      return { ...rest, classes: Array.from(classes), transferredBack: PROBES.map((p) => pixelAt(drawn, target.width, p.x, p.y)) };
    } finally {
      worker.terminate();
    }
  },
};

try {
  await cnn.ready();
  document.body.dataset.state = 'ready';
} catch (err) {
  log(`error: ${err.message}`);
  document.body.dataset.state = 'error';
}
