// Page of tests/browser/worker.test.js: cnn.worker in a module Web Worker. Each window.__tests function runs one
// scenario and returns plain data for the test to assert on; the page also shows the segmented scene.
import * as cnn from '../../../web/index.js';
import { worker } from '../../../web/worker/client.js';

const $ = (id) => document.getElementById(id);
const log = (line) => { $('log').textContent += `${line}\n`; };
const bits = (t) => Array.from(new Uint32Array(t.dataSync().buffer));
const sameBits = (a, b) => a.length === b.length && a.every((t, i) => bits(t).join() === bits(b[i]).join());

/** Callbacks that record each call and its arguments (stop functions left out). */
function recorder() {
  const calls = [];
  const cb = (name) => (...args) => { calls.push([name, ...args.filter((a) => typeof a !== 'function')]); };
  return { calls, callbacks: Object.fromEntries(['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'].map((n) => [n, cb(n)])) };
}

function drawScene() {
  const ctx = $('scene').getContext('2d');
  ctx.fillStyle = '#777'; ctx.fillRect(0, 0, 64, 64);
  ctx.fillStyle = '#e33'; ctx.fillRect(6, 8, 22, 14);
  ctx.fillStyle = '#3c3'; ctx.beginPath(); ctx.arc(44, 40, 12, 0, 2 * Math.PI); ctx.fill();
  ctx.fillStyle = '#33e'; ctx.beginPath(); ctx.moveTo(8, 58); ctx.lineTo(28, 58); ctx.lineTo(18, 36); ctx.fill();
  return $('scene');
}

/** Longest gaps between setTimeout(0) callbacks and between animation frames while `work` runs. */
async function measureGaps(work) {
  let running = true;
  const gaps = { timer: 0, timerCount: 0, frame: 0, frameCount: 0 };
  const t0 = performance.now();
  let last = t0;
  const tick = () => {
    if (!running) return; // the last timer may fire after the work, behind whatever runs next
    const now = performance.now();
    if (now - last > 30) (gaps.long ??= []).push([Math.round(last - t0), Math.round(now - last)]);
    gaps.timer = Math.max(gaps.timer, now - last);
    gaps.timerCount++;
    last = now;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  let lastFrame = null;
  const frame = (now) => {
    if (!running) return;
    if (lastFrame !== null) gaps.frame = Math.max(gaps.frame, now - lastFrame);
    gaps.frameCount++;
    lastFrame = now;
    if (running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    gaps.result = await work();
  } finally {
    running = false;
  }
  gaps.ms = performance.now() - t0;
  return gaps;
}

const SEGNET = { inputShape: [32, 32, 3], numClasses: 4, depth: 2, width: 8, seed: 1 };
const compileConfig = () => ({ optimizer: cnn.train.adam(0.005), loss: 'sparseCategoricalCrossentropy', metrics: ['pixelAccuracy', 'meanIoU'] });

window.__tests = {
  /** The basic flow in a module Worker against the same calls on this thread. */
  async flow() {
    await cnn.ready();
    const w = await worker.create({ threads: 1 });
    const local = cnn.zoo.segnet(SEGNET);
    const remote = await w.zoo.segnet(SEGNET);
    local.compile(compileConfig());
    await remote.compile(compileConfig());
    const set = cnn.data.shapes({ count: 16, size: 32, seed: 3 });
    const x = cnn.tensor(set.images, [16, 32, 32, 3]);
    const y = cnn.tensor(set.masks, [16, 32, 32], 'int32');
    const options = { epochs: 2, batchSize: 8, seed: 4, augment: { flips: true }, learningRateSchedule: cnn.train.oneCycle(0.01) };
    const a = recorder();
    const b = recorder();
    const hl = await local.fit(x, y, { ...options, callbacks: a.callbacks });
    const hr = await remote.fit(x, y, { ...options, callbacks: b.callbacks });
    const weightsEqual = sameBits(local.getWeights(), await remote.getWeights());
    const predictEqual = bits(local.predict(x)).join() === bits(await remote.predict(x)).join();
    const canvas = drawScene();
    const sl = local.segment(canvas);
    const sr = await remote.segment(canvas); // sent as an ImageBitmap
    const data = canvas.getContext('2d').getImageData(0, 0, 64, 64);
    const sd = await remote.segment(data);
    const bytes = await remote.save();
    const loaded = await w.loadModel(bytes);
    const loadedEqual = bits(local.predict(x)).join() === bits(await loaded.predict(x)).join();
    // The shipped SegNet, read by the worker from a URL relative to this page, segments the drawn scene.
    const shipped = await w.loadModel('../../../demos/models/segnet-shapes.wcnn').catch((e) => e);
    const fromUrl = shipped instanceof Error ? `error: ${shipped.message}` : shipped.name;
    let shippedProbes = null;
    if (!(shipped instanceof Error)) {
      const found = await shipped.segment(canvas);
      // background, rectangle, circle, triangle (classes 0, 2, 1, 3 of cnn.data.shapes)
      shippedProbes = [[60, 4], [17, 15], [44, 40], [18, 52]].map(([px, py]) => found.classes[py * 64 + px]);
      const mask = cnn.browser.maskToImageData(found);
      $('mask').getContext('2d').putImageData(mask, 0, 0);
    }
    let compileError = null;
    try { local.compile({ optimizer: 'sgd', loss: 'hinge' }); } catch (e) { compileError = e.message; }
    const remoteError = await remote.compile({ optimizer: 'sgd', loss: 'hinge' }).then(() => null, (e) => ({ name: e.name, message: e.message, isCnnError: e instanceof cnn.CnnError }));
    const result = {
      historyEqual: JSON.stringify(hl) === JSON.stringify(hr), callbacksEqual: JSON.stringify(a.calls) === JSON.stringify(b.calls),
      batches: b.calls.filter((c) => c[0] === 'onBatchEnd').length, losses: hr.history.loss,
      weightsEqual, predictEqual, loadedEqual, savedEqual: local.save().join() === bytes.join(), fromUrl, shippedProbes,
      segmentEqual: sl.classes.join() === sr.classes.join() && sl.classes.join() === sd.classes.join(),
      segment: { width: sr.width, height: sr.height, numClasses: sr.numClasses },
      compileError, remoteError, memory: await w.memory(),
    };
    local.dispose();
    x.dispose();
    y.dispose();
    w.terminate();
    log(`flow: losses ${hr.history.loss.map((v) => v.toFixed(4)).join(', ')}; worker == page: ${result.historyEqual && result.weightsEqual}`);
    return result;
  },

  /** Longest main-thread gaps while a model trains in the worker for `ms`, and (for comparison) on this thread. */
  async gaps({ ms = 2500, pageMs = 1200 } = {}) {
    await cnn.ready();
    const w = await worker.create();
    const build = { inputShape: [64, 64, 3], numClasses: 4, depth: 3, width: 12, seed: 1 };
    const remote = await w.zoo.segnet(build);
    await remote.compile(compileConfig());
    const scenes = await w.data.shapes({ count: 64, size: 64, seed: 1 });
    const batchTimes = [];
    const inWorker = await measureGaps(async () => {
      const stop = new AbortController();
      setTimeout(() => stop.abort(), ms);
      let last = performance.now();
      await remote.fit(scenes.x, scenes.y, { epochs: 1000, batchSize: 16, signal: stop.signal, callbacks: {
        onBatchEnd() { const now = performance.now(); batchTimes.push(now - last); last = now; },
      } });
    });
    w.terminate();
    // The same training on this thread: fit yields between batches only.
    const local = cnn.zoo.segnet(build);
    local.compile(compileConfig());
    const set = cnn.data.shapes({ count: 64, size: 64, seed: 1 });
    const x = cnn.tensor(set.images, [64, 64, 64, 3]);
    const y = cnn.tensor(set.masks, [64, 64, 64], 'int32');
    let pageBatches = 0;
    const onPage = await measureGaps(async () => {
      const stop = new AbortController();
      setTimeout(() => stop.abort(), pageMs);
      await local.fit(x, y, { epochs: 1000, batchSize: 16, signal: stop.signal, callbacks: { onBatchEnd() { pageBatches++; } } });
    });
    local.dispose();
    x.dispose();
    y.dispose();
    const median = [...batchTimes].sort((p, q) => p - q)[batchTimes.length >> 1];
    const out = {
      worker: { long: inWorker.long, maxTimerGap: inWorker.timer, timers: inWorker.timerCount, maxFrameGap: inWorker.frame, frames: inWorker.frameCount, ms: inWorker.ms, batches: batchTimes.length, medianBatchMs: median },
      page: { maxTimerGap: onPage.timer, timers: onPage.timerCount, maxFrameGap: onPage.frame, frames: onPage.frameCount, ms: onPage.ms, batches: pageBatches },
    };
    log(`gaps: worker ${out.worker.maxTimerGap.toFixed(1)} ms (timers), ${out.worker.maxFrameGap.toFixed(1)} ms (frames); page ${out.page.maxTimerGap.toFixed(1)} / ${out.page.maxFrameGap.toFixed(1)} ms`);
    return out;
  },

  /** Abort, a worker script that does not load, terminate during fit. */
  async failures() {
    const w = await worker.create();
    const remote = await w.zoo.segnet(SEGNET);
    await remote.compile(compileConfig());
    const scenes = await w.data.shapes({ count: 32, size: 32, seed: 2 });
    const pre = await remote.fit(scenes.x, scenes.y, { epochs: 2, batchSize: 4, signal: AbortSignal.abort() });
    const stop = new AbortController();
    let batches = 0;
    await remote.fit(scenes.x, scenes.y, { epochs: 20, batchSize: 4, signal: stop.signal, callbacks: {
      onBatchEnd() { batches++; if (batches === 2) stop.abort(); },
    } });
    const fit = remote.fit(scenes.x, scenes.y, { epochs: 1000, batchSize: 4 });
    await new Promise((r) => setTimeout(r, 100));
    w.terminate();
    const terminated = await fit.then(() => 'resolved', (e) => e.message);
    const later = await remote.predict(cnn.tensor(new Float32Array(32 * 32 * 3), [1, 32, 32, 3])).then(() => 'resolved', (e) => e.message);
    const missing = await worker.create({ url: new URL('./no-such-worker.js', location.href) }).then(() => 'resolved', (e) => `${e.name}: ${e.message}`);
    const thrower = URL.createObjectURL(new Blob(["throw new Error('bad start');"], { type: 'text/javascript' }));
    const throws = await worker.create({ url: thrower }).then(() => 'resolved', (e) => `${e.name}: ${e.message}`);
    return { preAbortedEpochs: pre.epoch.length, batches, terminated, later, missing, throws };
  },
};

document.body.dataset.state = 'ready';
