// Tensor: an immutable shape + dtype + a typed array in JS memory (never a view into the wasm heap, whose buffer
// can be replaced by memory growth). Models copy batches into the engine and results out.
import { CnnError } from './errors.js';

const live = { count: 0, bytes: 0 };

// Disposed outputs, kept for the next output of the same length. predict in a loop (video frames, a bench) would
// otherwise allocate a fresh array per call, and the first writes into a fresh multi-MB array fault its pages in:
// 0.3-1.2 ms for 2 MB here against 0.09 for a copy into a warm array, more than a small conv takes on 2 threads.
// Only arrays nobody else can hold are kept: made by the library for one tensor, and never handed out by values().
const RECYCLE_MIN_LENGTH = 16384; // smaller arrays allocate cheaply
const RECYCLE_MAX_ARRAYS = 4;
const RECYCLE_MAX_BYTES = 64 << 20;
const recycled = []; // oldest first
const recycleCounts = { kept: 0, reused: 0 };

function recycle(values) {
  if (values.length < RECYCLE_MIN_LENGTH || values.byteLength > RECYCLE_MAX_BYTES) return;
  recycled.push(values);
  recycleCounts.kept++;
  let bytes = recycled.reduce((sum, a) => sum + a.byteLength, 0);
  while (recycled.length > RECYCLE_MAX_ARRAYS || bytes > RECYCLE_MAX_BYTES) bytes -= recycled.shift().byteLength;
}

/** A Float32Array of `length` floats for a new output: a disposed output's array when one fits (contents stale). */
export function outputArray(length) {
  for (let i = recycled.length - 1; i >= 0; i--) {
    if (recycled[i].length === length) {
      recycleCounts.reused++;
      return recycled.splice(i, 1)[0];
    }
  }
  return new Float32Array(length);
}

/** For tests: how many arrays dispose() kept and outputArray() reused so far. */
export function recycleStats() { return { ...recycleCounts, held: recycled.length }; }

let markRecyclable;

export class Tensor {
  #values;
  #disposed = false;
  #recyclable = false; // see recycle(): set by wrapOutput, cleared once values() hands the array out

  /** Prefer cnn.tensor(); this constructor trusts its arguments. */
  constructor(values, shape, dtype) {
    this.#values = values;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = values.length;
    live.count++;
    live.bytes += values.byteLength;
  }

  get rank() { return this.shape.length; }
  get isDisposed() { return this.#disposed; }

  /** A copy of the values (Float32Array or Int32Array). */
  dataSync() { return this.#own().slice(); }
  async data() { return this.dataSync(); }
  /** Nested JS arrays, like tfjs's arraySync(). */
  arraySync() {
    const values = this.#own();
    if (this.rank === 0) return values[0];
    const build = (dim, offset) => {
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out = [];
      for (let i = 0; i < this.shape[dim]; i++) {
        out.push(dim === this.rank - 1 ? values[offset + i] : build(dim + 1, offset + i * stride));
      }
      return out;
    };
    return build(0, 0);
  }
  async array() { return this.arraySync(); }

  /** The values without a copy, for the library's own use; callers must not modify them. */
  values() {
    this.#recyclable = false; // the caller may keep the array: dispose must not reuse it
    return this.#own();
  }

  /** The values for reading inside this class, which keeps no reference: the array stays recyclable. */
  #own() {
    if (this.#disposed) throw new CnnError(`Tensor of shape [${this.shape}] is disposed: it can no longer be used`);
    return this.#values;
  }

  static {
    markRecyclable = (t) => { t.#recyclable = true; return t; }; // module-private: only wrapOutput marks
  }

  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    live.count--;
    live.bytes -= this.#values.byteLength;
    if (this.#recyclable && this.#values.byteLength > 0) recycle(this.#values); // byteLength 0: transferred away
    this.#values = null;
  }

  toString() { return `Tensor(${this.dtype}, [${this.shape}])`; }
}

export function liveTensors() { return { ...live }; }

export function shapeSize(shape) { return shape.reduce((a, b) => a * b, 1); }

/**
 * cnn.tensor(values, shape, dtype = 'float32'): values is a typed array or a flat array of numbers; the values
 * are copied, so the caller may reuse its array.
 */
export function tensor(values, shape, dtype = 'float32') {
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new CnnError(`tensor: dtype must be 'float32' or 'int32', got ${JSON.stringify(dtype)}`);
  }
  const isArrayLike = ArrayBuffer.isView(values) || Array.isArray(values);
  if (!isArrayLike || values instanceof DataView) {
    throw new CnnError(`tensor: values must be a typed array or an array of numbers, got ${describe(values)}`);
  }
  if (Array.isArray(values) && values.some((v) => Array.isArray(v))) {
    throw new CnnError('tensor: nested arrays are not accepted; pass a flat array and a shape');
  }
  if (shape === undefined) shape = [values.length];
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new CnnError(`tensor: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const size = shapeSize(shape);
  if (size !== values.length) {
    throw new CnnError(`tensor: shape [${shape}] holds ${size} values, but ${values.length} were given`);
  }
  const Typed = dtype === 'int32' ? Int32Array : Float32Array;
  if (dtype === 'int32') {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isInteger(Number(values[i]))) {
        throw new CnnError(`tensor: int32 tensor value ${i} is ${values[i]}, not an integer`);
      }
    }
  }
  // new Typed(typedArray) copies in one pass; Typed.from walks an iterator (5-10x slower on large inputs).
  return new Tensor(new Typed(values), shape, dtype);
}

/** Wraps a typed array the library just created (no copy). */
export function wrap(values, shape) {
  return new Tensor(values, shape, values instanceof Int32Array ? 'int32' : 'float32');
}

/** Wraps an array from outputArray() that nothing else references: dispose() may give it to the next output. */
export function wrapOutput(values, shape) { return markRecyclable(wrap(values, shape)); }

export function scalar(value) { return wrap(new Float32Array([value]), []); }

export function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (v instanceof Tensor) return v.toString();
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  return typeof v;
}
