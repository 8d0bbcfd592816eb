// Reading ONNX TensorProto and AttributeProto values into plain JS: float tensors as Float32Array, integer and
// boolean tensors as Float64Array (exact up to 2^53, plenty for shapes and indices).
import { CnnError } from '../core/errors.js';
import { DATA_TYPE, DATA_TYPE_NAME, ATTR, toNumber } from './schema.js';

const utf8 = new TextDecoder();

/** Bytes of raw_data as a DataView (little-endian, per the ONNX spec). */
const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const RAW_READERS = {
  [DATA_TYPE.FLOAT]: [4, (v, o) => v.getFloat32(o, true)],
  [DATA_TYPE.DOUBLE]: [8, (v, o) => v.getFloat64(o, true)],
  [DATA_TYPE.FLOAT16]: [2, (v, o) => halfToFloat(v.getUint16(o, true))],
  [DATA_TYPE.INT64]: [8, (v, o) => Number(v.getBigInt64(o, true))],
  [DATA_TYPE.UINT64]: [8, (v, o) => Number(v.getBigUint64(o, true))],
  [DATA_TYPE.INT32]: [4, (v, o) => v.getInt32(o, true)],
  [DATA_TYPE.UINT32]: [4, (v, o) => v.getUint32(o, true)],
  [DATA_TYPE.INT16]: [2, (v, o) => v.getInt16(o, true)],
  [DATA_TYPE.UINT16]: [2, (v, o) => v.getUint16(o, true)],
  [DATA_TYPE.INT8]: [1, (v, o) => v.getInt8(o)],
  [DATA_TYPE.UINT8]: [1, (v, o) => v.getUint8(o)],
  [DATA_TYPE.BOOL]: [1, (v, o) => v.getUint8(o)],
};
const FLOAT_TYPES = new Set([DATA_TYPE.FLOAT, DATA_TYPE.DOUBLE, DATA_TYPE.FLOAT16]);

/**
 * A TensorProto as { dims, dtype: 'float' | 'int', data }. `where` names the tensor's place in errors
 * (e.g. "initializer 'conv1.weight'").
 */
export function readTensor(t, where) {
  if (toNumber(t.data_location) === 1 || (t.external_data && t.external_data.length)) {
    const location = t.external_data?.find((e) => e.key === 'location')?.value;
    throw new CnnError(`fromONNX: ${where} is stored in an external data file${location ? ` ('${location}')` : ''}; ` +
      'fromONNX reads single-file models: save it with onnx.save_model(model, path, save_as_external_data=False) ' +
      '(models under 2 GB fit in one file)');
  }
  const dims = (t.dims ?? []).map(toNumber);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new CnnError(`fromONNX: ${where} has invalid dims [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  const type = t.data_type;
  const reader = RAW_READERS[type];
  if (!reader) {
    throw new CnnError(`fromONNX: ${where} has data type ${DATA_TYPE_NAME[type] ?? type}; supported: float, double, ` +
      'float16 and integer/bool types');
  }
  const isFloat = FLOAT_TYPES.has(type);
  const data = isFloat ? new Float32Array(count) : new Float64Array(count);
  const raw = t.raw_data;
  if (raw && raw.length) {
    const [size, get] = reader;
    if (raw.length !== count * size) {
      throw new CnnError(`fromONNX: ${where}: raw_data holds ${raw.length} bytes, dims [${dims}] need ${count * size}`);
    }
    const v = view(raw);
    for (let i = 0; i < count; i++) data[i] = get(v, i * size);
  } else {
    let list;
    if (type === DATA_TYPE.FLOAT) list = t.float_data;
    else if (type === DATA_TYPE.DOUBLE) list = t.double_data;
    else if (type === DATA_TYPE.INT64) list = t.int64_data;
    else if (type === DATA_TYPE.UINT64 || type === DATA_TYPE.UINT32) list = t.uint64_data;
    else list = t.int32_data; // int32, int16, int8, uint16, uint8, bool and float16 (bits) live here
    list = list ?? [];
    if (list.length !== count) {
      throw new CnnError(`fromONNX: ${where}: ${list.length} values for dims [${dims}] (${count} expected)`);
    }
    for (let i = 0; i < count; i++) {
      const value = toNumber(list[i]);
      data[i] = type === DATA_TYPE.FLOAT16 ? halfToFloat(value) : value;
    }
  }
  return { kind: 'const', dims, dtype: isFloat ? 'float' : 'int', data };
}

/** A node's attributes as a Map name -> JS value (numbers, arrays, strings, const tensors). */
export function readAttributes(node, where) {
  const out = new Map();
  for (const a of node.attribute ?? []) {
    if (a.ref_attr_name) throw new CnnError(`fromONNX: ${where}: attribute '${a.name}' refers to a function attribute`);
    let type = a.type;
    if (!type) { // IR < 3 files leave type out: infer it from the field that is set
      if (a.ints?.length) type = ATTR.INTS;
      else if (a.floats?.length) type = ATTR.FLOATS;
      else if (a.t) type = ATTR.TENSOR;
      else if (a.s?.length) type = ATTR.STRING;
      else if (a.f !== undefined && a.f !== 0) type = ATTR.FLOAT;
      else type = ATTR.INT;
    }
    switch (type) {
      case ATTR.FLOAT: out.set(a.name, a.f ?? 0); break;
      case ATTR.INT: out.set(a.name, toNumber(a.i)); break;
      case ATTR.STRING: out.set(a.name, utf8.decode(a.s ?? new Uint8Array())); break;
      case ATTR.TENSOR: out.set(a.name, readTensor(a.t, `${where}: attribute '${a.name}'`)); break;
      case ATTR.FLOATS: out.set(a.name, (a.floats ?? []).slice()); break;
      case ATTR.INTS: out.set(a.name, (a.ints ?? []).map(toNumber)); break;
      case ATTR.STRINGS: out.set(a.name, (a.strings ?? []).map((s) => utf8.decode(s))); break;
      default:
        throw new CnnError(`fromONNX: ${where}: attribute '${a.name}' has type ${type} (graphs, sparse tensors and ` +
          'type protos are not supported)');
    }
  }
  return out;
}
