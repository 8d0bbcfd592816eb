// tfjs-layers' pooling family: max / average pooling (max optionally returning the argmax indices, PyTorch's
// return_indices), global pooling, and SegNet's max-unpooling through those indices.
import { CnnError } from '../core/errors.js';
import { Layer, pair, windowOut, windowPadding, bool } from './layer.js';

/** Pooling output size along one axis with explicit pads (the engine's cnn_model_add_pool2d_explicit rule). */
function explicitOut(size, k, s, before, after, ceilMode) {
  const span = size + before + after - k;
  if (span < 0) return 0;
  let out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceilMode && (out - 1) * s >= size + before) out--; // the last window starts in the image or its leading pad
  return out;
}

/** TensorFlow's 'same' pads [before, after] along one axis. */
function samePads(size, k, s) {
  const total = Math.max((Math.ceil(size / s) - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

class Pooling2D extends Layer {
  constructor(className, kind, config) {
    super(className, config, ['poolSize', 'strides', 'padding', 'dataFormat', 'ceilMode',
      ...(kind === 'max' ? ['returnIndices'] : ['countIncludePad'])]);
    this.kind = kind;
    // SegNet: a second output holding the argmax positions, for maxUnpooling2d (PyTorch's return_indices).
    this.returnIndices = !!config.returnIndices;
    this.multipleOutputs = this.returnIndices;
    this.poolSize = pair(config.poolSize ?? 2, `${this.name}: poolSize`);
    this.strides = pair(config.strides ?? this.poolSize, `${this.name}: strides`);
    // tfjs's 'valid' / 'same', or PyTorch's explicit pads (each smaller than the window; max pooling pads with -inf,
    // average pooling leaves them out of the average unless countIncludePad), ceilMode and countIncludePad.
    const { padding, pads } = windowPadding(config.padding ?? 'valid', `${this.name}: padding`,
      this.poolSize.map((k) => k - 1));
    this.padding = padding;
    this.pads = pads;
    this.ceilMode = bool(config.ceilMode, false, `${this.name}: ceilMode`);
    this.countIncludePad = kind === 'avg' && bool(config.countIncludePad, false, `${this.name}: countIncludePad`);
  }
  /** [top, bottom, left, right] for the engine's explicit pooling, or null when tfjs's pooling computes this layer. */
  explicitPads(shape) {
    if (this.padding === 'explicit') return this.pads;
    if (!this.ceilMode && !this.countIncludePad) return null;
    if (this.padding === 'valid') return [0, 0, 0, 0];
    return [...samePads(shape[0], this.poolSize[0], this.strides[0]), ...samePads(shape[1], this.poolSize[1], this.strides[1])];
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const pads = this.explicitPads(shape);
    const out = (axis) => (pads
      ? explicitOut(shape[axis], this.poolSize[axis], this.strides[axis], pads[2 * axis], pads[2 * axis + 1], this.ceilMode)
      : windowOut(shape[axis], this.poolSize[axis], this.strides[axis], 1, this.padding));
    const oh = out(0);
    const ow = out(1);
    if (oh < 1 || ow < 1) {
      throw new CnnError(`${this.name}: poolSize ${this.poolSize.join('x')} is larger than its ` +
        `${shape[0]}x${shape[1]} input with padding ${pads ? `[${pads}]` : "'valid'"}`);
    }
    this.inputSize = [shape[0], shape[1]];
    const outShape = this.checkOutputSize([oh, ow, shape[2]]);
    return this.returnIndices ? [outShape, outShape.slice()] : outShape;
  }
  build(builder, [input]) {
    const pads = this.explicitPads(this.inputSize);
    const id = pads
      ? builder.pool2dExplicit(input, this.kind, { poolSize: this.poolSize, strides: this.strides, pads,
        ceilMode: this.ceilMode, countIncludePad: this.countIncludePad })
      : builder.pool2d(input, this.kind, { poolSize: this.poolSize, strides: this.strides, padding: this.padding });
    return this.returnIndices ? [id, id] : id; // the indices live in the pooling node itself
  }
}

export class MaxPooling2D extends Pooling2D { constructor(config = {}) { super('MaxPooling2D', 'max', config); } }
export class AveragePooling2D extends Pooling2D { constructor(config = {}) { super('AveragePooling2D', 'avg', config); } }

class GlobalPooling2D extends Layer {
  constructor(className, kind, config = {}) {
    super(className, config, ['dataFormat']);
    this.kind = kind;
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    return [shape[2]];
  }
  build(builder, [input]) { return builder.globalPool2d(input, this.kind); }
}

export class GlobalAveragePooling2D extends GlobalPooling2D {
  constructor(config) { super('GlobalAveragePooling2D', 'avg', config); }
}
export class GlobalMaxPooling2D extends GlobalPooling2D {
  constructor(config) { super('GlobalMaxPooling2D', 'max', config); }
}

export class MaxUnpooling2D extends Layer {
  constructor(config = {}) {
    super('MaxUnpooling2D', config, ['poolSize', 'strides']);
    // poolSize/strides are accepted for PyTorch familiarity; the output size and positions come from the indices.
    this.poolSize = pair(config.poolSize ?? 2, `${this.name}: poolSize`);
    this.strides = pair(config.strides ?? this.poolSize, `${this.name}: strides`);
  }
  apply(inputs) {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new CnnError(`${this.name}: apply it to [values, indices], where indices is the second output of ` +
        'maxPooling2d({ returnIndices: true })');
    }
    const [, indices] = inputs;
    const pool = indices?.sourceLayer;
    if (!pool || pool.className !== 'MaxPooling2D' || !pool.returnIndices || indices.outputIndex !== 1) {
      throw new CnnError(`${this.name}: the second input must be the indices output of maxPooling2d({ returnIndices: true })`);
    }
    if (pool.poolSize.some((d, i) => d !== this.poolSize[i]) || pool.strides.some((d, i) => d !== this.strides[i])) {
      throw new CnnError(`${this.name}: poolSize [${this.poolSize}] / strides [${this.strides}] differ from the pooling ` +
        `${pool.name} ([${pool.poolSize}] / [${pool.strides}]) whose indices it reuses`);
    }
    this.pool = pool;
    return super.apply(inputs);
  }
  computeOutputShape([values, indices]) {
    if (values.length !== 3 || values.some((d, i) => d !== indices[i])) {
      throw new CnnError(`${this.name}: values of shape [${values}] must match the indices' shape [${indices}]`);
    }
    const pooledInput = this.pool.inbound[0].sampleShape;
    return [pooledInput[0], pooledInput[1], values[2]];
  }
  build(builder, [values, pool]) { return builder.maxUnpool2d(values, pool); }
}
