#!/usr/bin/env node
/**
 * wasm-cnn vs TensorFlow.js and ONNX Runtime Web, side by side in one Node process, one thread each, fp32.
 *
 *   node tests/bench/bench.js [--quick] [--json out.json] [--only <substring>[,<substring>...]] [--tfjs-train-batch <n>] [--no-ort]
 *   npm run bench                      (builds first)
 *
 * Forward kernels at batch 1 (conv2d + bias, max pool) against @tensorflow/tfjs-backend-wasm (XNNPACK, the SIMD
 * build, one thread: tfjs-wasm cannot start threads in Node) and onnxruntime-web (wasm execution provider, SIMD,
 * numThreads 1), LeNet-5 inference at batch 64 against the same two, and one LeNet-5 training step at batch 64
 * against the tfjs cpu backend (tfjs-wasm has no gradient kernels for conv2d; the bench tries and prints the error;
 * ONNX Runtime Web has no training at all, so it has no training figures). Then whole zoo models: ResNet-20 and
 * GoogLeNet-mini (32x32x3, 10 classes) and the segmentation models FCN-8s and SegNet (4 classes), inference at batch 1
 * (segmentation: 256x256x3) against tfjs-wasm and ORT Web, and one SGD training step (batch 32; segmentation: batch 8
 * of 64x64x3) against tfjs-cpu. In each case the libraries take turns sample by sample (tests/bench/timing.js), so
 * that all see the same machine load. The figures are medians of per-call process CPU time (getrusage), which leaves
 * out the time the process waits while other processes run: this machine is shared, and under load wall-clock samples
 * of a few ms are inflated by whole scheduler time slices. Wall-clock medians are reported alongside ("wall ratio",
 * and in --json). A ratio is the peer's time / our time (> 1: we are faster): "vs tfjs-wasm" and "vs ORT" columns in
 * the forward table, one row per peer in the others. Each case also checks that the libraries compute the same
 * outputs.
 *
 * What is timed:
 * - ours: model.predict(x) of a one-layer cnn.sequential on a preallocated input Tensor. That includes copying the
 *   input into the wasm heap and the output out of it into a new JS Float32Array.
 * - tfjs-wasm: tf.fused.conv2d with bias (the kernel tfjs-layers' conv2d uses) / tf.maxPool on a tensor already on
 *   the wasm backend, then dataSync() (a copy out of the wasm heap) and dispose().
 * - ORT Web: `await session.run(feeds)` of the same model written as ONNX by toONNX (web/onnx/) (a one-node
 *   Conv with bias / MaxPool; the whole network for LeNet-5 and the zoo models), same weights. ONNX is NCHW: the graph
 *   is NCHW throughout, the input ort.Tensor is transposed from our NHWC once, outside the timed region, and the output
 *   is transposed back only for the check (max |ours - ORT| / max |ours| <= 1e-4, else the bench stops). session.run
 *   copies the input into the wasm heap and the outputs out of it, like model.predict. Loading and threads: see
 *   tests/bench/ort.js. --no-ort leaves ORT out (saves its session set-up and its share of the samples).
 * - ours, "engine-only": the C forward pass alone (cnn_model_forward through web/engine/loader.js, an internal entry point),
 *   for information: it shows what model.predict's copies and input checks cost.
 * - training: ours model.fit on N*64 samples (epochs 1, batch 64, per-step times from onBatchEnd); tfjs
 *   model.trainOnBatch per step (a few seconds each: at most 5 steps, capped at ~50 s). Same architecture, same
 *   initial weights (checked: same first-batch loss), same loss (sparse categorical cross-entropy) and optimizer (SGD).
 * - zoo / segmentation models: see tests/bench/bench-models.js (tfjs model rebuilt from our getConfig(), same
 *   weights, outputs checked before timing; tfjs-cpu training steps at batch 1 by default, the model's batch
 *   extrapolated; SegNet compared with tfjs through an upSampling2d variant, as tfjs has no max-unpooling, while ORT
 *   runs the real SegNet: ONNX MaxPool with its indices output + MaxUnpool, which ORT Web's wasm EP supports).
 *
 * --only runs the cases whose names contain one of the comma-separated substrings (case-insensitive): e.g. "conv",
 * "LeNet", "ResNet", "segnet,fcn", "inference", "train step".
 *
 * The whole run takes about 5 minutes (--quick: about 1.5 minutes) on the 2-core development machine when it is quiet,
 * up to 7 (--quick: 3.5) when it is loaded. ONNX Runtime Web adds about 15% (its session set-ups, 0.5-2.5 s each, and
 * its share of the samples): --quick measured 184 s with --no-ort and 213 s with ORT, under similar load.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, version_wasm as tfjsWasmVersion } from '@tensorflow/tfjs-backend-wasm';
import * as cnn from '../../web/index.js';
import { lenet5, loadMnist, DEFAULT_SOURCE, ROWS, COLS } from '../../recipes/mnist.js';
import { engine } from '../../web/engine/loader.js';
import {
  compareNamed, summarize, cpuMs, timed, randomArray, maxAbs, maxAbsDiff, table, fmtMs, fmtNum, fmtRatio, fmtSpread,
} from './timing.js';
import { runModelBenchmarks, anyModelTraining, modelSummaryParts } from './bench-models.js';
import { setUpOrt, ortSession, checkOrt } from './ort.js';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    'tfjs-train-batch': { type: 'string' },
    'no-ort': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: node tests/bench/bench.js [--quick] [--json out.json] [--only <substring>] [--tfjs-train-batch <n>] [--no-ort]\n' +
    '  --only: run only the cases whose name contains <substring> (case-insensitive; several: comma-separated),\n' +
    '          e.g. --only resnet, --only "segnet,fcn", --only inference, --only "train step", --only conv\n' +
    '  --tfjs-train-batch: batch of the timed tfjs-cpu training steps of the zoo / segmentation models (default 1;\n' +
    '          the model\'s own batch gives measured instead of extrapolated figures, at ~8-60 s per image and step)\n' +
    '  --no-ort: leave ONNX Runtime Web out (its column shows "-")');
  process.exit(0);
}

const QUICK = args.quick;
const CFG = QUICK
  ? { budgetMs: 400, warmMs: 100, trainStepsOurs: 16, trainStepsTfjs: 2, tfjsTrainCapMs: 15000,
    zooTrainSegmentMs: 600, zooTfjsSteps: { resnet20: 1, googlenet: 0, fcn: 1, segnet: 1 } }
  : { budgetMs: 1200, warmMs: 250, trainStepsOurs: 64, trainStepsTfjs: 5, tfjsTrainCapMs: 50000,
    zooTrainSegmentMs: 1500, zooTfjsSteps: { resnet20: 2, googlenet: 1, fcn: 2, segnet: 2 } };
CFG.tfjsTrainBatch = args['tfjs-train-batch'] === undefined ? 1 : Number(args['tfjs-train-batch']);
if (!Number.isInteger(CFG.tfjsTrainBatch) || CFG.tfjsTrainBatch < 1) {
  console.error(`bench: --tfjs-train-batch must be a positive integer, got ${args['tfjs-train-batch']}`);
  process.exit(2);
}
/** Whether ONNX Runtime Web runs (--no-ort leaves it out). */
const ORT = !args['no-ort'];
const ONLY = args.only ? args.only.toLowerCase().split(',').map((t) => t.trim()).filter(Boolean) : null;
/** Whether the case called `name` runs (--only). */
const selected = (name) => !ONLY || ONLY.some((t) => name.toLowerCase().includes(t));
const TRAIN_BATCH = 64;
const LR = 0.05;

const CONV_CASES = [
  { name: 'conv 28x28x1 -> 6, 5x5 same', h: 28, w: 28, cin: 1, cout: 6, k: 5 },
  { name: 'conv 56x56x64 -> 64, 3x3 same', h: 56, w: 56, cin: 64, cout: 64, k: 3 },
  { name: 'conv 28x28x128 -> 256, 1x1', h: 28, w: 28, cin: 128, cout: 256, k: 1 },
  { name: 'conv 128x128x16 -> 32, 3x3 same', h: 128, w: 128, cin: 16, cout: 32, k: 3 },
];
const POOL_CASE = { name: 'max pool 2x2/2, 112x112x64', h: 112, w: 112, c: 64 };
// The same pooling with a tensor made from a JS array in every call, on both sides (ours: cnn.tensor + predict, its
// input copied in; tfjs: tf.tensor4d, uploaded to its heap): the cost of a new input, which the row above leaves out
// on both sides (a tensor predict has just run on stays in our engine, as a tfjs-wasm tensor stays in its heap).
const POOL_FRESH_CASE = { ...POOL_CASE, name: 'max pool 2x2/2, 112x112x64, new tensor per call', fresh: true };

// ---------------------------------------------------------------------------------------------------------------------
// Small utilities (the shared ones are in tests/bench/timing.js)

function cpuModel() {
  const cpus = os.cpus();
  let model = cpus[0]?.model?.trim() ?? 'unknown cpu';
  try {
    // os.cpus() reports the generic name under some hypervisors; /proc/cpuinfo may have more (e.g. "model" number).
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const num = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    const fam = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
    if (num && fam) model += ` (family ${fam} model ${num})`;
  } catch { /* not Linux */ }
  return { model, cores: cpus.length };
}

const log = (...a) => console.log(...a);
const progress = (msg) => process.stderr.write(`[bench] ${msg}\n`);

/**
 * Our engine's forward pass alone, without the copies in and out that model.predict makes: calls the C entry point on
 * the input already in the model's input buffer (after one predict). Internal API (web/engine/loader.js), used only to
 * split our time into compute and copies.
 */
function kernelOnly(model, x, batch) {
  model.predict(x, { batchSize: batch }).dispose();
  const handle = model.build().handle; // the model's runtime (web/model/runtime.js) holds the engine handle
  const e = engine();
  // If the internal entry point changes, drop the column rather than the bench.
  if (typeof e.cnn_model_forward !== 'function' || typeof handle !== 'number' || e.cnn_model_forward(handle, batch) !== 0) {
    return null;
  }
  return () => {
    const status = e.cnn_model_forward(handle, batch);
    if (status !== 0) throw new Error(`cnn_model_forward returned ${status}`);
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// tfjs-wasm set-up and checks

async function setUpTfjsWasm() {
  // Record which .wasm file the backend reads, to report (and check) that it is the SIMD, non-threaded build.
  const seen = [];
  const orig = { readFileSync: fs.readFileSync, readFile: fs.readFile };
  fs.readFileSync = function readFileSync(p, ...rest) { seen.push(String(p)); return orig.readFileSync.call(this, p, ...rest); };
  fs.readFile = function readFile(p, ...rest) { seen.push(String(p)); return orig.readFile.call(this, p, ...rest); };
  let ok;
  try {
    ok = await tf.setBackend('wasm');
    await tf.ready();
  } finally {
    fs.readFileSync = orig.readFileSync;
    fs.readFile = orig.readFile;
  }
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('could not initialise the tfjs wasm backend');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threadsFlag = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = getThreadsCount();
  const wasmFile = seen.find((p) => p.endsWith('.wasm')) ?? '(unknown)';
  const binary = wasmFile.split(/[\\/]/).pop();
  if (!simd || binary !== 'tfjs-backend-wasm-simd.wasm') {
    throw new Error(`tfjs-wasm did not load its SIMD build (WASM_HAS_SIMD_SUPPORT=${simd}, loaded ${wasmFile})`);
  }
  if (threads !== 1) throw new Error(`tfjs-wasm runs ${threads} threads; the comparison needs one`);
  return { simd, threadsSupported: threadsFlag, threads, binary };
}

// ---------------------------------------------------------------------------------------------------------------------
// Cases

async function benchConv(c) {
  const { h, w, cin, cout, k } = c;
  const flop = 2 * h * w * cin * cout * k * k;
  const xData = randomArray(h * w * cin, 1 + k * 7 + cin, 1);
  const kData = randomArray(k * k * cin * cout, 2 + cout, 1 / Math.sqrt(k * k * cin));
  const bData = randomArray(cout, 3, 0.1);

  const model = cnn.sequential({
    layers: [cnn.layers.conv2d({ inputShape: [h, w, cin], filters: cout, kernelSize: k, padding: 'same', activation: 'linear', useBias: true })],
    seed: 1,
  });
  const kT = cnn.tensor(kData, [k, k, cin, cout]);
  const bT = cnn.tensor(bData, [cout]);
  model.setWeights([kT, bT]);
  kT.dispose(); bT.dispose();
  const x = cnn.tensor(xData, [1, h, w, cin]);

  const tx = tf.tensor4d(xData, [1, h, w, cin]);
  const tk = tf.tensor4d(kData, [k, k, cin, cout]);
  const tb = tf.tensor1d(bData);

  const ours = () => { model.predict(x).dispose(); };
  const theirs = () => {
    const y = tf.fused.conv2d({ x: tx, filter: tk, bias: tb, strides: 1, pad: 'same' });
    y.dataSync();
    y.dispose();
  };

  // Same computation? (outputs agree to float rounding)
  const yo = model.predict(x);
  const yt = tf.fused.conv2d({ x: tx, filter: tk, bias: tb, strides: 1, pad: 'same' });
  const diff = maxAbsDiff(yo.dataSync(), yt.dataSync()) / Math.max(1e-6, maxAbs(yt.dataSync()));
  // ONNX Runtime: the same one-layer model as an ONNX Conv (NCHW; input transposed here, once).
  const session = ORT ? await ortSession(model, { batch: 1 }) : null;
  const feeds = session?.feed(xData);
  const ortDiff = session ? checkOrt(c.name, yo.dataSync(), await session.outputNhwc(feeds)) : null;
  yo.dispose(); yt.dispose();

  const res = await compareNamed({ ours, tfjs: theirs, ort: session && (() => session.run(feeds)), kern: kernelOnly(model, x, 1) }, CFG);
  x.dispose(); model.dispose();
  tf.dispose([tx, tk, tb]);
  await session?.release();
  const gf = (x) => (x ? { gflops: flop / (x.cpu.medianMs * 1e6) } : {});
  return {
    name: c.name, kind: 'conv2d', shape: c, flop, relDiff: diff, ortRelDiff: ortDiff, ...peerFigures(res, gf),
  };
}

/**
 * The figures of one case from compareNamed's result { ours, tfjs, ort?, kern? }: timed summaries (with `extra(x)`
 * added) and the ratios peer time / our time (CPU-time medians; wall-clock medians; median of paired samples).
 */
function peerFigures(res, extra = () => ({})) {
  const { ours: a, tfjs: b, ort: o, kern } = res;
  return {
    ours: timed(a, extra(a)), oursKernel: timed(kern, kern && extra(kern)), tfjs: timed(b, extra(b)), ort: timed(o, o && extra(o)),
    ratio: b.cpu.medianMs / a.cpu.medianMs, wallRatio: b.wall.medianMs / a.wall.medianMs, pairedRatio: res.pairedRatio('tfjs', 'ours'),
    ratioOrt: o ? o.cpu.medianMs / a.cpu.medianMs : null, wallRatioOrt: o ? o.wall.medianMs / a.wall.medianMs : null,
    pairedRatioOrt: o ? res.pairedRatio('ort', 'ours') : null,
  };
}

async function benchPool(c) {
  const { h, w, c: ch } = c;
  const xData = randomArray(h * w * ch, 11, 1);
  const model = cnn.sequential({ layers: [cnn.layers.maxPooling2d({ inputShape: [h, w, ch], poolSize: 2, strides: 2 })] });
  const x = cnn.tensor(xData, [1, h, w, ch]);
  const tx = tf.tensor4d(xData, [1, h, w, ch]);
  const shape = [1, h, w, ch];
  const ours = c.fresh
    ? () => { const t = cnn.tensor(xData, shape); model.predict(t).dispose(); t.dispose(); }
    : () => { model.predict(x).dispose(); };
  const theirs = c.fresh
    ? () => { const t = tf.tensor4d(xData, shape); const y = tf.maxPool(t, 2, 2, 'valid'); y.dataSync(); tf.dispose([t, y]); }
    : () => { const y = tf.maxPool(tx, 2, 2, 'valid'); y.dataSync(); y.dispose(); };

  const yo = model.predict(x);
  const yt = tf.maxPool(tx, 2, 2, 'valid');
  const diff = maxAbsDiff(yo.dataSync(), yt.dataSync());
  const session = ORT && !c.fresh ? await ortSession(model, { batch: 1 }) : null; // ONNX MaxPool, NCHW
  const feeds = session?.feed(xData);
  const ortDiff = session ? checkOrt(c.name, yo.dataSync(), await session.outputNhwc(feeds)) : null;
  yo.dispose(); yt.dispose();

  const res = await compareNamed({ ours, tfjs: theirs, ort: session && (() => session.run(feeds)), kern: kernelOnly(model, x, 1) }, CFG);
  x.dispose(); model.dispose(); tx.dispose();
  await session?.release();
  return { name: c.name, kind: 'maxPool', shape: c, relDiff: diff, ortRelDiff: ortDiff, ...peerFigures(res) };
}

/** Multiply-adds x 2 of one LeNet-5 forward pass per image (conv, dense; pooling and activations not counted). */
const LENET_FLOP = 2 * (28 * 28 * 1 * 6 * 25 + 10 * 10 * 6 * 16 * 25 + 400 * 120 + 120 * 10);

function copyWeights(ourModel, tfModel) {
  const ws = ourModel.getWeights();
  const tws = tfModel.getWeights();
  if (ws.length !== tws.length) throw new Error(`LeNet-5: ${ws.length} weights in ours, ${tws.length} in tfjs`);
  ws.forEach((w, i) => {
    if (w.shape.join() !== tws[i].shape.join()) throw new Error(`LeNet-5 weight ${i}: shape ${w.shape} vs tfjs ${tws[i].shape}`);
  });
  tfModel.setWeights(ws.map((w) => tf.tensor(w.dataSync(), w.shape)));
  ws.forEach((w) => w.dispose());
}

async function loadTrainingData(n) {
  let images, labels, source;
  if (DEFAULT_SOURCE.protocol === 'file:' && fs.existsSync(DEFAULT_SOURCE)) {
    const d = await loadMnist();
    const m = Math.min(n, d.count);
    images = new Float32Array(n * ROWS * COLS);
    labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const j = i % m;
      images.set(d.images.subarray(j * ROWS * COLS, (j + 1) * ROWS * COLS), i * ROWS * COLS);
      labels[i] = d.labels[j];
    }
    source = `MNIST (${DEFAULT_SOURCE.pathname.split('/').slice(-2).join('/')})`;
  } else {
    images = randomArray(n * ROWS * COLS, 5, 0.5).map((v) => v + 0.5);
    labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
    source = 'random images (dist/data/mnist.bin missing)';
  }
  return { images, labels, source };
}

async function benchLenetInference(data) {
  const n = TRAIN_BATCH;
  const ourModel = lenet5(cnn, { seed: 7 });
  ourModel.compile({ optimizer: cnn.train.sgd(LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const tfModel = lenet5(tf); // the same network, built by tfjs-layers
  copyWeights(ourModel, tfModel);
  const xs = data.images.subarray(0, n * ROWS * COLS);
  const x = cnn.tensor(xs, [n, ROWS, COLS, 1]);
  const tx = tf.tensor4d(xs, [n, ROWS, COLS, 1]);
  const ours = () => { ourModel.predict(x, { batchSize: n }).dispose(); };
  const theirs = () => { const y = tfModel.predict(tx, { batchSize: n }); y.dataSync(); y.dispose(); };
  const po = ourModel.predict(x, { batchSize: n });
  const pt = tfModel.predict(tx, { batchSize: n });
  const diff = maxAbsDiff(po.dataSync(), pt.dataSync());
  // ONNX Runtime: the whole LeNet-5 at batch 64 (dropout is the identity at inference and is left out).
  const session = ORT ? await ortSession(ourModel, { batch: n }) : null;
  const feeds = session?.feed(xs);
  const ortDiff = session ? checkOrt('LeNet-5', po.dataSync(), await session.outputNhwc(feeds)) : null;
  po.dispose(); pt.dispose();
  const res = await compareNamed({ ours, tfjs: theirs, ort: session && (() => session.run(feeds)), kern: kernelOnly(ourModel, x, n) }, CFG);
  x.dispose(); ourModel.dispose(); tx.dispose(); tfModel.dispose();
  await session?.release();
  const extra = (x) => (!x ? {} : { imagesPerSec: n / (x.cpu.medianMs / 1000), gflops: (LENET_FLOP * n) / (x.cpu.medianMs * 1e6) });
  return { name: 'LeNet-5 inference, batch 64', kind: 'inference', relDiff: diff, ortRelDiff: ortDiff, ...peerFigures(res, extra) };
}

/** tfjs-wasm has no Conv2DBackpropFilter kernel: try one step and report the error. */
async function tryTfjsWasmTraining(data) {
  const m = lenet5(tf);
  m.compile({ optimizer: tf.train.sgd(LR), loss: 'sparseCategoricalCrossentropy' });
  const tx = tf.tensor4d(data.images.subarray(0, 8 * ROWS * COLS), [8, ROWS, COLS, 1]);
  const ty = tf.tensor1d(data.labels.subarray(0, 8), 'float32');
  try {
    await m.trainOnBatch(tx, ty);
    return { ok: true, message: 'trained (unexpected)' };
  } catch (err) {
    return { ok: false, message: String(err?.message ?? err).split('\n')[0] };
  } finally {
    tf.dispose([tx, ty]);
    m.dispose();
  }
}

async function benchTraining(data) {
  const steps = CFG.trainStepsOurs;
  const n = steps * TRAIN_BATCH;
  const ourModel = lenet5(cnn, { seed: 3 });
  ourModel.compile({ optimizer: cnn.train.sgd(LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const tfModel = lenet5(tf);
  copyWeights(ourModel, tfModel);
  tfModel.compile({ optimizer: tf.train.sgd(LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

  // Cross-check the two models before training: same loss on the first batch.
  const xb0 = data.images.subarray(0, TRAIN_BATCH * ROWS * COLS);
  const yb0 = data.labels.subarray(0, TRAIN_BATCH);
  const cx = cnn.tensor(xb0, [TRAIN_BATCH, ROWS, COLS, 1]);
  const cy = cnn.tensor(yb0, [TRAIN_BATCH], 'int32');
  const [ol, oa] = ourModel.evaluate(cx, cy, { batchSize: TRAIN_BATCH });
  const oursLoss0 = ol.dataSync()[0];
  ol.dispose(); oa.dispose(); cx.dispose(); cy.dispose();

  // ---- ours: warm-up fit on 2 batches, then one fit over `steps` batches, per-step times from onBatchEnd.
  const x = cnn.tensor(data.images.subarray(0, n * ROWS * COLS), [n, ROWS, COLS, 1]);
  const y = cnn.tensor(data.labels.subarray(0, n), [n], 'int32');
  const xw = cnn.tensor(data.images.subarray(0, 2 * TRAIN_BATCH * ROWS * COLS), [2 * TRAIN_BATCH, ROWS, COLS, 1]);
  const yw = cnn.tensor(data.labels.subarray(0, 2 * TRAIN_BATCH), [2 * TRAIN_BATCH], 'int32');

  // ---- tfjs cpu
  await tf.setBackend('cpu');
  const ttx = tf.tensor4d(xb0, [TRAIN_BATCH, ROWS, COLS, 1]);
  const tty = tf.tensor1d(yb0, 'float32');
  const [tl, ta] = tfModel.evaluate(ttx, tty, { batchSize: TRAIN_BATCH });
  const tfjsLoss0 = tl.dataSync()[0];
  tf.dispose([tl, ta]);

  const runOurs = async () => {
    const stamps = [];
    const cpuStamps = [];
    const t0 = performance.now();
    const c0 = cpuMs();
    const h = await ourModel.fit(x, y, {
      epochs: 1, batchSize: TRAIN_BATCH, shuffle: true, seed: 1,
      callbacks: { onBatchEnd() { stamps.push(performance.now()); cpuStamps.push(cpuMs()); } },
    });
    const total = performance.now() - t0;
    const totalCpu = cpuMs() - c0;
    const per = stamps.slice(1).map((t, i) => t - stamps[i]);
    const perCpu = cpuStamps.slice(1).map((t, i) => t - cpuStamps[i]);
    return { per, perCpu, total, totalCpu, loss: h.history.loss[0] };
  };
  const stepTfjs = async (i) => {
    const off = (i % steps) * TRAIN_BATCH;
    const bx = tf.tensor4d(data.images.subarray(off * ROWS * COLS, (off + TRAIN_BATCH) * ROWS * COLS), [TRAIN_BATCH, ROWS, COLS, 1]);
    const by = tf.tensor1d(data.labels.subarray(off, off + TRAIN_BATCH), 'float32');
    const c = cpuMs();
    const t = performance.now();
    const out = await tfModel.trainOnBatch(bx, by);
    const ms = performance.now() - t;
    const cms = cpuMs() - c;
    tf.dispose([bx, by]);
    return { ms, cms, loss: Array.isArray(out) ? out[0] : out };
  };

  progress('  training warm-up (ours: 2 steps of 64; tfjs-cpu: 1 step of 8)');
  await ourModel.fit(xw, yw, { epochs: 1, batchSize: TRAIN_BATCH, seed: 2 });
  {
    const bx = tf.tensor4d(xb0.subarray(0, 8 * ROWS * COLS), [8, ROWS, COLS, 1]);
    const by = tf.tensor1d(yb0.subarray(0, 8), 'float32');
    await tfModel.trainOnBatch(bx, by);
    tf.dispose([bx, by]);
  }

  // Interleave: ours (all steps in one fit) between tfjs steps, so that both see similar machine load. tfjs steps take
  // seconds each: stop after CFG.trainStepsTfjs steps or once CFG.tfjsTrainCapMs have passed (at least 2 steps).
  const tfjsTimes = [];
  const tfjsCpu = [];
  const tfjsLosses = [];
  const tfjsStart = performance.now();
  const more = () => tfjsTimes.length < CFG.trainStepsTfjs &&
    (tfjsTimes.length < 2 || performance.now() - tfjsStart < CFG.tfjsTrainCapMs);
  const tfjsSteps = async (upTo) => {
    while (tfjsTimes.length < upTo && more()) {
      progress(`  tfjs-cpu step ${tfjsTimes.length + 1} (at most ${CFG.trainStepsTfjs})`);
      const st = await stepTfjs(tfjsTimes.length + 1);
      tfjsTimes.push(st.ms);
      tfjsCpu.push(st.cms);
      tfjsLosses.push(st.loss);
    }
  };
  await tfjsSteps(1);
  progress(`  ours: fit over ${n} samples (${steps} steps)`);
  const o = await runOurs();
  await tfjsSteps(CFG.trainStepsTfjs);
  tf.dispose([ttx, tty]);
  x.dispose(); y.dispose(); xw.dispose(); yw.dispose();
  ourModel.dispose(); tfModel.dispose();

  const oursSum = { cpu: summarize(o.perCpu, o.perCpu.length), wall: summarize(o.per, o.per.length) };
  const tfjsSum = { cpu: summarize(tfjsCpu, tfjsCpu.length), wall: summarize(tfjsTimes, tfjsTimes.length) };
  const ips = (x) => TRAIN_BATCH / (x.cpu.medianMs / 1000);
  return {
    name: 'LeNet-5 train step, batch 64 (SGD)', kind: 'training',
    loss0: { ours: oursLoss0, tfjs: tfjsLoss0 },
    ours: timed(oursSum, {
      imagesPerSec: ips(oursSum), steps, epochLoss: o.loss,
      fitTotalMs: o.total, fitTotalCpuMs: o.totalCpu, fitImagesPerSec: n / (o.totalCpu / 1000), fitImagesPerSecWall: n / (o.total / 1000),
    }),
    tfjs: timed(tfjsSum, { backend: 'cpu', imagesPerSec: ips(tfjsSum), losses: tfjsLosses }),
    ratio: tfjsSum.cpu.medianMs / oursSum.cpu.medianMs, wallRatio: tfjsSum.wall.medianMs / oursSum.wall.medianMs,
  };
}

// ---------------------------------------------------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  const load0 = os.loadavg();
  tf.enableProdMode();
  await cnn.ready({ threads: 1 }); // against tfjs-wasm and ORT on one thread (threads-peers.js: 2 threads)
  const wasmInfo = await setUpTfjsWasm();
  const ortInfo = ORT ? await setUpOrt() : null;
  const cpu = cpuModel();
  const oursWasmBytes = fs.statSync(new URL('../../dist/wasm-cnn.wasm', import.meta.url)).size;

  const header = {
    date: new Date().toISOString(),
    cpu: cpu.model, cores: cpu.cores, platform: `${os.platform()} ${os.arch()}`, node: process.version,
    versions: {
      'wasm-cnn': `${cnn.version} (package ${pkg.version})`, '@tensorflow/tfjs': tf.version.tfjs,
      '@tensorflow/tfjs-backend-wasm': tfjsWasmVersion, '@tensorflow/tfjs-backend-cpu': tf.version['tfjs-backend-cpu'],
      'onnxruntime-web': ortInfo?.version ?? null,
    },
    tfjsWasm: wasmInfo, ort: ortInfo, oursWasmBytes, quick: QUICK, config: CFG, loadavgStart: load0,
    timing: 'medianMs etc. are per-call process CPU time (process.cpuUsage); wallMedianMs is wall clock',
  };
  log(`# wasm-cnn benchmark${QUICK ? ' (--quick)' : ''}`);
  log(`machine: ${cpu.model}, ${cpu.cores} cores, ${header.platform}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  log(`node ${process.version}; wasm-cnn ${cnn.version} (dist/wasm-cnn.wasm ${(oursWasmBytes / 1024).toFixed(0)} KB, SIMD, 1 thread); ` +
    `@tensorflow/tfjs ${tf.version.tfjs}, tfjs-backend-wasm ${tfjsWasmVersion} (${wasmInfo.binary}, ` +
    `WASM_HAS_SIMD_SUPPORT=${wasmInfo.simd}, threads ${wasmInfo.threads}), tfjs-backend-cpu ${tf.version['tfjs-backend-cpu']}; ` +
    (ortInfo ? `onnxruntime-web ${ortInfo.version} (wasm execution provider, ${ortInfo.binary}, SIMD, numThreads ${ortInfo.threads}, ` +
      'fp32, graph optimization level all)' : 'onnxruntime-web left out (--no-ort)'));
  log(`method: per case, after a warm-up, the libraries take turns sample by sample (a sample = enough calls for ~4 ms) ` +
    `until each has run ~${(CFG.budgetMs / 1000).toFixed(1)} s. Times are medians of per-call process CPU time ` +
    '(getrusage: time spent descheduled while other processes run is left out); "wall ratio" is the same ratio from ' +
    'wall-clock medians. ratio = peer time / our time (> 1: we are faster). ONNX Runtime Web ("ORT") runs the same ' +
    'networks, written as ONNX (NCHW) by toONNX (web/onnx/) from our models and weights; it has no training.');
  if (ONLY) log(`--only ${ONLY.join(',')}: only the cases whose name contains ${ONLY.map((t) => `"${t}"`).join(' or ')}`);
  if (load0[0] > 0.75 * cpu.cores) {
    log(`note: the machine is busy (load average ${load0[0].toFixed(1)} on ${cpu.cores} cores): wall-clock times are ` +
      'inflated by waiting for the CPU, so compare the CPU-time ratios.');
  }
  log('');

  // ---- forward kernels, batch 1, vs tfjs-wasm
  const forward = [];
  for (const c of [...CONV_CASES, POOL_CASE, POOL_FRESH_CASE]) {
    if (!selected(c.name)) continue;
    progress(c.name);
    await tf.setBackend('wasm');
    forward.push(c.h === POOL_CASE.h && c.c === POOL_CASE.c ? await benchPool(c) : await benchConv(c));
  }

  if (forward.length) {
    log('## Forward, batch 1, vs tfjs-wasm (SIMD, 1 thread) and ONNX Runtime Web (wasm EP, SIMD, 1 thread)');
    log('ours = model.predict(x) incl. the copy out of the wasm heap (x stays in the engine between calls, as tfjs\'s x ' +
      'stays in its heap; the "new tensor per call" row pays the copy in on both sides); tfjs = tf.fused.conv2d(+bias) / tf.maxPool + dataSync(); ' +
      'ORT = await session.run() of a one-node ONNX model (Conv with bias / MaxPool, NCHW), outputs copied out');
    log('');
    const msCell = (t) => (t ? `${fmtMs(t.medianMs)} ${fmtSpread(t.spread)}` : '-');
    log(table(
      ['case', 'ours ms', 'ours GFLOP/s', 'tfjs-wasm ms', 'tfjs GFLOP/s', 'ORT ms', 'ORT GFLOP/s', 'vs tfjs-wasm', 'vs ORT',
        'wall ratios', 'ours engine-only ms', 'diff tfjs / ORT'],
      forward.map((r) => [
        r.name,
        msCell(r.ours), r.ours.gflops ? fmtNum(r.ours.gflops) : '-',
        msCell(r.tfjs), r.tfjs.gflops ? fmtNum(r.tfjs.gflops) : '-',
        msCell(r.ort), r.ort?.gflops ? fmtNum(r.ort.gflops) : '-',
        fmtRatio(r.ratio), fmtRatio(r.ratioOrt), `${fmtRatio(r.wallRatio)} / ${fmtRatio(r.wallRatioOrt)}`,
        !r.oursKernel ? '-' : `${fmtMs(r.oursKernel.medianMs)}` + (r.oursKernel.gflops ? ` (${fmtNum(r.oursKernel.gflops)} GFLOP/s)` : ''),
        `${r.relDiff.toExponential(1)} / ${r.ortRelDiff === null ? '-' : r.ortRelDiff.toExponential(1)}`,
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ));
    log('± = half the interquartile range of the samples, relative to the median. vs X = X\'s time / ours (> 1: we are');
    log('faster); wall ratios = the same from wall-clock medians (vs tfjs-wasm / vs ORT). engine-only = our C forward pass');
    log('without the copies in/out of model.predict (internal entry point; for information, not in the ratio). diff: max');
    log('|ours - tfjs| / max |tfjs| (max pool: max abs diff) / max |ours - ORT| / max |ours|, checked <= 1e-4 for ORT.');
    log('');
  }

  // ---- which training cases run: the tfjs-wasm training attempt is made once if any runs.
  const LENET_INFER = 'LeNet-5 inference, batch 64';
  const LENET_TRAIN = 'LeNet-5 train step, batch 64 (SGD)';
  const anyTraining = selected(LENET_TRAIN) || anyModelTraining(selected);
  let wasmTrain = null;
  const wasmTrainAttempt = async (data) => {
    if (!wasmTrain) {
      progress('tfjs-wasm training attempt');
      await tf.setBackend('wasm');
      wasmTrain = await tryTfjsWasmTraining(data ?? { images: randomArray(8 * ROWS * COLS, 5, 0.5).map((v) => v + 0.5),
        labels: Int32Array.from({ length: 8 }, (_, i) => i) });
    }
    return wasmTrain;
  };

  // ---- LeNet-5
  let inference = null;
  let training = null;
  if (selected(LENET_INFER) || selected(LENET_TRAIN)) {
    const data = await loadTrainingData(CFG.trainStepsOurs * TRAIN_BATCH);
    if (selected(LENET_INFER)) {
      progress(LENET_INFER);
      await tf.setBackend('wasm');
      inference = await benchLenetInference(data);
    }
    if (selected(LENET_TRAIN)) {
      await wasmTrainAttempt(data);
      progress(LENET_TRAIN);
      await tf.setBackend('wasm'); // benchTraining builds its tfjs model, then moves to the cpu backend
      training = await benchTraining(data);
    }
    log(`## LeNet-5 (recipes/mnist.js lenet5: conv 6@5x5 same, maxpool, conv 16@5x5, avgpool, dense 120, dropout, dense 10), batch 64, ${data.source}`);
    log('');
    const rows = [];
    if (inference) {
      rows.push([inference.name, 'tfjs-wasm', `${fmtMs(inference.ours.medianMs)} ${fmtSpread(inference.ours.spread)}`,
        fmtNum(inference.ours.imagesPerSec, 0), `${fmtMs(inference.tfjs.medianMs)} ${fmtSpread(inference.tfjs.spread)}`,
        fmtNum(inference.tfjs.imagesPerSec, 0), fmtRatio(inference.ratio), fmtRatio(inference.wallRatio)]);
      if (inference.ort) {
        rows.push([inference.name, 'ORT Web', `${fmtMs(inference.ours.medianMs)} ${fmtSpread(inference.ours.spread)}`,
          fmtNum(inference.ours.imagesPerSec, 0), `${fmtMs(inference.ort.medianMs)} ${fmtSpread(inference.ort.spread)}`,
          fmtNum(inference.ort.imagesPerSec, 0), fmtRatio(inference.ratioOrt), fmtRatio(inference.wallRatioOrt)]);
      }
    }
    if (training) {
      rows.push([training.name, 'tfjs-cpu', `${fmtMs(training.ours.medianMs)} ${fmtSpread(training.ours.spread)}`,
        fmtNum(training.ours.imagesPerSec, 0), `${fmtMs(training.tfjs.medianMs)} ${fmtSpread(training.tfjs.spread)}`,
        fmtNum(training.tfjs.imagesPerSec, 1), fmtRatio(training.ratio), fmtRatio(training.wallRatio)]);
      rows.push(['LeNet-5 train step, batch 64', 'tfjs-wasm', '', '', 'cannot train', '-', '-', '-']);
      rows.push(['LeNet-5 train step, batch 64', 'ORT Web', '', '', 'no training', '-', '-', '-']);
    }
    log(table(['case', 'peer', 'ours ms', 'ours img/s', 'peer ms', 'peer img/s', 'ratio', 'wall ratio'], rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']));
    log('');
    if (inference) {
      log(`- inference: outputs agree to ${inference.relDiff.toExponential(1)} (max abs diff of softmax outputs); ` +
        (inference.ort ? `ORT outputs agree with ours to ${inference.ortRelDiff.toExponential(1)} (relative); ` : '') +
        `ours ${fmtNum(inference.ours.gflops)}, tfjs-wasm ${fmtNum(inference.tfjs.gflops)}` +
        (inference.ort ? `, ORT ${fmtNum(inference.ort.gflops)}` : '') + ' GFLOP/s (conv + dense multiply-adds only); ' +
        (inference.oursKernel ? `ours engine-only ${fmtMs(inference.oursKernel.medianMs)} ms` : ''));
    }
    if (training) {
      log(`- training, ours: model.fit over ${training.ours.steps} x 64 samples, median of per-step times from onBatchEnd; ` +
        `whole fit ${fmtNum(training.ours.fitImagesPerSec, 0)} images/s CPU time, ${fmtNum(training.ours.fitImagesPerSecWall, 0)} wall ` +
        '(includes batch gathering and event-loop yields)');
      log(`- training, tfjs-cpu: model.trainOnBatch, median of ${training.tfjs.samples} steps (after a warm-up step at batch 8)`);
      log(`- same initial weights: first-batch loss ours ${training.loss0.ours.toFixed(4)}, tfjs ${training.loss0.tfjs.toFixed(4)}`);
      log(`- tfjs-wasm training: ${wasmTrain.ok ? 'ran (unexpected!)' : `fails: "${wasmTrain.message}"`}`);
      log('- ONNX Runtime Web: no training (inference only; its training build was removed), so no ORT figure for training');
    }
    log('');
  }

  // ---- zoo (ResNet-20, GoogLeNet-mini) and segmentation (FCN-8s, SegNet) models: tests/bench/bench-models.js
  const models = await runModelBenchmarks({ cfg: CFG, quick: QUICK, selected, wasmTrainAttempt, log, progress, ort: ORT });

  // ---- summary
  const parts = [];
  const convs = forward.filter((r) => r.kind === 'conv2d');
  let geo = NaN;
  let geoOrt = NaN;
  let faster = 0;
  if (convs.length) {
    geo = Math.exp(convs.reduce((s, r) => s + Math.log(r.ratio), 0) / convs.length);
    faster = convs.filter((r) => r.ratio > 1).length;
    parts.push(`conv2d forward ${fmtRatio(geo)} tfjs-wasm (geometric mean of ${convs.length} shapes, faster on ` +
      `${faster}/${convs.length}; range ${fmtRatio(Math.min(...convs.map((r) => r.ratio)))}–${fmtRatio(Math.max(...convs.map((r) => r.ratio)))})`);
    if (ORT) {
      geoOrt = Math.exp(convs.reduce((s, r) => s + Math.log(r.ratioOrt), 0) / convs.length);
      parts.push(`${fmtRatio(geoOrt)} ORT Web (faster on ${convs.filter((r) => r.ratioOrt > 1).length}/${convs.length}; range ` +
        `${fmtRatio(Math.min(...convs.map((r) => r.ratioOrt)))}–${fmtRatio(Math.max(...convs.map((r) => r.ratioOrt)))})`);
    }
  }
  const pool = forward.find((r) => r.kind === 'maxPool' && !r.shape.fresh);
  if (pool) parts.push(`max pool ${fmtRatio(pool.ratio)} tfjs-wasm` + (pool.ort ? `, ${fmtRatio(pool.ratioOrt)} ORT Web` : ''));
  const fresh = forward.find((r) => r.kind === 'maxPool' && r.shape.fresh);
  if (fresh) parts.push(`max pool on a new tensor per call ${fmtRatio(fresh.ratio)} tfjs-wasm`);
  if (inference) parts.push(`LeNet-5 inference ${fmtRatio(inference.ratio)} tfjs-wasm` + (inference.ort ? `, ${fmtRatio(inference.ratioOrt)} ORT Web` : ''));
  if (training) {
    parts.push(`LeNet-5 training ${fmtRatio(training.ratio)} tfjs-cpu (${fmtNum(training.ours.imagesPerSec, 0)} vs ` +
      `${fmtNum(training.tfjs.imagesPerSec, 1)} images/s)`);
  }
  parts.push(...modelSummaryParts(models));
  const modelInf = [...models.zoo.inference, ...models.segmentation.inference];
  const modelTrain = [...models.zoo.training, ...models.segmentation.training];
  if (anyTraining) parts.push(`tfjs-wasm cannot train${ORT ? ', ORT Web has no training' : ''}`);
  const load1 = os.loadavg();
  const seconds = (performance.now() - started) / 1000;
  if (!parts.length) parts.push(`no case matches --only ${ONLY?.join(',')}`);
  const summary = `summary: ${parts.join('; ')}; ${seconds.toFixed(0)} s, load average ${load0[0].toFixed(2)} -> ${load1[0].toFixed(2)}`;
  log(summary);

  if (args.json) {
    const out = {
      header: { ...header, loadavgEnd: load1, seconds, only: ONLY },
      forward, lenet: { inference, training, tfjsWasmTraining: wasmTrain }, zoo: models.zoo, segmentation: models.segmentation,
      summary: { convGeomeanRatio: geo, convFaster: faster, convCases: convs.length, maxPoolRatio: pool?.ratio ?? null,
        inferenceRatio: inference?.ratio ?? null, trainingRatioVsTfjsCpu: training?.ratio ?? null,
        convGeomeanRatioVsOrt: ORT ? geoOrt : null, maxPoolRatioVsOrt: pool?.ratioOrt ?? null, inferenceRatioVsOrt: inference?.ratioOrt ?? null,
        modelInferenceRatios: Object.fromEntries(modelInf.map((r) => [r.key, r.ratio])),
        modelInferenceRatiosVsOrt: Object.fromEntries(modelInf.map((r) => [r.key, r.ratioOrt])),
        modelTrainingRatios: Object.fromEntries(modelTrain.map((t) => [t.key, t.rows[0].ratio])), text: summary },
    };
    fs.writeFileSync(args.json, JSON.stringify(out, null, 2) + '\n');
    progress(`wrote ${args.json}`);
  }
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
