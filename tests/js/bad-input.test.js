// Bad input: every mistake throws an Error whose message names the layer or option and says what was expected and
// what was given, and the engine stays usable afterwards (after every test a canary model trains and predicts
// bit-identically to a run made before any error happened).
//
//   bash build.sh && node --test tests/js/bad-input.test.js
import { test, describe, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { blobs, smallClassifier as classifier } from './helpers.js';

const L = cnn.layers;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function compiled(seed = 11, extra = {}) {
  const m = classifier(seed);
  m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], ...extra });
  return m;
}

function convModel(seed = 2) {
  const m = cnn.sequential({ seed, layers: [
    L.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
    L.flatten(),
    L.dense({ units: 3, activation: 'softmax' }),
  ] });
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
  return m;
}

/** Trains a fresh canary model and returns its predictions; deterministic. */
async function canary() {
  const { x, y } = blobs(30, 3);
  const m = compiled(5);
  const h = await m.fit(x, y, { epochs: 4, batchSize: 7, seed: 9 });
  const p = m.predict(x, { batchSize: 8 }).dataSync();
  const [, acc] = m.evaluate(x, y);
  m.dispose();
  return { p, loss: h.history.loss, acc: acc.dataSync()[0] };
}

let reference = null;

before(async () => {
  await cnn.ready();
  reference = await canary();
  assert.ok(reference.acc > 0.9, `the canary model learns (accuracy ${reference.acc})`);
});

// After every test: the engine still trains and predicts exactly as before any error.
afterEach(async () => {
  const now = await canary();
  assert.deepEqual([...now.p], [...reference.p], 'canary predictions changed after an error: the engine state was damaged');
  assert.deepEqual(now.loss, reference.loss);
});

/**
 * Calls fn (sync or async) and checks it throws an Error whose message matches every pattern. Returns the error.
 * Strings are matched literally.
 */
async function throwsWith(fn, ...patterns) {
  let error = null;
  try {
    await fn();
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected an error matching ${patterns.join(' & ')}, but nothing was thrown`);
  assert.ok(error instanceof Error, `expected an Error, got ${Object.prototype.toString.call(error)}: ${error}`);
  for (const p of patterns) {
    const ok = typeof p === 'string' ? error.message.includes(p) : p.test(error.message);
    assert.ok(ok, `error message ${JSON.stringify(error.message)} should contain ${p}`);
  }
  return error;
}

/**
 * The model still fits and predicts like an untouched twin (a same-seed model compiled the same way, SGD). The
 * twin's weights are copied first, since a call that failed late (validationData) may have trained an epoch.
 */
async function stillWorks(model, twin, x, y) {
  model.setWeights(twin.getWeights());
  await model.fit(x, y, { epochs: 2, batchSize: 5, seed: 1 });
  await twin.fit(x, y, { epochs: 2, batchSize: 5, seed: 1 });
  assert.deepEqual([...model.predict(x).dataSync()], [...twin.predict(x).dataSync()], 'the model behaves like an untouched twin');
}

// ---------------------------------------------------------------------------------------------------------------
describe('tensor()', () => {
  test('bad dtype, nested arrays, shape mismatch, bad shape, non-integer int32', async () => {
    await throwsWith(() => cnn.tensor([1, 2], [2], 'float64'), 'dtype', 'float64');
    await throwsWith(() => cnn.tensor([[1, 2], [3, 4]], [2, 2]), 'nested');
    await throwsWith(() => cnn.tensor([1, 2, 3], [2, 2]), '[2,2]', '4', '3');
    await throwsWith(() => cnn.tensor([1, 2], [-2]), 'shape', '-2');
    await throwsWith(() => cnn.tensor([1, 2], [2.5]), 'shape', '2.5');
    await throwsWith(() => cnn.tensor([1, 1.5], [2], 'int32'), 'int32', '1.5');
    await throwsWith(() => cnn.tensor('abc', [3]), 'values', 'string');
    await throwsWith(() => cnn.tensor(null, [1]), 'values', 'null');
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('wrong input shapes and values', () => {
  test('wrong input shape to fit / predict / evaluate names the expected and actual shapes and the layer', async () => {
    const m = compiled();
    const twin = compiled();
    const inputLayer = m.layers[0].name;
    const { x, y } = blobs(10);
    const bad = cnn.tensor(new Float32Array(15), [5, 3]);
    const by = cnn.tensor(new Int32Array(5), [5], 'int32');
    await throwsWith(() => m.predict(bad), 'predict', '[null,4]', '[5,3]', inputLayer);
    await throwsWith(() => m.fit(bad, by), 'fit', '[null,4]', '[5,3]', inputLayer);
    await throwsWith(() => m.evaluate(bad, by), 'evaluate', '[null,4]', '[5,3]', inputLayer);
    await throwsWith(() => m.predict(cnn.tensor(new Float32Array(4), [4])), 'predict', '[null,4]', '[4]');
    await throwsWith(() => m.predict(cnn.tensor(new Int32Array(4), [1, 4], 'int32')), 'predict', 'float32', 'int32');
    await throwsWith(() => m.predict([1, 2, 3, 4]), 'predict', 'Tensor', 'Array(4)');
    await throwsWith(() => m.fit(x, [0, 1]), 'fit', 'Tensor');
    await throwsWith(() => m.fit(x, y, { validationData: [bad, by] }), 'validationData', '[null,4]', '[5,3]');
    await stillWorks(m, twin, x, y);

    const c = convModel();
    await throwsWith(() => c.predict(cnn.tensor(new Float32Array(2 * 64), [2, 8, 8])), '[null,8,8,1]', '[2,8,8]');
    await throwsWith(() => c.predict(cnn.tensor(new Float32Array(2 * 81), [2, 9, 9, 1])), '[null,8,8,1]', '[2,9,9,1]');
    await throwsWith(() => c.predict(cnn.tensor(new Float32Array(2 * 128), [2, 8, 8, 2])), '[null,8,8,1]', '[2,8,8,2]');
    for (const t of [m, twin, c]) t.dispose();
  });

  test('labels out of range, negative, non-integer, wrong count, wrong shape', async () => {
    const m = compiled();
    const twin = compiled();
    const { x, y, ys } = blobs(10);
    const labels = (values, shape = [10], dtype = 'int32') => cnn.tensor(values, shape, dtype);
    const out = Int32Array.from(ys); out[4] = 3;
    await throwsWith(() => m.fit(x, labels(out)), 'fit', 'label 4', 'is 3', '0 to 2');
    await throwsWith(() => m.evaluate(x, labels(out)), 'evaluate', 'label 4', 'is 3', '0 to 2');
    const neg = Int32Array.from(ys); neg[0] = -1;
    await throwsWith(() => m.fit(x, labels(neg)), 'label 0', 'is -1', '0 to 2');
    const frac = Float32Array.from(ys); frac[2] = 1.5;
    await throwsWith(() => m.fit(x, labels(frac, [10], 'float32')), 'label 2', '1.5', 'integer');
    await throwsWith(() => m.fit(x, labels(ys.subarray(0, 9), [9])), 'fit', '10 samples', '9');
    await throwsWith(() => m.evaluate(x, labels(ys.subarray(0, 9), [9])), 'evaluate', '10 samples', '9');
    await throwsWith(() => m.fit(x, labels(new Int32Array(30), [10, 3])), 'fit', '[10]', '[10,3]');
    // tfjs-style [n, 1] sparse labels are accepted.
    await m.fit(x, labels(ys, [10, 1]), { epochs: 1, seed: 4 });
    await twin.fit(x, labels(ys, [10, 1]), { epochs: 1, seed: 4 });
    assert.deepEqual([...m.predict(x).dataSync()], [...twin.predict(x).dataSync()], 'failed fit/evaluate calls changed nothing');
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  const badValue = (bad) => new RegExp(String(bad).replace('inity', '(inity)?'), 'i'); // NaN/nan, Infinity/inf

  test('NaN and Infinity in inputs are rejected by fit / predict / evaluate / computeGradients', async () => {
    const m = compiled();
    const twin = compiled();
    const { xs, x, y } = blobs(10);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const v = Float32Array.from(xs); v[7 * 4 + 1] = bad;
      const bx = cnn.tensor(v, [10, 4]);
      const value = badValue(bad);
      await throwsWith(() => m.fit(bx, y, { batchSize: 4 }), 'fit', 'input', value, 'finite');
      await throwsWith(() => m.predict(bx, { batchSize: 4 }), 'predict', 'input', value, 'finite');
      await throwsWith(() => m.evaluate(bx, y, { batchSize: 4 }), 'evaluate', 'input', value);
      await throwsWith(() => m.fit(x, y, { validationData: [bx, y], batchSize: 4 }), 'input', value);
      await throwsWith(() => m.computeGradients(bx, y), 'computeGradients', 'input', value);
    }
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  // The bad value sits in sample 7 of 10: with batchSize 4 that is the 4th sample of the 2nd batch. The message
  // must name the user's sample index (7), not the index within a (shuffled) batch.
  test('the error for a NaN input names the sample index in x, not in the batch', async () => {
    const m = compiled();
    const { xs, y } = blobs(10);
    const v = Float32Array.from(xs); v[7 * 4 + 1] = NaN;
    const bx = cnn.tensor(v, [10, 4]);
    const problems = [];
    const cases = [
      ['fit, shuffled', () => m.fit(bx, y, { batchSize: 4 })],
      ['fit, shuffle false', () => m.fit(bx, y, { batchSize: 4, shuffle: false })],
      ['predict, batchSize 4', () => m.predict(bx, { batchSize: 4 })],
      ['predict, batchSize 32', () => m.predict(bx)],
      ['evaluate, batchSize 4', () => m.evaluate(bx, y, { batchSize: 4 })],
      ['computeGradients', () => m.computeGradients(bx, y)],
    ];
    for (const [name, fn] of cases) {
      const e = await throwsWith(fn, /nan/i);
      if (!/sample 7\b/.test(e.message)) problems.push(`${name}: ${JSON.stringify(e.message)}`);
    }
    assert.deepEqual(problems, [], 'messages that do not name sample 7');
    m.dispose();
  });

  test('NaN and Infinity in labels and targets', async () => {
    const m = compiled();
    const twin = compiled();
    const { ys, x, y } = blobs(10);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const l = Float32Array.from(ys); l[6] = bad;
      await throwsWith(() => m.fit(x, cnn.tensor(l, [10])), 'fit', 'label 6', badValue(bad));
      await throwsWith(() => m.evaluate(x, cnn.tensor(l, [10])), 'evaluate', 'label 6', badValue(bad));
    }
    await stillWorks(m, twin, x, y);
    // Regression / one-hot targets.
    const r = cnn.sequential({ seed: 1, layers: [L.dense({ inputShape: [4], units: 2 })] });
    r.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const c = classifier();
    c.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    for (const bad of [NaN, Infinity]) {
      const t = new Float32Array(20); t[7] = bad;
      await throwsWith(() => r.fit(x, cnn.tensor(t, [10, 2])), 'fit', 'target value 7', badValue(bad));
      await throwsWith(() => r.evaluate(x, cnn.tensor(t, [10, 2])), 'evaluate', 'target value 7', badValue(bad));
      const oh = new Float32Array(30); oh[5] = bad;
      await throwsWith(() => c.fit(x, cnn.tensor(oh, [10, 3])), 'fit', 'target value 5', badValue(bad));
    }
    await throwsWith(() => r.fit(x, cnn.tensor(new Float32Array(30), [10, 3])), 'fit', '[10,2]', '[10,3]');
    for (const t of [m, twin, r, c]) t.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('layer options', () => {
  test('unknown options name the layer and suggest the right spelling', async () => {
    await throwsWith(() => L.conv2d({ filter: 6, kernelSize: 3 }), 'Conv2D', "'filter'", "did you mean 'filters'");
    await throwsWith(() => L.conv2d({ filters: 6, kernelsize: 3 }), 'Conv2D', "'kernelsize'", "did you mean 'kernelSize'");
    await throwsWith(() => L.dense({ unit: 3 }), 'Dense', "'unit'", "did you mean 'units'");
    await throwsWith(() => L.dense({ units: 3, activaton: 'relu' }), 'Dense', "'activaton'", "did you mean 'activation'");
    await throwsWith(() => L.maxPooling2d({ poolsize: 2 }), 'MaxPooling2D', "'poolsize'", "did you mean 'poolSize'");
    await throwsWith(() => L.dropout({ rate: 0.5, rat: 1 }), 'Dropout', "'rat'", "did you mean 'rate'");
    const e = await throwsWith(() => L.dense({ units: 3, flibbertigibbet: 1 }), 'Dense', 'flibbertigibbet', 'known options');
    assert.ok(!/did you mean/.test(e.message), 'no suggestion for a word far from every option');
  });

  test('unknown activation and initializer, bad padding', async () => {
    await throwsWith(() => L.dense({ units: 3, activation: 'relu6', name: 'd_act' }), 'd_act', 'activation', '"relu6"', "did you mean 'relu'");
    await throwsWith(() => L.conv2d({ filters: 2, kernelSize: 3, activation: 'gelu', name: 'c_act' }), 'c_act', 'activation', '"gelu"', "'relu'");
    await throwsWith(() => L.activation({ activation: 'softmaks', name: 'a_act' }), 'a_act', '"softmaks"', "did you mean 'softmax'");
    await throwsWith(() => L.dense({ units: 3, kernelInitializer: 'glorotUnifrom', name: 'd_init' }), 'd_init', 'kernelInitializer', '"glorotUnifrom"', "did you mean 'glorotUniform'");
    await throwsWith(() => L.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: 'randomNormal', name: 'c_init' }), 'c_init', 'kernelInitializer', '"randomNormal"', 'glorotUniform');
    await throwsWith(() => L.dense({ units: 3, biasInitializer: 'ones', name: 'd_binit' }), 'd_binit', 'biasInitializer', '"ones"');
    await throwsWith(() => L.conv2d({ filters: 2, kernelSize: 3, padding: 'full', name: 'c_pad' }), 'c_pad', 'padding', '"full"', "'valid'", "'same'");
    await throwsWith(() => L.conv2d({ filters: 2, kernelSize: 3, padding: 'SAME', name: 'c_pad2' }), 'c_pad2', 'padding', '"SAME"', "did you mean 'same'");
    await throwsWith(() => L.maxPooling2d({ padding: 'causal', name: 'p_pad' }), 'p_pad', 'padding', '"causal"');
  });

  test('dataFormat channelsFirst is refused by every layer that takes the option (the engine is NHWC only)', async () => {
    const makers = {
      conv2d: (o) => L.conv2d({ filters: 2, kernelSize: 3, ...o }),
      conv2dTranspose: (o) => L.conv2dTranspose({ filters: 2, kernelSize: 3, ...o }),
      maxPooling2d: (o) => L.maxPooling2d(o),
      averagePooling2d: (o) => L.averagePooling2d(o),
      globalAveragePooling2d: (o) => L.globalAveragePooling2d(o),
      globalMaxPooling2d: (o) => L.globalMaxPooling2d(o),
      upSampling2d: (o) => L.upSampling2d(o),
      zeroPadding2d: (o) => L.zeroPadding2d(o),
      flatten: (o) => L.flatten(o),
    };
    for (const [kind, make] of Object.entries(makers)) {
      await throwsWith(() => make({ dataFormat: 'channelsFirst', name: `${kind}_df` }), `${kind}_df`, 'dataFormat',
        '"channelsFirst"', "'channelsLast'");
      assert.equal(make({ dataFormat: 'channelsLast' }).config.dataFormat, 'channelsLast', kind);
    }
  });

  test('kernel larger than its valid-padded input, pool larger than its input', async () => {
    await throwsWith(() => cnn.sequential({ layers: [L.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 5, name: 'big_kernel' })] }),
      'big_kernel', '5x5', '4x4', 'valid');
    await throwsWith(() => cnn.sequential({ layers: [L.conv2d({ inputShape: [6, 4, 1], filters: 2, kernelSize: [3, 5], name: 'wide_kernel' })] }),
      'wide_kernel', '3x5', '6x4');
    await throwsWith(() => cnn.sequential({ layers: [L.conv2d({ inputShape: [5, 5, 1], filters: 2, kernelSize: 3, dilationRate: 3, name: 'dilated' })] }),
      'dilated', '3x3', 'dilation', '5x5');
    // Deeper in the network: the 2nd conv sees a 2x2 input.
    const seq = cnn.sequential({ layers: [L.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 5 })] });
    await throwsWith(() => seq.add(L.conv2d({ filters: 2, kernelSize: 3, name: 'second_conv' })), 'second_conv', '3x3', '2x2');
    // With padding 'same' the same kernel is fine.
    const ok = cnn.sequential({ layers: [L.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 5, padding: 'same' })] });
    assert.deepEqual(ok.outputShape, [null, 4, 4, 2]);
    await throwsWith(() => cnn.sequential({ layers: [L.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }), L.maxPooling2d({ poolSize: 3, name: 'big_pool' })] }),
      'big_pool', '3x3', '2x2');
    await throwsWith(() => cnn.sequential({ layers: [L.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }), L.averagePooling2d({ poolSize: [1, 4], name: 'big_avg' })] }),
      'big_avg', '1x4', '2x2');
    seq.dispose();
    ok.dispose();
  });

  test('zero / negative / non-integer filters, units, kernel sizes, strides, pool sizes', async () => {
    for (const filters of [0, -2, 2.5, '6', undefined]) {
      await throwsWith(() => L.conv2d({ filters, kernelSize: 3, name: 'cf' }), 'cf', 'filters', String(JSON.stringify(filters) ?? 'undefined'));
    }
    for (const units of [0, -1, 1.5, null]) await throwsWith(() => L.dense({ units, name: 'du' }), 'du', 'units', JSON.stringify(units));
    for (const strides of [0, -1, [1, 0], [2, 2, 2], 1.5]) {
      await throwsWith(() => L.conv2d({ filters: 2, kernelSize: 3, strides, name: 'cs' }), 'cs', 'strides', JSON.stringify(strides));
      await throwsWith(() => L.maxPooling2d({ poolSize: 2, strides, name: 'ps' }), 'ps', 'strides', JSON.stringify(strides));
    }
    for (const kernelSize of [0, -3, [3, 0], undefined]) {
      await throwsWith(() => L.conv2d({ filters: 2, kernelSize, name: 'ck' }), 'ck', 'kernelSize');
    }
    for (const poolSize of [0, -2, [2, 0]]) await throwsWith(() => L.maxPooling2d({ poolSize, name: 'pp' }), 'pp', 'poolSize', JSON.stringify(poolSize));
    for (const inputShape of [[0, 4, 1], [-1], [4, 4, 1.5], []]) {
      await throwsWith(() => L.dense({ units: 2, inputShape, name: 'di' }), 'di', 'inputShape', JSON.stringify(inputShape));
    }
    // Dense on an image: suggest flatten().
    await throwsWith(() => cnn.sequential({ layers: [L.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }), L.dense({ units: 2, name: 'dense_on_image' })] }),
      'dense_on_image', 'rank 1', '[2,2,2]', 'flatten');
    // The first layer needs an inputShape.
    await throwsWith(() => cnn.sequential({ layers: [L.dense({ units: 2, name: 'no_shape' })] }), 'no_shape', 'inputShape');
  });

  test('dropout rate 1 (and other rates outside [0, 1))', async () => {
    for (const rate of [1, 1.5, -0.1, NaN, '0.5', undefined]) {
      await throwsWith(() => L.dropout({ rate, name: 'drop' }), 'drop', 'rate', '[0, 1)', typeof rate === 'number' ? String(rate) : String(JSON.stringify(rate) ?? 'undefined'));
    }
    L.dropout({ rate: 0 });
    L.dropout({ rate: 0.999 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('compile, fit and optimizer options', () => {
  test('compile with unknown loss / optimizer / metric / option, bad clipNorm', async () => {
    const m = classifier();
    await throwsWith(() => m.compile({ optimizer: 'sgd', loss: 'crossentropy' }), 'compile', 'loss', '"crossentropy"', 'sparseCategoricalCrossentropy');
    await throwsWith(() => m.compile({ optimizer: 'sgd' }), 'compile', 'loss', 'undefined');
    await throwsWith(() => m.compile({ optimizer: 'rmsprop', loss: 'meanSquaredError' }), 'compile', 'optimizer', '"rmsprop"', "'sgd'", "'adam'");
    await throwsWith(() => m.compile({ loss: 'meanSquaredError' }), 'compile', 'optimizer');
    await throwsWith(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: ['precision'] }), 'compile', 'metric', '"precision"', "'accuracy'");
    await throwsWith(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metric: ['acc'] }), 'compile', "'metric'", 'metrics');
    for (const clipNorm of [-1, NaN, Infinity, '1']) {
      await throwsWith(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', clipNorm }), 'compile', 'clipNorm', String(JSON.stringify(clipNorm)));
    }
    // A failed compile leaves the model uncompiled: fit still says to compile first.
    const { x, y } = blobs(10);
    await throwsWith(() => m.fit(x, y), 'fit', 'compile');
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const twin = compiled();
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  test('optimizer factories reject bad hyper-parameters naming them', async () => {
    for (const lr of [0, -0.1, NaN, Infinity, '0.1']) {
      await throwsWith(() => cnn.train.sgd(lr), 'train.sgd', 'learningRate', String(JSON.stringify(lr)));
      await throwsWith(() => cnn.train.adam(lr), 'train.adam', 'learningRate');
      await throwsWith(() => cnn.train.momentum(lr, 0.9), 'train.momentum', 'learningRate');
    }
    await throwsWith(() => cnn.train.momentum(0.1, 1), 'train.momentum', 'momentum', '[0, 1)', '1');
    await throwsWith(() => cnn.train.momentum(0.1, -0.5), 'train.momentum', 'momentum', '-0.5');
    await throwsWith(() => cnn.train.momentum(0.1), 'train.momentum', 'momentum');
    await throwsWith(() => cnn.train.adam(0.001, 1.0), 'train.adam', 'beta1', '1');
    await throwsWith(() => cnn.train.adam(0.001, 0.9, 1.5), 'train.adam', 'beta2', '1.5');
    await throwsWith(() => cnn.train.adam(0.001, 0.9, 0.999, 0), 'train.adam', 'epsilon', '0');
    await throwsWith(() => cnn.train.sgd(0.1, { weightDecay: -1 }), 'train.sgd', 'weightDecay', '-1');
    await throwsWith(() => cnn.train.sgd(0.1, { weightdecay: 0.1 }), 'train.sgd', "'weightdecay'", 'weightDecay');
  });

  test('fit / evaluate / computeGradients before compile', async () => {
    const m = classifier();
    const { x, y } = blobs(10);
    await throwsWith(() => m.fit(x, y), 'fit', 'compile');
    await throwsWith(() => m.evaluate(x, y), 'evaluate', 'compile');
    await throwsWith(() => m.computeGradients(x, y), 'computeGradients', 'compile');
    // predict needs no compile.
    assert.deepEqual([...m.predict(x).shape], [10, 3]);
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const twin = compiled();
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  test('fit options: unknown option, bad epochs / batchSize / validationSplit', async () => {
    const m = compiled();
    const twin = compiled();
    const { x, y } = blobs(10);
    await throwsWith(() => m.fit(x, y, { epoch: 3 }), 'fit', "'epoch'", 'epochs');
    await throwsWith(() => m.fit(x, y, { batch_size: 3 }), 'fit', "'batch_size'", 'batchSize');
    for (const epochs of [-1, 1.5, '2']) await throwsWith(() => m.fit(x, y, { epochs }), 'fit', 'epochs', String(epochs));
    for (const batchSize of [0, -4, 2.5, 1e6]) await throwsWith(() => m.fit(x, y, { batchSize }), 'fit', 'batchSize', String(batchSize));
    for (const validationSplit of [0, 1, 1.5, -0.2, '0.2']) {
      await throwsWith(() => m.fit(x, y, { validationSplit }), 'fit', 'validationSplit', String(validationSplit));
    }
    await throwsWith(() => m.fit(x, y, { validationSplit: 0.999 }), 'fit', 'validationSplit', '0.999', '10 samples');
    await throwsWith(() => m.fit(x, y, { seed: -1 }), 'fit', 'seed', '-1');
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  test('evaluate / predict with a bad batchSize name the option', async () => {
    const fresh = compiled();
    const { x, y } = blobs(10);
    for (const batchSize of [0, -1, 2.5]) {
      await throwsWith(() => fresh.predict(x, { batchSize }), 'predict', 'batchSize', String(batchSize));
    }
    const used = compiled();
    used.predict(x);
    for (const [name, m] of [['fresh model', compiled()], ['used model', used]]) {
      for (const batchSize of [0, -1, 2.5]) {
        await throwsWith(() => m.evaluate(x, y, { batchSize }), 'evaluate', 'batchSize', String(batchSize))
          .catch((err) => { throw new Error(`${name}, batchSize ${batchSize}: ${err.message}`); });
      }
      m.dispose();
    }
    fresh.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('weights and model lifecycle', () => {
  test('setWeights with wrong count / shape / NaN / non-tensors', async () => {
    const m = compiled();
    const twin = compiled();
    const w = m.getWeights(); // [4,8], [8], [8,3], [3]
    const names = m.weightNames();
    await throwsWith(() => m.setWeights(w.slice(0, 3)), 'setWeights', '4 weights', 'got 3', names[0]);
    await throwsWith(() => m.setWeights([...w, w[3]]), 'setWeights', '4 weights', 'got 5');
    await throwsWith(() => m.setWeights(w[0]), 'setWeights', '4 weights', 'Tensor');
    const wrong = [w[0], cnn.tensor(new Float32Array(8), [1, 8]), w[2], w[3]];
    await throwsWith(() => m.setWeights(wrong), 'setWeights', names[1], '[8]', '[1,8]');
    const swapped = [cnn.tensor(new Float32Array(32), [8, 4]), w[1], w[2], w[3]];
    await throwsWith(() => m.setWeights(swapped), 'setWeights', names[0], '[4,8]', '[8,4]');
    for (const bad of [NaN, Infinity]) {
      const v = w[2].dataSync(); v[5] = bad;
      await throwsWith(() => m.setWeights([w[0], w[1], cnn.tensor(v, [8, 3]), w[3]]), 'setWeights', names[2], 'value 5', String(bad), 'finite');
    }
    await throwsWith(() => m.setWeights([w[0], w[1], [1, 2, 3], w[3]]), 'setWeights', names[2], 'Tensor');
    const { x, y } = blobs(10);
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  test('a rejected setWeights leaves every weight unchanged (as tfjs, which checks all before writing)', async () => {
    const m = compiled();
    const before0 = m.getWeights().map((t) => t.dataSync());
    const w = m.getWeights();
    const changed = [cnn.tensor(new Float32Array(32).fill(0.5), [4, 8]), w[1], w[2], cnn.tensor(new Float32Array(4), [4])];
    await throwsWith(() => m.setWeights(changed), 'setWeights', '[3]', '[4]');
    const after = m.getWeights().map((t) => t.dataSync());
    after.forEach((v, i) => assert.deepEqual([...v], [...before0[i]], `weight ${i} (${m.weightNames()[i]}) changed by a rejected setWeights`));
    m.dispose();
  });

  test('use after dispose: tensors and models', async () => {
    const m = compiled();
    const { x, y } = blobs(10);
    const t = cnn.tensor(new Float32Array(40), [10, 4]);
    t.dispose();
    await throwsWith(() => m.predict(t), '[10,4]', 'disposed');
    await throwsWith(() => m.fit(t, y), '[10,4]', 'disposed');
    const ty = cnn.tensor(new Int32Array(10), [10], 'int32');
    ty.dispose();
    await throwsWith(() => m.fit(x, ty), '[10]', 'disposed');
    const w = m.getWeights();
    w[1].dispose();
    await throwsWith(() => m.setWeights(w), '[8]', 'disposed');
    // A model disposed before it ran (the case of a model disposed after running is in api.test.js).
    const d = compiled();
    d.dispose();
    await throwsWith(() => d.predict(x), 'disposed');
    await throwsWith(() => d.fit(x, y), 'disposed');
    await throwsWith(() => d.evaluate(x, y), 'disposed');
    await throwsWith(() => d.getWeights(), 'disposed');
    await throwsWith(() => d.summary(() => {}), 'disposed');
    const twin = compiled();
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  test('add after build names the layer', async () => {
    const m = compiled();
    await throwsWith(() => m.add(L.dense({ units: 2, name: 'late_dense' })), 'late_dense', 'built');
    await throwsWith(() => m.add({}), 'add', 'layer');
    const unbuilt = classifier();
    await throwsWith(() => unbuilt.add(unbuilt.layers[0]), unbuilt.layers[0].name, 'already');
    assert.deepEqual(m.outputShape, [null, 3], 'the model is unchanged');
    const { x, y } = blobs(10);
    const twin = compiled();
    await stillWorks(m, twin, x, y);
    m.dispose();
    twin.dispose();
  });

  test('a diverging training run throws instead of leaving NaN weights', async () => {
    const { x, y } = blobs(30);
    // [name, optimizer, fit seed, must throw]. With learning rates like 1e3..1e6 a run often ends with weights
    // of 1e11..1e18, a loss of 1e3..1e6 and chance accuracy but every value finite, and then no error is thrown
    // (only a NaN / infinite loss is detected); those runs are only required to leave finite weights.
    const runs = [
      ['sgd 1e30', cnn.train.sgd(1e30), 1, true],
      ['sgd 1e30, seed 2', cnn.train.sgd(1e30), 2, true],
      ['sgd 1e4', cnn.train.sgd(1e4), 1, false],
      ['sgd 1e6', cnn.train.sgd(1e6), 2, false],
      ['momentum 1e6', cnn.train.momentum(1e6, 0.9), 1, false],
    ];
    for (const [name, optimizer, seed, mustThrow] of runs) {
      const m = classifier(3);
      m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
      let error = null;
      let history = null;
      try {
        history = await m.fit(x, y, { epochs: 30, batchSize: 5, seed });
      } catch (err) {
        error = err;
      }
      if (mustThrow) assert.ok(error, `${name}: expected the diverging run to throw`);
      if (error) {
        assert.ok(error instanceof Error);
        assert.match(error.message, /fit/);
        assert.match(error.message, /diverge|non-finite|nan|inf/i);
        assert.ok(/learning rate|clipNorm/.test(error.message), `${name}: the message suggests a remedy: ${error.message}`);
      } else {
        assert.ok(history.history.loss.every(Number.isFinite), `${name}: no error, so every epoch loss must be finite`);
      }
      for (const [i, w] of m.getWeights().entries()) {
        assert.ok(w.dataSync().every(Number.isFinite), `${name}: weight ${i} has non-finite values (silent NaN weights)`);
      }
      // The model can be reset and trained again.
      const twin = compiled(3);
      m.setWeights(twin.getWeights());
      m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      await stillWorks(m, twin, x, y);
      m.dispose();
      twin.dispose();
    }
    // Regression loss blowing up.
    const r = cnn.sequential({ seed: 3, layers: [L.dense({ inputShape: [4], units: 3 })] });
    r.compile({ optimizer: cnn.train.sgd(100), loss: 'meanSquaredError' });
    const t = cnn.tensor(Float32Array.from({ length: 90 }, (_, i) => i), [30, 3]);
    await throwsWith(() => r.fit(x, t, { epochs: 50, batchSize: 5, seed: 1 }), 'fit', /diverge/);
    for (const w of r.getWeights()) assert.ok(w.dataSync().every(Number.isFinite));
    r.dispose();
  });
});
