// Measures the success rate of every canary that is being analysed, with one batched
// Prometheus query per (metric, window) per tick, so the query load does not grow
// with the number of rollouts. Rollouts that are idle cost nothing: they are not
// subscribed. A failing measurement is pushed to the controller at once, so a bad
// canary is halted within one tick instead of at its next step.

import { SERIES_LABEL, errorMessage, successRateQuery } from '@steerer/common';
import type { Logger, PrometheusClient, Sample } from '@steerer/common';
import type { AnalysisSample } from './planner/types.js';

export interface Subscription {
  namespace: string;
  workload: string;
  metric: string;
  windowMs: number;
  threshold: number;
  /** Only data after this instant counts (the release's start), when set. */
  sinceMs?: number | undefined;
}

/** The shortest window measured; below two scrapes rate() has nothing to say anyway. */
export const MIN_WINDOW_MS = 2000;

/**
 * The window to measure now: the spec's, cut back to the whole seconds the release has
 * lived, or undefined while it is younger than MIN_WINDOW_MS. Rounded down, never up:
 * rate() takes the increase between the samples inside the window, so a window reaching
 * back before the start would count requests the previous revision served (a fix shipped
 * right after a halt was halted again for the old revision's errors).
 */
export function effectiveWindow(sub: Subscription, now: number): number | undefined {
  if (sub.sinceMs === undefined) return sub.windowMs;
  const alive = Math.floor((now - sub.sinceMs) / 1000) * 1000;
  if (alive < Math.min(MIN_WINDOW_MS, sub.windowMs)) return undefined;
  return Math.min(sub.windowMs, alive);
}

export interface AnalysisHubOptions {
  prometheus: PrometheusClient;
  intervalMs: number;
  logger: Logger;
  /** Called for each new sample of a subscribed rollout. */
  onSample: (rolloutKey: string, sample: AnalysisSample, sub: Subscription) => void;
  /** At most this many workloads per query. */
  batchSize?: number;
  now?: () => number;
}

function sameSub(a: Subscription | undefined, b: Subscription): boolean {
  return (
    !!a &&
    a.namespace === b.namespace &&
    a.workload === b.workload &&
    a.metric === b.metric &&
    a.windowMs === b.windowMs &&
    a.threshold === b.threshold &&
    a.sinceMs === b.sinceMs
  );
}

export class AnalysisHub {
  private readonly subs = new Map<string, Subscription>();
  private readonly samples = new Map<string, AnalysisSample>();
  /** The poll under way and the subscriptions it measures. */
  private inflight: { promise: Promise<void>; covers: Map<string, Subscription> } | undefined;
  /** A poll queued behind the one under way, for subscriptions it does not cover. */
  private followUp: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  queriesIssued = 0;

  constructor(private readonly o: AnalysisHubOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Subscribes a rollout (or, with undefined, unsubscribes it). */
  want(rolloutKey: string, sub: Subscription | undefined): void {
    if (!sub) {
      this.subs.delete(rolloutKey);
      this.samples.delete(rolloutKey);
      return;
    }
    if (!sameSub(this.subs.get(rolloutKey), sub)) {
      this.subs.set(rolloutKey, sub);
      this.samples.delete(rolloutKey);
    }
  }

  get subscriptions(): number {
    return this.subs.size;
  }

  latest(rolloutKey: string): AnalysisSample | undefined {
    return this.samples.get(rolloutKey);
  }

  /**
   * Measures every current subscription and resolves when done. A measurement already
   * under way is shared when it covers every subscription; otherwise one more follows it.
   */
  refresh(): Promise<void> {
    const current = this.inflight;
    if (!current) return this.startPoll();
    if ([...this.subs].every(([k, s]) => current.covers.get(k) === s)) return current.promise;
    this.followUp ??= current.promise.then(() => {
      this.followUp = undefined;
      return this.refresh();
    });
    return this.followUp;
  }

  private startPoll(): Promise<void> {
    const covers = new Map(this.subs);
    const promise = this.poll(covers).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = undefined;
    });
    this.inflight = { promise, covers };
    return promise;
  }

  run(signal: AbortSignal): void {
    const tick = (): void => {
      if (signal.aborted) return;
      const started = this.now();
      void this.refresh().finally(() => {
        if (signal.aborted) return;
        const spent = this.now() - started;
        this.timer = setTimeout(tick, Math.max(0, this.o.intervalMs - spent));
      });
    };
    signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
    tick();
  }

  private async poll(subs: Map<string, Subscription>): Promise<void> {
    if (subs.size === 0) return;
    const groups = new Map<string, { windowMs: number; entries: [string, Subscription][] }>();
    const young: [string, Subscription][] = [];
    const now = this.now();
    for (const entry of subs) {
      const windowMs = effectiveWindow(entry[1], now);
      if (windowMs === undefined) {
        young.push(entry);
        continue;
      }
      const k = `${entry[1].metric}\u0000${windowMs}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { windowMs, entries: [] }));
      g.entries.push(entry);
    }
    // Too young to measure without reaching back before the release started.
    for (const [key, sub] of young) {
      const age = Math.max(0, Math.floor((now - (sub.sinceMs ?? now)) / 1000) * 1000);
      this.deliver(key, { kind: 'nodata', at: now, windowMs: age }, sub);
    }
    const size = this.o.batchSize ?? 250;
    const batches: { windowMs: number; entries: [string, Subscription][] }[] = [];
    for (const g of groups.values())
      for (let i = 0; i < g.entries.length; i += size)
        batches.push({ windowMs: g.windowMs, entries: g.entries.slice(i, i + size) });
    await Promise.all(batches.map((b) => this.measure(b.entries, now, b.windowMs)));
  }

  private async measure(
    batch: [string, Subscription][],
    at: number,
    windowMs: number,
  ): Promise<void> {
    const first = batch[0]?.[1];
    if (!first) return;
    let samples: Sample[];
    try {
      const q = successRateQuery(
        first.metric,
        windowMs,
        batch.map(([, s]) => ({ namespace: s.namespace, name: s.workload })),
      );
      this.queriesIssued++;
      samples = await this.o.prometheus.query(q);
    } catch (e) {
      const message = errorMessage(e);
      this.o.logger.warn('success-rate query failed', { error: message, rollouts: batch.length });
      for (const [key, sub] of batch) this.deliver(key, { kind: 'error', message, at }, sub);
      return;
    }
    const found = new Map<string, { success?: number; rate?: number }>();
    for (const s of samples) {
      const id = `${s.labels.destination_workload_namespace ?? ''}/${s.labels.destination_workload ?? ''}`;
      let v = found.get(id);
      if (!v) found.set(id, (v = {}));
      if (s.labels[SERIES_LABEL] === 'success') v.success = s.value;
      else if (s.labels[SERIES_LABEL] === 'rate') v.rate = s.value;
    }
    for (const [key, sub] of batch) {
      const v = found.get(`${sub.namespace}/${sub.workload}`);
      const ok = v?.success !== undefined && Number.isFinite(v.success) && (v.rate ?? 0) > 0;
      this.deliver(
        key,
        ok
          ? { kind: 'ok', successRate: v.success as number, requestRate: v.rate ?? 0, at, windowMs }
          : { kind: 'nodata', at, windowMs },
        sub,
      );
    }
  }

  private deliver(key: string, sample: AnalysisSample, sub: Subscription): void {
    // A rollout unsubscribed while the query ran gets nothing.
    if (!sameSub(this.subs.get(key), sub)) return;
    this.samples.set(key, sample);
    try {
      this.o.onSample(key, sample, sub);
    } catch (e) {
      // One failing consumer must not cost the other rollouts their samples.
      this.o.logger.error('analysis sample handler failed', {
        rollout: key,
        error: errorMessage(e),
      });
    }
  }
}
