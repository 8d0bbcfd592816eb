// zeroPadding2d (web/layers/padding.js): gradient checks and cross-checks against tfjs.
// Gradient checks compare d loss / d input and d loss / d weight from model.computeGradients (training-mode forward,
// no update) with central differences of the loss it reports, on random coordinates: |analytic - numeric| <=
// 1e-2 · max(|analytic|, |numeric|) + 2e-3 · max |analytic of the tensor| (helpers.js's GC_REL_TOL, GC_FLOOR).
// Cross-checks build the same model in @tensorflow/tfjs (cpu backend) with identical weights and compare forward
// outputs, losses and gradients as max |ours - tfjs| / max |tfjs|: below 1e-4 forward and for losses, 1e-3 for
// gradients (helpers.js's FORWARD_TOL, GRAD_TOL).
import { test, describe, before } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../../web/index.js';
import { gradCheck, readyWithTfjsCpu, crossCheckGraph } from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
const seq = (layers, seed = 1) => () => cnn.sequential({ seed, layers: layers() });

describe('gradcheck: zeroPadding2d', () => {
  for (const [i, padding] of [1, [0, 2], [[2, 0], [1, 3]]].entries()) {
    test(`zeroPadding2d(${JSON.stringify(padding)}) -> conv valid`, () => {
      gradCheck({
        build: seq(() => [L.conv2d({ filters: 2, kernelSize: 1, inputShape: [3, 4, 2] }), L.zeroPadding2d({ padding }),
          L.conv2d({ filters: 3, kernelSize: 3, activation: 'tanh' })]),
        seed: 33 + i, n: 2,
      });
    });
  }
});

describe('zeroPadding2d vs tfjs', () => {
  for (const padding of [1, [2, 0], [[0, 2], [3, 1]]]) {
    test(`zeroPadding2d(${JSON.stringify(padding)}) -> conv valid, MSE`, () => {
      crossCheckGraph(tf, {
        graph: (L, x) => L.conv2d({ name: 'c', filters: 3, kernelSize: 3, activation: 'tanh' })
          .apply(L.zeroPadding2d({ name: 'zp', padding }).apply(x)),
        inputShape: [4, 5, 2], n: 2, seed: 90,
      });
      crossCheckGraph(tf, { graph: (L, x) => L.zeroPadding2d({ name: 'zp', padding }).apply(x), inputShape: [3, 2, 3], n: 2, seed: 91 });
    });
  }
});
