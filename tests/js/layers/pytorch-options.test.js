// PyTorch's options on tfjs-named layers: pooling with explicit pads, ceilMode and countIncludePad (MaxPool2d /
// AvgPool2d), conv2dTranspose with explicit crops and outputPadding (ConvTranspose2d), upSampling2d's bilinear
// halfPixelCenters / alignCorners (Upsample align_corners False / True).
// Forward outputs are compared with direct JS references written from PyTorch's documented semantics (max |diff|
// <= 1e-6 · max |ref|; max-unpooling through the indices puts each max where the reference found it), bilinear modes also with tfjs's resizeBilinear; gradients by central
// differences (helpers.js's sequentialGradCheck); the options survive save() / loadModel() bit for bit; bad options
// throw a CnnError naming the layer.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../../web/index.js';
import { normals, size, assertClose, readyWithTfjsCpu, sequentialGradCheck } from '../helpers.js';

before(() => readyWithTfjsCpu(tf));
const L = cnn.layers;

/** Pooling output size, PyTorch's rule (the last ceil-mode window must start inside the image or its leading pad). */
function outSize(n, k, s, p0, p1, ceil) {
  const span = n + p0 + p1 - k;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p0) o--;
  return o;
}

/** PyTorch-semantics pooling of an NHWC batch: pads [top, bottom, left, right]; max pads with -inf. */
function refPool(x, [n, h, w, c], { kind, k, s, pads, ceil = false, includePad = false }) {
  const [t, b, l, r] = pads;
  const oh = outSize(h, k[0], s[0], t, b, ceil);
  const ow = outSize(w, k[1], s[1], l, r, ceil);
  const y = new Float32Array(n * oh * ow * c);
  const idx = new Int32Array(n * oh * ow * c);
  for (let bi = 0; bi < n; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity; let bestI = -1; let sum = 0; let inside = 0; let padded = 0;
          for (let ky = 0; ky < k[0]; ky++) {
            for (let kx = 0; kx < k[1]; kx++) {
              const iy = oy * s[0] - t + ky; const ix = ox * s[1] - l + kx;
              if (iy < h + b && ix < w + r) padded++;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x[((bi * h + iy) * w + ix) * c + ch];
              inside++; sum += v;
              if (v > best) { best = v; bestI = iy * w + ix; }
            }
          }
          const o = ((bi * oh + oy) * ow + ox) * c + ch;
          y[o] = kind === 'max' ? best : sum / (includePad ? padded : inside);
          idx[o] = bestI;
        }
      }
    }
  }
  return { y, idx, shape: [n, oh, ow, c] };
}

/** ConvTranspose2d on NHWC with our kernel layout [kh, kw, filters, in]: full output, cropped, extended at the end. */
function refTransposed(x, [n, h, w, ci], kernel, bias, { k, s, crops: [t, b, l, r], op = [0, 0], filters }) {
  const oh = (h - 1) * s[0] + k[0] - t - b + op[0];
  const ow = (w - 1) * s[1] + k[1] - l - r + op[1];
  const y = new Float64Array(n * oh * ow * filters);
  for (let bi = 0; bi < n; bi++) {
    for (let iy = 0; iy < h; iy++) {
      for (let ix = 0; ix < w; ix++) {
        for (let ky = 0; ky < k[0]; ky++) {
          for (let kx = 0; kx < k[1]; kx++) {
            const oy = iy * s[0] + ky - t; const ox = ix * s[1] + kx - l;
            if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
            for (let f = 0; f < filters; f++) {
              let acc = 0;
              for (let c = 0; c < ci; c++) acc += x[((bi * h + iy) * w + ix) * ci + c] * kernel[((ky * k[1] + kx) * filters + f) * ci + c];
              y[((bi * oh + oy) * ow + ox) * filters + f] += acc;
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < y.length; i++) y[i] += bias[i % filters];
  return { y: Float32Array.from(y), shape: [n, oh, ow, filters] };
}

function predict(model, xv, shape) {
  const x = cnn.tensor(xv, shape);
  const y = model.predict(x);
  const out = { data: y.dataSync().slice(), shape: [...y.shape] };
  x.dispose(); y.dispose();
  return out;
}

describe('pooling with explicit pads and ceil mode', () => {
  const CASES = [
    { kind: 'max', k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], shape: [2, 7, 6, 3] },
    { kind: 'max', k: [3, 2], s: [2, 2], pads: [2, 0, 0, 1], ceil: true, shape: [2, 6, 7, 5] },
    { kind: 'max', k: [2, 2], s: [2, 2], pads: [0, 0, 0, 0], ceil: true, shape: [1, 5, 5, 4] },
    { kind: 'avg', k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], includePad: true, shape: [2, 7, 6, 3] },
    { kind: 'avg', k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], includePad: false, shape: [2, 7, 6, 3] },
    { kind: 'avg', k: [3, 3], s: [2, 2], pads: [1, 2, 0, 1], ceil: true, includePad: true, shape: [2, 6, 6, 5] },
    { kind: 'avg', k: [3, 2], s: [2, 1], pads: [1, 0, 1, 1], ceil: true, includePad: false, shape: [1, 6, 5, 4] },
    { kind: 'avg', k: [2, 2], s: [2, 2], pads: [0, 0, 0, 0], ceil: true, includePad: true, shape: [1, 5, 7, 2] },
  ];
  CASES.forEach((cfg, i) => {
    test(`${cfg.kind} ${cfg.k.join('x')}/${cfg.s.join('x')} pads [${cfg.pads}]${cfg.ceil ? ' ceil' : ''}` +
      `${cfg.includePad ? ' countIncludePad' : ''}: forward${cfg.kind === 'max' ? ', indices' : ''} and gradients`, () => {
      const [n, h, w, c] = cfg.shape;
      const options = { poolSize: cfg.k, strides: cfg.s, padding: [[cfg.pads[0], cfg.pads[1]], [cfg.pads[2], cfg.pads[3]]],
        ceilMode: !!cfg.ceil, ...(cfg.kind === 'avg' ? { countIncludePad: !!cfg.includePad } : { returnIndices: true }) };
      const factory = cfg.kind === 'max' ? 'maxPooling2d' : 'averagePooling2d';
      const input = cnn.input({ shape: [h, w, c] });
      const pooled = L[factory](options).apply(input);
      const model = cnn.model({ inputs: input, outputs: cfg.kind === 'max' ? pooled[0] : pooled });
      const xv = normals(size(cfg.shape), 500 + i);
      const ref = refPool(xv, cfg.shape, cfg);
      const got = predict(model, xv, cfg.shape);
      assert.deepEqual(got.shape, ref.shape, 'output shape');
      assertClose(got.data, ref.y, 1e-6, 'forward', 'reference');
      model.dispose();
      if (cfg.kind === 'max') {
        // The indices, through maxUnpooling2d: every max goes back where the reference found it.
        const input2 = cnn.input({ shape: [h, w, c] });
        const [values, indices] = L.maxPooling2d(options).apply(input2);
        const unpooled = L.maxUnpooling2d({ poolSize: cfg.k, strides: cfg.s }).apply([values, indices]);
        const m2 = cnn.model({ inputs: input2, outputs: unpooled });
        const want = new Float32Array(n * h * w * c);
        ref.idx.forEach((at, o) => {
          const bi = Math.floor(o / (ref.y.length / n));
          want[(bi * h * w + at) * c + (o % c)] += ref.y[o]; // the engine adds where overlapping windows share a max
        });
        assert.deepEqual(Array.from(predict(m2, xv, cfg.shape).data), Array.from(want), 'unpooled through the indices');
        m2.dispose();
      }
      const { returnIndices, ...gradOptions } = options;
      sequentialGradCheck({
        layers: () => [L.conv2d({ filters: c, kernelSize: 1, inputShape: [h, w, c] }), L[factory](gradOptions)],
        inputShape: [h, w, c], loss: 'meanSquaredError', seed: 610 + i, eps: cfg.kind === 'max' ? 3e-3 : 1e-2,
      });
    });
  });

  test("'same' / 'valid' with ceilMode or countIncludePad use TensorFlow's pads explicitly", () => {
    const shape = [1, 7, 5, 2];
    const xv = normals(size(shape), 77);
    const m = cnn.sequential({ layers: [L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', countIncludePad: true, inputShape: [7, 5, 2] })] });
    // TensorFlow's 'same' for 7 (k 3, s 2): 4 outputs, pads 1 / 1; for 5: 3 outputs, pads 1 / 1.
    assertClose(predict(m, xv, shape).data, refPool(xv, shape, { kind: 'avg', k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], includePad: true }).y, 1e-6, 'same + countIncludePad', 'reference');
    m.dispose();
    const v = cnn.sequential({ layers: [L.maxPooling2d({ poolSize: 2, padding: 'valid', ceilMode: true, inputShape: [7, 5, 2] })] });
    assert.deepEqual(v.outputShape, [null, 4, 3, 2]);
    assertClose(predict(v, xv, shape).data, refPool(xv, shape, { kind: 'max', k: [2, 2], s: [2, 2], pads: [0, 0, 0, 0], ceil: true }).y, 1e-6, 'valid + ceilMode', 'reference');
    v.dispose();
  });

  test('bad options name the layer', () => {
    assert.throws(() => L.maxPooling2d({ poolSize: 2, padding: [[2, 0], [0, 0]], name: 'p' }), (e) => e instanceof cnn.CnnError && /^p: padding/.test(e.message) && /0 to 1/.test(e.message));
    assert.throws(() => L.maxPooling2d({ poolSize: 2, countIncludePad: true }), /countIncludePad/);
    assert.throws(() => L.averagePooling2d({ poolSize: 2, ceilMode: 1 }), /ceilMode must be true or false/);
    assert.throws(() => L.averagePooling2d({ poolSize: 2, padding: 'full' }), /padding/);
  });
});

describe('conv2dTranspose with explicit crops and outputPadding', () => {
  const CASES = [
    { k: [3, 3], s: [2, 2], crops: [1, 1, 1, 1], op: [1, 1], shape: [2, 4, 3, 3], filters: 2 }, // PyTorch's k3 s2 p1 op1
    { k: [4, 4], s: [2, 2], crops: [1, 1, 1, 1], op: [0, 0], shape: [1, 3, 4, 2], filters: 3 },
    { k: [3, 2], s: [1, 3], crops: [2, 0, 0, 1], op: [0, 2], shape: [2, 3, 3, 2], filters: 2 },
    { k: [2, 2], s: [3, 3], crops: [0, 0, 0, 0], op: [2, 1], shape: [1, 2, 3, 1], filters: 2 },
  ];
  CASES.forEach((cfg, i) => {
    test(`kernel ${cfg.k.join('x')} strides ${cfg.s.join('x')} crops [${cfg.crops}] outputPadding [${cfg.op}]`, () => {
      const [, h, w, c] = cfg.shape;
      const layer = () => L.conv2dTranspose({ filters: cfg.filters, kernelSize: cfg.k, strides: cfg.s,
        padding: [[cfg.crops[0], cfg.crops[1]], [cfg.crops[2], cfg.crops[3]]], outputPadding: cfg.op, inputShape: [h, w, c] });
      const model = cnn.sequential({ seed: 3, layers: [layer()] });
      const kernel = normals(cfg.k[0] * cfg.k[1] * cfg.filters * c, 700 + i);
      const bias = normals(cfg.filters, 800 + i);
      model.setWeights([cnn.tensor(kernel, [...cfg.k, cfg.filters, c]), cnn.tensor(bias, [cfg.filters])]);
      const xv = normals(size(cfg.shape), 900 + i);
      const ref = refTransposed(xv, cfg.shape, kernel, bias, cfg);
      const got = predict(model, xv, cfg.shape);
      assert.deepEqual(got.shape, ref.shape);
      assertClose(got.data, ref.y, 1e-6, 'forward', 'reference');
      model.dispose();
      sequentialGradCheck({ layers: () => [layer()], inputShape: [h, w, c], loss: 'meanSquaredError', seed: 950 + i });
    });
  });

  test('bad options name the layer', () => {
    assert.throws(() => L.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', outputPadding: 1, name: 't' }),
      (e) => e instanceof cnn.CnnError && /^t: outputPadding needs explicit padding/.test(e.message));
    assert.throws(() => L.conv2dTranspose({ filters: 1, kernelSize: 3, padding: [[-1, 0], [0, 0]] }), /padding must be/);
    assert.throws(() => cnn.sequential({ layers: [L.conv2dTranspose({ filters: 1, kernelSize: 2, padding: [[3, 3], [0, 0]], inputShape: [2, 2, 1] })] }),
      /crops the 2x2 input's full output to -3x3/);
  });
});

describe('upSampling2d bilinear halfPixelCenters / alignCorners vs tfjs resizeBilinear', () => {
  for (const mode of ['halfPixelCenters', 'alignCorners']) {
    for (const [f, shape] of [[[2, 2], [2, 4, 5, 3]], [[3, 2], [1, 3, 4, 2]], [[2, 3], [2, 1, 3, 1]]]) {
      test(`${mode}, size [${f}], input [${shape.slice(1)}]`, () => {
        const [, h, w, c] = shape;
        const layer = () => L.upSampling2d({ size: f, interpolation: 'bilinear', [mode]: true, inputShape: [h, w, c] });
        const model = cnn.sequential({ layers: [layer()] });
        const xv = normals(size(shape), 31 + f[0] * 7 + h);
        const got = predict(model, xv, shape);
        const ref = tf.image.resizeBilinear(tf.tensor(xv, shape), [h * f[0], w * f[1]], mode === 'alignCorners', mode === 'halfPixelCenters');
        assert.deepEqual(got.shape, ref.shape);
        assertClose(got.data, ref.dataSync(), 1e-6, 'forward');
        ref.dispose();
        model.dispose();
        sequentialGradCheck({ layers: () => [L.conv2d({ filters: c, kernelSize: 1, inputShape: [h, w, c] }), layer()],
          inputShape: [h, w, c], loss: 'meanSquaredError', seed: 40 + h });
      });
    }
  }
  test('bad options', () => {
    assert.throws(() => L.upSampling2d({ halfPixelCenters: true }), /need interpolation 'bilinear'/);
    assert.throws(() => L.upSampling2d({ interpolation: 'bilinear', halfPixelCenters: true, alignCorners: true }), /cannot both/);
  });
});

test('the options survive save() / loadModel() with bit-identical predictions', async () => {
  const m = cnn.sequential({ seed: 5, layers: [
    L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: [[1, 1], [1, 1]], outputPadding: 1, inputShape: [5, 4, 2] }),
    L.maxPooling2d({ poolSize: 3, strides: 2, padding: [[1, 0], [1, 1]], ceilMode: true }),
    L.averagePooling2d({ poolSize: 3, strides: 1, padding: 1, countIncludePad: true }),
    L.upSampling2d({ size: 2, interpolation: 'bilinear', halfPixelCenters: true }),
  ] });
  const xv = normals(2 * 5 * 4 * 2, 3);
  const before = predict(m, xv, [2, 5, 4, 2]);
  const loaded = await cnn.loadModel(m.save());
  const after = predict(loaded, xv, [2, 5, 4, 2]);
  assert.deepEqual(after.shape, before.shape);
  assert.deepEqual(Array.from(after.data), Array.from(before.data));
  m.dispose(); loaded.dispose();
});
