// Cross-checks the block layers against @tensorflow/tfjs (cpu backend) with identical weights (copied layer by layer
// with setWeights, non-default biases, gammas, betas and moving statistics): batch normalization in inference mode
// (predict) and in training mode (computeGradients' loss, the training-mode output, gradients vs tf.variableGrads of
// model.apply(x, { training: true })), its moving statistics after fit steps vs tfjs's trainOnBatch, residual and
// Inception blocks, global pooling, ReLU / LeakyReLU layers, zero padding, add and concatenate.
// Errors are max |ours - tfjs| / max |tfjs|: below 1e-4 forward (outputs, losses, statistics), 1e-3 for gradients.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import {
  normals, size, assertClose, buildOurs, buildTfjs, randomizeWeights, copyWeightsToTfjs, tfLoss, makeTargets,
  readyWithTfjsCpu,
} from './helpers.js';

const FORWARD_TOL = 1e-4;
const GRAD_TOL = 1e-3;

before(() => readyWithTfjsCpu(tf));

/** Both models with the same non-default weights. */
function pair(graph, inputShape, seed) {
  const ours = buildOurs(graph, inputShape, seed);
  const theirs = buildTfjs(tf, graph, inputShape);
  randomizeWeights(ours, seed);
  copyWeightsToTfjs(tf, ours, theirs);
  return { ours, theirs };
}

/** tfjs weights by their layer-qualified name ('layer/kernel'). */
const tfName = (w) => w.originalName;

/**
 * Training-mode loss and gradients: ours.computeGradients(x, y) vs tf.variableGrads of the tfjs loss of
 * theirs.apply(x, { training: true }) (batch statistics in batch norm). Gradients are matched by weight name; the
 * non-trainable ones (moving statistics) must come back as zeros. tfjs's training-mode apply moves its moving
 * statistics; they are restored from ours afterwards.
 */
function checkTrainingGradients(ours, theirs, xValues, xShape, loss, target) {
  const got = ours.computeGradients(cnn.tensor(xValues, xShape), cnn.tensor(target.values, target.shape, target.dtype));
  const xVar = tf.variable(tf.tensor(xValues, xShape), true, `x_${Math.random()}`);
  const vars = theirs.trainableWeights.map((w) => w.read());
  const yTf = tf.tensor(target.values, target.shape, target.dtype);
  const { value, grads } = tf.variableGrads(
    () => tfLoss(tf, loss, yTf, theirs.apply(xVar, { training: true })), [xVar, ...vars]);
  assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'training-mode loss');
  assert.deepEqual([...got.inputGradient.shape], xShape, 'input gradient shape');
  assertClose(got.inputGradient.dataSync(), grads[xVar.name].dataSync(), GRAD_TOL, 'd loss / d input');
  const names = ours.weightNames();
  assert.equal(got.gradients.length, names.length, 'one gradient per weight (getWeights() order)');
  theirs.trainableWeights.forEach((w, i) => {
    const k = names.indexOf(tfName(w));
    assert.ok(k >= 0, `no gradient named ${tfName(w)} among ${names.join(', ')}`);
    assertClose(got.gradients[k].dataSync(), grads[vars[i].name].dataSync(), GRAD_TOL, `d loss / d ${tfName(w)}`);
  });
  names.forEach((name, k) => {
    if (/moving_(mean|variance)$/.test(name)) assert.ok(got.gradients[k].dataSync().every((v) => v === 0), `${name} gradient not zero`);
  });
  tf.dispose([xVar, yTf, value, ...Object.values(grads)]);
  copyWeightsToTfjs(tf, ours, theirs); // undo tfjs's moving-statistics update
  return got;
}

/**
 * Full cross-check of a graph: the same weights (by name), inference forward (predict), then training-mode loss and
 * gradients. (The order of getWeights() is checked separately, in 'getWeights() order vs tfjs' below.)
 */
function crossCheck({ graph, inputShape, loss = 'meanSquaredError', n = 3, seed = 1, inputScale = 1 }) {
  const { ours, theirs } = pair(graph, inputShape, seed);
  try {
    assert.deepEqual(ours.weightNames().slice().sort(), theirs.weights.map(tfName).sort(), 'weight names');
    ours.compile({ optimizer: 'sgd', loss });
    const xShape = [n, ...inputShape];
    const xValues = normals(size(xShape), seed + 100, inputScale);
    const outOurs = ours.predict(cnn.tensor(xValues, xShape));
    const outTf = theirs.predict(tf.tensor(xValues, xShape));
    assert.deepEqual([...outOurs.shape], outTf.shape, 'output shape');
    assertClose(outOurs.dataSync(), outTf.dataSync(), FORWARD_TOL, 'forward output (inference mode)');
    const target = makeTargets(loss, outTf.shape.slice(1), n, seed + 200);
    tf.dispose(outTf);
    return checkTrainingGradients(ours, theirs, xValues, xShape, loss, target);
  } finally {
    ours.dispose();
    theirs.dispose();
  }
}

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
    const { ours, theirs } = pair(bnOnly({ momentum: 0.9, epsilon: 1e-3 }), inputShape, 11);
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
      checkTrainingGradients(ours, theirs, xValues, xShape, 'meanSquaredError', target);
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });

  test('center: false / scale: false variants, inference forward (tfjs cannot train them)', () => {
    for (const [i, cfg] of [{ center: false }, { scale: false }, { center: false, scale: false }].entries()) {
      const { ours, theirs } = pair(bnOnly({ ...cfg, epsilon: 0.01 }), [2, 3, 5], 20 + i);
      try {
        assert.deepEqual(ours.weightNames(), theirs.weights.map(tfName), 'weights');
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
    crossCheck({
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
    crossCheck({
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
    const { ours, theirs } = pair(graph, inputShape, 50);
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
        assert.deepEqual(ours.weightNames(), theirs.weights.map(tfName));
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

// ---- blocks ------------------------------------------------------------------------------------------------------
/** conv-BN-relu-conv-BN + shortcut, add, relu. shortcut: 'identity' or 'conv' (1x1 projection, stride 2 block). */
function residualBlock(L, x, { filters, shortcut = 'identity', prefix = 'res' }) {
  const strides = shortcut === 'conv' ? 2 : 1;
  let t = L.conv2d({ name: `${prefix}_c1`, filters, kernelSize: 3, strides, padding: 'same', useBias: false }).apply(x);
  t = L.batchNormalization({ name: `${prefix}_bn1`, momentum: 0.9 }).apply(t);
  t = L.reLU({ name: `${prefix}_r1` }).apply(t);
  t = L.conv2d({ name: `${prefix}_c2`, filters, kernelSize: 3, padding: 'same', useBias: false }).apply(t);
  t = L.batchNormalization({ name: `${prefix}_bn2`, momentum: 0.9 }).apply(t);
  let s = x;
  if (shortcut === 'conv') {
    s = L.conv2d({ name: `${prefix}_sc`, filters, kernelSize: 1, strides, useBias: false }).apply(x);
    s = L.batchNormalization({ name: `${prefix}_scbn`, momentum: 0.9 }).apply(s);
  }
  return L.reLU({ name: `${prefix}_out` }).apply(L.add({ name: `${prefix}_add` }).apply([t, s]));
}

/** Four branches, concatenated on the channel axis. */
function inceptionBlock(L, x, { prefix = 'inc', bn = false }) {
  const conv = (name, filters, kernelSize, input) => {
    let t = L.conv2d({ name: `${prefix}_${name}`, filters, kernelSize, padding: 'same', activation: bn ? 'linear' : 'relu', useBias: !bn }).apply(input);
    if (bn) t = L.reLU({ name: `${prefix}_${name}_r` }).apply(L.batchNormalization({ name: `${prefix}_${name}_bn` }).apply(t));
    return t;
  };
  const b1 = conv('b1', 3, 1, x);
  const b2 = conv('b2b', 4, 3, conv('b2a', 2, 1, x));
  const b3 = conv('b3b', 2, 5, conv('b3a', 2, 1, x));
  const b4 = conv('b4', 2, 1, L.maxPooling2d({ name: `${prefix}_pool`, poolSize: 3, strides: 1, padding: 'same' }).apply(x));
  return L.concatenate({ name: `${prefix}_cat` }).apply([b1, b2, b3, b4]);
}

describe('residual and Inception blocks vs tfjs', () => {
  test('residual block (identity shortcut), MSE on the block output', () => {
    crossCheck({ graph: (L, x) => residualBlock(L, x, { filters: 4 }), inputShape: [5, 6, 4], n: 3, seed: 60 });
  });
  test('residual block (projection shortcut, stride 2) -> global average pooling -> dense softmax, sparse CE', () => {
    crossCheck({
      graph: (L, x) => {
        let t = L.conv2d({ name: 'stem', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
        t = residualBlock(L, t, { filters: 6, shortcut: 'conv' });
        t = L.globalAveragePooling2d({ name: 'gap' }).apply(t);
        return L.dense({ name: 'head', units: 4, activation: 'softmax' }).apply(t);
      },
      inputShape: [7, 7, 3], loss: 'sparseCategoricalCrossentropy', n: 4, seed: 61,
    });
  });
  test('Inception block (1x1, 1x1-3x3, 1x1-5x5, pool-1x1) -> conv 1x1, MSE', () => {
    crossCheck({
      graph: (L, x) => L.conv2d({ name: 'mix', filters: 3, kernelSize: 1 }).apply(inceptionBlock(L, x, {})),
      inputShape: [6, 7, 3], n: 2, seed: 62,
    });
  });
  // Global average, not max, pooling after the block: max pooling (stride 1) copies one input value into several
  // neighbouring outputs, so the pool branch's channels hold exact ties, and tfjs's max gradient sends the full
  // gradient to every tied position (e.g. 4x the finite difference), where ours sends it to one (= the finite
  // difference). The global max pooling tests below use inputs without ties.
  test('Inception block with BN in every branch -> global average pooling -> dense softmax, sparse CE', () => {
    crossCheck({
      graph: (L, x) => {
        const t = L.globalAveragePooling2d({ name: 'gap' }).apply(inceptionBlock(L, x, { bn: true }));
        return L.dense({ name: 'head', units: 3, activation: 'softmax' }).apply(t);
      },
      inputShape: [5, 5, 3], loss: 'sparseCategoricalCrossentropy', n: 4, seed: 63,
    });
  });
});

describe('getWeights() order vs tfjs for branching graphs', () => {
  // docs/API.md: getWeights() follows tfjs's order, so that weights can be moved between the libraries as a list.
  // tfjs (Container) orders model.layers by depth — the longest path from the layer to the output, deepest first —
  // breaking ties by discovery order of a depth-first walk from the outputs; model.weights is then the trainable
  // weights of those layers in that order, then the non-trainable ones.
  const cases = {
    'residual block, identity shortcut': (L, x) => residualBlock(L, x, { filters: 4 }),
    'residual block, projection shortcut': (L, x) => residualBlock(L, x, { filters: 4, shortcut: 'conv' }),
    'Inception block': (L, x) => inceptionBlock(L, x, {}),
  };
  for (const [name, graph] of Object.entries(cases)) {
    test(`${name}: weight names in the same order, and tfjs's getWeights() list loads with setWeights`, () => {
      const ours = buildOurs(graph, [6, 6, 4], 1);
      const theirs = buildTfjs(tf, graph, [6, 6, 4]);
      try {
        const want = theirs.weights.map(tfName);
        assert.deepEqual(ours.weightNames(), want,
          `getWeights() order differs from tfjs's; model.layers: ours [${ours.layers.map((l) => l.name)}], ` +
          `tfjs [${theirs.layers.map((l) => l.name)}]`);
        // Then a list from tfjs loads as is and both models compute the same function.
        const list = theirs.getWeights().map((w) => cnn.tensor(w.dataSync(), w.shape));
        ours.setWeights(list);
        const xv = normals(2 * 6 * 6 * 4, 5);
        assertClose(ours.predict(cnn.tensor(xv, [2, 6, 6, 4])).dataSync(), theirs.predict(tf.tensor(xv, [2, 6, 6, 4])).dataSync(),
          FORWARD_TOL, 'predict after setWeights(tfjs getWeights())');
      } finally {
        ours.dispose();
        theirs.dispose();
      }
    });
  }
});

// ---- the smaller layers ------------------------------------------------------------------------------------------
describe('global pooling, ReLU / LeakyReLU, zero padding, add, concatenate vs tfjs', () => {
  for (const type of ['globalAveragePooling2d', 'globalMaxPooling2d']) {
    test(`${type} straight after the input, MSE`, () => {
      crossCheck({ graph: (L, x) => L[type]({ name: 'gp' }).apply(x), inputShape: [4, 5, 6], n: 3, seed: 70 });
    });
    test(`conv -> ${type} -> dense softmax, sparse CE`, () => {
      crossCheck({
        graph: (L, x) => {
          const t = L[type]({ name: 'gp' }).apply(L.conv2d({ name: 'c', filters: 5, kernelSize: 3, activation: 'tanh' }).apply(x));
          return L.dense({ name: 'd', units: 3, activation: 'softmax' }).apply(t);
        },
        inputShape: [6, 7, 2], loss: 'sparseCategoricalCrossentropy', n: 4, seed: 71,
      });
    });
  }
  for (const alpha of [undefined, 0.1, 1.5]) {
    test(`leakyReLU(${alpha === undefined ? 'default 0.3' : alpha}) after conv and after dense, MSE`, () => {
      const cfg = alpha === undefined ? {} : { alpha };
      crossCheck({
        graph: (L, x) => L.leakyReLU({ name: 'lr1', ...cfg }).apply(L.conv2d({ name: 'c', filters: 3, kernelSize: 3 }).apply(x)),
        inputShape: [5, 5, 2], n: 2, seed: 80,
      });
      crossCheck({
        graph: (L, x) => L.dense({ name: 'd2', units: 2 }).apply(L.leakyReLU({ name: 'lr2', ...cfg }).apply(L.dense({ name: 'd1', units: 6 }).apply(x))),
        inputShape: [4], n: 5, seed: 81,
      });
    });
  }
  test('reLU layer after conv, MSE', () => {
    crossCheck({
      graph: (L, x) => L.reLU({ name: 'r' }).apply(L.conv2d({ name: 'c', filters: 3, kernelSize: 3, padding: 'same' }).apply(x)),
      inputShape: [4, 5, 2], n: 2, seed: 85,
    });
  });
  for (const padding of [1, [2, 0], [[0, 2], [3, 1]]]) {
    test(`zeroPadding2d(${JSON.stringify(padding)}) -> conv valid, MSE`, () => {
      crossCheck({
        graph: (L, x) => L.conv2d({ name: 'c', filters: 3, kernelSize: 3, activation: 'tanh' })
          .apply(L.zeroPadding2d({ name: 'zp', padding }).apply(x)),
        inputShape: [4, 5, 2], n: 2, seed: 90,
      });
      crossCheck({ graph: (L, x) => L.zeroPadding2d({ name: 'zp', padding }).apply(x), inputShape: [3, 2, 3], n: 2, seed: 91 });
    });
  }
  test('add of three branches and concatenate of channel counts 1, 4, 3 (the input feeds several layers)', () => {
    crossCheck({
      graph: (L, x) => {
        const a = L.conv2d({ name: 'a', filters: 3, kernelSize: 3, padding: 'same' }).apply(x);
        const b = L.conv2d({ name: 'b', filters: 3, kernelSize: 1, activation: 'tanh' }).apply(x);
        const sum = L.add({ name: 'sum' }).apply([a, b, x]);
        const c1 = L.conv2d({ name: 'c1', filters: 1, kernelSize: 1 }).apply(sum);
        const c4 = L.conv2d({ name: 'c4', filters: 4, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(x);
        return L.concatenate({ name: 'cat' }).apply([c1, c4, sum]);
      },
      inputShape: [4, 4, 3], n: 3, seed: 95,
    });
  });
});
