// The convolutional layers (web/layers/convolutional.js): conv2d and conv2dTranspose — gradient checks, a sweep of
// conv2d geometries and conv2dTranspose cases against tfjs, and conv2dTranspose's 'bilinear' kernel initializer.
// Gradient checks compare d loss / d input and d loss / d weight from model.computeGradients (training-mode forward,
// no update) with central differences of the loss it reports, on random coordinates: |analytic - numeric| <=
// 1e-2 · max(|analytic|, |numeric|) + 2e-3 · max |analytic of the tensor| (helpers.js's GC_REL_TOL, GC_FLOOR).
// Cross-checks build the same model in @tensorflow/tfjs (cpu backend) with identical weights and compare forward
// outputs, losses and gradients as max |ours - tfjs| / max |tfjs|: below 1e-4 forward and for losses, 1e-3 for
// gradients (helpers.js's FORWARD_TOL, GRAD_TOL).
//
// tfjs's conv2d has no gradient for dilation > 1, so for dilated convolutions the tfjs gradients come from an
// equivalent dilation-1 convolution with a zero-stuffed kernel built from the kernel variable by a matMul (whose
// forward output is also checked against the tfjs layer). conv2dTranspose's tfjs kernel layout is
// [kh, kw, filters, inChannels], copied with setWeights.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../../web/index.js';
import {
  normals, size, maxAbs, assertClose, readyWithTfjsCpu, sequentialPair, FORWARD_TOL, sequentialGradCheck, modelGradCheck,
  crossCheckSequential,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

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
      sequentialGradCheck({ layers: () => [L.conv2d({ ...c.cfg, inputShape: c.inputShape })], inputShape: c.inputShape, loss: 'meanSquaredError', seed: 100 + i, eps: c.eps });
    });
  });
  test('conv -> flatten -> dense softmax, sparse CE', () => {
    sequentialGradCheck({
      layers: () => [L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', inputShape: [7, 7, 2] }),
        L.flatten(), L.dense({ units: 4, activation: 'softmax' })],
      inputShape: [7, 7, 2], loss: 'sparseCategoricalCrossentropy', seed: 150, n: 3,
    });
  });
});

const TF_ACT = {
  linear: (t) => t, relu: (t) => tf.relu(t), tanh: (t) => tf.tanh(t), sigmoid: (t) => tf.sigmoid(t),
  softmax: (t) => tf.softmax(t),
};

// Models: helpers.js's sequentialPair, from layer specs [{ type: 'conv2d' | 'maxPooling2d' | 'averagePooling2d' |
// 'dense' | 'flatten' | 'dropout' | 'activation', cfg }], with random biases so that their effect is checked too.

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
          crossCheckSequential(tf, {
            specs, inputShape: [h, w, cin], loss: 'sparseCategoricalCrossentropy', seed: 10 + i,
            tfGradFn: (x, vars) => {
              const c = conv(x, vars.slice(0, nConv));
              const flat = tf.reshape(c, [c.shape[0], -1]);
              return tf.softmax(tf.add(tf.matMul(flat, vars[nConv]), vars[nConv + 1]));
            },
          });
          return;
        }
        crossCheckSequential(tf, {
          specs, inputShape: [h, w, cin], loss: head === 'mse' ? 'meanSquaredError' : 'sparseCategoricalCrossentropy',
          seed: 10 + i, tfGradFn,
        });
      });
    }
  }

  // Strides larger than the kernel leave input pixels that no window reads (their gradient must be zero).
  for (const [k, s, padding, h, w] of [[2, 3, 'valid', 10, 11], [3, 3, 'same', 8, 10], [1, 3, 'same', 7, 7], [3, 3, 'valid', 11, 9]]) {
    test(`k${k} s${s} ${padding} ${h}x${w}x3->5 (stride 3)`, () => {
      crossCheckSequential(tf, { specs: [{ type: 'conv2d', cfg: { filters: 5, kernelSize: k, strides: s, padding, activation: 'tanh' } }], inputShape: [h, w, 3], loss: 'meanSquaredError', seed: 60 + k + h });
    });
  }

  // Larger layers, so that the GEMM's blocked paths (not only its edges) are exercised.
  test('k5 s1 same 19x21x8->32 relu (large)', () => {
    crossCheckSequential(tf, { specs: [{ type: 'conv2d', cfg: { filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' } }], inputShape: [19, 21, 8], loss: 'meanSquaredError', seed: 70, n: 1 });
  });
  // 3x3 stride-1 layers the engine runs through Winograd (F(2x2,3x3) for narrow layers, F(4x4,3x3) from 32 channels,
  // forward and input gradient): the same tolerances as the direct and GEMM paths.
  for (const [h, w, cin, cout, padding, n] of [[10, 9, 4, 8, 'same', 2], [7, 11, 3, 9, 'valid', 3],
    [12, 12, 32, 32, 'same', 2], [9, 8, 32, 40, 'valid', 1], [16, 16, 64, 64, 'same', 1]]) {
    test(`k3 s1 ${padding} ${h}x${w}x${cin}->${cout} (Winograd)`, () => {
      crossCheckSequential(tf, { specs: [{ type: 'conv2d', cfg: { filters: cout, kernelSize: 3, padding, activation: 'tanh' } },
        { type: 'conv2d', cfg: { filters: 8, kernelSize: 3, padding: 'same' } }],
      inputShape: [h, w, cin], loss: 'meanSquaredError', seed: 80 + cin + h, n });
    });
  }
  test('k3 s2 valid 33x31x16->24 then dense(37) (large)', () => {
    crossCheckSequential(tf, {
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

// ---- conv2dTranspose vs tfjs ------------------------------------------------------------------------------------
describe('conv2dTranspose vs tfjs', () => {
  // [input h, w, c], filters, kernel, strides, padding, useBias, activation, loss
  const CASES = [
    [[5, 5, 1], 1, 3, 1, 'same', true, 'linear', 'mse'],
    [[4, 4, 3], 2, 2, 2, 'valid', true, 'relu', 'mse'],
    [[5, 6, 3], 5, 3, 2, 'same', false, 'tanh', 'mse'],
    [[5, 5, 3], 2, 3, 2, 'valid', true, 'sigmoid', 'mse'],
    [[6, 5, 4], 2, 4, 2, 'same', true, 'softmax', 'sce'],
    [[3, 4, 4], 5, 4, 2, 'valid', true, 'linear', 'mse'],
    [[4, 4, 1], 5, 4, 1, 'same', false, 'relu', 'mse'],
    [[7, 6, 3], 2, 2, 1, 'same', true, 'softmax', 'sce'], // odd total padding (1): extra row / column at the end
    [[4, 5, 4], 1, 2, 1, 'valid', true, 'tanh', 'mse'],
    [[5, 4, 3], 2, 2, 2, 'same', true, 'linear', 'mse'],
    [[5, 5, 1], 2, 3, 3, 'valid', true, 'linear', 'mse'], // stride 3
    [[4, 3, 3], 5, 1, 2, 'valid', true, 'sigmoid', 'mse'], // kernel 1: outputs between inputs get only the bias
    [[3, 3, 4], 5, 5, 1, 'valid', true, 'relu', 'mse'], // kernel 5
    [[3, 5, 3], 5, 5, 2, 'same', false, 'softmax', 'sce'],
    [[4, 4, 3], 2, [3, 2], [1, 2], 'same', true, 'linear', 'mse'], // non-square kernel and strides
    [[5, 4, 1], 2, [2, 4], [2, 3], 'valid', true, 'tanh', 'mse'],
  ];
  CASES.forEach(([inputShape, filters, kernelSize, strides, padding, useBias, activation, loss], i) => {
    const lossName = loss === 'mse' ? 'meanSquaredError' : 'sparseCategoricalCrossentropy';
    test(`in [${inputShape}] → ${filters} filters, kernel ${kernelSize}, strides ${strides}, ${padding}, ` +
      `${useBias ? 'bias' : 'no bias'}, ${activation}, ${loss}`, () => {
      crossCheckSequential(tf, {
        specs: [{ type: 'conv2dTranspose', cfg: { filters, kernelSize, strides, padding, useBias, activation } }],
        inputShape, loss: lossName, n: 2, seed: 11 + i,
      });
    });
  });

  test('after a conv2d, with a softmax on top (segmentation head), batch of 3', () => {
    crossCheckSequential(tf, {
      specs: [
        { type: 'conv2d', cfg: { filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' } },
        { type: 'conv2dTranspose', cfg: { filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'softmax' } },
      ],
      inputShape: [8, 6, 2], loss: 'sparseCategoricalCrossentropy', n: 3, seed: 5,
    });
  });
});

// ---- the bilinear initializer -----------------------------------------------------------------------------------
describe("conv2dTranspose kernelInitializer 'bilinear'", () => {
  const H = 5;
  const W = 6;
  const C = 3;
  function upsampler(seed = 1) {
    return cnn.sequential({
      seed,
      layers: [cnn.layers.conv2dTranspose({
        filters: C, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: 'bilinear', inputShape: [H, W, C],
      })],
    });
  }
  /** Runs f(y, x, c) → value over an [H, W, C] image through the upsampler; returns the [2H, 2W, C] output. */
  function upsample(model, f) {
    const x = new Float32Array(H * W * C);
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++) x[(y * W + xx) * C + c] = f(y, xx, c);
    const out = model.predict(cnn.tensor(x, [1, H, W, C]));
    assert.deepEqual([...out.shape], [1, 2 * H, 2 * W, C]);
    return out.dataSync();
  }
  const at = (out, y, x, c) => out[(y * 2 * W + x) * C + c];

  test('the kernel is FCN\'s bilinear filter, diagonal in the channels, and the bias starts at zero', () => {
    const m = upsampler();
    try {
      const [kernel, bias] = m.getWeights();
      assert.deepEqual([...kernel.shape], [4, 4, C, C]);
      const k = kernel.dataSync();
      const taps = [0.25, 0.75, 0.75, 0.25];
      for (let ky = 0; ky < 4; ky++) {
        for (let kx = 0; kx < 4; kx++) {
          for (let f = 0; f < C; f++) {
            for (let c = 0; c < C; c++) {
              const expected = f === c ? taps[ky] * taps[kx] : 0;
              assert.equal(k[((ky * 4 + kx) * C + f) * C + c], Math.fround(expected), `kernel[${ky}, ${kx}, ${f}, ${c}]`);
            }
          }
        }
      }
      assert.ok(bias.dataSync().every((v) => v === 0), 'bias is zero');
    } finally {
      m.dispose();
    }
  });

  test('a constant image stays the same constant in the interior (rows / columns 1 .. 2n − 2)', () => {
    const m = upsampler();
    try {
      const consts = [1.5, -2, 0.25];
      const out = upsample(m, (y, x, c) => consts[c]);
      for (let y = 1; y < 2 * H - 1; y++) {
        for (let x = 1; x < 2 * W - 1; x++) {
          for (let c = 0; c < C; c++) {
            assert.ok(Math.abs(at(out, y, x, c) - consts[c]) <= 1e-6, `out[${y}, ${x}, ${c}] = ${at(out, y, x, c)}, expected ${consts[c]}`);
          }
        }
      }
      // The border gets only 3/4 of the constant along each axis (one input row / column instead of two).
      assert.ok(Math.abs(at(out, 0, 3, 0) - 0.75 * consts[0]) <= 1e-6, `border out[0, 3, 0] = ${at(out, 0, 3, 0)}`);
    } finally {
      m.dispose();
    }
  });

  test('a linear ramp becomes the same ramp sampled at half-pixel centres: out(y, x) = f((y + 0.5) / 2 − 0.5, ...)', () => {
    const m = upsampler();
    try {
      const ramp = (y, x, c) => 0.5 * y - 0.3 * x + c; // different offsets per channel
      const out = upsample(m, ramp);
      let checked = 0;
      for (let y = 1; y < 2 * H - 1; y++) {
        for (let x = 1; x < 2 * W - 1; x++) {
          for (let c = 0; c < C; c++) {
            const expected = ramp((y + 0.5) / 2 - 0.5, (x + 0.5) / 2 - 0.5, c);
            assert.ok(Math.abs(at(out, y, x, c) - expected) <= 1e-5, `out[${y}, ${x}, ${c}] = ${at(out, y, x, c)}, expected ${expected}`);
            checked++;
          }
        }
      }
      assert.equal(checked, (2 * H - 2) * (2 * W - 2) * C);
      // Ramps along one axis only: the output varies along that axis only.
      const rows = upsample(m, (y) => y);
      for (let y = 1; y < 2 * H - 1; y++) {
        for (let x = 1; x < 2 * W - 1; x++) assert.ok(Math.abs(at(rows, y, x, 1) - ((y + 0.5) / 2 - 0.5)) <= 1e-5, `row ramp at ${y}, ${x}`);
      }
    } finally {
      m.dispose();
    }
  });

  test('each output channel reads only its own input channel', () => {
    const m = upsampler();
    try {
      for (let only = 0; only < C; only++) {
        const out = upsample(m, (y, x, c) => (c === only ? 1 + ((y * 7 + x * 3) % 5) : 0));
        for (let i = 0; i < out.length; i++) {
          if (i % C !== only) assert.equal(out[i], 0, `channel ${i % C} picked up input channel ${only}`);
        }
        assert.ok(maxAbs(out) > 0);
      }
    } finally {
      m.dispose();
    }
  });

  test('filters != input channels throws a clear error naming the layer', () => {
    assert.throws(
      () => cnn.sequential({
        seed: 1,
        layers: [cnn.layers.conv2dTranspose({
          name: 'up_bad', filters: 2, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: 'bilinear', inputShape: [4, 4, 3],
        })],
      }),
      (e) => e instanceof Error && /up_bad/.test(e.message) && /bilinear/.test(e.message) && /filters \(2\)/.test(e.message) &&
        /input channels \(3\)/.test(e.message),
    );
    const inp = cnn.input({ shape: [4, 4, 1] });
    assert.throws(
      () => cnn.layers.conv2dTranspose({ name: 'up_bad2', filters: 3, kernelSize: 4, strides: 2, kernelInitializer: 'bilinear' }).apply(inp),
      (e) => e instanceof Error && /up_bad2/.test(e.message) && /bilinear/.test(e.message),
    );
  });
});

// ---- central differences ----------------------------------------------------------------------------------------
describe('gradcheck: conv2dTranspose', () => {
  test('conv2dTranspose (k3 s2 valid, tanh) → conv2dTranspose (k2 s1 same), MSE', () => {
    const m = cnn.sequential({
      seed: 3,
      layers: [
        cnn.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', activation: 'tanh', inputShape: [3, 4, 2] }),
        cnn.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 1, padding: 'same' }),
      ],
    });
    try { modelGradCheck(m, { seed: 3 }); } finally { m.dispose(); }
  });

  test('conv2dTranspose (k4 s2 same, softmax), sparse cross-entropy, odd input size', () => {
    const m = cnn.sequential({
      seed: 4,
      layers: [cnn.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'softmax', inputShape: [3, 5, 4] })],
    });
    try { modelGradCheck(m, { loss: 'sparseCategoricalCrossentropy', seed: 4 }); } finally { m.dispose(); }
  });
});
