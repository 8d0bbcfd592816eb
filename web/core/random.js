// The one JS random generator: mulberry32, a small well-mixed 32-bit generator, enough for reproducible shuffles,
// augmentation draws, scene generation and test data. Only integer arithmetic: the same sequence in every engine.

export class Rng {
  constructor(seed) { this.state = seed >>> 0; }
  /** Uniform 32-bit unsigned integer. */
  u32() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next() { return this.u32() / 4294967296; }
  /** Uniform in [a, b). */
  range(a, b) { return a + (b - a) * this.next(); }
  /** Uniform integer in [a, b] (inclusive). */
  int(a, b) { return a + Math.floor(this.next() * (b - a + 1)); }
  /** A uniformly random unit vector [x, y] (rejection sampling in the unit disc). */
  direction() {
    for (;;) {
      const x = 2 * this.next() - 1;
      const y = 2 * this.next() - 1;
      const n2 = x * x + y * y;
      if (n2 > 1e-4 && n2 <= 1) { const n = Math.sqrt(n2); return [x / n, y / n]; }
    }
  }
  color() { return [this.next(), this.next(), this.next()]; }
}

/** A function giving uniform numbers in [0, 1) from `seed`. */
export function mulberry32(seed) {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** A 32-bit integer hash (for deriving independent streams from one seed). */
export function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
