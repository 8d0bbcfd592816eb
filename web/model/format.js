// The model file format (docs/FORMAT.md), bytes only: saveModel writes it, parseModelBytes reads it (load.js builds
// the model). Every field is fixed-width little-endian; a CRC-32 over everything before it rejects truncated or
// corrupted files before any field is trusted, and every length is bounds-checked anyway. Version 2 adds per-tensor
// encodings (float32, float16, uint8) and the optimizer's state; version 1 files still load.
import { CnnError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { wrap, shapeSize } from '../core/tensor.js';
import { encodedBytes, encode, decode, ENCODINGS } from './quantize.js';

const MAGIC = 0x4e4e4357; // 'WCNN' read as little-endian u32
export const FORMAT_VERSION = 2;
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

const SAVE_OPTIONS = ['metadata', 'includeOptimizer', 'quantize'];

/**
 * model.save({ metadata, includeOptimizer = false, quantize = 'float32' | 'float16' | 'uint8' }) → Uint8Array.
 * quantize stores the weights compressed (dequantized on load); optimizer state is always float32.
 */
export function saveModel(model, options = {}) {
  const { metadata, includeOptimizer = false, quantize = 'float32' } = checkOptions(options, SAVE_OPTIONS, 'save');
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object')) {
    throw new CnnError('save: metadata must be a plain object (stored as JSON in the file header)');
  }
  if (!ENCODINGS.has(quantize)) {
    throw new CnnError(`save: quantize must be 'float32', 'float16' or 'uint8', got ${JSON.stringify(quantize)}`);
  }
  if (typeof includeOptimizer !== 'boolean') throw new CnnError(`save: includeOptimizer must be true or false, got ${JSON.stringify(includeOptimizer)}`);
  const compiled = model.compileConfig;
  if (includeOptimizer && !compiled) throw new CnnError('save: includeOptimizer needs a compiled model (its optimizer has no state yet)');
  const weights = model.getWeights();
  const names = model.weightNames();
  const state = includeOptimizer ? model.getOptimizerState() : null;
  const records = [
    ...weights.map((w, i) => ({ name: names[i], shape: w.shape, values: w.values(), encoding: quantize })),
    ...(state?.tensors ?? []).map((t) => ({ shape: [t.values.length], values: t.values, encoding: 'float32' })),
  ];
  const header = {
    format: 'wasm-cnn',
    model: model.getConfig(),
    weights: records.slice(0, weights.length).map(({ name, shape, encoding }) => ({ name, shape, encoding })),
    metadata: metadata ?? model.metadata ?? null,
    training: compiled ? { loss: compiled.loss, optimizer: compiled.optimizer, metrics: compiled.config.metrics ?? [],
      clipNorm: compiled.optimizer.clipNorm ?? 0, ignoreLabel: compiled.config.ignoreLabel,
      classWeights: compiled.config.classWeights } : null,
  };
  if (state) header.optimizerState = { step: state.step, tensors: state.tensors.map(({ weight, slot }) => ({ weight, slot })) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > MAX_HEADER_BYTES) {
    weights.forEach((w) => w.dispose());
    throw new CnnError(`save: the file header (architecture, layer names and metadata as JSON) is ${json.length} bytes; ` +
      `model files allow at most ${MAX_HEADER_BYTES} (16 MiB): shorten the metadata or the layer names`);
  }
  const jsonPadded = (json.length + 3) & ~3;
  let size = 12 + jsonPadded + 4;
  for (const r of records) size += 8 + 4 * r.shape.length + encodedBytes(r.encoding, r.values.length);
  size += 4;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, 12);
  let at = 12 + jsonPadded;
  view.setUint32(at, records.length, true); at += 4;
  for (const r of records) {
    view.setUint32(at, r.shape.length, true); at += 4;
    for (const d of r.shape) { view.setUint32(at, d, true); at += 4; }
    view.setUint32(at, ENCODINGS.get(r.encoding), true); at += 4;
    at = encode(r.encoding, r.values, view, at);
  }
  weights.forEach((w) => w.dispose());
  view.setUint32(at, crc32(bytes.subarray(0, at)), true);
  return bytes;
}

function fail(detail) { throw new CnnError(`loadModel: ${detail}`); }

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses and checks a saved model; returns { header, tensors, optimizerTensors } (float32 tensors, dequantized)
 * without building anything.
 */
export function parseModelBytes(bytes) {
  if (bytes.length < 20) fail(`the file is ${bytes.length} bytes long, too short to be a wasm-cnn model`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('not a wasm-cnn model file (the first four bytes are not "WCNN")');
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== FORMAT_VERSION) {
    fail(`format version ${version} is not supported (this library reads versions 1 to ${FORMAT_VERSION})`);
  }
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
  if (!isObject(header) || header.format !== 'wasm-cnn' || !isObject(header.model) || !Array.isArray(header.weights)) {
    fail('the header does not describe a wasm-cnn model');
  }
  header.weights.forEach((w, i) => {
    if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || w.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`weight entry ${i} of the header is malformed`);
    }
  });
  const state = header.optimizerState;
  if (state !== undefined && (!isObject(state) || !Number.isInteger(state.step) || state.step < 0 ||
      !Array.isArray(state.tensors) || !state.tensors.every((t) => isObject(t) && typeof t.weight === 'string' &&
      Number.isInteger(t.slot) && t.slot >= 0))) {
    fail('optimizerState in the header must be { step, tensors: [{ weight, slot }] }');
  }
  const expectedCount = header.weights.length + (state?.tensors.length ?? 0);
  let at = 12 + jsonPadded;
  const end = bytes.length - 4;
  const need = (n, what) => { if (at + n > end) fail(`${what} runs past the end of the file`); };
  need(4, 'the tensor count');
  const count = view.getUint32(at, true); at += 4;
  if (count !== expectedCount) fail(`the file holds ${count} tensors but its header lists ${expectedCount}`);
  const tensors = [];
  try {
    readTensors();
  } catch (err) {
    tensors.forEach((t) => t.dispose());
    throw err;
  }
  return { header, tensors: tensors.slice(0, header.weights.length), optimizerTensors: tensors.slice(header.weights.length) };

  function readTensors() {
    for (let t = 0; t < count; t++) {
      const name = t < header.weights.length ? header.weights[t].name
        : `optimizer state of ${state.tensors[t - header.weights.length].weight}`;
      need(4, `tensor ${name}`);
      const ndim = view.getUint32(at, true); at += 4;
      if (ndim > MAX_DIMS) fail(`tensor ${name} has ${ndim} dimensions`);
      need(4 * ndim, `tensor ${name}`);
      const shape = [];
      for (let d = 0; d < ndim; d++) { shape.push(view.getUint32(at, true)); at += 4; }
      const size = shapeSize(shape);
      let encoding = 'float32';
      if (version >= 2) {
        need(4, `tensor ${name}`);
        const code = view.getUint32(at, true); at += 4;
        encoding = [...ENCODINGS].find(([, c]) => c === code)?.[0];
        if (!encoding) fail(`tensor ${name} has unknown encoding ${code}`);
      }
      need(encodedBytes(encoding, size), `the data of tensor ${name}`);
      if (t < header.weights.length) {
        const expected = header.weights[t].shape;
        if (expected.length !== ndim || expected.some((d, i) => d !== shape[i])) {
          fail(`tensor ${name} has shape [${shape}] but the header says [${expected}]`);
        }
      }
      const values = new Float32Array(size);
      at = decode(encoding, view, at, values);
      tensors.push(wrap(values, shape));
    }
    if (at !== end) fail(`${end - at} unexpected bytes after the last tensor`);
  }
}
