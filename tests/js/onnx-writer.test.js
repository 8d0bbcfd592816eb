// tests/bench/onnx-writer.js (our model -> ONNX, for the ONNX Runtime Web column of npm run bench): small models
// written through it and run by onnxruntime-web (wasm execution provider, one thread) must give our predict()'s
// outputs, so that the writer cannot rot silently while the bench is not run.
//
// - A LeNet-like Sequential on an odd-sized 13x11x2 input at batch 3: conv 'same' with an uneven pad (the extra row /
//   column at the end, TensorFlow's rule), max pooling, a strided 'valid' conv, average pooling, flatten -> dense
//   (kernel rows reordered from HWC to ONNX's CHW flatten order), dropout, softmax.
// - A graph with every other translated layer: batch norm, ReLU, max pooling with indices -> max-unpooling (ONNX
//   MaxPool's second output and MaxUnpool), transposed convolutions ('same' and 'valid'), nearest and bilinear
//   upsampling, add, concatenate, zero padding, leaky ReLU, a 4-D softmax output (NCHW on the ORT side, transposed
//   back for the comparison), and a global-average-pooling head as a second model.
// - The protobuf writer on its own: a negative int64 attribute (10-byte varint) read back by ORT.
// Errors are max |ours - ORT| / max |ORT| (helpers.js's assertClose), below 1e-4. Skipped when onnxruntime-web is not
// installed (it is a devDependency).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { normals, size, assertClose, randomizeWeights } from './helpers.js';
import { modelToOnnx, nhwcToNchw, nchwToNhwc, OnnxGraph } from '../../tests/bench/onnx-writer.js';

const TOL = 1e-4;

let ort = null;
try {
  ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
} catch { /* skipped below */ }

const sessions = [];
before(() => cnn.ready());
after(() => Promise.all(sessions.map((s) => s.release())));

/** Runs `model` on `x` (NHWC data of shape [n, ...inputShape]) in ORT through the writer; returns the output in our layout. */
async function runInOrt(model, xData, n) {
  const { bytes, input, outputs } = modelToOnnx(model, { batch: n });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  sessions.push(session);
  assert.deepEqual(session.inputNames, [input.name]);
  assert.deepEqual(session.outputNames, outputs.map((o) => o.name));
  const [, ...rest] = input.shape;
  const data = rest.length === 3 ? nhwcToNchw(xData, [n, rest[1], rest[2], rest[0]]) : xData;
  const y = (await session.run({ [input.name]: new ort.Tensor('float32', data, input.shape) }))[outputs[0].name];
  assert.deepEqual(y.dims, outputs[0].shape, 'ORT output shape = the writer\'s');
  return outputs[0].shape.length === 4 ? nchwToNhwc(y.data, outputs[0].shape) : y.data;
}

async function check(model, inputShape, n, seed, what) {
  model.build();
  randomizeWeights(model, seed);
  const xData = normals(n * size(inputShape), seed + 1);
  const x = cnn.tensor(xData, [n, ...inputShape]);
  const y = model.predict(x);
  const ours = y.dataSync().slice();
  x.dispose(); y.dispose();
  const theirs = await runInOrt(model, xData, n);
  assertClose(ours, theirs, TOL, what, 'ORT');
  model.dispose();
}

describe('onnx-writer through ONNX Runtime Web', { skip: !ort && 'onnxruntime-web is not installed' }, () => {
  test('layout helpers: NHWC -> NCHW -> NHWC is the identity', () => {
    const shape = [2, 3, 5, 4];
    const x = normals(size(shape), 3);
    const t = nhwcToNchw(x, shape);
    assert.equal(t[1], x[4], 'NCHW element (0, 0, 0, 1) is NHWC element (0, 0, 1, 0)');
    assert.deepEqual(nchwToNhwc(t, [2, 4, 3, 5]), x);
  });

  test('LeNet-like sequential: uneven same pads, pooling, flatten -> dense, softmax (batch 3)', async () => {
    const inputShape = [13, 11, 2];
    const model = cnn.sequential({ seed: 5, layers: [
      cnn.layers.conv2d({ inputShape, filters: 4, kernelSize: 4, padding: 'same', activation: 'relu' }),
      cnn.layers.maxPooling2d({ poolSize: 2 }),
      cnn.layers.conv2d({ filters: 5, kernelSize: [3, 2], strides: [1, 2], activation: 'tanh' }),
      cnn.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      cnn.layers.flatten(),
      cnn.layers.dense({ units: 7, activation: 'sigmoid' }),
      cnn.layers.dropout({ rate: 0.5 }),
      cnn.layers.dense({ units: 3, activation: 'softmax' }),
    ] });
    await check(model, inputShape, 3, 11, 'LeNet-like');
  });

  test('segmentation graph: batch norm, max pooling indices -> max-unpooling, transposed convs, upsampling, merges', async () => {
    const inputShape = [10, 12, 3];
    const x = cnn.input({ shape: inputShape });
    let h = cnn.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
    h = cnn.layers.batchNormalization().apply(h);
    h = cnn.layers.reLU().apply(h);
    const [p, idx] = cnn.layers.maxPooling2d({ poolSize: 2, returnIndices: true }).apply(h);   // 5x6
    const q = cnn.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(p);
    const u = cnn.layers.maxUnpooling2d({ poolSize: 2 }).apply([q, idx]);                      // 10x12
    const t1 = cnn.layers.conv2dTranspose({ filters: 6, kernelSize: 4, strides: 2, padding: 'same' }).apply(p);  // 10x12
    const t2 = cnn.layers.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' })
      .apply(cnn.layers.conv2d({ filters: 4, kernelSize: 2, padding: 'valid' }).apply(p));     // 4x5 -> 9x11
    const up = cnn.layers.upSampling2d({ size: 2 }).apply(p);                                   // 10x12
    const bl = cnn.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(q);   // 10x12
    const sum = cnn.layers.add().apply([u, t1, up]);
    const padded = cnn.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(t2);           // 10x12
    let y = cnn.layers.concatenate().apply([sum, bl, padded, h]);
    y = cnn.layers.leakyReLU({ alpha: 0.2 }).apply(y);
    y = cnn.layers.conv2d({ filters: 4, kernelSize: 1 }).apply(y);
    y = cnn.layers.activation({ activation: 'softmax' }).apply(y);
    await check(cnn.model({ inputs: x, outputs: y, seed: 3 }), inputShape, 2, 21, 'segmentation graph');
  });

  test('max-unpooling back to an odd-sized map (MaxUnpool\'s output_shape input)', async () => {
    const inputShape = [7, 9, 2];
    const x = cnn.input({ shape: inputShape });
    const h = cnn.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x);
    const [p, idx] = cnn.layers.maxPooling2d({ poolSize: 2, returnIndices: true }).apply(h);    // 3x4
    const u = cnn.layers.maxUnpooling2d({ poolSize: 2 }).apply([p, idx]);                       // 7x9
    await check(cnn.model({ inputs: x, outputs: u, seed: 6 }), inputShape, 2, 41, 'odd unpooling');
  });

  test('classification head: global average pooling -> dense (batch 2)', async () => {
    const inputShape = [6, 6, 3];
    const x = cnn.input({ shape: inputShape });
    let h = cnn.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(x);
    h = cnn.layers.globalAveragePooling2d().apply(h);
    h = cnn.layers.dense({ units: 5, activation: 'softmax' }).apply(h);
    await check(cnn.model({ inputs: x, outputs: h, seed: 4 }), inputShape, 2, 31, 'GAP head');
  });

  test('protobuf: a negative int64 attribute (Softmax axis -1) is read back', async () => {
    const g = new OnnxGraph('softmax');
    const x = g.input('x', [2, 3]);
    g.output(g.node('Softmax', 'softmax', [x], ['y'], { axis: -1 }, ['axis'])[0], [2, 3]);
    const session = await ort.InferenceSession.create(g.encode());
    sessions.push(session);
    const data = Float32Array.from([0, 1, 2, 3, 3, 3]);
    const y = (await session.run({ x: new ort.Tensor('float32', data, [2, 3]) })).y.data;
    const e = [1, Math.E, Math.E ** 2].map((v) => v / (1 + Math.E + Math.E ** 2));
    assertClose(y, Float32Array.from([...e, 1 / 3, 1 / 3, 1 / 3]), 1e-6, 'softmax over the last axis', 'expected');
  });

  test('unsupported layers are refused by name', () => {
    const model = cnn.sequential({ layers: [cnn.layers.dense({ inputShape: [4], units: 2 })] });
    model.build();
    const config = model.getConfig();
    config.layers[1].className = 'Mystery';
    assert.throws(() => modelToOnnx({ getConfig: () => config, weightNames: () => [], getWeights: () => [] }),
      /no translation for layer class Mystery/);
    model.dispose();
  });
});
