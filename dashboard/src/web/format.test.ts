import { describe, expect, it } from '@jest/globals';
import type { AnalysisStatus } from '@steerer/common/model';
import {
  age,
  checkText,
  headline,
  percent,
  requestApplies,
  toneOf,
  verdictSentence,
} from './format.js';

const base: AnalysisStatus = {
  result: 'Pass',
  threshold: 99,
  window: '1m',
  time: '2026-01-01T00:00:00Z',
};

describe('format', () => {
  it('writes percentages and ages compactly', () => {
    expect(percent(99.5)).toBe('99.5%');
    expect(percent(88.888)).toBe('88.89%');
    expect(age(500)).toBe('0s');
    expect(age(42_000)).toBe('42s');
    expect(age(252_000)).toBe('4m12s');
    expect(age(3 * 86_400_000)).toBe('3d');
  });

  it('gives every phase a tone', () => {
    expect(toneOf('Succeeded')).toBe('ok');
    expect(toneOf('Progressing')).toBe('active');
    expect(toneOf('Halted')).toBe('warn');
    expect(toneOf('Failed')).toBe('bad');
    expect(toneOf(undefined)).toBe('idle');
  });

  it("writes the overview's check column", () => {
    expect(checkText(undefined)).toBe('-');
    expect(checkText({ ...base, successRate: 99.5 })).toBe('99.5% ≥ 99%');
    expect(checkText({ ...base, result: 'Fail', successRate: 88.89 })).toBe('88.89% < 99%');
    expect(checkText({ ...base, result: 'Waiting', needed: 40 })).toBe('waiting: 40 more');
    expect(checkText({ ...base, result: 'NoData' })).toBe('no data');
  });

  it('explains the verdict with its evidence', () => {
    const fail = verdictSentence({
      ...base,
      result: 'Fail',
      successRate: 88.89,
      samples: 90,
      failures: 10,
      evidenceWindow: '2m',
      confidence: 0.999,
    });
    expect(fail).toBe(
      'Failing: success-rate is 88.89%, bound at least 99% (10 bad of 90 requests over 2m); beyond chance at 99.9% confidence. The release is held at its weight.',
    );
    expect(verdictSentence({ ...base, result: 'Waiting', needed: 40, samples: 12 })).toContain(
      'Waiting for samples: 40 more requests',
    );
    expect(verdictSentence({ ...base, result: 'NoData' })).toContain('No data is not success');
  });

  it('offers each request only in the phases it applies to', () => {
    expect(requestApplies('abort', 'Progressing')).toBe(true);
    expect(requestApplies('abort', 'Succeeded')).toBe(false);
    expect(requestApplies('resume', 'Paused')).toBe(true);
    expect(requestApplies('retry', 'Failed')).toBe(true);
    expect(requestApplies('pause', 'Failed')).toBe(false);
  });

  it('counts the overview in a headline', () => {
    const r = (phase: 'Progressing' | 'Halted' | 'Failed' | 'Succeeded') => ({
      namespace: 'n',
      name: phase,
      phase,
      canaryWeight: 0,
      failedChecks: 0,
    });
    expect(headline([r('Progressing'), r('Halted'), r('Failed'), r('Succeeded')])).toBe(
      '4 Rollouts: 1 releasing, 1 halted or waiting, 1 failed or rolling back',
    );
  });
});
