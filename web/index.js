// wasm-cnn: train and run convolutional networks client-side. The public entry point; see docs/API.md.
import { ready, CnnError, heapBytes, isReady, engineInfo } from './engine.js';
import { Tensor, tensor, liveTensors } from './tensor.js';
import { layers, input } from './layers.js';
import { Model, Sequential, liveModels } from './model.js';
import { train } from './optimizers.js';
import { saveModel, loadModel } from './serialize.js';
import { zoo } from './zoo.js';
import { fcn, segnet } from './zoo-segmentation.js';
import { lint } from './lint.js';
import { segment } from './canvas.js';
export { browser } from './canvas.js';
import { layerwise } from './layerwise.js';

export { ready, engineInfo, CnnError, Tensor, tensor, layers, input, train, loadModel, Model, Sequential, lint, zoo };
Object.assign(zoo, { fcn, segnet });
export const version = '0.1.0';

/** cnn.sequential({ layers, seed }) */
export function sequential(config) { return new Sequential(config); }

/** cnn.model({ inputs, outputs, seed }) */
export function model(config) { return new Model(config); }

Model.prototype.save = function save(options) { return saveModel(this, options); };

/** model.segment(image, { size, normalize, batchSize }) → { width, height, classes, numClasses, timeMs } */
Model.prototype.segment = function (image, options) { return segment(this, image, options); };
train.layerwise = layerwise;

/** Live tensors, their bytes, models, and the size of the engine's wasm memory. */
export function memory() {
  const t = liveTensors();
  return { numTensors: t.count, numBytes: t.bytes, numModels: liveModels(), wasmHeapBytes: isReady() ? heapBytes() : 0 };
}
export { data } from './datasets.js';
