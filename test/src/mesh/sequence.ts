// Low-discrepancy draws for routing: each named stream (one per route, one per Service)
// walks a Weyl sequence with the golden ratio, so a 10% weight gets every ~10th request
// rather than a random 10% — traffic splits are exact even over short windows.

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
