// tfjs-layers' pooling family: max / average pooling (max optionally returning the argmax indices, PyTorch's
// return_indices), global pooling, and SegNet's max-unpooling through those indices.
import { CnnError } from '../core/errors.js';
import { Layer, PADDINGS, pair, choice, windowOut } from './layer.js';

class Pooling2D extends Layer {
  constructor(className, kind, config) {
    super(className, config, ['poolSize', 'strides', 'padding', 'dataFormat', ...(kind === 'max' ? ['returnIndices'] : [])]);
    this.kind = kind;
    // SegNet: a second output holding the argmax positions, for maxUnpooling2d (PyTorch's return_indices).
    this.returnIndices = !!config.returnIndices;
    this.multipleOutputs = this.returnIndices;
    this.poolSize = pair(config.poolSize ?? 2, `${this.name}: poolSize`);
    this.strides = pair(config.strides ?? this.poolSize, `${this.name}: strides`);
    this.padding = choice(config.padding ?? 'valid', PADDINGS, `${this.name}: padding`);
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
    const id = builder.pool2d(input, this.kind, { poolSize: this.poolSize, strides: this.strides, padding: this.padding });
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
