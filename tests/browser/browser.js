/**
 * Shared set-up of the browser tests (see /work/shared/BROWSER.md): headless Chromium through playwright-core with
 * the flags that keep it off the network, the repository served from 127.0.0.1 by demos/serve.js, a page that records
 * console errors, page errors and failed requests, and a screenshot under build/screenshots/ for a reviewer.
 *
 *   let page;
 *   const session = useBrowserPage({ viewport: { width: 1280, height: 900 }, screenshot: 'mnist.png',
 *     setup: (s) => { page = s.page; } });
 *   const { problems, waitForState } = session;      // session.page and session.server are set in before()
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../demos/serve.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = join(ROOT, 'build', 'screenshots');

/** Debian's Chromium; without the background-networking flags it keeps trying to reach the internet. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/** demos/serve.js on a free port of 127.0.0.1: { url, close }. */
export function startPageServer() {
  return startServer({ port: 0, quiet: true });
}

/**
 * A new page whose console errors, page errors and failed requests are pushed (as text) onto `problems`; with
 * `workers`, console errors of the page's Web Workers too.
 */
export async function openPage(browser, { viewport, problems, workers = false }) {
  const page = await browser.newPage({ viewport });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  if (workers) {
    page.on('worker', (worker) => worker.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`worker console error: ${msg.text()}`);
    }));
  }
  return page;
}

/** A full-page screenshot as build/screenshots/<name>; logs its path. */
export async function saveScreenshot(page, name) {
  const path = join(SCREENSHOT_DIR, name);
  await mkdir(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
  return path;
}

/**
 * Waits until the page's document.body.dataset.state is `state` (one name or a list) or 'error', fails with the
 * page's own error message (#error) on 'error', checks that nothing was recorded in `problems`, and returns the state.
 */
export async function waitForPageState(page, problems, state, timeout) {
  const states = Array.isArray(state) ? state : [state];
  await page.waitForFunction((s) => ['error', ...s].includes(document.body.dataset.state), states, { timeout });
  const now = await page.evaluate(() => document.body.dataset.state);
  if (now === 'error') assert.fail(`page error: ${await page.textContent('#error')}`);
  assert.deepEqual(problems, []);
  return now;
}

/**
 * Registers before() / after() hooks for one page in one browser: before starts the server, launches Chromium, opens
 * the page (openPage) and then runs `setup(session)` (the test file's own set-up: keep it there, as Node 20 does not
 * wait for one top-level before() hook to finish before it starts the next); after saves the screenshot `screenshot`
 * — there, so that a reviewer gets a picture of the page even when a test failed — and closes the browser and the
 * server. Returns the session: { server, browser, page } (set by before), `problems` (console errors and page errors,
 * for every test to check) and waitForState(state, timeout) (waitForPageState on this page).
 */
export function useBrowserPage({ viewport, screenshot, workers = false, setup }) {
  const session = {
    server: null,
    browser: null,
    page: null,
    problems: [],
    waitForState: (state, timeout) => waitForPageState(session.page, session.problems, state, timeout),
  };
  before(async () => {
    session.server = await startPageServer();
    session.browser = await launchBrowser();
    session.page = await openPage(session.browser, { viewport, problems: session.problems, workers });
    await setup?.(session);
  });
  after(async () => {
    if (session.page) await saveScreenshot(session.page, screenshot);
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}
