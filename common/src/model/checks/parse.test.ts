import { describe, expect, it } from '@jest/globals';
import { ABSENT, specWith } from '../../testing/rollout-cases.js';
import { validateRolloutSpec } from '../validate.js';

describe('spec.metrics', () => {
  it('puts the check of spec.metric first, then the listed ones, with defaults filled in', () => {
    const result = validateRolloutSpec(
      specWith({
        metrics: [
          { name: 'p99', type: 'latency', percentile: 99, maxMs: 500 },
          { name: 'vs', type: 'primary-comparison', marginPercent: 0.5, interval: '30s' },
        ],
      }),
    );
    expect(result.ok && result.value.checks).toEqual([
      {
        type: 'success-rate',
        name: 'success-rate',
        metric: 'istio_requests_total',
        interval: '1m',
        intervalMs: 60_000,
        threshold: 99,
      },
      {
        type: 'latency',
        name: 'p99',
        metric: 'istio_request_duration_milliseconds',
        interval: '1m',
        intervalMs: 60_000,
        percentile: 99,
        maxMs: 500,
      },
      {
        type: 'primary-comparison',
        name: 'vs',
        metric: 'istio_requests_total',
        interval: '30s',
        intervalMs: 30_000,
        marginPercent: 0.5,
      },
    ]);
  });

  it('names every bad field of every check at once', () => {
    const result = validateRolloutSpec(
      specWith({
        metric: ABSENT,
        metrics: [
          { name: 'a', type: 'latency', percentile: 101, maxMs: 'fast' },
          { name: 'a', type: 'success-rate', threshold: 99 },
          'errors',
        ],
      }),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual([
      'spec.metrics[0].percentile',
      'spec.metrics[0].maxMs',
      'spec.metrics[2]',
    ]);
  });

  it('refuses a listed check named like the check of spec.metric', () => {
    const result = validateRolloutSpec(
      specWith({ metrics: [{ name: 'success-rate', type: 'success-rate', threshold: 99.5 }] }),
    );
    expect(!result.ok && result.errors).toEqual([
      {
        field: 'spec.metrics[0].name',
        message: '"success-rate" is already the name of the check of spec.metric',
      },
    ]);
  });

  it('refuses two checks of one name', () => {
    const check = { name: 'errors', type: 'success-rate', threshold: 99 };
    const result = validateRolloutSpec(specWith({ metrics: [check, { ...check }] }));
    expect(!result.ok && result.errors).toEqual([
      { field: 'spec.metrics[1].name', message: '"errors" is already the name of another check' },
    ]);
  });

  it('refuses an empty list without spec.metric, and takes one beside it', () => {
    expect(validateRolloutSpec(specWith({ metric: ABSENT, metrics: [] })).ok).toBe(false);
    expect(validateRolloutSpec(specWith({ metrics: [] })).ok).toBe(true);
  });

  it.each([
    ['sum(rate(x[{window}])', 'unclosed ('],
    ['sum(x{pod="{canary}})', 'unterminated string'],
    ['x]', 'unbalanced ]'],
    ['x{job="a"} / {Canary}', 'unknown placeholder {Canary}'],
  ])('refuses the template %s: %s', (query, message) => {
    const result = validateRolloutSpec(
      specWith({ metrics: [{ name: 'q', type: 'promql', query, max: 1 }] }),
    );
    expect(!result.ok && result.errors).toEqual([
      { field: 'spec.metrics[0].query', message: expect.stringContaining(message) },
    ]);
  });

  it('refuses a window shorter than two scrapes, when the scrape interval is known', () => {
    const spec = specWith({
      'metric.interval': '20s',
      metrics: [{ name: 'p99', type: 'latency', percentile: 99, maxMs: 500, interval: '30s' }],
    });
    expect(validateRolloutSpec(spec).ok).toBe(true);
    const result = validateRolloutSpec(spec, { scrapeIntervalMs: 15_000 });
    expect(!result.ok && result.errors).toEqual([
      {
        field: 'spec.metric.interval',
        message:
          'must be at least 30s, got 20s: Prometheus scrapes every 15s and a window needs two scrapes',
      },
    ]);
  });

  it('takes a bound that is not a bucket boundary (counted at the boundary below it)', () => {
    const result = validateRolloutSpec(
      specWith({ metrics: [{ name: 'p99', type: 'latency', percentile: 99, maxMs: 300 }] }),
    );
    expect(result.ok).toBe(true);
  });
});
