// The segmentation layers with a tfjs counterpart: conv2dTranspose (and its 'bilinear' kernel initializer) and
// upSampling2d; and the central-difference gradient checks of all the segmentation layers, maxUnpooling2d included.
// maxUnpooling2d's forward pass, the per-pixel losses and metrics and the misuse errors are in
// unpooling-losses.test.js.
//
// - conv2dTranspose and upSampling2d against @tensorflow/tfjs 4.22 (cpu backend) with identical weights (tfjs kernel
//   layout [kh, kw, filters, inChannels], copied with setWeights): output shapes, forward outputs (predict) and
//   gradients (model.computeGradients vs tf.variableGrads of the same loss). Errors are max |ours - tfjs| / max |tfjs|:
//   below 1e-4 forward and for losses, 1e-3 for gradients.
// - The 'bilinear' kernel initializer: constants and linear ramps are reproduced in the interior, channels stay apart.
// - Central-difference gradient checks (computeGradients; helpers.js's checkInputGradient / checkWeightGradient) for
//   conv2dTranspose, upSampling2d (both modes) and a conv → maxPooling2d(returnIndices) → conv → maxUnpooling2d → conv
//   model.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import {
  normals, ints, size, maxAbs, assertClose, makeTargets, readyWithTfjsCpu, sequentialPair, checkInputGradient,
  checkWeightGradient, FORWARD_TOL, GRAD_TOL, checkGradientsVsTfjs,
} from './helpers.js';

before(() => readyWithTfjsCpu(tf));

// ---- one-layer models in both libraries (helpers.js's sequentialPair) -------------------------------------------
/** Targets as { ours, theirs }: int32 labels [n, h, w] for the sparse loss, N(0, 0.5²) values otherwise. */
function targetsFor(loss, outShape, n, seed) {
  if (loss === 'sparseCategoricalCrossentropy') {
    const shape = [n, ...outShape.slice(0, -1)];
    const labels = ints(size(shape), seed, outShape[outShape.length - 1]);
    return { ours: cnn.tensor(labels, shape, 'int32'), theirs: tf.tensor(labels, shape, 'int32') };
  }
  const shape = [n, ...outShape];
  const v = normals(size(shape), seed, 0.5);
  return { ours: cnn.tensor(v, shape), theirs: tf.tensor(v, shape) };
}

/**
 * Output shape, forward output (predict), loss and gradients (input, then every weight in getWeights() order)
 * of ours vs tfjs.
 */
function crossCheck({ specs, inputShape, loss = 'meanSquaredError', n = 2, seed = 1 }) {
  const { ours, theirs } = sequentialPair(tf, specs, inputShape, seed);
  try {
    assert.deepEqual(ours.outputShape, theirs.outputs[0].shape, 'output shape (ours vs tfjs)');
    ours.compile({ optimizer: 'sgd', loss });
    const xShape = [n, ...inputShape];
    const xv = normals(size(xShape), seed + 100);
    const outOurs = ours.predict(cnn.tensor(xv, xShape));
    const tx = tf.tensor(xv, xShape);
    const outTf = theirs.predict(tx);
    assert.deepEqual([...outOurs.shape], outTf.shape, 'predicted shape');
    assertClose(outOurs.dataSync(), outTf.dataSync(), FORWARD_TOL, 'forward output');

    const y = targetsFor(loss, outTf.shape.slice(1), n, seed + 200);
    checkGradientsVsTfjs(tf, ours, theirs, xv, xShape, loss, y);
    tf.dispose([tx, outTf, y.theirs]);
  } finally {
    ours.dispose();
    theirs.dispose();
  }
}

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
      crossCheck({
        specs: [{ type: 'conv2dTranspose', cfg: { filters, kernelSize, strides, padding, useBias, activation } }],
        inputShape, loss: lossName, n: 2, seed: 11 + i,
      });
    });
  });

  test('after a conv2d, with a softmax on top (segmentation head), batch of 3', () => {
    crossCheck({
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

// ---- upSampling2d vs tfjs ---------------------------------------------------------------------------------------
/**
 * Lᵀ·g for a linear per-sample map L (tfjs forward `apply` on [k, ...inputShape]) and output gradients g [n, ...]:
 * (Lᵀ g)[b, i] = <L(e_i), g[b]>, with L(e_i) from one forward pass over all unit images e_i. Used instead of tfjs's
 * own resize gradients, which are wrong on the cpu backend in 4.22: ResizeNearestNeighborGrad offsets dy by the
 * *input* image's batch stride (wrong gradients for every sample after the first), and ResizeBilinearGrad returns
 * shape [batch, width, height, depth] (throws for non-square inputs).
 */
function adjointThroughForward(apply, inputShape, g) {
  const d = size(inputShape);
  const basis = new Float32Array(d * d);
  for (let i = 0; i < d; i++) basis[i * d + i] = 1;
  const tb = tf.tensor(basis, [d, ...inputShape]);
  const images = apply(tb).dataSync(); // [d, outSize]
  const gv = g.dataSync();
  const n = g.shape[0];
  const outSize = gv.length / n;
  assert.equal(images.length, d * outSize);
  const out = new Float32Array(n * d);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < d; i++) {
      let acc = 0;
      for (let j = 0; j < outSize; j++) acc += images[i * outSize + j] * gv[b * outSize + j];
      out[b * d + i] = acc;
    }
  }
  tb.dispose();
  return out;
}

describe('upSampling2d vs tfjs', () => {
  // tfjs UpSampling2D: resizeNearestNeighbor / resizeBilinear with alignCorners = false, halfPixelCenters = false.
  // Input gradients: the transpose of tfjs's forward map (see adjointThroughForward).
  const CASES = [];
  for (const interpolation of ['nearest', 'bilinear']) {
    for (const s of [2, [2, 3], 3]) {
      for (const inputShape of [[4, 4, 1], [5, 3, 3]]) CASES.push({ interpolation, s, inputShape });
    }
  }
  CASES.forEach(({ interpolation, s, inputShape }, i) => {
    test(`${interpolation}, size ${JSON.stringify(s)}, input [${inputShape}]: forward and input gradient`, () => {
      const n = 2;
      const cfg = { size: s, interpolation, inputShape };
      const ours = cnn.sequential({ seed: 1, layers: [cnn.layers.upSampling2d(cfg)] });
      // tfjs's UpSampling2D takes the size as a pair only (a number gives NaN output shapes).
      const theirs = tf.sequential({ layers: [tf.layers.upSampling2d({ ...cfg, size: Array.isArray(s) ? s : [s, s] })] });
      try {
        assert.deepEqual(ours.outputShape, theirs.outputs[0].shape, 'output shape');
        ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
        const xShape = [n, ...inputShape];
        const xv = normals(size(xShape), 300 + i);
        const tx = tf.tensor(xv, xShape);
        const outTf = theirs.predict(tx);
        const outOurs = ours.predict(cnn.tensor(xv, xShape));
        assert.deepEqual([...outOurs.shape], outTf.shape);
        assertClose(outOurs.dataSync(), outTf.dataSync(), FORWARD_TOL, 'forward output');
        const y = targetsFor('meanSquaredError', outTf.shape.slice(1), n, 400 + i);
        const got = ours.computeGradients(cnn.tensor(xv, xShape), y.ours);
        const { value, grad: gOut } = tf.valueAndGrad((o) => tf.losses.meanSquaredError(y.theirs, o))(outTf);
        assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'loss');
        const ref = adjointThroughForward((t) => theirs.predict(t), inputShape, gOut);
        assert.deepEqual([...got.inputGradient.shape], xShape);
        assertClose(got.inputGradient.dataSync(), ref, GRAD_TOL, 'd loss / d input');
        assert.equal(got.gradients.length, 0);
        tf.dispose([tx, outTf, value, gOut, y.theirs]);
      } finally {
        ours.dispose();
        theirs.dispose();
      }
    });
  });

  test('bilinear, size 2: exact values on a small image (tfjs alignCorners = false: src = dst / 2, clamped)', () => {
    const m = cnn.sequential({ seed: 1, layers: [cnn.layers.upSampling2d({ size: [1, 2], interpolation: 'bilinear', inputShape: [1, 3, 1] })] });
    try {
      // Row [0, 4, 8] → sources 0, 0.5, 1, 1.5, 2, 2.5 (last clamped to 2).
      assert.deepEqual([...m.predict(cnn.tensor([0, 4, 8], [1, 1, 3, 1])).dataSync()], [0, 2, 4, 6, 8, 8]);
    } finally {
      m.dispose();
    }
  });
});

// ---- central differences ----------------------------------------------------------------------------------------
/** Coordinates checked per tensor (helpers.js's default is GC_COORDS = 10; its tolerances GC_REL_TOL, GC_FLOOR). */
const COORDS = 12;

/**
 * d loss / d input and d loss / d every weight from computeGradients vs central differences of the loss it reports,
 * on COORDS random coordinates each (helpers.js's checkInputGradient / checkWeightGradient: inputs perturbed through
 * new tensors, weights through setWeights). Biases get N(0, 0.2²) values first. makeInput(model): the input values,
 * once the weights are set (default N(0, 1)).
 */
function gradCheck(model, { loss = 'meanSquaredError', n = 2, seed = 1, eps = 1e-2, makeInput } = {}) {
  model.compile({ optimizer: 'sgd', loss });
  const weights = model.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 7 + i, 0.2), w.shape) : w));
  model.setWeights(weights);
  const inputShape = model.inputShape.slice(1);
  const xShape = [n, ...inputShape];
  const xv = makeInput ? makeInput(model) : normals(size(xShape), seed + 1);
  const x = cnn.tensor(xv, xShape);
  const t = makeTargets(loss, model.outputShape.slice(1), n, seed + 2);
  const y = cnn.tensor(t.values, t.shape, t.dtype);
  const base = model.computeGradients(x, y);
  assert.ok(Number.isFinite(base.loss), `loss is ${base.loss}`);
  checkInputGradient({ model, base, x, xv, y, seed, eps, coords: COORDS });
  const names = model.weightNames();
  assert.equal(base.gradients.length, weights.length, 'one gradient per weight');
  weights.forEach((w, wi) => {
    assert.deepEqual([...base.gradients[wi].shape], [...w.shape], `gradient shape of ${names[wi]}`);
    checkWeightGradient({ model, base, weights, wi, name: names[wi], x, y, seed, eps, coords: COORDS });
  });
  return { base, weights };
}

describe('central-difference gradient checks', () => {
  test('conv2dTranspose (k3 s2 valid, tanh) → conv2dTranspose (k2 s1 same), MSE', () => {
    const m = cnn.sequential({
      seed: 3,
      layers: [
        cnn.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', activation: 'tanh', inputShape: [3, 4, 2] }),
        cnn.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 1, padding: 'same' }),
      ],
    });
    try { gradCheck(m, { seed: 3 }); } finally { m.dispose(); }
  });

  test('conv2dTranspose (k4 s2 same, softmax), sparse cross-entropy, odd input size', () => {
    const m = cnn.sequential({
      seed: 4,
      layers: [cnn.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'softmax', inputShape: [3, 5, 4] })],
    });
    try { gradCheck(m, { loss: 'sparseCategoricalCrossentropy', seed: 4 }); } finally { m.dispose(); }
  });

  for (const interpolation of ['nearest', 'bilinear']) {
    test(`conv2d → upSampling2d (${interpolation}, size [2, 3]) → conv2d, MSE`, () => {
      const m = cnn.sequential({
        seed: 5,
        layers: [
          cnn.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', inputShape: [4, 5, 2] }),
          cnn.layers.upSampling2d({ size: [2, 3], interpolation }),
          cnn.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }),
        ],
      });
      try { gradCheck(m, { seed: 5 }); } finally { m.dispose(); }
    });
  }

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
      const { base } = gradCheck(m, { seed: 6, n, eps, makeInput });
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
