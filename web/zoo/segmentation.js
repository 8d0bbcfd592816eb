// Segmentation architectures for the model zoo: FCN (Long et al. 2015: a VGG-style encoder, a 1×1 classifier,
// transposed-convolution upsampling with skip connections: 32s / 16s / 8s) and SegNet (Badrinarayanan et al.
// 2015: a symmetric encoder-decoder whose decoder unpools with the max-pooling indices of its mirror encoder).
// Both are sized for a browser: a few stages of narrow convolutions. Layer names carry their stage (enc2_conv1,
// dec2_conv1, ...) so layer-wise training can move weights between models of different depth by name.
import { CnnError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { input, layers } from '../layers/index.js';
import { Model } from '../model/model.js';

function options(name, given, defaults) {
  checkOptions(given, Object.keys(defaults), `zoo.${name}`);
  const o = { ...defaults };
  for (const [k, v] of Object.entries(given ?? {})) if (v !== undefined) o[k] = v;
  if (!Array.isArray(o.inputShape) || o.inputShape.length !== 3 || o.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new CnnError(`zoo.${name}: inputShape must be [height, width, channels], got ${JSON.stringify(o.inputShape)}`);
  }
  if (!Number.isInteger(o.numClasses) || o.numClasses < 2) {
    throw new CnnError(`zoo.${name}: numClasses must be an integer >= 2, got ${JSON.stringify(o.numClasses)}`);
  }
  o.chosen = {};
  if (o.depth === undefined) {
    // The default depth fits the input: as deep as the rule says, but the input must divide by 2^depth.
    const side = Math.min(o.inputShape[0], o.inputShape[1]);
    const wanted = o.defaultDepth(side);
    let d = wanted;
    while (d > 1 && (o.inputShape[0] % 2 ** d || o.inputShape[1] % 2 ** d)) d--;
    o.depth = d;
    o.chosen.depth = `${d}: ${o.depthRule}${d < wanted ? `, lowered to ${d} so that ${o.inputShape[0]}x${o.inputShape[1]} divides by 2^depth` : ''}`;
  }
  if (!Number.isInteger(o.depth) || o.depth < 1 || o.depth > 6) {
    throw new CnnError(`zoo.${name}: depth must be an integer from 1 to 6, got ${JSON.stringify(o.depth)}`);
  }
  if (!Number.isInteger(o.width) || o.width < 1) {
    throw new CnnError(`zoo.${name}: width (filters of the first stage) must be a positive integer, got ${JSON.stringify(o.width)}`);
  }
  const stride = 2 ** o.depth;
  if (o.inputShape[0] % stride || o.inputShape[1] % stride) {
    throw new CnnError(`zoo.${name}: input ${o.inputShape[0]}x${o.inputShape[1]} must be divisible by 2^depth = ${stride}`);
  }
  delete o.defaultDepth;
  delete o.depthRule;
  return o;
}

/** The model, with the defaults its builder chose from the input recorded for summary(). */
function finish(o, inp, out) {
  const model = new Model({ inputs: inp, outputs: out, name: o.name, seed: o.seed });
  if (Object.keys(o.chosen).length) model.chosenDefaults = o.chosen;
  return model;
}

/** Filters of encoder stage s (1-based): width doubling per stage, at most 8× width. */
function stageFilters(width, s) { return width * Math.min(2 ** (s - 1), 8); }

/**
 * zoo.fcn({ inputShape = [64, 64, 3], numClasses = 4, depth = (3 below 128 pixels, else 4), width = 16, variant = '8s', convsPerStage = 2,
 *           batchNorm = true, dropout = 0 })
 * variant: '32s' (upsample the final score map in one step), '16s' (one skip), '8s' (two skips). With depth d the
 * coarsest map is 2^d times smaller than the input; the names keep the paper's meaning for its depth of 5. The finest
 * score map of '8s' is 2^(d-2) times smaller than the input: for 64×64 inputs depth 3 (stride 2) segments edges and
 * thin strokes far better than depth 4 (held-out mean IoU on shapes / MNIST scenes: depth 4 width 12 0.79 / 0.72,
 * depth 3 width 16 0.85 / 0.85).
 */
export function fcn(config = {}) {
  const o = options('fcn', config, { inputShape: [64, 64, 3], numClasses: 4, depth: undefined, width: 16, variant: '8s',
    convsPerStage: 2, batchNorm: true, dropout: 0, seed: undefined, name: 'fcn',
    defaultDepth: (side) => (side < 128 ? 3 : 4), depthRule: 'depth 3 below 128 pixels, 4 from 128' });
  if (typeof o.dropout !== 'number' || !(o.dropout >= 0 && o.dropout < 1)) {
    throw new CnnError(`zoo.fcn: dropout must be in [0, 1), got ${JSON.stringify(o.dropout)}`);
  }
  const skips = { '32s': 0, '16s': 1, '8s': 2 }[o.variant];
  if (skips === undefined) throw new CnnError(`zoo.fcn: variant must be '32s', '16s' or '8s', got ${JSON.stringify(o.variant)}`);
  if (skips > o.depth - 1) throw new CnnError(`zoo.fcn: variant '${o.variant}' needs depth >= ${skips + 1}, got ${o.depth}`);
  const inp = input({ shape: o.inputShape, name: 'image' });
  let x = inp;
  const pools = [];
  // Trained from scratch (no ImageNet weights to start from), the encoder learns far more reliably with batch norm.
  const conv = (x, name, filters, kernelSize) => {
    if (!o.batchNorm) {
      return layers.conv2d({ name, filters, kernelSize, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal' }).apply(x);
    }
    x = layers.conv2d({ name, filters, kernelSize, padding: 'same', useBias: false, kernelInitializer: 'heNormal' }).apply(x);
    x = layers.batchNormalization({ name: `${name}_bn` }).apply(x);
    return layers.reLU({ name: `${name}_relu` }).apply(x);
  };
  for (let s = 1; s <= o.depth; s++) {
    for (let i = 1; i <= o.convsPerStage; i++) x = conv(x, `enc${s}_conv${i}`, stageFilters(o.width, s), 3);
    x = layers.maxPooling2d({ name: `enc${s}_pool`, poolSize: 2 }).apply(x);
    pools.push(x);
  }
  // The fully connected layers of the classifier, as convolutions.
  const head = stageFilters(o.width, o.depth);
  // FCN keeps VGG's dropout after fc6 and fc7 (off by default: on the shapes scenes augmentation suffices).
  x = conv(x, 'fc6', head, 3);
  if (o.dropout > 0) x = layers.dropout({ name: 'drop6', rate: o.dropout }).apply(x);
  x = conv(x, 'fc7', head, 1);
  if (o.dropout > 0) x = layers.dropout({ name: 'drop7', rate: o.dropout }).apply(x);
  let score = layers.conv2d({ name: 'score', filters: o.numClasses, kernelSize: 1 }).apply(x);
  // Each skip: upsample ×2 (bilinear init), add the score of a shallower pooling, as FCN-16s/8s.
  for (let k = 1; k <= skips; k++) {
    score = layers.conv2dTranspose({ name: `upscore${k}`, filters: o.numClasses, kernelSize: 4, strides: 2, padding: 'same',
      kernelInitializer: 'bilinear', useBias: false }).apply(score);
    const skip = layers.conv2d({ name: `score_pool${o.depth - k}`, filters: o.numClasses, kernelSize: 1,
      kernelInitializer: 'zeros' }).apply(pools[o.depth - k - 1]);
    score = layers.add({ name: `fuse${k}` }).apply([score, skip]);
  }
  const factor = 2 ** (o.depth - skips);
  score = layers.conv2dTranspose({ name: 'upscore_final', filters: o.numClasses, kernelSize: 2 * factor, strides: factor,
    padding: 'same', kernelInitializer: 'bilinear', useBias: false }).apply(score);
  const out = layers.activation({ name: 'softmax', activation: 'softmax' }).apply(score);
  return finish(o, inp, out);
}

/**
 * zoo.segnet({ inputShape = [64, 64, 3], numClasses = 4, depth = (3; 2 at 32 pixels, 1 at 16), width = 16, convsPerStage = 2 })
 * Encoder stage s: convsPerStage × (3×3 conv, batch norm, ReLU), then 2×2 max pooling that keeps its indices.
 * Decoder stage s (deepest first): max-unpooling with stage s's indices, then the same convolutions, the last
 * of which narrows to stage s − 1's width; a 1×1 classifier and a softmax end the network.
 */
export function segnet(config = {}) {
  const o = options('segnet', config, { inputShape: [64, 64, 3], numClasses: 4, depth: undefined, width: 16,
    convsPerStage: 2, seed: undefined, name: 'segnet',
    defaultDepth: (side) => Math.max(1, Math.min(3, Math.floor(Math.log2(side)) - 3)),
    depthRule: 'depth 3, fewer below 64 pixels so the deepest map keeps 8x8 pixels' });
  const convBnRelu = (x, name, filters) => {
    x = layers.conv2d({ name: `${name}`, filters, kernelSize: 3, padding: 'same', useBias: false,
      kernelInitializer: 'heNormal' }).apply(x);
    x = layers.batchNormalization({ name: `${name}_bn` }).apply(x);
    return layers.reLU({ name: `${name}_relu` }).apply(x);
  };
  const inp = input({ shape: o.inputShape, name: 'image' });
  let x = inp;
  const indices = [];
  for (let s = 1; s <= o.depth; s++) {
    for (let i = 1; i <= o.convsPerStage; i++) x = convBnRelu(x, `enc${s}_conv${i}`, stageFilters(o.width, s));
    const [pooled, idx] = layers.maxPooling2d({ name: `enc${s}_pool`, poolSize: 2, returnIndices: true }).apply(x);
    x = pooled;
    indices.push(idx);
  }
  for (let s = o.depth; s >= 1; s--) {
    x = layers.maxUnpooling2d({ name: `dec${s}_unpool`, poolSize: 2 }).apply([x, indices[s - 1]]);
    for (let i = 1; i <= o.convsPerStage; i++) {
      const last = i === o.convsPerStage;
      const filters = last && s > 1 ? stageFilters(o.width, s - 1) : stageFilters(o.width, s);
      x = convBnRelu(x, `dec${s}_conv${i}`, filters);
    }
  }
  x = layers.conv2d({ name: 'classifier', filters: o.numClasses, kernelSize: 1 }).apply(x);
  const out = layers.activation({ name: 'softmax', activation: 'softmax' }).apply(x);
  return finish(o, inp, out);
}
