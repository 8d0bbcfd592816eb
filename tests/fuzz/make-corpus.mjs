// Writes the seed corpus of fuzz_graph (tests/fuzz/corpus/seed-*.bin): small programs in the harness's byte format
// that build, compile, plan and train valid models, so the fuzzer starts from interesting states. Run:
//   node tests/fuzz/make-corpus.mjs
// The byte format is described at the top of fuzz_graph.c; the opcodes and special values here must match it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OPS = ['CONV', 'POOL', 'DENSE', 'FLATTEN', 'DROPOUT', 'ACT', 'BN', 'ADD', 'CONCAT', 'GPOOL', 'ZPAD', 'CONVT',
  'UPSAMPLE', 'UNPOOL', 'INPUT', 'SET_OUTPUT', 'COMPILE', 'CLASS_WEIGHTS', 'IGNORE', 'PLAN', 'FILL_INPUT',
  'FILL_LABELS', 'TRAIN', 'EVAL', 'FORWARD', 'GRADS', 'PARAMS', 'SET_STATS', 'OPT_STATE', 'SET_LR', 'SET_SEED',
  'SET_TRAINABLE', 'NODE_SHAPE', 'READ_BUFFERS'];
const SPECIAL_FLOATS = [NaN, -NaN, Infinity, -Infinity, 0, -0, 1.17549435e-38, 1.4e-45, 3.40282347e38, -3.40282347e38,
  1, 0.5, 0.9, 0.99, 0.999, 0.999999, 1.0000001, 1e-3, 1e-7, 1e10, -1e10, 1e-30, 0.1, 0.01, 0.001, 1e-4, 2, 100, 1e30,
  -1e-30, 0.9999999, 65536, -1, -0.5, 1e-8, 1e-5, 0.3, 0.2, 5, 10, 1000, 1e20, -1e20, 3, 0.05, 0.25, 0.75, 1e38];

class Program {
  bytes = [];
  nodes = 0; // node count as the harness sees it (the input is node 0)
  u8(v) { this.bytes.push(v & 0xff); return this; }
  u32(v) { for (let i = 0; i < 4; i++) this.u8(v >>> (8 * i)); return this; }
  int(v, lo, hi) {
    if (v < lo || v > hi || v - lo >= 224) throw new Error(`int ${v} outside [${lo}, ${hi}]`);
    return this.u8(v - lo);
  }
  node(id) { return this.u8(this.nodes - 1 - id); } // an existing node, by absolute id
  float(v) {
    if (Number.isInteger(v * 32) && v * 32 >= -96 && v * 32 < 96) return this.u8(v * 32 + 96);
    const i = SPECIAL_FLOATS.findIndex((s) => Math.fround(s) === Math.fround(v));
    if (i >= 0) return this.u8(192 + i);
    const f = new Float32Array([v]);
    this.u8(0xf0);
    for (const b of new Uint8Array(f.buffer)) this.u8(b);
    return this;
  }
  op(name) { const i = OPS.indexOf(name); if (i < 0) throw new Error(name); return this.u8(i); }
  start(seed, h, w, c) { this.u32(seed).int(h, 1, 32).int(w, 1, 32).int(c, 1, 8); this.nodes = 1; return this; }
  layer(name, ...args) { this.op(name); for (const a of args) a(this); return this.nodes++; }

  conv(input, filters, kh, kw, sh = 1, sw = 1, dh = 1, dw = 1, same = 1, bias = 1, init = 2) {
    return this.layer('CONV', (p) => p.node(input).int(filters, 1, 16).int(kh, 1, 5).int(kw, 1, 5).int(sh, 1, 3)
      .int(sw, 1, 3).int(dh, 1, 3).int(dw, 1, 3).int(same, 0, 1).int(bias, 0, 1).int(init, 0, 6));
  }
  pool(input, avg, ph, pw, sh, sw, same = 0) {
    return this.layer('POOL', (p) => p.node(input).int(avg, 0, 1).int(ph, 1, 4).int(pw, 1, 4).int(sh, 1, 4)
      .int(sw, 1, 4).int(same, 0, 1));
  }
  dense(input, units, bias = 1, init = 2) {
    return this.layer('DENSE', (p) => p.node(input).int(units, 1, 16).int(bias, 0, 1).int(init, 0, 6));
  }
  flatten(input) { return this.layer('FLATTEN', (p) => p.node(input)); }
  dropout(input, rate) { return this.layer('DROPOUT', (p) => p.node(input).float(rate)); }
  act(input, kind, alpha = 0) { return this.layer('ACT', (p) => p.node(input).int(kind, 0, 7).float(alpha)); }
  bn(input, momentum = 0.99, eps = 1e-3) {
    return this.layer('BN', (p) => p.node(input).float(momentum).float(eps).int(1, 0, 1).int(1, 0, 1));
  }
  merge(name, inputs) {
    return this.layer(name, (p) => { p.int(inputs.length, 0, 4); for (const i of inputs) p.node(i); p.u8(0); });
  }
  gpool(input, avg) { return this.layer('GPOOL', (p) => p.node(input).int(avg, 0, 1)); }
  zpad(input, t, b, l, r) {
    return this.layer('ZPAD', (p) => p.node(input).int(t, 0, 3).int(b, 0, 3).int(l, 0, 3).int(r, 0, 3));
  }
  convt(input, filters, kh, kw, sh, sw, same = 1, bias = 1, init = 2) {
    return this.layer('CONVT', (p) => p.node(input).int(filters, 1, 16).int(kh, 1, 5).int(kw, 1, 5).int(sh, 1, 3)
      .int(sw, 1, 3).int(same, 0, 1).int(bias, 0, 1).int(init, 0, 7));
  }
  upsample(input, fh, fw, bilinear) {
    return this.layer('UPSAMPLE', (p) => p.node(input).int(fh, 1, 4).int(fw, 1, 4).int(bilinear, 0, 1));
  }
  unpool(values, pool) { return this.layer('UNPOOL', (p) => p.node(values).node(pool)); }

  compile(loss, kind, lr, { momentum = 0.9, nesterov = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-7, wd = 0, clip = 0 } = {}) {
    return this.op('COMPILE').int(loss, 0, 3).int(kind, 0, 3).float(lr).float(momentum).int(nesterov, 0, 1)
      .float(beta1).float(beta2).float(eps).float(wd).float(clip).u8(0);
  }
  // Class counts and gradient norms in the stats vector, so runs exercise all of it.
  stats(counts = 1, norms = 1) { return this.op('SET_STATS').int(counts, 0, 1).int(norms, 0, 1).u8(0); }
  plan(cap, grads = 1) { return this.stats().op('PLAN').int(cap, 1, 4).int(grads, 0, 1); }
  fillInput(seed) { return this.op('FILL_INPUT').u8(2).u32(seed); }
  fillLabels(sparse, seed) { return this.op('FILL_LABELS').u8(sparse ? 1 : 0).u8(2).u32(seed); }
  run(name, n) { return this.op(name).int(n, 1, 4).u8(0); }
  reads() { return this.op('PARAMS').op('OPT_STATE').int(3, -1, 8).op('READ_BUFFERS'); }
}

const SPARSE = 0, CATEGORICAL = 1, MSE = 2;
const SGD = 0, MOMENTUM = 1, ADAM = 2;
const RELU = 1, SIGMOID = 2, TANH = 3, SOFTMAX = 4, LEAKY = 5;
const seeds = {};

{ // LeNet-like classifier, sparse cross-entropy with a fused softmax, Adam.
  const p = new Program().start(42, 12, 12, 1);
  const c1 = p.conv(0, 4, 3, 3);
  const a1 = p.act(c1, RELU);
  const p1 = p.pool(a1, 0, 2, 2, 2, 2);
  const f = p.flatten(p1);
  const d = p.dense(f, 10);
  p.act(d, SOFTMAX);
  p.compile(SPARSE, ADAM, 0.01).plan(4).fillInput(1).fillLabels(true, 2);
  p.run('TRAIN', 4).run('TRAIN', 3).run('EVAL', 4).run('FORWARD', 2).reads();
  seeds.lenet = p;
}
{ // Residual block with batch norm and dropout, categorical cross-entropy on soft targets, Nesterov momentum.
  const p = new Program().start(7, 8, 8, 3);
  const c1 = p.conv(0, 3, 3, 3);
  const b1 = p.bn(c1);
  const a1 = p.act(b1, LEAKY, 0.25);
  const sum = p.merge('ADD', [a1, 0]);
  const g = p.gpool(sum, 1);
  const dr = p.dropout(g, 0.25);
  const d = p.dense(dr, 5);
  p.act(d, SOFTMAX);
  p.compile(CATEGORICAL, MOMENTUM, 0.05, { nesterov: 1, wd: 1e-4, clip: 1 }).plan(2).fillInput(3).fillLabels(false, 4);
  p.run('TRAIN', 2).run('GRADS', 1).run('EVAL', 2).reads();
  seeds.residual = p;
}
{ // SegNet-like: max-unpooling through a pooling's indices, per-pixel sparse loss with class weights and an ignore label.
  const p = new Program().start(3, 8, 8, 2);
  const c1 = p.conv(0, 4, 3, 3);
  const pl = p.pool(c1, 0, 2, 2, 2, 2);
  const c2 = p.conv(pl, 4, 3, 3);
  const up = p.unpool(c2, pl);
  const c3 = p.conv(up, 3, 1, 1);
  p.act(c3, SOFTMAX);
  p.compile(SPARSE, SGD, 0.1);
  p.op('CLASS_WEIGHTS').u8(0).float(1).u8(0); // one weight per class (1, 2, 3 × the value), none replaced
  p.op('IGNORE').int(1, 0, 1).int(2, -1, 16);
  p.plan(2).fillInput(5).fillLabels(true, 6).run('TRAIN', 2).run('EVAL', 2).run('FORWARD', 1).reads();
  seeds.segnet = p;
}
{ // FCN-like: bilinear transposed convolution, zero padding, dilated convolution, bilinear upsampling, MSE.
  const p = new Program().start(9, 4, 4, 2);
  const t = p.convt(0, 3, 4, 4, 2, 2, 1, 1, 6);
  const z = p.zpad(t, 1, 1, 1, 1);
  const c = p.conv(z, 2, 3, 3, 1, 1, 2, 2, 0);
  const u = p.upsample(c, 2, 2, 1);
  p.act(u, SIGMOID);
  p.compile(MSE, SGD, 0.1).plan(3).fillInput(7).fillLabels(false, 8);
  p.run('TRAIN', 3).run('GRADS', 2).run('FORWARD', 3).reads();
  seeds.fcn = p;
}
{ // Inception-like: branches concatenated along channels, average pooling 'same', global max pooling, probabilities
  // (no softmax) under categorical cross-entropy, then a frozen layer and a learning-rate change.
  const p = new Program().start(11, 6, 6, 3);
  const b1 = p.conv(0, 2, 1, 1);
  const b2 = p.conv(0, 2, 3, 3);
  const b3 = p.pool(0, 1, 3, 3, 1, 1, 1);
  const cat = p.merge('CONCAT', [b1, b2, b3]);
  const g = p.gpool(cat, 0);
  const d = p.dense(g, 4);
  p.act(d, SIGMOID);
  p.compile(CATEGORICAL, ADAM, 0.001, { clip: 0.5 }).plan(2).fillInput(9).fillLabels(false, 10);
  p.run('TRAIN', 2);
  p.op('SET_TRAINABLE').node(b2).int(0, 0, 1).op('SET_LR').float(0.01);
  p.run('TRAIN', 2).run('EVAL', 1).reads();
  seeds.inception = p;
}

const dir = fileURLToPath(new URL('corpus/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [name, p] of Object.entries(seeds)) {
  writeFileSync(`${dir}seed-${name}.bin`, Uint8Array.from(p.bytes));
  console.log(`seed-${name}.bin: ${p.bytes.length} bytes`);
}
