// The threaded engine (dist/wasm-cnn-mt.wasm, web/engine/threads.js) in Node: training with 2 and 3 threads gives
// the single-threaded build's bits (losses of every batch and every weight); ready({ threads }) validates its option,
// engineInfo() says which build runs and why, and a wasmBinary without its threaded twin falls back to one thread.
// One engine per process (ready() decides once), so each configuration trains in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const index = new URL('../../web/index.js', import.meta.url).href;
const net = new URL('./threads-net.js', import.meta.url).href;

/** Runs `body` (an async function body with `cnn` in scope) in a fresh Node process; returns its JSON result. */
function inChild(body) {
  const script = `import * as cnn from ${JSON.stringify(index)};
    import { trainThreadsNet } from ${JSON.stringify(net)};
    const result = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify(result));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script],
    { cwd: here, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out);
}

test('training gives the same bits with 1 (single-threaded build), 2 and 3 threads', () => {
  const runs = [1, 2, 3].map((threads) =>
    inChild(`await cnn.ready({ threads: ${threads} }); return trainThreadsNet(cnn);`));
  const [one, two, three] = runs;
  assert.deepEqual(one.engine, { simd: true, threads: 1, build: 'wasm-cnn.wasm', reason: 'threads: 1 was requested' });
  assert.deepEqual(two.engine, { simd: true, threads: 2, build: 'wasm-cnn-mt.wasm', reason: '' });
  assert.deepEqual(three.engine, { simd: true, threads: 3, build: 'wasm-cnn-mt.wasm', reason: '' });
  assert.equal(one.losses.length, 6);
  assert.equal(new Set(one.losses).size, 6, 'the losses change from batch to batch');
  for (const run of [two, three]) {
    assert.deepEqual(run.losses, one.losses, `losses with ${run.engine.threads} threads`);
    assert.deepEqual(run.weights, one.weights, `weights with ${run.engine.threads} threads`);
  }
});

test('ready() defaults to every core (at most 8) and validates threads', () => {
  const r = inChild(`
    const os = await import('node:os');
    const bad = [];
    for (const threads of [0, 1.5, -2, 65, '2', null]) {
      try { await cnn.ready({ threads }); bad.push('accepted ' + String(threads)); }
      catch (err) { bad.push(err.name + ': ' + err.message); }
    }
    await cnn.ready();
    return { bad, info: cnn.engineInfo(), cores: os.availableParallelism() };`);
  for (const message of r.bad) {
    assert.match(message, /^CnnError: ready: threads must be an integer from 1 to 64, got /);
  }
  const expected = Math.min(r.cores, 8);
  assert.equal(r.info.threads, expected);
  assert.equal(r.info.build, expected > 1 ? 'wasm-cnn-mt.wasm' : 'wasm-cnn.wasm');
  assert.equal(r.info.reason, expected > 1 ? '' : 'the platform reports 1 logical core: one thread');
});

test('a wasmBinary without wasmThreadsBinary runs on one thread and says why; with both, threaded', () => {
  const r = inChild(`
    const fs = await import('node:fs');
    await cnn.ready({ threads: 2, wasmBinary: fs.readFileSync('../../dist/wasm-cnn.wasm') });
    const m = cnn.sequential({ seed: 1, layers: [cnn.layers.dense({ inputShape: [3], units: 2 })] });
    const y = Array.from(m.predict(cnn.tensor([1, 2, 3], [1, 3])).dataSync());
    return { info: cnn.engineInfo(), y };`);
  assert.equal(r.info.threads, 1);
  assert.equal(r.info.build, 'wasm-cnn.wasm');
  assert.match(r.info.reason, /pass wasmThreadsPath or wasmThreadsBinary/);
  assert.equal(r.y.length, 2);
  const both = inChild(`
    const fs = await import('node:fs');
    await cnn.ready({ threads: 2, wasmBinary: fs.readFileSync('../../dist/wasm-cnn.wasm'),
      wasmThreadsBinary: fs.readFileSync('../../dist/wasm-cnn-mt.wasm') });
    return cnn.engineInfo();`);
  assert.deepEqual(both, { simd: true, threads: 2, build: 'wasm-cnn-mt.wasm', reason: '' });
});

test('predict reports an output that overflows in one sample through every conv path and dense, 1 and 2 threads', () => {
  // Pointwise and im2col GEMMs, Winograd (these check the output as they store it, split across the threads) and
  // the direct kernel (the scan), sized past the threading threshold; samples 0 and 1 stay finite, sample 2 overflows.
  const body = (threads) => `await cnn.ready({ threads: ${threads} });
    const L = cnn.layers;
    const cases = {
      pointwise: [[16, 16, 32], L.conv2d({ inputShape: [16, 16, 32], filters: 64, kernelSize: 1 })],
      im2col: [[16, 16, 16], L.conv2d({ inputShape: [16, 16, 16], filters: 16, kernelSize: 5, padding: 'same' })],
      direct: [[28, 28, 1], L.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same' })],
      winograd: [[16, 16, 16], L.conv2d({ inputShape: [16, 16, 16], filters: 16, kernelSize: 3, padding: 'same' })],
      dense: [[512], L.dense({ inputShape: [512], units: 256 })],
    };
    const out = { threads: cnn.engineInfo().threads };
    for (const [name, [shape, layer]] of Object.entries(cases)) {
      const m = cnn.sequential({ seed: 1, layers: [layer] });
      const size = shape.reduce((a, b) => a * b);
      const [kernel, bias] = m.getWeights();
      m.setWeights([cnn.tensor(new Float32Array(kernel.size).fill(3e37), kernel.shape), bias]);
      const x = cnn.tensor(new Float32Array(3 * size).map((_, i) => (i < 2 * size ? 1e-4 : 1)), [3, ...shape]);
      let error = '';
      try { m.predict(x).dispose(); } catch (e) { error = e.message; }
      const y = m.predict(cnn.tensor(new Float32Array(2 * size).fill(1e-4), [2, ...shape]));
      out[name] = { error, finite: y.dataSync().every(Number.isFinite) };
      m.dispose();
    }
    return out;`;
  for (const threads of [1, 2]) {
    const got = inChild(body(threads));
    assert.equal(got.threads, threads);
    for (const name of ['pointwise', 'im2col', 'direct', 'winograd', 'dense']) {
      assert.match(got[name].error, /predict: the output of sample 2 is (NaN|-?Infinity) at value \d+ .*overflow float32/,
        `${name}, ${threads} thread(s)`);
      assert.equal(got[name].finite, true, `${name}, ${threads} thread(s): finite outputs pass`);
    }
  }
});

test('engine errors keep their messages in the threaded build', () => {
  const r = inChild(`
    await cnn.ready({ threads: 2 });
    const m = cnn.sequential({ seed: 1, layers: [cnn.layers.dense({ inputShape: [3], units: 2 })] });
    try { m.predict(cnn.tensor([1, NaN, 3], [1, 3])); return 'no error'; }
    catch (err) { return err.name + ': ' + err.message; }`);
  assert.match(r, /^CnnError: .*NaN/);
});

test('a threaded build that cannot start falls back to the single-threaded one and says why', () => {
  const r = inChild(`
    const fs = await import('node:fs');
    // The single-threaded build in place of the threaded one: it has no shared memory to import, no thread pool.
    await cnn.ready({ threads: 2, wasmThreadsBinary: fs.readFileSync('../../dist/wasm-cnn.wasm'),
      wasmBinary: fs.readFileSync('../../dist/wasm-cnn.wasm') });
    const m = cnn.sequential({ seed: 1, layers: [cnn.layers.dense({ inputShape: [3], units: 2 })] });
    return { info: cnn.engineInfo(), n: m.predict(cnn.tensor([1, 2, 3], [1, 3])).size };`);
  assert.equal(r.info.threads, 1);
  assert.equal(r.info.build, 'wasm-cnn.wasm');
  assert.match(r.info.reason, /^the threaded engine did not start \(.+\); running on one thread$/);
  assert.equal(r.n, 2);
});

test('the default thread count: every core, at most 8; one (with the reason) on one core or none reported', async () => {
  const { defaultThreads } = await import('../../web/engine/threads.js');
  assert.deepEqual([1, 2, 3, 4, 8, 9, 16, 64].map((c) => defaultThreads(c).threads), [1, 2, 3, 4, 8, 8, 8, 8]);
  assert.equal(defaultThreads(1).reason, 'the platform reports 1 logical core: one thread');
  assert.equal(defaultThreads(undefined).threads, 1);
  assert.equal(defaultThreads(0).reason, 'the platform reports no core count: one thread');
  assert.equal(defaultThreads(2).reason, '');
  assert.equal(defaultThreads(4).reason, '');
});

test('tensors that come out of the threaded engine are plain memory, not views of the shared heap', () => {
  const r = inChild(`
    await cnn.ready({ threads: 2 });
    const m = cnn.sequential({ seed: 1, layers: [cnn.layers.dense({ inputShape: [3], units: 2 })] });
    m.compile({ optimizer: cnn.train.sgd(0.1), loss: 'meanSquaredError' });
    const x = cnn.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = m.predict(x);
    const g = m.computeGradients(x, cnn.tensor([0, 0, 0, 0], [2, 2]));
    const kinds = [y.values(), y.dataSync(), g.inputGradient.values(), ...g.gradients.map((t) => t.values())]
      .map((v) => v.buffer.constructor.name);
    // A shared buffer would be shared, not copied, by postMessage, and would change under the caller.
    const before = Array.from(y.dataSync());
    m.predict(cnn.tensor([7, 8, 9, 1, 1, 1], [2, 3]));
    return { kinds, unchanged: before.every((v, i) => v === y.dataSync()[i]) };`);
  assert.deepEqual(new Set(r.kinds), new Set(['ArrayBuffer']));
  assert.equal(r.unchanged, true);
});
