// cnn.lint(model): the cautions of the notes this library teaches from, checked on a model's graph.
//  - 'relu-before-softmax': a ReLU feeding a softmax clips every negative logit to 0, so those classes can never be
//    told apart and their gradients die.
//  - 'relu-before-add': the residual branch must be able to subtract from the identity; a ReLU as its last layer
//    makes the branch's contribution non-negative. (The shortcut input may come from a ReLU: that is the block's
//    input, not the branch.)
// Layers that only move or mask values (flatten, dropout, zero padding) are looked through.

const PASS_THROUGH = new Set(['Flatten', 'Dropout', 'ZeroPadding2D']);

/** The layer whose last operation produced this tensor, looking through pass-through layers. */
function producer(tensor) {
  let layer = tensor.sourceLayer;
  while (PASS_THROUGH.has(layer.className) && layer.inbound?.length === 1) layer = layer.inbound[0].sourceLayer;
  return layer;
}

function endsWithRelu(layer) {
  if (layer.className === 'ReLU') return true;
  return layer.activation === 'relu';
}

function appliesSoftmax(layer) { return layer.className === 'Activation' && layer.activation === 'softmax'; }

/** Layers upstream of a tensor (including its producer). */
function ancestors(tensor, into = new Set()) {
  const stack = [tensor.sourceLayer];
  while (stack.length) {
    const layer = stack.pop();
    if (into.has(layer)) continue;
    into.add(layer);
    for (const t of layer.inbound ?? []) stack.push(t.sourceLayer);
  }
  return into;
}

/** Returns [{ rule, layer, message }] for the model's graph; empty when nothing is wrong. */
export function lint(model) {
  const findings = [];
  for (const layer of model.layers) {
    if (appliesSoftmax(layer)) {
      const src = producer(layer.inbound[0]);
      if (endsWithRelu(src)) {
        findings.push({ rule: 'relu-before-softmax', layer: layer.name, source: src.name,
          message: `${src.name} applies a ReLU directly before the softmax of ${layer.name}: negative logits are ` +
            'clipped to 0 and those classes stop learning; make the layer before the softmax linear' });
      }
    }
    if (layer.className === 'Add') {
      const inputs = layer.inbound;
      inputs.forEach((t, i) => {
        // A shortcut is an input that another input of the same add is computed from.
        const isShortcut = inputs.some((other, j) => j !== i && ancestors(other).has(t.sourceLayer));
        const src = producer(t);
        if (!isShortcut && endsWithRelu(src)) {
          findings.push({ rule: 'relu-before-add', layer: layer.name, source: src.name,
            message: `${src.name} is a ReLU right before the residual addition ${layer.name}: the residual branch ` +
              'can then only add, never subtract; end the branch with a linear layer or batch norm and put the ReLU after the add' });
        }
      });
    }
  }
  return findings;
}
