// Checking what fit / evaluate / predict are given, before anything reaches the engine, and turning an engine
// status about a batch into a message that names the sample.
import { CnnError } from '../core/errors.js';
import { Tensor, shapeSize, describe } from '../core/tensor.js';
import { check } from '../engine/loader.js';
import { STATUS, LIMITS } from '../engine/abi.js';

export function checkBatchSize(batchSize, what) {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.maxBatch) {
    throw new CnnError(`${what}: batchSize must be an integer from 1 to ${LIMITS.maxBatch}, got ${batchSize}`);
  }
}

export function checkSeed(seed, what) {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CnnError(`${what}: seed must be an integer in [0, 2^32), got ${seed}`);
  return seed;
}

/** x for a model with per-sample input shape `expected`: returns the number of samples. */
export function checkX(x, expected, inputName, what) {
  if (!(x instanceof Tensor)) throw new CnnError(`${what}: x must be a Tensor, got ${describe(x)}`);
  const ok = x.rank === expected.length + 1 && expected.every((d, i) => x.shape[i + 1] === d);
  if (!ok) {
    throw new CnnError(`${what}: expected input of shape [null,${expected}], got [${x.shape}] (layer ${inputName})`);
  }
  if (x.dtype !== 'float32') throw new CnnError(`${what}: x must be float32, got ${x.dtype}`);
  x.values(); // throws if disposed; NaN / Infinity are caught by the engine, batch by batch, at wasm speed
  return x.shape[0];
}

/**
 * Labels for the compiled loss and an output of per-sample shape `out`; returns the number of label values per
 * sample. Sparse labels must be class indices (or the ignore label); other targets finite numbers.
 */
export function checkY(y, n, out, { loss, ignoreLabel }, what) {
  if (!(y instanceof Tensor)) throw new CnnError(`${what}: y must be a Tensor, got ${describe(y)}`);
  const classes = out[out.length - 1];
  if (y.shape[0] !== n) throw new CnnError(`${what}: x has ${n} samples but y has ${y.shape[0]}`);
  if (loss === 'sparseCategoricalCrossentropy') {
    const rows = out.slice(0, -1);
    const expected = [n, ...rows];
    const got = y.shape[y.rank - 1] === 1 && y.rank === expected.length + 1 ? y.shape.slice(0, -1) : y.shape;
    if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
      throw new CnnError(`${what}: sparse labels for output [null,${out}] must have shape [${expected}], got [${y.shape}]`);
    }
    const values = y.values();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(Number.isInteger(v) && v >= 0 && v < classes) && v !== ignoreLabel) {
        throw new CnnError(`${what}: label ${i} is ${v}, expected an integer from 0 to ${classes - 1}` +
          ` (the output has ${classes} classes)`);
      }
    }
    return shapeSize(rows);
  }
  if (y.rank !== out.length + 1 || out.some((d, i) => y.shape[i + 1] !== d)) {
    throw new CnnError(`${what}: targets for output [null,${out}] must have shape [${n},${out}], got [${y.shape}]`);
  }
  const values = y.values();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new CnnError(`${what}: target value ${i} is ${values[i]}; targets must be finite`);
  }
  return shapeSize(out);
}

/**
 * Checks an engine status for a batch of x (samples `indices[start..start+count)` or `start..`): a non-finite
 * input is reported with its sample number in x.
 */
export function checkBatchStatus(status, what, x, sampleSize, { indices = null, start, count }) {
  if (Math.abs(status) !== STATUS.NON_FINITE) return check(status, { prefix: what });
  const xs = x.values();
  for (let i = 0; i < count; i++) {
    const s = indices ? indices[start + i] : start + i;
    for (let j = 0; j < sampleSize; j++) {
      const v = xs[s * sampleSize + j];
      if (!Number.isFinite(v)) {
        throw new CnnError(`${what}: input sample ${s} has ${v} at value ${j} (of ${sampleSize}); inputs must be finite`, STATUS.NON_FINITE);
      }
    }
  }
  try {
    return check(status, { prefix: what });
  } catch (err) {
    // The engine numbers samples within the batch; name the sample of x it came from.
    err.message = err.message.replace(/\bsample (\d+)/, (_, k) => `sample ${indices ? indices[start + Number(k)] : start + Number(k)}`);
    throw err;
  }
}
