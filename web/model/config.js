// A model's architecture as JSON (getConfig, stored in model files) and back (modelFromConfig, used by loadModel).
// A config from a file is untrusted: its shape is checked field by field first, so every message names the field.
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';
import { LAYER_CLASSES, input as inputFn } from '../layers/index.js';

export function modelConfig(model) {
  return {
    name: model.name,
    layers: model.graphLayers.map((layer) => ({
      className: layer.className,
      config: layer.getConfig(),
      inbound: (layer.inbound ?? []).map((t) => [t.sourceLayer.name, t.outputIndex]),
    })),
    inputs: model.inputs.map((t) => [t.sourceLayer.name, t.outputIndex]),
    outputs: model.outputs.map((t) => [t.sourceLayer.name, t.outputIndex]),
  };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isRef = (r) => Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && Number.isInteger(r[1]) && r[1] >= 0;

/** Checks the JSON shape of a model config (from a file): throws naming the first field that is wrong. */
export function checkConfigShape(config, what = 'loadModel') {
  const fail = (field, expected, got) => {
    throw new CnnError(`${what}: ${field} must be ${expected}, got ${show(got)?.slice(0, 200)}`);
  };
  if (!isObject(config)) fail('model', 'an object', config);
  if (config.name !== undefined && typeof config.name !== 'string') fail('model.name', 'a string', config.name);
  if (!Array.isArray(config.layers) || config.layers.length === 0) fail('model.layers', 'a non-empty array', config.layers);
  config.layers.forEach((l, i) => {
    const at = `model.layers[${i}]`;
    if (!isObject(l)) fail(at, 'an object { className, config, inbound }', l);
    if (typeof l.className !== 'string' || !LAYER_CLASSES.has(l.className)) {
      fail(`${at}.className`, `one of ${[...LAYER_CLASSES.keys()].join(', ')}`, l.className);
    }
    if (!isObject(l.config)) fail(`${at}.config`, 'an object', l.config);
    if (typeof l.config.name !== 'string' || !l.config.name) fail(`${at}.config.name`, 'a non-empty string', l.config.name);
    if (l.inbound !== undefined && (!Array.isArray(l.inbound) || !l.inbound.every(isRef))) {
      fail(`${at}.inbound`, 'an array of [layer name, output index] pairs', l.inbound);
    }
  });
  for (const key of ['inputs', 'outputs']) {
    if (!Array.isArray(config[key]) || config[key].length !== 1 || !config[key].every(isRef)) {
      fail(`model.${key}`, 'one [layer name, output index] pair in an array', config[key]);
    }
  }
}

/** Rebuilds a model from getConfig() output. `Model` / `Sequential` are passed in (they import this module). */
export function buildFromConfig(config, { Model, Sequential }, seed = 0) {
  checkConfigShape(config);
  const classOf = (className) => LAYER_CLASSES.get(className);
  const make = (Cls, c) => new Cls(c);
  if (config.sequential) {
    // A Sequential comes back as one: its layers in order, the first carrying the input shape.
    const inputShape = config.layers.find((l) => l.className === 'InputLayer')?.config.shape;
    config.layers.forEach((l, i) => {
      const expected = i === 0 ? [] : [config.layers[i - 1].config.name];
      const got = (l.inbound ?? []).map(([name]) => name);
      if (got.length !== expected.length || got.some((name, k) => name !== expected[k])) {
        throw new CnnError(`loadModel: sequential layer ${l.config.name} reads [${got}], expected [${expected}]`);
      }
    });
    const last = config.layers.at(-1).config.name;
    if (config.outputs[0][0] !== last || config.outputs[0][1] !== 0) {
      throw new CnnError(`loadModel: a sequential model's output must be its last layer '${last}', got '${config.outputs[0][0]}'`);
    }
    const chain = config.layers.filter((l) => l.className !== 'InputLayer').map(({ className, config: c }, i) => (
      make(classOf(className), i === 0 ? { ...c, inputShape: c.inputShape ?? inputShape } : c)));
    return new Sequential({ layers: chain, name: config.name, seed });
  }
  const byName = new Map();
  for (const { className, config: layerConfig, inbound = [] } of config.layers) {
    if (byName.has(layerConfig.name)) throw new CnnError(`loadModel: two layers are named '${layerConfig.name}'`);
    if (className === 'InputLayer') {
      const t = inputFn(layerConfig);
      byName.set(layerConfig.name, { layer: t.sourceLayer, outputs: [t] });
      continue;
    }
    const { inputShape, ...rest } = layerConfig;
    const layer = make(classOf(className), rest);
    if (inbound.length === 0) throw new CnnError(`loadModel: layer ${layerConfig.name} reads no input`);
    const ins = inbound.map(([name, index]) => {
      const src = byName.get(name);
      if (!src) throw new CnnError(`loadModel: layer ${layerConfig.name} reads unknown layer '${name}'`);
      if (index >= src.outputs.length) throw new CnnError(`loadModel: layer ${layerConfig.name} reads output ${index} of '${name}', which has ${src.outputs.length}`);
      return src.outputs[index];
    });
    const out = layer.apply(ins.length === 1 ? ins[0] : ins);
    byName.set(layer.name, { layer, outputs: Array.isArray(out) ? out : [out] });
  }
  const pick = ([name, index]) => {
    const src = byName.get(name);
    if (!src || index >= src.outputs.length) throw new CnnError(`loadModel: unknown model input/output '${name}' (output ${index})`);
    return src.outputs[index];
  };
  return new Model({ inputs: config.inputs.map(pick), outputs: config.outputs.map(pick), name: config.name, seed });
}
