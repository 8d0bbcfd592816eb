// batchNormalization (web/layers/normalization.js): gradient checks in training mode (batch statistics, so every
// sample's output depends on every input; computeGradients does not move the moving statistics), and cross-checks
// against tfjs with identical non-default weights (gammas, betas, moving statistics): inference mode (predict),
// training mode (computeGradients' loss, the training-mode output, gradients vs tf.variableGrads of
// model.apply(x, { training: true })), and the moving statistics after fit steps vs tfjs's trainOnBatch.
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
  normals, size, assertClose, makeTargets, copyWeightsToTfjs, randomizeWeights, gradCheck, FORWARD_TOL, GRAD_TOL,
  readyWithTfjsCpu, graphPair, checkTrainingGradients, crossCheckGraph, tfWeightName,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
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

/**
 * Our training-mode output, recovered from computeGradients' MSE loss (compile the model with MSE first):
 * L(y) = Σ (o - y)² / N, so with y = 0 and y = t·e_i, o_i = (t² + N (L(0) - L(t e_i))) / (2t).
 */
function trainingOutput(model, x, outShape) {
  const N = size(outShape);
  const zeros = new Float32Array(N);
  const l0 = model.computeGradients(x, cnn.tensor(zeros, outShape)).loss;
  const t = 4;
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const y = new Float32Array(N);
    y[i] = t;
    const li = model.computeGradients(x, cnn.tensor(y, outShape)).loss;
    out[i] = (t * t + N * (l0 - li)) / (2 * t);
  }
  return out;
}

// ---- batch normalization -----------------------------------------------------------------------------------------
describe('batchNormalization vs tfjs', () => {
  const bnOnly = (cfg) => (L, x) => L.batchNormalization({ name: 'bn', ...cfg }).apply(x);

  test('image input, momentum 0.9: inference forward, training-mode forward and loss, gradients (input, gamma, beta)', () => {
    const inputShape = [3, 4, 3];
    const n = 4;
    const { ours, theirs } = graphPair(tf, bnOnly({ momentum: 0.9, epsilon: 1e-3 }), inputShape, 11);
    try {
      // The statistics are non-default (and differ from the batch's), so inference and training modes differ.
      const [gamma, beta, mean, variance] = ours.getWeights().map((w) => Array.from(w.dataSync()));
      assert.ok(gamma.every((v) => v !== 1) && beta.every((v) => v !== 0) && mean.every((v) => v !== 0) && variance.every((v) => v !== 1));
      ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      const xShape = [n, ...inputShape];
      // Channels with different means and scales.
      const xValues = normals(size(xShape), 12).map((v, i) => v * (1 + (i % 3)) + (i % 3) - 1);
      const x = cnn.tensor(xValues, xShape);

      const inference = ours.predict(x).dataSync();
      const tfInference = theirs.predict(tf.tensor(xValues, xShape));
      assertClose(inference, tfInference.dataSync(), FORWARD_TOL, 'inference forward');
      // By definition: γ (x − moving mean) / √(moving var + ε) + β.
      const byHand = xValues.map((v, i) => {
        const c = i % 3;
        return gamma[c] * (v - mean[c]) / Math.sqrt(variance[c] + 1e-3) + beta[c];
      });
      assertClose(inference, byHand, FORWARD_TOL, 'inference forward', 'the formula');

      const training = trainingOutput(ours, x, xShape);
      const tfTraining = theirs.apply(tf.tensor(xValues, xShape), { training: true });
      assertClose(training, tfTraining.dataSync(), FORWARD_TOL, 'training-mode forward');
      assert.ok(Math.max(...training.map((v, i) => Math.abs(v - inference[i]))) > 0.1, 'training mode must use the batch statistics');
      // The recovery above called computeGradients N + 1 times: the moving statistics did not move.
      assert.deepEqual(Array.from(ours.getWeights()[2].dataSync()), mean);
      assert.deepEqual(Array.from(ours.getWeights()[3].dataSync()), variance);
      tf.dispose([tfInference, tfTraining]);
      copyWeightsToTfjs(tf, ours, theirs);

      const target = makeTargets('meanSquaredError', inputShape, n, 13);
      checkTrainingGradients(tf, ours, theirs, xValues, xShape, 'meanSquaredError', target);
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });

  test('center: false / scale: false variants, inference forward (tfjs cannot train them)', () => {
    for (const [i, cfg] of [{ center: false }, { scale: false }, { center: false, scale: false }].entries()) {
      const { ours, theirs } = graphPair(tf, bnOnly({ ...cfg, epsilon: 0.01 }), [2, 3, 5], 20 + i);
      try {
        assert.deepEqual(ours.weightNames(), theirs.weights.map(tfWeightName), 'weights');
        const xValues = normals(2 * 2 * 3 * 5, 30 + i, 2);
        assertClose(ours.predict(cnn.tensor(xValues, [2, 2, 3, 5])).dataSync(),
          theirs.predict(tf.tensor(xValues, [2, 2, 3, 5])).dataSync(), FORWARD_TOL, JSON.stringify(cfg));
      } finally {
        ours.dispose();
        theirs.dispose();
      }
    }
  });

  test('conv (no bias) -> BN -> relu -> flatten -> dense softmax, sparse CE', () => {
    crossCheckGraph(tf, {
      graph: (L, x) => {
        let t = L.conv2d({ name: 'c', filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
        t = L.batchNormalization({ name: 'bn' }).apply(t);
        t = L.reLU({ name: 'r' }).apply(t);
        t = L.flatten({ name: 'f' }).apply(t);
        return L.dense({ name: 'd', units: 3, activation: 'softmax' }).apply(t);
      },
      inputShape: [5, 5, 2], loss: 'sparseCategoricalCrossentropy', n: 4, seed: 40,
    });
  });

  test('BN on flat features: dense -> BN -> dense tanh, MSE', () => {
    crossCheckGraph(tf, {
      graph: (L, x) => {
        // No bias before batch norm: the batch mean removes it (its gradient is 0 up to rounding).
        const t = L.batchNormalization({ name: 'bn', momentum: 0.5 }).apply(L.dense({ name: 'd1', units: 6, useBias: false }).apply(x));
        return L.dense({ name: 'd2', units: 3, activation: 'tanh' }).apply(t);
      },
      inputShape: [7], n: 5, seed: 41,
    });
  });

  test('moving statistics and weights after fit steps equal tfjs trainOnBatch (momentum 0.8, biased variance)', async () => {
    const graph = (L, x) => {
      let t = L.conv2d({ name: 'c', filters: 5, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
      t = L.batchNormalization({ name: 'bn', momentum: 0.8, epsilon: 1e-3 }).apply(t);
      t = L.flatten({ name: 'f' }).apply(t);
      return L.dense({ name: 'd', units: 3 }).apply(t);
    };
    const inputShape = [4, 4, 3];
    const n = 6;
    const { ours, theirs } = graphPair(tf, graph, inputShape, 50);
    try {
      ours.compile({ optimizer: cnn.train.sgd(0.05), loss: 'meanSquaredError' });
      theirs.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
      const xValues = normals(n * size(inputShape), 51, 1.5).map((v, i) => v + (i % 3)); // non-zero channel means
      const yValues = normals(n * 3, 52);
      const before = ours.getWeights().map((w) => w.dataSync().slice());
      const names = ours.weightNames();
      const im = names.indexOf('bn/moving_mean');
      const iv = names.indexOf('bn/moving_variance');

      // The expected first-step statistics, from the conv output of the batch (computed by tfjs) in float64.
      const convOut = tf.model({ inputs: theirs.inputs, outputs: theirs.getLayer('c').output })
        .predict(tf.tensor(xValues, [n, ...inputShape])).dataSync();
      const c = 5;
      const rows = convOut.length / c;
      const expMean = [];
      const expVar = [];
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += convOut[r * c + j];
        const mu = s / rows;
        let v = 0;
        for (let r = 0; r < rows; r++) v += (convOut[r * c + j] - mu) ** 2;
        expMean.push(before[im][j] * 0.8 + mu * 0.2);
        expVar.push(before[iv][j] * 0.8 + (v / rows) * 0.2); // biased: / rows, not / (rows - 1)
      }

      // One step over the whole batch.
      await ours.fit(cnn.tensor(xValues, [n, ...inputShape]), cnn.tensor(yValues, [n, 3]), { batchSize: n, epochs: 1, shuffle: false });
      await theirs.trainOnBatch(tf.tensor(xValues, [n, ...inputShape]), tf.tensor(yValues, [n, 3]));
      let got = ours.getWeights();
      assertClose(got[im].dataSync(), expMean, FORWARD_TOL, 'moving mean after one step', 'the formula');
      assertClose(got[iv].dataSync(), expVar, FORWARD_TOL, 'moving variance after one step', 'the formula');
      const compareAll = (what) => {
        const want = theirs.getWeights();
        assert.deepEqual(ours.weightNames(), theirs.weights.map(tfWeightName));
        got.forEach((w, i) => {
          const delta = w.dataSync().map((v, k) => v - before[i][k]);
          const tfDelta = want[i].dataSync().map((v, k) => v - before[i][k]);
          assertClose(w.dataSync(), want[i].dataSync(), FORWARD_TOL, `${what}: ${names[i]}`);
          // The change itself (the update) to gradient accuracy.
          assertClose(delta, tfDelta, GRAD_TOL, `${what}: change of ${names[i]}`);
        });
      };
      compareAll('after one step');

      // Two more steps of 3 samples each (fit with batchSize 3): the statistics follow tfjs batch by batch.
      await ours.fit(cnn.tensor(xValues, [n, ...inputShape]), cnn.tensor(yValues, [n, 3]), { batchSize: 3, epochs: 1, shuffle: false });
      for (const s of [0, 3]) {
        await theirs.trainOnBatch(tf.tensor(xValues.slice(s * 48, (s + 3) * 48), [3, ...inputShape]),
          tf.tensor(yValues.slice(s * 3, (s + 3) * 3), [3, 3]));
      }
      got = ours.getWeights();
      compareAll('after three steps');

      // evaluate / predict use the moving statistics: equal to tfjs's predict with its (equal) moving statistics.
      assertClose(ours.predict(cnn.tensor(xValues, [n, ...inputShape])).dataSync(),
        theirs.predict(tf.tensor(xValues, [n, ...inputShape])).dataSync(), FORWARD_TOL, 'predict after training');
      const evalOurs = ours.evaluate(cnn.tensor(xValues, [n, ...inputShape]), cnn.tensor(yValues, [n, 3]), { batchSize: 4 });
      const evalTf = theirs.evaluate(tf.tensor(xValues, [n, ...inputShape]), tf.tensor(yValues, [n, 3]), { batchSize: 4 });
      assertClose(evalOurs.dataSync(), evalTf.dataSync(), FORWARD_TOL, 'evaluate after training (batches of 4 and 2)');
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });
});
