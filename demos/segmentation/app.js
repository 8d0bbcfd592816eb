/**
 * Segmentation demo page: a pretrained SegNet or FCN (demos/models/<arch>-shapes.wcnn, written by
 * tools/train-segmentation.js) segments generated shapes scenes, drawings and dropped images; the mask is overlaid on
 * the image, with a legend, the time model.segment took and, for generated scenes, the ground truth and the mean IoU.
 * A fine-tune button trains the loaded model further on new generated scenes (recipes.train, low peak), in a module
 * worker (fine-tune-worker.js) so that the page keeps answering, or on the page's thread where no worker can start.
 *
 * document.body.dataset.state: 'loading' (engine / model) → 'ready' ⇄ 'busy' (fine-tuning), or 'error'.
 * window.__seg exposes { cnn, model, arch, segmentScene(seed), selectModel(arch), fineTune(options), stop(),
 * tuneLogs, tunedIn ('worker' | 'page': where the last fine-tune ran), heldOut, scoreMasks, palette } for tests and
 * the console.
 */
import * as cnn from '../../web/index.js';
import { fineTune as fineTuneModel } from './fine-tune-worker.js';
import * as scoring from './scoring.js';

const SIZE = 64;                 // the scenes' and the models' input size
const HELD_OUT = { seed: 1001, count: 100 }; // the first 100 of tools/train-segmentation.js's held-out scenes
const FIRST_SCENE_SEED = 2001;   // scenes shown in the page: seeds that training never used (it used seed 1)
const DRAW_SIZE = 256;           // the drawing canvas; its background is a 64×64 scene background scaled ×4
const MAX_IMAGE_SIDE = 512;      // dropped images are scaled down to this before segmenting and display
const VIEW = 256;                // CSS pixels of each view
const WORKER_URL = new URL('./fine-tune-worker.js', import.meta.url);
const MODEL_URL = (arch) => new URL(`../models/${arch}-shapes.wcnn`, import.meta.url);
const ARCH_NAMES = { segnet: 'SegNet', fcn: 'FCN-8s' };
const ARCH_NOTES = { segnet: 'encoder–decoder, upsampled by max-unpooling', fcn: 'fully convolutional, 8× upsampling with skips' };
const CLASS_NAMES = cnn.data.SHAPE_CLASSES;
const NUM_CLASSES = CLASS_NAMES.length;
const PALETTE = cnn.data.palette(NUM_CLASSES); // RGBA bytes per class; background transparent
const INK = ['#e6194b', '#ffe119', '#4363d8', '#3cb44b', '#f58231', '#ffffff', '#111111'];

const $ = (id) => document.getElementById(id);
const ui = {
  arch: $('arch'), modelInfo: $('model-info'), error: $('error'),
  newScene: $('new-scene'), seed: $('seed'), segmentSeed: $('segment-seed'),
  tools: $('tools'), colours: $('colours'), clear: $('clear'), drop: $('drop'), input: $('input'), file: $('file'),
  source: $('source'),
  overlay: $('overlay'), truth: $('truth'), noTruth: $('no-truth'), alpha: $('alpha'), maskOnly: $('mask-only'),
  legend: $('legend'), time: $('time'), miou: $('miou'), pixacc: $('pixacc'),
  tuneForm: $('tune-form'), tuneCount: $('tune-count'), tuneEpochs: $('tune-epochs'), tuneBatch: $('tune-batch'),
  tuneLr: $('tune-lr'), tune: $('tune'), stop: $('stop'), progress: $('progress'), meter: $('meter-fill'),
  heldout: $('heldout'), reset: $('reset'), save: $('save'),
};
const ctx2d = (canvas) => canvas.getContext('2d', { willReadFrequently: true });
const inputCtx = ctx2d(ui.input);
const overlayCtx = ctx2d(ui.overlay);
const truthCtx = ctx2d(ui.truth);

// ---- state ------------------------------------------------------------------------------------------------------

let arch = ui.arch.value;
let model = null;
const shipped = new Map();   // arch → { bytes, model, heldOut } (the shipped file's bytes, for "reset")
/** What the input canvas shows: { kind: 'scene' | 'drawing' | 'image', label, seed?, truth?: Int32Array }. */
let current = null;
let last = null;             // the last segmentation: { result, score? }
let abort = null;            // AbortController of a running fine-tune
let tuneRuns = 0;
let tuneLogs = [];           // per-batch { loss, pixelAccuracy, meanIoU } of the last fine-tune
let tunedIn = null;          // where the last fine-tune ran: 'worker', or 'page' without module workers
let cancelWorker = null;     // ends the running fine-tune worker (fail() calls it)
let pendingSegment = false;
let lastSceneSeed = null;    // "New scene" shows the next seed

function setState(state) {
  document.body.dataset.state = state;
  const ready = state === 'ready';
  for (const el of [ui.newScene, ui.segmentSeed, ui.tune, ui.reset, ui.save, ui.file, ui.arch]) el.disabled = !ready;
  ui.stop.disabled = state !== 'busy';
  for (const el of ui.tuneForm.querySelectorAll('input')) el.disabled = state === 'busy';
}

function fail(err) {
  console.error(err);
  showError(err);
  cancelWorker?.();
  abort = null;
  setState('error');
  ui.arch.disabled = false; // switching the model is the way out of a failed load
  if (!model) ui.modelInfo.textContent = 'No model loaded: pick one to try again.';
}

function showError(err) {
  ui.error.textContent = `Error: ${err?.message ?? err}`;
  ui.error.hidden = false;
}

function clearError() { ui.error.hidden = true; }

window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));

// ---- models -----------------------------------------------------------------------------------------------------

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
    ui.modelInfo.textContent = `Loading ${ARCH_NAMES[name]}…`;
    const url = MODEL_URL(name);
    const t0 = performance.now();
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(`could not fetch ${url.pathname} (HTTP ${response.status}); run ` +
        '`node tools/train-segmentation.js` to write the models to demos/models/');
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    entry = { bytes, model: await cnn.loadModel(bytes), loadMs: performance.now() - t0, heldOut: null, tuned: false };
    shipped.set(name, entry);
  }
  if (arch !== name) return; // another selection started meanwhile
  model = entry.model;
  showModelInfo(entry);
  if (entry.heldOut === null) {
    ui.heldout.textContent = 'measuring…';
    entry.heldOut = await heldOutScore(model);
  }
  showHeldOut(entry);
  ui.progress.textContent = entry.tuned ? ui.progress.textContent : 'Not fine-tuned yet.';
  setState('ready');
  segmentInput();
}

function showModelInfo(entry) {
  const [h, w, c] = model.inputs[0].sampleShape;
  const kb = Math.round(entry.bytes.length / 1024);
  ui.modelInfo.textContent = `${ARCH_NOTES[arch]} · ${model.countParams().toLocaleString('en')} parameters · ` +
    `input ${h}×${w}×${c} · demos/models/${arch}-shapes.wcnn (${kb} KB)` + (entry.tuned ? ' · fine-tuned in this page' : '');
}

function showHeldOut(entry) {
  const s = entry.heldOut;
  ui.heldout.textContent = `${s.meanIoU.toFixed(3)} on ${s.count} scenes (pixel accuracy ${(s.pixelAccuracy * 100).toFixed(1)}%)` +
    (entry.before ? ` · was ${entry.before.meanIoU.toFixed(3)} before fine-tuning` : '');
}

let heldOutSet = null;
/**
 * Mean IoU of `model` on the held-out scenes, over all their pixels (as model.evaluate's meanIoU), predicted in
 * small chunks with a yield between them so the page keeps painting.
 */
async function heldOutScore(m) {
  heldOutSet ??= cnn.data.shapes({ count: HELD_OUT.count, size: SIZE, seed: HELD_OUT.seed });
  const set = heldOutSet;
  const px = set.height * set.width;
  const counts = new Float64Array(NUM_CLASSES * 3); // [tp, predicted, true] per class
  let correct = 0;
  // 2 scenes take 15–50 ms (FCN), so the page keeps answering while it measures, also right after fine-tuning; the
  // scores do not depend on the chunk size (predictions are per scene), nor does the total time.
  const chunk = 2;
  for (let start = 0; start < set.count; start += chunk) {
    // Yield first, so that a chunk never runs in the same task as the caller's work (loading the fine-tuned model).
    await new Promise((r) => setTimeout(r));
    const n = Math.min(chunk, set.count - start);
    const x = cnn.tensor(set.images.subarray(start * px * 3, (start + n) * px * 3), [n, set.height, set.width, 3]);
    const y = m.predict(x);
    const probs = y.dataSync();
    x.dispose();
    y.dispose();
    const pred = scoring.argmax(probs, NUM_CLASSES);
    const truth = set.masks.subarray(start * px, (start + n) * px);
    correct += scoring.accumulate(counts, pred, truth, NUM_CLASSES);
  }
  return { ...scoring.iouFromCounts(counts, NUM_CLASSES), pixelAccuracy: correct / (set.count * px), count: set.count };
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));

/** Scores of one class map against the expected one: mean IoU, per-class IoU, pixel accuracy. */
const scoreMasks = (pred, truth) => scoring.scoreMasks(pred, truth, NUM_CLASSES);

// ---- inputs: scenes, drawings, images ---------------------------------------------------------------------------

/** Sizes a canvas's CSS box to fit VIEW×VIEW, keeping its aspect; small canvases are scaled up without smoothing. */
function fitView(canvas) {
  const scale = VIEW / Math.max(canvas.width, canvas.height);
  canvas.style.width = `${Math.round(canvas.width * scale)}px`;
  canvas.style.height = `${Math.round(canvas.height * scale)}px`;
  canvas.style.imageRendering = scale >= 1 ? 'pixelated' : 'auto';
}

/** RGBA bytes of a generated image (floats in [0, 1], RGB) as ImageData. */
function toImageData(images, index, width, height) {
  const px = width * height;
  const out = new ImageData(width, height);
  const src = images.subarray(index * px * 3, (index + 1) * px * 3);
  for (let p = 0; p < px; p++) {
    out.data[4 * p] = Math.round(src[3 * p] * 255);
    out.data[4 * p + 1] = Math.round(src[3 * p + 1] * 255);
    out.data[4 * p + 2] = Math.round(src[3 * p + 2] * 255);
    out.data[4 * p + 3] = 255;
  }
  return out;
}

/** Puts generated scene `seed` (64×64, cnn.data.shapes) on the input canvas, with its ground truth. */
function showScene(seed) {
  const set = cnn.data.shapes({ count: 1, size: SIZE, seed });
  ui.input.width = set.width;
  ui.input.height = set.height;
  inputCtx.putImageData(toImageData(set.images, 0, set.width, set.height), 0, 0);
  fitView(ui.input);
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
  fitView(ui.input);
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
  fitView(ui.input);
  current = { kind: 'image', label: `${file.name}, ${ui.input.width}×${ui.input.height} pixels` +
    `${scale < 1 ? ' (scaled down)' : ''}, segmented at ${SIZE}×${SIZE}` };
}

// ---- segmentation and display -----------------------------------------------------------------------------------

/** Segments what the input canvas shows, draws the overlay, the ground truth, the legend and the scores. */
function segmentInput() {
  if (!current) return null;
  ui.source.textContent = current.label;
  drawTruth();
  if (!model || document.body.dataset.state === 'busy') {
    ui.time.textContent = document.body.dataset.state === 'busy' ? 'paused while fine-tuning' : '–';
    copyInput(overlayCtx, ui.overlay);
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
  drawLegend(result, score);
  return { result, score };
}

function copyInput(ctx, canvas) {
  canvas.width = ui.input.width;
  canvas.height = ui.input.height;
  ctx.drawImage(ui.input, 0, 0);
  fitView(canvas);
}

const alpha = () => Number(ui.alpha.value);

function paint(ctx, canvas, mask) {
  copyInput(ctx, canvas);
  if (ui.maskOnly.checked) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const small = cnn.browser.maskToImageData(mask, PALETTE);
    const tmp = new OffscreenCanvas(small.width, small.height);
    tmp.getContext('2d').putImageData(small, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  } else {
    cnn.browser.overlay(canvas, mask, { alpha: alpha(), palette: PALETTE });
  }
}

function drawOverlay() {
  if (last) paint(overlayCtx, ui.overlay, last.result);
}

function drawTruth() {
  const has = !!current?.truth;
  ui.noTruth.hidden = has;
  ui.truth.hidden = !has;
  if (has) paint(truthCtx, ui.truth, { width: ui.input.width, height: ui.input.height, classes: current.truth });
}

function drawLegend(result, score) {
  const n = result.classes.length;
  const share = new Array(NUM_CLASSES).fill(0);
  for (const c of result.classes) share[c]++;
  ui.legend.replaceChildren(...CLASS_NAMES.map((name, c) => {
    const li = document.createElement('li');
    const [r, g, b, a] = PALETTE.subarray(4 * c, 4 * c + 4);
    const sw = document.createElement('span');
    sw.className = a === 0 ? 'swatch clear' : 'swatch';
    if (a) sw.style.background = `rgb(${r} ${g} ${b})`;
    const label = document.createElement('span');
    label.className = 'name';
    label.textContent = name;
    const pct = document.createElement('span');
    pct.className = 'num';
    pct.textContent = `${((share[c] / n) * 100).toFixed(0)}%`;
    pct.title = 'share of the pixels predicted as this class';
    const iou = document.createElement('span');
    iou.className = 'num';
    const v = score?.perClass[c];
    iou.textContent = score ? (v === null ? 'IoU –' : `IoU ${v.toFixed(2)}`) : '';
    li.append(sw, label, pct, iou);
    return li;
  }));
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

let tool = 'circle';
let ink = INK[0];
let drag = null; // { start: [x, y], last: [x, y], snapshot: ImageData }

for (const colour of INK) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'swatch-button';
  b.style.background = colour;
  b.title = colour;
  b.setAttribute('aria-pressed', String(colour === ink));
  b.setAttribute('aria-label', `colour ${colour}`);
  b.addEventListener('click', () => {
    ink = colour;
    for (const o of ui.colours.children) o.setAttribute('aria-pressed', String(o === b));
  });
  ui.colours.append(b);
}
ui.tools.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-tool]');
  if (!b) return;
  tool = b.dataset.tool;
  for (const o of ui.tools.querySelectorAll('button')) o.setAttribute('aria-pressed', String(o === b));
});

function canvasPoint(e) {
  const r = ui.input.getBoundingClientRect();
  return [((e.clientX - r.left) * ui.input.width) / r.width, ((e.clientY - r.top) * ui.input.height) / r.height];
}

/** Drawing turns a scene or an image into a drawing: its ground truth no longer applies. */
function startDrawing() {
  if (current?.kind === 'drawing') return;
  const what = current?.kind === 'scene' ? `scene ${current.seed}` : 'your image';
  current = { kind: 'drawing', label: `Your drawing on ${what}, ${ui.input.width}×${ui.input.height} pixels` };
}

function drawShape(from, to) {
  const g = inputCtx;
  const unit = ui.input.width / DRAW_SIZE; // sizes in drawing-canvas pixels
  g.fillStyle = g.strokeStyle = ink;
  g.imageSmoothingEnabled = true;
  const [x0, y0] = from;
  const [x1, y1] = to;
  g.beginPath();
  if (tool === 'circle') {
    g.arc(x0, y0, Math.max(2 * unit, Math.hypot(x1 - x0, y1 - y0)), 0, 2 * Math.PI);
    g.fill();
  } else if (tool === 'rectangle') {
    g.rect(Math.min(x0, x1), Math.min(y0, y1), Math.max(2 * unit, Math.abs(x1 - x0)), Math.max(2 * unit, Math.abs(y1 - y0)));
    g.fill();
  } else if (tool === 'triangle') {
    // Apex at the start point's row, centred; base along the pointer's row.
    g.moveTo((x0 + x1) / 2, y0);
    g.lineTo(x1, y1);
    g.lineTo(x0, y1);
    g.closePath();
    g.fill();
  }
}

ui.input.addEventListener('pointerdown', (e) => {
  if (e.button !== 0) return;
  e.preventDefault();
  ui.input.setPointerCapture(e.pointerId);
  startDrawing();
  const p = canvasPoint(e);
  drag = { start: p, last: p, snapshot: inputCtx.getImageData(0, 0, ui.input.width, ui.input.height) };
  if (tool === 'brush') brushTo(p);
  else drawShape(p, p);
  scheduleSegment();
});
ui.input.addEventListener('pointermove', (e) => {
  if (!drag) return;
  if (tool === 'brush') {
    for (const ev of e.getCoalescedEvents?.() ?? [e]) brushTo(canvasPoint(ev));
  } else {
    inputCtx.putImageData(drag.snapshot, 0, 0); // the shape follows the pointer until it is released
    drawShape(drag.start, canvasPoint(e));
  }
  scheduleSegment();
});
const endDrag = () => {
  if (!drag) return;
  drag = null;
  scheduleSegment();
};
ui.input.addEventListener('pointerup', endDrag);
ui.input.addEventListener('pointercancel', endDrag);

function brushTo(p) {
  const g = inputCtx;
  g.strokeStyle = ink;
  g.lineWidth = 14 * (ui.input.width / DRAW_SIZE);
  g.lineCap = g.lineJoin = 'round';
  g.beginPath();
  g.moveTo(...drag.last);
  g.lineTo(...p);
  g.stroke();
  drag.last = p;
}

ui.clear.addEventListener('click', () => {
  clearDrawing();
  segmentInput();
});

// ---- files: input and drag-and-drop -----------------------------------------------------------------------------

async function openFile(file) {
  if (!file) return;
  if (document.body.dataset.state !== 'ready') {
    showError(`wait until the page is ready (it is ${document.body.dataset.state}) before opening an image`);
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
 * Progress of one fine-tune, fed after each batch by the worker's messages or by fit's callback in the page: tuneLogs,
 * the progress line (debiased moving averages of loss and mean IoU, scenes per second) and the meter.
 */
function tuneProgress({ count, epochs, batchSize }) {
  const batches = Math.ceil(count / batchSize);
  const ema = { loss: 0, miou: 0, n: 0 };
  const p = {
    total: batches * epochs,
    done: 0,
    t0: performance.now(),
    start() { p.t0 = performance.now(); }, // once the scenes are made
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
      ui.meter.style.width = `${((100 * p.done) / p.total).toFixed(1)}%`;
    },
  };
  return p;
}

/**
 * Fine-tunes a copy of `m` in a module worker (fine-tune-worker.js), so that the page keeps answering while it trains;
 * resolves to { trained, history } with `trained` a new model (`m` itself when stopped before training began),
 * to { cancelled: true } when fail() ended it, or to null when no worker could be started.
 */
function tuneInWorker(m, run, signal, progress) {
  const bytes = m.save();
  let worker;
  try {
    worker = new Worker(WORKER_URL, { type: 'module' });
  } catch (err) {
    console.warn(`fine-tuning in the page: could not start a module worker (${err.message})`);
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    let heard = false;
    let training = false;
    let settled = false;
    const finish = (settle, value) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', stop);
      worker.terminate();
      if (cancelWorker === cancel) cancelWorker = null;
      settle(value);
    };
    // Stop before training began (scenes still being made, or a worker stuck loading): nothing to wait for, the page
    // keeps its model. Once it trains, the worker stops after the batch in progress and sends what it has.
    function stop() {
      if (training) worker.postMessage({ type: 'stop' });
      else finish(resolve, { trained: m, history: null });
    }
    // fail() ends a run whose page has given up on it (an unexpected error elsewhere, already shown).
    const cancel = () => finish(resolve, { cancelled: true });
    cancelWorker = cancel;
    signal.addEventListener('abort', stop);
    worker.onmessage = ({ data }) => {
      heard = true;
      if (settled) return;
      if (data.type === 'training') {
        training = true;
        tunedIn = 'worker';
        progress.start();
      } else if (data.type === 'batch') {
        progress.batch(data.epoch, data.batch, data.logs);
      } else if (data.type === 'done') {
        cnn.loadModel(data.bytes).then((trained) => {
          if (settled) trained.dispose(); // cancelled while loading
          else finish(resolve, { trained, history: data.history });
        }, (err) => finish(reject, err));
      } else if (data.type === 'error') {
        finish(reject, new Error(data.message));
      }
    };
    // An error before the worker said anything means it could not start (a browser without module workers, or its
    // script failed to load): the caller trains in the page instead. Later ones are the run's own.
    worker.onerror = (e) => {
      e.preventDefault();
      if (heard) {
        finish(reject, new Error(e.message || 'the fine-tune worker stopped with an error'));
      } else {
        console.warn(`fine-tuning in the page: the module worker did not start (${e.message || 'no message'})`);
        finish(resolve, null);
      }
    };
    try {
      worker.postMessage({ type: 'start', bytes, run }, [bytes.buffer]);
    } catch (err) {
      finish(reject, err);
    }
    // An abort event does not reach listeners added after it fired: Stop pressed while the page was getting ready.
    if (signal.aborted) stop();
  });
}

/** The fallback: the same run on the page's thread, which then freezes for one batch at a time. */
async function tuneInPage(m, run, signal, progress) {
  tunedIn = 'page';
  const history = await fineTuneModel(m, run, {
    signal,
    onTraining: progress.start,
    async onBatch(epoch, batch, logs) {
      progress.batch(epoch, batch, logs);
      // fit yields to the event loop between batches, but a busy page may get no frame painted; wait for one (not in
      // a hidden tab, where animation frames do not come).
      if (!document.hidden) await nextFrame();
    },
  });
  return { trained: m, history };
}

// Peak 0.0003: the shipped models are trained to convergence and Adam starts fine-tuning with fresh moments, so its
// first steps move every weight by about the learning rate; at 0.001 one epoch on 640 new scenes took the shipped FCN
// from 0.872 to 0.852 held-out mean IoU, at 0.0003 it holds (0.870; SegNet 0.893 -> 0.895).
const FINE_TUNE_PEAK = 0.0003;
ui.tuneLr.value = String(FINE_TUNE_PEAK); // the form's default: one source for the page and for fineTune()

/**
 * Trains the loaded model on `count` new generated scenes (fine-tune-worker.js's fineTune: recipes.train with Adam,
 * one-cycle schedule up to `peakLearningRate`) in a worker, or in the page without one; then puts the trained model in
 * place, measures it on the held-out scenes and segments the input again.
 */
async function fineTune({ count = 200, epochs = 1, batchSize = 16, peakLearningRate = FINE_TUNE_PEAK } = {}) {
  if (document.body.dataset.state !== 'ready') throw new Error(`fineTune: the page is ${document.body.dataset.state}, not ready`);
  const entry = shipped.get(arch);
  const m = model;
  clearError();
  setState('busy');
  abort = new AbortController();
  tuneLogs = [];
  tuneRuns++;
  tunedIn = null;
  ui.progress.textContent = `Generating ${count} scenes…`;
  ui.meter.style.width = '0%';
  await new Promise((r) => setTimeout(r, 20)); // let the status paint
  const run = {
    arch, size: SIZE, count, epochs, batchSize, peakLearningRate,
    sceneSeed: 10_000 * (tuneRuns + 1), // new scenes every run, none of them seen in training or shown as scenes
    fitSeed: tuneRuns,
  };
  const progress = tuneProgress(run);
  const { trained, history, cancelled } = await tuneInWorker(m, run, abort.signal, progress) ??
    await tuneInPage(m, run, abort.signal, progress);
  if (cancelled) return null; // fail() gave up on this run and has shown why
  if (trained !== m) {
    entry.model = model = trained;
    m.dispose();
  }
  const stopped = abort.signal.aborted;
  abort = null;
  const { done, total } = progress;
  const seconds = progress.seconds();
  entry.tuned = true;
  entry.before ??= entry.heldOut;
  const summary = `${stopped ? 'Stopped' : 'Fine-tuned'} after ${done} of ${total} batches (${done * batchSize > count * epochs ? count * epochs : done * batchSize} scenes) in ${seconds.toFixed(1)} s`;
  ui.progress.textContent = `${summary}. Measuring on held-out scenes…`;
  ui.heldout.textContent = 'measuring…';
  entry.heldOut = await heldOutScore(model);
  showHeldOut(entry);
  showModelInfo(entry);
  const lastLog = tuneLogs.at(-1);
  ui.progress.textContent = `${summary}; last batch: loss ${lastLog ? lastLog.loss.toFixed(3) : '–'}, ` +
    `mIoU ${lastLog ? lastLog.meanIoU.toFixed(3) : '–'}.`;
  setState('ready');
  segmentInput();
  return { stopped, batches: done, total, seconds, logs: tuneLogs, history, heldOut: entry.heldOut, ranIn: tunedIn };
}

ui.tuneForm.addEventListener('submit', (e) => {
  e.preventDefault();
  let options;
  try {
    options = readTuneOptions();
  } catch (err) {
    showError(err);
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
  get heldOut() { return shipped.get(arch)?.heldOut ?? null; },
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
