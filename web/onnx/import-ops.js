// fromONNX's op handlers: each ONNX node becomes wasm-cnn layers (or a constant / a shape computed at import time).
// A handler lists the attributes it understands; any other attribute, and any value it cannot represent exactly,
// is refused with a CnnError naming the node, the op and the attribute: never a silently different model.
//
// Values flowing between nodes (see import.js):
//   { kind: 'sym', t: SymbolicTensor, layout: 'nchw' | 'nhwc' | 'flat', flatOf?: [h, w, c], nonNegative? }
//       an image is our [h, w, c] tensor; 'nchw' means the ONNX tensor is [N, C, H, W], 'nhwc' [N, H, W, C].
//       A 'flat' [N, F] with flatOf came from ONNX's Flatten of an NCHW map: feature order (c, h, w), where our
//       flatten gives (h, w, c); only a Dense reading it (its kernel rows reordered) or element-wise layers may follow.
//   { kind: 'const', dims, dtype: 'float' | 'int', data }       initializers, Constant nodes
//   { kind: 'shape', dims: (number | 'N')[] }                    Shape of a tensor ('N' = the batch), for Reshape
//   { kind: 'indices', t, pool }                                 MaxPool's Indices output, only MaxUnpool reads it
import { windowAxis } from './export.js';
import { kernelFromOnnx, denseRows, transpose2d } from './layout.js';

const ACTIVATION_OF = { Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh' };
const size = (dims) => dims.reduce((a, b) => a * b, 1);

/** ONNX dims of a symbolic value, batch as 'N'. */
export function onnxDims(v) {
  const s = v.t.sampleShape;
  if (v.layout === 'flat') return ['N', s[0]];
  if (v.oneD) return ['N', s[2], s[1]]; // [N, C, L] is our [1, L, C]
  return v.layout === 'nchw' ? ['N', s[2], s[0], s[1]] : ['N', ...s];
}

/** Rank of the ONNX tensor. */
export const rankOf = (v) => (v.layout === 'flat' ? 2 : v.oneD ? 3 : 4);

/**
 * 1-D ops on [N, C, L] run as 2-D ops on [N, C, 1, L]: their spatial attributes and tensors gain a leading 1
 * (pads a leading 0).
 */
export function liftTo2d(name, value) {
  if (!Array.isArray(value)) return value;
  if (['kernel_shape', 'strides', 'dilations', 'output_padding', 'output_shape'].includes(name) && value.length === 1) {
    return name === 'output_padding' ? [0, value[0]] : [1, value[0]];
  }
  if (name === 'pads' && value.length === 2) return [0, value[0], 0, value[1]];
  if (name === 'pads' && value.length === 6) return [value[0], value[1], 0, value[2], value[3], value[4], 0, value[5]];
  return value;
}

/** Pads [h_begin, w_begin, h_end, w_end] from auto_pad / pads for a window op over [h, w]. */
function windowPads(n, [h, w], k, s, d) {
  const autoPad = n.attr('auto_pad', 'NOTSET');
  const pads = n.attr('pads', [0, 0, 0, 0]);
  if (autoPad === 'NOTSET') {
    if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) {
      n.fail(`attribute pads = [${pads}] must be 4 integers >= 0`);
    }
    return pads;
  }
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') n.fail(`attribute auto_pad = '${autoPad}' is not supported`);
  const ah = windowAxis(h, k[0], s[0], d[0], 'same').pads;
  const aw = windowAxis(w, k[1], s[1], d[1], 'same').pads;
  // SAME_UPPER puts the odd extra at the end (TensorFlow's rule), SAME_LOWER at the beginning.
  return autoPad === 'SAME_UPPER' ? [ah[0], aw[0], ah[1], aw[1]] : [ah[1], aw[1], ah[0], aw[0]];
}

const samePads = ([h, w], k, s, d) => {
  const ah = windowAxis(h, k[0], s[0], d[0], 'same').pads;
  const aw = windowAxis(w, k[1], s[1], d[1], 'same').pads;
  return [ah[0], aw[0], ah[1], aw[1]];
};
const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

function pair(n, name, dflt) {
  const v = n.attr(name, dflt);
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 1)) {
    n.fail(`attribute ${name} = ${JSON.stringify(v)} must be 2 positive integers (2-D ops only)`);
  }
  return v;
}

/** An NCHW image input (rank 4). */
function image(n, i = 0) {
  const v = n.sym(i);
  if (v.layout !== 'nchw') {
    n.fail(`input ${i} ('${n.inputs[i]}') must be a 4-D NCHW image, got ${v.layout === 'flat' ? 'a 2-D tensor' : 'an NHWC tensor'}`);
  }
  return v;
}

/** A fused activation, if the node's only reader is Relu / Sigmoid / Tanh (see ctx.fuseActivation). */
const fusedActivation = (ctx, n) => ctx.fuseActivation(n);

/** Pooling output size along one axis, ONNX's rule with ceil_mode. */
function poolOut(size, k, s, begin, end, ceil) {
  const span = size + begin + end - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + begin) out--; // the last window must start inside the image or its left pad
  return out;
}

function poolingCommon(n, x) {
  const [h, w] = x.t.sampleShape;
  const k = n.attr('kernel_shape');
  if (!Array.isArray(k) || k.length !== 2 || k.some((v) => !Number.isInteger(v) || v < 1)) {
    n.fail(`attribute kernel_shape = ${JSON.stringify(k)} must be 2 positive integers`);
  }
  const s = pair(n, 'strides', [1, 1]);
  const d = pair(n, 'dilations', [1, 1]);
  if (d.some((v) => v !== 1)) n.fail(`attribute dilations = [${d}] is not supported (only 1)`);
  const pads = windowPads(n, [h, w], k, s, d);
  const ceil = n.attr('ceil_mode', 0);
  const outFloor = [poolOut(h, k[0], s[0], pads[0], pads[2], false), poolOut(w, k[1], s[1], pads[1], pads[3], false)];
  const out = [poolOut(h, k[0], s[0], pads[0], pads[2], !!ceil), poolOut(w, k[1], s[1], pads[1], pads[3], !!ceil)];
  if (out.some((v) => v < 1)) n.fail(`kernel ${k.join('x')} is larger than the padded ${h}x${w} input`);
  // ceil_mode that changes nothing keeps the tfjs-style layer (as imports before explicit pooling did).
  const ceilMode = !equal(out, outFloor);
  const same = !ceilMode && equal(pads, samePads([h, w], k, s, [1, 1]));
  return { k, s, pads, out, ceilMode, same };
}

/**
 * Options of an explicit pooling layer (PyTorch's pads and ceil mode) for ONNX pads [h_begin, w_begin, h_end, w_end];
 * every pad must be smaller than the window (ONNX's reference, PyTorch and ONNX Runtime agree only then).
 */
function explicitPooling(n, p) {
  if (p.pads.some((v, i) => v >= p.k[i % 2])) {
    n.fail(`attribute pads = [${p.pads}] is not supported: each pad must be smaller than the window ` +
      `(kernel_shape [${p.k}])`);
  }
  return { padding: [[p.pads[0], p.pads[2]], [p.pads[1], p.pads[3]]], ceilMode: p.ceilMode };
}

export const OPS = {
  Identity(ctx, n) { n.allow([]); return [n.input(0)]; },

  Constant(ctx, n) {
    n.allow(['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);
    if (n.has('value')) return [n.attr('value')];
    if (n.has('value_float')) return [{ kind: 'const', dims: [], dtype: 'float', data: Float32Array.of(n.attr('value_float')) }];
    if (n.has('value_floats')) { const v = n.attr('value_floats'); return [{ kind: 'const', dims: [v.length], dtype: 'float', data: Float32Array.from(v) }]; }
    if (n.has('value_int')) return [{ kind: 'const', dims: [], dtype: 'int', data: Float64Array.of(n.attr('value_int')) }];
    if (n.has('value_ints')) { const v = n.attr('value_ints'); return [{ kind: 'const', dims: [v.length], dtype: 'int', data: Float64Array.from(v) }]; }
    return n.fail('has none of the attributes value, value_float(s), value_int(s)');
  },

  Conv(ctx, n) {
    n.allow(['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
    const x = image(n);
    const wt = lift3(x, n.constant(1, 'the weight'));
    const [h, w, cin] = x.t.sampleShape;
    if (wt.dims.length !== 4) n.fail(`weight '${n.inputs[1]}' has dims [${wt.dims}]; a 2-D convolution's are [O, I, kh, kw]`);
    const [filters, wcin, kh, kw] = wt.dims;
    const group = n.attr('group', 1);
    if (group !== 1) n.fail(`attribute group = ${group} is not supported (grouped and depthwise convolutions: only group 1)`);
    if (wcin !== cin) n.fail(`weight '${n.inputs[1]}' expects ${wcin} input channels, the input has ${cin}`);
    const k = n.attr('kernel_shape', [kh, kw]);
    if (!equal(k, [kh, kw])) n.fail(`attribute kernel_shape = [${k}] differs from the weight's [${kh}, ${kw}]`);
    const s = pair(n, 'strides', [1, 1]);
    const d = pair(n, 'dilations', [1, 1]);
    if (d.some((v) => v > 1) && s.some((v) => v > 1)) {
      n.fail(`attributes dilations = [${d}] with strides = [${s}]: a dilated convolution needs strides 1 in wasm-cnn`);
    }
    const pads = windowPads(n, [h, w], k, s, d);
    const bias = n.optionalConstant(2, 'the bias', [filters]);
    let input = x;
    let padding = 'valid';
    if (pads.some((p) => p > 0)) {
      if (equal(pads, samePads([h, w], k, s, d))) padding = 'same';
      else input = ctx.zeroPad(n, x, pads); // asymmetric or PyTorch-style pads: exact as explicit zero padding
    }
    const act = fusedActivation(ctx, n);
    const t = ctx.layer(n, 'conv2d', { filters, kernelSize: k, strides: s, dilationRate: d, padding,
      useBias: !!bias, activation: act ?? 'linear' }, input.t,
    [{ data: kernelFromOnnx(wt.data, wt.dims), shape: [kh, kw, cin, filters] }, ...(bias ? [{ data: bias.data, shape: [filters] }] : [])]);
    return [{ kind: 'sym', t, layout: 'nchw', nonNegative: act === 'relu' || act === 'sigmoid' }];
  },

  ConvTranspose(ctx, n) {
    n.allow(['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'output_shape', 'pads', 'strides']);
    const x = image(n);
    const wt = lift3(x, n.constant(1, 'the weight'));
    const [h, w, cin] = x.t.sampleShape;
    if (wt.dims.length !== 4) n.fail(`weight '${n.inputs[1]}' has dims [${wt.dims}]; ConvTranspose's are [I, O, kh, kw]`);
    const [wcin, filters, kh, kw] = wt.dims;
    const group = n.attr('group', 1);
    if (group !== 1) n.fail(`attribute group = ${group} is not supported (only 1)`);
    if (wcin !== cin) n.fail(`weight '${n.inputs[1]}' expects ${wcin} input channels, the input has ${cin}`);
    const k = n.attr('kernel_shape', [kh, kw]);
    if (!equal(k, [kh, kw])) n.fail(`attribute kernel_shape = [${k}] differs from the weight's [${kh}, ${kw}]`);
    const s = pair(n, 'strides', [1, 1]);
    const d = pair(n, 'dilations', [1, 1]);
    if (d.some((v) => v !== 1)) n.fail(`attribute dilations = [${d}] is not supported (only 1)`);
    const op = n.attr('output_padding', [0, 0]);
    const autoPad = n.attr('auto_pad', 'NOTSET');
    const inSize = [h, w];
    let pads = n.attr('pads', [0, 0, 0, 0]);
    const outShape = n.attr('output_shape', null);
    let target = null;
    if (outShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      target = outShape ? outShape.slice(-2) : inSize.map((v, i) => v * s[i]);
      // A negative total (output_shape past the full output) extends the output at the end: output padding.
      const total = [0, 1].map((i) => Math.max(s[i] * (inSize[i] - 1) + op[i] + k[i] - target[i], 0));
      const lower = autoPad === 'SAME_LOWER' || (outShape && autoPad !== 'SAME_UPPER');
      const half = total.map((t) => Math.floor(t / 2));
      pads = lower ? [total[0] - half[0], total[1] - half[1], half[0], half[1]] : [half[0], half[1], total[0] - half[0], total[1] - half[1]];
    } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
    else if (autoPad !== 'NOTSET') n.fail(`attribute auto_pad = '${autoPad}' is not supported`);
    // ONNX's output is the full transposed convolution (plus output_padding zeros at the end) cropped by pads:
    // [pad_begin, pad_begin + out). Ours: 'valid' = [0, size*s + max(k - s, 0)), 'same' = [floor(max(k - s, 0)/2), +size*s).
    const out = target ?? [0, 1].map((i) => s[i] * (inSize[i] - 1) + k[i] + op[i] - pads[i] - pads[i + 2]);
    const fits = (mode) => [0, 1].every((i) => {
      const excess = Math.max(k[i] - s[i], 0);
      return mode === 'valid' ? pads[i] === 0 && out[i] === inSize[i] * s[i] + excess
        : pads[i] === Math.floor(excess / 2) && out[i] === inSize[i] * s[i];
    });
    let options = { padding: fits('valid') ? 'valid' : fits('same') ? 'same' : null };
    if (!options.padding) {
      // PyTorch's crops: [begin, full - begin - out) of the full output; an output past its end (a negative total
      // padding from output_shape) is output padding.
      if (pads.some((p) => p < 0)) n.fail(`attributes pads = [${pads}] extend the output at the start (negative pads)`);
      if (out.some((v) => v < 1)) n.fail(`attributes pads = [${pads}] leave an output of ${out.join('x')}`);
      const end = [0, 1].map((i) => s[i] * (inSize[i] - 1) + k[i] - pads[i] - out[i]);
      options = { padding: [[pads[0], Math.max(end[0], 0)], [pads[1], Math.max(end[1], 0)]],
        outputPadding: end.map((e) => Math.max(-e, 0)) };
    }
    const bias = n.optionalConstant(2, 'the bias', [filters]);
    const act = fusedActivation(ctx, n);
    const t = ctx.layer(n, 'conv2dTranspose', { filters, kernelSize: k, strides: s, ...options, useBias: !!bias,
      activation: act ?? 'linear' }, x.t,
    [{ data: kernelFromOnnx(wt.data, wt.dims), shape: [kh, kw, filters, cin] }, ...(bias ? [{ data: bias.data, shape: [filters] }] : [])]);
    return [{ kind: 'sym', t, layout: 'nchw', nonNegative: act === 'relu' || act === 'sigmoid' }];
  },

  MaxPool(ctx, n) {
    n.allow(['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides']);
    const x = image(n);
    const p = poolingCommon(n, x);
    const wantsIndices = n.outputs.length > 1 && n.outputs[1] !== '';
    if (wantsIndices && n.attr('storage_order', 0) !== 0) {
      n.fail('attribute storage_order = 1 (column-major indices) is not supported');
    }
    let input = x;
    let options = { padding: 'valid' };
    if (p.ceilMode) options = explicitPooling(n, p);
    else if (p.pads.some((v) => v > 0)) {
      if (p.same) options.padding = 'same';
      else if (x.nonNegative && !wantsIndices) input = ctx.zeroPad(n, x, p.pads); // zeros never beat a value >= 0
      else options = explicitPooling(n, p); // -inf padding: the max of the inside part
    }
    const outs = ctx.layer(n, 'maxPooling2d', { poolSize: p.k, strides: p.s, ...options, returnIndices: wantsIndices }, input.t);
    if (!wantsIndices) return [{ kind: 'sym', t: outs, layout: 'nchw', nonNegative: x.nonNegative }];
    return [{ kind: 'sym', t: outs[0], layout: 'nchw', nonNegative: x.nonNegative },
      { kind: 'indices', t: outs[1], pool: { input: x, kernel: p.k, strides: p.s, pads: p.pads } }];
  },

  MaxUnpool(ctx, n) {
    n.allow(['kernel_shape', 'pads', 'strides']);
    const x = image(n);
    const idx = n.input(1);
    if (idx?.kind !== 'indices') n.fail(`input 1 ('${n.inputs[1]}') must be the Indices output of a MaxPool`);
    const { pool } = idx;
    const k = n.attr('kernel_shape');
    const s = pair(n, 'strides', [1, 1]);
    if (!equal(k ?? [], pool.kernel) || !equal(s, pool.strides)) {
      n.fail(`attributes kernel_shape = [${k}], strides = [${s}] differ from those of the MaxPool whose indices it reads ` +
        `([${pool.kernel}], [${pool.strides}])`);
    }
    const [ph, pw, pc] = pool.input.t.sampleShape;
    const target = n.input(2);
    let hw;
    if (target === undefined) {
      const pads = n.attr('pads', [0, 0, 0, 0]);
      const [ih, iw] = x.t.sampleShape;
      hw = [(ih - 1) * s[0] + k[0] - pads[0] - pads[2], (iw - 1) * s[1] + k[1] - pads[1] - pads[3]];
    } else if (target.kind === 'const' || target.kind === 'shape') {
      let dims = target.kind === 'const' ? Array.from(target.data) : target.dims;
      if (x.oneD && dims.length === 3) dims = [dims[0], dims[1], 1, dims[2]];
      if (dims.length !== 4) n.fail(`input 2 (output_shape) has ${dims.length} values, expected 4 (N, C, H, W)`);
      hw = [dims[2], dims[3]];
    } else n.fail('input 2 (output_shape) must be a constant or the Shape of a tensor');
    if (!equal(hw, [ph, pw]) || x.t.sampleShape[2] !== pc) {
      n.fail(`output ${hw.join('x')} differs from the ${ph}x${pw} input of the MaxPool whose indices it reads; ` +
        'wasm-cnn\'s maxUnpooling2d restores that size');
    }
    return [{ kind: 'sym', t: ctx.layer(n, 'maxUnpooling2d', { poolSize: pool.kernel, strides: pool.strides }, [x.t, idx.t]), layout: 'nchw' }];
  },

  AveragePool(ctx, n) {
    n.allow(['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides']);
    const x = image(n);
    const p = poolingCommon(n, x);
    const include = n.attr('count_include_pad', 0);
    let input = x;
    let options = { padding: 'valid' };
    if (p.ceilMode) options = { ...explicitPooling(n, p), countIncludePad: !!include };
    else if (p.pads.some((v) => v > 0)) {
      if (include) input = ctx.zeroPad(n, x, p.pads); // padded zeros count: exactly zero padding + 'valid'
      else if (p.same) options.padding = 'same';     // TensorFlow's 'same' averages over the inside part
      else options = explicitPooling(n, p);          // the average over the inside part, explicit pads
    }
    return [{ kind: 'sym', t: ctx.layer(n, 'averagePooling2d', { poolSize: p.k, strides: p.s, ...options }, input.t), layout: 'nchw', nonNegative: x.nonNegative }];
  },

  GlobalAveragePool(ctx, n) { return globalPool(ctx, n, 'averagePooling2d'); },
  GlobalMaxPool(ctx, n) { return globalPool(ctx, n, 'maxPooling2d'); },

  BatchNormalization(ctx, n) {
    n.allow(['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test', 'consumed_inputs']);
    const x = n.sym(0);
    if (n.attr('training_mode', 0)) n.fail('attribute training_mode = 1 is not supported (inference form only)');
    if (ctx.opset < 7 && !n.attr('is_test', 0)) n.fail(`attribute is_test = ${n.attr('is_test', 0)} (training mode, opset ${ctx.opset}) is not supported`);
    if (n.attr('spatial', 1) !== 1) n.fail('attribute spatial = 0 is not supported');
    if (n.outputs.slice(1).some((o) => o && ctx.isRead(o))) n.fail('outputs 1.. (running statistics) are not supported');
    if (x.layout !== 'nchw' && !(x.layout === 'flat' && !x.flatOf)) {
      n.fail(`input 0 must be an NCHW image or an [N, C] tensor, got ${x.layout === 'flat' ? 'a reordered flatten' : 'an NHWC image'}`);
    }
    const c = x.t.sampleShape.at(-1);
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => n.constant(i, ['scale', 'B', 'mean', 'var'][i - 1], [c]));
    const epsilon = n.attr('epsilon', 1e-5);
    if (!(epsilon > 0)) n.fail(`attribute epsilon = ${epsilon} must be > 0`);
    const momentum = n.attr('momentum', 0.9);
    const t = ctx.layer(n, 'batchNormalization', { epsilon, momentum }, x.t,
      [scale, bias, mean, variance].map((v) => ({ data: Float32Array.from(v.data), shape: [c] })));
    return [{ kind: 'sym', t, layout: x.layout }];
  },

  Relu: activation, Sigmoid: activation, Tanh: activation,

  LeakyRelu(ctx, n) {
    n.allow(['alpha']);
    const x = n.sym(0);
    const alpha = n.attr('alpha', 0.01);
    if (!(alpha >= 0)) n.fail(`attribute alpha = ${alpha} must be >= 0`);
    return [{ ...x, t: ctx.layer(n, 'leakyReLU', { alpha }, x.t), nonNegative: false }];
  },

  Softmax(ctx, n) {
    n.allow(['axis']);
    const x = n.sym(0);
    const rank = rankOf(x);
    let axis = n.attr('axis', ctx.opset >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    const channel = x.layout === 'nchw' ? 1 : rank - 1;
    const hw = x.layout === 'flat' ? 1 : x.t.sampleShape[0] * x.t.sampleShape[1];
    // Before opset 13 Softmax normalises over all axes from `axis` on; from 13 over `axis` alone.
    const ok = axis === channel && (ctx.opset >= 13 || channel === rank - 1 || hw === 1) || (ctx.opset < 13 && axis === 1 && hw === 1);
    if (!ok) n.fail(`attribute axis = ${n.attr('axis', axis)} (opset ${ctx.opset}) is not supported: wasm-cnn's softmax normalises over the channels`);
    return [{ ...x, t: ctx.layer(n, 'activation', { activation: 'softmax' }, x.t), nonNegative: true }];
  },

  Gemm(ctx, n) {
    n.allow(['alpha', 'beta', 'transA', 'transB', 'broadcast']);
    const x = flatInput(n);
    if (n.attr('transA', 0)) n.fail('attribute transA = 1 is not supported (the data input must be [N, K])');
    const b = n.constant(1, 'B');
    if (b.dims.length !== 2) n.fail(`B has dims [${b.dims}], expected 2-D`);
    const transB = n.attr('transB', 0);
    const [kIn, units] = transB ? [b.dims[1], b.dims[0]] : b.dims;
    const features = x.t.sampleShape[0];
    if (kIn !== features) n.fail(`B has ${kIn} input features, the input has ${features}`);
    const alpha = n.attr('alpha', 1);
    const beta = n.attr('beta', 1);
    let kernel = transB ? transpose2d(b.data, units, kIn) : Float32Array.from(b.data);
    if (alpha !== 1) kernel = kernel.map((v) => v * alpha);
    let bias = null;
    const c = n.input(2);
    if (c !== undefined) {
      if (c.kind !== 'const') n.fail('input C must be a constant');
      const cs = size(c.dims);
      if (!(cs === units && c.dims.filter((d) => d !== 1).length <= 1 && (c.dims.length < 2 || c.dims[0] === 1)) && cs !== 1) {
        n.fail(`input C has dims [${c.dims}]; expected [${units}], [1, ${units}] or a scalar`);
      }
      bias = Float32Array.from({ length: units }, (_, i) => beta * c.data[cs === 1 ? 0 : i]);
    }
    return [dense(ctx, n, x, kernel, units, bias)];
  },

  MatMul(ctx, n) {
    n.allow([]);
    const x = flatInput(n);
    const b = n.constant(1, 'B');
    if (b.dims.length !== 2 || b.dims[0] !== x.t.sampleShape[0]) {
      n.fail(`B has dims [${b.dims}]; expected [${x.t.sampleShape[0]}, units] (only [N, K] x [K, units] products are supported)`);
    }
    const units = b.dims[1];
    const add = ctx.fuseBias(n, units); // MatMul + Add(bias) = one Dense
    return [dense(ctx, n, x, Float32Array.from(b.data), units, add)];
  },

  Flatten(ctx, n) {
    n.allow(['axis']);
    const x = n.sym(0);
    const rank = rankOf(x);
    let axis = n.attr('axis', 1);
    if (axis < 0) axis += rank;
    if (axis !== 1) n.fail(`attribute axis = ${n.attr('axis')} is not supported (only 1: keep the batch axis)`);
    return [flatten(ctx, n, x)];
  },

  Reshape(ctx, n) {
    n.allow(['allowzero']);
    const x = n.sym(0);
    const target = n.input(1);
    let dims;
    if (target?.kind === 'const' && target.dtype === 'int') dims = Array.from(target.data);
    else if (target?.kind === 'shape') dims = target.dims.slice();
    else n.fail(`input 1 ('${n.inputs[1]}', the shape) must be a constant or computed from Shape`);
    const inDims = onnxDims(x);
    if (n.attr('allowzero', 0) && dims.includes(0)) n.fail('attribute allowzero = 1 with a 0 in the shape is not supported');
    dims = dims.map((d, i) => (d === 0 ? inDims[i] : d));
    const features = size(inDims.slice(1));
    const batchOk = (d) => d === 'N' || d === -1 || (ctx.fixedBatch !== null && d === ctx.fixedBatch);
    const ok = dims.length === 2 && ((batchOk(dims[0]) && (dims[1] === features || dims[1] === -1)) ||
      (dims[0] === -1 && dims[1] === features));
    if (!ok) {
      n.fail(`shape [${dims}] of an input of shape [${inDims}] is not supported: only reshapes to [N, ${features}] ` +
        '(a flatten that keeps the batch axis)');
    }
    return [flatten(ctx, n, x)];
  },

  Transpose(ctx, n) {
    n.allow(['perm']);
    const x = n.sym(0);
    const rank = rankOf(x);
    const perm = n.attr('perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
    if (rank === 2 && equal(perm, [0, 1])) return [x];
    if (x.oneD) return equal(perm, [0, 1, 2]) ? [x] : n.fail(`attribute perm = [${perm}] on an [N, C, L] tensor is not supported`);
    if (x.layout === 'nchw' && equal(perm, [0, 2, 3, 1])) return [{ ...x, layout: 'nhwc' }];
    if (x.layout === 'nhwc' && equal(perm, [0, 3, 1, 2])) return [{ ...x, layout: 'nchw' }];
    return n.fail(`attribute perm = [${perm}] on a ${x.layout.toUpperCase()} tensor is not supported (only NCHW <-> NHWC)`);
  },

  Concat(ctx, n) {
    n.allow(['axis']);
    const vals = n.inputs.map((_, i) => n.input(i));
    if (vals.every((v) => v?.kind === 'shape' || (v?.kind === 'const' && v.dtype === 'int' && v.dims.length <= 1))) {
      return [{ kind: 'shape', dims: vals.flatMap((v) => (v.kind === 'shape' ? v.dims : Array.from(v.data))) }];
    }
    const xs = vals.map((v, i) => n.sym(i));
    const layout = xs[0].layout;
    const rank = rankOf(xs[0]);
    let axis = n.attr('axis', ctx.opset < 4 ? 1 : undefined);
    if (axis === undefined) n.fail('attribute axis is missing');
    if (axis < 0) axis += rank;
    const channel = layout === 'nchw' ? 1 : rank - 1;
    if (xs.some((v) => v.layout !== layout || v.flatOf)) n.fail('all inputs must have the same layout (and no reordered flatten)');
    if (axis !== channel) n.fail(`attribute axis = ${n.attr('axis')} is not supported: only the channel axis (${channel})`);
    if (xs.length === 1) return [xs[0]];
    return [{ kind: 'sym', t: ctx.layer(n, 'concatenate', {}, xs.map((v) => v.t)), layout, nonNegative: xs.every((v) => v.nonNegative) }];
  },

  Add(ctx, n) { return sum(ctx, n); },
  Sum(ctx, n) { return sum(ctx, n); },

  Dropout(ctx, n) {
    n.allow(['ratio', 'seed', 'is_test']);
    if (n.outputs.length > 1 && n.outputs[1] && ctx.isRead(n.outputs[1])) n.fail('output 1 (mask) is not supported');
    if (ctx.opset < 7 && !n.attr('is_test', 0)) n.fail(`attribute is_test = ${n.attr('is_test', 0)} (training mode, opset ${ctx.opset}) is not supported`);
    const training = n.input(2);
    if (training !== undefined && (training.kind !== 'const' || training.data[0])) {
      n.fail('input 2 (training_mode) must be absent or a constant false');
    }
    const ratioInput = n.input(1);
    if (ratioInput !== undefined && ratioInput.kind !== 'const') n.fail('input 1 (ratio) must be a constant');
    const rate = ratioInput?.data[0] ?? n.attr('ratio', 0.5);
    if (!(rate >= 0 && rate < 1)) n.fail(`ratio ${rate} must be in [0, 1)`);
    // Identity at inference; kept as a dropout layer so that fine-tuning drops out as the original training did.
    const x = n.sym(0);
    return [{ ...x, t: ctx.layer(n, 'dropout', { rate }, x.t) }];
  },

  Pad(ctx, n) {
    n.allow(['mode', 'pads', 'value', 'paddings']);
    const x = image(n);
    const mode = n.attr('mode', 'constant');
    if (mode !== 'constant') n.fail(`attribute mode = '${mode}' is not supported (only 'constant')`);
    let pads;
    let value = n.attr('value', 0);
    if (ctx.opset >= 11) {
      const p = n.constant(1, 'pads');
      pads = liftTo2d(x.oneD ? 'pads' : '', Array.from(p.data));
      const cv = n.input(2);
      if (cv !== undefined) {
        if (cv.kind !== 'const') n.fail('input 2 (constant_value) must be a constant');
        value = cv.data[0] ?? 0;
      }
      if (n.input(3) !== undefined) n.fail('input 3 (axes) is not supported');
    } else pads = n.attr('pads', n.attr('paddings', null));
    if (value !== 0) n.fail(`constant value ${value} is not supported (only 0: zero padding)`);
    if (!pads || pads.length !== 8) n.fail(`pads [${pads}] must have 8 values for a 4-D input`);
    const [nb, cb, top, left, ne, ce, bottom, right] = pads;
    if (nb || cb || ne || ce) n.fail(`pads [${pads}] pad the batch or channel axis; only height and width are supported`);
    if ([top, left, bottom, right].some((p) => p < 0)) n.fail(`pads [${pads}] crop (negative pads are not supported)`);
    if (!top && !left && !bottom && !right) return [x];
    return [ctx.zeroPad(n, x, [top, left, bottom, right])];
  },

  Resize(ctx, n) {
    n.allow(['coordinate_transformation_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'mode',
      'nearest_mode', 'antialias', 'keep_aspect_ratio_policy']);
    const x = image(n);
    if (n.attr('exclude_outside', 0)) n.fail('attribute exclude_outside = 1 is not supported');
    if (n.attr('antialias', 0)) n.fail('attribute antialias = 1 is not supported');
    const c = (i) => (n.input(i)?.kind === 'const' ? lift3(x, n.input(i)) : n.input(i));
    const factors = ctx.opset < 11 ? resizeFactors(n, x, c(1), undefined) : resizeFactors(n, x, c(2), c(3));
    const mode = n.attr('mode', 'nearest');
    const coord = n.attr('coordinate_transformation_mode', ctx.opset < 11 ? 'asymmetric' : 'half_pixel');
    const nearestMode = n.attr('nearest_mode', ctx.opset < 11 ? 'floor' : 'round_prefer_floor');
    return [upsample(ctx, n, x, factors, mode, coord, nearestMode)];
  },

  Upsample(ctx, n) {
    n.allow(['mode', 'scales', 'height_scale', 'width_scale']);
    const x = image(n);
    const scales = n.has('scales') ? { kind: 'const', dims: [4], dtype: 'float', data: Float32Array.from(n.attr('scales')) } : n.input(1);
    return [upsample(ctx, n, x, resizeFactors(n, x, scales, undefined), n.attr('mode', 'nearest'), 'asymmetric', 'floor')];
  },

  // Shape arithmetic, evaluated at import time (PyTorch's x.view(x.size(0), -1) exports this way).
  Shape(ctx, n) {
    n.allow(['start', 'end']);
    const v = n.input(0);
    const dims = v?.kind === 'sym' ? onnxDims(v) : v?.kind === 'const' ? v.dims : n.fail('input 0 has no known shape');
    const r = dims.length;
    const clamp = (i) => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
    return [{ kind: 'shape', dims: dims.slice(clamp(n.attr('start', 0)), clamp(n.attr('end', r))) }];
  },
  Gather(ctx, n) {
    n.allow(['axis']);
    const v = n.input(0);
    const idx = n.constant(1, 'indices');
    if (v?.kind !== 'shape' && !(v?.kind === 'const' && v.dims.length === 1)) n.fail('only gathers from a shape or a 1-D constant are supported');
    if (n.attr('axis', 0) !== 0 || idx.dims.length > 1) n.fail('only a scalar or 1-D gather on axis 0 is supported');
    const src = v.kind === 'shape' ? v.dims : Array.from(v.data);
    const picked = Array.from(idx.data, (i) => {
      const j = i < 0 ? i + src.length : i;
      if (!(j >= 0 && j < src.length)) n.fail(`index ${i} is out of range for ${src.length} values`);
      return src[j];
    });
    return [{ kind: 'shape', dims: picked, scalar: idx.dims.length === 0 }];
  },
  Unsqueeze(ctx, n) {
    n.allow(['axes']);
    const v = n.input(0);
    if (v?.kind !== 'shape' || !v.scalar) n.fail('only unsqueezing a scalar taken from a shape is supported');
    const axes = n.has('axes') ? n.attr('axes') : n.input(1)?.kind === 'const' ? Array.from(n.input(1).data) : null;
    if (!axes || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) n.fail(`axes [${axes}] must be [0]`);
    return [{ kind: 'shape', dims: v.dims }];
  },
  Cast(ctx, n) {
    n.allow(['to', 'saturate']);
    const v = n.input(0);
    if (v?.kind === 'shape') return [v];
    if (v?.kind === 'const') return [v];
    return n.fail('only casts of constants and shapes are supported');
  },
};

/** A 3-D constant (a 1-D op's weight, scales, sizes or shape) as 4-D: a 1 before the last axis. */
function lift3(x, c) {
  if (!x.oneD) return c;
  if (c.dims.length === 3) return { ...c, dims: [c.dims[0], c.dims[1], 1, c.dims[2]] };
  if (c.dims.length === 1 && c.data.length === 3) {
    const d = c.data;
    return { ...c, dims: [4], data: c.data.constructor.of(d[0], d[1], 1, d[2]) };
  }
  return c;
}

function activation(ctx, n) {
  n.allow([]);
  const x = n.sym(0);
  const act = ACTIVATION_OF[n.op];
  return [{ ...x, t: ctx.layer(n, 'activation', { activation: act }, x.t), nonNegative: act !== 'tanh' }];
}

function globalPool(ctx, n, factory) {
  n.allow([]);
  const x = image(n);
  const [h, w] = x.t.sampleShape;
  // A pooling over the whole map keeps the [N, C, 1, 1] image that ONNX produces (a Conv may read it).
  return [{ kind: 'sym', t: ctx.layer(n, factory, { poolSize: [h, w], strides: [h, w] }, x.t), layout: 'nchw', nonNegative: x.nonNegative }];
}

function flatInput(n) {
  const x = n.sym(0);
  if (x.layout !== 'flat') n.fail(`input 0 must be a 2-D [N, K] tensor, got a 4-D image (add a Flatten)`);
  return x;
}

function dense(ctx, n, x, kernel, units, bias) {
  const rows = x.flatOf ? denseRows(kernel, x.flatOf, units, false) : kernel;
  const act = fusedActivation(ctx, n);
  const t = ctx.layer(n, 'dense', { units, useBias: !!bias, activation: act ?? 'linear' }, x.t,
    [{ data: rows, shape: [x.t.sampleShape[0], units] }, ...(bias ? [{ data: bias, shape: [units] }] : [])]);
  return { kind: 'sym', t, layout: 'flat', nonNegative: act === 'relu' || act === 'sigmoid' };
}

function flatten(ctx, n, x) {
  if (x.layout === 'flat') return x;
  const [h, w] = x.t.sampleShape;
  const t = ctx.layer(n, 'flatten', {}, x.t);
  // NHWC flattens in our order; NCHW in (c, h, w) order, the same as ours only for a 1x1 map.
  const flatOf = x.layout === 'nchw' && h * w > 1 ? x.t.sampleShape.slice() : undefined;
  return { kind: 'sym', t, layout: 'flat', flatOf, nonNegative: x.nonNegative };
}

function sum(ctx, n) {
  n.allow([]);
  const vals = n.inputs.map((_, i) => n.input(i));
  const syms = vals.filter((v) => v?.kind === 'sym');
  const consts = vals.filter((v) => v?.kind === 'const');
  if (consts.some((c) => c.data.some((v) => v !== 0))) {
    n.fail('adding a non-zero constant is not supported (only MatMul + Add as a dense bias)');
  }
  if (syms.length + consts.length !== vals.length || syms.length === 0) n.fail('inputs must be tensors computed by the graph');
  const [first] = syms;
  for (const v of syms) {
    if (v.layout !== first.layout || !equal(v.t.sampleShape, first.t.sampleShape) || !equal(v.flatOf ?? [], first.flatOf ?? [])) {
      n.fail(`inputs must have the same shape and layout (no broadcasting): [${onnxDims(first)}] vs [${onnxDims(v)}]`);
    }
  }
  if (syms.length === 1) return [first];
  return [{ ...first, t: ctx.layer(n, 'add', {}, syms.map((v) => v.t)), nonNegative: syms.every((v) => v.nonNegative) }];
}

/** Integer [fh, fw] from Resize's scales (or sizes) over an NCHW image. */
function resizeFactors(n, x, scales, sizes) {
  const [h, w, c] = x.t.sampleShape;
  let f;
  if (scales?.kind === 'const' && scales.data.length > 0) {
    if (scales.data.length !== 4) n.fail(`scales [${Array.from(scales.data)}] must have 4 values`);
    const [sn, sc, sh, sw] = scales.data;
    if (sn !== 1 || sc !== 1) n.fail(`scales [${Array.from(scales.data)}] resize the batch or channel axis`);
    f = [sh, sw];
  } else if (sizes?.kind === 'const') {
    if (sizes.data.length !== 4) n.fail(`sizes [${Array.from(sizes.data)}] must have 4 values`);
    if (sizes.data[1] !== c) n.fail(`sizes [${Array.from(sizes.data)}] change the channel count`);
    f = [sizes.data[2] / h, sizes.data[3] / w];
  } else n.fail('needs constant scales or sizes');
  if (f.some((v) => !Number.isInteger(v) || v < 1)) n.fail(`scale factors [${f}] must be integers >= 1 (upsampling only)`);
  return f;
}

/** ONNX's source coordinate of output index i along an axis (Resize's coordinate_transformation_mode). */
function sourceCoordinate(n, mode, i, scale, inSize) {
  const outSize = inSize * scale;
  switch (mode) {
    case 'half_pixel': return (i + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return outSize > 1 ? (i + 0.5) / scale - 0.5 : 0;
    case 'align_corners': return outSize === 1 ? 0 : (i * (inSize - 1)) / (outSize - 1);
    case 'asymmetric': return i / scale;
    case 'tf_half_pixel_for_nn': return (i + 0.5) / scale;
    default: return n.fail(`attribute coordinate_transformation_mode = '${mode}' is not supported`);
  }
}

function nearestIndex(n, mode, x) {
  switch (mode) {
    case 'round_prefer_floor': return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil': return x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x);
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    default: return n.fail(`attribute nearest_mode = '${mode}' is not supported`);
  }
}

/** Our bilinear source coordinate of output i (factor f, input size n) for each upSampling2d sampling. */
const OUR_LINEAR = {
  asymmetric: (i, f, n) => Math.min(i / f, n - 1),
  halfPixelCenters: (i, f, n) => Math.min(Math.max((i + 0.5) / f - 0.5, 0), n - 1),
  alignCorners: (i, f, n) => (n * f > 1 ? (i * (n - 1)) / (n * f - 1) : 0),
};

/**
 * upSampling2d when ONNX's sampling positions are exactly ours (checked index by index at this input size):
 * nearest repeats each pixel (source floor(i / f)); bilinear samples at i / f, at half-pixel centres or with aligned
 * corners, clamped at the border (whichever matches ONNX's coordinate_transformation_mode here).
 */
function upsample(ctx, n, x, factors, mode, coord, nearestMode) {
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear') n.fail(`attribute mode = '${mode}' is not supported (nearest, linear)`);
  const linear = mode !== 'nearest';
  const [h, w] = x.t.sampleShape;
  const axes = [[h, factors[0]], [w, factors[1]]];
  const matches = (ours) => axes.every(([inSize, f]) => {
    for (let i = 0; i < inSize * f; i++) {
      const src = sourceCoordinate(n, coord, i, f, inSize);
      const ok = linear
        ? Math.abs(Math.min(Math.max(src, 0), inSize - 1) - ours(i, f, inSize)) < 1e-6
        : Math.min(Math.max(nearestIndex(n, nearestMode, src), 0), inSize - 1) === Math.floor(i / f);
      if (!ok) return false;
    }
    return true;
  });
  const sampling = linear ? Object.keys(OUR_LINEAR).find((k) => matches(OUR_LINEAR[k])) : matches(null) && 'nearest';
  if (!sampling) {
    n.fail(`attributes mode = '${mode}', coordinate_transformation_mode = '${coord}'` +
      `${linear ? '' : `, nearest_mode = '${nearestMode}'`} sample other positions than wasm-cnn's upSampling2d ` +
      `(${linear ? "bilinear: 'asymmetric', 'half_pixel' or 'align_corners'" : 'pixel repetition'}) at this size`);
  }
  if (factors[0] === 1 && factors[1] === 1) return x;
  const options = linear ? { interpolation: 'bilinear', ...(sampling === 'asymmetric' ? {} : { [sampling]: true }) }
    : { interpolation: 'nearest' };
  const t = ctx.layer(n, 'upSampling2d', { size: factors, ...options }, x.t);
  return { kind: 'sym', t, layout: 'nchw', nonNegative: x.nonNegative };
}
