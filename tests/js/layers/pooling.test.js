// The pooling layers (web/layers/pooling.js): max / average pooling, global pooling, maxPooling2d's returnIndices
// and maxUnpooling2d — gradient checks, cross-checks against tfjs, unpool(pool(x)) against an independent JS
// computation, and maxUnpooling2d misuse (clear Errors naming the layer).
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
  normals, size, maxAbs, readyWithTfjsCpu, gradCheck, sequentialGradCheck, modelGradCheck, crossCheckSequential,
  crossCheckGraph,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
const seq = (layers, seed = 1) => () => cnn.sequential({ seed, layers: layers() });

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
      sequentialGradCheck({
        layers: () => [L.conv2d({ filters: inputShape[2], kernelSize: 1, inputShape }), L[type](cfg)],
        inputShape, loss: 'meanSquaredError', seed: 200 + i, eps: type === 'maxPooling2d' ? 3e-3 : 1e-2,
      });
    });
  });
});

describe('gradcheck: global pooling', () => {
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
});

describe('gradcheck: maxPooling2d(returnIndices) and maxUnpooling2d', () => {
  test('conv → maxPooling2d(returnIndices) → conv → maxUnpooling2d → conv, MSE (no argmax changes under ±eps)', () => {
    const inputShape = [6, 7, 2]; // odd width: the last column is outside every 'valid' 2x2 window
    const build = () => {
      const inp = cnn.input({ shape: inputShape });
      const a = cnn.layers.conv2d({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same' }).apply(inp);
      const [p, idx] = cnn.layers.maxPooling2d({ name: 'pool', poolSize: 2, returnIndices: true }).apply(a);
      const b = cnn.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(p);
      const u = cnn.layers.maxUnpooling2d({ name: 'unpool', poolSize: 2 }).apply([b, idx]);
      const out = cnn.layers.conv2d({ name: 'c3', filters: 2, kernelSize: 3, padding: 'same' }).apply(u);
      return cnn.model({ inputs: inp, outputs: out, seed: 6 });
    };
    const n = 2;
    const eps = 5e-3;
    const m = build();
    try {
      // The argmax of every pooling window must not move when one input or one c1 weight moves by ±eps: a c1
      // output moves by at most eps · max(max |c1 kernel|, max |x|) (c1's bias shifts a whole channel and moves no
      // argmax), so every window's gap between its largest and second-largest value must exceed twice that. The
      // input is the first seed's that satisfies it, found through a model of c1 alone with the same weights.
      const makeInput = (model) => {
        const [k1, b1] = model.getLayer('c1').getWeights();
        const probeIn = cnn.input({ shape: inputShape });
        const probe = cnn.model({ inputs: probeIn, outputs: cnn.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(probeIn), seed: 1 });
        try {
          probe.setWeights([k1, b1]);
          for (let s = 0; s < 50; s++) {
            const cand = normals(n * size(inputShape), 1000 + s);
            const a = probe.predict(cnn.tensor(cand, [n, ...inputShape])).dataSync();
            const bound = eps * Math.max(maxAbs(k1.dataSync()), maxAbs(cand));
            if (minPoolGap(a, n, inputShape[0], inputShape[1], 3, 2) > 2 * bound) return cand;
          }
        } finally {
          probe.dispose();
        }
        return assert.fail('no input without near-ties in the pooling windows among 50 seeds');
      };
      const { base } = modelGradCheck(m, { seed: 6, n, eps, makeInput });
      assert.equal(base.gradients.length, 6, 'kernel and bias of c1, c2, c3');
    } finally {
      m.dispose();
    }
  });
});

/** Smallest gap between the largest and second-largest value over all 'valid' k×k stride-s windows (NHWC). */
function minPoolGap(a, n, h, w, c, k, s = k) {
  let gap = Infinity;
  const oh = Math.floor((h - k) / s) + 1;
  const ow = Math.floor((w - k) / s) + 1;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          const v = [];
          for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) v.push(a[((b * h + oy * s + dy) * w + ox * s + dx) * c + ch]);
          v.sort((p, q) => q - p);
          gap = Math.min(gap, v[0] - v[1]);
        }
      }
    }
  }
  return gap;
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
            crossCheckSequential(tf, { specs, inputShape: [h, w, c], loss: 'meanSquaredError', seed: 500 + j, tfGradFn });
          });
        }
      }
    }
  }
});

describe('global pooling vs tfjs', () => {
  for (const type of ['globalAveragePooling2d', 'globalMaxPooling2d']) {
    test(`${type} straight after the input, MSE`, () => {
      crossCheckGraph(tf, { graph: (L, x) => L[type]({ name: 'gp' }).apply(x), inputShape: [4, 5, 6], n: 3, seed: 70 });
    });
    test(`conv -> ${type} -> dense softmax, sparse CE`, () => {
      crossCheckGraph(tf, {
        graph: (L, x) => {
          const t = L[type]({ name: 'gp' }).apply(L.conv2d({ name: 'c', filters: 5, kernelSize: 3, activation: 'tanh' }).apply(x));
          return L.dense({ name: 'd', units: 3, activation: 'softmax' }).apply(t);
        },
        inputShape: [6, 7, 2], loss: 'sparseCategoricalCrossentropy', n: 4, seed: 71,
      });
    });
  }
});

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
