// maxUnpooling2d (with maxPooling2d({ returnIndices: true })), per-pixel sparse cross-entropy with classWeights /
// ignoreLabel, and the pixelAccuracy / meanIoU metrics. conv2dTranspose, upSampling2d and the central-difference
// gradient checks of all the segmentation layers (maxUnpooling2d included) are in segmentation-layers.test.js.
//
// - unpool(pool(x)) against an independent JS computation (valid / same padding, odd sizes, overlapping windows).
// - Per-pixel sparse cross-entropy vs tfjs; classWeights / ignoreLabel vs a float64 hand computation (PyTorch's
//   CrossEntropyLoss(weight, ignore_index): Σ w[y]·(−log p_y) / Σ w[y] over the pixels that count); pixelAccuracy and
//   meanIoU from evaluate vs a hand computation from predict. Errors are max |ours - ref| / max |ref|: below 1e-4 for
//   losses, 1e-3 for gradients.
// - maxUnpooling2d misuse: clear Errors naming the layer.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import { normals, ints, size, maxAbs, assertClose, tfLoss, readyWithTfjsCpu, sequentialPair } from './helpers.js';

const FORWARD_TOL = 1e-4;
const GRAD_TOL = 1e-3;

before(() => readyWithTfjsCpu(tf));

const values = (t) => t.dataSync();

// ---- unpool(pool(x)) --------------------------------------------------------------------------------------------
/**
 * Independent max-pool + max-unpool in JS: for each window (TF geometry: 'valid' or 'same' with the extra padding
 * row / column at the end; padded positions are never the max) the first maximum in row-major order is found and
 * its value is added at its position. Returns { out, count } where count[i] = how many windows chose position i.
 */
function expectedUnpool(x, [n, h, w, c], k, s, padding) {
  const oh = padding === 'same' ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
  const ow = padding === 'same' ? Math.ceil(w / s) : Math.floor((w - k) / s) + 1;
  const padTop = padding === 'same' ? Math.floor(Math.max((oh - 1) * s + k - h, 0) / 2) : 0;
  const padLeft = padding === 'same' ? Math.floor(Math.max((ow - 1) * s + k - w, 0) / 2) : 0;
  const out = new Float32Array(x.length);
  const count = new Int32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let iy = oy * s - padTop; iy < oy * s - padTop + k; iy++) {
            for (let ix = ox * s - padLeft; ix < ox * s - padLeft + k; ix++) {
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const i = ((b * h + iy) * w + ix) * c + ch;
              if (x[i] > best) { best = x[i]; at = i; }
            }
          }
          out[at] += x[at];
          count[at]++;
        }
      }
    }
  }
  return { out, count, oh, ow };
}

describe('maxUnpooling2d(maxPooling2d(x)) puts each window maximum back, zeros elsewhere', () => {
  // [n, h, w, c], pool, stride, padding
  const CASES = [
    [[2, 6, 8, 3], 2, 2, 'valid'],
    [[3, 7, 5, 4], 2, 2, 'valid'], // odd: last row and column outside every window → 0 (4 channels: SIMD 2x2 path)
    [[2, 5, 9, 5], 2, 2, 'valid'], // 5 channels: SIMD path with an overlapping tail vector
    [[2, 7, 5, 1], 2, 2, 'same'], // odd with 'same': the last window is partial
    [[2, 7, 7, 3], 3, 2, 'valid'], // overlapping windows
    [[2, 6, 9, 2], 3, 2, 'same'],
    [[2, 8, 8, 4], 3, 3, 'valid'],
  ];
  CASES.forEach(([shape, k, s, padding], i) => {
    test(`[${shape}], pool ${k}, stride ${s}, ${padding}`, () => {
      const [n, h, w, c] = shape;
      const inp = cnn.input({ shape: [h, w, c] });
      const [p, idx] = cnn.layers.maxPooling2d({ poolSize: k, strides: s, padding, returnIndices: true }).apply(inp);
      const u = cnn.layers.maxUnpooling2d({ poolSize: k, strides: s }).apply([p, idx]);
      const m = cnn.model({ inputs: inp, outputs: u, seed: 1 });
      try {
        assert.deepEqual(m.outputShape, [null, h, w, c], 'unpooled back to the pooled layer\'s input size');
        const x = normals(size(shape), 500 + i);
        const { out: expected, count, oh, ow } = expectedUnpool(x, shape, k, s, padding);
        const got = m.predict(cnn.tensor(x, shape), { batchSize: 2 }).dataSync();
        assert.equal(got.length, expected.length);
        for (let j = 0; j < got.length; j++) {
          if (got[j] !== expected[j]) {
            const ch = j % c;
            const pix = Math.floor(j / c);
            assert.fail(`element ${j} (sample ${Math.floor(pix / (h * w))}, y ${Math.floor(pix / w) % h}, x ${pix % w}, channel ${ch}): ` +
              `got ${got[j]}, expected ${expected[j]} (x = ${x[j]}, chosen by ${count[j]} windows)`);
          }
        }
        if (padding === 'valid' && (h - k) % s !== 0) {
          // Rows past the last window's reach stay 0.
          const lastRow = (oh - 1) * s + k;
          for (let b = 0; b < n; b++) for (let y = lastRow; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++) {
            assert.equal(got[((b * h + y) * w + xx) * c + ch], 0, `uncovered row ${y}`);
          }
        }
        if (padding === 'valid' && (w - k) % s !== 0) {
          const lastCol = (ow - 1) * s + k;
          for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let xx = lastCol; xx < w; xx++) for (let ch = 0; ch < c; ch++) {
            assert.equal(got[((b * h + y) * w + xx) * c + ch], 0, `uncovered column ${xx}`);
          }
        }
        // Without overlap each position is chosen at most once and the output equals x at the maxima.
        if (k <= s) assert.ok(count.every((v) => v <= 1));
        const nonZero = got.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
        assert.equal(nonZero, count.reduce((a, v) => a + (v > 0 ? 1 : 0), 0), 'one non-zero per distinct maximum');
      } finally {
        m.dispose();
      }
    });
  });

  // Overlapping windows (pool 3, stride 2) can share a maximum. Behaviour asserted: the unpooling scatter-ADDS, so a
  // position that is the maximum of k windows receives k × its value (PyTorch's MaxUnpool2d assigns and would give
  // the value once). This makes the forward pass the exact transpose of the backward gather.
  test('pool 3 stride 2: a maximum shared by several windows receives the sum of their values', () => {
    const inp = cnn.input({ shape: [5, 5, 2] });
    const [p, idx] = cnn.layers.maxPooling2d({ poolSize: 3, strides: 2, returnIndices: true }).apply(inp);
    const m = cnn.model({ inputs: inp, outputs: cnn.layers.maxUnpooling2d({ poolSize: 3, strides: 2 }).apply([p, idx]), seed: 1 });
    try {
      const x = normals(50, 77, 0.1);
      for (let i = 0; i < 25; i++) x[i * 2 + 1] = -x[i * 2 + 1] - 1; // channel 1: all negative
      x[(2 * 5 + 2) * 2] = 9; // channel 0: centre is the max of all 4 windows
      x[(2 * 5 + 4) * 2 + 1] = 5; // channel 1: (2, 4) is the max of the two right-hand windows
      const got = m.predict(cnn.tensor(x, [1, 5, 5, 2])).dataSync();
      const { out: expected, count } = expectedUnpool(x, [1, 5, 5, 2], 3, 2, 'valid');
      assert.equal(count[(2 * 5 + 2) * 2], 4);
      assert.equal(count[(2 * 5 + 4) * 2 + 1], 2);
      assert.equal(got[(2 * 5 + 2) * 2], 36, 'centre: 4 windows × 9');
      assert.equal(got[(2 * 5 + 4) * 2 + 1], 10, '(2, 4): 2 windows × 5');
      assert.deepEqual([...got], [...expected]);
    } finally {
      m.dispose();
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

// ---- maxUnpooling2d misuse ----------------------------------------------------------------------------------------
describe('maxUnpooling2d misuse: clear errors naming the layer', () => {
  const named = (...patterns) => (e) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };

  test('indices from a pooling without returnIndices', () => {
    const inp = cnn.input({ shape: [4, 4, 2] });
    const pooled = cnn.layers.maxPooling2d({ name: 'plain_pool', poolSize: 2 }).apply(inp);
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_a' }).apply([pooled, pooled]), named(/unpool_a/, /returnIndices/));
    // An average pooling's output is no index tensor either.
    const avg = cnn.layers.averagePooling2d({ poolSize: 2 }).apply(inp);
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_b' }).apply([avg, avg]), named(/unpool_b/, /returnIndices/));
    // The pooled values in the indices slot.
    const [p] = cnn.layers.maxPooling2d({ poolSize: 2, returnIndices: true }).apply(inp);
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_c' }).apply([p, p]), named(/unpool_c/, /indices/));
    // Not a pair.
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_d' }).apply(p), named(/unpool_d/, /\[values, indices\]/));
  });

  test('values whose shape differs from the indices', () => {
    const inp = cnn.input({ shape: [6, 6, 2] });
    const [p, idx] = cnn.layers.maxPooling2d({ poolSize: 2, returnIndices: true }).apply(inp);
    const wider = cnn.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(p); // 3 channels, not 2
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_shape' }).apply([wider, idx]),
      named(/unpool_shape/, /\[3,3,3\]/, /\[3,3,2\]/));
    const smaller = cnn.layers.conv2d({ filters: 2, kernelSize: 2 }).apply(p); // 2×2 spatially, not 3×3
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_shape2' }).apply([smaller, idx]), named(/unpool_shape2/, /shape/));
  });

  test('poolSize / strides different from the pooling', () => {
    const inp = cnn.input({ shape: [6, 6, 2] });
    const [p, idx] = cnn.layers.maxPooling2d({ name: 'pool_2', poolSize: 2, returnIndices: true }).apply(inp);
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_k3', poolSize: 3 }).apply([p, idx]), named(/unpool_k3/, /pool_2/, /poolSize/));
    assert.throws(() => cnn.layers.maxUnpooling2d({ name: 'unpool_s1', poolSize: 2, strides: 1 }).apply([p, idx]), named(/unpool_s1/, /pool_2/));
  });

  test('the indices as a model output', () => {
    const inp = cnn.input({ shape: [4, 4, 2] });
    const [, idx] = cnn.layers.maxPooling2d({ name: 'pool_out', poolSize: 2, returnIndices: true }).apply(inp);
    assert.throws(() => cnn.model({ inputs: inp, outputs: idx }), named(/pool_out/, /indices/));
  });
});
