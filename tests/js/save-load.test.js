// model.save() / cnn.loadModel() (docs/FORMAT.md): every source kind, bit-identical predictions and weights, names,
// configs and compile settings preserved, and damaged or foreign files rejected with an Error that mentions
// loadModel — never a crash, a hang or a damaged engine.
//
//   bash build.sh && node --test tests/js/save-load.test.js
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as cnn from '../../web/index.js';
import { lenet5 } from '../../recipes/mnist.js';
import { mulberry32, uniforms, ints, weightsOf, assertBitEqual } from './helpers.js';

const L = cnn.layers;
let dir;

before(async () => {
  await cnn.ready();
  dir = mkdtempSync(join(tmpdir(), 'wasm-cnn-save-load-'));
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** n random images [n, h, w, c] with values uniform in [0, 1). */
const images = (n, h, w, c, seed = 1) => cnn.tensor(uniforms(n * h * w * c, seed, 0, 1), [n, h, w, c]);

/** n random int32 labels in [0, classes). */
const labels = (n, classes, seed = 2) => cnn.tensor(ints(n, seed, classes), [n], 'int32');

function assertSameModel(original, loaded, x) {
  const wa = weightsOf(original);
  const wb = weightsOf(loaded);
  assert.equal(wb.length, wa.length, 'number of weights');
  wa.forEach((w, i) => assertBitEqual(wb[i], w, `weight ${i}`));
  assert.deepEqual(loaded.weightNames(), original.weightNames());
  assertBitEqual(loaded.predict(x).dataSync(), original.predict(x).dataSync(), 'predictions');
}

/** A small model with non-default options everywhere, trained a little. */
async function smallTrained(optimizer = cnn.train.sgd(0.05), compileExtra = {}) {
  const m = cnn.sequential({ seed: 17, name: 'small_net', layers: [
    L.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: [3, 2], padding: 'same', activation: 'tanh', name: 'c1' }),
    L.averagePooling2d({ poolSize: 2, strides: 1, name: 'p1' }),
    L.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2, useBias: false, kernelInitializer: 'heNormal', name: 'c2' }),
    L.flatten({ name: 'f' }),
    L.dense({ units: 4, activation: 'sigmoid', kernelInitializer: 'glorotNormal', name: 'd1' }),
    L.dropout({ rate: 0.2, name: 'drop' }),
    L.dense({ units: 3, name: 'logits' }),
    L.activation({ activation: 'softmax', name: 'probs' }),
  ] });
  m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], ...compileExtra });
  await m.fit(images(24, 6, 6, 2), labels(24, 3), { epochs: 2, batchSize: 8, seed: 3 });
  return m;
}

/** The smallest saved model: dense 3 -> 2, compiled. */
function tinyBytes() {
  const m = cnn.sequential({ seed: 1, layers: [L.dense({ inputShape: [3], units: 2, name: 'tiny' })] });
  m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const bytes = m.save();
  return { m, bytes };
}

async function rejects(source, what, ...patterns) {
  let error = null;
  let model = null;
  try {
    model = await cnn.loadModel(source);
  } catch (err) {
    error = err;
  }
  if (model) {
    model.dispose();
    assert.fail(`${what}: loadModel accepted it`);
  }
  assert.ok(error instanceof Error, `${what}: expected an Error, got ${error}`);
  assert.match(error.message, /loadModel/, `${what}: the message must mention loadModel: ${error.message}`);
  for (const p of patterns) assert.match(error.message, p, `${what}: ${error.message}`);
  return error;
}

// ---------------------------------------------------------------------------------------------------------------
describe('round trip', () => {
  test('LeNet-5: Uint8Array, ArrayBuffer, file path, file URL, Node Buffer all give bit-identical models', async () => {
    const m = lenet5(cnn, { seed: 1 });
    m.compile({ optimizer: cnn.train.adam(0.001), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await m.fit(images(40, 28, 28, 1), labels(40, 10), { epochs: 1, batchSize: 16, seed: 1 });
    const bytes = m.save();
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(String.fromCharCode(...bytes.subarray(0, 4)), 'WCNN');
    const path = join(dir, 'lenet5.wcnn');
    writeFileSync(path, bytes);
    // A Uint8Array that is a view into a bigger buffer, at an odd offset.
    const big = new Uint8Array(bytes.length + 11);
    big.set(bytes, 7);
    const sources = {
      'Uint8Array': bytes,
      'ArrayBuffer': bytes.slice().buffer,
      'view at offset 7': big.subarray(7, 7 + bytes.length),
      'Node Buffer': readFileSync(path),
      'file path': path,
      'file URL': pathToFileURL(path),
    };
    const x = images(5, 28, 28, 1, 9);
    for (const [kind, source] of Object.entries(sources)) {
      const loaded = await cnn.loadModel(source);
      try {
        assertSameModel(m, loaded, x);
      } catch (err) {
        throw new Error(`${kind}: ${err.message}`);
      }
      loaded.dispose();
    }
    assertBitEqual(m.save(), bytes, 'saving twice gives the same bytes');
    m.dispose();
  });

  // docs/API.md: loadModel(bytes | ArrayBuffer | URL | path). 'http(s)://...' strings are fetched as URLs, and
  // recipes/mnist.js accepts 'file:' strings; loadModel reads a 'file:///...' string as a relative path.
  test("a 'file:///...' URL string loads like the URL object", async () => {
    const m = cnn.sequential({ seed: 2, layers: [L.dense({ inputShape: [3], units: 2 })] });
    const path = join(dir, 'url-string.wcnn');
    writeFileSync(path, m.save());
    const loaded = await cnn.loadModel(pathToFileURL(path).href);
    assertSameModel(m, loaded, cnn.tensor([1, 2, 3], [1, 3]));
    loaded.dispose();
    m.dispose();
  });

  test('layer names, classes and configs are preserved', async () => {
    const m = await smallTrained();
    const loaded = await cnn.loadModel(m.save());
    const names = (model) => model.layers.map((l) => `${l.name}:${l.className}`);
    assert.equal(loaded.name, 'small_net');
    assert.deepEqual(loaded.inputShape, m.inputShape);
    assert.deepEqual(loaded.outputShape, m.outputShape);
    assert.equal(loaded.countParams(), m.countParams());
    // (The first layer's inputShape moves to the rebuilt InputLayer, so it is left out of the comparison.)
    const config = (layer) => { const { inputShape, ...rest } = layer.getConfig(); return rest; };
    for (const layer of m.layers) {
      assert.deepEqual(config(loaded.getLayer(layer.name)), config(layer), `config of ${layer.name}`);
    }
    assertSameModel(m, loaded, images(7, 6, 6, 2, 5));
    const summary = (model) => { const lines = []; model.summary((l) => lines.push(l)); return lines.join('\n'); };
    assert.equal(summary(loaded), summary(m), 'summary()');
    assert.deepEqual(names(loaded).filter((n) => !n.endsWith(':InputLayer')), names(m), 'model.layers, InputLayer aside');
    // tfjs: a loaded Sequential's layers are the saved Sequential's layers (no InputLayer entry).
    assert.deepEqual(names(loaded), names(m), 'model.layers of the loaded model');
    m.dispose();
    loaded.dispose();
  });

  test('a loaded Sequential model is still a Sequential (as tfjs), and re-saving gives the same bytes', async () => {
    const m = await smallTrained();
    const bytes = m.save();
    const loaded = await cnn.loadModel(bytes);
    assert.ok(loaded instanceof cnn.Sequential, `loaded model is a ${loaded.constructor.name}`);
    assertBitEqual(loaded.save(), bytes, 'save(loadModel(bytes))');
    m.dispose();
    loaded.dispose();
  });

  test('a functional model round-trips', async () => {
    const input = cnn.input({ shape: [5, 5, 1] });
    const h = L.conv2d({ filters: 2, kernelSize: 3, activation: 'relu' }).apply(input);
    const out = L.dense({ units: 2, activation: 'softmax' }).apply(L.flatten().apply(h));
    const m = cnn.model({ inputs: input, outputs: out, seed: 4 });
    const loaded = await cnn.loadModel(m.save());
    assertSameModel(m, loaded, images(3, 5, 5, 1));
    assert.equal(loaded.compileConfig ?? null, null, 'an uncompiled model loads uncompiled');
    m.dispose();
    loaded.dispose();
  });

  test('compile settings are preserved, and the loaded model keeps training', async () => {
    const x = images(24, 6, 6, 2, 11);
    const y = labels(24, 3, 12);
    const cases = [
      ['sgd', cnn.train.sgd(0.05), {}],
      ['sgd + clipNorm', cnn.train.sgd(0.05), { clipNorm: 0.01 }],
      ['sgd + weightDecay', cnn.train.sgd(0.05, { weightDecay: 0.01 }), {}],
      ['momentum nesterov', cnn.train.momentum(0.02, 0.8, true), {}],
      ['adam', cnn.train.adam(0.003, 0.85, 0.99, 1e-5), { clipNorm: 2 }],
    ];
    const problems = [];
    for (const [name, optimizer, extra] of cases) {
      const m = await smallTrained(optimizer, extra);
      const loaded = await cnn.loadModel(m.save());
      const a = m.compileConfig;
      const b = loaded.compileConfig;
      assert.ok(b, `${name}: the loaded model is compiled`);
      assert.equal(b.loss, a.loss, `${name}: loss`);
      assert.deepEqual(b.metrics, a.metrics, `${name}: metrics`);
      for (const key of ['name', 'learningRate', 'momentum', 'nesterov', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'clipNorm']) {
        if (!Object.is(b.optimizer[key], a.optimizer[key])) problems.push(`${name}: optimizer.${key} is ${b.optimizer[key]} after loading, was ${a.optimizer[key]}`);
      }
      // Evaluate agrees exactly.
      const [la, aa] = m.evaluate(x, y);
      const [lb, ab] = loaded.evaluate(x, y);
      assert.equal(lb.dataSync()[0], la.dataSync()[0], `${name}: evaluate loss`);
      assert.equal(ab.dataSync()[0], aa.dataSync()[0], `${name}: evaluate acc`);
      // Keep training. Stateless optimizers continue exactly as the original (docs/FORMAT.md: the optimizer state,
      // e.g. Adam moments, is not stored, so stateful ones restart it).
      const ha = await m.fit(x, y, { epochs: 2, batchSize: 8, seed: 6 });
      const hb = await loaded.fit(x, y, { epochs: 2, batchSize: 8, seed: 6 });
      assert.ok(hb.history.loss.every(Number.isFinite), `${name}: the loaded model trains`);
      if (optimizer.name === 'sgd') {
        const wa = weightsOf(m);
        const wb = weightsOf(loaded);
        const same = hb.history.loss.every((v, i) => v === ha.history.loss[i]) && wa.every((w, i) => w.every((v, j) => v === wb[i][j]));
        if (!same) problems.push(`${name}: training on differs from the original (losses ${ha.history.loss} vs ${hb.history.loss})`);
      }
      m.dispose();
      loaded.dispose();
    }
    assert.deepEqual(problems, []);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('damaged and foreign files', () => {
  test('every truncation of a small saved model is rejected', async () => {
    const { m, bytes } = tinyBytes();
    const accepted = [];
    const notMentioning = [];
    for (let len = 0; len < bytes.length; len++) {
      try {
        const loaded = await cnn.loadModel(bytes.slice(0, len));
        loaded.dispose();
        accepted.push(len);
      } catch (err) {
        if (!(err instanceof Error) || !/loadModel/.test(err.message)) notMentioning.push(`${len}: ${err}`);
      }
    }
    assert.deepEqual(accepted, [], 'truncated files that loaded');
    assert.deepEqual(notMentioning, [], 'errors that are not Errors mentioning loadModel');
    // The intact file still loads and the engine still works.
    const loaded = await cnn.loadModel(bytes);
    assertSameModel(m, loaded, cnn.tensor([1, 2, 3, 4, 5, 6], [2, 3]));
    loaded.dispose();
    m.dispose();
  });

  test('every single-byte corruption of a small saved model is rejected', async () => {
    const { m, bytes } = tinyBytes();
    const accepted = [];
    const notMentioning = [];
    for (let at = 0; at < bytes.length; at++) {
      for (const mask of [0x01, 0x80, 0xff, 0x5a]) {
        const bad = bytes.slice();
        bad[at] ^= mask;
        try {
          const loaded = await cnn.loadModel(bad);
          loaded.dispose();
          accepted.push(`${at}^${mask}`);
        } catch (err) {
          if (!(err instanceof Error) || !/loadModel/.test(err.message)) notMentioning.push(`${at}^${mask}: ${err}`);
        }
      }
    }
    assert.deepEqual(accepted, [], 'corrupted files that loaded');
    assert.deepEqual(notMentioning, [], 'errors that are not Errors mentioning loadModel');
    const loaded = await cnn.loadModel(bytes);
    assertSameModel(m, loaded, cnn.tensor([1, 2, 3, 4, 5, 6], [2, 3]));
    loaded.dispose();
    m.dispose();
  });

  // A writer with a bug (or a hostile file) can produce a valid checksum over bad contents. Corrupt every byte and
  // fix the CRC: the reader must then either load some model or throw an Error mentioning loadModel — never crash,
  // hang, or damage the engine.
  test('single-byte corruptions with a recomputed checksum never crash or damage the engine', async () => {
    const { m, bytes } = tinyBytes();
    const view = new DataView(bytes.buffer);
    const crcOf = (b) => {
      let crc = 0xffffffff;
      for (let i = 0; i < b.length; i++) {
        crc ^= b[i];
        for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
      }
      return (crc ^ 0xffffffff) >>> 0;
    };
    assert.equal(crcOf(bytes.subarray(0, bytes.length - 4)), view.getUint32(bytes.length - 4, true), 'CRC-32 as zlib');
    const x = cnn.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const problems = [];
    let loadedCount = 0;
    let rejectedCount = 0;
    for (let at = 0; at < bytes.length - 4; at++) {
      for (const mask of [0x01, 0x20, 0x80, 0xff]) {
        const bad = bytes.slice();
        bad[at] ^= mask;
        new DataView(bad.buffer).setUint32(bad.length - 4, crcOf(bad.subarray(0, bad.length - 4)), true);
        try {
          const loaded = await cnn.loadModel(bad);
          loadedCount++;
          const p = loaded.predict(x).dataSync();
          if (p.length !== 4) problems.push(`${at}^${mask}: loaded model predicts ${p.length} values`);
          loaded.dispose();
        } catch (err) {
          rejectedCount++;
          if (!(err instanceof Error) || !/loadModel/.test(err.message)) problems.push(`${at}^${mask}: ${err?.stack ?? err}`);
          else if (/RuntimeError|memory access|unreachable/i.test(err.message)) problems.push(`${at}^${mask}: engine trap: ${err.message}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(rejectedCount > 0);
    // The engine is intact: the original bytes load into the same model.
    const loaded = await cnn.loadModel(bytes);
    assertSameModel(m, loaded, x);
    loaded.dispose();
    m.dispose();
    console.log(`# recomputed-CRC sweep: ${loadedCount} variants loaded (changed weights or names), ${rejectedCount} rejected`);
  });

  test('hand-crafted hostile headers are rejected before anything is allocated', async () => {
    const { m, bytes } = tinyBytes();
    const jsonLength = new DataView(bytes.buffer).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength)));
    const rebuild = (hdr, tensors = null) => {
      // Re-encode a file: header + the original tensor section (or a given one) + CRC.
      const json = new TextEncoder().encode(JSON.stringify(hdr));
      const pad = (json.length + 3) & ~3;
      const oldTensorStart = 12 + ((jsonLength + 3) & ~3);
      const tensorBytes = tensors ?? bytes.subarray(oldTensorStart, bytes.length - 4);
      const out = new Uint8Array(12 + pad + tensorBytes.length + 4);
      const v = new DataView(out.buffer);
      out.set(bytes.subarray(0, 8));
      v.setUint32(8, json.length, true);
      out.set(json, 12);
      out.set(tensorBytes, 12 + pad);
      let crc = 0xffffffff;
      for (let i = 0; i < out.length - 4; i++) {
        crc ^= out[i];
        for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
      }
      v.setUint32(out.length - 4, (crc ^ 0xffffffff) >>> 0, true);
      return out;
    };
    // Sanity: re-encoding the unchanged header loads.
    (await cnn.loadModel(rebuild(header))).dispose();
    const mutate = (fn) => { const h = structuredClone(header); fn(h); return rebuild(h); };
    const tensorSection = (dims) => {
      const u = new Uint32Array([1, dims.length, ...dims]);
      return new Uint8Array(u.buffer);
    };
    const problems = [];
    const check = async (...args) => { try { await rejects(...args); } catch (err) { problems.push(err.message); } };
    await check(mutate((h) => { h.format = 'other'; }), 'wrong format');
    await check(mutate((h) => { h.model.layers[1].className = 'Conv3D'; }), 'unknown layer class', /Conv3D/);
    await check(mutate((h) => { h.model.layers[1].config.units = 5; }), 'units changed');
    await check(mutate((h) => { h.model.layers[1].config.activation = 'swish'; }), 'bad activation', /swish/);
    await check(mutate((h) => { h.model.layers[1].config.units = 1e9; }), 'a billion units');
    await check(mutate((h) => { h.model.layers[1].inbound = [['nowhere', 0]]; }), 'unknown inbound layer', /nowhere/);
    await check(mutate((h) => { h.weights[0].name = 'x/kernel'; }), 'renamed weight');
    await check(mutate((h) => { h.weights.pop(); }), 'missing weight');
    await check(mutate((h) => { h.model = null; }), 'null model');
    await check(mutate((h) => { h.weights = [null, null]; }), 'null weights');
    await check(mutate((h) => { h.training.loss = 'hinge'; }), 'unknown loss', /hinge/);
    await check(mutate((h) => { h.training.optimizer.learningRate = -1; }), 'negative learning rate');
    // A tensor claiming 2^32-1 x 2^32-1 values: rejected by the length check, no allocation.
    await check(mutate((h) => { h.weights = [{ name: 'tiny/kernel', shape: [0xffffffff, 0xffffffff] }]; }), 'huge tensor');
    const huge = structuredClone(header);
    huge.weights = [{ name: 'tiny/kernel', shape: [0xffffffff, 0xffffffff] }];
    await check(rebuild(huge, tensorSection([0xffffffff, 0xffffffff])), 'huge tensor dims', /past the end|does not fit|dimensions/);
    await check(rebuild(header, tensorSection([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])), 'ten dimensions');
    assert.deepEqual(problems, []);
    m.dispose();
  });

  test('foreign files and bad sources get a clear error', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
      0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89]);
    await rejects(png, 'PNG', /WCNN|not a wasm-cnn/);
    const r = mulberry32(3);
    for (const n of [1, 19, 20, 1000, 100000]) {
      await rejects(Uint8Array.from({ length: n }, () => Math.floor(r() * 256)), `${n} random bytes`);
    }
    const tfjsJson = new TextEncoder().encode(JSON.stringify({ modelTopology: { class_name: 'Sequential' }, weightsManifest: [] }));
    await rejects(tfjsJson, 'tfjs model.json', /not a wasm-cnn|WCNN/);
    await rejects(new TextEncoder().encode(JSON.stringify({ format: 'wasm-cnn', model: {}, weights: [] })), 'wasm-cnn-looking JSON');
    await rejects(new Uint8Array(0), 'empty file', /0 bytes|too short/);
    // Right magic, wrong version.
    const { m, bytes } = tinyBytes();
    const v3 = bytes.slice();
    new DataView(v3.buffer).setUint32(4, 3, true);
    await rejects(v3, 'version 3', /version 3 is not supported/);
    // Files on disk.
    const pngPath = join(dir, 'image.png');
    writeFileSync(pngPath, png);
    await rejects(pngPath, 'PNG on disk');
    const jsonPath = join(dir, 'model.json');
    writeFileSync(jsonPath, tfjsJson);
    await rejects(jsonPath, 'JSON on disk');
    await rejects(pathToFileURL(jsonPath), 'JSON file URL');
    await rejects(join(dir, 'does-not-exist.wcnn'), 'missing file', /does-not-exist/);
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { recursive: true });
    await rejects(sub, 'a directory', /a-directory/);
    // Not a source at all.
    for (const source of [undefined, null, 42, {}, [1, 2, 3]]) await rejects(source, `source ${JSON.stringify(source)}`);
    m.dispose();
  });
});
