// The one options validator: unknown keys (with a "did you mean"), integer and number ranges, and look-ups by name.
// Names select code only through own properties or Maps, so 'constructor' or '__proto__' is never a valid choice.
import { CnnError } from './errors.js';

function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** " (did you mean 'x'?)" for the closest of `choices` within two edits, or ''. */
export function suggest(word, choices) {
  if (typeof word !== 'string') return '';
  let best = null;
  let bestDistance = 3;
  for (const c of choices) {
    const dist = editDistance(word.toLowerCase(), String(c).toLowerCase());
    if (dist < bestDistance) { best = c; bestDistance = dist; }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

/** A value for messages: strings quoted, numbers as written, objects as JSON (never throws). */
export function show(value) {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return `a function`;
  try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
}

/**
 * Checks that `options` is a plain object (undefined counts as {}) whose keys are all in `known`; returns it.
 * @param {string} what prefix of messages, e.g. 'fit' or 'Conv2D'
 */
export function checkOptions(options, known, what) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CnnError(`${what}: options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new CnnError(`${what}: unknown option '${key}'${suggest(key, known)}; known options: ${known.join(', ')}`);
    }
  }
  return options;
}

/** An integer in [min, max]; the message names both limits. */
export function intInRange(value, min, max, what) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CnnError(`${what} must be an integer from ${min} to ${max.toLocaleString('en-US')}, got ${show(value)}`);
  }
  return value;
}

/** A number in [min, max] (finite unless max is Infinity). */
export function numberInRange(value, min, max, what) {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new CnnError(`${what} must be a number in [${min}, ${max}], got ${show(value)}`);
  }
  return value;
}

/**
 * The entry of `table` (a Map, or a plain object read through own properties only) named `value`; throws naming
 * the choices otherwise.
 */
export function lookup(table, value, what) {
  const map = table instanceof Map ? table : null;
  const found = map ? map.has(value) : typeof value === 'string' && Object.hasOwn(table, value);
  if (!found) {
    const names = map ? [...map.keys()] : Object.keys(table);
    throw new CnnError(`${what} must be one of ${names.map((k) => `'${k}'`).join(', ')}, got ${show(value)}` +
      `${suggest(value, names)}`);
  }
  return map ? map.get(value) : table[value];
}
