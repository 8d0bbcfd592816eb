#!/usr/bin/env node
/**
 * Trains the segmentation models that the demo ships (demos/models/) and reports their mean IoU on held-out
 * scenes. Anyone can rerun it; the same seeds give the same models. Each model is written in the smallest encoding
 * (uint8, float16 or float32) whose held-out mean IoU is within 0.005 of the float32 model's (recipes/segmentation.js
 * saveForShipping, as tools/quantize-models.js does for existing files); its metadata records all three scores.
 *
 *   node tools/train-segmentation.js [--arch segnet|fcn|all] [--dataset shapes|mnist] [--train 2000] [--test 500]
 *                                    [--epochs N] [--size 64] [--seed 1] [--out demos/models] [--no-save]
 *                                    [--layerwise]   (SegNet trained stage by stage: <arch>-<dataset>-layerwise.wcnn)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as cnn from '../web/index.js';
import { RECIPES, LAYERWISE, AUGMENT, DATASET_BUILD, epochsFor, buildModel, compileOptions, toTensors, train, trainLayerwise, score,
  saveForShipping } from '../recipes/segmentation.js';
import { makeScenes } from '../recipes/scenes.js';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'all' },
    dataset: { type: 'string', default: 'shapes' },
    train: { type: 'string', default: '2000' },
    test: { type: 'string', default: '500' },
    epochs: { type: 'string' },
    size: { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: fileURLToPath(new URL('../demos/models/', import.meta.url)) },
    'no-save': { type: 'boolean', default: false },
    layerwise: { type: 'boolean', default: false },
  },
});

async function main() {
  await cnn.ready();
  const archs = args.arch === 'all' ? Object.keys(RECIPES) : [args.arch];
  const size = Number(args.size);
  const seed = Number(args.seed);
  const t0 = performance.now();
  const { trainSet, testSet, numClasses, classNames } = await makeScenes(cnn, args.dataset, {
    train: Number(args.train), test: Number(args.test), size, seed,
  });
  console.log(`${args.dataset}: ${trainSet.count} training and ${testSet.count} held-out ${size}x${size} scenes, ` +
    `${numClasses} classes (${classNames.join(', ')}), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const trainTensors = toTensors(cnn, trainSet);
  const testTensors = toTensors(cnn, testSet);
  const report = async (arch, label, model, started, extra) => {
    const result = score(model, testTensors);
    console.log(`${label} on ${testSet.count} held-out scenes: mean IoU ${result.meanIoU.toFixed(3)}, pixel accuracy ` +
      `${(result.pixelAccuracy * 100).toFixed(1)}%, trained in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    if (args['no-save']) return;
    mkdirSync(args.out, { recursive: true });
    const file = `${args.out.replace(/\/$/, '')}/${arch}-${args.dataset}${args.layerwise ? '-layerwise' : ''}.wcnn`;
    const { bytes, encoding, quantization } = await saveForShipping(cnn, model, testTensors, { float32Score: result, metadata: {
      trainedBy: 'tools/train-segmentation.js', arch, dataset: args.dataset, size, seed, trainScenes: trainSet.count,
      testScenes: testSet.count, recipe: RECIPES[arch], build: { ...RECIPES[arch].build, ...(DATASET_BUILD[args.dataset]?.[arch] ?? {}) }, ...extra,
    } });
    writeFileSync(file, bytes);
    const s = quantization.scores;
    console.log(`  saved ${file} (${encoding}, ${(bytes.length / 1024).toFixed(0)} KB; held-out mean IoU float16 ` +
      `${s.float16.meanIoU.toFixed(4)}, uint8 ${s.uint8.meanIoU.toFixed(4)})`);
  };
  if (args.layerwise) {
    const started = performance.now();
    const { model } = await trainLayerwise(cnn, trainTensors, {
      inputShape: [size, size, trainSet.channels], numClasses, seed,
      onStageEnd(stage, m, history) {
        const last = history.history.meanIoU.length - 1;
        // Held-out score after every stage: shows what each stage (and the fine-tune) adds.
        const heldOut = score(m, testTensors).meanIoU;
        const label = stage > RECIPES.segnet.build.depth ? 'fine-tune' : `stage ${stage}`;
        console.log(`  ${label}: ${m.countParams()} parameters, loss ${history.history.loss[last].toFixed(4)}, ` +
          `mean IoU ${history.history.meanIoU[last].toFixed(3)}, held-out ${heldOut.toFixed(3)}  ` +
          `(${((performance.now() - started) / 1000).toFixed(0)} s)`);
      },
    });
    await report('segnet', 'segnet (layer-wise)', model, started, { layerwise: LAYERWISE });
    model.dispose();
    return;
  }
  for (const arch of archs) {
    const model = buildModel(cnn, arch, { inputShape: [size, size, trainSet.channels], numClasses, seed, dataset: args.dataset });
    model.compile(compileOptions(cnn, arch));
    console.log(`${arch}: ${model.countParams()} parameters`);
    const started = performance.now();
    await train(cnn, arch, model, trainTensors, {
      epochs: args.epochs ? Number(args.epochs) : undefined,
      seed,
      dataset: args.dataset,
      callbacks: {
        onEpochEnd(epoch, logs) {
          console.log(`  epoch ${epoch + 1}: loss ${logs.loss.toFixed(4)}, pixel accuracy ${(logs.pixelAccuracy * 100).toFixed(1)}%, ` +
            `mean IoU ${logs.meanIoU.toFixed(3)}  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
        },
      },
    });
    await report(arch, arch, model, started, { epochs: args.epochs ? Number(args.epochs) : epochsFor(arch, args.dataset),
      augment: AUGMENT[args.dataset] ?? null });
    model.dispose();
  }
}

main().catch((err) => {
  console.error(`train-segmentation: ${err.stack ?? err}`);
  process.exit(1);
});
