// Randomized loader test (issue 12): seeded mutations of saved models from several architectures. Every load either
// gives a model that predicts the right shape or throws a CnnError with a message; no wasm trap, no internal
// TypeError, no hang; cnn.memory() is back at its baseline afterwards and a fresh model still trains. Bounded in
// time (LOADER_FUZZ_SECONDS, default 10 s) and seeded (LOADER_FUZZ_SEED), so a failure can be replayed.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { mulberry32, blobs, smallClassifier, fileHeader, withHeader, withCrc } from './helpers.js';

const L = cnn.layers;
const SECONDS = Number(process.env.LOADER_FUZZ_SECONDS ?? 10);
const SEED = Number(process.env.LOADER_FUZZ_SEED ?? 20261207);

function architectures() {
  const lenet = cnn.sequential({ seed: 1, layers: [
    L.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }), L.flatten(), L.dropout({ rate: 0.2 }), L.dense({ units: 4, activation: 'softmax' })] });
  lenet.compile({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
  const i = cnn.input({ shape: [8, 8, 2] });
  const a = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(i);
  const b = L.batchNormalization().apply(a);
  const c = L.add().apply([L.reLU().apply(b), L.conv2d({ filters: 4, kernelSize: 1 }).apply(i)]);
  const d = L.concatenate().apply([c, L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(c)]);
  const e = L.dense({ units: 3, activation: 'softmax' }).apply(L.flatten().apply(L.globalMaxPooling2d().apply(d)));
  const graph = cnn.model({ inputs: i, outputs: e, seed: 2 });
  graph.compile({ optimizer: cnn.train.momentum(0.1, 0.9), loss: 'sparseCategoricalCrossentropy' });
  const segnet = cnn.zoo.segnet({ inputShape: [16, 16, 3], depth: 2, width: 4, numClasses: 3, seed: 3 });
  segnet.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['meanIoU'], ignoreLabel: 255 });
  const fcn = cnn.zoo.fcn({ inputShape: [16, 16, 3], depth: 3, width: 4, numClasses: 3, seed: 4 });
  const up = cnn.sequential({ seed: 5, layers: [L.conv2dTranspose({ inputShape: [4, 4, 2], filters: 2, kernelSize: 2,
    strides: 2, kernelInitializer: 'bilinear' }), L.upSampling2d({ interpolation: 'bilinear' }), L.leakyReLU(),
  L.zeroPadding2d({ padding: [[1, 0], [0, 2]] }), L.conv2d({ filters: 1, kernelSize: 2, activation: 'sigmoid' })] });
  up.compile({ optimizer: cnn.train.sgd(0.1), loss: 'meanSquaredError', clipNorm: 1 });
  return [lenet, graph, segnet, fcn, up];
}

/** A random JSON value of a type that might confuse a reader. */
function oddValue(r) {
  const pool = [null, -1, 0, 1, 2 ** 31, 2 ** 32 + 3, 1e308, -0.5, NaN, 'constructor', '__proto__', '', 'x'.repeat(300),
    [], [1], [[1, 2]], {}, { name: 'x' }, true, false, [-1, -1, -1], [70000, 70000, 3], [0, 0]];
  return pool[Math.floor(r() * pool.length)];
}

/** Paths to every value in a JSON tree. */
function leaves(node, path = [], out = []) {
  if (node && typeof node === 'object') {
    out.push(path);
    for (const key of Object.keys(node)) leaves(node[key], [...path, key], out);
  } else out.push(path);
  return out;
}

function mutateHeader(bytes, r) {
  const { header, rest } = fileHeader(bytes);
  const paths = leaves(header).filter((p) => p.length > 0);
  const edits = 1 + Math.floor(r() * 3);
  for (let k = 0; k < edits; k++) {
    const path = paths[Math.floor(r() * paths.length)];
    let parent = header;
    for (const key of path.slice(0, -1)) parent = parent?.[key];
    if (!parent || typeof parent !== 'object') continue;
    const key = path.at(-1);
    const op = r();
    if (op < 0.15) delete parent[key];
    else if (op < 0.3 && typeof parent[key] === 'number') parent[key] = parent[key] + (r() < 0.5 ? 1 : -1) * Math.ceil(r() * 4);
    else if (op < 0.4 && Array.isArray(parent[key])) parent[key] = parent[key].slice(0, Math.floor(r() * parent[key].length));
    else parent[key] = oddValue(r);
  }
  return withHeader(bytes, header, rest);
}

function mutateBytes(bytes, r) {
  const out = bytes.slice();
  const op = r();
  if (op < 0.25) return out.subarray(0, Math.floor(r() * out.length)); // truncation (CRC left wrong)
  const flips = 1 + Math.floor(r() * 8);
  for (let k = 0; k < flips; k++) {
    const at = op < 0.6 ? 8 + Math.floor(r() * 8) : Math.floor(r() * (out.length - 4)); // lengths, or anywhere
    out[at] = r() < 0.5 ? out[at] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
  }
  return r() < 0.8 ? withCrc(out) : out;
}

before(() => cnn.ready());

test(`seeded mutations of saved models load or fail cleanly (${SECONDS} s, seed ${SEED})`, async () => {
  const models = architectures();
  const saved = models.map((m) => ({ bytes: m.save(), inputShape: m.inputs[0].sampleShape, outShape: m.outputs[0].sampleShape }));
  models.forEach((m) => m.dispose());
  const baseline = cnn.memory();
  const r = mulberry32(SEED);
  const tally = { loaded: 0, refused: 0, refusedAtPredict: 0 };
  const deadline = Date.now() + SECONDS * 1000;
  let run = 0;
  while (Date.now() < deadline) {
    run++;
    const { bytes, inputShape } = saved[run % saved.length];
    const mutated = r() < 0.6 ? mutateHeader(bytes, r) : mutateBytes(bytes, r);
    let model;
    try {
      model = await cnn.loadModel(mutated);
    } catch (err) {
      assert.equal(err.name, 'CnnError', `run ${run}: ${err.name} (not a CnnError): ${err.message}\n${err.stack}`);
      assert.ok(err.message.length > 10 && !/Cannot (read|destructure)|is not (a function|iterable|a constructor)/.test(err.message),
        `run ${run}: an internal error reached the user: ${err.message}`);
      tally.refused++;
      continue;
    }
    tally.loaded++;
    const shape = model.inputs[0].sampleShape;
    const size = shape.reduce((a, b) => a * b, 1);
    if (size <= 1 << 16) {
      const x = cnn.tensor(new Float32Array(2 * size).map((_, i) => (i % 7) / 7), [2, ...shape]);
      try {
        const y = model.predict(x);
        assert.deepEqual(y.shape, [2, ...model.outputs[0].sampleShape]);
        y.dispose();
      } catch (err) {
        assert.equal(err.name, 'CnnError', `run ${run}: predict threw ${err.name}: ${err.message}`);
        tally.refusedAtPredict++;
      } finally {
        x.dispose();
      }
    }
    assert.ok(inputShape);
    model.dispose();
  }
  console.log(`loader fuzz: ${run} mutated files: ${tally.loaded} loaded, ${tally.refused} refused at load, ` +
    `${tally.refusedAtPredict} refused at predict`);
  assert.ok(run > 200, `only ${run} runs in ${SECONDS} s`);
  assert.ok(tally.loaded > 0 && tally.refused > 0, 'the mutations should give both outcomes');
  const after = cnn.memory();
  assert.equal(after.numTensors, baseline.numTensors, 'tensors leaked');
  assert.equal(after.numBytes, baseline.numBytes, 'tensor bytes leaked');
  assert.equal(after.numModels, baseline.numModels, 'models leaked');
  // The engine is sound: a fresh model trains.
  const { x, y } = blobs(30);
  const m = smallClassifier(9);
  m.compile({ optimizer: cnn.train.sgd(0.2), loss: 'sparseCategoricalCrossentropy' });
  const h = await m.fit(x, y, { epochs: 4, batchSize: 10, seed: 1 });
  assert.ok(h.history.loss[3] < h.history.loss[0]);
  m.dispose(); x.dispose(); y.dispose();
});
