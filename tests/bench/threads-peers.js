#!/usr/bin/env node
// Conv forward at batch 1 with 1 and 2 threads, ours against ONNX Runtime Web (wasm execution provider): issue 9 asks
// that with 2 threads we stay ahead of ORT with 2 threads on every conv shape of the bench. Each library and thread
// count runs in its own fresh process (ORT's worker threads and ours must not share the cores during the other's
// turn), one after the other, in `--rounds` rounds; the figures are medians of per-call wall time (with threads, wall
// time is what a user waits for; process CPU time is printed beside it). ORT's outputs are checked against ours
// before timing. Not a test: speed goals are read from its output.
//
//   node tests/bench/threads-peers.js [--rounds 3] [--threads 2] [--json out.json]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SHAPES = [
  { name: 'conv 28x28x1 -> 6, 5x5 same', h: 28, w: 28, cin: 1, cout: 6, k: 5 },
  { name: 'conv 56x56x64 -> 64, 3x3 same', h: 56, w: 56, cin: 64, cout: 64, k: 3 },
  { name: 'conv 28x28x128 -> 256, 1x1', h: 28, w: 28, cin: 128, cout: 256, k: 1 },
  { name: 'conv 128x128x16 -> 32, 3x3 same', h: 128, w: 128, cin: 16, cout: 32, k: 3 },
];

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '2' }, json: { type: 'string' },
    child: { type: 'string' }, 'child-threads': { type: 'string' },
  },
});

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const input = (s) => new Float32Array(s.h * s.w * s.cin).map((_, i) => Math.sin(i * 0.37));

/** Times fn (async) for ~1 s after a warm-up: median wall ms per call and mean process CPU ms per call. */
async function time(fn) {
  for (let i = 0; i < 5; i++) await fn();
  const walls = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (walls.length < 10 || performance.now() - t0 < 1000) {
    const t = performance.now();
    await fn();
    walls.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: median(walls), cpu: (cpu.user + cpu.system) / 1e3 / walls.length };
}

async function child(library, threads) {
  const cnn = await import('../../web/index.js');
  await cnn.ready({ threads });
  const ortLib = library === 'ort' ? await import('./ort.js') : null;
  if (ortLib) await ortLib.setUpOrt({ threads });
  const out = {};
  for (const s of SHAPES) {
    const model = cnn.sequential({ seed: 1, layers: [cnn.layers.conv2d({ inputShape: [s.h, s.w, s.cin], filters: s.cout,
      kernelSize: s.k, padding: 'same' })] });
    const xs = input(s);
    const x = cnn.tensor(xs, [1, s.h, s.w, s.cin]);
    if (ortLib) {
      const session = await ortLib.ortSession(model);
      const feeds = session.feed(xs);
      ortLib.checkOrt(s.name, model.predict(x).dataSync(), await session.outputNhwc(feeds));
      out[s.name] = await time(() => session.run(feeds));
      await session.release();
    } else {
      out[s.name] = await time(async () => model.predict(x).dispose());
    }
    model.dispose();
  }
  const info = library === 'ours' ? cnn.engineInfo() : { threads };
  process.stdout.write(JSON.stringify({ info, out }));
  process.exit(0); // ORT's worker threads would keep the process alive
}

if (args.child) {
  await child(args.child, Number(args['child-threads']));
} else {
  const rounds = Number(args.rounds);
  const many = Number(args.threads);
  const configs = [['ours', 1], ['ours', many], ['ort', 1], ['ort', many]];
  const script = fileURLToPath(import.meta.url);
  const samples = new Map(configs.map((c) => [c.join(':'), []]));
  for (let r = 0; r < rounds; r++) {
    for (const [library, threads] of configs) {
      process.stderr.write(`[threads-peers] round ${r + 1}/${rounds}: ${library}, ${threads} thread(s)\n`);
      const text = execFileSync(process.execPath, [script, '--child', library, '--child-threads', String(threads)],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const { info, out } = JSON.parse(text);
      if (library === 'ours' && info.threads !== threads) {
        throw new Error(`asked for ${threads} threads, the engine runs ${info.threads}: ${info.reason}`);
      }
      samples.get(`${library}:${threads}`).push(out);
    }
  }
  const fig = (key, name, what) => median(samples.get(key).map((o) => o[name][what]));
  const rows = SHAPES.map((s) => {
    const o1 = fig('ours:1', s.name, 'wall'), on = fig(`ours:${many}`, s.name, 'wall');
    const r1 = fig('ort:1', s.name, 'wall'), rn = fig(`ort:${many}`, s.name, 'wall');
    return { name: s.name, ours1: o1, oursN: on, ort1: r1, ortN: rn, oursSpeedup: o1 / on, ortSpeedup: r1 / rn,
      vsOrtN: rn / on, oursCpuN: fig(`ours:${many}`, s.name, 'cpu'), ortCpuN: fig(`ort:${many}`, s.name, 'cpu') };
  });
  const f = (v) => v.toFixed(v < 1 ? 3 : 2);
  console.log(`## Conv forward, batch 1: 1 and ${many} threads, ours vs ONNX Runtime Web (wall ms, medians of ${rounds} fresh-process rounds)\n`);
  console.log(`| case | ours 1 thr | ours ${many} thr | speed-up | ORT 1 thr | ORT ${many} thr | ORT speed-up | vs ORT at ${many} threads | CPU ms ours / ORT at ${many} |`);
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${f(r.ours1)} | ${f(r.oursN)} | ${r.oursSpeedup.toFixed(2)}x | ${f(r.ort1)} | ${f(r.ortN)} | ` +
      `${r.ortSpeedup.toFixed(2)}x | ${r.vsOrtN.toFixed(2)}x | ${f(r.oursCpuN)} / ${f(r.ortCpuN)} |`);
  }
  console.log(`\nvs ORT = ORT's wall time / ours at ${many} threads (> 1: we are faster).`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(rows, null, 2));
}
