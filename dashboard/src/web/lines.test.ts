import { describe, expect, it } from '@jest/globals';
import type { CheckSeries } from '../shared/api.js';
import { boundLabel, boundLine, checkSpec, latestSentence, weightSpec } from './lines.js';

const check = (extra: Partial<CheckSeries>): CheckSeries => ({
  name: 'success-rate',
  type: 'success-rate',
  title: 'success rate (%)',
  unit: '%',
  canary: [99, null, 98],
  primary: [100, 100, null],
  queries: { canary: 'a', primary: 'b' },
  ...extra,
});

describe('the timeline lines', () => {
  it('draws a fixed bound flat, and a comparison as the primary plus its margin', () => {
    expect(boundLine(check({ min: 99 }))).toEqual([99, 99, 99]);
    expect(boundLine(check({ max: 250, unit: 'ms' }))).toEqual([250, 250, 250]);
    expect(boundLine(check({ marginOverPrimary: 1 }))).toEqual([101, 101, null]);
    expect(boundLabel(check({ min: 99 }))).toBe('bound (at least 99%)');
    expect(boundLabel(check({ max: 250, unit: 'ms' }))).toBe('bound (at most 250 ms)');
    expect(boundLabel(check({ marginOverPrimary: 1 }))).toBe('bound (primary + 1)');
  });

  it('names each chart and its lines, percentages on a 0–100 scale', () => {
    expect(weightSpec().range).toEqual([0, 100]);
    const spec = checkSpec(check({ min: 99 }), 0);
    expect(spec.title).toBe('success-rate: success rate (%)');
    expect(spec.lines.map((l) => l.label)).toEqual(['primary', 'canary', 'bound (at least 99%)']);
    expect(checkSpec(check({ unit: 'ms', max: 250 }), 1).range).toBeUndefined();
  });

  it('says the latest values in a sentence, for screen readers', () => {
    expect(
      latestSentence(checkSpec(check({ min: 99 }), 0), [
        [1, 2, 3],
        [100, 100, null],
        [99, null, 98.456],
        [99, 99, 99],
      ]),
    ).toBe('Latest: primary 100%, canary 98.46%, bound (at least 99%) 99%.');
  });
});
