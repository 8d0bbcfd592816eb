// Declarations of cnn.worker (web/worker/client.js): the library in a Worker, as promises. web/index.d.ts re-exports
// `worker` from here. See docs/WORKER.md.
import type {
  SegmentationDataset,
  Tensor, DataType, Shape, NumericTypedArray, CompileArgs, FitArgs, FitCallbacks, History, PredictArgs, ModelJSON,
  Model, PixelSource, SegmentResult, ReadyOptions, Zoo, ShapesOptions, MnistScenesOptions, ShapeObject, DigitObject,
} from '../index.js';

export interface WorkerCreateOptions {
  /** Threads of the engine in the worker (passed to cnn.ready); an integer from 1 to 256. */
  threads?: number;
  /** The worker script, when a bundler or CDN moved web/worker/worker.js; default next to client.js. */
  url?: string | URL;
  /** As cnn.ready's: where the worker loads the engine from (resolved relative to the library's engine module). */
  wasmUrl?: ReadyOptions['wasmUrl'];
  /** As cnn.ready's: the engine's bytes (copied to the worker). */
  wasmBinary?: ReadyOptions['wasmBinary'];
}

/** A tensor kept in the worker (w.tensor, w.data.*): fit / predict / evaluate / setWeights take it without a copy. */
export class RemoteTensor<D extends DataType = DataType> {
  private constructor();
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: D;
  readonly size: number;
  readonly rank: number;
  readonly isDisposed: boolean;
  /** A copy of the values. */
  data(): Promise<D extends 'int32' ? Int32Array : Float32Array>;
  /** A local Tensor with the same values. */
  toTensor(): Promise<Tensor<D>>;
  /** Frees the worker's copy; idempotent. */
  dispose(): Promise<void>;
}

/** A tensor argument of a remote model: a local Tensor (its values are copied once) or a worker tensor. */
export type TensorArg<D extends DataType = DataType> = Tensor<D> | RemoteTensor<D>;

/** fit's options in a worker: as the library's; a learningRateSchedule is evaluated on the calling side up front. */
export interface RemoteFitArgs extends Omit<FitArgs, 'validationData' | 'callbacks'> {
  validationData?: [TensorArg, TensorArg];
  /** Run on the calling side, in order, with the worker's logs; the worker waits for onEpochEnd only. */
  callbacks?: FitCallbacks;
  /** Default 0 in a worker (yield after every batch, so that an abort is seen within one batch). */
  yieldEvery?: number;
}

export interface RemoteSegmentOptions {
  size?: number | readonly [number, number];
  /** Left out: v / 255; null: none; { mean, std }: (v - mean) / std. Functions cannot cross to a worker. */
  normalize?: { mean?: number; std?: number } | null;
  batchSize?: number;
}

export interface RemoteLayerInfo {
  name: string;
  className: string;
  trainable: boolean;
}

/** A model that lives in the worker: the library's model methods, each returning a promise. */
export class RemoteModel {
  private constructor();
  readonly name: string;
  readonly inputShape: Array<number | null>;
  readonly outputShape: Array<number | null>;
  /** The layers when the model was made (a Sequential leaves out its InputLayer, as the library). */
  readonly layers: readonly RemoteLayerInfo[];
  /** The loaded file's metadata, else null. */
  readonly metadata: Record<string, unknown> | null;
  readonly isDisposed: boolean;
  compile(config: CompileArgs): Promise<void>;
  fit(x: TensorArg<'float32'>, y: TensorArg, options?: RemoteFitArgs): Promise<History>;
  predict(x: TensorArg<'float32'>, options?: PredictArgs): Promise<Tensor<'float32'>>;
  /** [loss, ...metrics] as scalar Tensors; just the loss when compiled without metrics. */
  evaluate(x: TensorArg<'float32'>, y: TensorArg, options?: PredictArgs): Promise<Tensor<'float32'> | Array<Tensor<'float32'>>>;
  /** Canvases, images and video frames are sent as an ImageBitmap; ImageData and { width, height, data } as they are. */
  segment(image: PixelSource | TensorArg<'float32'>, options?: RemoteSegmentOptions): Promise<SegmentResult>;
  save(options?: { metadata?: Record<string, unknown> }): Promise<Uint8Array>;
  getWeights(): Promise<Array<Tensor<'float32'>>>;
  setWeights(weights: ReadonlyArray<TensorArg<'float32'>>): Promise<void>;
  /** The summary's lines; printFn, when given, gets each. */
  summary(printFn?: (line: string) => void): Promise<string[]>;
  countParams(): Promise<number>;
  setLearningRate(learningRate: number): Promise<void>;
  /** Frees the model in the worker (a running fit stops after its batch); idempotent. */
  dispose(): Promise<void>;
}

/** The zoo's builders, run in the worker. */
export type RemoteZoo = { [K in keyof Zoo]: (options?: Parameters<Zoo[K]>[0]) => Promise<RemoteModel> };

/** A generated data set whose images (x) and masks (y) stay in the worker. */
export interface RemoteDataset<O> extends Omit<SegmentationDataset<O>, 'images' | 'masks'> {
  x: RemoteTensor<'float32'>;
  y: RemoteTensor<'int32'>;
}

export interface RemoteWorker {
  readonly version: string;
  readonly zoo: RemoteZoo;
  readonly data: {
    shapes(options: ShapesOptions): Promise<RemoteDataset<ShapeObject>>;
    mnistScenes(options: MnistScenesOptions): Promise<RemoteDataset<DigitObject>>;
  };
  /** Builds model.getConfig()'s architecture in the worker; given a local (unbuilt) model, its config and seed. */
  modelFromConfig(config: ModelJSON | Model, options?: { seed?: number }): Promise<RemoteModel>;
  /** Bytes are copied once; URLs and paths are read by the worker (relative URLs against the page). */
  loadModel(source: Uint8Array | ArrayBuffer | ArrayBufferView | string | URL): Promise<RemoteModel>;
  tensor<D extends DataType = 'float32'>(values: NumericTypedArray | readonly number[] | Tensor<D>, shape?: Shape, dtype?: D): Promise<RemoteTensor<D>>;
  /** The worker's cnn.memory(), with its models and kept tensors. */
  memory(): Promise<{ numTensors: number; numBytes: number; numModels: number; wasmHeapBytes: number;
    numWorkerModels: number; numWorkerTensors: number }>;
  readonly isTerminated: boolean;
  /** Ends the worker: pending and later calls reject with a CnnError. */
  terminate(): void;
}

export const worker: {
  /** Starts the engine in a module Worker (Node: worker_threads); resolves once it is ready. */
  create(options?: WorkerCreateOptions): Promise<RemoteWorker>;
};
