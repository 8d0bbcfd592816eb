// Determinism and initialisation: the model seed fixes the initial weights bit for bit, fit's seed fixes shuffling and
// dropout (so two fits with the same seeds give bit-identical weights and histories), and the initialisers draw
// from tfjs's distributions.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import { mulberry32, readyWithTfjsCpu } from './helpers.js';

const L = cnn.layers;

const bytesOf = (t) => Buffer.from(t.dataSync().buffer);
const sameBits = (a, b) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]) && bytesOf(a).equals(bytesOf(b));

function makeModel(seed, { dropout = 0.3 } = {}) {
  return cnn.sequential({
    seed,
    layers: [
      L.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 6, kernelSize: 2, padding: 'same', activation: 'tanh', kernelInitializer: 'heNormal' }),
      L.flatten(),
      L.dropout({ rate: dropout }),
      L.dense({ units: 10, activation: 'relu', kernelInitializer: 'glorotNormal' }),
      L.dense({ units: 3, activation: 'softmax', kernelInitializer: 'heUniform' }),
    ],
  });
}

function dataset(n, seed) {
  const r = mulberry32(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(r() * 3);
    for (let j = 0; j < 64; j++) x[i * 64 + j] = r() - 0.5 + (j % 3 === y[i] ? 0.5 : 0); // a learnable pattern
  }
  return { x: cnn.tensor(x, [n, 8, 8, 1]), y: cnn.tensor(y, [n], 'int32') };
}

before(() => readyWithTfjsCpu(tf));

describe('weight initialisation is fixed by the model seed', () => {
  test('same seed -> bit-identical getWeights()', () => {
    const a = makeModel(1234);
    const b = makeModel(1234);
    try {
      const wa = a.getWeights();
      const wb = b.getWeights();
      assert.equal(wa.length, 8);
      assert.equal(wa.length, wb.length);
      wa.forEach((w, i) => assert.ok(sameBits(w, wb[i]), `weight ${i} (${a.weightNames()[i]}) differs`));
      // Reading the weights again, or compiling, does not change them.
      a.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
      a.getWeights().forEach((w, i) => assert.ok(sameBits(w, wb[i]), `weight ${i} changed after compile`));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('different seeds -> different kernels (biases are zeros in both)', () => {
    const a = makeModel(1234);
    const b = makeModel(1235);
    try {
      const names = a.weightNames();
      const wa = a.getWeights();
      const wb = b.getWeights();
      wa.forEach((w, i) => {
        if (names[i].endsWith('/bias')) {
          assert.ok(sameBits(w, wb[i]), `${names[i]} should be zeros in both`);
          assert.ok(w.dataSync().every((v) => v === 0), `${names[i]} is not zero`);
        } else {
          const va = w.dataSync();
          const vb = wb[i].dataSync();
          const equal = va.filter((v, j) => v === vb[j]).length;
          assert.ok(equal < va.length / 10, `${names[i]}: ${equal} of ${va.length} values are equal across seeds`);
        }
      });
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('seed 0 and seed 2^32 - 1 are valid and differ', () => {
    const a = cnn.sequential({ seed: 0, layers: [L.dense({ units: 4, inputShape: [5] })] });
    const b = cnn.sequential({ seed: 0xffffffff, layers: [L.dense({ units: 4, inputShape: [5] })] });
    const c = cnn.sequential({ seed: 0, layers: [L.dense({ units: 4, inputShape: [5] })] });
    try {
      assert.ok(!sameBits(a.getWeights()[0], b.getWeights()[0]));
      assert.ok(sameBits(a.getWeights()[0], c.getWeights()[0]));
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  test('identical layers in one model get different values', () => {
    const m = cnn.sequential({ seed: 9, layers: [L.dense({ units: 8, inputShape: [8] }), L.dense({ units: 8 })] });
    try {
      const [k1, , k2] = m.getWeights();
      assert.ok(!sameBits(k1, k2));
    } finally {
      m.dispose();
    }
  });
});

describe('training is reproducible with the same seeds', () => {
  async function train(modelSeed, fitSeed, { dropout = 0.3 } = {}) {
    const model = makeModel(modelSeed, { dropout });
    model.compile({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const { x, y } = dataset(50, 77);
    const history = await model.fit(x, y, { epochs: 3, batchSize: 8, validationSplit: 0.2, shuffle: true, seed: fitSeed });
    const weights = model.getWeights();
    model.dispose();
    return { history, weights };
  }

  test('two fits with the same model seed and fit seed (with dropout) -> bit-identical weights and histories', async () => {
    const a = await train(11, 22);
    const b = await train(11, 22);
    a.weights.forEach((w, i) => assert.ok(sameBits(w, b.weights[i]), `weight ${i} differs after training`));
    assert.deepStrictEqual(a.history.history, b.history.history);
    assert.deepStrictEqual(a.history.epoch, b.history.epoch);
    assert.equal(a.history.history.loss.length, 3);
    assert.equal(a.history.history.val_loss.length, 3);
    for (const v of [...a.history.history.loss, ...a.history.history.val_loss]) assert.ok(Number.isFinite(v));
    // Training did change the weights.
    const init = makeModel(11);
    try {
      assert.ok(!sameBits(init.getWeights()[0], a.weights[0]), 'fit did not change the first kernel');
    } finally {
      init.dispose();
    }
  });

  test('a different fit seed (shuffle and dropout masks) -> different weights', async () => {
    const a = await train(11, 22);
    const c = await train(11, 23);
    assert.ok(a.weights.some((w, i) => !sameBits(w, c.weights[i])), 'weights are identical with different fit seeds');
    assert.notDeepStrictEqual(a.history.history.loss, c.history.history.loss);
  });

  test('a different fit seed changes the dropout masks even without shuffling', async () => {
    const run = async (fitSeed) => {
      const model = makeModel(5, { dropout: 0.5 });
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const { x, y } = dataset(16, 78);
      await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, seed: fitSeed });
      const w = model.getWeights();
      model.dispose();
      return w;
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    a.forEach((w, i) => assert.ok(sameBits(w, b[i]), `weight ${i}: same seeds, different result`));
    assert.ok(a.some((w, i) => !sameBits(w, c[i])), 'dropout masks do not depend on the fit seed');
  });

  test('earlier training-mode passes (computeGradients with dropout) do not change what fit(seed) does', async () => {
    const run = async (warmUp) => {
      const model = makeModel(31, { dropout: 0.5 });
      model.compile({ optimizer: cnn.train.momentum(0.05, 0.9), loss: 'sparseCategoricalCrossentropy' });
      const { x, y } = dataset(24, 79);
      if (warmUp) for (let i = 0; i < 3; i++) model.computeGradients(x, y);
      const history = await model.fit(x, y, { epochs: 2, batchSize: 6, seed: 99 });
      const w = model.getWeights();
      model.dispose();
      return { w, history };
    };
    const a = await run(false);
    const b = await run(true);
    a.w.forEach((w, i) => assert.ok(sameBits(w, b.w[i]), `weight ${i} differs`));
    assert.deepStrictEqual(a.history.history, b.history.history);
  });

  test('a different model seed -> different trained weights', async () => {
    const a = await train(11, 22);
    const d = await train(12, 22);
    assert.ok(a.weights.some((w, i) => !sameBits(w, d.weights[i])));
  });
});

describe('initialiser statistics', () => {
  function stats(values) {
    let mean = 0;
    for (const v of values) mean += v;
    mean /= values.length;
    let variance = 0;
    let maxAbs = 0;
    for (const v of values) {
      variance += (v - mean) ** 2;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    return { mean, std: Math.sqrt(variance / values.length), maxAbs };
  }
  // Standard deviation of a standard normal truncated to [-2, 2] (tfjs's truncatedNormal, no variance correction).
  const TRUNCATED_STD = 0.8796256610342398;

  /** Kernel values of a one-layer model: a conv [kh, kw, inC, filters] or a dense [inputs, units]. */
  function kernelOf(kind, init, seed) {
    const layer = kind === 'conv'
      ? L.conv2d({ filters: 32, kernelSize: 5, inputShape: [8, 8, 16], kernelInitializer: init })
      : L.dense({ units: 300, inputShape: [400], kernelInitializer: init });
    const m = cnn.sequential({ seed, layers: [layer] });
    try {
      const [kernel, bias] = m.getWeights();
      assert.ok(bias.dataSync().every((v) => v === 0), 'bias is not zeros');
      const fans = kind === 'conv' ? { fanIn: 5 * 5 * 16, fanOut: 5 * 5 * 32 } : { fanIn: 400, fanOut: 300 };
      return { values: kernel.dataSync(), ...fans, shape: kernel.shape };
    } finally {
      m.dispose();
    }
  }

  for (const kind of ['conv', 'dense']) {
    test(`${kind}: glorotUniform is uniform on ±sqrt(6 / (fanIn + fanOut))`, () => {
      const { values, fanIn, fanOut } = kernelOf(kind, 'glorotUniform', 1);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const s = stats(values);
      assert.ok(s.maxAbs <= limit * (1 + 1e-6), `max |w| ${s.maxAbs} > limit ${limit}`);
      assert.ok(s.maxAbs > 0.99 * limit, `max |w| ${s.maxAbs} is far below the limit ${limit}`);
      assert.ok(Math.abs(s.mean) < 0.05 * limit, `mean ${s.mean}`);
      const expected = limit / Math.sqrt(3);
      assert.ok(Math.abs(s.std - expected) < 0.03 * expected, `std ${s.std}, expected ${expected}`);
      // Roughly uniform: each quarter of [-limit, limit] holds about a quarter of the values.
      const quarters = [0, 0, 0, 0];
      for (const v of values) quarters[Math.min(3, Math.floor(((v + limit) / (2 * limit)) * 4))]++;
      for (const q of quarters) assert.ok(Math.abs(q / values.length - 0.25) < 0.02, `quarters ${quarters}`);
    });

    test(`${kind}: heUniform is uniform on ±sqrt(6 / fanIn)`, () => {
      const { values, fanIn } = kernelOf(kind, 'heUniform', 2);
      const limit = Math.sqrt(6 / fanIn);
      const s = stats(values);
      assert.ok(s.maxAbs <= limit * (1 + 1e-6) && s.maxAbs > 0.99 * limit, `max |w| ${s.maxAbs}, limit ${limit}`);
      assert.ok(Math.abs(s.std - limit / Math.sqrt(3)) < 0.03 * limit / Math.sqrt(3), `std ${s.std}`);
    });

    test(`${kind}: heNormal is a normal with stddev sqrt(2 / fanIn) truncated at 2 stddev (tfjs)`, () => {
      const { values, fanIn } = kernelOf(kind, 'heNormal', 3);
      const sigma = Math.sqrt(2 / fanIn);
      const s = stats(values);
      assert.ok(s.maxAbs <= 2 * sigma * (1 + 1e-6), `max |w| ${s.maxAbs} > 2 sigma ${2 * sigma}`);
      assert.ok(s.maxAbs > 1.95 * sigma, `max |w| ${s.maxAbs} well inside 2 sigma`);
      assert.ok(Math.abs(s.mean) < 0.05 * sigma, `mean ${s.mean}`);
      const expected = TRUNCATED_STD * sigma;
      assert.ok(Math.abs(s.std - expected) < 0.03 * expected, `std ${s.std}, expected ${expected} (sigma ${sigma})`);
      // Not merely scaled: about 68.3 % / 0.9545 of a 2-sigma-truncated normal lies within 1 sigma.
      const within = values.filter((v) => Math.abs(v) <= sigma).length / values.length;
      assert.ok(Math.abs(within - 0.6827 / 0.9545) < 0.02, `fraction within 1 sigma ${within}`);
    });

    test(`${kind}: glorotNormal is a normal with stddev sqrt(2 / (fanIn + fanOut)) truncated at 2 stddev (tfjs)`, () => {
      const { values, fanIn, fanOut } = kernelOf(kind, 'glorotNormal', 4);
      const sigma = Math.sqrt(2 / (fanIn + fanOut));
      const s = stats(values);
      assert.ok(s.maxAbs <= 2 * sigma * (1 + 1e-6) && s.maxAbs > 1.95 * sigma, `max |w| ${s.maxAbs}, sigma ${sigma}`);
      const expected = TRUNCATED_STD * sigma;
      assert.ok(Math.abs(s.std - expected) < 0.03 * expected, `std ${s.std}, expected ${expected}`);
    });
  }

  test('heNormal and glorotNormal match the spread of tfjs initialisers of the same shape', () => {
    for (const [init, tfInit] of [['heNormal', tf.initializers.heNormal({ seed: 1 })], ['glorotNormal', tf.initializers.glorotNormal({ seed: 1 })],
      ['glorotUniform', tf.initializers.glorotUniform({ seed: 1 })], ['heUniform', tf.initializers.heUniform({ seed: 1 })]]) {
      for (const kind of ['conv', 'dense']) {
        const { values, shape } = kernelOf(kind, init, 5);
        const ref = tfInit.apply([...shape]);
        const ours = stats(values);
        const theirs = stats(ref.dataSync());
        ref.dispose();
        assert.ok(Math.abs(ours.std - theirs.std) < 0.04 * theirs.std, `${init} ${kind}: std ${ours.std} vs tfjs ${theirs.std}`);
        assert.ok(Math.abs(ours.maxAbs - theirs.maxAbs) < 0.03 * theirs.maxAbs, `${init} ${kind}: max |w| ${ours.maxAbs} vs tfjs ${theirs.maxAbs}`);
      }
    }
  });

  test('zeros and ones', () => {
    const m = cnn.sequential({
      seed: 6,
      layers: [
        L.conv2d({ filters: 3, kernelSize: 3, inputShape: [5, 5, 2], kernelInitializer: 'zeros' }),
        L.flatten(),
        L.dense({ units: 4, kernelInitializer: 'ones' }),
      ],
    });
    try {
      const [k1, b1, k2, b2] = m.getWeights();
      assert.ok(k1.dataSync().every((v) => v === 0) && Object.is(k1.dataSync()[0], 0));
      assert.ok(b1.dataSync().every((v) => v === 0));
      assert.ok(k2.dataSync().every((v) => v === 1));
      assert.ok(b2.dataSync().every((v) => v === 0));
    } finally {
      m.dispose();
    }
  });

  test('the default kernel initialiser is glorotUniform and the default bias is zeros', () => {
    const a = cnn.sequential({ seed: 8, layers: [L.dense({ units: 50, inputShape: [70] })] });
    const b = cnn.sequential({ seed: 8, layers: [L.dense({ units: 50, inputShape: [70], kernelInitializer: 'glorotUniform' })] });
    try {
      assert.ok(sameBits(a.getWeights()[0], b.getWeights()[0]));
      assert.ok(a.getWeights()[1].dataSync().every((v) => v === 0));
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
