// Layer factories (cnn.layers.*) with tfjs-layers names and options. A layer validates its options when created,
// infers its output shape when applied (so shape errors name the layer before anything reaches the engine), and
// adds its node(s) to the C graph when its model is built. Shapes here are per sample: [h, w, c] or [features].
import { CnnError } from './engine.js';
import * as graph from './symbolic.js';

export const ACTIVATIONS = { linear: 0, relu: 1, sigmoid: 2, tanh: 3, softmax: 4 };
export const INITIALIZERS = { zeros: 0, ones: 1, glorotUniform: 2, glorotNormal: 3, heNormal: 4, heUniform: 5 };
export const PADDINGS = { valid: 0, same: 1 };
const COMMON_OPTIONS = ['name', 'inputShape', 'batchInputShape', 'batchSize', 'trainable', 'dtype'];

const nameCounters = new Map();
function uniqueName(prefix) {
  const n = (nameCounters.get(prefix) ?? 0) + 1;
  nameCounters.set(prefix, n);
  return `${prefix}_${n}`;
}

function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function suggest(word, choices) {
  let best = null;
  let bestDistance = 3;
  for (const c of choices) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) { best = c; bestDistance = dist; }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

/** Base of every layer: options, name, output shape inference, and the engine nodes it created. */
export class Layer {
  #trainable = true;

  constructor(className, config = {}, allowed = []) {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new CnnError(`${className}: options must be an object, got ${JSON.stringify(config)}`);
    }
    this.className = className;
    const known = new Set([...COMMON_OPTIONS, ...allowed]);
    for (const key of Object.keys(config)) {
      if (!known.has(key)) {
        throw new CnnError(`${className}: unknown option '${key}'${suggest(key, [...known])}; ` +
          `known options: ${[...known].join(', ')}`);
      }
    }
    // Keras-style default names: conv2d_1, max_pooling2d_1, ...
    this.name = config.name ?? uniqueName(className.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase());
    if (typeof this.name !== 'string' || !this.name) {
      throw new CnnError(`${className}: name must be a non-empty string, got ${JSON.stringify(config.name)}`);
    }
    this.#trainable = config.trainable ?? true;
    // tfjs layers take dataFormat; the engine is NHWC only, and a channelsFirst model run as NHWC would be silently wrong.
    if (known.has('dataFormat') && config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
      throw new CnnError(`${this.name}: only dataFormat 'channelsLast' (NHWC) is supported, got ` +
        `${JSON.stringify(config.dataFormat)}`);
    }
    if (config.inputShape !== undefined || config.batchInputShape !== undefined) {
      const shape = config.inputShape ?? config.batchInputShape.slice(1);
      this.inputShapeOption = positiveInts(shape, `${this.name}: inputShape`);
    }
    this.config = { ...config };
    this.inbound = null;   // SymbolicTensors this layer was applied to
    this.outputShape = null;
    this.model = null;     // set when a model is built with this layer
  }

  /** A frozen layer (false) keeps its weights (and batch norm its moving statistics) through fit(). */
  get trainable() { return this.#trainable; }
  set trainable(value) {
    this.#trainable = !!value;
    this.model?.onTrainableChanged(this);
  }

  /** Functional API: apply to a SymbolicTensor (or an array of them); returns the output SymbolicTensor. */
  apply(inputs) { return graph.applyLayer(this, inputs); }

  /** Output shape for the given input shapes (arrays of per-sample shapes); throws naming the layer. */
  computeOutputShape(inputShapes) { return inputShapes[0]; }

  /** Adds this layer's node(s) to the C graph; returns the output node id. */
  build(/* builder, inputIds */) { throw new CnnError(`${this.name}: ${this.className} cannot be built`); }

  /** Multiply-adds per sample, for summary(). */
  macs() { return 0; }

  /** tfjs weight shapes, in getWeights() order: [{ name, shape }]. */
  weightSpecs() { return []; }

  getConfig() {
    const { inputShape, batchInputShape, batchSize, dtype, ...rest } = this.config;
    const out = { ...rest, name: this.name, trainable: this.trainable };
    if (this.inputShapeOption) out.inputShape = this.inputShapeOption;
    return out;
  }

  getWeights() { return this.#requireModel().getLayerWeights(this); }
  setWeights(weights) { this.#requireModel().setLayerWeights(this, weights); }
  countParams() { return this.weightSpecs().reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0); }

  #requireModel() {
    if (!this.model) throw new CnnError(`${this.name}: the layer's weights exist once its model is built`);
    return this.model;
  }

  requireRank(shape, rank, what) {
    if (shape.length !== rank) {
      throw new CnnError(`${this.name}: expected ${what} input of rank ${rank} per sample, got shape [${shape}]` +
        (rank === 1 && shape.length === 3 ? '; add a flatten() layer before it' : ''));
    }
  }
}

export function positiveInts(value, what) {
  if (!Array.isArray(value) || value.length === 0 || value.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new CnnError(`${what} must be an array of positive integers, got ${JSON.stringify(value)}`);
  }
  return value.slice();
}

/** filters / units: a positive integer. */
export function positiveInt(value, what) {
  if (!Number.isInteger(value) || value < 1) {
    throw new CnnError(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** kernelSize / strides / poolSize / dilationRate: a number or [h, w], each a positive integer. */
export function pair(value, what) {
  const v = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(v) || v.length !== 2 || v.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new CnnError(`${what} must be a positive integer or [height, width], got ${JSON.stringify(value)}`);
  }
  return v.slice();
}

export function enumOption(value, table, what) {
  if (!Object.hasOwn(table, value)) {
    throw new CnnError(`${what} must be one of ${Object.keys(table).map((k) => `'${k}'`).join(', ')}, got ` +
      `${JSON.stringify(value)}${typeof value === 'string' ? suggest(value, Object.keys(table)) : ''}`);
  }
  return table[value];
}

/**
 * Sets and checks the options every layer with a kernel takes (Dense, Conv2D, Conv2DTranspose), with tfjs's defaults:
 * activation, useBias, kernelInitializer (one of `initializers`) and biasInitializer (only 'zeros' is supported).
 */
export function setKernelOptions(layer, config, initializers = INITIALIZERS) {
  layer.activation = config.activation ?? 'linear';
  enumOption(layer.activation, ACTIVATIONS, `${layer.name}: activation`);
  layer.useBias = config.useBias ?? true;
  layer.kernelInitializer = config.kernelInitializer ?? 'glorotUniform';
  enumOption(layer.kernelInitializer, initializers, `${layer.name}: kernelInitializer`);
  layer.biasInitializer = config.biasInitializer ?? 'zeros';
  if (layer.biasInitializer !== 'zeros') {
    throw new CnnError(`${layer.name}: biasInitializer must be 'zeros', got ${JSON.stringify(layer.biasInitializer)}`);
  }
}

/** Output size along one axis for 'same' / 'valid' windows (TensorFlow's rule). */
export function windowOut(size, kernel, stride, dilation, padding) {
  if (padding === 'same') return Math.ceil(size / stride);
  const effective = (kernel - 1) * dilation + 1;
  return effective > size ? 0 : Math.floor((size - effective) / stride) + 1;
}

/** Adds an activation node after `id` unless it is linear. */
export function addActivation(builder, id, activation) {
  if (activation === 'linear') return id;
  return builder.add('cnn_model_add_activation', id, ACTIVATIONS[activation], 0);
}

class InputLayer extends Layer {
  constructor(config) {
    super('InputLayer', config, ['shape']);
    const shape = config.shape ?? this.inputShapeOption;
    if (shape === undefined) throw new CnnError('input: give the shape of one sample, e.g. { shape: [28, 28, 1] }');
    this.shape = positiveInts(shape, 'input: shape');
    if (this.shape.length !== 1 && this.shape.length !== 3) {
      throw new CnnError(`input: shape must be [height, width, channels] or [features], got [${this.shape}]`);
    }
  }
  computeOutputShape() { return this.shape; }
  build(builder) {
    const [h, w, c] = this.shape.length === 3 ? this.shape : [1, 1, this.shape[0]];
    return builder.add('cnn_model_add_input', h, w, c);
  }
  getConfig() { return { name: this.name, shape: this.shape }; }
}

class Conv2D extends Layer {
  constructor(config) {
    super('Conv2D', config, ['filters', 'kernelSize', 'strides', 'padding', 'dilationRate', 'activation', 'useBias',
      'kernelInitializer', 'biasInitializer', 'dataFormat']);
    this.filters = positiveInt(config.filters, `${this.name}: filters`);
    this.kernelSize = pair(config.kernelSize, `${this.name}: kernelSize`);
    this.strides = pair(config.strides ?? 1, `${this.name}: strides`);
    this.dilationRate = pair(config.dilationRate ?? 1, `${this.name}: dilationRate`);
    this.padding = config.padding ?? 'valid';
    enumOption(this.padding, PADDINGS, `${this.name}: padding`);
    setKernelOptions(this, config);
    if ((this.dilationRate[0] > 1 || this.dilationRate[1] > 1) && (this.strides[0] > 1 || this.strides[1] > 1)) {
      throw new CnnError(`${this.name}: dilationRate [${this.dilationRate}] needs strides 1, got [${this.strides}]`);
    }
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const [h, w] = shape;
    const oh = windowOut(h, this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const ow = windowOut(w, this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    if (oh < 1 || ow < 1) {
      throw new CnnError(`${this.name}: kernel ${this.kernelSize.join('x')} (dilation ${this.dilationRate.join('x')}) ` +
        `is larger than its ${h}x${w} input with padding 'valid'; use padding 'same' or a smaller kernel`);
    }
    this.inputChannels = shape[2];
    return [oh, ow, this.filters];
  }
  build(builder, [input]) {
    const [kh, kw] = this.kernelSize;
    const id = builder.add('cnn_model_add_conv2d', input, this.filters, kh, kw, this.strides[0], this.strides[1],
      this.dilationRate[0], this.dilationRate[1], PADDINGS[this.padding], this.useBias ? 1 : 0,
      INITIALIZERS[this.kernelInitializer]);
    return addActivation(builder, id, this.activation);
  }
  weightSpecs() {
    const specs = [{ name: 'kernel', shape: [...this.kernelSize, this.inputChannels, this.filters] }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.filters] });
    return specs;
  }
  macs() { return this.outputShape[0] * this.outputShape[1] * this.filters * this.kernelSize[0] * this.kernelSize[1] * this.inputChannels; }
}

class Pooling2D extends Layer {
  constructor(className, kind, config) {
    super(className, config, ['poolSize', 'strides', 'padding', 'dataFormat', ...(kind === 0 ? ['returnIndices'] : [])]);
    this.kind = kind;
    // SegNet: a second output holding the argmax positions, for maxUnpooling2d (PyTorch's return_indices).
    this.returnIndices = !!config.returnIndices;
    this.multipleOutputs = this.returnIndices;
    this.poolSize = pair(config.poolSize ?? 2, `${this.name}: poolSize`);
    this.strides = pair(config.strides ?? this.poolSize, `${this.name}: strides`);
    this.padding = config.padding ?? 'valid';
    enumOption(this.padding, PADDINGS, `${this.name}: padding`);
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const oh = windowOut(shape[0], this.poolSize[0], this.strides[0], 1, this.padding);
    const ow = windowOut(shape[1], this.poolSize[1], this.strides[1], 1, this.padding);
    if (oh < 1 || ow < 1) {
      throw new CnnError(`${this.name}: poolSize ${this.poolSize.join('x')} is larger than its ` +
        `${shape[0]}x${shape[1]} input with padding 'valid'`);
    }
    return this.returnIndices ? [[oh, ow, shape[2]], [oh, ow, shape[2]]] : [oh, ow, shape[2]];
  }
  build(builder, [input]) {
    const id = builder.add('cnn_model_add_pool2d', input, this.kind, this.poolSize[0], this.poolSize[1], this.strides[0],
      this.strides[1], PADDINGS[this.padding]);
    return this.returnIndices ? [id, id] : id; // the indices live in the pooling node itself
  }
}

class Dense extends Layer {
  constructor(config) {
    super('Dense', config, ['units', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer', 'inputDim']);
    this.units = positiveInt(config.units, `${this.name}: units`);
    if (config.inputDim !== undefined) this.inputShapeOption = positiveInts([config.inputDim], `${this.name}: inputDim`);
    setKernelOptions(this, config);
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 1, 'a flat');
    this.inputUnits = shape[0];
    return [this.units];
  }
  build(builder, [input]) {
    const id = builder.add('cnn_model_add_dense', input, this.units, this.useBias ? 1 : 0,
      INITIALIZERS[this.kernelInitializer]);
    return addActivation(builder, id, this.activation);
  }
  weightSpecs() {
    const specs = [{ name: 'kernel', shape: [this.inputUnits, this.units] }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.units] });
    return specs;
  }
  macs() { return this.inputUnits * this.units; }
}

class Flatten extends Layer {
  constructor(config = {}) { super('Flatten', config, ['dataFormat']); }
  computeOutputShape([shape]) { return [shape.reduce((a, b) => a * b, 1)]; }
  build(builder, [input]) { return builder.add('cnn_model_add_flatten', input); }
}

class Dropout extends Layer {
  constructor(config) {
    super('Dropout', config, ['rate', 'seed', 'noiseShape']);
    if (typeof config.rate !== 'number' || !(config.rate >= 0 && config.rate < 1)) {
      throw new CnnError(`${this.name}: rate must be a number in [0, 1), got ${JSON.stringify(config.rate)}`);
    }
    if (config.noiseShape !== undefined) throw new CnnError(`${this.name}: noiseShape is not supported`);
    this.rate = config.rate;
  }
  build(builder, [input]) { return builder.add('cnn_model_add_dropout', input, this.rate); }
}

class Activation extends Layer {
  constructor(config) {
    super('Activation', config, ['activation']);
    this.activation = config.activation;
    enumOption(this.activation, ACTIVATIONS, `${this.name}: activation`);
  }
  build(builder, [input]) {
    return builder.add('cnn_model_add_activation', input, ACTIVATIONS[this.activation], 0);
  }
}

export const LAYER_CLASSES = {
  InputLayer, Conv2D, Dense, Flatten, Dropout, Activation,
  MaxPooling2D: class MaxPooling2D extends Pooling2D { constructor(c = {}) { super('MaxPooling2D', 0, c); } },
  AveragePooling2D: class AveragePooling2D extends Pooling2D { constructor(c = {}) { super('AveragePooling2D', 1, c); } },
};

/** Registers further layer classes (other layer-family modules call this). */
export function registerLayers(classes) { Object.assign(LAYER_CLASSES, classes); }

export const layers = {
  inputLayer: (config) => new InputLayer(config),
  conv2d: (config) => new Conv2D(config),
  maxPooling2d: (config) => new LAYER_CLASSES.MaxPooling2D(config),
  maxPool2d: (config) => new LAYER_CLASSES.MaxPooling2D(config),
  averagePooling2d: (config) => new LAYER_CLASSES.AveragePooling2D(config),
  avgPool2d: (config) => new LAYER_CLASSES.AveragePooling2D(config),
  dense: (config) => new Dense(config),
  flatten: (config) => new Flatten(config),
  dropout: (config) => new Dropout(config),
  activation: (config) => new Activation(config),
};

/** cnn.input({ shape }): the functional API's input. */
export function input(config) {
  const layer = new InputLayer(config ?? {});
  return graph.inputTensor(layer);
}
