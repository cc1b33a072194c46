import { describe, expect, it } from '@jest/globals';
import { rolloutObject } from '../server/testing.js';
import { sameSummary, summarize, viewOf } from './summary.js';

describe('summarize', () => {
  it('keeps what the overview shows, with the pending request and deletion', () => {
    const r = rolloutObject(
      'podinfo',
      {
        phase: 'Halted',
        canaryWeight: 30,
        failedChecks: 2,
        message: 'Halt rollout podinfo.test success rate 88.89% < 99%',
        analysis: {
          result: 'Fail',
          successRate: 88.89,
          threshold: 99,
          window: '1m',
          time: '2026-01-01T00:00:00Z',
          query: 'sum(…)',
        },
      },
      'test',
      { 'steerer.io/request': 'abort' },
    );
    r.metadata.deletionTimestamp = '2026-01-01T00:00:01Z';
    const s = summarize(r);
    expect(s).toMatchObject({
      namespace: 'test',
      name: 'podinfo',
      phase: 'Halted',
      canaryWeight: 30,
      failedChecks: 2,
      pendingRequest: 'abort',
      deleting: true,
    });
    expect(s.analysis).toEqual({ result: 'Fail', successRate: 88.89, threshold: 99 });
    expect(sameSummary(s, summarize(r))).toBe(true);
    expect(sameSummary(undefined, s)).toBe(false);
  });

  it('defaults a new Rollout to weight 0 and no phase', () => {
    const s = summarize(rolloutObject('fresh', undefined));
    expect(s).toMatchObject({ canaryWeight: 0, failedChecks: 0, phase: undefined });
  });

  it('trims managedFields from what the page is sent', () => {
    const r = rolloutObject('podinfo');
    (r.metadata as { managedFields?: unknown }).managedFields = [{ manager: 'x' }];
    expect(JSON.stringify(viewOf(r))).not.toContain('managedFields');
  });
});
