import { describe, expect, it } from '@jest/globals';
import { SteererError } from './errors.js';
import {
  DURATION_PATTERN,
  formatDuration,
  parseDuration,
  promDuration,
  tryParseDuration,
} from './duration.js';

describe('tryParseDuration', () => {
  it.each([
    ['500ms', 500],
    ['1s', 1000],
    ['30s', 30_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2h45m', 9_900_000],
    ['1.5s', 1500],
    ['0.5m', 30_000],
    ['1ms', 1],
    ['1m1ms', 60_001],
    ['0s', 0],
    ['0.0001s', 0],
  ])('%s is %i ms', (text, ms) => {
    expect(tryParseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '10',
    '1x',
    '-1m',
    '1 m',
    ' 1m',
    '1m ',
    'm',
    '1.m',
    '.5s',
    '1d',
    '1M',
    '1e3s',
    'NaN',
  ])('rejects %j', (text) => {
    expect(tryParseDuration(text)).toBeUndefined();
  });

  it('rejects values too large to count in milliseconds', () => {
    expect(tryParseDuration(`${'9'.repeat(400)}h`)).toBeUndefined();
    expect(tryParseDuration('9999999999999h')).toBeUndefined();
  });

  it('agrees with DURATION_PATTERN, the CRD schema pattern', () => {
    const re = new RegExp(DURATION_PATTERN);
    for (const t of ['1m30s', '500ms', '1.5h', '10', '1x', '-1m', '']) {
      expect(re.test(t)).toBe(tryParseDuration(t) !== undefined);
    }
  });
});

describe('parseDuration', () => {
  it('trims and parses', () => {
    expect(parseDuration(' 2m ')).toBe(120_000);
  });

  it('throws an Invalid SteererError naming what was parsed', () => {
    expect(() => parseDuration('soon', '--timeout')).toThrow(SteererError);
    expect(() => parseDuration('soon', '--timeout')).toThrow('--timeout: "soon" is not a duration');
    try {
      parseDuration('soon');
    } catch (e) {
      expect(e).toMatchObject({ code: 'Invalid' });
    }
    expect.assertions(3);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [500, '500ms'],
    [999.4, '999ms'],
    [999.6, '1s'],
    [1000, '1s'],
    [30_000, '30s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_601_000, '1h1s'],
    [5_400_000, '1h30m'],
    [86_400_000, '24h'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through tryParseDuration for whole seconds', () => {
    for (const ms of [1000, 59_000, 61_000, 3_599_000, 7_322_000]) {
      expect(tryParseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('promDuration', () => {
  it.each([
    [0, '1s'],
    [499, '1s'],
    [1000, '1s'],
    [1499, '1s'],
    [1500, '2s'],
    [60_000, '60s'],
  ])('%d ms is %s', (ms, text) => {
    expect(promDuration(ms)).toBe(text);
  });
});
