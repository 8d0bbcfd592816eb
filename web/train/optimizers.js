// Optimizers (cnn.train.*) and loss names, with tfjs's names and defaults. The update rules run in C (optim.c).
import { CnnError } from '../core/errors.js';
import { checkOptions, lookup, show } from '../core/options.js';

const LOSS_NAMES = new Map([['sparseCategoricalCrossentropy', 'sparseCategoricalCrossentropy'],
  ['categoricalCrossentropy', 'categoricalCrossentropy'], ['meanSquaredError', 'meanSquaredError'],
  ['mse', 'meanSquaredError'], ['MSE', 'meanSquaredError']]);
const KINDS = ['sgd', 'momentum', 'adam'];

function positive(value, what) {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new CnnError(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function extras(options, what) {
  checkOptions(options, ['weightDecay'], what);
  const weightDecay = options?.weightDecay ?? 0;
  if (typeof weightDecay !== 'number' || !(weightDecay >= 0)) {
    throw new CnnError(`${what}: weightDecay must be a number >= 0, got ${JSON.stringify(weightDecay)}`);
  }
  return { weightDecay };
}

class Optimizer {
  constructor(kind, fields) { Object.assign(this, { name: kind, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0 }, fields); }
  getConfig() { return { ...this }; }
}

/**
 * A learning-rate schedule for fit({ learningRateSchedule }): linear warm-up to `peak` over the first `warmup`
 * fraction of the steps, then cosine decay to `final` (the "one-cycle" shape that trains well in few epochs).
 */
function oneCycle(peak, { warmup = 0.1, final = 1e-6 } = {}) {
  positive(peak, 'train.oneCycle: peak');
  if (!(warmup >= 0 && warmup < 1)) throw new CnnError(`train.oneCycle: warmup must be in [0, 1), got ${warmup}`);
  return (step, totalSteps) => {
    const warm = Math.max(1, Math.round(warmup * totalSteps));
    if (step < warm && warmup > 0) return peak * (step + 1) / warm;
    const t = Math.min(1, (step - (warmup > 0 ? warm : 0)) / Math.max(1, totalSteps - (warmup > 0 ? warm : 0)));
    return final + (peak - final) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

export const optimizers = {
  oneCycle,
  /** Plain SGD: w -= lr * g. */
  sgd(learningRate, options) {
    return new Optimizer('sgd', { learningRate: positive(learningRate, 'train.sgd: learningRate'), ...extras(options, 'train.sgd') });
  },
  /** tfjs's momentum optimizer: a = m * a + g; w -= lr * a (Nesterov: w -= lr * (g + m * a)). */
  momentum(learningRate, momentum, useNesterov = false, options) {
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) {
      throw new CnnError(`train.momentum: momentum must be a number in [0, 1), got ${JSON.stringify(momentum)}`);
    }
    return new Optimizer('momentum', { learningRate: positive(learningRate, 'train.momentum: learningRate'), momentum,
      nesterov: !!useNesterov, ...extras(options, 'train.momentum') });
  },
  /** Adam with tfjs's defaults (beta1 0.9, beta2 0.999, epsilon 1e-7). */
  adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, options) {
    for (const [v, n] of [[beta1, 'beta1'], [beta2, 'beta2']]) {
      if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new CnnError(`train.adam: ${n} must be in [0, 1), got ${JSON.stringify(v)}`);
    }
    return new Optimizer('adam', { learningRate: positive(learningRate, 'train.adam: learningRate'), beta1, beta2,
      epsilon: positive(epsilon, 'train.adam: epsilon'), ...extras(options, 'train.adam') });
  },
};

/** compile()'s optimizer: an Optimizer from cnn.train, its getConfig(), or 'sgd' / 'adam' (tfjs defaults). */
export function parseOptimizer(value, clipNorm = 0) {
  let opt;
  if (value === 'sgd') opt = optimizers.sgd(0.01);
  else if (value === 'adam') opt = optimizers.adam();
  else if (value instanceof Optimizer) opt = value;
  else if (value && typeof value === 'object' && KINDS.includes(value.name)) {
    opt = fromConfig(value); // from a saved model's getConfig()
  } else {
    throw new CnnError(`compile: optimizer must be 'sgd', 'adam' or one of cnn.train.sgd/momentum/adam(...), got ${JSON.stringify(value)}`);
  }
  if (typeof clipNorm !== 'number' || !(clipNorm >= 0) || !Number.isFinite(clipNorm)) {
    throw new CnnError(`compile: clipNorm must be a number >= 0 (0 = off), got ${JSON.stringify(clipNorm)}`);
  }
  return { ...opt, clipNorm };
}

/** An optimizer from its getConfig() (a saved model's), every field checked as the factories check them. */
function fromConfig(config) {
  const { name, learningRate, momentum = 0, nesterov = false, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7,
    weightDecay = 0, clipNorm, kind, ...rest } = config; // files before version 2 also stored kind
  const unknown = Object.keys(rest);
  if (unknown.length) throw new CnnError(`compile: optimizer config has unknown field '${unknown[0]}'`);
  const options = { weightDecay };
  if (name === 'sgd') return optimizers.sgd(learningRate, options);
  if (name === 'momentum') return optimizers.momentum(learningRate, momentum, !!nesterov, options);
  return optimizers.adam(learningRate, beta1, beta2, epsilon, options);
}

export function parseLoss(value) {
  return lookup(LOSS_NAMES, value, 'compile: loss');
}
