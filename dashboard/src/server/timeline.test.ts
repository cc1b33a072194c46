import { describe, expect, it } from '@jest/globals';
import { validateRolloutSpec } from '@steerer/common/model';
import type { RolloutSpec } from '@steerer/common/model';
import { BASE_ROLLOUT_SPEC } from '@steerer/common/testing/rollout-cases';
import { viewOf } from '../shared/summary.js';
import { FakeRange, rolloutObject } from './testing.js';
import {
  MAX_POINTS,
  axis,
  checkPlan,
  loadTimeline,
  onAxis,
  recordedWeight,
  share,
  timeRange,
  trafficQueries,
  weightQuery,
} from './timeline.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function spec(extra: Record<string, unknown> = {}): RolloutSpec {
  const v = validateRolloutSpec({ ...BASE_ROLLOUT_SPEC, ...extra }, { namespace: 'test' });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.value;
}

describe('timeRange', () => {
  it('shows the current release from just before it started', () => {
    const r = timeRange(
      viewOf(
        rolloutObject('podinfo', {
          phase: 'Progressing',
          startTime: new Date(NOW - 10 * 60_000).toISOString(),
        }),
      ),
      NOW,
    );
    expect(r.range).toBe('the current release');
    expect(r.start).toBeLessThanOrEqual(NOW / 1000 - 630);
    expect(r.end).toBeGreaterThanOrEqual(NOW / 1000);
    expect((r.end - r.start) / r.step).toBeLessThanOrEqual(MAX_POINTS + 1);
  });

  it('shows a recent last release, else the last 15 minutes', () => {
    const recent = timeRange(
      viewOf(
        rolloutObject('podinfo', {
          phase: 'Succeeded',
          startTime: new Date(NOW - 20 * 60_000).toISOString(),
        }),
      ),
      NOW,
    );
    expect(recent.range).toBe('the last release');
    const idle = timeRange(viewOf(rolloutObject('podinfo', { phase: 'Initialized' })), NOW);
    expect(idle.range).toBe('the last 15 minutes');
    expect(idle.end - idle.start).toBeGreaterThanOrEqual(15 * 60);
  });

  it('caps a very long release at six hours, at most MAX_POINTS points', () => {
    const r = timeRange(
      viewOf(
        rolloutObject('podinfo', {
          phase: 'Halted',
          startTime: new Date(NOW - 48 * 3600_000).toISOString(),
        }),
      ),
      NOW,
    );
    expect(r.end - r.start).toBeLessThanOrEqual(6 * 3600 + 2 * r.step);
    expect(axis(r).length).toBeLessThanOrEqual(MAX_POINTS + 2);
  });
});

describe('lines on the axis', () => {
  it('sums series per time and leaves gaps as null', () => {
    expect(
      onAxis(
        [10, 20, 30],
        [
          {
            labels: {},
            points: [
              [10, 1],
              [30, 2],
            ],
          },
          { labels: {}, points: [[10, 2]] },
        ],
      ),
    ).toEqual([3, null, 2]);
  });

  it('holds each recorded weight until the next one', () => {
    expect(
      recordedWeight(
        [10, 20, 30, 40],
        [
          { at: 25_000, weight: 20 },
          { at: 15_000, weight: 10 },
        ],
      ),
    ).toEqual([null, 10, 20, 20]);
  });

  it("gives the canary's share of the requests in percent", () => {
    expect(share([1, null, 0, null], [3, 2, 0, null])).toEqual([25, 0, null, null]);
  });
});

describe('queries', () => {
  it("measures the weight from the controller's gauge", () => {
    expect(weightQuery('test', 'podinfo')).toBe(
      'max(steerer_rollout_canary_weight{namespace="test",name="podinfo"})',
    );
  });

  it('asks both request rates from the counting metric', () => {
    const q = trafficQueries(spec(), 'test', 30);
    expect(q.canary).toContain('destination_workload="podinfo-canary"');
    expect(q.primary).toContain('destination_workload="podinfo"');
    expect(q.canary).toContain('istio_requests_total');
    expect(q.canary).toContain('[30s]');
  });

  it('draws the success rate with its threshold, for the canary and the primary alike', () => {
    const s = spec();
    const check = s.checks[0];
    if (!check) throw new Error('no check');
    const plan = checkPlan(check, s, 'test', 60_000);
    expect(plan).toMatchObject({ name: 'success-rate', unit: '%', min: 99 });
    expect(plan.queries.canary).toContain('podinfo-canary');
    expect(plan.queries.primary).toBe(plan.queries.canary.replaceAll('podinfo-canary', 'podinfo'));
  });
});

describe('loadTimeline', () => {
  const progressing = viewOf(
    rolloutObject('podinfo', {
      phase: 'Progressing',
      canaryWeight: 20,
      startTime: new Date(NOW - 5 * 60_000).toISOString(),
    }),
  );

  it('takes the weight from Prometheus when it has it', async () => {
    const prometheus = new FakeRange();
    const end = Math.ceil(NOW / 1000);
    prometheus.answers = [
      { match: 'steerer_rollout_canary_weight', series: [{ labels: {}, points: [[end, 20]] }] },
    ];
    const t = await loadTimeline({ rollout: progressing, nowMs: NOW, weights: [], prometheus });
    expect(t.weightSource).toBe('prometheus');
    expect(t.weight.filter((v) => v !== null)).toEqual([20]);
    expect(t.checks).toHaveLength(1);
    expect(t.error).toBeUndefined();
  });

  it('falls back on the weights the dashboard saw', async () => {
    const prometheus = new FakeRange();
    const t = await loadTimeline({
      rollout: progressing,
      nowMs: NOW,
      weights: [{ at: NOW - 60_000, weight: 20 }],
      prometheus,
    });
    expect(t.weightSource).toBe('dashboard');
    expect(t.weight.at(-1)).toBe(20);
  });

  it('says Prometheus is unreachable once, with every line empty', async () => {
    const prometheus = new FakeRange();
    prometheus.failWith = new Error('Prometheus http://prometheus.test:9090 is unreachable');
    const t = await loadTimeline({ rollout: progressing, nowMs: NOW, weights: [], prometheus });
    expect(t.error).toBe('Prometheus http://prometheus.test:9090 is unreachable');
    expect(t.checks[0]?.error).toBe(t.error);
    expect(t.checks[0]?.canary.every((v) => v === null)).toBe(true);
  });

  it('explains an invalid spec instead of querying for it', async () => {
    const broken = { ...progressing, spec: { targetKind: 'Deployment' } };
    const prometheus = new FakeRange();
    const t = await loadTimeline({ rollout: broken, nowMs: NOW, weights: [], prometheus });
    expect(t.error).toMatch(/^the Rollout's spec is invalid: spec\./);
    expect(prometheus.asked.map((q) => q.query)).toEqual([weightQuery('test', 'podinfo')]);
  });
});
