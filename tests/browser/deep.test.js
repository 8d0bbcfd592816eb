/**
 * Browser test of the gradient-flow demo page (demos/deep/) in headless Chromium (see /work/shared/BROWSER.md): the
 * page waits for its button, then trains the plain, batch-norm and ResNet nets in a cnn.worker for a few steps each
 * without console errors, draws the live chart, and its summary shows vanishing gradients in the plain net only: its
 * first/last conv-layer gradient ratio is at least 10× smaller than the batch-norm net's and the ResNet's. Stop ends a
 * run part-way; the chart keeps its aspect on narrow screens.
 *
 *   node --test tests/browser/deep.test.js      (needs `bash build.sh` first)
 * Screenshot: build/screenshots/deep.png
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowserPage } from './browser.js';

const STEPS = 30;
const TRAIN_TIMEOUT_MS = 80_000;

let page;
const session = useBrowserPage({ viewport: { width: 1200, height: 1000 }, screenshot: 'deep.png',
  setup: (s) => { page = s.page; } });
const { problems, waitForState } = session; // console errors and page errors

test(`the page trains the three nets (${STEPS} steps each) and the plain net's gradients vanish`,
  { timeout: TRAIN_TIMEOUT_MS + 20_000 }, async () => {
    const t0 = Date.now();
    await page.goto(`${session.server.url}demos/deep/?steps=${STEPS}`);
    // It waits for the button once loaded.
    await waitForState('ready', 30_000);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', 'no training before Train is pressed');
    assert.equal(await page.isDisabled('#stop'), true);
    await page.click('#train');
    await waitForState(['training', 'done'], 30_000);

    // The chart updates while training: the status names a step in progress.
    await page.waitForFunction(() => /step \d+\/\d+/.test(document.getElementById('status').textContent), null,
      { timeout: 30_000 });

    assert.equal(await page.isEnabled('#stop'), true);
    assert.equal(await page.isVisible('#meter'), true, 'a progress bar while training');
    await waitForState(['done'], TRAIN_TIMEOUT_MS);
    assert.equal(await page.evaluate(() => window.__deep.trainedIn), 'worker');
    assert.equal(await page.isHidden('#meter'), true);
    assert.match(await page.textContent('#summary'), /Decades: orders of magnitude, the base-10 logarithm/);
    const seconds = (Date.now() - t0) / 1000;
    const summary = await page.evaluate(() => window.__deep.summary);
    const shown = await page.$$eval('#summary tr[data-net]', (rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.net, Number(r.dataset.ratio)])));
    for (const [key, s] of Object.entries(summary)) {
      console.log(`# ${key.padEnd(6)} first/last gradient ${s.ratio.toExponential(2)} · loss first 10 ` +
        `${s.lossFirst10.toFixed(3)} → last 10 ${s.lossLast10.toFixed(3)} · held-out ${(s.testAccuracy * 100).toFixed(1)}% ` +
        `· ${s.seconds.toFixed(1)} s`);
    }
    console.log(`# page done in ${seconds.toFixed(1)} s; verdict: ${await page.textContent('#verdict')}`);

    assert.deepEqual(Object.keys(summary).sort(), ['bn', 'plain', 'resnet']);
    for (const [key, s] of Object.entries(summary)) {
      assert.ok(s.normsComplete, `${key}: history.gradientNorms should have every layer with weights`);
      assert.equal(s.profile.length, 19, `${key}: one gradient norm per conv layer`);
      assert.ok(s.profile.every((v) => Number.isFinite(v) && v >= 0), `${key}: finite gradient norms`);
      assert.equal(shown[key], s.ratio, `${key}: #summary shows the ratio`);
    }
    const { plain, bn, resnet } = summary;
    assert.ok(plain.ratio * 10 <= bn.ratio, `plain ratio ${plain.ratio} should be >= 10x smaller than bn's ${bn.ratio}`);
    assert.ok(plain.ratio * 10 <= resnet.ratio,
      `plain ratio ${plain.ratio} should be >= 10x smaller than resnet's ${resnet.ratio}`);
    assert.match(await page.textContent('#verdict'), /plain net's first conv layer/);

    // The canvas has been drawn on: the three net colours appear in it.
    const colours = await page.evaluate(() => {
      const c = document.getElementById('chart');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const want = { plain: [0xd6, 0x27, 0x28], bn: [0x1f, 0x77, 0xb4], resnet: [0x2c, 0xa0, 0x2c] };
      const found = {};
      for (const [k, [r, g, b]] of Object.entries(want)) {
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - g) < 8 && Math.abs(d[i + 2] - b) < 8) n++;
        }
        found[k] = n;
      }
      return found;
    });
    console.log(`# chart pixels per net colour: ${JSON.stringify(colours)}`);
    for (const [k, n] of Object.entries(colours)) assert.ok(n > 200, `chart should show the ${k} net's lines`);
    assert.deepEqual(problems, []);
  });

test('Stop ends a run part-way; the chart keeps its aspect at 700 px and 390 px', { timeout: 60_000 }, async () => {
  await page.fill('#steps', '200');
  await page.click('#train');
  await page.waitForFunction(() => /Training plain .* step ([3-9]|\d\d+)\//.test(document.getElementById('status').textContent),
    null, { timeout: 30_000 });
  await page.click('#stop');
  await waitForState('stopped', 10_000);
  const status = await page.textContent('#status');
  console.log(`# ${status}`);
  assert.match(status, /^Stopped during plain after \d+ of 200 steps\.$/);
  assert.deepEqual(await page.evaluate(() => Object.keys(window.__deep.summary)), []);
  assert.equal(await page.isEnabled('#train'), true);
  for (const width of [700, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(100);
    const box = await page.evaluate(() => {
      const r = document.getElementById('chart').getBoundingClientRect();
      return { w: r.width, h: r.height, scroll: document.documentElement.scrollWidth };
    });
    console.log(`# chart at ${width} px: ${box.w.toFixed(0)}×${box.h.toFixed(0)}`);
    assert.ok(box.scroll <= width, `page ${box.scroll} px wide at ${width}`);
    assert.ok(Math.abs(box.h / box.w - 0.62) < 0.02, `chart aspect ${box.h / box.w}`);
  }
  await page.setViewportSize({ width: 1200, height: 1000 });
  assert.deepEqual(problems, []);
});
