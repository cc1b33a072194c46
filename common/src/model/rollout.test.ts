import { describe, expect, it } from '@jest/globals';
import { formatFieldErrors } from './rollout.js';
import { validateRolloutSpec } from './validate.js';
import {
  ABSENT,
  BASE_ROLLOUT_SPEC,
  INVALID_ROLLOUT_CASES,
  VALID_ROLLOUT_CASES,
  specWith,
} from '../testing/rollout-cases.js';

describe('validateRolloutSpec: invalid specs', () => {
  it('has a table of at least 30 cases with distinct names', () => {
    expect(INVALID_ROLLOUT_CASES.length).toBeGreaterThanOrEqual(30);
    const names = INVALID_ROLLOUT_CASES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(INVALID_ROLLOUT_CASES.map((c) => [c.name, c] as const))(
    '%s',
    (_name, { spec, field, message }) => {
      const result = validateRolloutSpec(spec);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      // Each case breaks exactly one field, and only that field is named.
      expect(result.errors).toEqual([{ field, message: expect.stringContaining(message) }]);
    },
  );

  it('cases survive a JSON round trip, so they can be sent to an API server as they are', () => {
    for (const c of INVALID_ROLLOUT_CASES) {
      const result = validateRolloutSpec(JSON.parse(JSON.stringify(c.spec)));
      expect(result.ok ? 'accepted' : result.errors[0]?.field).toBe(c.field);
    }
  });

  it('reports a missing spec as required', () => {
    expect(validateRolloutSpec(undefined)).toEqual({
      ok: false,
      errors: [{ field: 'spec', message: 'required' }],
    });
  });

  it('names every bad field at once, in spec order', () => {
    const result = validateRolloutSpec(
      specWith({
        targetKind: 'StatefulSet',
        'virtualService.weight': 0,
        'metric.interval': '1x',
        'metric.threshold': 101,
      }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.field)).toEqual([
      'spec.targetKind',
      'spec.virtualService.weight',
      'spec.metric.interval',
      'spec.metric.threshold',
    ]);
    expect(formatFieldErrors(result.errors)).toBe(
      'spec.targetKind: must be "Deployment", got "StatefulSet"; ' +
        'spec.virtualService.weight: must be between 1 and 100, got 0; ' +
        'spec.metric.interval: "1x" is not a duration (examples: 30s, 1m, 2m30s); ' +
        'spec.metric.threshold: must be between 0 and 100, got 101',
    );
  });

  it('checks every field of an empty object', () => {
    const result = validateRolloutSpec({});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { field: 'spec.targetKind', message: 'required (Deployment)' },
      { field: 'spec.primary', message: 'required' },
      { field: 'spec.canary', message: 'required' },
      {
        field: 'spec.virtualService',
        message: 'one of spec.virtualService, spec.httpRoute is required',
      },
      { field: 'spec.metric', message: 'required (or spec.metrics)' },
    ]);
  });

  it('truncates long values in messages', () => {
    const result = validateRolloutSpec(specWith({ 'canary.name': `A${'b'.repeat(100)}` }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]?.message).toContain(`"A${'b'.repeat(39)}…"`);
    expect(result.errors[0]?.message).not.toContain('b'.repeat(41));
  });
});

describe('validateRolloutSpec: valid specs', () => {
  it.each(VALID_ROLLOUT_CASES.map((c) => [c.name, c.spec] as const))('%s', (_name, spec) => {
    const result = validateRolloutSpec(spec);
    expect(result).toEqual({ ok: true, value: expect.anything() });
  });

  it('returns the typed spec: the route, the step and the success-rate check (interval in ms)', () => {
    expect(validateRolloutSpec(specWith({}))).toEqual({
      ok: true,
      value: {
        targetKind: 'Deployment',
        primary: { name: 'podinfo', host: 'podinfo' },
        canary: { name: 'podinfo-canary', host: 'podinfo-canary' },
        route: { kind: 'VirtualService', name: 'podinfo' },
        stepWeight: 10,
        checks: [
          {
            type: 'success-rate',
            name: 'success-rate',
            metric: 'istio_requests_total',
            interval: '1m',
            intervalMs: 60_000,
            threshold: 99,
          },
        ],
        rollback: {},
        hooks: [],
      },
    });
  });

  it('reads the optional rollback rule and progress deadline', () => {
    const result = validateRolloutSpec({
      ...BASE_ROLLOUT_SPEC,
      rollback: { onFailure: false, failureDuration: '5m' },
      progressDeadline: '15m',
    });
    expect(result.ok && result.value.rollback).toEqual({
      onFailure: false,
      failureDurationMs: 300_000,
    });
    expect(result.ok && result.value.progressDeadlineMs).toBe(900_000);
  });

  it.each([
    [{ rollback: 'yes' }, 'spec.rollback', 'must be an object'],
    [{ rollback: { onFailure: 'yes' } }, 'spec.rollback.onFailure', 'must be true or false'],
    [
      { rollback: { failureDuration: '5 minutes' } },
      'spec.rollback.failureDuration',
      'is not a duration',
    ],
    [
      { rollback: { failureDuration: '48h' } },
      'spec.rollback.failureDuration',
      'between 1s and 24h',
    ],
    [{ progressDeadline: '5s' }, 'spec.progressDeadline', 'between 10s and 24h'],
    [{ progressDeadline: 600 }, 'spec.progressDeadline', 'must be a duration string'],
  ])('refuses %j, naming the field', (extra, field, message) => {
    const result = validateRolloutSpec({ ...BASE_ROLLOUT_SPEC, ...extra });
    expect(result).toEqual({
      ok: false,
      errors: [{ field, message: expect.stringContaining(message) as unknown }],
    });
  });

  it.each([
    ['1m30s', 90_000],
    ['1.5m', 90_000],
    ['1s', 1000],
    ['1000ms', 1000],
    ['24h', 86_400_000],
    ['2h0m1s', 7_201_000],
  ])('parses interval %s as %i ms', (interval, ms) => {
    const result = validateRolloutSpec(specWith({ 'metric.interval': interval }));
    expect(result.ok && result.value.checks[0]).toMatchObject({ interval, intervalMs: ms });
  });

  it.each([0, 100, 99.5])('accepts threshold %d', (threshold) => {
    const result = validateRolloutSpec(specWith({ 'metric.threshold': threshold }));
    const check = result.ok ? result.value.checks[0] : undefined;
    expect(check?.type === 'success-rate' && check.threshold).toBe(threshold);
  });

  it('ignores fields it does not know', () => {
    const result = validateRolloutSpec({ ...BASE_ROLLOUT_SPEC, analysis: { steps: 3 } });
    expect(result.ok).toBe(true);
  });

  it('does not modify its input', () => {
    const spec = specWith({ 'metric.interval': '1m30s' });
    const before = structuredClone(spec);
    validateRolloutSpec(spec);
    expect(spec).toEqual(before);
  });
});

describe('validateRolloutSpec: one host written two ways', () => {
  const spec = specWith({ 'primary.host': 'podinfo', 'canary.host': 'podinfo.test' });

  it('is caught when the namespace is known', () => {
    const result = validateRolloutSpec(spec, { namespace: 'test' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { field: 'spec.canary.host', message: expect.stringContaining('same Service') },
    ]);
  });

  it('is allowed when the short host lives in another namespace', () => {
    expect(validateRolloutSpec(spec, { namespace: 'prod' }).ok).toBe(true);
  });

  it('cannot be decided without the namespace, so it is allowed', () => {
    expect(validateRolloutSpec(spec).ok).toBe(true);
  });

  it('is caught without the namespace when both hosts spell it out', () => {
    const both = specWith({
      'primary.host': 'podinfo.test.svc',
      'canary.host': 'podinfo.test.svc.cluster.local',
    });
    expect(validateRolloutSpec(both).ok).toBe(false);
  });
});

describe('specWith', () => {
  it('copies the base and removes ABSENT fields without touching the base', () => {
    const spec = specWith({ 'metric.type': ABSENT, 'virtualService.weight': 50 });
    expect(spec.metric).not.toHaveProperty('type');
    expect(spec.virtualService).toEqual({ name: 'podinfo', weight: 50 });
    expect(BASE_ROLLOUT_SPEC.metric.type).toBe('counter');
    expect(BASE_ROLLOUT_SPEC.virtualService.weight).toBe(10);
  });
});
