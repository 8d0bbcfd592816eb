// ONNX Runtime Web for tests/bench/bench.js and tests/bench/bench-models.js: loading it in Node (wasm execution
// provider, one thread), and one inference session per model, written by the library's exporter (toONNX, web/onnx/)
// from our model and its weights.
//
// Loading: `import * as ort from 'onnxruntime-web'` resolves in Node to dist/ort.node.min.mjs, which reads
// dist/ort-wasm-simd-threaded.wasm from node_modules itself: no network and no ort.env.wasm.wasmPaths needed
// (checked with onnxruntime-web 1.30.0, Node 20). Since 1.19 that is the only CPU build ORT Web ships: SIMD is always
// on (ort.env.wasm.simd is ignored), and with ort.env.wasm.numThreads = 1 it starts no worker threads.
//
// Layout: the ONNX graph is NCHW throughout, with a dynamic batch axis (see docs/ONNX.md); the NHWC input is transposed once, outside the
// timed region, into the ort.Tensor that every timed run reads, and the NCHW output is transposed back only for the
// output check. ORT's timed call is `await session.run(feeds)`: it copies the input into the wasm heap and the
// outputs out of it into new Float32Arrays, as our model.predict does.
import fs from 'node:fs';
import { toONNX, nhwcToNchw, nchwToNhwc } from '../../web/onnx/index.js';
import { ModelProto, DATA_TYPE } from '../../web/onnx/schema.js';
import { maxAbs, maxAbsDiff } from './timing.js';

/** Relative tolerance of the output checks (max |ours - ORT| / max |ours|), as for tfjs in bench-models.js. */
export const ORT_TOL = 1e-4;

let ort = null;

/**
 * Imports onnxruntime-web and starts its wasm backend with `threads` threads (one unless told: its threaded runs
 * are tests/bench/threads-peers.js's); resolves to { version, binary, threads }. Throws with what to do when the
 * package is missing.
 */
export async function setUpOrt({ threads = 1 } = {}) {
  try {
    ort = await import('onnxruntime-web');
  } catch (err) {
    throw new Error(`could not import onnxruntime-web (${err.message.split('\n')[0]}): run npm install, or pass --no-ort`);
  }
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  // The wasm file is read at the first session: record which one, to report it (as for tfjs-wasm).
  const seen = [];
  const orig = { readFileSync: fs.readFileSync, readFile: fs.readFile };
  fs.readFileSync = function readFileSync(p, ...rest) { seen.push(String(p)); return orig.readFileSync.call(this, p, ...rest); };
  fs.readFile = function readFile(p, ...rest) { seen.push(String(p)); return orig.readFile.call(this, p, ...rest); };
  try {
    const info = (name) => ({ name, type: { tensor_type: { elem_type: DATA_TYPE.FLOAT, shape: { dim: [{ dim_value: 1 }, { dim_value: 4 }] } } } });
    const relu = ModelProto.encode(ModelProto.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'warm-up', node: [{ op_type: 'Relu', input: ['x'], output: ['y'] }], input: [info('x')], output: [info('y')] } })).finish();
    const s = await ort.InferenceSession.create(relu, { executionProviders: ['wasm'] });
    await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4]) });
    await s.release();
  } finally {
    fs.readFileSync = orig.readFileSync;
    fs.readFile = orig.readFile;
  }
  const wasmFile = seen.find((p) => p.endsWith('.wasm')) ?? '(unknown)';
  return { version: ort.env.versions?.web ?? '(unknown)', binary: wasmFile.split(/[\\/]/).pop(), threads: ort.env.wasm.numThreads };
}

/**
 * An ORT session running `model` (one of ours, built, with its current weights) at a fixed batch. Resolves to
 * { feed(nhwc): the feeds of one run, made once (NCHW ort.Tensor); run(feeds): session.run's promise (the timed
 * call); outputNhwc(feeds): the first output in our layout (for the check); onnxBytes; release() }.
 */
export async function ortSession(model, { batch = 1 } = {}) {
  if (!ort) throw new Error('ortSession: call setUpOrt() first');
  const bytes = toONNX(model);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const sample = model.inputShape.slice(1); // ours: [h, w, c] or [features]
  const shape = sample.length === 3 ? [batch, sample[2], sample[0], sample[1]] : [batch, ...sample];
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  return {
    onnxBytes: bytes.length,
    feed(nhwc) {
      const data = sample.length === 3 ? nhwcToNchw(nhwc, [batch, ...sample]) : nhwc;
      return { [inputName]: new ort.Tensor('float32', data, shape) };
    },
    run: (feeds) => session.run(feeds),
    async outputNhwc(feeds) {
      const y = (await session.run(feeds))[outputName];
      return y.dims.length === 4 ? nchwToNhwc(y.data, y.dims) : y.data;
    },
    release: () => session.release(),
  };
}

/** max |ours - ort| / max |ours|; throws when above ORT_TOL (the networks would not be the same). */
export function checkOrt(name, ours, theirs) {
  const rel = maxAbsDiff(ours, theirs) / Math.max(1e-12, maxAbs(ours));
  if (!(rel <= ORT_TOL)) throw new Error(`${name}: ONNX Runtime's outputs differ from ours by ${rel.toExponential(2)} (relative) > ${ORT_TOL}`);
  return rel;
}
