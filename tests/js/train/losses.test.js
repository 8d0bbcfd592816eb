// The losses (web/model/compile.js, the engine's loss kernels): sparse and dense categorical cross-entropy (fused with
// a softmax output or through the probability formula, one-hot and soft targets, per pixel), mean squared error,
// compile({ classWeights, ignoreLabel }) (PyTorch's CrossEntropyLoss(weight, ignore_index): Σ w[y]·(−log p_y) / Σ w[y]
// over the pixels that count), and the segmentation metrics pixelAccuracy / meanIoU — gradient checks, loss values
// against their definitions (float64 hand computations), and cross-checks against tfjs.
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
  normals, ints, size, maxAbs, assertClose, tfLoss, readyWithTfjsCpu, sequentialPair, FORWARD_TOL, GRAD_TOL,
  sequentialGradCheck, crossCheckSequential,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
const values = (t) => t.dataSync();

describe('gradcheck: losses', () => {
  const dense = (activation, units = 4) => () => [L.dense({ units, activation, inputShape: [6] })];
  test('sparseCategoricalCrossentropy, softmax output (fused)', () => {
    sequentialGradCheck({ layers: dense('softmax'), inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 400, n: 3 });
  });
  test('sparseCategoricalCrossentropy, sigmoid output (probability formula)', () => {
    sequentialGradCheck({ layers: dense('sigmoid'), inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 401, n: 3 });
  });
  test('sparseCategoricalCrossentropy, softmax -> dropout(0) (not fused)', () => {
    sequentialGradCheck({
      layers: () => [L.dense({ units: 4, activation: 'softmax', inputShape: [6] }), L.dropout({ rate: 0 })],
      inputShape: [6], loss: 'sparseCategoricalCrossentropy', seed: 402, n: 3,
    });
  });
  test('sparseCategoricalCrossentropy per pixel (conv softmax output)', () => {
    sequentialGradCheck({
      layers: () => [L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'softmax', inputShape: [4, 5, 2] })],
      inputShape: [4, 5, 2], loss: 'sparseCategoricalCrossentropy', seed: 403,
    });
  });
  test('categoricalCrossentropy, softmax output (fused), one-hot', () => {
    sequentialGradCheck({ layers: dense('softmax'), inputShape: [6], loss: 'categoricalCrossentropy', seed: 404, n: 3 });
  });
  test('categoricalCrossentropy, softmax output (fused), soft targets', () => {
    sequentialGradCheck({ layers: dense('softmax'), inputShape: [6], loss: 'categoricalCrossentropy', seed: 405, n: 3, soft: true });
  });
  test('categoricalCrossentropy, sigmoid output (probability formula), soft targets', () => {
    sequentialGradCheck({ layers: dense('sigmoid'), inputShape: [6], loss: 'categoricalCrossentropy', seed: 406, n: 3, soft: true });
  });
  test('meanSquaredError, linear and sigmoid outputs', () => {
    sequentialGradCheck({ layers: dense('linear'), inputShape: [6], loss: 'meanSquaredError', seed: 407, n: 3 });
    sequentialGradCheck({ layers: dense('sigmoid'), inputShape: [6], loss: 'meanSquaredError', seed: 408, n: 3 });
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
    sequentialGradCheck({
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

// ---- losses ----------------------------------------------------------------------------------------------------
describe('losses vs tfjs', () => {
  const dense = (activation, units = 5) => [{ type: 'dense', cfg: { units, activation } }];
  test('sparseCategoricalCrossentropy, softmax output (fused)', () => {
    crossCheckSequential(tf, { specs: dense('softmax'), inputShape: [9], loss: 'sparseCategoricalCrossentropy', seed: 1001, n: 6 });
  });
  test('sparseCategoricalCrossentropy, sigmoid output (probability formula)', () => {
    crossCheckSequential(tf, { specs: dense('sigmoid'), inputShape: [9], loss: 'sparseCategoricalCrossentropy', seed: 1002, n: 6 });
  });
  test('sparseCategoricalCrossentropy, softmax -> dropout(0) output (not fused: probability formula)', () => {
    crossCheckSequential(tf, {
      specs: [...dense('softmax'), { type: 'dropout', cfg: { rate: 0 } }], inputShape: [9],
      loss: 'sparseCategoricalCrossentropy', seed: 1003, n: 6,
    });
  });
  test('sparseCategoricalCrossentropy, large logits (stable log-sum-exp)', () => {
    crossCheckSequential(tf, { specs: dense('softmax'), inputShape: [9], loss: 'sparseCategoricalCrossentropy', seed: 1004, n: 6, inputScale: 4 });
  });
  test('sparseCategoricalCrossentropy per pixel: conv 1x1 softmax output [n, h, w, classes]', () => {
    crossCheckSequential(tf, {
      specs: [{ type: 'conv2d', cfg: { filters: 4, kernelSize: 3, padding: 'same', activation: 'softmax' } }],
      inputShape: [5, 7, 2], loss: 'sparseCategoricalCrossentropy', seed: 1005, n: 2,
    });
  });
  test('categoricalCrossentropy, softmax output (fused), one-hot targets', () => {
    crossCheckSequential(tf, { specs: dense('softmax'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1006, n: 6 });
  });
  test('categoricalCrossentropy, softmax output (fused), soft targets', () => {
    crossCheckSequential(tf, { specs: dense('softmax'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1007, n: 6, soft: true });
  });
  test('categoricalCrossentropy, sigmoid output (probability formula), soft targets', () => {
    crossCheckSequential(tf, { specs: dense('sigmoid'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1008, n: 6, soft: true });
  });
  test('categoricalCrossentropy, sigmoid output (probability formula), one-hot targets', () => {
    crossCheckSequential(tf, { specs: dense('sigmoid'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1009, n: 6 });
  });
  test('meanSquaredError, linear output', () => {
    crossCheckSequential(tf, { specs: dense('linear'), inputShape: [9], loss: 'meanSquaredError', seed: 1010, n: 6 });
  });
  test('meanSquaredError, softmax output (softmax backward, not fused)', () => {
    crossCheckSequential(tf, { specs: dense('softmax'), inputShape: [9], loss: 'meanSquaredError', seed: 1011, n: 6 });
  });
  test('meanSquaredError, image output [n, h, w, c]', () => {
    crossCheckSequential(tf, {
      specs: [{ type: 'conv2d', cfg: { filters: 3, kernelSize: 3, padding: 'same', activation: 'sigmoid' } }],
      inputShape: [6, 5, 2], loss: 'meanSquaredError', seed: 1012, n: 2,
    });
  });
  test('evaluate() loss equals tfjs loss (inference mode)', () => {
    const { ours, theirs } = sequentialPair(tf, dense('softmax', 4), [6], 1013);
    try {
      ours.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const xv = normals(10 * 6, 1014);
      const labels = ints(10, 1015, 4);
      const got = ours.evaluate(cnn.tensor(xv, [10, 6]), cnn.tensor(labels, [10], 'int32'), { batchSize: 3 });
      const want = tfLoss(tf, 'sparseCategoricalCrossentropy', tf.tensor(labels, [10], 'int32'), theirs.predict(tf.tensor(xv, [10, 6])));
      assertClose(got.dataSync(), want.dataSync(), FORWARD_TOL, 'evaluate loss');
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });
});

// ---- per-pixel sparse cross-entropy, classWeights, ignoreLabel, metrics -------------------------------------------
describe('segmentation losses and metrics', () => {
  const SHAPE = [5, 6, 2];
  const CLASSES = 4;

  /** conv2d 3×3 'same' with a softmax over `classes` channels: [n, 5, 6, 2] → [n, 5, 6, classes]. */
  function segModel(seed, classes = CLASSES) {
    return sequentialPair(tf, [{ type: 'conv2d', cfg: { filters: classes, kernelSize: 3, padding: 'same', activation: 'softmax' } }], SHAPE, seed);
  }

  test('unweighted: loss (computeGradients, evaluate) and gradients vs tfjs sparseCategoricalCrossentropy, averaged over all pixels', () => {
    const { ours, theirs } = segModel(21);
    try {
      ours.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const n = 3;
      const xShape = [n, ...SHAPE];
      const xv = normals(size(xShape), 22);
      const labels = ints(n * 30, 23, CLASSES);
      const tx = tf.tensor(xv, xShape);
      const ty = tf.tensor(labels, [n, 5, 6], 'int32');
      const xVar = tf.variable(tx, true, `x_${Math.random()}`);
      const vars = theirs.trainableWeights.map((w) => w.read());
      const { value, grads } = tf.variableGrads(() => tfLoss(tf, 'sparseCategoricalCrossentropy', ty, theirs.apply(xVar)), [xVar, ...vars]);
      const y = cnn.tensor(labels, [n, 5, 6], 'int32');
      const got = ours.computeGradients(cnn.tensor(xv, xShape), y);
      assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'loss (computeGradients)');
      const ev = ours.evaluate(cnn.tensor(xv, xShape), y, { batchSize: 2 });
      assertClose(values(Array.isArray(ev) ? ev[0] : ev), value.dataSync(), FORWARD_TOL, 'loss (evaluate, 2 batches)');
      assertClose(got.inputGradient.dataSync(), grads[xVar.name].dataSync(), GRAD_TOL, 'd loss / d input');
      got.gradients.forEach((g, i) => assertClose(g.dataSync(), grads[vars[i].name].dataSync(), GRAD_TOL, `d loss / d ${vars[i].name}`));
      // Labels of shape [n, h, w, 1] are accepted too.
      assertClose([ours.computeGradients(cnn.tensor(xv, xShape), cnn.tensor(labels, [n, 5, 6, 1], 'int32')).loss], value.dataSync(),
        FORWARD_TOL, 'loss with [n, h, w, 1] labels');
      tf.dispose([tx, ty, xVar, value, ...Object.values(grads)]);
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });

  /** float64 weighted mean: Σ w[y]·(−log clip(p_y)) / Σ w[y] over pixels whose label is not `ignore`. */
  function handLoss(probs, labels, classes, weights, ignore) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === ignore) continue;
      const wgt = weights ? weights[labels[i]] : 1;
      const p = Math.min(Math.max(probs[i * classes + labels[i]], 1e-7), 1 - 1e-7);
      num += wgt * -Math.log(p);
      den += wgt;
    }
    return num / den;
  }

  test('classWeights and ignoreLabel: loss vs a float64 hand computation, gradients vs tfjs of the same weighted mean', () => {
    const classWeights = [0.2, 1, 2.5, 0.7];
    const IGNORE = 255;
    const { ours, theirs } = segModel(31);
    try {
      ours.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', classWeights, ignoreLabel: IGNORE });
      const n = 4;
      const xShape = [n, ...SHAPE];
      const xv = normals(size(xShape), 32);
      const labels = ints(n * 30, 33, CLASSES);
      const r = ints(labels.length, 34, 5);
      for (let i = 0; i < labels.length; i++) if (r[i] === 0) labels[i] = IGNORE; // about a fifth ignored
      const ignored = labels.filter((v) => v === IGNORE).length;
      assert.ok(ignored > 10 && ignored < labels.length - 10);
      const x = cnn.tensor(xv, xShape);
      const y = cnn.tensor(labels, [n, 5, 6], 'int32');
      const probs = ours.predict(x).dataSync();
      const expected = handLoss(probs, labels, CLASSES, classWeights, IGNORE);
      const got = ours.computeGradients(x, y);
      assertClose([got.loss], [expected], FORWARD_TOL, 'weighted loss (computeGradients)', 'hand');
      // evaluate: the weighted mean over the whole set, also when it runs in batches of unequal total weight.
      for (const batchSize of [n, 3, 1]) {
        const ev = ours.evaluate(x, y, { batchSize });
        assertClose(values(Array.isArray(ev) ? ev[0] : ev), [expected], FORWARD_TOL, `weighted loss (evaluate, batchSize ${batchSize})`, 'hand');
      }
      // Not the unweighted mean, nor the mean over all pixels.
      assert.ok(Math.abs(expected - handLoss(probs, labels, CLASSES, null, IGNORE)) > 1e-2);

      // Gradients: tfjs's per-pixel cross-entropy times per-pixel weights (0 where ignored), summed, over Σ weights.
      const pixW = Float32Array.from(labels, (l) => (l === IGNORE ? 0 : classWeights[l]));
      const safe = Int32Array.from(labels, (l) => (l === IGNORE ? 0 : l));
      const ty = tf.tensor(safe, [n, 5, 6], 'int32');
      const tw = tf.tensor(pixW, [n, 5, 6]);
      const wsum = pixW.reduce((a, b) => a + b, 0);
      const tx = tf.tensor(xv, xShape);
      const xVar = tf.variable(tx, true, `x_${Math.random()}`);
      const vars = theirs.trainableWeights.map((w) => w.read());
      const { value, grads } = tf.variableGrads(() => {
        const out = tf.clipByValue(theirs.apply(xVar), 1e-7, 1 - 1e-7);
        const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(ty, CLASSES), tf.log(out)), -1));
        return tf.div(tf.sum(tf.mul(ce, tw)), wsum);
      }, [xVar, ...vars]);
      assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'weighted loss vs tfjs');
      assertClose(got.inputGradient.dataSync(), grads[xVar.name].dataSync(), GRAD_TOL, 'd loss / d input');
      got.gradients.forEach((g, i) => assertClose(g.dataSync(), grads[vars[i].name].dataSync(), GRAD_TOL, `d loss / d ${vars[i].name}`));
      tf.dispose([ty, tw, tx, xVar, value, ...Object.values(grads)]);

      // Every pixel ignored: loss 0 and zero gradients (behaviour asserted; PyTorch's mean over no pixels is NaN).
      const none = ours.computeGradients(x, cnn.tensor(new Int32Array(labels.length).fill(IGNORE), [n, 5, 6], 'int32'));
      assert.equal(none.loss, 0);
      assert.equal(maxAbs(none.inputGradient.dataSync()), 0);
      none.gradients.forEach((g) => assert.equal(maxAbs(g.dataSync()), 0));
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });

  test('pixelAccuracy and meanIoU from evaluate vs a hand computation from predict (with ignoreLabel, several batches)', () => {
    const classes = 5; // class 4: never a label and never predicted → empty union, left out of the mean
    const IGNORE = 255;
    const { ours, theirs } = segModel(41, classes);
    theirs.dispose();
    try {
      const [kernel, bias] = ours.getWeights();
      const b = bias.dataSync().slice();
      b[4] = -50;
      ours.setWeights([kernel, cnn.tensor(b, bias.shape)]);
      ours.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['pixelAccuracy', 'meanIoU'], ignoreLabel: IGNORE });
      const n = 5;
      const xShape = [n, ...SHAPE];
      const x = cnn.tensor(normals(size(xShape), 42), xShape);
      const probs = ours.predict(x).dataSync();
      const pixels = n * 30;
      const pred = new Int32Array(pixels);
      for (let i = 0; i < pixels; i++) {
        let best = 0;
        for (let k = 1; k < classes; k++) if (probs[i * classes + k] > probs[i * classes + best]) best = k;
        pred[i] = best;
      }
      assert.ok(!pred.includes(4));
      // Labels: the prediction for about half the pixels (so accuracy and IoU are far from 0), random otherwise.
      const labels = ints(pixels, 43, 4);
      const coin = ints(pixels, 44, 6);
      for (let i = 0; i < pixels; i++) {
        if (coin[i] < 3) labels[i] = pred[i];
        else if (coin[i] === 5) labels[i] = IGNORE;
      }
      let correct = 0;
      let counted = 0;
      const tp = new Float64Array(classes);
      const inLabel = new Float64Array(classes);
      const inPred = new Float64Array(classes);
      for (let i = 0; i < pixels; i++) {
        if (labels[i] === IGNORE) continue;
        counted++;
        inLabel[labels[i]]++;
        inPred[pred[i]]++;
        if (labels[i] === pred[i]) { correct++; tp[labels[i]]++; }
      }
      let iouSum = 0;
      let present = 0;
      for (let k = 0; k < classes; k++) {
        const union = inLabel[k] + inPred[k] - tp[k];
        if (union > 0) { iouSum += tp[k] / union; present++; }
      }
      assert.equal(present, 4);
      const y = cnn.tensor(labels, [n, 5, 6], 'int32');
      for (const batchSize of [n, 2]) {
        const [lossT, accT, iouT] = ours.evaluate(x, y, { batchSize });
        assertClose(values(accT), [correct / counted], 1e-6, `pixelAccuracy (batchSize ${batchSize})`, 'hand');
        assertClose(values(iouT), [iouSum / present], 1e-6, `meanIoU (batchSize ${batchSize})`, 'hand');
        if (batchSize === n) assertClose(values(lossT), [handLoss(probs, labels, classes, null, IGNORE)], FORWARD_TOL, 'loss', 'hand');
      }
      // The order of the metrics follows compile's.
      ours.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['meanIoU', 'pixelAccuracy'], ignoreLabel: IGNORE });
      const [, iouT, accT] = ours.evaluate(x, y);
      assertClose(values(iouT), [iouSum / present], 1e-6, 'meanIoU (second)', 'hand');
      assertClose(values(accT), [correct / counted], 1e-6, 'pixelAccuracy (third)', 'hand');
    } finally {
      ours.dispose();
    }
  });
});
