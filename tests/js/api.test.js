// The public API as a TensorFlow.js user uses it (docs/API.md): tensors, building models, summary, weights,
// compile + optimizers (checked against hand-computed updates), fit options and callbacks, evaluate, predict,
// memory accounting and dispose.
//
//   bash build.sh && node --test tests/js/api.test.js
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as cnn from '../../web/index.js';
import { lenet5 } from '../../recipes/mnist.js';
import { mulberry32, blobs, smallClassifier, weightsOf, assertBitEqual, relError } from './helpers.js';
import { recycleStats } from '../../web/core/tensor.js';

const L = cnn.layers;
const INDEX_URL = new URL('../../web/index.js', import.meta.url).href;

before(async () => { await cnn.ready(); });

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function slice(t, from, to) {
  const per = t.size / t.shape[0];
  return cnn.tensor(t.dataSync().subarray(from * per, to * per), [to - from, ...t.shape.slice(1)], t.dtype);
}


// ---------------------------------------------------------------------------------------------------------------
describe('tensors', () => {
  test('tensor() shapes, dtypes, size, rank', () => {
    const a = cnn.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.ok(a instanceof cnn.Tensor);
    assert.deepEqual([...a.shape], [2, 3]);
    assert.equal(a.dtype, 'float32');
    assert.equal(a.size, 6);
    assert.equal(a.rank, 2);
    assert.ok(a.dataSync() instanceof Float32Array);
    assert.deepEqual([...a.dataSync()], [1, 2, 3, 4, 5, 6]);

    const b = cnn.tensor(new Int32Array([3, 1, 2]), [3, 1], 'int32');
    assert.equal(b.dtype, 'int32');
    assert.ok(b.dataSync() instanceof Int32Array);
    assert.deepEqual([...b.shape], [3, 1]);

    const c = cnn.tensor(new Float32Array([0.5, 1.5]));
    assert.deepEqual([...c.shape], [2], 'the shape defaults to [values.length]');

    const s = cnn.tensor([42], []);
    assert.equal(s.rank, 0);
    assert.equal(s.size, 1);
    for (const t of [a, b, c, s]) t.dispose();
  });

  test('tensor() copies its values; dataSync()/data() return copies', async () => {
    const src = new Float32Array([1, 2, 3]);
    const shape = [3];
    const t = cnn.tensor(src, shape);
    src[0] = 100;
    shape[0] = 7;
    assert.equal(t.dataSync()[0], 1, 'changing the source array must not change the tensor');
    assert.deepEqual([...t.shape], [3], 'changing the shape array must not change the tensor');
    const copy = t.dataSync();
    copy[1] = -5;
    assert.equal(t.dataSync()[1], 2, 'changing dataSync() output must not change the tensor');
    const d = await t.data();
    d[2] = -5;
    assert.equal(t.dataSync()[2], 3, 'changing data() output must not change the tensor');
    const plain = [1, 2];
    const u = cnn.tensor(plain, [2]);
    plain[0] = 9;
    assert.equal(u.dataSync()[0], 1);
    t.dispose();
    u.dispose();
  });

  test('dispose() is idempotent and use after dispose throws naming the shape', () => {
    const before0 = cnn.memory();
    const t = cnn.tensor(new Float32Array(24), [2, 3, 4]);
    assert.equal(cnn.memory().numTensors, before0.numTensors + 1);
    assert.equal(cnn.memory().numBytes, before0.numBytes + 96);
    assert.equal(t.isDisposed, false);
    t.dispose();
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.equal(cnn.memory().numTensors, before0.numTensors, 'a second dispose() must not decrement again');
    assert.equal(cnn.memory().numBytes, before0.numBytes);
    for (const use of [() => t.dataSync(), () => t.arraySync()]) {
      assert.throws(use, (err) => err instanceof Error && /2,3,4/.test(err.message) && /dispos/i.test(err.message));
    }
    return assert.rejects(t.data(), (err) => err instanceof Error && /2,3,4/.test(err.message));
  });

  test('a disposed tensor passed to predict throws naming its shape', () => {
    const m = smallClassifier();
    const x = cnn.tensor(new Float32Array(8), [2, 4]);
    x.dispose();
    assert.throws(() => m.predict(x), (err) => err instanceof Error && /2,4/.test(err.message) && /dispos/i.test(err.message));
    m.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('building models', () => {
  test('sequential({ layers }) and add() build the same model', () => {
    const a = cnn.sequential({ seed: 5, layers: [L.dense({ inputShape: [4], units: 6, activation: 'tanh' }), L.dense({ units: 2 })] });
    const b = cnn.sequential({ seed: 5 });
    b.add(L.dense({ inputShape: [4], units: 6, activation: 'tanh' }));
    b.add(L.dense({ units: 2 }));
    assert.deepEqual(a.outputShape, [null, 2]);
    assert.deepEqual(a.inputShape, [null, 4]);
    assert.deepEqual(b.outputShape, [null, 2]);
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    wa.forEach((w, i) => assertBitEqual(w, wb[i], `weight ${i}`));
    assert.equal(a.countParams(), 4 * 6 + 6 + 6 * 2 + 2);
    a.dispose();
    b.dispose();
  });

  test('the same seed gives bit-identical weights, another seed different ones', () => {
    const models = [1, 1, 2].map((seed) => lenet5(cnn, { seed }));
    const [w1, w2, w3] = models.map(weightsOf);
    models.forEach((m) => m.dispose());
    w1.forEach((w, i) => assertBitEqual(w, w2[i], `weight ${i}`));
    assert.ok(w1[0].some((v, i) => v !== w3[0][i]), 'seed 2 must give different kernels from seed 1');
  });

  test('model.layers lists the layers in order, with unique names', () => {
    const m = lenet5(cnn, { seed: 1 });
    const kinds = m.layers.map((l) => l.className).filter((c) => c !== 'InputLayer');
    assert.deepEqual(kinds, ['Conv2D', 'MaxPooling2D', 'Conv2D', 'AveragePooling2D', 'Flatten', 'Dense', 'Dropout', 'Dense']);
    const names = m.layers.map((l) => l.name);
    assert.equal(new Set(names).size, names.length, `layer names must be unique: ${names}`);
    const other = lenet5(cnn, { seed: 1 });
    const clash = other.layers.map((l) => l.name).filter((n) => names.includes(n));
    assert.deepEqual(clash, [], 'two models get distinct automatic layer names (as tfjs)');
    const named = cnn.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'my_dense' })] });
    assert.ok(named.layers.some((l) => l.name === 'my_dense'));
    assert.equal(named.getLayer('my_dense').className, 'Dense');
    for (const x of [m, other, named]) x.dispose();
  });

  test('model.layers of a sequential model matches tfjs (no InputLayer entry)', async () => {
    const tf = await loadTf();
    const m = cnn.sequential({ layers: [L.dense({ inputShape: [4], units: 3 }), L.dense({ units: 2 })] });
    const t = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.dense({ units: 2 })] });
    // tfjs: tf.sequential(...).layers has one entry per added layer; layers[0] is the first Dense.
    assert.equal(m.layers.length, t.layers.length,
      `model.layers has ${m.layers.length} entries (${m.layers.map((l) => l.className)}), tfjs has ${t.layers.length}`);
    assert.equal(m.layers[0].className, 'Dense');
    t.dispose();
    m.dispose();
  });

  test('summary() prints the layers and LeNet-5 has 51,902 parameters, as tfjs counts them', async () => {
    const tf = await loadTf();
    const m = lenet5(cnn, { seed: 1 });
    const lines = [];
    m.summary((line) => lines.push(line));
    const text = lines.join('\n');
    assert.match(text, /Total params: 51,?902/);
    assert.match(text, /Trainable params: 51,?902/);
    assert.match(text, /Non-trainable params: 0/);
    assert.equal(m.countParams(), 51902);

    const t = lenet5(tf); // the same layers and options, built by tfjs-layers
    assert.equal(m.countParams(), t.countParams());
    // Every layer: the summary row shows its name, output shape and parameter count, equal to tfjs's.
    const ours = m.layers.filter((l) => l.className !== 'InputLayer');
    assert.equal(ours.length, t.layers.length);
    ours.forEach((layer, i) => {
      const tl = t.layers[i];
      const shape = `[${tl.outputShape.map((d) => d ?? 'null')}]`;
      const row = lines.find((l) => l.startsWith(`${layer.name} `));
      assert.ok(row, `summary has a row for ${layer.name}`);
      assert.ok(row.includes(shape), `row for ${layer.name} shows output shape ${shape}: ${row}`);
      assert.equal(layer.countParams(), tl.countParams(), `${layer.name} parameters`);
      assert.ok(row.includes(String(tl.countParams())), `row for ${layer.name} shows ${tl.countParams()} params: ${row}`);
    });
    // Weight shapes in tfjs order and layouts.
    const ws = m.getWeights();
    assert.deepEqual(ws.map((w) => [...w.shape]), t.getWeights().map((w) => w.shape));
    ws.forEach((w) => w.dispose());
    t.dispose();
    m.dispose();
  });
});

let tfPromise = null;
async function loadTf() {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    return tf;
  })();
  return tfPromise;
}

// ---------------------------------------------------------------------------------------------------------------
describe('weights', () => {
  test('getWeights / setWeights round trip, order and shapes', () => {
    const m = lenet5(cnn, { seed: 3 });
    const ws = m.getWeights();
    assert.deepEqual(ws.map((w) => [...w.shape]),
      [[5, 5, 1, 6], [6], [5, 5, 6, 16], [16], [400, 120], [120], [120, 10], [10]]);
    const convs = m.layers.filter((l) => l.className === 'Conv2D').map((l) => l.name);
    const denses = m.layers.filter((l) => l.className === 'Dense').map((l) => l.name);
    assert.deepEqual(m.weightNames(), [convs[0], convs[0], convs[1], convs[1], denses[0], denses[0], denses[1], denses[1]]
      .map((layer, i) => `${layer}/${i % 2 ? 'bias' : 'kernel'}`));
    assert.deepEqual(m.weightNames().map((n) => n.split('/')[1]),
      ['kernel', 'bias', 'kernel', 'bias', 'kernel', 'bias', 'kernel', 'bias']);
    // New values: every weight gets a distinct, recognisable value.
    const fresh = ws.map((w, k) => cnn.tensor(Float32Array.from({ length: w.size }, (_, i) => (k + 1) * 1e-3 + i * 1e-6), [...w.shape]));
    m.setWeights(fresh);
    const back = m.getWeights();
    back.forEach((w, k) => assertBitEqual(w.dataSync(), fresh[k].dataSync(), `weight ${k}`));
    // getWeights returns copies: changing one does not change the model.
    const again = weightsOf(m);
    assertBitEqual(again[0], fresh[0].dataSync(), 'weights after reading them twice');
    // Per-layer access agrees with the model-level list.
    const conv = m.layers.find((l) => l.className === 'Conv2D');
    const lw = conv.getWeights();
    assertBitEqual(lw[0].dataSync(), fresh[0].dataSync(), 'layer.getWeights kernel');
    for (const t of [...ws, ...fresh, ...back, ...lw]) t.dispose();
    m.dispose();
  });

  test('setWeights changes predictions exactly as a hand computation of the dense layer', () => {
    const m = cnn.sequential({ layers: [L.dense({ inputShape: [3], units: 2 })] });
    const k = cnn.tensor([1, 2, 3, 4, 5, 6], [3, 2]); // [inputs, units]
    const b = cnn.tensor([0.5, -1], [2]);
    m.setWeights([k, b]);
    const x = cnn.tensor([1, 0, -1, 2, 1, 0.5], [2, 3]);
    const y = m.predict(x).dataSync();
    // y = x · k + b
    assert.deepEqual([...y], [1 * 1 + 0 * 3 + -1 * 5 + 0.5, 1 * 2 + 0 * 4 + -1 * 6 - 1, 2 * 1 + 1 * 3 + 0.5 * 5 + 0.5, 2 * 2 + 1 * 4 + 0.5 * 6 - 1]);
    m.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('fit', () => {
  test('epochs, batchSize, history keys/lengths, callbacks with indices and logs', async () => {
    const { x, y } = blobs(20);
    const m = smallClassifier();
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const batches = [];
    const epochs = [];
    const calls = [];
    const h = await m.fit(x, y, {
      epochs: 3, batchSize: 6, validationSplit: 0.25, seed: 3,
      callbacks: {
        onTrainBegin: () => calls.push('trainBegin'),
        onTrainEnd: () => calls.push('trainEnd'),
        onBatchEnd: (batch, logs) => batches.push({ batch, logs: { ...logs } }),
        onEpochEnd: (epoch, logs) => epochs.push({ epoch, logs: { ...logs } }),
      },
    });
    assert.deepEqual(calls, ['trainBegin', 'trainEnd']);
    // 20 samples, validationSplit 0.25 -> 15 training samples -> batches of 6, 6, 3.
    assert.deepEqual(batches.map((b) => b.batch), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    for (const { logs } of batches) {
      assert.ok(Number.isFinite(logs.loss) && logs.loss > 0, `batch loss ${logs.loss}`);
      assert.ok(logs.acc >= 0 && logs.acc <= 1, `batch acc ${logs.acc}`);
    }
    assert.deepEqual(epochs.map((e) => e.epoch), [0, 1, 2]);
    assert.deepEqual(h.epoch, [0, 1, 2]);
    assert.deepEqual(Object.keys(h.history).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
    for (const k of ['loss', 'acc', 'val_loss', 'val_acc']) {
      assert.equal(h.history[k].length, 3, `history.${k} length`);
      epochs.forEach(({ logs }, e) => assert.equal(logs[k], h.history[k][e], `epoch ${e} logs.${k} = history.${k}[${e}]`));
    }
    // Epoch loss/acc = the batch values averaged over samples (last batch has 3).
    const sizes = [6, 6, 3];
    for (let e = 0; e < 3; e++) {
      const bs = batches.slice(3 * e, 3 * e + 3);
      const loss = bs.reduce((s, b, i) => s + b.logs.loss * sizes[i], 0) / 15;
      const acc = bs.reduce((s, b, i) => s + b.logs.acc * sizes[i], 0) / 15;
      assert.ok(Math.abs(loss - h.history.loss[e]) < 1e-5, `epoch ${e} loss ${h.history.loss[e]} vs ${loss}`);
      assert.ok(Math.abs(acc - h.history.acc[e]) < 1e-6, `epoch ${e} acc ${h.history.acc[e]} vs ${acc}`);
    }
    m.dispose();
  });

  test('history without metrics or validation has only loss', async () => {
    const { x, y } = blobs(12);
    const m = smallClassifier();
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const h = await m.fit(x, y, { epochs: 2, batchSize: 5 });
    assert.deepEqual(Object.keys(h.history), ['loss']);
    assert.equal(h.history.loss.length, 2);
    const ev = m.evaluate(x, y);
    assert.ok(ev instanceof cnn.Tensor, 'evaluate without metrics returns just the loss tensor');
    assert.equal(ev.rank, 0);
    m.dispose();
  });

  test('validationSplit trains on the first samples and validates on the last ones (as tfjs)', async () => {
    const { x, y } = blobs(20);
    const a = smallClassifier(21);
    a.compile({ optimizer: cnn.train.sgd(0.2), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const h = await a.fit(x, y, { epochs: 1, batchSize: 4, validationSplit: 0.2, shuffle: false });
    // Same model trained only on the first 16 samples: bit-identical weights.
    const b = smallClassifier(21);
    b.compile({ optimizer: cnn.train.sgd(0.2), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    await b.fit(slice(x, 0, 16), slice(y, 0, 16), { epochs: 1, batchSize: 4, shuffle: false });
    const wa = weightsOf(a);
    weightsOf(b).forEach((w, i) => assertBitEqual(wa[i], w, `weight ${i}`));
    // val_loss / val_acc = evaluate() on the last 4 samples.
    const [vl, va] = a.evaluate(slice(x, 16, 20), slice(y, 16, 20), { batchSize: 4 });
    assert.ok(Math.abs(h.history.val_loss[0] - vl.dataSync()[0]) < 1e-6, `val_loss ${h.history.val_loss[0]} vs ${vl.dataSync()[0]}`);
    assert.ok(Math.abs(h.history.val_acc[0] - va.dataSync()[0]) < 1e-7, `val_acc ${h.history.val_acc[0]} vs ${va.dataSync()[0]}`);
    a.dispose();
    b.dispose();
  });

  test('validationData is evaluated at the end of every epoch', async () => {
    const { x, y } = blobs(18);
    const v = blobs(9, 1234);
    const m = smallClassifier();
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const seen = [];
    const h = await m.fit(x, y, {
      epochs: 2, batchSize: 6, validationData: [v.x, v.y],
      callbacks: { onEpochEnd: (e, logs) => { const [l, a] = m.evaluate(v.x, v.y); seen.push([l.dataSync()[0], a.dataSync()[0], logs]); } },
    });
    assert.equal(h.history.val_loss.length, 2);
    seen.forEach(([l, a, logs], e) => {
      assert.ok(Math.abs(l - h.history.val_loss[e]) < 1e-6, `epoch ${e}: val_loss ${h.history.val_loss[e]} vs evaluate ${l}`);
      assert.ok(Math.abs(a - h.history.val_acc[e]) < 1e-7, `epoch ${e}: val_acc ${h.history.val_acc[e]} vs evaluate ${a}`);
      assert.equal(logs.val_loss, h.history.val_loss[e]);
    });
    m.dispose();
  });

  test('shuffle: false visits the batches in order (= fitting each batch in turn)', async () => {
    const { x, y } = blobs(12);
    const a = smallClassifier(8);
    const b = smallClassifier(8);
    for (const m of [a, b]) m.compile({ optimizer: cnn.train.momentum(0.1, 0.5), loss: 'sparseCategoricalCrossentropy' });
    await a.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false });
    for (let s = 0; s < 12; s += 4) await b.fit(slice(x, s, s + 4), slice(y, s, s + 4), { epochs: 1, batchSize: 4, shuffle: false });
    const wa = weightsOf(a);
    weightsOf(b).forEach((w, i) => assertBitEqual(wa[i], w, `weight ${i}`));
    // With shuffling the order (hence the weights) differ; the same fit seed reproduces them.
    const c = smallClassifier(8);
    const d = smallClassifier(8);
    for (const m of [c, d]) m.compile({ optimizer: cnn.train.momentum(0.1, 0.5), loss: 'sparseCategoricalCrossentropy' });
    await c.fit(x, y, { epochs: 1, batchSize: 4, shuffle: true, seed: 5 });
    await d.fit(x, y, { epochs: 1, batchSize: 4, seed: 5 });
    const wc = weightsOf(c);
    assert.ok(wc[0].some((v, i) => v !== wa[0][i]), 'shuffled training differs from in-order training');
    weightsOf(d).forEach((w, i) => assertBitEqual(wc[i], w, `shuffled weight ${i} with the same seed`));
    for (const m of [a, b, c, d]) m.dispose();
  });

  test('signal: aborting in onBatchEnd stops after the current batch', async () => {
    const { x, y } = blobs(30);
    const m = smallClassifier(9);
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const controller = new AbortController();
    const seen = [];
    const h = await m.fit(x, y, {
      epochs: 3, batchSize: 5, shuffle: false, signal: controller.signal,
      callbacks: { onBatchEnd: (b) => { seen.push(b); if (b === 1) controller.abort(); } },
    });
    assert.deepEqual(seen, [0, 1], 'no batch after the abort');
    assert.ok(h.epoch.length <= 1);
    // The weights are those after exactly two batches.
    const ref = smallClassifier(9);
    ref.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    await ref.fit(slice(x, 0, 10), slice(y, 0, 10), { epochs: 1, batchSize: 5, shuffle: false });
    const wr = weightsOf(ref);
    weightsOf(m).forEach((w, i) => assertBitEqual(w, wr[i], `weight ${i}`));
    // An already aborted signal trains nothing; the model still trains afterwards.
    const before0 = weightsOf(m);
    await m.fit(x, y, { epochs: 2, signal: AbortSignal.abort() });
    weightsOf(m).forEach((w, i) => assertBitEqual(w, before0[i], `weight ${i} after an aborted fit`));
    const h2 = await m.fit(x, y, { epochs: 1, batchSize: 5 });
    assert.equal(h2.history.loss.length, 1);
    m.dispose();
    ref.dispose();
  });

  test('a second concurrent fit() throws while the first continues and finishes', async () => {
    const { x, y } = blobs(60);
    const m = smallClassifier(10);
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    let batches = 0;
    const first = m.fit(x, y, { epochs: 4, batchSize: 3, yieldEvery: 0, callbacks: { onBatchEnd: () => { batches++; } } });
    await assert.rejects(m.fit(x, y, { epochs: 1 }), (err) => err instanceof Error && /already training/.test(err.message));
    // Also while it is midway.
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(m.fit(x, y, { epochs: 1 }), /already training/);
    const h = await first;
    assert.equal(h.history.loss.length, 4);
    assert.equal(batches, 4 * 20);
    const h2 = await m.fit(x, y, { epochs: 1, batchSize: 30 });
    assert.equal(h2.history.loss.length, 1, 'after the first fit finished, fit works again');
    m.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('evaluate and predict', () => {
  test('evaluate returns [loss, acc] scalar tensors equal to a computation from predict()', async () => {
    const { x, y, ys } = blobs(23);
    const m = smallClassifier(12);
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await m.fit(x, y, { epochs: 3, batchSize: 5, seed: 2 });
    const out = m.evaluate(x, y, { batchSize: 7 });
    assert.ok(Array.isArray(out) && out.length === 2);
    const [lossT, accT] = out;
    assert.ok(lossT instanceof cnn.Tensor && accT instanceof cnn.Tensor);
    assert.deepEqual([...lossT.shape], []);
    assert.deepEqual([...accT.shape], []);
    const p = m.predict(x).dataSync();
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < 23; i++) {
      const row = p.subarray(i * 3, i * 3 + 3);
      loss -= Math.log(row[ys[i]]);
      if (row.indexOf(Math.max(...row)) === ys[i]) correct++;
    }
    assert.ok(Math.abs(lossT.dataSync()[0] - loss / 23) < 1e-5, `loss ${lossT.dataSync()[0]} vs ${loss / 23}`);
    assert.ok(Math.abs(accT.dataSync()[0] - correct / 23) < 1e-7, `acc ${accT.dataSync()[0]} vs ${correct / 23}`);
    // The batch size does not change the result.
    const [l2, a2] = m.evaluate(x, y, { batchSize: 64 });
    assert.ok(Math.abs(l2.dataSync()[0] - lossT.dataSync()[0]) < 1e-6);
    assert.equal(a2.dataSync()[0], accT.dataSync()[0]);
    for (const t of [lossT, accT, l2, a2]) t.dispose();
    m.dispose();
  });

  test('predict batching: n not a multiple of batchSize, and n = 1', () => {
    const m = lenet5(cnn, { seed: 4 });
    const n = 37;
    const r = mulberry32(5);
    const xs = Float32Array.from({ length: n * 784 }, () => r());
    const x = cnn.tensor(xs, [n, 28, 28, 1]);
    const all = m.predict(x, { batchSize: 64 });
    assert.deepEqual([...all.shape], [n, 10]);
    const batched = m.predict(x, { batchSize: 8 });
    assert.deepEqual([...batched.shape], [n, 10]);
    assertBitEqual(batched.dataSync(), all.dataSync(), 'predict with batchSize 8 vs 64');
    const def = m.predict(x);
    assertBitEqual(def.dataSync(), all.dataSync(), 'predict with the default batchSize');
    for (const i of [0, 17, 36]) {
      const one = m.predict(cnn.tensor(xs.subarray(i * 784, (i + 1) * 784), [1, 28, 28, 1]));
      assert.deepEqual([...one.shape], [1, 10]);
      assertBitEqual(one.dataSync(), all.dataSync().subarray(i * 10, i * 10 + 10), `sample ${i} alone`);
      const sum = one.dataSync().reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, 'softmax rows sum to 1');
    }
    m.dispose();
  });

  test('predict on a tensor already in the engine skips the copy in, and never returns stale results', async () => {
    // The engine keeps the last plain batch it was given; predict on the same tensor reuses it. Everything that
    // writes the input buffer in between (another tensor, another range of the same tensor, fit, evaluate,
    // computeGradients, a larger plan) must make the next predict copy again.
    const { x, y, xs } = blobs(20);
    const m = smallClassifier(9);
    m.compile({ optimizer: cnn.train.sgd(0.5), loss: 'sparseCategoricalCrossentropy' });
    const negated = xs.map((v) => -v);
    const other = cnn.tensor(negated, [20, 4]);
    // The oracle: dense(8, relu) -> dense(3, softmax) computed here from the current weights.
    const expected = (values) => {
      const [w1, b1, w2, b2] = weightsOf(m);
      const out = new Float32Array(values.length / 4 * 3);
      for (let i = 0; i < values.length / 4; i++) {
        const h = Array.from({ length: 8 }, (_, j) => Math.max(0, b1[j] + [0, 1, 2, 3].reduce((a, k) => a + values[i * 4 + k] * w1[k * 8 + j], 0)));
        const z = Array.from({ length: 3 }, (_, j) => b2[j] + h.reduce((a, v, k) => a + v * w2[k * 3 + j], 0));
        const e = z.map((v) => Math.exp(v - Math.max(...z)));
        e.forEach((v, j) => { out[i * 3 + j] = v / e.reduce((a, b) => a + b, 0); });
      }
      return out;
    };
    const check = (tensor, values, what, batchSize = 32) =>
      assert.ok(relError(m.predict(tensor, { batchSize }).dataSync(), expected(values)) < 1e-5, what);
    check(x, xs, 'first predict');
    check(x, xs, 'the same tensor again');
    check(other, negated, 'another tensor');
    check(x, xs, 'back to the first tensor');
    check(other, negated, 'another tensor, one batch');
    const small = cnn.tensor(xs.subarray(0, 8 * 4), [8, 4]);
    check(small, xs.subarray(0, 32), 'a tensor of 8 samples');
    m.evaluate(other, y, { batchSize: 8 });
    check(small, xs.subarray(0, 32), 'after evaluate');
    m.computeGradients(other, y);
    check(x, xs, 'after computeGradients');
    m.evaluate(x, y, { batchSize: 8 }); // samples 0-7 of x, then 8-15, 16-19
    check(x, xs, 'after evaluate on batches of the same tensor');
    await m.fit(other, y, { epochs: 1, batchSize: 20, seed: 1 }); // one shuffled batch; the weights change too
    check(other, negated, 'after fit, on the tensor fit ran on (shuffled samples in the input buffer)');
    check(x, xs, 'after fit');
    // Ranges: a plan of 20 samples runs batches of 20 (the plan never shrinks); a new model with batches of 8 runs
    // 0-7, 8-15, 16-19 of the same tensor, each copied.
    const m2 = smallClassifier(9);
    m2.setWeights(m.getWeights());
    const [a, b] = [m2.predict(x, { batchSize: 8 }).dataSync(), m.predict(x, { batchSize: 32 }).dataSync()];
    assert.ok(relError(a, b) < 1e-6, 'batches of 8 of one tensor');
    x.dispose();
    assert.throws(() => m.predict(x), /dispos/i, 'a disposed tensor is refused even though its samples are loaded');
    m.dispose();
    m2.dispose();
  });

  test('predict is deterministic and in inference mode (dropout off)', () => {
    const m = lenet5(cnn, { seed: 4 });
    const x = cnn.tensor(Float32Array.from({ length: 3 * 784 }, (_, i) => (i % 17) / 17), [3, 28, 28, 1]);
    assertBitEqual(m.predict(x).dataSync(), m.predict(x).dataSync(), 'two predictions');
    m.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('memory and dispose', () => {
  test('cnn.memory() reports tensors and models', async () => {
    const m0 = cnn.memory();
    assert.ok(m0.wasmHeapBytes > 0);
    for (const k of ['numTensors', 'numBytes', 'numModels', 'wasmHeapBytes']) assert.equal(typeof m0[k], 'number');
    const t = cnn.tensor(new Float32Array(10), [10]);
    const i = cnn.tensor(new Int32Array(3), [3], 'int32');
    assert.equal(cnn.memory().numTensors, m0.numTensors + 2);
    assert.equal(cnn.memory().numBytes, m0.numBytes + 52);
    const m = smallClassifier();
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    assert.equal(cnn.memory().numModels, m0.numModels + 1);
    const m2 = smallClassifier();
    const x1 = cnn.tensor(new Float32Array(4), [1, 4]);
    m2.predict(x1).dispose();
    x1.dispose();
    assert.equal(cnn.memory().numModels, m0.numModels + 2);
    m.dispose();
    m2.dispose();
    m2.dispose();
    assert.equal(cnn.memory().numModels, m0.numModels, 'dispose (twice) frees each model once');
    t.dispose();
    i.dispose();
    const m1 = cnn.memory();
    assert.equal(m1.numTensors, m0.numTensors);
    assert.equal(m1.numBytes, m0.numBytes);
    // fit / evaluate / predict create no lasting tensors beyond their results.
    const { x, y } = blobs(12);
    const mm = smallClassifier();
    mm.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const base = cnn.memory().numTensors;
    await mm.fit(x, y, { epochs: 2, batchSize: 5, validationSplit: 0.25 });
    assert.equal(cnn.memory().numTensors, base, 'fit leaks no tensors');
    const [l, a] = mm.evaluate(x, y);
    l.dispose(); a.dispose();
    mm.predict(x).dispose();
    assert.equal(cnn.memory().numTensors, base, 'evaluate/predict leak no tensors');
    mm.dispose();
  });

  test('predict reuses a disposed output\'s array, never one values() handed out', () => {
    const m = cnn.sequential({ seed: 5, layers: [cnn.layers.conv2d({ inputShape: [32, 32, 4], filters: 16, kernelSize: 3, padding: 'same' })] });
    const input = (k) => cnn.tensor(Float32Array.from({ length: 32 * 32 * 4 }, (_, i) => Math.sin(i * 0.1 + k)), [1, 32, 32, 4]);
    const [x1, x2, x3] = [input(1), input(2), input(3)];
    const want1 = m.predict(x1).dataSync(); // outputs of 16384 floats: long enough to be kept
    const want2 = m.predict(x2).dataSync();
    assert.notDeepEqual(want1, want2);
    // An output read through dataSync / arraySync only is recycled when disposed, and the next output of that length
    // takes its array: the values are the new ones.
    const a = m.predict(x1);
    assert.deepEqual(a.dataSync(), want1);
    assert.equal(a.arraySync()[0][0][0].length, 16);
    const before = recycleStats();
    a.dispose();
    assert.equal(recycleStats().kept, before.kept + 1);
    const b = m.predict(x2);
    assert.equal(recycleStats().reused, before.reused + 1);
    assert.deepEqual(b.dataSync(), want2);
    // An array handed out by values() may be held on to: disposing its tensor keeps it out of the next output.
    const held = b.values();
    b.dispose();
    assert.equal(recycleStats().kept, before.kept + 1, 'a values() array is not kept');
    const c = m.predict(x3);
    assert.deepEqual(held, want2, 'the held array still has its values');
    assert.notDeepEqual(c.dataSync(), want2);
    // Batched predict (several engine batches into one output) recycles too, and small outputs are not kept.
    c.dispose();
    const xs = cnn.tensor(new Float32Array(2 * 32 * 32 * 4).map((_, i) => Math.cos(i)), [2, 32, 32, 4]);
    const batched = m.predict(xs, { batchSize: 1 });
    const whole = m.predict(xs);
    assert.deepEqual(batched.dataSync(), whole.dataSync());
    batched.dispose(); whole.dispose();
    const small = cnn.sequential({ layers: [cnn.layers.dense({ inputShape: [4], units: 2 })] });
    const keptBefore = recycleStats().kept;
    small.predict(cnn.tensor(new Float32Array(4), [1, 4])).dispose();
    assert.equal(recycleStats().kept, keptBefore);
    for (const t of [x1, x2, x3, xs]) t.dispose();
    m.dispose(); small.dispose();
  });

  test('model.dispose() of a never-run model, then use -> clear error', async () => {
    const { x, y } = blobs(6);
    const m = smallClassifier();
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    m.dispose();
    assert.equal(m.isDisposed, true);
    const disposed = (err) => err instanceof Error && /disposed/.test(err.message);
    assert.throws(() => m.predict(x), disposed);
    assert.throws(() => m.evaluate(x, y), disposed);
    assert.throws(() => m.getWeights(), disposed);
    assert.throws(() => m.save(), disposed);
    await assert.rejects(m.fit(x, y), disposed);
  });

  // Each misuse runs in a child process: if it corrupts the engine, only that process is affected.
  for (const use of ['evaluate', 'fit', 'computeGradients', 'predict', 'getWeights']) {
    test(`model.dispose() after training, then ${use}() -> clear error, engine unharmed`, () => {
      const script = `
        import * as cnn from ${JSON.stringify(INDEX_URL)};
        await cnn.ready();
        const L = cnn.layers;
        const n = 64;
        const x = cnn.tensor(Float32Array.from({ length: n * 784 }, (_, i) => 0.5 + 0.5 * Math.sin(i)), [n, 28, 28, 1]);
        const y = cnn.tensor(Int32Array.from({ length: n }, (_, i) => i % 3), [n], 'int32');
        const make = () => cnn.sequential({ seed: 3, layers: [L.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }), L.flatten(), L.dense({ units: 3, activation: 'softmax' })] });
        async function reference() {
          const m = make();
          m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
          await m.fit(x, y, { batchSize: 16, shuffle: false, epochs: 2 });
          const p = Array.from(m.predict(x).dataSync());
          m.dispose();
          return p;
        }
        const report = (o) => console.log('RESULT ' + JSON.stringify(o));
        const ref = await reference();
        const m = make();
        m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
        await m.fit(x, y, { batchSize: 64, epochs: 1 });
        m.evaluate(x, y, { batchSize: 64 });
        m.computeGradients(x, y);
        m.predict(x, { batchSize: 64 });
        m.dispose();
        let error = null;
        try {
          const use = ${JSON.stringify(use)};
          if (use === 'evaluate') m.evaluate(x, y, { batchSize: 64 });
          if (use === 'fit') await m.fit(x, y, { batchSize: 64 });
          if (use === 'computeGradients') m.computeGradients(x, y);
          if (use === 'predict') m.predict(x, { batchSize: 64 });
          if (use === 'getWeights') m.getWeights();
        } catch (err) {
          error = { isError: err instanceof Error, message: String(err.message).replace(/[^\\x20-\\x7e]/g, '?') };
        }
        report({ error });
        try {
          const after = await reference();
          report({ sameAfter: after.every((v, i) => v === ref[i]) });
        } catch (err) {
          report({ engineBroken: String(err) });
        }
      `;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
      const results = Object.assign({}, ...child.stdout.split('\n').filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7))));
      assert.ok('error' in results, `the child process died before reporting: ${child.stderr}`);
      assert.ok(results.error, `${use}() on a disposed model must throw`);
      assert.ok(results.error.isError && /disposed/.test(results.error.message),
        `${use}() on a disposed model: expected an Error saying the model is disposed, got ${JSON.stringify(results.error.message)}`);
      assert.equal(results.engineBroken, undefined, `after ${use}() on a disposed model the engine is broken: ${results.engineBroken}`);
      assert.equal(results.sameAfter, true, `after ${use}() on a disposed model a fresh model trains and predicts as before`);
    });
  }
});
