// How the shipped segmentation models are trained: one place for the architectures' sizes and the training
// schedule, used by tools/train-segmentation.js (which writes demos/models/), by the tests that hold the models
// to their mean-IoU targets, and by the demo page's fine-tune button. Isomorphic: no Node or DOM APIs.

/**
 * Architecture and schedule per model. Sizes chosen so that training runs in minutes on two cores. FCN has 3 stages,
 * not 4: its '8s' output then comes from the stride-2 skip, and 64×64 scenes need that resolution (at depth 4 the
 * finest skip is stride 4: thin digit strokes and shape edges blur, 0.79 on shapes and 0.72 on MNIST scenes).
 */
export const RECIPES = Object.freeze({
  segnet: { build: { depth: 3, width: 12, convsPerStage: 2 }, epochs: 16, batchSize: 16, peakLearningRate: 0.004 },
  fcn: { build: { depth: 3, width: 16, convsPerStage: 2, variant: '8s' }, epochs: 16, batchSize: 16, peakLearningRate: 0.003 },
});

/**
 * Shapes keep their class under every flip and quarter turn, so training sees all 8 symmetries of each scene (2,000
 * scenes overfit otherwise: FCN reached 0.85 mean IoU on its training scenes and 0.68 on held-out ones). Digits do
 * not (a mirrored 2 is no digit, a turned 6 is a 9), so MNIST scenes are used as they are.
 */
export const AUGMENT = Object.freeze({ shapes: { flips: true, rotations: true }, mnist: undefined });

/**
 * SegNet's layer-wise schedule: the outermost encoder/decoder pair alone, then each inner pair with the outer ones
 * frozen (the classifier keeps learning), then an end-to-end fine-tune; 24 epochs in all, as end-to-end training
 * (same data and batch size).
 */
export const LAYERWISE = Object.freeze({ epochsPerStage: [3, 4, 5], fineTuneEpochs: 12 });

/** Trains SegNet layer-wise (cnn.train.layerwise); returns { model, histories }. */
export async function trainLayerwise(cnn, { x, y }, { inputShape, numClasses, seed = 1, onStageEnd, schedule = LAYERWISE } = {}) {
  const recipe = RECIPES.segnet;
  const fitFor = (epochs) => ({ epochs, batchSize: recipe.batchSize, seed, augment: AUGMENT.shapes,
    learningRateSchedule: cnn.train.oneCycle(recipe.peakLearningRate) });
  return cnn.train.layerwise({
    build: (stages) => buildModel(cnn, 'segnet', { inputShape, numClasses, seed, overrides: { depth: stages } }),
    stages: recipe.build.depth,
    compile: () => compileOptions(cnn, 'segnet'),
    x, y,
    fit: fitFor(schedule.epochsPerStage[0]),
    epochsPerStage: schedule.epochsPerStage,
    fineTune: schedule.fineTuneEpochs ? { epochs: schedule.fineTuneEpochs } : undefined,
    keepTrainable: ['classifier'],
    onStageEnd,
  });
}

/**
 * Per-data-set changes to the architecture. Shapes: SegNet at width 12 stopped at 0.81 held-out mean IoU after 16
 * epochs; width 16 for 24 epochs reaches 0.89. FCN at width 16 reached 0.849 after 28 epochs, width 24 0.870.
 */
export const DATASET_BUILD = Object.freeze({ shapes: { segnet: { width: 16 }, fcn: { width: 24 } }, mnist: {} });

/** Epochs per data set where they differ from the recipe's (FCN needs longer on shapes under augmentation). */
export const DATASET_EPOCHS = Object.freeze({ shapes: { fcn: 28, segnet: 24 }, mnist: {} });

export function epochsFor(arch, dataset) { return DATASET_EPOCHS[dataset]?.[arch] ?? RECIPES[arch].epochs; }

/** Tensors for a generated data set ({ images, masks, count, height, width, channels }). */
export function toTensors(cnn, set) {
  return {
    x: cnn.tensor(set.images, [set.count, set.height, set.width, set.channels]),
    y: cnn.tensor(set.masks, [set.count, set.height, set.width], 'int32'),
  };
}

/** Builds the recipe's model for the data set's shape and classes. */
export function buildModel(cnn, arch, { inputShape, numClasses, seed = 1, overrides = {}, dataset = 'shapes' }) {
  const recipe = RECIPES[arch];
  if (!recipe) throw new Error(`unknown architecture '${arch}': expected one of ${Object.keys(RECIPES).join(', ')}`);
  const perDataset = DATASET_BUILD[dataset]?.[arch] ?? {};
  return cnn.zoo[arch]({ ...recipe.build, ...perDataset, ...overrides, inputShape, numClasses, seed, name: arch });
}

export function compileOptions(cnn, arch, learningRate) {
  return {
    optimizer: cnn.train.adam(learningRate ?? RECIPES[arch].peakLearningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['pixelAccuracy', 'meanIoU'],
  };
}

/**
 * Trains `model` on { x, y } with the recipe's schedule; returns the History. `epochs`, `batchSize` and callbacks
 * may be overridden (the demo's fine-tuning uses a short run at a lower peak).
 */
export async function train(cnn, arch, model, { x, y }, { epochs, batchSize, peakLearningRate, seed = 1, callbacks, validationData, signal, dataset = 'shapes' } = {}) {
  const recipe = RECIPES[arch];
  const peak = peakLearningRate ?? recipe.peakLearningRate;
  return model.fit(x, y, {
    augment: AUGMENT[dataset],
    epochs: epochs ?? epochsFor(arch, dataset),
    batchSize: batchSize ?? recipe.batchSize,
    seed,
    learningRateSchedule: cnn.train.oneCycle(peak),
    validationData,
    callbacks,
    signal,
  });
}

/** Mean IoU and pixel accuracy of a model on a data set. */
export function score(model, { x, y }) {
  const [loss, pixelAccuracy, meanIoU] = model.evaluate(x, y, { batchSize: 32 });
  const result = { loss: loss.dataSync()[0], pixelAccuracy: pixelAccuracy.dataSync()[0], meanIoU: meanIoU.dataSync()[0] };
  [loss, pixelAccuracy, meanIoU].forEach((t) => t.dispose());
  return result;
}

/** How far a shipped model's held-out mean IoU may move when its weights are stored in fewer bits. */
export const QUANTIZE_TOLERANCE = 0.005;

/** Encodings from the smallest file to the largest (uint8: ~1/4 of float32, float16: ~1/2). */
export const ENCODINGS_SMALLEST_FIRST = Object.freeze(['uint8', 'float16', 'float32']);

const roundScore = ({ meanIoU, pixelAccuracy, loss }) => ({ meanIoU, pixelAccuracy, loss });

/**
 * The file a shipped model is written as: `model` saved in every encoding, each file loaded back and scored on the
 * held-out tensors { x, y }, and the smallest one whose mean IoU differs from the float32 model's by less than
 * `tolerance` kept. Its metadata is `metadata` plus `heldOut` (the kept file's own score, which the tests measure
 * again) and `quantization` ({ encoding, tolerance, float32: the unquantized score, scores and file sizes per encoding, metadata left out }).
 * `float32Score` skips scoring the model again when the caller just did. Returns { bytes, encoding, quantization }.
 */
export async function saveForShipping(cnn, model, heldOut, { metadata = {}, float32Score, tolerance = QUANTIZE_TOLERANCE } = {}) {
  const reference = roundScore(float32Score ?? score(model, heldOut));
  const scores = { float32: reference };
  const sizes = {};
  for (const encoding of ENCODINGS_SMALLEST_FIRST) {
    const bytes = model.save({ quantize: encoding });
    sizes[encoding] = bytes.length;
    if (encoding === 'float32') continue; // its score is the reference (the file holds the same float32 weights)
    const loaded = await cnn.loadModel(bytes);
    try {
      scores[encoding] = roundScore(score(loaded, heldOut));
    } finally {
      loaded.dispose();
    }
  }
  const encoding = ENCODINGS_SMALLEST_FIRST.find((e) => Math.abs(scores[e].meanIoU - reference.meanIoU) < tolerance);
  const quantization = { encoding, tolerance, float32: reference, scores, bytes: sizes };
  // The weights encode the same way every time, so this file's weights are those of the file scored above.
  const bytes = model.save({ quantize: encoding, metadata: { ...metadata, heldOut: scores[encoding], quantization } });
  return { bytes, encoding, quantization };
}
