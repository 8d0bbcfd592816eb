// The merge layers (web/layers/merge.js): add and concatenate — gradient checks (also with fan-out: one tensor
// feeding two or three layers whose outputs meet again in an add or a concatenate, so the gradients from every
// consumer must accumulate), and cross-checks against tfjs of residual and Inception blocks, including the order of
// getWeights() for branching graphs.
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
  normals, assertClose, buildOurs, buildTfjs, FORWARD_TOL, readyWithTfjsCpu, gradCheck, crossCheckGraph, tfWeightName,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
/** A functional model from graph(x) on an input of inputShape. */
const fn = (inputShape, graph, seed = 1) => () => {
  const x = cnn.input({ shape: inputShape });
  return cnn.model({ inputs: x, outputs: graph(x), seed });
};
const seq = (layers, seed = 1) => () => cnn.sequential({ seed, layers: layers() });

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
    crossCheckGraph(tf, { graph: (L, x) => residualBlock(L, x, { filters: 4 }), inputShape: [5, 6, 4], n: 3, seed: 60 });
  });
  test('residual block (projection shortcut, stride 2) -> global average pooling -> dense softmax, sparse CE', () => {
    crossCheckGraph(tf, {
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
    crossCheckGraph(tf, {
      graph: (L, x) => L.conv2d({ name: 'mix', filters: 3, kernelSize: 1 }).apply(inceptionBlock(L, x, {})),
      inputShape: [6, 7, 3], n: 2, seed: 62,
    });
  });
  // Global average, not max, pooling after the block: max pooling (stride 1) copies one input value into several
  // neighbouring outputs, so the pool branch's channels hold exact ties, and tfjs's max gradient sends the full
  // gradient to every tied position (e.g. 4x the finite difference), where ours sends it to one (= the finite
  // difference). The global max pooling tests below use inputs without ties.
  test('Inception block with BN in every branch -> global average pooling -> dense softmax, sparse CE', () => {
    crossCheckGraph(tf, {
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
        const want = theirs.weights.map(tfWeightName);
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

describe('add and concatenate vs tfjs', () => {
  test('add of three branches and concatenate of channel counts 1, 4, 3 (the input feeds several layers)', () => {
    crossCheckGraph(tf, {
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
