// Layers for segmentation networks: transposed convolution and upsampling (FCN), and max-unpooling through the
// indices a max pooling recorded (SegNet). maxPooling2d({ returnIndices: true }) lives with the other pooling
// layers in layers.js; its second output is what maxUnpooling2d consumes.
import { CnnError } from './engine.js';
import {
  Layer, layers, registerLayers, INITIALIZERS, PADDINGS, pair, positiveInt, enumOption, setKernelOptions, addActivation,
} from './layers.js';

const BILINEAR_INIT = 6;

class Conv2DTranspose extends Layer {
  constructor(config) {
    super('Conv2DTranspose', config, ['filters', 'kernelSize', 'strides', 'padding', 'activation', 'useBias',
      'kernelInitializer', 'biasInitializer', 'dataFormat', 'dilationRate']);
    this.filters = positiveInt(config.filters, `${this.name}: filters`);
    if (config.dilationRate !== undefined && pair(config.dilationRate, `${this.name}: dilationRate`).some((d) => d !== 1)) {
      throw new CnnError(`${this.name}: dilationRate other than 1 is not supported, got ${JSON.stringify(config.dilationRate)}`);
    }
    this.kernelSize = pair(config.kernelSize, `${this.name}: kernelSize`);
    this.strides = pair(config.strides ?? 1, `${this.name}: strides`);
    this.padding = config.padding ?? 'valid';
    enumOption(this.padding, PADDINGS, `${this.name}: padding`);
    setKernelOptions(this, config, { ...INITIALIZERS, bilinear: BILINEAR_INIT });
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const out = (size, k, s) => (this.padding === 'same' ? size * s : size * s + Math.max(k - s, 0));
    this.inputChannels = shape[2];
    this.inputSize = [shape[0], shape[1]];
    if (this.kernelInitializer === 'bilinear' && this.filters !== this.inputChannels) {
      throw new CnnError(`${this.name}: kernelInitializer 'bilinear' upsamples each channel on its own, so filters ` +
        `(${this.filters}) must equal the input channels (${this.inputChannels})`);
    }
    return [out(shape[0], this.kernelSize[0], this.strides[0]), out(shape[1], this.kernelSize[1], this.strides[1]), this.filters];
  }
  build(builder, [input]) {
    const init = this.kernelInitializer === 'bilinear' ? BILINEAR_INIT : INITIALIZERS[this.kernelInitializer];
    const id = builder.add('cnn_model_add_conv2d_transpose', input, this.filters, this.kernelSize[0], this.kernelSize[1],
      this.strides[0], this.strides[1], PADDINGS[this.padding], this.useBias ? 1 : 0, init);
    return addActivation(builder, id, this.activation);
  }
  weightSpecs() {
    const specs = [{ name: 'kernel', shape: [...this.kernelSize, this.filters, this.inputChannels] }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.filters] });
    return specs;
  }
  macs() {
    return this.inputSize[0] * this.inputSize[1] * this.inputChannels * this.filters * this.kernelSize[0] * this.kernelSize[1];
  }
}

class UpSampling2D extends Layer {
  constructor(config = {}) {
    super('UpSampling2D', config, ['size', 'interpolation', 'dataFormat']);
    this.size = pair(config.size ?? 2, `${this.name}: size`);
    this.interpolation = config.interpolation ?? 'nearest';
    enumOption(this.interpolation, { nearest: 0, bilinear: 1 }, `${this.name}: interpolation`);
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    return [shape[0] * this.size[0], shape[1] * this.size[1], shape[2]];
  }
  build(builder, [input]) {
    return builder.add('cnn_model_add_upsampling2d', input, this.size[0], this.size[1], this.interpolation === 'bilinear' ? 1 : 0);
  }
}

class MaxUnpooling2D extends Layer {
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
  build(builder, [values, pool]) { return builder.add('cnn_model_add_max_unpool2d', values, pool); }
}

registerLayers({ Conv2DTranspose, UpSampling2D, MaxUnpooling2D });

Object.assign(layers, {
  conv2dTranspose: (config) => new Conv2DTranspose(config),
  upSampling2d: (config) => new UpSampling2D(config),
  maxUnpooling2d: (config) => new MaxUnpooling2D(config),
});
