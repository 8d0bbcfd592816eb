// Optimizers (cnn.train.*) and loss names, with tfjs's names and defaults. The update rules run in C (optim.c).
import { CnnError } from './engine.js';

export const LOSSES = { sparseCategoricalCrossentropy: 0, categoricalCrossentropy: 1, meanSquaredError: 2 };
const LOSS_ALIASES = { mse: 'meanSquaredError', MSE: 'meanSquaredError', meanSquaredError: 'meanSquaredError',
  sparseCategoricalCrossentropy: 'sparseCategoricalCrossentropy', categoricalCrossentropy: 'categoricalCrossentropy' };
const KINDS = { sgd: 0, momentum: 1, adam: 2 };

function positive(value, what) {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new CnnError(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function extras(options, what) {
  const allowed = ['weightDecay'];
  for (const key of Object.keys(options ?? {})) {
    if (!allowed.includes(key)) throw new CnnError(`${what}: unknown option '${key}'; known options: ${allowed.join(', ')}`);
  }
  const weightDecay = options?.weightDecay ?? 0;
  if (typeof weightDecay !== 'number' || !(weightDecay >= 0)) {
    throw new CnnError(`${what}: weightDecay must be a number >= 0, got ${JSON.stringify(weightDecay)}`);
  }
  return { weightDecay };
}

class Optimizer {
  constructor(kind, fields) { Object.assign(this, { kind: KINDS[kind], name: kind, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0 }, fields); }
  getConfig() {
    const { kind, ...rest } = this;
    return rest;
  }
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

export const train = {
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
  if (value === 'sgd') opt = train.sgd(0.01);
  else if (value === 'adam') opt = train.adam();
  else if (value instanceof Optimizer) opt = value;
  else if (value && typeof value === 'object' && typeof value.name === 'string' && KINDS[value.name] !== undefined) {
    opt = new Optimizer(value.name, value); // from a saved model's getConfig()
  } else {
    throw new CnnError(`compile: optimizer must be 'sgd', 'adam' or one of cnn.train.sgd/momentum/adam(...), got ${JSON.stringify(value)}`);
  }
  if (typeof clipNorm !== 'number' || !(clipNorm >= 0) || !Number.isFinite(clipNorm)) {
    throw new CnnError(`compile: clipNorm must be a number >= 0 (0 = off), got ${JSON.stringify(clipNorm)}`);
  }
  return { ...opt, kind: opt.kind, clipNorm };
}

export function parseLoss(value) {
  const name = LOSS_ALIASES[value];
  if (!name) {
    throw new CnnError(`compile: loss must be one of ${Object.keys(LOSSES).map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return name;
}
