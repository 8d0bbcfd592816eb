// The layer families and the one explicit list of factories (cnn.layers.*), as tfjs-layers' exports_layers.ts.
// LAYER_CLASSES maps the className stored in model files to its class, for loadModel.
import { InputLayer, Dense, Flatten, Dropout, Activation, input } from './core.js';
import { Conv2D, Conv2DTranspose } from './convolutional.js';
import { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxUnpooling2D } from './pooling.js';
import { BatchNormalization } from './normalization.js';
import { Add, Concatenate } from './merge.js';
import { ReLU, LeakyReLU } from './activations.js';
import { ZeroPadding2D } from './padding.js';
import { UpSampling2D } from './upsampling.js';

export { input };
export { Layer } from './layer.js';

export const LAYER_CLASSES = new Map(Object.entries({
  InputLayer, Dense, Flatten, Dropout, Activation, Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D,
  GlobalAveragePooling2D, GlobalMaxPooling2D, MaxUnpooling2D, BatchNormalization, Add, Concatenate, ReLU, LeakyReLU,
  ZeroPadding2D, UpSampling2D,
}));

export const layers = Object.freeze({
  inputLayer: (config) => new InputLayer(config),
  // core
  dense: (config) => new Dense(config),
  flatten: (config) => new Flatten(config),
  dropout: (config) => new Dropout(config),
  activation: (config) => new Activation(config),
  // convolutional
  conv2d: (config) => new Conv2D(config),
  conv2dTranspose: (config) => new Conv2DTranspose(config),
  // pooling
  maxPooling2d: (config) => new MaxPooling2D(config),
  maxPool2d: (config) => new MaxPooling2D(config),
  averagePooling2d: (config) => new AveragePooling2D(config),
  avgPool2d: (config) => new AveragePooling2D(config),
  globalAveragePooling2d: (config) => new GlobalAveragePooling2D(config),
  globalMaxPooling2d: (config) => new GlobalMaxPooling2D(config),
  maxUnpooling2d: (config) => new MaxUnpooling2D(config),
  // normalization
  batchNormalization: (config) => new BatchNormalization(config),
  // merge
  add: (config) => new Add(config),
  concatenate: (config) => new Concatenate(config),
  // advanced activations
  reLU: (config) => new ReLU(config),
  leakyReLU: (config) => new LeakyReLU(config),
  // padding and upsampling
  zeroPadding2d: (config) => new ZeroPadding2D(config),
  upSampling2d: (config) => new UpSampling2D(config),
});
