// tfjs-layers' core family: the input, dense, flatten, dropout and activation layers.
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';
import * as graph from './symbolic.js';
import { Layer, ACTIVATIONS, positiveInt, positiveInts, choice, setKernelOptions, addActivation } from './layer.js';

export class InputLayer extends Layer {
  constructor(config) {
    super('InputLayer', config, ['shape']);
    const shape = config.shape ?? this.inputShapeOption;
    if (shape === undefined) throw new CnnError('input: give the shape of one sample, e.g. { shape: [28, 28, 1] }');
    this.shape = positiveInts(shape, 'input: shape');
    if (this.shape.length !== 1 && this.shape.length !== 3) {
      throw new CnnError(`input: shape must be [height, width, channels] or [features], got [${this.shape}]`);
    }
    this.checkOutputSize(this.shape);
  }
  computeOutputShape() { return this.shape; }
  build(builder) { return builder.input(this.shape.length === 3 ? this.shape : [1, 1, this.shape[0]]); }
  getConfig() { return { name: this.name, shape: this.shape }; }
}

export class Dense extends Layer {
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
    const id = builder.dense(input, { units: this.units, useBias: this.useBias, init: this.kernelInitializer });
    return addActivation(builder, id, this.activation);
  }
  weightSpecs() {
    const specs = [{ name: 'kernel', shape: [this.inputUnits, this.units] }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.units] });
    return specs;
  }
  macs() { return this.inputUnits * this.units; }
}

export class Flatten extends Layer {
  constructor(config = {}) { super('Flatten', config, ['dataFormat']); }
  computeOutputShape([shape]) { return this.checkOutputSize([shape.reduce((a, b) => a * b, 1)]); }
  build(builder, [input]) { return builder.flatten(input); }
}

export class Dropout extends Layer {
  constructor(config) {
    super('Dropout', config, ['rate', 'seed', 'noiseShape']);
    if (typeof config.rate !== 'number' || !(config.rate >= 0 && config.rate < 1)) {
      throw new CnnError(`${this.name}: rate must be a number in [0, 1), got ${show(config.rate)}`);
    }
    if (config.noiseShape !== undefined) throw new CnnError(`${this.name}: noiseShape is not supported`);
    this.rate = config.rate;
  }
  build(builder, [input]) { return builder.dropout(input, this.rate); }
}

export class Activation extends Layer {
  constructor(config) {
    super('Activation', config, ['activation']);
    this.activation = choice(config.activation, ACTIVATIONS, `${this.name}: activation`);
  }
  build(builder, [input]) { return builder.activation(input, this.activation); }
}

/** cnn.input({ shape }): the functional API's input. */
export function input(config) {
  return graph.inputTensor(new InputLayer(config ?? {}));
}
