// The verdicts of the latency, custom PromQL and primary-comparison checks on measurements
// as the analysis hub hands them over: fail only on clear evidence, pass on enough
// requests, wait otherwise; an answer that is not one finite number is never a pass.

import { describe, expect, it } from '@jest/globals';
import type { JudgedSample, Stage } from './check.js';
import { primaryComparison, comparisonQuery } from './compare.js';
import type { PrimaryComparisonSpec } from './compare.js';
import { promql, renderQuery } from './custom.js';
import type { PromqlSpec } from './custom.js';
import { bucketAt, latency, latencyQuery } from './latency.js';
import type { LatencySpec } from './latency.js';
import type { Counts } from './stats.js';

const STEP: Stage = { kind: 'step', nextWeight: 20 };
const PROMOTION: Stage = { kind: 'promotion' };
const CANARY = 'podinfo-canary.test';
const W = { namespace: 'test', name: 'podinfo-canary', primary: 'podinfo' };

function ok(
  counts: Counts,
  extra: Partial<Extract<JudgedSample, { kind: 'ok' }>> = {},
): JudgedSample {
  return {
    kind: 'ok',
    value: counts.total > 0 ? ((counts.total - counts.bad) / counts.total) * 100 : Number.NaN,
    requestRate: counts.total / 60,
    at: 0,
    windowMs: 60_000,
    counts,
    ...extra,
  };
}

describe('latency check', () => {
  const spec: LatencySpec = {
    type: 'latency',
    name: 'latency',
    interval: '1m',
    intervalMs: 60_000,
    metric: 'istio_request_duration_milliseconds',
    percentile: 99,
    maxMs: 500,
  };

  it('counts slow requests at the bucket at or below the bound', () => {
    expect(bucketAt(500)).toBe(500);
    expect(bucketAt(300)).toBe(250);
    expect(bucketAt(0.5)).toBe(1);
    const q = latencyQuery(spec.metric, 300, 60_000, [W]);
    expect(q).toContain('le="+Inf"');
    expect(q).toContain('le="250"');
    expect(q).toContain('[60s]');
  });

  it('halts a canary that is clearly slower than the bound', () => {
    const v = latency.verdict(spec, ok({ total: 2000, bad: 200 }), CANARY, STEP);
    expect(v.kind).toBe('fail');
    if (v.kind !== 'fail') return;
    expect(v.reason).toBe('HighLatency');
    expect(v.message).toBe(
      'latency p99 > 500ms: 10.00% of requests slower than 500ms, at most 1.00% allowed',
    );
  });

  it('passes once enough fast requests are seen, and waits with few', () => {
    expect(latency.verdict(spec, ok({ total: 5000, bad: 0 }), CANARY, PROMOTION).kind).toBe('pass');
    const v = latency.verdict(spec, ok({ total: 20, bad: 0 }), CANARY, PROMOTION);
    expect(v.kind).toBe('wait');
    if (v.kind !== 'wait') return;
    expect(v.needed).toBeGreaterThan(0);
    expect(v.message).toContain(`more requests to ${CANARY}`);
  });

  it('shows the slow share and the evidence in status', () => {
    const s = ok({ total: 1000, bad: 5 });
    const f = latency.statusFields(spec, s, latency.verdict(spec, s, CANARY, STEP));
    expect(f).toMatchObject({
      value: 0.5,
      samples: 1000,
      failures: 5,
      unit: '% slower than 500ms',
    });
  });
});

describe('custom PromQL check', () => {
  const spec: PromqlSpec = {
    type: 'promql',
    name: 'queue-depth',
    interval: '1m',
    intervalMs: 60_000,
    query: 'max(queue_depth{namespace="{namespace}",app="{canary}"}[{window}])',
    max: 10,
  };

  it('fills the placeholders with the workload and window', () => {
    expect(renderQuery(spec.query, W, 90_000)).toBe(
      'max(queue_depth{namespace="test",app="podinfo-canary"}[90s])',
    );
    expect(() => renderQuery(spec.query, { namespace: 'x"}', name: 'a' }, 60_000)).toThrow();
  });

  it('passes within the bounds and fails outside them with the value rounded', () => {
    const one = (value: number): JudgedSample => ({
      kind: 'ok',
      value,
      requestRate: Number.NaN,
      at: 0,
    });
    expect(promql.verdict(spec, one(3), CANARY).kind).toBe('pass');
    const v = promql.verdict(spec, one(12.345678), CANARY);
    expect(v).toMatchObject({
      kind: 'fail',
      reason: 'CheckFailed',
      message: 'queue-depth 12.35 is not ≤ 10',
    });
    const ranged = { ...spec, min: 1, max: 5 };
    expect(promql.verdict(ranged, one(0.5), CANARY)).toMatchObject({
      kind: 'fail',
      message: 'queue-depth 0.5 is not in [1, 5]',
    });
  });

  it('never passes an answer that is not one finite number', () => {
    const read = (values: number[]) =>
      promql.read(
        values.map((value, i) => ({ labels: { pod: `p${i}` }, value })),
        60_000,
        [W],
      );
    for (const values of [[1, 2], [Number.NaN], [Number.POSITIVE_INFINITY]]) {
      const m = read(values).get('test/podinfo-canary');
      expect(m?.problem).toBeDefined();
      const v = promql.verdict(
        spec,
        {
          kind: 'ok',
          value: m?.value ?? 0,
          requestRate: Number.NaN,
          at: 0,
          problem: m?.problem ?? '',
        },
        CANARY,
      );
      expect(v).toMatchObject({ kind: 'fail', reason: 'BadQueryResult' });
    }
    expect(read([]).size).toBe(0);
    expect(promql.verdict(spec, { kind: 'nodata', at: 0, windowMs: 60_000 }, CANARY)).toMatchObject(
      {
        kind: 'wait',
        message: `waiting for queue-depth to have a value for ${CANARY} (none over the last 1m)`,
      },
    );
  });
});

describe('primary comparison', () => {
  const spec: PrimaryComparisonSpec = {
    type: 'primary-comparison',
    name: 'vs-primary',
    interval: '1m',
    intervalMs: 60_000,
    metric: 'istio_requests_total',
    marginPercent: 1,
  };
  const pair = (canary: Counts, primary: Counts): JudgedSample => ok(canary, { baseline: primary });

  it('measures both workloads in one query', () => {
    const q = comparisonQuery(spec.metric, 60_000, [W]);
    expect(q).toContain('destination_workload=~"podinfo|podinfo-canary"');
    expect(q).toContain('response_code=~"5.."');
  });

  it('halts a canary clearly worse than the primary by more than the margin', () => {
    const v = primaryComparison.verdict(
      spec,
      pair({ total: 1000, bad: 60 }, { total: 9000, bad: 45 }),
      CANARY,
      STEP,
    );
    expect(v).toMatchObject({
      kind: 'fail',
      reason: 'WorseThanPrimary',
      message: "error rate 6.00% vs the primary's 0.50%: more than 1 points worse",
    });
  });

  it('passes a canary as good as the primary once enough requests are seen', () => {
    const v = primaryComparison.verdict(
      spec,
      pair({ total: 3000, bad: 15 }, { total: 27000, bad: 135 }),
      CANARY,
      PROMOTION,
    );
    expect(v.kind).toBe('pass');
  });

  it('waits while there are too few requests to tell', () => {
    const v = primaryComparison.verdict(
      spec,
      pair({ total: 30, bad: 1 }, { total: 270, bad: 1 }),
      CANARY,
      STEP,
    );
    expect(v.kind).toBe('wait');
  });

  it('at weight 100 (no primary requests lately) judges the release-long evidence', () => {
    const recent = pair({ total: 600, bad: 3 }, { total: 0, bad: 0 });
    const withEvidence: JudgedSample = {
      ...recent,
      evidence: { total: 4000, bad: 20, windowMs: 960_000, baseline: { total: 20000, bad: 100 } },
    };
    expect(primaryComparison.verdict(spec, withEvidence, CANARY, PROMOTION).kind).toBe('pass');
    expect(primaryComparison.verdict(spec, recent, CANARY, PROMOTION)).toMatchObject({
      kind: 'wait',
      message: `waiting for requests to the primary of ${CANARY} to compare with (none over the last 1m)`,
    });
  });

  it('shows both error rates in status', () => {
    const s = pair({ total: 1000, bad: 10 }, { total: 4000, bad: 20 });
    expect(primaryComparison.statusFields(spec, s, { kind: 'pass' })).toMatchObject({
      value: 1,
      baselineValue: 0.5,
      samples: 1000,
      failures: 10,
      unit: '% errors',
    });
  });
});
