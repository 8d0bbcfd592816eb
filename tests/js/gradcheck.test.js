// Central-difference gradient checks through the wasm build: for every layer and loss, d loss / d input and
// d loss / d weight from model.computeGradients (training-mode forward, no update) are compared with
// (L(v + eps) - L(v - eps)) / (2 eps), where L is the loss computeGradients reports, on a random subset of
// coordinates. Inputs are perturbed through new tensors and weights through setWeights.
//
// The loss is float32, so the finite difference carries an absolute error of about |L| · 1e-7 / eps; each coordinate
// is compared as |analytic - numeric| <= 1e-2 · max(|analytic|, |numeric|) + 2e-3 · max |analytic of the tensor|,
// i.e. a relative error below 1e-2 for every coordinate that is not tiny next to the tensor's largest gradient.
// The checks are helpers.js's checkInputGradient / checkWeightGradient (GC_REL_TOL, GC_FLOOR, GC_COORDS = 10).
// Inputs are random normal values (no ties for max pooling, pre-activations away from the ReLU kink).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import {
  normals, uniforms, ints, size, oneHotTargets, softTargets, checkInputGradient, checkWeightGradient,
} from './helpers.js';

/**
 * Builds the model, compiles it with `loss`, gives biases non-zero values, and checks d loss / d input and every
 * d loss / d weight by central differences.
 */
function gradCheck({ layers, inputShape, loss, n = 2, seed = 1, eps = 1e-2, inputScale = 1, soft = false, targets, compileOptions = {} }) {
  const model = cnn.sequential({ seed, layers: layers() });
  try {
    model.compile({ optimizer: 'sgd', loss, ...compileOptions });
    const weights = model.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 7 + i, 0.2), w.shape) : w));
    model.setWeights(weights);
    const xv = normals(n * size(inputShape), seed + 1, inputScale);
    const x = cnn.tensor(xv, [n, ...inputShape]);
    const outShape = model.outputShape.slice(1); // [null, ...per-sample shape]
    const classes = outShape[outShape.length - 1];
    let y;
    if (targets) {
      y = targets(n, outShape);
    } else if (loss === 'sparseCategoricalCrossentropy') {
      const rows = [n, ...outShape.slice(0, -1)];
      y = cnn.tensor(ints(size(rows), seed + 2, classes), rows, 'int32');
    } else if (loss === 'categoricalCrossentropy') {
      const rows = n * size(outShape) / classes;
      const t = soft ? softTargets(rows, classes, seed + 2) : oneHotTargets(rows, classes, seed + 2);
      y = cnn.tensor(t, [n, ...outShape]);
    } else {
      y = cnn.tensor(normals(n * size(outShape), seed + 2, 0.5), [n, ...outShape]);
    }

    const base = model.computeGradients(x, y);
    assert.ok(Number.isFinite(base.loss), `loss is ${base.loss}`);

    // d loss / d input
    checkInputGradient({ model, base, x, xv, y, seed, eps });

    // d loss / d weight, for every weight tensor
    const names = model.weightNames();
    weights.forEach((w, wi) => checkWeightGradient({ model, base, weights, wi, name: names[wi], x, y, seed, eps }));
    return base;
  } finally {
    model.dispose();
  }
}

before(async () => { await cnn.ready(); });

const L = cnn.layers;

describe('gradcheck: conv2d', () => {
  const cases = [
    { name: 'k3 s1 valid tanh', cfg: { filters: 3, kernelSize: 3, activation: 'tanh' }, inputShape: [6, 7, 2] },
    { name: 'k3 s1 same linear', cfg: { filters: 4, kernelSize: 3, padding: 'same' }, inputShape: [5, 5, 3] },
    { name: 'k3 s2 same sigmoid', cfg: { filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' }, inputShape: [7, 9, 2] },
    { name: 'k5 s2 valid', cfg: { filters: 2, kernelSize: 5, strides: 2 }, inputShape: [9, 11, 1] },
    { name: 'k2 s2 same (asymmetric padding)', cfg: { filters: 2, kernelSize: 2, strides: 2, padding: 'same' }, inputShape: [5, 7, 2] },
    { name: 'k3 dilation 2 valid', cfg: { filters: 3, kernelSize: 3, dilationRate: 2, activation: 'tanh' }, inputShape: [8, 9, 2] },
    { name: 'k3 dilation 2 same', cfg: { filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' }, inputShape: [7, 6, 3] },
    { name: 'k1 s1 no bias', cfg: { filters: 5, kernelSize: 1, useBias: false }, inputShape: [4, 3, 4] },
    { name: 'k3 s1 same relu', cfg: { filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }, inputShape: [6, 6, 2], eps: 3e-3 },
    { name: 'rectangular kernel [3,2] strides [2,1] same', cfg: { filters: 3, kernelSize: [3, 2], strides: [2, 1], padding: 'same' }, inputShape: [7, 5, 2] },
  ];
  cases.forEach((c, i) => {
    test(`${c.name}, MSE`, () => {
      gradCheck({ layers: () => [L.conv2d({ ...c.cfg, inputShape: c.inputShape })], inputShape: c.inputShape, loss: 'meanSquaredError', seed: 100 + i, eps: c.eps });
    });
  });
  test('conv -> flatten -> dense softmax, sparse CE', () => {
    gradCheck({
      layers: () => [L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', inputShape: [7, 7, 2] }),
        L.flatten(), L.dense({ units: 4, activation: 'softmax' })],
      inputShape: [7, 7, 2], loss: 'sparseCategoricalCrossentropy', seed: 150, n: 3,
    });
  });
});

describe('gradcheck: pooling', () => {
  const cases = [
    ['maxPooling2d', { poolSize: 2 }, [6, 8, 2]],
    ['maxPooling2d', { poolSize: 3, strides: 1, padding: 'same' }, [5, 7, 2]],
    ['maxPooling2d', { poolSize: 2, strides: 2, padding: 'same' }, [7, 5, 3]],
    ['maxPooling2d', { poolSize: 3, strides: 2 }, [9, 7, 1]],
    ['averagePooling2d', { poolSize: 2 }, [6, 8, 2]],
    ['averagePooling2d', { poolSize: 3, strides: 1, padding: 'same' }, [5, 7, 2]],
    ['averagePooling2d', { poolSize: 2, strides: 2, padding: 'same' }, [7, 5, 3]],
    ['averagePooling2d', { poolSize: 3, strides: 3, padding: 'same' }, [7, 8, 1]],
  ];
  cases.forEach(([type, cfg, inputShape], i) => {
    test(`${type} ${JSON.stringify(cfg)} ${inputShape.join('x')}, conv before it, MSE`, () => {
      // A conv layer first, so that the pooling gradient also reaches weights.
      gradCheck({
        layers: () => [L.conv2d({ filters: inputShape[2], kernelSize: 1, inputShape }), L[type](cfg)],
        inputShape, loss: 'meanSquaredError', seed: 200 + i, eps: type === 'maxPooling2d' ? 3e-3 : 1e-2,
      });
    });
  });
});

describe('gradcheck: dense, flatten, dropout(0), activations', () => {
  ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'].forEach((activation, i) => {
    test(`dense(5, ${activation}), MSE`, () => {
      gradCheck({ layers: () => [L.dense({ units: 5, activation, inputShape: [7] })], inputShape: [7], loss: 'meanSquaredError', seed: 300 + i, n: 3, eps: activation === 'relu' ? 3e-3 : 1e-2 });
    });
    test(`activation(${activation}) layer between dense layers, MSE`, () => {
      gradCheck({
        layers: () => [L.dense({ units: 6, inputShape: [5] }), L.activation({ activation }), L.dense({ units: 3 })],
        inputShape: [5], loss: 'meanSquaredError', seed: 310 + i, eps: activation === 'relu' ? 3e-3 : 1e-2,
      });
    });
  });
  test('dense without bias', () => {
    gradCheck({ layers: () => [L.dense({ units: 4, useBias: false, activation: 'tanh', inputShape: [6] })], inputShape: [6], loss: 'meanSquaredError', seed: 320 });
  });
  test('flatten: conv -> flatten -> dense', () => {
    gradCheck({
      layers: () => [L.conv2d({ filters: 2, kernelSize: 2, inputShape: [4, 5, 2] }), L.flatten(), L.dense({ units: 3, activation: 'sigmoid' })],
      inputShape: [4, 5, 2], loss: 'meanSquaredError', seed: 321,
    });
  });
  test('flatten straight after the input', () => {
    gradCheck({ layers: () => [L.flatten({ inputShape: [3, 4, 2] }), L.dense({ units: 3 })], inputShape: [3, 4, 2], loss: 'meanSquaredError', seed: 322 });
  });
  test('dropout(rate 0) is the identity for gradients', () => {
    gradCheck({
      layers: () => [L.dense({ units: 6, activation: 'tanh', inputShape: [5] }), L.dropout({ rate: 0 }), L.dense({ units: 3 })],
      inputShape: [5], loss: 'meanSquaredError', seed: 323,
    });
  });
});

describe('gradcheck: losses', () => {
  const dense = (activation, units = 4) => () => [L.dense({ units, activation, inputShape: [6] })];
  test('sparseCategoricalCrossentropy, softmax output (fused)', () => {
    gradCheck({ layers: dense('softmax'), inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 400, n: 3 });
  });
  test('sparseCategoricalCrossentropy, sigmoid output (probability formula)', () => {
    gradCheck({ layers: dense('sigmoid'), inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 401, n: 3 });
  });
  test('sparseCategoricalCrossentropy, softmax -> dropout(0) (not fused)', () => {
    gradCheck({
      layers: () => [L.dense({ units: 4, activation: 'softmax', inputShape: [6] }), L.dropout({ rate: 0 })],
      inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 402, n: 3,
    });
  });
  test('sparseCategoricalCrossentropy per pixel (conv softmax output)', () => {
    gradCheck({
      layers: () => [L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'softmax', inputShape: [4, 5, 2] })],
      inputShape: [4, 5, 2], loss: 'sparseCategoricalCrossentropy', seed: 403,
    });
  });
  test('categoricalCrossentropy, softmax output (fused), one-hot', () => {
    gradCheck({ layers: dense('softmax'), inputShape: [6], loss: 'categoricalCrossentropy', seed: 404, n: 3 });
  });
  test('categoricalCrossentropy, softmax output (fused), soft targets', () => {
    gradCheck({ layers: dense('softmax'), inputShape: [6], loss: 'categoricalCrossentropy', seed: 405, n: 3, soft: true });
  });
  test('categoricalCrossentropy, sigmoid output (probability formula), soft targets', () => {
    gradCheck({ layers: dense('sigmoid'), inputShape: [6], loss: 'categoricalCrossentropy', seed: 406, n: 3, soft: true });
  });
  test('meanSquaredError, linear and sigmoid outputs', () => {
    gradCheck({ layers: dense('linear'), inputShape: [6], loss: 'meanSquaredError', seed: 407, n: 3 });
    gradCheck({ layers: dense('sigmoid'), inputShape: [6], loss: 'meanSquaredError', seed: 408, n: 3 });
  });
  test('sparseCategoricalCrossentropy with compile({ classWeights, ignoreLabel }): weighted mean over counted rows', () => {
    // compile() accepts classWeights and ignoreLabel (and save() stores them); the engine documents the loss as
    // PyTorch's CrossEntropyLoss(weight, ignore_index): Σ_r w[l_r] · (−log p_r[l_r]) / Σ_r w[l_r] over rows whose
    // label is not the ignore label.
    const classWeights = [0.5, 2, 1, 0.25];
    const ignoreLabel = -1;
    const labels = [0, 1, -1, 3, 2, 1];
    const n = labels.length;
    const compileOptions = { classWeights, ignoreLabel };
    const model = cnn.sequential({ seed: 420, layers: [L.dense({ units: 4, activation: 'softmax', inputShape: [6] })] });
    try {
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', ...compileOptions });
      const x = cnn.tensor(normals(n * 6, 421), [n, 6]);
      const p = model.predict(x).dataSync();
      let num = 0;
      let den = 0;
      labels.forEach((l, r) => {
        if (l === ignoreLabel) return;
        num += classWeights[l] * -Math.log(p[r * 4 + l]);
        den += classWeights[l];
      });
      const got = model.computeGradients(x, cnn.tensor(labels, [n], 'int32')).loss;
      assert.ok(Math.abs(got - num / den) <= 1e-5 * (num / den), `loss ${got}, expected ${num / den}`);
    } finally {
      model.dispose();
    }
    gradCheck({
      layers: dense('softmax'), inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 422, n, compileOptions,
      targets: () => cnn.tensor(labels, [n], 'int32'),
    });
  });
  test('loss values match their definitions (computed here in float64 from predict())', () => {
    const model = cnn.sequential({ seed: 409, layers: [L.dense({ units: 4, activation: 'softmax', inputShape: [6] })] });
    try {
      const n = 5;
      const x = cnn.tensor(normals(n * 6, 410), [n, 6]);
      const p = model.predict(x).dataSync();
      const labels = ints(n, 411, 4);
      const onehot = new Float32Array(n * 4);
      labels.forEach((l, r) => { onehot[r * 4 + l] = 1; });
      const target = normals(n * 4, 412);
      let ce = 0;
      let mse = 0;
      for (let r = 0; r < n; r++) ce -= Math.log(p[r * 4 + labels[r]]) / n;
      for (let i = 0; i < n * 4; i++) mse += (p[i] - target[i]) ** 2 / (n * 4);
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      assert.ok(Math.abs(model.computeGradients(x, cnn.tensor(labels, [n], 'int32')).loss - ce) <= 1e-5 * ce);
      model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      assert.ok(Math.abs(model.computeGradients(x, cnn.tensor(onehot, [n, 4])).loss - ce) <= 1e-5 * ce);
      model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      assert.ok(Math.abs(model.computeGradients(x, cnn.tensor(target, [n, 4])).loss - mse) <= 1e-5 * mse);
    } finally {
      model.dispose();
    }
  });
});

describe('dropout in training mode', () => {
  test("the input gradient is the dropout mask (output/input ratio) times the output's gradient", () => {
    // input -> dropout(rate) with MSE against zero targets: L = Σ (m_i x_i)² / N, so d L / d x_i = 2 m_i² x_i / N with
    // m_i ∈ {0, 1 / (1 - rate)} the mask (= output_i / input_i). Recover m_i² from the gradient, check it is 0 or
    // scale², that about 1 - rate of the values are kept, and that the reported loss equals Σ (m_i x_i)² / N with the
    // same mask — i.e. the forward pass and the backward pass used the same mask.
    const rate = 0.4;
    const scale = 1 / (1 - rate);
    const features = 400;
    const n = 3;
    const N = n * features;
    const model = cnn.sequential({ seed: 500, layers: [L.dropout({ rate, inputShape: [features] })] });
    try {
      model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      const xv = uniforms(N, 501, 0.5, 1.5); // away from zero so that the ratio is well defined
      const x = cnn.tensor(xv, [n, features]);
      const y = cnn.tensor(new Float32Array(N), [n, features]);
      const masks = [];
      for (let call = 0; call < 2; call++) {
        const { loss, inputGradient } = model.computeGradients(x, y);
        const g = inputGradient.dataSync();
        const mask = new Float32Array(N);
        let kept = 0;
        let expectedLoss = 0;
        for (let i = 0; i < N; i++) {
          const m2 = (g[i] * N) / (2 * xv[i]);
          if (Math.abs(m2) < 1e-6) {
            mask[i] = 0;
          } else {
            assert.ok(Math.abs(m2 - scale * scale) <= 1e-4 * scale * scale, `mask² at ${i} is ${m2}, expected 0 or ${scale * scale}`);
            mask[i] = scale;
            kept++;
          }
          expectedLoss += (mask[i] * xv[i]) ** 2 / N;
        }
        assert.ok(Math.abs(loss - expectedLoss) <= 1e-5 * expectedLoss, `loss ${loss} vs Σ (m x)² / N = ${expectedLoss}`);
        const keptFraction = kept / N;
        assert.ok(Math.abs(keptFraction - (1 - rate)) < 0.06, `kept fraction ${keptFraction}, expected about ${1 - rate}`);
        masks.push(mask);
      }
      // Each training-mode forward draws a new mask.
      assert.ok(masks[0].some((v, i) => v !== masks[1][i]), 'two training-mode passes used the same mask');
      // predict() (inference mode) is the identity.
      assert.deepEqual(model.predict(x).dataSync(), Float32Array.from(xv));
    } finally {
      model.dispose();
    }
  });

  test('dropout gradient through a dense layer is linear in the mask', () => {
    // One sample, input -> dropout -> dense(1, kernel of ones, no bias), MSE against 0: the output is s = Σ m_i x_i,
    // L = s², d L / d x_i = 2 s m_i and d L / d kernel_i = 2 s m_i x_i, with m_i ∈ {0, 1 / (1 - rate)}.
    const rate = 0.5;
    const features = 64;
    const model = cnn.sequential({
      seed: 510, layers: [L.dropout({ rate, inputShape: [features] }), L.dense({ units: 1, useBias: false })],
    });
    try {
      model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      model.setWeights([cnn.tensor(new Float32Array(features).fill(1), [features, 1])]);
      const xv = uniforms(features, 511, 0.5, 1.5);
      const { loss, inputGradient, gradients } = model.computeGradients(cnn.tensor(xv, [1, features]), cnn.tensor([0], [1, 1]));
      const g = inputGradient.dataSync();
      const s = Math.sqrt(loss); // s > 0: all x > 0 and at least one value is kept (checked below)
      const mask = Array.from(g, (v) => v / (2 * s));
      let sum = 0;
      mask.forEach((m, i) => {
        assert.ok(Math.abs(m) < 1e-5 || Math.abs(m - 2) < 1e-4, `mask ${i} is ${m}, expected 0 or 2`);
        sum += (Math.abs(m) < 1e-5 ? 0 : 2) * xv[i];
      });
      assert.ok(Math.abs(sum - s) <= 1e-4 * s, `Σ m x = ${sum} vs the output ${s}`);
      // d L / d kernel_i = 2 s · (dropout output)_i = 2 s m_i x_i
      const gk = gradients[0].dataSync();
      mask.forEach((m, i) => assert.ok(Math.abs(gk[i] - 2 * s * m * xv[i]) <= 1e-4 * Math.max(1, Math.abs(gk[i])), `kernel gradient ${i}`));
    } finally {
      model.dispose();
    }
  });
});
