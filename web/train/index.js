// cnn.train: optimizers (tfjs's names and defaults), the one-cycle schedule and layer-wise training.
import { optimizers } from './optimizers.js';
import { layerwise } from './layerwise.js';

export const train = Object.freeze({ ...optimizers, layerwise });
