// Models: a graph of layers backed by one C model in wasm memory (runtime.js). This file holds the graph, the
// weights and the calls that run it (predict, evaluate, computeGradients); compile's parsing is in compile.js, the
// fit loop in fit.js, summary / config / save / segment in their own files. compile / fit / predict / evaluate
// follow tfjs.
import { CnnError } from '../core/errors.js';
import { Tensor, wrap, wrapOutput, outputArray, scalar, shapeSize, describe } from '../core/tensor.js';
import { input as inputFn } from '../layers/index.js';
import { topologicalLayers, SymbolicTensor } from '../layers/symbolic.js';
import { lint } from '../train/lint.js';
import { ModelRuntime } from './runtime.js';
import { parseCompileConfig } from './compile.js';
import { fitLoop, evaluateRange } from './fit.js';
import { checkBatchSize, checkSeed, checkX, checkY, checkBatchStatus } from './batches.js';
import { summaryLines } from './summary.js';
import { modelConfig } from './config.js';
import { saveModel } from './format.js';
import { segment } from './segment.js';

export class Model {
  #runtime = null;
  #fitting = false;
  #disposed = false;
  #compiled = null;

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

  /** Sequential sets its graph layer by layer. */
  setGraphLayers(inputs, outputs) {
    this.inputs = inputs;
    this.outputs = outputs;
    this.graphLayers = topologicalLayers(inputs, outputs);
  }

  /** tfjs's model.layers: every layer, the InputLayer included (Sequential leaves it out, as tfjs does). */
  get layers() { return this.graphLayers.slice(); }

  get inputShape() { return this.inputs?.[0].shape ?? null; }
  get outputShape() { return this.outputs?.[0].shape ?? null; }
  get built() { return this.#runtime !== null; }

  getLayer(name) {
    const layer = this.layers.find((l) => l.name === name);
    if (!layer) throw new CnnError(`getLayer: no layer named '${name}'; layers: ${this.layers.map((l) => l.name).join(', ')}`);
    return layer;
  }

  /** Creates the C model (once): nodes for every layer, weights initialised from the seed. */
  build() {
    this.#requireLive(this.name);
    if (this.#runtime) return this.#runtime;
    if (!this.outputs) throw new CnnError(`${this.name}: the model has no layers with an inputShape yet`);
    this.#runtime = new ModelRuntime(this, this.seed, this.graphLayers, this.outputs[0]);
    for (const layer of this.graphLayers) layer.model = this;
    for (const layer of this.graphLayers) if (!layer.trainable) this.onTrainableChanged(layer);
    return this.#runtime;
  }

  onTrainableChanged(layer) {
    this.#runtime?.setTrainable(layer.engineNodes, layer.trainable);
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

  /** Weights the optimizer updates, with their engine parameter index (for gradient-norm logs). */
  trainableWeightEntries() {
    return this.#weightList().filter((w) => w.layer.trainable && w.spec.trainable !== false);
  }

  #readParam(entry, grad = false) {
    return wrap(this.#runtime.readParam(entry.index, shapeSize(entry.spec.shape), grad), entry.spec.shape.slice());
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
    entries.forEach((entry, i) => this.#runtime.writeParam(entry.index, tensors[i].values()));
  }

  getWeights() { return this.#weightList().map((entry) => this.#readParam(entry)); }

  setWeights(weights) {
    const list = this.#weightList('setWeights');
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

  /**
   * The optimizer's state: { step, tensors: [{ weight, slot, values }] } (momentum: one slot per weight, Adam: two),
   * what model.save({ includeOptimizer: true }) stores so that fine-tuning resumes where it stopped.
   */
  getOptimizerState() {
    this.#requireCompiled('getOptimizerState');
    const runtime = this.#runtime;
    const slots = runtime.optimizerSlots();
    const tensors = [];
    for (const entry of this.#weightList()) {
      for (let slot = 0; slot < slots; slot++) {
        const values = runtime.readOptimizerState(entry.index, slot, shapeSize(entry.spec.shape));
        if (values) tensors.push({ weight: entry.name, slot, values });
      }
    }
    return { step: runtime.optimizerStep(), tensors };
  }

  /** Restores getOptimizerState()'s result (checked whole before anything is written). */
  setOptimizerState({ step, tensors }) {
    this.#requireCompiled('setOptimizerState');
    const runtime = this.#runtime;
    const byName = new Map(this.#weightList().map((entry) => [entry.name, entry]));
    const slots = runtime.optimizerSlots();
    for (const { weight, slot, values } of tensors) {
      const entry = byName.get(weight);
      if (!entry) throw new CnnError(`setOptimizerState: the model has no weight '${weight}'`);
      if (!(slot >= 0 && slot < slots)) throw new CnnError(`setOptimizerState: ${weight} slot ${slot}: the optimizer keeps ${slots} per weight`);
      if (values.length !== shapeSize(entry.spec.shape)) {
        throw new CnnError(`setOptimizerState: ${weight} slot ${slot} has ${values.length} values, the weight ${shapeSize(entry.spec.shape)}`);
      }
      if (!values.every(Number.isFinite)) throw new CnnError(`setOptimizerState: ${weight} slot ${slot} holds non-finite values`);
    }
    for (const { weight, slot, values } of tensors) runtime.writeOptimizerState(byName.get(weight).index, slot, values);
    runtime.setOptimizerStep(step, 'setOptimizerState');
  }

  /** Weight names in getWeights() order. */
  weightNames() { return this.#weightList().map((w) => w.name); }

  countParams() { return this.layers.reduce((n, l) => n + l.countParams(), 0); }

  compile(config = {}) {
    this.#requireLive('compile');
    if (this.#fitting) {
      throw new CnnError('compile: the model is training; wait for fit() to finish (or stop it) before compiling again');
    }
    const runtime = this.build();
    const compiled = parseCompileConfig(config, this.outputs[0].sampleShape.at(-1));
    runtime.compile(compiled.loss, compiled.optimizer);
    runtime.setLossOptions(compiled);
    for (const finding of lint(this)) console.warn(`wasm-cnn: ${finding.message}`);
    this.#compiled = compiled;
    this.optimizer = compiled.optimizer;
    this.loss = compiled.loss;
    return this;
  }

  get compileConfig() { return this.#compiled; }

  /** Changes the learning rate between batches (for schedules, e.g. from an onEpochEnd callback). */
  setLearningRate(learningRate) {
    this.#requireCompiled('setLearningRate');
    this.#runtime.setLearningRate(learningRate, this.name);
    this.#compiled.optimizer.learningRate = learningRate;
  }

  #requireLive(what) {
    if (this.#disposed) throw new CnnError(`${what}: the model ${this.name} is disposed and can no longer be used`);
  }

  #requireCompiled(what) {
    this.#requireLive(what);
    if (!this.#compiled) throw new CnnError(`${what}: compile the model first (model.compile({ optimizer, loss }))`);
  }

  #checkX(x, what) { return checkX(x, this.inputs[0].sampleShape, this.inputs[0].sourceLayer.name, what); }

  async fit(x, y, options = {}) {
    if (this.#fitting) {
      throw new CnnError('fit: this model is already training; wait for the running fit() to finish before calling fit() again');
    }
    this.#requireCompiled('fit');
    this.#fitting = true;
    try {
      return await fitLoop(this, this.#runtime, this.#compiled, x, y, options);
    } finally {
      this.#fitting = false;
    }
  }

  evaluate(x, y, { batchSize = 32 } = {}) {
    this.#requireCompiled('evaluate');
    checkBatchSize(batchSize, 'evaluate');
    const n = this.#checkX(x, 'evaluate');
    if (n === 0) throw new CnnError('evaluate: x holds no samples; there is nothing to evaluate');
    checkY(y, n, this.outputs[0].sampleShape, this.#compiled, 'evaluate');
    const counts = evaluateRange(this, this.#runtime, this.#compiled, x, y, 0, n, batchSize);
    if (!this.#compiled.metrics.length) return scalar(counts.loss);
    return [scalar(counts.loss), ...Object.values(counts.values()).map(scalar)];
  }

  predict(x, { batchSize = 32 } = {}) {
    this.#requireLive('predict');
    const runtime = this.build();
    const n = this.#checkX(x, 'predict');
    checkBatchSize(batchSize, 'predict');
    runtime.plan(Math.min(batchSize, Math.max(n, 1)), false, this.name);
    const outShape = this.outputs[0].sampleShape;
    const outSize = shapeSize(outShape);
    const inSize = shapeSize(this.inputs[0].sampleShape);
    let result = null;
    for (let s = 0; s < n; s += runtime.capacity) {
      const k = Math.min(runtime.capacity, n - s);
      runtime.loadBatch(x, null, { start: s, count: k });
      // Finite inputs with finite weights can still overflow float32 (a diverged or damaged model): the engine reports
      // a non-finite output, with its sample number within the batch.
      checkBatchStatus(runtime.forward(k), 'predict', x, inSize, { start: s, count: k });
      if (k === n) {
        result = runtime.outputCopy(k); // the whole input in one batch: a single copy out
      } else {
        result ??= outputArray(n * outSize);
        result.set(runtime.output(k), s * outSize);
      }
    }
    return wrapOutput(result ?? new Float32Array(0), [n, ...outShape]);
  }

  /** Loss, d loss / d input and d loss / d weight (getWeights() order) for one batch, without updating anything. */
  computeGradients(x, y) {
    this.#requireCompiled('computeGradients');
    const n = this.#checkX(x, 'computeGradients');
    const labelSize = checkY(y, n, this.outputs[0].sampleShape, this.#compiled, 'computeGradients');
    const runtime = this.#runtime;
    runtime.plan(n, true, this.name);
    const sparse = this.#compiled.loss === 'sparseCategoricalCrossentropy';
    runtime.loadBatch(x, y, { start: 0, count: n, labelSize, sparse });
    checkBatchStatus(runtime.step('gradients', n), 'computeGradients', x, shapeSize(this.inputs[0].sampleShape),
      { start: 0, count: n });
    const { loss } = runtime.readStats();
    const inputGradient = wrap(runtime.inputGradient(n), x.shape.slice());
    const gradients = this.#weightList().map((entry) => this.#readParam(entry, true));
    return { loss, inputGradient, gradients };
  }

  summary(lineLength, positions, printFn = console.log) {
    if (typeof lineLength === 'function') printFn = lineLength;
    this.build();
    const trainable = this.trainableWeightEntries().reduce((s, w) => s + shapeSize(w.spec.shape), 0);
    for (const line of summaryLines(this, trainable)) printFn(line);
  }

  getConfig() { return modelConfig(this); }

  /** model.save({ metadata }) → one Uint8Array: architecture, weights and compile settings (docs/FORMAT.md). */
  save(options) { return saveModel(this, options); }

  /**
   * await model.toONNX({ opset = 17 }) → Uint8Array: the model as an ONNX graph (NCHW, dynamic batch; docs/ONNX.md).
   * A Promise because the exporter is loaded on first use; `toONNX(model)` from 'wasm-cnn/onnx' returns the bytes
   * directly.
   */
  async toONNX(options) {
    const { toONNX } = await import('../onnx/export.js');
    return toONNX(this, options);
  }

  /** model.segment(image, { size, normalize, batchSize }) → { width, height, classes, numClasses, timeMs } */
  segment(image, options) { return segment(this, image, options); }

  dispose() {
    if (this.#disposed) return;
    if (this.#fitting) this.stopTraining = true;
    this.#disposed = true;
    this.#runtime?.free();
    this.#runtime = null;
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
      this.setGraphLayers([inp], [layer.apply(inp)]);
    } else {
      this.setGraphLayers(this.inputs, [layer.apply(this.outputs[0])]);
    }
  }

  get layers() { return this.graphLayers.filter((l) => l.className !== 'InputLayer'); }

  getConfig() { return { ...super.getConfig(), sequential: true }; }
}
