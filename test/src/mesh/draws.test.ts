import { describe, expect, it } from '@jest/globals';
import { FaultDraws } from './draws.js';
import { shouldFail } from './faults.js';
import type { FaultProfile } from './model.js';

const KEY = 'test/podinfo-canary';
const N = 100_000;

function randomProfile(errorRatio: number, seed: number): FaultProfile {
  return { errorRatio, errorCode: 500, latencyMs: 0, errorMode: 'random', seed };
}

function outcomes(
  profile: FaultProfile,
  n: number,
  draws = new FaultDraws(),
  origin = 'annotations',
): boolean[] {
  return Array.from({ length: n }, () => draws.next(KEY, profile, origin).fail);
}

/** Requests between consecutive failures (1 = back to back). */
function gaps(fails: readonly boolean[]): number[] {
  const out: number[] = [];
  let last = -1;
  fails.forEach((f, i) => {
    if (!f) return;
    if (last >= 0) out.push(i - last);
    last = i;
  });
  return out;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

describe('FaultDraws, even mode (the default)', () => {
  it('keeps the evenly spaced selection without errorMode, and without the seed mattering', () => {
    const even: FaultProfile = { errorRatio: 0.3, errorCode: 500, latencyMs: 0, seed: 9 };
    const expected = Array.from({ length: 1000 }, (_, n) => shouldFail(n, 0.3));
    expect(outcomes(even, 1000)).toEqual(expected);
    expect(outcomes({ ...even, errorMode: 'even' }, 1000)).toEqual(expected);
    expect(new Set(gaps(expected))).toEqual(new Set([3, 4]));
  });

  it('adds fixed latency and samples nothing', () => {
    const draw = new FaultDraws().next(KEY, { errorRatio: 0, errorCode: 500, latencyMs: 75 }, 'a');
    expect(draw).toEqual({ fail: false, latencyMs: 75, sampledMs: 0 });
  });
});

describe('FaultDraws, random mode', () => {
  it('is reproducible: the same seed and request order give the same outcomes', () => {
    const profile = randomProfile(0.2, 42);
    expect(outcomes(profile, 5000)).toEqual(outcomes(profile, 5000));
  });

  it('differs between seeds and between workloads sharing a seed', () => {
    const a = outcomes(randomProfile(0.2, 42), 2000);
    const b = outcomes(randomProfile(0.2, 43), 2000);
    expect(a).not.toEqual(b);
    const draws = new FaultDraws();
    const other = Array.from(
      { length: 2000 },
      () => draws.next('test/podinfo', randomProfile(0.2, 42), 'annotations').fail,
    );
    expect(other).not.toEqual(a);
  });

  it('restarts the streams when the seed or the origin changes, not otherwise', () => {
    const profile = randomProfile(0.5, 1);
    const first = outcomes(profile, 64);
    const draws = new FaultDraws();
    expect(outcomes(profile, 64, draws, 'override#1')).toEqual(first);
    expect(outcomes(profile, 64, draws, 'override#1')).not.toEqual(first); // continues
    expect(outcomes(profile, 64, draws, 'override#2')).toEqual(first); // a new PUT restarts
    expect(outcomes(randomProfile(0.5, 2), 64, draws, 'override#2')).not.toEqual(first);
    expect(outcomes(profile, 64, draws, 'override#2')).toEqual(first); // seed back: restart
  });

  it('does not change which requests fail when latency is added', () => {
    const plain = randomProfile(0.1, 5);
    const slow: FaultProfile = { ...plain, latency: { p50Ms: 20, p99Ms: 300 } };
    expect(outcomes(slow, 3000)).toEqual(outcomes(plain, 3000));
  });

  it.each([
    [0.005, 1],
    [0.05, 2],
    [0.3, 3],
    [0.5, 4],
  ])('fails %p of 100,000 requests within 4 standard errors (seed %d)', (ratio, seed) => {
    const failed = outcomes(randomProfile(ratio, seed), N).filter(Boolean).length;
    const tolerance = 4 * Math.sqrt((ratio * (1 - ratio)) / N); // 0.0009 at 0.5%
    expect(Math.abs(failed / N - ratio)).toBeLessThanOrEqual(tolerance);
  });

  it('never fails at 0 and always fails at 1', () => {
    expect(outcomes(randomProfile(0, 1), 1000).some(Boolean)).toBe(false);
    expect(outcomes(randomProfile(1, 1), 1000).every(Boolean)).toBe(true);
  });

  it.each([0.05, 0.3])('fails independently at %p: geometric gaps, no memory', (ratio) => {
    const fails = outcomes(randomProfile(ratio, 11), N);
    const g = gaps(fails);
    // Not evenly spaced: the gaps take many values, from back-to-back to long runs.
    expect(new Set(g).size).toBeGreaterThan(20);
    expect(Math.min(...g)).toBe(1);
    expect(Math.max(...g)).toBeGreaterThan(5 / ratio);
    // Geometric gaps: mean 1/p and standard deviation sqrt(1 - p)/p.
    expect(mean(g) * ratio).toBeCloseTo(1, 1);
    expect(sd(g) / mean(g) / Math.sqrt(1 - ratio)).toBeCloseTo(1, 1);
    // A failure does not make the next request more or less likely to fail.
    let afterFail = 0;
    let failAfterFail = 0;
    for (let i = 1; i < N; i++) {
      if (!fails[i - 1]) continue;
      afterFail++;
      if (fails[i]) failAfterFail++;
    }
    const se = Math.sqrt((ratio * (1 - ratio)) / afterFail);
    expect(Math.abs(failAfterFail / afterFail - ratio)).toBeLessThanOrEqual(4 * se);
    // Blocks of 100 requests vary like a binomial, unlike even mode's constant count.
    const blocks = Array.from(
      { length: N / 100 },
      (_, b) => fails.slice(b * 100, b * 100 + 100).filter(Boolean).length,
    );
    const binomialSd = Math.sqrt(100 * ratio * (1 - ratio));
    expect(sd(blocks) / binomialSd).toBeCloseTo(1, 1);
  });
});

describe('FaultDraws, sampled latency', () => {
  it('adds the fixed latency on top of the sampled one', () => {
    const profile: FaultProfile = {
      errorRatio: 0,
      errorCode: 500,
      latencyMs: 100,
      seed: 3,
      latency: { p50Ms: 20, p99Ms: 250 },
    };
    const draws = new FaultDraws();
    for (let i = 0; i < 100; i++) {
      const d = draws.next(KEY, profile, 'annotations');
      expect(d.sampledMs).toBeGreaterThan(0);
      expect(d.latencyMs).toBe(100 + d.sampledMs);
    }
  });

  it('samples latency for failed answers too', () => {
    const profile: FaultProfile = {
      ...randomProfile(1, 3),
      latency: { p50Ms: 20, p99Ms: 250 },
    };
    const draw = new FaultDraws().next(KEY, profile, 'annotations');
    expect(draw.fail).toBe(true);
    expect(draw.sampledMs).toBeGreaterThan(0);
  });
});
