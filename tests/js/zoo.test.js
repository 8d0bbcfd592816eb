// The model zoo (cnn.zoo.*) against @tensorflow/tfjs, and on real digits.
//
// - Every zoo model (several configurations each) builds, and its countParams() equals that of the same architecture
//   rebuilt layer by layer with tf.layers.* from our model.getConfig() (the translator below walks the config's
//   layers and inbound lists, so it rebuilds any of our functional models).
// - Forward pass: for a small configuration of each model our weights are copied into the tfjs model (layer by
//   layer, by name; batch-norm moving statistics and biases randomised first so that they matter) and predict()
//   outputs must agree to 1e-4 (relative to the largest output). Softmax outputs can hide differences when they
//   saturate, so the same comparison is also made on the logits: the model rebuilt with our own layers from the same
//   config with the final softmax made linear.
// - Option validation, layer names, ResNet-20's 0.27 M parameters, summary().
// - Training-mode loss and gradients (computeGradients, batch norm on batch statistics) equal tfjs's for a small
//   configuration of each model.
// - Training: each architecture takes 30 adam steps (batch 16) on real MNIST digits padded / cropped to its input
//   shape (channel repeated), and the mean loss of the last 5 steps must be below that of the first 5 and below
//   chance level.
//
//   bash build.sh && node --test tests/js/zoo.test.js
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import { loadMnist } from '../../recipes/mnist.js';
import { normals, uniforms, size, relError, readyWithTfjsCpu } from './helpers.js';

const FORWARD_TOL = 1e-4;

before(() => readyWithTfjsCpu(tf));

// ---- helpers -------------------------------------------------------------------------------------------------
// tf.layers / cnn.layers factory for each className of getConfig().
const FACTORY = {
  Conv2D: 'conv2d', Dense: 'dense', Flatten: 'flatten', Dropout: 'dropout', Activation: 'activation',
  MaxPooling2D: 'maxPooling2d', AveragePooling2D: 'averagePooling2d', BatchNormalization: 'batchNormalization',
  Add: 'add', Concatenate: 'concatenate', GlobalAveragePooling2D: 'globalAveragePooling2d',
  GlobalMaxPooling2D: 'globalMaxPooling2d', ReLU: 'reLU', LeakyReLU: 'leakyReLU', ZeroPadding2D: 'zeroPadding2d',
};

/**
 * Rebuilds a model from our getConfig() with `lib` (tf or cnn; both have lib.input, lib.layers.<factory>, lib.model).
 * `edit(className, config)` may return a changed layer config; `custom(className, config)` may return a layer to use
 * instead of the library's own.
 */
function rebuild(lib, config, { edit = (c, cfg) => cfg, custom, seed } = {}) {
  const outputsOf = new Map();
  for (const { className, config: layerConfig, inbound } of config.layers) {
    if (className === 'InputLayer') {
      outputsOf.set(layerConfig.name, [lib.input({ shape: layerConfig.shape, name: layerConfig.name })]);
      continue;
    }
    const factory = FACTORY[className];
    assert.ok(factory, `no translation for layer class ${className}`);
    const { inputShape, ...cfg } = edit(className, layerConfig);
    const layer = custom?.(className, cfg) ?? lib.layers[factory](cfg);
    const ins = inbound.map(([name, index]) => outputsOf.get(name)[index]);
    const out = layer.apply(ins.length === 1 ? ins[0] : ins);
    outputsOf.set(layerConfig.name, Array.isArray(out) ? out : [out]);
  }
  const pick = ([name, index]) => outputsOf.get(name)[index];
  const inputs = config.inputs.map(pick);
  const outputs = config.outputs.map(pick);
  const opts = { inputs: inputs.length === 1 ? inputs[0] : inputs, outputs: outputs.length === 1 ? outputs[0] : outputs };
  if (seed !== undefined) opts.seed = seed;
  return lib.model(opts);
}

const toTf = (model) => rebuild(tf, model.getConfig());

/** Copies our weights into `target` (a tfjs model or one of ours) layer by layer, matching layers by name. */
function copyWeights(ours, target, isTf) {
  for (const layer of ours.layers) {
    const w = layer.getWeights();
    if (w.length === 0) continue;
    const dest = target.getLayer(layer.name);
    if (isTf) {
      const ts = w.map((t) => tf.tensor(t.dataSync(), t.shape));
      dest.setWeights(ts);
      tf.dispose(ts);
    } else {
      dest.setWeights(w);
    }
  }
}

/** Gives biases, batch-norm gammas / betas / moving means / moving variances non-default values. */
function randomiseNonKernels(model, seed) {
  const names = model.weightNames();
  const weights = model.getWeights().map((w, i) => {
    const name = names[i];
    if (name.endsWith('/kernel')) return w;
    if (name.endsWith('/moving_variance')) return cnn.tensor(uniforms(w.size, seed + i, 0.5, 1.5), w.shape);
    if (name.endsWith('/gamma')) return cnn.tensor(uniforms(w.size, seed + i, 0.7, 1.3), w.shape);
    return cnn.tensor(normals(w.size, seed + i, 0.1), w.shape);
  });
  model.setWeights(weights);
}

const MODELS = ['lenet5', 'alexnet', 'vgg', 'nin', 'googlenet', 'resnet'];
const label = (name, opts) => `${name}(${JSON.stringify(opts)})`;

// ---- options and structure -------------------------------------------------------------------------------------
describe('zoo: options and structure', () => {
  test('cnn.zoo has the six classification builders; each returns an unbuilt functional model', () => {
    for (const name of MODELS) assert.equal(typeof cnn.zoo[name], 'function', `cnn.zoo.${name}`);
    for (const name of MODELS) {
      const m = cnn.zoo[name]({ seed: 1 });
      assert.ok(m instanceof cnn.Model, name);
      assert.equal(m.built, false);
      assert.equal(m.outputShape.at(-1), 10);
      const names = m.layers.map((l) => l.name);
      assert.equal(new Set(names).size, names.length, `${name}: layer names are unique`);
      const auto = names.filter((n) => /^(input_layer|conv2d|dense|flatten|dropout|activation|max_pooling2d|average_pooling2d|batch_normalization|add|concatenate|global_\w+|re_l_u|leaky_re_l_u|zero_padding2d)_\d+$/.test(n));
      assert.deepEqual(auto, [], `${name}: every layer has a chosen name`);
    }
  });

  test('unknown options and bad values throw a CnnError naming them', () => {
    for (const name of MODELS) {
      assert.throws(() => cnn.zoo[name]({ widthMultiplyer: 2 }), (e) => e instanceof cnn.CnnError && /widthMultiplyer/.test(e.message) && e.message.includes(name));
    }
    assert.throws(() => cnn.zoo.vgg({ depth: 12 }), (e) => e instanceof cnn.CnnError && /depth/.test(e.message));
    assert.throws(() => cnn.zoo.vgg({ depth: 11, blocks: [[1, 8]] }), cnn.CnnError);
    assert.throws(() => cnn.zoo.vgg({ blocks: [[1]] }), /blocks/);
    assert.throws(() => cnn.zoo.resnet({ depth: 21 }), (e) => e instanceof cnn.CnnError && /depth/.test(e.message));
    assert.throws(() => cnn.zoo.resnet({ widthMultiplier: 0 }), /widthMultiplier/);
    assert.throws(() => cnn.zoo.lenet5({ numClasses: 2.5 }), /numClasses/);
    assert.throws(() => cnn.zoo.alexnet({ inputShape: [32, 32] }), /inputShape/);
    assert.throws(() => cnn.zoo.googlenet({ blocksPerStage: [1, 1, 1, 1] }), /blocksPerStage/);
    assert.throws(() => cnn.zoo.googlenet({ branch5x5: '7x7' }), /branch5x5/);
    assert.throws(() => cnn.zoo.nin({ dropout: 1 }), /dropout/);
    assert.throws(() => cnn.zoo.lenet5('x'), cnn.CnnError);
  });

  test('resnet: ResNet-20 has ≈0.27 M parameters; ReLU after each add, batch norm before it; names', () => {
    const m = cnn.zoo.resnet({ depth: 20 });
    const params = m.countParams();
    assert.ok(params >= 260000 && params <= 290000, `ResNet-20 has ${params} parameters`);
    assert.equal(m.name, 'resnet20');
    const names = m.layers.map((l) => l.name);
    for (const n of ['conv1', 'bn_conv1', 'res2a_branch2a', 'bn2a_branch2a', 'res2c_branch2b', 'res3a_branch1', 'bn4a_branch1', 'res4c', 'res4c_relu', 'avg_pool', 'predictions']) {
      assert.ok(names.includes(n), `layer ${n} in ${names}`);
    }
    const adds = m.layers.filter((l) => l.className === 'Add');
    assert.equal(adds.length, 9);
    for (const add of adds) {
      assert.equal(add.inbound[0].sourceLayer.className, 'BatchNormalization', `${add.name}: residual branch ends in BN`);
      const consumers = m.layers.filter((l) => l.inbound?.some((t) => t.sourceLayer === add));
      assert.deepEqual(consumers.map((l) => l.className), ['ReLU'], `${add.name}: followed by its ReLU`);
    }
    // Projection shortcuts exactly where the shape changes (2 for CIFAR, 3 for ImageNet layouts).
    assert.equal(names.filter((n) => /^res\w+_branch1$/.test(n)).length, 2);
    assert.equal(cnn.zoo.resnet({ depth: 18 }).layers.filter((l) => /^res\w+_branch1$/.test(l.name)).length, 3);
    assert.equal(cnn.zoo.resnet({ depth: 34 }).layers.filter((l) => l.className === 'Add').length, 16);
    assert.equal(cnn.zoo.resnet({ depth: 56 }).layers.filter((l) => l.className === 'Add').length, 27);
  });

  test('vgg presets and names; googlenet blocks per stage; nin and lenet5 layouts', () => {
    const convs = (m) => m.layers.filter((l) => l.className === 'Conv2D').length;
    assert.equal(convs(cnn.zoo.vgg({ depth: 11 })), 8);
    assert.equal(convs(cnn.zoo.vgg({ depth: 16 })), 13);
    const v = cnn.zoo.vgg({ depth: 16, batchNorm: true, widthMultiplier: 0.5 });
    assert.ok(v.getLayer('block5_conv3') && v.getLayer('block5_conv3_bn') && v.getLayer('block3_pool') && v.getLayer('fc1'));
    assert.equal(v.getLayer('block1_conv1').filters, 32);
    const g = cnn.zoo.googlenet({ blocksPerStage: [2, 5, 2] });
    assert.equal(g.layers.filter((l) => l.className === 'Concatenate').length, 9);
    assert.equal(g.getLayer('inception5b_concat').outputShape.at(-1), 1024);
    assert.equal(g.getLayer('inception3a_concat').outputShape.at(-1), 256);
    assert.deepEqual(g.getLayer('inception4e_concat').outputShape, [8, 8, 832]);
    assert.ok(cnn.zoo.googlenet({ branch5x5: 'double3x3' }).getLayer('inception3a_5x5b'));
    const n = cnn.zoo.nin({ numClasses: 7 });
    assert.deepEqual(n.getLayer('block3_mlp2').outputShape, [8, 8, 7]);
    assert.equal(n.getLayer('predictions').className, 'Activation');
    const l = cnn.zoo.lenet5();
    assert.deepEqual(l.inputShape, [null, 28, 28, 1]);
    assert.equal(l.countParams(), 51902);
  });

  test('summary() runs for each model and reports its parameter count', () => {
    for (const name of MODELS) {
      const m = cnn.zoo[name]({ widthMultiplier: 0.25, seed: 2 });
      const lines = [];
      m.summary((line) => lines.push(line));
      assert.ok(lines.some((line) => line === `Total params: ${m.countParams()}`), `${name} summary`);
      assert.ok(lines.length > m.layers.length);
      m.dispose();
    }
  });
});

// ---- parameter counts vs tfjs ----------------------------------------------------------------------------------
const COUNT_CONFIGS = [
  ['lenet5', {}],
  ['lenet5', { inputShape: [32, 32, 3], numClasses: 5, widthMultiplier: 2 }],
  ['alexnet', { widthMultiplier: 0.5 }],
  ['alexnet', { inputShape: [28, 28, 1], denseUnits: [256] }],
  ['vgg', { depth: 11 }],
  ['vgg', { depth: 13, widthMultiplier: 0.25 }],
  ['vgg', { depth: 16, widthMultiplier: 0.5 }],
  ['vgg', { depth: 16, batchNorm: true, widthMultiplier: 0.25, denseUnits: [256, 256] }],
  ['vgg', { depth: 19, widthMultiplier: 0.25 }],
  ['vgg', { blocks: [[1, 32], [2, 64]], inputShape: [28, 28, 1], numClasses: 3 }],
  ['nin', {}],
  ['googlenet', { widthMultiplier: 0.5 }],
  ['googlenet', { blocksPerStage: [2, 5, 2], branch5x5: 'double3x3', widthMultiplier: 0.25 }],
  ['resnet', { depth: 18, widthMultiplier: 0.5 }],
  ['resnet', { depth: 20 }],
  ['resnet', { depth: 32 }],
  ['resnet', { depth: 34, widthMultiplier: 0.25 }],
  ['resnet', { depth: 56, widthMultiplier: 0.5 }],
];

describe('zoo: parameter counts equal those of the same architecture in tfjs', () => {
  for (const [name, opts] of COUNT_CONFIGS) {
    test(label(name, opts), (t) => {
      const ours = cnn.zoo[name]({ ...opts, seed: 1 });
      const theirs = toTf(ours);
      try {
        assert.equal(ours.countParams(), theirs.countParams());
        t.diagnostic(`${ours.countParams()} parameters (tfjs: ${theirs.countParams()})`);
        assert.deepEqual(theirs.outputs[0].shape, ours.outputShape);
        assert.equal(theirs.layers.length, ours.layers.length);
      } finally {
        theirs.dispose();
        ours.dispose();
      }
    });
  }
});

test('zoo: every model lists its weights in the order of the tfjs model (whole-model setWeights)', () => {
  // Branching models included: layers are ordered as tfjs's Container orders them.
  for (const [name, opts] of [['lenet5', {}], ['alexnet', { widthMultiplier: 0.125 }], ['vgg', { depth: 11, batchNorm: true, widthMultiplier: 0.125 }],
    ['nin', { batchNorm: true, widthMultiplier: 0.125 }], ['googlenet', { widthMultiplier: 0.125, blocksPerStage: [1, 2, 1] }],
    ['resnet', { depth: 20, widthMultiplier: 0.25 }]]) {
    const ours = cnn.zoo[name]({ ...opts, seed: 1 });
    const theirs = toTf(ours);
    assert.deepEqual(theirs.weights.map((w) => w.originalName), ours.weightNames(), name);
    theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
    tf.dispose(theirs.weights.map((w) => w.val));
    ours.dispose();
  }
});

test('zoo: save() and loadModel() round-trip branching models', async () => {
  for (const [name, opts] of [['resnet', { depth: 8, widthMultiplier: 0.25, inputShape: [16, 16, 3] }],
    ['googlenet', { widthMultiplier: 0.0625, inputShape: [16, 16, 3], blocksPerStage: [1, 1], batchNorm: true }]]) {
    const model = cnn.zoo[name]({ ...opts, seed: 4 });
    randomiseNonKernels(model, 8);
    const again = await cnn.loadModel(model.save());
    assert.deepEqual(again.layers.map((l) => l.name), model.layers.map((l) => l.name));
    const shape = [2, ...opts.inputShape];
    const x = cnn.tensor(normals(size(shape), 3), shape);
    assert.deepEqual(again.predict(x).dataSync(), model.predict(x).dataSync(), `${name}: same predictions after loadModel`);
    model.dispose();
    again.dispose();
  }
});

// ---- forward pass vs tfjs --------------------------------------------------------------------------------------
const FORWARD_CONFIGS = [
  ['lenet5', {}],
  ['alexnet', { widthMultiplier: 0.25, denseUnits: [64, 32] }],
  ['vgg', { depth: 11, widthMultiplier: 0.125, denseUnits: [32] }],
  ['vgg', { depth: 16, widthMultiplier: 0.125, batchNorm: true, denseUnits: [32] }],
  ['nin', { widthMultiplier: 0.25 }],
  ['googlenet', { widthMultiplier: 0.125, blocksPerStage: [1, 2, 1] }],
  ['googlenet', { widthMultiplier: 0.125, blocksPerStage: [2], branch5x5: 'double3x3' }],
  ['resnet', { depth: 8, widthMultiplier: 1 }],
  ['resnet', { depth: 20, widthMultiplier: 0.5 }],
  ['resnet', { depth: 18, widthMultiplier: 0.125 }],
];

describe('zoo: forward pass equals tfjs with the same weights', () => {
  for (const [name, opts] of FORWARD_CONFIGS) {
    test(label(name, opts), (t) => {
      const ours = cnn.zoo[name]({ ...opts, seed: 3 });
      randomiseNonKernels(ours, 11);
      const config = ours.getConfig();
      const theirs = rebuild(tf, config);
      // Logit models: the same config with the final softmax made linear, in both libraries.
      const linear = (c, cfg) => (cfg.name === 'predictions' ? { ...cfg, activation: 'linear' } : cfg);
      const oursLogits = rebuild(cnn, config, { edit: linear, seed: 1 });
      const theirsLogits = rebuild(tf, config, { edit: linear });
      try {
        copyWeights(ours, theirs, true);
        copyWeights(ours, theirsLogits, true);
        oursLogits.build();
        copyWeights(ours, oursLogits, false);
        const shape = [2, ...ours.inputShape.slice(1)];
        const x = normals(size(shape), 5);
        for (const [a, b, what] of [[ours, theirs, 'softmax output'], [oursLogits, theirsLogits, 'logits']]) {
          const got = a.predict(cnn.tensor(x, shape));
          const tx = tf.tensor(x, shape);
          const want = b.predict(tx);
          assert.deepEqual([...got.shape], want.shape);
          const err = relError(got.dataSync(), want.dataSync());
          assert.ok(err <= FORWARD_TOL, `${what}: relative error ${err.toExponential(3)} > ${FORWARD_TOL}`);
          t.diagnostic(`${what}: relative error ${err.toExponential(2)}`);
          tf.dispose([tx, want]);
        }
      } finally {
        tf.dispose([theirs, theirsLogits].flatMap((m) => m.weights.map((w) => w.val)));
        ours.dispose();
        oursLogits.dispose();
      }
    });
  }
});

// ---- gradients vs tfjs ----------------------------------------------------------------------------------------
/** tfjs-layers' sparse categorical cross-entropy (clip, one-hot, -Σ t log p), averaged over the batch. */
function tfSparseCrossentropy(labels, probs) {
  const clipped = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
  const oneHot = tf.oneHot(labels, probs.shape[probs.shape.length - 1]);
  return tf.mean(tf.metrics.categoricalCrossentropy(oneHot, clipped));
}

const GRAD_TOL = 1e-3;

/**
 * tfjs's cpu avgPool gradient is wrong for 'same' padding (see tests/js/tfjs-crosscheck.test.js): for gradients the
 * tfjs model computes 'same' average pooling as a 'valid' pool of the zero-padded input divided by the count of real
 * inputs in each window (TensorFlow's forward definition), which tfjs differentiates correctly.
 */
class PaddedAveragePooling2D extends tf.layers.Layer {
  static className = 'PaddedAveragePooling2D';
  constructor({ poolSize = 2, strides, name }) {
    super({ name });
    this.p = typeof poolSize === 'number' ? poolSize : poolSize[0];
    this.s = strides === undefined ? this.p : typeof strides === 'number' ? strides : strides[0];
  }
  computeOutputShape([b, h, w, c]) { return [b, Math.ceil(h / this.s), Math.ceil(w / this.s), c]; }
  call(inputs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [, h, w] = x.shape;
    const pads = [h, w].map((n) => {
      const total = Math.max((Math.ceil(n / this.s) - 1) * this.s + this.p - n, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
    const padding = [[0, 0], ...pads, [0, 0]];
    return tf.tidy(() => {
      const counts = tf.avgPool(tf.pad(tf.ones([1, h, w, 1]), padding), this.p, this.s, 'valid');
      return tf.div(tf.avgPool(tf.pad(x, padding), this.p, this.s, 'valid'), counts);
    });
  }
}
const paddedAvgPool = (className, cfg) => (className === 'AveragePooling2D' && cfg.padding === 'same'
  ? new PaddedAveragePooling2D(cfg) : undefined);
const GRAD_CONFIGS = [
  ['lenet5', { dropout: 0 }],
  ['alexnet', { widthMultiplier: 0.125, inputShape: [16, 16, 3], denseUnits: [32, 16], dropout: 0 }],
  ['vgg', { depth: 11, widthMultiplier: 0.0625, batchNorm: true, denseUnits: [16], dropout: 0 }],
  ['nin', { widthMultiplier: 0.125, inputShape: [16, 16, 3], dropout: 0 }],
  ['nin', { widthMultiplier: 0.0625, inputShape: [12, 12, 3], dropout: 0, batchNorm: true }],
  ['googlenet', { widthMultiplier: 0.125, inputShape: [16, 16, 3], blocksPerStage: [1, 1, 1], dropout: 0 }],
  ['googlenet', { widthMultiplier: 0.0625, inputShape: [8, 8, 3], blocksPerStage: [2], branch5x5: 'double3x3', dropout: 0, batchNorm: true }],
  ['resnet', { depth: 8, widthMultiplier: 0.5, inputShape: [16, 16, 3] }],
  ['resnet', { depth: 18, widthMultiplier: 0.0625, inputShape: [16, 16, 3] }],
];

describe('zoo: training-mode loss and gradients equal tfjs (batch norm on batch statistics)', () => {
  for (const [name, opts] of GRAD_CONFIGS) {
    test(label(name, opts), (t) => {
      const ours = cnn.zoo[name]({ ...opts, seed: 5 });
      randomiseNonKernels(ours, 21);
      const theirs = rebuild(tf, ours.getConfig(), { custom: paddedAvgPool });
      try {
        copyWeights(ours, theirs, true);
        ours.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
        const n = 3;
        const shape = [n, ...ours.inputShape.slice(1)];
        const x = normals(size(shape), 9);
        const labels = Int32Array.from({ length: n }, (_, i) => (3 * i + 1) % ours.outputShape.at(-1));
        const got = ours.computeGradients(cnn.tensor(x, shape), cnn.tensor(labels, [n], 'int32'));
        const names = ours.weightNames();
        const tx = tf.tensor(x, shape);
        const ty = tf.tensor(labels, [n], 'int32');
        const vars = theirs.trainableWeights;
        const { value, grads } = tf.variableGrads(() => tfSparseCrossentropy(ty, theirs.apply(tx, { training: true })),
          vars.map((v) => v.read()));
        const lossErr = relError([got.loss], value.dataSync());
        assert.ok(lossErr <= FORWARD_TOL, `loss ${got.loss} vs tfjs ${value.dataSync()[0]}`);
        const trainable = ours.getWeights().length - ours.layers.reduce((n, l) => n + l.weightSpecs().filter((w) => w.trainable === false).length, 0);
        assert.equal(vars.length, trainable, 'number of trainable weights');
        let worst = 0;
        for (const v of vars) {
          const i = names.indexOf(v.originalName);
          assert.ok(i >= 0, `tfjs weight ${v.originalName} has no counterpart in ${names}`);
          const err = relError(got.gradients[i].dataSync(), grads[v.read().name].dataSync());
          assert.ok(err <= GRAD_TOL, `d loss / d ${v.originalName}: relative error ${err.toExponential(3)} > ${GRAD_TOL}`);
          worst = Math.max(worst, err);
        }
        t.diagnostic(`loss ${got.loss.toFixed(4)}, ${vars.length} gradients, worst relative error ${worst.toExponential(2)}`);
        tf.dispose([tx, ty, value, ...Object.values(grads)]);
      } finally {
        tf.dispose(theirs.weights.map((w) => w.val));
        ours.dispose();
      }
    });
  }
});

// ---- training on MNIST -----------------------------------------------------------------------------------------
/** n digits (from `offset`) center-padded / cropped to [h, w] with the gray channel repeated c times. */
function digitsFor(mnist, [h, w, c], n, offset = 0) {
  const out = new Float32Array(n * h * w * c);
  const top = Math.floor((h - 28) / 2);
  const left = Math.floor((w - 28) / 2);
  for (let s = 0; s < n; s++) {
    const src = (offset + s) * 784;
    for (let y = 0; y < h; y++) {
      const sy = y - top;
      if (sy < 0 || sy >= 28) continue;
      for (let x = 0; x < w; x++) {
        const sx = x - left;
        if (sx < 0 || sx >= 28) continue;
        const v = mnist.images[src + sy * 28 + sx];
        const d = ((s * h + y) * w + x) * c;
        for (let k = 0; k < c; k++) out[d + k] = v;
      }
    }
  }
  return { x: cnn.tensor(out, [n, h, w, c]), y: cnn.tensor(mnist.labels.slice(offset, offset + n), [n], 'int32') };
}

// Plain (no batch norm) NIN and GoogLeNet, and VGG / AlexNet with dropout 0.5, only reach chance level (loss ln 10) in
// 30 steps; the batch-norm variants and lighter dropout learn within 30 steps.
const TRAIN_CONFIGS = [
  ['lenet5', {}],
  ['alexnet', { widthMultiplier: 0.25, dropout: 0.2 }],
  ['vgg', { depth: 11, widthMultiplier: 0.25, dropout: 0.2 }],
  ['vgg', { depth: 16, widthMultiplier: 0.25, batchNorm: true }],
  ['nin', { widthMultiplier: 0.25, batchNorm: true, dropout: 0.2 }],
  ['googlenet', { widthMultiplier: 0.25, blocksPerStage: [1, 1, 1], batchNorm: true }],
  ['resnet', { depth: 20, widthMultiplier: 0.5 }],
];

describe('zoo: each model learns MNIST digits (30 adam steps, batch 16)', () => {
  let mnist;
  before(async () => { mnist = await loadMnist(); });
  for (const [name, opts] of TRAIN_CONFIGS) {
    test(label(name, opts), async (t) => {
      const model = cnn.zoo[name]({ ...opts, seed: 7 });
      const { x, y } = digitsFor(mnist, model.inputShape.slice(1), 30 * 16);
      model.compile({ optimizer: cnn.train.adam(0.001), loss: 'sparseCategoricalCrossentropy' });
      const losses = [];
      await model.fit(x, y, { epochs: 1, batchSize: 16, seed: 1, callbacks: { onBatchEnd: (b, logs) => { losses.push(logs.loss); } } });
      model.dispose();
      assert.equal(losses.length, 30);
      assert.ok(losses.every(Number.isFinite), `finite losses: ${losses}`);
      const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
      const first = mean(losses.slice(0, 5));
      const last = mean(losses.slice(-5));
      // Falling, and below chance level (ln 10 = 2.303): the model has learnt something about the digits.
      assert.ok(last < first && last < Math.log(10) - 0.05, `loss did not fall enough: first 5 steps ${first.toFixed(4)}, last 5 ${last.toFixed(4)}`);
      t.diagnostic(`loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    });
  }
});
