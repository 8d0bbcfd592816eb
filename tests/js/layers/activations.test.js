// The activation functions as layers: activation({ activation }) (relu, sigmoid, tanh, softmax, linear), reLU and
// leakyReLU (web/layers/activations.js) — gradient checks and cross-checks against tfjs.
// Gradient checks compare d loss / d input and d loss / d weight from model.computeGradients (training-mode forward,
// no update) with central differences of the loss it reports, on random coordinates: |analytic - numeric| <=
// 1e-2 · max(|analytic|, |numeric|) + 2e-3 · max |analytic of the tensor| (helpers.js's GC_REL_TOL, GC_FLOOR).
// Cross-checks build the same model in @tensorflow/tfjs (cpu backend) with identical weights and compare forward
// outputs, losses and gradients as max |ours - tfjs| / max |tfjs|: below 1e-4 forward and for losses, 1e-3 for
// gradients (helpers.js's FORWARD_TOL, GRAD_TOL).
import { test, describe, before } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../../web/index.js';
import { gradCheck, sequentialGradCheck, readyWithTfjsCpu, crossCheckSequential, crossCheckGraph } from '../helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
const seq = (layers, seed = 1) => () => cnn.sequential({ seed, layers: layers() });

describe('gradcheck: activation, reLU and leakyReLU layers', () => {
  ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'].forEach((activation, i) => {
    test(`activation(${activation}) layer between dense layers, MSE`, () => {
      sequentialGradCheck({
        layers: () => [L.dense({ units: 6, inputShape: [5] }), L.activation({ activation }), L.dense({ units: 3 })],
        inputShape: [5], loss: 'meanSquaredError', seed: 310 + i, eps: activation === 'relu' ? 3e-3 : 1e-2,
      });
    });
  });
  for (const alpha of [undefined, 0.05, 2]) {
    test(`conv -> leakyReLU(${alpha ?? 'default'}) -> conv`, () => {
      gradCheck({
        build: seq(() => [L.conv2d({ filters: 3, kernelSize: 3, inputShape: [5, 5, 2] }),
          L.leakyReLU(alpha === undefined ? {} : { alpha }), L.conv2d({ filters: 2, kernelSize: 1 })]),
        seed: 40, n: 2, eps: 3e-3,
      });
    });
  }
  test('dense -> reLU layer -> dense', () => {
    gradCheck({
      build: seq(() => [L.dense({ units: 8, inputShape: [5] }), L.reLU(), L.dense({ units: 3 })]), seed: 45, eps: 3e-3,
    });
  });
});

describe('activation, reLU and leakyReLU layers vs tfjs', () => {
  test('dense -> activation(tanh) -> dense -> activation(softmax), sparse CE', () => {
    crossCheckSequential(tf, {
      specs: [
        { type: 'dense', cfg: { units: 8 } }, { type: 'activation', cfg: { activation: 'tanh' } },
        { type: 'dense', cfg: { units: 5 } }, { type: 'activation', cfg: { activation: 'softmax' } },
      ],
      inputShape: [10], loss: 'sparseCategoricalCrossentropy', seed: 950, n: 4,
    });
  });
  for (const alpha of [undefined, 0.1, 1.5]) {
    test(`leakyReLU(${alpha === undefined ? 'default 0.3' : alpha}) after conv and after dense, MSE`, () => {
      const cfg = alpha === undefined ? {} : { alpha };
      crossCheckGraph(tf, {
        graph: (L, x) => L.leakyReLU({ name: 'lr1', ...cfg }).apply(L.conv2d({ name: 'c', filters: 3, kernelSize: 3 }).apply(x)),
        inputShape: [5, 5, 2], n: 2, seed: 80,
      });
      crossCheckGraph(tf, {
        graph: (L, x) => L.dense({ name: 'd2', units: 2 }).apply(L.leakyReLU({ name: 'lr2', ...cfg }).apply(L.dense({ name: 'd1', units: 6 }).apply(x))),
        inputShape: [4], n: 5, seed: 81,
      });
    });
  }
  test('reLU layer after conv, MSE', () => {
    crossCheckGraph(tf, {
      graph: (L, x) => L.reLU({ name: 'r' }).apply(L.conv2d({ name: 'c', filters: 3, kernelSize: 3, padding: 'same' }).apply(x)),
      inputShape: [4, 5, 2], n: 2, seed: 85,
    });
  });
});
