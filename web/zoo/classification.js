// Model zoo (cnn.zoo.*): the classic CNN architectures as ordinary functional models, sized for a browser and for
// small inputs (32×32 by default). Each builder takes an options object and returns an unbuilt cnn Model whose layers
// carry readable names (block1_conv1, inception3a_3x3, res2a_branch2a, ...). The returned model is like any other:
// compile / fit / predict / summary / save work unchanged.
//
// Common options: inputShape (default [32, 32, 3]; LeNet-5: [28, 28, 1]), numClasses (10), widthMultiplier (1: scales
// every filter count and hidden dense width, rounded, at least 1), seed (fixes weight initialisation), name.
import { CnnError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { layers, input } from '../layers/index.js';
import { Model } from '../model/model.js';

const COMMON = ['inputShape', 'numClasses', 'widthMultiplier', 'seed', 'name'];

/** Validates the options of zoo builder `what` and returns them with the common defaults filled in. */
function parseOptions(what, options, extra, defaults = {}) {
  options = checkOptions(options, [...COMMON, ...extra], `zoo.${what}`);
  const o = { inputShape: [32, 32, 3], numClasses: 10, widthMultiplier: 1, ...defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) o[k] = v;
  const shape = o.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new CnnError(`zoo.${what}: inputShape must be [height, width, channels] of positive integers, got ` +
      `${JSON.stringify(shape)}`);
  }
  if (!Number.isInteger(o.numClasses) || o.numClasses < 1) {
    throw new CnnError(`zoo.${what}: numClasses must be a positive integer, got ${JSON.stringify(o.numClasses)}`);
  }
  if (typeof o.widthMultiplier !== 'number' || !(o.widthMultiplier > 0) || !Number.isFinite(o.widthMultiplier)) {
    throw new CnnError(`zoo.${what}: widthMultiplier must be a positive number, got ${JSON.stringify(o.widthMultiplier)}`);
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || !o.name)) {
    throw new CnnError(`zoo.${what}: name must be a non-empty string, got ${JSON.stringify(o.name)}`);
  }
  o.width = (n) => Math.max(1, Math.round(n * o.widthMultiplier));
  return o;
}

function rate(what, key, value) {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new CnnError(`zoo.${what}: ${key} must be a number in [0, 1), got ${JSON.stringify(value)}`);
  }
  return value;
}

function bool(what, key, value) {
  if (typeof value !== 'boolean') throw new CnnError(`zoo.${what}: ${key} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function unitList(what, key, value) {
  if (!Array.isArray(value) || value.some((u) => !Number.isInteger(u) || u < 1)) {
    throw new CnnError(`zoo.${what}: ${key} must be an array of positive integers, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A 'same' conv with ReLU (He initialisation); with batchNorm: conv without bias → batch norm (`<name>_bn`) → ReLU
 * (`<name>_relu`).
 */
function convRelu(x, { filters, kernelSize, strides = 1, name, batchNorm = false }) {
  if (!batchNorm) {
    return layers.conv2d({ filters, kernelSize, strides, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal',
      name }).apply(x);
  }
  x = layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name }).apply(x);
  x = layers.batchNormalization({ name: `${name}_bn` }).apply(x);
  return layers.reLU({ name: `${name}_relu` }).apply(x);
}

function finish(o, defaultName, inp, out) {
  const config = { inputs: inp, outputs: out, name: o.name ?? defaultName };
  if (o.seed !== undefined) config.seed = o.seed;
  const model = new Model(config);
  if (o.skippedPools?.length) {
    model.chosenDefaults = { pools: `${o.skippedPools.join(', ')} left out: the ${o.inputShape[0]}x${o.inputShape[1]} ` +
      'input is too small for every pooling of the full layout' };
  }
  return model;
}

/** Applies a pooling only where the map is still large enough for it (small inputs), recording the ones left out. */
function poolIfRoom(o, x, minSide, makePool, name) {
  const [h, w] = x.sampleShape;
  if (Math.min(h, w) >= minSide) return makePool().apply(x);
  (o.skippedPools ??= []).push(name);
  return x;
}

/** flatten → [dense (relu) → dropout]* → dense softmax, names fc1, dropout1, ..., predictions. */
function classifier(x, o, hidden, dropoutRate, { flatten = true } = {}) {
  if (flatten) x = layers.flatten({ name: 'flatten' }).apply(x);
  hidden.forEach((units, i) => {
    x = layers.dense({ units: o.width(units), activation: 'relu', kernelInitializer: 'heNormal', name: `fc${i + 1}` }).apply(x);
    if (dropoutRate > 0) x = layers.dropout({ rate: dropoutRate, name: `dropout${i + 1}` }).apply(x);
  });
  return layers.dense({ units: o.numClasses, activation: 'softmax', name: 'predictions' }).apply(x);
}

/**
 * LeNet-5 as in README.md and the MNIST demo: conv 6 5×5 same relu, max pool 2, conv 16 5×5 relu, average pool 2,
 * flatten, dense 120 relu, dropout 0.25, dense numClasses softmax. Default inputShape [28, 28, 1].
 * Extra option: dropout (0.25).
 */
export function lenet5(options) {
  const o = parseOptions('lenet5', options, ['dropout'], { inputShape: [28, 28, 1], dropout: 0.25 });
  rate('lenet5', 'dropout', o.dropout);
  const inp = input({ shape: o.inputShape, name: 'input' });
  let x = layers.conv2d({ filters: o.width(6), kernelSize: 5, padding: 'same', activation: 'relu', name: 'conv1' }).apply(inp);
  x = layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x);
  x = layers.conv2d({ filters: o.width(16), kernelSize: 5, activation: 'relu', name: 'conv2' }).apply(x);
  x = layers.averagePooling2d({ poolSize: 2, strides: 2, name: 'pool2' }).apply(x);
  x = layers.flatten({ name: 'flatten' }).apply(x);
  x = layers.dense({ units: o.width(120), activation: 'relu', name: 'fc1' }).apply(x);
  if (o.dropout > 0) x = layers.dropout({ rate: o.dropout, name: 'dropout1' }).apply(x);
  x = layers.dense({ units: o.numClasses, activation: 'softmax', name: 'predictions' }).apply(x);
  return finish(o, 'lenet5', inp, x);
}

/**
 * AlexNet's layout scaled to 32×32: conv1 64 5×5 → max pool 3/2 → conv2 192 5×5 → max pool 3/2 → conv3 384 3×3 →
 * conv4 256 3×3 → conv5 256 3×3 → max pool 3/2 (overlapping pools as in AlexNet; all convs 'same' + ReLU, He
 * initialisation), then flatten → fc1 → dropout → fc2 → dropout → softmax. Local response normalisation is left
 * out (as in most re-implementations). Extra options: denseUnits ([1024, 1024], scaled by widthMultiplier), dropout (0.5).
 */
export function alexnet(options) {
  const o = parseOptions('alexnet', options, ['denseUnits', 'dropout'], { denseUnits: [1024, 1024], dropout: 0.5 });
  unitList('alexnet', 'denseUnits', o.denseUnits);
  rate('alexnet', 'dropout', o.dropout);
  const conv = (x, filters, k, name) => layers.conv2d({ filters: o.width(filters), kernelSize: k, padding: 'same',
    activation: 'relu', kernelInitializer: 'heNormal', name }).apply(x);
  const pool = (x, name) => poolIfRoom(o, x, 3, () => layers.maxPooling2d({ poolSize: 3, strides: 2, name }), name);
  const inp = input({ shape: o.inputShape, name: 'input' });
  let x = pool(conv(inp, 64, 5, 'conv1'), 'pool1');
  x = pool(conv(x, 192, 5, 'conv2'), 'pool2');
  x = conv(x, 384, 3, 'conv3');
  x = conv(x, 256, 3, 'conv4');
  x = pool(conv(x, 256, 3, 'conv5'), 'pool5');
  x = classifier(x, o, o.denseUnits, o.dropout);
  return finish(o, 'alexnet', inp, x);
}

const VGG_DEPTHS = {
  11: [[1, 64], [1, 128], [2, 256], [2, 512], [2, 512]],
  13: [[2, 64], [2, 128], [2, 256], [2, 512], [2, 512]],
  16: [[2, 64], [2, 128], [3, 256], [3, 512], [3, 512]],
  19: [[2, 64], [2, 128], [4, 256], [4, 512], [4, 512]],
};

/**
 * VGG: blocks of 3×3 'same' convs (He initialisation, ReLU; with batchNorm: conv without bias → batch norm → ReLU),
 * each block followed by a 2×2 max pool, then a classifier. Extra options: depth (11 | 13 | 16 | 19, default 16: the
 * VGG-11/13/16/19 layouts), blocks (array of [convsPerBlock, filters], overrides depth), batchNorm (false),
 * denseUnits ([512], scaled by widthMultiplier; the ImageNet VGG has [4096, 4096]), dropout (0.5).
 * Layer names follow Keras' VGG16: block1_conv1 ... block5_pool, flatten, fc1, predictions.
 */
export function vgg(options) {
  const o = parseOptions('vgg', options, ['depth', 'blocks', 'batchNorm', 'denseUnits', 'dropout'],
    { batchNorm: false, denseUnits: [512], dropout: 0.5 });
  if (o.depth !== undefined && o.blocks !== undefined) throw new CnnError('zoo.vgg: give depth or blocks, not both');
  if (o.depth === undefined && o.blocks === undefined) o.depth = 16;
  let blocks = o.blocks;
  if (blocks === undefined) {
    blocks = VGG_DEPTHS[o.depth];
    if (!blocks) {
      throw new CnnError(`zoo.vgg: depth must be one of ${Object.keys(VGG_DEPTHS).join(', ')}, got ${JSON.stringify(o.depth)}`);
    }
  } else if (!Array.isArray(blocks) || blocks.length === 0 || blocks.some((b) => !Array.isArray(b) || b.length !== 2 ||
    b.some((v) => !Number.isInteger(v) || v < 1))) {
    throw new CnnError(`zoo.vgg: blocks must be a non-empty array of [convsPerBlock, filters] (positive integers), ` +
      `got ${JSON.stringify(blocks)}`);
  }
  bool('vgg', 'batchNorm', o.batchNorm);
  unitList('vgg', 'denseUnits', o.denseUnits);
  rate('vgg', 'dropout', o.dropout);
  const inp = input({ shape: o.inputShape, name: 'input' });
  let x = inp;
  blocks.forEach(([convs, filters], b) => {
    for (let i = 1; i <= convs; i++) {
      x = convRelu(x, { filters: o.width(filters), kernelSize: 3, name: `block${b + 1}_conv${i}`, batchNorm: o.batchNorm });
    }
    x = poolIfRoom(o, x, 2, () => layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }),
      `block${b + 1}_pool`);
  });
  x = classifier(x, o, o.denseUnits, o.dropout);
  const name = o.blocks === undefined ? `vgg${o.depth}${o.batchNorm ? '_bn' : ''}` : 'vgg';
  return finish(o, name, inp, x);
}

/**
 * Network in Network (Lin et al. 2013, the CIFAR-10 model): three mlpconv blocks — a k×k conv followed by two 1×1
 * convs, all ReLU — with 3×3 stride-2 max / average pooling and dropout between them; the last 1×1 conv has
 * numClasses filters (linear), then global average pooling and a softmax activation.
 * Widths 192-160-96 / 192-192-192 / 192-192-classes; kernels 5, 5, 3; ReLU convs use He initialisation.
 * Extra options: dropout (0.5), batchNorm (false; true: each ReLU conv but the last becomes conv without bias →
 * batch norm → ReLU, which trains much faster).
 */
export function nin(options) {
  const o = parseOptions('nin', options, ['dropout', 'batchNorm'], { dropout: 0.5, batchNorm: false });
  rate('nin', 'dropout', o.dropout);
  bool('nin', 'batchNorm', o.batchNorm);
  const conv = (x, filters, kernelSize, name) => convRelu(x, { filters: o.width(filters), kernelSize, name,
    batchNorm: o.batchNorm });
  const inp = input({ shape: o.inputShape, name: 'input' });
  let x = conv(inp, 192, 5, 'block1_conv');
  x = conv(x, 160, 1, 'block1_mlp1');
  x = conv(x, 96, 1, 'block1_mlp2');
  x = layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'block1_pool' }).apply(x);
  if (o.dropout > 0) x = layers.dropout({ rate: o.dropout, name: 'block1_dropout' }).apply(x);
  x = conv(x, 192, 5, 'block2_conv');
  x = conv(x, 192, 1, 'block2_mlp1');
  x = conv(x, 192, 1, 'block2_mlp2');
  x = layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'block2_pool' }).apply(x);
  if (o.dropout > 0) x = layers.dropout({ rate: o.dropout, name: 'block2_dropout' }).apply(x);
  x = conv(x, 192, 3, 'block3_conv');
  x = conv(x, 192, 1, 'block3_mlp1');
  x = layers.conv2d({ filters: o.numClasses, kernelSize: 1, name: 'block3_mlp2' }).apply(x);
  x = layers.globalAveragePooling2d({ name: 'global_pool' }).apply(x);
  x = layers.activation({ activation: 'softmax', name: 'predictions' }).apply(x);
  return finish(o, 'nin', inp, x);
}

// GoogLeNet's Inception widths (Szegedy et al. 2014, table 1): [1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool proj].
const INCEPTION_STAGES = [
  { stage: 3, blocks: [[64, 96, 128, 16, 32, 32], [128, 128, 192, 32, 96, 64]] },
  { stage: 4, blocks: [[192, 96, 208, 16, 48, 64], [160, 112, 224, 24, 64, 64], [128, 128, 256, 24, 64, 64],
    [112, 144, 288, 32, 64, 64], [256, 160, 320, 32, 128, 128]] },
  { stage: 5, blocks: [[256, 160, 320, 32, 128, 128], [384, 192, 384, 48, 128, 128]] },
];

/**
 * GoogLeNet-mini: a stem (conv 3×3 64, conv 1×1 64, conv 3×3 192, max pool 3/2) adapted to 32×32, Inception stages
 * separated by 3×3 stride-2 max pools, global average pooling, dropout and a dense softmax. Each Inception block
 * concatenates four branches: 1×1; 1×1 → 3×3; 1×1 → 5×5 (or two 3×3 with branch5x5: 'double3x3'); 3×3 max pool →
 * 1×1. Block widths are GoogLeNet's (inception3a, 3b, 4a ... 5b, in order; a stage asked for more blocks than
 * GoogLeNet has repeats its last one). Every conv is 'same' + ReLU with He initialisation.
 * Extra options: blocksPerStage ([2, 2, 2]; GoogLeNet is [2, 5, 2]; 1 to 3 stages), branch5x5 ('5x5' |
 * 'double3x3'), dropout (0.4), batchNorm (false; true: every conv is conv without bias → batch norm → ReLU, as in
 * BN-Inception).
 */
export function googlenet(options) {
  const o = parseOptions('googlenet', options, ['blocksPerStage', 'branch5x5', 'dropout', 'batchNorm'],
    { blocksPerStage: [2, 2, 2], branch5x5: '5x5', dropout: 0.4, batchNorm: false });
  bool('googlenet', 'batchNorm', o.batchNorm);
  const bps = o.blocksPerStage;
  if (!Array.isArray(bps) || bps.length < 1 || bps.length > 3 || bps.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new CnnError(`zoo.googlenet: blocksPerStage must be an array of 1 to 3 positive integers, got ${JSON.stringify(bps)}`);
  }
  if (o.branch5x5 !== '5x5' && o.branch5x5 !== 'double3x3') {
    throw new CnnError(`zoo.googlenet: branch5x5 must be '5x5' or 'double3x3', got ${JSON.stringify(o.branch5x5)}`);
  }
  rate('googlenet', 'dropout', o.dropout);
  const conv = (x, filters, kernelSize, name) => convRelu(x, { filters: o.width(filters), kernelSize, name,
    batchNorm: o.batchNorm });
  const maxPool = (x, name) => layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name }).apply(x);
  const inception = (x, name, [c1, r3, c3, r5, c5, pp]) => {
    const b1 = conv(x, c1, 1, `${name}_1x1`);
    const b2 = conv(conv(x, r3, 1, `${name}_3x3_reduce`), c3, 3, `${name}_3x3`);
    let b3 = conv(x, r5, 1, `${name}_5x5_reduce`);
    b3 = o.branch5x5 === '5x5' ? conv(b3, c5, 5, `${name}_5x5`) : conv(conv(b3, c5, 3, `${name}_5x5a`), c5, 3, `${name}_5x5b`);
    let b4 = layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: `${name}_pool` }).apply(x);
    b4 = conv(b4, pp, 1, `${name}_pool_proj`);
    return layers.concatenate({ name: `${name}_concat` }).apply([b1, b2, b3, b4]);
  };
  const inp = input({ shape: o.inputShape, name: 'input' });
  let x = conv(inp, 64, 3, 'stem_conv1');
  x = conv(x, 64, 1, 'stem_conv2_reduce');
  x = conv(x, 192, 3, 'stem_conv2');
  x = maxPool(x, 'stem_pool');
  bps.forEach((count, s) => {
    const { stage, blocks } = INCEPTION_STAGES[s];
    if (s > 0) x = maxPool(x, `pool${stage - 1}`);
    for (let i = 0; i < count; i++) {
      const letter = i < 26 ? String.fromCharCode(97 + i) : `z${i}`;
      x = inception(x, `inception${stage}${letter}`, blocks[Math.min(i, blocks.length - 1)]);
    }
  });
  x = layers.globalAveragePooling2d({ name: 'global_pool' }).apply(x);
  if (o.dropout > 0) x = layers.dropout({ rate: o.dropout, name: 'dropout' }).apply(x);
  x = layers.dense({ units: o.numClasses, activation: 'softmax', name: 'predictions' }).apply(x);
  return finish(o, 'googlenet', inp, x);
}

const RESNET_IMAGENET = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3] };

/**
 * ResNet with basic blocks (He et al. 2015): conv 3×3 → BN → ReLU → conv 3×3 → BN, added to the shortcut, then ReLU.
 * Where the shape changes the shortcut is a projection (1×1 conv, stride 2, no bias → BN); elsewhere it is the identity.
 * Convs have no bias (batch norm follows) and He initialisation.
 * - depth 18 / 34: the ImageNet layouts ([2, 2, 2, 2] / [3, 4, 6, 3] blocks of 64, 128, 256, 512 filters) with the
 *   stem adapted to 32×32: a 3×3 stride-1 conv (64 filters) + BN + ReLU and no max pool.
 * - depth 6n + 2 (8, 14, 20, 26, 32, 44, 56, 110, ...): the CIFAR ResNets, 3 stages of n blocks with 16, 32, 64 filters
 *   and a 3×3 16-filter stem. ResNet-20 has 0.27 M parameters.
 * Then global average pooling and a dense softmax. Extra option: depth (default 20).
 * Names follow the Caffe / Keras ResNet: conv1, bn_conv1, res2a_branch2a, bn2a_branch2a, res2a_branch1, res2a (the
 * add), res2a_relu, ..., avg_pool, predictions.
 */
export function resnet(options) {
  const o = parseOptions('resnet', options, ['depth'], { depth: 20 });
  let stages;
  let stemFilters;
  if (RESNET_IMAGENET[o.depth]) {
    stages = RESNET_IMAGENET[o.depth].map((n, i) => [n, 64 << i]);
    stemFilters = 64;
  } else if (Number.isInteger(o.depth) && o.depth >= 8 && (o.depth - 2) % 6 === 0) {
    const n = (o.depth - 2) / 6;
    stages = [[n, 16], [n, 32], [n, 64]];
    stemFilters = 16;
  } else {
    throw new CnnError(`zoo.resnet: depth must be 18 or 34 (ImageNet layouts) or 6n + 2 (CIFAR layouts: 8, 14, 20, ` +
      `32, 44, 56, 110, ...), got ${JSON.stringify(o.depth)}`);
  }
  const conv = (x, filters, k, strides, name) => layers.conv2d({ filters, kernelSize: k, strides, padding: 'same',
    useBias: false, kernelInitializer: 'heNormal', name }).apply(x);
  const bn = (x, name) => layers.batchNormalization({ name }).apply(x);
  const relu = (x, name) => layers.reLU({ name }).apply(x);

  const inp = input({ shape: o.inputShape, name: 'input' });
  let x = relu(bn(conv(inp, o.width(stemFilters), 3, 1, 'conv1'), 'bn_conv1'), 'conv1_relu');
  let channels = o.width(stemFilters);
  stages.forEach(([count, baseFilters], s) => {
    const stage = s + 2;
    const filters = o.width(baseFilters);
    for (let i = 0; i < count; i++) {
      const id = `${stage}${i < 26 ? String.fromCharCode(97 + i) : `z${i}`}`;
      const strides = i === 0 && s > 0 ? 2 : 1;
      let y = conv(x, filters, 3, strides, `res${id}_branch2a`);
      y = relu(bn(y, `bn${id}_branch2a`), `res${id}_branch2a_relu`);
      y = bn(conv(y, filters, 3, 1, `res${id}_branch2b`), `bn${id}_branch2b`);
      let shortcut = x;
      if (strides !== 1 || channels !== filters) {
        shortcut = bn(conv(x, filters, 1, strides, `res${id}_branch1`), `bn${id}_branch1`);
      }
      x = relu(layers.add({ name: `res${id}` }).apply([y, shortcut]), `res${id}_relu`);
      channels = filters;
    }
  });
  x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
  x = layers.dense({ units: o.numClasses, activation: 'softmax', name: 'predictions' }).apply(x);
  return finish(o, `resnet${o.depth}`, inp, x);
}


