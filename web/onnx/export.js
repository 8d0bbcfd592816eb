// toONNX: one of our models -> ONNX ModelProto bytes, in the layout PyTorch users expect.
//
// The graph is NCHW throughout: its input is [N, C, H, W] (or [N, F]) with a dynamic batch axis named 'N', and an
// image output is [N, C, H, W] too. Weights are permuted once: Conv kernels HWIO -> OIHW, transposed-conv kernels
// tfjs [kh, kw, filters, in] -> [in, filters, kh, kw] (PyTorch's), Dense kernels stay [in, units] (Gemm's B). A
// Flatten of an [H, W, C] map (H·W > 1) flattens in a different order in ONNX (C, H, W); when only Dense layers read
// it (through element-wise layers) their kernel rows are reordered, otherwise a Transpose to NHWC precedes the Flatten.
// 'same' paddings become explicit pads with TensorFlow's rule (an odd extra row/column at the end).
import { CnnError } from '../core/errors.js';
import { ModelProto, DATA_TYPE, ATTR } from './schema.js';
import { kernelToOnnx, denseRows } from './layout.js';

export const MIN_OPSET = 13;
export const MAX_OPSET = 17;
const utf8 = new TextEncoder();

/** IR version that goes with an opset (ONNX 1.8 .. 1.12). */
const irVersionFor = (opset) => (opset <= 14 ? 7 : 8);

function attribute(name, value, kind) {
  switch (kind) {
    case ATTR.INT: return { name, type: kind, i: value };
    case ATTR.FLOAT: return { name, type: kind, f: value };
    case ATTR.STRING: return { name, type: kind, s: utf8.encode(value) };
    case ATTR.INTS: return { name, type: kind, ints: value };
    default: throw new Error(`attribute kind ${kind}`);
  }
}

/** A graph under construction. */
class GraphBuilder {
  nodes = [];
  initializers = [];
  inputs = [];
  outputs = [];
  #names = new Set();

  unique(base) {
    let name = base;
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  /** A constant tensor (Float32Array, or BigInt64Array for int64); returns its name. */
  constant(name, dims, data) {
    const n = this.unique(name);
    const dataType = data instanceof BigInt64Array ? DATA_TYPE.INT64 : DATA_TYPE.FLOAT;
    this.initializers.push({ name: n, dims, data_type: dataType,
      raw_data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    return n;
  }

  int64s(name, values) { return this.constant(name, [values.length], BigInt64Array.from(values.map(BigInt))); }

  /** Adds a node; attrs: [[name, value, ATTR kind]]; returns its output names. */
  node(op, name, inputs, outputs, attrs = []) {
    const outs = outputs.map((o) => this.unique(o));
    this.nodes.push({ op_type: op, name: this.unique(name), input: inputs, output: outs,
      attribute: attrs.map(([n, v, k]) => attribute(n, v, k)) });
    return outs;
  }
}

const valueInfo = (name, dims) => ({
  name,
  type: { tensor_type: { elem_type: DATA_TYPE.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
});

const pairOf = (v, dflt) => (v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v.slice());

/** Output size and [begin, end] pads along one axis (TensorFlow's 'same': the odd extra at the end). */
export function windowAxis(size, k, s, d, padding) {
  const eff = (k - 1) * d + 1;
  if (padding !== 'same') return { out: Math.floor((size - eff) / s) + 1, pads: [0, 0] };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + eff - size, 0);
  return { out, pads: [Math.floor(total / 2), total - Math.floor(total / 2)] };
}

/** Explicit pads [top, bottom, left, right] of a layer's padding option (n, [h, w], [[t, b], [l, r]]), or null. */
function explicitPads(p) {
  if (typeof p === 'number') return [p, p, p, p];
  if (!Array.isArray(p)) return null;
  return typeof p[0] === 'number' ? [p[0], p[0], p[1], p[1]] : [p[0][0], p[0][1], p[1][0], p[1][1]];
}

/**
 * A pooling layer's output size and ONNX pads, with its explicit pads and ceilMode (the engine's rule). Ceil mode is
 * written without ceil_mode: ONNX's ceil (opsets 13-17) keeps a last window that starts in the trailing pad, PyTorch
 * and we drop it, so the end pads grow instead until the floor rule gives our size (the overhang acts as padding,
 * which max pooling and an average over the inside part ignore). An average counting its pads then needs its real
 * pads as zeros first: zeroPads [top, bottom, left, right] is set and pads cover only the overhang.
 */
function poolWindow([h, w], k, s, c) {
  const explicit = explicitPads(c.padding);
  if (!explicit && !c.ceilMode) return window2d([h, w], k, s, [1, 1], c.padding ?? 'valid');
  const p = explicit ?? [...windowAxis(h, k[0], s[0], 1, c.padding ?? 'valid').pads,
    ...windowAxis(w, k[1], s[1], 1, c.padding ?? 'valid').pads];
  const out = (size, kk, ss, before, after) => {
    const span = size + before + after - kk;
    let o = (c.ceilMode ? Math.ceil(span / ss) : Math.floor(span / ss)) + 1;
    if (c.ceilMode && (o - 1) * ss >= size + before) o--;
    return o;
  };
  const oh = out(h, k[0], s[0], p[0], p[1]);
  const ow = out(w, k[1], s[1], p[2], p[3]);
  const end = [(oh - 1) * s[0] + k[0] - h - p[0], (ow - 1) * s[1] + k[1] - w - p[2]]; // floor mode gives oh, ow
  const overhang = end[0] > p[1] || end[1] > p[3];
  if (overhang && c.countIncludePad && p.some((v) => v > 0)) {
    const [ph, pw] = [h + p[0] + p[1], w + p[2] + p[3]];
    return { oh, ow, zeroPads: p,
      pads: [0, 0, Math.max((oh - 1) * s[0] + k[0] - ph, 0), Math.max((ow - 1) * s[1] + k[1] - pw, 0)] };
  }
  return { oh, ow, pads: [p[0], p[2], Math.max(end[0], p[1]), Math.max(end[1], p[3])] };
}

function window2d([h, w], kernel, strides, dilations, padding) {
  const ah = windowAxis(h, kernel[0], strides[0], dilations[0], padding);
  const aw = windowAxis(w, kernel[1], strides[1], dilations[1], padding);
  return { oh: ah.out, ow: aw.out, pads: [ah.pads[0], aw.pads[0], ah.pads[1], aw.pads[1]] };
}

const ACTIVATION_OPS = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' };
const ELEMENTWISE = new Set(['Dropout', 'ReLU', 'LeakyReLU', 'Activation']);

/**
 * model.toONNX: the model (built if needed, with its current weights) as ONNX ModelProto bytes.
 * @param {object} model a wasm-cnn Model or Sequential
 * @param {{ opset?: number, name?: string }} [options] opset 13..17 (default 17)
 * @returns {Uint8Array}
 */
export function toONNX(model, { opset = 17, name, ...rest } = {}) {
  for (const key of Object.keys(rest)) throw new CnnError(`toONNX: unknown option '${key}'; known options: opset, name`);
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new CnnError(`toONNX: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${JSON.stringify(opset)}`);
  }
  if (!model || typeof model.getConfig !== 'function' || typeof model.getWeights !== 'function') {
    throw new CnnError('toONNX: expected a wasm-cnn model (cnn.sequential / cnn.model / cnn.loadModel)');
  }
  const weightNames = model.weightNames();
  const tensors = model.getWeights();
  const weights = new Map();
  try {
    weightNames.forEach((n, i) => weights.set(n, { data: tensors[i].dataSync().slice(), shape: tensors[i].shape.slice() }));
  } finally {
    tensors.forEach((t) => t.dispose());
  }
  const graph = translate(model.getConfig(), weights);
  const bytes = ModelProto.encode(ModelProto.fromObject({
    ir_version: irVersionFor(opset),
    producer_name: 'wasm-cnn',
    opset_import: [{ domain: '', version: opset }],
    graph: { name: name ?? model.name ?? 'wasm-cnn', node: graph.nodes, initializer: graph.initializers,
      input: graph.inputs, output: graph.outputs },
  })).finish();
  return bytes;
}

/** Translates getConfig() output with its weights (Map 'layer/weight' -> { data, shape }) to graph parts. */
function translate(config, weights) {
  const g = new GraphBuilder();
  const values = new Map(); // `${layer}\0${index}` -> { name, shape (ours, per sample), flatOf?, indicesOf? }
  const key = (layer, index) => `${layer}\u0000${index}`;
  const readers = new Map(); // layer name -> layers reading it
  for (const l of config.layers) {
    for (const [src] of l.inbound) readers.set(src, [...(readers.get(src) ?? []), l]);
  }
  // Whether every path from `layerName` goes through element-wise layers into Dense layers only.
  const onlyDenseReads = (layerName, seen = new Set()) => {
    if (config.outputs.some(([n]) => n === layerName)) return false;
    return (readers.get(layerName) ?? []).every((l) => {
      if (l.className === 'Dense') return true;
      if (!ELEMENTWISE.has(l.className) || seen.has(l.config.name)) return false;
      if (l.className === 'Activation' && l.config.activation === 'softmax') return false;
      seen.add(l.config.name);
      return onlyDenseReads(l.config.name, seen);
    });
  };
  const weight = (layer, what) => {
    const w = weights.get(`${layer}/${what}`);
    if (!w) throw new CnnError(`toONNX: ${layer}: the model has no weight ${layer}/${what}`);
    return w;
  };
  const nchw = (shape) => (shape.length === 3 ? ['N', shape[2], shape[0], shape[1]] : ['N', ...shape]);
  const activation = (layerName, input, act, shape) => {
    if (!act || act === 'linear') return input;
    const op = ACTIVATION_OPS[act];
    if (!op) throw new CnnError(`toONNX: ${layerName}: activation '${act}' has no ONNX translation`);
    // Softmax over the channels: axis 1 in NCHW and in [N, F] alike.
    const attrs = act === 'softmax' ? [['axis', 1, ATTR.INT]] : [];
    if (act === 'softmax' && shape.length !== 3 && shape.length !== 1) {
      throw new CnnError(`toONNX: ${layerName}: softmax of a rank-${shape.length} tensor`);
    }
    return g.node(op, layerName, [input], [layerName], attrs)[0];
  };
  const biasInput = (c, units) => ((c.useBias ?? true) ? [g.constant(`${c.name}.bias`, [units], weight(c.name, 'bias').data)] : []);

  for (const { className, config: c, inbound } of config.layers) {
    const ins = inbound.map(([layer, index]) => {
      const v = values.get(key(layer, index));
      if (!v) throw new CnnError(`toONNX: layer ${c.name} reads ${layer}[${index}], which was not translated`);
      return v;
    });
    const set = (value, index = 0) => values.set(key(c.name, index), value);
    const x = ins[0];
    const act = c.activation && c.activation !== 'linear';
    if (x?.flatOf && !ELEMENTWISE.has(className) && className !== 'Dense') {
      throw new CnnError(`toONNX: ${c.name} (${className}) reads a reordered flatten`); // onlyDenseReads rules this out
    }
    switch (className) {
      case 'InputLayer': {
        const n = g.unique(c.name);
        g.inputs.push(valueInfo(n, nchw(c.shape)));
        set({ name: n, shape: c.shape.slice() });
        break;
      }
      case 'Conv2D': {
        const [h, w, cin] = x.shape;
        const k = pairOf(c.kernelSize);
        const s = pairOf(c.strides, 1);
        const d = pairOf(c.dilationRate, 1);
        const win = window2d([h, w], k, s, d, c.padding ?? 'valid');
        const kw = weight(c.name, 'kernel');
        const inputs = [x.name, g.constant(`${c.name}.weight`, [c.filters, cin, ...k], kernelToOnnx(kw.data, kw.shape)),
          ...biasInput(c, c.filters)];
        const shape = [win.oh, win.ow, c.filters];
        const out = g.node('Conv', c.name, inputs, [act ? `${c.name}/conv` : c.name], [
          ['kernel_shape', k, ATTR.INTS], ['strides', s, ATTR.INTS], ['dilations', d, ATTR.INTS],
          ['pads', win.pads, ATTR.INTS], ['group', 1, ATTR.INT]])[0];
        set({ name: activation(c.name, out, c.activation, shape), shape });
        break;
      }
      case 'Conv2DTranspose': {
        const [h, w, cin] = x.shape;
        const k = pairOf(c.kernelSize);
        const s = pairOf(c.strides, 1);
        const crops = explicitPads(c.padding);
        const same = (c.padding ?? 'valid') === 'same';
        // Ours (= tfjs): same -> size*s; valid -> size*s + max(k - s, 0). ONNX: s*(size-1) + k - pads + output_padding.
        // 'same' crops like the convolution whose gradient it is: k - s in total, the odd one at the end.
        const op = pairOf(c.outputPadding ?? 0);
        const axis = (size, kk, ss, i) => {
          if (crops) { // PyTorch's crops and output padding, as they are
            const pads = [crops[2 * i], crops[2 * i + 1]];
            return { out: ss * (size - 1) + kk - pads[0] - pads[1] + op[i], pads, outputPadding: op[i] };
          }
          const out = same ? size * ss : size * ss + Math.max(kk - ss, 0);
          const total = same ? Math.max(kk - ss, 0) : 0;
          const begin = Math.floor(total / 2);
          return { out, pads: [begin, total - begin], outputPadding: out - (ss * (size - 1) + kk - total) };
        };
        const ah = axis(h, k[0], s[0], 0);
        const aw = axis(w, k[1], s[1], 1);
        const kw = weight(c.name, 'kernel');
        const inputs = [x.name, g.constant(`${c.name}.weight`, [cin, c.filters, ...k], kernelToOnnx(kw.data, kw.shape)),
          ...biasInput(c, c.filters)];
        const shape = [ah.out, aw.out, c.filters];
        const attrs = [['kernel_shape', k, ATTR.INTS], ['strides', s, ATTR.INTS],
          ['pads', [ah.pads[0], aw.pads[0], ah.pads[1], aw.pads[1]], ATTR.INTS]];
        if (ah.outputPadding || aw.outputPadding) attrs.push(['output_padding', [ah.outputPadding, aw.outputPadding], ATTR.INTS]);
        const out = g.node('ConvTranspose', c.name, inputs, [act ? `${c.name}/conv` : c.name], attrs)[0];
        set({ name: activation(c.name, out, c.activation, shape), shape });
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [h, w, ch] = x.shape;
        const k = pairOf(c.poolSize, 2);
        const s = pairOf(c.strides ?? k);
        const win = poolWindow([h, w], k, s, c);
        const shape = [win.oh, win.ow, ch];
        const attrs = [['kernel_shape', k, ATTR.INTS], ['strides', s, ATTR.INTS], ['pads', win.pads, ATTR.INTS]];
        if (className === 'AveragePooling2D') {
          // TensorFlow averages over the part of the window inside the image; countIncludePad (PyTorch) counts pads.
          let input = x.name;
          if (win.zeroPads) {
            const [top, bottom, left, right] = win.zeroPads;
            const pads = g.int64s(`${c.name}/zero_pads`, [0, 0, top, left, 0, 0, bottom, right]);
            input = g.node('Pad', `${c.name}/pad`, [x.name, pads], [`${c.name}/padded`], [['mode', 'constant', ATTR.STRING]])[0];
          }
          attrs.push(['count_include_pad', c.countIncludePad && !win.zeroPads ? 1 : 0, ATTR.INT]);
          set({ name: g.node('AveragePool', c.name, [input], [c.name], attrs)[0], shape });
        } else if (c.returnIndices) {
          // Second output: int64 positions of the maxima in the flattened NCHW input, which MaxUnpool reads.
          const [y, idx] = g.node('MaxPool', c.name, [x.name], [c.name, `${c.name}/indices`], attrs);
          set({ name: y, shape });
          set({ name: idx, shape, indicesOf: { input: x, kernel: k, strides: s, pads: win.pads } }, 1);
        } else {
          set({ name: g.node('MaxPool', c.name, [x.name], [c.name], attrs)[0], shape });
        }
        break;
      }
      case 'MaxUnpooling2D': {
        const [v, idx] = ins;
        if (!idx?.indicesOf) throw new CnnError(`toONNX: ${c.name}: the second input is not the indices of a max pooling`);
        const { input, kernel, strides, pads } = idx.indicesOf;
        // output_shape (third input) = the pooled input's shape, batch included, read at run time: odd sizes come
        // back exactly and the batch axis stays dynamic.
        const outShape = g.node('Shape', `${c.name}/output_shape`, [input.name], [`${c.name}/output_shape`])[0];
        const shape = [input.shape[0], input.shape[1], v.shape[2]];
        set({ name: g.node('MaxUnpool', c.name, [v.name, idx.name, outShape], [c.name], [
          ['kernel_shape', kernel, ATTR.INTS], ['strides', strides, ATTR.INTS], ['pads', pads, ATTR.INTS]])[0], shape });
        break;
      }
      case 'Dense': {
        if (x.shape.length !== 1) throw new CnnError(`toONNX: ${c.name}: Dense on a [${x.shape}] input`);
        const kw = weight(c.name, 'kernel');
        const data = x.flatOf ? denseRows(kw.data, x.flatOf, c.units, true) : kw.data;
        const inputs = [x.name, g.constant(`${c.name}.weight`, kw.shape, data), ...biasInput(c, c.units)];
        const out = g.node('Gemm', c.name, inputs, [act ? `${c.name}/gemm` : c.name])[0]; // Y = A·B + C
        set({ name: activation(c.name, out, c.activation, [c.units]), shape: [c.units] });
        break;
      }
      case 'Flatten': {
        if (x.shape.length === 1) { set(x); break; }
        const shape = [x.shape.reduce((a, b) => a * b, 1)];
        if (x.shape[0] * x.shape[1] === 1) {
          // A 1x1 map flattens in the same order in both layouts.
          set({ name: g.node('Flatten', c.name, [x.name], [c.name], [['axis', 1, ATTR.INT]])[0], shape });
        } else if (onlyDenseReads(c.name)) {
          set({ name: g.node('Flatten', c.name, [x.name], [c.name], [['axis', 1, ATTR.INT]])[0], shape, flatOf: x.shape.slice() });
        } else {
          const t = g.node('Transpose', `${c.name}/to_nhwc`, [x.name], [`${c.name}/nhwc`], [['perm', [0, 2, 3, 1], ATTR.INTS]])[0];
          set({ name: g.node('Flatten', c.name, [t], [c.name], [['axis', 1, ATTR.INT]])[0], shape });
        }
        break;
      }
      case 'Dropout': // identity at inference
        set(x);
        break;
      case 'Activation':
        set({ ...x, name: activation(c.name, x.name, c.activation, x.shape) });
        break;
      case 'ReLU':
        set({ ...x, name: g.node('Relu', c.name, [x.name], [c.name])[0] });
        break;
      case 'LeakyReLU':
        set({ ...x, name: g.node('LeakyRelu', c.name, [x.name], [c.name], [['alpha', c.alpha ?? 0.3, ATTR.FLOAT]])[0] });
        break;
      case 'BatchNormalization': {
        const ch = x.shape.at(-1);
        const inputs = [
          x.name,
          g.constant(`${c.name}.weight`, [ch], (c.scale ?? true) ? weight(c.name, 'gamma').data : new Float32Array(ch).fill(1)),
          g.constant(`${c.name}.bias`, [ch], (c.center ?? true) ? weight(c.name, 'beta').data : new Float32Array(ch)),
          g.constant(`${c.name}.running_mean`, [ch], weight(c.name, 'moving_mean').data),
          g.constant(`${c.name}.running_var`, [ch], weight(c.name, 'moving_variance').data),
        ];
        // Channels are axis 1 in NCHW and in [N, F] alike. ONNX's momentum has Keras's meaning.
        set({ name: g.node('BatchNormalization', c.name, inputs, [c.name], [['epsilon', c.epsilon ?? 1e-3, ATTR.FLOAT],
          ['momentum', c.momentum ?? 0.99, ATTR.FLOAT]])[0], shape: x.shape });
        break;
      }
      case 'Add':
        set({ name: g.node(ins.length === 2 ? 'Add' : 'Sum', c.name, ins.map((v) => v.name), [c.name])[0], shape: x.shape });
        break;
      case 'Concatenate': {
        const shape = [...x.shape.slice(0, -1), ins.reduce((n, v) => n + v.shape.at(-1), 0)];
        set({ name: g.node('Concat', c.name, ins.map((v) => v.name), [c.name], [['axis', 1, ATTR.INT]])[0], shape });
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const op = className === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
        const pooled = g.node(op, c.name, [x.name], [`${c.name}/pool`])[0]; // [N, C, 1, 1]
        set({ name: g.node('Flatten', `${c.name}/flatten`, [pooled], [c.name], [['axis', 1, ATTR.INT]])[0], shape: [x.shape[2]] });
        break;
      }
      case 'ZeroPadding2D': {
        const p = c.padding ?? 1;
        const [top, bottom, left, right] = typeof p === 'number' ? [p, p, p, p]
          : typeof p[0] === 'number' ? [p[0], p[0], p[1], p[1]] : [p[0][0], p[0][1], p[1][0], p[1][1]];
        // pads: [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over N, C, H, W.
        const pads = g.int64s(`${c.name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
        const shape = [x.shape[0] + top + bottom, x.shape[1] + left + right, x.shape[2]];
        set({ name: g.node('Pad', c.name, [x.name, pads], [c.name], [['mode', 'constant', ATTR.STRING]])[0], shape });
        break;
      }
      case 'UpSampling2D': {
        const size = pairOf(c.size, 2);
        const scales = g.constant(`${c.name}/scales`, [4], Float32Array.from([1, 1, size[0], size[1]]));
        // Ours (and tfjs's): nearest repeats each pixel; bilinear samples input row out / size with no half-pixel
        // offset: ONNX's 'asymmetric' coordinates, and 'floor' for nearest.
        // halfPixelCenters is ONNX's 'half_pixel' (PyTorch's align_corners=False), alignCorners its 'align_corners'.
        const bilinear = c.interpolation === 'bilinear';
        const coord = bilinear && c.halfPixelCenters ? 'half_pixel' : bilinear && c.alignCorners ? 'align_corners' : 'asymmetric';
        const attrs = [['mode', bilinear ? 'linear' : 'nearest', ATTR.STRING],
          ['coordinate_transformation_mode', coord, ATTR.STRING]];
        if (!bilinear) attrs.push(['nearest_mode', 'floor', ATTR.STRING]);
        const shape = [x.shape[0] * size[0], x.shape[1] * size[1], x.shape[2]];
        set({ name: g.node('Resize', c.name, [x.name, '', scales], [c.name], attrs)[0], shape }); // '' = no roi
        break;
      }
      default:
        throw new CnnError(`toONNX: layer ${c.name}: class ${className} has no ONNX translation`);
    }
  }
  if (g.inputs.length !== 1) throw new CnnError(`toONNX: the model has ${g.inputs.length} inputs; one is supported`);
  for (const [layer, index] of config.outputs) {
    const v = values.get(key(layer, index));
    if (!v) throw new CnnError(`toONNX: output ${layer}[${index}] was not translated`);
    // A graph output must be a node's output: a pass-through (dropout at the end) reads its input through Identity.
    const isInput = g.inputs.some((i) => i.name === v.name) || g.outputs.some((o) => o.name === v.name);
    const name = isInput ? g.node('Identity', `${layer}/output`, [v.name], [`${layer}/output`])[0] : v.name;
    g.outputs.push(valueInfo(name, nchw(v.shape)));
  }
  return g;
}
