// Metrics of fit / evaluate: accuracy (per sample, or per pixel for segmentation outputs), pixelAccuracy (the
// same count, named for segmentation) and meanIoU (intersection over union per class, averaged over the classes
// that occur in the labels or the predictions, as Keras's MeanIoU). The engine counts; this adds the counts up.
import { CnnError } from '../core/errors.js';
import { show } from '../core/options.js';

export const METRIC_NAMES = new Map([['accuracy', 'acc'], ['acc', 'acc'], ['pixelAccuracy', 'pixelAccuracy'],
  ['meanIoU', 'meanIoU']]);

/** compile()'s metrics → canonical names (logs keys), in the order given. */
export function parseMetrics(metrics, loss) {
  const list = metrics === undefined ? [] : Array.isArray(metrics) ? metrics : [metrics];
  const names = list.map((m) => {
    const name = METRIC_NAMES.get(m);
    if (!name) {
      throw new CnnError(`compile: unknown metric ${show(m)}; supported: ${[...METRIC_NAMES.keys()].map((k) => `'${k}'`).join(', ')}`);
    }
    if (name === 'meanIoU' && loss === 'meanSquaredError') {
      throw new CnnError("compile: metric 'meanIoU' needs a cross-entropy loss (class predictions)");
    }
    return name;
  });
  return [...new Set(names)];
}

export class MetricCounts {
  constructor(names, classes) {
    this.names = names;
    this.classes = classes;
    this.wantsIoU = names.includes('meanIoU');
    this.reset();
  }

  reset() {
    this.correct = 0;
    this.counted = 0;
    this.lossSum = 0;
    this.lossWeight = 0;
    this.perClass = this.wantsIoU ? new Float64Array(3 * this.classes) : null;
  }

  /** Adds one batch: the engine's stats ({ loss, correct, counted }) and, for meanIoU, its per-class counts. */
  add({ loss, correct, counted }, samples, classCounts) {
    this.lossSum += loss * samples;
    this.lossWeight += samples;
    this.correct += correct;
    this.counted += counted;
    if (this.wantsIoU) for (let i = 0; i < this.perClass.length; i++) this.perClass[i] += classCounts[i];
  }

  /** Adds another accumulator's counts (a batch into its epoch). */
  merge(other) {
    this.lossSum += other.lossSum;
    this.lossWeight += other.lossWeight;
    this.correct += other.correct;
    this.counted += other.counted;
    if (this.perClass) for (let i = 0; i < this.perClass.length; i++) this.perClass[i] += other.perClass[i];
  }

  get loss() { return this.lossWeight ? this.lossSum / this.lossWeight : 0; }

  meanIoU() {
    const c = this.classes;
    let sum = 0;
    let present = 0;
    for (let k = 0; k < c; k++) {
      const tp = this.perClass[k];
      const union = this.perClass[c + k] + this.perClass[2 * c + k] - tp;
      if (union > 0) { sum += tp / union; present++; }
    }
    return present ? sum / present : 0;
  }

  /** { acc?, pixelAccuracy?, meanIoU? } for the metrics asked for. */
  values() {
    const out = {};
    const accuracy = this.counted ? this.correct / this.counted : 0;
    for (const name of this.names) out[name] = name === 'meanIoU' ? this.meanIoU() : accuracy;
    return out;
  }
}
