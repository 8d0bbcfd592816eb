/**
 * Browser test of the segmentation demo page (demos/segmentation/) in headless Chromium (see /work/shared/BROWSER.md):
 * the page loads the shipped SegNet and FCN (demos/models/*-shapes.wcnn) without console errors; on five generated
 * scenes (fixed seeds) the class map read back from the overlay canvas's pixels matches the expected mask — generated
 * here in Node with cnn.data.shapes, independently of the page — with a mean IoU above 0.8 for each model; a shape
 * drawn with the mouse and an image given through the file input and by drag-and-drop get segmented; a short
 * fine-tune (32 scenes, 1 epoch) runs in a cnn.worker, gives finite losses and the page answers a script within
 * 200 ms all along; without module workers the page fine-tunes on its own thread, with the same losses and score.
 * Issue 10's review: the form's defaults are valid, ink colours differ from class colours, tool buttons have names,
 * a busy notice goes once the page is ready, Stop before training leaves the model unchanged, the download size is
 * shown, and at 390×844 the legend entries do not overlap and nothing is wider than the screen.
 *
 *   node --test tests/browser/segmentation.test.js      (needs `bash build.sh` and the models in demos/models/)
 * Screenshot: build/screenshots/segmentation.png
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowserPage, openPage, waitForPageState, saveScreenshot } from './browser.js';
import { data } from '../../web/data/index.js';

const SEEDS = [3001, 3002, 3003, 3004, 3005]; // scenes no training run used (training: seed 1; held-out: 1001)
const MIN_MEAN_IOU = 0.8;
const VIEWPORT = { width: 1280, height: 1000 };
const MAX_LATENCY_MS = 200; // while fine-tuning; about 500 ms (one FCN batch) when it trained on the page's thread
let fcnHeldOut = null; // the shipped FCN's held-out score as the page shows it
let workerRun = null;  // { logs, heldOut } of the first FCN fine-tune (in a worker), for the run without workers

let page;
const workers = []; // the page's Web Workers: { url, closed }
const session = useBrowserPage({ viewport: VIEWPORT, screenshot: 'segmentation.png', workers: true,
  setup: (s) => {
    page = s.page;
    page.on('worker', (w) => {
      const entry = { url: w.url(), closed: false };
      workers.push(entry);
      w.on('close', () => { entry.closed = true; });
    });
  } });
const { problems, waitForState } = session; // console errors and page errors, checked by every test

/** Mean IoU over the classes present in either map, as the page and the library's meanIoU metric define it. */
function meanIoU(pred, truth, numClasses) {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    let tp = 0; let p = 0; let t = 0;
    for (let i = 0; i < truth.length; i++) {
      const a = pred[i] === c; const b = truth[i] === c;
      if (a) p++; if (b) t++; if (a && b) tp++;
    }
    if (p + t - tp > 0) { sum += tp / (p + t - tp); present++; }
  }
  return sum / present;
}

/**
 * The class of each pixel of the overlay canvas: the class whose colour, blended over the input pixel at the
 * page's opacity (cnn.browser.overlay's rule), gives the shown pixel; class 0 is transparent. Returns the classes and
 * the largest colour error of the best match (0–1 for a faithful overlay: rounding).
 */
function classesFromOverlay(input, shown, palette, alpha) {
  const n = input.length / 4;
  const classes = new Uint8Array(n);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let best = -1; let bestErr = Infinity;
    for (let c = 0; c < palette.length / 4; c++) {
      const w = (alpha * palette[4 * c + 3]) / 255;
      let err = 0;
      for (let k = 0; k < 3; k++) {
        err = Math.max(err, Math.abs(palette[4 * c + k] * w + input[4 * i + k] * (1 - w) - shown[4 * i + k]));
      }
      if (err < bestErr) { bestErr = err; best = c; }
    }
    classes[i] = best;
    worst = Math.max(worst, bestErr);
  }
  return { classes, worst };
}

/** Segments the SEEDS scenes in the page and scores the overlay's pixels against masks generated here. */
async function segmentScenes(arch) {
  const scores = [];
  for (const seed of SEEDS) {
    const r = await page.evaluate((s) => {
      const out = window.__seg.segmentScene(s);
      const pixels = (id) => {
        const c = document.getElementById(id);
        return { width: c.width, height: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
      };
      return { ...out, input: pixels('input'), overlay: pixels('overlay'), palette: window.__seg.palette,
        alpha: window.__seg.alpha(), shownIoU: document.getElementById('miou').textContent,
        time: document.getElementById('time').textContent };
    }, seed);
    const expected = data.shapes({ count: 1, size: 64, seed });
    assert.deepEqual(r.mask, Array.from(expected.masks), `scene ${seed}: the page's ground truth is cnn.data.shapes's mask`);
    assert.equal(r.overlay.width, 64);
    assert.equal(r.overlay.height, 64);
    const fromPixels = classesFromOverlay(r.input.data, r.overlay.data, r.palette, r.alpha);
    assert.ok(fromPixels.worst <= 1.01, `scene ${seed}: overlay pixels are a blend of the palette (error ${fromPixels.worst})`);
    let differ = 0;
    for (let i = 0; i < r.classes.length; i++) if (fromPixels.classes[i] !== r.classes[i]) differ++;
    // A pixel whose colour equals its class's palette colour cannot show its class; allow a handful of those.
    assert.ok(differ <= 8, `scene ${seed}: ${differ} overlay pixels disagree with the class map`);
    const iou = meanIoU(fromPixels.classes, expected.masks, expected.numClasses);
    assert.ok(Math.abs(iou - r.meanIoU) < 0.01, `scene ${seed}: page says mean IoU ${r.meanIoU}, overlay gives ${iou}`);
    assert.equal(r.shownIoU, r.meanIoU.toFixed(3));
    assert.match(r.time, /^\d+(\.\d)? ms$/);
    scores.push({ seed, iou, timeMs: r.timeMs, classes: fromPixels.classes, mask: expected.masks });
  }
  const mean = scores.reduce((s, v) => s + v.iou, 0) / scores.length;
  // For comparison with tools/train-segmentation.js's score: IoU over the pixels of all five scenes together.
  const pooled = meanIoU(scores.flatMap((s) => Array.from(s.classes)), scores.flatMap((s) => Array.from(s.mask)), 4);
  console.log(`# ${arch}: mean IoU ${mean.toFixed(3)} (pooled over the pixels: ${pooled.toFixed(3)}) over scenes ${scores.map((s) => `${s.seed}: ${s.iou.toFixed(3)}`).join(', ')}; ` +
    `segment ${scores.map((s) => s.timeMs.toFixed(1)).join(' / ')} ms; held-out ${await page.textContent('#heldout')}`);
  assert.deepEqual(problems, []);
  return mean;
}

/**
 * How long `p` takes to answer a script, sampled every 50 ms while it is busy (fine-tuning, then measuring on the
 * held-out scenes): [{ ms, progress }] with the progress line at the time; returns once it is no longer busy.
 */
async function latenciesWhileBusy(p) {
  const samples = [];
  for (;;) {
    const t0 = performance.now();
    const now = await p.evaluate(() => ({ state: document.body.dataset.state, progress: document.getElementById('progress').textContent }));
    const ms = performance.now() - t0;
    if (now.state !== 'busy') return samples;
    samples.push({ ms, progress: now.progress });
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the page loads the engine and the shipped SegNet', async () => {
  await page.goto(`${session.server.url}demos/segmentation/`);
  await waitForState('ready', 60_000);
  assert.equal(await page.evaluate(() => window.__seg.arch), 'segnet');
  assert.match(await page.textContent('#model-info'), /parameters · input 64×64×3 · download \d+ KB \(demos\/models\/segnet-shapes\.wcnn, uint8 weights, \d+ KB as float32\)/);
  const download = await page.evaluate(() => window.__seg.download);
  const file = await fetch(`${session.server.url}demos/models/segnet-shapes.wcnn`);
  assert.equal(download.bytes, Number(file.headers.get('content-length')));
  assert.equal(download.encoding, 'uint8');
  assert.equal(await page.isHidden('#load-meter'), true);
  assert.match(await page.textContent('#heldout'), /^0\.\d{3} on 100 scenes/);
  const legend = await page.$$eval('#legend li .name', (els) => els.map((e) => e.textContent));
  assert.deepEqual(legend, ['background', 'circle', 'rectangle', 'triangle']);
  assert.equal(await page.isEnabled('#new-scene'), true);
});

test(`SegNet: the overlay of 5 generated scenes matches the expected masks (mean IoU > ${MIN_MEAN_IOU})`, async () => {
  const mean = await segmentScenes('segnet');
  assert.ok(mean > MIN_MEAN_IOU, `SegNet mean IoU ${mean.toFixed(3)} should be > ${MIN_MEAN_IOU}`);
});

test(`FCN: the overlay of 5 generated scenes matches the expected masks (mean IoU > ${MIN_MEAN_IOU})`, async () => {
  await page.selectOption('#arch', 'fcn');
  await waitForState('ready', 60_000);
  assert.equal(await page.evaluate(() => window.__seg.arch), 'fcn');
  fcnHeldOut = await page.textContent('#heldout');
  const mean = await segmentScenes('fcn');
  assert.ok(mean > MIN_MEAN_IOU, `FCN mean IoU ${mean.toFixed(3)} should be > ${MIN_MEAN_IOU}`);
});

test('"New scene" shows the next seed with its ground truth', async () => {
  const seed = await page.evaluate(() => window.__seg.current.seed);
  await page.click('#new-scene');
  const now = await page.evaluate(() => window.__seg.current);
  assert.deepEqual(now, { kind: 'scene', seed: seed + 1, hasTruth: true });
  assert.equal(await page.inputValue('#seed'), String(seed + 1));
  assert.match(await page.textContent('#miou'), /^\d\.\d{3}$/);
  assert.equal(await page.isVisible('#truth'), true);
});

test('a shape drawn with the mouse is segmented (no ground truth)', async () => {
  await page.click('#clear');
  await page.click('button[data-tool=rectangle]');
  const box = await page.locator('#input').boundingBox();
  await page.mouse.move(box.x + 60, box.y + 70);
  await page.mouse.down();
  await page.mouse.move(box.x + 190, box.y + 170, { steps: 8 });
  await page.mouse.up();
  await page.waitForTimeout(100); // segmentation runs at the next animation frame
  const r = await page.evaluate(() => {
    const c = document.getElementById('overlay');
    const inp = document.getElementById('input');
    return { kind: window.__seg.current.kind, size: [c.width, c.height], inputSize: [inp.width, inp.height],
      miou: document.getElementById('miou').textContent, noTruth: !document.getElementById('no-truth').hidden };
  });
  assert.deepEqual(r, { kind: 'drawing', size: [256, 256], inputSize: [256, 256], miou: 'no ground truth', noTruth: true });
  assert.deepEqual(problems, []);
});

test('an image from the file input and one dropped on the canvas are segmented at their own size', async () => {
  // A 200×120 PNG made in the page: a yellow disc and a blue square on grey.
  const png = await page.evaluate(async () => {
    const c = new OffscreenCanvas(200, 120);
    const g = c.getContext('2d');
    g.fillStyle = '#777'; g.fillRect(0, 0, 200, 120);
    g.fillStyle = '#ffe119'; g.beginPath(); g.arc(55, 60, 35, 0, 2 * Math.PI); g.fill();
    g.fillStyle = '#4363d8'; g.fillRect(120, 25, 60, 60);
    const blob = await c.convertToBlob({ type: 'image/png' });
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  });
  await page.setInputFiles('#file', { name: 'shapes.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await page.waitForFunction(() => window.__seg.current?.kind === 'image', null, { timeout: 5_000 });
  assert.match(await page.textContent('#source'), /^shapes\.png, 200×120 pixels/);
  assert.deepEqual(await page.evaluate(() => [document.getElementById('overlay').width, document.getElementById('overlay').height]), [200, 120]);

  await page.click('#new-scene'); // something else first, so that the drop visibly replaces it
  await page.evaluate((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, png);
  await page.waitForFunction(() => window.__seg.current?.kind === 'image', null, { timeout: 5_000 });
  assert.match(await page.textContent('#source'), /^dropped\.png, 200×120 pixels/);
  assert.match(await page.textContent('#time'), /ms$/);
  assert.equal(await page.isHidden('#error'), true);
  assert.deepEqual(problems, []);
});

test('fine-tuning on 32 new scenes runs in a worker, gives finite losses and the page stays responsive', { timeout: 90_000 }, async () => {
  await page.fill('#tune-count', '32');
  await page.fill('#tune-epochs', '1');
  await page.fill('#tune-batch', '16');
  await page.click('#tune');
  await waitForState('busy', 5_000);
  assert.equal(await page.isEnabled('#stop'), true);
  // While it trains (and measures afterwards) the page answers a script quickly, again and again.
  const samples = await latenciesWhileBusy(page);
  await waitForState('ready', 80_000);
  const logs = await page.evaluate(() => window.__seg.tuneLogs);
  const progress = await page.textContent('#progress');
  const heldOut = await page.textContent('#heldout');
  const ms = samples.map((x) => x.ms).sort((a, b) => a - b);
  const training = samples.filter((x) => !x.progress.startsWith('Fine-tuned')).length;
  console.log(`# fine-tune: ${progress} held-out ${heldOut}; page answered ${samples.length} times while busy ` +
    `(${training} while training) in at most ${ms.at(-1)?.toFixed(0)} ms (median ${ms[ms.length >> 1]?.toFixed(0)} ms)`);
  assert.ok(training >= 3, `only ${training} latency samples while training: ${JSON.stringify(samples)}`);
  assert.ok(ms.at(-1) < MAX_LATENCY_MS, `the page took ${ms.at(-1).toFixed(0)} ms to answer while fine-tuning ` +
    `(at most ${MAX_LATENCY_MS} expected): ${JSON.stringify(samples)}`);
  assert.equal(await page.evaluate(() => window.__seg.tunedIn), 'worker');
  const tuneWorkers = workers.filter((w) => w.url.endsWith('/web/worker/worker.js'));
  assert.equal(tuneWorkers.length, 1, `one cnn.worker expected: ${JSON.stringify(workers)}`);
  // 'close' reaches us after the worker's own workers (the threaded engine's) have ended too: give it a moment.
  for (let i = 0; i < 100 && !tuneWorkers[0].closed; i++) await page.waitForTimeout(50);
  assert.equal(tuneWorkers[0].closed, true, 'the worker is terminated once the trained model is back');
  assert.equal(logs.length, 2);
  for (const l of logs) {
    assert.ok(Number.isFinite(l.loss) && l.loss >= 0, `batch loss ${l.loss} should be finite`);
    assert.ok(l.meanIoU >= 0 && l.meanIoU <= 1, `batch mean IoU ${l.meanIoU}`);
  }
  assert.match(progress, /^Fine-tuned after 2 of 2 batches \(32 scenes\) in [\d.]+ s in a worker/);
  assert.match(await page.textContent('#model-info'), /fine-tuned in this page/);
  assert.match(heldOut, /was 0\.\d{3} before fine-tuning/);
  workerRun = { logs, heldOut };

  // "Reset to shipped weights" brings back the shipped model and its score.
  await page.click('#reset');
  await waitForState('ready', 30_000);
  assert.equal(await page.textContent('#heldout'), fcnHeldOut);
  assert.equal(await page.textContent('#progress'), 'Not fine-tuned yet.');

  // Stop ends a longer run after the batch in progress.
  await page.fill('#tune-count', '640');
  await page.click('#tune');
  await page.waitForFunction(() => /batch \d+\/40/.test(document.getElementById('progress').textContent), null,
    { timeout: 20_000 });
  await page.click('#stop');
  await waitForState('ready', 30_000);
  const stopped = await page.textContent('#progress');
  console.log(`# stopped: ${stopped}`);
  assert.match(stopped, /^Stopped after \d+ of 40 batches/);
  assert.ok(Number(stopped.match(/after (\d+) of/)[1]) < 40);

  // Segmenting still works on the fine-tuned model (and leaves the screenshot showing a scene).
  const r = await page.evaluate(() => window.__seg.segmentScene(3001));
  assert.ok(r.meanIoU >= 0 && r.meanIoU <= 1);
  assert.deepEqual(problems, []);
});

/**
 * Another page of the demo in the same browser, with its own `problems` (console and page errors, the workers' too),
 * loaded up to 'ready' after `init` (a function for page.addInitScript) ran; close it when done.
 */
async function openDemo(init) {
  const problems = [];
  const p = await openPage(session.browser, { viewport: VIEWPORT, problems, workers: true });
  const waitFor = (state) => waitForPageState(p, problems, state, 60_000);
  if (init) await p.addInitScript(init);
  await p.goto(`${session.server.url}demos/segmentation/`);
  await waitFor('ready');
  return { p, problems, waitFor };
}

test('a worker that dies while fine-tuning is shown as an error; the page recovers by picking a model', { timeout: 60_000 }, async () => {
  const { p, problems, waitFor } = await openDemo();
  try {
    await p.fill('#tune-count', '640');
    await p.click('#tune');
    await p.waitForFunction(() => /batch \d+\/40/.test(document.getElementById('progress').textContent), null, { timeout: 30_000 });
    await p.evaluate(() => window.__seg.tuneWorker.terminate()); // as if it crashed
    await p.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: 10_000 });
    const shown = await p.textContent('#error');
    assert.match(shown, /^Error: fit: the wasm-cnn worker was terminated/);
    assert.equal(await p.isEnabled('#arch'), true);
    assert.equal(problems.length, 1, problems.join('\n')); // the page logs the error it shows, and nothing else
    assert.ok(problems[0].startsWith(`console error: ${shown.slice('Error: '.length)}`) || problems[0].includes(shown.slice(7, 40)), problems[0]);
    problems.length = 0;
    await p.selectOption('#arch', 'fcn');
    await waitFor('ready');
    assert.equal(await p.isHidden('#error'), true);
  } finally {
    await p.close();
  }
});

test('Stop before training starts, or while the worker hangs loading its engine, leaves the model unchanged', { timeout: 60_000 }, async () => {
  const { p, problems, waitFor } = await openDemo();
  try {
    const before = await p.textContent('#heldout');
    const info = await p.textContent('#model-info');
    // Stop in the same task as the start: the abort happens before the worker has been told anything.
    const r = await p.evaluate(async () => {
      const running = window.__seg.fineTune({ count: 640 });
      window.__seg.stop();
      const out = await running;
      return { stopped: out.stopped, batches: out.batches, total: out.total };
    });
    assert.deepEqual(r, { stopped: true, batches: 0, total: 40 });
    assert.equal(await p.textContent('#progress'), 'Stopped before training started: the model is unchanged.');
    assert.equal(await p.textContent('#model-info'), info, 'not reported as fine-tuned');
    // A worker that never gets its engine (the requests for both builds hang) is left behind by Stop too.
    await p.route('**/dist/wasm-cnn*.wasm', () => {}); // never answered
    await p.fill('#tune-count', '32');
    await p.click('#tune');
    await waitFor('busy');
    await p.waitForTimeout(300);
    await p.click('#stop');
    await waitFor('ready');
    assert.equal(await p.textContent('#progress'), 'Stopped before training started: the model is unchanged.');
    assert.equal(await p.textContent('#heldout'), before);
    assert.equal(await p.textContent('#model-info'), info);
    assert.deepEqual(problems, []);
  } finally {
    await p.close();
  }
});

test('the form\'s defaults are valid; tool buttons have names; ink colours are not class colours', async () => {
  const { p } = await openDemo();
  try {
    const r = await p.evaluate(() => ({
      valid: document.getElementById('tune-form').checkValidity(),
      count: document.getElementById('tune-count').value,
      tools: [...document.querySelectorAll('#tools button')].map((b) => b.getAttribute('aria-label')),
      inks: [...document.querySelectorAll('#colours button')].map((b) => [b.getAttribute('aria-label'), getComputedStyle(b).backgroundColor]),
      palette: window.__seg.palette,
    }));
    assert.equal(r.valid, true);
    assert.equal(Number(r.count) % 16, 0);
    assert.deepEqual(r.tools, ['Circle', 'Rectangle', 'Triangle', 'Brush']);
    for (const [label, css] of r.inks) {
      assert.match(label, /^\w+ ink$/);
      const rgb = css.match(/\d+/g).map(Number);
      for (let c = 1; c < r.palette.length / 4; c++) {
        const d = Math.hypot(...[0, 1, 2].map((k) => rgb[k] - r.palette[4 * c + k]));
        assert.ok(d > 100, `${label} ${css} is close to class ${c}'s colour (distance ${d.toFixed(0)})`);
      }
    }
  } finally {
    await p.close();
  }
});

test('a "wait until ready" notice while fine-tuning goes once the page is ready again', { timeout: 60_000 }, async () => {
  const { p, problems, waitFor } = await openDemo();
  try {
    await p.fill('#tune-count', '16');
    await p.click('#tune');
    await waitFor('busy');
    await p.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(4)], 'x.png', { type: 'image/png' }));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    assert.match(await p.textContent('#error'), /wait until the page is ready \(it is busy\)/);
    await waitFor('ready');
    assert.equal(await p.isHidden('#error'), true);
    assert.deepEqual(problems, []);
  } finally {
    await p.close();
  }
});

test('at 390×844 the legend entries do not overlap and nothing is wider than the screen', async () => {
  const problems = [];
  const p = await openPage(session.browser, { viewport: { width: 390, height: 844 }, problems, workers: true });
  try {
    await p.goto(`${session.server.url}demos/segmentation/`);
    await waitForPageState(p, problems, 'ready', 60_000);
    const r = await p.evaluate(() => {
      const boxes = [...document.querySelectorAll('#legend li > *')].map((e) => e.getBoundingClientRect());
      let overlaps = 0;
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]; const b = boxes[j];
          if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps++;
        }
      }
      const right = Math.max(...[...document.querySelectorAll('.panel, canvas, #legend')].map((e) => e.getBoundingClientRect().right));
      return { overlaps, right, scrollWidth: document.documentElement.scrollWidth };
    });
    assert.equal(r.overlaps, 0);
    assert.ok(r.scrollWidth <= 390 && r.right <= 390, JSON.stringify(r));
    await saveScreenshot(p, 'segmentation-phone.png');
  } finally {
    await p.close();
  }
});

test('without module workers the page fine-tunes on its own thread, with the same losses and score', { timeout: 90_000 }, async () => {
  // A browser without module workers runs the script as a classic one, which fails at its first `import`.
  const { p, waitFor } = await openDemo(() => {
    const ModuleWorker = window.Worker;
    window.Worker = function ClassicWorker(url) { return new ModuleWorker(url); };
  });
  try {
    await p.selectOption('#arch', 'fcn');
    await waitFor('ready');
    // The same run as the first fine-tune in a worker above (same options, the page's first run: same seeds).
    await p.fill('#tune-count', '32');
    await p.click('#tune');
    await waitFor('ready');
    assert.equal(await p.evaluate(() => window.__seg.tunedIn), 'page');
    assert.match(await p.textContent('#progress'), /^Fine-tuned after 2 of 2 batches \(32 scenes\) in [\d.]+ s in the page/);
    const logs = await p.evaluate(() => window.__seg.tuneLogs);
    if (workerRun) {
      assert.deepEqual(logs, workerRun.logs, 'the same losses and metrics per batch as in the worker');
      assert.equal(await p.textContent('#heldout'), workerRun.heldOut);
    }

    // No Worker at all: the constructor throws, and the page trains on its own thread too.
    await p.evaluate(() => { delete window.Worker; });
    await p.fill('#tune-count', '16');
    await p.click('#tune');
    await waitFor('ready');
    assert.equal(await p.evaluate(() => window.__seg.tunedIn), 'page');
    assert.match(await p.textContent('#progress'), /^Fine-tuned after 1 of 1 batches \(16 scenes\)/);
  } finally {
    await p.close();
  }
});
