// Shared helpers of the JS tests: deterministic random numbers and random tensors, small data sets and models,
// relative-error / closeness / bit-equality assertions, tfjs (cpu backend) set-up, the same functional graph built in
// wasm-cnn and in tfjs, non-default weights (biases, batch-norm gamma / beta / moving statistics), central-difference
// gradient checks (gradCheck, sequentialGradCheck, modelGradCheck) and cross-checks against tfjs
// (crossCheckSequential, crossCheckGraph) used by the per-family tests in layers/ and train/.
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';

// ---- set-up --------------------------------------------------------------------------------------------------------
/** tfjs on its cpu backend, then our engine: `before(() => readyWithTfjsCpu(tf))`. */
export async function readyWithTfjsCpu(tf) {
  tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" console banner
  await tf.setBackend('cpu');
  await cnn.ready();
}

// ---- deterministic random numbers ----------------------------------------------------------------------------
import { mulberry32 } from '../../web/core/random.js';

export { mulberry32 };
export function normals(count, seed, scale = 1) {
  const r = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}
export function uniforms(count, seed, lo, hi) {
  const r = mulberry32(seed);
  return Float32Array.from({ length: count }, () => lo + (hi - lo) * r());
}
export function ints(count, seed, n) {
  const r = mulberry32(seed);
  return Int32Array.from({ length: count }, () => Math.floor(r() * n));
}
export const size = (shape) => shape.reduce((a, b) => a * b, 1);
export const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Up to k distinct random indices in [0, n). */
export function pickIndices(n, k, seed) {
  const r = mulberry32(seed);
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, Math.min(k, n));
}

/** Categorical targets: `rows` one-hot rows of `classes` values, the classes drawn with ints(rows, seed, classes). */
export function oneHotTargets(rows, classes, seed) {
  const t = new Float32Array(rows * classes);
  ints(rows, seed, classes).forEach((l, r) => { t[r * classes + l] = 1; });
  return t;
}
/** Soft categorical targets: `rows` rows of `classes` values in [0.05, 1] (uniforms, then normalised to sum 1). */
export function softTargets(rows, classes, seed) {
  const u = uniforms(rows * classes, seed, 0.05, 1);
  const t = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < classes; j++) s += u[r * classes + j];
    for (let j = 0; j < classes; j++) t[r * classes + j] = u[r * classes + j] / s;
  }
  return t;
}

// ---- small data sets and models --------------------------------------------------------------------------------
/** n samples of 4 features in 3 separable classes (class c has its mean shifted along feature c). */
export function blobs(n, seed = 7) {
  const r = mulberry32(seed);
  const xs = new Float32Array(n * 4);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    ys[i] = c;
    for (let f = 0; f < 4; f++) xs[i * 4 + f] = (r() - 0.5) * 0.8 + (f === c ? 1.5 : 0);
  }
  return { x: cnn.tensor(xs, [n, 4]), y: cnn.tensor(ys, [n], 'int32'), xs, ys };
}

/** dense(8, relu) -> dense(3, softmax) on 4 features (for blobs). */
export function smallClassifier(seed = 11) {
  return cnn.sequential({ seed, layers: [
    cnn.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }),
    cnn.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
}

/** The model's weights as Float32Arrays (the tensors getWeights returned are disposed). */
export const weightsOf = (model) => model.getWeights().map((w) => { const v = w.dataSync(); w.dispose(); return v; });

// ---- comparisons -----------------------------------------------------------------------------------------------
/** max |a - b| / max |b| (b is the reference); when b is all zeros, max |a - b|. */
export function relError(a, b) {
  assert.equal(a.length, b.length, 'length mismatch');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (!Number.isFinite(diff)) return Infinity;
  return scale > 0 ? diff / scale : diff;
}

export function assertClose(ours, ref, tol, what, refName = 'tfjs') {
  const err = relError(ours, ref);
  if (!(err <= tol)) {
    let worst = 0;
    for (let i = 1; i < ours.length; i++) if (Math.abs(ours[i] - ref[i]) > Math.abs(ours[worst] - ref[worst])) worst = i;
    assert.fail(`${what}: relative error ${err.toExponential(3)} > ${tol} (worst index ${worst}: ours ${ours[worst]}, ` +
      `${refName} ${ref[worst]}; ${ours.length} values)`);
  }
}

/** Element-wise equality by Object.is (NaN equals NaN; 0 and -0 differ). */
export function assertBitEqual(a, b, what) {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

/** Bit-for-bit equality of two lists of weight tensors (Float32Array values). */
export function assertSameBits(a, b, what) {
  assert.equal(a.length, b.length, `${what}: number of tensors`);
  a.forEach((t, i) => {
    const x = t instanceof Float32Array ? t : t.dataSync();
    const y = b[i] instanceof Float32Array ? b[i] : b[i].dataSync();
    assert.deepEqual(new Uint32Array(x.buffer, x.byteOffset, x.length), new Uint32Array(y.buffer, y.byteOffset, y.length),
      `${what}: tensor ${i} changed`);
  });
}

// ---- the same graph in both libraries --------------------------------------------------------------------------
/**
 * Builds one functional graph with either library. `graph(L, x)` returns the output symbolic tensor; L is
 * cnn.layers or tf.layers (same factory names and options), x the input. Give every layer an explicit name: weights
 * are matched between the libraries by layer name.
 */
export function buildOurs(graph, inputShape, seed) {
  const x = cnn.input({ shape: inputShape });
  return cnn.model({ inputs: x, outputs: graph(cnn.layers, x), seed });
}
export function buildTfjs(tf, graph, inputShape) {
  const x = tf.input({ shape: inputShape });
  return tf.model({ inputs: x, outputs: graph(tf.layers, x) });
}

/**
 * Gives a model's weights non-default values: biases and betas ~ N(0, 0.3²), gammas in [0.5, 1.5], moving means
 * ~ N(0, 0.3²) and moving variances in [0.5, 2]; kernels keep their seeded initialisation. Returns the new list.
 */
export function randomizeWeights(model, seed) {
  const names = model.weightNames();
  const weights = model.getWeights().map((w, i) => {
    const kind = names[i].split('/').pop();
    const s = seed * 31 + i;
    if (kind === 'bias' || kind === 'beta' || kind === 'moving_mean') return cnn.tensor(normals(w.size, s, 0.3), w.shape);
    if (kind === 'gamma') return cnn.tensor(uniforms(w.size, s, 0.5, 1.5), w.shape);
    if (kind === 'moving_variance') return cnn.tensor(uniforms(w.size, s, 0.5, 2), w.shape);
    return w;
  });
  model.setWeights(weights);
  return weights;
}

/**
 * A Sequential of layer specs ([{ type, cfg }], type = the factory name in cnn.layers / tf.layers) in both libraries,
 * with our seeded kernels and random biases (N(0, 0.3²)) in both. Returns { ours, theirs, weights }.
 */
export function sequentialPair(tf, specs, inputShape, seed) {
  const withShape = (s, i) => ({ ...s.cfg, ...(i === 0 ? { inputShape } : {}) });
  const ours = cnn.sequential({ seed, layers: specs.map((s, i) => cnn.layers[s.type](withShape(s, i))) });
  const theirs = tf.sequential({ layers: specs.map((s, i) => tf.layers[s.type](withShape(s, i))) });
  const weights = ours.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 31 + i, 0.3), w.shape) : w));
  ours.setWeights(weights);
  assert.deepEqual(theirs.trainableWeights.map((w) => w.shape), weights.map((w) => [...w.shape]), 'weight shapes (tfjs vs ours)');
  const tfWeights = weights.map((w) => tf.tensor(w.dataSync(), w.shape));
  theirs.setWeights(tfWeights);
  tf.dispose(tfWeights);
  return { ours, theirs, weights };
}

/** Copies every layer's weights from our model into the tfjs layer of the same name. */
export function copyWeightsToTfjs(tf, ours, theirs) {
  for (const layer of ours.layers) {
    if (layer.weightSpecs().length === 0) continue;
    const values = layer.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape]));
    theirs.getLayer(layer.name).setWeights(values);
    tf.dispose(values);
  }
}

/** tfjs loss, a mean over the batch (and pixels) as tfjs reduces it; int32 labels for the sparse loss. */
export function tfLoss(tf, loss, yTrue, yPred) {
  if (loss === 'meanSquaredError') return tf.losses.meanSquaredError(yTrue, yPred);
  if (loss === 'categoricalCrossentropy') return tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred));
  const classes = yPred.shape[yPred.shape.length - 1];
  const clipped = tf.clipByValue(yPred, 1e-7, 1 - 1e-7);
  const oneHot = tf.reshape(tf.oneHot(tf.reshape(yTrue, [-1]), classes), yPred.shape);
  return tf.mean(tf.metrics.categoricalCrossentropy(oneHot, clipped));
}

// Relative errors (max |ours - tfjs| / max |tfjs|) allowed against tfjs: float32 sums in another order.
export const FORWARD_TOL = 1e-4; // forward outputs and losses
export const GRAD_TOL = 1e-3;    // gradients

/**
 * Compares ours.computeGradients(x, y) — loss, d loss / d input, d loss / d every weight — with tfjs's gradients of
 * the same loss (y: { ours, theirs } targets). tfGradFn (optional): (xVar, weightVars) => output, a functional tfjs
 * forward used instead of the tfjs layers model (dilated convolutions, 'same' average pooling); its output is checked
 * against the layers model. Returns what computeGradients returned.
 */
export function checkGradientsVsTfjs(tf, ours, theirs, xValues, xShape, loss, y, tfGradFn) {
  const got = ours.computeGradients(cnn.tensor(xValues, xShape), y.ours);
  const tx = tf.tensor(xValues, xShape);
  const xVar = tf.variable(tx, true, `x_${Math.random()}`);
  const vars = theirs.trainableWeights.map((w) => w.read());
  const forward = tfGradFn ? () => tfGradFn(xVar, vars) : () => theirs.apply(xVar, { training: true });
  if (tfGradFn) {
    const a = forward();
    const b = theirs.predict(tx);
    assertClose(a.dataSync(), b.dataSync(), FORWARD_TOL, 'functional tfjs forward vs tfjs layers');
    tf.dispose([a, b]);
  }
  const { value, grads } = tf.variableGrads(() => tfLoss(tf, loss, y.theirs, forward()), [xVar, ...vars]);
  assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'loss');
  assert.deepEqual([...got.inputGradient.shape], xShape, 'input gradient shape');
  assertClose(got.inputGradient.dataSync(), grads[xVar.name].dataSync(), GRAD_TOL, 'd loss / d input');
  assert.equal(got.gradients.length, vars.length, 'number of weight gradients');
  got.gradients.forEach((g, i) => {
    assert.deepEqual([...g.shape], vars[i].shape, `gradient ${i} shape`);
    assertClose(g.dataSync(), grads[vars[i].name].dataSync(), GRAD_TOL, `d loss / d ${vars[i].name} (weight ${i})`);
  });
  tf.dispose([xVar, tx, value, ...Object.values(grads)]);
  return got;
}

/** Targets for a loss as plain values: { values, shape, dtype }. */
export function makeTargets(loss, outShape, n, seed) {
  const classes = outShape[outShape.length - 1];
  if (loss === 'sparseCategoricalCrossentropy') {
    const shape = [n, ...outShape.slice(0, -1)];
    return { values: ints(size(shape), seed, classes), shape, dtype: 'int32' };
  }
  return { values: normals(n * size(outShape), seed, 0.5), shape: [n, ...outShape], dtype: 'float32' };
}

// ---- central differences -----------------------------------------------------------------------------------------
export const GC_REL_TOL = 1e-2;
export const GC_FLOOR = 2e-3;
export const GC_COORDS = 10;

function gcCompare(analytic, numeric, scale, what, index) {
  const diff = Math.abs(analytic - numeric);
  const allowed = GC_REL_TOL * Math.max(Math.abs(analytic), Math.abs(numeric)) + GC_FLOOR * scale;
  if (!(diff <= allowed)) {
    assert.fail(`${what}[${index}]: analytic ${analytic.toExponential(5)} vs numeric ${numeric.toExponential(5)} ` +
      `(relative error ${(diff / Math.max(Math.abs(analytic), Math.abs(numeric))).toExponential(2)}; tensor max |g| ${scale.toExponential(2)})`);
  }
}

/**
 * d loss / d input from base = model.computeGradients(x, y) against central differences of the loss computeGradients
 * reports, on `coords` (default GC_COORDS) coordinates picked with seed + 3; x (values xv) is perturbed by ±eps in new
 * tensors.
 */
export function checkInputGradient({ model, base, x, xv, y, seed, eps, coords = GC_COORDS }) {
  const lossAt = (xt) => model.computeGradients(xt, y).loss;
  const gx = base.inputGradient.dataSync();
  const scaleX = maxAbs(gx);
  assert.ok(scaleX > 0, 'input gradient is all zero');
  for (const i of pickIndices(xv.length, coords, seed + 3)) {
    const plus = Float32Array.from(xv); plus[i] += eps;
    const minus = Float32Array.from(xv); minus[i] -= eps;
    const numeric = (lossAt(cnn.tensor(plus, x.shape)) - lossAt(cnn.tensor(minus, x.shape))) / (plus[i] - minus[i]);
    gcCompare(gx[i], numeric, scaleX, 'd loss / d input', i);
  }
}

/**
 * d loss / d weights[wi] (called `name`) from base = model.computeGradients(x, y) against central differences, on
 * `coords` (default GC_COORDS) coordinates picked with seed + 10 + wi; the weight is set to its value ±eps (rounded to
 * float32) with setWeights, and all weights are set back to `weights` afterwards.
 */
export function checkWeightGradient({ model, base, weights, wi, name, x, y, seed, eps, coords = GC_COORDS }) {
  const lossAt = (xt) => model.computeGradients(xt, y).loss;
  const w = weights[wi];
  const g = base.gradients[wi].dataSync();
  const scale = maxAbs(g);
  assert.ok(scale > 0, `gradient of ${name} is all zero`);
  const values = w.dataSync();
  const withValue = (i, v) => {
    const copy = Float32Array.from(values); copy[i] = v;
    const list = weights.slice(); list[wi] = cnn.tensor(copy, w.shape);
    model.setWeights(list);
    return lossAt(x);
  };
  for (const i of pickIndices(values.length, coords, seed + 10 + wi)) {
    const hi = Math.fround(values[i] + eps);
    const lo = Math.fround(values[i] - eps);
    const numeric = (withValue(i, hi) - withValue(i, lo)) / (hi - lo);
    gcCompare(g[i], numeric, scale, `d loss / d ${name}`, i);
  }
  model.setWeights(weights);
}

/**
 * Central-difference check of model.computeGradients (training-mode forward, no update): d loss / d input and
 * d loss / d every trainable weight on GC_COORDS random coordinates each, with the loss computeGradients reports at
 * perturbed inputs (new tensors) and weights (setWeights). Non-trainable weights (batch-norm moving statistics) do
 * not enter the training-mode loss: their reported gradients must be zero.
 * build() returns an uncompiled model; its weights get non-default values (randomizeWeights).
 */
export function gradCheck({ build, loss = 'meanSquaredError', n = 3, seed = 1, eps = 1e-2, inputScale = 1 }) {
  const model = build();
  try {
    model.compile({ optimizer: 'sgd', loss });
    const weights = randomizeWeights(model, seed);
    const inputShape = model.inputShape.slice(1);
    const xv = normals(n * size(inputShape), seed + 1, inputScale);
    const x = cnn.tensor(xv, [n, ...inputShape]);
    const t = makeTargets(loss, model.outputShape.slice(1), n, seed + 2);
    const y = cnn.tensor(t.values, t.shape, t.dtype);
    const base = model.computeGradients(x, y);
    assert.ok(Number.isFinite(base.loss), `loss is ${base.loss}`);
    // computeGradients does not change anything: the same call gives the same loss, bit for bit.
    assert.equal(model.computeGradients(x, y).loss, base.loss, 'a second computeGradients gives another loss');

    checkInputGradient({ model, base, x, xv, y, seed, eps });

    const names = model.weightNames();
    assert.equal(base.gradients.length, weights.length, 'one gradient per weight');
    weights.forEach((w, wi) => {
      assert.deepEqual([...base.gradients[wi].shape], [...w.shape], `gradient shape of ${names[wi]}`);
      if (/moving_(mean|variance)$/.test(names[wi])) {
        assert.equal(maxAbs(base.gradients[wi].dataSync()), 0, `${names[wi]} is not trainable: its gradient must be zero`);
        return;
      }
      checkWeightGradient({ model, base, weights, wi, name: names[wi], x, y, seed, eps });
    });
    return base;
  } finally {
    model.dispose();
  }
}

/**
 * Central-difference check of a Sequential built from layers(): compiles it with `loss` (and compileOptions), gives
 * every rank-1 weight (biases) N(0, 0.2²) values, and checks d loss / d input and every d loss / d weight by central
 * differences (checkInputGradient / checkWeightGradient). Targets: targets(n, outShape) when given, else int32 labels
 * for the sparse loss, one-hot (or soft, with `soft`) rows for categorical cross-entropy, N(0, 0.5²) values for MSE.
 */
export function sequentialGradCheck({ layers, inputShape, loss, n = 2, seed = 1, eps = 1e-2, inputScale = 1, soft = false, targets, compileOptions = {} }) {
  const model = cnn.sequential({ seed, layers: layers() });
  try {
    model.compile({ optimizer: 'sgd', loss, ...compileOptions });
    const weights = model.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 7 + i, 0.2), w.shape) : w));
    model.setWeights(weights);
    const xv = normals(n * size(inputShape), seed + 1, inputScale);
    const x = cnn.tensor(xv, [n, ...inputShape]);
    const outShape = model.outputShape.slice(1); // [null, ...per-sample shape]
    const classes = outShape[outShape.length - 1];
    let y;
    if (targets) {
      y = targets(n, outShape);
    } else if (loss === 'sparseCategoricalCrossentropy') {
      const rows = [n, ...outShape.slice(0, -1)];
      y = cnn.tensor(ints(size(rows), seed + 2, classes), rows, 'int32');
    } else if (loss === 'categoricalCrossentropy') {
      const rows = n * size(outShape) / classes;
      const t = soft ? softTargets(rows, classes, seed + 2) : oneHotTargets(rows, classes, seed + 2);
      y = cnn.tensor(t, [n, ...outShape]);
    } else {
      y = cnn.tensor(normals(n * size(outShape), seed + 2, 0.5), [n, ...outShape]);
    }

    const base = model.computeGradients(x, y);
    assert.ok(Number.isFinite(base.loss), `loss is ${base.loss}`);
    checkInputGradient({ model, base, x, xv, y, seed, eps });
    const names = model.weightNames();
    weights.forEach((w, wi) => checkWeightGradient({ model, base, weights, wi, name: names[wi], x, y, seed, eps }));
    return base;
  } finally {
    model.dispose();
  }
}

/**
 * Central-difference check of a built model (the caller disposes it): d loss / d input and d loss / d every weight
 * from computeGradients on `coords` (default 12) random coordinates each. Biases get N(0, 0.2²) values first.
 * makeInput(model): the input values, once the weights are set (default N(0, 1)). Returns { base, weights }.
 */
export function modelGradCheck(model, { loss = 'meanSquaredError', n = 2, seed = 1, eps = 1e-2, makeInput, coords = 12 } = {}) {
  model.compile({ optimizer: 'sgd', loss });
  const weights = model.getWeights().map((w, i) => (w.rank === 1 ? cnn.tensor(normals(w.size, seed * 7 + i, 0.2), w.shape) : w));
  model.setWeights(weights);
  const inputShape = model.inputShape.slice(1);
  const xShape = [n, ...inputShape];
  const xv = makeInput ? makeInput(model) : normals(size(xShape), seed + 1);
  const x = cnn.tensor(xv, xShape);
  const t = makeTargets(loss, model.outputShape.slice(1), n, seed + 2);
  const y = cnn.tensor(t.values, t.shape, t.dtype);
  const base = model.computeGradients(x, y);
  assert.ok(Number.isFinite(base.loss), `loss is ${base.loss}`);
  checkInputGradient({ model, base, x, xv, y, seed, eps, coords });
  const names = model.weightNames();
  assert.equal(base.gradients.length, weights.length, 'one gradient per weight');
  weights.forEach((w, wi) => {
    assert.deepEqual([...base.gradients[wi].shape], [...w.shape], `gradient shape of ${names[wi]}`);
    checkWeightGradient({ model, base, weights, wi, name: names[wi], x, y, seed, eps, coords });
  });
  return { base, weights };
}

// ---- cross-checks against tfjs -------------------------------------------------------------------------------------
/**
 * Targets for a loss in both libraries: { ours: cnn Tensor, theirs: tf Tensor }. int32 labels [n, ...outShape[:-1]]
 * for the sparse loss; one-hot (or, with `soft`, rows summing to 1) for categorical cross-entropy; N(0, 0.5²) else.
 */
export function targetPair(tf, loss, outShape, n, seed, { soft = false } = {}) {
  const classes = outShape[outShape.length - 1];
  if (loss === 'sparseCategoricalCrossentropy') {
    const rows = [n, ...outShape.slice(0, -1)];
    const labels = ints(size(rows), seed, classes);
    return { ours: cnn.tensor(labels, rows, 'int32'), theirs: tf.tensor(labels, rows, 'int32') };
  }
  const shape = [n, ...outShape];
  let values;
  if (loss === 'categoricalCrossentropy') {
    const rows = size(shape) / classes;
    values = soft ? softTargets(rows, classes, seed + 1) : oneHotTargets(rows, classes, seed); // soft: rows sum to 1
  } else {
    values = normals(size(shape), seed, 0.5);
  }
  return { ours: cnn.tensor(values, shape), theirs: tf.tensor(values, shape) };
}

/**
 * Cross-check of a Sequential built from layer specs in both libraries (sequentialPair): the output shape, the
 * forward output (predict), then the loss and gradients (checkGradientsVsTfjs, with the optional functional tfjs
 * forward tfGradFn). Returns { weights }.
 */
export function crossCheckSequential(tf, { specs, inputShape, loss, n = 3, seed = 1, soft = false, inputScale = 1, tfGradFn }) {
  const { ours, theirs, weights } = sequentialPair(tf, specs, inputShape, seed);
  try {
    assert.deepEqual(ours.outputShape, theirs.outputs[0].shape, 'output shape (ours vs tfjs)');
    ours.compile({ optimizer: 'sgd', loss });
    const xValues = normals(n * size(inputShape), seed + 100, inputScale);
    const xShape = [n, ...inputShape];

    // Forward (inference mode).
    const outOurs = ours.predict(cnn.tensor(xValues, xShape));
    const tx = tf.tensor(xValues, xShape);
    const outTf = theirs.predict(tx);
    assert.deepEqual([...outOurs.shape], outTf.shape, 'predicted shape');
    assertClose(outOurs.dataSync(), outTf.dataSync(), FORWARD_TOL, 'forward output');

    const y = targetPair(tf, loss, outTf.shape.slice(1), n, seed + 200, { soft });
    checkGradientsVsTfjs(tf, ours, theirs, xValues, xShape, loss, y, tfGradFn);
    tf.dispose([tx, outTf, y.theirs]);
    return { weights };
  } finally {
    ours.dispose();
    theirs.dispose();
  }
}

/** A tfjs weight's layer-qualified name ('layer/kernel'), as our weightNames() gives it. */
export const tfWeightName = (w) => w.originalName;

/** The functional graph in both libraries (buildOurs / buildTfjs) with the same non-default weights. */
export function graphPair(tf, graph, inputShape, seed) {
  const ours = buildOurs(graph, inputShape, seed);
  const theirs = buildTfjs(tf, graph, inputShape);
  randomizeWeights(ours, seed);
  copyWeightsToTfjs(tf, ours, theirs);
  return { ours, theirs };
}

/**
 * Training-mode loss and gradients: ours.computeGradients(x, y) vs tf.variableGrads of the tfjs loss of
 * theirs.apply(x, { training: true }) (batch statistics in batch norm). Gradients are matched by weight name; the
 * non-trainable ones (moving statistics) must come back as zeros. tfjs's training-mode apply moves its moving
 * statistics; they are restored from ours afterwards. target: makeTargets' { values, shape, dtype }.
 */
export function checkTrainingGradients(tf, ours, theirs, xValues, xShape, loss, target) {
  const got = ours.computeGradients(cnn.tensor(xValues, xShape), cnn.tensor(target.values, target.shape, target.dtype));
  const xVar = tf.variable(tf.tensor(xValues, xShape), true, `x_${Math.random()}`);
  const vars = theirs.trainableWeights.map((w) => w.read());
  const yTf = tf.tensor(target.values, target.shape, target.dtype);
  const { value, grads } = tf.variableGrads(
    () => tfLoss(tf, loss, yTf, theirs.apply(xVar, { training: true })), [xVar, ...vars]);
  assertClose([got.loss], value.dataSync(), FORWARD_TOL, 'training-mode loss');
  assert.deepEqual([...got.inputGradient.shape], xShape, 'input gradient shape');
  assertClose(got.inputGradient.dataSync(), grads[xVar.name].dataSync(), GRAD_TOL, 'd loss / d input');
  const names = ours.weightNames();
  assert.equal(got.gradients.length, names.length, 'one gradient per weight (getWeights() order)');
  theirs.trainableWeights.forEach((w, i) => {
    const k = names.indexOf(tfWeightName(w));
    assert.ok(k >= 0, `no gradient named ${tfWeightName(w)} among ${names.join(', ')}`);
    assertClose(got.gradients[k].dataSync(), grads[vars[i].name].dataSync(), GRAD_TOL, `d loss / d ${tfWeightName(w)}`);
  });
  names.forEach((name, k) => {
    if (/moving_(mean|variance)$/.test(name)) assert.ok(got.gradients[k].dataSync().every((v) => v === 0), `${name} gradient not zero`);
  });
  tf.dispose([xVar, yTf, value, ...Object.values(grads)]);
  copyWeightsToTfjs(tf, ours, theirs); // undo tfjs's moving-statistics update
  return got;
}

/**
 * Full cross-check of a functional graph (graph(L, x), every layer named): the same weights (by name), the inference
 * forward (predict), then the training-mode loss and gradients (checkTrainingGradients).
 */
export function crossCheckGraph(tf, { graph, inputShape, loss = 'meanSquaredError', n = 3, seed = 1, inputScale = 1 }) {
  const { ours, theirs } = graphPair(tf, graph, inputShape, seed);
  try {
    assert.deepEqual(ours.weightNames().slice().sort(), theirs.weights.map(tfWeightName).sort(), 'weight names');
    ours.compile({ optimizer: 'sgd', loss });
    const xShape = [n, ...inputShape];
    const xValues = normals(size(xShape), seed + 100, inputScale);
    const outOurs = ours.predict(cnn.tensor(xValues, xShape));
    const outTf = theirs.predict(tf.tensor(xValues, xShape));
    assert.deepEqual([...outOurs.shape], outTf.shape, 'output shape');
    assertClose(outOurs.dataSync(), outTf.dataSync(), FORWARD_TOL, 'forward output (inference mode)');
    const target = makeTargets(loss, outTf.shape.slice(1), n, seed + 200);
    tf.dispose(outTf);
    return checkTrainingGradients(tf, ours, theirs, xValues, xShape, loss, target);
  } finally {
    ours.dispose();
    theirs.dispose();
  }
}

// ---- model files ---------------------------------------------------------------------------------------------------
import { crc32 } from '../../web/model/format.js';

export { crc32 };

/** A model file's JSON header and the tensor records after it. */
export function fileHeader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(8, true);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))), rest: bytes.subarray(12 + ((n + 3) & ~3), bytes.length - 4) };
}

/** Rewrites the checksum of a (changed) model file in place; returns it. */
export function withCrc(bytes) {
  if (bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

/** The file `original` with `header` as its JSON header and `rest` as its tensor records, checksum recomputed. */
export function withHeader(original, header, rest) {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = (json.length + 3) & ~3;
  const out = new Uint8Array(12 + padded + rest.length + 4);
  out.set(original.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(rest, 12 + padded);
  return withCrc(out);
}

/** The file with its JSON header changed by `edit` (checksum recomputed, so only the change is tested). */
export function patchHeader(bytes, edit) {
  const { header, rest } = fileHeader(bytes);
  edit(header);
  return withHeader(bytes, header, rest);
}

