// ONNX's own backend test cases (Debian's libonnx-testdata: data/{node,pytorch-converted,pytorch-operator,simple}/
// test_*/model.onnx with test_data_set_*/input_*.pb and output_*.pb), run through fromONNX.
//
// Every case whose ops are all among fromONNX's is imported. A case fromONNX refuses with a CnnError (an attribute
// or a shape it cannot represent exactly: 1-D/3-D inputs, grouped convolutions, ceil_mode windows, ...) is counted
// as refused, with the reason; a case it imports must match every test data set at ONNX's backend tolerance
// (numpy assert_allclose with rtol 1e-3, atol 1e-7), or the test fails. Cases with other ops are skipped. The counts
// are printed; at least 101 cases must import and match (103 do with Debian 12's data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as cnn from '../../web/index.js';
import { fromONNX } from '../../web/onnx/index.js';
import { nhwcToNchw, nchwToNhwc } from '../../web/onnx/layout.js';
import { ModelProto, TensorProto } from '../../web/onnx/schema.js';
import { readTensor } from '../../web/onnx/proto-values.js';
import { OPS } from '../../web/onnx/import-ops.js';

const ROOT = '/usr/share/libonnx-testdata/data';
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];
const RTOL = 1e-3;
const ATOL = 1e-7;
const installed = fs.existsSync(path.join(ROOT, 'node'));

function readPb(file) {
  return readTensor(TensorProto.decode(fs.readFileSync(file)), file);
}

/** max over elements of |ours - expected| - (atol + rtol |expected|) > 0 means a mismatch; returns the worst element. */
function worst(ours, expected) {
  let bad = null;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(ours[i] - expected[i]) - (ATOL + RTOL * Math.abs(expected[i]));
    if (!(excess <= 0) && (!bad || excess > bad.excess || Number.isNaN(excess))) bad = { i, ours: ours[i], expected: expected[i], excess };
  }
  return bad;
}

test('ONNX backend test cases (libonnx-testdata) through fromONNX', {
  skip: !installed && `libonnx-testdata is not installed (${ROOT} is missing): apt-get install -y libonnx-testdata`,
}, async () => {
  await cnn.ready();
  const counts = { passed: 0, refused: 0, skipped: 0 };
  const refusedBy = new Map();
  const skippedBy = new Map();
  const failures = [];
  const passedOps = new Map();
  for (const suite of SUITES) {
    const dir = path.join(ROOT, suite);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).sort()) {
      const caseDir = path.join(dir, name);
      const modelFile = path.join(caseDir, 'model.onnx');
      if (!fs.existsSync(modelFile)) continue;
      const bytes = fs.readFileSync(modelFile);
      const ops = [...new Set(ModelProto.decode(bytes).graph.node.map((n) => n.op_type))];
      const missing = ops.filter((op) => !Object.hasOwn(OPS, op));
      if (missing.length) {
        counts.skipped++;
        const key = `op ${missing[0]}`;
        skippedBy.set(key, (skippedBy.get(key) ?? 0) + 1);
        continue;
      }
      const sets = fs.readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort();
      let model;
      try {
        model = await fromONNX(withConstantInputs(bytes, caseDir, sets[0]), { seed: 1 });
      } catch (err) {
        if (!(err instanceof cnn.CnnError)) throw new Error(`${suite}/${name}: ${err.stack}`);
        counts.refused++;
        // Group reasons by their gist (the text after the node), so the summary stays short.
        const reason = err.message.replace(/^fromONNX: (node '[^']*' )?/, '').replace(/\d+/g, '#').slice(0, 90);
        refusedBy.set(reason, [...(refusedBy.get(reason) ?? []), name]);
        continue;
      }
      try {
        assert.ok(sets.length > 0, `${name}: no test data`);
        for (const set of sets) {
          if (set !== sets[0] && extraInputs(caseDir, set).length) {
            model.dispose();
            model = await fromONNX(withConstantInputs(bytes, caseDir, set), { seed: 1 });
          }
          const input = readPb(path.join(caseDir, set, 'input_0.pb'));
          const expected = readPb(path.join(caseDir, set, 'output_0.pb'));
          // NCHW and NCL ([N, C, 1, L] for us) data <-> our NHWC.
          const as4d = (d) => (d.length === 3 ? [d[0], d[1], 1, d[2]] : d);
          const { layout } = model.onnx.input;
          let x;
          if (layout === 'NCHW' || layout === 'NCL') {
            const [n, c, h, w] = as4d(input.dims);
            x = cnn.tensor(nchwToNhwc(input.data, [n, c, h, w]), [n, h, w, c]);
          } else x = cnn.tensor(Float32Array.from(input.data), input.dims);
          const y = model.predict(x);
          let ours = y.dataSync();
          if (model.onnx.output.layout === 'NCHW' || model.onnx.output.layout === 'NCL') {
            const [n, c, h, w] = as4d(expected.dims);
            ours = nhwcToNchw(ours, [n, h, w, c]);
          }
          x.dispose(); y.dispose();
          if (ours.length !== expected.data.length) {
            failures.push(`${suite}/${name} ${set}: ${ours.length} values, expected ${expected.data.length} ([${expected.dims}])`);
            continue;
          }
          const bad = worst(ours, expected.data);
          if (bad) failures.push(`${suite}/${name} ${set}: element ${bad.i} is ${bad.ours}, expected ${bad.expected}`);
        }
        counts.passed++;
        for (const op of ops) passedOps.set(op, (passedOps.get(op) ?? 0) + 1);
      } finally {
        model.dispose();
      }
    }
  }
  const lines = [`ONNX conformance: ${counts.passed} passed, ${failures.length} failed, ${counts.refused} refused by ` +
    `fromONNX (CnnError), ${counts.skipped} skipped (other ops)`];
  lines.push(`  passed cases per op: ${[...passedOps].sort((a, b) => b[1] - a[1]).map(([op, k]) => `${op} ${k}`).join(', ')}`);
  for (const [reason, names] of [...refusedBy].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`  refused ${names.length}: ${reason} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''})`);
  }
  console.log(lines.join('\n'));
  assert.deepEqual(failures, [], 'cases whose outputs differ');
  // 103 pass with Debian 12's libonnx-testdata (onnx 1.12); fewer means a regression.
  assert.ok(counts.passed >= 101, `only ${counts.passed} cases passed; expected at least 101`);
});

const extraInputs = (caseDir, set) => fs.readdirSync(path.join(caseDir, set)).filter((f) => /^input_[1-9]\d*\.pb$/.test(f));

/**
 * wasm-cnn models have one input: the test data's inputs 1.. (weights, scales, pads, shapes fed at run time by ONNX's
 * runners) become initializers of the model, with the values of test data set `set`.
 */
function withConstantInputs(bytes, caseDir, set) {
  const files = set ? extraInputs(caseDir, set) : [];
  if (!files.length) return bytes;
  const model = ModelProto.decode(bytes);
  const known = new Set(model.graph.initializer.map((t) => t.name));
  const inputs = model.graph.input.filter((i) => !known.has(i.name));
  for (const f of files) {
    const k = Number(f.slice(6, -3));
    if (k >= inputs.length) continue;
    const t = TensorProto.decode(fs.readFileSync(path.join(caseDir, set, f)));
    t.name = inputs[k].name;
    model.graph.initializer.push(t);
  }
  return ModelProto.encode(model).finish();
}
