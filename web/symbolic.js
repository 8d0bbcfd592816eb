// The functional API's graph: SymbolicTensors say which layer produced them and with what per-sample shape.
// model({ inputs, outputs }) walks them back into a topological order of layers.
import { CnnError } from './engine.js';

export class SymbolicTensor {
  constructor(layer, shape, outputIndex = 0) {
    this.sourceLayer = layer;
    this.shape = [null, ...shape]; // tfjs style: batch dimension first, unknown
    this.sampleShape = shape;
    this.outputIndex = outputIndex;
    this.name = outputIndex ? `${layer.name}/out${outputIndex}` : layer.name;
  }
  toString() { return `SymbolicTensor(${this.name}, [${this.shape.map((d) => d ?? 'null')}])`; }
}

export function inputTensor(layer) {
  layer.inbound = [];
  layer.outputShape = layer.shape;
  const t = new SymbolicTensor(layer, layer.shape);
  layer.outputs = [t];
  return t;
}

export function applyLayer(layer, inputs) {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length === 0 || list.some((t) => !(t instanceof SymbolicTensor))) {
    throw new CnnError(`${layer.name}: apply() takes the output of cnn.input() or of another layer's apply(); ` +
      'to run a model on data, build it with cnn.model() or cnn.sequential() and call predict()');
  }
  if (layer.inbound) {
    throw new CnnError(`${layer.name}: this layer is already applied; sharing a layer between two places is not ` +
      'supported, create a second layer');
  }
  const shapes = list.map((t) => t.sampleShape);
  const out = layer.computeOutputShape(shapes);
  layer.inbound = list;
  const outShapes = layer.multipleOutputs ? out : [out];
  layer.outputShape = out;
  layer.outputs = outShapes.map((s, i) => new SymbolicTensor(layer, s, i));
  return layer.multipleOutputs ? layer.outputs : layer.outputs[0];
}

/** Layers reachable backwards from `outputs`, inputs first, each after everything it reads (depth-first order). */
export function topologicalLayers(inputs, outputs) {
  const order = [];
  const state = new Map(); // layer -> 'visiting' | 'done'
  const visit = (layer) => {
    if (state.get(layer) === 'done') return;
    if (state.get(layer) === 'visiting') throw new CnnError(`model: the graph has a cycle through ${layer.name}`);
    state.set(layer, 'visiting');
    if (!layer.inbound) throw new CnnError(`model: layer ${layer.name} was never applied`);
    for (const t of layer.inbound) visit(t.sourceLayer);
    state.set(layer, 'done');
    order.push(layer);
  };
  for (const t of outputs) visit(t.sourceLayer);
  const inputLayers = new Set(inputs.map((t) => t.sourceLayer));
  for (const layer of order) {
    if (layer.className === 'InputLayer' && !inputLayers.has(layer)) {
      throw new CnnError(`model: the outputs depend on input ${layer.name}, which is not among the model's inputs`);
    }
  }
  return order;
}
