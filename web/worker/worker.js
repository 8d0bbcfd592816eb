// The script cnn.worker runs in its Worker (pages: a module Web Worker; Node: a worker_threads Worker): the library's
// own models, called through the messages of protocol.js. It keeps the models and the tensors that stay here (by
// number), runs one call per message, and answers each with its result or its error. Calls run concurrently the way
// they would on one thread: a predict sent while a model trains runs between two of its batches.
import * as cnn from '../index.js';
import { isNode, nodeBuiltin } from '../core/env.js';
import { encodeError, packValues, collectTransfers } from './protocol.js';

const port = isNode ? (await nodeBuiltin('worker_threads')).parentPort : self;
if (!port) throw new Error('wasm-cnn: web/worker/worker.js runs inside a Worker started by cnn.worker.create()');

const post = (message, transfer = []) => port.postMessage(message, transfer);

const models = new Map();      // id → cnn.Model
const tensors = new Map();     // id → cnn.Tensor kept in the worker (w.tensor, w.data)
const fits = new Map();        // fit call id → { controller, acks: Map<epoch, resolve> }
let nextId = 1;

// A macrotask: lets messages that are already queued (an abort sent right after fit) run first.
const yieldToMessages = () => new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

function modelInfo(id, model) {
  const info = {
    id,
    name: model.name,
    inputShape: model.inputShape,
    outputShape: model.outputShape,
    layers: model.layers.map((l) => ({ name: l.name, className: l.className, trainable: l.trainable })),
    metadata: model.metadata ?? null,
  };
  return info;
}

function addModel(model) {
  const id = nextId++;
  models.set(id, model);
  return modelInfo(id, model);
}

function modelOf(id, op) {
  const model = models.get(id);
  if (!model) throw new cnn.CnnError(`${op}: the model is disposed and can no longer be used`);
  return model;
}

/** A tensor argument: sent values (wrapped without a copy) or a tensor kept here. */
function tensorIn(t, what) {
  if (t && t.remote !== undefined) {
    const kept = tensors.get(t.remote);
    if (!kept) throw new cnn.CnnError(`${what}: the worker tensor is disposed and can no longer be used`);
    return { tensor: kept, owned: false };
  }
  return { tensor: new cnn.Tensor(t.values, t.shape, t.dtype), owned: true };
}

/** A tensor result, handed over whole: its values' buffer moves to the caller and the tensor here is disposed. */
function tensorOut(t) {
  const values = packValues(t.values(), false);
  const out = { tensor: true, values, shape: t.shape.slice(), dtype: t.dtype };
  t.dispose();
  return out;
}

async function withTensors(specs, fn) {
  const got = specs.map(([t, what]) => (t === undefined ? { tensor: undefined, owned: false } : tensorIn(t, what)));
  try {
    return await fn(...got.map((g) => g.tensor));
  } finally {
    for (const g of got) if (g.owned) g.tensor.dispose();
  }
}

/** A normalize option that crossed as data: { mean, std } → (v - mean) / std. */
function normalizeIn(normalize) {
  if (normalize === undefined || normalize === null) return normalize;
  const { mean = 0, std = 1 } = normalize;
  return (v) => (v - mean) / std;
}

async function fit(callId, model, { x, y, options, validationData, schedule, callbacks, aborted }) {
  const controller = new AbortController();
  if (aborted) controller.abort();
  const run = { controller, ack: null };
  fits.set(callId, run);
  try {
    await yieldToMessages(); // an abort sent right after the call stops fit before its first batch
    const forwarded = {};
    for (const name of callbacks) {
      forwarded[name] = async (...args) => {
        if (name !== 'onEpochEnd') {
          post({ type: 'event', id: callId, name, args, ack: false });
          return;
        }
        // The caller's onEpochEnd may call stop() (and may take its time, as it would on one thread): wait for it.
        const [epoch, logs, stop] = args;
        const answered = new Promise((resolve) => { run.ack = resolve; });
        post({ type: 'event', id: callId, name, args: [epoch, logs], ack: true });
        if (await answered) stop();
      };
    }
    const fitOptions = { ...options, callbacks: forwarded, signal: controller.signal, yieldEvery: options.yieldEvery ?? 0 };
    if (schedule) {
      const rates = schedule;
      fitOptions.learningRateSchedule = (step) => rates[step];
    }
    const specs = [[x, 'fit: x'], [y, 'fit: y']];
    if (validationData) specs.push([validationData[0], 'fit: validationData x'], [validationData[1], 'fit: validationData y']);
    return await withTensors(specs, (xt, yt, xv, yv) => {
      if (validationData) fitOptions.validationData = [xv, yv];
      return model.fit(xt, yt, fitOptions);
    });
  } finally {
    fits.delete(callId);
  }
}

function segmentImage(model, image, options) {
  const opts = { ...options };
  if ('normalize' in opts) opts.normalize = normalizeIn(opts.normalize);
  if (image.tensor || image.remote !== undefined) {
    return withTensors([[image, 'segment: image']], (t) => model.segment(t, opts));
  }
  try {
    return model.segment(image, opts);
  } finally {
    image.close?.(); // an ImageBitmap sent by the client
  }
}

/** The operations; each gets (args, model, call id) and returns a cloneable result. */
const OPS = {
  async init({ readyOptions }) {
    await cnn.ready(readyOptions);
    return { version: cnn.version, zoo: Object.keys(cnn.zoo).filter((k) => typeof cnn.zoo[k] === 'function') };
  },
  async fromConfig({ config, seed }) {
    // As cnn.sequential / cnn.model: without a seed, weights start from a random one.
    return addModel(cnn.modelFromConfig(config, seed ?? (Math.random() * 2 ** 32) >>> 0));
  },
  zoo({ name, options }) {
    const build = Object.hasOwn(cnn.zoo, name) ? cnn.zoo[name] : undefined;
    if (typeof build !== 'function') throw new cnn.CnnError(`zoo: no model named '${name}'; known: ${Object.keys(cnn.zoo).join(', ')}`);
    return addModel(build(options));
  },
  async loadModel({ source }) { return addModel(await cnn.loadModel(source)); },
  compile({ config }, model) { model.compile(config); },
  fit(args, model, id) { return fit(id, model, args); },
  predict({ x, options }, model) {
    return withTensors([[x, 'predict: x']], (t) => tensorOut(model.predict(t, options)));
  },
  evaluate({ x, y, options }, model) {
    return withTensors([[x, 'evaluate: x'], [y, 'evaluate: y']], (xt, yt) => {
      const out = model.evaluate(xt, yt, options);
      return Array.isArray(out) ? out.map(tensorOut) : tensorOut(out);
    });
  },
  segment({ image, options }, model) { return segmentImage(model, image, options); },
  save({ options }, model) { return model.save(options); },
  getWeights(_, model) { return model.getWeights().map(tensorOut); },
  setWeights({ weights }, model) {
    const got = weights.map((w, i) => tensorIn(w, `setWeights: weight ${i}`));
    try {
      model.setWeights(got.map((g) => g.tensor));
    } finally {
      for (const g of got) if (g.owned) g.tensor.dispose();
    }
  },
  summary(_, model) {
    const lines = [];
    model.summary((line) => lines.push(line));
    return lines;
  },
  countParams(_, model) { return model.countParams(); },
  setLearningRate({ learningRate }, model) { model.setLearningRate(learningRate); },
  dispose(_, __, ___, modelId) {
    models.get(modelId)?.dispose();
    models.delete(modelId);
  },
  tensor({ tensor }) {
    const t = tensor.tensor ? new cnn.Tensor(tensor.values, tensor.shape, tensor.dtype) : cnn.tensor(tensor.values, tensor.shape, tensor.dtype);
    return keep(t);
  },
  tensorData({ tensor }) {
    const t = tensorIn(tensor, 'data').tensor;
    return { tensor: true, values: t.dataSync(), shape: t.shape.slice(), dtype: t.dtype };
  },
  disposeTensor({ tensor }) {
    tensors.get(tensor.remote)?.dispose();
    tensors.delete(tensor.remote);
  },
  data({ name, options }) {
    if (!DATA.includes(name)) throw new cnn.CnnError(`data: no generator named '${name}'; known: ${DATA.join(', ')}`);
    const set = cnn.data[name](options);
    const { images, masks, ...meta } = set;
    const x = keep(new cnn.Tensor(images, [set.count, set.height, set.width, set.channels], 'float32'));
    const y = keep(new cnn.Tensor(masks, [set.count, set.height, set.width], 'int32'));
    return { ...meta, x, y };
  },
  memory() { return { ...cnn.memory(), numWorkerModels: models.size, numWorkerTensors: tensors.size }; },
};

// The generators of cnn.data whose results are images and masks (kept here as tensors).
const DATA = ['shapes', 'mnistScenes'];

function keep(t) {
  const id = nextId++;
  tensors.set(id, t);
  return { remote: id, shape: t.shape.slice(), dtype: t.dtype };
}

async function handleCall({ id, op, model: modelId, args }) {
  try {
    const handler = Object.hasOwn(OPS, op) ? OPS[op] : undefined;
    if (!handler) throw new cnn.CnnError(`wasm-cnn worker: unknown operation '${op}'`);
    const needsModel = modelId !== undefined && op !== 'dispose';
    const model = needsModel ? modelOf(modelId, op) : undefined;
    const value = await handler(args ?? {}, model, id, modelId);
    post({ type: 'result', id, value }, collectTransfers(value));
  } catch (err) {
    post({ type: 'error', id, error: encodeError(err) });
  }
}

function onMessage(message) {
  if (message.type === 'call') handleCall(message);
  else if (message.type === 'abort') fits.get(message.id)?.controller.abort();
  else if (message.type === 'ack') {
    const run = fits.get(message.id);
    const resolve = run?.ack;
    if (run) run.ack = null;
    resolve?.(!!message.stop);
  }
}

// Messages that arrive before this line runs (during the imports above) wait in the port's queue.
if (isNode) port.on('message', onMessage);
else self.onmessage = (event) => onMessage(event.data);
