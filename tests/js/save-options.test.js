// model.save({ includeOptimizer, quantize }) and format version 2: fine-tuning resumes where it stopped, weights
// stored as float16 / uint8 load back within their precision, version 1 files (the shipped demo models) still load.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as cnn from '../../web/index.js';
import { toHalf, fromHalf } from '../../web/model/quantize.js';
import { blobs, smallClassifier, weightsOf, crc32 } from './helpers.js';

before(() => cnn.ready());

function trained(optimizer) {
  const { x, y } = blobs(60);
  const m = smallClassifier(4);
  m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
  return { m, x, y };
}

for (const [name, make] of [['adam', () => cnn.train.adam(0.01)], ['momentum', () => cnn.train.momentum(0.05, 0.9, true)],
  ['sgd', () => cnn.train.sgd(0.1)]]) {
  test(`includeOptimizer (${name}): a loaded model continues bit-identically to the one that kept training`, async () => {
    const { m, x, y } = trained(make());
    await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 1 });
    const bytes = m.save({ includeOptimizer: true });
    const loaded = await cnn.loadModel(bytes);
    const a = await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 2 });
    const b = await loaded.fit(x, y, { epochs: 1, batchSize: 16, seed: 2 });
    assert.deepEqual(b.history.loss, a.history.loss);
    weightsOf(m).forEach((w, i) => assert.deepEqual(weightsOf(loaded)[i], w));
    if (name !== 'sgd') {
      // Without the state, Adam / momentum restart: the next epoch differs.
      const fresh = await cnn.loadModel(m.save());
      const c = await fresh.fit(x, y, { epochs: 1, batchSize: 16, seed: 3 });
      const d = await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 3 });
      assert.notDeepEqual(c.history.loss, d.history.loss);
      fresh.dispose();
    }
    const state = loaded.getOptimizerState();
    assert.equal(state.tensors.length, { adam: 2, momentum: 1, sgd: 0 }[name] * 4);
    assert.ok(state.step > 0 || name === 'sgd');
    [m, loaded].forEach((model) => model.dispose());
    x.dispose(); y.dispose();
  });
}

test('float16 round trip: exact on representable values, nearest-even rounding, subnormals, overflow', () => {
  for (const v of [0, -0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 1.5, 3.140625]) assert.equal(fromHalf(toHalf(v)), v);
  assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1);            // halfway: rounds to even
  assert.equal(fromHalf(toHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9); // halfway: rounds up to even
  assert.equal(fromHalf(toHalf(1e6)), Infinity);
  assert.equal(fromHalf(toHalf(2 ** -26)), 0);
  for (let i = 0; i < 2000; i++) {
    const v = (Math.sin(i) * 7) ** 3;
    assert.ok(Math.abs(fromHalf(toHalf(v)) - v) <= Math.abs(v) * 2 ** -11 + 2 ** -25, `${v}`);
  }
});

test('quantize float16 / uint8: smaller files, weights within their precision, predictions close', async () => {
  const { m, x, y } = trained(cnn.train.adam(0.02));
  await m.fit(x, y, { epochs: 3, batchSize: 16, seed: 1 });
  const full = m.save();
  const half = m.save({ quantize: 'float16' });
  const byte = m.save({ quantize: 'uint8' });
  // Per value 4 bytes -> 2 -> 1 (plus at most 3 bytes of padding and uint8's 8-byte min/scale per tensor).
  const params = m.countParams();
  const tensors = m.getWeights().length;
  assert.ok(full.length - half.length >= 2 * params - 4 * tensors, `${full.length} ${half.length}`);
  assert.ok(full.length - byte.length >= 3 * params - 12 * tensors, `${full.length} ${byte.length}`);
  const p = m.predict(x).dataSync();
  for (const [bytes, weightTol, predTol] of [[half, 2 ** -10, 5e-3], [byte, 1 / 255 / 2 * 1.01, 0.05]]) {
    const q = await cnn.loadModel(bytes);
    const ours = weightsOf(m);
    weightsOf(q).forEach((w, i) => {
      const range = Math.max(...ours[i]) - Math.min(...ours[i]);
      w.forEach((v, k) => assert.ok(Math.abs(v - ours[i][k]) <= weightTol * Math.max(range, Math.abs(ours[i][k])) + 1e-7,
        `weight ${i}[${k}]: ${v} vs ${ours[i][k]}`));
    });
    const pq = q.predict(x).dataSync();
    pq.forEach((v, k) => assert.ok(Math.abs(v - p[k]) < predTol, `prediction ${k}: ${v} vs ${p[k]}`));
    q.dispose();
  }
  assert.throws(() => m.save({ quantize: 'int4' }), /quantize must be 'float32', 'float16' or 'uint8'/);
  assert.throws(() => m.save({ quantise: 'uint8' }), /unknown option 'quantise' \(did you mean 'quantize'\?\)/);
  m.dispose(); x.dispose(); y.dispose();
});

/** A version 1 file of the same model: no encoding fields, no encoding names, version 1 (what 0.1 wrote). */
function asVersion1(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength)));
  for (const w of header.weights) delete w.encoding;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const parts = [];
  let at = 12 + ((jsonLength + 3) & ~3);
  const count = view.getUint32(at, true); at += 4;
  for (let t = 0; t < count; t++) {
    const ndim = view.getUint32(at, true);
    const dims = [];
    for (let d = 0; d < ndim; d++) dims.push(view.getUint32(at + 4 + 4 * d, true));
    const size = dims.reduce((a, b) => a * b, 1);
    parts.push(bytes.subarray(at, at + 4 + 4 * ndim));           // ndim, dims
    assert.equal(view.getUint32(at + 4 + 4 * ndim, true), 0);    // float32
    parts.push(bytes.subarray(at + 8 + 4 * ndim, at + 8 + 4 * ndim + 4 * size));
    at += 8 + 4 * ndim + 4 * size;
  }
  const padded = (json.length + 3) & ~3;
  const out = new Uint8Array(12 + padded + 4 + parts.reduce((n, p) => n + p.length, 0) + 4);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, view.getUint32(0, true), true);
  ov.setUint32(4, 1, true);
  ov.setUint32(8, json.length, true);
  out.set(json, 12);
  let o = 12 + padded;
  ov.setUint32(o, count, true); o += 4;
  for (const p of parts) { out.set(p, o); o += p.length; }
  ov.setUint32(o, crc32(out.subarray(0, o)), true);
  return out;
}


test('version 1 files still load and predict bit-identically', async () => {
  const { m, x } = trained(cnn.train.adam(0.01));
  const v1 = asVersion1(m.save());
  assert.equal(new DataView(v1.buffer).getUint32(4, true), 1);
  const loaded = await cnn.loadModel(v1);
  assert.deepEqual(loaded.predict(x).dataSync(), m.predict(x).dataSync());
  assert.equal(loaded.compileConfig.loss, 'sparseCategoricalCrossentropy');
  [m, loaded].forEach((model) => model.dispose());
});

test('the shipped demo models load (version 2, uint8 weights)', async () => {
  const bytes = new Uint8Array(readFileSync(new URL('../../demos/models/segnet-shapes.wcnn', import.meta.url)));
  const m = await cnn.loadModel(bytes);
  assert.deepEqual(m.outputShape, [null, 64, 64, 4]);
  m.dispose();
});
