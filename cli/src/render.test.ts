import { describe, expect, it } from '@jest/globals';
import type { AnalysisStatus, Condition, EventObject } from '@steerer/common';
import { age, cells, checkText, percent, table, truncate } from './format.js';
import {
  ANSI,
  recentEvents,
  renderGet,
  renderScreen,
  renderStatus,
  watchKey,
  watchLine,
} from './render.js';
import { NOW, event, rollout } from './testing.js';

const ago = (ms: number): string => new Date(NOW - ms).toISOString().replace(/\.\d+Z$/, 'Z');

function analysis(result: AnalysisStatus['result'], successRate?: number): AnalysisStatus {
  return {
    result,
    ...(successRate === undefined ? {} : { successRate }),
    threshold: 99,
    requestRate: 20.123,
    window: '1m',
    time: ago(3000),
  };
}

const podinfo = rollout('podinfo', {
  phase: 'Progressing',
  canaryWeight: 30,
  analysis: analysis('Pass', 99.5),
  lastTransitionTime: ago(12_000),
  message: 'Advance rollout podinfo.test weight 30',
});
const api = rollout('api', {
  phase: 'Halted',
  canaryWeight: 20,
  analysis: analysis('Fail', 88.888),
  lastTransitionTime: ago(120_000),
  message: 'Halt rollout api.test success rate 88.89% < 99%',
});

describe('formatting', () => {
  it('writes the check column in its three forms', () => {
    expect(checkText(analysis('Pass', 99.5))).toBe('99.5% ≥ 99%');
    expect(checkText(analysis('Pass', 100))).toBe('100% ≥ 99%');
    expect(checkText(analysis('Pass', 99))).toBe('99% ≥ 99%');
    expect(checkText(analysis('Fail', 88.888))).toBe('88.89% < 99%');
    expect(checkText(analysis('NoData'))).toBe('no data');
    expect(checkText(analysis('Error'))).toBe('error');
    expect(checkText(undefined)).toBe('-');
    expect(percent(97.1)).toBe('97.1%');
  });

  it('writes ages compactly', () => {
    expect(age(0)).toBe('0s');
    expect(age(999)).toBe('0s');
    expect(age(42_400)).toBe('42s');
    expect(age(252_000)).toBe('4m12s');
    expect(age(599_999)).toBe('9m59s');
    expect(age(600_000)).toBe('10m');
    expect(age(12_030_000)).toBe('3h20m');
    expect(age(30 * 3_600_000 + 5)).toBe('30h');
    expect(age(3 * 86_400_000 + 5)).toBe('3d');
    expect(age(-5)).toBe('0s');
  });

  it('truncates by code point with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('≥≥≥≥', 3)).toBe('≥≥…');
    expect(truncate('abc', undefined)).toBe('abc');
    expect(truncate('abc', 0)).toBe('');
  });

  it('aligns table columns and cuts only the last one to the width', () => {
    const rows = [
      ['NAME', 'PHASE', 'MESSAGE'],
      ['podinfo', 'Progressing', 'Advance rollout podinfo.test weight 30'],
      ['a', 'Halted', 'short\n\tline'],
    ];
    expect(table(rows, { width: 40 })).toEqual([
      'NAME      PHASE         MESSAGE',
      'podinfo   Progressing   Advance rollout…',
      'a         Halted        short line',
    ]);
    expect(table(rows)[1]).toBe('podinfo   Progressing   Advance rollout podinfo.test weight 30');
    expect(table(rows, { width: 20, indent: '  ' })[1]).toBe(
      '  podinfo   Progressing   Advance r…',
    );
  });
});

describe('get', () => {
  it('renders the table sorted by namespace and name', () => {
    expect(renderGet([podinfo, api], { allNamespaces: false, now: NOW })).toEqual([
      'NAME      PHASE         WEIGHT   CHECK          AGE   MESSAGE',
      'api       Halted        20%      88.89% < 99%   2m    Halt rollout api.test success rate 88.89% < 99%',
      'podinfo   Progressing   30%      99.5% ≥ 99%    12s   Advance rollout podinfo.test weight 30',
    ]);
  });

  it('adds the namespace with -A', () => {
    const other = rollout('api', { phase: 'Succeeded', canaryWeight: 0 }, 'prod');
    expect(renderGet([podinfo, other], { allNamespaces: true, now: NOW })).toEqual([
      'NAMESPACE   NAME      PHASE         WEIGHT   CHECK         AGE   MESSAGE',
      'prod        api       Succeeded     0%       -             -',
      'test        podinfo   Progressing   30%      99.5% ≥ 99%   12s   Advance rollout podinfo.test weight 30',
    ]);
  });

  it('shows a Rollout without status, and no data', () => {
    const fresh = rollout('fresh', undefined);
    const quiet = rollout('quiet', {
      phase: 'Halted',
      canaryWeight: 10,
      analysis: analysis('NoData'),
    });
    const lines = renderGet([fresh, quiet], { allNamespaces: false, now: NOW });
    expect(lines[1]).toBe('fresh   -        -        -         -');
    expect(lines[2]).toBe('quiet   Halted   10%      no data   -');
  });

  it('truncates the message to the terminal width', () => {
    const lines = renderGet([podinfo, api], { allNamespaces: false, now: NOW, width: 80 });
    for (const l of lines) expect(cells(l)).toBeLessThanOrEqual(80);
    expect(lines[1]).toBe(
      'api       Halted        20%      88.89% < 99%   2m    Halt rollout api.test suc…',
    );
    // However narrow the terminal, the message keeps a few characters.
    const narrow = renderGet([api], { allNamespaces: false, now: NOW, width: 30 });
    expect(narrow[1]).toMatch(/ {3}Halt roll…$/);
  });
});

const conditions: Condition[] = [
  {
    type: 'Ready',
    status: 'False',
    reason: 'Halted',
    message: 'success rate 88.89% < 99%',
    lastTransitionTime: ago(60_000),
  },
  {
    type: 'Progressing',
    status: 'True',
    reason: 'Halted',
    message: 'release of 5d8f7c6b9 held at weight 30',
    lastTransitionTime: ago(300_000),
  },
];

const halted = rollout(
  'podinfo',
  {
    phase: 'Halted',
    canaryWeight: 30,
    failedChecks: 4,
    canaryRevision: '5d8f7c6b9',
    lastPromotedRevision: '7c9d8e6f5',
    lastTransitionTime: ago(80_000),
    analysis: { ...analysis('Fail', 88.46), message: 'success rate 88.46% < 99%' },
    conditions,
    lastRequest: {
      action: 'resume',
      time: ago(600_000),
      outcome: 'Done',
      message: 'resumed at weight 20',
    },
    message: 'success rate 88.46% < 99%',
  },
  'test',
);

function events(n: number): EventObject[] {
  // Listed in no order; lastTimestamp decides.
  return Array.from({ length: n }, (_, i) =>
    event(
      `e${i}`,
      `message ${i}`,
      ago((n - i) * 10_000),
      i === n - 1 ? { count: 3, type: 'Warning' } : {},
    ),
  ).reverse();
}

describe('status', () => {
  it('explains a check that waits for samples: counts, confidence and the query', () => {
    const waiting = rollout('podinfo', {
      phase: 'Progressing',
      canaryWeight: 10,
      analysis: {
        check: 'success-rate',
        result: 'Waiting',
        successRate: 100,
        threshold: 99,
        window: '1m',
        samples: 60,
        failures: 0,
        evidenceWindow: '1m',
        needed: 11,
        confidence: 0.8,
        requestRate: 1,
        query: 'sum(rate(istio_requests_total[60s]))',
        time: ago(3000),
        message:
          'waiting for 11 more requests to podinfo-canary.test (0 errors in 60 requests over 1m)',
      },
      message: 'Waiting for podinfo.test: waiting for 11 more requests to podinfo-canary.test',
    });
    const lines = renderStatus({ rollout: waiting, events: [] }, { now: NOW, width: 200 });
    const analysisLines = lines.slice(
      lines.indexOf('Last analysis:'),
      lines.indexOf('Last analysis:') + 12,
    );
    expect(analysisLines).toEqual([
      'Last analysis:',
      '  Check:         success-rate',
      '  Result:        Waiting (waiting: 11 more)',
      '  Value:         100%',
      '  Threshold:     99%',
      '  Window:        1m',
      '  Samples:       60 requests, 0 bad over 1m; 11 more needed',
      '  Confidence:    80%',
      '  Request rate:  1/s',
      '  Time:          2026-03-01T11:59:57Z (3s ago)',
      '  Message:       waiting for 11 more requests to podinfo-canary.test (0 errors in 60 requests over 1m)',
      '  Query:         sum(rate(istio_requests_total[60s]))',
    ]);
  });

  it('renders every section', () => {
    expect(renderStatus({ rollout: halted, events: events(3) }, { now: NOW })).toEqual([
      'Name:          podinfo',
      'Namespace:     test',
      'Phase:         Halted (for 1m20s)',
      'Weight:        30% to the canary, 70% to the primary',
      'Revision:      5d8f7c6b9 (last promoted: 7c9d8e6f5)',
      'Failed checks: 4',
      'Waiting for:   success rate 88.46% < 99%',
      '',
      'Last analysis:',
      '  Result:        Fail (88.46% < 99%)',
      '  Value:         88.46%',
      '  Threshold:     99%',
      '  Window:        1m',
      '  Request rate:  20.12/s',
      '  Time:          2026-03-01T11:59:57Z (3s ago)',
      '  Message:       success rate 88.46% < 99%',
      '',
      'Conditions:',
      '  TYPE          STATUS   REASON   AGE   MESSAGE',
      '  Ready         False    Halted   1m    success rate 88.89% < 99%',
      '  Progressing   True     Halted   5m    release of 5d8f7c6b9 held at weight 30',
      '',
      'Last request:  resume: Done 10m ago — resumed at weight 20',
      '',
      'Events:',
      '  AGE        TYPE      REASON   MESSAGE',
      '  30s        Normal    Synced   message 0',
      '  20s        Normal    Synced   message 1',
      '  10s (x3)   Warning   Synced   message 2',
    ]);
  });

  it('shows the 10 most recent Events, oldest first', () => {
    const lines = renderStatus({ rollout: halted, events: events(12) }, { now: NOW });
    const from = lines.indexOf('Events (10 most recent of 12):');
    expect(from).toBeGreaterThan(0);
    const rows = lines.slice(from + 2);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatch(/message 2$/);
    expect(rows[9]).toMatch(/message 11$/);
    expect(recentEvents(events(12), 2).map((e) => e.message)).toEqual(['message 10', 'message 11']);
  });

  it('says what is pending, what failed, and why Events are missing', () => {
    const failed = rollout(
      'podinfo',
      { phase: 'Failed', canaryWeight: 0, failureReason: 'Aborted' },
      'test',
      { 'steerer.io/request': 'retry' },
    );
    const lines = renderStatus(
      {
        rollout: failed,
        events: [],
        eventsError: 'user "u" may not list events in namespace test',
      },
      { now: NOW },
    );
    expect(lines).toContain('Failure:       Aborted');
    expect(lines).toContain('Request:       retry (pending: not handled yet)');
    expect(lines).toContain('Waiting for:   -');
    expect(lines).toContain('Last analysis: none yet');
    expect(lines).toContain('Conditions: none');
    expect(lines).toContain('Last request:  none');
    expect(lines).toContain('Events: not shown: user "u" may not list events in namespace test');
    const bare = renderStatus({ rollout: rollout('x', undefined), events: [] }, { now: NOW });
    expect(bare).toContain('Phase:         (no status yet: is the controller running?)');
    expect(bare).toContain('Events: none');
  });

  it('fits every line to the terminal width', () => {
    const lines = renderStatus({ rollout: halted, events: events(12) }, { now: NOW, width: 50 });
    for (const l of lines) expect(cells(l)).toBeLessThanOrEqual(50);
    expect(lines).toContain('Waiting for:   success rate 88.46% < 99%');
  });
});

describe('watch', () => {
  it('writes one plain line per change: time, phase, weight, message', () => {
    expect(watchLine(podinfo, NOW)).toBe(
      '2026-03-01T12:00:00Z  Progressing  weight 30%   Advance rollout podinfo.test weight 30',
    );
    expect(watchLine(rollout('x', undefined), NOW)).toBe(
      '2026-03-01T12:00:00Z  -            weight 0%',
    );
    // The analysis changes every few seconds: that alone is no new line.
    const later = rollout('podinfo', { ...podinfo.status, analysis: analysis('Pass', 100) });
    expect(watchKey(later)).toBe(watchKey(podinfo));
    expect(watchKey(api)).not.toBe(watchKey(podinfo));
  });

  it('draws a screen in place: home, each line cleared, the rest cleared', () => {
    const screen = renderScreen(
      {
        rollout: halted,
        events: events(3),
        trouble: 'watch failed; retrying: connect ECONNREFUSED',
      },
      { width: 100, height: 60, now: NOW, title: 'kubectl steerer watch podinfo -n test' },
    );
    expect(screen.startsWith(ANSI.home)).toBe(true);
    expect(screen.endsWith(`\n${ANSI.clearBelow}`)).toBe(true);
    const lines = screen.slice(ANSI.home.length, -ANSI.clearBelow.length - 1).split('\n');
    for (const l of lines) expect(l.endsWith(ANSI.clearLine)).toBe(true);
    const text = lines.map((l) => l.slice(0, -ANSI.clearLine.length));
    expect(text[0]).toBe(
      'kubectl steerer watch podinfo -n test   2026-03-01T12:00:00Z   Ctrl-C to quit',
    );
    expect(text[1]).toBe('! watch failed; retrying: connect ECONNREFUSED (retrying)');
    expect(text).toContain('Phase:         Halted (for 1m20s)');
    expect(text[text.length - 1]).toMatch(/message 2$/);
  });

  it('keeps to the screen height by showing fewer Events, the most recent ones', () => {
    const screen = renderScreen(
      { rollout: halted, events: events(12) },
      { width: 100, height: 34, now: NOW, title: 't' },
    );
    const lines = screen.split('\n');
    expect(lines.length - 1).toBeLessThanOrEqual(33);
    expect(screen).toContain('message 11');
    expect(screen).not.toContain('message 2\x1b');
  });
});
