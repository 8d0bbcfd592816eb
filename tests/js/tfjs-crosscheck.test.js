// Cross-checks wasm-cnn layers and losses against @tensorflow/tfjs (cpu backend) with identical weights:
// forward outputs (model.predict), the loss, and gradients with respect to the input and every weight
// (model.computeGradients vs tf.variableGrads of the same loss, a mean over the batch as tfjs losses take it).
//
// Each case builds the same tiny model in both libraries, copies our initial weights into the tfjs model with
// setWeights (same layouts: conv kernel [kh, kw, in, filters], dense kernel [in, units], then bias) and compares
// max |ours - tfjs| / max |tfjs| against 1e-4 (forward, loss) and 1e-3 (gradients).
//
// tfjs's conv2d has no gradient for dilation > 1, so for dilated convolutions the tfjs gradients come from an
// equivalent dilation-1 convolution with a zero-stuffed kernel built from the kernel variable by a matMul (whose
// forward output is also checked against the tfjs layer).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import {
  normals, ints, size, oneHotTargets, softTargets, assertClose, tfLoss, readyWithTfjsCpu, sequentialPair, FORWARD_TOL,
  checkGradientsVsTfjs,
} from './helpers.js';

// ---- the same model in both libraries ------------------------------------------------------------------------
const TF_ACT = {
  linear: (t) => t, relu: (t) => tf.relu(t), tanh: (t) => tf.tanh(t), sigmoid: (t) => tf.sigmoid(t),
  softmax: (t) => tf.softmax(t),
};

// Models: helpers.js's sequentialPair, from layer specs [{ type: 'conv2d' | 'maxPooling2d' | 'averagePooling2d' |
// 'dense' | 'flatten' | 'dropout' | 'activation', cfg }], with random biases so that their effect is checked too.

/** Targets for a loss: { ours: cnn Tensor, theirs: tf Tensor }. */
function makeTargets(loss, outShape, n, seed, { soft = false } = {}) {
  const classes = outShape[outShape.length - 1];
  if (loss === 'sparseCategoricalCrossentropy') {
    const rows = [n, ...outShape.slice(0, -1)];
    const labels = ints(size(rows), seed, classes);
    return { ours: cnn.tensor(labels, rows, 'int32'), theirs: tf.tensor(labels, rows, 'int32') };
  }
  const shape = [n, ...outShape];
  let values;
  if (loss === 'categoricalCrossentropy') {
    const rows = size(shape) / classes;
    values = soft ? softTargets(rows, classes, seed + 1) : oneHotTargets(rows, classes, seed); // soft: rows sum to 1
  } else {
    values = normals(size(shape), seed, 0.5);
  }
  return { ours: cnn.tensor(values, shape), theirs: tf.tensor(values, shape) };
}

/** Runs one cross-check: forward outputs (predict), then loss and gradients (see helpers.js's checkGradientsVsTfjs). */
function crossCheck({ specs, inputShape, loss, n = 3, seed = 1, soft = false, inputScale = 1, tfGradFn }) {
  const { ours, theirs, weights } = sequentialPair(tf, specs, inputShape, seed);
  try {
    ours.compile({ optimizer: 'sgd', loss });
    const xValues = normals(n * size(inputShape), seed + 100, inputScale);
    const xShape = [n, ...inputShape];

    // Forward (inference mode).
    const outOurs = ours.predict(cnn.tensor(xValues, xShape));
    const outTf = theirs.predict(tf.tensor(xValues, xShape));
    assert.deepEqual([...outOurs.shape], outTf.shape, 'output shape');
    assertClose(outOurs.dataSync(), outTf.dataSync(), FORWARD_TOL, 'forward output');

    const y = makeTargets(loss, outTf.shape.slice(1), n, seed + 200, { soft });
    checkGradientsVsTfjs(tf, ours, theirs, xValues, xShape, loss, y, tfGradFn);
    tf.dispose([outTf, y.theirs]);
    return { weights };
  } finally {
    ours.dispose();
    theirs.dispose();
  }
}

/** Functional tfjs forward of conv2d (any dilation) as a dilation-1 convolution with a zero-stuffed kernel. */
function dilatedConvFn({ kernelSize: k, dilationRate: d, padding, activation, useBias }) {
  const ek = (k - 1) * d + 1;
  const scatter = new Float32Array(ek * ek * k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) scatter[((i * d) * ek + j * d) * (k * k) + i * k + j] = 1;
  return (x, [kernel, bias]) => {
    const [, , ci, co] = kernel.shape;
    const stuffed = tf.reshape(tf.matMul(tf.tensor2d(scatter, [ek * ek, k * k]), tf.reshape(kernel, [k * k, ci * co])),
      [ek, ek, ci, co]);
    let out = tf.conv2d(x, stuffed, 1, padding);
    if (useBias) out = tf.add(out, bias);
    return TF_ACT[activation](out);
  };
}

/**
 * Functional tfjs average pooling with 'same' padding (TensorFlow's semantics: the mean over the window's pixels inside
 * the image) built from ops whose gradients tfjs gets right: pad explicitly, avgPool 'valid' × window area / count of
 * real pixels. tfjs 4.22's cpu gradient of avgPool with 'same' padding divides every window by the full window area,
 * disagreeing with its own forward pass (e.g. 5x5 input, pool 2, stride 2: d out[2][2] / d x[4][4] is 1 — the window
 * holds one pixel — but tfjs's gradient gives 0.25; a finite difference gives 1).
 */
function avgPoolSameFn([h, w], p, s) {
  const pads = [h, w].map((n) => {
    const total = Math.max((Math.ceil(n / s) - 1) * s + p - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
  const padding = [[0, 0], ...pads, [0, 0]];
  const counts = tf.mul(tf.avgPool(tf.pad(tf.ones([1, h, w, 1]), padding), p, s, 'valid'), p * p);
  return (x) => tf.div(tf.mul(tf.avgPool(tf.pad(x, padding), p, s, 'valid'), p * p), counts);
}

before(() => readyWithTfjsCpu(tf));

// ---- conv2d sweep ----------------------------------------------------------------------------------------------
describe('conv2d vs tfjs', () => {
  const sizes = [[7, 9], [11, 11], [9, 7], [8, 11], [11, 13]];
  const inChannels = [1, 3, 4, 8];
  const outChannels = [1, 5, 16];
  const activations = ['relu', 'tanh', 'sigmoid', 'linear'];
  const geometries = []; // kernel × padding × (stride, dilation)
  for (const k of [1, 3, 5]) {
    for (const padding of ['same', 'valid']) {
      for (const [s, d] of [[1, 1], [2, 1], [1, 2]]) geometries.push({ k, padding, s, d });
    }
  }
  let index = 0;
  for (const { k, padding, s, d } of geometries) {
    for (let variant = 0; variant < 2; variant++) {
      const i = index++;
      let [h, w] = sizes[i % sizes.length];
      const effective = (k - 1) * d + 1;
      if (padding === 'valid' && effective > Math.min(h, w)) [h, w] = [effective + 2, effective + 4];
      const cin = inChannels[i % inChannels.length];
      const cout = outChannels[(i + variant) % outChannels.length];
      const activation = activations[(i + variant * 2) % activations.length];
      const useBias = (i + variant) % 3 !== 2;
      const head = variant === 0 ? 'mse' : 'dense-softmax';
      const cfg = { filters: cout, kernelSize: k, strides: s, padding, dilationRate: d, activation, useBias };
      const name = `k${k} s${s} d${d} ${padding} ${h}x${w}x${cin}->${cout} ${activation} bias=${useBias} head=${head}`;
      test(name, () => {
        const specs = [{ type: 'conv2d', cfg }];
        if (head === 'dense-softmax') {
          specs.push({ type: 'flatten', cfg: {} }, { type: 'dense', cfg: { units: 4, activation: 'softmax' } });
        }
        const tfGradFn = d > 1 && head === 'mse' ? dilatedConvFn({ kernelSize: k, ...cfg }) : undefined;
        if (d > 1 && head !== 'mse') {
          // Dilated conv + dense head: the functional forward adds flatten and the dense softmax.
          const conv = dilatedConvFn({ kernelSize: k, ...cfg });
          const nConv = useBias ? 2 : 1;
          crossCheck({
            specs, inputShape: [h, w, cin], loss: 'sparseCategoricalCrossentropy', seed: 10 + i,
            tfGradFn: (x, vars) => {
              const c = conv(x, vars.slice(0, nConv));
              const flat = tf.reshape(c, [c.shape[0], -1]);
              return tf.softmax(tf.add(tf.matMul(flat, vars[nConv]), vars[nConv + 1]));
            },
          });
          return;
        }
        crossCheck({
          specs, inputShape: [h, w, cin], loss: head === 'mse' ? 'meanSquaredError' : 'sparseCategoricalCrossentropy',
          seed: 10 + i, tfGradFn,
        });
      });
    }
  }

  // Strides larger than the kernel leave input pixels that no window reads (their gradient must be zero).
  for (const [k, s, padding, h, w] of [[2, 3, 'valid', 10, 11], [3, 3, 'same', 8, 10], [1, 3, 'same', 7, 7], [3, 3, 'valid', 11, 9]]) {
    test(`k${k} s${s} ${padding} ${h}x${w}x3->5 (stride 3)`, () => {
      crossCheck({ specs: [{ type: 'conv2d', cfg: { filters: 5, kernelSize: k, strides: s, padding, activation: 'tanh' } }], inputShape: [h, w, 3], loss: 'meanSquaredError', seed: 60 + k + h });
    });
  }

  // Larger layers, so that the GEMM's blocked paths (not only its edges) are exercised.
  test('k5 s1 same 19x21x8->32 relu (large)', () => {
    crossCheck({ specs: [{ type: 'conv2d', cfg: { filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' } }], inputShape: [19, 21, 8], loss: 'meanSquaredError', seed: 70, n: 1 });
  });
  test('k3 s2 valid 33x31x16->24 then dense(37) (large)', () => {
    crossCheck({
      specs: [{ type: 'conv2d', cfg: { filters: 24, kernelSize: 3, strides: 2 } }, { type: 'flatten', cfg: {} }, { type: 'dense', cfg: { units: 37, activation: 'tanh' } }],
      inputShape: [33, 31, 16], loss: 'meanSquaredError', seed: 71, n: 3,
    });
  });

  test('conv2d with non-zero bias (set through setWeights) and rectangular kernel/strides', () => {
    const specs = [{ type: 'conv2d', cfg: { filters: 5, kernelSize: [3, 2], strides: [2, 1], padding: 'same', activation: 'tanh' } }];
    const { ours, theirs } = sequentialPair(tf, specs, [9, 7, 3], 77);
    try {
      const w = ours.getWeights();
      const bias = normals(5, 78, 0.5);
      ours.setWeights([w[0], cnn.tensor(bias, [5])]);
      theirs.setWeights([tf.tensor(w[0].dataSync(), w[0].shape), tf.tensor(bias, [5])]);
      const xv = normals(2 * 9 * 7 * 3, 79);
      const a = ours.predict(cnn.tensor(xv, [2, 9, 7, 3])).dataSync();
      const b = theirs.predict(tf.tensor(xv, [2, 9, 7, 3])).dataSync();
      assertClose(a, b, FORWARD_TOL, 'forward with bias');
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });
});

// ---- pooling sweep ---------------------------------------------------------------------------------------------
describe('pooling vs tfjs', () => {
  const sizes = [[7, 9], [11, 11], [5, 7], [9, 9]];
  let i = 0;
  for (const type of ['maxPooling2d', 'averagePooling2d']) {
    for (const poolSize of [2, 3]) {
      for (const strides of [1, 2, 3]) {
        for (const padding of ['same', 'valid']) {
          const j = i++;
          const [h, w] = sizes[j % sizes.length];
          const c = [1, 3, 4, 5, 8, 2][j % 6]; // 4 and 8: whole SIMD lanes; 5: lanes plus a scalar tail
          const withDense = Math.floor(j / 2) % 2 === 1;
          test(`${type} pool ${poolSize} stride ${strides} ${padding} ${h}x${w}x${c}${withDense ? ' -> flatten -> dense' : ''}`, () => {
            const specs = [{ type, cfg: { poolSize, strides, padding } }];
            if (withDense) specs.push({ type: 'flatten', cfg: {} }, { type: 'dense', cfg: { units: 3, activation: 'linear' } });
            // tfjs's cpu avgPool gradient is wrong for 'same' padding (see avgPoolSameFn): use the padded reference.
            let tfGradFn;
            if (type === 'averagePooling2d' && padding === 'same') {
              const pool = avgPoolSameFn([h, w], poolSize, strides);
              tfGradFn = withDense
                ? (x, [kernel, bias]) => tf.add(tf.matMul(tf.reshape(pool(x), [x.shape[0], -1]), kernel), bias)
                : (x) => pool(x);
            }
            crossCheck({ specs, inputShape: [h, w, c], loss: 'meanSquaredError', seed: 500 + j, tfGradFn });
          });
        }
      }
    }
  }
});

// ---- dense, activations, flatten, dropout ----------------------------------------------------------------------
describe('dense and activations vs tfjs', () => {
  let j = 0;
  for (const activation of ['linear', 'relu', 'tanh', 'sigmoid', 'softmax']) {
    for (const useBias of [true, false]) {
      const seed = 900 + j++;
      test(`dense(6, ${activation}) useBias=${useBias}, MSE`, () => {
        crossCheck({ specs: [{ type: 'dense', cfg: { units: 6, activation, useBias } }], inputShape: [13], loss: 'meanSquaredError', seed });
      });
    }
  }
  test('dense -> activation(tanh) -> dense -> activation(softmax), sparse CE', () => {
    crossCheck({
      specs: [
        { type: 'dense', cfg: { units: 8 } }, { type: 'activation', cfg: { activation: 'tanh' } },
        { type: 'dense', cfg: { units: 5 } }, { type: 'activation', cfg: { activation: 'softmax' } },
      ],
      inputShape: [10], loss: 'sparseCategoricalCrossentropy', seed: 950, n: 4,
    });
  });
  test('dense(relu) -> dropout(0) -> dense(sigmoid), MSE', () => {
    crossCheck({
      specs: [
        { type: 'dense', cfg: { units: 8, activation: 'relu' } }, { type: 'dropout', cfg: { rate: 0 } },
        { type: 'dense', cfg: { units: 3, activation: 'sigmoid' } },
      ],
      inputShape: [7], loss: 'meanSquaredError', seed: 951,
    });
  });
  test('LeNet-like: conv -> maxpool -> conv -> avgpool -> flatten -> dense -> dropout(0) -> dense softmax', () => {
    crossCheck({
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
        const y = makeTargets(loss, [5], n, 1300 + n);
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

// ---- losses ----------------------------------------------------------------------------------------------------
describe('losses vs tfjs', () => {
  const dense = (activation, units = 5) => [{ type: 'dense', cfg: { units, activation } }];
  test('sparseCategoricalCrossentropy, softmax output (fused)', () => {
    crossCheck({ specs: dense('softmax'), inputShape: [9], loss: 'sparseCategoricalCrossentropy', seed: 1001, n: 6 });
  });
  test('sparseCategoricalCrossentropy, sigmoid output (probability formula)', () => {
    crossCheck({ specs: dense('sigmoid'), inputShape: [9], loss: 'sparseCategoricalCrossentropy', seed: 1002, n: 6 });
  });
  test('sparseCategoricalCrossentropy, softmax -> dropout(0) output (not fused: probability formula)', () => {
    crossCheck({
      specs: [...dense('softmax'), { type: 'dropout', cfg: { rate: 0 } }], inputShape: [9],
      loss: 'sparseCategoricalCrossentropy', seed: 1003, n: 6,
    });
  });
  test('sparseCategoricalCrossentropy, large logits (stable log-sum-exp)', () => {
    crossCheck({ specs: dense('softmax'), inputShape: [9], loss: 'sparseCategoricalCrossentropy', seed: 1004, n: 6, inputScale: 4 });
  });
  test('sparseCategoricalCrossentropy per pixel: conv 1x1 softmax output [n, h, w, classes]', () => {
    crossCheck({
      specs: [{ type: 'conv2d', cfg: { filters: 4, kernelSize: 3, padding: 'same', activation: 'softmax' } }],
      inputShape: [5, 7, 2], loss: 'sparseCategoricalCrossentropy', seed: 1005, n: 2,
    });
  });
  test('categoricalCrossentropy, softmax output (fused), one-hot targets', () => {
    crossCheck({ specs: dense('softmax'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1006, n: 6 });
  });
  test('categoricalCrossentropy, softmax output (fused), soft targets', () => {
    crossCheck({ specs: dense('softmax'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1007, n: 6, soft: true });
  });
  test('categoricalCrossentropy, sigmoid output (probability formula), soft targets', () => {
    crossCheck({ specs: dense('sigmoid'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1008, n: 6, soft: true });
  });
  test('categoricalCrossentropy, sigmoid output (probability formula), one-hot targets', () => {
    crossCheck({ specs: dense('sigmoid'), inputShape: [9], loss: 'categoricalCrossentropy', seed: 1009, n: 6 });
  });
  test('meanSquaredError, linear output', () => {
    crossCheck({ specs: dense('linear'), inputShape: [9], loss: 'meanSquaredError', seed: 1010, n: 6 });
  });
  test('meanSquaredError, softmax output (softmax backward, not fused)', () => {
    crossCheck({ specs: dense('softmax'), inputShape: [9], loss: 'meanSquaredError', seed: 1011, n: 6 });
  });
  test('meanSquaredError, image output [n, h, w, c]', () => {
    crossCheck({
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
