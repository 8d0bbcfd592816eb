// A small wasm-cnn program written as a user would, type-checked against web/index.d.ts by tests/js/types.test.js
// (tsc --noEmit; it is not run). The `// @ts-expect-error` lines are misuse the declarations must reject.
import * as cnn from 'wasm-cnn';
import type { BatchLogs, EpochLogs, History, Layer, Model, SegmentResult, SymbolicTensor, Tensor } from 'wasm-cnn';

async function lenet5(): Promise<void> {
  // LeNet-5 as a Sequential model, tfjs option names.
  const model = cnn.sequential({
    seed: 1,
    layers: [
      cnn.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      cnn.layers.maxPooling2d({ poolSize: 2 }),
      cnn.layers.conv2d({ filters: 16, kernelSize: [5, 5], activation: 'relu', kernelInitializer: 'heNormal' }),
      cnn.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
      cnn.layers.flatten(),
      cnn.layers.dense({ units: 120, activation: 'relu' }),
      cnn.layers.dropout({ rate: 0.25 }),
      cnn.layers.dense({ units: 10, activation: 'softmax', name: 'predictions' }),
    ],
  });
  model.add(cnn.layers.activation({ activation: 'linear' }));
  model.compile({ optimizer: cnn.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], clipNorm: 5 });
  model.summary((line) => console.log(line));

  const n = 16;
  const x = cnn.tensor(new Float32Array(n * 28 * 28).map((_, i) => (i % 7) / 7), [n, 28, 28, 1]);
  const y = cnn.tensor(Int32Array.from({ length: n }, (_, i) => i % 10), [n], 'int32');
  const labels: Int32Array = y.dataSync();

  const controller = new AbortController();
  const losses: number[] = [];
  const history: History = await model.fit(x, y, {
    epochs: 2,
    batchSize: 8,
    validationSplit: 0.25,
    seed: 7,
    signal: controller.signal,
    learningRateSchedule: cnn.train.oneCycle(3e-3, { warmup: 0.2 }),
    recordGradientNorms: true,
    callbacks: {
      onTrainBegin: () => {},
      onBatchEnd: (batch: number, logs: BatchLogs) => {
        losses.push(logs.loss);
        if (logs.gradientNorms) Object.values(logs.gradientNorms).forEach((v) => v.toFixed(3));
        if (batch > 100) controller.abort();
      },
      onEpochEnd: async (epoch: number, logs: EpochLogs, stop) => {
        console.log(`epoch ${epoch}: loss ${logs.loss.toFixed(4)} acc ${logs.acc ?? '-'} val_loss ${logs.val_loss ?? '-'}`);
        if (logs.loss < 1e-3) stop();
      },
    },
  });
  const lastLoss: number = history.history.loss[history.history.loss.length - 1];
  const valAcc: number[] | undefined = history.history.val_acc;
  console.log(lastLoss, valAcc, history.epoch, history.params.samples, history.gradientNorms?.length, labels.length);

  const probs: Tensor<'float32'> = model.predict(x, { batchSize: 4 });
  const [rows, classes] = probs.shape;
  const probValues: Float32Array = await probs.data();
  console.log(rows, classes, probValues[0], probs.rank, probs.size, probs.dtype, probs.arraySync());

  const evaluation = model.evaluate(x, y);
  const [lossTensor, accTensor] = Array.isArray(evaluation) ? evaluation : [evaluation];
  console.log(lossTensor.dataSync()[0], accTensor?.dataSync()[0]);

  const { loss, inputGradient, gradients } = model.computeGradients(x, y);
  console.log(loss, inputGradient.shape, gradients.length === model.getWeights().length, model.weightNames());

  // save / load round trip
  const bytes: Uint8Array = model.save();
  const loaded: Model = await cnn.loadModel(bytes);
  const again = loaded.predict(x);
  console.log(again.shape, loaded.countParams() === model.countParams(), loaded.inputShape, loaded.outputShape);
  const weights = model.getWeights();
  loaded.setWeights(weights);
  model.setLearningRate(1e-4);

  for (const t of [x, y, probs, again, lossTensor, inputGradient, ...gradients, ...weights]) t.dispose();
  if (accTensor) accTensor.dispose();
  model.dispose();
  loaded.dispose();
  console.log(x.isDisposed, cnn.memory().numTensors, cnn.version);
}

async function residual(): Promise<void> {
  // A functional residual block: conv-BN-ReLU-conv-BN, added to the shortcut, then ReLU.
  const inp: SymbolicTensor = cnn.input({ shape: [16, 16, 8] });
  let h = cnn.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'branch2a' }).apply(inp);
  h = cnn.layers.batchNormalization({ momentum: 0.9 }).apply(h);
  h = cnn.layers.reLU().apply(h);
  h = cnn.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(h);
  h = cnn.layers.batchNormalization().apply(h);
  let out = cnn.layers.add({ name: 'res' }).apply([h, inp]);
  out = cnn.layers.leakyReLU({ alpha: 0.1 }).apply(out);
  out = cnn.layers.globalAveragePooling2d().apply(out);
  out = cnn.layers.dense({ units: 3, activation: 'softmax' }).apply(out);
  const model = cnn.model({ inputs: inp, outputs: out, seed: 2 });
  console.log(out.shape, out.sourceLayer.name);

  const first: Layer = model.getLayer('branch2a');
  first.trainable = false;
  console.log(first.countParams(), model.layers.map((l) => `${l.name} (${l.className})`), cnn.lint(model).map((f) => f.rule));

  model.compile({ optimizer: cnn.train.momentum(0.01, 0.9, true, { weightDecay: 1e-4 }), loss: 'categoricalCrossentropy' });
  const x = cnn.tensor(new Float32Array(4 * 16 * 16 * 8), [4, 16, 16, 8]);
  const y = cnn.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0], [4, 3]);
  await model.fit(x, y, { epochs: 1, batchSize: 2, shuffle: false, validationData: [x, y] });
  const w = first.getWeights();
  first.setWeights(w);
  model.dispose();
  x.dispose();
  y.dispose();
}

async function segmentation(): Promise<void> {
  // Synthetic shapes, SegNet from the zoo, segment() on a plain RGBA image and an overlay.
  const ds = cnn.data.shapes({ count: 4, size: 32, seed: 3, maxShapes: 2 });
  const names: readonly string[] = cnn.data.SHAPE_CLASSES;
  const images = cnn.tensor(ds.images, [ds.count, ds.height, ds.width, ds.channels]);
  const masks = cnn.tensor(ds.masks, [ds.count, ds.height, ds.width], 'int32');
  console.log(names, ds.objects[0].map((o) => `${o.className} ${o.visiblePixels}/${o.pixels}`));

  const seg = cnn.zoo.segnet({ inputShape: [32, 32, 3], numClasses: ds.numClasses, depth: 2, width: 4, seed: 5 });
  seg.compile({
    optimizer: 'adam',
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['pixelAccuracy', 'meanIoU'],
    classWeights: [0.5, 1, 1, 1],
    ignoreLabel: 255,
  });
  const history = await seg.fit(images, masks, { epochs: 1, batchSize: 2 });
  console.log(history.history.meanIoU, seg.evaluate(images, masks));

  const picture = { width: 40, height: 30, data: new Uint8ClampedArray(40 * 30 * 4).fill(128) };
  const result: SegmentResult = seg.segment(picture, { normalize: (v) => v / 255 });
  const fromTensor = seg.segment(cnn.browser.fromPixels(picture, 3), { size: [32, 32], normalize: null });
  console.log(result.width, result.height, result.classes.length, result.numClasses, result.timeMs, fromTensor.numClasses);

  const coloured = cnn.browser.maskToImageData(result, cnn.data.palette(ds.numClasses));
  const blended = cnn.browser.overlay(picture, result, { alpha: 0.4, palette: [[0, 0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]] });
  console.log(coloured.data.length, blended.width, cnn.browser.defaultPalette().length);

  const pixels = cnn.browser.fromPixels(picture, 4);
  const small = cnn.browser.resizeBilinear(pixels, [15, 20]);
  const mask = cnn.tensor(Array.from(result.classes), [result.height, result.width], 'int32');
  const target: { width?: number; height?: number; data?: Uint8ClampedArray } = {};
  const rgba: Uint8ClampedArray = await cnn.browser.toPixels(mask, target);
  console.log(small.shape, rgba.length, target.width);

  // FCN and the classification zoo: unbuilt models.
  const fcn = cnn.zoo.fcn({ inputShape: [32, 32, 3], numClasses: 4, depth: 3, variant: '16s', width: 4 });
  const zooModels: Model[] = [
    cnn.zoo.lenet5({ dropout: 0 }),
    cnn.zoo.vgg({ depth: 11, widthMultiplier: 0.25, batchNorm: true }),
    cnn.zoo.resnet({ depth: 8, numClasses: 5 }),
    cnn.zoo.googlenet({ blocksPerStage: [1], branch5x5: 'double3x3' }),
    cnn.zoo.alexnet({ denseUnits: [64] }),
    cnn.zoo.nin({ widthMultiplier: 0.1 }),
    fcn,
  ];
  console.log(zooModels.map((m) => m.countParams()));

  // SegNet-style unpooling by hand.
  const inp = cnn.input({ shape: [8, 8, 2] });
  const [pooled, indices] = cnn.layers.maxPooling2d({ poolSize: 2, returnIndices: true }).apply(inp);
  const up = cnn.layers.maxUnpooling2d({ poolSize: 2 }).apply([pooled, indices]);
  const scores = cnn.layers.conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: 'bilinear' }).apply(
    cnn.layers.upSampling2d({ size: 2, interpolation: 'bilinear' }).apply(cnn.layers.zeroPadding2d({ padding: [[0, 0], [1, 1]] }).apply(up)));
  console.log(scores.shape);

  // Layer-wise training (SegNet notes).
  const { model, histories } = await cnn.train.layerwise({
    build: (stages) => cnn.zoo.segnet({ inputShape: [32, 32, 3], depth: stages, width: 4 }),
    stages: 2,
    compile: () => ({ optimizer: cnn.train.sgd(0.01), loss: 'sparseCategoricalCrossentropy' }),
    x: images,
    y: masks,
    fit: { epochs: 1, batchSize: 4 },
    fineTune: { epochs: 1 },
    keepTrainable: ['classifier'],
    onStageEnd: (stage, _model, h) => console.log(stage, h.history.loss),
  });
  console.log(histories.length);
  model.dispose();

  for (const t of [images, masks, pixels, small, mask]) t.dispose();
  seg.dispose();
}

/** Misuse the declarations reject (never called). */
function misuse(model: Model, x: Tensor, y: Tensor): void {
  // @ts-expect-error unknown option (tfjs spells it kernelSize)
  cnn.layers.conv2d({ filters: 8, kernel_size: 3 });
  // @ts-expect-error wrong type: units is a number
  cnn.layers.dense({ units: '10' });
  // @ts-expect-error not an activation of this library
  cnn.layers.dense({ units: 10, activation: 'gelu' });
  // @ts-expect-error filters is required
  cnn.layers.conv2d({ kernelSize: 3 });
  // @ts-expect-error unknown fit option (epochs)
  void model.fit(x, y, { epoch: 3 });
  // @ts-expect-error unknown optimizer name
  model.compile({ optimizer: 'rmsprop', loss: 'meanSquaredError' });
  // @ts-expect-error nested arrays are not accepted
  cnn.tensor([[1, 2], [3, 4]], [2, 2]);
  // @ts-expect-error dtype is 'float32' or 'int32'
  cnn.tensor([1, 2], [2], 'float64');
  // @ts-expect-error a float32 tensor is not an int32 one
  const ints: Tensor<'int32'> = cnn.tensor([1, 2], [2]);
  // @ts-expect-error variant is an FCN option, not a SegNet one
  cnn.zoo.segnet({ variant: '8s' });
  // @ts-expect-error maxUnpooling2d takes [values, indices]
  cnn.layers.maxUnpooling2d().apply(cnn.input({ shape: [4, 4, 1] }));
  // @ts-expect-error data.shapes needs a count
  cnn.data.shapes({ size: 32 });
  // @ts-expect-error fromPixels takes 1, 3 or 4 channels
  cnn.browser.fromPixels({ width: 1, height: 1, data: new Uint8Array(4) }, 2);
  console.log(ints);
}

/** Files, optimizer state, ONNX and the worker API. */
async function interop(model: Model): Promise<void> {
  const small: Uint8Array = model.save({ quantize: 'float16', includeOptimizer: true, metadata: { note: 'x' } });
  const state = model.getOptimizerState();
  model.setOptimizerState({ step: state.step, tensors: state.tensors });
  const again: Model = await cnn.loadModel(small);
  const onnxBytes: Uint8Array = await again.toONNX({ opset: 17 });
  const imported = await cnn.fromONNX(onnxBytes, { seed: 1 });
  const layout: 'NCHW' | 'NHWC' | 'NF' = imported.onnx.input.layout;
  const copy: Model = cnn.modelFromConfig(imported.getConfig(), 3);
  const w = await cnn.worker.create({ threads: 1 });
  const remote = await w.loadModel(copy.save());
  await remote.dispose();
  w.terminate();
  // PyTorch's pooling, transposed-conv and resize options where tfjs has none.
  const i = cnn.input({ shape: [9, 9, 2] });
  const p = cnn.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: [[1, 0], [0, 1]], ceilMode: true }).apply(i) as SymbolicTensor;
  const a = cnn.layers.averagePooling2d({ poolSize: 2, padding: 1, countIncludePad: true }).apply(p) as SymbolicTensor;
  const t = cnn.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: [[1, 1], [1, 1]], outputPadding: 1 }).apply(a);
  const u = cnn.layers.upSampling2d({ size: 2, interpolation: 'bilinear', halfPixelCenters: true }).apply(t);
  void u;
  // @ts-expect-error quantize takes 'float32' | 'float16' | 'uint8'
  model.save({ quantize: 'int4' });
  void layout;
}

async function main(): Promise<void> {
  await cnn.ready();
  const info: cnn.EngineInfo = cnn.engineInfo();
  const threads: number = info.threads + (info.reason === '' ? 0 : 0);
  void threads;
  void cnn.ready({ threads: 2, wasmThreadsUrl: 'x.wasm' });
  void cnn.ready({ threads: 2, wasmPath: 'a.wasm', wasmThreadsPath: new URL('https://cdn.example/b.wasm') });
  const build: 'wasm-cnn.wasm' | 'wasm-cnn-mt.wasm' = info.build;
  void build;
  try {
    await lenet5();
    await residual();
    await segmentation();
  } catch (err) {
    if (err instanceof cnn.CnnError) console.error(`${err.name} (status ${err.status}): ${err.message}`);
    throw err;
  }
}

void main();
void misuse;
void interop;
