// upSampling2d (web/layers/upsampling.js), nearest and bilinear: forward outputs and input gradients against tfjs
// 4.22 (cpu backend), exact values on a small image, and gradient checks.
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
  normals, size, assertClose, readyWithTfjsCpu, FORWARD_TOL, GRAD_TOL, modelGradCheck, targetPair,
} from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

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
        const y = targetPair(tf, 'meanSquaredError', outTf.shape.slice(1), n, 400 + i);
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
describe('gradcheck: upSampling2d', () => {
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
      try { modelGradCheck(m, { seed: 5 }); } finally { m.dispose(); }
    });
  }
});
