// The gradient-flow demo's nets (demos/deep/nets.js) trained for a few dozen steps through the wasm build: fit's
// recordGradientNorms gives logs.gradientNorms per batch and history.gradientNorms per epoch with one entry per layer
// that has trainable weights, the norms agree with computeGradients, and the plain 19-conv relu stack shows vanishing
// gradients (first/last conv-layer ratio orders of magnitude below the batch-norm net's and the ResNet's).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { loadMnist, splitMnist } from '../../recipes/mnist.js';
import { NETS, CONV_LAYERS, buildNet, trainNet, trainableCounts, GradientProfile, summariseDepth }
  from '../../demos/deep/nets.js';

const STEPS = 24;
let x, y;
const runs = {}; // key -> { result, batchNorms: [logs.gradientNorms per batch] }

before(async () => {
  await cnn.ready();
  const { train } = splitMnist(await loadMnist());
  const n = STEPS * 32;
  x = cnn.tensor(train.images.subarray(0, n * 784), [n, 28, 28, 1]);
  y = cnn.tensor(train.labels.subarray(0, n), [n], 'int32');
  for (const { key } of NETS) {
    const batchNorms = [];
    const result = await trainNet(cnn, key, { x, y, steps: STEPS, seed: 1,
      onBatch: (step, logs) => { batchNorms.push(logs.gradientNorms); } });
    runs[key] = { result, batchNorms };
  }
});

after(() => {
  for (const { result } of Object.values(runs)) result.model.dispose();
  x?.dispose();
  y?.dispose();
});

describe('gradient norms from fit', () => {
  const expectedLayers = { plain: CONV_LAYERS + 1, bn: 2 * CONV_LAYERS + 1, resnet: 2 * CONV_LAYERS + 1 };

  for (const { key } of NETS) {
    test(`${key}: logs.gradientNorms has one finite entry per layer with weights, every batch`, () => {
      const { result, batchNorms } = runs[key];
      const withWeights = result.model.layers.filter((l) => l.countParams() > 0).map((l) => l.name);
      assert.equal(withWeights.length, expectedLayers[key]);
      assert.deepEqual(result.weightLayers, withWeights);
      assert.equal(batchNorms.length, STEPS);
      for (const norms of batchNorms) {
        assert.deepEqual(Object.keys(norms).sort(), [...withWeights].sort());
        for (const [name, v] of Object.entries(norms)) assert.ok(Number.isFinite(v) && v >= 0, `${name}: ${v}`);
      }
    });

    test(`${key}: history.gradientNorms is the per-epoch mean of the batch norms`, () => {
      const { result, batchNorms } = runs[key];
      assert.ok(Array.isArray(result.history.gradientNorms), 'history.gradientNorms is an array');
      assert.equal(result.history.gradientNorms.length, 1, 'one entry per epoch');
      const [epoch] = result.history.gradientNorms;
      assert.deepEqual(Object.keys(epoch).sort(), Object.keys(batchNorms[0]).sort());
      for (const name of Object.keys(epoch)) {
        const mean = batchNorms.reduce((s, n) => s + n[name], 0) / batchNorms.length;
        assert.ok(Math.abs(epoch[name] - mean) <= 1e-6 * Math.max(mean, 1e-30) + 1e-30, `${name}: ${epoch[name]} vs ${mean}`);
      }
    });
  }

  test('a batch\'s gradient norms match computeGradients on the same weights and batch (bn net)', async () => {
    // One step on 32 digits (the whole set, so shuffling only reorders the sum) from seeded weights, against
    // computeGradients on a second model with the same seed.
    const xs = cnn.tensor(x.dataSync().subarray(0, 32 * 784), [32, 28, 28, 1]);
    const ys = cnn.tensor(y.dataSync().subarray(0, 32), [32], 'int32');
    const a = buildNet(cnn, 'bn', { seed: 7 }).model;
    const b = buildNet(cnn, 'bn', { seed: 7 }).model;
    try {
      for (const m of [a, b]) m.compile({ optimizer: cnn.train.sgd(0.01), loss: 'sparseCategoricalCrossentropy' });
      const { gradients, inputGradient } = a.computeGradients(xs, ys);
      // getWeights() order, as tfjs: every layer's trainable weights in layer order, then the non-trainable ones
      // (batch norm's moving statistics).
      const order = [];
      for (const trainable of [true, false]) {
        for (const layer of a.layers) {
          for (const spec of layer.weightSpecs()) if ((spec.trainable !== false) === trainable) order.push([layer, spec]);
        }
      }
      const expected = {};
      let k = 0;
      for (const [layer, spec] of order) {
        const g = gradients[k++];
        assert.deepEqual(g.shape, spec.shape, `${layer.name}/${spec.name}`);
        if (spec.trainable === false) continue;
        let sq = 0;
        for (const v of g.dataSync()) sq += v * v;
        expected[layer.name] = Math.sqrt((expected[layer.name] ?? 0) ** 2 + sq);
      }
      assert.equal(k, gradients.length);
      for (const g of gradients) g.dispose();
      inputGradient.dispose();
      let logged = null;
      await b.fit(xs, ys, { epochs: 1, batchSize: 32, seed: 3, recordGradientNorms: true,
        callbacks: { onBatchEnd: (batch, logs) => { logged = logs.gradientNorms; } } });
      assert.deepEqual(Object.keys(logged).sort(), Object.keys(expected).sort());
      for (const [name, v] of Object.entries(expected)) {
        assert.ok(Math.abs(logged[name] - v) <= 1e-3 * v + 1e-9, `${name}: logged ${logged[name]}, computeGradients ${v}`);
      }
    } finally {
      a.dispose();
      b.dispose();
      xs.dispose();
      ys.dispose();
    }
  });
});

describe('vanishing gradients', () => {
  test('the plain net\'s first/last conv-layer ratio is orders of magnitude below the bn net\'s and the ResNet\'s', () => {
    const s = Object.fromEntries(NETS.map(({ key }) => [key, runs[key].result.profile.summary()]));
    const line = Object.entries(s).map(([k, v]) => `${k} ${v.ratio.toExponential(2)}`).join(', ');
    console.log(`# first/last conv-layer gradient per weight after ${STEPS} steps: ${line}`);
    assert.ok(s.plain.ratio * 100 <= s.bn.ratio, `plain ${s.plain.ratio} vs bn ${s.bn.ratio}`);
    assert.ok(s.plain.ratio * 100 <= s.resnet.ratio, `plain ${s.plain.ratio} vs resnet ${s.resnet.ratio}`);
    assert.ok(s.plain.decades < -2, `plain first/last should be < 1e-2, got ${s.plain.ratio}`);
    // No vanishing with batch norm or shortcuts: the first layer gets at least a tenth of the last layer's gradient.
    assert.ok(s.bn.ratio > 0.1 && s.resnet.ratio > 0.1, `bn ${s.bn.ratio}, resnet ${s.resnet.ratio}`);
    // And the profile falls steadily towards the input in the plain net: every conv layer from the second on gets
    // less than the one after it.
    const plain = runs.plain.result.profile.values();
    for (let i = 1; i < plain.length - 1; i++) assert.ok(plain[i] < plain[i + 1], `plain layer ${i + 1} vs ${i + 2}`);
  });

  test('loss: bn and ResNet learn in a few dozen steps, the plain net stays at chance', () => {
    const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
    const last = Object.fromEntries(NETS.map(({ key }) => [key, mean(runs[key].result.losses.slice(-8))]));
    console.log(`# mean loss of the last 8 of ${STEPS} steps: ${JSON.stringify(last)}`);
    assert.ok(Math.abs(last.plain - Math.LN10) < 0.05, `plain loss ${last.plain} should stay near ln 10`);
    assert.ok(last.resnet < last.plain - 0.3, `resnet loss ${last.resnet} vs plain ${last.plain}`);
    assert.ok(last.bn < last.plain, `bn loss ${last.bn} vs plain ${last.plain}`);
  });
});

describe('helpers', () => {
  test('GradientProfile averages ‖g‖/√n over batches, up to maxBatches', () => {
    const p = new GradientProfile(['a', 'b'], { a: 4, b: 100 }, 2);
    p.add({ a: 2, b: 10, other: 5 });
    p.add({ a: 4, b: 30 });
    p.add({ a: 1000, b: 1000 }); // beyond maxBatches: ignored
    assert.deepEqual(p.values(), [1.5, 2]);
    assert.throws(() => new GradientProfile(['c'], { c: 1 }).add({ a: 1 }), /no gradient norm for layer c/);
    const s = summariseDepth([1e-6, 1e-3, 1e-2]);
    assert.ok(Math.abs(s.ratio - 1e-4) < 1e-12);
    assert.ok(Math.abs(s.decades + 4) < 1e-9);
  });

  test('the three nets have the same conv stack: 19 convs of 3x3x16, equal parameter counts per conv', () => {
    const shapes = {};
    for (const { key } of NETS) {
      const { model, convLayers } = buildNet(cnn, key, { seed: 1 });
      const counts = trainableCounts(model);
      shapes[key] = convLayers.map((name) => model.layers.find((l) => l.name === name).weightSpecs()[0].shape.join('x'));
      assert.equal(convLayers.length, CONV_LAYERS);
      assert.deepEqual(model.outputShape, [null, 10]);
      // Conv bias only in the plain net (batch norm's beta replaces it).
      assert.equal(counts[convLayers[1]], 3 * 3 * 16 * 16 + (key === 'plain' ? 16 : 0));
      model.dispose();
    }
    assert.deepEqual(shapes.bn, shapes.plain);
    assert.deepEqual(shapes.resnet, shapes.plain);
    assert.deepEqual(shapes.plain, ['3x3x1x16', ...Array(CONV_LAYERS - 1).fill('3x3x16x16')]);
  });
});
