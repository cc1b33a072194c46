import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@steerer/common';
import type { PrometheusClient, Sample, ScrapeTarget } from '@steerer/common';
import {
  FALLBACK_SCRAPE_INTERVAL_MS,
  SCRAPE_REFRESH_MS,
  SCRAPE_RETRY_MS,
  ScrapeIntervals,
} from './scrape.js';

/** A Prometheus whose targets and jobs-per-metric are set by the test. */
class FakePrometheus implements PrometheusClient {
  targetList: ScrapeTarget[] = [
    { job: 'envoy-stats', intervalMs: 30_000 },
    { job: 'nodes', intervalMs: 60_000 },
  ];
  jobs = new Map<string, string[]>([['istio_requests_total', ['envoy-stats']]]);
  failTargets = false;
  queries: string[] = [];
  targetCalls = 0;

  query(promql: string): Promise<Sample[]> {
    this.queries.push(promql);
    const metric = /last_over_time\((\w+)\[/.exec(promql)?.[1] ?? '';
    return Promise.resolve(
      (this.jobs.get(metric) ?? []).map((job) => ({ labels: { job }, value: 1 })),
    );
  }

  targets(): Promise<ScrapeTarget[]> {
    this.targetCalls++;
    if (this.failTargets) return Promise.reject(new Error('404 no targets API'));
    return Promise.resolve(this.targetList);
  }
}

function setup(fixedMs?: number) {
  const prometheus = new FakePrometheus();
  const logger = new MemoryLogger();
  const clock = { now: 1_000_000 };
  const scrape = new ScrapeIntervals({ prometheus, logger, fixedMs, now: () => clock.now });
  return { prometheus, logger, clock, scrape };
}

describe('ScrapeIntervals', () => {
  it('learns the interval of the jobs exporting a series: three scrapes make a window', async () => {
    const { scrape, prometheus, logger } = setup();
    await scrape.refresh(['istio_requests_total']);
    expect(scrape.intervalMs('istio_requests_total')).toBe(30_000);
    expect(scrape.minWindowMs('istio_requests_total')).toBe(90_000);
    expect(prometheus.queries).toEqual([
      'count by (job) (last_over_time(istio_requests_total[10m]))',
    ]);
    expect(logger.entries.map((e) => e.message)).toEqual(['learnt the scrape interval']);
  });

  it('takes the longest interval of any target for a query it cannot see into', async () => {
    const { scrape } = setup();
    await scrape.refresh([undefined]);
    expect(scrape.intervalMs(undefined)).toBe(60_000);
  });

  it('takes the longest of any target while no series exists yet, and asks again soon', async () => {
    const { scrape, prometheus, clock } = setup();
    prometheus.jobs.clear();
    await scrape.refresh(['istio_requests_total']);
    expect(scrape.intervalMs('istio_requests_total')).toBe(60_000);
    prometheus.jobs.set('istio_requests_total', ['envoy-stats']);
    clock.now += SCRAPE_RETRY_MS - 1;
    await scrape.refresh(['istio_requests_total']);
    expect(prometheus.queries).toHaveLength(1);
    clock.now += 1;
    await scrape.refresh(['istio_requests_total']);
    // The stale answer is refreshed in the background: wait for it.
    await new Promise((r) => setImmediate(r));
    expect(scrape.intervalMs('istio_requests_total')).toBe(30_000);
  });

  it('asks each series once per refresh period and the targets API once for all', async () => {
    const { scrape, prometheus, clock } = setup();
    prometheus.jobs.set('istio_request_duration_milliseconds_bucket', ['envoy-stats']);
    await scrape.refresh([
      'istio_requests_total',
      'istio_request_duration_milliseconds_bucket',
      'istio_requests_total',
    ]);
    expect(prometheus.queries).toHaveLength(2);
    expect(prometheus.targetCalls).toBe(1);
    clock.now += SCRAPE_REFRESH_MS - 1;
    await scrape.refresh(['istio_requests_total']);
    expect(prometheus.queries).toHaveLength(2);
  });

  it('assumes 15s, warning once, when it cannot learn; keeps a learnt interval on failure', async () => {
    const { scrape, prometheus, logger, clock } = setup();
    prometheus.failTargets = true;
    await scrape.refresh(['istio_requests_total']);
    expect(scrape.intervalMs('istio_requests_total')).toBe(FALLBACK_SCRAPE_INTERVAL_MS);
    clock.now += SCRAPE_RETRY_MS;
    await scrape.refresh(['istio_requests_total']);
    await new Promise((r) => setImmediate(r));
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(1);

    prometheus.failTargets = false;
    clock.now += SCRAPE_RETRY_MS;
    await scrape.refresh(['istio_requests_total']);
    await new Promise((r) => setImmediate(r));
    expect(scrape.intervalMs('istio_requests_total')).toBe(30_000);
    prometheus.failTargets = true;
    clock.now += SCRAPE_REFRESH_MS;
    await scrape.refresh(['istio_requests_total']);
    await new Promise((r) => setImmediate(r));
    expect(scrape.intervalMs('istio_requests_total')).toBe(30_000);
  });

  it('asks nothing with a fixed interval', async () => {
    const { scrape, prometheus } = setup(5_000);
    await scrape.refresh(['istio_requests_total', undefined]);
    expect(scrape.minWindowMs('istio_requests_total')).toBe(15_000);
    expect(scrape.minWindowMs(undefined)).toBe(15_000);
    expect(prometheus.queries).toEqual([]);
    expect(prometheus.targetCalls).toBe(0);
  });
});
