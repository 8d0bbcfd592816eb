#!/usr/bin/env node
// `npm run bench`: every figure issue 9 asks for, in one command, then BENCHMARKS.md and benchmarks.svg.
//   1. tests/bench/bench.js          - ours vs tfjs-wasm and ONNX Runtime Web, one thread (conv, pool, models, training)
//   2. tests/bench/perf.js           - the multiply-add ceiling of this run and each conv as a % of it, backward vs
//                                      forward, ResNet-20 step vs PyTorch, LeNet-5 images/s, peak memory
//   3. tests/bench/threads.js        - 1 vs 2 threads: conv shapes, LeNet-5 / ResNet-20 / SegNet training steps
//   4. tests/bench/threads-peers.js  - conv forward with 2 threads, ours vs ORT Web with 2 threads
//   5. tests/bench/threads-browser.js - 1 vs 2 threads in Chromium (conv shapes, ResNet-20 and SegNet steps)
// Each part runs in its own process, one after the other (never two at once: they would share the cores).
//
//   node tests/bench/all.js [--quick] [--no-ort] [--skip peers,perf,threads,threads-peers,threads-browser] [--md BENCHMARKS.md]
// --quick passes on to the parts that have it and runs 1 round (instead of 3) of the thread benches.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, 'no-ort': { type: 'boolean', default: false },
    skip: { type: 'string', default: '' }, md: { type: 'string', default: 'BENCHMARKS.md' },
    svg: { type: 'string', default: 'benchmarks.svg' },
  },
});
const skip = new Set(args.skip.split(',').filter(Boolean));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-cnn-bench-'));
const rounds = args.quick ? '1' : '3';

/** Runs one part, its report on our stdout as it comes and (when `save`) also into a file; throws when it fails. */
function part(name, script, partArgs, save) {
  if (skip.has(name)) return null;
  process.stderr.write(`\n[bench] === ${name}: node ${script} ${partArgs.join(' ')}\n`);
  const run = spawnSync(process.execPath, [path.join(root, script), ...partArgs],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  process.stdout.write(run.stdout ?? '');
  if (run.status !== 0) throw new Error(`${script} failed (exit ${run.status})`);
  if (save) fs.writeFileSync(save, run.stdout);
  return run.stdout;
}

const quick = args.quick ? ['--quick'] : [];
const peersOut = path.join(work, 'peers.txt');
part('peers', 'tests/bench/bench.js', [...quick, ...(args['no-ort'] ? ['--no-ort'] : [])], peersOut);
const mdArgs = skip.has('perf') ? [] : ['--md', path.join(root, args.md), '--svg', path.join(root, args.svg),
  ...(fs.existsSync(peersOut) ? ['--peers', peersOut] : [])];
part('perf', 'tests/bench/perf.js', [...quick, ...mdArgs]);
const threads = part('threads', 'tests/bench/threads.js', ['--rounds', rounds]);
const peers = args['no-ort'] ? null : part('threads-peers', 'tests/bench/threads-peers.js', ['--rounds', rounds]);
const browser = part('threads-browser', 'tests/bench/threads-browser.js', ['--rounds', args.quick ? '1' : '2']);

// perf.js wrote BENCHMARKS.md (one thread); the thread figures go below it.
const md = path.join(root, args.md);
if (fs.existsSync(md) && !skip.has('perf') && (threads || peers || browser)) {
  const sections = ['\n## Threads (Node, this machine: 2 cores)\n'];
  sections.push('Reproduce: `node tests/bench/threads.js --rounds 3`, `node tests/bench/threads-peers.js --rounds 3` ' +
    '(each case in fresh processes, one library and thread count at a time) and `node tests/bench/threads-browser.js` ' +
    '(fresh Chromium pages).\n');
  if (threads) sections.push('```\n' + threads.trim() + '\n```\n');
  if (peers) sections.push(peers.trim() + '\n');
  if (browser) sections.push(browser.trim() + '\n');
  fs.appendFileSync(md, sections.join('\n'));
  process.stderr.write(`[bench] added the thread figures to ${args.md}\n`);
}
fs.rmSync(work, { recursive: true, force: true });
