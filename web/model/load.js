// cnn.loadModel(bytes | ArrayBuffer | URL | path): reads a model file (format.js) and rebuilds the model, which
// then predicts bit-identically to the saved one. Whatever fails, nothing is left allocated.
import { CnnError } from '../core/errors.js';
import { isNode, nodeBuiltin } from '../core/env.js';
import { parseModelBytes } from './format.js';
import { buildFromConfig } from './config.js';
import { Model, Sequential } from './model.js';

function fail(detail) { throw new CnnError(`loadModel: ${detail}`); }

/** The bytes of a model (or ONNX) file from bytes, a URL or (Node) a path. */
export async function readSource(source, what = 'loadModel') {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source === 'string' || source instanceof URL) {
    const url = source instanceof URL ? source : /^file:/.test(source) ? new URL(source) : null;
    if (isNode && (!url || url.protocol === 'file:') && !(typeof source === 'string' && /^https?:/.test(source))) {
      const { readFile } = await nodeBuiltin('fs/promises');
      try {
        return new Uint8Array(await readFile(url ?? source));
      } catch (err) {
        throw new CnnError(`${what}: cannot read ${source}: ${err.message}`);
      }
    }
    let response;
    try {
      response = await fetch(source);
    } catch (err) {
      throw new CnnError(`${what}: could not fetch ${source}: ${err.cause?.message ?? err.message}`);
    }
    if (!response.ok) throw new CnnError(`${what}: fetching ${source} failed: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  throw new CnnError(`${what}: expected a Uint8Array, ArrayBuffer, URL or file path, got ${source === null ? 'null' : typeof source}`);
}

/** cnn.modelFromConfig(model.getConfig(), seed): the same architecture, new weights from `seed`, not yet built. */
export function modelFromConfig(config, seed = 0) {
  return buildFromConfig(config, { Model, Sequential }, seed);
}

export async function loadModel(source) {
  const bytes = await readSource(source);
  const { header, tensors, optimizerTensors } = parseModelBytes(bytes);
  let model;
  try {
    model = modelFromConfig(header.model);
    model.build();
    const names = model.weightNames();
    if (names.length !== header.weights.length) fail(`the file holds ${header.weights.length} weights but the rebuilt model has ${names.length}`);
    header.weights.forEach((w, i) => {
      if (names[i] !== w.name) fail(`weight ${i} is named ${w.name} in the file but ${names[i]} in the rebuilt model`);
    });
    model.setWeights(tensors);
    model.metadata = header.metadata ?? null;
    if (header.training) {
      const { loss, optimizer, metrics, clipNorm, ignoreLabel, classWeights } = header.training;
      const config = { loss, optimizer, metrics };
      if (clipNorm) config.clipNorm = clipNorm;
      if (ignoreLabel !== undefined && ignoreLabel !== null) config.ignoreLabel = ignoreLabel;
      if (classWeights !== undefined && classWeights !== null) config.classWeights = classWeights;
      model.compile(config);
      if (header.optimizerState) {
        model.setOptimizerState({ step: header.optimizerState.step, tensors: header.optimizerState.tensors.map((t, i) => (
          { weight: t.weight, slot: t.slot, values: optimizerTensors[i].values() })) });
      }
    } else if (header.optimizerState) {
      fail('the file holds optimizer state but no training settings to compile with');
    }
  } catch (err) {
    model?.dispose();
    throw err instanceof CnnError && err.message.startsWith('loadModel') ? err : new CnnError(`loadModel: ${err.message}`);
  } finally {
    tensors.forEach((t) => t.dispose());
    optimizerTensors.forEach((t) => t.dispose());
  }
  return model;
}
