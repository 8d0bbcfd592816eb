// tfjs-layers' normalization family: batch normalization over the channel axis (batch statistics while training,
// moving statistics frozen for inference).
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';
import { Layer } from './layer.js';

export class BatchNormalization extends Layer {
  constructor(config = {}) {
    super('BatchNormalization', config, ['axis', 'momentum', 'epsilon', 'center', 'scale', 'betaInitializer',
      'gammaInitializer', 'movingMeanInitializer', 'movingVarianceInitializer']);
    if (config.axis !== undefined && config.axis !== -1 && config.axis !== 3) {
      throw new CnnError(`${this.name}: only the channel axis (-1) is supported, got axis ${config.axis}`);
    }
    this.momentum = config.momentum ?? 0.99;
    this.epsilon = config.epsilon ?? 1e-3;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new CnnError(`${this.name}: momentum must be in [0, 1], got ${show(config.momentum)}`);
    }
    if (typeof this.epsilon !== 'number' || !(this.epsilon > 0)) {
      throw new CnnError(`${this.name}: epsilon must be a positive number, got ${show(config.epsilon)}`);
    }
    this.center = config.center ?? true;
    this.scale = config.scale ?? true;
    const defaults = { betaInitializer: 'zeros', gammaInitializer: 'ones', movingMeanInitializer: 'zeros',
      movingVarianceInitializer: 'ones' };
    for (const [key, value] of Object.entries(defaults)) {
      if (config[key] !== undefined && config[key] !== value) {
        throw new CnnError(`${this.name}: ${key} must be '${value}', got ${show(config[key])}`);
      }
    }
  }
  computeOutputShape([shape]) {
    this.channels = shape[shape.length - 1];
    return shape;
  }
  build(builder, [input]) {
    return builder.batchNorm(input, { momentum: this.momentum, epsilon: this.epsilon, center: this.center,
      scale: this.scale });
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
