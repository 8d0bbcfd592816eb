// toONNX through ONNX Runtime Web (wasm, one thread) and back through fromONNX:
// - every zoo model (small input sizes) and a graph with every exported layer: ORT's outputs match our predict() to
//   1e-4 (max |ours - ORT| / max |ours|), and fromONNX(toONNX(model)) predicts the same as the model;
// - opsets 13 to 17 all load in ORT; the batch axis is dynamic (batches 1 and 3 through one session);
// - a model trained with fit exports and runs in ORT.
// Skipped when onnxruntime-web is not installed (a devDependency).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { toONNX, fromONNX, nhwcToNchw, nchwToNhwc } from '../../web/onnx/index.js';
import { normals, size, randomizeWeights, relError } from './helpers.js';

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


/** Runs ONNX bytes in ORT on NHWC data of our input shape; returns the output in our layout. */
async function runOrt(bytes, xData, n, inputShape, session = null) {
  const s = session ?? await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  if (!session) sessions.push(s);
  const dims = inputShape.length === 3 ? [n, inputShape[2], inputShape[0], inputShape[1]] : [n, ...inputShape];
  const data = inputShape.length === 3 ? nhwcToNchw(xData, [n, ...inputShape]) : xData;
  const y = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, dims) }))[s.outputNames[0]];
  return { y: y.dims.length === 4 ? nchwToNhwc(y.data, y.dims) : y.data, session: s, dims: y.dims };
}

/** Our predict(), ORT on toONNX's bytes, and fromONNX(bytes): all three agree. Returns the relative errors. */
async function roundTrip(model, { n = 2, seed = 5, opset } = {}) {
  model.build();
  randomizeWeights(model, seed);
  const inputShape = model.inputShape.slice(1);
  const xData = normals(n * size(inputShape), seed + 1);
  const x = cnn.tensor(xData, [n, ...inputShape]);
  const ours = model.predict(x).dataSync();
  const bytes = toONNX(model, opset ? { opset } : {});
  const { y: theirs } = await runOrt(bytes, xData, n, inputShape);
  const ortErr = relError(theirs, ours);
  const imported = await fromONNX(bytes);
  const back = imported.predict(x).dataSync();
  const importErr = relError(back, ours);
  imported.dispose();
  x.dispose();
  return { ortErr, importErr, bytes };
}

const ZOO = [
  ['lenet5', { dropout: 0.25 }],
  ['alexnet', { widthMultiplier: 0.125, inputShape: [16, 16, 3], denseUnits: [32, 16] }],
  ['vgg', { depth: 11, widthMultiplier: 0.0625, batchNorm: true, denseUnits: [16], inputShape: [32, 32, 3] }],
  ['nin', { widthMultiplier: 0.0625, inputShape: [12, 12, 3], batchNorm: true }],
  ['googlenet', { widthMultiplier: 0.0625, inputShape: [16, 16, 3], blocksPerStage: [1, 1], batchNorm: true }],
  ['resnet', { depth: 8, widthMultiplier: 0.25, inputShape: [16, 16, 3] }],
  ['fcn', { inputShape: [16, 16, 3], depth: 3, width: 4, numClasses: 3 }],
  ['fcn', { inputShape: [16, 16, 3], depth: 2, width: 4, numClasses: 3, variant: '32s' }],
  ['segnet', { inputShape: [16, 16, 3], depth: 2, width: 4, numClasses: 3 }],
];

describe('toONNX through ONNX Runtime Web and back through fromONNX', { skip: !ort && 'onnxruntime-web is not installed' }, () => {
  for (const [name, opts] of ZOO) {
    test(`zoo.${name}(${JSON.stringify(opts)})`, async () => {
      const model = cnn.zoo[name]({ ...opts, seed: 7 });
      const { ortErr, importErr, bytes } = await roundTrip(model);
      console.log(`zoo.${name}: ${bytes.length} bytes, ORT ${ortErr.toExponential(1)}, import ${importErr.toExponential(1)}`);
      assert.ok(ortErr < TOL, `ORT differs by ${ortErr}`);
      assert.ok(importErr < TOL, `fromONNX(toONNX(model)) differs by ${importErr}`);
      model.dispose();
    });
  }

  test('every layer in one graph; opsets 13 to 17', async () => {
    const build = () => {
      const x = cnn.input({ shape: [10, 12, 3] });
      let h = cnn.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
      h = cnn.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(h);
      h = cnn.layers.reLU().apply(h);
      const [p, idx] = cnn.layers.maxPooling2d({ poolSize: 2, returnIndices: true }).apply(h);     // 5x6
      const q = cnn.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', dilationRate: 2, activation: 'tanh' }).apply(p);
      const u = cnn.layers.maxUnpooling2d({ poolSize: 2 }).apply([q, idx]);                         // 10x12
      const t1 = cnn.layers.conv2dTranspose({ filters: 6, kernelSize: 4, strides: 2, padding: 'same' }).apply(p);
      const t2 = cnn.layers.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu' })
        .apply(cnn.layers.conv2d({ filters: 4, kernelSize: 2 }).apply(p));                           // 4x5 -> 9x11
      const up = cnn.layers.upSampling2d({ size: 2 }).apply(p);
      const bl = cnn.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(q);
      const sum = cnn.layers.add().apply([u, t1, up]);
      const padded = cnn.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(t2);
      let y = cnn.layers.concatenate().apply([sum, bl, padded, h]);
      y = cnn.layers.leakyReLU({ alpha: 0.2 }).apply(y);
      y = cnn.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(y);       // 5x6
      y = cnn.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'sigmoid' }).apply(y);
      const g = cnn.layers.globalMaxPooling2d().apply(y);
      let f = cnn.layers.flatten().apply(y);
      f = cnn.layers.dense({ units: 4 }).apply(f);
      f = cnn.layers.add().apply([f, g]);
      f = cnn.layers.batchNormalization().apply(f);
      f = cnn.layers.dropout({ rate: 0.3 }).apply(f);
      f = cnn.layers.activation({ activation: 'softmax' }).apply(f);
      return cnn.model({ inputs: x, outputs: f, seed: 3 });
    };
    for (let opset = 13; opset <= 17; opset++) {
      const model = build();
      const { ortErr, importErr } = await roundTrip(model, { opset, n: 3 });
      assert.ok(ortErr < TOL && importErr < TOL, `opset ${opset}: ORT ${ortErr}, import ${importErr}`);
      model.dispose();
    }
  });

  // PyTorch's options: explicit (asymmetric) pads, ceil mode with windows over the end, count_include_pad both ways,
  // max-unpooling through explicit-pad indices, transposed-convolution crops and output padding, half-pixel and
  // aligned-corner bilinear upsampling. ORT and fromONNX must compute what predict() does.
  const PYTORCH_OPTIONS = [
    ['maxPooling2d', { poolSize: 3, strides: 2, padding: [[1, 0], [1, 1]], ceilMode: true }],
    ['maxPooling2d', { poolSize: 2, strides: 2, padding: 'valid', ceilMode: true }],
    ['averagePooling2d', { poolSize: 3, strides: 2, padding: 1, countIncludePad: true }],
    ['averagePooling2d', { poolSize: 3, strides: 2, padding: [[1, 2], [0, 1]], ceilMode: true, countIncludePad: true }],
    ['averagePooling2d', { poolSize: [3, 2], strides: [2, 1], padding: [[1, 1], [1, 0]], ceilMode: true }],
    ['averagePooling2d', { poolSize: 3, strides: 2, padding: 'same', countIncludePad: true }],
    ['conv2dTranspose', { filters: 4, kernelSize: 3, strides: 2, padding: [[1, 1], [1, 1]], outputPadding: 1 }],
    ['conv2dTranspose', { filters: 2, kernelSize: [4, 3], strides: [2, 3], padding: [[2, 0], [0, 1]], outputPadding: [0, 2] }],
    ['upSampling2d', { size: [2, 3], interpolation: 'bilinear', halfPixelCenters: true }],
    ['upSampling2d', { size: 2, interpolation: 'bilinear', alignCorners: true }],
  ];
  for (const [layer, options] of PYTORCH_OPTIONS) {
    test(`PyTorch's options: ${layer}(${JSON.stringify(options)})`, async () => {
      const x = cnn.input({ shape: [9, 11, 3] });
      const h = cnn.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(x); // weights before it, so values vary
      const model = cnn.model({ inputs: x, outputs: cnn.layers[layer](options).apply(h), seed: 4 });
      const { ortErr, importErr } = await roundTrip(model, { n: 2 });
      assert.ok(ortErr < TOL && importErr < TOL, `ORT ${ortErr}, import ${importErr}`);
      model.dispose();
    });
  }
  test("PyTorch's options: max-unpooling through the indices of an explicit-pad ceil-mode pooling", async () => {
    const x = cnn.input({ shape: [9, 11, 3] });
    const h = cnn.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(x);
    // Windows that do not overlap: where they do, ours adds the values of windows sharing a maximum, ONNX writes one.
    const [p, idx] = cnn.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: [[1, 0], [0, 1]], ceilMode: true,
      returnIndices: true }).apply(h);
    const q = cnn.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(p);
    const model = cnn.model({ inputs: x, outputs: cnn.layers.maxUnpooling2d({ poolSize: 2, strides: 2 }).apply([q, idx]), seed: 5 });
    const { ortErr, importErr } = await roundTrip(model, { n: 2 });
    assert.ok(ortErr < TOL && importErr < TOL, `ORT ${ortErr}, import ${importErr}`);
    model.dispose();
  });

  test('a flatten read by something other than Dense exports through a Transpose; the batch axis is dynamic', async () => {
    const model = cnn.sequential({ seed: 2, layers: [
      cnn.layers.conv2d({ inputShape: [5, 4, 2], filters: 3, kernelSize: 2 }),
      cnn.layers.flatten(),
      cnn.layers.batchNormalization(),
    ] });
    const { ortErr, importErr, bytes } = await roundTrip(model);
    assert.ok(ortErr < TOL && importErr < TOL, `ORT ${ortErr}, import ${importErr}`);
    const data = normals(3 * 40, 9);
    const first = await runOrt(bytes, data.subarray(0, 40), 1, [5, 4, 2]);
    const three = await runOrt(bytes, data, 3, [5, 4, 2], first.session);
    assert.deepEqual([first.dims, three.dims], [[1, 36], [3, 36]]);
    assert.deepEqual(three.y.subarray(0, 36), first.y);
    model.dispose();
  });

  test('a model trained with fit exports and runs in ONNX Runtime', async () => {
    const model = cnn.sequential({ seed: 4, layers: [
      cnn.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      cnn.layers.batchNormalization(),
      cnn.layers.maxPooling2d({ poolSize: 2 }),
      cnn.layers.flatten(),
      cnn.layers.dense({ units: 2, activation: 'softmax' }),
    ] });
    model.compile({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    const n = 16;
    const xData = normals(n * 64, 3);
    const labels = Int32Array.from({ length: n }, (_, i) => (xData[i * 64] > 0 ? 1 : 0));
    const x = cnn.tensor(xData, [n, 8, 8, 1]);
    const history = await model.fit(x, cnn.tensor(labels, [n], 'int32'), { epochs: 5, batchSize: 4, seed: 1 });
    assert.ok(history.history.loss.at(-1) < history.history.loss[0]);
    const ours = model.predict(x).dataSync();
    const { y } = await runOrt(toONNX(model), xData, n, [8, 8, 1]);
    const err = relError(y, ours);
    assert.ok(err < TOL, `trained model: ORT differs by ${err}`);
    model.dispose();
  });
});
