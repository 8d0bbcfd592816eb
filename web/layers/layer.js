// The base of every layer, and the option checks the layer families share. A layer validates its options when
// created, infers its output shape when applied (so shape errors name the layer before anything reaches the
// engine), and adds its node(s) to the C graph through a GraphBuilder when its model is built. Shapes here are per
// sample: [h, w, c] or [features].
import { CnnError } from '../core/errors.js';
import { checkOptions, lookup, show } from '../core/options.js';
import { LIMITS } from '../engine/abi.js';
import * as graph from './symbolic.js';

/** Activation names a layer's `activation` option takes (tfjs names). */
export const ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];
/** kernelInitializer names (tfjs names). */
export const INITIALIZERS = ['zeros', 'ones', 'glorotUniform', 'glorotNormal', 'heNormal', 'heUniform'];
export const PADDINGS = ['valid', 'same'];
const COMMON_OPTIONS = ['name', 'inputShape', 'batchInputShape', 'batchSize', 'trainable', 'dtype'];

const nameCounters = new Map();
function uniqueName(prefix) {
  const n = (nameCounters.get(prefix) ?? 0) + 1;
  nameCounters.set(prefix, n);
  return `${prefix}_${n}`;
}

/** Base of every layer: options, name, output shape inference, and the engine nodes it created. */
export class Layer {
  #trainable = true;

  constructor(className, config = {}, allowed = []) {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new CnnError(`${className}: options must be an object, got ${show(config)}`);
    }
    this.className = className;
    checkOptions(config, [...COMMON_OPTIONS, ...allowed], className);
    // Keras-style default names: conv2d_1, max_pooling2d_1, ...
    this.name = config.name ?? uniqueName(className.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase());
    if (typeof this.name !== 'string' || !this.name) {
      throw new CnnError(`${className}: name must be a non-empty string, got ${show(config.name)}`);
    }
    this.#trainable = config.trainable ?? true;
    // tfjs layers take dataFormat; the engine is NHWC only, and a channelsFirst model run as NHWC would be silently wrong.
    if (allowed.includes('dataFormat') && config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
      throw new CnnError(`${this.name}: only dataFormat 'channelsLast' (NHWC) is supported, got ` +
        `${show(config.dataFormat)}`);
    }
    if (config.inputShape !== undefined || config.batchInputShape !== undefined) {
      const shape = config.inputShape ?? (Array.isArray(config.batchInputShape) ? config.batchInputShape.slice(1) : null);
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

  /** Adds this layer's node(s) to the C graph through `builder` (engine/graph.js); returns the output node id. */
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

  /** Refuses a per-sample output larger than the engine's tensors can be. */
  checkOutputSize(shape) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => d > LIMITS.maxDim) || size > LIMITS.maxElements) {
      throw new CnnError(`${this.name}: output shape [${shape}] is too large (at most ${LIMITS.maxDim} per axis and ` +
        `${LIMITS.maxElements.toLocaleString('en-US')} values per sample)`);
    }
    return shape;
  }
}

/** inputShape and friends: positive integers, each at most the engine's largest dimension. */
export function positiveInts(value, what) {
  if (!Array.isArray(value) || value.length === 0 || value.some((d) => !Number.isInteger(d) || d < 1 || d > LIMITS.maxDim)) {
    throw new CnnError(`${what} must be an array of integers from 1 to ${LIMITS.maxDim}, got ${show(value)}`);
  }
  return value.slice();
}

/** filters / units: an integer from 1 to the engine's limit. */
export function positiveInt(value, what) {
  if (!Number.isInteger(value) || value < 1 || value > LIMITS.maxDim) {
    throw new CnnError(`${what} must be an integer from 1 to ${LIMITS.maxDim}, got ${show(value)}`);
  }
  return value;
}

/** kernelSize / strides / poolSize / dilationRate: a number or [h, w], each an integer from 1 to `max`. */
export function pair(value, what, max = LIMITS.maxKernel) {
  const v = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(v) || v.length !== 2 || v.some((d) => !Number.isInteger(d) || d < 1 || d > max)) {
    throw new CnnError(`${what} must be an integer from 1 to ${max} or [height, width] of them, got ${show(value)}`);
  }
  return v.slice();
}

/** One of `choices` (an array of names); returns it. */
export function choice(value, choices, what) {
  return lookup(new Map(choices.map((c) => [c, c])), value, what);
}

/**
 * Sets and checks the options every layer with a kernel takes (Dense, Conv2D, Conv2DTranspose), with tfjs's defaults:
 * activation, useBias, kernelInitializer (one of `initializers`) and biasInitializer (only 'zeros' is supported).
 */
export function setKernelOptions(layer, config, initializers = INITIALIZERS) {
  layer.activation = choice(config.activation ?? 'linear', ACTIVATIONS, `${layer.name}: activation`);
  layer.useBias = config.useBias ?? true;
  if (typeof layer.useBias !== 'boolean') throw new CnnError(`${layer.name}: useBias must be true or false, got ${show(config.useBias)}`);
  layer.kernelInitializer = choice(config.kernelInitializer ?? 'glorotUniform', initializers, `${layer.name}: kernelInitializer`);
  layer.biasInitializer = config.biasInitializer ?? 'zeros';
  if (layer.biasInitializer !== 'zeros') {
    throw new CnnError(`${layer.name}: biasInitializer must be 'zeros', got ${show(layer.biasInitializer)}`);
  }
}

/**
 * A window layer's padding: 'valid' / 'same' (tfjs), or explicit pads as PyTorch gives them: n, [h, w] (symmetric) or
 * [[top, bottom], [left, right]], each an integer from 0 to maxPad[0] (height) / maxPad[1] (width). Returns
 * { padding: 'valid' | 'same' | 'explicit', pads: [top, bottom, left, right] | null }.
 */
export function windowPadding(value, what, maxPad) {
  if (typeof value === 'string') return { padding: choice(value, PADDINGS, what), pads: null };
  const ok = (v, axis) => Number.isInteger(v) && v >= 0 && v <= maxPad[axis];
  let pads = null;
  if (ok(value, 0) && ok(value, 1)) pads = [value, value, value, value];
  else if (Array.isArray(value) && value.length === 2 && ok(value[0], 0) && ok(value[1], 1)) {
    pads = [value[0], value[0], value[1], value[1]];
  } else if (Array.isArray(value) && value.length === 2 && value.every((q, axis) => Array.isArray(q) && q.length === 2 &&
    q.every((v) => ok(v, axis)))) {
    pads = [value[0][0], value[0][1], value[1][0], value[1][1]];
  }
  if (!pads) {
    throw new CnnError(`${what} must be 'valid', 'same', n, [h, w] or [[top, bottom], [left, right]] with heights from ` +
      `0 to ${maxPad[0]} and widths from 0 to ${maxPad[1]}, got ${show(value)}`);
  }
  return { padding: 'explicit', pads };
}

/** A boolean option (default `dflt`). */
export function bool(value, dflt, what) {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new CnnError(`${what} must be true or false, got ${show(value)}`);
  return value;
}

/** Output size along one axis for 'same' / 'valid' windows (TensorFlow's rule). */
export function windowOut(size, kernel, stride, dilation, padding) {
  if (padding === 'same') return Math.ceil(size / stride);
  const effective = (kernel - 1) * dilation + 1;
  return effective > size ? 0 : Math.floor((size - effective) / stride) + 1;
}

/** Adds an activation node after `id` unless it is linear. */
export function addActivation(builder, id, activation) {
  return activation === 'linear' ? id : builder.activation(id, activation);
}
