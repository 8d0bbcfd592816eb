/**
 * Segmentation demo page: a pretrained SegNet or FCN (demos/models/<arch>-shapes.wcnn, written by
 * tools/train-segmentation.js) segments generated shapes scenes, drawings and dropped images; the mask is overlaid on
 * the image, with a legend, the time model.segment took and, for generated scenes, the ground truth and the mean IoU.
 * A fine-tune button trains the loaded model further on new generated scenes (recipes/segmentation.js, low peak) in
 * a cnn.worker, or on the page's thread where no worker starts (fine-tune.js).
 * The other parts: draw.js (drawing tools), view.js (canvases, masks, legend), held-out.js (the held-out score).
 *
 * document.body.dataset.state: 'loading' (engine / model) → 'ready' ⇄ 'busy' (fine-tuning), or 'error'.
 * window.__seg exposes { cnn, model, arch, segmentScene(seed), selectModel(arch), fineTune(options), stop(),
 * tuneLogs, tunedIn ('worker' | 'page': where the last fine-tune ran), tuneWorker (the running worker), heldOut,
 * download ({ bytes, encoding } of the loaded file), scoreMasks, palette } for tests and the console.
 */
import * as cnn from '../../web/index.js';
import * as scoring from '../../recipes/scoring.js';
import { setupDrawing } from './draw.js';
import { fineTune as runFineTune } from './fine-tune.js';
import { heldOutScore } from './held-out.js';
import { fitView, toImageData, paintMask, drawLegend } from './view.js';

const SIZE = 64;                 // the scenes' and the models' input size
const FIRST_SCENE_SEED = 2001;   // scenes shown in the page: seeds that training never used (it used seed 1)
const DRAW_SIZE = 256;           // the drawing canvas; its background is a 64×64 scene background scaled ×4
const MAX_IMAGE_SIDE = 512;      // dropped images are scaled down to this before segmenting and display
const VIEW = 256;                // CSS pixels of each view (less on narrow screens: see style.css)
const MODEL_URL = (arch) => new URL(`../models/${arch}-shapes.wcnn`, import.meta.url);
const ARCH_NAMES = { segnet: 'SegNet', fcn: 'FCN-8s' };
const ARCH_NOTES = { segnet: 'encoder–decoder, upsampled by max-unpooling', fcn: 'fully convolutional, 8× upsampling with skips' };
const CLASS_NAMES = cnn.data.SHAPE_CLASSES;
const NUM_CLASSES = CLASS_NAMES.length;
const PALETTE = cnn.data.palette(NUM_CLASSES); // RGBA bytes per class; background transparent

const $ = (id) => document.getElementById(id);
const ui = {
  arch: $('arch'), modelInfo: $('model-info'), loadMeter: $('load-meter'), error: $('error'),
  newScene: $('new-scene'), seed: $('seed'), segmentSeed: $('segment-seed'),
  tools: $('tools'), colours: $('colours'), clear: $('clear'), drop: $('drop'), input: $('input'), file: $('file'),
  source: $('source'),
  overlay: $('overlay'), truth: $('truth'), noTruth: $('no-truth'), alpha: $('alpha'), maskOnly: $('mask-only'),
  legend: $('legend'), time: $('time'), miou: $('miou'), pixacc: $('pixacc'),
  tuneForm: $('tune-form'), tuneCount: $('tune-count'), tuneEpochs: $('tune-epochs'), tuneBatch: $('tune-batch'),
  tuneLr: $('tune-lr'), tune: $('tune'), stop: $('stop'), progress: $('progress'), meter: $('tune-meter'),
  heldout: $('heldout'), heldoutMeter: $('heldout-meter'), reset: $('reset'), save: $('save'),
};
const inputCtx = ui.input.getContext('2d', { willReadFrequently: true });

// ---- state ------------------------------------------------------------------------------------------------------

let arch = ui.arch.value;
let model = null;
const shipped = new Map();   // arch → { bytes, model, heldOut, tuned, before } (the shipped file's bytes, for "reset")
/** What the input canvas shows: { kind: 'scene' | 'drawing' | 'image', label, seed?, truth?: Int32Array }. */
let current = null;
let last = null;             // the last segmentation: { result, score? }
let abort = null;            // AbortController of a running fine-tune
let tuneRuns = 0;
let tuneLogs = [];           // per-batch { loss, pixelAccuracy, meanIoU } of the last fine-tune
let tunedIn = null;          // where the last fine-tune ran: 'worker', or 'page' when no worker started
let tuneWorker = null;       // the running fine-tune's cnn.worker (fail() terminates it)
let runGivenUp = false;      // fail() gave up on the running fine-tune
let pendingSegment = false;
let lastSceneSeed = null;    // "New scene" shows the next seed

function setState(state) {
  document.body.dataset.state = state;
  const ready = state === 'ready';
  for (const el of [ui.newScene, ui.segmentSeed, ui.tune, ui.reset, ui.save, ui.file, ui.arch]) el.disabled = !ready;
  ui.stop.disabled = state !== 'busy';
  for (const el of ui.tuneForm.querySelectorAll('input')) el.disabled = state === 'busy';
  // A "wait until ..." notice is about the busy time: it goes when the page is ready again.
  if (ready && ui.error.dataset.transient === 'true') clearError();
}

function fail(err) {
  console.error(err);
  showError(err);
  runGivenUp = abort !== null;
  tuneWorker?.terminate();
  abort = null;
  setState('error');
  ui.loadMeter.hidden = ui.heldoutMeter.hidden = true;
  ui.arch.disabled = false; // switching the model is the way out of a failed load
  if (!model) ui.modelInfo.textContent = 'No model loaded: pick one to try again.';
}

/** Shows an error; `transient` ones (the page was busy) are cleared once it is ready again. */
function showError(err, { transient = false } = {}) {
  ui.error.textContent = `Error: ${err?.message ?? err}`;
  ui.error.dataset.transient = String(transient);
  ui.error.hidden = false;
}

function clearError() { ui.error.hidden = true; }

window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));

// ---- models -----------------------------------------------------------------------------------------------------

/** The bytes of `url`, reporting the download's progress on the load meter. */
async function download(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`could not fetch ${url.pathname} (HTTP ${response.status}); run ` +
      '`node tools/train-segmentation.js` to write the models to demos/models/');
  }
  const total = Number(response.headers.get('Content-Length')) || 0;
  ui.loadMeter.hidden = false;
  ui.loadMeter.max = total || 1;
  ui.loadMeter.removeAttribute('value'); // indeterminate until bytes arrive
  const parts = [];
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    if (total) ui.loadMeter.value = received;
  }
  ui.loadMeter.hidden = true;
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}

/** Loads (once) and selects the shipped model of `name`; measures it on the held-out scenes. */
async function selectModel(name) {
  if (!ARCH_NAMES[name]) throw new Error(`unknown model '${name}': expected segnet or fcn`);
  if (document.body.dataset.state === 'busy') throw new Error('selectModel: the page is fine-tuning; stop it first');
  setState('loading');
  clearError();
  arch = name;
  ui.arch.value = name;
  model = null;
  let entry = shipped.get(name);
  if (!entry) {
    ui.modelInfo.textContent = `Downloading ${ARCH_NAMES[name]}…`;
    const t0 = performance.now();
    const bytes = await download(MODEL_URL(name));
    entry = { bytes, model: await cnn.loadModel(bytes), loadMs: performance.now() - t0, heldOut: null, tuned: false };
    shipped.set(name, entry);
  }
  if (arch !== name) return; // another selection started meanwhile
  model = entry.model;
  showModelInfo(entry);
  if (entry.heldOut === null) entry.heldOut = await measure(model);
  showHeldOut(entry);
  ui.progress.textContent = entry.tuned ? ui.progress.textContent : 'Not fine-tuned yet.';
  setState('ready');
  segmentInput();
}

const kb = (n) => `${Math.round(n / 1024)} KB`;

/** What the shipped file is: its download size, the encoding of its weights and what float32 would weigh. */
function downloadInfo(entry) {
  const q = entry.model.metadata?.quantization;
  return { bytes: entry.bytes.length, encoding: q?.encoding ?? 'float32', float32Bytes: q?.bytes?.float32 ?? entry.bytes.length };
}

function showModelInfo(entry) {
  const [h, w, c] = model.inputs[0].sampleShape;
  const d = downloadInfo(entry);
  const weights = d.encoding === 'float32' ? 'float32 weights'
    : `${d.encoding} weights, ${kb(d.float32Bytes)} as float32`;
  ui.modelInfo.textContent = `${ARCH_NOTES[arch]} · ${model.countParams().toLocaleString('en')} parameters · ` +
    `input ${h}×${w}×${c} · download ${kb(d.bytes)} (demos/models/${arch}-shapes.wcnn, ${weights})` +
    (entry.tuned ? ' · fine-tuned in this page' : '');
}

function showHeldOut(entry) {
  const s = entry.heldOut;
  ui.heldout.textContent = `${s.meanIoU.toFixed(3)} on ${s.count} scenes (pixel accuracy ${(s.pixelAccuracy * 100).toFixed(1)}%)` +
    (entry.before ? ` · was ${entry.before.meanIoU.toFixed(3)} before fine-tuning` : '');
}

/** heldOutScore with the held-out meter showing its progress. */
async function measure(m) {
  ui.heldout.textContent = 'measuring…';
  ui.heldoutMeter.value = 0;
  ui.heldoutMeter.hidden = false;
  try {
    return await heldOutScore(cnn, m, { size: SIZE, numClasses: NUM_CLASSES, onProgress: (f) => { ui.heldoutMeter.value = f; } });
  } finally {
    ui.heldoutMeter.hidden = true;
  }
}

/** Scores of one class map against the expected one: mean IoU, per-class IoU, pixel accuracy. */
const scoreMasks = (pred, truth) => scoring.scoreMasks(pred, truth, NUM_CLASSES);

// ---- inputs: scenes, drawings, images ---------------------------------------------------------------------------

/** Puts generated scene `seed` (64×64, cnn.data.shapes) on the input canvas, with its ground truth. */
function showScene(seed) {
  const set = cnn.data.shapes({ count: 1, size: SIZE, seed });
  ui.input.width = set.width;
  ui.input.height = set.height;
  inputCtx.putImageData(toImageData(set.images, 0, set.width, set.height), 0, 0);
  fitView(ui.input, VIEW);
  const names = set.objects[0].map((o) => o.className);
  current = { kind: 'scene', seed, truth: set.masks, label: `Generated scene, seed ${seed}: ${names.length} shape` +
    `${names.length === 1 ? '' : 's'} (${names.join(', ') || 'none'}), ${set.width}×${set.height} pixels` };
  ui.seed.value = String(seed);
  lastSceneSeed = seed;
}

let backgroundSeed = 900_000;
/** A fresh 256×256 drawing canvas: a scene background without shapes (64×64, scaled ×4 with nearest neighbour). */
function clearDrawing() {
  let set;
  do set = cnn.data.shapes({ count: 1, size: SIZE, seed: backgroundSeed++, minShapes: 0, maxShapes: 1 });
  while (set.objects[0].length > 0);
  const small = new OffscreenCanvas(SIZE, SIZE);
  small.getContext('2d').putImageData(toImageData(set.images, 0, SIZE, SIZE), 0, 0);
  ui.input.width = DRAW_SIZE;
  ui.input.height = DRAW_SIZE;
  inputCtx.imageSmoothingEnabled = false;
  inputCtx.drawImage(small, 0, 0, DRAW_SIZE, DRAW_SIZE);
  fitView(ui.input, VIEW);
  current = { kind: 'drawing', label: `Your drawing, ${DRAW_SIZE}×${DRAW_SIZE} pixels (segmented at ${SIZE}×${SIZE})` };
}

/** Draws an image file on the input canvas (scaled down to at most 512 px on its longer side). */
async function showImageFile(file) {
  if (!file.type.startsWith('image/')) throw new Error(`${file.name} is not an image (type '${file.type || 'unknown'}')`);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`could not decode ${file.name} as an image`);
  }
  const scale = Math.min(1, MAX_IMAGE_SIDE / Math.max(bitmap.width, bitmap.height));
  ui.input.width = Math.max(1, Math.round(bitmap.width * scale));
  ui.input.height = Math.max(1, Math.round(bitmap.height * scale));
  inputCtx.imageSmoothingEnabled = true;
  inputCtx.drawImage(bitmap, 0, 0, ui.input.width, ui.input.height);
  bitmap.close();
  fitView(ui.input, VIEW);
  current = { kind: 'image', label: `${file.name}, ${ui.input.width}×${ui.input.height} pixels` +
    `${scale < 1 ? ' (scaled down)' : ''}, segmented at ${SIZE}×${SIZE}` };
}

// ---- segmentation and display -----------------------------------------------------------------------------------

const alpha = () => Number(ui.alpha.value);
const paintOptions = () => ({ palette: PALETTE, alpha: alpha(), maskOnly: ui.maskOnly.checked, view: VIEW });

/** Segments what the input canvas shows, draws the overlay, the ground truth, the legend and the scores. */
function segmentInput() {
  if (!current) return null;
  ui.source.textContent = current.label;
  drawTruth();
  if (!model || document.body.dataset.state === 'busy') {
    ui.time.textContent = document.body.dataset.state === 'busy' ? 'paused while fine-tuning' : '–';
    paintMask(cnn, ui.overlay, ui.input, null, paintOptions());
    return null;
  }
  const result = model.segment(ui.input);
  const score = current.truth ? scoreMasks(result.classes, current.truth) : null;
  last = { result, score };
  drawOverlay();
  ui.time.textContent = `${result.timeMs.toFixed(1)} ms`;
  ui.time.title = 'model.segment: read the pixels, resize to 64×64, run the network, argmax, resize the class map back';
  ui.miou.textContent = score ? score.meanIoU.toFixed(3) : 'no ground truth';
  ui.pixacc.textContent = score ? `${(score.pixelAccuracy * 100).toFixed(1)}%` : '–';
  ui.miou.className = score ? (score.meanIoU >= 0.8 ? 'good' : score.meanIoU >= 0.5 ? 'fair' : 'poor') : '';
  drawLegend(ui.legend, { classNames: CLASS_NAMES, palette: PALETTE }, result.classes, score);
  return { result, score };
}

function drawOverlay() {
  if (last) paintMask(cnn, ui.overlay, ui.input, last.result, paintOptions());
}

function drawTruth() {
  const has = !!current?.truth;
  ui.noTruth.hidden = has;
  ui.truth.hidden = !has;
  if (has) paintMask(cnn, ui.truth, ui.input, { width: ui.input.width, height: ui.input.height, classes: current.truth }, paintOptions());
}

/** Segments again at the next frame (at most once per frame, for live updates while drawing). */
function scheduleSegment() {
  if (pendingSegment) return;
  pendingSegment = true;
  requestAnimationFrame(() => {
    pendingSegment = false;
    try { segmentInput(); } catch (err) { fail(err); }
  });
}

// ---- drawing ----------------------------------------------------------------------------------------------------

setupDrawing({
  canvas: ui.input, tools: ui.tools, colours: ui.colours, drawSize: DRAW_SIZE, onChange: scheduleSegment,
  // Drawing turns a scene or an image into a drawing: its ground truth no longer applies.
  onStart() {
    if (current?.kind === 'drawing') return;
    const what = current?.kind === 'scene' ? `scene ${current.seed}` : 'your image';
    current = { kind: 'drawing', label: `Your drawing on ${what}, ${ui.input.width}×${ui.input.height} pixels` };
  },
});

ui.clear.addEventListener('click', () => {
  clearDrawing();
  segmentInput();
});

// ---- files: input and drag-and-drop -----------------------------------------------------------------------------

async function openFile(file) {
  if (!file) return;
  if (document.body.dataset.state !== 'ready') {
    showError(`wait until the page is ready (it is ${document.body.dataset.state}) before opening an image`, { transient: true });
    return;
  }
  clearError();
  try {
    await showImageFile(file);
    segmentInput();
  } catch (err) {
    showError(err); // a file that is not an image is the user's to fix; the page stays usable
  }
}

ui.file.addEventListener('change', async () => {
  await openFile(ui.file.files?.[0]);
  ui.file.value = '';
});
for (const type of ['dragenter', 'dragover']) {
  ui.drop.addEventListener(type, (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    ui.drop.classList.add('over');
  });
}
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  openFile(e.dataTransfer.files?.[0]);
});
// A file dropped next to the target should not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// ---- scenes -----------------------------------------------------------------------------------------------------

function segmentScene(seed) {
  if (!Number.isSafeInteger(seed)) throw new Error(`segmentScene: seed must be an integer, got ${seed}`);
  clearError();
  showScene(seed);
  return segmentInput();
}

ui.newScene.addEventListener('click', () => {
  segmentScene(lastSceneSeed === null ? FIRST_SCENE_SEED : lastSceneSeed + 1);
});
ui.segmentSeed.addEventListener('click', () => segmentScene(Math.trunc(Number(ui.seed.value))));
ui.seed.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !ui.segmentSeed.disabled) ui.segmentSeed.click(); });
ui.alpha.addEventListener('input', () => { drawOverlay(); drawTruth(); });
ui.maskOnly.addEventListener('change', () => { drawOverlay(); drawTruth(); });
ui.arch.addEventListener('change', () => selectModel(ui.arch.value).catch(fail));

// ---- fine-tuning ------------------------------------------------------------------------------------------------

function readTuneOptions() {
  for (const el of ui.tuneForm.querySelectorAll('input')) {
    if (!el.checkValidity()) throw new Error(`${el.labels[0]?.textContent.trim() ?? el.id}: ${el.validationMessage}`);
  }
  const count = Number(ui.tuneCount.value);
  const epochs = Number(ui.tuneEpochs.value);
  const batchSize = Number(ui.tuneBatch.value);
  const peakLearningRate = Number(ui.tuneLr.value);
  if (!Number.isInteger(count) || count < 1 || count > 5000) throw new Error('scenes must be an integer in 1..5000');
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 20) throw new Error('epochs must be an integer in 1..20');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 128) throw new Error('batch must be an integer in 1..128');
  if (!(peakLearningRate > 0 && peakLearningRate <= 0.1)) throw new Error('the peak learning rate must be in (0, 0.1]');
  return { count, epochs, batchSize, peakLearningRate };
}

/**
 * Progress of one fine-tune, fed after each batch: tuneLogs, the progress line (debiased moving averages of loss and
 * mean IoU, scenes per second) and the meter.
 */
function tuneProgress({ count, epochs, batchSize }) {
  const batches = Math.ceil(count / batchSize);
  const ema = { loss: 0, miou: 0, n: 0 };
  const p = {
    total: batches * epochs,
    done: 0,
    t0: performance.now(),
    start(where) { // once the scenes are made
      p.t0 = performance.now();
      tunedIn = where;
      ui.progress.textContent = `Training in ${where === 'worker' ? 'a worker' : 'the page'}…`;
    },
    seconds: () => (performance.now() - p.t0) / 1000,
    batch(epoch, batch, logs) {
      p.done++;
      tuneLogs.push({ loss: logs.loss, pixelAccuracy: logs.pixelAccuracy, meanIoU: logs.meanIoU });
      const beta = 0.8;
      ema.n++;
      ema.loss = beta * ema.loss + (1 - beta) * logs.loss;
      ema.miou = beta * ema.miou + (1 - beta) * logs.meanIoU;
      const debias = 1 - beta ** ema.n;
      const rate = (p.done * batchSize) / p.seconds();
      ui.progress.textContent = `epoch ${epoch + 1}/${epochs} · batch ${batch + 1}/${batches} · ` +
        `loss ${(ema.loss / debias).toFixed(3)} · mIoU ${(ema.miou / debias).toFixed(3)} · ${rate.toFixed(0)} scenes/s`;
      ui.meter.value = p.done / p.total;
    },
  };
  return p;
}

// Peak 0.0003: the shipped models are trained to convergence and Adam starts fine-tuning with fresh moments, so its
// first steps move every weight by about the learning rate; at 0.001 one epoch on 640 new scenes took the shipped FCN
// from 0.872 to 0.852 held-out mean IoU, at 0.0003 it holds (0.870; SegNet 0.893 -> 0.895).
const FINE_TUNE_PEAK = 0.0003;
const FINE_TUNE_SCENES = 320; // 20 batches of 16: a multiple of the form's step
ui.tuneLr.value = String(FINE_TUNE_PEAK); // the form's defaults: one source for the page and for fineTune()
ui.tuneCount.value = String(FINE_TUNE_SCENES);

/**
 * Trains the loaded model on `count` new generated scenes (recipes/segmentation.js's train: Adam, one-cycle schedule
 * up to `peakLearningRate`) in a worker, or in the page without one; then puts the trained model in place, measures
 * it on the held-out scenes and segments the input again. Stop before the first batch leaves the model as it was.
 */
async function fineTune({ count = FINE_TUNE_SCENES, epochs = 1, batchSize = 16, peakLearningRate = FINE_TUNE_PEAK } = {}) {
  if (document.body.dataset.state !== 'ready') throw new Error(`fineTune: the page is ${document.body.dataset.state}, not ready`);
  const entry = shipped.get(arch);
  const m = model;
  clearError();
  setState('busy');
  const stop = new AbortController();
  abort = stop;
  runGivenUp = false;
  tuneLogs = [];
  tuneRuns++;
  tunedIn = null;
  ui.progress.textContent = `Starting a worker and generating ${count} scenes…`;
  ui.meter.removeAttribute('value'); // indeterminate until the first batch
  const run = {
    arch, size: SIZE, count, epochs, batchSize, peakLearningRate,
    sceneSeed: 10_000 * (tuneRuns + 1), // new scenes every run, none of them seen in training or shown as scenes
    fitSeed: tuneRuns,
  };
  const progress = tuneProgress(run);
  let out;
  try {
    out = await runFineTune(cnn, m, run, {
      signal: stop.signal,
      onTraining: progress.start,
      onBatch: progress.batch,
      onWorker: (w) => { tuneWorker = w; },
    });
  } catch (err) {
    if (runGivenUp) return null; // fail() ended this run and has shown why
    throw err;
  }
  if (runGivenUp) {
    if (out.trained !== m) out.trained.dispose();
    return null;
  }
  abort = null;
  const { done, total } = progress;
  const seconds = progress.seconds();
  if (out.trained === m) { // stopped before the first batch: nothing changed
    ui.progress.textContent = 'Stopped before training started: the model is unchanged.';
    ui.meter.value = 0;
    setState('ready');
    segmentInput();
    return { stopped: true, batches: 0, total, seconds: 0, logs: tuneLogs, history: null, heldOut: entry.heldOut, ranIn: null };
  }
  entry.model = model = out.trained;
  m.dispose();
  const stopped = stop.signal.aborted;
  entry.tuned = true;
  entry.before ??= entry.heldOut;
  const scenes = Math.min(count * epochs, done * batchSize);
  const summary = `${stopped ? 'Stopped' : 'Fine-tuned'} after ${done} of ${total} batches (${scenes} scenes) in ` +
    `${seconds.toFixed(1)} s in ${out.ranIn === 'worker' ? 'a worker' : 'the page'}`;
  ui.progress.textContent = `${summary}. Measuring on held-out scenes…`;
  entry.heldOut = await measure(model);
  showHeldOut(entry);
  showModelInfo(entry);
  const lastLog = tuneLogs.at(-1);
  ui.progress.textContent = `${summary}; last batch: loss ${lastLog.loss.toFixed(3)}, mIoU ${lastLog.meanIoU.toFixed(3)}.`;
  setState('ready');
  segmentInput();
  return { stopped, batches: done, total, seconds, logs: tuneLogs, history: out.history, heldOut: entry.heldOut, ranIn: out.ranIn };
}

ui.tuneForm.addEventListener('submit', (e) => {
  e.preventDefault();
  let options;
  try {
    options = readTuneOptions();
  } catch (err) {
    showError(err, { transient: true });
    return;
  }
  fineTune(options).catch(fail);
});
ui.stop.addEventListener('click', () => abort?.abort());

ui.reset.addEventListener('click', async () => {
  const entry = shipped.get(arch);
  setState('loading');
  try {
    const fresh = await cnn.loadModel(entry.bytes);
    entry.model.dispose();
    Object.assign(entry, { model: fresh, tuned: false, heldOut: null, before: undefined });
    ui.progress.textContent = 'Not fine-tuned yet.';
    ui.meter.value = 0;
    await selectModel(arch);
  } catch (err) {
    fail(err);
  }
});

ui.save.addEventListener('click', () => {
  const entry = shipped.get(arch);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([model.save()], { type: 'application/octet-stream' }));
  a.download = `${arch}-shapes${entry.tuned ? '-finetuned' : ''}.wcnn`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

// ---- start ------------------------------------------------------------------------------------------------------

window.__seg = {
  cnn,
  get model() { return model; },
  get arch() { return arch; },
  get tuneLogs() { return tuneLogs; },
  get tunedIn() { return tunedIn; },
  get tuneWorker() { return tuneWorker; },
  get heldOut() { return shipped.get(arch)?.heldOut ?? null; },
  get download() { const e = shipped.get(arch); return e ? downloadInfo(e) : null; },
  get current() { return current && { kind: current.kind, seed: current.seed, hasTruth: !!current.truth }; },
  palette: Array.from(PALETTE),
  classNames: [...CLASS_NAMES],
  /** Shows generated scene `seed` and segments it: { seed, meanIoU, pixelAccuracy, perClass, timeMs, width,
   *  height, classes (predicted), mask (expected) } with class maps as plain arrays. */
  segmentScene(seed) {
    const out = segmentScene(seed);
    if (!out) throw new Error(`segmentScene: nothing was segmented: the page is ${document.body.dataset.state}, not ready`);
    const { result, score } = out;
    return { seed, meanIoU: score.meanIoU, pixelAccuracy: score.pixelAccuracy, perClass: score.perClass,
      timeMs: result.timeMs, width: result.width, height: result.height, classes: Array.from(result.classes),
      mask: Array.from(current.truth) };
  },
  selectModel: (name) => selectModel(name),
  fineTune: (options) => fineTune(options),
  stop: () => abort?.abort(),
  scoreMasks: (pred, truth) => scoreMasks(pred, truth),
  alpha,
};

async function init() {
  setState('loading');
  ui.modelInfo.textContent = 'Loading the engine…';
  await cnn.ready();
  showScene(FIRST_SCENE_SEED);
  await selectModel(arch);
}

init().catch(fail);
