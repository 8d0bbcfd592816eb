// cnn.worker in Node (worker_threads): every remote method against the same calls on this thread (same seeds → the
// same losses, logs, weights and bytes), errors with the worker's message, abort before and during training, a
// crashed worker, terminate.
//
//   node --test tests/js/worker.test.js
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as cnn from '../../web/index.js';
import { worker } from '../../web/worker/client.js';

const WORKER_URL = new URL('../../web/worker/worker.js', import.meta.url);
let w;
let fixtures; // temporary folder for the crashing worker scripts

before(async () => {
  await cnn.ready();
  w = await worker.create();
  fixtures = await mkdtemp(join(tmpdir(), 'wasm-cnn-worker-'));
});
after(async () => {
  w?.terminate();
  if (fixtures) await rm(fixtures, { recursive: true, force: true });
});

const bits = (t) => Array.from(new Uint32Array(t.dataSync().buffer));

function smallNet(seed = 3) {
  return cnn.sequential({ seed, layers: [
    cnn.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
    cnn.layers.maxPooling2d({ poolSize: 2 }),
    cnn.layers.flatten(),
    cnn.layers.dropout({ rate: 0.2 }),
    cnn.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
}

function digits(n, seed = 7) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const x = cnn.tensor(Float32Array.from({ length: n * 64 }, rand), [n, 8, 8, 1]);
  const y = cnn.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % 3), [n], 'int32');
  return { x, y };
}

const compileConfig = () => ({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

/** Callbacks that record every call with its arguments (stop functions left out). */
function recorder() {
  const calls = [];
  const cb = (name) => (...args) => { calls.push([name, ...args.filter((a) => typeof a !== 'function')]); };
  return { calls, callbacks: { onTrainBegin: cb('onTrainBegin'), onEpochBegin: cb('onEpochBegin'),
    onBatchEnd: cb('onBatchEnd'), onEpochEnd: cb('onEpochEnd'), onTrainEnd: cb('onTrainEnd') } };
}

test('create validates its options', async () => {
  await assert.rejects(worker.create({ threads: 0 }), { name: 'CnnError', message: /threads must be an integer from 1 to 256, got 0/ });
  await assert.rejects(worker.create({ threads: 1.5 }), /threads must be an integer/);
  await assert.rejects(worker.create({ thread: 2 }), /unknown option 'thread'; known options: threads/);
  await assert.rejects(worker.create(7), /options must be an object, got number/);
  const w2 = await worker.create({ threads: 2 }); // passed to cnn.ready in the worker
  assert.deepEqual(Object.keys(w2.zoo), Object.keys(cnn.zoo));
  w2.terminate();
});

test('modelFromConfig + compile + fit: the same History, callbacks, logs and weights as on this thread', async () => {
  const { x, y } = digits(40);
  const local = smallNet();
  const remote = await w.modelFromConfig(local); // its config and seed (it is not built by this)
  assert.equal(remote.name, local.name);
  assert.deepEqual(remote.inputShape, [null, 8, 8, 1]);
  assert.deepEqual(remote.outputShape, [null, 3]);
  assert.deepEqual(remote.layers.map((l) => l.name), local.layers.map((l) => l.name));
  assert.equal(await remote.countParams(), local.countParams());
  local.compile(compileConfig());
  await remote.compile(compileConfig());
  const fitOptions = { epochs: 3, batchSize: 8, seed: 5, validationSplit: 0.2, learningRateSchedule: cnn.train.oneCycle(0.02) };
  const a = recorder();
  const b = recorder();
  const hLocal = await local.fit(x, y, { ...fitOptions, callbacks: a.callbacks });
  const hRemote = await remote.fit(x, y, { ...fitOptions, callbacks: b.callbacks });
  assert.deepEqual(hRemote, hLocal);
  assert.deepEqual(b.calls, a.calls);
  assert.equal(b.calls.filter((c) => c[0] === 'onBatchEnd').length, 12);
  const [wl, wr] = [local.getWeights(), await remote.getWeights()];
  assert.equal(wr.length, wl.length);
  wr.forEach((t, i) => { assert.deepEqual(t.shape, wl[i].shape); assert.deepEqual(bits(t), bits(wl[i])); });
  // predict and evaluate, bit for bit
  assert.deepEqual(bits(await remote.predict(x, { batchSize: 16 })), bits(local.predict(x, { batchSize: 16 })));
  const [el, er] = [local.evaluate(x, y), await remote.evaluate(x, y)];
  assert.equal(er.length, 2);
  er.forEach((t, i) => assert.deepEqual(t.dataSync(), el[i].dataSync()));
  assert.ok(!x.isDisposed && x.dataSync().length === 40 * 64, 'the caller keeps its tensors');
  // save: the same bytes; loadModel in the worker from bytes and from a path
  const bytes = await remote.save({ metadata: { by: 'worker' } });
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(bytes, local.save({ metadata: { by: 'worker' } }));
  const loaded = await w.loadModel(bytes);
  assert.deepEqual(loaded.metadata, { by: 'worker' });
  assert.deepEqual(bits(await loaded.predict(x)), bits(local.predict(x)));
  assert.equal(bytes.length > 0 && bytes.buffer.byteLength, bytes.length, 'the caller keeps the bytes it passed');
  const path = join(fixtures, 'model.wcnn');
  await writeFile(path, bytes);
  const fromPath = await w.loadModel(path);
  assert.deepEqual(bits(await fromPath.predict(x)), bits(local.predict(x)));
  await assert.rejects(w.loadModel(join(fixtures, 'missing.wcnn')), { name: 'CnnError', message: /loadModel: cannot read .*missing\.wcnn/ });
  await assert.rejects(w.loadModel(bytes.subarray(0, 30)), { name: 'CnnError', message: /loadModel: checksum mismatch/ });
  // summary: the library's lines
  const lines = [];
  local.summary((l) => lines.push(l));
  const printed = [];
  assert.deepEqual(await remote.summary((l) => printed.push(l)), lines);
  assert.deepEqual(printed, lines);
  for (const m of [local]) m.dispose();
  for (const m of [remote, loaded, fromPath]) await m.dispose();
  for (const t of [x, y, ...wl, ...wr, ...el, ...er]) t.dispose();
});

test('setWeights from this thread, setLearningRate, graph models from a config object', async () => {
  const inp = cnn.input({ shape: [8, 8, 1] });
  const c = cnn.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(inp);
  const bn = cnn.layers.batchNormalization({ momentum: 0.9 }).apply(c);
  const r = cnn.layers.add().apply([cnn.layers.reLU().apply(bn), c]);
  const out = cnn.layers.dense({ units: 3, activation: 'softmax' }).apply(cnn.layers.flatten().apply(r));
  const local = cnn.model({ inputs: inp, outputs: out, seed: 11 });
  const remote = await w.modelFromConfig(local.getConfig(), { seed: 99 }); // other seed: other weights
  const { x, y } = digits(16, 3);
  assert.notDeepEqual(bits(await remote.predict(x)), bits(local.predict(x)));
  const weights = local.getWeights();
  await remote.setWeights(weights);
  assert.deepEqual(bits(await remote.predict(x)), bits(local.predict(x)));
  assert.ok(weights.every((t) => !t.isDisposed), 'setWeights leaves the caller its tensors');
  local.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  await remote.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  local.setLearningRate(0.05);
  await remote.setLearningRate(0.05);
  const hl = await local.fit(x, y, { epochs: 2, batchSize: 4, seed: 2 });
  const hr = await remote.fit(x, y, { epochs: 2, batchSize: 4, seed: 2 });
  assert.deepEqual(hr, hl);
  const el = local.evaluate(x, y);
  const er = await remote.evaluate(x, y); // no metrics: one scalar Tensor, as the library
  assert.ok(er instanceof cnn.Tensor);
  assert.deepEqual(er.dataSync(), el.dataSync());
  await assert.rejects(remote.setWeights(weights.slice(1)), (err) => {
    let expected;
    try { local.setWeights(weights.slice(1)); } catch (e) { expected = e; }
    return err.name === 'CnnError' && err.message === expected.message;
  });
  await assert.rejects(remote.setWeights('w'), /setWeights: expected an array of Tensors, got string/);
  await assert.rejects(w.modelFromConfig({ nope: 1 }), /modelFromConfig: expected model.getConfig\(\)'s object or a model/);
  local.dispose();
  await remote.dispose();
  for (const t of weights) t.dispose();
});

test('zoo + data generated in the worker + segment: the same as on this thread', async () => {
  const build = { inputShape: [16, 16, 3], numClasses: 4, depth: 2, width: 4, seed: 1 };
  const local = cnn.zoo.segnet(build);
  const remote = await w.zoo.segnet(build);
  assert.equal(remote.name, local.name);
  const set = cnn.data.shapes({ count: 12, size: 16, seed: 4 });
  const x = cnn.tensor(set.images, [12, 16, 16, 3]);
  const y = cnn.tensor(set.masks, [12, 16, 16], 'int32');
  const scenes = await w.data.shapes({ count: 12, size: 16, seed: 4 }); // made and kept in the worker
  assert.deepEqual(scenes.x.shape, [12, 16, 16, 3]);
  assert.deepEqual(scenes.y.dtype, 'int32');
  assert.deepEqual(scenes.classNames, set.classNames);
  assert.deepEqual(await scenes.x.data(), x.dataSync());
  const compile = () => ({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['pixelAccuracy', 'meanIoU'] });
  local.compile(compile());
  await remote.compile(compile());
  const fitOptions = { epochs: 2, batchSize: 4, seed: 3, augment: { flips: true, rotations: true }, recordGradientNorms: true };
  const hl = await local.fit(x, y, { ...fitOptions, validationData: [x, y] });
  const hr = await remote.fit(scenes.x, scenes.y, { ...fitOptions, validationData: [scenes.x, scenes.y] });
  assert.deepEqual(hr, hl);
  const image = { width: 20, height: 12, data: Uint8ClampedArray.from({ length: 20 * 12 * 4 }, (_, i) => (i * 37) % 256) };
  const sl = local.segment(image);
  const sr = await remote.segment(image);
  assert.deepEqual([sr.width, sr.height, sr.numClasses], [sl.width, sl.height, sl.numClasses]);
  assert.deepEqual(sr.classes, sl.classes);
  assert.equal(typeof sr.timeMs, 'number');
  const sn = await remote.segment(image, { normalize: { mean: 0, std: 255 } }); // v / 255, as the default
  assert.deepEqual(sn.classes, sl.classes);
  const raw = local.segment(image, { normalize: null });
  assert.deepEqual((await remote.segment(image, { normalize: null })).classes, raw.classes);
  const centred = local.segment(image, { normalize: (v) => (v - 128) / 64 });
  assert.deepEqual((await remote.segment(image, { normalize: { mean: 128, std: 64 } })).classes, centred.classes);
  const t = cnn.tensor(Float32Array.from(image.data.filter((_, i) => i % 4 !== 3)), [12, 20, 3]);
  assert.deepEqual((await remote.segment(t)).classes, local.segment(t).classes);
  await assert.rejects(remote.segment(image, { normalize: (v) => v }), { name: 'CnnError', message: /a normalize function cannot be sent to the worker; pass \{ mean, std \}/ });
  await assert.rejects(remote.segment(image, { normalize: { mean: 1, std: 0 } }), /normalize must be \{ mean, std \}/);
  await assert.rejects(remote.segment(image, { size: [8, 8] }), { name: 'CnnError', message: /segment: size \[8, 8\] differs from the model's input size \[16, 16\]/ });
  await assert.rejects(remote.segment(42), /segment: expected ImageData/);
  // remote tensors from values; dispose frees them in the worker
  const kept = await w.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  assert.deepEqual(kept.shape, [2, 2]);
  assert.deepEqual(await kept.data(), new Float32Array([1, 2, 3, 4]));
  await assert.rejects(w.tensor([1, 2, 3], [2, 2]), { name: 'CnnError', message: 'tensor: shape [2,2] holds 4 values, but 3 were given' });
  await kept.dispose();
  await assert.rejects(kept.data(), /disposed/);
  const moved = await w.tensor(y); // a local Tensor sent once; predict / evaluate take it without another copy
  assert.deepEqual(moved.shape, y.shape);
  assert.deepEqual((await moved.toTensor()).dataSync(), y.dataSync());
  const evRemote = await remote.evaluate(scenes.x, moved);
  const evLocal = local.evaluate(x, y);
  evRemote.forEach((t, i) => assert.deepEqual(t.dataSync(), evLocal[i].dataSync()));
  for (const t of [...evRemote, ...evLocal]) t.dispose();
  await moved.dispose();
  await assert.rejects(remote.predict(kept), /fit|predict: x: the worker tensor of shape \[2,2\] is disposed/);
  await scenes.x.dispose();
  await scenes.y.dispose();
  local.dispose();
  await remote.dispose();
  for (const z of [x, y, t]) z.dispose();
  const mem = await w.memory();
  assert.equal(mem.numWorkerModels, 0);
  assert.equal(mem.numWorkerTensors, 0);
  assert.equal(mem.numModels, 0, 'no model left in the worker engine');
  assert.equal(mem.numTensors, 0, 'no tensor left in the worker');
});

test('errors arrive with the worker\'s message and name; arguments that cannot cross are refused clearly', async () => {
  const local = smallNet();
  const remote = await w.modelFromConfig(local);
  const { x, y } = digits(8);
  const message = (fn) => { try { fn(); } catch (e) { return e.message; } return null; };
  const notCompiled = message(() => local.evaluate(x, y));
  await assert.rejects(remote.evaluate(x, y), (err) => err instanceof cnn.CnnError && err.name === 'CnnError' && err.message === notCompiled);
  const badLoss = message(() => local.compile({ optimizer: 'sgd', loss: 'hinge' }));
  await assert.rejects(remote.compile({ optimizer: 'sgd', loss: 'hinge' }), { name: 'CnnError', message: badLoss });
  await remote.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const bad = cnn.tensor(new Int32Array(8).fill(5), [8], 'int32');
  await assert.rejects(remote.fit(x, bad), { name: 'CnnError', message: 'fit: label 0 is 5, expected an integer from 0 to 2 (the output has 3 classes)' });
  await assert.rejects(remote.predict([1, 2]), { name: 'CnnError', message: 'predict: x must be a Tensor, got Array(2)' });
  await assert.rejects(remote.fit(x, y, { callbacks: { onBatchBegin() {} } }), /unknown callback 'onBatchBegin'; known callbacks: onTrainBegin/);
  await assert.rejects(remote.fit(x, y, { signal: {} }), /signal must be an AbortSignal/);
  await assert.rejects(remote.fit(x, y, { verbose: () => 1 }), { name: 'CnnError', message: /fit: its arguments cannot be sent to the worker \(.*\); send tensors/ });
  await assert.rejects(remote.fit(x, y, { epochz: 1 }), { name: 'CnnError', message: /fit: unknown option 'epochz'/ });
  await assert.rejects(w.zoo.segnet({ inputShape: [16, 16, 3], depth: 9 }), (err) => err.name === 'CnnError' && err.message === message(() => cnn.zoo.segnet({ inputShape: [16, 16, 3], depth: 9 })));
  // one fit at a time per model, as the library
  const first = remote.fit(x, y, { epochs: 30, batchSize: 1 });
  await assert.rejects(remote.fit(x, y), { name: 'CnnError', message: /fit: this model is already training/ });
  await first;
  await remote.dispose();
  await remote.dispose(); // idempotent
  await assert.rejects(remote.predict(x), { name: 'CnnError', message: 'predict: the model sequential is disposed and can no longer be used' });
  local.dispose();
  for (const t of [x, y, bad]) t.dispose();
});

/** A net whose batches take some milliseconds, so that a test can act while one runs. */
async function slowRemote() {
  const remote = await w.zoo.segnet({ inputShape: [32, 32, 3], numClasses: 4, depth: 2, width: 8, seed: 1 });
  await remote.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  const scenes = await w.data.shapes({ count: 64, size: 32, seed: 2 });
  return { remote, scenes };
}

test('abort: an aborted signal trains nothing; an abort during fit stops after the batch in progress', async () => {
  const { remote, scenes } = await slowRemote();
  const before = await remote.getWeights();
  // aborted before the call: no batch, the library's callbacks and an empty History
  const r1 = recorder();
  const h1 = await remote.fit(scenes.x, scenes.y, { epochs: 3, batchSize: 4, signal: AbortSignal.abort(), callbacks: r1.callbacks });
  assert.deepEqual(h1.epoch, []);
  assert.deepEqual(r1.calls.map((c) => c[0]), ['onTrainBegin', 'onEpochBegin', 'onTrainEnd']);
  // aborted after the call, while the worker is still busy with an earlier one: nothing trained either
  const controller = new AbortController();
  const r2 = recorder();
  const big = cnn.tensor(new Float32Array(512 * 32 * 32 * 3), [512, 32, 32, 3]);
  const busy = remote.predict(big); // runs in the worker without a break
  const p2 = remote.fit(scenes.x, scenes.y, { epochs: 3, batchSize: 4, signal: controller.signal, callbacks: r2.callbacks });
  setTimeout(() => controller.abort(), 5);
  (await busy).dispose();
  assert.deepEqual((await p2).epoch, []);
  assert.equal(r2.calls.filter((c) => c[0] === 'onBatchEnd').length, 0);
  big.dispose();
  const after = await remote.getWeights();
  after.forEach((t, i) => assert.deepEqual(bits(t), bits(before[i]), 'no weight changed'));
  // abort while training: at most the batch in progress finishes
  const c3 = new AbortController();
  let batches = 0;
  let abortedAt = -1;
  const t0 = Date.now();
  const h3 = await remote.fit(scenes.x, scenes.y, { epochs: 5, batchSize: 4, signal: c3.signal, callbacks: {
    onBatchEnd(batch) {
      batches++;
      if (batches === 3) { abortedAt = batches; c3.abort(); }
    },
  } });
  const ms = Date.now() - t0;
  assert.equal(abortedAt, 3);
  assert.ok(batches <= 4, `${batches} batches ran; an abort after batch 3 lets at most one more finish`);
  assert.deepEqual(h3.epoch, [0], 'stopped inside the first epoch (whose partial logs fit records, as on one thread)');
  console.log(`# abort during fit: ${batches} batches in ${ms} ms (abort sent after batch 3)`);
  // onEpochEnd's stop() stops after that epoch, as on one thread
  const h4 = await remote.fit(scenes.x, scenes.y, { epochs: 4, batchSize: 32, callbacks: { onEpochEnd: (epoch, logs, stop) => { if (epoch === 1) stop(); } } });
  assert.deepEqual(h4.epoch, [0, 1]);
  // a callback that throws: fit rejects with its error once the worker stopped; the model trains again after it
  const boom = new RangeError('chart broke');
  await assert.rejects(remote.fit(scenes.x, scenes.y, { epochs: 5, batchSize: 4, callbacks: { onBatchEnd: (b) => { if (b === 1) throw boom; } } }), (err) => err === boom);
  const h5 = await remote.fit(scenes.x, scenes.y, { epochs: 1, batchSize: 32 });
  assert.equal(h5.epoch.length, 1);
  // dispose during fit: fit ends after its batch, the model is gone
  let disposing = null;
  const h6 = await remote.fit(scenes.x, scenes.y, { epochs: 5, batchSize: 4, callbacks: { onBatchEnd(b) { if (b === 0) disposing = remote.dispose(); } } });
  await disposing;
  assert.ok(h6.history.loss.length <= 1);
  await assert.rejects(remote.fit(scenes.x, scenes.y), /fit: the model segnet is disposed/);
  for (const t of [...before, ...after]) t.dispose();
  await scenes.x.dispose();
  await scenes.y.dispose();
  assert.equal((await w.memory()).numModels, 0);
});

test('a worker that throws at top level rejects create(); one that crashes rejects every pending call and later ones', async () => {
  const startup = join(fixtures, 'throws-at-start.js');
  await writeFile(startup, "throw new Error('no engine here');\n");
  await assert.rejects(worker.create({ url: pathToFileURL(startup) }), { name: 'CnnError', message: /worker.create: the wasm-cnn worker crashed: no engine here/ });

  const crashing = join(fixtures, 'crashes-later.js');
  await writeFile(crashing, `import ${JSON.stringify(WORKER_URL.href)};\n` +
    "setTimeout(() => { throw new Error('out of cheese'); }, 400);\n");
  const wc = await worker.create({ url: pathToFileURL(crashing) });
  const remote = await wc.zoo.segnet({ inputShape: [32, 32, 3], numClasses: 4, depth: 2, width: 8, seed: 1 });
  await remote.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  const scenes = await wc.data.shapes({ count: 64, size: 32, seed: 2 });
  const fit = remote.fit(scenes.x, scenes.y, { epochs: 1000, batchSize: 4 });
  const kept = wc.tensor([1], [1]);
  await assert.rejects(fit, { name: 'CnnError', message: 'fit: the wasm-cnn worker crashed: out of cheese' });
  await kept.catch(() => {});
  await assert.rejects(remote.predict(cnn.tensor(new Float32Array(32 * 32 * 3), [1, 32, 32, 3])),
    { name: 'CnnError', message: 'predict: the wasm-cnn worker crashed: out of cheese; create a new worker with cnn.worker.create()' });
  await assert.rejects(wc.zoo.lenet5(), /zoo.lenet5: the wasm-cnn worker crashed/);
  await remote.dispose(); // nothing left to free: resolves
  wc.terminate();
});

test('terminate rejects pending calls and later ones; the process is not kept alive by an idle worker', async () => {
  const wt = await worker.create();
  const remote = await wt.zoo.lenet5({ seed: 1 });
  const pending = remote.summary();
  wt.terminate();
  await assert.rejects(pending, { name: 'CnnError', message: 'summary: the wasm-cnn worker was terminated' });
  await assert.rejects(remote.save(), { name: 'CnnError', message: 'save: the wasm-cnn worker was terminated; create a new worker with cnn.worker.create()' });
  await assert.rejects(wt.loadModel(new Uint8Array(4)), /loadModel: the wasm-cnn worker was terminated/);
  assert.equal(wt.isTerminated, true);
  wt.terminate(); // idempotent
});
