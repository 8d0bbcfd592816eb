// Timing helpers for tests/bench/bench.js and tests/bench/bench-models.js: warm-up, calibrated samples, and interleaved
// rounds so that the libraries measured side by side see the same machine noise (this machine is shared; absolute
// times drift by 10-30%); and the small helpers both use: test data, output comparisons, number formats, tables.

/** Median of a numeric array (NaN for an empty one). */
export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Quantile q in [0, 1] with linear interpolation. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Summary of per-call times in ms: median, quartiles, relative half-IQR, sample count, calls. */
export function summarize(samples, calls) {
  const med = median(samples);
  const q1 = quantile(samples, 0.25);
  const q3 = quantile(samples, 0.75);
  return { medianMs: med, q1Ms: q1, q3Ms: q3, spread: med > 0 ? (q3 - q1) / 2 / med : 0, samples: samples.length, calls };
}


/**
 * Runs `fn` until at least `minMs` have passed and at least `minCalls` calls were made; returns the median time of the
 * calls in the second half of the warm-up (ms per call), used to size the samples.
 */
export async function warmUp(fn, { minMs = 200, minCalls = 3, maxCalls = 100000 } = {}) {
  const times = [];
  const t0 = performance.now();
  while ((times.length < minCalls || performance.now() - t0 < minMs) && times.length < maxCalls) {
    const t = performance.now();
    const r = fn();
    if (r?.then) await r; // ONNX Runtime's session.run is async; synchronous calls pay no microtask hop
    times.push(performance.now() - t);
  }
  return median(times.slice(times.length >> 1));
}

/** CPU time of this process (user + system) in ms: getrusage, which does not count time spent descheduled. */
export function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Times functions side by side. After a warm-up, the functions take turns, one sample each, until each has had
 * `budgetMs` (wall clock) of samples: a sample is `k` back-to-back calls (k sized so that a sample lasts about
 * `sampleMs`), recorded as ms per call, both as process CPU time and as wall-clock time. Taking turns sample by sample
 * means that all functions see the same machine load; CPU time leaves out the time the process waits while other
 * processes run (on a shared, loaded machine, wall-clock samples of a few ms are often inflated by a whole scheduler
 * time slice). A function may return a promise (ONNX Runtime Web's session.run is async): it is awaited, call by
 * call; a synchronous function runs without any await. Resolves to one { cpu, wall } pair of summaries per function,
 * plus `pairedRatio(i, j)`: the median over turns of cpu time_i / cpu time_j.
 */
export async function compare(fns, { budgetMs, sampleMs = 4, warmMs = 200 }) {
  const est = [];
  for (const fn of fns) est.push(await warmUp(fn, { minMs: warmMs }));
  const k = est.map((t) => Math.max(1, Math.round(sampleMs / Math.max(t, 1e-4))));
  const cpu = fns.map(() => []);
  const wall = fns.map(() => []);
  const calls = fns.map(() => 0);
  const spent = fns.map(() => 0);
  for (let turn = 0; spent.some((ms) => ms < budgetMs) || turn < 5; turn++) {
    for (let o = 0; o < fns.length; o++) {
      const i = (o + turn) % fns.length;
      const fn = fns[i];
      const c = cpuMs();
      const t = performance.now();
      for (let j = 0; j < k[i]; j++) {
        const r = fn();
        if (r?.then) await r;
      }
      const ms = performance.now() - t;
      const cms = cpuMs() - c;
      wall[i].push(ms / k[i]);
      cpu[i].push(cms / k[i]);
      calls[i] += k[i];
      spent[i] += ms;
    }
  }
  const out = fns.map((_, i) => ({ cpu: summarize(cpu[i], calls[i]), wall: summarize(wall[i], calls[i]) }));
  out.pairedRatio = (i, j) => median(cpu[i].map((t, n) => t / cpu[j][n]));
  return out;
}

/**
 * compare() of named functions: `fns` is { key: fn } (falsy entries are left out); resolves to { key: result } and
 * pairedRatio(keyA, keyB).
 */
export async function compareNamed(fns, cfg) {
  const keys = Object.keys(fns).filter((k) => fns[k]);
  const res = await compare(keys.map((k) => fns[k]), cfg);
  const out = Object.fromEntries(keys.map((k, i) => [k, res[i]]));
  out.pairedRatio = (a, b) => res.pairedRatio(keys.indexOf(a), keys.indexOf(b));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Test data, comparisons and formatting

/** Deterministic uniform values in [-scale, scale) (mulberry32). */
export function randomArray(n, seed, scale = 1) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
export const fmtNum = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
export const fmtRatio = (r) => (Number.isFinite(r) ? `${r >= 100 ? r.toFixed(0) : r.toFixed(2)}x` : '-');
export const fmtSpread = (s) => `±${Math.round(s * 100)}%`;

export function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const cell = (v, i) => (align[i] === 'l' ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]));
  const line = (r) => `| ${r.map(cell).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (align[i] === 'l' ? ':' : '-') + '-'.repeat(w) + (align[i] === 'l' ? '-' : ':')).join('|')}|`;
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

/** One library's figures: CPU-time summary (the headline), plus the wall-clock median and spread. */
export function timed(s, extra = {}) {
  if (!s) return null;
  return { ...s.cpu, wallMedianMs: s.wall.medianMs, wallSpread: s.wall.spread, ...extra };
}
