// Layer-wise training (from the SegNet notes): train the outermost encoder/decoder pair first, freeze it, add the
// next inner pair, train that, and so on. Each stage is a new model one stage deeper, built by the caller's
// `build(stages)`; layers it shares by name with the previous stage's model take over their trained weights and
// stay frozen (batch norm in them runs on its moving statistics), so only the new inner pair learns, together with
// the layers named in `keepTrainable` (the classifier on top of the outermost decoder belongs to no pair: frozen,
// it keeps mapping features to classes the way the shallow first stage could, and the inner pairs cannot fix that).
import { CnnError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';

/**
 * await cnn.train.layerwise({
 *   build: (stages) => cnn.zoo.segnet({ ..., depth: stages }),   // a model with `stages` encoder/decoder pairs
 *   stages: 3,                                                  // train 1, then 1+2 (1 frozen), then 1+2+3 ...
 *   compile: () => ({ optimizer: cnn.train.adam(0.002), loss: 'sparseCategoricalCrossentropy', metrics: ['meanIoU'] }),
 *   x, y, fit: { epochs: 5, batchSize: 16, validationData, ... },  // options for every stage's fit()
 *   epochsPerStage: [4, 4, 6],                                  // optional, overrides fit.epochs per stage
 *   fineTune: { epochs: 2 },                                    // optional: unfreeze everything and train at the end
 *   keepTrainable: ['classifier'],                              // optional: shared layers retrained at every stage
 *   onStageBegin(stage, model), onStageEnd(stage, model, history),
 * }) → { model, histories }
 * The models of earlier stages are disposed; the returned model is the deepest one, with every layer trainable
 * again (call fit on it to fine-tune further).
 */
export async function layerwise(options) {
  const known = ['build', 'stages', 'compile', 'x', 'y', 'fit', 'epochsPerStage', 'fineTune', 'keepTrainable', 'onStageBegin',
    'onStageEnd'];
  checkOptions(options, known, 'train.layerwise');
  const { build, stages, compile, x, y, fit = {}, epochsPerStage, fineTune, keepTrainable = [], onStageBegin, onStageEnd } = options;
  if (typeof build !== 'function') throw new CnnError('train.layerwise: build must be a function (stages) => model');
  if (!Number.isInteger(stages) || stages < 1) throw new CnnError(`train.layerwise: stages must be a positive integer, got ${stages}`);
  if (typeof compile !== 'function') {
    throw new CnnError('train.layerwise: compile must be a function returning compile() options (a fresh optimizer per stage)');
  }
  if (epochsPerStage !== undefined && (!Array.isArray(epochsPerStage) || epochsPerStage.length !== stages)) {
    throw new CnnError(`train.layerwise: epochsPerStage must list ${stages} epoch counts`);
  }
  if (!Array.isArray(keepTrainable) || keepTrainable.some((name) => typeof name !== 'string')) {
    throw new CnnError(`train.layerwise: keepTrainable must be an array of layer names, got ${JSON.stringify(keepTrainable)}`);
  }
  const histories = [];
  let previous = null;
  let model = null;
  try {
    for (let stage = 1; stage <= stages; stage++) {
      model = build(stage);
      model.build(); // weights exist (and can be inherited) once the engine model is built
      if (stage === 1) checkNames(model, keepTrainable);
      if (previous) inherit(model, previous, stage, keepTrainable);
      model.compile(compile(stage));
      await onStageBegin?.(stage, model);
      const epochs = epochsPerStage ? epochsPerStage[stage - 1] : fit.epochs;
      const history = await model.fit(x, y, { ...fit, epochs });
      histories.push(history);
      await onStageEnd?.(stage, model, history);
      previous?.dispose();
      previous = model;
    }
    for (const layer of model.layers) layer.trainable = true;
    if (fineTune) {
      model.compile(compile(stages + 1));
      await onStageBegin?.(stages + 1, model);
      const history = await model.fit(x, y, { ...fit, ...fineTune });
      histories.push(history);
      await onStageEnd?.(stages + 1, model, history);
    }
    return { model, histories };
  } catch (err) {
    if (previous && previous !== model) previous.dispose();
    model?.dispose();
    throw err;
  }
}

/** A misspelt name would silently freeze the layer it meant: every name must be a layer of the first stage. */
function checkNames(model, keepTrainable) {
  const names = new Set(model.layers.map((l) => l.name));
  const unknown = keepTrainable.filter((name) => !names.has(name));
  if (unknown.length) {
    throw new CnnError(`train.layerwise: keepTrainable names ${unknown.map((n) => `'${n}'`).join(', ')}, which the ` +
      `stage 1 model does not have; its layers are ${[...names].join(', ')}`);
  }
}

/**
 * Copies the weights of every layer `model` shares by name with `previous`, and freezes those layers (except the
 * ones named in keepTrainable, which start from their trained weights and go on learning).
 */
function inherit(model, previous, stage, keepTrainable) {
  const before = new Map(previous.layers.map((l) => [l.name, l]));
  let shared = 0;
  for (const layer of model.layers) {
    const old = before.get(layer.name);
    if (!old || layer.className === 'InputLayer') continue;
    const weights = old.getWeights();
    try {
      layer.setWeights(weights);
    } catch (err) {
      throw new CnnError(`train.layerwise: stage ${stage} layer ${layer.name} does not match the layer of the same ` +
        `name in stage ${stage - 1} (${err.message})`);
    } finally {
      weights.forEach((w) => w.dispose());
    }
    layer.trainable = keepTrainable.includes(layer.name);
    shared++;
  }
  if (shared === 0) {
    throw new CnnError(`train.layerwise: the stage ${stage} model shares no layer names with stage ${stage - 1}; ` +
      'build() must keep the names of the outer stages');
  }
}
