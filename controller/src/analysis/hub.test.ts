import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryLogger } from '@steerer/common';
import type { AnalysisSample, PrometheusClient, Sample } from '@steerer/common';
import type { Subscription } from '../planner/types.js';
import { AnalysisHub, MIN_WINDOW_MS, effectiveWindow, measuredFailure } from './hub.js';

const NOW = 1_700_000_000_000;

interface SubOptions {
  namespace?: string;
  sinceMs?: number | undefined;
  metric?: string;
  windowMs?: number;
  threshold?: number;
}

/** A subscription to the seed's success-rate check of one workload. */
function sub(workload: string, o: SubOptions = {}): Subscription {
  return {
    namespace: o.namespace ?? 'test',
    workload,
    sinceMs: o.sinceMs,
    checks: [
      {
        type: 'success-rate',
        name: 'success-rate',
        metric: o.metric ?? 'istio_requests_total',
        interval: '1m',
        intervalMs: o.windowMs ?? 60_000,
        threshold: o.threshold ?? 99,
      },
    ],
  };
}

/** The latest sample of the seed's check. */
function latest(h: AnalysisHub, key: string): AnalysisSample | undefined {
  return h.latest(key)?.get('success-rate');
}

function series(ns: string, workload: string, kind: 'total' | 'bad', value: number): Sample {
  return {
    labels: {
      destination_workload_namespace: ns,
      destination_workload: workload,
      steerer_series: kind,
    },
    value,
  };
}

/** The workload names a success-rate query selects. */
function workloadsIn(query: string): string[] {
  const m = /destination_workload=~"([^"]*)"/.exec(query);
  return (m?.[1] ?? '').split('|').map((w) => w.replace(/\\\\\./g, '.'));
}

/** A Prometheus that records queries and answers with `answer` (or waits, if paused). */
class FakePrometheus implements PrometheusClient {
  readonly queries: string[] = [];
  answer: (query: string) => Sample[] = () => [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  pause(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  resume(): void {
    this.open?.();
    this.gate = undefined;
  }

  async query(promql: string): Promise<Sample[]> {
    this.queries.push(promql);
    await this.gate;
    return this.answer(promql);
  }
}

function hub(
  options: {
    batchSize?: number;
    now?: () => number;
    scrape?: ConstructorParameters<typeof AnalysisHub>[0]['scrape'];
  } = {},
) {
  const prometheus = new FakePrometheus();
  const delivered: [string, AnalysisSample][] = [];
  const logger = new MemoryLogger();
  const h = new AnalysisHub({
    prometheus,
    intervalMs: 2000,
    logger,
    onSample: (key, _check, sample) => delivered.push([key, sample]),
    now: options.now ?? (() => NOW),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.scrape ? { scrape: options.scrape } : {}),
  });
  return { h, prometheus, delivered, logger };
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('effectiveWindow', () => {
  it.each([
    ['no release start', undefined, 60_000, 60_000],
    ['a release older than the window', NOW - 600_000, 60_000, 60_000],
    ['a release started 10s ago', NOW - 10_000, 60_000, 10_000],
    // Rounded down: a window reaching back before the start counts the previous revision.
    ['a release started 2.5s ago (rounded down to seconds)', NOW - 2500, 60_000, 2000],
    ['a release started exactly at the floor', NOW - MIN_WINDOW_MS, 60_000, MIN_WINDOW_MS],
    ['a release younger than the floor', NOW - 1999, 60_000, undefined],
    ['a release started just now', NOW, 60_000, undefined],
    ['a start in the future (clock skew)', NOW + 5000, 60_000, undefined],
    ['a spec window below the floor', NOW - 600_000, 1000, 1000],
  ])('%s', (_name, sinceMs, windowMs, want) => {
    expect(effectiveWindow(windowMs, sinceMs, NOW)).toBe(want);
  });
});

describe('AnalysisHub', () => {
  it('queries nothing without subscriptions', async () => {
    const { h, prometheus } = hub();
    await h.refresh();
    h.want('test/a', sub('a'));
    h.want('test/a', undefined);
    await h.refresh();
    expect(prometheus.queries).toEqual([]);
    expect(h.queriesIssued).toBe(0);
    expect(h.subscriptions).toBe(0);
  });

  it('measures every subscriber of one metric and window with one query', async () => {
    const { h, prometheus, delivered } = hub();
    prometheus.answer = () => [
      series('test', 'a', 'total', 600),
      series('test', 'a', 'bad', 3),
      series('test', 'b', 'total', 240),
      series('test', 'b', 'bad', 240),
      series('prod', 'c', 'total', 30),
      series('prod', 'c', 'bad', 0),
      series('prod', 'a', 'total', 60), // a workload nobody asked about
      series('prod', 'a', 'bad', 30),
    ];
    h.want('test/ra', sub('a'));
    h.want('test/rb', sub('b'));
    h.want('prod/rc', sub('c', { namespace: 'prod' }));
    await h.refresh();
    expect(prometheus.queries).toHaveLength(1);
    expect(workloadsIn(prometheus.queries[0] ?? '')).toEqual(['a', 'b', 'c']);
    expect(prometheus.queries[0]).toContain('[60s]');
    expect(delivered).toEqual([
      [
        'test/ra',
        {
          kind: 'ok',
          value: 99.5,
          requestRate: 10,
          counts: { total: 600, bad: 3 },
          at: NOW,
          windowMs: 60_000,
        },
      ],
      // A workload that answered only errors is 0%, not "no data".
      [
        'test/rb',
        {
          kind: 'ok',
          value: 0,
          requestRate: 4,
          counts: { total: 240, bad: 240 },
          at: NOW,
          windowMs: 60_000,
        },
      ],
      [
        'prod/rc',
        {
          kind: 'ok',
          value: 100,
          requestRate: 0.5,
          counts: { total: 30, bad: 0 },
          at: NOW,
          windowMs: 60_000,
        },
      ],
    ]);
    expect(latest(h, 'test/rb')).toEqual(delivered[1]?.[1]);
  });

  it('queries once per metric and effective window', async () => {
    const { h, prometheus } = hub();
    h.want('r1', sub('a'));
    h.want('r2', sub('b'));
    h.want('r3', sub('c', { windowMs: 30_000 }));
    h.want('r4', sub('d', { metric: 'other_requests_total' }));
    // Young releases: their windows are cut back to their lifetimes.
    h.want('r5', sub('e', { sinceMs: NOW - 5000 }));
    h.want('r6', sub('f', { sinceMs: NOW - 4200 }));
    h.want('r7', sub('g', { sinceMs: NOW - 600_000 }));
    await h.refresh();
    const byWorkloads = prometheus.queries.map((q) => [
      workloadsIn(q).join(','),
      /\[(\d+s)\]/.exec(q)?.[1],
      q.includes('other_requests_total'),
    ]);
    expect(byWorkloads.sort()).toEqual(
      [
        ['a,b,g', '60s', false],
        ['c', '30s', false],
        ['d', '60s', true],
        ['e', '5s', false],
        ['f', '4s', false],
        // g's release is 10 minutes old: its evidence window is the longest size it has
        // lived through, 2^(13/4) × 60s (four sizes per doubling).
        ['g', '571s', false],
      ].sort(),
    );
    expect(h.queriesIssued).toBe(6);
  });

  it('widens a window shorter than three scrapes, and learns the interval before the first poll', async () => {
    const asked: (string | undefined)[] = [];
    const scrape = {
      minWindowMs: (series: string | undefined) => (series === 'istio_requests_total' ? 45_000 : 0),
      refresh: (series: Iterable<string | undefined>) => {
        asked.push(...series);
        return Promise.resolve();
      },
    };
    const { h, prometheus } = hub({ scrape });
    h.want('r1', sub('a', { windowMs: 10_000 }));
    h.want('r2', sub('b', { windowMs: 10_000, sinceMs: NOW - 20_000 }));
    h.want('r3', sub('c', { windowMs: 10_000, metric: 'other_requests_total' }));
    await h.refresh();
    expect(asked).toEqual(['istio_requests_total', 'istio_requests_total', 'other_requests_total']);
    const windows = prometheus.queries.map((q) => [
      workloadsIn(q).join(','),
      /\[(\d+s)\]/.exec(q)?.[1],
    ]);
    // b's release is 20s old: its window stays within its lifetime.
    expect(windows.sort()).toEqual(
      [
        ['a', '45s'],
        ['b', '20s'],
        ['c', '10s'],
      ].sort(),
    );
  });

  it('scales counts back by (window − scrape) / window: never more requests than were seen', async () => {
    const scrape = {
      minWindowMs: () => 90_000,
      intervalMs: () => 30_000,
      refresh: () => Promise.resolve(),
    };
    const { h, prometheus } = hub({ scrape });
    // increase() extrapolated 4 errors in 67 requests over 60 s of samples to a 90 s window.
    prometheus.answer = () => [series('test', 'a', 'total', 100.5), series('test', 'a', 'bad', 6)];
    h.want('r1', sub('a', { windowMs: 90_000 }));
    await h.refresh();
    expect(latest(h, 'r1')).toMatchObject({ kind: 'ok', counts: { total: 67, bad: 4 } });
    // Without a known scrape interval, the counts are Prometheus' answer as it is.
    const plain = hub();
    plain.prometheus.answer = prometheus.answer;
    plain.h.want('r1', sub('a', { windowMs: 90_000 }));
    await plain.h.refresh();
    expect(latest(plain.h, 'r1')).toMatchObject({ counts: { total: 100.5, bad: 6 } });
  });

  it('reports a release younger than the floor as no data, without a query', async () => {
    const { h, prometheus, delivered } = hub();
    // 1.5 s old: any window of whole scrapes would reach back before the release started
    // and count what the previous revision served.
    h.want('test/young', sub('young', { sinceMs: NOW - 1500 }));
    await h.refresh();
    expect(prometheus.queries).toHaveLength(0);
    expect(delivered).toEqual([['test/young', { kind: 'nodata', at: NOW, windowMs: 1000 }]]);
  });

  it('splits a large group into batches of batchSize', async () => {
    const { h, prometheus, delivered } = hub({ batchSize: 2 });
    for (const w of ['a', 'b', 'c', 'd', 'e']) h.want(`test/${w}`, sub(w));
    prometheus.answer = (q) =>
      workloadsIn(q).flatMap((w) => [series('test', w, 'total', 60), series('test', w, 'bad', 0)]);
    await h.refresh();
    expect(prometheus.queries.map((q) => workloadsIn(q))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(delivered.map(([k, s]) => [k, s.kind])).toEqual(
      ['a', 'b', 'c', 'd', 'e'].map((w) => [`test/${w}`, 'ok']),
    );
  });

  it.each([
    ['no series', [], 'nodata'],
    [
      'a NaN total (no requests in the window)',
      [series('test', 'a', 'total', NaN), series('test', 'a', 'bad', 0)],
      'nodata',
    ],
    ['no requests', [series('test', 'a', 'total', 0), series('test', 'a', 'bad', 0)], 'nodata'],
    ['errors without a total', [series('test', 'a', 'bad', 3)], 'nodata'],
    ['a total without errors counted', [series('test', 'a', 'total', 3)], 'ok'],
    [
      'another namespace only',
      [series('prod', 'a', 'total', 100), series('prod', 'a', 'bad', 3)],
      'nodata',
    ],
    [
      'an infinite total',
      [series('test', 'a', 'total', Infinity), series('test', 'a', 'bad', 3)],
      'nodata',
    ],
    ['a good answer', [series('test', 'a', 'total', 180), series('test', 'a', 'bad', 4)], 'ok'],
  ] as const)('reads %s as %s', async (_name, samples, kind) => {
    const { h, prometheus, delivered } = hub();
    prometheus.answer = () => [...samples];
    h.want('test/a', sub('a'));
    await h.refresh();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.[1]).toMatchObject({ kind, at: NOW, windowMs: 60_000 });
  });

  it('gives every subscriber of a failed query an error sample', async () => {
    const { h, prometheus, delivered, logger } = hub();
    prometheus.answer = () => {
      throw new Error('Prometheus http://prom:9090 is unreachable');
    };
    h.want('test/a', sub('a'));
    h.want('test/b', sub('b'));
    await h.refresh();
    expect(delivered).toEqual([
      ['test/a', { kind: 'error', message: 'Prometheus http://prom:9090 is unreachable', at: NOW }],
      ['test/b', { kind: 'error', message: 'Prometheus http://prom:9090 is unreachable', at: NOW }],
    ]);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'success-rate query failed',
        fields: expect.objectContaining({ rollouts: 2 }),
      }),
    );
  });

  it('gives an error sample, without querying, for a name that cannot be queried', async () => {
    const { h, prometheus, delivered } = hub();
    h.want('test/a', sub('Bad"Name'));
    await h.refresh();
    expect(prometheus.queries).toEqual([]);
    expect(h.queriesIssued).toBe(0);
    expect(delivered[0]?.[1]).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('cannot be used in a query'),
    });
  });

  it('delivers nothing to a rollout unsubscribed or changed while its query ran', async () => {
    const { h, prometheus, delivered } = hub();
    prometheus.answer = (q) =>
      workloadsIn(q).flatMap((w) => [series('test', w, 'total', 60), series('test', w, 'bad', 0)]);
    h.want('test/a', sub('a'));
    h.want('test/b', sub('b'));
    h.want('test/c', sub('c'));
    prometheus.pause();
    const done = h.refresh();
    await settle();
    expect(prometheus.queries).toHaveLength(1);
    h.want('test/a', undefined);
    h.want('test/b', sub('b', { threshold: 95 }));
    prometheus.resume();
    await done;
    expect(delivered.map(([k]) => k)).toEqual(['test/c']);
    expect(latest(h, 'test/a')).toBeUndefined();
    expect(latest(h, 'test/b')).toBeUndefined();
  });

  it('keeps the latest sample while the subscription stays the same, and drops it when it changes', async () => {
    const { h, prometheus } = hub();
    prometheus.answer = () => [series('test', 'a', 'total', 60), series('test', 'a', 'bad', 0)];
    h.want('test/a', sub('a'));
    await h.refresh();
    expect(latest(h, 'test/a')?.kind).toBe('ok');
    h.want('test/a', sub('a')); // an equal subscription
    expect(latest(h, 'test/a')?.kind).toBe('ok');
    h.want('test/a', sub('a', { sinceMs: NOW - 1000 }));
    expect(latest(h, 'test/a')).toBeUndefined();
  });

  it('shares a poll under way between callers of refresh', async () => {
    const { h, prometheus } = hub();
    h.want('test/a', sub('a'));
    prometheus.pause();
    const first = h.refresh();
    const second = h.refresh();
    await settle();
    expect(prometheus.queries).toHaveLength(1);
    prometheus.resume();
    await Promise.all([first, second]);
    expect(prometheus.queries).toHaveLength(1);
    await h.refresh();
    expect(prometheus.queries).toHaveLength(2);
  });

  it('measures a subscription added during a poll with one follow-up poll', async () => {
    const { h, prometheus, delivered } = hub();
    prometheus.answer = (q) =>
      workloadsIn(q).flatMap((w) => [series('test', w, 'total', 60), series('test', w, 'bad', 0)]);
    h.want('test/a', sub('a'));
    prometheus.pause();
    const first = h.refresh();
    await settle();
    h.want('test/b', sub('b'));
    const second = h.refresh();
    const third = h.refresh();
    prometheus.resume();
    await Promise.all([first, second, third]);
    expect(prometheus.queries.map(workloadsIn)).toEqual([['a'], ['a', 'b']]);
    expect(latest(h, 'test/b')?.kind).toBe('ok');
    expect(delivered.map(([k]) => k)).toEqual(['test/a', 'test/a', 'test/b']);
  });

  it('keeps delivering when one onSample call throws', async () => {
    const prometheus = new FakePrometheus();
    prometheus.answer = (q) =>
      workloadsIn(q).flatMap((w) => [series('test', w, 'total', 60), series('test', w, 'bad', 0)]);
    const got: string[] = [];
    const logger = new MemoryLogger();
    const h = new AnalysisHub({
      prometheus,
      intervalMs: 1000,
      logger,
      now: () => NOW,
      onSample: (key) => {
        got.push(key);
        if (key === 'test/a') throw new Error('consumer bug');
      },
    });
    h.want('test/a', sub('a'));
    h.want('test/b', sub('b'));
    await expect(h.refresh()).resolves.toBeUndefined();
    expect(got).toEqual(['test/a', 'test/b']);
    expect(logger.entries.some((e) => e.level === 'error')).toBe(true);
  });

  it('marks the first sample of a subscription, so a plan waiting for it can run', async () => {
    const prometheus = new FakePrometheus();
    prometheus.answer = () => [series('test', 'a', 'total', 60), series('test', 'a', 'bad', 0)];
    const firsts: boolean[] = [];
    const h = new AnalysisHub({
      prometheus,
      intervalMs: 2000,
      logger: new MemoryLogger(),
      now: () => NOW,
      onSample: (_key, _check, _sample, first) => firsts.push(first),
    });
    h.want('test/a', sub('a'));
    await h.refresh();
    await h.refresh();
    h.want('test/a', sub('a', { threshold: 95 })); // a new subscription starts over
    await h.refresh();
    expect(firsts).toEqual([true, false, true]);
  });

  describe('run', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it('measures every interval until aborted', async () => {
      jest.useFakeTimers({ now: NOW });
      const { h, prometheus } = hub({ now: () => Date.now() });
      h.want('test/a', sub('a'));
      const stop = new AbortController();
      h.run(stop.signal);
      await jest.advanceTimersByTimeAsync(0);
      expect(prometheus.queries).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1999);
      expect(prometheus.queries).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(prometheus.queries).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(4000);
      expect(prometheus.queries).toHaveLength(4);
      stop.abort();
      await jest.advanceTimersByTimeAsync(10_000);
      expect(prometheus.queries).toHaveLength(4);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});

describe('evidence', () => {
  it('measures an older release over the longest evidence size it has lived through, batched', async () => {
    const { h, prometheus, delivered } = hub();
    prometheus.answer = (q) => {
      const w = /\[(\d+)s\]/.exec(q)?.[1];
      return workloadsIn(q).flatMap((x) => [
        series('test', x, 'total', w === '60' ? 60 : 240),
        series('test', x, 'bad', w === '60' ? 0 : 1),
      ]);
    };
    h.want('test/a', sub('a', { sinceMs: NOW - 245_000 }));
    h.want('test/b', sub('b', { sinceMs: NOW - 280_000 }));
    await h.refresh();
    // Both are between the sizes 4 × and 4.75 × the window: one query for 60s, one for 240s.
    expect(prometheus.queries.map((q) => /\[(\d+s)\]/.exec(q)?.[1]).sort()).toEqual([
      '240s',
      '60s',
    ]);
    expect(delivered[0]?.[1]).toMatchObject({
      kind: 'ok',
      counts: { total: 60, bad: 0 },
      evidence: { total: 240, bad: 1, windowMs: 240_000 },
      windowMs: 60_000,
    });
  });
});

describe('measuredFailure', () => {
  const check = sub('a').checks[0];
  it.each([
    ['a rate below the threshold', { kind: 'ok', value: 98.9, requestRate: 1, at: NOW }, true],
    ['a rate at the threshold', { kind: 'ok', value: 99, requestRate: 1, at: NOW }, false],
    ['no data', { kind: 'nodata', at: NOW }, false],
    ['a failed query', { kind: 'error', message: 'down', at: NOW }, false],
    ['NaN', { kind: 'ok', value: Number.NaN, requestRate: 0, at: NOW }, false],
  ] as const)('%s: %s', (_name, sample, want) => {
    expect(check && measuredFailure(check, sample)).toBe(want);
  });
});
