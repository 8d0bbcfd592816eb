// wasm-cnn: train and run convolutional networks client-side. The public entry point; see docs/API.md and
// docs/ARCHITECTURE.md. This file only re-exports: nothing is patched onto another module's objects.
import { Model, Sequential } from './model/model.js';
import { liveTensors } from './core/tensor.js';
import { liveModels } from './model/runtime.js';
import { isReady, heapBytes } from './engine/loader.js';

export { CnnError } from './core/errors.js';
export { ready, engineInfo } from './engine/loader.js';
export { Tensor, tensor } from './core/tensor.js';
export { layers, input } from './layers/index.js';
export { Model, Sequential };
export { train } from './train/index.js';
export { loadModel, modelFromConfig } from './model/load.js';
export { zoo } from './zoo/index.js';
export { lint } from './train/lint.js';
export { browser } from './image/index.js';
export { data } from './data/index.js';
export { worker } from './worker/client.js';

/**
 * cnn.fromONNX(bytes | URL | path, options) → a wasm-cnn model computing what the ONNX model computes (docs/ONNX.md).
 * The ONNX code is loaded on first use (its own chunk for bundlers), so the core download does not grow.
 */
export async function fromONNX(source, options) {
  const onnx = await import('./onnx/index.js');
  return onnx.fromONNX(source, options);
}

export const version = '0.1.0';

/** cnn.sequential({ layers, seed }) */
export function sequential(config) { return new Sequential(config); }

/** cnn.model({ inputs, outputs, seed }) */
export function model(config) { return new Model(config); }

/** Live tensors, their bytes, models, and the size of the engine's wasm memory. */
export function memory() {
  const t = liveTensors();
  return { numTensors: t.count, numBytes: t.bytes, numModels: liveModels(), wasmHeapBytes: isReady() ? heapBytes() : 0 };
}
