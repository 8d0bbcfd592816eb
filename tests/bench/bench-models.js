// Zoo and segmentation models for tests/bench/bench.js: whole networks (ResNet-20 and GoogLeNet-mini, 32x32x3, 10
// classes; FCN-8s and SegNet, 4 classes), inference at batch 1 against tfjs-wasm (segmentation: 256x256x3) and one SGD
// training step (batch 32; segmentation: batch 8 of 64x64x3) against tfjs-cpu, and their tables.
//
// - The tfjs model is rebuilt layer by layer from our model.getConfig() (tests/bench/tfjs-models.js) and gets our
//   weights with one setWeights (same order); outputs must agree to 1e-4 (relative to the largest) before timing.
//   Inference: ours model.predict vs tfjs LayersModel.predict + dataSync(). Training: ours model.fit over exactly one
//   batch per call, tfjs model.trainOnBatch, both SGD; the first-step losses are compared. A tfjs-cpu training step
//   costs ~8 s (ResNet-20) to ~60 s (GoogLeNet-mini) per 32x32 image, 96-99% of it in its Conv2DBackpropFilter kernel,
//   and grows linearly with the batch (ResNet-20, batch 32: 241 s measured, 16 x the batch-2 step = 260 s), so by
//   default tfjs-cpu runs steps of batch 1 (2 steps; GoogLeNet-mini 1, none with --quick) and the model's batch is
//   extrapolated (marked "~" / "est."); ours is timed at the model's batch and at batch 1 (the measured-on-both-sides
//   rows). --tfjs-train-batch n times tfjs at batch n instead (minutes per step).
// - SegNet: tfjs has no max-unpooling, so the tfjs model has upSampling2d (nearest) in place of each maxUnpooling2d and
//   plain max pooling; ours runs both its SegNet and that same variant ("upSampling2d" rows: identical networks, on
//   which the output and loss checks are made).
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import {
  compareNamed, summarize, cpuMs, timed, randomArray, maxAbs, maxAbsDiff, table, fmtMs, fmtNum, fmtRatio, fmtSpread,
} from './timing.js';
import { rebuild, copyAllWeights } from './tfjs-models.js';
import { ortSession, checkOrt } from './ort.js';

const ZOO_LR = 0.01;
const ZOO_SEED = 11;

/**
 * The models. inferShape / trainShape: input of the inference (batch 1) and training cases; trainBatch: batch of
 * the training step; substitute: tfjs lacks a layer (max-unpooling), so tfjs runs a variant (upSampling2d) and ours
 * runs both our model and the same variant.
 */
const MODEL_CASES = [
  { key: 'resnet20', name: 'ResNet-20', spec: 'cnn.zoo.resnet({ depth: 20 })',  section: 'zoo', classes: 10, inferShape: [32, 32, 3], trainShape: [32, 32, 3], trainBatch: 32,
    build: (inputShape) => cnn.zoo.resnet({ depth: 20, inputShape, numClasses: 10, seed: ZOO_SEED }) },
  { key: 'googlenet', name: 'GoogLeNet-mini', spec: 'cnn.zoo.googlenet() defaults',  section: 'zoo', classes: 10, inferShape: [32, 32, 3], trainShape: [32, 32, 3], trainBatch: 32,
    build: (inputShape) => cnn.zoo.googlenet({ inputShape, seed: ZOO_SEED }) },
  { key: 'fcn', name: 'FCN-8s', spec: 'cnn.zoo.fcn defaults: depth 4, width 16, variant 8s',  section: 'segmentation', classes: 4, inferShape: [256, 256, 3], trainShape: [64, 64, 3], trainBatch: 8,
    build: (inputShape) => cnn.zoo.fcn({ inputShape, numClasses: 4, seed: ZOO_SEED }) },
  { key: 'segnet', name: 'SegNet', spec: 'cnn.zoo.segnet defaults: depth 3, width 16',  section: 'segmentation', classes: 4, inferShape: [256, 256, 3], trainShape: [64, 64, 3], trainBatch: 8,
    substitute: true, build: (inputShape) => cnn.zoo.segnet({ inputShape, numClasses: 4, seed: ZOO_SEED }) },
];
const SUBSTITUTE_NOTE = 'tfjs has no max-unpooling: its SegNet has upSampling2d (nearest) in place of each maxUnpooling2d ' +
  'and plain maxPooling2d; "SegNet, upSampling2d" rows run that same variant in ours (identical networks)';
const inferName = (c) => `${c.name} inference, ${c.inferShape.slice(0, 2).join('x')}, batch 1`;
const trainName = (c) => `${c.name} train step, ${c.trainShape.slice(0, 2).join('x')}, batch ${c.trainBatch}`;
const size = (shape) => shape.reduce((a, b) => a * b, 1);

/** Random biases, batch-norm statistics and all-zero kernels, so that every weight matters in the output check. */
function randomiseForCheck(model, seed) {
  const names = model.weightNames();
  const ws = model.getWeights();
  const fresh = ws.map((w, i) => {
    const name = names[i];
    const data = w.dataSync();
    if (name.endsWith('/kernel') && maxAbs(data) > 0) return w;
    const r = randomArray(w.size, seed + i, 1);
    if (name.endsWith('/moving_variance')) return cnn.tensor(r.map((v) => 1 + 0.5 * v), w.shape);
    if (name.endsWith('/gamma')) return cnn.tensor(r.map((v) => 1 + 0.3 * v), w.shape);
    return cnn.tensor(r.map((v) => 0.1 * v), w.shape);
  });
  model.setWeights(fresh);
  ws.forEach((w) => w.dispose());
  fresh.forEach((w) => { if (!ws.includes(w)) w.dispose(); });
}

function relMaxDiff(a, b) {
  return maxAbsDiff(a, b) / Math.max(1e-12, maxAbs(b));
}

/** Our variant of a model with tfjs's substitutions (same weights), built. */
function oursSubstitute(model) {
  const { model: m } = rebuild(cnn, model.getConfig(), { unpooling: 'upSampling2d', seed: ZOO_SEED });
  m.build();
  copyAllWeights(tf, model, m, false);
  return m;
}

async function benchModelInference(c, cfg, withOrt) {
  await tf.setBackend('wasm');
  const ours = c.build(c.inferShape);
  ours.build();
  randomiseForCheck(ours, 101);
  const config = ours.getConfig();
  const { model: theirs, substituted } = rebuild(tf, config, { unpooling: c.substitute ? 'upSampling2d' : 'error' });
  copyAllWeights(tf, ours, theirs, true);
  const same = c.substitute ? oursSubstitute(ours) : null;
  const params = { ours: ours.countParams(), tfjs: theirs.countParams() };
  if (params.ours !== params.tfjs) throw new Error(`${c.name}: ${params.ours} parameters in ours, ${params.tfjs} in tfjs`);

  const shape = [1, ...c.inferShape];
  const xData = randomArray(size(shape), 21, 0.5).map((v) => v + 0.5);
  const x = cnn.tensor(xData, shape);
  const tx = tf.tensor(xData, shape);
  // Same computation? ours (or our variant with tfjs's substitutions) and tfjs, with the same weights.
  const ref = (same ?? ours).predict(x);
  const yt = theirs.predict(tx);
  const relDiff = relMaxDiff(ref.dataSync(), yt.dataSync());
  ref.dispose(); yt.dispose();
  if (!(relDiff <= 1e-4)) throw new Error(`${c.name}: outputs differ from tfjs by ${relDiff.toExponential(2)} (relative) > 1e-4`);

  // ONNX Runtime runs our own network, SegNet included: MaxPool with its indices output and MaxUnpool are in ONNX and
  // in ORT Web's wasm execution provider. Checked against ours (same weights) before timing.
  let session = null;
  let feeds = null;
  let ortRelDiff = null;
  if (withOrt) {
    session = await ortSession(ours, { batch: 1 });
    feeds = session.feed(xData);
    const y = ours.predict(x);
    ortRelDiff = checkOrt(c.name, y.dataSync(), await session.outputNhwc(feeds));
    y.dispose();
  }

  const res = await compareNamed({
    ours: () => { ours.predict(x).dispose(); },
    tfjs: () => { const y = theirs.predict(tx); y.dataSync(); y.dispose(); },
    same: same && (() => { same.predict(x).dispose(); }),
    ort: session && (() => session.run(feeds)),
  }, cfg);
  const { ours: a, tfjs: b, same: s, ort: o } = res;
  x.dispose(); ours.dispose(); same?.dispose(); tx.dispose(); theirs.dispose();
  await session?.release();
  const ips = (r) => ({ imagesPerSec: 1000 / r.cpu.medianMs });
  return {
    name: inferName(c), key: c.key, kind: 'inference', section: c.section, batch: 1, inputShape: c.inferShape, params: params.ours,
    relDiff, ortRelDiff, substituted, ours: timed(a, ips(a)), tfjs: timed(b, ips(b)), oursSame: s ? timed(s, ips(s)) : null,
    ort: o ? timed(o, ips(o)) : null,
    ratio: b.cpu.medianMs / a.cpu.medianMs, wallRatio: b.wall.medianMs / a.wall.medianMs, pairedRatio: res.pairedRatio('tfjs', 'ours'),
    ratioSame: s ? b.cpu.medianMs / s.cpu.medianMs : null, wallRatioSame: s ? b.wall.medianMs / s.wall.medianMs : null,
    ratioOrt: o ? o.cpu.medianMs / a.cpu.medianMs : null, wallRatioOrt: o ? o.wall.medianMs / a.wall.medianMs : null,
    pairedRatioOrt: o ? res.pairedRatio('ort', 'ours') : null,
  };
}

/** A batch of n random images in [0, 1) and labels: [n] classes, or [n, h, w] masks (blobs) for segmentation. */
function trainingBatch(c, n, seed) {
  const x = randomArray(n * size(c.trainShape), seed, 0.5).map((v) => v + 0.5);
  const [h, w] = c.trainShape;
  const y = c.section === 'segmentation'
    ? Int32Array.from({ length: n * h * w }, (_, i) => (((i % w) >> 4) + ((Math.floor(i / w) % h) >> 4) + Math.floor(i / (h * w))) % c.classes)
    : Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % c.classes);
  return { x, y };
}

/**
 * One training step (SGD, sparse categorical cross-entropy), ours at the model's batch and at the tfjs batch (each
 * call = model.fit over exactly one batch), tfjs-cpu model.trainOnBatch at the tfjs batch (default 1: tfjs-cpu needs
 * 8-60 s per image and step, so the model's batch would take minutes per step; its time is extrapolated linearly).
 * Our calls run in rounds before, between and after the tfjs steps, so that both see similar machine load.
 */
async function benchModelTraining(c, cfg, progress) {
  await tf.setBackend('cpu');
  const B = c.trainBatch;
  const tb = Math.min(cfg.tfjsTrainBatch, B);
  const steps = Math.max(cfg.zooTfjsSteps[c.key], 0);
  const config = (() => { const m = c.build(c.trainShape); const cfg = m.getConfig(); m.dispose(); return cfg; })();
  const hasDropout = config.layers.some((l) => l.className === 'Dropout' && l.config.rate > 0);

  // Models: ours at batch B and at batch tb (separate models: each keeps its buffers for its batch), our variant with
  // tfjs's substitutions at both batches (SegNet), tfjs; all with the same initial weights.
  const base = c.build(c.trainShape);
  base.build();
  const { model: theirs } = rebuild(tf, config, { unpooling: c.substitute ? 'upSampling2d' : 'error' });
  copyAllWeights(tf, base, theirs, true);
  theirs.compile({ optimizer: tf.train.sgd(ZOO_LR), loss: 'sparseCategoricalCrossentropy' });
  const copy = () => { const m = c.build(c.trainShape); m.build(); copyAllWeights(tf, base, m, false); return m; };
  const variants = [{ label: 'ours', big: base, small: tb < B ? copy() : null }];
  if (c.substitute) {
    const big = oursSubstitute(base);
    variants.push({ label: 'ours, upSampling2d', big, small: tb < B ? oursSubstitute(base) : null });
  }
  for (const v of variants) {
    for (const m of [v.big, v.small]) m?.compile({ optimizer: cnn.train.sgd(ZOO_LR), loss: 'sparseCategoricalCrossentropy' });
  }

  const dataB = trainingBatch(c, B, 31);
  const labelShape = (n) => (c.section === 'segmentation' ? [n, ...c.trainShape.slice(0, 2)] : [n]);
  const xB = cnn.tensor(dataB.x, [B, ...c.trainShape]);
  const yB = cnn.tensor(dataB.y, labelShape(B), 'int32');
  const xs = cnn.tensor(dataB.x.subarray(0, tb * size(c.trainShape)), [tb, ...c.trainShape]);
  const ys = cnn.tensor(dataB.y.subarray(0, tb * size(labelShape(1))), labelShape(tb), 'int32');
  // tfjs-layers wants float labels with the output's rank ([n, h, w, 1] for per-pixel labels).
  const tx = tf.tensor(dataB.x.subarray(0, tb * size(c.trainShape)), [tb, ...c.trainShape]);
  const ty = tf.tensor(Float32Array.from(dataB.y.subarray(0, tb * size(labelShape(1)))),
    c.section === 'segmentation' ? [...labelShape(tb), 1] : [tb]);

  const fitOnce = async (m, x, y, n) => (await m.fit(x, y, { epochs: 1, batchSize: n, shuffle: false, seed: 1 })).history.loss[0];
  // Our timed functions: one fit call = one step on one batch.
  const fns = [];
  for (const v of variants) {
    fns.push({ label: v.label, batch: B, run: () => fitOnce(v.big, xB, yB, B), cpu: [], wall: [] });
    if (v.small) fns.push({ label: v.label, batch: tb, run: () => fitOnce(v.small, xs, ys, tb), cpu: [], wall: [] });
  }

  // First steps (warm-up for ours): the loss of the first step on the tfjs batch, before any update, must equal tfjs's.
  const firstLoss = {};
  for (const v of variants) firstLoss[v.label] = await fitOnce(v.small ?? v.big, v.small ? xs : xB, v.small ? ys : yB, tb);
  for (const f of fns) await f.run();

  const segment = async () => {
    const t0 = performance.now();
    for (let round = 0; round < 2 || performance.now() - t0 < cfg.zooTrainSegmentMs; round++) {
      for (const f of fns) {
        const cp = cpuMs();
        const t = performance.now();
        await f.run();
        f.wall.push(performance.now() - t);
        f.cpu.push(cpuMs() - cp);
      }
    }
  };
  const tfjsCpu = [];
  const tfjsWall = [];
  const tfjsLosses = [];
  progress(`  ours: ${fns.map((f) => `${f.label} batch ${f.batch}`).join(', ')}; tfjs-cpu: ${steps} step(s) of batch ${tb}`);
  await segment();
  for (let i = 0; i < steps; i++) {
    progress(`  tfjs-cpu step ${i + 1}/${steps}, batch ${tb}`);
    const cp = cpuMs();
    const t = performance.now();
    const out = await theirs.trainOnBatch(tx, ty);
    tfjsWall.push(performance.now() - t);
    tfjsCpu.push(cpuMs() - cp);
    tfjsLosses.push(Array.isArray(out) ? out[0] : out);
    await segment();
  }
  const params = base.countParams();
  for (const v of variants) { v.big.dispose(); v.small?.dispose(); }
  [xB, yB, xs, ys].forEach((t) => t.dispose());
  tf.dispose([tx, ty]);
  theirs.dispose();

  const tfjsSum = steps ? { cpu: summarize(tfjsCpu, steps), wall: summarize(tfjsWall, steps) } : null;
  const scale = B / tb;
  const rows = [];
  for (const v of variants) {
    // First-step losses (same weights, same batch): comparable when the networks are the same and without dropout.
    const check = hasDropout || (c.substitute && v.label === 'ours') ? null : { ours: firstLoss[v.label], tfjs: tfjsLosses[0] ?? NaN };
    for (const f of fns.filter((g) => g.label === v.label)) {
      const o = { cpu: summarize(f.cpu, f.cpu.length), wall: summarize(f.wall, f.wall.length) };
      const k = f.batch === B ? scale : 1;
      const est = f.batch === B && tb < B;
      const peer = tfjsSum ? {
        ...timed(tfjsSum), medianMs: tfjsSum.cpu.medianMs * k, wallMedianMs: tfjsSum.wall.medianMs * k,
        measuredBatch: tb, extrapolated: est, imagesPerSec: tb / (tfjsSum.cpu.medianMs / 1000), losses: tfjsLosses,
      } : null;
      rows.push({
        name: `${trainName(c).replace(/batch \d+$/, `batch ${f.batch}`)}${v.label === 'ours' ? '' : ', upSampling2d'}`,
        key: c.key, kind: 'training', section: c.section, variant: v.label, batch: f.batch, params,
        ours: timed(o, { imagesPerSec: f.batch / (o.cpu.medianMs / 1000) }), tfjs: peer, firstLoss: check,
        ratio: peer ? peer.medianMs / o.cpu.medianMs : NaN, wallRatio: peer ? peer.wallMedianMs / o.wall.medianMs : NaN,
      });
    }
  }
  return { key: c.key, name: trainName(c), rows, tfjsBatch: tb, tfjsSteps: steps, hasDropout };
}

/**
 * Table of one section: inference rows (vs tfjs-wasm, and vs ONNX Runtime Web if it ran), training rows (vs tfjs-cpu),
 * and rows for the peers that cannot train (tfjs-wasm; ORT Web).
 */
function modelTable(inference, training, wasmTrain, withOrt) {
  const rows = [];
  const ms = (r) => (r && Number.isFinite(r.medianMs) ? `${fmtMs(r.medianMs)}${r.samples > 1 ? ` ${fmtSpread(r.spread)}` : ''}` : '-');
  for (const r of inference) {
    rows.push([r.name, 'tfjs-wasm', ms(r.ours), fmtNum(r.ours.imagesPerSec, 1), ms(r.tfjs), fmtNum(r.tfjs.imagesPerSec, 1),
      fmtRatio(r.ratio), fmtRatio(r.wallRatio), `diff ${r.relDiff.toExponential(1)}${r.oursSame ? ' (vs variant)' : ''}`]);
    if (r.oursSame) {
      rows.push([`${r.name}, upSampling2d`, 'tfjs-wasm', ms(r.oursSame), fmtNum(r.oursSame.imagesPerSec, 1), ms(r.tfjs),
        fmtNum(r.tfjs.imagesPerSec, 1), fmtRatio(r.ratioSame), fmtRatio(r.wallRatioSame), 'same network']);
    }
    if (r.ort) {
      rows.push([r.name, r.oursSame ? 'ORT Web (MaxUnpool)' : 'ORT Web', ms(r.ours), fmtNum(r.ours.imagesPerSec, 1), ms(r.ort),
        fmtNum(r.ort.imagesPerSec, 1), fmtRatio(r.ratioOrt), fmtRatio(r.wallRatioOrt), `diff ${r.ortRelDiff.toExponential(1)}`]);
    }
  }
  for (const t of training) {
    for (const r of t.rows) {
      const peer = !r.tfjs ? 'tfjs-cpu (skipped)'
        : r.tfjs.extrapolated ? `tfjs-cpu (est. ${r.batch / r.tfjs.measuredBatch} x batch ${r.tfjs.measuredBatch})` : 'tfjs-cpu';
      const peerMs = !r.tfjs ? '-' : r.tfjs.extrapolated ? `~${fmtMs(r.tfjs.medianMs)}` : `${fmtMs(r.tfjs.medianMs)}` +
        (r.tfjs.samples > 1 ? ` ${fmtSpread(r.tfjs.spread)}` : '');
      const check = t.hasDropout ? 'loss: n/a (dropout)'
        : r.variant === 'ours' && t.rows.some((x) => x.variant !== 'ours') ? 'other network than tfjs'
          : r.firstLoss && Number.isFinite(r.firstLoss.tfjs) ? `loss ${r.firstLoss.ours.toFixed(4)} / ${r.firstLoss.tfjs.toFixed(4)}` : '';
      rows.push([r.name, peer, ms(r.ours), fmtNum(r.ours.imagesPerSec, 1), peerMs, r.tfjs ? fmtNum(r.tfjs.imagesPerSec, 2) : '-',
        (r.tfjs?.extrapolated ? '~' : '') + fmtRatio(r.ratio), (r.tfjs?.extrapolated ? '~' : '') + fmtRatio(r.wallRatio),
        check]);
    }
  }
  if (training.length) {
    rows.push([`${training.map((t) => t.name.split(' train')[0]).join(', ')} train step`, 'tfjs-wasm', '', '', 'cannot train', '-', '-', '-',
      wasmTrain?.ok === false ? 'no conv backprop kernel' : '']);
    if (withOrt) rows.push([`${training.map((t) => t.name.split(' train')[0]).join(', ')} train step`, 'ORT Web', '', '', 'no training', '-', '-', '-', '']);
  }
  return table(['case', 'peer', 'ours ms', 'ours img/s', 'peer ms', 'peer img/s', 'ratio', 'wall ratio', 'check'], rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l']);
}

/** Whether any model training case is selected (`selected`: bench.js's --only filter). */
export function anyModelTraining(selected) {
  return MODEL_CASES.some((c) => selected(trainName(c)));
}

/**
 * Runs the selected zoo and segmentation cases, section by section, and prints each section's table and notes.
 * cfg: bench.js's configuration (budgetMs, warmMs, zooTrainSegmentMs, zooTfjsSteps, tfjsTrainBatch); quick: --quick;
 * selected(name): the --only filter; wasmTrainAttempt(): bench.js's one-off tfjs-wasm training attempt (returns its
 * { ok, message }); log / progress: stdout / stderr lines. Returns { zoo, segmentation }, each { inference, training }.
 */
export async function runModelBenchmarks({ cfg, quick, selected, wasmTrainAttempt, log, progress, ort = false }) {
  let wasmTrain = null;
  const models = { zoo: { inference: [], training: [] }, segmentation: { inference: [], training: [] } };
  const sectionTitle = {
    zoo: 'Zoo models, 32x32x3, 10 classes: inference at batch 1 vs tfjs-wasm, one SGD training step at batch 32 vs tfjs-cpu',
    segmentation: 'Segmentation, 4 classes: inference on 256x256x3 at batch 1 vs tfjs-wasm, one SGD training step on 64x64x3 at batch 8 vs tfjs-cpu',
  };
  for (const section of ['zoo', 'segmentation']) {
    const cases = MODEL_CASES.filter((c) => c.section === section);
    if (!cases.some((c) => selected(inferName(c)) || selected(trainName(c)))) continue;
    for (const c of cases) {
      if (!selected(inferName(c))) continue;
      progress(inferName(c));
      models[section].inference.push(await benchModelInference(c, cfg, ort));
    }
    for (const c of cases) {
      if (!selected(trainName(c))) continue;
      wasmTrain = await wasmTrainAttempt();
      progress(trainName(c));
      models[section].training.push(await benchModelTraining(c, cfg, progress));
    }
    const { inference: inf, training: tr } = models[section];
    log(`## ${sectionTitle[section]}`);
    log('');
    const paramCounts = cases.map((c) => {
      const r = inf.find((x) => x.key === c.key) ?? tr.find((x) => x.key === c.key)?.rows[0];
      return r ? `${c.name} ${r.params.toLocaleString('en-US')} (${c.spec})` : null;
    }).filter(Boolean);
    log(`parameters: ${paramCounts.join('; ')}`);
    log('');
    log(modelTable(inf, tr, wasmTrain, ort));
    log('');
    log('- inference: ours model.predict(x) on a preallocated Tensor; tfjs-wasm LayersModel.predict + dataSync() + dispose(). ' +
      'The tfjs model is rebuilt from our getConfig() (tests/bench/tfjs-models.js) and gets our weights by one setWeights; ' +
      'diff = max |ours - tfjs| / max |tfjs| of the outputs, checked <= 1e-4 before timing (biases and batch-norm statistics randomised for the check).');
    if (ort && inf.length) {
      log('- ORT Web: await session.run() of the same network written as ONNX (NCHW, opset 17) by toONNX (web/onnx/) ' +
        'with the same weights; the input is transposed to NCHW once, outside the timed region; diff = max |ours - ORT| / ' +
        'max |ours|, checked <= 1e-4 before timing. ORT Web has no training: no ORT figure for training steps.');
    }
    if (tr.length) {
      const t0 = tr[0];
      log(`- training: ours model.fit over exactly one batch per call (SGD, lr ${ZOO_LR}), medians of per-call CPU time over rounds ` +
        `run before, between and after the tfjs steps; tfjs-cpu model.trainOnBatch (SGD), ${tr.map((t) => `${t.name.split(' train')[0]} ${t.tfjsSteps} step${t.tfjsSteps === 1 ? '' : 's'}`).join(', ')} ` +
        `at batch ${t0.tfjsBatch}: one tfjs-cpu step costs ~8-60 s per image here (96-99% of it in its Conv2DBackpropFilter kernel), ` +
        'so the model batch is extrapolated linearly from the measured batch ("~", "est."; checked once for ResNet-20: batch 32 ' +
        'measured 241 s vs 16 x batch 2 = 260 s); the batch-' + t0.tfjsBatch + ' rows are measured on both sides. ' +
        'check = first-step loss ours / tfjs (same weights, same batch, before any update).' +
        (quick ? ' --quick skips the tfjs-cpu steps of GoogLeNet-mini (~60 s per image).' : ''));
      log(`- tfjs-wasm training: ${wasmTrain?.ok ? 'ran (unexpected!)' : `fails (no gradient kernels for conv2d): "${wasmTrain?.message}"`}`);
    }
    if (section === 'segmentation' && cases.some((c) => c.substitute && (selected(inferName(c)) || selected(trainName(c))))) {
      log(`- SegNet: ${SUBSTITUTE_NOTE}; diff and loss checks of SegNet compare that variant with tfjs.` +
        (ort ? ' ORT Web runs the real SegNet (ONNX MaxPool with its indices output + MaxUnpool, both supported by its wasm ' +
          'execution provider), compared with our SegNet.' : ''));
    }
    log('');
  }
  return models;
}

/** The summary-line parts of the model cases that ran (`models`: the result of runModelBenchmarks). */
export function modelSummaryParts(models) {
  const parts = [];
  const modelInf = [...models.zoo.inference, ...models.segmentation.inference];
  if (modelInf.length) {
    parts.push(`inference vs tfjs-wasm: ${modelInf.map((r) => `${r.name.split(' inference')[0]} ${fmtRatio(r.ratio)}` +
      (r.oursSame ? ` (same network ${fmtRatio(r.ratioSame)})` : '')).join(', ')}`);
    if (modelInf.some((r) => r.ort)) {
      parts.push(`inference vs ORT Web: ${modelInf.filter((r) => r.ort).map((r) => `${r.name.split(' inference')[0]} ${fmtRatio(r.ratioOrt)}`).join(', ')}`);
    }
  }
  const modelTrain = [...models.zoo.training, ...models.segmentation.training];
  if (modelTrain.length) {
    parts.push(`training vs tfjs-cpu: ${modelTrain.map((t) => {
      const r = t.rows.find((x) => x.variant === 'ours' && x.batch === MODEL_CASES.find((c) => c.key === t.key).trainBatch);
      return `${t.name.split(' train')[0]} ${r.tfjs?.extrapolated ? '~' : ''}${fmtRatio(r.ratio)}`;
    }).join(', ')}`);
  }
  return parts;
}
