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

describe('parseFaultOverride', () => {
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
  ])('rejects %j', (body, message) => {
    const parsed = parseFaultOverride(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });
});
