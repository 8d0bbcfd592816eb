// The segmentation layers and losses: conv2dTranspose, upSampling2d and maxUnpooling2d (with
// maxPooling2d({ returnIndices: true })), per-pixel sparse cross-entropy with classWeights / ignoreLabel, and the
// pixelAccuracy / meanIoU metrics.
//
// - conv2dTranspose and upSampling2d against @tensorflow/tfjs 4.22 (cpu backend) with identical weights (tfjs kernel
//   layout [kh, kw, filters, inChannels], copied with setWeights): output shapes, forward outputs (predict) and
//   gradients (model.computeGradients vs tf.variableGrads of the same loss). Errors are max |ours - tfjs| / max |tfjs|:
//   below 1e-4 forward and for losses, 1e-3 for gradients.
// - The 'bilinear' kernel initializer: constants and linear ramps are reproduced in the interior, channels stay apart.
// - Central-difference gradient checks (computeGradients) for conv2dTranspose, upSampling2d (both modes) and a
//   conv → maxPooling2d(returnIndices) → conv → maxUnpooling2d → conv model.
// - unpool(pool(x)) against an independent JS computation (valid / same padding, odd sizes, overlapping windows).
// - Per-pixel sparse cross-entropy vs tfjs; classWeights / ignoreLabel vs a float64 hand computation (PyTorch's
//   CrossEntropyLoss(weight, ignore_index): Σ w[y]·(−log p_y) / Σ w[y] over the pixels that count); pixelAccuracy and
//   meanIoU from evaluate vs a hand computation from predict.
// - maxUnpooling2d misuse: clear Errors naming the layer.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import { normals, ints, size, maxAbs, pickIndices, assertClose, tfLoss } from './helpers.js';

const FORWARD_TOL = 1e-4;
const GRAD_TOL = 1e-3;

before(async () => {
  tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" console banner
  await tf.setBackend('cpu');
  await cnn.ready();
});

const values = (t) => t.dataSync();

// ---- one-layer models in both libraries -----------------------------------------------------------------------
/**
 * A Sequential of layer specs ([{ type, cfg }]) in both libraries, with our seeded kernels and random biases
 * (N(0, 0.3²)) in both.
 */
function sequentialPair(specs, inputShape, seed) {
  const withShape = (s, i) => ({ ...s.cfg, ...(i === 0 ? { inputShape } : {}) });
  const ours = cnn.sequential({ seed, layers: specs.map((s, i) => cnn.layers[s.type](withShape(s, i))) });
  const theirs = tf.sequential({ layers: specs.map((s, i) => tf.layers[s.type](withShape(s, i))) });
  const weights = ours.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 31 + i, 0.3), w.shape) : w));
  ours.setWeights(weights);
  assert.deepEqual(theirs.trainableWeights.map((w) => w.shape), weights.map((w) => [...w.shape]), 'weight shapes (tfjs vs ours)');
  const tfWeights = weights.map((w) => tf.tensor(w.dataSync(), w.shape));
  theirs.setWeights(tfWeights);
  tf.dispose(tfWeights);
  return { ours, theirs, weights };
}

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
  const { ours, theirs } = sequentialPair(specs, inputShape, seed);
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
    const got = ours.computeGradients(cnn.tensor(xv, xShape), y.ours);
    const xVar = tf.variable(tx, true, `x_${Math.random()}`);
    const vars = theirs.trainableWeights.map((w) => w.read());
    const { value, grads } = tf.variableGrads(() => tfLoss(tf, loss, y.theirs, theirs.apply(xVar, { training: true })),
      [xVar, ...vars]);
    assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'loss');
    assert.deepEqual([...got.inputGradient.shape], xShape, 'input gradient shape');
    assertClose(got.inputGradient.dataSync(), grads[xVar.name].dataSync(), GRAD_TOL, 'd loss / d input');
    assert.equal(got.gradients.length, vars.length, 'number of weight gradients');
    got.gradients.forEach((g, i) => {
      assert.deepEqual([...g.shape], vars[i].shape, `gradient ${i} shape`);
      assertClose(g.dataSync(), grads[vars[i].name].dataSync(), GRAD_TOL, `d loss / d ${vars[i].name}`);
    });
    tf.dispose([tx, outTf, xVar, value, y.theirs, ...Object.values(grads)]);
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
const GC_REL = 1e-2;
const GC_FLOOR = 2e-3;
const GC_COORDS = 12;

function gcCompare(analytic, numeric, scale, what, index) {
  const diff = Math.abs(analytic - numeric);
  const allowed = GC_REL * Math.max(Math.abs(analytic), Math.abs(numeric)) + GC_FLOOR * scale;
  if (!(diff <= allowed)) {
    assert.fail(`${what}[${index}]: analytic ${analytic.toExponential(5)} vs numeric ${numeric.toExponential(5)} ` +
      `(tensor max |g| ${scale.toExponential(2)})`);
  }
}

/**
 * d loss / d input and d loss / d every weight from computeGradients vs central differences of the loss it reports,
 * on GC_COORDS random coordinates each (inputs perturbed through new tensors, weights through setWeights). Biases get
 * N(0, 0.2²) values first. makeInput(model): the input values, once the weights are set (default N(0, 1)).
 */
function gradCheck(model, { loss = 'meanSquaredError', n = 2, seed = 1, eps = 1e-2, makeInput } = {}) {
  model.compile({ optimizer: 'sgd', loss });
  const weights = model.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 7 + i, 0.2), w.shape) : w));
  model.setWeights(weights);
  const inputShape = model.inputShape.slice(1);
  const xShape = [n, ...inputShape];
  const xv = makeInput ? makeInput(model) : normals(size(xShape), seed + 1);
  const x = cnn.tensor(xv, xShape);
  const outShape = model.outputShape.slice(1);
  const y = loss === 'sparseCategoricalCrossentropy'
    ? cnn.tensor(ints(n * size(outShape.slice(0, -1)), seed + 2, outShape[outShape.length - 1]), [n, ...outShape.slice(0, -1)], 'int32')
    : cnn.tensor(normals(n * size(outShape), seed + 2, 0.5), [n, ...outShape]);
  const base = model.computeGradients(x, y);
  assert.ok(Number.isFinite(base.loss), `loss is ${base.loss}`);
  const lossAt = (xt) => model.computeGradients(xt, y).loss;

  const gx = base.inputGradient.dataSync();
  assert.ok(maxAbs(gx) > 0, 'input gradient is all zero');
  for (const i of pickIndices(xv.length, GC_COORDS, seed + 3)) {
    const plus = Float32Array.from(xv); plus[i] += eps;
    const minus = Float32Array.from(xv); minus[i] -= eps;
    const numeric = (lossAt(cnn.tensor(plus, xShape)) - lossAt(cnn.tensor(minus, xShape))) / (plus[i] - minus[i]);
    gcCompare(gx[i], numeric, maxAbs(gx), 'd loss / d input', i);
  }
  const names = model.weightNames();
  assert.equal(base.gradients.length, weights.length, 'one gradient per weight');
  weights.forEach((w, wi) => {
    const g = base.gradients[wi].dataSync();
    assert.deepEqual([...base.gradients[wi].shape], [...w.shape], `gradient shape of ${names[wi]}`);
    const scale = maxAbs(g);
    assert.ok(scale > 0, `gradient of ${names[wi]} is all zero`);
    const vals = w.dataSync();
    const withValue = (i, v) => {
      const copy = Float32Array.from(vals); copy[i] = v;
      const list = weights.slice(); list[wi] = cnn.tensor(copy, w.shape);
      model.setWeights(list);
      return lossAt(x);
    };
    for (const i of pickIndices(vals.length, GC_COORDS, seed + 10 + wi)) {
      const hi = Math.fround(vals[i] + eps);
      const lo = Math.fround(vals[i] - eps);
      gcCompare(g[i], (withValue(i, hi) - withValue(i, lo)) / (hi - lo), scale, `d loss / d ${names[wi]}`, i);
    }
    model.setWeights(weights);
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
    return sequentialPair([{ type: 'conv2d', cfg: { filters: classes, kernelSize: 3, padding: 'same', activation: 'softmax' } }], SHAPE, seed);
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
