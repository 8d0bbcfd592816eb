#!/usr/bin/env node
/**
 * Our own speed figures against the limits of the machine (issue 9), in one Node process, one thread:
 *
 *   node tests/bench/perf.js [--quick] [--only conv,backward,resnet,torch,lenet,memory] [--md BENCHMARKS.md]
 *                            [--svg benchmarks.svg] [--json out.json] [--peers bench-output.txt] [--wasm old.wasm]
 *
 * - ceiling: the wasm SIMD multiply-add ceiling, measured now (build/bench/ceiling.wasm, tests/bench/ceiling.c: 12
 *   named f32x4 chains on volatile operands); every conv figure below is also printed as a percentage of it: its
 *   fastest call against the fastest ceiling run sampled between its calls (benchConv).
 * - conv: the engine's forward pass alone (cnn_model_forward on an input already in the heap) on the bench's conv
 *   shapes at batch 1 and on ResNet-20's shapes at batch 32, with Winograd on and forced off
 *   (cnn_model_set_winograd): effective GFLOP/s = direct-convolution flops / time, above the ceiling is the point.
 * - backward: the three large conv shapes' backward pass (input + weight gradients) against their forward, engine
 *   only (cnn_model_compute_gradients − cnn_model_forward, the cost of a 1x1 conv in front taken out; target <= 2.5x).
 * - resnet: one ResNet-20 SGD step at batch 32 (model.fit, per-batch times), and its per-layer split from
 *   layer-shaped single convs (forward; forward + both gradients through computeGradients), times the layer count.
 * - lenet: LeNet-5 training images/s at batch 64 (target 6,000+).
 * - memory: peak wasm heap (the memory only grows) in a fresh process: LeNet-5 training at batch 64 (target < 16 MB)
 *   and SegNet inference at 256x256 (target < 64 MB).
 * - torch: the same ResNet-20 step in PyTorch on one thread (Debian python3-torch at /usr/bin/python3), when installed.
 * Times are medians of per-call process CPU time (as tests/bench/bench.js: on a shared machine wall-clock samples are
 * inflated by other processes' time slices); whole training steps (model.fit) are CPU time per batch too. Compare
 * figures from one run, never across runs.
 * The peers (tfjs-wasm, ONNX Runtime Web) are in tests/bench/bench.js; --md writes BENCHMARKS.md, with bench.js's
 * forward table when its printed report (stdout saved to a file) is given through --peers <file>.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as cnn from '../../web/index.js';
import { engine, heapBytes } from '../../web/engine/loader.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, only: { type: 'string' }, md: { type: 'string' },
    svg: { type: 'string' }, json: { type: 'string' }, peers: { type: 'string' }, 'memory-child': { type: 'string' },
    wasm: { type: 'string' },
  },
});
const QUICK = args.quick;
const ONLY = args.only ? args.only.toLowerCase().split(',') : null;
const selected = (name) => !ONLY || ONLY.includes(name);
const log = (...a) => console.log(...a);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const now = () => performance.now();

/** Process CPU time in ms (user + system): leaves out the time other processes of this shared machine run. */
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };

/** Median CPU ms of fn over `rounds` calls after `warm` calls (at least `minMs` of samples). */
function timeMs(fn, options) { return timeStats(fn, options).median; }

/**
 * CPU ms of fn: { median, best } over `rounds` calls after `warm` calls (at least `minMs` of samples). `between`, when
 * given, runs after each timed call, outside the timing (the conv table samples the ceiling there).
 */
function timeStats(fn, { warm = 3, rounds = QUICK ? 9 : 25, minMs = QUICK ? 150 : 500, between } = {}) {
  for (let i = 0; i < warm; i++) fn();
  const times = [];
  const start = now();
  while (times.length < rounds || (now() - start < minMs && times.length < 500)) {
    const t = cpuMs(); fn(); times.push(cpuMs() - t);
    between?.();
  }
  return { median: median(times), best: Math.min(...times) };
}

function randomTensor(shape, seed = 1) {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; v[i] = (s / 2 ** 32) * 2 - 1; }
  return cnn.tensor(v, shape);
}

// ---- memory child: runs alone in a fresh process so the heap it reports is its own -------------------------------
if (args['memory-child']) {
  const [which, threads] = args['memory-child'].split(':');
  await cnn.ready({ threads: Number(threads) });
  if (which === 'lenet') {
    const { lenet5 } = await import('../../recipes/mnist.js');
    const model = lenet5(cnn, { seed: 1 });
    model.compile({ optimizer: cnn.train.sgd(0.05), loss: 'sparseCategoricalCrossentropy' });
    const x = randomTensor([64 * 4, 28, 28, 1]);
    const y = cnn.tensor(Int32Array.from({ length: 256 }, (_, i) => i % 10), [256]);
    await model.fit(x, y, { epochs: 1, batchSize: 64, verbose: 0 });
  } else {
    const model = cnn.zoo.segnet({ inputShape: [256, 256, 3], numClasses: 4, seed: 1 });
    model.predict(randomTensor([1, 256, 256, 3])).dispose();
  }
  process.stdout.write(JSON.stringify({ heapBytes: heapBytes() }));
  process.exit(0);
}

// --wasm <file>: measure another build of the engine (e.g. a saved copy of the previous one, to compare side by side).
await cnn.ready(args.wasm ? { threads: 1, wasmPath: fs.realpathSync(args.wasm) } : { threads: 1 }); // one-thread figures
const results = { machine: machine(), quick: QUICK, date: new Date().toISOString() };

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return { cpu, cores: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.arch()}`, loadavg: os.loadavg()[0] };
}

// ---- ceiling ------------------------------------------------------------------------------------------------------
let ceilingRun = null;
/** GFLOP/s of one short run of the ceiling loop (50,000 iterations, ~0.1 ms). */
function ceilingSample() {
  if (!ceilingRun) {
    const file = `${root}build/bench/ceiling.wasm`;
    if (!fs.existsSync(file)) throw new Error('build/bench/ceiling.wasm is missing: run bash build.sh');
    ceilingRun = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), {}).exports.ceiling_run;
    for (let i = 0; i < 50; i++) ceilingRun(1000); // tier up
  }
  const iters = 50000;
  const t = now(); ceilingRun(iters);
  return (iters * 96) / ((now() - t) / 1e3) / 1e9;
}

/** The ceiling: the fastest of many short runs. */
function measureCeiling() {
  let best = 0;
  for (let r = 0; r < (QUICK ? 60 : 200); r++) best = Math.max(best, ceilingSample());
  return best;
}

// ---- conv shapes, Winograd on / off ------------------------------------------------------------------------------
const CONV_CASES = [
  { name: '28x28x1 -> 20, 5x5 (LeNet conv1)', h: 28, w: 28, c: 1, f: 20, k: 5, batch: 1 },
  { name: '56x56x64 -> 64, 3x3', h: 56, w: 56, c: 64, f: 64, k: 3, batch: 1 },
  { name: '28x28x128 -> 256, 1x1', h: 28, w: 28, c: 128, f: 256, k: 1, batch: 1 },
  { name: '128x128x16 -> 32, 3x3', h: 128, w: 128, c: 16, f: 32, k: 3, batch: 1 },
  { name: 'ResNet-20 32x32x16 -> 16, 3x3, batch 32', h: 32, w: 32, c: 16, f: 16, k: 3, batch: 32 },
  { name: 'ResNet-20 16x16x32 -> 32, 3x3, batch 32', h: 16, w: 16, c: 32, f: 32, k: 3, batch: 32 },
  { name: 'ResNet-20 8x8x64 -> 64, 3x3, batch 32', h: 8, w: 8, c: 64, f: 64, k: 3, batch: 32 },
];

/**
 * Engine-only forward of one conv layer, with Winograd on or off: { median, best } CPU ms, and `ceiling`, the fastest
 * ceiling run sampled between its calls (so that the layer and the ceiling see the same moments of this shared machine).
 */
function convForward(c, winograd) {
  const model = cnn.sequential({ seed: 3, layers: [cnn.layers.conv2d({ inputShape: [c.h, c.w, c.c], filters: c.f, kernelSize: c.k, padding: 'same' })] });
  const x = randomTensor([c.batch, c.h, c.w, c.c]);
  model.predict(x, { batchSize: c.batch }).dispose(); // plans and fills the input buffer
  const handle = model.build().handle;
  const e = engine();
  if (!winograd) {
    e.cnn_model_set_winograd(handle, 0); // drops the plan: plan again at the same size, then reload the input
    if (e.cnn_model_plan(handle, c.batch, 0) !== 0) throw new Error('plan failed');
    // A plan made behind the JS model's back leaves its input cache stale (it would skip the copy of x): load a copy.
    const again = randomTensor([c.batch, c.h, c.w, c.c]);
    model.predict(again, { batchSize: c.batch }).dispose();
    again.dispose();
  }
  let ceiling = 0;
  const between = () => { for (let i = 0; i < 3; i++) ceiling = Math.max(ceiling, ceilingSample()); };
  const stats = timeStats(() => { if (e.cnn_model_forward(handle, c.batch) !== 0) throw new Error('forward failed'); },
    { between });
  model.dispose(); x.dispose();
  return { ...stats, ceiling };
}

/** The issue's three large shapes (batch 1): engine-only forward and backward (both gradients), Winograd as chosen. */
const BACKWARD_CASES = CONV_CASES.slice(1, 4);

/**
 * An engine-only model for benchBackward: its cnn_model_forward and cnn_model_compute_gradients (forward, loss,
 * backward) as calls, on a model ending in a global average pooling, so that the loss runs on one row per sample
 * whatever the channels.
 */
function engineCalls(layers, c, outChannels) {
  const model = cnn.sequential({ seed: 3, layers: [...layers, cnn.layers.globalAveragePooling2d()] });
  model.compile({ optimizer: cnn.train.sgd(0.01), loss: 'meanSquaredError' });
  const x = randomTensor([c.batch, c.h, c.w, c.c]);
  const y = randomTensor([c.batch, outChannels], 9);
  model.computeGradients(x, y); // plans with gradients and loads the batch
  const handle = model.build().handle;
  const e = engine();
  const stats = e.malloc(64 * 4);
  return {
    fwd: () => { if (e.cnn_model_forward(handle, c.batch) !== 0) throw new Error('forward failed'); },
    grads: () => { if (e.cnn_model_compute_gradients(handle, c.batch, stats) !== 0) throw new Error('gradients failed'); },
    dispose: () => { e.free(stats); model.dispose(); x.dispose(); y.dispose(); },
  };
}

/**
 * Forward and backward (input + weight gradients) of one conv layer, engine only. A model input needs no gradient,
 * so the layer gets a 1x1 conv in front (whose input gradient is then wanted); the same 1x1 conv alone is measured
 * too and taken out: forward = fwd(both) − fwd(1x1); backward = (grads − fwd)(both) − (grads − fwd)(1x1). Both end
 * in a global average pooling (engineCalls): with the loss on the conv's output itself, the difference of the two
 * models' loss passes (784 x 256 against 784 x 128 values for the 1x1 shape) counted as backward time. The four
 * calls take turns, one sample each per round (medians of the rounds): timed one after the other in blocks, a slow
 * minute of this shared machine fell on one block and the differences read anything from 0.6x to 2.6x.
 */
function benchBackward(ceiling) {
  const rows = [];
  for (const c of BACKWARD_CASES) {
    const pre = () => cnn.layers.conv2d({ inputShape: [c.h, c.w, c.c], filters: c.c, kernelSize: 1, useBias: false });
    const both = engineCalls([pre(), cnn.layers.conv2d({ filters: c.f, kernelSize: c.k, padding: 'same' })], c, c.f);
    const alone = engineCalls([pre()], c, c.c);
    const calls = [both.fwd, both.grads, alone.fwd, alone.grads];
    const samples = calls.map(() => []);
    for (const f of calls) for (let i = 0; i < 3; i++) f(); // warm
    const rounds = QUICK ? 15 : 41;
    for (let r = 0; r < rounds; r++) {
      calls.forEach((f, i) => { const t = cpuMs(); f(); samples[i].push(cpuMs() - t); });
    }
    const [bothFwd, bothGrads, aloneFwd, aloneGrads] = samples.map(median);
    both.dispose(); alone.dispose();
    const forwardMs = bothFwd - aloneFwd;
    const backwardMs = bothGrads - bothFwd - (aloneGrads - aloneFwd);
    const flop = 2 * c.batch * c.h * c.w * c.c * c.f * c.k * c.k;
    rows.push({ name: c.name, forwardMs, backwardMs, ratio: backwardMs / forwardMs,
      pctCeilingForward: (100 * flop / forwardMs / 1e6) / ceiling });
  }
  return rows;
}

/**
 * The conv table. GFLOP/s from the median time; % of the ceiling compares like with like: the fastest call against
 * the fastest ceiling run sampled between the calls (a median against the fastest ceiling run read 3-5 points lower
 * on this shared machine, whose ceiling moves 20-50 GFLOP/s from minute to minute).
 */
function benchConv() {
  const rows = [];
  for (const c of CONV_CASES) {
    const flop = 2 * c.batch * c.h * c.w * c.c * c.f * c.k * c.k;
    const on = convForward(c, true), off = convForward(c, false);
    const g = (ms) => flop / ms / 1e6;
    rows.push({ name: c.name, msWinograd: on.median, msReference: off.median, gflops: g(on.median),
      gflopsReference: g(off.median), ceiling: on.ceiling, ceilingReference: off.ceiling,
      pctCeiling: (100 * g(on.best)) / on.ceiling, pctCeilingReference: (100 * g(off.best)) / off.ceiling });
  }
  return rows;
}

// ---- ResNet-20: whole step and per-layer split ---------------------------------------------------------------------
async function resnetStepMs(batch) {
  const model = cnn.zoo.resnet({ depth: 20, inputShape: [32, 32, 3], numClasses: 10, seed: 5 });
  model.compile({ optimizer: cnn.train.sgd(0.01), loss: 'sparseCategoricalCrossentropy' });
  const steps = QUICK ? 6 : 12;
  const x = randomTensor([batch * steps, 32, 32, 3]);
  const y = cnn.tensor(Int32Array.from({ length: batch * steps }, (_, i) => i % 10), [batch * steps]);
  const times = [];
  let t = cpuMs();
  // Between consecutive batch ends: one step plus fit's own per-batch work (the first, with planning, is dropped).
  await model.fit(x, y, { epochs: 1, batchSize: batch, verbose: 0, shuffle: false,
    callbacks: { onBatchEnd: () => { const c = cpuMs(); times.push(c - t); t = c; } } });
  model.dispose(); x.dispose(); y.dispose();
  return median(times.slice(1));
}

/** ResNet-20's convolutions (CIFAR layout): [input h, w, c, filters, stride, how many]. */
const RESNET_LAYERS = [
  ['conv1 32x32x3 -> 16', 32, 3, 16, 1, 1],
  ['stage 2: 32x32x16 -> 16', 32, 16, 16, 1, 6],
  ['stage 3 first: 32x32x16 -> 32 /2', 32, 16, 32, 2, 1],
  ['stage 3: 16x16x32 -> 32', 16, 32, 32, 1, 5],
  ['stage 3 shortcut 1x1 /2', 32, 16, 32, 2, 1, 1],
  ['stage 4 first: 16x16x32 -> 64 /2', 16, 32, 64, 2, 1],
  ['stage 4: 8x8x64 -> 64', 8, 64, 64, 1, 5],
  ['stage 4 shortcut 1x1 /2', 16, 32, 64, 2, 1, 1],
];

function resnetSplit(batch) {
  const rows = [];
  for (const [name, hw, c, f, s, count, k = 3] of RESNET_LAYERS) {
    const model = cnn.sequential({ seed: 2, layers: [cnn.layers.conv2d({ inputShape: [hw, hw, c], filters: f, kernelSize: k, strides: s, padding: 'same', useBias: false })] });
    model.compile({ optimizer: cnn.train.sgd(0.01), loss: 'meanSquaredError' });
    const x = randomTensor([batch, hw, hw, c]);
    const out = model.outputs[0].sampleShape;
    const y = randomTensor([batch, ...out], 9);
    const fwd = timeMs(() => model.predict(x, { batchSize: batch }).dispose());
    const both = timeMs(() => model.computeGradients(x, y));
    rows.push({ name, count, forwardMs: fwd * count, backwardMs: Math.max(0, both - fwd) * count });
    model.dispose(); x.dispose(); y.dispose();
  }
  return rows;
}

async function lenetImagesPerSecond() {
  const { lenet5 } = await import('../../recipes/mnist.js');
  const model = lenet5(cnn, { seed: 1 });
  model.compile({ optimizer: cnn.train.sgd(0.05), loss: 'sparseCategoricalCrossentropy' });
  const steps = QUICK ? 20 : 60;
  const x = randomTensor([64 * steps, 28, 28, 1]);
  const y = cnn.tensor(Int32Array.from({ length: 64 * steps }, (_, i) => i % 10), [64 * steps]);
  const times = [];
  let t = cpuMs();
  await model.fit(x, y, { epochs: 1, batchSize: 64, verbose: 0,
    callbacks: { onBatchEnd: () => { const c = cpuMs(); times.push(c - t); t = c; } } });
  model.dispose(); x.dispose(); y.dispose();
  const ms = median(times.slice(2));
  return { stepMs: ms, imagesPerSecond: 64000 / ms };
}

function memory(which, threads) {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--memory-child', `${which}:${threads}`], { encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) throw new Error(`memory child ${which} failed: ${run.stderr.slice(-500)}`);
  return JSON.parse(run.stdout).heapBytes / 2 ** 20;
}

const TORCH = `
import time, torch, torch.nn as nn
torch.set_num_threads(1); torch.manual_seed(0)
def block(cin, cout, s):
    class B(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                   nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.sc = nn.Sequential() if s == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))
        def forward(self, x): return torch.relu(self.a(x) + self.sc(x))
    return B()
layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
cin = 16
for cout, s in [(16, 1), (32, 2), (64, 2)]:
    for i in range(3):
        layers.append(block(cin, cout, s if i == 0 else 1)); cin = cout
layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
net = nn.Sequential(*layers)
opt = torch.optim.SGD(net.parameters(), lr=0.01)
x = torch.randn(32, 3, 32, 32); y = torch.randint(0, 10, (32,))
times = []
for i in range(STEPS):
    t = time.perf_counter()
    opt.zero_grad(); loss = nn.functional.cross_entropy(net(x), y); loss.backward(); opt.step()
    times.append((time.perf_counter() - t) * 1000)
times = sorted(times[2:])
print(torch.__version__, times[len(times) // 2])
`;

function torchStepMs() {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return { missing: 'no /usr/bin/python3' };
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { missing: 'python3-torch is not installed (Debian: apt-get install -y python3-torch)' };
  const run = spawnSync(python, ['-c', TORCH.replace('STEPS', QUICK ? '8' : '20')], { encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
  if (run.status !== 0) return { missing: `PyTorch run failed: ${run.stderr.slice(-300)}` };
  const [version, ms] = run.stdout.trim().split(' ');
  return { version, stepMs: Number(ms) };
}

// ---- chart and report ----------------------------------------------------------------------------------------------
function svgChart(bars, title) {
  const w = 760, rowH = 26, left = 330, top = 40, h = top + bars.length * rowH + 30;
  const max = Math.max(2, ...bars.map((b) => b.value)) * 1.1;
  const x = (v) => left + ((w - left - 60) * v) / max;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`, `<text x="10" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${h - 24}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${x(1) + 3}" y="${h - 10}" fill="#555">1.0 = the reference (ceiling, peer or target)</text>`];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    lines.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.value) - left)}" height="${rowH - 8}" fill="${b.value >= (b.target ?? 1) ? '#2a7' : '#d84'}"/>`,
      `<text x="${x(b.value) + 4}" y="${y + 15}">${b.value.toFixed(2)}${b.target ? ` (target ${b.target})` : ''}</text>`);
  });
  lines.push('</svg>');
  return lines.join('\n');
}

const CEILING_NOTE = '* fastest call against the fastest ceiling run sampled between the calls; ms and GFLOP/s: medians';
const f1 = (v) => (v === undefined || v === null ? '—' : Number(v).toFixed(1));
const f2 = (v) => (v === undefined || v === null ? '—' : Number(v).toFixed(2));

async function main() {
  log(`# wasm-cnn: own figures${QUICK ? ' (--quick)' : ''}`);
  log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}, load ${results.machine.loadavg.toFixed(2)}`);
  const ceiling = measureCeiling();
  results.ceiling = ceiling;
  log(`\nmultiply-add ceiling (wasm SIMD, 12 chains, this run): ${f1(ceiling)} GFLOP/s`);
  if (selected('conv')) {
    results.conv = benchConv();
    log('\n| conv forward (engine only) | Winograd on: ms | GFLOP/s | % ceiling* | forced off: ms | GFLOP/s | % ceiling* |');
    log('|---|---|---|---|---|---|---|');
    for (const r of results.conv) log(`| ${r.name} | ${f2(r.msWinograd)} | ${f1(r.gflops)} | ${f1(r.pctCeiling)} | ${f2(r.msReference)} | ${f1(r.gflopsReference)} | ${f1(r.pctCeilingReference)} |`);
    log(CEILING_NOTE);
  }
  if (selected('backward')) {
    results.backward = benchBackward(ceiling);
    log('\n| conv backward (engine only, batch 1) | forward ms | backward ms (input + weight gradients) | backward / forward (target <= 2.5) |');
    log('|---|---|---|---|');
    for (const r of results.backward) log(`| ${r.name} | ${f2(r.forwardMs)} | ${f2(r.backwardMs)} | ${f2(r.ratio)} |`);
  }
  if (selected('resnet')) {
    results.resnet = { stepMs: await resnetStepMs(32), split: resnetSplit(32) };
    log(`\nResNet-20 SGD step at batch 32: ${f1(results.resnet.stepMs)} ms (model.fit, median step)`);
    log('| ResNet-20 convs (layer-shaped, x count) | count | forward ms | backward ms |');
    log('|---|---|---|---|');
    let fs_ = 0, bs = 0;
    for (const r of results.resnet.split) { fs_ += r.forwardMs; bs += r.backwardMs; log(`| ${r.name} | ${r.count} | ${f1(r.forwardMs)} | ${f1(r.backwardMs)} |`); }
    log(`| all convs | | ${f1(fs_)} | ${f1(bs)} |  (the rest of the step: batch norm, ReLU, adds, loss, optimizer, copies)`);
  }
  if (selected('torch')) {
    results.torch = torchStepMs();
    if (results.torch.missing) log(`\nPyTorch: not run: ${results.torch.missing}`);
    else log(`\nPyTorch ${results.torch.version} (one thread) ResNet-20 step at batch 32: ${f1(results.torch.stepMs)} ms` +
      (results.resnet ? `; ours / PyTorch = ${f2(results.resnet.stepMs / results.torch.stepMs)} (target <= 1.5)` : ''));
  }
  if (selected('lenet')) {
    results.lenet = await lenetImagesPerSecond();
    log(`\nLeNet-5 training at batch 64: ${f2(results.lenet.stepMs)} ms a step, ${Math.round(results.lenet.imagesPerSecond)} images/s (target 6,000+)`);
  }
  if (selected('memory')) {
    results.memory = { lenetTrainMB: memory('lenet', 1), segnetInferMB: memory('segnet', 1),
      lenetTrainMB2: memory('lenet', 2), segnetInferMB2: memory('segnet', 2) };
    log(`\npeak wasm heap: LeNet-5 training at batch 64 ${f1(results.memory.lenetTrainMB)} MB, with 2 threads ` +
      `${f1(results.memory.lenetTrainMB2)} (target < 16); SegNet inference at 256x256 ` +
      `${f1(results.memory.segnetInferMB)} MB, with 2 threads ${f1(results.memory.segnetInferMB2)} (target < 64)`);
  }
  const bars = [];
  for (const r of results.conv ?? []) bars.push({ label: `${r.name}: of ceiling`, value: r.pctCeiling / 100 });
  if (results.resnet && results.torch?.stepMs) bars.push({ label: 'ResNet-20 step: PyTorch / ours', value: results.torch.stepMs / results.resnet.stepMs, target: 0.67 });
  if (results.lenet) bars.push({ label: 'LeNet-5 images/s / 6,000', value: results.lenet.imagesPerSecond / 6000 });
  if (results.memory) {
    bars.push({ label: 'LeNet-5 training heap: 16 MB / ours', value: 16 / Math.max(results.memory.lenetTrainMB, results.memory.lenetTrainMB2) });
    bars.push({ label: 'SegNet 256x256 heap: 64 MB / ours', value: 64 / Math.max(results.memory.segnetInferMB, results.memory.segnetInferMB2) });
  }
  if (args.svg && bars.length) { fs.writeFileSync(args.svg, svgChart(bars, 'wasm-cnn, one thread: ratios (> 1 or green: at or past the mark)')); log(`\nwrote ${args.svg}`); }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(results, null, 2));
  if (args.md) { fs.writeFileSync(args.md, markdown(args.svg)); log(`wrote ${args.md}`); }
}

/** BENCHMARKS.md: the machine, the commands, the tables of this run, the chart, and the peers' table when --peers. */
function markdown(svg) {
  const r = results;
  const out = ['# wasm-cnn benchmarks', '',
    `Measured ${r.date.slice(0, 10)} on ${r.machine.cpu}, ${r.machine.cores} cores (shared with other work: load ` +
    `${r.machine.loadavg.toFixed(1)} at the start), Node ${r.machine.node}, ${r.machine.platform}; one thread. Times are ` +
    'medians of per-call process CPU time; figures move 10-30% from run to run on this machine: compare ratios from ' +
    'one run.', '', '## Reproduce', '', '```sh',
    'npm run bench                    # everything below, and this file (npm run bench -- --quick: a shorter run)',
    'node tests/bench/perf.js --md BENCHMARKS.md --svg benchmarks.svg   # own figures only, one thread', '```', '',
    `Multiply-add ceiling measured in the same run (wasm SIMD, 12 independent f32x4 chains): **${f1(r.ceiling)} GFLOP/s**.`, ''];
  // The chart beside the file: a link relative to it, whatever path the caller gave.
  if (svg) out.push(`![ratios](${path.relative(path.dirname(path.resolve(args.md ?? '.')), path.resolve(svg)) || svg})`, '');
  if (r.conv) {
    out.push('## Convolution forward, engine only (effective GFLOP/s = direct-convolution flops / time)', '',
      '| shape | Winograd on: ms | GFLOP/s | % of ceiling* | forced off: ms | GFLOP/s | % of ceiling* |', '|---|---|---|---|---|---|---|');
    for (const c of r.conv) out.push(`| ${c.name} | ${f2(c.msWinograd)} | ${f1(c.gflops)} | ${f1(c.pctCeiling)} | ${f2(c.msReference)} | ${f1(c.gflopsReference)} | ${f1(c.pctCeilingReference)} |`);
    out.push('', CEILING_NOTE, '');
  }
  if (r.backward) {
    out.push('## Convolution backward (input + weight gradients) against forward, engine only, batch 1', '',
      '| shape | forward ms | backward ms | backward / forward (target <= 2.5) |', '|---|---|---|---|');
    for (const b of r.backward) out.push(`| ${b.name} | ${f2(b.forwardMs)} | ${f2(b.backwardMs)} | ${f2(b.ratio)} |`);
    out.push('');
  }
  if (args.peers && fs.existsSync(args.peers)) {
    // bench.js's printed report (its stdout saved to a file): its forward table and summary line, as printed.
    const lines = fs.readFileSync(args.peers, 'utf8').split('\n');
    const table = lines.filter((l) => l.startsWith('|'));
    const summary = lines.find((l) => l.startsWith('summary:'));
    out.push('## Against tfjs-wasm and ONNX Runtime Web, one thread (tests/bench/bench.js; batch 1, through model.predict)', '',
      'vs X = X\'s time / ours (> 1: we are faster); engine-only = our C forward pass without predict\'s copies.', '',
      ...table, '', ...(summary ? [summary, ''] : []));
  }
  if (r.resnet) {
    out.push('## ResNet-20 training step, batch 32', '', `Whole step (model.fit): **${f1(r.resnet.stepMs)} ms**` +
      (r.torch?.stepMs ? `; PyTorch ${r.torch.version} on one thread: ${f1(r.torch.stepMs)} ms; ours / PyTorch = **${f2(r.resnet.stepMs / r.torch.stepMs)}** (target <= 1.5).` : `; PyTorch: ${r.torch?.missing ?? 'not run'}.`), '',
      '| convolutions (layer-shaped single convs x count) | count | forward ms | backward ms (both gradients) |', '|---|---|---|---|');
    for (const l of r.resnet.split) out.push(`| ${l.name} | ${l.count} | ${f1(l.forwardMs)} | ${f1(l.backwardMs)} |`);
    out.push('');
  }
  if (r.lenet) out.push(`## LeNet-5 training, batch 64`, '', `${f2(r.lenet.stepMs)} ms a step: **${Math.round(r.lenet.imagesPerSecond)} images/s** (target 6,000+).`, '');
  if (r.memory) out.push('## Memory (peak wasm heap, fresh process)', '', `- LeNet-5 training at batch 64: ${f1(r.memory.lenetTrainMB)} MB ` +
    `on one thread, ${f1(r.memory.lenetTrainMB2)} MB on 2 threads (target < 16; both builds start at 2 MB and grow with ` +
    'what models plan; each extra thread adds its stack and conv scratch)', `- SegNet inference at 256x256: ` +
    `${f1(r.memory.segnetInferMB)} MB on one thread, ${f1(r.memory.segnetInferMB2)} MB on 2 threads (target < 64)`, '');
  return out.join('\n');
}

await main();
