// Types of the wasm-cnn/onnx entry point (web/onnx/index.js).
import type { Model, Sequential } from '../index.js';

export interface ToONNXOptions {
  /** ONNX opset of the default domain, 13 to 17 (default 17). */
  opset?: number;
  /** The graph's name (default: the model's). */
  name?: string;
}

/** The model as ONNX ModelProto bytes: NCHW graph, dynamic batch axis 'N', PyTorch weight layouts. */
export function toONNX(model: Model | Sequential, options?: ToONNXOptions): Uint8Array;

export interface FromONNXOptions {
  /** Seeds dropout and training of the imported model. */
  seed?: number;
  /** Our per-sample input shape ([h, w, c] or [features]) when the file leaves height / width dynamic. */
  inputShape?: number[];
  /** The model's name (default: the graph's). */
  name?: string;
}

export interface OnnxEnd {
  /** The ONNX value's name. */
  name: string;
  /** The ONNX tensor's layout: 'NCHW', 'NHWC' or 'NF' (2-D). Our side is always NHWC / [N, F]. */
  layout: 'NCHW' | 'NHWC' | 'NF';
  /** The ONNX tensor's shape, batch as 'N'. */
  shape: (number | 'N')[];
}

export interface ImportedModel extends Model {
  onnx: { opset: number; input: OnnxEnd; output: OnnxEnd };
}

/** A wasm-cnn model computing what the ONNX model computes (NHWC input and output on our side). */
export function fromONNX(source: Uint8Array | ArrayBuffer | URL | string, options?: FromONNXOptions): Promise<ImportedModel>;

export const MIN_OPSET: number;
export const MAX_OPSET: number;

/** NHWC data [n, h, w, c] -> NCHW (a new Float32Array). */
export function nhwcToNchw(data: ArrayLike<number>, shape: [number, number, number, number]): Float32Array;
/** NCHW data [n, c, h, w] -> NHWC (a new Float32Array). */
export function nchwToNhwc(data: ArrayLike<number>, shape: [number, number, number, number]): Float32Array;
