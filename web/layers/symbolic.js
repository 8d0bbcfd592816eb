// The functional API's graph: SymbolicTensors say which layer produced them and with what per-sample shape.
// model({ inputs, outputs }) walks them back into a topological order of layers.
import { CnnError } from '../core/errors.js';

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

/**
 * Layers reachable backwards from `outputs`, in tfjs's order (Container's layer sorting): by depth — the longest
 * path to an output — deepest (the inputs) first, ties broken by the order a depth-first walk from the outputs
 * first meets them. This is a topological order, and it makes getWeights() line up with a tfjs model of the same
 * graph, branches included.
 */
export function topologicalLayers(inputs, outputs) {
  const firstSeen = new Map();   // layer -> index of first visit (pre-order)
  const postOrder = [];
  const state = new Map();       // layer -> 'visiting' | 'done'
  const visit = (layer) => {
    if (state.get(layer) === 'visiting') throw new CnnError(`model: the graph has a cycle through ${layer.name}`);
    if (state.get(layer) === 'done') return;
    if (!layer.inbound) throw new CnnError(`model: layer ${layer.name} was never applied`);
    if (!firstSeen.has(layer)) firstSeen.set(layer, firstSeen.size);
    state.set(layer, 'visiting');
    for (const t of layer.inbound) visit(t.sourceLayer);
    state.set(layer, 'done');
    postOrder.push(layer);
  };
  for (const t of outputs) visit(t.sourceLayer);
  const depth = new Map(postOrder.map((layer) => [layer, 0]));
  for (const layer of postOrder.slice().reverse()) {
    const d = depth.get(layer) ?? 0;
    for (const t of layer.inbound) depth.set(t.sourceLayer, Math.max(depth.get(t.sourceLayer) ?? 0, d + 1));
  }
  const order = postOrder.slice().sort((a, b) => (depth.get(b) - depth.get(a)) || (firstSeen.get(a) - firstSeen.get(b)));
  const inputLayers = new Set(inputs.map((t) => t.sourceLayer));
  for (const layer of order) {
    if (layer.className === 'InputLayer' && !inputLayers.has(layer)) {
      throw new CnnError(`model: the outputs depend on input ${layer.name}, which is not among the model's inputs`);
    }
  }
  return order;
}
