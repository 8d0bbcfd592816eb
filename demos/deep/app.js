/**
 * Gradient-flow demo page: trains the plain, batch-norm and ResNet nets of demos/deep/nets.js one after another on the
 * same MNIST digits and draws, live, the gradient norm per conv layer and the loss curves (demos/deep/chart.js).
 *
 * URL parameters: ?steps=N (per net, default 100), ?test=N (held-out digits, default 1000), ?seed=S (default 1),
 * ?autostart=0 (wait for the button instead of starting once loaded).
 * document.body.dataset.state: 'loading' → 'ready' → 'training' → 'done' (or 'error' at any point).
 * window.__deep exposes { cnn, results, summary } for tests and the console; summary[net] = { ratio, decades,
 * lossFirst10, lossLast10, testAccuracy, testLoss, normsComplete, seconds }.
 */
import * as cnn from '../../web/index.js';
import { loadMnist, splitMnist } from '../mnist/data.js';
import { NETS, CONV_LAYERS, BATCH_SIZE, LEARNING_RATE, trainNet, describeNets } from './nets.js';
import { layoutChart, drawCanvas, formatNumber } from './chart.js';

const $ = (id) => document.getElementById(id);
const ui = { form: $('form'), steps: $('steps'), train: $('train'), status: $('status'), chart: $('chart'),
  summary: $('summary'), error: $('error') };
const params = new URLSearchParams(location.search);
const intParam = (name, fallback, min, max) => {
  const v = Number(params.get(name) ?? fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`?${name} must be an integer in ${min}..${max}`);
  return v;
};

const CHART = { width: 1100, height: 500 };
const descriptions = describeNets();
let data = null;
let series = [];
let totalSteps = 100;
const state = { results: [], summary: {} };
window.__deep = { cnn, get results() { return state.results; }, get summary() { return state.summary; } };

function setState(s) { document.body.dataset.state = s; }

function fail(err) {
  console.error(err);
  ui.error.textContent = `Error: ${err?.message ?? err}`;
  ui.error.hidden = false;
  ui.train.disabled = false;
  setState('error');
}
window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));

function resetSeries() {
  series = NETS.map((net) => ({ key: net.key, label: descriptions[net.key], color: net.color, gradient: [], losses: [] }));
}

function draw() {
  const scale = window.devicePixelRatio || 1;
  const canvas = ui.chart;
  if (canvas.width !== CHART.width * scale) {
    canvas.width = CHART.width * scale;
    canvas.height = CHART.height * scale;
  }
  const chart = layoutChart({
    title: `Gradient flow in ${CONV_LAYERS + 1}-layer nets on MNIST (${totalSteps} steps of ${BATCH_SIZE}, ` +
      `SGD momentum, lr ${LEARNING_RATE})`,
    series, totalSteps, depth: CONV_LAYERS,
    note: 'Gradient: running mean over the steps so far of ‖g‖₂/√n per conv layer (fit({ recordGradientNorms: true })).',
  }, CHART);
  drawCanvas(canvas.getContext('2d'), chart, scale);
}

async function init() {
  const [, all] = await Promise.all([cnn.ready(), loadMnist()]);
  data = splitMnist(all);
  ui.steps.value = String(intParam('steps', 100, 1, 250));
  resetSeries();
  draw();
  ui.status.textContent = `Ready: ${data.train.count} training digits, ${data.test.count} held-out digits.`;
  ui.train.disabled = false;
  setState('ready');
  if (params.get('autostart') !== '0') await run();
}

async function run() {
  const steps = Number(ui.steps.value);
  if (!Number.isInteger(steps) || steps < 1 || steps > 250) throw new Error('steps must be an integer in 1..250');
  const nTest = intParam('test', 1000, 1, data.test.count);
  const seed = intParam('seed', 1, 0, 2 ** 31 - 1);
  ui.error.hidden = true;
  ui.train.disabled = true;
  ui.summary.textContent = '';
  setState('training');
  totalSteps = steps;
  resetSeries();
  state.results = [];
  state.summary = {};
  draw();

  const n = steps * BATCH_SIZE;
  const x = cnn.tensor(data.train.images.subarray(0, n * 784), [n, 28, 28, 1]);
  const y = cnn.tensor(data.train.labels.subarray(0, n), [n], 'int32');
  const xTest = cnn.tensor(data.test.images.subarray(0, nTest * 784), [nTest, 28, 28, 1]);
  const yTest = cnn.tensor(data.test.labels.subarray(0, nTest), [nTest], 'int32');
  try {
    for (const [i, net] of NETS.entries()) {
      const s = series[i];
      const r = await trainNet(cnn, net.key, {
        x, y, steps, seed,
        onBatch(step, logs, profile) {
          s.losses.push(logs.loss);
          s.gradient = profile.values();
          s.ratio = profile.summary().ratio;
          ui.status.textContent = `Training ${net.key} (${i + 1}/3) · step ${step}/${steps} · loss ${logs.loss.toFixed(3)}`;
          draw();
        },
      });
      ui.status.textContent = `Testing ${net.key} on ${nTest} held-out digits…`;
      await new Promise((resolve) => setTimeout(resolve));
      const [lossT, accT] = r.model.evaluate(xTest, yTest, { batchSize: 100 });
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
      r.model.dispose();
      s.accuracy = summary.testAccuracy;
      state.summary[net.key] = summary;
      state.results.push({ key: net.key, losses: r.losses, ...summary });
      draw();
    }
  } finally {
    for (const t of [x, y, xTest, yTest]) t.dispose();
  }
  showSummary(steps, nTest);
  ui.status.textContent = `Done: ${steps} steps per net.`;
  ui.train.disabled = false;
  setState('done');
}

function showSummary(steps, nTest) {
  const rows = NETS.map(({ key }) => {
    const s = state.summary[key];
    return `<tr data-net="${key}" data-ratio="${s.ratio}"><td>${descriptions[key]}</td>` +
      `<td>${formatNumber(s.ratio, 2)}</td><td>${s.decades.toFixed(1)}</td>` +
      `<td>${s.lossFirst10.toFixed(3)}</td><td>${s.lossLast10.toFixed(3)}</td>` +
      `<td>${(s.testAccuracy * 100).toFixed(1)}%</td><td>${s.seconds.toFixed(1)} s</td></tr>`;
  }).join('');
  const sorted = NETS.map(({ key }) => key).sort((a, b) => state.summary[a].ratio - state.summary[b].ratio);
  const [worst, ...others] = sorted;
  const gap = Math.min(...others.map((k) => state.summary[k].decades)) - state.summary[worst].decades;
  const verdict = gap >= 1
    ? `The ${worst} net's first conv layer receives ${formatNumber(state.summary[worst].ratio, 2)} of the gradient ` +
      `of its last: ${gap.toFixed(1)} orders of magnitude less than with ${others.join(' or ')} — vanishing gradients.`
    : `No clear vanishing-gradient gap at ${steps} steps (smallest first/last ratio: ${worst}).`;
  ui.summary.innerHTML = '<table><thead><tr><th>net</th><th>first/last layer gradient</th><th>decades</th>' +
    '<th>loss, first 10 steps</th><th>loss, last 10 steps</th>' +
    `<th>held-out accuracy (${nTest})</th><th>time</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p id="verdict">${verdict}</p>`;
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  run().catch(fail);
});

init().catch(fail);
