/**
 * The threaded engine in headless Chromium, on tests/browser/pages/threads.html (served by demos/serve.js with
 * COOP/COEP, so the page is cross-origin isolated): with ?threads=2 (and by default on 3+ cores) it runs
 * dist/wasm-cnn-mt.wasm, and training gives the bits Node's single-threaded build gives. The same
 * page with those headers stripped (not isolated: no SharedArrayBuffer) falls back to one thread, says why, and still
 * gives the same bits.
 *
 *   node --test tests/browser/threads.test.js      (needs `bash build.sh` first)
 * Screenshot: build/screenshots/threads.png
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { trainThreadsNet } from '../js/threads-net.js';
import { useBrowserPage, openPage, waitForPageState } from './browser.js';

let node; // Node, single-threaded build
const session = useBrowserPage({
  viewport: { width: 900, height: 700 },
  screenshot: 'threads.png',
  workers: true,
  setup: async () => {
    await cnn.ready({ threads: 1 });
    node = await trainThreadsNet(cnn);
  },
});
const { problems } = session;

async function runPage(page, query, pageProblems) {
  await page.goto(`${session.server.url}tests/browser/pages/threads.html${query}`);
  await waitForPageState(page, pageProblems, 'done', 60_000);
  return page.evaluate(() => window.__result);
}

test('an isolated page runs 2 threads and trains to the bits of Node\'s single-threaded build', async () => {
  const r = await runPage(session.page, '?threads=2', problems);
  assert.equal(r.crossOriginIsolated, true);
  assert.deepEqual(r.engine, { simd: true, threads: 2, build: 'wasm-cnn-mt.wasm', reason: '' });
  assert.deepEqual(r.losses, node.losses);
  assert.deepEqual(r.weights, node.weights);
});

test('by default an isolated page runs on every core the browser reports, at most 8', async () => {
  const r = await runPage(session.page, '', problems);
  const expected = Math.min(r.hardwareConcurrency, 8);
  assert.equal(r.engine.threads, expected);
  assert.equal(r.engine.build, expected > 1 ? 'wasm-cnn-mt.wasm' : 'wasm-cnn.wasm');
  if (expected === 1) assert.match(r.engine.reason, /^the platform reports 1 logical core: one thread$/);
  assert.deepEqual(r.losses, node.losses);
});

test('a page that is not cross-origin isolated falls back to one thread and says why', async () => {
  const pageProblems = [];
  const page = await openPage(session.browser, { viewport: { width: 900, height: 700 }, problems: pageProblems });
  // The same server, minus the isolation headers.
  await page.route('**/*', async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response, headers });
  });
  try {
    const r = await runPage(page, '?threads=2', pageProblems);
    assert.equal(r.crossOriginIsolated, false);
    assert.equal(r.engine.threads, 1);
    assert.equal(r.engine.build, 'wasm-cnn.wasm');
    assert.match(r.engine.reason, /not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    assert.deepEqual(r.losses, node.losses);
    assert.deepEqual(r.weights, node.weights);
  } finally {
    await page.close();
  }
});
