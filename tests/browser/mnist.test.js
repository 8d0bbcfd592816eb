/**
 * Browser test of the MNIST demo page in headless Chromium (see /work/shared/BROWSER.md): the page loads without
 * console errors, trains LeNet-5 for one epoch on 8,000 digits to > 90 % held-out accuracy, classifies a digit drawn
 * with the mouse, and a model saved in the page loads back with bit-identical predictions. The page stays responsive
 * while it trains. Before training, a drawing gets a "train first" hint; a wrong model file (not a model, or a
 * segmentation model) is refused in words and the trained model stays; the prediction is announced (aria-live); at
 * 390×844 nothing overflows the screen.
 *
 *   node --test tests/browser/mnist.test.js      (needs `bash build.sh` first)
 * Screenshot: build/screenshots/mnist.png
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowserPage } from './browser.js';

const TRAIN_TIMEOUT_MS = 150_000;

let page;
const session = useBrowserPage({ viewport: { width: 1280, height: 900 }, screenshot: 'mnist.png',
  setup: (s) => { page = s.page; } });
const { problems, waitForState } = session; // console errors and page errors, checked by every test

/** Draws a "7" on the pad with the mouse: a top bar, then a diagonal down (pad coordinates, 280×280). */
async function drawSeven() {
  const box = await page.locator('#pad').boundingBox();
  const k = box.width / 280;
  const stroke = [[80, 70], [200, 70], [150, 220]];
  await page.mouse.move(box.x + stroke[0][0] * k, box.y + stroke[0][1] * k);
  await page.mouse.down();
  for (const [x, y] of stroke.slice(1)) await page.mouse.move(box.x + x * k, box.y + y * k, { steps: 12 });
  await page.mouse.up();
}

test('the page loads the engine and the digits; a drawing before training gets a "train first" hint', async () => {
  await page.goto(`${session.server.url}demos/mnist/`);
  await waitForState('ready', 30_000);
  assert.equal(await page.isEnabled('#train'), true);
  assert.match(await page.getAttribute('#load', 'accept'), /\.wcnn/);
  assert.equal(await page.isHidden('#meter'), true, 'no progress bar once loaded');
  await drawSeven();
  await page.waitForFunction(() => !document.getElementById('hint').hidden, null, { timeout: 5_000 });
  assert.match(await page.textContent('#hint'), /^Train the model first/);
  assert.equal(await page.textContent('#prediction'), '?');
  assert.match(await page.textContent('#announce'), /^Train the model first/);
  await page.click('#clear');
});

test('training one epoch reaches > 90% held-out accuracy', { timeout: TRAIN_TIMEOUT_MS + 10_000 }, async () => {
  await page.fill('#epochs', '1');
  await page.fill('#batch-size', '64');
  const t0 = Date.now();
  await page.click('#train');
  await waitForState('training', 5_000);

  // Responsive while training: the status shows a batch in progress, and the page answers a script quickly.
  await page.waitForFunction(() => /batch \d+\/125/.test(document.getElementById('status').textContent), null,
    { timeout: 30_000 });
  assert.equal(await page.isVisible('#meter'), true, 'a progress bar while training');
  assert.ok(await page.evaluate(() => document.getElementById('meter').value > 0));
  const t1 = Date.now();
  const midState = await page.evaluate(() => document.body.dataset.state);
  const latency = Date.now() - t1;
  if (midState === 'training') assert.ok(latency < 1000, `page took ${latency} ms to answer while training`);

  await waitForState('trained', TRAIN_TIMEOUT_MS);
  const text = (await page.textContent('#test-accuracy')).trim();
  const accuracy = parseFloat(text);
  console.log(`# held-out accuracy ${text} after ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
    `(${await page.textContent('#status')}); page answered in ${latency} ms while training`);
  assert.match(text, /^\d+(\.\d+)?%$/);
  assert.ok(accuracy > 90, `held-out accuracy ${text} should be > 90%`);

  // The loss went down: mean of the last 20 batches well below the first 20.
  const losses = await page.evaluate(() => window.__demo.batchLogs.map((l) => l.loss));
  assert.equal(losses.length, 125);
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  const [first, last] = [mean(losses.slice(0, 20)), mean(losses.slice(-20))];
  console.log(`# mean batch loss: first 20 ${first.toFixed(3)}, last 20 ${last.toFixed(3)}`);
  assert.ok(last < first / 2, `loss should fall: first 20 batches ${first}, last 20 ${last}`);
});

test('a digit drawn with the mouse gets a prediction', async () => {
  await drawSeven();
  assert.equal(await page.isHidden('#hint'), true);
  await page.waitForFunction(() => /^[0-9]$/.test(document.getElementById('prediction').textContent), null,
    { timeout: 5_000 });
  const digit = await page.textContent('#prediction');
  const bars = await page.$$eval('#bars .bar .pct', (els) => els.map((e) => e.textContent));
  console.log(`# drew a 7, predicted ${digit}; bars ${bars.join(' ')}`);
  assert.equal(bars.length, 10);
  // Training is seeded, so this is deterministic; a clean 7 is an easy case for a 90 % model.
  assert.equal(digit, '7');
  assert.match(await page.textContent('#announce'), /^Prediction: 7, \d+% sure$/);
  assert.equal(await page.getAttribute('#announce', 'aria-live'), 'polite');
  assert.deepEqual(problems, []);
});

test('a wrong model file is refused in words and the trained model stays', async () => {
  const before = await page.evaluateHandle(() => window.__demo.model);
  const accuracy = await page.textContent('#test-accuracy');
  await page.setInputFiles('#load', { name: 'notes.wcnn', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model at all') });
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, { timeout: 5_000 });
  assert.match(await page.textContent('#error'), /^Error: notes\.wcnn is not a model this page can read: /);
  const segnet = await (await fetch(`${session.server.url}demos/models/segnet-mnist.wcnn`)).arrayBuffer();
  await page.setInputFiles('#load', { name: 'segnet-mnist.wcnn', mimeType: 'application/octet-stream', buffer: Buffer.from(segnet) });
  await page.waitForFunction(() => /segmentation model/.test(document.getElementById('error').textContent), null, { timeout: 5_000 });
  assert.match(await page.textContent('#error'),
    /^Error: segnet-mnist\.wcnn is a segmentation model \(input 64×64×1, a class per pixel: 64×64×11\); this page needs a digit classifier/);
  // Nothing changed: same model, same state, drawing still predicts.
  assert.equal(await page.evaluate((m) => window.__demo.model === m && !m.isDisposed, before), true);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'trained');
  assert.equal(await page.textContent('#test-accuracy'), accuracy);
  await page.click('#clear');
  await drawSeven();
  await page.waitForFunction(() => /^[0-9]$/.test(document.getElementById('prediction').textContent), null, { timeout: 5_000 });
  // A model saved by the page loads (and clears the error).
  const saved = await page.evaluate(() => Array.from(window.__demo.model.save()));
  await page.setInputFiles('#load', { name: 'lenet5-mnist.wcnn', mimeType: 'application/octet-stream', buffer: Buffer.from(saved) });
  await page.waitForFunction(() => /^Loaded lenet5-mnist\.wcnn\. Now draw/.test(document.getElementById('status').textContent), null, { timeout: 10_000 });
  assert.equal(await page.isHidden('#error'), true);
  assert.equal(await page.textContent('#test-accuracy'), accuracy);
  assert.deepEqual(problems, []);
});

test('save / loadModel round trip in the page gives bit-identical predictions', async () => {
  const result = await page.evaluate(async () => {
    const { cnn, model, data } = window.__demo;
    const before = cnn.memory();
    const bytes = model.save();
    const loaded = await cnn.loadModel(bytes);
    const n = 100;
    const x = cnn.tensor(data.test.images.slice(0, n * 784), [n, 28, 28, 1]);
    const a = model.predict(x), b = loaded.predict(x);
    const [ua, ub] = [new Uint32Array(a.dataSync().buffer), new Uint32Array(b.dataSync().buffer)];
    let differ = 0;
    for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) differ++;
    const out = { bytes: bytes.length, isUint8Array: bytes instanceof Uint8Array, shape: a.shape, values: ua.length,
      differ };
    for (const t of [x, a, b]) t.dispose();
    loaded.dispose();
    const after = cnn.memory();
    out.leaked = { tensors: after.numTensors - before.numTensors, models: after.numModels - before.numModels };
    return out;
  });
  console.log(`# saved model: ${result.bytes} bytes; ${result.values} outputs compared`);
  assert.equal(result.isUint8Array, true);
  assert.deepEqual(result.shape, [100, 10]);
  assert.equal(result.differ, 0, `${result.differ} of ${result.values} outputs differ after save/load`);
  assert.deepEqual(result.leaked, { tensors: 0, models: 0 });
  assert.deepEqual(problems, []);
});

test('on a 390×844 phone screen nothing is wider than the screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const r = await page.evaluate(() => {
    const widest = [...document.querySelectorAll('.panel, #pad, .draw-row, #bars')]
      .map((e) => ({ id: e.id || e.className, right: Math.round(e.getBoundingClientRect().right) }))
      .sort((a, b) => b.right - a.right)[0];
    return { scrollWidth: document.documentElement.scrollWidth, widest };
  });
  console.log(`# at 390 px: scrollWidth ${r.scrollWidth}, widest ${JSON.stringify(r.widest)}`);
  assert.ok(r.scrollWidth <= 390, `the page is ${r.scrollWidth} px wide in a 390 px screen`);
  assert.ok(r.widest.right <= 390, `${r.widest.id} ends at ${r.widest.right} px`);
  await page.setViewportSize({ width: 1280, height: 900 });
});
