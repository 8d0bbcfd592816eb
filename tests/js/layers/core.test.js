// The core layers (web/layers/core.js): dense, flatten and dropout — gradient checks, dropout's training-mode
// mask, cross-checks against tfjs, and batch sizes / repeated calls of computeGradients and predict.
// Gradient checks compare d loss / d input and d loss / d weight from model.computeGradients (training-mode forward,
// no update) with central differences of the loss it reports, on random coordinates: |analytic - numeric| <=
// 1e-2 · max(|analytic|, |numeric|) + 2e-3 · max |analytic of the tensor| (helpers.js's GC_REL_TOL, GC_FLOOR).
// Cross-checks build the same model in @tensorflow/tfjs (cpu backend) with identical weights and compare forward
// outputs, losses and gradients as max |ours - tfjs| / max |tfjs|: below 1e-4 forward and for losses, 1e-3 for
// gradients (helpers.js's FORWARD_TOL, GRAD_TOL).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../../web/index.js';
import {
  normals, uniforms, size, assertClose, readyWithTfjsCpu, sequentialPair, FORWARD_TOL, checkGradientsVsTfjs,
  sequentialGradCheck, crossCheckSequential, targetPair,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;

describe('gradcheck: dense, flatten, dropout(0)', () => {
  ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'].forEach((activation, i) => {
    test(`dense(5, ${activation}), MSE`, () => {
      sequentialGradCheck({ layers: () => [L.dense({ units: 5, activation, inputShape: [7] })], inputShape: [7], loss: 'meanSquaredError', seed: 300 + i, n: 3, eps: activation === 'relu' ? 3e-3 : 1e-2 });
    });
  });
  test('dense without bias', () => {
    sequentialGradCheck({ layers: () => [L.dense({ units: 4, useBias: false, activation: 'tanh', inputShape: [6] })], inputShape: [6], loss: 'meanSquaredError', seed: 320 });
  });
  test('flatten: conv -> flatten -> dense', () => {
    sequentialGradCheck({
      layers: () => [L.conv2d({ filters: 2, kernelSize: 2, inputShape: [4, 5, 2] }), L.flatten(), L.dense({ units: 3, activation: 'sigmoid' })],
      inputShape: [4, 5, 2], loss: 'meanSquaredError', seed: 321,
    });
  });
  test('flatten straight after the input', () => {
    sequentialGradCheck({ layers: () => [L.flatten({ inputShape: [3, 4, 2] }), L.dense({ units: 3 })], inputShape: [3, 4, 2], loss: 'meanSquaredError', seed: 322 });
  });
  test('dropout(rate 0) is the identity for gradients', () => {
    sequentialGradCheck({
      layers: () => [L.dense({ units: 6, activation: 'tanh', inputShape: [5] }), L.dropout({ rate: 0 }), L.dense({ units: 3 })],
      inputShape: [5], loss: 'meanSquaredError', seed: 323,
    });
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

// ---- dense, flatten, dropout vs tfjs -----------------------------------------------------------------------------
describe('dense, dropout and a LeNet-like stack vs tfjs', () => {
  let j = 0;
  for (const activation of ['linear', 'relu', 'tanh', 'sigmoid', 'softmax']) {
    for (const useBias of [true, false]) {
      const seed = 900 + j++;
      test(`dense(6, ${activation}) useBias=${useBias}, MSE`, () => {
        crossCheckSequential(tf, { specs: [{ type: 'dense', cfg: { units: 6, activation, useBias } }], inputShape: [13], loss: 'meanSquaredError', seed });
      });
    }
  }
  test('dense(relu) -> dropout(0) -> dense(sigmoid), MSE', () => {
    crossCheckSequential(tf, {
      specs: [
        { type: 'dense', cfg: { units: 8, activation: 'relu' } }, { type: 'dropout', cfg: { rate: 0 } },
        { type: 'dense', cfg: { units: 3, activation: 'sigmoid' } },
      ],
      inputShape: [7], loss: 'meanSquaredError', seed: 951,
    });
  });
  test('LeNet-like: conv -> maxpool -> conv -> avgpool -> flatten -> dense -> dropout(0) -> dense softmax', () => {
    crossCheckSequential(tf, {
      specs: [
        { type: 'conv2d', cfg: { filters: 4, kernelSize: 5, padding: 'same', activation: 'relu' } },
        { type: 'maxPooling2d', cfg: { poolSize: 2 } },
        { type: 'conv2d', cfg: { filters: 6, kernelSize: 3, activation: 'tanh' } },
        { type: 'averagePooling2d', cfg: { poolSize: 2, padding: 'same' } },
        { type: 'flatten', cfg: {} },
        { type: 'dense', cfg: { units: 12, activation: 'relu' } },
        { type: 'dropout', cfg: { rate: 0 } },
        { type: 'dense', cfg: { units: 10, activation: 'softmax' } },
      ],
      inputShape: [16, 16, 1], loss: 'sparseCategoricalCrossentropy', seed: 952, n: 4,
    });
  });
});

// ---- batch sizes and repeated calls ---------------------------------------------------------------------------
describe('batch sizes and repeated calls vs tfjs', () => {
  const specs = [
    { type: 'conv2d', cfg: { filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'maxPooling2d', cfg: { poolSize: 2, padding: 'same' } },
    { type: 'flatten', cfg: {} },
    { type: 'dense', cfg: { units: 5, activation: 'softmax' } },
  ];
  const inputShape = [7, 7, 3];
  const loss = 'sparseCategoricalCrossentropy';

  test('computeGradients with 5, then 1, then 8, then 5 samples; repeated calls give identical results', () => {
    const { ours, theirs } = sequentialPair(tf, specs, inputShape, 1200);
    try {
      ours.compile({ optimizer: 'sgd', loss });
      let first = null;
      for (const [step, n] of [5, 1, 8, 5].entries()) {
        const xValues = normals(n * size(inputShape), 1201 + n);
        const y = targetPair(tf, loss, [5], n, 1300 + n);
        const got = checkGradientsVsTfjs(tf, ours, theirs, xValues, [n, ...inputShape], loss, y);
        if (n === 5 && step === 0) first = got;
        if (n === 5 && step === 3) { // same batch again, after other batch sizes: bit-identical (no accumulation)
          assert.equal(got.loss, first.loss);
          assert.deepEqual(got.inputGradient.dataSync(), first.inputGradient.dataSync());
          got.gradients.forEach((g, i) => assert.deepEqual(g.dataSync(), first.gradients[i].dataSync(), `gradient ${i}`));
        }
        tf.dispose(y.theirs);
      }
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });

  test('predict of 37 samples in batches of 8 (and of 1) equals tfjs', () => {
    const { ours, theirs } = sequentialPair(tf, specs, inputShape, 1210);
    try {
      const xValues = normals(37 * size(inputShape), 1211);
      const want = theirs.predict(tf.tensor(xValues, [37, ...inputShape])).dataSync();
      for (const batchSize of [8, 1, 64]) {
        const got = ours.predict(cnn.tensor(xValues, [37, ...inputShape]), { batchSize });
        assert.deepEqual([...got.shape], [37, 5]);
        assertClose(got.dataSync(), want, FORWARD_TOL, `predict batchSize ${batchSize}`);
      }
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });
});
