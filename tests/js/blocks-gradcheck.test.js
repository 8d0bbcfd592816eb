// Central-difference gradient checks of the block layers through the wasm build (see helpers.js gradCheck): the loss
// computeGradients reports at perturbed inputs / weights against its d loss / d input and d loss / d weight, on random
// coordinates, |analytic - numeric| <= 1e-2 · max(|analytic|, |numeric|) + 2e-3 · max |analytic of the tensor|.
// Batch normalization runs in training mode (batch statistics, so every sample's output depends on every input);
// computeGradients does not move its moving statistics. Fan-out: one tensor feeding two or three layers whose
// outputs meet again in an add or a concatenate — the gradients from every consumer must accumulate.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { normals, gradCheck, randomizeWeights } from './helpers.js';

before(async () => { await cnn.ready(); });

const L = cnn.layers;
/** A functional model from graph(x) on an input of inputShape. */
const fn = (inputShape, graph, seed = 1) => () => {
  const x = cnn.input({ shape: inputShape });
  return cnn.model({ inputs: x, outputs: graph(x), seed });
};
const seq = (layers, seed = 1) => () => cnn.sequential({ seed, layers: layers() });

describe('gradcheck: batchNormalization (training mode)', () => {
  test('input -> BN, MSE: input, gamma, beta', () => {
    gradCheck({ build: seq(() => [L.batchNormalization({ inputShape: [3, 4, 3] })]), n: 3, seed: 10 });
  });
  test('conv (no bias) -> BN -> tanh -> conv, MSE', () => {
    gradCheck({
      build: seq(() => [
        L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, inputShape: [5, 5, 2] }),
        L.batchNormalization({ momentum: 0.9, epsilon: 1e-2 }), L.activation({ activation: 'tanh' }),
        L.conv2d({ filters: 2, kernelSize: 1 })]),
      n: 2, seed: 11,
    });
  });
  test('dense (no bias) -> BN on flat features -> dense softmax, sparse CE', () => {
    gradCheck({
      build: seq(() => [L.dense({ units: 6, useBias: false, inputShape: [5] }), L.batchNormalization(),
        L.dense({ units: 3, activation: 'softmax' })]),
      loss: 'sparseCategoricalCrossentropy', n: 5, seed: 12,
    });
  });
  for (const [i, cfg] of [{ center: false }, { scale: false }, { center: false, scale: false }].entries()) {
    test(`BN ${JSON.stringify(cfg)} between convs, MSE`, () => {
      gradCheck({
        build: seq(() => [L.conv2d({ filters: 3, kernelSize: 2, useBias: false, inputShape: [4, 4, 2] }),
          L.batchNormalization(cfg), L.conv2d({ filters: 2, kernelSize: 1, activation: 'sigmoid' })]),
        n: 2, seed: 13 + i,
      });
    });
  }
  test('batch of 1 on an image: statistics over the pixels of one sample', () => {
    gradCheck({ build: seq(() => [L.batchNormalization({ inputShape: [3, 3, 2] }), L.conv2d({ filters: 2, kernelSize: 2 })]), n: 1, seed: 16 });
  });
  test('computeGradients leaves the moving statistics alone; fit moves them', async () => {
    const model = seq(() => [L.conv2d({ filters: 3, kernelSize: 3, inputShape: [5, 5, 2] }), L.batchNormalization({ momentum: 0.5 })], 17)();
    try {
      model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      randomizeWeights(model, 17);
      const before = model.getWeights().map((w) => w.dataSync().slice());
      const x = cnn.tensor(normals(4 * 50, 18), [4, 5, 5, 2]);
      const y = cnn.tensor(normals(4 * 27, 19), [4, 3, 3, 3]);
      for (let i = 0; i < 3; i++) model.computeGradients(x, y);
      model.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before[i], `weight ${i} changed by computeGradients`));
      await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false });
      const names = model.weightNames();
      const after = model.getWeights();
      for (const k of ['moving_mean', 'moving_variance']) {
        const i = names.findIndex((nm) => nm.endsWith(k));
        assert.notDeepEqual(after[i].dataSync(), before[i], `${k} did not move in fit`);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('gradcheck: add and concatenate', () => {
  test('add of two conv branches', () => {
    gradCheck({
      build: fn([5, 4, 2], (x) => L.add().apply([
        L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x),
        L.conv2d({ filters: 3, kernelSize: 1 }).apply(x)])),
      seed: 20, n: 2,
    });
  });
  test('add of three inputs, one of them the block input', () => {
    gradCheck({
      build: fn([4, 4, 3], (x) => {
        const t = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x);
        const u = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(t);
        return L.conv2d({ filters: 2, kernelSize: 1 }).apply(L.add().apply([x, t, u]));
      }),
      seed: 21, n: 2,
    });
  });
  test('concatenate of channel counts 1, 3, 5 -> conv 1x1 (each slice reaches its own branch)', () => {
    gradCheck({
      build: fn([4, 5, 2], (x) => {
        const a = L.conv2d({ filters: 1, kernelSize: 1 }).apply(x);
        const b = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x);
        const c = L.conv2d({ filters: 5, kernelSize: 2, padding: 'same' }).apply(x);
        return L.conv2d({ filters: 2, kernelSize: 1 }).apply(L.concatenate().apply([a, b, c]));
      }),
      seed: 22, n: 2,
    });
  });
  test('concatenate of flat features (dense branches) -> dense softmax, sparse CE', () => {
    gradCheck({
      build: fn([6], (x) => {
        const a = L.dense({ units: 4, activation: 'tanh' }).apply(x);
        const b = L.dense({ units: 3 }).apply(x);
        return L.dense({ units: 3, activation: 'softmax' }).apply(L.concatenate().apply([a, b]));
      }),
      loss: 'sparseCategoricalCrossentropy', seed: 23, n: 4,
    });
  });
});

describe('gradcheck: global pooling, zero padding, ReLU / LeakyReLU', () => {
  test('conv -> globalAveragePooling2d -> dense', () => {
    gradCheck({
      build: seq(() => [L.conv2d({ filters: 4, kernelSize: 3, inputShape: [5, 6, 2] }), L.globalAveragePooling2d(), L.dense({ units: 3 })]),
      seed: 30,
    });
  });
  test('conv -> globalMaxPooling2d -> dense softmax, sparse CE', () => {
    gradCheck({
      build: seq(() => [L.conv2d({ filters: 4, kernelSize: 3, inputShape: [5, 6, 2] }), L.globalMaxPooling2d(),
        L.dense({ units: 3, activation: 'softmax' })]),
      loss: 'sparseCategoricalCrossentropy', seed: 31, n: 4, eps: 3e-3,
    });
  });
  test('globalMaxPooling2d straight after the input', () => {
    gradCheck({ build: seq(() => [L.globalMaxPooling2d({ inputShape: [3, 4, 5] })]), seed: 32, eps: 3e-3 });
  });
  for (const [i, padding] of [1, [0, 2], [[2, 0], [1, 3]]].entries()) {
    test(`zeroPadding2d(${JSON.stringify(padding)}) -> conv valid`, () => {
      gradCheck({
        build: seq(() => [L.conv2d({ filters: 2, kernelSize: 1, inputShape: [3, 4, 2] }), L.zeroPadding2d({ padding }),
          L.conv2d({ filters: 3, kernelSize: 3, activation: 'tanh' })]),
        seed: 33 + i, n: 2,
      });
    });
  }
  for (const alpha of [undefined, 0.05, 2]) {
    test(`conv -> leakyReLU(${alpha ?? 'default'}) -> conv`, () => {
      gradCheck({
        build: seq(() => [L.conv2d({ filters: 3, kernelSize: 3, inputShape: [5, 5, 2] }),
          L.leakyReLU(alpha === undefined ? {} : { alpha }), L.conv2d({ filters: 2, kernelSize: 1 })]),
        seed: 40, n: 2, eps: 3e-3,
      });
    });
  }
  test('dense -> reLU layer -> dense', () => {
    gradCheck({
      build: seq(() => [L.dense({ units: 8, inputShape: [5] }), L.reLU(), L.dense({ units: 3 })]), seed: 45, eps: 3e-3,
    });
  });
});

describe('gradcheck: fan-out (one tensor feeding several layers)', () => {
  test('the input feeds three convs whose outputs are added', () => {
    gradCheck({
      build: fn([4, 4, 2], (x) => L.add().apply([
        L.conv2d({ filters: 3, kernelSize: 1 }).apply(x),
        L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x),
        L.conv2d({ filters: 3, kernelSize: 2, padding: 'same' }).apply(x)])),
      seed: 50, n: 2,
    });
  });
  test('a hidden tensor feeds a conv, a leakyReLU and the add itself', () => {
    gradCheck({
      build: fn([5, 5, 2], (x) => {
        const t = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x);
        const a = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(t);
        const b = L.leakyReLU({ alpha: 0.2 }).apply(t);
        return L.conv2d({ filters: 2, kernelSize: 1 }).apply(L.add().apply([a, b, t]));
      }),
      // A kernel weight moves every pixel's pre-activation: a small eps, so that none crosses the LeakyReLU's kink.
      seed: 51, n: 2, eps: 1e-3,
    });
  });
  test('a hidden tensor feeds a conv, a max pooling and the concatenate itself', () => {
    gradCheck({
      build: fn([5, 5, 2], (x) => {
        const t = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x);
        const a = L.conv2d({ filters: 2, kernelSize: 1 }).apply(t);
        const p = L.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(t);
        return L.conv2d({ filters: 2, kernelSize: 1 }).apply(L.concatenate().apply([a, t, p]));
      }),
      seed: 52, n: 2, eps: 3e-3,
    });
  });
  // tanh rather than a ReLU-like activation in the bigger graphs: every input moves the batch statistics, hence every
  // pre-activation, and a kink crossed within eps spoils the finite difference (LeakyReLU is checked above).
  test('a batch-norm output feeds two branches (residual block with BN), then global pooling', () => {
    gradCheck({
      build: fn([6, 6, 2], (x) => {
        const stem = L.batchNormalization().apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x));
        let t = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(stem);
        t = L.activation({ activation: 'tanh' }).apply(L.batchNormalization().apply(t));
        t = L.batchNormalization().apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(t));
        const out = L.activation({ activation: 'tanh' }).apply(L.add().apply([t, stem]));
        return L.dense({ units: 3, activation: 'softmax' }).apply(L.globalAveragePooling2d().apply(out));
      }),
      loss: 'sparseCategoricalCrossentropy', seed: 53, n: 3,
    });
  });
  test('fan-out of flat features: one dense output feeds two dense layers and the concatenate', () => {
    gradCheck({
      build: fn([5], (x) => {
        const h = L.dense({ units: 4, activation: 'tanh' }).apply(x);
        const a = L.dense({ units: 3, activation: 'sigmoid' }).apply(h);
        const b = L.dense({ units: 2 }).apply(h);
        return L.dense({ units: 2 }).apply(L.concatenate().apply([a, h, b]));
      }),
      seed: 54, n: 3,
    });
  });
  test('accumulation is exact: add([t, t]) gives twice the gradient of t alone', () => {
    // The same tensor twice in one add: d loss / d t is the sum of both paths.
    const make = (twice) => fn([4], (x) => {
      const t = L.dense({ units: 3, name: twice ? 'd_twice' : 'd_once' }).apply(x);
      return twice ? L.add().apply([t, t]) : L.add().apply([t, L.dense({ units: 3, kernelInitializer: 'zeros', useBias: false }).apply(x)]);
    }, 55)();
    const a = make(true);
    const b = make(false);
    try {
      for (const m of [a, b]) m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      b.setWeights([a.getWeights()[0], a.getWeights()[1], cnn.tensor(new Float32Array(12), [4, 3])]);
      const x = cnn.tensor(normals(8, 56), [2, 4]);
      // y chosen so that the loss of out = 2t against 2y is 4x the loss of t against y
      const yv = normals(6, 57);
      const ga = a.computeGradients(x, cnn.tensor(yv.map((v) => 2 * v), [2, 3]));
      const gb = b.computeGradients(x, cnn.tensor(yv, [2, 3]));
      assert.ok(Math.abs(ga.loss - 4 * gb.loss) <= 1e-5 * ga.loss, `loss ${ga.loss} vs 4 × ${gb.loss}`);
      const ia = ga.inputGradient.dataSync();
      const ib = gb.inputGradient.dataSync();
      ia.forEach((v, i) => assert.ok(Math.abs(v - 4 * ib[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `input gradient ${i}: ${v} vs 4 × ${ib[i]}`));
      const ka = ga.gradients[0].dataSync();
      const kb = gb.gradients[0].dataSync();
      ka.forEach((v, i) => assert.ok(Math.abs(v - 4 * kb[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `kernel gradient ${i}: ${v} vs 4 × ${kb[i]}`));
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

// The sizes used above are small; one larger case so that the layers' vectorised paths (whole SIMD lanes, many rows)
// are exercised too.
describe('gradcheck: larger block', () => {
  test('conv 16 channels -> BN -> tanh -> concat with a zero-padded 1x1 branch -> global average pooling -> dense', () => {
    gradCheck({
      build: fn([9, 9, 5], (x) => {
        let t = L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
        t = L.activation({ activation: 'tanh' }).apply(L.batchNormalization().apply(t));
        const s = L.conv2d({ filters: 7, kernelSize: 1 }).apply(x);
        const c = L.concatenate().apply([t, L.zeroPadding2d({ padding: 0 }).apply(s)]);
        return L.dense({ units: 4 }).apply(L.globalAveragePooling2d().apply(c));
      }),
      seed: 60, n: 4,
    });
  });
});
