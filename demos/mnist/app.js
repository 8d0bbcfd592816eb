/**
 * MNIST demo page: trains LeNet-5 in the page, charts loss/accuracy live, tests on held-out digits, and classifies
 * digits drawn on a 280×280 pad after MNIST-style preprocessing.
 *
 * document.body.dataset.state: 'loading' → 'ready' → 'training' → 'trained' (or 'error' at any point).
 * window.__demo exposes { cnn, model, data, batchLogs, preprocess } for tests and the console.
 */
import * as cnn from '../../web/index.js';
import { loadMnist, splitMnist, lenet5, LENET_RECIPE, ROWS, COLS, PIXELS } from '../../recipes/mnist.js';

const SEED = 1; // fixed, so that a page reload reproduces the same run
const $ = (id) => document.getElementById(id);
const ui = {
  form: $('train-form'), epochs: $('epochs'), batchSize: $('batch-size'), train: $('train'), stop: $('stop'),
  status: $('status'), chart: $('chart'), testAccuracy: $('test-accuracy'), save: $('save'), load: $('load'),
  pad: $('pad'), preview: $('preview'), clear: $('clear'), prediction: $('prediction'), bars: $('bars'),
  error: $('error'), meter: $('meter'), hint: $('hint'), announce: $('announce'),
};

/** @type {{ train: import('../../recipes/mnist.js').MnistData, test: import('../../recipes/mnist.js').MnistData } | null} */
let data = null;
let tensors = null; // { xTrain, yTrain, xTest, yTest }, made once
let model = null;
let abort = null;
let batchLogs = []; // raw { loss, acc } of every batch of the last training run

window.__demo = {
  cnn,
  get model() { return model; },
  get data() { return data; },
  get batchLogs() { return batchLogs; },
  preprocess: (...a) => preprocess(...a),
};

function setState(state) {
  document.body.dataset.state = state;
}

function fail(err) {
  console.error(err);
  showError(err);
  setState('error');
  ui.train.disabled = false;
  ui.stop.disabled = true;
  ui.meter.hidden = true;
}

function showError(err) {
  ui.error.textContent = `Error: ${err?.message ?? err}`;
  ui.error.hidden = false;
}

/** The meter under the status line: `fraction` in [0, 1], null for an action of unknown length, hidden when done. */
function setMeter(fraction, { hidden = false } = {}) {
  ui.meter.hidden = hidden;
  if (fraction === null) ui.meter.removeAttribute('value');
  else ui.meter.value = fraction;
}
window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));

// ---------------------------------------------------------------------------------------------------------------------
// Training

async function init() {
  ui.status.textContent = 'Loading the engine and the digits…';
  setMeter(null);
  const [, all] = await Promise.all([cnn.ready(), loadMnist()]);
  data = splitMnist(all);
  tensors = {
    xTrain: cnn.tensor(data.train.images, [data.train.count, ROWS, COLS, 1]),
    yTrain: cnn.tensor(data.train.labels, [data.train.count], 'int32'),
    xTest: cnn.tensor(data.test.images, [data.test.count, ROWS, COLS, 1]),
    yTest: cnn.tensor(data.test.labels, [data.test.count], 'int32'),
  };
  ui.status.textContent = `Ready: ${data.train.count} training digits, ${data.test.count} held-out digits.`;
  ui.train.disabled = false;
  ui.load.disabled = false;
  setMeter(0, { hidden: true });
  chart.draw();
  setState('ready');
}

async function train() {
  const epochs = Number(ui.epochs.value);
  const batchSize = Number(ui.batchSize.value);
  if (!Number.isInteger(epochs) || epochs < 1 || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error('epochs and batch size must be positive integers');
  }
  ui.error.hidden = true;
  setState('training');
  ui.train.disabled = ui.save.disabled = ui.load.disabled = true;
  ui.stop.disabled = false;
  setMeter(0);
  ui.testAccuracy.textContent = '–';
  showPrediction(null);

  model?.dispose();
  model = lenet5(cnn, { seed: SEED });
  // The Node script's recipe: Adam on a one-cycle schedule (see LENET_RECIPE in recipes/mnist.js).
  const peak = LENET_RECIPE.peakLearningRate;
  model.compile({ optimizer: cnn.train.adam(peak), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

  const nTrain = data.train.count;
  const batches = Math.ceil(nTrain / batchSize);
  chart.reset(epochs, batches);
  batchLogs = [];
  abort = new AbortController();
  let epoch = 0;
  let images = 0;
  const t0 = performance.now();
  await model.fit(tensors.xTrain, tensors.yTrain, {
    epochs, batchSize, seed: SEED, shuffle: true, signal: abort.signal, learningRateSchedule: cnn.train.oneCycle(peak),
    callbacks: {
      onBatchEnd(batch, logs) {
        images += Math.min(batchSize, nTrain - batch * batchSize);
        batchLogs.push({ loss: logs.loss, acc: logs.acc });
        chart.push(logs.loss, logs.acc);
        setMeter((epoch * batches + batch + 1) / (epochs * batches));
        const rate = images / ((performance.now() - t0) / 1000);
        ui.status.textContent = `epoch ${epoch + 1}/${epochs} · batch ${batch + 1}/${batches} · ` +
          `loss ${chart.smoothLoss.toFixed(3)} · accuracy ${(chart.smoothAcc * 100).toFixed(1)}% · ` +
          `${Math.round(rate)} images/s`;
      },
      onEpochEnd(e) {
        epoch = e + 1;
      },
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const stopped = abort.signal.aborted;
  abort = null;
  ui.stop.disabled = true;
  ui.status.textContent = `${stopped ? 'Stopped' : 'Trained'} after ${images} images in ${seconds.toFixed(1)} s ` +
    `(${Math.round(images / seconds)} images/s). Testing…`;
  setMeter(null);
  await new Promise((r) => setTimeout(r)); // let the status paint before the synchronous evaluation
  await showTestAccuracy();
  ui.status.textContent = ui.status.textContent.replace('Testing…', 'Now draw a digit.');
}

async function showTestAccuracy() {
  const [lossT, accT] = model.evaluate(tensors.xTest, tensors.yTest, { batchSize: 250 });
  const acc = accT.dataSync()[0];
  lossT.dispose();
  accT.dispose();
  ui.testAccuracy.textContent = `${(acc * 100).toFixed(1)}%`;
  ui.train.disabled = ui.save.disabled = ui.load.disabled = false;
  setMeter(0, { hidden: true });
  setState('trained');
  predictPad({ announce: true });
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  train().catch(fail);
});
ui.stop.addEventListener('click', () => abort?.abort());

ui.save.addEventListener('click', () => {
  const bytes = model.save();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  a.download = 'lenet5-mnist.wcnn';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

/**
 * Why `m` cannot classify this page's digits, in words, or null when it can: a 28×28×1 input and 10 classes out.
 * @returns {string | null}
 */
function unfitReason(m, name) {
  const input = m.inputs?.[0]?.sampleShape ?? [];
  const output = m.outputShape ?? [];
  const shape = (s) => s.filter((d) => d !== null).join('×');
  if (output.length > 2) {
    return `${name} is a segmentation model (input ${shape(input)}, a class per pixel: ${shape(output)}); this page ` +
      'needs a digit classifier: 28×28×1 images in, 10 classes out';
  }
  if (input.join() !== [ROWS, COLS, 1].join() || output.at(-1) !== 10) {
    return `${name} takes ${shape(input)} inputs and gives ${output.at(-1)} classes; this page needs a digit ` +
      'classifier: 28×28×1 images in, 10 classes out';
  }
  return null;
}

/**
 * Loads a model file chosen by the user. The current model stays until the new one has loaded and been checked, so a
 * wrong file only shows why (drawing and prediction go on with the old model).
 */
async function loadModelFile(file) {
  const before = document.body.dataset.state;
  ui.error.hidden = true;
  let loaded;
  try {
    loaded = await cnn.loadModel(new Uint8Array(await file.arrayBuffer()));
  } catch (err) {
    showError(`${file.name} is not a model this page can read: ${err.message}`);
    return false;
  }
  const reason = unfitReason(loaded, file.name);
  if (reason) {
    loaded.dispose();
    showError(reason);
    return false;
  }
  model?.dispose();
  model = loaded;
  ui.status.textContent = `Loaded ${file.name}. Testing…`;
  setState('loading');
  setMeter(null);
  await new Promise((r) => setTimeout(r)); // let the status paint before the synchronous evaluation
  try {
    await showTestAccuracy();
  } catch (err) {
    setState(before);
    throw err;
  }
  ui.status.textContent = `Loaded ${file.name}. Now draw a digit.`;
  return true;
}

ui.load.addEventListener('change', async () => {
  const file = ui.load.files?.[0];
  ui.load.value = '';
  if (file) await loadModelFile(file).catch(fail);
});

// ---------------------------------------------------------------------------------------------------------------------
// Live chart: per-batch loss (left axis) and accuracy (right axis), smoothed like TensorBoard (debiased EMA).

const chart = {
  epochs: 1, batches: 1, loss: [], acc: [], smoothLoss: 0, smoothAcc: 0, pending: false,

  reset(epochs, batches) {
    Object.assign(this, { epochs, batches, loss: [], acc: [], smoothLoss: 0, smoothAcc: 0, emaL: 0, emaA: 0 });
    this.draw();
  },

  push(loss, acc) {
    const beta = 0.9, n = this.loss.length + 1;
    this.emaL = beta * this.emaL + (1 - beta) * loss;
    this.emaA = beta * this.emaA + (1 - beta) * acc;
    this.smoothLoss = this.emaL / (1 - beta ** n);
    this.smoothAcc = this.emaA / (1 - beta ** n);
    this.loss.push(this.smoothLoss);
    this.acc.push(this.smoothAcc);
    // Redraw at most once per frame; fit yields between batches, so frames do get painted.
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }
  },

  draw() {
    const c = ui.chart, dpr = window.devicePixelRatio || 1;
    const cssW = c.clientWidth || 560, cssH = c.clientHeight || 240;
    if (c.width !== Math.round(cssW * dpr)) { c.width = Math.round(cssW * dpr); c.height = Math.round(cssH * dpr); }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const L = 44, R = 44, T = 10, B = 24, w = cssW - L - R, h = cssH - T - B;
    const total = this.epochs * this.batches;
    const maxLoss = Math.max(0.5, Math.ceil(Math.max(0, ...this.loss) * 2) / 2);
    const x = (i) => L + (w * (i + 1)) / total;
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;

    // grid and axis labels
    g.strokeStyle = '#e6e9ef';
    g.fillStyle = '#5b6475';
    for (let k = 0; k <= 5; k++) { // maxLoss is a multiple of 0.5, so the loss ticks are round numbers
      const y = T + h - (h * k) / 5;
      g.beginPath(); g.moveTo(L, y + 0.5); g.lineTo(L + w, y + 0.5); g.stroke();
      g.textAlign = 'right'; g.fillText(((maxLoss * k) / 5).toFixed(2), L - 6, y + 4);
      g.textAlign = 'left'; g.fillText(`${20 * k}%`, L + w + 6, y + 4);
    }
    // epoch boundaries
    g.setLineDash([3, 3]);
    g.textAlign = 'center';
    for (let e = 0; e < this.epochs; e++) {
      const xe = L + (w * e * this.batches) / total;
      if (e > 0) { g.beginPath(); g.moveTo(xe + 0.5, T); g.lineTo(xe + 0.5, T + h); g.stroke(); }
      g.fillText(`epoch ${e + 1}`, xe + (w * this.batches) / total / 2, T + h + 16);
    }
    g.setLineDash([]);
    g.strokeStyle = '#b8c0cc';
    g.strokeRect(L + 0.5, T + 0.5, w, h);

    const line = (values, scale, color) => {
      if (!values.length) return;
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.beginPath();
      values.forEach((v, i) => {
        const y = T + h - h * Math.min(1, Math.max(0, v / scale));
        i ? g.lineTo(x(i), y) : g.moveTo(x(i), y);
      });
      g.stroke();
    };
    line(this.loss, maxLoss, '#2f6fde');
    line(this.acc, 1, '#e0772b');
  },
};

// ---------------------------------------------------------------------------------------------------------------------
// Drawing pad

const pad = ui.pad.getContext('2d', { willReadFrequently: true });
const STROKE = 22; // px on the 280 pad ≈ 2.2 px at 28×28, close to MNIST pen strokes

function clearPad() {
  pad.fillStyle = '#000';
  pad.fillRect(0, 0, ui.pad.width, ui.pad.height);
  ui.preview.getContext('2d').clearRect(0, 0, COLS, ROWS);
  showPrediction(null);
}

let last = null;
function padPoint(clientX, clientY) {
  const r = ui.pad.getBoundingClientRect();
  return [((clientX - r.left) * ui.pad.width) / r.width, ((clientY - r.top) * ui.pad.height) / r.height];
}
function strokeTo(p) {
  pad.strokeStyle = '#fff';
  pad.lineWidth = STROKE;
  pad.lineCap = pad.lineJoin = 'round';
  pad.beginPath();
  pad.moveTo(...(last ?? p));
  pad.lineTo(...p);
  pad.stroke();
  last = p;
  schedulePredict();
}
function endStroke() {
  if (!last) return;
  last = null;
  predictPad({ announce: true });
}

if (window.PointerEvent) {
  // Pointer events cover mouse, touch and pen in one path.
  ui.pad.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    ui.pad.setPointerCapture(e.pointerId);
    last = null;
    strokeTo(padPoint(e.clientX, e.clientY));
  });
  ui.pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    // Coalesced events give smooth strokes on fast pens and touch screens.
    for (const ev of e.getCoalescedEvents?.() ?? [e]) strokeTo(padPoint(ev.clientX, ev.clientY));
  });
  ui.pad.addEventListener('pointerup', endStroke);
  ui.pad.addEventListener('pointercancel', endStroke);
} else {
  // Older browsers: mouse and touch separately.
  ui.pad.addEventListener('mousedown', (e) => { last = null; strokeTo(padPoint(e.clientX, e.clientY)); });
  ui.pad.addEventListener('mousemove', (e) => { if (last) strokeTo(padPoint(e.clientX, e.clientY)); });
  window.addEventListener('mouseup', endStroke);
  const touch = (start) => (e) => {
    e.preventDefault();
    if (start) last = null;
    const t = e.changedTouches[0];
    strokeTo(padPoint(t.clientX, t.clientY));
  };
  ui.pad.addEventListener('touchstart', touch(true), { passive: false });
  ui.pad.addEventListener('touchmove', touch(false), { passive: false });
  ui.pad.addEventListener('touchend', endStroke);
}
ui.clear.addEventListener('click', clearPad);

// ---------------------------------------------------------------------------------------------------------------------
// MNIST-style preprocessing: crop to the ink, fit into a 20×20 box keeping the aspect ratio (area-averaged, so
// anti-aliased like MNIST), then place in 28×28 with the centre of mass at the centre.

/** For each output index, the source indexes and weights covering it (box filter with fractional coverage). */
function axisWeights(start, length, outLength) {
  const scale = length / outLength;
  return Array.from({ length: outLength }, (_, o) => {
    const a = start + o * scale, b = a + scale, taps = [];
    for (let p = Math.floor(a); p < Math.ceil(b); p++) {
      taps.push([p, (Math.min(b, p + 1) - Math.max(a, p)) / scale]);
    }
    return taps;
  });
}

/**
 * @param {Uint8ClampedArray} rgba pad pixels (white ink on black)
 * @param {number} width
 * @param {number} height
 * @returns {Float32Array | null} 28×28 in [0, 1], or null when nothing is drawn
 */
function preprocess(rgba, width, height) {
  const ink = new Float32Array(width * height);
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = rgba[4 * (y * width + x)] / 255;
      ink[y * width + x] = v;
      if (v > 0.05) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  const fit = 20 / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * fit)), th = Math.max(1, Math.round(bh * fit));
  const wx = axisWeights(x0, bw, tw), wy = axisWeights(y0, bh, th);
  const small = new Float32Array(tw * th);
  let mass = 0, mx = 0, my = 0;
  for (let j = 0; j < th; j++) {
    for (let i = 0; i < tw; i++) {
      let s = 0;
      for (const [py, ay] of wy[j]) for (const [px, ax] of wx[i]) s += ay * ax * ink[py * width + px];
      small[j * tw + i] = s;
      mass += s;
      mx += s * (i + 0.5);
      my += s * (j + 0.5);
    }
  }
  // Integer shift that puts the centre of mass closest to (14, 14).
  const ox = Math.round(COLS / 2 - mx / mass), oy = Math.round(ROWS / 2 - my / mass);
  const out = new Float32Array(PIXELS);
  for (let j = 0; j < th; j++) {
    for (let i = 0; i < tw; i++) {
      const x = i + ox, y = j + oy;
      if (x >= 0 && x < COLS && y >= 0 && y < ROWS) out[y * COLS + x] = Math.min(1, small[j * tw + i]);
    }
  }
  return out;
}

function showPreview(img) {
  const g = ui.preview.getContext('2d');
  const id = g.createImageData(COLS, ROWS);
  for (let i = 0; i < PIXELS; i++) {
    const v = Math.round(img[i] * 255);
    id.data.set([v, v, v, 255], 4 * i);
  }
  g.putImageData(id, 0, 0);
}

// Ten bars, made once.
const bars = Array.from({ length: 10 }, (_, d) => {
  const el = document.createElement('div');
  el.className = 'bar';
  el.innerHTML = `<span class="pct"></span><div class="fill" style="height:0"></div><span>${d}</span>`;
  ui.bars.append(el);
  return { el, fill: el.querySelector('.fill'), pct: el.querySelector('.pct') };
});

/**
 * Shows the probabilities (null: none) on the bars; with `announce`, a screen reader hears the result (not on every
 * frame of a stroke, only when it ends).
 * @param {Float32Array | null} probs
 */
function showPrediction(probs, note, { announce = false } = {}) {
  let top = -1;
  if (probs) top = probs.indexOf(Math.max(...probs));
  if (announce) {
    ui.announce.textContent = top >= 0 ? `Prediction: ${top}, ${Math.round(probs[top] * 100)}% sure` : (ui.hint.hidden ? '' : ui.hint.textContent);
  }
  ui.prediction.textContent = top >= 0 ? String(top) : (note ?? '–');
  bars.forEach((b, d) => {
    const p = probs ? probs[d] : 0;
    b.fill.style.height = `${(p * 100).toFixed(1)}%`;
    b.pct.textContent = probs ? `${Math.round(p * 100)}%` : '';
    b.el.classList.toggle('top', d === top);
  });
}

let predictQueued = false;
function schedulePredict() {
  if (predictQueued) return;
  predictQueued = true;
  requestAnimationFrame(() => { predictQueued = false; predictPad(); });
}

function predictPad({ announce = false } = {}) {
  const img = preprocess(pad.getImageData(0, 0, ui.pad.width, ui.pad.height).data, ui.pad.width, ui.pad.height);
  const usable = model && document.body.dataset.state === 'trained';
  // Without a finished model a drawing gets a "?": say why (training busies the model too).
  ui.hint.hidden = usable || !img;
  ui.hint.textContent = document.body.dataset.state === 'training'
    ? 'The model is training: it reads your digit once training ends.'
    : 'Train the model first (1 · Train), or load a saved one: then it reads your digit.';
  if (!img) { showPrediction(null); return; }
  showPreview(img);
  if (!usable) { showPrediction(null, '?', { announce }); return; }
  try {
    const x = cnn.tensor(img, [1, ROWS, COLS, 1]);
    const y = model.predict(x);
    const probs = y.dataSync();
    x.dispose();
    y.dispose();
    showPrediction(probs, undefined, { announce });
  } catch (err) {
    fail(err);
  }
}

clearPad();
init().catch(fail);
