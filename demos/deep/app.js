/**
 * Gradient-flow demo page: trains the plain, batch-norm and ResNet nets of demos/deep/nets.js one after another on the
 * same MNIST digits and draws, live, the gradient norm per conv layer and the loss curves (demos/deep/chart.js).
 *
 * The nets train in a cnn.worker (built here as descriptions, trained there with recordGradientNorms), so the page
 * keeps answering and Stop ends a run within one batch; where no worker starts, they train on the page's thread.
 *
 * URL parameters: ?steps=N (per net, default 100), ?test=N (held-out digits, default 1000), ?seed=S (default 1),
 * ?autostart=1 (start once loaded instead of waiting for the button).
 * document.body.dataset.state: 'loading' → 'ready' → 'training' → 'done' | 'stopped' (or 'error' at any point).
 * window.__deep exposes { cnn, results, summary, trainedIn ('worker' | 'page'), stop() } for tests and the console;
 * summary[net] = { ratio, decades, lossFirst10, lossLast10, testAccuracy, testLoss, normsComplete, seconds }.
 */
import * as cnn from '../../web/index.js';
import { loadMnist, splitMnist } from '../../recipes/mnist.js';
import { NETS, CONV_LAYERS, BATCH_SIZE, LEARNING_RATE, trainNet, describeNets } from './nets.js';
import { layoutChart, drawCanvas, formatNumber } from './chart.js';

const $ = (id) => document.getElementById(id);
const ui = { form: $('form'), steps: $('steps'), train: $('train'), stop: $('stop'), status: $('status'),
  meter: $('meter'), chart: $('chart'), summary: $('summary'), error: $('error') };
const params = new URLSearchParams(location.search);
const intParam = (name, fallback, min, max) => {
  const v = Number(params.get(name) ?? fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`?${name} must be an integer in ${min}..${max}`);
  return v;
};

const CHART = { width: 1100, height: 500, minWidth: 720 }; // laid out at the canvas's width, at least minWidth
const descriptions = describeNets();
let data = null;
let series = [];
let totalSteps = 100;
const state = { results: [], summary: {}, trainedIn: null };
let abort = null;
window.__deep = { cnn, get results() { return state.results; }, get summary() { return state.summary; },
  get trainedIn() { return state.trainedIn; }, stop: () => abort?.abort() };

function setState(s) { document.body.dataset.state = s; }

function fail(err) {
  console.error(err);
  ui.error.textContent = `Error: ${err?.message ?? err}`;
  ui.error.hidden = false;
  ui.train.disabled = false;
  ui.stop.disabled = true;
  ui.meter.hidden = true;
  abort?.abort();
  setState('error');
}
window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));

function resetSeries() {
  series = NETS.map((net) => ({ key: net.key, label: descriptions[net.key], color: net.color, gradient: [], losses: [] }));
}

/**
 * Draws the chart at the canvas's CSS width (at least CHART.minWidth, scaled down below that) with the layout's
 * aspect, so that it never squashes: the height follows the width.
 */
function draw() {
  const dpr = window.devicePixelRatio || 1;
  const canvas = ui.chart;
  const cssWidth = canvas.clientWidth || CHART.width;
  const width = Math.max(CHART.minWidth, Math.round(cssWidth));
  const height = Math.round(width < 900 ? width * 0.62 : CHART.height); // room for the legend on narrow layouts
  const scale = (dpr * cssWidth) / width;
  canvas.style.height = `${Math.round((cssWidth * height) / width)}px`;
  if (canvas.width !== Math.round(width * scale) || canvas.height !== Math.round(height * scale)) {
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
  }
  const chart = layoutChart({
    title: `Gradient flow in ${CONV_LAYERS + 1}-layer nets on MNIST (${totalSteps} steps of ${BATCH_SIZE}, ` +
      `SGD momentum, lr ${LEARNING_RATE})`,
    series, totalSteps, depth: CONV_LAYERS,
    note: 'Gradient: running mean over the steps so far of ‖g‖₂/√n per conv layer (fit({ recordGradientNorms: true })).',
  }, { width, height });
  drawCanvas(canvas.getContext('2d'), chart, scale);
}
let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => { resizeQueued = false; draw(); });
});

async function init() {
  const [, all] = await Promise.all([cnn.ready(), loadMnist()]);
  data = splitMnist(all);
  ui.steps.value = String(intParam('steps', 100, 1, 250));
  resetSeries();
  draw();
  ui.status.textContent = `Ready: ${data.train.count} training digits, ${data.test.count} held-out digits.`;
  ui.train.disabled = false;
  ui.meter.hidden = true;
  setState('ready');
  if (params.get('autostart') === '1') await run();
}

/** A worker for the run, or null (the page trains) when none starts. */
async function startWorker() {
  try {
    return await cnn.worker.create();
  } catch (err) {
    console.warn(`training on the page's thread: ${err.message}`);
    return null;
  }
}

async function run() {
  const steps = Number(ui.steps.value);
  if (!Number.isInteger(steps) || steps < 1 || steps > 250) throw new Error('steps must be an integer in 1..250');
  const nTest = intParam('test', 1000, 1, data.test.count);
  const seed = intParam('seed', 1, 0, 2 ** 31 - 1);
  ui.error.hidden = true;
  ui.train.disabled = true;
  ui.stop.disabled = false;
  ui.summary.textContent = '';
  setState('training');
  abort = new AbortController();
  const { signal } = abort;
  totalSteps = steps;
  resetSeries();
  state.results = [];
  state.summary = {};
  draw();
  ui.meter.hidden = false;
  ui.meter.max = NETS.length * steps;
  ui.meter.value = 0;
  ui.status.textContent = 'Starting a worker…';

  const n = steps * BATCH_SIZE;
  const local = {
    x: cnn.tensor(data.train.images.subarray(0, n * 784), [n, 28, 28, 1]),
    y: cnn.tensor(data.train.labels.subarray(0, n), [n], 'int32'),
    xTest: cnn.tensor(data.test.images.subarray(0, nTest * 784), [nTest, 28, 28, 1]),
    yTest: cnn.tensor(data.test.labels.subarray(0, nTest), [nTest], 'int32'),
  };
  const worker = await startWorker();
  state.trainedIn = worker ? 'worker' : 'page';
  let stoppedIn = null;
  try {
    // The digits go to the worker once, for all three nets.
    const t = worker
      ? Object.fromEntries(await Promise.all(Object.entries(local).map(async ([k, v]) => [k, await worker.tensor(v)])))
      : local;
    for (const [i, net] of NETS.entries()) {
      if (signal.aborted) break;
      const s = series[i];
      const r = await trainNet(cnn, net.key, {
        x: t.x, y: t.y, steps, seed, worker, signal,
        onBatch(step, logs, profile) {
          s.losses.push(logs.loss);
          s.gradient = profile.values();
          s.ratio = profile.summary().ratio;
          ui.meter.value = i * steps + step;
          ui.status.textContent = `Training ${net.key} (${i + 1}/3) in ${worker ? 'a worker' : 'the page'} · ` +
            `step ${step}/${steps} · loss ${logs.loss.toFixed(3)}`;
          draw();
        },
      });
      if (signal.aborted) { // a net stopped part-way has no summary of its own
        stoppedIn = { key: net.key, steps: r.losses.length };
        await r.model.dispose();
        break;
      }
      ui.status.textContent = `Testing ${net.key} on ${nTest} held-out digits…`;
      await new Promise((resolve) => setTimeout(resolve));
      const [lossT, accT] = await r.model.evaluate(t.xTest, t.yTest, { batchSize: 100 });
      const epochNorms = r.history.gradientNorms?.[0] ?? {};
      const mean = (a) => a.reduce((sum, v) => sum + v, 0) / a.length;
      const summary = {
        ...r.profile.summary(),
        lossFirst10: mean(r.losses.slice(0, 10)),
        lossLast10: mean(r.losses.slice(-10)),
        testLoss: lossT.dataSync()[0],
        testAccuracy: accT.dataSync()[0],
        seconds: r.seconds,
        normsComplete: r.weightLayers.every((name) => Number.isFinite(epochNorms[name])),
        weightLayers: r.weightLayers.length,
        profile: r.profile.values(),
      };
      lossT.dispose();
      accT.dispose();
      await r.model.dispose();
      s.accuracy = summary.testAccuracy;
      state.summary[net.key] = summary;
      state.results.push({ key: net.key, losses: r.losses, ...summary });
      draw();
    }
  } finally {
    for (const v of Object.values(local)) v.dispose();
    worker?.terminate();
    abort = null;
    ui.stop.disabled = true;
    ui.train.disabled = false;
    ui.meter.hidden = true;
  }
  if (signal.aborted) {
    const done = Object.keys(state.summary);
    ui.status.textContent = `Stopped${stoppedIn ? ` during ${stoppedIn.key} after ${stoppedIn.steps} of ${steps} steps` : ''}` +
      `${done.length ? `; finished: ${done.join(', ')}` : ''}.`;
    if (done.length) showSummary(steps, nTest);
    setState('stopped');
    return;
  }
  showSummary(steps, nTest);
  ui.status.textContent = `Done: ${steps} steps per net.`;
  setState('done');
}

function showSummary(steps, nTest) {
  const keys = NETS.map(({ key }) => key).filter((key) => state.summary[key]);
  const rows = keys.map((key) => {
    const s = state.summary[key];
    return `<tr data-net="${key}" data-ratio="${s.ratio}"><td>${descriptions[key]}</td>` +
      `<td>${formatNumber(s.ratio, 2)}</td><td>${s.decades.toFixed(1)}</td>` +
      `<td>${s.lossFirst10.toFixed(3)}</td><td>${s.lossLast10.toFixed(3)}</td>` +
      `<td>${(s.testAccuracy * 100).toFixed(1)}%</td><td>${s.seconds.toFixed(1)} s</td></tr>`;
  }).join('');
  const sorted = keys.sort((a, b) => state.summary[a].ratio - state.summary[b].ratio);
  const [worst, ...others] = sorted;
  const gap = others.length ? Math.min(...others.map((k) => state.summary[k].decades)) - state.summary[worst].decades : 0;
  const verdict = sorted.length < 2 ? 'Train at least two nets to compare them.' : gap >= 1
    ? `The ${worst} net's first conv layer receives ${formatNumber(state.summary[worst].ratio, 2)} of the gradient ` +
      `of its last: ${gap.toFixed(1)} orders of magnitude less than with ${others.join(' or ')} — vanishing gradients.`
    : `No clear vanishing-gradient gap at ${steps} steps (smallest first/last ratio: ${worst}).`;
  ui.summary.innerHTML = '<table><thead><tr><th>net</th><th>first/last layer gradient</th>' +
    '<th><abbr title="orders of magnitude: log10 of the first/last ratio; −2 means 100× less gradient at the input side">decades</abbr></th>' +
    '<th>loss, first 10 steps</th><th>loss, last 10 steps</th>' +
    `<th>held-out accuracy (${nTest})</th><th>time</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p id="verdict">${verdict}</p>` +
    '<p class="muted">Decades: orders of magnitude, the base-10 logarithm of the first/last ratio. 0 means the first ' +
    'conv layer gets as much gradient per weight as the last; −2 means 100 times less, so it learns about 100 ' +
    'times more slowly.</p>';
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  run().catch(fail);
});
ui.stop.addEventListener('click', () => abort?.abort());

init().catch(fail);
