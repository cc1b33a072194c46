// Draws for routing and faults.
// - Routing: each named stream (one per route, one per Service) walks a Weyl sequence with
//   the golden ratio, so a 10% weight gets every ~10th request rather than a random 10%:
//   traffic splits are exact even over short windows.
// - Random faults: xoshiro128** (Blackman and Vigna), seeded through SplitMix32, one stream
//   per workload and purpose. Same seed and same request order give the same outcomes.

const GOLDEN_32 = 0x9e3779b9;
const TWO_32 = 4294967296;

/** The n-th element of the golden-ratio Weyl sequence, in [0, 1). */
export function weyl(n: number): number {
  return (Math.imul(n, GOLDEN_32) >>> 0) / TWO_32;
}

export class Sequencer {
  private readonly counters = new Map<string, number>();

  /** Next number in [0, 1) for this stream. */
  next(stream: string): number {
    const n = this.counters.get(stream) ?? 0;
    this.counters.set(stream, (n + 1) >>> 0);
    return weyl(n);
  }
}

/** Per-key request counters (fault selection). */
export class Counters {
  private readonly values = new Map<string, number>();

  /** Returns the current count for key and increments it. */
  take(key: string): number {
    const n = this.values.get(key) ?? 0;
    this.values.set(key, n + 1);
    return n;
  }
}

/** FNV-1a, 32-bit: a stable hash of a string. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** SplitMix32: a Weyl sequence through a 32-bit finaliser; expands one seed into many words. */
export function splitMix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + GOLDEN_32) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128** 1.1: 128-bit state, period 2^128 − 1, 32-bit outputs. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator whose state is expanded from a 32-bit seed with SplitMix32. */
  constructor(seed: number) {
    const words = splitMix32(seed);
    this.s0 = words();
    this.s1 = words();
    this.s2 = words();
    this.s3 = words();
    // SplitMix32 is a bijection of distinct Weyl steps: at most one word can be 0.
  }

  /** A generator with this exact state (reference vectors); not all zero. */
  static fromState(state: readonly [number, number, number, number]): Xoshiro128 {
    if (state.every((w) => w >>> 0 === 0)) throw new Error('xoshiro128** state must not be 0');
    const g = new Xoshiro128(0);
    g.s0 = state[0] | 0;
    g.s1 = state[1] | 0;
    g.s2 = state[2] | 0;
    g.s3 = state[3] | 0;
    return g;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32-bit resolution. */
  next(): number {
    return this.nextUint32() / TWO_32;
  }

  /** Uniform in the open interval (0, 1), for inverse-CDF sampling. */
  nextOpen(): number {
    return (this.nextUint32() + 0.5) / TWO_32;
  }
}

/**
 * The random stream `purpose` (e.g. `errors`, `latency`) of workload `key` (`ns/name`)
 * for `seed`: workloads sharing a seed still get independent streams.
 */
export function randomStream(seed: number, key: string, purpose: string): Xoshiro128 {
  return new Xoshiro128((seed ^ fnv1a32(`${key}#${purpose}`)) >>> 0);
}
