// fit({ augment }): flips and quarter turns applied to images and, identically, to per-pixel labels.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { drawTransform, copyTransformed } from '../../web/train/augment.js';

before(async () => { await cnn.ready(); });

test('the 8 transforms are the symmetries of the square, and each is a permutation', () => {
  const h = 3, w = 3;
  const src = Float32Array.from({ length: 9 }, (_, i) => i);
  const seen = new Set();
  let state = 0;
  const random = () => ((state++ % 8) + 0.5) / 8;
  for (let i = 0; i < 8; i++) {
    const t = drawTransform({ flips: true, rotations: true }, random);
    const dst = new Float32Array(9);
    copyTransformed(src, 0, dst, 0, h, w, 1, t);
    assert.deepEqual([...dst].sort((a, b) => a - b), [...src]);
    seen.add(dst.join());
  }
  assert.equal(seen.size, 8);
  // Rotations alone: the four quarter turns (the corner 0 visits every corner, the centre stays).
  const corners = new Set();
  state = 0;
  for (let i = 0; i < 8; i++) {
    const dst = new Float32Array(9);
    copyTransformed(src, 0, dst, 0, h, w, 1, drawTransform({ flips: false, rotations: true }, random));
    assert.equal(dst[4], 4);
    corners.add(dst.indexOf(0));
    const rotated = [[0, 1, 2, 3, 4, 5, 6, 7, 8], [6, 3, 0, 7, 4, 1, 8, 5, 2], [8, 7, 6, 5, 4, 3, 2, 1, 0], [2, 5, 8, 1, 4, 7, 0, 3, 6]];
    assert.ok(rotated.some((r) => r.join() === [...dst].join()), `not a rotation: ${[...dst]}`);
  }
  assert.equal(corners.size, 4);
});

test('per-pixel labels move with their pixels: a per-pixel model still fits exactly under augmentation', async () => {
  // Class = brightest channel of each pixel; learnable only if image and mask are transformed alike.
  const n = 32, s = 8;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const xs = new Float32Array(n * s * s * 3).map(() => rand());
  const ys = new Int32Array(n * s * s).map((_, p) => {
    const v = xs.subarray(p * 3, p * 3 + 3);
    return v[0] >= v[1] && v[0] >= v[2] ? 0 : v[1] >= v[2] ? 1 : 2;
  });
  // The model sees one pixel at a time, so labels left in place under a moved image would pair a pixel with
  // another pixel's class and accuracy would fall towards chance.
  const x = cnn.tensor(xs, [n, s, s, 3]);
  const y = cnn.tensor(ys, [n, s, s], 'int32');
  const inp = cnn.input({ shape: [s, s, 3] });
  const out = cnn.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'softmax' }).apply(inp);
  const model = cnn.model({ inputs: inp, outputs: out, seed: 1 });
  model.compile({ optimizer: cnn.train.adam(0.05), loss: 'sparseCategoricalCrossentropy', metrics: ['pixelAccuracy'] });
  const history = await model.fit(x, y, { epochs: 40, batchSize: 8, seed: 3, augment: { flips: true, rotations: true } });
  assert.ok(history.history.pixelAccuracy.at(-1) > 0.97, `pixel accuracy ${history.history.pixelAccuracy.at(-1)}`);
  model.dispose();
  x.dispose();
  y.dispose();
});

test('augment options are validated', async () => {
  const model = cnn.sequential({ layers: [cnn.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' })], seed: 1 });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const x = cnn.tensor(new Float32Array(8), [2, 4]);
  const y = cnn.tensor([0, 1], [2], 'int32');
  await assert.rejects(model.fit(x, y, { augment: { flips: true } }), /augment needs image inputs/);
  const conv = cnn.sequential({ layers: [cnn.layers.conv2d({ inputShape: [4, 6, 1], filters: 2, kernelSize: 1 }), cnn.layers.flatten(),
    cnn.layers.dense({ units: 2, activation: 'softmax' })], seed: 1 });
  conv.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const xi = cnn.tensor(new Float32Array(2 * 24), [2, 4, 6, 1]);
  await assert.rejects(conv.fit(xi, y, { augment: { rotations: true } }), /rotations needs square images/);
  await assert.rejects(conv.fit(xi, y, { augment: { mirror: true } }), /unknown augment option 'mirror'/);
  await conv.fit(xi, y, { augment: { flips: true } }); // flips on a non-square image are fine
  model.dispose();
  conv.dispose();
});
