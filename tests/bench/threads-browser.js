#!/usr/bin/env node
// The threaded engine's speed in headless Chromium (Debian's /usr/bin/chromium through playwright-core): the page
// tests/bench/pages/threads.html, served cross-origin isolated by demos/serve.js, runs conv forward passes and the
// ResNet-20 / SegNet training steps with 1 and with 2 threads, each in a fresh page, alternating, `--rounds` times;
// medians of per-call wall time. Not a test: speed goals are read from its output.
//
//   node tests/bench/threads-browser.js [--rounds 2] [--threads 2]
import { parseArgs } from 'node:util';
import { launchBrowser, startPageServer } from '../browser/browser.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' } } });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const many = Number(args.threads);

const server = await startPageServer();
const browser = await launchBrowser();
const runs = { 1: [], [many]: [] };
try {
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const threads of [1, many]) {
      process.stderr.write(`[threads-browser] round ${r + 1}: ${threads} thread(s)\n`);
      const page = await browser.newPage();
      try {
        await page.goto(`${server.url}tests/bench/pages/threads.html?threads=${threads}`);
        await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 300_000 });
        const result = await page.evaluate(() => window.__result);
        if (!result || result.error) throw new Error(`the bench page failed: ${result?.error}`);
        if (result.engine.threads !== threads) throw new Error(`asked for ${threads} threads, the page runs ${result.engine.threads}: ${result.engine.reason}`);
        runs[threads].push(result.ms);
      } finally {
        await page.close();
      }
    }
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`## Chromium (${browser.version?.() ?? 'Debian chromium'}), page thread, 1 vs ${many} threads (wall ms, medians of ${args.rounds} fresh pages each)\n`);
console.log(`| case | 1 thread | ${many} threads | speed-up |`);
console.log('|---|---|---|---|');
for (const name of Object.keys(runs[1][0])) {
  const one = median(runs[1].map((m) => m[name]));
  const n = median(runs[many].map((m) => m[name]));
  console.log(`| ${name} | ${one.toFixed(2)} | ${n.toFixed(2)} | ${(one / n).toFixed(2)}x |`);
}
