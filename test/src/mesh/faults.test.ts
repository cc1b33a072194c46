import { describe, expect, it } from '@jest/globals';
import { faultsFromAnnotations, parseFaultOverride, shouldFail } from './faults.js';

describe('shouldFail', () => {
  it.each([0.3, 0.1, 0.05, 0.5, 0.99, 0.25])(
    'gives exactly floor(N*%p) errors after N requests',
    (ratio) => {
      let errors = 0;
      for (let n = 0; n < 1000; n++) {
        if (shouldFail(n, ratio)) errors++;
        expect(Math.abs(errors - Math.floor((n + 1) * ratio))).toBeLessThanOrEqual(1);
      }
      expect(errors).toBe(Math.round(1000 * ratio));
    },
  );

  it('spreads errors evenly: 30% gives 3 of every 10', () => {
    const firstTen = Array.from({ length: 10 }, (_, n) => shouldFail(n, 0.3));
    expect(firstTen.filter(Boolean)).toHaveLength(3);
    expect(firstTen.slice(0, 3)).toEqual([false, false, false]);
  });

  it('never fails at 0 and always fails at 1', () => {
    for (let n = 0; n < 50; n++) {
      expect(shouldFail(n, 0)).toBe(false);
      expect(shouldFail(n, 1)).toBe(true);
    }
  });
});

describe('faultsFromAnnotations', () => {
  it('reads ratio, latency and code', () => {
    expect(
      faultsFromAnnotations({
        'mesh.steerer.io/error-ratio': '0.3',
        'mesh.steerer.io/latency-ms': '200',
        'mesh.steerer.io/error-code': '503',
      }),
    ).toEqual({ profile: { errorRatio: 0.3, latencyMs: 200, errorCode: 503 }, warnings: [] });
  });

  it('defaults to no faults and code 500', () => {
    expect(faultsFromAnnotations({ 'prometheus.io/scrape': 'true' })).toEqual({
      profile: { errorRatio: 0, latencyMs: 0, errorCode: 500 },
      warnings: [],
    });
  });

  it('ignores invalid values with a warning each', () => {
    const { profile, warnings } = faultsFromAnnotations({
      'mesh.steerer.io/error-ratio': '30%',
      'mesh.steerer.io/latency-ms': '-5',
      'mesh.steerer.io/error-code': '50.5',
    });
    expect(profile).toEqual({ errorRatio: 0, latencyMs: 0, errorCode: 500 });
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain('mesh.steerer.io/error-ratio');
  });
});

describe('faultsFromAnnotations: random mode and latency distribution', () => {
  it('reads error mode, seed and p50/p99', () => {
    expect(
      faultsFromAnnotations({
        'mesh.steerer.io/error-ratio': '0.005',
        'mesh.steerer.io/error-mode': 'random',
        'mesh.steerer.io/seed': '42',
        'mesh.steerer.io/latency-p50-ms': '20',
        'mesh.steerer.io/latency-p99-ms': '250',
      }),
    ).toEqual({
      profile: {
        errorRatio: 0.005,
        latencyMs: 0,
        errorCode: 500,
        errorMode: 'random',
        seed: 42,
        latency: { p50Ms: 20, p99Ms: 250 },
      },
      warnings: [],
    });
    expect(faultsFromAnnotations({ 'mesh.steerer.io/error-mode': ' even ' }).profile).toEqual({
      errorRatio: 0,
      latencyMs: 0,
      errorCode: 500,
      errorMode: 'even',
    });
  });

  it.each([
    [{ 'mesh.steerer.io/error-mode': 'chaos' }, 'must be "even" or "random"'],
    [{ 'mesh.steerer.io/seed': '-1' }, 'mesh.steerer.io/seed must be within 0..4294967295'],
    [{ 'mesh.steerer.io/seed': '1.5' }, 'mesh.steerer.io/seed must be an integer'],
    [{ 'mesh.steerer.io/latency-p50-ms': '20' }, 'must be set together'],
    [{ 'mesh.steerer.io/latency-p99-ms': '20' }, 'must be set together'],
    [
      { 'mesh.steerer.io/latency-p50-ms': '0', 'mesh.steerer.io/latency-p99-ms': '20' },
      'mesh.steerer.io/latency-p50-ms must be > 0',
    ],
    [
      { 'mesh.steerer.io/latency-p50-ms': '300', 'mesh.steerer.io/latency-p99-ms': '200' },
      'mesh.steerer.io/latency-p99-ms (200) must be ≥ mesh.steerer.io/latency-p50-ms (300)',
    ],
    [
      { 'mesh.steerer.io/latency-p50-ms': '20', 'mesh.steerer.io/latency-p99-ms': '20000' },
      'within 0..10000',
    ],
  ])('ignores %j with a warning', (annotations, message) => {
    const { profile, warnings } = faultsFromAnnotations(annotations);
    expect(profile).toEqual({ errorRatio: 0, latencyMs: 0, errorCode: 500 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(message);
  });
});

describe('parseFaultOverride', () => {
  it('accepts random mode, a seed and a latency distribution', () => {
    expect(
      parseFaultOverride({
        errorRatio: 0.005,
        errorMode: 'random',
        seed: 42,
        latency: { p50Ms: 20, p99Ms: 250 },
      }),
    ).toEqual({
      ok: true,
      value: {
        errorRatio: 0.005,
        latencyMs: 0,
        errorCode: 500,
        errorMode: 'random',
        seed: 42,
        latency: { p50Ms: 20, p99Ms: 250 },
      },
    });
    expect(parseFaultOverride({ latency: null })).toEqual({
      ok: true,
      value: { errorRatio: 0, latencyMs: 0, errorCode: 500 },
    });
  });

  it('accepts a partial body', () => {
    expect(parseFaultOverride({ errorRatio: 0.5 })).toEqual({
      ok: true,
      value: { errorRatio: 0.5, latencyMs: 0, errorCode: 500 },
    });
  });

  it.each([
    [[], 'JSON object'],
    [{ errorRatio: 2 }, 'within 0..1'],
    [{ latencyMs: 'slow' }, 'must be a number'],
    [{ ratio: 0.1 }, 'unknown field'],
    [{ errorMode: 'Random' }, 'errorMode must be "even" or "random", got "Random"'],
    [{ errorMode: 1 }, 'errorMode must be "even" or "random"'],
    [{ seed: -1 }, 'seed must be within 0..4294967295'],
    [{ seed: 2 ** 32 }, 'seed must be within 0..4294967295'],
    [{ seed: 0.5 }, 'seed must be an integer'],
    [{ latency: 200 }, 'latency must be an object'],
    [{ latency: [20, 250] }, 'latency must be an object'],
    [{ latency: { p50Ms: 20 } }, 'latency.p99Ms must be a number'],
    [{ latency: { p50: 20, p99: 250 } }, 'unknown field(s) latency.p50, latency.p99'],
    [{ latency: { p50Ms: 0, p99Ms: 250 } }, 'latency.p50Ms must be > 0'],
    [{ latency: { p50Ms: 300, p99Ms: 250 } }, 'latency.p99Ms (250) must be ≥ latency.p50Ms (300)'],
    [{ latency: { p50Ms: 20, p99Ms: 10_001 } }, 'latency.p99Ms must be within 0..10000'],
  ])('rejects %j', (body, message) => {
    const parsed = parseFaultOverride(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });
});
