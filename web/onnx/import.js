// fromONNX: an ONNX model -> a wasm-cnn model built with the public functional API (cnn.input, cnn.layers.*,
// cnn.model), weights set with setWeights. It predicts what the ONNX model computes, trains with fit, saves with
// save() and exports again with toONNX.
//
// Layout: ONNX image tensors are NCHW, ours NHWC. The model we build takes NHWC input ([N, H, W, C] for an ONNX input
// [N, C, H, W]) and gives NHWC output for an NCHW image output; an input that the graph immediately transposes from
// NHWC (TensorFlow exports) is NHWC on both sides. The batch axis may be fixed or dynamic in the file; our model
// takes any batch. model.onnx describes both ends: { input: { name, layout, shape }, output: { name, layout, shape } }.
import { CnnError } from '../core/errors.js';
import { tensor } from '../core/tensor.js';
import { ready } from '../engine/loader.js';
import { layers, input as inputTensor } from '../layers/index.js';
import { Model } from '../model/model.js';
import { readSource as readBytes } from '../model/load.js'; // the same reader as loadModel
import { ModelProto, toNumber, DATA_TYPE } from './schema.js';
import { readTensor, readAttributes } from './proto-values.js';
import { OPS, onnxDims, liftTo2d } from './import-ops.js';

const MIN_OPSET = 1;
const MAX_OPSET = 21;


/** Decodes ModelProto bytes; malformed bytes become a CnnError. */
export function decodeModel(bytes) {
  let model;
  try {
    model = ModelProto.decode(bytes);
  } catch (err) {
    throw new CnnError(`fromONNX: not an ONNX model: protobuf decoding failed (${err.message}) after reading ` +
      `${bytes.length} bytes`);
  }
  if (!model.graph || !(model.graph.node?.length)) {
    throw new CnnError(`fromONNX: not an ONNX model: ${bytes.length} bytes decode to no graph with nodes`);
  }
  return model;
}

const safeName = (s) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.]+|_+$/g, '');

/**
 * cnn.fromONNX(source, options): a wasm-cnn model computing what the ONNX model computes.
 * @param {Uint8Array | ArrayBuffer | URL | string} source
 * @param {{ seed?: number, inputShape?: number[], name?: string }} [options] inputShape [h, w, c] (ours) fixes
 *   dynamic height / width axes of the input; seed seeds dropout and later training.
 */
export async function fromONNX(source, options = {}) {
  const allowed = new Set(['seed', 'inputShape', 'name']);
  for (const k of Object.keys(options)) {
    if (!allowed.has(k)) throw new CnnError(`fromONNX: unknown option '${k}'; known options: ${[...allowed].join(', ')}`);
  }
  await ready();
  const proto = decodeModel(await readBytes(source, 'fromONNX'));
  return buildModel(proto, options);
}

function buildModel(proto, options) {
  const graph = proto.graph;
  const opsetEntry = (proto.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsetEntry ? toNumber(opsetEntry.version) : 1;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new CnnError(`fromONNX: opset ${opset} of the default domain is not supported (${MIN_OPSET} to ${MAX_OPSET})`);
  }
  if (proto.functions?.length) throw new CnnError(`fromONNX: the model defines ${proto.functions.length} local function(s); not supported`);
  if (graph.sparse_initializer?.length) throw new CnnError('fromONNX: sparse initializers are not supported');

  const values = new Map();
  for (const t of graph.initializer ?? []) values.set(t.name, readTensor(t, `initializer '${t.name}'`));
  const inputs = (graph.input ?? []).filter((i) => !values.has(i.name));
  if (inputs.length !== 1) {
    throw new CnnError(`fromONNX: the graph has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')}); ` +
      'wasm-cnn models have exactly one');
  }
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) {
    throw new CnnError(`fromONNX: the graph has ${outputs.length} outputs (${outputs.map((o) => `'${o.name}'`).join(', ')}); ` +
      'wasm-cnn models have exactly one');
  }

  const consumers = new Map();
  graph.node.forEach((node) => {
    for (const i of node.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  });
  const graphOutputs = new Set(outputs.map((o) => o.name));

  // The input: [N, C, H, W] (or [N, F]); NHWC when every reader transposes it to NCHW.
  const input = inputs[0];
  const tt = input.type?.tensor_type;
  if (!tt || tt.elem_type !== DATA_TYPE.FLOAT) {
    throw new CnnError(`fromONNX: input '${input.name}' must be a float32 tensor, got elem_type ${tt?.elem_type ?? '(none)'}`);
  }
  const dims = (tt.shape?.dim ?? []).map((d) => (d.dim_value !== undefined && d.dim_value !== null && toNumber(d.dim_value) > 0
    ? toNumber(d.dim_value) : (d.dim_param || '?')));
  if (dims.length < 2 || dims.length > 4) {
    throw new CnnError(`fromONNX: input '${input.name}' has rank ${dims.length} ([${dims}]); supported: [N, C, H, W], ` +
      '[N, C, L] and [N, F]');
  }
  const readers = consumers.get(input.name) ?? [];
  const nhwc = dims.length === 4 && readers.length > 0 && readers.every((r) => r.op_type === 'Transpose' &&
    JSON.stringify(readAttributes(r, 'Transpose').get('perm')) === '[0,3,1,2]');
  // [N, C, L] (1-D signals) runs as [N, C, 1, L]: ours [1, L, C].
  let sample = dims.length === 2 ? [dims[1]] : dims.length === 3 ? [1, dims[2], dims[1]] : nhwc ? dims.slice(1) : [dims[2], dims[3], dims[1]];
  if (options.inputShape !== undefined) {
    const s = options.inputShape;
    if (!Array.isArray(s) || s.length !== sample.length || s.some((d, i) => !Number.isInteger(d) || d < 1 ||
      (typeof sample[i] === 'number' && sample[i] !== d))) {
      throw new CnnError(`fromONNX: option inputShape ${JSON.stringify(s)} does not fit input '${input.name}' ` +
        `(ours: [${sample}], dynamic axes free)`);
    }
    sample = s.slice();
  }
  if (sample.some((d) => typeof d !== 'number')) {
    throw new CnnError(`fromONNX: input '${input.name}' has dynamic axes [${dims}]; give the option inputShape ` +
      `([${dims.length === 2 ? 'features' : 'height, width, channels'}], NHWC)`);
  }
  const x = inputTensor({ shape: sample, name: safeName(input.name) || 'input' });
  values.set(input.name, { kind: 'sym', t: x, layout: dims.length === 2 ? 'flat' : nhwc ? 'nhwc' : 'nchw', oneD: dims.length === 3 });

  const layerNames = new Set([x.sourceLayer.name]);
  const pendingWeights = [];
  const fused = new Map(); // node -> name of the value it passes through (its effect was folded into its producer)
  const soleReader = (node) => {
    const out = node.output?.[0];
    const rs = consumers.get(out) ?? [];
    return rs.length === 1 && !graphOutputs.has(out) ? rs[0] : null;
  };
  const ctx = {
    opset,
    fixedBatch: typeof dims[0] === 'number' ? dims[0] : null,
    isRead: (name) => graphOutputs.has(name) || (consumers.get(name) ?? []).length > 0,
    /** Creates a layer named after the node, applies it, and queues its weights ({ data, shape } in our layout). */
    layer(n, factory, config, inputsT, weights = []) {
      let base = safeName(n.name || `${n.op}_${n.index}`) || `${n.op}_${n.index}`;
      if (factory === 'zeroPadding2d') base += '_pad';
      let name = base;
      for (let i = 1; layerNames.has(name); i++) name = `${base}_${i}`;
      layerNames.add(name);
      let layer;
      let out;
      try {
        layer = layers[factory]({ ...config, name });
        out = layer.apply(inputsT);
      } catch (err) {
        n.fail(err.message);
      }
      if (weights.length) pendingWeights.push({ layer, weights });
      return out;
    },
    zeroPad(n, v, [top, left, bottom, right]) {
      const t = ctx.layer(n, 'zeroPadding2d', { padding: [[top, bottom], [left, right]] }, v.t);
      return { kind: 'sym', t, layout: 'nchw', nonNegative: v.nonNegative };
    },
    /** Relu / Sigmoid / Tanh reading only `n`'s output fuses into n's layer. */
    fuseActivation(n) {
      const r = soleReader(n.proto);
      const act = r && { Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh' }[r.op_type];
      if (!act || (r.attribute ?? []).length) return null;
      fused.set(r, n.proto.output[0]);
      return act;
    },
    /** An Add of a constant [units] (or [1, units]) reading only a MatMul's output: its bias. */
    fuseBias(n, units) {
      const r = soleReader(n.proto);
      if (!r || r.op_type !== 'Add' || (r.input ?? []).length !== 2) return null;
      const other = r.input[0] === n.proto.output[0] ? r.input[1] : r.input[0];
      const c = values.get(other);
      if (c?.kind !== 'const' || c.data.length !== units || c.dims.at(-1) !== units) return null;
      fused.set(r, n.proto.output[0]);
      return Float32Array.from(c.data);
    },
  };

  graph.node.forEach((proto, index) => {
    const op = proto.op_type;
    const where = `node '${proto.name || `#${index}`}' (${op})`;
    if (proto.domain && proto.domain !== 'ai.onnx') {
      throw new CnnError(`fromONNX: ${where} is in domain '${proto.domain}'; only the default ONNX domain is supported`);
    }
    if (fused.has(proto)) {
      for (const o of proto.output ?? []) values.set(o, values.get(fused.get(proto)));
      return;
    }
    const handler = Object.hasOwn(OPS, op) ? OPS[op] : null;
    if (!handler) {
      throw new CnnError(`fromONNX: ${where}: op ${op} is not supported; supported ops: ${Object.keys(OPS).sort().join(', ')}`);
    }
    const n = nodeView(proto, index, where, values);
    const outs = handler(ctx, n);
    // Outputs of ops on [N, C, L] tensors stay [N, C, L] (unless flattened).
    const oneD = (proto.input ?? []).some((i) => values.get(i)?.oneD);
    if (oneD) outs.forEach((o, i) => { if (o?.kind === 'sym' && o.layout === 'nchw' && !o.oneD) outs[i] = { ...o, oneD: true }; });
    (proto.output ?? []).forEach((o, i) => { if (o && outs[i] !== undefined) values.set(o, outs[i]); });
  });

  const out = values.get(outputs[0].name);
  if (!out) throw new CnnError(`fromONNX: output '${outputs[0].name}' is not computed by any node`);
  if (out.kind !== 'sym') throw new CnnError(`fromONNX: output '${outputs[0].name}' is a constant or a shape, not computed from the input`);
  if (out.flatOf) {
    throw new CnnError(`fromONNX: output '${outputs[0].name}' is a flatten of an NCHW map in (C, H, W) order, which ` +
      'wasm-cnn flattens in (H, W, C) order; a Dense after the Flatten would absorb the difference');
  }
  if (out.t === x) { // a graph that passes its input through (Identity): a model needs one layer
    out.t = layers.dropout({ rate: 0, name: layerNames.has('identity') ? `identity_${layerNames.size}` : 'identity' }).apply(x);
  }

  const model = new Model({ inputs: x, outputs: out.t, name: safeName(options.name ?? graph.name ?? '') || 'onnx', seed: options.seed });
  model.build();
  for (const { layer, weights } of pendingWeights) {
    const tensors = weights.map((w) => tensor(w.data, w.shape));
    try {
      layer.setWeights(tensors);
    } finally {
      tensors.forEach((t) => t.dispose());
    }
  }
  const describe = (name, v) => ({ name, layout: v.layout === 'flat' ? 'NF' : v.oneD ? 'NCL' : v.layout.toUpperCase(), shape: onnxDims(v) });
  model.onnx = { opset, input: describe(input.name, values.get(input.name)), output: describe(outputs[0].name, out) };
  return model;
}

/** What a handler sees of a node: inputs by index, attributes with checks, and fail(). */
function nodeView(proto, index, where, values) {
  const attrs = readAttributes(proto, where);
  const fail = (msg) => { throw new CnnError(`fromONNX: ${where}: ${msg}`); };
  const inputs = proto.input ?? [];
  const oneD = !!values.get(inputs[0])?.oneD; // a 1-D op: its spatial attributes gain a leading axis
  const n = {
    proto, index, where, op: proto.op_type, name: proto.name, inputs, outputs: proto.output ?? [], fail,
    allow(names) {
      for (const k of attrs.keys()) {
        if (!names.includes(k)) fail(`attribute '${k}' is not supported${names.length ? ` (supported: ${names.join(', ')})` : ''}`);
      }
    },
    has: (name) => attrs.has(name),
    attr: (name, dflt) => (attrs.has(name) ? (oneD ? liftTo2d(name, attrs.get(name)) : attrs.get(name)) : dflt),
    input(i) {
      const name = inputs[i];
      if (!name) return undefined;
      const v = values.get(name);
      if (!v) fail(`input ${i} ('${name}') is not produced by an earlier node, an initializer or the graph input`);
      return v;
    },
    sym(i) {
      const v = n.input(i);
      if (v?.kind !== 'sym') fail(`input ${i} ('${inputs[i] ?? ''}') must be a tensor computed from the graph input, got ${v ? `a ${v.kind}` : 'nothing'}`);
      return v;
    },
    constant(i, what, dims) {
      const v = n.input(i);
      if (v?.kind !== 'const') fail(`input ${i} (${what}, '${inputs[i] ?? ''}') must be an initializer or a Constant`);
      if (dims && v.data.length !== dims.reduce((a, b) => a * b, 1)) fail(`input ${i} (${what}) has dims [${v.dims}], expected [${dims}]`);
      return v;
    },
    optionalConstant(i, what, dims) { return inputs[i] ? n.constant(i, what, dims) : null; },
  };
  return n;
}
