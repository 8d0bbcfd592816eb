// tfjs-layers' advanced activations: ReLU and LeakyReLU as layers of their own.
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';
import { Layer } from './layer.js';

export class ReLU extends Layer {
  constructor(config = {}) {
    super('ReLU', config, ['maxValue']);
    if (config.maxValue !== undefined) throw new CnnError(`${this.name}: maxValue is not supported`);
  }
  build(builder, [input]) { return builder.activation(input, 'relu'); }
}

export class LeakyReLU extends Layer {
  constructor(config = {}) {
    super('LeakyReLU', config, ['alpha']);
    this.alpha = config.alpha ?? 0.3; // tfjs's default
    if (typeof this.alpha !== 'number' || !(this.alpha >= 0) || !Number.isFinite(this.alpha)) {
      throw new CnnError(`${this.name}: alpha must be a finite number >= 0, got ${show(config.alpha)}`);
    }
  }
  build(builder, [input]) { return builder.activation(input, 'leakyRelu', this.alpha); }
}
