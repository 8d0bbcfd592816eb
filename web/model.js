// Models: a graph of layers backed by one C model in wasm memory. compile / fit / predict / evaluate follow tfjs;
// fit makes one wasm call per batch (forward, loss, backward and update all happen in C) and yields to the event
// loop between batches so that pages stay responsive and callbacks fire.
import { CnnError, engine, check, checkId, heapF32, heapI32, scratch } from './engine.js';
import { Tensor, wrap, scalar, shapeSize, describe } from './tensor.js';
import { layers as layerFactories, input as inputFn, LAYER_CLASSES } from './layers.js';
import './layers-blocks.js'; // registers the block layers, so loadModel can rebuild them
import './layers-segmentation.js';
import { topologicalLayers, SymbolicTensor } from './symbolic.js';
import { parseOptimizer, parseLoss, LOSSES } from './optimizers.js';
import { lint } from './lint.js';
import { mulberry32 } from './random.js';
import { parseMetrics, MetricCounts } from './metrics.js';
import { parseAugment, drawTransform, copyTransformed } from './augment.js';

const models = { live: 0 };
const finalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((handle) => {
    models.live--;
    try { engine().cnn_model_free(handle); } catch { /* engine gone */ }
    console.warn('wasm-cnn: a model was garbage-collected without dispose(); call model.dispose() to free it');
  })
  : null;

export function liveModels() { return models.live; }

/** Records the C nodes each layer creates, and the parameters they own. */
class Builder {
  constructor(handle) { this.handle = handle; this.e = engine(); this.nodes = []; }
  add(fn, ...args) {
    const id = checkId(this.e[fn](this.handle, ...args), this.currentLayer?.name);
    this.nodes.push(id);
    return id;
  }
}

const yieldToEventLoop = typeof setImmediate === 'function'
  ? () => new Promise((resolve) => setImmediate(resolve))
  : () => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(0);
  });

export class Model {
  #handle = 0;
  #fitting = false;
  #disposed = false;
  #compiled = null;
  #capacity = 0;
  #withGrads = false;

  constructor({ inputs, outputs, name, seed } = {}) {
    this.name = name ?? 'model';
    this.seed = seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : checkSeed(seed, 'model');
    this.graphLayers = []; // every layer, inputs first, in build order
    if (inputs !== undefined || outputs !== undefined) this.#setGraph(inputs, outputs);
  }

  #setGraph(inputs, outputs) {
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const outs = Array.isArray(outputs) ? outputs : [outputs];
    for (const t of [...ins, ...outs]) {
      if (!(t instanceof SymbolicTensor)) {
        throw new CnnError(`model: inputs and outputs must come from cnn.input() and layer.apply(), got ${describe(t)}`);
      }
    }
    for (const t of outs) {
      if (t.sourceLayer.returnIndices && t.outputIndex === 1) {
        throw new CnnError(`model: the pooling indices of ${t.sourceLayer.name} can only feed maxUnpooling2d, not be a model output`);
      }
    }
    if (ins.length !== 1 || outs.length !== 1) {
      throw new CnnError(`model: exactly one input and one output are supported, got ${ins.length} and ${outs.length}`);
    }
    this.inputs = ins;
    this.outputs = outs;
    this.graphLayers = topologicalLayers(ins, outs);
  }

  /** tfjs's model.layers: every layer, the InputLayer included (Sequential leaves it out, as tfjs does). */
  get layers() { return this.graphLayers.slice(); }

  get inputShape() { return this.inputs?.[0].shape ?? null; }
  get outputShape() { return this.outputs?.[0].shape ?? null; }
  get built() { return this.#handle !== 0; }

  getLayer(name) {
    const layer = this.layers.find((l) => l.name === name);
    if (!layer) throw new CnnError(`getLayer: no layer named '${name}'; layers: ${this.layers.map((l) => l.name).join(', ')}`);
    return layer;
  }

  /** Creates the C model (once): nodes for every layer, weights initialised from the seed. */
  build() {
    this.#requireLive(this.name);
    if (this.#handle) return this.#handle;
    if (!this.outputs) throw new CnnError(`${this.name}: the model has no layers with an inputShape yet`);
    const e = engine();
    const handle = e.cnn_model_create(this.seed);
    if (!handle) check(-3, { prefix: this.name });
    const builder = new Builder(handle);
    const nodeOf = new Map(); // SymbolicTensor -> C node id
    try {
      for (const layer of this.graphLayers) {
        builder.currentLayer = layer;
        const firstParam = e.cnn_model_param_count(handle);
        const firstNode = builder.nodes.length;
        const ids = (layer.inbound ?? []).map((t) => nodeOf.get(t));
        const out = layer.build(builder, ids);
        const outs = Array.isArray(out) ? out : [out];
        layer.outputs.forEach((t, i) => nodeOf.set(t, outs[i]));
        layer.engineNodes = builder.nodes.slice(firstNode);
        layer.paramIndices = [];
        for (let p = firstParam; p < e.cnn_model_param_count(handle); p++) layer.paramIndices.push(p);
        layer.model = this;
      }
      check(e.cnn_model_set_output(handle, nodeOf.get(this.outputs[0])));
    } catch (err) {
      e.cnn_model_free(handle);
      throw err;
    }
    this.#handle = handle;
    models.live++;
    finalizer?.register(this, handle, this);
    for (const layer of this.graphLayers) if (!layer.trainable) this.onTrainableChanged(layer);
    return handle;
  }

  onTrainableChanged(layer) {
    if (!this.#handle) return;
    for (const id of layer.engineNodes) check(engine().cnn_model_set_trainable(this.#handle, id, layer.trainable ? 1 : 0));
  }

  /** The model's weights in tfjs order: trainable weights layer by layer, then the non-trainable ones. */
  #weightList(what = 'getWeights') {
    this.#requireLive(what);
    this.build();
    const trainable = [];
    const frozen = [];
    for (const layer of this.graphLayers) {
      layer.weightSpecs().forEach((spec, i) => {
        const entry = { layer, spec, index: layer.paramIndices[i], name: `${layer.name}/${spec.name}` };
        (layer.trainable && spec.trainable !== false ? trainable : frozen).push(entry);
      });
    }
    return [...trainable, ...frozen];
  }

  #readParam(entry, grad = false) {
    const e = engine();
    const ptr = grad ? e.cnn_model_param_grad(this.#handle, entry.index) : e.cnn_model_param(this.#handle, entry.index, 0, 0);
    const size = shapeSize(entry.spec.shape);
    return wrap(heapF32(ptr, size).slice(), entry.spec.shape.slice());
  }

  #checkParam(entry, tensor, what) {
    if (!(tensor instanceof Tensor)) throw new CnnError(`${what}: expected a Tensor for ${entry.name}, got ${describe(tensor)}`);
    const expected = entry.spec.shape;
    if (tensor.shape.length !== expected.length || tensor.shape.some((d, i) => d !== expected[i])) {
      throw new CnnError(`${what}: ${entry.name} expects shape [${expected}], got [${tensor.shape}]`);
    }
    const values = tensor.values();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new CnnError(`${what}: ${entry.name} value ${i} is ${values[i]}; weights must be finite`);
    }
  }

  /** Checks every tensor before writing any, so a bad list leaves the weights as they were (as tfjs does). */
  #writeParams(entries, tensors, what) {
    entries.forEach((entry, i) => this.#checkParam(entry, tensors[i], what));
    entries.forEach((entry, i) => {
      const values = tensors[i].values();
      heapF32(engine().cnn_model_param(this.#handle, entry.index, 0, 0), values.length).set(values);
    });
  }

  getWeights() { return this.#weightList().map((entry) => this.#readParam(entry)); }

  setWeights(weights) {
    const list = this.#weightList();
    if (!Array.isArray(weights) || weights.length !== list.length) {
      throw new CnnError(`setWeights: the model has ${list.length} weights (${list.map((w) => w.name).join(', ')}), ` +
        `got ${Array.isArray(weights) ? weights.length : describe(weights)}`);
    }
    this.#writeParams(list, weights, 'setWeights');
  }

  getLayerWeights(layer) {
    return this.#weightList().filter((w) => w.layer === layer).map((entry) => this.#readParam(entry));
  }

  setLayerWeights(layer, weights) {
    const list = this.#weightList().filter((w) => w.layer === layer);
    if (!Array.isArray(weights) || weights.length !== list.length) {
      throw new CnnError(`${layer.name}.setWeights: expected ${list.length} weights, got ${Array.isArray(weights) ? weights.length : describe(weights)}`);
    }
    this.#writeParams(list, weights, `${layer.name}.setWeights`);
  }

  /** Weight names in getWeights() order. */
  weightNames() { return this.#weightList().map((w) => w.name); }

  countParams() { return this.layers.reduce((n, l) => n + l.countParams(), 0); }

  compile(config = {}) {
    const allowed = new Set(['optimizer', 'loss', 'metrics', 'clipNorm', 'classWeights', 'ignoreLabel']);
    for (const key of Object.keys(config)) {
      if (!allowed.has(key)) throw new CnnError(`compile: unknown option '${key}'; known options: ${[...allowed].join(', ')}`);
    }
    const handle = this.build();
    const loss = parseLoss(config.loss);
    const opt = parseOptimizer(config.optimizer, config.clipNorm);
    const metricList = parseMetrics(config.metrics, loss);
    const e = engine();
    const ptr = e.malloc(40);
    const dv = new DataView(e.memory.buffer, ptr, 40);
    dv.setInt32(0, opt.kind, true);
    dv.setFloat32(4, opt.learningRate, true);
    dv.setFloat32(8, opt.momentum, true);
    dv.setInt32(12, opt.nesterov ? 1 : 0, true);
    dv.setFloat32(16, opt.beta1, true);
    dv.setFloat32(20, opt.beta2, true);
    dv.setFloat32(24, opt.epsilon, true);
    dv.setFloat32(28, opt.weightDecay, true);
    dv.setFloat32(32, opt.clipNorm, true);
    try {
      check(e.cnn_model_compile(handle, LOSSES[loss], ptr), { prefix: 'compile' });
    } finally {
      e.free(ptr);
    }
    this.#setLossOptions(handle, loss, config);
    for (const finding of lint(this)) console.warn(`wasm-cnn: ${finding.message}`);
    this.#compiled = { loss, optimizer: opt, metrics: metricList, config: { ...config } };
    this.optimizer = opt;
    this.loss = loss;
    return this;
  }

  get compileConfig() { return this.#compiled; }

  /** classWeights and ignoreLabel (sparse cross-entropy only; PyTorch's weight and ignore_index meaning). */
  #setLossOptions(handle, loss, { classWeights, ignoreLabel }) {
    const e = engine();
    const sparse = loss === 'sparseCategoricalCrossentropy';
    if ((classWeights !== undefined || ignoreLabel !== undefined) && !sparse) {
      throw new CnnError(`compile: classWeights and ignoreLabel apply to 'sparseCategoricalCrossentropy', not '${loss}'`);
    }
    if (ignoreLabel !== undefined && !Number.isInteger(ignoreLabel)) {
      throw new CnnError(`compile: ignoreLabel must be an integer, got ${JSON.stringify(ignoreLabel)}`);
    }
    check(e.cnn_model_set_ignore_label(handle, ignoreLabel === undefined ? 0 : 1, ignoreLabel ?? 0), { prefix: 'compile' });
    const classes = this.outputs[0].sampleShape.at(-1);
    if (classWeights === undefined || classWeights === null) {
      check(e.cnn_model_set_class_weights(handle, 0, 0), { prefix: 'compile' });
      return;
    }
    const weights = Array.isArray(classWeights) || ArrayBuffer.isView(classWeights) ? Array.from(classWeights) : null;
    if (!weights || weights.length !== classes || weights.some((w) => typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w))) {
      throw new CnnError(`compile: classWeights must be ${classes} finite numbers >= 0 (one per class), got ${JSON.stringify(classWeights)}`);
    }
    const ptr = e.malloc(4 * classes);
    try {
      heapF32(ptr, classes).set(weights);
      check(e.cnn_model_set_class_weights(handle, ptr, classes), { prefix: 'compile' });
    } finally {
      e.free(ptr);
    }
  }

  /** Changes the learning rate between batches (for schedules, e.g. from an onEpochEnd callback). */
  setLearningRate(learningRate) {
    this.#requireCompiled('setLearningRate');
    check(engine().cnn_model_set_learning_rate(this.#handle, learningRate), { prefix: this.name });
    this.#compiled.optimizer.learningRate = learningRate;
  }

  #plan(capacity, withGrads) {
    const need = Math.max(capacity, this.#capacity);
    const grads = withGrads || this.#withGrads;
    if (need === this.#capacity && grads === this.#withGrads) return;
    check(engine().cnn_model_plan(this.build(), need, grads ? 1 : 0), { prefix: this.name });
    this.#capacity = need;
    this.#withGrads = grads;
  }

  #checkX(x, what) {
    if (!(x instanceof Tensor)) throw new CnnError(`${what}: x must be a Tensor, got ${describe(x)}`);
    const expected = this.inputs[0].sampleShape;
    const ok = x.rank === expected.length + 1 && expected.every((d, i) => x.shape[i + 1] === d);
    if (!ok) {
      throw new CnnError(`${what}: expected input of shape [null,${expected}], got [${x.shape}]` +
        ` (layer ${this.inputs[0].sourceLayer.name})`);
    }
    if (x.dtype !== 'float32') throw new CnnError(`${what}: x must be float32, got ${x.dtype}`);
    x.values(); // throws if disposed; NaN / Infinity are caught by the engine, batch by batch, at wasm speed
    return x.shape[0];
  }

  /** Validates labels for the compiled loss; returns the number of label values per sample. */
  #checkY(y, n, what) {
    if (!(y instanceof Tensor)) throw new CnnError(`${what}: y must be a Tensor, got ${describe(y)}`);
    const out = this.outputs[0].sampleShape;
    const classes = out[out.length - 1];
    if (y.shape[0] !== n) throw new CnnError(`${what}: x has ${n} samples but y has ${y.shape[0]}`);
    if (this.#compiled.loss === 'sparseCategoricalCrossentropy') {
      const rows = out.slice(0, -1);
      const expected = [n, ...rows];
      const got = y.shape[y.rank - 1] === 1 && y.rank === expected.length + 1 ? y.shape.slice(0, -1) : y.shape;
      if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
        throw new CnnError(`${what}: sparse labels for output [null,${out}] must have shape [${expected}], got [${y.shape}]`);
      }
      const values = y.values();
      const ignore = this.#compiled.config.ignoreLabel;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!(Number.isInteger(v) && v >= 0 && v < classes) && v !== ignore) {
          throw new CnnError(`${what}: label ${i} is ${v}, expected an integer from 0 to ${classes - 1}` +
            ` (the output has ${classes} classes)`);
        }
      }
      return shapeSize(rows);
    }
    if (y.rank !== out.length + 1 || out.some((d, i) => y.shape[i + 1] !== d)) {
      throw new CnnError(`${what}: targets for output [null,${out}] must have shape [${n},${out}], got [${y.shape}]`);
    }
    const values = y.values();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new CnnError(`${what}: target value ${i} is ${values[i]}; targets must be finite`);
    }
    return shapeSize(out);
  }

  #requireLive(what) {
    if (this.#disposed) throw new CnnError(`${what}: the model ${this.name} is disposed and can no longer be used`);
  }

  #requireCompiled(what) {
    this.#requireLive(what);
    if (!this.#compiled) throw new CnnError(`${what}: compile the model first (model.compile({ optimizer, loss }))`);
  }

  /** Copies samples (by index) of x, and of y when given, into the engine's input and label buffers. */
  /**
   * Copies samples (by index) of x, and of y when given, into the engine's input and label buffers; with `augment`
   * ({ options, random }) each sample goes through a random flip/rotation, its per-pixel labels through the same.
   */
  #loadBatch(x, y, indices, start, count, labelSize, augment = null) {
    const e = engine();
    const shape = this.inputs[0].sampleShape;
    const sampleSize = shapeSize(shape);
    const xs = x.values();
    const inPtr = e.cnn_model_input_buffer(this.#handle);
    const heap = heapF32(inPtr, count * sampleSize);
    const transforms = augment ? Array.from({ length: count }, () => drawTransform(augment.options, augment.random)) : null;
    for (let i = 0; i < count; i++) {
      const s = indices ? indices[start + i] : start + i;
      if (transforms) copyTransformed(xs, s * sampleSize, heap, i * sampleSize, shape[0], shape[1], shape[2], transforms[i]);
      else heap.set(xs.subarray(s * sampleSize, (s + 1) * sampleSize), i * sampleSize);
    }
    if (!y) return;
    const ys = y.values();
    const labelPtr = e.cnn_model_label_buffer(this.#handle);
    const labels = this.#compiled.loss === 'sparseCategoricalCrossentropy'
      ? heapI32(labelPtr, count * labelSize) : heapF32(labelPtr, count * labelSize);
    // Labels move with the pixels when they are per pixel ([h, w] or [h, w, k] maps of the input's size).
    const perPixel = transforms && labelSize % (shape[0] * shape[1]) === 0 && this.outputs[0].sampleShape.length === 3 &&
      this.outputs[0].sampleShape[0] === shape[0] && this.outputs[0].sampleShape[1] === shape[1];
    for (let i = 0; i < count; i++) {
      const s = indices ? indices[start + i] : start + i;
      if (perPixel) {
        copyTransformed(ys, s * labelSize, labels, i * labelSize, shape[0], shape[1], labelSize / (shape[0] * shape[1]), transforms[i]);
      } else {
        labels.set(ys.subarray(s * labelSize, (s + 1) * labelSize), i * labelSize);
      }
    }
  }

  #stats() { return heapF32(scratch(), 4).slice(); }

  /** Runs an engine call on the loaded batch; a non-finite input is reported with its sample number in x. */
  #run(status, what, x, indices, start, count) {
    if (status !== -5 && status !== 5) return check(status, { prefix: what });
    const size = shapeSize(this.inputs[0].sampleShape);
    const xs = x.values();
    for (let i = 0; i < count; i++) {
      const s = indices ? indices[start + i] : start + i;
      for (let j = 0; j < size; j++) {
        const v = xs[s * size + j];
        if (!Number.isFinite(v)) {
          throw new CnnError(`${what}: input sample ${s} has ${v} at value ${j} (of ${size}); inputs must be finite`, 5);
        }
      }
    }
    return check(status, { prefix: what });
  }

  async fit(x, y, options = {}) {
    const allowed = ['epochs', 'batchSize', 'validationSplit', 'validationData', 'shuffle', 'seed', 'verbose',
      'callbacks', 'signal', 'initialEpoch', 'yieldEvery', 'learningRateSchedule', 'recordGradientNorms', 'augment'];
    for (const key of Object.keys(options)) {
      if (!allowed.includes(key)) throw new CnnError(`fit: unknown option '${key}'; known options: ${allowed.join(', ')}`);
    }
    if (this.#fitting) {
      throw new CnnError('fit: this model is already training; wait for the running fit() to finish before calling fit() again');
    }
    this.#requireCompiled('fit');
    this.#fitting = true;
    try {
      return await this.#fit(x, y, options);
    } finally {
      this.#fitting = false;
    }
  }

  async #fit(x, y, options) {
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    const initialEpoch = options.initialEpoch ?? 0;
    if (!Number.isInteger(epochs) || epochs < 0) throw new CnnError(`fit: epochs must be an integer >= 0, got ${epochs}`);
    checkBatchSize(batchSize, 'fit');
    const n = this.#checkX(x, 'fit');
    const labelSize = this.#checkY(y, n, 'fit');
    let trainCount = n;
    let validation = null;
    if (options.validationData) {
      const [xv, yv] = options.validationData;
      const nv = this.#checkX(xv, 'fit: validationData');
      this.#checkY(yv, nv, 'fit: validationData');
      validation = { x: xv, y: yv, start: 0, count: nv };
    } else if (options.validationSplit !== undefined) {
      const split = options.validationSplit;
      if (typeof split !== 'number' || !(split > 0 && split < 1)) throw new CnnError(`fit: validationSplit must be in (0, 1), got ${split}`);
      // tfjs takes the validation samples from the end, before shuffling.
      trainCount = Math.floor(n * (1 - split));
      if (trainCount < 1 || trainCount === n) throw new CnnError(`fit: validationSplit ${split} of ${n} samples leaves no training or no validation samples`);
      validation = { x, y, start: trainCount, count: n - trainCount };
    }
    if (trainCount === 0) throw new CnnError('fit: no training samples');
    const seed = options.seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : checkSeed(options.seed, 'fit');
    const random = mulberry32(seed);
    const augmentOptions = parseAugment(options.augment, this.inputs[0].sampleShape);
    const augment = augmentOptions ? { options: augmentOptions, random: mulberry32(seed ^ 0x9e3779b9) } : null;
    const e = engine();
    this.#plan(Math.min(batchSize, trainCount), true);
    e.cnn_model_set_seed(this.#handle, seed);
    const callbacks = options.callbacks ?? {};
    const signal = options.signal;
    const history = { epoch: [], history: { loss: [] }, params: { epochs, batchSize, samples: trainCount } };
    const metricNames = this.#compiled.metrics;
    for (const name of metricNames) history.history[name] = [];
    if (validation) {
      history.history.val_loss = [];
      for (const name of metricNames) history.history[`val_${name}`] = [];
    }
    const classes = this.outputs[0].sampleShape.at(-1);
    const epochCounts = new MetricCounts(metricNames, classes);
    const batchCounts = new MetricCounts(metricNames, classes);
    if (epochCounts.wantsIoU) MetricCounts.drain(this.#handle, classes);
    const indices = new Int32Array(trainCount).map((_, i) => i);
    const batchesPerEpoch = Math.ceil(trainCount / batchSize);
    const schedule = options.learningRateSchedule;
    if (schedule !== undefined && typeof schedule !== 'function') {
      throw new CnnError('fit: learningRateSchedule must be a function (step, totalSteps) => learningRate');
    }
    const totalSteps = batchesPerEpoch * (epochs - initialEpoch);
    let step = 0;
    const norms = options.recordGradientNorms ? this.#gradientNormRecorder() : null;
    if (norms) history.gradientNorms = [];
    const yieldEvery = options.yieldEvery ?? 15; // ms of work between yields to the event loop
    let lastYield = Date.now();
    let stopped = false;
    const stop = () => { stopped = true; };
    this.stopTraining = false;
    await callbacks.onTrainBegin?.({});
    for (let epoch = initialEpoch; epoch < epochs && !stopped; epoch++) {
      if (options.shuffle ?? true) {
        for (let i = trainCount - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          const t = indices[i]; indices[i] = indices[j]; indices[j] = t;
        }
      }
      await callbacks.onEpochBegin?.(epoch, {});
      epochCounts.reset();
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (signal?.aborted || this.stopTraining) { stopped = true; break; }
        const start = b * batchSize;
        const count = Math.min(batchSize, trainCount - start);
        this.#loadBatch(x, y, indices, start, count, labelSize, augment);
        if (schedule) this.setLearningRate(this.#scheduledRate(schedule, step, totalSteps));
        this.#run(e.cnn_model_train_step(this.#handle, count, scratch()), `fit (epoch ${epoch + 1}, batch ${b + 1})`, x, indices, start, count);
        step++;
        const stats = this.#stats();
        batchCounts.reset();
        batchCounts.add(stats, this.#handle, count);
        epochCounts.merge(batchCounts);
        const logs = { batch: b, size: count, loss: stats[0], ...batchCounts.values() };
        if (norms) {
          logs.gradientNorms = norms.read();
          norms.accumulate(logs.gradientNorms);
        }
        await callbacks.onBatchEnd?.(b, logs);
        if (Date.now() - lastYield >= yieldEvery) {
          await yieldToEventLoop();
          lastYield = Date.now();
        }
      }
      if (epochCounts.lossWeight === 0) break;
      const logs = { loss: epochCounts.loss, ...epochCounts.values() };
      if (validation) {
        const val = this.#evaluateRange(validation.x, validation.y, validation.start, validation.count, batchSize);
        logs.val_loss = val.loss;
        for (const [name, v] of Object.entries(val.values())) logs[`val_${name}`] = v;
      }
      if (norms) history.gradientNorms.push(norms.epochMeans());
      history.epoch.push(epoch);
      for (const [k, v] of Object.entries(logs)) history.history[k]?.push(v);
      await callbacks.onEpochEnd?.(epoch, logs, stop);
      await yieldToEventLoop();
      lastYield = Date.now();
    }
    await callbacks.onTrainEnd?.({});
    return history;
  }

  #scheduledRate(schedule, step, totalSteps) {
    const rate = schedule(step, totalSteps);
    if (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate)) {
      throw new CnnError(`fit: learningRateSchedule(${step}, ${totalSteps}) returned ${rate}; expected a positive number`);
    }
    return rate;
  }

  /** Per-layer L2 norms of the weight gradients of each batch (all of a layer's trainable weights together). */
  #gradientNormRecorder() {
    const e = engine();
    const entries = this.#weightList().filter((w) => w.layer.trainable && w.spec.trainable !== false);
    const count = e.cnn_model_param_count(this.#handle);
    let sums = new Map();
    let batches = 0;
    return {
      read: () => {
        const ptr = e.malloc(4 * count);
        try {
          check(e.cnn_model_grad_norms(this.#handle, ptr), { prefix: 'fit' });
          const all = heapF32(ptr, count);
          const squares = new Map();
          for (const w of entries) squares.set(w.layer.name, (squares.get(w.layer.name) ?? 0) + all[w.index] ** 2);
          return Object.fromEntries([...squares].map(([name, sq]) => [name, Math.sqrt(sq)]));
        } finally {
          e.free(ptr);
        }
      },
      accumulate: (norms) => {
        batches++;
        for (const [name, v] of Object.entries(norms)) sums.set(name, (sums.get(name) ?? 0) + v);
      },
      epochMeans: () => {
        const means = Object.fromEntries([...sums].map(([name, v]) => [name, v / batches]));
        sums = new Map();
        batches = 0;
        return means;
      },
    };
  }

  #evaluateRange(x, y, start, count, batchSize) {
    const e = engine();
    const labelSize = this.#checkY(y, x.shape[0], 'evaluate');
    this.#plan(Math.min(batchSize, count), false);
    const counts = new MetricCounts(this.#compiled.metrics, this.outputs[0].sampleShape.at(-1));
    if (counts.wantsIoU) MetricCounts.drain(this.#handle, counts.classes);
    for (let s = 0; s < count; s += this.#capacity) {
      const k = Math.min(this.#capacity, count - s);
      this.#loadBatch(x, y, null, start + s, k, labelSize);
      this.#run(e.cnn_model_evaluate(this.#handle, k, scratch()), 'evaluate', x, null, start + s, k);
      counts.add(this.#stats(), this.#handle, k);
    }
    return counts;
  }

  evaluate(x, y, { batchSize = 32 } = {}) {
    this.#requireCompiled('evaluate');
    checkBatchSize(batchSize, 'evaluate');
    const n = this.#checkX(x, 'evaluate');
    this.#checkY(y, n, 'evaluate');
    const counts = this.#evaluateRange(x, y, 0, n, batchSize);
    if (!this.#compiled.metrics.length) return scalar(counts.loss);
    return [scalar(counts.loss), ...Object.values(counts.values()).map(scalar)];
  }

  predict(x, { batchSize = 32 } = {}) {
    this.#requireLive('predict');
    const handle = this.build();
    const n = this.#checkX(x, 'predict');
    checkBatchSize(batchSize, 'predict');
    this.#plan(Math.min(batchSize, Math.max(n, 1)), false);
    const e = engine();
    const outShape = this.outputs[0].sampleShape;
    const outSize = shapeSize(outShape);
    const result = new Float32Array(n * outSize);
    for (let s = 0; s < n; s += this.#capacity) {
      const k = Math.min(this.#capacity, n - s);
      this.#loadBatch(x, null, null, s, k, 0);
      this.#run(e.cnn_model_forward(handle, k), 'predict', x, null, s, k);
      result.set(heapF32(e.cnn_model_output_buffer(handle), k * outSize), s * outSize);
    }
    return wrap(result, [n, ...outShape]);
  }

  /** Loss, d loss / d input and d loss / d weight (getWeights() order) for one batch, without updating anything. */
  computeGradients(x, y) {
    this.#requireCompiled('computeGradients');
    const n = this.#checkX(x, 'computeGradients');
    const labelSize = this.#checkY(y, n, 'computeGradients');
    this.#plan(n, true);
    const e = engine();
    this.#loadBatch(x, y, null, 0, n, labelSize);
    this.#run(e.cnn_model_compute_gradients(this.#handle, n, scratch()), 'computeGradients', x, null, 0, n);
    const [loss] = this.#stats();
    const inSize = shapeSize(this.inputs[0].sampleShape);
    const inputGradient = wrap(heapF32(e.cnn_model_input_grad_buffer(this.#handle), n * inSize).slice(), x.shape.slice());
    const gradients = this.#weightList().map((entry) => this.#readParam(entry, true));
    return { loss, inputGradient, gradients };
  }

  summary(lineLength, positions, printFn = console.log) {
    if (typeof lineLength === 'function') printFn = lineLength;
    this.build();
    const rows = [['Layer (type)', 'Output shape', 'Param #', 'MACs']];
    let macs = 0;
    for (const layer of this.graphLayers) {
      const shape = layer.outputs.map((t) => `[${t.shape.map((d) => d ?? 'null')}]`).join(' ');
      macs += layer.macs();
      rows.push([`${layer.name} (${layer.className})`, shape, String(layer.countParams()), String(layer.macs())]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)) + 2);
    const line = (r) => r.map((cell, c) => cell.padEnd(widths[c])).join('');
    const total = this.countParams();
    const trainable = this.#weightList().filter((w) => w.layer.trainable && w.spec.trainable !== false)
      .reduce((s, w) => s + shapeSize(w.spec.shape), 0);
    const rule = '_'.repeat(widths.reduce((a, b) => a + b, 0));
    const out = [rule, line(rows[0]), '='.repeat(rule.length)];
    for (const r of rows.slice(1)) out.push(line(r));
    out.push('='.repeat(rule.length), `Total params: ${total}`, `Trainable params: ${trainable}`,
      `Non-trainable params: ${total - trainable}`, `Multiply-adds per sample: ${macs}`, rule);
    for (const finding of lint(this)) out.push(`Warning: ${finding.message}`);
    for (const l of out) printFn(l);
  }

  getConfig() {
    return {
      name: this.name,
      layers: this.graphLayers.map((layer) => ({
        className: layer.className,
        config: layer.getConfig(),
        inbound: (layer.inbound ?? []).map((t) => [t.sourceLayer.name, t.outputIndex]),
      })),
      inputs: this.inputs.map((t) => [t.sourceLayer.name, t.outputIndex]),
      outputs: this.outputs.map((t) => [t.sourceLayer.name, t.outputIndex]),
    };
  }

  dispose() {
    if (this.#disposed) return;
    if (this.#fitting) this.stopTraining = true;
    this.#disposed = true;
    if (this.#handle) {
      finalizer?.unregister(this);
      engine().cnn_model_free(this.#handle);
      models.live--;
      this.#handle = 0;
    }
  }

  get isDisposed() { return this.#disposed; }
}

export class Sequential extends Model {
  constructor({ layers, name, seed } = {}) {
    super({ name: name ?? 'sequential', seed });
    if (layers !== undefined && !Array.isArray(layers)) throw new CnnError('sequential: layers must be an array');
    for (const layer of layers ?? []) this.add(layer);
  }

  add(layer) {
    if (!layer || typeof layer.computeOutputShape !== 'function') throw new CnnError(`sequential.add: expected a layer, got ${describe(layer)}`);
    if (layer.multipleOutputs) throw new CnnError(`sequential.add: ${layer.name} has two outputs (returnIndices); build the model with cnn.input() and apply() instead`);
    if (this.built) throw new CnnError(`sequential.add: ${layer.name} cannot be added after the model is built (by compile, fit, predict, getWeights or summary); add all layers first`);
    if (!this.outputs) {
      if (!layer.inputShapeOption) throw new CnnError(`sequential: the first layer (${layer.name}) needs an inputShape option, e.g. inputShape: [28, 28, 1]`);
      const inp = inputFn({ shape: layer.inputShapeOption, name: `${layer.name}_input` });
      this.inputs = [inp];
      this.outputs = [layer.apply(inp)];
    } else {
      this.outputs = [layer.apply(this.outputs[0])];
    }
    this.graphLayers = topologicalLayers(this.inputs, this.outputs);
  }

  get layers() { return this.graphLayers.filter((l) => l.className !== 'InputLayer'); }

  getConfig() { return { ...super.getConfig(), sequential: true }; }
}

function checkBatchSize(batchSize, what) {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 65536) {
    throw new CnnError(`${what}: batchSize must be an integer from 1 to 65536, got ${batchSize}`);
  }
}

function checkSeed(seed, what) {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CnnError(`${what}: seed must be an integer in [0, 2^32), got ${seed}`);
  return seed;
}

/** Rebuilds a model from getConfig() output (used by loadModel). */
export function modelFromConfig(config, seed = 0) {
  const classOf = (className) => {
    const Cls = LAYER_CLASSES[className];
    if (!Cls) throw new CnnError(`loadModel: unknown layer class '${className}'`);
    return Cls;
  };
  if (config.sequential) {
    // A Sequential comes back as one: its layers in order, the first carrying the input shape.
    const inputShape = config.layers.find((l) => l.className === 'InputLayer')?.config.shape;
    config.layers.forEach((l, i) => {
      const expected = i === 0 ? [] : [config.layers[i - 1].config?.name];
      const got = (l.inbound ?? []).map(([name]) => name);
      if (got.length !== expected.length || got.some((name, k) => name !== expected[k])) {
        throw new CnnError(`loadModel: sequential layer ${l.config?.name} reads [${got}], expected [${expected}]`);
      }
    });
    const chain = config.layers.filter((l) => l.className !== 'InputLayer').map(({ className, config: c }, i) => {
      const Cls = classOf(className);
      return new Cls(i === 0 ? { ...c, inputShape: c.inputShape ?? inputShape } : c);
    });
    return new Sequential({ layers: chain, name: config.name, seed });
  }
  const byName = new Map();
  for (const { className, config: layerConfig, inbound } of config.layers) {
    const Cls = classOf(className);
    if (className === 'InputLayer') {
      const t = inputFn(layerConfig);
      byName.set(layerConfig.name, { layer: t.sourceLayer, outputs: [t] });
      continue;
    }
    const { inputShape, ...rest } = layerConfig;
    const layer = new Cls(rest);
    const ins = inbound.map(([name, index]) => {
      const src = byName.get(name);
      if (!src) throw new CnnError(`loadModel: layer ${layerConfig.name} reads unknown layer '${name}'`);
      return src.outputs[index];
    });
    const out = layer.apply(ins.length === 1 ? ins[0] : ins);
    byName.set(layer.name, { layer, outputs: Array.isArray(out) ? out : [out] });
  }
  const pick = ([name, index]) => {
    const src = byName.get(name);
    if (!src) throw new CnnError(`loadModel: unknown model input/output '${name}'`);
    return src.outputs[index];
  };
  return new Model({ inputs: config.inputs.map(pick), outputs: config.outputs.map(pick), name: config.name, seed });
}

export { layerFactories };
