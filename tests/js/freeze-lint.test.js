// Freezing layers (layer.trainable = false, Keras 2 semantics) and cnn.lint.
//  - A frozen layer's weights — and a frozen batch norm's moving statistics — stay bit for bit through fit(), whether
//    it was frozen before the model was built or after (also after the optimizer has built up momentum / Adam state),
//    while the other layers train; a frozen batch norm runs in inference mode; unfreezing makes the layer train again.
//  - getWeights() order follows tfjs: a frozen layer's weights move to the non-trainable part (checked against tfjs's
//    model.weights for the same model with the same layers frozen), and one training step with a frozen conv equals
//    tfjs's trainOnBatch.
//  - lint: purpose-built bad models are reported with the right rule and layer names; good ones give []; compile()
//    prints each finding with console.warn.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as cnn from '../../web/index.js';
import {
  normals, ints, size, assertClose, assertSameBits, buildOurs, buildTfjs, randomizeWeights, copyWeightsToTfjs,
  readyWithTfjsCpu,
} from './helpers.js';

before(() => readyWithTfjsCpu(tf));

const L = cnn.layers;
const INPUT = [6, 6, 3];
const N = 8;

/** conv1 -> bn1 -> relu -> conv2 -> bn2 -> relu -> global average pooling -> dense softmax, named for lookups. */
function net(Lib, x, { frozen = [] } = {}) {
  const opt = (name) => ({ name, ...(frozen.includes(name) ? { trainable: false } : {}) });
  let t = Lib.conv2d({ ...opt('conv1'), filters: 4, kernelSize: 3, padding: 'same' }).apply(x);
  t = Lib.batchNormalization({ ...opt('bn1'), momentum: 0.8 }).apply(t);
  t = Lib.reLU({ name: 'relu1' }).apply(t);
  t = Lib.conv2d({ ...opt('conv2'), filters: 5, kernelSize: 3, padding: 'same' }).apply(t);
  t = Lib.batchNormalization({ ...opt('bn2'), momentum: 0.8 }).apply(t);
  t = Lib.reLU({ name: 'relu2' }).apply(t);
  t = Lib.globalAveragePooling2d({ name: 'gap' }).apply(t);
  return Lib.dense({ ...opt('head'), units: 3, activation: 'softmax' }).apply(t);
}

function data(seed) {
  return {
    x: cnn.tensor(normals(N * size(INPUT), seed), [N, ...INPUT]),
    y: cnn.tensor(ints(N, seed + 1, 3), [N], 'int32'),
  };
}

/** Weights of each named layer (Float32Array copies), by layer name. */
function snapshot(model, names) {
  return Object.fromEntries(names.map((name) => [name, model.getLayer(name).getWeights().map((w) => w.dataSync().slice())]));
}
function changed(a, b) { return a.some((w, i) => w.some((v, k) => v !== b[i][k])); }

const LAYERS = ['conv1', 'bn1', 'conv2', 'bn2', 'head'];

describe('freezing layers', () => {
  for (const when of ['before build (trainable: false option)', 'before build (property)', 'after build and training (Adam state)']) {
    test(`conv1 and bn1 frozen ${when}: unchanged bit for bit through fit, the rest trains; unfreezing trains them`, async () => {
      const x0 = cnn.input({ shape: INPUT });
      const model = cnn.model({ inputs: x0, outputs: net(L, x0, { frozen: when.includes('option') ? ['conv1', 'bn1'] : [] }), seed: 3 });
      try {
        const { x, y } = data(4);
        if (when.includes('property')) {
          model.getLayer('conv1').trainable = false;
          model.getLayer('bn1').trainable = false;
          assert.equal(model.built, false);
        }
        model.compile({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
        randomizeWeights(model, 5);
        if (when.includes('after')) {
          await model.fit(x, y, { epochs: 2, batchSize: 4, shuffle: false }); // Adam moments of every weight are non-zero
          model.getLayer('conv1').trainable = false;
          model.getLayer('bn1').trainable = false;
        }
        assert.equal(model.getLayer('conv1').trainable, false);
        const before = snapshot(model, LAYERS);
        await model.fit(x, y, { epochs: 2, batchSize: 4, shuffle: true, seed: 6 });
        const after = snapshot(model, LAYERS);
        assertSameBits(after.conv1, before.conv1, 'frozen conv1');
        assertSameBits(after.bn1, before.bn1, 'frozen bn1 (gamma, beta, moving mean, moving variance)');
        for (const name of ['conv2', 'bn2', 'head']) assert.ok(changed(after[name], before[name]), `${name} did not train`);
        // bn2's moving statistics moved (it is trainable, so it ran in training mode).
        assert.ok(changed(after.bn2.slice(2), before.bn2.slice(2)), 'bn2 moving statistics did not move');

        // Unfreeze: both train again, and bn1's statistics move again.
        model.getLayer('conv1').trainable = true;
        model.getLayer('bn1').trainable = true;
        await model.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false });
        const again = snapshot(model, LAYERS);
        assert.ok(changed(again.conv1, after.conv1), 'conv1 did not train after unfreezing');
        assert.ok(changed(again.bn1.slice(0, 2), after.bn1.slice(0, 2)), 'bn1 gamma / beta did not train after unfreezing');
        assert.ok(changed(again.bn1.slice(2), after.bn1.slice(2)), 'bn1 moving statistics did not move after unfreezing');
      } finally {
        model.dispose();
      }
    });
  }

  test('SGD with momentum: a layer frozen mid-training gets no further (velocity) update', async () => {
    const x0 = cnn.input({ shape: INPUT });
    const model = cnn.model({ inputs: x0, outputs: net(L, x0), seed: 7 });
    try {
      const { x, y } = data(8);
      model.compile({ optimizer: cnn.train.momentum(0.05, 0.9), loss: 'sparseCategoricalCrossentropy' });
      await model.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false });
      model.getLayer('conv2').trainable = false;
      model.getLayer('head').trainable = false;
      const before = snapshot(model, LAYERS);
      await model.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false });
      const after = snapshot(model, LAYERS);
      assertSameBits(after.conv2, before.conv2, 'frozen conv2');
      assertSameBits(after.head, before.head, 'frozen head');
      for (const name of ['conv1', 'bn1', 'bn2']) assert.ok(changed(after[name], before[name]), `${name} did not train`);
    } finally {
      model.dispose();
    }
  });

  test('a frozen batch norm runs in inference mode: with every BN frozen, computeGradients loss = evaluate loss', () => {
    const x0 = cnn.input({ shape: INPUT });
    const model = cnn.model({ inputs: x0, outputs: net(L, x0), seed: 9 });
    try {
      const { x, y } = data(10);
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      randomizeWeights(model, 11); // moving statistics far from the batch's
      const inference = model.evaluate(x, y, { batchSize: N }).dataSync()[0];
      const training = model.computeGradients(x, y).loss;
      assert.ok(Math.abs(training - inference) > 1e-3 * inference, `trainable BN: training loss ${training} should differ from ${inference}`);
      model.getLayer('bn1').trainable = false;
      model.getLayer('bn2').trainable = false;
      const frozen = model.computeGradients(x, y);
      assertClose([frozen.loss], [inference], 1e-5, 'loss with frozen BNs', 'evaluate');
      // Freezing changes nothing but the mode: the input gradient is still there, and the trainable convs get theirs.
      assert.ok(frozen.inputGradient.dataSync().some((v) => v !== 0), 'no input gradient through frozen BNs');
      const names = model.weightNames();
      for (const name of ['conv1/kernel', 'conv2/kernel', 'head/kernel']) {
        assert.ok(frozen.gradients[names.indexOf(name)].dataSync().some((v) => v !== 0), `${name} has no gradient`);
      }
    } finally {
      model.dispose();
    }
  });

  test('a frozen conv still passes the gradient through: the input gradient and other gradients do not change', () => {
    const build = () => cnn.sequential({
      seed: 12,
      layers: [L.conv2d({ name: 'fc1', filters: 3, kernelSize: 3, activation: 'tanh', inputShape: [5, 5, 2] }),
        L.conv2d({ name: 'fc2', filters: 2, kernelSize: 3 }), L.flatten(), L.dense({ name: 'fd', units: 2 })],
    });
    const a = build();
    const b = build();
    try {
      for (const m of [a, b]) m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      randomizeWeights(a, 13);
      b.setWeights(a.getWeights());
      b.getLayer('fc1').trainable = false;
      const x = cnn.tensor(normals(2 * 50, 14), [2, 5, 5, 2]);
      const y = cnn.tensor(normals(4, 15), [2, 2]);
      const ga = a.computeGradients(x, y);
      const gb = b.computeGradients(x, y);
      assert.equal(gb.loss, ga.loss);
      assert.deepEqual(gb.inputGradient.dataSync(), ga.inputGradient.dataSync());
      // b's getWeights() order: fc2, fd, then the frozen fc1 (non-trainable part).
      assert.deepEqual(b.weightNames(), ['fc2/kernel', 'fc2/bias', 'fd/kernel', 'fd/bias', 'fc1/kernel', 'fc1/bias']);
      const byName = (m, g) => Object.fromEntries(m.weightNames().map((nm, i) => [nm, g.gradients[i].dataSync()]));
      const na = byName(a, ga);
      const nb = byName(b, gb);
      for (const name of ['fc2/kernel', 'fc2/bias', 'fd/kernel', 'fd/bias']) assert.deepEqual(nb[name], na[name], name);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  describe('getWeights() order vs tfjs model.weights with the same layers frozen', () => {
    const residual = (Lib, x, { frozen = [] } = {}) => {
      const opt = (name) => ({ name, ...(frozen.includes(name) ? { trainable: false } : {}) });
      const stem = Lib.reLU({ name: 'stem_relu' }).apply(Lib.conv2d({ ...opt('stem'), filters: 4, kernelSize: 3, padding: 'same' }).apply(x));
      let t = Lib.conv2d({ ...opt('rc1'), filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(stem);
      t = Lib.reLU({ name: 'rr1' }).apply(Lib.batchNormalization(opt('rbn1')).apply(t));
      t = Lib.batchNormalization(opt('rbn2')).apply(Lib.conv2d({ ...opt('rc2'), filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(t));
      t = Lib.reLU({ name: 'rout' }).apply(Lib.add({ name: 'radd' }).apply([t, stem]));
      return Lib.dense({ ...opt('rhead'), units: 2 }).apply(Lib.globalAveragePooling2d({ name: 'rgap' }).apply(t));
    };
    const cases = [
      ['chain, conv1 and bn1 frozen (option)', net, ['conv1', 'bn1'], 'option'],
      ['chain, conv2 and bn2 frozen after build', net, ['conv2', 'bn2'], 'after'],
      ['chain, head frozen after build', net, ['head'], 'after'],
      ['residual block, rc1 and rbn2 frozen (option)', residual, ['rc1', 'rbn2'], 'option'],
      ['residual block, stem and rbn1 frozen after build', residual, ['stem', 'rbn1'], 'after'],
    ];
    for (const [name, graph, frozen, when] of cases) {
      test(name, () => {
        const opts = when === 'option' ? { frozen } : {};
        const ours = buildOurs((Lib, x) => graph(Lib, x, opts), INPUT, 16);
        const theirs = buildTfjs(tf, (Lib, x) => graph(Lib, x, opts), INPUT);
        try {
          randomizeWeights(ours, 17);
          if (when === 'after') {
            ours.getWeights(); // builds the model
            for (const l of frozen) {
              ours.getLayer(l).trainable = false;
              theirs.getLayer(l).trainable = false;
            }
          }
          copyWeightsToTfjs(tf, ours, theirs);
          const want = theirs.weights.map((w) => w.originalName);
          assert.deepEqual(ours.weightNames(), want);
          // The trainable part holds neither the frozen layers' weights nor moving statistics; all of them follow.
          const k = theirs.trainableWeights.length;
          assert.ok(want.slice(0, k).every((w) => !frozen.includes(w.split('/')[0]) && !/moving/.test(w)), 'trainable part');
          for (const l of frozen) assert.ok(want.slice(k).some((w) => w.startsWith(`${l}/`)), `${l} in the non-trainable part`);
          // And the values, in this order, are tfjs's model.getWeights().
          const mine = ours.getWeights();
          theirs.getWeights().forEach((w, i) => {
            assert.deepEqual([...mine[i].shape], w.shape, `shape of ${want[i]}`);
            assert.deepEqual(mine[i].dataSync(), w.dataSync(), `values of ${want[i]}`);
          });
          // setWeights takes the list in the same order.
          ours.setWeights(mine.map((w) => cnn.tensor(w.dataSync().map((v) => v * 0.5), w.shape)));
          ours.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), mine[i].dataSync().map((v) => v * 0.5), `setWeights ${want[i]}`));
        } finally {
          ours.dispose();
          theirs.dispose();
        }
      });
    }
  });

  test('one SGD step with conv1 frozen equals tfjs trainOnBatch with conv1 frozen (BNs train, batch statistics)', async () => {
    const ours = buildOurs((Lib, x) => net(Lib, x, { frozen: ['conv1'] }), INPUT, 18);
    const theirs = buildTfjs(tf, (Lib, x) => net(Lib, x, { frozen: ['conv1'] }), INPUT);
    try {
      randomizeWeights(ours, 19);
      copyWeightsToTfjs(tf, ours, theirs);
      ours.compile({ optimizer: cnn.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
      theirs.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
      const xv = normals(N * size(INPUT), 20);
      const labels = ints(N, 21, 3);
      const before = ours.getWeights().map((w) => w.dataSync().slice());
      await ours.fit(cnn.tensor(xv, [N, ...INPUT]), cnn.tensor(labels, [N], 'int32'), { batchSize: N, epochs: 1, shuffle: false });
      await theirs.trainOnBatch(tf.tensor(xv, [N, ...INPUT]), tf.tensor(Float32Array.from(labels), [N, 1])); // tfjs: float labels
      const names = ours.weightNames();
      assert.deepEqual(names, theirs.weights.map((w) => w.originalName));
      const want = theirs.getWeights();
      ours.getWeights().forEach((w, i) => {
        assertClose(w.dataSync(), want[i].dataSync(), 1e-4, names[i]);
        const delta = w.dataSync().map((v, k) => v - before[i][k]);
        const tfDelta = want[i].dataSync().map((v, k) => v - before[i][k]);
        if (names[i].startsWith('conv1/')) {
          assert.ok(delta.every((v) => v === 0) && tfDelta.every((v) => v === 0), `${names[i]} must not move`);
        } else if (!names[i].startsWith('conv2/bias')) { // conv2's bias feeds a batch norm: its gradient is ~0
          assertClose(delta, tfDelta, 1e-3, `change of ${names[i]}`);
        }
      });
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });
});

// ---- lint ----------------------------------------------------------------------------------------------------------
function graphModel(inputShape, graph) {
  const x = cnn.input({ shape: inputShape });
  return cnn.model({ inputs: x, outputs: graph(x), seed: 1 });
}
/** Findings without their messages (checked separately: they name both layers). */
function lintOf(model) {
  const findings = cnn.lint(model);
  for (const f of findings) {
    assert.ok(f.message.includes(f.layer) && f.message.includes(f.source), `message names the layers: ${f.message}`);
  }
  return findings.map(({ rule, layer, source }) => ({ rule, layer, source }));
}

describe('lint', () => {
  const bad = [
    ['dense(relu) -> activation(softmax)', () => cnn.sequential({ layers: [
      L.dense({ name: 'bd1', units: 8, activation: 'relu', inputShape: [5] }), L.activation({ name: 'bs1', activation: 'softmax' })] }),
    [{ rule: 'relu-before-softmax', layer: 'bs1', source: 'bd1' }]],
    ['dense -> reLU layer -> activation(softmax)', () => cnn.sequential({ layers: [
      L.dense({ name: 'bd2', units: 8, inputShape: [5] }), L.reLU({ name: 'br2' }), L.activation({ name: 'bs2', activation: 'softmax' })] }),
    [{ rule: 'relu-before-softmax', layer: 'bs2', source: 'br2' }]],
    ['dense(relu) -> dropout -> activation(softmax)', () => cnn.sequential({ layers: [
      L.dense({ name: 'bd3', units: 8, activation: 'relu', inputShape: [5] }), L.dropout({ name: 'bdo3', rate: 0.5 }),
      L.activation({ name: 'bs3', activation: 'softmax' })] }),
    [{ rule: 'relu-before-softmax', layer: 'bs3', source: 'bd3' }]],
    ['conv(relu) -> flatten -> dropout -> activation(softmax)', () => cnn.sequential({ layers: [
      L.conv2d({ name: 'bc4', filters: 2, kernelSize: 3, activation: 'relu', inputShape: [4, 4, 1] }), L.flatten({ name: 'bf4' }),
      L.dropout({ name: 'bdo4', rate: 0.2 }), L.activation({ name: 'bs4', activation: 'softmax' })] }),
    [{ rule: 'relu-before-softmax', layer: 'bs4', source: 'bc4' }]],
    ['residual branch ending in a reLU layer before the add', () => graphModel([4, 4, 3], (x) => {
      const s = L.reLU({ name: 'br5s' }).apply(L.conv2d({ name: 'bc5a', filters: 3, kernelSize: 3, padding: 'same' }).apply(x));
      const b = L.conv2d({ name: 'bc5b', filters: 3, kernelSize: 3, padding: 'same' }).apply(s);
      const r = L.reLU({ name: 'br5b' }).apply(L.batchNormalization({ name: 'bbn5' }).apply(b));
      return L.add({ name: 'badd5' }).apply([r, s]);
    }), [{ rule: 'relu-before-add', layer: 'badd5', source: 'br5b' }]],
    ['residual branch ending in conv(relu) (shortcut = input, second operand)', () => graphModel([4, 4, 3], (x) => {
      const b = L.conv2d({ name: 'bc6', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
      return L.add({ name: 'badd6' }).apply([x, b]);
    }), [{ rule: 'relu-before-add', layer: 'badd6', source: 'bc6' }]],
    ['both: relu branch before add and a relu dense before the softmax', () => graphModel([4, 4, 3], (x) => {
      const b = L.reLU({ name: 'br7' }).apply(L.conv2d({ name: 'bc7', filters: 3, kernelSize: 1 }).apply(x));
      const a = L.add({ name: 'badd7' }).apply([b, x]);
      const d = L.dense({ name: 'bd7', units: 4, activation: 'relu' }).apply(L.flatten({ name: 'bf7' }).apply(a));
      return L.activation({ name: 'bs7', activation: 'softmax' }).apply(d);
    }), [{ rule: 'relu-before-softmax', layer: 'bs7', source: 'bd7' }, { rule: 'relu-before-add', layer: 'badd7', source: 'br7' }]],
  ];
  for (const [name, build, expected] of bad) {
    test(`bad: ${name}`, () => {
      const model = build();
      try {
        const got = lintOf(model);
        assert.deepEqual(new Set(got.map((f) => JSON.stringify(f))), new Set(expected.map((f) => JSON.stringify(f))));
        assert.equal(got.length, expected.length);
      } finally {
        model.dispose();
      }
    });
  }

  const good = [
    ['residual block with relu after add, shortcut from a previous relu', () => graphModel([5, 5, 3], (x) => {
      const s = L.reLU({ name: 'gr1' }).apply(L.conv2d({ name: 'gc1', filters: 4, kernelSize: 3, padding: 'same' }).apply(x));
      let t = L.conv2d({ name: 'gc2', filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(s);
      t = L.reLU({ name: 'gr2' }).apply(L.batchNormalization({ name: 'gbn2' }).apply(t));
      t = L.batchNormalization({ name: 'gbn3' }).apply(L.conv2d({ name: 'gc3', filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(t));
      const out = L.reLU({ name: 'gout' }).apply(L.add({ name: 'gadd' }).apply([s, t]));
      const logits = L.dense({ name: 'glogits', units: 3 }).apply(L.globalAveragePooling2d({ name: 'ggap' }).apply(out));
      return L.activation({ name: 'gsoft', activation: 'softmax' }).apply(logits);
    })],
    ['softmax dense after a relu dense', () => cnn.sequential({ layers: [
      L.dense({ units: 8, activation: 'relu', inputShape: [5] }), L.dropout({ rate: 0.3 }), L.dense({ units: 3, activation: 'softmax' })] })],
    ['leakyReLU before the add and tanh before the softmax', () => graphModel([4, 4, 2], (x) => {
      const b = L.leakyReLU({}).apply(L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(x));
      const d = L.dense({ units: 3, activation: 'tanh' }).apply(L.flatten().apply(L.add().apply([x, b])));
      return L.activation({ activation: 'softmax' }).apply(d);
    })],
    ['two conv branches of the same relu added (neither ends in a ReLU)', () => graphModel([4, 4, 2], (x) => {
      const r = L.reLU().apply(L.conv2d({ filters: 2, kernelSize: 1 }).apply(x));
      return L.add().apply([L.conv2d({ filters: 2, kernelSize: 1 }).apply(r), L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(r)]);
    })],
  ];
  for (const [name, build] of good) {
    test(`good: ${name}`, () => {
      const model = build();
      try {
        assert.deepEqual(cnn.lint(model), []);
      } finally {
        model.dispose();
      }
    });
  }

  test('compile() warns once per finding (console.warn), and not for a good model', () => {
    const warnings = [];
    const original = console.warn;
    console.warn = (...args) => { warnings.push(args.join(' ')); };
    const badModel = bad[6][1]();
    const goodModel = good[0][1]();
    try {
      badModel.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      goodModel.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    } finally {
      console.warn = original;
      badModel.dispose();
      goodModel.dispose();
    }
    assert.equal(warnings.length, 2, `warnings: ${JSON.stringify(warnings)}`);
    assert.ok(warnings.some((w) => w.includes('bd7') && w.includes('bs7')), 'relu-before-softmax warning names bd7 and bs7');
    assert.ok(warnings.some((w) => w.includes('br7') && w.includes('badd7')), 'relu-before-add warning names br7 and badd7');
  });

  test('summary() lists the findings as warnings', () => {
    const model = bad[0][1]();
    try {
      const lines = [];
      model.summary((l) => lines.push(l));
      assert.ok(lines.some((l) => l.startsWith('Warning:') && l.includes('bd1') && l.includes('bs1')), lines.join('\n'));
    } finally {
      model.dispose();
    }
  });
});
