// Issue 12's reproductions, each a test that failed before its fix: dispose during fit, integer options past the
// engine's limits, names that select code only through own properties, loader leaks and messages, compile during
// fit, empty evaluate, unreachable URLs, oversized headers, non-finite outputs, defaults that fit the input, and
// divergence.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { blobs, smallClassifier, patchHeader } from './helpers.js';

const L = cnn.layers;
before(() => cnn.ready());

function throwsCnn(fn, ...patterns) {
  let error;
  try { fn(); } catch (err) { error = err; }
  assert.ok(error, 'expected an error');
  assert.equal(error.name, 'CnnError', `expected a CnnError, got ${error.name}: ${error.message}`);
  for (const p of patterns) assert.match(error.message, p);
  return error;
}

async function rejectsCnn(promise, ...patterns) {
  let error;
  try { await promise; } catch (err) { error = err; }
  assert.ok(error, 'expected a rejection');
  assert.equal(error.name, 'CnnError', `expected a CnnError, got ${error.name}: ${error.message}`);
  for (const p of patterns) assert.match(error.message, p);
  return error;
}

function compiled(seed = 11) {
  const m = smallClassifier(seed);
  m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
  return m;
}

/** A fresh model trains and predicts after whatever went before: the engine is sound. */
async function assertEngineSound() {
  const { x, y } = blobs(30);
  const m = compiled(5);
  const h = await m.fit(x, y, { epochs: 3, batchSize: 10, seed: 1 });
  assert.ok(h.history.loss[2] < h.history.loss[0], `loss did not fall: ${h.history.loss}`);
  const p = m.predict(x);
  assert.ok(p.dataSync().every(Number.isFinite));
  [x, y, p].forEach((t) => t.dispose());
  m.dispose();
}

describe('dispose during fit (item 1)', () => {
  test('disposing from onBatchEnd with validationData ends fit cleanly and leaves the engine sound', async () => {
    const { x, y } = blobs(64);
    const m = compiled();
    let batches = 0;
    const history = await m.fit(x, y, { epochs: 2, batchSize: 32, validationData: [x, y], seed: 1,
      callbacks: { onBatchEnd: () => { batches++; m.dispose(); } } });
    assert.equal(batches, 1, 'fit stopped after the batch whose callback disposed the model');
    assert.equal(history.epoch.length, 0);
    assert.ok(m.isDisposed);
    await assertEngineSound();
    x.dispose(); y.dispose();
  });

  test('disposing from onEpochEnd keeps the finished epoch in the history', async () => {
    const { x, y } = blobs(40);
    const m = compiled();
    const history = await m.fit(x, y, { epochs: 3, batchSize: 20, validationSplit: 0.25, seed: 1,
      callbacks: { onEpochEnd: () => m.dispose() } });
    assert.deepEqual(history.epoch, [0]);
    assert.equal(history.history.val_loss.length, 1);
    await assertEngineSound();
    x.dispose(); y.dispose();
  });
});

describe('integer options past the engine limits (item 4)', () => {
  test('kernelSize 2^32 + 3 no longer builds a 3x3 kernel', () => {
    throwsCnn(() => L.conv2d({ filters: 2, kernelSize: 2 ** 32 + 3, name: 'c' }), /c: kernelSize/, /65536/);
  });
  test('filters, units, strides, poolSize, padding, inputShape name the limit', () => {
    throwsCnn(() => L.conv2d({ filters: 1e6, kernelSize: 3, name: 'c' }), /c: filters must be an integer from 1 to 65536, got 1000000/);
    throwsCnn(() => L.conv2d({ filters: 2 ** 32 + 4, kernelSize: 3, name: 'c' }), /65536/);
    throwsCnn(() => L.dense({ units: 2 ** 32 + 4, name: 'd' }), /d: units must be an integer from 1 to 65536/);
    throwsCnn(() => L.conv2d({ filters: 2, kernelSize: 3, strides: 2 ** 31, name: 'c' }), /c: strides/, /65536/);
    throwsCnn(() => L.maxPooling2d({ poolSize: 70000, name: 'p' }), /p: poolSize/, /65536/);
    throwsCnn(() => L.zeroPadding2d({ padding: 2 ** 32, name: 'z' }), /z: padding/, /65536/);
    throwsCnn(() => cnn.input({ shape: [2 ** 32 + 1, 1, 1] }), /input: shape/, /65536/);
  });
  test('an output too large for one sample is refused at apply, naming the layer', () => {
    const i = cnn.input({ shape: [16000, 16000, 1] });
    throwsCnn(() => L.conv2d({ filters: 8, kernelSize: 1, name: 'wide' }).apply(i), /wide: output shape \[16000,16000,8\] is too large/);
  });
  test('batchSize over the limit', async () => {
    const { x, y } = blobs(10);
    const m = compiled();
    await rejectsCnn(m.fit(x, y, { batchSize: 2 ** 32 }), /batchSize must be an integer from 1 to 65536/);
    m.dispose(); x.dispose(); y.dispose();
  });
});

describe('names select code through own properties only (item 5)', () => {
  const prototypeNames = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
  test('compile: loss, metrics and optimizer names', () => {
    const m = smallClassifier();
    for (const name of prototypeNames) {
      throwsCnn(() => m.compile({ optimizer: 'sgd', loss: name }), /compile: loss must be one of/);
      throwsCnn(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: [name] }), /compile: unknown metric/);
      throwsCnn(() => m.compile({ optimizer: { name, learningRate: 0.1 }, loss: 'meanSquaredError' }), /compile: optimizer/);
    }
    m.dispose();
  });
  test('layer options: activation, padding, initializer, interpolation', () => {
    for (const name of prototypeNames) {
      throwsCnn(() => L.dense({ units: 2, activation: name }), /activation must be one of/);
      throwsCnn(() => L.conv2d({ filters: 2, kernelSize: 3, padding: name }), /padding must be one of/);
      throwsCnn(() => L.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: name }), /kernelInitializer must be one of/);
      throwsCnn(() => L.upSampling2d({ interpolation: name }), /interpolation must be one of/);
    }
  });
  test('a model file whose loss or layer class is a prototype name does not load', async () => {
    const m = compiled();
    const bytes = m.save();
    m.dispose();
    await rejectsCnn(cnn.loadModel(patchHeader(bytes, (h) => { h.training.loss = 'constructor'; })), /loadModel: compile: loss/);
    await rejectsCnn(cnn.loadModel(patchHeader(bytes, (h) => { h.model.layers[1].className = '__proto__'; })),
      /loadModel: model.layers\[1\].className must be one of/);
    await rejectsCnn(cnn.loadModel(patchHeader(bytes, (h) => { h.training.optimizer.name = 'constructor'; })), /loadModel: compile: optimizer/);
  });
});

describe('the loader (items 6 and 7)', () => {
  test('1,000 rejected loads leave no tensors behind', async () => {
    const m = compiled();
    const bytes = patchHeader(m.save(), (h) => { h.weights[0].name = 'renamed/kernel'; });
    m.dispose();
    const before = cnn.memory();
    for (let i = 0; i < 1000; i++) await rejectsCnn(cnn.loadModel(bytes), /weight 0 is named renamed\/kernel/);
    const after = cnn.memory();
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numModels, before.numModels);
  });
  test('malformed architecture JSON gets a message naming the field, never an internal TypeError', async () => {
    const m = compiled();
    const bytes = m.save();
    m.dispose();
    const cases = [
      [(h) => { h.model.layers[1] = null; }, /model.layers\[1\] must be an object/],
      [(h) => { h.model.layers[1].inbound = 5; }, /model.layers\[1\].inbound must be an array/],
      [(h) => { h.model.layers[1].config = null; }, /model.layers\[1\].config must be an object/],
      [(h) => { h.model.layers = {}; }, /does not describe a wasm-cnn model|model.layers must be/],
      [(h) => { h.model.inputs = [null]; }, /model.inputs must be/],
      [(h) => { h.model.outputs = [['nowhere', 0]]; }, /output must be its last layer 'dense_\d+', got 'nowhere'/],
      [(h) => { h.model.layers[2].inbound = [['dense_x', 3]]; }, /reads \[dense_x\], expected \[dense_\d+\]/],
      [(h) => { h.model.sequential = false; h.model.layers[2].inbound = [['dense_x', 0]]; }, /reads unknown layer 'dense_x'/],
      [(h) => { h.model.sequential = false; h.model.outputs = [['nowhere', 0]]; }, /unknown model input\/output 'nowhere'/],
      [(h) => { h.model.layers[1].config.units = 'eight'; }, /units must be an integer/],
      [(h) => { h.model.layers[1].config.name = ''; }, /model.layers\[1\].config.name must be a non-empty string/],
    ];
    for (const [edit, pattern] of cases) {
      const err = await rejectsCnn(cnn.loadModel(patchHeader(bytes, edit)), /^loadModel: /, pattern);
      assert.doesNotMatch(err.message, /Cannot (destructure|read)|is not (a function|iterable)|undefined/);
    }
  });
});

describe('state and messages (item 8)', () => {
  test('compile() is refused while fit runs', async () => {
    const { x, y } = blobs(40);
    const m = compiled();
    let error;
    await m.fit(x, y, { epochs: 1, batchSize: 10, seed: 1, callbacks: { onBatchEnd: () => {
      try { m.compile({ optimizer: 'adam', loss: 'meanSquaredError' }); } catch (err) { error ??= err; }
    } } });
    assert.match(error?.message ?? '', /compile: the model is training/);
    m.dispose(); x.dispose(); y.dispose();
  });
  test('evaluate on zero samples is an error, not loss 0', () => {
    const m = compiled();
    const x = cnn.tensor(new Float32Array(0), [0, 4]);
    const y = cnn.tensor(new Int32Array(0), [0], 'int32');
    throwsCnn(() => m.evaluate(x, y), /evaluate: x holds no samples/);
    m.dispose();
  });
  test('an unreachable URL is named in the error', async () => {
    await rejectsCnn(cnn.loadModel('http://127.0.0.1:9/missing.wcnn'), /loadModel: could not fetch http:\/\/127.0.0.1:9\/missing.wcnn/);
  });
  test('save() refuses a header over the 16 MiB that loadModel accepts, saying so', () => {
    const m = cnn.sequential({ layers: [L.dense({ inputShape: [2], units: 1, name: 'x'.repeat(3e6) })] });
    throwsCnn(() => m.save(), /save: the file header .* is \d+ bytes; model files allow at most 16777216/);
    throwsCnn(() => m.save({ metadata: { notes: 'y'.repeat(17e6) } }), /at most 16777216/);
    m.dispose();
  });
});

test('predict refuses non-finite outputs from finite inputs (item 9)', () => {
  const m = cnn.sequential({ seed: 1, layers: [L.dense({ inputShape: [2], units: 2, name: 'big' })] });
  m.setWeights([cnn.tensor([3e38, 3e38, 3e38, 3e38], [2, 2]), cnn.tensor([0, 0], [2])]);
  const x = cnn.tensor([10, 10], [1, 2]);
  throwsCnn(() => m.predict(x), /predict: the output of sample 0 is Infinity/, /overflow float32/);
  m.dispose(); x.dispose();
});

describe('defaults that fit the input (item 10)', () => {
  test('FCN and SegNet pick their depth from the input size and summary() says so', () => {
    const lines = [];
    const small = cnn.zoo.fcn({ inputShape: [64, 64, 3], numClasses: 4 });
    small.summary((l) => lines.push(l));
    assert.ok(lines.some((l) => /Chosen for this input: depth \(3/.test(l)), lines.join('\n'));
    assert.ok(small.layers.some((l) => l.name === 'enc3_pool') && !small.layers.some((l) => l.name === 'enc4_pool'));
    const large = cnn.zoo.fcn({ inputShape: [128, 128, 3] });
    assert.ok(large.layers.some((l) => l.name === 'enc4_pool'));
    const explicit = cnn.zoo.fcn({ inputShape: [64, 64, 3], depth: 4 });
    assert.equal(explicit.chosenDefaults, undefined);
    assert.ok(explicit.layers.some((l) => l.name === 'enc4_pool'));
    const seg = cnn.zoo.segnet({ inputShape: [32, 32, 3] });
    assert.ok(seg.layers.some((l) => l.name === 'enc2_pool') && !seg.layers.some((l) => l.name === 'enc3_pool'));
    for (const model of [small, large, explicit, seg]) model.dispose();
  });
  test('VGG and AlexNet on inputs too small for every pooling leave the last poolings out', () => {
    const vgg = cnn.zoo.vgg({ inputShape: [8, 8, 3], depth: 11, widthMultiplier: 0.125 });
    assert.match(vgg.chosenDefaults.pools, /block4_pool, block5_pool left out/);
    const alex = cnn.zoo.alexnet({ inputShape: [12, 12, 3], widthMultiplier: 0.125 });
    assert.match(alex.chosenDefaults.pools, /pool5 left out/);
    const x = cnn.tensor(new Float32Array(8 * 8 * 3), [1, 8, 8, 3]);
    assert.deepEqual(vgg.predict(x).shape, [1, 10]);
    vgg.dispose(); alex.dispose(); x.dispose();
  });
});

describe('divergence (item 11)', () => {
  function regression() {
    const m = cnn.sequential({ seed: 3, layers: [L.dense({ inputShape: [4], units: 1 })] });
    const xs = Float32Array.from({ length: 64 * 4 }, (_, i) => ((i * 7919) % 13) - 6);
    const ys = Float32Array.from({ length: 64 }, (_, i) => xs[i * 4] + 2 * xs[i * 4 + 1]);
    return { m, x: cnn.tensor(xs, [64, 4]), y: cnn.tensor(ys, [64, 1]) };
  }
  test('a loss that grows far above its start stops fit with a message', async () => {
    const { m, x, y } = regression();
    m.compile({ optimizer: cnn.train.sgd(0.08), loss: 'meanSquaredError' });
    await rejectsCnn(m.fit(x, y, { epochs: 20, batchSize: 8, seed: 1 }), /fit: the loss diverged at epoch \d+, batch \d+/,
      /lower the learning rate \(now 0.08\)/, /stopOnDivergence: false/);
    m.dispose(); x.dispose(); y.dispose();
  });
  test('stopOnDivergence: false lets it run; a converging run is not flagged', async () => {
    const { m, x, y } = regression();
    m.compile({ optimizer: cnn.train.sgd(0.08), loss: 'meanSquaredError' });
    await m.fit(x, y, { epochs: 2, batchSize: 8, seed: 1, stopOnDivergence: false }).catch((err) => {
      assert.doesNotMatch(err.message, /diverged/); // it may end on a non-finite loss, which is a different error
    });
    m.dispose();
    const ok = regression();
    ok.m.compile({ optimizer: cnn.train.sgd(0.002), loss: 'meanSquaredError' });
    const h = await ok.m.fit(ok.x, ok.y, { epochs: 20, batchSize: 8, seed: 1 });
    assert.ok(h.history.loss.at(-1) < h.history.loss[0]);
    ok.m.dispose(); ok.x.dispose(); ok.y.dispose(); x.dispose(); y.dispose();
  });
});

describe('32-bit sizes in the engine (items 2 and 3)', () => {
  test('a plan over the wasm32 address space is refused with a status, not a trap', async () => {
    const i = cnn.input({ shape: [1, 1, 1] });
    const o = L.globalAveragePooling2d().apply(L.zeroPadding2d({ padding: [[0, 8191], [0, 8191]] }).apply(i));
    const m = cnn.model({ inputs: i, outputs: o });
    const x = cnn.tensor(new Float32Array(16).fill(1), [16, 1, 1, 1]);
    throwsCnn(() => m.predict(x, { batchSize: 16 }), /zeroPadding2d\) needs 4294967296 bytes .* at most 2147483648/);
    m.dispose(); x.dispose();
    await assertEngineSound();
  });
  test('a dilated conv whose padded copy is past 2^32 floats computes the right answer', () => {
    const m = cnn.sequential({ seed: 1, layers: [L.conv2d({ inputShape: [1, 65536, 1], filters: 1, kernelSize: 2,
      dilationRate: [65535, 1], padding: 'same' })] });
    m.setWeights([cnn.tensor(new Float32Array(4).fill(5), [2, 2, 1, 1]), cnn.tensor([0], [1])]);
    const x = cnn.tensor(new Float32Array(65536).fill(1), [1, 1, 65536, 1]);
    // Both rows of the kernel fall in the padding of a 1-pixel-high input: the output is the bias, 0.
    const y = m.predict(x);
    assert.ok(y.dataSync().every((v) => v === 0), `expected zeros, got ${y.dataSync().slice(0, 4)}`);
    m.dispose(); x.dispose(); y.dispose();
  });
});

test('a non-finite output is reported by the engine with the sample of x it came from', () => {
  const m = cnn.sequential({ seed: 1, layers: [L.dense({ inputShape: [2], units: 1, name: 'big' })] });
  m.setWeights([cnn.tensor([3e38, 3e38], [2, 1]), cnn.tensor([0], [1])]);
  // Only sample 5 overflows; with batchSize 2 it is sample 1 of the third batch.
  const xs = new Float32Array(14).fill(0.1);
  xs[10] = 10; xs[11] = 10;
  const x = cnn.tensor(xs, [7, 2]);
  throwsCnn(() => m.predict(x, { batchSize: 2 }), /^predict: the output of sample 5 is Infinity/);
  m.dispose(); x.dispose();
});
