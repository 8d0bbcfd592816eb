/**
 * Three deep CNNs of equal depth for MNIST, to see why batch normalization and residual connections make deep
 * networks trainable, and helpers that train them and summarise per-layer gradient norms by depth. Isomorphic (Node
 * and browser): no Node-only import.
 *
 * All three nets have the same 20 weight layers — 19 conv layers 3×3 with 16 channels, then global average pooling and
 * a dense softmax — and the same resolution steps: 28×28 → (stem conv, stride 2) 14×14 → (10 convs) → (stride-2 conv)
 * 7×7 → (8 convs) → global average pooling → dense 10. All use relu and the library's default Glorot-uniform kernel
 * initialisation, so that batch norm and the shortcuts are the only differences:
 *
 *   plain   conv → relu (conv2d's defaults, with activation 'relu')
 *   bn      conv → batch norm → relu (no conv bias: batch norm's beta replaces it)
 *   resnet  stem conv → BN → relu, then 9 basic blocks: conv-BN-relu-conv-BN, + shortcut, relu after the add; the
 *           first block of the 7×7 stage has a stride-2 first conv and a 2×2 average-pooling shortcut (no weights)
 *
 * The plain net's activation and initialiser can be changed (`plainActivation`, `plainInitializer`); see DEFAULT_PLAIN.
 */

export const ROWS = 28;
export const COLS = 28;

/** Number of conv layers in every net (stem + 10 at 14×14 + 8 at 7×7). */
export const CONV_LAYERS = 19;
export const FILTERS = 16;

/** Stride of conv layer `i` (1-based): the stem halves 28 → 14, conv 12 halves 14 → 7. */
export const strideOf = (i) => (i === 1 || i === 12 ? 2 : 1);

/**
 * The plain net's activation and initialiser: the library's conv2d defaults with relu. Measured with this engine
 * (150 steps, mean gradient per weight, first/last conv layer): relu + glorotUniform ≈ 1e-4, relu + heNormal ≈ 1e-2
 * (He initialisation helps, but this stack still does not learn in 150 steps), sigmoid + glorotUniform ≈ 1e-12 (the
 * textbook case, each layer multiplies the backward signal by sigmoid' ≤ 0.25), tanh + glorotUniform ≈ 0.6 (no
 * vanishing at this depth).
 */
export const DEFAULT_PLAIN = { activation: 'relu', initializer: 'glorotUniform' };

/**
 * Momentum of batch norm's moving mean and variance. tfjs's default 0.99 averages over ~100 batches, so after a short
 * run the moving statistics (used by evaluate and predict) still lean on their initial values (mean 0, variance 1) and
 * 19 stacked layers of that mismatch wreck held-out accuracy; 0.9 (PyTorch's default, in Keras terms) settles in ~10
 * batches.
 */
export const BN_MOMENTUM = 0.9;

export const NETS = [
  { key: 'plain', color: '#d62728' },
  { key: 'bn', color: '#1f77b4' },
  { key: 'resnet', color: '#2ca02c' },
];

/** One-line descriptions of the nets, for tables and legends. */
export function describeNets({ plainActivation = DEFAULT_PLAIN.activation,
  plainInitializer = DEFAULT_PLAIN.initializer } = {}) {
  return {
    plain: `plain: 19 × (conv → ${plainActivation}), ${plainInitializer}`,
    bn: 'batch norm: 19 × (conv → BN → relu)',
    resnet: 'ResNet: stem + 9 basic blocks (conv-BN-relu-conv-BN + shortcut → relu)',
  };
}

/**
 * Builds one of the nets, uncompiled.
 * @param {typeof import('../../web/index.js')} cnn the library namespace
 * @param {'plain' | 'bn' | 'resnet'} kind
 * @param {{ seed?: number, plainActivation?: string, plainInitializer?: string }} [opts]
 * @returns {{ model: any, convLayers: string[], weightLayers: string[] }} the model, the names of its conv layers from
 *   input to output, and of every layer with trainable weights (in model order)
 */
export function buildNet(cnn, kind, opts = {}) {
  const { layers } = cnn;
  const convLayers = [];
  const p = kind; // layer name prefix, so that a page can build all three nets side by side
  let convIndex = 0;
  const conv = (x, { strides = 1, useBias = true, activation = 'linear', kernelInitializer = 'glorotUniform' } = {}) => {
    convIndex++;
    const name = `${p}_conv${String(convIndex).padStart(2, '0')}`;
    convLayers.push(name);
    return layers.conv2d({ name, filters: FILTERS, kernelSize: 3, padding: 'same', strides, useBias, activation,
      kernelInitializer }).apply(x);
  };
  let bnIndex = 0;
  const bn = (x) => layers.batchNormalization({ name: `${p}_bn${String(++bnIndex).padStart(2, '0')}`,
    momentum: opts.bnMomentum ?? BN_MOMENTUM }).apply(x);
  let reluIndex = 0;
  const relu = (x) => layers.reLU({ name: `${p}_relu${String(++reluIndex).padStart(2, '0')}` }).apply(x);

  const input = cnn.input({ shape: [ROWS, COLS, 1], name: `${p}_input` });
  let x = input;

  if (kind === 'plain') {
    const activation = opts.plainActivation ?? DEFAULT_PLAIN.activation;
    const kernelInitializer = opts.plainInitializer ?? DEFAULT_PLAIN.initializer;
    for (let i = 1; i <= CONV_LAYERS; i++) x = conv(x, { strides: strideOf(i), activation, kernelInitializer });
  } else if (kind === 'bn') {
    for (let i = 1; i <= CONV_LAYERS; i++) {
      x = relu(bn(conv(x, { strides: strideOf(i), useBias: false, kernelInitializer: 'glorotUniform' })));
    }
  } else if (kind === 'resnet') {
    x = relu(bn(conv(x, { strides: 2, useBias: false, kernelInitializer: 'glorotUniform' })));
    let addIndex = 0;
    for (let block = 1; block <= 9; block++) {
      const downsample = block === 6; // the first block of the 7×7 stage
      let y = relu(bn(conv(x, { strides: downsample ? 2 : 1, useBias: false, kernelInitializer: 'glorotUniform' })));
      y = bn(conv(y, { useBias: false, kernelInitializer: 'glorotUniform' }));
      const shortcut = downsample
        ? layers.averagePooling2d({ name: `${p}_shortcut_pool`, poolSize: 2, strides: 2, padding: 'same' }).apply(x)
        : x;
      x = relu(layers.add({ name: `${p}_add${String(++addIndex).padStart(2, '0')}` }).apply([y, shortcut]));
    }
  } else {
    throw new Error(`buildNet: unknown kind ${JSON.stringify(kind)}; expected 'plain', 'bn' or 'resnet'`);
  }
  if (convLayers.length !== CONV_LAYERS) throw new Error(`buildNet(${kind}): built ${convLayers.length} conv layers`);

  x = layers.globalAveragePooling2d({ name: `${p}_gap` }).apply(x);
  const output = layers.dense({ name: `${p}_dense`, units: 10, activation: 'softmax' }).apply(x);
  const config = { inputs: input, outputs: output };
  if (opts.seed !== undefined) config.seed = opts.seed;
  const model = cnn.model(config);
  const weightLayers = model.layers.filter((l) => l.weightSpecs().some((s) => s.trainable !== false)).map((l) => l.name);
  return { model, convLayers, weightLayers };
}

/** Trainable parameter count of each layer of `model`, by name. */
export function trainableCounts(model) {
  const counts = {};
  for (const layer of model.layers) {
    const n = layer.weightSpecs().filter((s) => s.trainable !== false).reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
    if (n > 0) counts[layer.name] = n;
  }
  return counts;
}

/**
 * Accumulates per-batch gradient norms (fit's logs.gradientNorms) of the conv layers and turns them into a per-depth
 * profile. The value per layer is the root-mean-square gradient per weight, ‖g‖₂ / √n, averaged over the recorded
 * batches: the stem conv has 1/16 of the weights of the other convs, and dividing by √n makes layers of different size
 * comparable, so a flat profile means "every layer learns at the same rate".
 */
export class GradientProfile {
  /**
   * @param {string[]} convLayers names from input to output
   * @param {Record<string, number>} counts trainable parameters per layer
   * @param {number} [maxBatches] only the first `maxBatches` recorded batches enter the average (Infinity: all)
   */
  constructor(convLayers, counts, maxBatches = Infinity) {
    this.convLayers = convLayers;
    this.counts = counts;
    this.maxBatches = maxBatches;
    this.sums = new Float64Array(convLayers.length);
    this.batches = 0;
  }

  /** Adds one batch's logs.gradientNorms (L2 norms per layer name). */
  add(gradientNorms) {
    if (this.batches >= this.maxBatches) return;
    this.convLayers.forEach((name, i) => {
      const norm = gradientNorms[name];
      if (norm === undefined) throw new Error(`GradientProfile: no gradient norm for layer ${name}`);
      this.sums[i] += norm / Math.sqrt(this.counts[name]);
    });
    this.batches++;
  }

  /** Mean RMS gradient per weight of each conv layer, input side first. */
  values() { return Array.from(this.sums, (s) => (this.batches ? s / this.batches : NaN)); }

  summary() { return summariseDepth(this.values()); }
}

/**
 * Summary of a per-depth gradient profile (input side first): first, last, their ratio, and the ratio in decades.
 * @param {number[]} values
 */
export function summariseDepth(values) {
  const first = values[0];
  const last = values[values.length - 1];
  const ratio = first / last;
  return { first, last, ratio, decades: Math.log10(ratio), min: Math.min(...values), max: Math.max(...values) };
}

/** The optimizer every net trains with: SGD with momentum (no per-weight rescaling, so small gradients stay small). */
export const LEARNING_RATE = 0.05;
export const MOMENTUM = 0.9;
export const BATCH_SIZE = 32;

/**
 * Builds, compiles and trains one net for `steps` batches of 32 on the first steps × 32 digits of `x`/`y` (one epoch,
 * shuffled with `seed`), recording the per-layer gradient norms of every batch.
 * With `worker` (a cnn.worker), the net is built here only as a description and trained in the worker
 * (worker.modelFromConfig: same architecture and seed, so the same weights as here); `x` / `y` must then hold exactly
 * steps × 32 samples (local tensors, or worker tensors made once for all three nets). `signal` stops training after
 * the batch in progress.
 * @param {typeof import('../../web/index.js')} cnn
 * @param {'plain' | 'bn' | 'resnet'} kind
 * @param {{ x: any, y: any, steps: number, seed?: number, netOptions?: object, worker?: any, signal?: AbortSignal,
 *   onBatch?: (step: number, logs: object, profile: GradientProfile) => void | Promise<void> }} options
 *   x: images [n, 28, 28, 1] with n >= steps × 32; y: int32 labels [n]
 * @returns {Promise<{ kind: string, model: any, convLayers: string[], weightLayers: string[], profile: GradientProfile,
 *   losses: number[], history: any, seconds: number }>} the caller disposes `model` (a promise for a worker's model)
 */
export async function trainNet(cnn, kind, { x, y, steps, seed = 1, netOptions = {}, onBatch, worker, signal } = {}) {
  const n = steps * BATCH_SIZE;
  if (!(x.shape[0] >= n)) throw new Error(`trainNet: ${steps} steps need ${n} digits, got ${x.shape[0]}`);
  if (worker && x.shape[0] !== n) throw new Error(`trainNet: in a worker, x must hold exactly ${n} digits, got ${x.shape[0]}`);
  const built = buildNet(cnn, kind, { seed, ...netOptions });
  const { convLayers, weightLayers } = built;
  const profile = new GradientProfile(convLayers, trainableCounts(built.model));
  const model = worker ? await worker.modelFromConfig(built.model) : built.model;
  const losses = [];
  // Views on the first n digits (fit trains one epoch over all the samples it is given).
  const xs = x.shape[0] === n ? x : cnn.tensor(x.dataSync().subarray(0, n * ROWS * COLS), [n, ROWS, COLS, 1]);
  const ys = y.shape[0] === n ? y : cnn.tensor(y.dataSync().subarray(0, n), [n], 'int32');
  const t0 = Date.now();
  let history;
  try {
    await model.compile({ optimizer: cnn.train.momentum(LEARNING_RATE, MOMENTUM), loss: 'sparseCategoricalCrossentropy',
      metrics: ['accuracy'] });
    history = await model.fit(xs, ys, {
      epochs: 1, batchSize: BATCH_SIZE, shuffle: true, seed, recordGradientNorms: true, signal,
      callbacks: {
        async onBatchEnd(batch, logs) {
          profile.add(logs.gradientNorms);
          losses.push(logs.loss);
          await onBatch?.(batch + 1, logs, profile);
        },
      },
    });
  } catch (err) {
    await model.dispose();
    throw err;
  } finally {
    if (xs !== x) xs.dispose();
    if (ys !== y) ys.dispose();
  }
  return { kind, model, convLayers, weightLayers, profile, losses, history, seconds: (Date.now() - t0) / 1000 };
}
