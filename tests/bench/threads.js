#!/usr/bin/env node
// Speed-up of the threaded engine in Node: conv forward (predict) and forward + backward (computeGradients) on the
// bench's conv shapes, a LeNet-5 training step (batch 64), a ResNet-20 training step (batch 32) and a SegNet
// training step (batch 16, 64x64), with 1 thread (the single-threaded build) and with 2 threads. Wall and CPU time
// per call (CPU: the whole process, workers included), medians of interleaved rounds in fresh processes. Not a test:
// speed goals are read from its output. --base DIR also runs the builds in DIR (a copy of an older dist/, both
// wasm files) in the same rounds, interleaved, and prints their figures beside (before / after under the same load).
//
//   node tests/bench/threads.js [--threads 2] [--rounds 3] [--only lenet,resnet20,...] [--base /tmp/old-dist]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

const CASES = {
  'conv 5x5 28x28x1->6 fwd b1': { kind: 'conv', shape: [28, 28, 1], filters: 6, k: 5, n: 1, pass: 'forward' },
  'conv 3x3 56x56x64->64 fwd b1': { kind: 'conv', shape: [56, 56, 64], filters: 64, k: 3, n: 1, pass: 'forward' },
  'conv 1x1 28x28x128->256 fwd b1': { kind: 'conv', shape: [28, 28, 128], filters: 256, k: 1, n: 1, pass: 'forward' },
  'conv 3x3 128x128x16->32 fwd b1': { kind: 'conv', shape: [128, 128, 16], filters: 32, k: 3, n: 1, pass: 'forward' },
  'conv 3x3 56x56x64->64 fwd+bwd b4': { kind: 'conv', shape: [56, 56, 64], filters: 64, k: 3, n: 4, pass: 'backward' },
  'conv 3x3 32x32x16->16 fwd+bwd b32': { kind: 'conv', shape: [32, 32, 16], filters: 16, k: 3, n: 32, pass: 'backward' },
  'LeNet-5 train step b64': { kind: 'lenet', n: 64 },
  'ResNet-20 train step b32': { kind: 'resnet20', n: 32 },
  'SegNet 64x64 train step b16': { kind: 'segnet', n: 16 },
};

async function child(threads, names, base) {
  const cnn = await import('../../web/index.js');
  await cnn.ready(base ? { threads, wasmPath: `${base}/wasm-cnn.wasm`, wasmThreadsPath: `${base}/wasm-cnn-mt.wasm` }
    : { threads });
  const out = {};
  for (const name of names) {
    const c = CASES[name];
    let model;
    let shape;
    if (c.kind === 'conv') {
      shape = c.shape;
      model = cnn.sequential({ seed: 1, layers: [cnn.layers.conv2d({ inputShape: shape, filters: c.filters,
        kernelSize: c.k, padding: 'same' })] });
    } else if (c.kind === 'lenet') {
      shape = [28, 28, 1];
      model = cnn.zoo.lenet5({ seed: 1 });
    } else if (c.kind === 'segnet') {
      shape = [64, 64, 3];
      model = cnn.zoo.segnet({ inputShape: shape, numClasses: 4, seed: 1 });
    } else {
      shape = [32, 32, 3];
      model = cnn.zoo.resnet({ depth: 20, inputShape: shape, numClasses: 10, seed: 1 });
    }
    const size = shape.reduce((a, b) => a * b);
    const xs = new Float32Array(c.n * size).map((_, i) => Math.sin(i * 0.37));
    const x = cnn.tensor(xs, [c.n, ...shape]);
    let call;
    if (c.kind === 'conv' && c.pass === 'forward') {
      call = async () => model.predict(x).dispose();
    } else if (c.kind === 'conv') {
      model.compile({ optimizer: cnn.train.sgd(0.01), loss: 'meanSquaredError' });
      const outShape = model.predict(cnn.tensor(xs.subarray(0, size), [1, ...shape])).shape.slice(1);
      const y = cnn.tensor(new Float32Array(c.n * outShape.reduce((a, b) => a * b)), [c.n, ...outShape]);
      call = async () => model.computeGradients(x, y);
    } else if (c.kind === 'segnet') {
      model.compile({ optimizer: cnn.train.adam(0.001), loss: 'sparseCategoricalCrossentropy' });
      const y = cnn.tensor(new Int32Array(c.n * 64 * 64).map((_, i) => (i >> 5) % 4), [c.n, 64, 64], 'int32');
      call = async () => model.fit(x, y, { epochs: 1, batchSize: c.n, shuffle: false, seed: 1 });
    } else {
      model.compile({ optimizer: cnn.train.adam(0.001), loss: 'sparseCategoricalCrossentropy' });
      const y = cnn.tensor(new Int32Array(c.n).map((_, i) => i % 10), [c.n], 'int32');
      call = async () => model.fit(x, y, { epochs: 1, batchSize: c.n, shuffle: false, seed: 1 });
    }
    for (let i = 0; i < 2; i++) await call(); // warm-up (plans buffers, compiles tiers)
    let calls = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    while (calls < 3 || performance.now() - t0 < 1500) {
      await call();
      calls++;
    }
    const wall = (performance.now() - t0) / calls;
    const cpu = process.cpuUsage(cpu0);
    out[name] = { wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000 / calls };
    model.dispose();
  }
  return { info: cnn.engineInfo(), out };
}

if (process.env.WASM_CNN_THREADS_BENCH_CHILD) {
  const { threads, names, base } = JSON.parse(process.env.WASM_CNN_THREADS_BENCH_CHILD);
  process.stdout.write(JSON.stringify(await child(threads, names, base)));
} else {
  const threads = Number(arg('threads', 2));
  const rounds = Number(arg('rounds', 3));
  const only = arg('only', '');
  const baseDir = arg('base', '');
  const names = Object.keys(CASES).filter((n) => !only || only.split(',').some((o) => n.toLowerCase().includes(o)));
  const builds = baseDir ? ['', baseDir] : [''];
  const results = {};
  for (let r = 0; r < rounds; r++) {
    for (const base of builds) {
      for (const t of [1, threads]) { // interleaved: all see the same machine noise
        const res = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
          env: { ...process.env, WASM_CNN_THREADS_BENCH_CHILD: JSON.stringify({ threads: t, names, base }) },
          encoding: 'utf8', maxBuffer: 1 << 24,
        }));
        if (res.info.threads !== t) throw new Error(`asked for ${t} threads, got ${JSON.stringify(res.info)}`);
        (results[`${base}:${t}`] ??= []).push(res.out);
      }
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const pick = (base, t, name, key) => med(results[`${base}:${t}`].map((o) => o[name][key]));
  console.log(`threads bench: 1 vs ${threads} threads, Node ${process.version}, median of ${rounds} rounds` +
    (baseDir ? `; "before": the builds in ${baseDir}, same rounds` : ''));
  console.log(`${'case'.padEnd(36)} ${'1 thr wall'.padStart(10)} ${`${threads} thr wall`.padStart(10)} ` +
    `${'speed-up'.padStart(8)} ${'1 thr cpu'.padStart(10)} ${`${threads} thr cpu`.padStart(10)}` +
    (baseDir ? `  |  before: ${'1 thr wall'.padStart(10)} ${`${threads} thr wall`.padStart(10)} ` +
      `${'speed-up'.padStart(8)} ${'1 thr cpu'.padStart(10)} ${`${threads} thr cpu`.padStart(10)}` : ''));
  const row = (base, name) => {
    const w1 = pick(base, 1, name, 'wallMs');
    const wt = pick(base, threads, name, 'wallMs');
    return `${w1.toFixed(2).padStart(10)} ${wt.toFixed(2).padStart(10)} ${(w1 / wt).toFixed(2).padStart(7)}x ` +
      `${pick(base, 1, name, 'cpuMs').toFixed(2).padStart(10)} ${pick(base, threads, name, 'cpuMs').toFixed(2).padStart(10)}`;
  };
  for (const name of names) {
    console.log(`${name.padEnd(36)} ${row('', name)}${baseDir ? `  |  ${' '.repeat(8)}${row(baseDir, name)}` : ''}`);
  }
}
