// tfjs-layers' convolutional family: conv2d and conv2dTranspose (FCN's learned upsampling, with a bilinear init).
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';
import { LIMITS } from '../engine/abi.js';
import { Layer, INITIALIZERS, PADDINGS, pair, positiveInt, choice, setKernelOptions, windowOut, addActivation,
  windowPadding } from './layer.js';

export class Conv2D extends Layer {
  constructor(config) {
    super('Conv2D', config, ['filters', 'kernelSize', 'strides', 'padding', 'dilationRate', 'activation', 'useBias',
      'kernelInitializer', 'biasInitializer', 'dataFormat']);
    this.filters = positiveInt(config.filters, `${this.name}: filters`);
    this.kernelSize = pair(config.kernelSize, `${this.name}: kernelSize`);
    this.strides = pair(config.strides ?? 1, `${this.name}: strides`);
    this.dilationRate = pair(config.dilationRate ?? 1, `${this.name}: dilationRate`);
    this.padding = choice(config.padding ?? 'valid', PADDINGS, `${this.name}: padding`);
    setKernelOptions(this, config);
    if ((this.dilationRate[0] > 1 || this.dilationRate[1] > 1) && (this.strides[0] > 1 || this.strides[1] > 1)) {
      throw new CnnError(`${this.name}: dilationRate [${this.dilationRate}] needs strides 1, got [${this.strides}]`);
    }
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const [h, w] = shape;
    const oh = windowOut(h, this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const ow = windowOut(w, this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    if (oh < 1 || ow < 1) {
      throw new CnnError(`${this.name}: kernel ${this.kernelSize.join('x')} (dilation ${this.dilationRate.join('x')}) ` +
        `is larger than its ${h}x${w} input with padding 'valid'; use padding 'same' or a smaller kernel`);
    }
    this.inputChannels = shape[2];
    return this.checkOutputSize([oh, ow, this.filters]);
  }
  build(builder, [input]) {
    const id = builder.conv2d(input, { filters: this.filters, kernelSize: this.kernelSize, strides: this.strides,
      dilationRate: this.dilationRate, padding: this.padding, useBias: this.useBias, init: this.kernelInitializer });
    return addActivation(builder, id, this.activation);
  }
  weightSpecs() {
    const specs = [{ name: 'kernel', shape: [...this.kernelSize, this.inputChannels, this.filters] }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.filters] });
    return specs;
  }
  macs() { return this.outputShape[0] * this.outputShape[1] * this.filters * this.kernelSize[0] * this.kernelSize[1] * this.inputChannels; }
}

export class Conv2DTranspose extends Layer {
  constructor(config) {
    super('Conv2DTranspose', config, ['filters', 'kernelSize', 'strides', 'padding', 'activation', 'useBias',
      'kernelInitializer', 'biasInitializer', 'dataFormat', 'dilationRate', 'outputPadding']);
    this.filters = positiveInt(config.filters, `${this.name}: filters`);
    if (config.dilationRate !== undefined && pair(config.dilationRate, `${this.name}: dilationRate`).some((d) => d !== 1)) {
      throw new CnnError(`${this.name}: dilationRate other than 1 is not supported, got ${show(config.dilationRate)}`);
    }
    this.kernelSize = pair(config.kernelSize, `${this.name}: kernelSize`, LIMITS.maxTransposeKernel);
    this.strides = pair(config.strides ?? 1, `${this.name}: strides`, LIMITS.maxTransposeKernel);
    // tfjs's 'valid' / 'same', or PyTorch's explicit crops of the full output (ConvTranspose2d's padding) with
    // outputPadding rows / columns added at the end.
    const max = LIMITS.maxTransposeKernel;
    const { padding, pads } = windowPadding(config.padding ?? 'valid', `${this.name}: padding`, [max, max]);
    this.padding = padding;
    this.crops = pads;
    if (config.outputPadding !== undefined && padding !== 'explicit') {
      throw new CnnError(`${this.name}: outputPadding needs explicit padding (PyTorch's crops, e.g. [[1, 1], [1, 1]]), ` +
        `got padding ${show(config.padding ?? 'valid')}`);
    }
    const op = config.outputPadding ?? 0;
    this.outputPadding = typeof op === 'number' ? [op, op] : op;
    if (!Array.isArray(this.outputPadding) || this.outputPadding.length !== 2 ||
      this.outputPadding.some((v) => !Number.isInteger(v) || v < 0 || v > max)) {
      throw new CnnError(`${this.name}: outputPadding must be an integer from 0 to ${max} or [height, width] of them, ` +
        `got ${show(config.outputPadding)}`);
    }
    setKernelOptions(this, config, [...INITIALIZERS, 'bilinear']);
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const out = (size, k, s, axis) => (this.padding === 'explicit'
      ? (size - 1) * s + k - this.crops[2 * axis] - this.crops[2 * axis + 1] + this.outputPadding[axis]
      : this.padding === 'same' ? size * s : size * s + Math.max(k - s, 0));
    this.inputChannels = shape[2];
    this.inputSize = [shape[0], shape[1]];
    if (this.kernelInitializer === 'bilinear' && this.filters !== this.inputChannels) {
      throw new CnnError(`${this.name}: kernelInitializer 'bilinear' upsamples each channel on its own, so filters ` +
        `(${this.filters}) must equal the input channels (${this.inputChannels})`);
    }
    const oh = out(shape[0], this.kernelSize[0], this.strides[0], 0);
    const ow = out(shape[1], this.kernelSize[1], this.strides[1], 1);
    if (oh < 1 || ow < 1) {
      throw new CnnError(`${this.name}: padding [${this.crops}] crops the ${shape[0]}x${shape[1]} input's full output ` +
        `to ${oh}x${ow}`);
    }
    return this.checkOutputSize([oh, ow, this.filters]);
  }
  build(builder, [input]) {
    const options = { filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, useBias: this.useBias,
      init: this.kernelInitializer };
    const id = this.padding === 'explicit'
      ? builder.conv2dTransposeExplicit(input, { ...options, crops: this.crops, outputPadding: this.outputPadding })
      : builder.conv2dTranspose(input, { ...options, padding: this.padding });
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
