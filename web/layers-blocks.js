// The layers that make deep networks trainable and the blocks of the classic architectures: batch normalization,
// residual add, channel concatenation (Inception), global pooling, ReLU / LeakyReLU layers and zero padding.
import { CnnError } from './engine.js';
import { Layer, layers, registerLayers, ACTIVATIONS } from './layers.js';

const LEAKY_RELU = 5;

class BatchNormalization extends Layer {
  constructor(config = {}) {
    super('BatchNormalization', config, ['axis', 'momentum', 'epsilon', 'center', 'scale', 'betaInitializer',
      'gammaInitializer', 'movingMeanInitializer', 'movingVarianceInitializer']);
    if (config.axis !== undefined && config.axis !== -1 && config.axis !== 3) {
      throw new CnnError(`${this.name}: only the channel axis (-1) is supported, got axis ${config.axis}`);
    }
    this.momentum = config.momentum ?? 0.99;
    this.epsilon = config.epsilon ?? 1e-3;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new CnnError(`${this.name}: momentum must be in [0, 1], got ${JSON.stringify(config.momentum)}`);
    }
    if (typeof this.epsilon !== 'number' || !(this.epsilon > 0)) {
      throw new CnnError(`${this.name}: epsilon must be a positive number, got ${JSON.stringify(config.epsilon)}`);
    }
    this.center = config.center ?? true;
    this.scale = config.scale ?? true;
    const defaults = { betaInitializer: 'zeros', gammaInitializer: 'ones', movingMeanInitializer: 'zeros',
      movingVarianceInitializer: 'ones' };
    for (const [key, value] of Object.entries(defaults)) {
      if (config[key] !== undefined && config[key] !== value) {
        throw new CnnError(`${this.name}: ${key} must be '${value}', got ${JSON.stringify(config[key])}`);
      }
    }
  }
  computeOutputShape([shape]) {
    this.channels = shape[shape.length - 1];
    return shape;
  }
  build(builder, [input]) {
    return builder.add('cnn_model_add_batchnorm', input, this.momentum, this.epsilon, this.center ? 1 : 0,
      this.scale ? 1 : 0);
  }
  weightSpecs() {
    const c = [this.channels];
    const specs = [];
    if (this.scale) specs.push({ name: 'gamma', shape: c });
    if (this.center) specs.push({ name: 'beta', shape: c });
    specs.push({ name: 'moving_mean', shape: c, trainable: false }, { name: 'moving_variance', shape: c, trainable: false });
    return specs;
  }
}

/** Shared by add and concatenate: an array of 2+ inputs. */
class Merge extends Layer {
  checkInputs(shapes) {
    if (shapes.length < 2) {
      throw new CnnError(`${this.name}: needs at least 2 inputs (apply it to an array), got ${shapes.length}`);
    }
  }
  build(builder, inputs) {
    const e = builder.e;
    const ptr = e.malloc(4 * inputs.length);
    try {
      new Int32Array(e.memory.buffer, ptr, inputs.length).set(inputs);
      return builder.add(this.engineFunction, ptr, inputs.length);
    } finally {
      e.free(ptr);
    }
  }
}

class Add extends Merge {
  constructor(config = {}) { super('Add', config); this.engineFunction = 'cnn_model_add_add'; }
  computeOutputShape(shapes) {
    this.checkInputs(shapes);
    shapes.forEach((s, i) => {
      if (s.length !== shapes[0].length || s.some((d, k) => d !== shapes[0][k])) {
        throw new CnnError(`${this.name}: all inputs must have the same shape; input 0 is [${shapes[0]}], input ${i} is [${s}]`);
      }
    });
    return shapes[0];
  }
}

class Concatenate extends Merge {
  constructor(config = {}) {
    super('Concatenate', config, ['axis']);
    if (config.axis !== undefined && config.axis !== -1 && config.axis !== 3) {
      throw new CnnError(`${this.name}: only the channel axis (-1) is supported, got axis ${config.axis}`);
    }
    this.engineFunction = 'cnn_model_add_concat';
  }
  computeOutputShape(shapes) {
    this.checkInputs(shapes);
    const [first] = shapes;
    shapes.forEach((s, i) => {
      if (s.length !== first.length || s.slice(0, -1).some((d, k) => d !== first[k])) {
        throw new CnnError(`${this.name}: inputs must agree on all but the channel axis; input 0 is [${first}], ` +
          `input ${i} is [${s}]`);
      }
    });
    return [...first.slice(0, -1), shapes.reduce((n, s) => n + s[s.length - 1], 0)];
  }
}

class GlobalPooling2D extends Layer {
  constructor(className, kind, config = {}) {
    super(className, config, ['dataFormat']);
    this.kind = kind;
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    return [shape[2]];
  }
  build(builder, [input]) { return builder.add('cnn_model_add_global_pool2d', input, this.kind); }
}

class ReLU extends Layer {
  constructor(config = {}) {
    super('ReLU', config, ['maxValue']);
    if (config.maxValue !== undefined) throw new CnnError(`${this.name}: maxValue is not supported`);
  }
  build(builder, [input]) { return builder.add('cnn_model_add_activation', input, ACTIVATIONS.relu, 0); }
}

class LeakyReLU extends Layer {
  constructor(config = {}) {
    super('LeakyReLU', config, ['alpha']);
    this.alpha = config.alpha ?? 0.3; // tfjs's default
    if (typeof this.alpha !== 'number' || !(this.alpha >= 0) || !Number.isFinite(this.alpha)) {
      throw new CnnError(`${this.name}: alpha must be a finite number >= 0, got ${JSON.stringify(config.alpha)}`);
    }
  }
  build(builder, [input]) { return builder.add('cnn_model_add_activation', input, LEAKY_RELU, this.alpha); }
}

class ZeroPadding2D extends Layer {
  constructor(config = {}) {
    super('ZeroPadding2D', config, ['padding', 'dataFormat']);
    const p = config.padding ?? 1;
    const bad = () => new CnnError(`${this.name}: padding must be n, [h, w] or [[top, bottom], [left, right]] of ` +
      `integers >= 0, got ${JSON.stringify(config.padding)}`);
    const isCount = (v) => Number.isInteger(v) && v >= 0;
    if (isCount(p)) this.pads = [p, p, p, p];
    else if (Array.isArray(p) && p.length === 2 && p.every(isCount)) this.pads = [p[0], p[0], p[1], p[1]];
    else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every(isCount))) {
      this.pads = [p[0][0], p[0][1], p[1][0], p[1][1]];
    } else throw bad();
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const [top, bottom, left, right] = this.pads;
    return [shape[0] + top + bottom, shape[1] + left + right, shape[2]];
  }
  build(builder, [input]) { return builder.add('cnn_model_add_zero_padding2d', input, ...this.pads); }
}

class GlobalAveragePooling2D extends GlobalPooling2D {
  constructor(config) { super('GlobalAveragePooling2D', 1, config); }
}
class GlobalMaxPooling2D extends GlobalPooling2D {
  constructor(config) { super('GlobalMaxPooling2D', 0, config); }
}

registerLayers({ BatchNormalization, Add, Concatenate, GlobalAveragePooling2D, GlobalMaxPooling2D, ReLU, LeakyReLU,
  ZeroPadding2D });

Object.assign(layers, {
  batchNormalization: (config) => new BatchNormalization(config),
  add: (config) => new Add(config),
  concatenate: (config) => new Concatenate(config),
  globalAveragePooling2d: (config) => new GlobalAveragePooling2D(config),
  globalMaxPooling2d: (config) => new GlobalMaxPooling2D(config),
  reLU: (config) => new ReLU(config),
  leakyReLU: (config) => new LeakyReLU(config),
  zeroPadding2d: (config) => new ZeroPadding2D(config),
});

