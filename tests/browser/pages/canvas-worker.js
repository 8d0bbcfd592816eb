// Module worker of tests/browser/pages/canvas.html: loads the engine inside the worker, reads an OffscreenCanvas
// with cnn.browser.fromPixels, segments it with model.segment, draws the overlay on the OffscreenCanvas and sends the
// result back as an ImageBitmap. The page imports the same file for the shared scene and model (the worker part only
// runs in a worker).
import * as cnn from '../../../web/index.js';

export const SCENE = { width: 120, height: 90 };
export const MODEL_SIZE = [32, 32];
/** Points inside each shape, with the class the model gives them: 0 background, 1 red, 2 green, 3 blue. */
export const PROBES = [
  { name: 'red rectangle', x: 30, y: 25, cls: 1, rgb: [255, 0, 0], overlay: [192, 0, 0] },
  { name: 'green disc', x: 86, y: 30, cls: 2, rgb: [0, 255, 0], overlay: [0, 192, 0] },
  { name: 'blue bar', x: 65, y: 71, cls: 3, rgb: [0, 0, 255], overlay: [64, 64, 128] },
  { name: 'background (top right)', x: 115, y: 4, cls: 0, rgb: [255, 255, 255], overlay: [255, 255, 255] },
  { name: 'background (bottom left)', x: 4, y: 86, cls: 0, rgb: [255, 255, 255], overlay: [255, 255, 255] },
];

/** White, with a red rectangle, a green disc and a blue bar; works on 2D contexts of canvases and OffscreenCanvases. */
export function drawScene(ctx) {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, SCENE.width, SCENE.height);
  ctx.fillStyle = '#f00';
  ctx.fillRect(10, 10, 40, 30);
  ctx.fillStyle = '#0f0';
  ctx.beginPath();
  ctx.arc(86, 30, 20, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#00f';
  ctx.fillRect(30, 60, 70, 22);
}

/**
 * [32, 32, 3] → [32, 32, 4] softmax, a 1x1 convolution: class 0 has logit 0.1, class k = 1..3 the k-th RGB channel
 * minus the other two (inputs in [0, 1]), so pure red / green / blue are classes 1 / 2 / 3 and white is 0.
 */
export function rgbClassifier() {
  const model = cnn.sequential({ seed: 1, layers: [
    cnn.layers.conv2d({ inputShape: [...MODEL_SIZE, 3], filters: 4, kernelSize: 1, activation: 'softmax' }),
  ] });
  const kernel = new Float32Array(12);
  for (let i = 0; i < 3; i++) for (let k = 1; k < 4; k++) kernel[i * 4 + k] = i === k - 1 ? 1 : -1;
  const weights = [cnn.tensor(kernel, [1, 1, 3, 4]), cnn.tensor([0.1, 0, 0, 0], [4])];
  model.setWeights(weights);
  weights.forEach((t) => t.dispose());
  return model;
}

export const pixelAt = (data, width, x, y) => Array.from(data.slice((y * width + x) * 4, (y * width + x) * 4 + 4));

async function run(bitmap) {
  const out = { context: { isWorker: typeof document === 'undefined', hasOffscreenCanvas: typeof OffscreenCanvas === 'function' } };
  const t0 = performance.now();
  await cnn.ready();
  out.readyMs = performance.now() - t0;
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);

  // fromPixels from the ImageBitmap and from the OffscreenCanvas.
  const fromBitmap = cnn.browser.fromPixels(bitmap, 4);
  const fromCanvas = cnn.browser.fromPixels(canvas);
  bitmap.close();
  out.fromPixels = {
    shape: fromCanvas.shape,
    bitmapShape: fromBitmap.shape,
    probes: PROBES.map((p) => Array.from(fromCanvas.dataSync().slice((p.y * canvas.width + p.x) * 3, (p.y * canvas.width + p.x) * 3 + 3))),
    bitmapAlpha: fromBitmap.dataSync()[3],
  };
  fromBitmap.dispose();
  fromCanvas.dispose();

  // segment + overlay on the OffscreenCanvas, and a mask as ImageData.
  const model = rgbClassifier();
  const before = cnn.memory().numTensors;
  const result = model.segment(canvas);
  out.leakedTensors = cnn.memory().numTensors - before;
  out.segment = { width: result.width, height: result.height, numClasses: result.numClasses, timeMs: result.timeMs,
    probes: PROBES.map((p) => result.classes[p.y * result.width + p.x]) };
  const mask = cnn.browser.maskToImageData(result);
  out.maskIsImageData = mask instanceof ImageData;
  cnn.browser.overlay(canvas, result, { alpha: 0.5 });
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  out.overlayProbes = PROBES.map((p) => pixelAt(image.data, canvas.width, p.x, p.y));
  model.dispose();
  out.classes = result.classes;
  out.bitmap = canvas.transferToImageBitmap();
  return out;
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  self.onmessage = async ({ data }) => {
    try {
      const out = await run(data.bitmap);
      self.postMessage(out, [out.bitmap, out.classes.buffer]);
    } catch (err) {
      self.postMessage({ error: `${err.name}: ${err.message}\n${err.stack}` });
    }
  };
  self.postMessage({ started: true });
}
