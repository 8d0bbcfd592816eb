// PyTorch models exported to ONNX (tests/fixtures/onnx/, written by tools/onnx/make-fixtures.py with PyTorch 1.13)
// imported with fromONNX: each predicts PyTorch's outputs on the reference inputs (max |ours - torch| / max |torch|
// below 1e-4), with a dynamic batch axis and with a fixed one; the imported LeNet-5 fine-tunes (its loss falls),
// saves, loads and exports again.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as cnn from '../../web/index.js';
import { relError } from './helpers.js';
import { fromONNX, toONNX, nhwcToNchw, nchwToNhwc } from '../../web/onnx/index.js';

const DIR = new URL('../fixtures/onnx/', import.meta.url);
const TOL = 1e-4;

before(() => cnn.ready());

function reference(name) {
  return JSON.parse(fs.readFileSync(new URL(`${name}.json`, DIR), 'utf8'));
}

/** The fixture's input as our NHWC tensor. */
function inputOf(ref) {
  const [n, c, h, w] = ref.input;
  return cnn.tensor(nchwToNhwc(Float32Array.from(ref.x), [n, c, h, w]), [n, h, w, c]);
}


/** Imports a fixture, predicts its reference input, compares with PyTorch; returns the model. */
async function checkFixture(name, source = new URL(`${name}.onnx`, DIR)) {
  const ref = reference(name);
  const model = await fromONNX(source, { seed: 1 });
  const x = inputOf(ref);
  const y = model.predict(x);
  let ours = y.dataSync();
  if (ref.output.length === 4) {
    const [n, c, h, w] = ref.output;
    assert.deepEqual(y.shape, [n, h, w, c], `${name}: NHWC output`);
    ours = nhwcToNchw(ours, [n, h, w, c]);
  } else assert.deepEqual(y.shape, ref.output);
  const err = relError(ours, ref.y);
  assert.ok(err < TOL, `${name}: relative error ${err} vs PyTorch`);
  x.dispose(); y.dispose();
  return { model, err };
}

test('LeNet-5 (x.view(x.size(0), -1) -> Shape/Gather/Reshape, softmax) matches PyTorch', async () => {
  const { model, err } = await checkFixture('lenet5');
  assert.equal(model.onnx.input.layout, 'NCHW');
  assert.deepEqual(model.inputShape, [null, 28, 28, 1]);
  console.log(`lenet5: relative error ${err.toExponential(2)}`);
  model.dispose();
});

test('ResNet block with batch norm, padded max pooling after ReLU, projection shortcut: dynamic and fixed batch', async () => {
  for (const name of ['resnet-block', 'resnet-block-fixed']) {
    const { model, err } = await checkFixture(name);
    console.log(`${name}: relative error ${err.toExponential(2)}`);
    const classes = model.layers.map((l) => l.className);
    assert.ok(classes.includes('BatchNormalization') && classes.includes('Add'), classes.join());
    // A fixed batch of 1 in the file: our model still takes any batch.
    const x = cnn.tensor(new Float32Array(3 * 16 * 16 * 3).fill(0.5), [3, 16, 16, 3]);
    const y = model.predict(x);
    assert.deepEqual(y.shape, [3, 5]);
    x.dispose(); y.dispose();
    model.dispose();
  }
});

test('FCN with ConvTranspose upsampling and skip additions matches PyTorch (NCHW softmax -> NHWC)', async () => {
  const { model, err } = await checkFixture('fcn');
  assert.ok(model.layers.some((l) => l.className === 'Conv2DTranspose'));
  console.log(`fcn: relative error ${err.toExponential(2)}`);
  model.dispose();
});

test('SegNet with MaxPool indices and MaxUnpool (written with onnx.helper) matches PyTorch; read from bytes', async () => {
  const bytes = fs.readFileSync(new URL('segnet.onnx', DIR));
  const { model, err } = await checkFixture('segnet', new Uint8Array(bytes));
  assert.equal(model.layers.filter((l) => l.className === 'MaxUnpooling2D').length, 2);
  console.log(`segnet: relative error ${err.toExponential(2)}`);
  model.dispose();
});

test('an imported LeNet-5 fine-tunes (loss falls), saves, loads and exports again', async () => {
  const model = await fromONNX(new URL('lenet5.onnx', DIR), { seed: 3 });
  // A small task: 32 noise images labelled by which half holds more ink.
  const n = 32;
  const xs = new Float32Array(n * 28 * 28);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 784; p++) {
      const top = p < 392;
      xs[i * 784 + p] = Math.abs(Math.sin(i * 7.1 + p * 0.37)) * ((top === (labels[i] === 0)) ? 1 : 0.2);
    }
  }
  const x = cnn.tensor(xs, [n, 28, 28, 1]);
  const y = cnn.tensor(labels, [n], 'int32');
  model.compile({ optimizer: cnn.train.adam(0.003), loss: 'sparseCategoricalCrossentropy' });
  const history = await model.fit(x, y, { epochs: 8, batchSize: 8, seed: 2 });
  const losses = history.history.loss;
  console.log(`fine-tune losses: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  assert.ok(losses.at(-1) < losses[0] * 0.7, `loss ${losses[0]} -> ${losses.at(-1)} did not fall`);

  const again = await cnn.loadModel(model.save());
  const a = model.predict(x).dataSync();
  const b = again.predict(x).dataSync();
  assert.deepEqual(b, a, 'save/load predicts bit-identically');
  const exported = await fromONNX(toONNX(again));
  assert.ok(relError(exported.predict(x).dataSync(), a) < 1e-5, 'export -> import predicts the same');
  for (const m of [model, again, exported]) m.dispose();
  x.dispose(); y.dispose();
});
