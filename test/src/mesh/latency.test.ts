import { describe, expect, it } from '@jest/globals';
import { FaultDraws } from './draws.js';
import { IstioMetrics, ISTIO_DURATION_BUCKETS } from './istio-metrics.js';
import {
  inverseNormalCdf,
  latencyAt,
  logNormalParameters,
  MAX_SAMPLED_LATENCY_MS,
  Z_P99,
} from './latency.js';
import type { FaultProfile, LatencyDistribution } from './model.js';
import { decide } from './routing.js';
import { constantDraw, request, seedTable } from './test-objects.js';

const N = 100_000;

function profileWith(latency: LatencyDistribution, seed = 42): FaultProfile {
  return { errorRatio: 0, errorCode: 500, latencyMs: 0, seed, latency };
}

/** N latencies as the gateway would draw them for the canary. */
function samples(latency: LatencyDistribution, seed = 42): number[] {
  const draws = new FaultDraws();
  const profile = profileWith(latency, seed);
  return Array.from(
    { length: N },
    () => draws.next('test/podinfo-canary', profile, 'annotations').sampledMs,
  );
}

/** The q-quantile of sorted values (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

/** The distribution's CDF at x: the u where the quantile function latencyAt reaches x. */
function cdf(d: LatencyDistribution, x: number): number {
  if (x >= MAX_SAMPLED_LATENCY_MS) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (mid > 0 && latencyAt(d, mid) <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

describe('inverseNormalCdf', () => {
  it.each([
    [0.5, 0],
    [0.975, 1.959963984540054],
    [0.99, 2.3263478740408408],
    [0.8413447460685429, 1],
    [0.001, -3.090232306167813],
    [1e-9, -5.997807015007686],
    [1 - 1e-6, 4.753424308822899],
  ])('Φ⁻¹(%p) = %p', (p, z) => {
    expect(inverseNormalCdf(p)).toBeCloseTo(z, 7);
  });

  it('is odd around 0.5 and rejects 0 and 1', () => {
    expect(inverseNormalCdf(0.3)).toBeCloseTo(-inverseNormalCdf(0.7), 9);
    expect(() => inverseNormalCdf(0)).toThrow(RangeError);
    expect(() => inverseNormalCdf(1)).toThrow(RangeError);
  });
});

describe('log-normal latency', () => {
  it('puts the median at p50 and the 99th percentile at p99', () => {
    const d = { p50Ms: 20, p99Ms: 250 };
    expect(latencyAt(d, 0.5)).toBeCloseTo(20, 6);
    expect(latencyAt(d, 0.99)).toBeCloseTo(250, 5);
    expect(logNormalParameters(d)).toEqual({
      mu: Math.log(20),
      sigma: Math.log(250 / 20) / Z_P99,
    });
  });

  it('is constant when p50 = p99', () => {
    const d = { p50Ms: 200, p99Ms: 200 };
    expect(latencyAt(d, 0.001)).toBeCloseTo(200, 9);
    expect(latencyAt(d, 0.999)).toBeCloseTo(200, 9);
  });

  it('caps samples at 10 s', () => {
    const d = { p50Ms: 5000, p99Ms: 10_000 };
    const sorted = samples(d).sort((a, b) => a - b);
    expect(quantile(sorted, 1)).toBe(MAX_SAMPLED_LATENCY_MS);
    expect(sorted.filter((x) => x === MAX_SAMPLED_LATENCY_MS).length / N).toBeCloseTo(0.01, 2);
  });

  it.each([
    [{ p50Ms: 20, p99Ms: 250 }, 1],
    [{ p50Ms: 100, p99Ms: 1000 }, 2],
    [{ p50Ms: 5, p99Ms: 5.5 }, 3],
    [{ p50Ms: 0.8, p99Ms: 40 }, 4],
  ])('100,000 samples of %j (seed %d) have their p50 and p99 within a few %', (d, seed) => {
    const sorted = samples(d, seed).sort((a, b) => a - b);
    // Standard errors at n = 1e5 are ≤ 0.4% (p50) and ≤ 1.7% (p99) for these spreads.
    expect(Math.abs(quantile(sorted, 0.5) / d.p50Ms - 1)).toBeLessThan(0.02);
    expect(Math.abs(quantile(sorted, 0.99) / d.p99Ms - 1)).toBeLessThan(0.05);
    expect(Math.abs(quantile(sorted, 0.9) / latencyAt(d, 0.9) - 1)).toBeLessThan(0.03);
  });

  it('fills the exported Istio histogram consistently with the samples', () => {
    const d = { p50Ms: 20, p99Ms: 200 };
    const values = samples(d);
    const metrics = new IstioMetrics({ sourceReporter: false });
    const decision = decide(seedTable([0, 100]), request('app.example.com'), constantDraw(0));
    for (const durationMs of values)
      metrics.record({ decision, code: 200, flags: '-', durationMs });
    const text: string[] = [];
    metrics.render(text);
    const exported = new Map<string, number>();
    for (const line of text) {
      const m = /^istio_request_duration_milliseconds_bucket\{.*le="([^"]+)"\} (\S+)$/.exec(line);
      if (m?.[1] !== undefined) exported.set(m[1], Number(m[2]));
    }
    expect([...exported.keys()]).toEqual([...ISTIO_DURATION_BUCKETS.map(String), '+Inf']);
    expect(exported.get('+Inf')).toBe(N);
    for (const le of ISTIO_DURATION_BUCKETS) {
      const count = exported.get(String(le)) ?? NaN;
      // Exactly the samples at or below the bound ...
      expect(count).toBe(values.filter((v) => v <= le).length);
      // ... and within 4 standard errors of the distribution's CDF there.
      const p = cdf(d, le);
      expect(Math.abs(count / N - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / N) + 1e-9);
    }
    // The median lands in the (10, 25] bucket and the p99 in (100, 250], as configured.
    expect(exported.get('10')).toBeLessThan(N / 2);
    expect(exported.get('25')).toBeGreaterThanOrEqual(N / 2);
    expect(exported.get('100')).toBeLessThan(0.99 * N);
    expect(exported.get('250')).toBeGreaterThanOrEqual(0.99 * N);
  });
});
