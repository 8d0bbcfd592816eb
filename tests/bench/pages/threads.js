// tests/bench/threads-browser.js: cnn.ready({ threads }) from the query string, then median wall ms per call of conv
// forward passes (predict) and training steps (fit over one batch), on this page's thread (which spins, as a page's
// main thread may not block, while the engine's workers finish).
import * as cnn from '../../../web/index.js';

const log = document.getElementById('log');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function time(fn, minMs) {
  for (let i = 0; i < 2; i++) await fn();
  const walls = [];
  const t0 = performance.now();
  while (walls.length < 3 || performance.now() - t0 < minMs) {
    const t = performance.now();
    await fn();
    walls.push(performance.now() - t);
  }
  return median(walls);
}

function conv([h, w, c], filters, k) {
  const model = cnn.sequential({ seed: 1, layers: [cnn.layers.conv2d({ inputShape: [h, w, c], filters, kernelSize: k, padding: 'same' })] });
  const x = cnn.tensor(new Float32Array(h * w * c).map((_, i) => Math.sin(i * 0.37)), [1, h, w, c]);
  return async () => model.predict(x).dispose();
}

function step(model, shape, n, labels) {
  model.compile({ optimizer: cnn.train.adam(0.001), loss: 'sparseCategoricalCrossentropy' });
  const x = cnn.tensor(new Float32Array(n * shape.reduce((a, b) => a * b)).map((_, i) => Math.sin(i * 0.37)), [n, ...shape]);
  const y = cnn.tensor(labels, [n, ...labels.shape], 'int32');
  return async () => { await model.fit(x, y, { epochs: 1, batchSize: n, shuffle: false, seed: 1 }); };
}

try {
  const threads = Number(new URLSearchParams(location.search).get('threads') ?? 1);
  await cnn.ready({ threads });
  const resnetLabels = Object.assign(new Int32Array(32).map((_, i) => i % 10), { shape: [] });
  const segnetLabels = Object.assign(new Int32Array(16 * 64 * 64).map((_, i) => (i >> 5) % 4), { shape: [64, 64] });
  const cases = {
    'conv 3x3 56x56x64->64 fwd b1': [conv([56, 56, 64], 64, 3), 1000],
    'conv 3x3 128x128x16->32 fwd b1': [conv([128, 128, 16], 32, 3), 1000],
    'conv 1x1 28x28x128->256 fwd b1': [conv([28, 28, 128], 256, 1), 1000],
    'ResNet-20 train step b32': [step(cnn.zoo.resnet({ depth: 20, inputShape: [32, 32, 3], numClasses: 10, seed: 1 }), [32, 32, 3], 32, resnetLabels), 2500],
    'SegNet 64x64 train step b16': [step(cnn.zoo.segnet({ inputShape: [64, 64, 3], numClasses: 4, seed: 1 }), [64, 64, 3], 16, segnetLabels), 2500],
  };
  const result = { engine: cnn.engineInfo(), crossOriginIsolated: globalThis.crossOriginIsolated, ms: {} };
  for (const [name, [fn, minMs]] of Object.entries(cases)) {
    result.ms[name] = await time(fn, minMs);
    log.textContent += `${name}: ${result.ms[name].toFixed(2)} ms\n`;
  }
  window.__result = result;
  document.body.dataset.state = 'done';
} catch (err) {
  log.textContent += `\n${err.stack || err}`;
  window.__result = { error: String(err.stack || err) };
  document.body.dataset.state = 'error';
}
