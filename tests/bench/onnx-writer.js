// Writes one of our models as an ONNX model (a protobuf-encoded onnx.ModelProto) for ONNX Runtime Web, so that
// tests/bench/bench.js can time ORT on the same network with the same weights, and tests/js/onnx-writer.test.js can
// check that it computes the same thing.
//
//   const { bytes, input, outputs } = modelToOnnx(model, { batch: 1 });
//   const session = await ort.InferenceSession.create(bytes);
//   const x = new ort.Tensor('float32', nhwcToNchw(data, [1, h, w, c]), input.shape);   // input.shape: NCHW
//   const y = (await session.run({ [input.name]: x }))[outputs[0].name];                  // NCHW (or [N, F])
//
// Layout. ONNX's Conv / pooling / BatchNormalization / Resize are NCHW, ours are NHWC. The graph written here is
// NCHW throughout: its input is [N, C, H, W] and a 4-D output is [N, C, H, W] too (nhwcToNchw / nchwToNhwc convert
// the data, outside any timed region); no Transpose node is added. The weights are permuted once when the file is
// written: Conv kernels HWIO [kh, kw, in, out] -> OIHW [out, in, kh, kw]; ConvTranspose kernels (tfjs layout
// [kh, kw, filters, in]) -> [in, filters, kh, kw]; a Dense that reads a flatten of an [H, W, C] map gets its kernel
// rows reordered from ours (h, w, c) to ONNX's flatten order (c, h, w), so Flatten stays a plain Flatten.
//
// Only what our getConfig() can describe is translated (the layer classes of tests/bench/tfjs-models.js, plus
// MaxPooling2D with returnIndices and MaxUnpooling2D, which ONNX has as MaxPool's second output and MaxUnpool).
// 'same' paddings are written as explicit pads with TensorFlow's rule (the extra row/column at the end).
//
// The protobuf encoding is written by hand for the few messages needed. Field numbers are those of onnx/onnx.proto
// (public spec), quoted next to each field below. IR version 8 with opset 17 of the default domain.

export const OPSET = 17;
export const IR_VERSION = 8;

// ---------------------------------------------------------------------------------------------------------------------
// Protobuf wire format: a message is a sequence of (key, value) where key = field_number << 3 | wire_type.
// Wire types used: 0 varint (int32, int64, enum), 2 length-delimited (string, bytes, sub-message), 5 fixed32 (float).
// Repeated scalars are written unpacked (one key per value): onnx.proto is proto2, where that is the default, and
// every parser accepts it.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing byte list; finish() returns them as one Uint8Array. */
class ProtoWriter {
  #chunks = [];
  #length = 0;

  #push(bytes) { this.#chunks.push(bytes); this.#length += bytes.length; }

  /** Base-128 varint, least significant group first. Negative int64 values take 10 bytes (two's complement). */
  #varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    const out = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.#push(Uint8Array.from(out));
  }

  #key(field, wire) { this.#varint((field << 3) | wire); }

  /** int32 / int64 / enum field. */
  int(field, value) {
    if (!Number.isInteger(value) && typeof value !== 'bigint') throw new Error(`onnx-writer: field ${field}: ${value} is not an integer`);
    this.#key(field, WIRE_VARINT);
    this.#varint(value);
    return this;
  }

  /** float field (fixed32, little-endian IEEE 754). */
  float(field, value) {
    this.#key(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  /** bytes field. */
  bytes(field, data) {
    this.#key(field, WIRE_LEN);
    this.#varint(data.length);
    this.#push(data);
    return this;
  }

  string(field, text) { return this.bytes(field, utf8.encode(text)); }

  /** Embedded message field: `w` is a ProtoWriter holding the message's own fields. */
  message(field, w) { return this.bytes(field, w.finish()); }

  /** The fields written so far, as one Uint8Array. */
  finish() {
    const out = new Uint8Array(this.#length);
    let off = 0;
    for (const c of this.#chunks) { out.set(c, off); off += c.length; }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// ONNX messages (onnx.proto field numbers in the comments)

/** TensorProto.DataType values used here. */
export const DATA_TYPE = { FLOAT: 1, INT64: 7 };

/** AttributeProto.AttributeType values used here. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 };

/**
 * TensorProto with its data in raw_data (little-endian, row-major). data: Float32Array (FLOAT) or BigInt64Array
 * (INT64).
 */
function tensorProto(name, dims, data) {
  const type = data instanceof Float32Array ? DATA_TYPE.FLOAT : data instanceof BigInt64Array ? DATA_TYPE.INT64 : null;
  if (type === null) throw new Error(`onnx-writer: tensor ${name}: data must be a Float32Array or a BigInt64Array`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`onnx-writer: tensor ${name}: ${data.length} values for dims [${dims}]`);
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);                  // repeated int64 dims = 1
  w.int(2, type);                                     // int32 data_type = 2
  w.string(8, name);                                  // string name = 8
  // raw_data = 9. Typed arrays are little-endian on every platform Node and browsers run on (wasm is too).
  w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w;
}

/** AttributeProto: value is a number (INT if `int`, else FLOAT), a string, or an array of integers (INTS). */
function attributeProto(name, value, int) {
  const w = new ProtoWriter().string(1, name);        // string name = 1
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);               // repeated int64 ints = 8
    w.int(20, ATTR.INTS);                             // AttributeType type = 20
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, ATTR.STRING);          // bytes s = 4
  } else if (int) {
    w.int(3, value).int(20, ATTR.INT);                // int64 i = 3
  } else {
    w.float(2, value).int(20, ATTR.FLOAT);            // float f = 2
  }
  return w;
}

/** NodeProto. attrs: { name: value }; integer-valued attributes are listed in `ints` (else a number is a FLOAT). */
function nodeProto({ op, name, inputs, outputs, attrs = {}, ints = [] }) {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(1, i);             // repeated string input = 1 ('' = optional input left out)
  for (const o of outputs) w.string(2, o);            // repeated string output = 2
  w.string(3, name);                                  // string name = 3
  w.string(4, op);                                    // string op_type = 4
  for (const [k, v] of Object.entries(attrs)) {
    w.message(5, attributeProto(k, v, ints.includes(k) || Array.isArray(v))); // repeated AttributeProto attribute = 5
  }
  return w;
}

/** ValueInfoProto of a tensor with a fixed shape. */
function valueInfoProto(name, elemType, dims) {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, new ProtoWriter().int(1, d)); // TensorShapeProto: repeated Dimension dim = 1;
  //                                                                      Dimension: int64 dim_value = 1
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape); // TypeProto.Tensor: elem_type = 1, shape = 2
  const type = new ProtoWriter().message(1, tensorType);                  // TypeProto: Tensor tensor_type = 1
  return new ProtoWriter().string(1, name).message(2, type);              // ValueInfoProto: name = 1, type = 2
}

/**
 * A graph under construction: nodes, initializers, inputs and outputs; encode() returns the ModelProto bytes.
 */
export class OnnxGraph {
  nodes = [];
  initializers = [];
  inputs = [];
  outputs = [];
  #names = new Set();

  constructor(name) { this.name = name; }

  /** A fresh value name, `base` if unused. */
  unique(base) {
    let name = base;
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  input(name, dims) { this.inputs.push({ name: this.unique(name), type: DATA_TYPE.FLOAT, dims }); return this.inputs.at(-1).name; }
  output(name, dims, type = DATA_TYPE.FLOAT) { this.outputs.push({ name, type, dims }); }

  /** A constant (weights, shapes); returns its name. */
  constant(name, dims, data) { const n = this.unique(name); this.initializers.push({ name: n, dims, data }); return n; }

  /** A node; `outputs` are base names (made unique); returns the output names. */
  node(op, name, inputs, outputs, attrs, ints) {
    const outs = outputs.map((o) => this.unique(o));
    this.nodes.push({ op, name: this.unique(`${name}#node`), inputs, outputs: outs, attrs, ints });
    return outs;
  }

  /** ModelProto bytes. */
  encode({ producer = 'wasm-cnn tests/bench/onnx-writer.js' } = {}) {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.message(1, nodeProto(n));                          // repeated NodeProto node = 1
    g.string(2, this.name);                                                          // string name = 2
    for (const t of this.initializers) g.message(5, tensorProto(t.name, t.dims, t.data)); // repeated TensorProto initializer = 5
    for (const v of this.inputs) g.message(11, valueInfoProto(v.name, v.type, v.dims));  // repeated ValueInfoProto input = 11
    for (const v of this.outputs) g.message(12, valueInfoProto(v.name, v.type, v.dims)); // repeated ValueInfoProto output = 12
    const m = new ProtoWriter();
    m.int(1, IR_VERSION);                                                            // int64 ir_version = 1
    m.string(2, producer);                                                           // string producer_name = 2
    m.message(7, g);                                                                 // GraphProto graph = 7
    m.message(8, new ProtoWriter().string(1, '').int(2, OPSET));                     // repeated OperatorSetIdProto opset_import = 8
    //                                                                                  (domain = 1, '' = ai.onnx; version = 2)
    return m.finish();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Layouts

/** NHWC data of shape [n, h, w, c] -> NCHW (a new Float32Array). */
export function nhwcToNchw(data, [n, h, w, c]) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((b * h + y) * w + x) * c;
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[src + k];
      }
    }
  }
  return out;
}

/** NCHW data of shape [n, c, h, w] -> NHWC (a new Float32Array). */
export function nchwToNhwc(data, [n, c, h, w]) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      for (let y = 0; y < h; y++) {
        const src = ((b * c + k) * h + y) * w;
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + k] = data[src + x];
      }
    }
  }
  return out;
}

/**
 * Kernel [kh, kw, a, b] -> [b, a, kh, kw]: a Conv kernel HWIO -> OIHW, and a transposed-conv kernel [kh, kw, co, ci]
 * (tfjs) -> ONNX ConvTranspose's [ci, co, kh, kw]: the same permutation.
 */
function kernelToOnnx(k, [kh, kw, a, b]) {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < a; i++) {
        for (let o = 0; o < b; o++) out[((o * a + i) * kh + y) * kw + x] = k[((y * kw + x) * a + i) * b + o];
      }
    }
  }
  return out;
}

/** Dense kernel [h*w*c, units] with rows in (h, w, c) order -> rows in (c, h, w) order (ONNX's Flatten of NCHW). */
function denseRowsToChw(k, [h, w, c], units) {
  const out = new Float32Array(k.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const src = ((y * w + x) * c + ch) * units;
        out.set(k.subarray(src, src + units), ((ch * h + y) * w + x) * units);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Our model -> ONNX graph

const pairOf = (v, dflt) => (v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v.slice());

/**
 * Output size and pads [begin, end] along one axis of a window op (TensorFlow's rule: 'same' puts the odd extra
 * padding at the end).
 */
function windowAxis(size, k, s, d, padding) {
  const eff = (k - 1) * d + 1;
  if (padding === 'valid') return { out: Math.floor((size - eff) / s) + 1, pads: [0, 0] };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + eff - size, 0);
  return { out, pads: [Math.floor(total / 2), total - Math.floor(total / 2)] };
}

/** Window attributes (pads in ONNX order [h_begin, w_begin, h_end, w_end]) and the NHWC output shape. */
function window2d([h, w], kernel, strides, dilations, padding) {
  const ah = windowAxis(h, kernel[0], strides[0], dilations[0], padding);
  const aw = windowAxis(w, kernel[1], strides[1], dilations[1], padding);
  return { oh: ah.out, ow: aw.out, pads: [ah.pads[0], aw.pads[0], ah.pads[1], aw.pads[1]] };
}

const ACTIVATION_OPS = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' };

/**
 * Translates `model` (one of ours, built) to ONNX. Options: batch (fixed batch dimension of the input, default 1),
 * name. Returns { bytes, input: { name, shape }, outputs: [{ name, shape }] } with NCHW shapes for images ([N, F]
 * for vectors); the ONNX input name is our input layer's, an output's is the layer that computed it (a dropout, linear
 * activation or flatten of a vector at the end passes its input's name through). Throws on a layer it cannot translate.
 */
export function modelToOnnx(model, { batch = 1, name = 'wasm-cnn' } = {}) {
  const config = model.getConfig();
  const names = model.weightNames();
  const ws = model.getWeights();
  const weights = new Map();
  try {
    names.forEach((n, i) => weights.set(n, { data: ws[i].dataSync().slice(), shape: ws[i].shape.slice() }));
  } finally {
    ws.forEach((w) => w.dispose());
  }
  return configToOnnx(config, weights, { batch, name });
}

/**
 * Translates a getConfig() description with its weights (Map 'layer/kernel' -> { data: Float32Array, shape }).
 * See modelToOnnx.
 */
export function configToOnnx(config, weights, { batch = 1, name = 'wasm-cnn' } = {}) {
  const g = new OnnxGraph(name);
  // Our value (layer name, output index) -> { name: ONNX value name, shape: our per-sample shape (NHWC or [F]),
  // flatOf: the [h, w, c] a Flatten came from, while only order-preserving layers lie between it and here }.
  const values = new Map();
  const key = (layer, index) => `${layer}\u0000${index}`;
  const weight = (layer, what, required = true) => {
    const w = weights.get(`${layer}/${what}`);
    if (!w && required) throw new Error(`onnx-writer: ${layer}: no weight ${layer}/${what}`);
    return w;
  };
  const nchw = (shape) => (shape.length === 3 ? [batch, shape[2], shape[0], shape[1]] : [batch, ...shape]);
  const activation = (layerName, input, act, shape) => {
    if (!act || act === 'linear') return input;
    const op = ACTIVATION_OPS[act];
    if (!op) throw new Error(`onnx-writer: ${layerName}: activation '${act}' has no translation`);
    // Softmax over the channels: axis 1 in NCHW (and in [N, F]).
    const attrs = act === 'softmax' ? { axis: 1 } : {};
    if (act === 'softmax' && shape.length !== 3 && shape.length !== 1) throw new Error(`onnx-writer: ${layerName}: softmax of rank ${shape.length}`);
    return g.node(op, layerName, [input], [layerName], attrs, ['axis'])[0];
  };

  for (const { className, config: c, inbound } of config.layers) {
    const ins = inbound.map(([layer, index]) => {
      const v = values.get(key(layer, index));
      if (!v) throw new Error(`onnx-writer: layer ${c.name} reads ${layer}[${index}], not translated yet`);
      return v;
    });
    const set = (value, index = 0) => values.set(key(c.name, index), value);
    const x = ins[0];
    if (x?.flatOf && !['Dense', 'Dropout', 'Activation', 'ReLU', 'LeakyReLU'].includes(className)) {
      throw new Error(`onnx-writer: ${c.name} (${className}) reads a flatten of an image: only Dense (through ` +
        'element-wise layers) is supported there');
    }
    switch (className) {
      case 'InputLayer': {
        set({ name: g.input(c.name, nchw(c.shape)), shape: c.shape.slice() });
        break;
      }
      case 'Conv2D': {
        const [h, w, cin] = x.shape;
        const k = pairOf(c.kernelSize);
        const s = pairOf(c.strides, 1);
        const d = pairOf(c.dilationRate, 1);
        const win = window2d([h, w], k, s, d, c.padding ?? 'valid');
        const kw = weight(c.name, 'kernel');
        const kernel = g.constant(`${c.name}/kernel`, [c.filters, cin, ...k], kernelToOnnx(kw.data, kw.shape));
        const inputs = [x.name, kernel];
        if (c.useBias ?? true) inputs.push(g.constant(`${c.name}/bias`, [c.filters], weight(c.name, 'bias').data));
        const shape = [win.oh, win.ow, c.filters];
        let out = g.node('Conv', c.name, inputs, [c.activation && c.activation !== 'linear' ? `${c.name}/conv` : c.name], {
          kernel_shape: k, strides: s, dilations: d, pads: win.pads, group: 1,
        }, ['group'])[0];
        out = activation(c.name, out, c.activation, shape);
        set({ name: out, shape });
        break;
      }
      case 'Conv2DTranspose': {
        const [h, w, cin] = x.shape;
        const k = pairOf(c.kernelSize);
        const s = pairOf(c.strides, 1);
        const same = (c.padding ?? 'valid') === 'same';
        // Our output size (= tfjs's): same -> size*s; valid -> size*s + max(k - s, 0). ONNX: s*(size-1) + k -
        // pad_begin - pad_end + output_padding. 'same' pads like the conv2d whose gradient this is: total k - s.
        const axis = (size, kk, ss) => {
          const out = same ? size * ss : size * ss + Math.max(kk - ss, 0);
          const total = same ? Math.max(kk - ss, 0) : 0;
          const begin = Math.floor(total / 2);
          const outputPadding = out - (ss * (size - 1) + kk - total);
          return { out, pads: [begin, total - begin], outputPadding };
        };
        const ah = axis(h, k[0], s[0]);
        const aw = axis(w, k[1], s[1]);
        const kw = weight(c.name, 'kernel');
        const kernel = g.constant(`${c.name}/kernel`, [cin, c.filters, ...k], kernelToOnnx(kw.data, kw.shape));
        const inputs = [x.name, kernel];
        if (c.useBias ?? true) inputs.push(g.constant(`${c.name}/bias`, [c.filters], weight(c.name, 'bias').data));
        const shape = [ah.out, aw.out, c.filters];
        const attrs = { kernel_shape: k, strides: s, pads: [ah.pads[0], aw.pads[0], ah.pads[1], aw.pads[1]] };
        if (ah.outputPadding || aw.outputPadding) attrs.output_padding = [ah.outputPadding, aw.outputPadding];
        let out = g.node('ConvTranspose', c.name, inputs, [c.activation && c.activation !== 'linear' ? `${c.name}/conv` : c.name], attrs)[0];
        out = activation(c.name, out, c.activation, shape);
        set({ name: out, shape });
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [h, w, ch] = x.shape;
        const k = pairOf(c.poolSize, 2);
        const s = pairOf(c.strides ?? k);
        const win = window2d([h, w], k, s, [1, 1], c.padding ?? 'valid');
        const shape = [win.oh, win.ow, ch];
        const attrs = { kernel_shape: k, strides: s, pads: win.pads };
        if (className === 'AveragePooling2D') {
          attrs.count_include_pad = 0; // TensorFlow averages over the window's part inside the image
          set({ name: g.node('AveragePool', c.name, [x.name], [c.name], attrs, ['count_include_pad'])[0], shape });
        } else if (c.returnIndices) {
          // Second output: int64 positions of the maxima, flattened over the NCHW input (what MaxUnpool reads).
          const [y, idx] = g.node('MaxPool', c.name, [x.name], [c.name, `${c.name}/indices`], attrs);
          set({ name: y, shape });
          set({ name: idx, shape, indicesOf: { input: x.shape, kernel: k, strides: s, pads: win.pads } }, 1);
        } else {
          set({ name: g.node('MaxPool', c.name, [x.name], [c.name], attrs)[0], shape });
        }
        break;
      }
      case 'MaxUnpooling2D': {
        const [v, idx] = ins;
        if (!idx?.indicesOf) throw new Error(`onnx-writer: ${c.name}: second input is not the indices of a max pooling`);
        const { input: [h, w], kernel, strides, pads } = idx.indicesOf;
        const shape = [h, w, v.shape[2]];
        // output_shape (third input) gives the exact size of the pooled map (odd sizes do not round-trip otherwise).
        const outShape = g.constant(`${c.name}/output_shape`, [4], BigInt64Array.from(nchw(shape).map(BigInt)));
        set({ name: g.node('MaxUnpool', c.name, [v.name, idx.name, outShape], [c.name], { kernel_shape: kernel, strides, pads })[0], shape });
        break;
      }
      case 'Dense': {
        if (x.shape.length !== 1) throw new Error(`onnx-writer: ${c.name}: Dense on a [${x.shape}] input`);
        const kw = weight(c.name, 'kernel');
        const data = x.flatOf ? denseRowsToChw(kw.data, x.flatOf, c.units) : kw.data;
        const inputs = [x.name, g.constant(`${c.name}/kernel`, kw.shape, data)];
        if (c.useBias ?? true) inputs.push(g.constant(`${c.name}/bias`, [c.units], weight(c.name, 'bias').data));
        const act = c.activation && c.activation !== 'linear';
        let out = g.node('Gemm', c.name, inputs, [act ? `${c.name}/gemm` : c.name])[0]; // Y = A·B + C
        out = activation(c.name, out, c.activation, [c.units]);
        set({ name: out, shape: [c.units] });
        break;
      }
      case 'Flatten': {
        if (x.shape.length === 1) { set(x); break; }
        const shape = [x.shape.reduce((a, b) => a * b, 1)];
        const out = g.node('Flatten', c.name, [x.name], [c.name], { axis: 1 }, ['axis'])[0];
        // A 1x1 map flattens in the same order in both layouts; otherwise the next Dense reorders its kernel rows.
        set({ name: out, shape, flatOf: x.shape[0] * x.shape[1] > 1 ? x.shape.slice() : null });
        break;
      }
      case 'Dropout': // identity at inference
        set(x);
        break;
      case 'Activation':
        set({ ...x, name: activation(c.name, x.name, c.activation, x.shape) });
        break;
      case 'ReLU':
        if (c.maxValue !== undefined) throw new Error(`onnx-writer: ${c.name}: maxValue`);
        set({ ...x, name: g.node('Relu', c.name, [x.name], [c.name])[0] });
        break;
      case 'LeakyReLU':
        set({ ...x, name: g.node('LeakyRelu', c.name, [x.name], [c.name], { alpha: c.alpha ?? 0.3 })[0] });
        break;
      case 'BatchNormalization': {
        const ch = x.shape.at(-1);
        const ones = () => new Float32Array(ch).fill(1);
        const inputs = [
          x.name,
          g.constant(`${c.name}/gamma`, [ch], (c.scale ?? true) ? weight(c.name, 'gamma').data : ones()),
          g.constant(`${c.name}/beta`, [ch], (c.center ?? true) ? weight(c.name, 'beta').data : new Float32Array(ch)),
          g.constant(`${c.name}/moving_mean`, [ch], weight(c.name, 'moving_mean').data),
          g.constant(`${c.name}/moving_variance`, [ch], weight(c.name, 'moving_variance').data),
        ];
        // Channels are axis 1 in NCHW and in [N, F] alike.
        set({ name: g.node('BatchNormalization', c.name, inputs, [c.name], { epsilon: c.epsilon ?? 1e-3 })[0], shape: x.shape });
        break;
      }
      case 'Add': {
        const op = ins.length === 2 ? 'Add' : 'Sum';
        set({ name: g.node(op, c.name, ins.map((v) => v.name), [c.name])[0], shape: x.shape });
        break;
      }
      case 'Concatenate': {
        const shape = [...x.shape.slice(0, -1), ins.reduce((s, v) => s + v.shape.at(-1), 0)];
        set({ name: g.node('Concat', c.name, ins.map((v) => v.name), [c.name], { axis: 1 }, ['axis'])[0], shape });
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const op = className === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
        const pooled = g.node(op, c.name, [x.name], [`${c.name}/pool`])[0]; // [N, C, 1, 1]
        set({ name: g.node('Flatten', c.name, [pooled], [c.name], { axis: 1 }, ['axis'])[0], shape: [x.shape[2]] });
        break;
      }
      case 'ZeroPadding2D': {
        const p = c.padding ?? 1;
        const [top, bottom, left, right] = typeof p === 'number' ? [p, p, p, p]
          : typeof p[0] === 'number' ? [p[0], p[0], p[1], p[1]] : [p[0][0], p[0][1], p[1][0], p[1][1]];
        // pads input: [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over N, C, H, W.
        const pads = g.constant(`${c.name}/pads`, [8], BigInt64Array.from([0, 0, top, left, 0, 0, bottom, right].map(BigInt)));
        const shape = [x.shape[0] + top + bottom, x.shape[1] + left + right, x.shape[2]];
        set({ name: g.node('Pad', c.name, [x.name, pads], [c.name], { mode: 'constant' })[0], shape });
        break;
      }
      case 'UpSampling2D': {
        const size = pairOf(c.size, 2);
        const scales = g.constant(`${c.name}/scales`, [4], Float32Array.from([1, 1, size[0], size[1]]));
        // Our (and tfjs's) nearest copies each value to a size[0] x size[1] block and bilinear samples at
        // out / size (no half-pixel offset): ONNX's 'asymmetric' coordinates; 'floor' picks the block's source.
        const bilinear = c.interpolation === 'bilinear';
        const attrs = { mode: bilinear ? 'linear' : 'nearest', coordinate_transformation_mode: 'asymmetric' };
        if (!bilinear) attrs.nearest_mode = 'floor';
        const shape = [x.shape[0] * size[0], x.shape[1] * size[1], x.shape[2]];
        set({ name: g.node('Resize', c.name, [x.name, '', scales], [c.name], attrs)[0], shape }); // '' = no roi
        break;
      }
      default:
        throw new Error(`onnx-writer: no translation for layer class ${className} (${c.name})`);
    }
  }

  const outputs = config.outputs.map(([layer, index]) => {
    const v = values.get(key(layer, index));
    if (!v) throw new Error(`onnx-writer: output ${layer}[${index}] not translated`);
    return { name: v.name, shape: nchw(v.shape) };
  });
  for (const o of outputs) g.output(o.name, o.shape);
  if (g.inputs.length !== 1) throw new Error(`onnx-writer: ${g.inputs.length} inputs; one is supported`);
  return { bytes: g.encode(), input: { name: g.inputs[0].name, shape: g.inputs[0].dims }, outputs };
}
