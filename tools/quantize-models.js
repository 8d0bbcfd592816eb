#!/usr/bin/env node
/**
 * Makes the shipped segmentation models smaller: each demos/models/*.wcnn is scored on the 500 held-out scenes that
 * tests/js/segmentation-models.test.js uses, saved as float16 and uint8, scored again, and rewritten in the smallest
 * encoding whose held-out mean IoU moves by less than 0.005 (recipes/segmentation.js saveForShipping, which
 * tools/train-segmentation.js uses for new models too). The metadata records the encoding and the scores;
 * metadata.heldOut becomes the rewritten file's own score.
 *
 *   node tools/quantize-models.js [--dir demos/models] [--dry-run] [files...]
 *
 * A file that already records a quantization is left alone: its float32 weights are gone, so there is nothing to
 * choose from (retrain it with tools/train-segmentation.js).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as cnn from '../web/index.js';
import { saveForShipping, toTensors } from '../recipes/segmentation.js';
import { makeScenes } from '../recipes/scenes.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string', default: fileURLToPath(new URL('../demos/models/', import.meta.url)) },
    'dry-run': { type: 'boolean', default: false },
  },
});

const heldOutSets = new Map();
/** The test's held-out scenes: makeScenes(dataset, { test: 500, size, seed }) as the model was trained with. */
async function heldOut({ dataset, size = 64, seed = 1, testScenes = 500 }) {
  const key = `${dataset}/${size}/${seed}/${testScenes}`;
  if (!heldOutSets.has(key)) {
    const { testSet } = await makeScenes(cnn, dataset, { train: 0, test: testScenes, size, seed });
    heldOutSets.set(key, toTensors(cnn, testSet));
  }
  return heldOutSets.get(key);
}

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

async function quantizeFile(path) {
  const before = readFileSync(path);
  const model = await cnn.loadModel(new Uint8Array(before.buffer, before.byteOffset, before.byteLength));
  try {
    const metadata = model.metadata ?? {};
    if (!metadata.dataset) {
      throw new Error(`${basename(path)}: its metadata names no dataset ('shapes' or 'mnist'), so its held-out ` +
        'scenes are unknown; was it written by tools/train-segmentation.js?');
    }
    if (metadata.quantization) {
      console.log(`${basename(path)}: already ${metadata.quantization.encoding} (${kb(before.length)}), left as it is`);
      return null;
    }
    const t0 = performance.now();
    const { bytes, encoding, quantization } = await saveForShipping(cnn, model, await heldOut(metadata), { metadata });
    const s = quantization.scores;
    console.log(`${basename(path)}: ${kb(before.length)} float32 -> ${kb(bytes.length)} ${encoding}; held-out mean IoU ` +
      `float32 ${s.float32.meanIoU.toFixed(4)}, float16 ${s.float16.meanIoU.toFixed(4)}, uint8 ${s.uint8.meanIoU.toFixed(4)} ` +
      `(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    if (!args['dry-run']) writeFileSync(path, bytes);
    return { file: basename(path), before: before.length, after: bytes.length, encoding, scores: s };
  } finally {
    model.dispose();
  }
}

async function main() {
  await cnn.ready();
  const files = positionals.length ? positionals
    : readdirSync(args.dir).filter((f) => f.endsWith('.wcnn')).sort().map((f) => join(args.dir, f));
  if (!files.length) throw new Error(`no .wcnn files in ${args.dir}`);
  const done = [];
  for (const file of files) {
    const r = await quantizeFile(file);
    if (r) done.push(r);
  }
  if (done.length) {
    const total = (k) => done.reduce((s, r) => s + r[k], 0);
    console.log(`total: ${kb(total('before'))} -> ${kb(total('after'))}${args['dry-run'] ? ' (dry run: nothing written)' : ''}`);
  }
}

main().catch((err) => {
  console.error(`quantize-models: ${err.message}`);
  process.exit(1);
});
