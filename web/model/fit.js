// The fit loop, apart from the model (as tfjs's training_tensors.ts and ConvNetJS's trainers): epochs, shuffling,
// batches, schedules, callbacks, validation and divergence checks. Each batch is one engine call (forward, loss,
// backward, update), after which the loop reads that step's stats and yields to the event loop now and then.
import { CnnError } from '../core/errors.js';
import { checkOptions, show } from '../core/options.js';
import { mulberry32 } from '../core/random.js';
import { shapeSize } from '../core/tensor.js';
import { MetricCounts } from '../train/metrics.js';
import { parseAugment, drawTransform } from '../train/augment.js';
import { checkBatchSize, checkSeed, checkX, checkY, checkBatchStatus } from './batches.js';

export const FIT_OPTIONS = ['epochs', 'batchSize', 'validationSplit', 'validationData', 'shuffle', 'seed', 'verbose',
  'callbacks', 'signal', 'initialEpoch', 'yieldEvery', 'learningRateSchedule', 'recordGradientNorms', 'augment',
  'stopOnDivergence'];

/** A loss this many times the first batches' mean (smoothed) counts as diverged. */
const DIVERGENCE_FACTOR = 100;
const DIVERGENCE_WARMUP = 5;

export const yieldToEventLoop = typeof setImmediate === 'function'
  ? () => new Promise((resolve) => setImmediate(resolve))
  : () => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(0);
  });

/** Watches batch losses: a smoothed loss far above the first batches' mean means the run diverged. */
class DivergenceWatch {
  constructor() { this.first = []; this.reference = 0; this.smoothed = 0; }
  check(loss, where, learningRate) {
    if (this.first.length < DIVERGENCE_WARMUP) {
      this.first.push(loss);
      this.reference = this.smoothed = this.first.reduce((a, b) => a + b, 0) / this.first.length;
      return;
    }
    this.smoothed = 0.9 * this.smoothed + 0.1 * loss;
    if (this.reference > 0 && this.smoothed > DIVERGENCE_FACTOR * this.reference) {
      throw new CnnError(`fit: the loss diverged at ${where}: its running mean ${this.smoothed.toPrecision(3)} is over ` +
        `${DIVERGENCE_FACTOR}x the first batches' ${this.reference.toPrecision(3)}; lower the learning rate ` +
        `(now ${learningRate}), add clipNorm to compile(), or pass stopOnDivergence: false to fit()`);
    }
  }
}

/** Per-layer L2 norms of the weight gradients of each batch (all of a layer's trainable weights together). */
class GradientNorms {
  constructor(entries) { this.entries = entries; this.sums = new Map(); this.batches = 0; }
  /** norms: every parameter's gradient norm of the step → { layerName: norm }. */
  read(norms) {
    const squares = new Map();
    for (const w of this.entries) squares.set(w.layer.name, (squares.get(w.layer.name) ?? 0) + norms[w.index] ** 2);
    const out = Object.fromEntries([...squares].map(([name, sq]) => [name, Math.sqrt(sq)]));
    this.batches++;
    for (const [name, v] of Object.entries(out)) this.sums.set(name, (this.sums.get(name) ?? 0) + v);
    return out;
  }
  epochMeans() {
    const means = Object.fromEntries([...this.sums].map(([name, v]) => [name, v / this.batches]));
    this.sums = new Map();
    this.batches = 0;
    return means;
  }
}

/** Runs one batch-wise pass of `runtime` over samples [start, start + count) of x (and y) for evaluate/validation. */
export function evaluateRange(model, runtime, compiled, x, y, start, count, batchSize) {
  const out = model.outputs[0].sampleShape;
  const labelSize = checkY(y, x.shape[0], out, compiled, 'evaluate');
  runtime.plan(Math.min(batchSize, count), false, model.name);
  const counts = new MetricCounts(compiled.metrics, out.at(-1));
  const sampleSize = shapeSize(model.inputs[0].sampleShape);
  const sparse = compiled.loss === 'sparseCategoricalCrossentropy';
  for (let s = 0; s < count; s += runtime.capacity) {
    const k = Math.min(runtime.capacity, count - s);
    const batch = { start: start + s, count: k };
    runtime.loadBatch(x, y, { ...batch, labelSize, sparse });
    checkBatchStatus(runtime.step('evaluate', k, { classCounts: counts.wantsIoU }), 'evaluate', x, sampleSize, batch);
    const stats = runtime.readStats(counts.classes);
    counts.add(stats, k, stats.classCounts);
  }
  return counts;
}

/**
 * model.fit(x, y, options) for a compiled model. `runtime` is the model's engine side; `compiled` its compile record.
 * Disposing the model from a callback ends fit after that callback (the history so far is returned).
 */
export async function fitLoop(model, runtime, compiled, x, y, options) {
  checkOptions(options, FIT_OPTIONS, 'fit');
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  const initialEpoch = options.initialEpoch ?? 0;
  if (!Number.isInteger(epochs) || epochs < 0) throw new CnnError(`fit: epochs must be an integer >= 0, got ${show(epochs)}`);
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0) throw new CnnError(`fit: initialEpoch must be an integer >= 0, got ${show(initialEpoch)}`);
  checkBatchSize(batchSize, 'fit');
  const inputName = model.inputs[0].sourceLayer.name;
  const inShape = model.inputs[0].sampleShape;
  const out = model.outputs[0].sampleShape;
  const n = checkX(x, inShape, inputName, 'fit');
  const labelSize = checkY(y, n, out, compiled, 'fit');
  let trainCount = n;
  let validation = null;
  if (options.validationData) {
    if (!Array.isArray(options.validationData) || options.validationData.length !== 2) {
      throw new CnnError(`fit: validationData must be [x, y], got ${show(options.validationData)}`);
    }
    const [xv, yv] = options.validationData;
    const nv = checkX(xv, inShape, inputName, 'fit: validationData');
    checkY(yv, nv, out, compiled, 'fit: validationData');
    if (nv === 0) throw new CnnError('fit: validationData holds no samples');
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
  const augmentOptions = parseAugment(options.augment, inShape);
  const augmentRandom = augmentOptions ? mulberry32(seed ^ 0x9e3779b9) : null;
  const schedule = options.learningRateSchedule;
  if (schedule !== undefined && typeof schedule !== 'function') {
    throw new CnnError('fit: learningRateSchedule must be a function (step, totalSteps) => learningRate');
  }
  const callbacks = options.callbacks ?? {};
  const signal = options.signal;
  runtime.plan(Math.min(batchSize, trainCount), true, model.name);
  runtime.setSeed(seed);
  const history = { epoch: [], history: { loss: [] }, params: { epochs, batchSize, samples: trainCount } };
  const metricNames = compiled.metrics;
  for (const name of metricNames) history.history[name] = [];
  if (validation) {
    history.history.val_loss = [];
    for (const name of metricNames) history.history[`val_${name}`] = [];
  }
  const classes = out.at(-1);
  const epochCounts = new MetricCounts(metricNames, classes);
  const batchCounts = new MetricCounts(metricNames, classes);
  const indices = new Int32Array(trainCount).map((_, i) => i);
  const batchesPerEpoch = Math.ceil(trainCount / batchSize);
  const totalSteps = batchesPerEpoch * Math.max(0, epochs - initialEpoch);
  const norms = options.recordGradientNorms ? new GradientNorms(model.trainableWeightEntries()) : null;
  if (norms) history.gradientNorms = [];
  const divergence = options.stopOnDivergence === false ? null : new DivergenceWatch();
  const sampleSize = shapeSize(inShape);
  const sparse = compiled.loss === 'sparseCategoricalCrossentropy';
  const yieldEvery = options.yieldEvery ?? 15; // ms of work between yields to the event loop
  let lastYield = Date.now();
  let step = 0;
  let stopped = false;
  const stop = () => { stopped = true; };
  const ended = () => stopped || model.isDisposed || signal?.aborted || model.stopTraining;
  model.stopTraining = false;
  await callbacks.onTrainBegin?.({});
  for (let epoch = initialEpoch; epoch < epochs && !stopped && !model.isDisposed; epoch++) {
    if (options.shuffle ?? true) {
      for (let i = trainCount - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        const t = indices[i]; indices[i] = indices[j]; indices[j] = t;
      }
    }
    await callbacks.onEpochBegin?.(epoch, {});
    epochCounts.reset();
    for (let b = 0; b < batchesPerEpoch; b++) {
      if (ended()) { stopped = true; break; }
      const start = b * batchSize;
      const count = Math.min(batchSize, trainCount - start);
      const transforms = augmentOptions
        ? Array.from({ length: count }, () => drawTransform(augmentOptions, augmentRandom)) : null;
      const batch = { indices, start, count };
      runtime.loadBatch(x, y, { ...batch, labelSize, sparse, transforms });
      if (schedule) model.setLearningRate(scheduledRate(schedule, step, totalSteps));
      const what = `fit (epoch ${epoch + 1}, batch ${b + 1})`;
      const status = runtime.step('train', count, { classCounts: batchCounts.wantsIoU, gradNorms: !!norms, what });
      checkBatchStatus(status, what, x, sampleSize, batch);
      step++;
      const stats = runtime.readStats(classes);
      batchCounts.reset();
      batchCounts.add(stats, count, stats.classCounts);
      epochCounts.merge(batchCounts);
      divergence?.check(stats.loss, `epoch ${epoch + 1}, batch ${b + 1}`, compiled.optimizer.learningRate);
      const logs = { batch: b, size: count, loss: stats.loss, ...batchCounts.values() };
      if (norms) logs.gradientNorms = norms.read(stats.gradNorms);
      await callbacks.onBatchEnd?.(b, logs);
      if (Date.now() - lastYield >= yieldEvery) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
    }
    // A model disposed by a callback has no engine left: end here, with the history so far.
    if (epochCounts.lossWeight === 0 || model.isDisposed) break;
    const logs = { loss: epochCounts.loss, ...epochCounts.values() };
    if (validation) {
      const val = evaluateRange(model, runtime, compiled, validation.x, validation.y, validation.start, validation.count, batchSize);
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

function scheduledRate(schedule, step, totalSteps) {
  const rate = schedule(step, totalSteps);
  if (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate)) {
    throw new CnnError(`fit: learningRateSchedule(${step}, ${totalSteps}) returned ${rate}; expected a positive number`);
  }
  return rate;
}
