// Optimizers and compile: SGD, momentum (Nesterov), Adam, weight decay, clipNorm and learning-rate schedules, one or two
// steps on small models compared with hand computations, and compile's checks. (Moved from api.test.js so that the
// tests follow web/'s layout: web/train/optimizers.js.)
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../../web/index.js';
import { mulberry32, blobs, smallClassifier, weightsOf, assertBitEqual } from '../helpers.js';

const L = cnn.layers;

before(async () => { await cnn.ready(); });

function assertClose(actual, expected, what, { abs = 1e-6, rel = 1e-5 } = {}) {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  for (let i = 0; i < actual.length; i++) {
    const tol = abs + rel * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}


// ---------------------------------------------------------------------------------------------------------------
// Optimizers: one (or two) steps on a 1-layer linear dense model with MSE, compared with hand computations.
describe('compile and optimizers', () => {
  const N = 5;
  const IN = 3;
  const OUT = 2;
  const r = mulberry32(99);
  const xs = Float32Array.from({ length: N * IN }, () => r() * 2 - 1);
  const ts = Float32Array.from({ length: N * OUT }, () => r() * 4 - 2);
  const W0 = Float32Array.from({ length: IN * OUT }, () => r() - 0.5);
  const B0 = Float32Array.from({ length: OUT }, () => r() - 0.5);

  function linearModel(compileConfig, w = W0, b = B0) {
    const m = cnn.sequential({ seed: 1, layers: [L.dense({ inputShape: [IN], units: OUT })] });
    m.compile({ loss: 'meanSquaredError', ...compileConfig });
    m.setWeights([cnn.tensor(w, [IN, OUT]), cnn.tensor(b, [OUT])]);
    return m;
  }
  const data = () => ({ x: cnn.tensor(xs, [N, IN]), y: cnn.tensor(ts, [N, OUT]) });

  /** tfjs meanSquaredError: mean over all N × OUT elements. Returns [dW (IN × OUT), dB (OUT)] in float64. */
  function mseGradients(w, b) {
    const dW = new Float64Array(IN * OUT);
    const dB = new Float64Array(OUT);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OUT; o++) {
        let y = b[o];
        for (let i = 0; i < IN; i++) y += xs[n * IN + i] * w[i * OUT + o];
        const d = (2 / (N * OUT)) * (y - ts[n * OUT + o]);
        dB[o] += d;
        for (let i = 0; i < IN; i++) dW[i * OUT + o] += d * xs[n * IN + i];
      }
    }
    return [dW, dB];
  }

  async function oneStep(m) {
    const { x, y } = data();
    await m.fit(x, y, { epochs: 1, batchSize: N, shuffle: false });
    return weightsOf(m);
  }

  test('computeGradients matches the hand-derived MSE gradient', () => {
    const m = linearModel({ optimizer: 'sgd' });
    const { x, y } = data();
    const g = m.computeGradients(x, y);
    const [dW, dB] = mseGradients(W0, B0);
    assertClose(g.gradients[0].dataSync(), dW, 'kernel gradient');
    assertClose(g.gradients[1].dataSync(), dB, 'bias gradient');
    assert.deepEqual([...g.gradients[0].shape], [IN, OUT]);
    assert.deepEqual([...g.inputGradient.shape], [N, IN]);
    // computeGradients updates nothing.
    assertBitEqual(weightsOf(m)[0], W0, 'weights after computeGradients');
    m.dispose();
  });

  test("'sgd' is SGD with learning rate 0.01 (tfjs default); one step = w - lr * g", async () => {
    const [dW, dB] = mseGradients(W0, B0);
    for (const optimizer of ['sgd', cnn.train.sgd(0.01)]) {
      const m = linearModel({ optimizer });
      const [w, b] = await oneStep(m);
      assertClose(w, W0.map((v, i) => v - 0.01 * dW[i]), `${optimizer} kernel`);
      assertClose(b, B0.map((v, i) => v - 0.01 * dB[i]), `${optimizer} bias`);
      m.dispose();
    }
    const a = linearModel({ optimizer: 'sgd' });
    const c = linearModel({ optimizer: cnn.train.sgd(0.01) });
    const wa = await oneStep(a);
    const wc = await oneStep(c);
    wa.forEach((w, i) => assertBitEqual(w, wc[i], "'sgd' vs cnn.train.sgd(0.01)"));
    a.dispose();
    c.dispose();
  });

  test('clipNorm: a gradient norm above clipNorm gives the update of the clipped gradient', async () => {
    const lr = 0.1;
    const [dW, dB] = mseGradients(W0, B0);
    const norm = Math.sqrt([...dW, ...dB].reduce((s, v) => s + v * v, 0));
    const clipNorm = norm / 4;
    assert.ok(norm > clipNorm);
    const m = linearModel({ optimizer: cnn.train.sgd(lr), clipNorm });
    const [w, b] = await oneStep(m);
    const scale = clipNorm / (norm + 1e-6); // PyTorch clip_grad_norm_
    assertClose(w, W0.map((v, i) => v - lr * dW[i] * scale), 'clipped kernel update');
    assertClose(b, B0.map((v, i) => v - lr * dB[i] * scale), 'clipped bias update');
    // The clipped update has norm lr * clipNorm.
    const stepNorm = Math.sqrt([...w.map((v, i) => v - W0[i]), ...b.map((v, i) => v - B0[i])].reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(stepNorm - lr * clipNorm) < 1e-5 * lr * clipNorm + 1e-7, `step norm ${stepNorm} vs ${lr * clipNorm}`);
    m.dispose();
    // A clipNorm above the gradient norm changes nothing.
    const loose = linearModel({ optimizer: cnn.train.sgd(lr), clipNorm: norm * 2 });
    const plain = linearModel({ optimizer: cnn.train.sgd(lr) });
    const wl = await oneStep(loose);
    const wp = await oneStep(plain);
    wl.forEach((v, i) => assertBitEqual(v, wp[i], 'clipNorm above the norm'));
    loose.dispose();
    plain.dispose();
  });

  test('weightDecay (L2, coupled) with SGD and Adam', async () => {
    const lr = 0.05;
    const wd = 0.3;
    const [dW, dB] = mseGradients(W0, B0);
    const m = linearModel({ optimizer: cnn.train.sgd(lr, { weightDecay: wd }) });
    const [w, b] = await oneStep(m);
    assertClose(w, W0.map((v, i) => v - lr * (dW[i] + wd * v)), 'sgd kernel with weightDecay');
    // Biases are not decayed (as a Keras kernel regularizer; the engine decays kernels only).
    assertClose(b, B0.map((v, i) => v - lr * dB[i]), 'sgd bias with weightDecay');
    m.dispose();

    const a = linearModel({ optimizer: cnn.train.adam(lr, 0.9, 0.999, 1e-7, { weightDecay: wd }) });
    const [wa] = await oneStep(a);
    const expected = W0.map((v, i) => {
      const g = dW[i] + wd * v;
      const mhat = ((1 - 0.9) * g) / (1 - 0.9);
      const vhat = ((1 - 0.999) * g * g) / (1 - 0.999);
      return v - (lr * mhat) / (Math.sqrt(vhat) + 1e-7);
    });
    assertClose(wa, expected, 'adam kernel with weightDecay');
    a.dispose();
  });

  test('momentum (plain and Nesterov): two steps against hand-computed updates', async () => {
    const lr = 0.1;
    const mu = 0.9;
    for (const nesterov of [false, true]) {
      const m = linearModel({ optimizer: cnn.train.momentum(lr, mu, nesterov) });
      const { x, y } = data();
      // Step 1.
      const g1 = m.computeGradients(x, y).gradients.map((t) => Float64Array.from(t.dataSync()));
      const [h1W, h1B] = mseGradients(W0, B0);
      assertClose(g1[0], h1W, 'gradient 1');
      let w = [Float64Array.from(W0), Float64Array.from(B0)];
      let acc = g1.map((g) => Float64Array.from(g)); // a = 0·μ + g
      w = w.map((p, k) => p.map((v, i) => v - lr * (nesterov ? g1[k][i] + mu * acc[k][i] : acc[k][i])));
      await m.fit(x, y, { epochs: 1, batchSize: N, shuffle: false });
      let got = weightsOf(m);
      assertClose(got[0], w[0], `${nesterov ? 'nesterov' : 'momentum'} step 1 kernel`);
      assertClose(got[1], w[1], `${nesterov ? 'nesterov' : 'momentum'} step 1 bias`);
      // Step 2: the accumulator carries over.
      const g2 = m.computeGradients(x, y).gradients.map((t) => Float64Array.from(t.dataSync()));
      acc = acc.map((a, k) => a.map((v, i) => mu * v + g2[k][i]));
      w = got.map((p, k) => Float64Array.from(p).map((v, i) => v - lr * (nesterov ? g2[k][i] + mu * acc[k][i] : acc[k][i])));
      await m.fit(x, y, { epochs: 1, batchSize: N, shuffle: false });
      got = weightsOf(m);
      assertClose(got[0], w[0], `${nesterov ? 'nesterov' : 'momentum'} step 2 kernel`);
      assertClose(got[1], w[1], `${nesterov ? 'nesterov' : 'momentum'} step 2 bias`);
      m.dispose();
    }
    // Nesterov and plain momentum differ.
    const a = linearModel({ optimizer: cnn.train.momentum(lr, mu, false) });
    const b = linearModel({ optimizer: cnn.train.momentum(lr, mu, true) });
    const wa = await oneStep(a);
    const wb = await oneStep(b);
    assert.ok(wa[0].some((v, i) => v !== wb[0][i]));
    a.dispose();
    b.dispose();
  });

  test("adam: two steps against hand-computed updates; 'adam' = cnn.train.adam() defaults", async () => {
    const [lr, b1, b2, eps] = [0.01, 0.8, 0.95, 1e-3];
    const m = linearModel({ optimizer: cnn.train.adam(lr, b1, b2, eps) });
    const { x, y } = data();
    let w = null;
    let m1 = null;
    let m2 = null;
    for (let step = 1; step <= 2; step++) {
      const g = m.computeGradients(x, y).gradients.map((t) => Float64Array.from(t.dataSync()));
      const cur = w ?? [Float64Array.from(W0), Float64Array.from(B0)];
      m1 = g.map((gk, k) => gk.map((v, i) => b1 * (m1 ? m1[k][i] : 0) + (1 - b1) * v));
      m2 = g.map((gk, k) => gk.map((v, i) => b2 * (m2 ? m2[k][i] : 0) + (1 - b2) * v * v));
      w = cur.map((p, k) => p.map((v, i) => v - lr * (m1[k][i] / (1 - b1 ** step)) / (Math.sqrt(m2[k][i] / (1 - b2 ** step)) + eps)));
      await m.fit(x, y, { epochs: 1, batchSize: N, shuffle: false });
      const got = weightsOf(m);
      assertClose(got[0], w[0], `adam step ${step} kernel`);
      assertClose(got[1], w[1], `adam step ${step} bias`);
      w = got.map((v) => Float64Array.from(v));
    }
    m.dispose();
    const a = linearModel({ optimizer: 'adam' });
    const c = linearModel({ optimizer: cnn.train.adam(0.001, 0.9, 0.999, 1e-7) });
    const wa = await oneStep(a);
    const wc = await oneStep(c);
    wa.forEach((v, i) => assertBitEqual(v, wc[i], "'adam' vs cnn.train.adam(0.001, 0.9, 0.999, 1e-7)"));
    a.dispose();
    c.dispose();
  });

  test('every optimizer trains the small classifier (loss goes down)', async () => {
    const { x, y } = blobs(60);
    for (const optimizer of ['sgd', 'adam', cnn.train.sgd(0.1), cnn.train.momentum(0.05, 0.9), cnn.train.momentum(0.05, 0.9, true), cnn.train.adam(0.01)]) {
      const m = smallClassifier(4);
      m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      const [l0] = m.evaluate(x, y);
      const h = await m.fit(x, y, { epochs: 15, batchSize: 10, seed: 1 });
      const [l1, a1] = m.evaluate(x, y);
      const name = typeof optimizer === 'string' ? optimizer : JSON.stringify(optimizer.getConfig());
      assert.ok(l1.dataSync()[0] < l0.dataSync()[0], `${name}: loss ${l0.dataSync()[0]} -> ${l1.dataSync()[0]}`);
      assert.ok(h.history.loss.every(Number.isFinite));
      if (optimizer !== 'sgd' && optimizer !== 'adam') assert.ok(a1.dataSync()[0] > 0.9, `${name}: accuracy ${a1.dataSync()[0]}`);
      m.dispose();
    }
  });
});
