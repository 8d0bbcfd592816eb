// compile(): the loss, the optimizer, the metrics and the loss options, checked and put in one record.
import { CnnError } from '../core/errors.js';
import { checkOptions, show } from '../core/options.js';
import { parseOptimizer, parseLoss } from '../train/optimizers.js';
import { parseMetrics } from '../train/metrics.js';

const COMPILE_OPTIONS = ['optimizer', 'loss', 'metrics', 'clipNorm', 'classWeights', 'ignoreLabel'];

/** → { loss, optimizer, metrics, classWeights, ignoreLabel, config } for a model with `classes` output classes. */
export function parseCompileConfig(config, classes) {
  checkOptions(config, COMPILE_OPTIONS, 'compile');
  const loss = parseLoss(config.loss);
  const optimizer = parseOptimizer(config.optimizer, config.clipNorm);
  const metrics = parseMetrics(config.metrics, loss);
  const { classWeights, ignoreLabel } = config;
  const sparse = loss === 'sparseCategoricalCrossentropy';
  if ((classWeights !== undefined || ignoreLabel !== undefined) && !sparse) {
    throw new CnnError(`compile: classWeights and ignoreLabel apply to 'sparseCategoricalCrossentropy', not '${loss}'`);
  }
  if (ignoreLabel !== undefined && !Number.isInteger(ignoreLabel)) {
    throw new CnnError(`compile: ignoreLabel must be an integer, got ${show(ignoreLabel)}`);
  }
  let weights = null;
  if (classWeights !== undefined && classWeights !== null) {
    weights = Array.isArray(classWeights) || ArrayBuffer.isView(classWeights) ? Array.from(classWeights) : null;
    if (!weights || weights.length !== classes || weights.some((w) => typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w))) {
      throw new CnnError(`compile: classWeights must be ${classes} finite numbers >= 0 (one per class), got ${show(classWeights)}`);
    }
  }
  return { loss, optimizer, metrics, classWeights: weights, ignoreLabel, config: { ...config } };
}
