// A model's engine side: the C model handle, its planned buffers and the calls that run a batch. Model (graph and
// weights) and the fit loop (fit.js) both work through this; it is the only place in model/ that calls the engine.
import { CnnError } from '../core/errors.js';
import { shapeSize, outputArray } from '../core/tensor.js';
import { engine, check, heapF32, heapI32 } from '../engine/loader.js';
import { GraphBuilder } from '../engine/graph.js';
import { STATUS, STATS, LOSS, OPTIMIZER, OPTIMIZER_CONFIG, writeOptimizerConfig } from '../engine/abi.js';
import { copyTransformed } from '../train/augment.js';

const live = { models: 0 };
const finalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((handle) => {
    live.models--;
    try { engine().cnn_model_free(handle); } catch { /* engine gone */ }
    console.warn('wasm-cnn: a model was garbage-collected without dispose(); call model.dispose() to free it');
  })
  : null;

export function liveModels() { return live.models; }

export class ModelRuntime {
  #handle = 0;
  #capacity = 0;
  #withGrads = false;
  #stats = { ptr: 0, floats: 0, classCounts: false, gradNorms: false }; // the engine-side stats vector
  // Which samples the engine's input buffer holds, as loaded (no augmentation): { tensor: WeakRef, start, count }.
  // Tensors are immutable and nothing but loadBatch writes that buffer (no layer writes its input; a new plan
  // replaces it), so loading the same samples again can skip the copy: predict on a tensor it has just run on costs
  // no copy in, as a tfjs-wasm tensor that lives in its heap costs none.
  #inputHolds = null;

  /**
   * Creates the C model for `graphLayers` (inputs first, topological order), recording each layer's engine nodes and
   * parameter indices. `owner` is the JS model the finalizer watches.
   */
  constructor(owner, seed, graphLayers, outputTensor) {
    const e = engine();
    const handle = e.cnn_model_create(seed);
    if (!handle) check(-STATUS.OUT_OF_MEMORY, { prefix: owner.name });
    const builder = new GraphBuilder(handle);
    const nodeOf = new Map(); // SymbolicTensor -> C node id
    try {
      for (const layer of graphLayers) {
        builder.currentLayer = layer;
        const firstParam = builder.paramCount();
        const firstNode = builder.nodes.length;
        const ids = (layer.inbound ?? []).map((t) => nodeOf.get(t));
        const out = layer.build(builder, ids);
        const outs = Array.isArray(out) ? out : [out];
        layer.outputs.forEach((t, i) => nodeOf.set(t, outs[i]));
        layer.engineNodes = builder.nodes.slice(firstNode);
        layer.paramIndices = [];
        for (let p = firstParam; p < builder.paramCount(); p++) layer.paramIndices.push(p);
      }
      builder.setOutput(nodeOf.get(outputTensor));
    } catch (err) {
      e.cnn_model_free(handle);
      throw err;
    }
    this.#handle = handle;
    this.inputShape = graphLayers[0].shape;
    this.outputShape = outputTensor.sampleShape;
    live.models++;
    finalizer?.register(owner, handle, this);
  }

  get handle() { return this.#handle; }
  get capacity() { return this.#capacity; }

  free() {
    if (!this.#handle) return;
    finalizer?.unregister(this);
    if (this.#stats.ptr) engine().free(this.#stats.ptr);
    this.#stats.ptr = 0;
    engine().cnn_model_free(this.#handle);
    live.models--;
    this.#handle = 0;
  }

  setTrainable(nodes, trainable) {
    for (const id of nodes) check(engine().cnn_model_set_trainable(this.#handle, id, trainable ? 1 : 0));
  }

  // ---- parameters ----
  readParam(index, size, grad = false) {
    const e = engine();
    const ptr = grad ? e.cnn_model_param_grad(this.#handle, index) : e.cnn_model_param(this.#handle, index, 0, 0);
    return heapF32(ptr, size).slice();
  }

  writeParam(index, values) {
    heapF32(engine().cnn_model_param(this.#handle, index, 0, 0), values.length).set(values);
  }

  // ---- optimizer state (model.save({ includeOptimizer })) ----
  optimizerSlots() { return engine().cnn_model_optimizer_slots(this.#handle); }
  optimizerStep() { return engine().cnn_model_optimizer_step(this.#handle); }
  setOptimizerStep(step, what) { check(engine().cnn_model_set_optimizer_step(this.#handle, step), { prefix: what }); }
  /** A copy of moment buffer `slot` of parameter `index` (size floats), or null where the engine keeps none. */
  readOptimizerState(index, slot, size) {
    const ptr = engine().cnn_model_optimizer_state(this.#handle, index, slot);
    return ptr ? heapF32(ptr, size).slice() : null;
  }
  writeOptimizerState(index, slot, values) {
    const ptr = engine().cnn_model_optimizer_state(this.#handle, index, slot);
    if (!ptr) return false;
    heapF32(ptr, values.length).set(values);
    return true;
  }

  // ---- training set-up ----
  /** loss: a LOSS name; optimizer: the parsed optimizer (JS names). */
  compile(loss, optimizer) {
    const e = engine();
    const ptr = e.malloc(OPTIMIZER_CONFIG.size);
    if (!ptr) throw new CnnError('compile: the engine is out of memory', STATUS.OUT_OF_MEMORY);
    try {
      writeOptimizerConfig(new DataView(e.memory.buffer), ptr, {
        kind: OPTIMIZER.get(optimizer.name), learning_rate: optimizer.learningRate, momentum: optimizer.momentum,
        nesterov: optimizer.nesterov ? 1 : 0, beta1: optimizer.beta1, beta2: optimizer.beta2,
        epsilon: optimizer.epsilon, weight_decay: optimizer.weightDecay, clip_norm: optimizer.clipNorm,
      });
      check(e.cnn_model_compile(this.#handle, LOSS.get(loss), ptr), { prefix: 'compile' });
    } finally {
      e.free(ptr);
    }
  }

  setLossOptions({ ignoreLabel, classWeights }) {
    const e = engine();
    check(e.cnn_model_set_ignore_label(this.#handle, ignoreLabel === undefined ? 0 : 1, ignoreLabel ?? 0), { prefix: 'compile' });
    if (!classWeights) {
      check(e.cnn_model_set_class_weights(this.#handle, 0, 0), { prefix: 'compile' });
      return;
    }
    const ptr = e.malloc(4 * classWeights.length);
    if (!ptr) throw new CnnError('compile: the engine is out of memory', STATUS.OUT_OF_MEMORY);
    try {
      heapF32(ptr, classWeights.length).set(classWeights);
      check(e.cnn_model_set_class_weights(this.#handle, ptr, classWeights.length), { prefix: 'compile' });
    } finally {
      e.free(ptr);
    }
  }

  setLearningRate(learningRate, what) {
    check(engine().cnn_model_set_learning_rate(this.#handle, learningRate), { prefix: what });
  }

  setSeed(seed) { engine().cnn_model_set_seed(this.#handle, seed); }

  /** Buffers for batches of up to `capacity` samples (grows, never shrinks), with gradients when asked. */
  plan(capacity, withGrads, what) {
    const need = Math.max(capacity, this.#capacity);
    const grads = withGrads || this.#withGrads;
    if (need === this.#capacity && grads === this.#withGrads) return;
    this.#inputHolds = null;
    check(engine().cnn_model_plan(this.#handle, need, grads ? 1 : 0), { prefix: what });
    this.#capacity = need;
    this.#withGrads = grads;
  }

  // ---- batches ----
  /**
   * Copies samples (by index) of x, and of y when given, into the engine's input and label buffers; with `augment`
   * ({ options, random, draw }) each sample goes through a random flip/rotation, its per-pixel labels through the same.
   */
  loadBatch(x, y, { indices = null, start, count, labelSize = 0, sparse = false, transforms = null }) {
    const e = engine();
    const shape = this.inputShape;
    const sampleSize = shapeSize(shape);
    const xs = x.values();
    const plain = !indices && !transforms;
    const held = this.#inputHolds;
    if (!(plain && held && held.tensor.deref() === x && held.start === start && held.count === count)) {
      this.#inputHolds = null;
      const heap = heapF32(e.cnn_model_input_buffer(this.#handle), count * sampleSize);
      if (plain) heap.set(xs.subarray(start * sampleSize, (start + count) * sampleSize));
      for (let i = 0; i < count && !plain; i++) {
        const s = indices ? indices[start + i] : start + i;
        if (transforms) copyTransformed(xs, s * sampleSize, heap, i * sampleSize, shape[0], shape[1], shape[2], transforms[i]);
        else heap.set(xs.subarray(s * sampleSize, (s + 1) * sampleSize), i * sampleSize);
      }
      if (plain) this.#inputHolds = { tensor: new WeakRef(x), start, count };
    }
    if (!y) return;
    const ys = y.values();
    const labelPtr = e.cnn_model_label_buffer(this.#handle);
    const labels = sparse ? heapI32(labelPtr, count * labelSize) : heapF32(labelPtr, count * labelSize);
    // Labels move with the pixels when they are per pixel ([h, w] or [h, w, k] maps of the input's size).
    const out = this.outputShape;
    const perPixel = transforms && labelSize % (shape[0] * shape[1]) === 0 && out.length === 3 &&
      out[0] === shape[0] && out[1] === shape[1];
    for (let i = 0; i < count; i++) {
      const s = indices ? indices[start + i] : start + i;
      if (perPixel) {
        copyTransformed(ys, s * labelSize, labels, i * labelSize, shape[0], shape[1], labelSize / (shape[0] * shape[1]), transforms[i]);
      } else {
        labels.set(ys.subarray(s * labelSize, (s + 1) * labelSize), i * labelSize);
      }
    }
  }

  // ---- running a loaded batch: one engine call each ----
  /**
   * What the stats vector carries besides the header: per-class counts (meanIoU) and per-parameter gradient norms.
   * Changing it allocates (outside the batch loop's steady state: fit and evaluate ask once, then every step reuses).
   */
  #configureStats(classCounts, gradNorms, what) {
    const st = this.#stats;
    if (st.ptr && st.classCounts === classCounts && st.gradNorms === gradNorms) return;
    const e = engine();
    check(e.cnn_model_set_stats(this.#handle, classCounts ? 1 : 0, gradNorms ? 1 : 0), { prefix: what });
    const floats = e.cnn_model_stats_count(this.#handle);
    if (floats > st.floats) {
      if (st.ptr) e.free(st.ptr);
      st.ptr = e.malloc(4 * floats);
      st.floats = st.ptr ? floats : 0;
      if (!st.ptr) throw new CnnError(`${what}: the engine is out of memory (stats of ${floats} floats)`, STATUS.OUT_OF_MEMORY);
    }
    st.classCounts = classCounts;
    st.gradNorms = gradNorms;
  }

  /**
   * 'train' | 'gradients' | 'evaluate' on the n loaded samples: one engine call, which also fills the stats vector
   * (loss, counts and, when asked, class counts and gradient norms). Returns the engine's status.
   */
  step(kind, n, { classCounts = false, gradNorms = false, what = kind } = {}) {
    this.#configureStats(classCounts, gradNorms, what);
    const e = engine();
    const fn = kind === 'train' ? e.cnn_model_train_step : kind === 'gradients' ? e.cnn_model_compute_gradients
      : e.cnn_model_evaluate;
    return fn(this.#handle, n, this.#stats.ptr);
  }

  forward(n) { return engine().cnn_model_forward(this.#handle, n); }

  /**
   * The last step's stats: { loss, correct, counted, gradNorm, classCounts (true positives, predicted, true per
   * class; when asked), gradNorms (per parameter; when asked) }.
   */
  readStats(classes = 0) {
    const st = this.#stats;
    const e = engine();
    const paramCount = st.gradNorms ? e.cnn_model_param_count(this.#handle) : 0;
    const v = heapF32(st.ptr, STATS.HEADER + (st.classCounts ? 3 * classes : 0) + paramCount);
    let at = STATS.HEADER;
    const classCounts = st.classCounts ? v.slice(at, at += 3 * classes) : null;
    const gradNorms = st.gradNorms ? v.slice(at, at + paramCount) : null;
    return { loss: v[STATS.LOSS], correct: v[STATS.CORRECT], counted: v[STATS.COUNTED], gradNorm: v[STATS.GRAD_NORM],
      classCounts, gradNorms };
  }

  output(n) { return heapF32(engine().cnn_model_output_buffer(this.#handle), n * shapeSize(this.outputShape)); }

  /**
   * A copy of the outputs of the last forward pass of n samples, in a plain ArrayBuffer (the threaded build's memory
   * is a SharedArrayBuffer: postMessage would share a view of it instead of copying), into a disposed output's array
   * when one of that length is free (core/tensor.js outputArray): wrap it with wrapOutput.
   */
  outputCopy(n) {
    const view = this.output(n);
    const out = outputArray(view.length);
    out.set(view);
    return out;
  }
  inputGradient(n) { return heapF32(engine().cnn_model_input_grad_buffer(this.#handle), n * shapeSize(this.inputShape)).slice(); }
}
