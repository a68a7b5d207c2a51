/** Seeded, serialisable pseudo-random numbers (xoshiro128**), so every random choice in a run can be replayed. */

/** The complete state of an {@link Rng}: four 32-bit words, plus a cached normal deviate. */
export interface RngState {
  readonly s: readonly [number, number, number, number];
  readonly spareNormal: number | null;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes a seed with any number of integers (stream ids, indices) into a new 32-bit seed. */
export function deriveSeed(seed: number, ...parts: readonly number[]): number {
  let h = (seed >>> 0) ^ 0x2545f491;
  for (const p of parts) {
    const next = splitmix32((h ^ Math.imul(p >>> 0, 0x27d4eb2f)) >>> 0);
    h = next();
  }
  return h >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  private constructor(s: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = s;
  }

  static fromSeed(seed: number): Rng {
    const next = splitmix32(seed);
    const s: [number, number, number, number] = [next(), next(), next(), next()];
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    return new Rng(s);
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(state.s);
    rng.spare = state.spareNormal;
    return rng;
  }

  state(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spare };
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  bool(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal deviate (Box–Muller, the second value cached). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills a new Float32Array with standard normal deviates. */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
