// Rebuilds one of our functional models in tfjs-layers (or in our own layers) from our model.getConfig(), for
// tests/bench/bench.js. Same approach as the translator of tests/js/zoo.test.js: walk the config's layers in order,
// apply each layer to the outputs its `inbound` list names, and make a model of the config's inputs and outputs.
//
// Options beyond a 1:1 translation:
// - `unpooling: 'upSampling2d'`: tfjs has no max-unpooling, so each MaxUnpooling2D becomes upSampling2d({ size:
//   poolSize, interpolation: 'nearest' }) of its first input (the values; the indices input is dropped), and a
//   MaxPooling2D with returnIndices becomes a plain max pooling. The network then differs from ours (nearest
//   upsampling copies each value to the whole window instead of to the position of its maximum), with the same
//   weights and the same sizes everywhere. Passing it with lib = cnn builds our own version of that network.
// - Our kernelInitializer 'bilinear' (conv2dTranspose) has no tfjs counterpart: it is dropped, for both libraries
//   (the weights are copied in afterwards anyway).

// getConfig() className -> factory name in tf.layers / cnn.layers.
const FACTORY = {
  Conv2D: 'conv2d', Dense: 'dense', Flatten: 'flatten', Dropout: 'dropout', Activation: 'activation',
  MaxPooling2D: 'maxPooling2d', AveragePooling2D: 'averagePooling2d', BatchNormalization: 'batchNormalization',
  Add: 'add', Concatenate: 'concatenate', GlobalAveragePooling2D: 'globalAveragePooling2d',
  GlobalMaxPooling2D: 'globalMaxPooling2d', ReLU: 'reLU', LeakyReLU: 'leakyReLU', ZeroPadding2D: 'zeroPadding2d',
  Conv2DTranspose: 'conv2dTranspose', UpSampling2D: 'upSampling2d',
};

/**
 * Builds the model described by `config` (our getConfig()) with `lib` (tf or cnn). Returns { model, substituted }:
 * substituted lists "layer name: what it became" for every layer that is not a 1:1 translation.
 */
export function rebuild(lib, config, { unpooling = 'error', seed } = {}) {
  const outputsOf = new Map();
  const substituted = [];
  for (const { className, config: layerConfig, inbound } of config.layers) {
    if (className === 'InputLayer') {
      outputsOf.set(layerConfig.name, [lib.input({ shape: layerConfig.shape, name: layerConfig.name })]);
      continue;
    }
    const { inputShape, ...cfg } = layerConfig;
    let ins = inbound.map(([name, index]) => {
      const outs = outputsOf.get(name);
      if (!outs) throw new Error(`rebuild: layer ${layerConfig.name} reads ${name}, not built yet`);
      return outs[Math.min(index, outs.length - 1)];
    });
    let layer;
    if (className === 'MaxUnpooling2D') {
      if (unpooling !== 'upSampling2d') throw new Error(`rebuild: ${layerConfig.name}: no max-unpooling in this library`);
      const p = cfg.poolSize ?? 2;
      // tfjs's upSampling2d takes size as [h, w] only (a number gives NaN shapes).
      layer = lib.layers.upSampling2d({ name: cfg.name, size: Array.isArray(p) ? p : [p, p], interpolation: 'nearest' });
      ins = [ins[0]];
      substituted.push(`${cfg.name}: upSampling2d (nearest, size ${p})`);
    } else {
      const factory = FACTORY[className];
      if (!factory) throw new Error(`rebuild: no translation for layer class ${className}`);
      if (className === 'MaxPooling2D' && cfg.returnIndices) {
        if (unpooling !== 'upSampling2d') throw new Error(`rebuild: ${cfg.name}: returnIndices needs unpooling: 'upSampling2d'`);
        delete cfg.returnIndices;
        substituted.push(`${cfg.name}: maxPooling2d without indices`);
      }
      if (cfg.kernelInitializer === 'bilinear') delete cfg.kernelInitializer;
      layer = lib.layers[factory](cfg);
    }
    const out = layer.apply(ins.length === 1 ? ins[0] : ins);
    outputsOf.set(cfg.name, Array.isArray(out) ? out : [out]);
  }
  const pick = ([name, index]) => outputsOf.get(name)[index];
  const inputs = config.inputs.map(pick);
  const outputs = config.outputs.map(pick);
  const opts = { inputs: inputs.length === 1 ? inputs[0] : inputs, outputs: outputs.length === 1 ? outputs[0] : outputs };
  if (seed !== undefined) opts.seed = seed;
  return { model: lib.model(opts), substituted };
}

/**
 * Copies all of `ours`'s weights into `target` with one whole-model setWeights (getWeights() of our models lists
 * weights in tfjs's order, branching graphs included); checks first that names and shapes line up one to one.
 * `target` is a tfjs model (isTf) or one of ours.
 */
export function copyAllWeights(tf, ours, target, isTf) {
  const names = ours.weightNames();
  const ws = ours.getWeights();
  try {
    const targetNames = isTf ? target.weights.map((w) => w.originalName) : target.weightNames();
    const targetShapes = isTf ? target.weights.map((w) => w.shape) : target.getWeights().map((w) => { const s = w.shape; w.dispose(); return s; });
    if (targetNames.length !== names.length) throw new Error(`${names.length} weights in ours, ${targetNames.length} in the copy`);
    names.forEach((n, i) => {
      if (n !== targetNames[i]) throw new Error(`weight ${i}: ${n} in ours, ${targetNames[i]} in the copy (order differs)`);
      if (ws[i].shape.join() !== targetShapes[i].join()) throw new Error(`weight ${n}: shape ${ws[i].shape} vs ${targetShapes[i]}`);
    });
    if (isTf) {
      const ts = ws.map((w) => tf.tensor(w.dataSync(), w.shape));
      target.setWeights(ts);
      tf.dispose(ts);
    } else {
      target.setWeights(ws);
    }
  } finally {
    ws.forEach((w) => w.dispose());
  }
}
