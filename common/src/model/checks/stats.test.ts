import { describe, expect, it } from '@jest/globals';
import {
  binomialTailAtLeast,
  judge,
  normalQuantile,
  regularizedBeta,
  sequentialTest,
  wilson,
} from './stats.js';

/** P(X ≥ k) by summing the binomial distribution directly (small n only). */
function tailBySum(n: number, k: number, p: number): number {
  let sum = 0;
  let term = (1 - p) ** n; // P(X = 0)
  for (let i = 0; i <= n; i++) {
    if (i >= k) sum += term;
    term = (term * (n - i) * p) / ((i + 1) * (1 - p));
  }
  return sum;
}

describe('binomialTailAtLeast', () => {
  it.each([
    [6, 1, 0.01],
    [6, 2, 0.01],
    [100, 3, 0.01],
    [200, 6, 0.005],
    [720, 18, 0.01],
    [50, 25, 0.3],
    [10, 10, 0.5],
  ])('P(X ≥ k) for n=%d, k=%d, p=%d matches the direct sum', (n, k, p) => {
    const want = tailBySum(n, k, p);
    expect(Math.abs(binomialTailAtLeast(n, k, p) - want)).toBeLessThan(1e-9 + want * 1e-7);
  });

  it('is 1 for k ≤ 0 and 0 for k > n', () => {
    expect(binomialTailAtLeast(10, 0, 0.1)).toBe(1);
    expect(binomialTailAtLeast(10, 11, 0.1)).toBe(0);
  });

  it('stays accurate for large n', () => {
    // Normal approximation: mean 100, sd ≈ 9.95; 130 is 3σ above.
    const p = binomialTailAtLeast(10_000, 130, 0.01);
    expect(p).toBeGreaterThan(0.001);
    expect(p).toBeLessThan(0.004);
  });
});

describe('regularizedBeta', () => {
  it('is symmetric: I_x(a, b) = 1 − I_{1−x}(b, a)', () => {
    for (const [x, a, b] of [
      [0.2, 2, 5],
      [0.9, 7, 3],
      [0.5, 10, 10],
    ] as const) {
      expect(regularizedBeta(x, a, b) + regularizedBeta(1 - x, b, a)).toBeCloseTo(1, 10);
    }
  });
});

describe('normalQuantile', () => {
  it.each([
    [0.5, 0],
    [0.8, 0.8416],
    [0.95, 1.6449],
    [0.99, 2.3263],
    [0.999, 3.0902],
    [0.05, -1.6449],
  ])('quantile(%d) = %d', (p, z) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 3);
  });
});

describe('wilson', () => {
  it('brackets the observed fraction and narrows with more requests', () => {
    const small = wilson({ total: 20, bad: 2 }, 1.96);
    const large = wilson({ total: 2000, bad: 200 }, 1.96);
    expect(small.lower).toBeLessThan(0.1);
    expect(small.upper).toBeGreaterThan(0.1);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
  });

  it('is [0, 1] without requests', () => {
    expect(wilson({ total: 0, bad: 0 }, 2)).toEqual({ lower: 0, upper: 1 });
  });
});

describe('judge', () => {
  const policy = { bound: 0.01, failAlpha: 0.001, passConfidence: 0.8 };

  it('does not call one error in six requests worse than a 1% bound', () => {
    const j = judge({ total: 6, bad: 1 }, policy);
    expect(j.worse).toBe(false);
    expect(j.better).toBe(false);
    expect(j.needed).toBeGreaterThan(100);
  });

  it('calls all-failing requests worse at once, even a few', () => {
    expect(judge({ total: 5, bad: 5 }, policy).worse).toBe(true);
  });

  it("halts the seed's demo: 12% errors among 720 requests", () => {
    const j = judge({ total: 720, bad: 85 }, policy);
    expect(j.worse).toBe(true);
    expect(j.pValue).toBeLessThan(1e-20);
  });

  it('lets a healthy canary pass once enough requests are seen, and says how many are missing', () => {
    const early = judge({ total: 50, bad: 0 }, policy);
    expect(early.better).toBe(false);
    const later = judge({ total: 50 + early.needed, bad: 0 }, policy);
    expect(later.better).toBe(true);
    expect(judge({ total: 50 + early.needed - 1, bad: 0 }, policy).better).toBe(false);
  });

  it('never calls a canary better while its observed fraction is above the bound', () => {
    const j = judge({ total: 100_000, bad: 2000 }, policy);
    expect(j.better).toBe(false);
    expect(j.worse).toBe(true);
  });

  it('rounds the counts Prometheus extrapolates (increase() is not an integer)', () => {
    expect(judge({ total: 5.4, bad: 4.6 }, policy)).toEqual(judge({ total: 5, bad: 5 }, policy));
  });

  it('with a bound of zero (threshold 100%), passes any requests without a bad one, fails on one', () => {
    const strict = { ...policy, bound: 0 };
    expect(judge({ total: 1, bad: 0 }, strict)).toMatchObject({ better: true, worse: false });
    expect(judge({ total: 0, bad: 0 }, strict)).toMatchObject({ better: false, worse: false });
    expect(judge({ total: 1000, bad: 1 }, strict)).toMatchObject({ better: false, worse: true });
  });

  it('judges a pass against a looser passBound, and a failure against the bound', () => {
    const step = { ...policy, passBound: 0.05 };
    expect(judge({ total: 20, bad: 0 }, step).better).toBe(true);
    expect(judge({ total: 20, bad: 0 }, policy).better).toBe(false);
    expect(judge({ total: 10, bad: 3 }, step)).toMatchObject({ better: false, worse: true });
  });
});

describe('sequentialTest (the promotion)', () => {
  const ALPHA = 1e-4;

  it('needs 607 requests without an error at bound 1%, and about 91 more per error', () => {
    expect(sequentialTest({ total: 606, bad: 0 }, 0.01, ALPHA)).toMatchObject({
      pass: false,
      needed: 1,
    });
    expect(sequentialTest({ total: 607, bad: 0 }, 0.01, ALPHA).pass).toBe(true);
    const one = sequentialTest({ total: 607, bad: 1 }, 0.01, ALPHA);
    expect(one.pass).toBe(false);
    expect(one.needed).toBeGreaterThanOrEqual(91);
    expect(one.needed).toBeLessThanOrEqual(93);
    expect(sequentialTest({ total: 607 + one.needed, bad: 1 }, 0.01, ALPHA).pass).toBe(true);
  });

  it('lets a canary at twice the bound pass with probability at most alpha, looked at after every request', () => {
    // Exact: the probability mass over (requests, errors) that has not crossed yet.
    const p = 0.02;
    let alive = new Float64Array(2);
    alive[0] = 1;
    let crossed = 0;
    for (let n = 1; n <= 4000; n++) {
      const next = new Float64Array(n + 2);
      for (let k = 0; k < n; k++) {
        const m = alive[k] ?? 0;
        if (m === 0) continue;
        next[k] = (next[k] ?? 0) + m * (1 - p);
        next[k + 1] = (next[k + 1] ?? 0) + m * p;
      }
      for (let k = 0; k <= n; k++) {
        const m = next[k] ?? 0;
        if (m > 0 && sequentialTest({ total: n, bad: k }, 0.01, ALPHA).pass) {
          crossed += m;
          next[k] = 0;
        }
      }
      alive = next;
    }
    expect(crossed).toBeLessThanOrEqual(ALPHA);
    expect(crossed).toBeGreaterThan(ALPHA / 3);
  });

  it('never passes while the observed fraction is at twice the bound', () => {
    expect(sequentialTest({ total: 100_000, bad: 2000 }, 0.01, ALPHA).pass).toBe(false);
  });

  it('with a bound of zero passes any requests without a bad one; with a bound of one, any requests', () => {
    expect(sequentialTest({ total: 1, bad: 0 }, 0, ALPHA).pass).toBe(true);
    expect(sequentialTest({ total: 1000, bad: 1 }, 0, ALPHA).pass).toBe(false);
    expect(sequentialTest({ total: 0, bad: 0 }, 0, ALPHA)).toMatchObject({
      pass: false,
      needed: 1,
    });
    expect(sequentialTest({ total: 3, bad: 3 }, 1, ALPHA).pass).toBe(true);
  });
});
