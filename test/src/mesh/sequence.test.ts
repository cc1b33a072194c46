import { describe, expect, it } from '@jest/globals';
import { fnv1a32, randomStream, splitMix32, weyl, Xoshiro128 } from './sequence.js';

describe('weyl', () => {
  it('walks the golden-ratio sequence', () => {
    expect(weyl(0)).toBe(0);
    expect(weyl(1)).toBeCloseTo(0.6180339887, 9);
  });
});

describe('Xoshiro128 (xoshiro128**)', () => {
  it('matches the reference implementation (state 1, 2, 3, 4)', () => {
    // From Blackman and Vigna's xoshiro128starstar.c, compiled with gcc.
    const g = Xoshiro128.fromState([1, 2, 3, 4]);
    const first = Array.from({ length: 8 }, () => g.nextUint32());
    expect(first).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849,
    ]);
    for (let i = 8; i < 999; i++) g.nextUint32();
    expect(g.nextUint32()).toBe(3170714187);
  });

  it('refuses the all-zero state', () => {
    expect(() => Xoshiro128.fromState([0, 0, 0, 0])).toThrow('must not be 0');
  });

  it('is reproducible: the same seed gives the same sequence', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    let differing = 0;
    for (let i = 0; i < 10_000; i++) if (a.nextUint32() !== b.nextUint32()) differing++;
    expect(differing).toBe(0);
  });

  it('gives different sequences for different seeds, including neighbours', () => {
    const draw = (seed: number): number[] => {
      const g = new Xoshiro128(seed);
      return Array.from({ length: 100 }, () => g.nextUint32());
    };
    const seeds = [0, 1, 2, 42, 43, 0xffffffff];
    const sequences = seeds.map(draw);
    for (let i = 0; i < seeds.length; i++) {
      for (let j = i + 1; j < seeds.length; j++) {
        const same = sequences[i]?.filter((v, k) => v === sequences[j]?.[k]).length;
        expect(same).toBe(0);
      }
    }
  });

  it('draws uniformly in [0, 1) and (0, 1)', () => {
    const g = new Xoshiro128(7);
    const n = 100_000;
    const bins = new Array<number>(10).fill(0);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = i % 2 === 0 ? g.next() : g.nextOpen();
      if (!(u >= 0 && u < 1) || (i % 2 === 1 && u === 0)) outside++;
      sum += u;
      const bin = Math.floor(u * 10);
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    const chiSquare = bins.reduce((acc, c) => acc + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chiSquare).toBeLessThan(27.88); // 9 degrees of freedom, p = 0.001
  });
});

describe('seeding', () => {
  it('hashes strings stably (FNV-1a reference values)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('expands a seed into distinct words', () => {
    const words = splitMix32(0);
    const four = [words(), words(), words(), words()];
    expect(new Set(four).size).toBe(4);
    expect(four.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
  });

  it('gives each workload and purpose its own stream for one seed', () => {
    const first = (key: string, purpose: string): number[] => {
      const g = randomStream(42, key, purpose);
      return Array.from({ length: 20 }, () => g.nextUint32());
    };
    const canary = first('test/podinfo-canary', 'errors');
    expect(first('test/podinfo-canary', 'errors')).toEqual(canary);
    expect(first('test/podinfo', 'errors')).not.toEqual(canary);
    expect(first('test/podinfo-canary', 'latency')).not.toEqual(canary);
  });
});
