// model.summary(): the Keras-style table of layers, output shapes, parameters and multiply-adds, then lint warnings.
import { lint } from '../train/lint.js';

/** The summary's lines for a built model; `trainable` = its trainable parameter count. */
export function summaryLines(model, trainable) {
  const rows = [['Layer (type)', 'Output shape', 'Param #', 'MACs']];
  let macs = 0;
  for (const layer of model.graphLayers) {
    const shape = layer.outputs.map((t) => `[${t.shape.map((d) => d ?? 'null')}]`).join(' ');
    macs += layer.macs();
    rows.push([`${layer.name} (${layer.className})`, shape, String(layer.countParams()), String(layer.macs())]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)) + 2);
  const line = (r) => r.map((cell, c) => cell.padEnd(widths[c])).join('');
  const total = model.countParams();
  const rule = '_'.repeat(widths.reduce((a, b) => a + b, 0));
  const out = [rule, line(rows[0]), '='.repeat(rule.length)];
  for (const r of rows.slice(1)) out.push(line(r));
  out.push('='.repeat(rule.length), `Total params: ${total}`, `Trainable params: ${trainable}`,
    `Non-trainable params: ${total - trainable}`, `Multiply-adds per sample: ${macs}`);
  // Zoo builders record the defaults they chose from the input size (e.g. FCN depth 3 for 64x64 inputs).
  for (const [option, why] of Object.entries(model.chosenDefaults ?? {})) out.push(`Chosen for this input: ${option} (${why})`);
  out.push(rule);
  for (const finding of lint(model)) out.push(`Warning: ${finding.message}`);
  return out;
}
