// Building the C graph: one method per cnn_model_add_* function, with JS names and values. Layers describe what
// they need here; only this file knows the adders' argument order and the enum encodings (through abi.js).
import { CnnError } from '../core/errors.js';
import { engine, check, checkId } from './loader.js';
import { PADDING, ACTIVATION, INIT, POOL, STATUS, UPSAMPLING } from './abi.js';

const flag = (b) => (b ? 1 : 0);

export class GraphBuilder {
  /** @param {number} handle the C model; the builder records the node ids it creates, for the current layer. */
  constructor(handle) {
    this.handle = handle;
    this.e = engine();
    this.nodes = [];
    this.currentLayer = null;
  }

  #add(fn, ...args) {
    const id = checkId(this.e[fn](this.handle, ...args), this.currentLayer?.name);
    this.nodes.push(id);
    return id;
  }

  #addList(fn, inputs) {
    const ptr = this.e.malloc(4 * inputs.length);
    if (!ptr) throw new CnnError(`${this.currentLayer?.name}: the engine is out of memory`, STATUS.OUT_OF_MEMORY);
    try {
      new Int32Array(this.e.memory.buffer, ptr, inputs.length).set(inputs);
      return this.#add(fn, ptr, inputs.length);
    } finally {
      this.e.free(ptr);
    }
  }

  input([h, w, c]) { return this.#add('cnn_model_add_input', h, w, c); }

  conv2d(input, { filters, kernelSize: [kh, kw], strides: [sh, sw], dilationRate: [dh, dw], padding, useBias, init }) {
    return this.#add('cnn_model_add_conv2d', input, filters, kh, kw, sh, sw, dh, dw, PADDING.get(padding),
      flag(useBias), INIT.get(init));
  }

  conv2dTranspose(input, { filters, kernelSize: [kh, kw], strides: [sh, sw], padding, useBias, init }) {
    return this.#add('cnn_model_add_conv2d_transpose', input, filters, kh, kw, sh, sw, PADDING.get(padding),
      flag(useBias), INIT.get(init));
  }

  /** Explicit crops [top, bottom, left, right] and outputPadding [h, w] (PyTorch's ConvTranspose2d). */
  conv2dTransposeExplicit(input, { filters, kernelSize: [kh, kw], strides: [sh, sw], crops: [top, bottom, left, right],
    outputPadding: [oph, opw], useBias, init }) {
    return this.#add('cnn_model_add_conv2d_transpose_explicit', input, filters, kh, kw, sh, sw, top, bottom, left, right,
      oph, opw, flag(useBias), INIT.get(init));
  }

  dense(input, { units, useBias, init }) {
    return this.#add('cnn_model_add_dense', input, units, flag(useBias), INIT.get(init));
  }

  /** kind: 'max' | 'avg' */
  pool2d(input, kind, { poolSize: [ph, pw], strides: [sh, sw], padding }) {
    return this.#add('cnn_model_add_pool2d', input, POOL[kind], ph, pw, sh, sw, PADDING.get(padding));
  }

  /** Explicit pads [top, bottom, left, right], ceil mode and (average) count_include_pad: PyTorch's pooling. */
  pool2dExplicit(input, kind, { poolSize: [ph, pw], strides: [sh, sw], pads: [top, bottom, left, right], ceilMode,
    countIncludePad }) {
    return this.#add('cnn_model_add_pool2d_explicit', input, POOL[kind], ph, pw, sh, sw, top, bottom, left, right,
      flag(ceilMode), flag(countIncludePad));
  }

  globalPool2d(input, kind) { return this.#add('cnn_model_add_global_pool2d', input, POOL[kind]); }
  maxUnpool2d(values, pool) { return this.#add('cnn_model_add_max_unpool2d', values, pool); }
  flatten(input) { return this.#add('cnn_model_add_flatten', input); }
  dropout(input, rate) { return this.#add('cnn_model_add_dropout', input, rate); }

  /** activation: a name of abi.js's ACTIVATION; alpha is leakyRelu's negative slope. */
  activation(input, activation, alpha = 0) {
    return this.#add('cnn_model_add_activation', input, ACTIVATION.get(activation), alpha);
  }

  batchNorm(input, { momentum, epsilon, center, scale }) {
    return this.#add('cnn_model_add_batchnorm', input, momentum, epsilon, flag(center), flag(scale));
  }

  add(inputs) { return this.#addList('cnn_model_add_add', inputs); }
  concat(inputs) { return this.#addList('cnn_model_add_concat', inputs); }
  zeroPadding2d(input, [top, bottom, left, right]) {
    return this.#add('cnn_model_add_zero_padding2d', input, top, bottom, left, right);
  }
  /** mode: a name of abi.js's UPSAMPLING ('nearest', 'bilinear', 'bilinearHalfPixel', 'bilinearAlignCorners'). */
  upSampling2d(input, [fh, fw], mode) { return this.#add('cnn_model_add_upsampling2d', input, fh, fw, UPSAMPLING.get(mode)); }

  setOutput(node) { check(this.e.cnn_model_set_output(this.handle, node)); }
  paramCount() { return this.e.cnn_model_param_count(this.handle); }
}
