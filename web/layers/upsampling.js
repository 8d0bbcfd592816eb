// tfjs-layers' upsampling: nearest-neighbour or bilinear (tfjs's resizeBilinear, align_corners false) by integer
// factors. Learned upsampling is Conv2DTranspose in convolutional.js.
import { Layer, pair, choice } from './layer.js';

export class UpSampling2D extends Layer {
  constructor(config = {}) {
    super('UpSampling2D', config, ['size', 'interpolation', 'dataFormat']);
    this.size = pair(config.size ?? 2, `${this.name}: size`);
    this.interpolation = choice(config.interpolation ?? 'nearest', ['nearest', 'bilinear'], `${this.name}: interpolation`);
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    return this.checkOutputSize([shape[0] * this.size[0], shape[1] * this.size[1], shape[2]]);
  }
  build(builder, [input]) {
    return builder.upSampling2d(input, this.size, this.interpolation === 'bilinear');
  }
}
