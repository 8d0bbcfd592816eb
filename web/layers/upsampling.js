// tfjs-layers' upsampling: nearest-neighbour or bilinear by integer factors. Bilinear samples as tfjs's
// resizeBilinear: at out / factor by default, or with halfPixelCenters (PyTorch's align_corners=False, ONNX's
// half_pixel) or alignCorners (PyTorch's align_corners=True). Learned upsampling is Conv2DTranspose in convolutional.js.
import { CnnError } from '../core/errors.js';
import { Layer, pair, choice, bool } from './layer.js';

export class UpSampling2D extends Layer {
  constructor(config = {}) {
    super('UpSampling2D', config, ['size', 'interpolation', 'dataFormat', 'alignCorners', 'halfPixelCenters']);
    this.size = pair(config.size ?? 2, `${this.name}: size`);
    this.interpolation = choice(config.interpolation ?? 'nearest', ['nearest', 'bilinear'], `${this.name}: interpolation`);
    this.alignCorners = bool(config.alignCorners, false, `${this.name}: alignCorners`);
    this.halfPixelCenters = bool(config.halfPixelCenters, false, `${this.name}: halfPixelCenters`);
    if ((this.alignCorners || this.halfPixelCenters) && this.interpolation !== 'bilinear') {
      throw new CnnError(`${this.name}: alignCorners and halfPixelCenters need interpolation 'bilinear', got ` +
        `'${this.interpolation}'`);
    }
    if (this.alignCorners && this.halfPixelCenters) {
      throw new CnnError(`${this.name}: alignCorners and halfPixelCenters cannot both be true`);
    }
  }
  /** The engine's sampling mode (abi.js UPSAMPLING). */
  get mode() {
    if (this.interpolation === 'nearest') return 'nearest';
    return this.halfPixelCenters ? 'bilinearHalfPixel' : this.alignCorners ? 'bilinearAlignCorners' : 'bilinear';
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    return this.checkOutputSize([shape[0] * this.size[0], shape[1] * this.size[1], shape[2]]);
  }
  build(builder, [input]) { return builder.upSampling2d(input, this.size, this.mode); }
}
