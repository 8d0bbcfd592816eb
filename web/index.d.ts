// Type declarations for wasm-cnn's public API (web/index.js). Hand-kept: when an export, an option or a return shape
// changes in web/*.js, change it here too (tests/types/usage.ts is type-checked by tests/js/types.test.js).
// Layout is NHWC; shapes given to layers are per sample ([h, w, c] or [features]). See docs/API.md.

// ---- shared ------------------------------------------------------------------------------------------------------

/** Element types of a Tensor. */
export type DataType = 'float32' | 'int32';

/** The typed array behind a Tensor of each dtype. */
export interface DataTypeMap {
  float32: Float32Array;
  int32: Int32Array;
}

/** Numeric typed arrays (DataView and the BigInt arrays are not accepted). */
export type NumericTypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array
  | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array;

/** A shape: an array of non-negative integers. */
export type Shape = readonly number[];

/** A number or a [height, width] pair of positive integers (kernelSize, strides, poolSize, ...). */
export type PairArg = number | readonly [number, number];

/** Nested arrays of numbers, as returned by Tensor.arraySync(). */
export type NestedArray = Array<number | NestedArray>;

/** Resolves the instance type of a global class when the environment's lib declares it (e.g. lib "dom"), else never. */
type GlobalInstance<K extends string> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : never;

/**
 * Error thrown for every failure the engine or the API detects (bad options, shapes, disposed objects, ...);
 * `message` names the layer / option and says what to change.
 */
export class CnnError extends Error {
  constructor(message: string, status?: number);
  readonly name: 'CnnError';
  /** The engine's status code (1 invalid argument, 2 invalid shape, 3 out of memory, 4 invalid state, 5 non-finite value), 0 for API errors. */
  status: number;
}

// ---- start-up, tensors, memory -----------------------------------------------------------------------------------

export interface ReadyOptions {
  /** Where to load the engine from (a URL or path, resolved relative to web/engine/loader.js; for CDNs); default the
   * package's dist/wasm-cnn.wasm. */
  wasmPath?: string | URL;
  /** The older name of wasmPath. */
  wasmUrl?: string | URL;
  /** The engine's bytes, to skip loading. */
  wasmBinary?: ArrayBuffer | ArrayBufferView;
  /**
   * Threads that run the engine, this one included: an integer from 1 to 64. Default: the logical cores the platform
   * reports (os.availableParallelism() / navigator.hardwareConcurrency), at most 8. 1 loads the single-threaded build. More
   * than 1 needs SharedArrayBuffer (Node, Web Workers and cross-origin-isolated pages); elsewhere the engine runs on
   * one thread and engineInfo().reason says why. Results are bit-identical for every thread count.
   */
  threads?: number;
  /** Where to load the threaded build from (as wasmPath); default the package's dist/wasm-cnn-mt.wasm. Needed with
   * wasmPath / wasmBinary to run threaded. */
  wasmThreadsPath?: string | URL;
  /** The older name of wasmThreadsPath. */
  wasmThreadsUrl?: string | URL;
  /** The threaded build's bytes. Needed with wasmPath / wasmBinary to run threaded. */
  wasmThreadsBinary?: ArrayBuffer | ArrayBufferView;
}

/** What ready() loaded. */
export interface EngineInfo {
  /** Always true: both builds use WebAssembly SIMD128. */
  simd: boolean;
  /** Threads running the engine (1 for the single-threaded build). */
  threads: number;
  /** The build in use. */
  build: 'wasm-cnn.wasm' | 'wasm-cnn-mt.wasm';
  /** Why fewer threads run than were asked for (or the default would give); '' when none are missing. */
  reason: string;
}

/** The engine build in use, its thread count, and why it has fewer threads than asked. */
export function engineInfo(): EngineInfo;

/**
 * Instantiates the wasm engine (once; later calls return the same promise). Node reads dist/wasm-cnn.wasm from disk,
 * browsers fetch it. Every other call that touches the engine needs it to have resolved.
 */
export function ready(options?: ReadyOptions): Promise<true>;

/**
 * An immutable shape + dtype + typed array in JS memory. Create with {@link tensor}; the values are copied on the way
 * in (tensor()) and out (dataSync()).
 */
export class Tensor<D extends DataType = DataType> {
  #private;
  /** Prefer cnn.tensor(); this constructor trusts its arguments (no checks, no copy). */
  constructor(values: DataTypeMap[D], shape: Shape, dtype: D);
  /** Frozen. */
  readonly shape: readonly number[];
  readonly dtype: D;
  /** Number of values (product of the shape). */
  readonly size: number;
  readonly rank: number;
  /** True once dispose() was called; using the tensor then throws. */
  readonly isDisposed: boolean;
  /** A copy of the values. */
  data(): Promise<DataTypeMap[D]>;
  /** A copy of the values. */
  dataSync(): DataTypeMap[D];
  /** The values as nested arrays, like tfjs (a number for a rank-0 tensor). */
  arraySync(): number | NestedArray;
  array(): Promise<number | NestedArray>;
  /** Frees the values; idempotent. */
  dispose(): void;
  toString(): string;
}

/**
 * Creates a tensor from a typed array or a flat array of numbers (nested arrays are rejected); the values are copied.
 * `shape` defaults to [values.length]; `dtype` to 'float32' ('int32' values must be integers).
 */
export function tensor(values: NumericTypedArray | readonly number[], shape?: Shape, dtype?: 'float32'): Tensor<'float32'>;
export function tensor(values: NumericTypedArray | readonly number[], shape: Shape | undefined, dtype: 'int32'): Tensor<'int32'>;
export function tensor<D extends DataType>(values: NumericTypedArray | readonly number[], shape: Shape | undefined, dtype: D): Tensor<D>;

export interface MemoryInfo {
  /** Live (not disposed) tensors. */
  numTensors: number;
  /** Bytes held by live tensors. */
  numBytes: number;
  /** Size of the engine's wasm memory (0 before ready()). */
  wasmHeapBytes: number;
  /** Live (built, not disposed) models. */
  numModels: number;
}

/** Live tensors, their bytes, live models and the size of the engine's wasm memory. */
export function memory(): MemoryInfo;

export const version: string;

// ---- layers ------------------------------------------------------------------------------------------------------

export type ActivationIdentifier = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
export type InitializerIdentifier = 'glorotUniform' | 'glorotNormal' | 'heNormal' | 'heUniform' | 'zeros' | 'ones';
export type PaddingMode = 'valid' | 'same';
/** Only channels-last (NHWC) is supported. */
export type DataFormat = 'channelsLast';

/**
 * The output of cnn.input() or of a layer's apply(): which layer produced it and with what shape. Symbolic only: it
 * holds no values.
 */
export interface SymbolicTensor {
  /** tfjs style: [null, ...sampleShape]. */
  readonly shape: Array<number | null>;
  /** The per-sample shape. */
  readonly sampleShape: number[];
  readonly sourceLayer: Layer<unknown>;
  /** Which output of the source layer (1: the indices of maxPooling2d({ returnIndices: true })). */
  readonly outputIndex: number;
  readonly name: string;
  toString(): string;
}

/**
 * A layer: created by a cnn.layers.* factory, which validates its options; applied once (no weight sharing); its
 * weights exist once its model is built.
 */
export interface Layer<Output = SymbolicTensor> {
  /** Unique; Keras-style default (conv2d_1, max_pooling2d_1, ...). */
  readonly name: string;
  /** The tfjs class name: 'Conv2D', 'Dense', 'BatchNormalization', ... */
  readonly className: string;
  /**
   * false freezes the layer: fit() leaves its weights alone (batch norm then also runs on, and keeps, its moving
   * statistics). Can be changed after compile().
   */
  trainable: boolean;
  /** Functional API: applies the layer to the output of cnn.input() or of another layer. */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): Output;
  /** The layer's weights in tfjs order and layouts (copies); needs the model to be built. */
  getWeights(): Array<Tensor<'float32'>>;
  /** Replaces the layer's weights (same order and shapes as getWeights()). */
  setWeights(weights: Tensor[]): void;
  countParams(): number;
  /** The layer's options (tfjs-style config), as saved by model.save(). */
  getConfig(): Record<string, unknown>;
}

/** maxPooling2d({ returnIndices: true }): apply() returns [pooled, indices] (functional API only). */
export interface MaxPooling2DWithIndices extends Layer<[SymbolicTensor, SymbolicTensor]> {}

/** maxUnpooling2d: apply it to [values, indices], the indices from maxPooling2d({ returnIndices: true }). */
export interface MaxUnpooling2DLayer extends Layer {
  apply(inputs: [SymbolicTensor, SymbolicTensor]): SymbolicTensor;
}

/** Options every layer accepts. */
export interface LayerArgs {
  name?: string;
  /** Per-sample input shape; needed on the first layer of a sequential model. */
  inputShape?: Shape;
  /** [batch, ...inputShape]; the batch entry is ignored. */
  batchInputShape?: ReadonlyArray<number | null>;
  /** Accepted for tfjs compatibility; ignored. */
  batchSize?: number;
  /** Default true. */
  trainable?: boolean;
  /** Accepted for tfjs compatibility; ignored (everything is float32). */
  dtype?: 'float32';
}

export interface InputConfig extends LayerArgs {
  /** Shape of one sample: [height, width, channels] or [features]. */
  shape?: Shape;
}

export interface Conv2DLayerArgs extends LayerArgs {
  filters: number;
  kernelSize: PairArg;
  /** Default 1. */
  strides?: PairArg;
  /** Default 'valid'. */
  padding?: PaddingMode;
  /** Default 1; above 1 needs strides 1. */
  dilationRate?: PairArg;
  /** Default 'linear'. */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: 'zeros';
  dataFormat?: DataFormat;
}

/** Explicit pads (PyTorch's): n, [h, w] (symmetric) or [[top, bottom], [left, right]]. */
export type ExplicitPadding =
  number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];

export interface Pooling2DLayerArgs extends LayerArgs {
  /** Default 2. */
  poolSize?: PairArg;
  /** Default poolSize. */
  strides?: PairArg;
  /**
   * Default 'valid'. Explicit pads (each smaller than the window) are PyTorch's: max pooling pads with -infinity,
   * average pooling averages the inside part (or counts the pads with countIncludePad).
   */
  padding?: PaddingMode | ExplicitPadding;
  /** PyTorch's ceil_mode: ceil instead of floor for the output size (a last window starting in the trailing pad is dropped). Default false. */
  ceilMode?: boolean;
  dataFormat?: DataFormat;
}

export interface AveragePooling2DLayerArgs extends Pooling2DLayerArgs {
  /** PyTorch's count_include_pad: padded positions count in the average (the ceil-mode overhang never does). Default false (tfjs). */
  countIncludePad?: boolean;
}

export interface MaxPooling2DLayerArgs extends Pooling2DLayerArgs {
  /** true: a second output with the positions of the maxima, for maxUnpooling2d (PyTorch's return_indices). */
  returnIndices?: boolean;
}

export interface DenseLayerArgs extends LayerArgs {
  units: number;
  /** Default 'linear'. */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: 'zeros';
  /** Shorthand for inputShape: [inputDim]. */
  inputDim?: number;
}

export interface FlattenLayerArgs extends LayerArgs {
  dataFormat?: DataFormat;
}

export interface DropoutLayerArgs extends LayerArgs {
  /** Fraction of the inputs dropped in training, in [0, 1). (noiseShape is not supported.) */
  rate: number;
  /** Accepted for tfjs compatibility; dropout masks follow fit()'s seed. */
  seed?: number;
}

export interface ActivationLayerArgs extends LayerArgs {
  activation: ActivationIdentifier;
}

export interface BatchNormalizationLayerArgs extends LayerArgs {
  /** Only the channel axis is supported. */
  axis?: -1 | 3;
  /** Default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  epsilon?: number;
  /** Default true (beta). */
  center?: boolean;
  /** Default true (gamma). */
  scale?: boolean;
  betaInitializer?: 'zeros';
  gammaInitializer?: 'ones';
  movingMeanInitializer?: 'zeros';
  movingVarianceInitializer?: 'ones';
}

export interface ConcatenateLayerArgs extends LayerArgs {
  /** Only the channel axis is supported. */
  axis?: -1 | 3;
}

export interface GlobalPooling2DLayerArgs extends LayerArgs {
  dataFormat?: DataFormat;
}

export interface LeakyReLULayerArgs extends LayerArgs {
  /** Default 0.3 (tfjs's). */
  alpha?: number;
}

export interface ZeroPadding2DLayerArgs extends LayerArgs {
  /** n, [h, w] or [[top, bottom], [left, right]]; default 1. */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
  dataFormat?: DataFormat;
}

export interface Conv2DTransposeLayerArgs extends LayerArgs {
  filters: number;
  kernelSize: PairArg;
  /** Default 1. */
  strides?: PairArg;
  /**
   * Default 'valid'. Output size: in·stride ('same') or in·stride + max(kernel − stride, 0) ('valid'); explicit pads
   * are PyTorch's ConvTranspose2d crops: (in − 1)·stride + kernel − top − bottom + outputPadding.
   */
  padding?: PaddingMode | ExplicitPadding;
  /** PyTorch's output_padding: rows / columns added at the end (bias only); needs explicit padding. Default 0. */
  outputPadding?: PairArg;
  /** Default 'linear'. */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'; 'bilinear' gives FCN's bilinear upsampling kernel (filters = input channels). */
  kernelInitializer?: InitializerIdentifier | 'bilinear';
  biasInitializer?: 'zeros';
  dataFormat?: DataFormat;
  /** Only 1 is supported. */
  dilationRate?: 1 | readonly [1, 1];
}

export interface UpSampling2DLayerArgs extends LayerArgs {
  /** Default 2. */
  size?: PairArg;
  /** Default 'nearest'. */
  interpolation?: 'nearest' | 'bilinear';
  /** Bilinear with aligned corners (tfjs resizeBilinear's alignCorners, PyTorch's align_corners=True). Default false. */
  alignCorners?: boolean;
  /** Bilinear at half-pixel centres (tfjs's halfPixelCenters, PyTorch's align_corners=False). Default false. */
  halfPixelCenters?: boolean;
  dataFormat?: DataFormat;
}

export interface MaxUnpooling2DLayerArgs extends LayerArgs {
  /** Must match the pooling whose indices are used; default 2. */
  poolSize?: PairArg;
  /** Default poolSize. */
  strides?: PairArg;
}

/** Layer factories with TensorFlow.js layers names and options. Unknown options and bad values throw a CnnError. */
export interface LayerFactories {
  inputLayer(config: InputConfig): Layer;
  conv2d(config: Conv2DLayerArgs): Layer;
  maxPooling2d(config: MaxPooling2DLayerArgs & { returnIndices: true }): MaxPooling2DWithIndices;
  maxPooling2d(config?: MaxPooling2DLayerArgs): Layer;
  /** Alias of maxPooling2d. */
  maxPool2d(config: MaxPooling2DLayerArgs & { returnIndices: true }): MaxPooling2DWithIndices;
  maxPool2d(config?: MaxPooling2DLayerArgs): Layer;
  averagePooling2d(config?: AveragePooling2DLayerArgs): Layer;
  /** Alias of averagePooling2d. */
  avgPool2d(config?: Pooling2DLayerArgs): Layer;
  dense(config: DenseLayerArgs): Layer;
  flatten(config?: FlattenLayerArgs): Layer;
  dropout(config: DropoutLayerArgs): Layer;
  activation(config: ActivationLayerArgs): Layer;
  /** Weights [gamma, beta, movingMean, movingVariance]; batch statistics in fit, moving statistics in predict / evaluate. */
  batchNormalization(config?: BatchNormalizationLayerArgs): Layer;
  /** Element-wise sum of 2+ inputs of the same shape: apply([a, b, ...]). */
  add(config?: LayerArgs): Layer;
  /** Concatenates 2+ inputs along the channel axis: apply([a, b, ...]). */
  concatenate(config?: ConcatenateLayerArgs): Layer;
  globalAveragePooling2d(config?: GlobalPooling2DLayerArgs): Layer;
  globalMaxPooling2d(config?: GlobalPooling2DLayerArgs): Layer;
  /** (maxValue is not supported.) */
  reLU(config?: LayerArgs): Layer;
  leakyReLU(config?: LeakyReLULayerArgs): Layer;
  zeroPadding2d(config?: ZeroPadding2DLayerArgs): Layer;
  /** Kernel [kh, kw, filters, inChannels] as tfjs. */
  conv2dTranspose(config: Conv2DTransposeLayerArgs): Layer;
  upSampling2d(config?: UpSampling2DLayerArgs): Layer;
  maxUnpooling2d(config?: MaxUnpooling2DLayerArgs): MaxUnpooling2DLayer;
}

export const layers: LayerFactories;

/** The functional API's input: `cnn.input({ shape: [h, w, c] })` (or [features]). */
export function input(config: InputConfig): SymbolicTensor;

// ---- training: losses, metrics, optimizers -----------------------------------------------------------------------

export type LossIdentifier = 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy' | 'meanSquaredError' | 'mse' | 'MSE';
/** 'accuracy' and 'acc' are both logged as `acc`. */
export type MetricIdentifier = 'accuracy' | 'acc' | 'pixelAccuracy' | 'meanIoU';

export interface OptimizerExtraOptions {
  /** L2 weight decay; default 0. */
  weightDecay?: number;
}

/** An optimizer's settings (its getConfig(), as stored in a saved model); compile() accepts this too. */
export interface OptimizerConfig {
  name: 'sgd' | 'momentum' | 'adam';
  learningRate: number;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
}

/** An optimizer from cnn.train.sgd / momentum / adam. The update rules run in the engine. */
export interface Optimizer extends Required<OptimizerConfig> {
  getConfig(): OptimizerConfig;
}

/** (step, totalSteps) => learning rate (a positive number), for fit({ learningRateSchedule }). */
export type LearningRateSchedule = (step: number, totalSteps: number) => number;

export interface OneCycleOptions {
  /** Fraction of the steps spent warming up linearly; in [0, 1), default 0.1. */
  warmup?: number;
  /** Learning rate at the end of the cosine decay; default 1e-6. */
  final?: number;
}

export interface CompileArgs {
  /** 'sgd' (learning rate 0.01), 'adam' (tfjs defaults) or a cnn.train optimizer. */
  optimizer: 'sgd' | 'adam' | Optimizer | OptimizerConfig;
  loss: LossIdentifier;
  /** Logged and returned by evaluate() in this order. */
  metrics?: MetricIdentifier | MetricIdentifier[];
  /** Clips the global gradient norm (PyTorch clip_grad_norm_); 0 = off. */
  clipNorm?: number;
  /** sparseCategoricalCrossentropy only: one weight per class (PyTorch's `weight`). */
  classWeights?: readonly number[] | NumericTypedArray | null;
  /** sparseCategoricalCrossentropy only: pixels with this label count in neither loss nor metrics. */
  ignoreLabel?: number;
}

/** Metric values in logs, keyed by their canonical names; present when compiled with that metric. */
export interface MetricLogs {
  acc?: number;
  pixelAccuracy?: number;
  meanIoU?: number;
}

export interface BatchLogs extends MetricLogs {
  /** Index of the batch in its epoch. */
  batch: number;
  /** Samples in the batch. */
  size: number;
  loss: number;
  /** With fit({ recordGradientNorms: true }): L2 norm of each trainable layer's weight gradients (before clipping). */
  gradientNorms?: Record<string, number>;
}

export interface EpochLogs extends MetricLogs {
  loss: number;
  val_loss?: number;
  val_acc?: number;
  val_pixelAccuracy?: number;
  val_meanIoU?: number;
}

/** fit() callbacks; each may return a promise, which fit awaits. */
export interface FitCallbacks {
  onTrainBegin?(logs: Record<string, never>): void | Promise<void>;
  onTrainEnd?(logs: Record<string, never>): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Record<string, never>): void | Promise<void>;
  /** `stop()` ends training after this epoch (as does setting model.stopTraining = true). */
  onEpochEnd?(epoch: number, logs: EpochLogs, stop: () => void): void | Promise<void>;
  onBatchEnd?(batch: number, logs: BatchLogs): void | Promise<void>;
}

export interface FitArgs {
  /** Default 1. */
  epochs?: number;
  /** 1 to 65536; default 32. */
  batchSize?: number;
  /** Fraction in (0, 1) taken from the end of x / y (before shuffling) for validation. */
  validationSplit?: number;
  validationData?: [Tensor, Tensor];
  /** Default true. */
  shuffle?: boolean;
  /** Fixes shuffling and dropout; default random. */
  seed?: number;
  /** Accepted for tfjs compatibility; nothing is printed. */
  verbose?: number;
  callbacks?: FitCallbacks;
  /** Stops training after the current batch when aborted. */
  signal?: AbortSignal;
  /** Epoch to start counting from; default 0. */
  initialEpoch?: number;
  /** Milliseconds of work between yields to the event loop; default 15. */
  yieldEvery?: number;
  /**
   * Stops fit with a CnnError when the loss diverges (its running mean grows past 100x the first batches'); default
   * true. Non-finite losses always stop fit.
   */
  stopOnDivergence?: boolean;
  /** Sets the learning rate before every batch. */
  learningRateSchedule?: LearningRateSchedule;
  /** Adds gradientNorms to each batch's logs and to the History. */
  recordGradientNorms?: boolean;
  /** Random flips and/or quarter turns of each training sample, applied alike to per-pixel labels. */
  augment?: { flips?: boolean; rotations?: boolean };
}

/** What fit() resolves to (as tfjs's History). */
export interface History {
  /** Epoch indices that ran. */
  epoch: number[];
  /** Per epoch: loss, each metric (acc, pixelAccuracy, meanIoU) and, with validation, val_loss and val_<metric>. */
  history: { loss: number[] } & { [name: string]: number[] };
  params: { epochs: number; batchSize: number; samples: number };
  /** With recordGradientNorms: per epoch, each layer's mean gradient norm. */
  gradientNorms?: Array<Record<string, number>>;
}

export interface PredictArgs {
  /** 1 to 65536; default 32. */
  batchSize?: number;
}

export interface Gradients {
  loss: number;
  /** d loss / d input, shaped like x. */
  inputGradient: Tensor<'float32'>;
  /** d loss / d weight, in getWeights() order. */
  gradients: Array<Tensor<'float32'>>;
}

// ---- models ------------------------------------------------------------------------------------------------------

export interface ModelArgs {
  /** Exactly one input: the result of cnn.input(). */
  inputs: SymbolicTensor | [SymbolicTensor];
  /** Exactly one output. */
  outputs: SymbolicTensor | [SymbolicTensor];
  name?: string;
  /** Integer in [0, 2^32): the same seed gives bit-identical initial weights; default random. */
  seed?: number;
}

export interface SequentialArgs {
  layers?: Layer[];
  name?: string;
  /** Integer in [0, 2^32): the same seed gives bit-identical initial weights; default random. */
  seed?: number;
}

/** A layer of a serialized model (model.getConfig()). */
export interface LayerJSON {
  className: string;
  config: Record<string, unknown>;
  /** [layer name, output index] of each input. */
  inbound: Array<[string, number]>;
}

export interface ModelJSON {
  name: string;
  layers: LayerJSON[];
  inputs: Array<[string, number]>;
  outputs: Array<[string, number]>;
  sequential?: true;
}

export interface SegmentOptions {
  /** Must equal the model's input [h, w] when given (input sizes are fixed). */
  size?: number | readonly [number, number];
  /** Applied to each 0..255 value after resizing; null: none. Default v => v / 255. */
  normalize?: ((value: number) => number) | null;
  batchSize?: number;
}

export interface SegmentResult {
  /** The image's own size. */
  width: number;
  height: number;
  /** Class id per pixel, row-major, width · height bytes. */
  classes: Uint8Array;
  numClasses: number;
  timeMs: number;
}

/**
 * A graph of layers backed by one model in the engine's memory: cnn.model({ inputs, outputs }) or cnn.sequential().
 * compile / fit / predict / evaluate follow tfjs. Call dispose() when done.
 */
export class Model {
  #private;
  constructor(config?: Partial<ModelArgs>);
  name: string;
  /** The weight-initialisation seed. */
  readonly seed: number;
  /** The model's inputs / outputs (undefined for a Sequential without layers yet). */
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** Every layer in topological order (a Sequential leaves out its InputLayer, as tfjs). */
  readonly layers: Layer[];
  /** [null, ...sample shape] of the input; null while a Sequential has no layers. */
  readonly inputShape: Array<number | null> | null;
  readonly outputShape: Array<number | null> | null;
  /** True once the engine model exists (after compile, fit, predict, getWeights, summary, ...). */
  readonly built: boolean;
  readonly isDisposed: boolean;
  /** Set to true (e.g. in a callback) to end a running fit() after the current batch. */
  stopTraining: boolean;

  /** Throws a CnnError naming the layers when there is none of that name. */
  getLayer(name: string): Layer;
  /** The weights in tfjs order (trainable weights layer by layer, then the non-trainable ones), as copies. */
  getWeights(): Array<Tensor<'float32'>>;
  /** Replaces all weights (same order and shapes as getWeights()); a bad list leaves the weights unchanged. */
  setWeights(weights: Tensor[]): void;
  /** Weight names (layer/kernel, ...) in getWeights() order. */
  weightNames(): string[];
  countParams(): number;

  /** Sets optimizer, loss and metrics (again, to change them). Warns about lint() findings. */
  compile(config: CompileArgs): this;
  /** Changes the optimizer's learning rate (between batches, e.g. from a callback). */
  setLearningRate(learningRate: number): void;
  /**
   * Trains on x ([n, ...inputShape], float32) and y (sparse labels: int or float class ids [n] / [n, h, w]; others:
   * targets shaped like the output). One engine call per batch; yields to the event loop between batches. A second
   * concurrent fit() on the same model throws.
   */
  fit(x: Tensor, y: Tensor, args?: FitArgs): Promise<History>;
  /** Runs the model in inference mode; returns [n, ...outputShape]. */
  predict(x: Tensor, args?: PredictArgs): Tensor<'float32'>;
  /** [loss, ...metrics] as scalar tensors in the order compiled; just the loss tensor without metrics. */
  evaluate(x: Tensor, y: Tensor, args?: PredictArgs): Tensor<'float32'> | Array<Tensor<'float32'>>;
  /** Loss, d loss / d input and d loss / d weights for one batch (training-mode forward, no update). */
  computeGradients(x: Tensor, y: Tensor): Gradients;
  /** Prints a table of layers, output shapes, parameters and multiply-adds (default console.log). */
  summary(printFn?: (line: string) => void): void;
  summary(lineLength: number | undefined, positions: number[] | undefined, printFn?: (line: string) => void): void;
  /** Architecture as JSON (what save() stores with the weights). */
  getConfig(): ModelJSON;
  /**
   * Architecture, weights and compile settings in one file (docs/FORMAT.md); load with cnn.loadModel(). `metadata`
   * is stored as JSON; includeOptimizer keeps the optimizer's state (fine-tuning resumes where it stopped);
   * quantize stores the weights as float16 or uint8 (dequantized on load).
   */
  save(options?: SaveOptions): Uint8Array;
  /** The optimizer's state (what save({ includeOptimizer: true }) stores). Needs a compiled model. */
  getOptimizerState(): OptimizerState;
  /** Restores getOptimizerState()'s result. */
  setOptimizerState(state: OptimizerState): void;
  /** The model as ONNX bytes (NCHW, dynamic batch; docs/ONNX.md); the exporter loads on first use. */
  toONNX(options?: { opset?: number; name?: string }): Promise<Uint8Array>;
  /** Defaults a zoo builder chose from the input size (e.g. FCN depth), as summary() prints them. */
  chosenDefaults?: Record<string, string>;
  /** The `metadata` of the file this model was loaded from (or set before save()), else null. */
  metadata?: Record<string, unknown> | null;
  /**
   * Per-pixel classes of an image for a model mapping [h, w, c] to [h', w', classes]: the image (anything
   * browser.fromPixels reads, or a [h, w, c] Tensor of 0..255 values) is resized bilinearly to the model's input,
   * normalized, run, and the argmax scaled back to the image's size (nearest neighbour).
   */
  segment(image: PixelSource | Tensor, options?: SegmentOptions): SegmentResult;
  /** Frees the engine model (stops a running fit after its batch); idempotent. */
  dispose(): void;
}

export interface SaveOptions {
  metadata?: Record<string, unknown>;
  /** Store the optimizer's moments and step count too; default false. */
  includeOptimizer?: boolean;
  /** How weights are stored: 'float32' (default, exact), 'float16' or 'uint8' (per-tensor min and scale). */
  quantize?: 'float32' | 'float16' | 'uint8';
}

export interface OptimizerState {
  /** Steps taken since compile (Adam's bias correction). */
  step: number;
  /** Moment buffers: momentum keeps one slot per weight, Adam two. */
  tensors: Array<{ weight: string; slot: number; values: Float32Array }>;
}

/** A linear stack of layers; the first needs an inputShape. */
export class Sequential extends Model {
  constructor(config?: SequentialArgs);
  /** Appends a layer (before the model is built). */
  add(layer: Layer): void;
  getConfig(): ModelJSON & { sequential: true };
}

/** cnn.sequential({ layers, seed }). */
export function sequential(config?: SequentialArgs): Sequential;

/** cnn.model({ inputs, outputs, seed }): a graph model (any DAG with one input and one output). */
export function model(config: ModelArgs): Model;

/**
 * Loads a model saved with model.save(): bytes, an ArrayBuffer, a URL or (Node) a file path. The model predicts
 * exactly as the saved one did and is compiled again when it was compiled.
 */
export function loadModel(source: Uint8Array | ArrayBuffer | ArrayBufferView | string | URL): Promise<Model>;

/** The architecture of model.getConfig() as a new, unbuilt model with weights drawn from `seed`. */
export function modelFromConfig(config: ModelJSON, seed?: number): Model;

/**
 * An ONNX model as a wasm-cnn model (NHWC on our side; docs/ONNX.md). The ONNX code loads on first use; the same
 * function is `fromONNX` of 'wasm-cnn/onnx'.
 */
export function fromONNX(source: Uint8Array | ArrayBuffer | URL | string,
  options?: import('./onnx/index.js').FromONNXOptions): Promise<import('./onnx/index.js').ImportedModel>;

export { worker } from './worker/index.js';

// ---- training helpers --------------------------------------------------------------------------------------------

export interface LayerwiseOptions {
  /** Builds the model with `stages` encoder/decoder pairs; layers of outer stages keep their names. */
  build: (stages: number) => Model;
  stages: number;
  /** compile() options per stage (return a fresh optimizer each time); stage stages + 1 is the fine-tuning. */
  compile: (stage: number) => CompileArgs;
  x: Tensor;
  y: Tensor;
  /** fit() options for every stage. */
  fit?: FitArgs;
  /** One epoch count per stage, overriding fit.epochs. */
  epochsPerStage?: number[];
  /** Unfreeze everything and train once more at the end, with these fit() options on top of `fit`. */
  fineTune?: FitArgs;
  /**
   * Names of layers that are inherited but never frozen (e.g. SegNet's 'classifier', part of no encoder/decoder pair);
   * each must be a layer of the stage 1 model.
   */
  keepTrainable?: string[];
  onStageBegin?: (stage: number, model: Model) => void | Promise<void>;
  onStageEnd?: (stage: number, model: Model, history: History) => void | Promise<void>;
}

export interface LayerwiseResult {
  /** The deepest model, every layer trainable again. */
  model: Model;
  histories: History[];
}

export interface Train {
  /** Plain SGD: w -= lr · g. */
  sgd(learningRate: number, options?: OptimizerExtraOptions): Optimizer;
  /** tfjs's momentum optimizer (momentum in [0, 1)); Nesterov with useNesterov. */
  momentum(learningRate: number, momentum: number, useNesterov?: boolean, options?: OptimizerExtraOptions): Optimizer;
  /** Adam with tfjs's defaults (learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7). */
  adam(learningRate?: number, beta1?: number, beta2?: number, epsilon?: number, options?: OptimizerExtraOptions): Optimizer;
  /** Linear warm-up to `peak`, then cosine decay to `final`: a schedule for fit({ learningRateSchedule }). */
  oneCycle(peak: number, options?: OneCycleOptions): LearningRateSchedule;
  /**
   * SegNet's layer-wise training: trains the outermost encoder/decoder pair, then builds the model one stage deeper,
   * copies the trained layers into it by name and freezes them, trains the new pair, and so on. Earlier stages'
   * models are disposed.
   */
  layerwise(options: LayerwiseOptions): Promise<LayerwiseResult>;
}

export const train: Train;

export interface LintFinding {
  rule: 'relu-before-softmax' | 'relu-before-add';
  /** The layer the finding is about (the softmax / the add). */
  layer: string;
  /** The offending ReLU (or layer with a relu activation). */
  source: string;
  message: string;
}

/** Checks a model's graph for a ReLU feeding a softmax and for residual branches ending in a ReLU. */
export function lint(model: Model): LintFinding[];

// ---- model zoo ---------------------------------------------------------------------------------------------------

/** Options of every classification zoo model. */
export interface ZooOptions {
  /** [height, width, channels]; default [32, 32, 3] (LeNet-5: [28, 28, 1]). */
  inputShape?: Shape;
  /** Default 10. */
  numClasses?: number;
  /** Scales every filter count and hidden dense width (rounded, at least 1); default 1. */
  widthMultiplier?: number;
  /** Fixes weight initialisation. */
  seed?: number;
  name?: string;
}

export interface LeNet5Options extends ZooOptions {
  /** Dropout after the hidden dense layer, in [0, 1); default 0.25. */
  dropout?: number;
}

export interface AlexNetOptions extends ZooOptions {
  /** Hidden dense widths (scaled by widthMultiplier); default [1024, 1024]. */
  denseUnits?: number[];
  /** Default 0.5. */
  dropout?: number;
}

export interface VggOptions extends ZooOptions {
  /** VGG-11/13/16/19 layout; default 16. Give depth or blocks, not both. */
  depth?: 11 | 13 | 16 | 19;
  /** [convsPerBlock, filters] per block; overrides depth. */
  blocks?: Array<[number, number]>;
  /** conv without bias → batch norm → ReLU; default false. */
  batchNorm?: boolean;
  /** Default [512]. */
  denseUnits?: number[];
  /** Default 0.5. */
  dropout?: number;
}

export interface NinOptions extends ZooOptions {
  /** Default 0.5. */
  dropout?: number;
  /** Default false. */
  batchNorm?: boolean;
}

export interface GoogLeNetOptions extends ZooOptions {
  /** Inception blocks per stage, 1 to 3 stages; default [2, 2, 2] (GoogLeNet: [2, 5, 2]). */
  blocksPerStage?: number[];
  /** Default '5x5'. */
  branch5x5?: '5x5' | 'double3x3';
  /** Default 0.4. */
  dropout?: number;
  /** Default false. */
  batchNorm?: boolean;
}

export interface ResNetOptions extends ZooOptions {
  /** 18 or 34 (ImageNet layouts) or 6n + 2 (CIFAR layouts: 8, 14, 20, 32, ...); default 20. */
  depth?: number;
}

/** Options of the segmentation zoo models. */
export interface SegmentationZooOptions {
  /** [height, width, channels], each side divisible by 2^depth; default [64, 64, 3]. */
  inputShape?: Shape;
  /** At least 2; default 4. */
  numClasses?: number;
  /** Encoder stages, 1 to 6. */
  depth?: number;
  /** Filters of the first stage (doubling per stage, at most 8×); default 16. */
  width?: number;
  /** Default 2. */
  convsPerStage?: number;
  seed?: number;
  name?: string;
}

export interface FcnOptions extends SegmentationZooOptions {
  /** Default 4. '16s' needs depth >= 2, '8s' depth >= 3. */
  depth?: number;
  /** Default '8s'. */
  variant?: '32s' | '16s' | '8s';
}

export interface SegNetOptions extends SegmentationZooOptions {
  /** Default 3. */
  depth?: number;
}

/** The classic architectures as ordinary (unbuilt, uncompiled) functional models with readable layer names. */
export interface Zoo {
  lenet5(options?: LeNet5Options): Model;
  alexnet(options?: AlexNetOptions): Model;
  vgg(options?: VggOptions): Model;
  nin(options?: NinOptions): Model;
  googlenet(options?: GoogLeNetOptions): Model;
  resnet(options?: ResNetOptions): Model;
  /** FCN-32s/16s/8s: VGG-style encoder, 1×1 classifier, bilinear-initialised transposed convolutions with skips. */
  fcn(options?: FcnOptions): Model;
  /** SegNet: encoder-decoder whose decoder unpools with its mirror encoder's max-pooling indices. */
  segnet(options?: SegNetOptions): Model;
}

export const zoo: Zoo;

// ---- synthetic data sets (cnn.data) ------------------------------------------------------------------------------

export interface ShapesOptions {
  /** Number of images (required). */
  count: number;
  /** Side in pixels, 16..4096; default 64. */
  size?: number;
  /** Any safe integer; default 1. */
  seed?: number;
  /** Default min(1, maxShapes). */
  minShapes?: number;
  /** 1..64; default 4. */
  maxShapes?: number;
  /** Standard deviation of per-pixel noise, in [0, 1]; default 0.1. */
  noise?: number;
}

export interface ShapeObject {
  classIndex: number;
  className: string;
  /** RGB fill, as stored in images. */
  color: number[];
  /** Area in pixel centres. */
  pixels: number;
  visiblePixels: number;
}

/** A segmentation data set: NHWC float32 images in [0, 1] and one int32 class per pixel. */
export interface SegmentationDataset<O> {
  /** count × height × width × channels. */
  images: Float32Array;
  /** count × height × width class ids. */
  masks: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames: string[];
  /** Per image, the objects drawn. */
  objects: O[][];
}

export interface ShapesDataset extends SegmentationDataset<ShapeObject> {
  channels: 3;
  /** 0 background, 1 circle, 2 rectangle, 3 triangle. */
  numClasses: 4;
}

export interface MnistDigits {
  /** count × 784 values in [0, 1]. */
  images: ArrayLike<number>;
  /** Digit classes 0..9. */
  labels: ArrayLike<number>;
  /** Default labels.length. */
  count?: number;
}

export interface MnistScenesOptions {
  digits: MnistDigits;
  /** Number of scenes (required). */
  count: number;
  /** Side in pixels (at least 28 × scale[1]); default 64. */
  size?: number;
  seed?: number;
  minDigits?: number;
  /** Default 3. */
  maxDigits?: number;
  /** 1 or 3 (grey replicated); default 1. */
  channels?: 1 | 3;
  /** [min, max] digit size / 28 px; default [0.8, 1.4]. */
  scale?: readonly [number, number];
  /** Default 0.05. */
  noise?: number;
}

export interface DigitObject {
  label: number;
  /** Index into digits. */
  index: number;
  x: number;
  y: number;
  size: number;
  pixels: number;
}

export interface MnistScenesDataset extends SegmentationDataset<DigitObject> {
  /** background, then the digits 0..9 (label = 1 + digit). */
  numClasses: 11;
  /** Intensity above which a pixel belongs to a digit (0.3). */
  threshold: number;
}

export interface Data {
  /** Circles, rectangles and triangles on textured backgrounds, with per-pixel masks; seeded and deterministic. */
  readonly shapes: (options: ShapesOptions) => ShapesDataset;
  /** Scenes of several real MNIST digits (passed in) for segmentation; 11 classes. */
  readonly mnistScenes: (options: MnistScenesOptions) => MnistScenesDataset;
  /** numClasses distinct RGBA colours (class 0 transparent): Uint8Array(numClasses × 4). */
  readonly palette: (numClasses: number) => Uint8Array;
  readonly SHAPE_CLASSES: readonly ['background', 'circle', 'rectangle', 'triangle'];
}

export const data: Data;

// ---- images (cnn.browser) ----------------------------------------------------------------------------------------

/** An image in the ImageData layout: RGBA bytes, row-major. */
export interface PixelData {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** What maskToImageData / overlay return: an ImageData where that exists, else a plain object like it. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Canvases (when the environment's lib declares them). */
export type CanvasLike = GlobalInstance<'HTMLCanvasElement'> | GlobalInstance<'OffscreenCanvas'>;

/**
 * Images that fromPixels / segment / overlay read: ImageData or a plain { width, height, data }, and, where the
 * environment has them, HTMLCanvasElement, OffscreenCanvas, HTMLImageElement (loaded), HTMLVideoElement,
 * ImageBitmap, VideoFrame.
 */
export type PixelSource =
  | PixelData
  | GlobalInstance<'ImageData'>
  | CanvasLike
  | GlobalInstance<'HTMLImageElement'>
  | GlobalInstance<'HTMLVideoElement'>
  | GlobalInstance<'ImageBitmap'>
  | GlobalInstance<'VideoFrame'>;

/** A class map: segment()'s result, { width, height, classes }, or a [h, w] / [h, w, 1] Tensor of class ids. */
export type MaskInput = { width: number; height: number; classes: ArrayLike<number> } | Tensor;

/** RGBA bytes per class (flat), or one [r, g, b] / [r, g, b, a] per class. */
export type PaletteInput = NumericTypedArray | readonly number[] | ReadonlyArray<readonly number[] | NumericTypedArray>;

export interface OverlayOptions {
  /** Opacity in [0, 1]; default 0.5 (times each colour's own alpha). */
  alpha?: number;
  /** Default: the Pascal VOC colours, class 0 transparent. */
  palette?: PaletteInput | null;
}

export interface Browser {
  /**
   * An image as a float32 Tensor [height, width, numChannels] of 0..255 values (tfjs gives int32). numChannels 1 =
   * red, 3 = RGB (default), 4 = RGBA.
   */
  fromPixels(pixels: PixelSource, numChannels?: 1 | 3 | 4): Tensor<'float32'>;
  /**
   * RGBA bytes of a [h, w] / [h, w, 1] (grey), [h, w, 3] or [h, w, 4] tensor (float32 in [0, 1], int32 in [0, 255]).
   * A canvas is resized and drawn on; a plain object gets width, height and data.
   */
  toPixels(img: Tensor, canvas?: CanvasLike | { width?: number; height?: number; data?: Uint8ClampedArray }): Promise<Uint8ClampedArray>;
  /** tfjs resizeBilinear with halfPixelCenters (PyTorch align_corners=False) for [h, w, c] / [n, h, w, c]. */
  resizeBilinear(images: Tensor, size: number | readonly [number, number]): Tensor<'float32'>;
  /** Colours a class map (default palette: Pascal VOC, class 0 transparent). */
  maskToImageData(mask: MaskInput, palette?: PaletteInput | null): RgbaImage;
  /** Blends the mask over a canvas / OffscreenCanvas in place and returns it. */
  overlay<C extends CanvasLike>(target: C, mask: MaskInput, options?: OverlayOptions): C;
  /** Blends the mask over an image; returns a new image of the same kind (ImageData or plain object). */
  overlay(target: PixelSource, mask: MaskInput, options?: OverlayOptions): RgbaImage;
  /** A copy of the default palette: 256 RGBA colours, class 0 transparent. */
  defaultPalette(): Uint8ClampedArray;
}

export const browser: Browser;
