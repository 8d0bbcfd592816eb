// The model file format (docs/FORMAT.md), bytes only: model.save() writes it, parseModelBytes reads it (load.js
// builds the model). Every field is
// fixed-width little-endian; a CRC-32 over everything before it rejects truncated or corrupted files before any
// field is trusted, and every length is bounds-checked anyway.
import { CnnError } from '../core/errors.js';
import { wrap, shapeSize } from '../core/tensor.js';

const MAGIC = 0x4e4e4357; // 'WCNN' read as little-endian u32
export const FORMAT_VERSION = 1;
const MAX_HEADER_BYTES = 16 << 20;
const MAX_DIMS = 8;

let crcTable = null;
export function crc32(bytes) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Serialises architecture, weights and compile settings of a model into one Uint8Array. */
export function saveModel(model, { metadata } = {}) {
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object')) {
    throw new CnnError('save: metadata must be a plain object (stored as JSON in the file header)');
  }
  const weights = model.getWeights();
  const names = model.weightNames();
  const compiled = model.compileConfig;
  const header = {
    format: 'wasm-cnn',
    model: model.getConfig(),
    weights: names.map((name, i) => ({ name, shape: weights[i].shape })),
    metadata: metadata ?? model.metadata ?? null,
    training: compiled ? { loss: compiled.loss, optimizer: compiled.optimizer, metrics: compiled.config.metrics ?? [],
      clipNorm: compiled.optimizer.clipNorm ?? 0, ignoreLabel: compiled.config.ignoreLabel,
      classWeights: compiled.config.classWeights } : null,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > MAX_HEADER_BYTES) {
    weights.forEach((w) => w.dispose());
    throw new CnnError(`save: the file header (architecture, layer names and metadata as JSON) is ${json.length} bytes; ` +
      `model files allow at most ${MAX_HEADER_BYTES} (16 MiB): shorten the metadata or the layer names`);
  }
  const jsonPadded = (json.length + 3) & ~3;
  let size = 12 + jsonPadded + 4;
  for (const w of weights) size += 4 + 4 * w.rank + 4 * w.size;
  size += 4;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, 12);
  let at = 12 + jsonPadded;
  view.setUint32(at, weights.length, true); at += 4;
  for (const w of weights) {
    view.setUint32(at, w.rank, true); at += 4;
    for (const d of w.shape) { view.setUint32(at, d, true); at += 4; }
    const values = w.values();
    for (let i = 0; i < values.length; i++, at += 4) view.setFloat32(at, values[i], true);
    w.dispose();
  }
  view.setUint32(at, crc32(bytes.subarray(0, at)), true);
  return bytes;
}

function fail(detail) { throw new CnnError(`loadModel: ${detail}`); }

/** Parses and checks a saved model; returns { header, tensors } without building anything. */
export function parseModelBytes(bytes) {
  if (bytes.length < 20) fail(`the file is ${bytes.length} bytes long, too short to be a wasm-cnn model`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('not a wasm-cnn model file (the first four bytes are not "WCNN")');
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) fail(`format version ${version} is not supported (this library reads version ${FORMAT_VERSION})`);
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) fail('checksum mismatch: the file is truncated or corrupted');
  const jsonLength = view.getUint32(8, true);
  const jsonPadded = (jsonLength + 3) & ~3;
  if (jsonLength > MAX_HEADER_BYTES || 12 + jsonPadded + 8 > bytes.length) fail(`header length ${jsonLength} does not fit in the file`);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + jsonLength)));
  } catch (err) {
    fail(`the header is not valid JSON (${err.message})`);
  }
  if (header?.format !== 'wasm-cnn' || !header.model || !Array.isArray(header.weights) ||
      !Array.isArray(header.model.layers) || !Array.isArray(header.model.inputs) || !Array.isArray(header.model.outputs)) {
    fail('the header does not describe a wasm-cnn model');
  }
  header.weights.forEach((w, i) => {
    if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || w.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`weight entry ${i} of the header is malformed`);
    }
  });
  let at = 12 + jsonPadded;
  const end = bytes.length - 4;
  const need = (n, what) => { if (at + n > end) fail(`${what} runs past the end of the file`); };
  need(4, 'the tensor count');
  const count = view.getUint32(at, true); at += 4;
  if (count !== header.weights.length) fail(`the file holds ${count} tensors but its header lists ${header.weights.length}`);
  const tensors = [];
  try {
    readTensors();
  } catch (err) {
    tensors.forEach((t) => t.dispose());
    throw err;
  }
  return { header, tensors };

  function readTensors() {
    for (let t = 0; t < count; t++) {
      const name = header.weights[t].name;
      need(4, `tensor ${name}`);
      const ndim = view.getUint32(at, true); at += 4;
      if (ndim > MAX_DIMS) fail(`tensor ${name} has ${ndim} dimensions`);
      need(4 * ndim, `tensor ${name}`);
      const shape = [];
      for (let d = 0; d < ndim; d++) { shape.push(view.getUint32(at, true)); at += 4; }
      const size = shapeSize(shape);
      need(4 * size, `the data of tensor ${name}`);
      const expected = header.weights[t].shape;
      if (!Array.isArray(expected) || expected.length !== ndim || expected.some((d, i) => d !== shape[i])) {
        fail(`tensor ${name} has shape [${shape}] but the header says [${expected}]`);
      }
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++, at += 4) values[i] = view.getFloat32(at, true);
      tensors.push(wrap(values, shape));
    }
    if (at !== end) fail(`${end - at} unexpected bytes after the last tensor`);
  }
}
