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

function groupKey(s: Subscription): string {
  return `${s.metric}\u0000${s.windowMs}`;
}

function sameSub(a: Subscription | undefined, b: Subscription): boolean {
  return !!a && a.namespace === b.namespace && a.workload === b.workload && a.metric === b.metric && a.windowMs === b.windowMs && a.threshold === b.threshold;
}

export class AnalysisHub {
  private readonly subs = new Map<string, Subscription>();
  private readonly samples = new Map<string, AnalysisSample>();
  private inflight: Promise<void> | undefined;
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

  /** Measures now (sharing a measurement already under way) and resolves when done. */
  refresh(): Promise<void> {
    this.inflight ??= this.poll().finally(() => (this.inflight = undefined));
    return this.inflight;
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

  private async poll(): Promise<void> {
    if (this.subs.size === 0) return;
    const groups = new Map<string, [string, Subscription][]>();
    for (const entry of this.subs) {
      const k = groupKey(entry[1]);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(entry);
    }
    const size = this.o.batchSize ?? 250;
    const batches: [string, Subscription][][] = [];
    for (const g of groups.values()) for (let i = 0; i < g.length; i += size) batches.push(g.slice(i, i + size));
    await Promise.all(batches.map((b) => this.measure(b)));
  }

  private async measure(batch: [string, Subscription][]): Promise<void> {
    const first = batch[0]?.[1];
    if (!first) return;
    const at = this.now();
    let samples: Sample[];
    try {
      this.queriesIssued++;
      const q = successRateQuery(first.metric, first.windowMs, batch.map(([, s]) => ({ namespace: s.namespace, name: s.workload })));
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
      this.deliver(key, ok ? { kind: 'ok', successRate: v.success as number, requestRate: v.rate ?? 0, at } : { kind: 'nodata', at }, sub);
    }
  }

  private deliver(key: string, sample: AnalysisSample, sub: Subscription): void {
    // A rollout unsubscribed while the query ran gets nothing.
    if (!sameSub(this.subs.get(key), sub)) return;
    this.samples.set(key, sample);
    this.o.onSample(key, sample, sub);
  }
}
