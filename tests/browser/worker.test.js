/**
 * Browser test of cnn.worker (web/worker/) in headless Chromium: a model in a module Web Worker trains, predicts,
 * segments a canvas and saves bit-identically to the same calls on the page's thread; errors keep the worker's
 * message; abort, terminate and a worker script that fails to load. Measures the longest main-thread gap
 * (setTimeout(0) loop and requestAnimationFrame) while a model trains in the worker (must stay under 50 ms) and, for
 * comparison, while the same model trains on the page's thread. Page: tests/browser/pages/worker.html.
 *
 *   node --test tests/browser/worker.test.js      (needs `bash build.sh` first)
 * Screenshot: build/screenshots/worker.png
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowserPage } from './browser.js';

let page;
const session = useBrowserPage({
  viewport: { width: 900, height: 500 },
  screenshot: 'worker.png',
  workers: true,
  setup: async (s) => {
    page = s.page;
    await page.goto(`${s.server.url}tests/browser/pages/worker.html`);
    await s.waitForState('ready', 30_000);
  },
});
const { problems } = session;

const run = (name, arg) => page.evaluate(([n, a]) => window.__tests[n](a), [name, arg]);

test('a model in a module Worker gives the same History, callbacks, weights, masks and bytes as on the page', async () => {
  const r = await run('flow');
  assert.equal(r.batches, 4);
  assert.ok(r.losses.every(Number.isFinite));
  assert.equal(r.historyEqual, true, 'History');
  assert.equal(r.callbacksEqual, true, 'callbacks and their logs');
  assert.equal(r.weightsEqual, true, 'weights');
  assert.equal(r.predictEqual, true, 'predict');
  assert.equal(r.segmentEqual, true, 'segment of a canvas (as an ImageBitmap) and of its ImageData');
  assert.deepEqual(r.segment, { width: 64, height: 64, numClasses: 4 });
  assert.equal(r.savedEqual, true, 'save');
  assert.equal(r.loadedEqual, true, 'loadModel(bytes)');
  assert.equal(r.fromUrl, 'segnet', 'loadModel(relative URL) resolves against the page');
  assert.deepEqual(r.shippedProbes, [0, 2, 1, 3], 'the shipped SegNet finds background, rectangle, circle, triangle');
  assert.deepEqual(r.remoteError, { name: 'CnnError', message: r.compileError, isCnnError: true });
  assert.equal(r.memory.numTensors, 0);
  assert.deepEqual(problems, []);
});

test('the page stays responsive while a model trains in the worker: longest main-thread gap under 50 ms', async () => {
  // The gap also measures the OS: on a loaded 2-core machine the page's thread can wait 100+ ms for a core while
  // the worker computes, whatever the library does. A run is repeated (at most 3) when it misses the bound; a main
  // thread that the library itself blocks misses it every time.
  let worker;
  let onPage;
  for (let attempt = 1; attempt <= 3; attempt++) {
    ({ worker, page: onPage } = await run('gaps', { ms: 2500, pageMs: 1200 }));
    if (worker.maxTimerGap < 50 && worker.maxFrameGap < 50) break;
    console.log(`# attempt ${attempt}: longest gaps ${worker.maxTimerGap.toFixed(1)} ms (setTimeout), ` +
      `${worker.maxFrameGap.toFixed(1)} ms (frames): ${JSON.stringify(worker.long)}`);
  }
  const f = (v) => v.toFixed(1);
  console.log(`# training in the worker: ${worker.batches} batches in ${f(worker.ms)} ms (median ${f(worker.medianBatchMs)} ms/batch); ` +
    `longest main-thread gap ${f(worker.maxTimerGap)} ms over ${worker.timers} setTimeout(0) callbacks, ${f(worker.maxFrameGap)} ms over ${worker.frames} frames`);
  console.log(`# the same training on the page: ${onPage.batches} batches in ${f(onPage.ms)} ms; ` +
    `longest gap ${f(onPage.maxTimerGap)} ms (setTimeout), ${f(onPage.maxFrameGap)} ms (frames)`);
  assert.ok(worker.batches >= 3, `${worker.batches} batches trained`);
  assert.ok(worker.timers > 100, `${worker.timers} timer callbacks ran`);
  assert.ok(worker.maxTimerGap < 50, `longest setTimeout gap ${f(worker.maxTimerGap)} ms; gaps over 30 ms as ` +
    `[ms from start, length]: ${JSON.stringify(worker.long)}`);
  assert.ok(worker.maxFrameGap < 50, `longest frame gap ${f(worker.maxFrameGap)} ms`);
  assert.deepEqual(problems, []);
});

test('abort, terminate during fit, and worker scripts that do not start', async () => {
  const r = await run('failures');
  assert.equal(r.preAbortedEpochs, 0);
  assert.ok(r.batches >= 2 && r.batches <= 3, `${r.batches} batches after an abort at batch 2`);
  assert.equal(r.terminated, 'fit: the wasm-cnn worker was terminated');
  assert.equal(r.later, 'predict: the wasm-cnn worker was terminated; create a new worker with cnn.worker.create()');
  assert.match(r.missing, /^CnnError: worker.create: the wasm-cnn worker crashed: its script could not be loaded or threw while starting$/);
  assert.match(r.throws, /^CnnError: worker.create: the wasm-cnn worker crashed: .*bad start/);
  problems.splice(0, problems.length, ...problems.filter((p) => !/no-such-worker\.js|bad start/.test(p))); // expected
  assert.deepEqual(problems, []);
});
