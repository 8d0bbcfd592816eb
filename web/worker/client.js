// cnn.worker: the library in a Worker (pages: a module Web Worker; Node: worker_threads), driven from the calling
// thread with the same model methods, as promises. See docs/WORKER.md. The worker side is worker.js; the messages
// are described in protocol.js.
//
//   const w = await cnn.worker.create();
//   const model = await w.zoo.segnet({ inputShape: [64, 64, 3], numClasses: 4, seed: 1 });
//   await model.compile({ optimizer: cnn.train.adam(0.003), loss: 'sparseCategoricalCrossentropy' });
//   await model.fit(x, y, { epochs: 2, callbacks: { onBatchEnd: (b, logs) => show(logs.loss) }, signal });
//   const mask = await model.segment(imageData);
//   w.terminate();
import { CnnError } from '../core/errors.js';
import { isNode, nodeBuiltin } from '../core/env.js';
import { Tensor } from '../core/tensor.js';
import { CALLBACKS, decodeError } from './protocol.js';

const CREATE_OPTIONS = ['threads', 'url', 'wasmUrl', 'wasmBinary'];
const MAX_SCHEDULE_STEPS = 1 << 24; // learning rates precomputed for fit: 128 MB at most

function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (v instanceof Tensor) return v.toString();
  if (v instanceof RemoteTensor) return `worker Tensor(${v.dtype}, [${v.shape}])`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  return typeof v;
}

function plainOptions(options, what) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CnnError(`${what}: options must be an object, got ${describe(options)}`);
  }
  return options;
}

/** One Worker and the calls waiting for its answers. */
class Connection {
  #worker;
  #pending = new Map(); // call id → { op, resolve, reject, onEvent, chain }
  #nextId = 1;
  #dead = null;         // why no call can run any more: a sentence
  #referenced = true;

  constructor(worker) {
    this.#worker = worker;
    const onMessage = (message) => this.#onMessage(message);
    if (isNode) {
      worker.on('message', onMessage);
      worker.on('error', (err) => this.fail(`the wasm-cnn worker crashed: ${err?.message ?? err}`));
      worker.on('messageerror', (err) => this.fail(`the wasm-cnn worker sent a message that could not be read: ${err?.message ?? err}`));
      worker.on('exit', (code) => this.fail(`the wasm-cnn worker stopped (exit code ${code})`));
    } else {
      worker.onmessage = (event) => onMessage(event.data);
      worker.onerror = (event) => {
        event.preventDefault?.();
        // A module that fails to load gives an error event without a message.
        this.fail(`the wasm-cnn worker crashed: ${event.message || 'its script could not be loaded or threw while starting'}`);
      };
      worker.onmessageerror = () => this.fail('the wasm-cnn worker sent a message that could not be read');
    }
    this.#updateRef();
  }

  get dead() { return this.#dead; }

  /**
   * Runs `op` in the worker; resolves to its result once every event (fit's callbacks) before it has been handled.
   * `transfer`: buffers the caller hands over; `onEvent(message)`: fit's callbacks, awaited in order; `onStart(id)`:
   * called with the call's id once it is sent (fit's abort and ack messages name it).
   */
  call(op, args, { model, transfer = [], onEvent, onStart, what = op } = {}) {
    if (this.#dead) return Promise.reject(new CnnError(`${what}: ${this.#dead}; create a new worker with cnn.worker.create()`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry = { op, what, resolve, reject, onEvent, chain: Promise.resolve() };
      try {
        this.#worker.postMessage({ type: 'call', id, op, model, args }, transfer);
      } catch (err) {
        reject(new CnnError(`${what}: its arguments cannot be sent to the worker (${err.message}); ` +
          'send tensors, numbers, strings, plain objects, arrays and typed arrays, not functions or class instances'));
        return;
      }
      this.#pending.set(id, entry);
      this.#updateRef();
      onStart?.(id);
    });
  }

  /** Sends a message that expects no answer (abort, ack); does nothing once the worker is gone. */
  send(message) {
    if (!this.#dead) this.#worker.postMessage(message);
  }

  #onMessage(message) {
    const entry = this.#pending.get(message.id);
    if (!entry) return;
    if (message.type === 'event') {
      entry.chain = entry.chain.then(() => entry.onEvent?.(message));
      return;
    }
    this.#pending.delete(message.id);
    this.#updateRef();
    entry.chain.then(() => {
      if (message.type === 'result') entry.resolve(message.value);
      else entry.reject(decodeError(message.error, CnnError));
    }, entry.reject);
  }

  /** Rejects every pending call with `reason` and refuses later ones; ends the worker. */
  fail(reason) {
    if (this.#dead) return;
    this.#dead = reason;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of pending) entry.reject(new CnnError(`${entry.what}: ${reason}`));
    try { this.#worker.terminate(); } catch { /* already gone */ }
  }

  // Node: an idle worker must not keep the process alive; one that owes an answer must.
  #updateRef() {
    if (!isNode) return;
    const want = this.#pending.size > 0;
    if (want === this.#referenced) return;
    this.#referenced = want;
    if (want) this.#worker.ref(); else this.#worker.unref();
  }
}

/** A tensor that stays in the worker (from w.tensor or w.data.*): fit / predict / evaluate take it without a copy. */
export class RemoteTensor {
  #conn;
  #disposed = false;

  constructor(conn, { remote, shape, dtype }) {
    this.#conn = conn;
    this.id = remote;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  get rank() { return this.shape.length; }
  get isDisposed() { return this.#disposed; }
  belongsTo(conn) { return this.#conn === conn; }

  /** A copy of the values (Float32Array or Int32Array). */
  async data() {
    if (this.#disposed) throw new CnnError(`data: the worker tensor of shape [${this.shape}] is disposed`);
    const out = await this.#conn.call('tensorData', { tensor: { remote: this.id } }, { what: 'data' });
    return out.values;
  }

  /** A local Tensor with the same values. */
  async toTensor() { return new Tensor(await this.data(), this.shape.slice(), this.dtype); }

  /** Frees the worker's copy; idempotent. */
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.#conn.dead) await this.#conn.call('disposeTensor', { tensor: { remote: this.id } }, { what: 'dispose' });
  }

  toString() { return `worker Tensor(${this.dtype}, [${this.shape}])`; }
}

/**
 * A tensor argument as it crosses: a local Tensor's values copied once into a buffer that is transferred, or a
 * worker tensor by number. Returns { spec, transfer }.
 */
function tensorArg(conn, t, what) {
  if (t instanceof RemoteTensor) {
    if (!t.belongsTo(conn)) throw new CnnError(`${what}: this worker tensor belongs to another worker`);
    if (t.isDisposed) throw new CnnError(`${what}: the worker tensor of shape [${t.shape}] is disposed`);
    return { spec: { remote: t.id }, transfer: [] };
  }
  const isTensor = t instanceof Tensor || (t && Array.isArray(t.shape) && typeof t.dataSync === 'function');
  if (!isTensor) throw new CnnError(`${what} must be a Tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new CnnError(`${what}: Tensor of shape [${t.shape}] is disposed: it can no longer be used`);
  const values = t.dataSync(); // the one copy: the caller keeps its tensor
  return { spec: { tensor: true, values, shape: t.shape.slice(), dtype: t.dtype }, transfer: [values.buffer] };
}

const tensorResult = (r) => new Tensor(r.values, r.shape, r.dtype);

/** For fit's learningRateSchedule: the number of steps fit will take, or null when its options are not valid. */
function totalSteps(n, options) {
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  const initialEpoch = options.initialEpoch ?? 0;
  if (![epochs, batchSize, initialEpoch].every(Number.isInteger) || batchSize < 1 || !Number.isInteger(n)) return null;
  let trainCount = n;
  if (!options.validationData && options.validationSplit !== undefined) {
    const split = options.validationSplit;
    if (typeof split !== 'number' || !(split > 0 && split < 1)) return null;
    trainCount = Math.floor(n * (1 - split));
  }
  return Math.max(0, Math.ceil(trainCount / batchSize) * (epochs - initialEpoch));
}

/** A model that lives in the worker: the library's model methods, each returning a promise. */
export class RemoteModel {
  #conn;
  #id;
  #disposed = false;

  constructor(conn, info) {
    this.#conn = conn;
    this.#id = info.id;
    this.name = info.name;
    this.inputShape = info.inputShape;
    this.outputShape = info.outputShape;
    this.layers = Object.freeze(info.layers.map((l) => Object.freeze(l)));
    this.metadata = info.metadata;
  }

  get isDisposed() { return this.#disposed; }

  #call(op, args = {}, extra = {}) {
    if (this.#disposed) return Promise.reject(new CnnError(`${op}: the model ${this.name} is disposed and can no longer be used`));
    return this.#conn.call(op, args, { ...extra, model: this.#id });
  }

  // Runs `build` (which may throw a CnnError for bad arguments) and then the call, all as one promise.
  async #send(op, build) {
    if (this.#disposed) throw new CnnError(`${op}: the model ${this.name} is disposed and can no longer be used`);
    const { args, transfer = [], ...extra } = build();
    return this.#call(op, args, { transfer, ...extra });
  }

  /** compile({ optimizer, loss, metrics, ... }): optimizer as in the library (a cnn.train object, its config or a name). */
  compile(config = {}) {
    return this.#send('compile', () => {
      const c = { ...plainOptions(config, 'compile') };
      if (c.optimizer && typeof c.optimizer === 'object' && typeof c.optimizer.getConfig === 'function') {
        c.optimizer = c.optimizer.getConfig();
      }
      return { args: { config: c } };
    });
  }

  /**
   * fit(x, y, options) → History, as the library's: callbacks run here, in order, with the worker's logs (the worker
   * waits for onEpochEnd, whose `stop()` works as on one thread, and not for the others); `signal` stops training
   * after the batch in progress; a learningRateSchedule function is evaluated here for every step before training.
   */
  async fit(x, y, options = {}) {
    const o = plainOptions(options, 'fit');
    const { callbacks = {}, signal, learningRateSchedule, validationData, ...rest } = o;
    if (callbacks === null || typeof callbacks !== 'object') throw new CnnError(`fit: callbacks must be an object, got ${describe(callbacks)}`);
    for (const [name, fn] of Object.entries(callbacks)) {
      if (!CALLBACKS.includes(name)) throw new CnnError(`fit: unknown callback '${name}'; known callbacks: ${CALLBACKS.join(', ')}`);
      if (fn !== undefined && typeof fn !== 'function') throw new CnnError(`fit: callbacks.${name} must be a function, got ${describe(fn)}`);
    }
    if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
      throw new CnnError(`fit: signal must be an AbortSignal, got ${describe(signal)}`);
    }
    if (learningRateSchedule !== undefined && typeof learningRateSchedule !== 'function') {
      throw new CnnError('fit: learningRateSchedule must be a function (step, totalSteps) => learningRate');
    }
    if (this.#disposed) throw new CnnError(`fit: the model ${this.name} is disposed and can no longer be used`);
    const conn = this.#conn;
    const xs = tensorArg(conn, x, 'fit: x');
    const ys = tensorArg(conn, y, 'fit: y');
    const transfer = [...xs.transfer, ...ys.transfer];
    const args = { x: xs.spec, y: ys.spec, options: rest, callbacks: Object.keys(callbacks).filter((k) => callbacks[k]) };
    if (validationData !== undefined) {
      if (!Array.isArray(validationData) || validationData.length !== 2) {
        throw new CnnError(`fit: validationData must be [x, y], got ${describe(validationData)}`);
      }
      const v = [tensorArg(conn, validationData[0], 'fit: validationData x'), tensorArg(conn, validationData[1], 'fit: validationData y')];
      args.validationData = v.map((a) => a.spec);
      transfer.push(...v[0].transfer, ...v[1].transfer);
    }
    if (learningRateSchedule) {
      const total = totalSteps(x.shape[0], o);
      if (total !== null && total > MAX_SCHEDULE_STEPS) {
        throw new CnnError(`fit: ${total} steps are too many for a learningRateSchedule in a worker (at most ${MAX_SCHEDULE_STEPS})`);
      }
      // Invalid options: fit refuses them in the worker, before it would look at a rate.
      const rates = new Float64Array(total ?? 0);
      for (let step = 0; step < rates.length; step++) rates[step] = learningRateSchedule(step, total);
      args.schedule = rates;
      transfer.push(rates.buffer);
    }

    let id = null;
    let failed = null; // an error thrown by a callback: fit stops and rejects with it, as on one thread
    const abort = () => { if (id !== null) conn.send({ type: 'abort', id }); };
    args.aborted = !!signal?.aborted;
    const onEvent = async ({ id: callId, name, args: cbArgs, ack }) => {
      let stop = false;
      try {
        if (!failed) await callbacks[name]?.(...cbArgs, ...(name === 'onEpochEnd' ? [() => { stop = true; }] : []));
      } catch (err) {
        failed = err;
        abort();
      } finally {
        if (ack) conn.send({ type: 'ack', id: callId, stop: stop || !!failed });
      }
    };
    const promise = this.#call('fit', args, { transfer, onEvent, onStart: (callId) => { id = callId; } });
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const history = await promise;
      if (failed) throw failed;
      return history;
    } catch (err) {
      throw failed ?? err;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** predict(x, { batchSize }) → Tensor. */
  async predict(x, options) {
    const r = await this.#send('predict', () => {
      const a = tensorArg(this.#conn, x, 'predict: x');
      return { args: { x: a.spec, options }, transfer: a.transfer };
    });
    return tensorResult(r);
  }

  /** evaluate(x, y, { batchSize }) → [loss, ...metrics] scalar Tensors (just the loss without metrics). */
  async evaluate(x, y, options) {
    const r = await this.#send('evaluate', () => {
      const a = tensorArg(this.#conn, x, 'evaluate: x');
      const b = tensorArg(this.#conn, y, 'evaluate: y');
      return { args: { x: a.spec, y: b.spec, options }, transfer: [...a.transfer, ...b.transfer] };
    });
    return Array.isArray(r) ? r.map(tensorResult) : tensorResult(r);
  }

  /**
   * segment(image, { size, normalize, batchSize }) → { width, height, classes, numClasses, timeMs }. `image`: what
   * model.segment takes; elements, canvases and video frames are turned into an ImageBitmap here. `normalize`:
   * undefined (v / 255), null, or { mean, std } for (v − mean) / std (a function cannot cross to the worker).
   */
  async segment(image, options = {}) {
    const o = { ...plainOptions(options, 'segment') };
    if (typeof o.normalize === 'function') {
      throw new CnnError('segment: a normalize function cannot be sent to the worker; pass { mean, std } for (v - mean) / std, null for none, or leave it out for v / 255');
    }
    if (o.normalize != null) {
      const { mean = 0, std = 1, ...other } = o.normalize;
      if (typeof o.normalize !== 'object' || Object.keys(other).length || !Number.isFinite(mean) || !Number.isFinite(std) || std === 0) {
        throw new CnnError(`segment: normalize must be { mean, std } with finite numbers and std ≠ 0, null, or left out; got ${JSON.stringify(o.normalize)}`);
      }
      o.normalize = { mean, std };
    }
    const { spec, transfer } = await imageArg(this.#conn, image);
    return this.#call('segment', { image: spec, options: o }, { transfer });
  }

  /** save({ metadata }) → Uint8Array (the file format of model.save). */
  save(options) { return this.#send('save', () => ({ args: { options } })); }

  /** getWeights() → Tensor[] in tfjs order. */
  async getWeights() { return (await this.#call('getWeights')).map(tensorResult); }

  /** setWeights(tensors): Tensors (or worker tensors) in getWeights() order. */
  setWeights(weights) {
    return this.#send('setWeights', () => {
      if (!Array.isArray(weights)) throw new CnnError(`setWeights: expected an array of Tensors, got ${describe(weights)}`);
      const got = weights.map((w, i) => tensorArg(this.#conn, w, `setWeights: weight ${i}`));
      return { args: { weights: got.map((g) => g.spec) }, transfer: got.flatMap((g) => g.transfer) };
    });
  }

  /** summary(printFn?) → the summary's lines; printFn, when given, is called with each. */
  async summary(printFn) {
    const lines = await this.#call('summary');
    if (typeof printFn === 'function') for (const line of lines) printFn(line);
    return lines;
  }

  countParams() { return this.#call('countParams'); }

  setLearningRate(learningRate) { return this.#call('setLearningRate', { learningRate }); }

  /** Frees the model in the worker (a running fit stops after its batch); idempotent. */
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.#conn.dead) await this.#conn.call('dispose', {}, { model: this.#id });
  }

  toString() { return `worker model ${this.name}`; }
}

const isA = (v, name) => typeof globalThis[name] === 'function' && v instanceof globalThis[name];

/** segment's image as it crosses: tensors as tensors, pixels as they are (cloned), DOM sources as an ImageBitmap. */
async function imageArg(conn, image) {
  if (image instanceof Tensor || image instanceof RemoteTensor) {
    const a = tensorArg(conn, image, 'segment: image');
    return { spec: a.spec, transfer: a.transfer };
  }
  if (image && typeof image === 'object' && 'data' in image && !('getContext' in image)) {
    // ImageData or { width, height, data }: cloned (one copy); the caller keeps its pixels.
    return { spec: isA(image, 'ImageData') ? image : { width: image.width, height: image.height, data: image.data }, transfer: [] };
  }
  if (isA(image, 'ImageBitmap')) return { spec: image, transfer: [] };
  const drawable = ['HTMLCanvasElement', 'OffscreenCanvas', 'HTMLImageElement', 'HTMLVideoElement', 'VideoFrame', 'SVGImageElement'];
  if (drawable.some((name) => isA(image, name))) {
    if (isA(image, 'HTMLImageElement') && (!image.complete || image.naturalWidth === 0)) {
      throw new CnnError('segment: the image is not loaded or could not be decoded; `await img.decode()` before using it');
    }
    const bitmap = await createImageBitmap(image);
    return { spec: bitmap, transfer: [bitmap] };
  }
  throw new CnnError(`segment: expected ImageData, a { width, height, data } object with RGBA bytes, a canvas, image, video, ImageBitmap or a [h, w, c] Tensor, got ${describe(image)}`);
}

/** What cnn.worker.create() resolves to: the worker's models, tensors and data, and terminate(). */
export class RemoteWorker {
  #conn;
  #terminated = false;

  constructor(conn, info) {
    this.#conn = conn;
    this.version = info.version;
    /** w.zoo.<name>(options) → RemoteModel: the library's zoo builders, run in the worker. */
    this.zoo = Object.freeze(Object.fromEntries(info.zoo.map((name) => [name, async (options) =>
      new RemoteModel(conn, await conn.call('zoo', { name, options }, { what: `zoo.${name}` }))])));
    /** w.data.shapes(options) / w.data.mnistScenes(options): generated in the worker, images and masks kept there. */
    this.data = Object.freeze(Object.fromEntries(['shapes', 'mnistScenes'].map((name) => [name, async (options) => {
      const set = await conn.call('data', { name, options }, { what: `data.${name}` });
      return { ...set, x: new RemoteTensor(conn, set.x), y: new RemoteTensor(conn, set.y) };
    }])));
  }

  /**
   * modelFromConfig(config | model, { seed }) → RemoteModel: builds model.getConfig()'s architecture in the worker.
   * Given an (unbuilt) local model, its config and seed are used, so the weights equal the local model's.
   */
  async modelFromConfig(config, { seed } = {}) {
    let c = config;
    let s = seed;
    if (c && typeof c.getConfig === 'function') {
      s ??= c.seed;
      c = c.getConfig();
    }
    if (!c || typeof c !== 'object' || !Array.isArray(c.layers)) {
      throw new CnnError(`modelFromConfig: expected model.getConfig()'s object or a model, got ${describe(config)}`);
    }
    if (s !== undefined && (!Number.isInteger(s) || s < 0 || s > 0xffffffff)) {
      throw new CnnError(`modelFromConfig: seed must be an integer in [0, 2^32), got ${s}`);
    }
    return new RemoteModel(this.#conn, await this.#conn.call('fromConfig', { config: c, seed: s }, { what: 'modelFromConfig' }));
  }

  /**
   * loadModel(bytes | ArrayBuffer | URL | path) → RemoteModel. Bytes are copied once (the caller keeps them);
   * URLs and paths are read in the worker (relative URLs resolved against the page).
   */
  async loadModel(source) {
    let arg = source;
    const transfer = [];
    if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
      const view = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      arg = view.slice();
      transfer.push(arg.buffer);
    } else if (source instanceof URL) {
      arg = source.href;
    } else if (typeof source === 'string') {
      if (!isNode && typeof location !== 'undefined') arg = new URL(source, location.href).href;
    } else {
      throw new CnnError(`loadModel: expected a Uint8Array, ArrayBuffer, URL or file path, got ${describe(source)}`);
    }
    return new RemoteModel(this.#conn, await this.#conn.call('loadModel', { source: arg }, { transfer }));
  }

  /** tensor(values, shape, dtype) → RemoteTensor kept in the worker (or a local Tensor moved there). */
  async tensor(values, shape, dtype) {
    const { spec, transfer } = values instanceof Tensor
      ? tensorArg(this.#conn, values, 'tensor')
      : { spec: { values, shape, dtype }, transfer: [] }; // cnn.tensor validates and copies in the worker
    return new RemoteTensor(this.#conn, await this.#conn.call('tensor', { tensor: spec }, { transfer }));
  }

  /** The worker's cnn.memory(), with numWorkerModels and numWorkerTensors. */
  memory() { return this.#conn.call('memory'); }

  get isTerminated() { return this.#terminated; }

  /** Ends the worker: pending calls reject, later calls reject; frees its wasm memory. */
  terminate() {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#conn.fail('the wasm-cnn worker was terminated');
  }
}

/**
 * cnn.worker.create({ threads, url, wasmUrl, wasmBinary }) → RemoteWorker, once the engine in the worker is ready.
 * `threads` goes to cnn.ready() in the worker; `url` replaces web/worker/worker.js (a bundler's copy of it);
 * `wasmUrl` / `wasmBinary` as for cnn.ready().
 */
async function create(options = {}) {
  const o = plainOptions(options, 'worker.create');
  for (const key of Object.keys(o)) {
    if (!CREATE_OPTIONS.includes(key)) throw new CnnError(`worker.create: unknown option '${key}'; known options: ${CREATE_OPTIONS.join(', ')}`);
  }
  const { threads, url, wasmUrl, wasmBinary } = o;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 256)) {
    throw new CnnError(`worker.create: threads must be an integer from 1 to 256, got ${JSON.stringify(threads)}`);
  }
  let worker;
  try {
    if (isNode) {
      const { Worker } = await nodeBuiltin('worker_threads');
      worker = new Worker(url ?? new URL('./worker.js', import.meta.url));
    } else if (typeof Worker !== 'function') {
      throw new Error('this environment has no Worker');
    } else {
      // Written out in full so that bundlers find the worker script and emit it.
      worker = url ? new Worker(url, { type: 'module' }) : new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    }
  } catch (err) {
    throw new CnnError(`worker.create: could not start a worker (${err.message})`);
  }
  const conn = new Connection(worker);
  const readyOptions = {};
  if (threads !== undefined) readyOptions.threads = threads;
  if (wasmUrl !== undefined) readyOptions.wasmUrl = wasmUrl instanceof URL ? wasmUrl.href : wasmUrl;
  if (wasmBinary !== undefined) readyOptions.wasmBinary = wasmBinary;
  let info;
  try {
    info = await conn.call('init', { readyOptions }, { what: 'worker.create' });
  } catch (err) {
    conn.fail('the wasm-cnn worker did not start');
    throw err;
  }
  return new RemoteWorker(conn, info);
}

export const worker = Object.freeze({ create });
