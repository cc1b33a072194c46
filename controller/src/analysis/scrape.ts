// How often Prometheus scrapes the series a check reads. A rate needs samples from two
// scrapes inside its window, so a window shorter than three scrape intervals (two, plus
// one for the newest scrape not yet stored) is widened to three: with 30 s scrapes a young
// release then waits for data instead of reading "no data" from a window too short to hold
// any. Learnt from Prometheus' targets API (each target's scrapeInterval) and the jobs
// that export the series; a fixed interval (--scrape-interval) overrides it.

import { errorMessage } from '@steerer/common';
import type { Logger, PrometheusClient, ScrapeTarget } from '@steerer/common';

/** A window spans at least this many scrape intervals. */
export const SCRAPES_PER_WINDOW = 3;
/** When the interval cannot be learnt: Prometheus' default. */
export const FALLBACK_SCRAPE_INTERVAL_MS = 15_000;
/** How long a learnt interval is trusted. */
export const SCRAPE_REFRESH_MS = 10 * 60_000;
/** After a failure to learn, how long before trying again. */
export const SCRAPE_RETRY_MS = 60_000;

export interface ScrapeIntervalOptions {
  prometheus: PrometheusClient;
  logger: Logger;
  /** A fixed scrape interval: nothing is learnt. */
  fixedMs?: number | undefined;
  now?: () => number;
}

interface Known {
  /** The longest scrape interval among the jobs exporting the series; undefined: unknown. */
  intervalMs: number | undefined;
  at: number;
  ok: boolean;
}

/** The label value of `job` of every series of `metric` seen in the last 10 minutes. */
function jobsQuery(metric: string): string {
  return `count by (job) (last_over_time(${metric}[10m]))`;
}

export class ScrapeIntervals {
  private readonly known = new Map<string, Known>();
  private targets: { list: Promise<ScrapeTarget[]>; at: number } | undefined;
  private readonly now: () => number;
  private warned = false;

  constructor(private readonly o: ScrapeIntervalOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * The shortest window worth measuring `series` over (undefined: a check that cannot
   * tell which series it reads, measured against the longest interval of any target).
   */
  minWindowMs(series: string | undefined): number {
    const interval = this.intervalMs(series);
    return SCRAPES_PER_WINDOW * interval;
  }

  /** The scrape interval of `series` as far as known. */
  intervalMs(series: string | undefined): number {
    if (this.o.fixedMs !== undefined) return this.o.fixedMs;
    const k = this.known.get(series ?? '');
    return k?.intervalMs ?? FALLBACK_SCRAPE_INTERVAL_MS;
  }

  /**
   * Learns the intervals of these series: waits for series never asked about, and
   * refreshes stale ones in the background (a slow Prometheus never delays a poll twice).
   * Never throws.
   */
  async refresh(series: Iterable<string | undefined>, signal?: AbortSignal): Promise<void> {
    if (this.o.fixedMs !== undefined) return;
    const now = this.now();
    const first: Promise<void>[] = [];
    for (const s of new Set(series)) {
      const k = this.known.get(s ?? '');
      if (k && now - k.at < (k.ok ? SCRAPE_REFRESH_MS : SCRAPE_RETRY_MS)) continue;
      const learning = this.learn(s, now, signal);
      if (!k) first.push(learning);
    }
    await Promise.all(first);
  }

  private async learn(
    series: string | undefined,
    now: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const key = series ?? '';
    const prior = this.known.get(key);
    // Claimed at once, so polls while this runs do not ask again.
    this.known.set(key, { intervalMs: prior?.intervalMs, at: now, ok: prior?.ok ?? false });
    try {
      const targets = await this.activeTargets(now, signal);
      let jobs: Set<string> | undefined;
      if (series !== undefined) {
        const answer = await this.o.prometheus.query(jobsQuery(series), signal);
        jobs = new Set(answer.map((s) => s.labels.job ?? ''));
      }
      const exporting = targets.filter((t) => jobs?.has(t.job) ?? true);
      // No series yet (no traffic so far): the longest interval of any target until then.
      const intervals = (exporting.length > 0 ? exporting : targets).map((t) => t.intervalMs);
      const intervalMs = intervals.length > 0 ? Math.max(...intervals) : undefined;
      const before = prior?.intervalMs;
      this.known.set(key, { intervalMs, at: now, ok: exporting.length > 0 });
      if (intervalMs !== undefined && intervalMs !== before) {
        this.o.logger.info('learnt the scrape interval', {
          series: series ?? '(any)',
          intervalMs,
          minWindowMs: SCRAPES_PER_WINDOW * intervalMs,
        });
      }
    } catch (e) {
      this.known.set(key, { intervalMs: prior?.intervalMs, at: now, ok: false });
      if (!this.warned) {
        this.warned = true;
        this.o.logger.warn(
          `cannot learn the scrape interval; assuming ${FALLBACK_SCRAPE_INTERVAL_MS / 1000}s (set --scrape-interval)`,
          { error: errorMessage(e) },
        );
      }
    }
  }

  /** The targets API's answer, shared by every series learnt at one time. */
  private async activeTargets(now: number, signal?: AbortSignal): Promise<ScrapeTarget[]> {
    if (this.targets && now - this.targets.at < SCRAPE_RETRY_MS) return this.targets.list;
    if (!this.o.prometheus.targets) throw new Error('the Prometheus client has no targets API');
    const list = this.o.prometheus.targets(signal);
    this.targets = { list, at: now };
    return list;
  }
}
