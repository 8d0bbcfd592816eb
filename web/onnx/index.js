// wasm-cnn/onnx: models in and out of ONNX, in its own entry point so the core download does not grow. See
// docs/ONNX.md for the op table and layouts.
//
//   import * as cnn from 'wasm-cnn';
//   import { toONNX, fromONNX } from 'wasm-cnn/onnx';
//   const bytes = toONNX(model, { opset: 17 });          // NCHW graph, dynamic batch axis 'N'
//   const imported = await fromONNX('resnet-block.onnx'); // NHWC on our side; imported.onnx describes both ends
export { toONNX, MIN_OPSET, MAX_OPSET } from './export.js';
export { fromONNX } from './import.js';
export { nhwcToNchw, nchwToNhwc } from './layout.js';
