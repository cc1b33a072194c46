// Measures every check of every canary that is being analysed, with one batched
// Prometheus query per (check batch key, window) per tick, so the query load does not
// grow with the number of rollouts. Rollouts that are idle cost nothing: they are not
// subscribed. Each sample is handed to the controller as it arrives; the controller asks
// the check whether it is urgent (a measured failure halts within one tick instead of at
// the next step).

import {
  MIN_WINDOW_MS,
  checkOf,
  errorMessage,
  jsonEqual,
  measuredWindow,
  workloadKey,
} from '@steerer/common';
import type {
  AnalysisSample,
  CheckSpec,
  Logger,
  Measurement,
  PrometheusClient,
  Workload,
} from '@steerer/common';
import type { AnalysisSamples, Subscription } from '../planner/types.js';

/** The window measured for a release (see measuredWindow in the model). */
export function effectiveWindow(
  windowMs: number,
  sinceMs: number | undefined,
  now: number,
): number | undefined {
  return measuredWindow(windowMs, sinceMs === undefined ? undefined : now - sinceMs);
}

export { MIN_WINDOW_MS };

/** A sample that shows the check failing: worth a reconcile now rather than at the next step. */
export function measuredFailure(check: CheckSpec, sample: AnalysisSample): boolean {
  return (
    sample.kind === 'ok' &&
    Number.isFinite(sample.value) &&
    checkOf(check).verdict(check, sample, '').kind === 'fail'
  );
}

export interface AnalysisHubOptions {
  prometheus: PrometheusClient;
  intervalMs: number;
  logger: Logger;
  /**
   * Called for each new sample of a subscribed rollout's check; `first` when the check had
   * no sample since it was subscribed (a planner may be waiting for it).
   */
  onSample: (rolloutKey: string, check: CheckSpec, sample: AnalysisSample, first: boolean) => void;
  /**
   * The shortest window worth measuring a series over (three scrapes); windows below it
   * are widened. Without it, spec windows are measured as written.
   */
  scrape?: {
    minWindowMs(series: string | undefined): number;
    /** The scrape interval of the series (counts read over a window are deflated by it). */
    intervalMs?(series: string | undefined): number;
    refresh(series: Iterable<string | undefined>): Promise<void>;
  };
  /** At most this many workloads per query. */
  batchSize?: number;
  now?: () => number;
}

/**
 * A measurement's counts scaled back to the requests Prometheus actually saw. increase()
 * extrapolates the growth between a series' first and last samples in the window (at
 * least W − S apart, S the scrape interval) to the whole window W: up to W / (W − S) times
 * what was seen, 1.5 times for a 90 s window at 30 s scrapes. The tests on counts take
 * each request as one observation, so extrapolated requests would be evidence no request
 * gave; scaled by (W − S) / W, a check never judges on more requests than were seen.
 */
export function deflated(
  m: Measurement,
  windowMs: number,
  scrapeMs: number | undefined,
): Measurement {
  if (scrapeMs === undefined || !(scrapeMs > 0) || !m.counts) return m;
  const f = Math.max(0, windowMs - scrapeMs) / windowMs;
  const scale = (c: { total: number; bad: number }): { total: number; bad: number } => ({
    total: c.total * f,
    bad: c.bad * f,
  });
  return {
    ...m,
    counts: scale(m.counts),
    ...(m.baseline ? { baseline: scale(m.baseline) } : {}),
  };
}

/** One check of one subscribed rollout, to measure in this poll. */
interface Entry {
  key: string;
  sub: Subscription;
  check: CheckSpec;
}

/** The canary's workload (and the primary's, for checks that compare). */
function workloadOf(sub: Subscription): Workload {
  return {
    namespace: sub.namespace,
    name: sub.workload,
    ...(sub.primary !== undefined ? { primary: sub.primary } : {}),
  };
}

/** An entry being measured over its windows (the spec's, then the evidence's). */
interface Measuring extends Entry {
  windows: number[];
  readings: Map<number, Measurement | undefined>;
  error?: string;
}

interface Batch {
  windowMs: number;
  entries: Measuring[];
}

/** The sample of an entry once every window is measured. */
function sampleOf(m: Measuring, at: number): AnalysisSample {
  if (m.error !== undefined) return { kind: 'error', message: m.error, at };
  const [windowMs, evidenceMs] = m.windows;
  const recent = windowMs === undefined ? undefined : m.readings.get(windowMs);
  const ev = evidenceMs === undefined ? undefined : m.readings.get(evidenceMs);
  const evidence =
    evidenceMs === undefined
      ? undefined
      : {
          ...(ev?.counts ?? { total: 0, bad: 0 }),
          windowMs: evidenceMs,
          ...(ev?.baseline ? { baseline: ev.baseline } : {}),
        };
  const extra = evidence ? { evidence } : {};
  if (!recent)
    return { kind: 'nodata', at, ...(windowMs !== undefined ? { windowMs } : {}), ...extra };
  return { kind: 'ok', ...recent, at, ...(windowMs !== undefined ? { windowMs } : {}), ...extra };
}

function sameSub(a: Subscription | undefined, b: Subscription): boolean {
  return (
    !!a &&
    a.namespace === b.namespace &&
    a.workload === b.workload &&
    a.primary === b.primary &&
    a.sinceMs === b.sinceMs &&
    jsonEqual(a.checks, b.checks)
  );
}

export class AnalysisHub {
  private readonly subs = new Map<string, Subscription>();
  private readonly samples = new Map<string, Map<string, AnalysisSample>>();
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

  /** The latest sample of each of the rollout's checks that has one. */
  latest(rolloutKey: string): AnalysisSamples | undefined {
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
    const scrape = this.o.scrape;
    if (scrape) {
      const series = [...subs.values()].flatMap((s) => s.checks.map((c) => checkOf(c).scraped(c)));
      await scrape.refresh(series);
    }
    const now = this.now();
    const groups = new Map<string, Batch>();
    const measured: Measuring[] = [];
    for (const [key, sub] of subs) {
      for (const check of sub.checks) {
        const age = sub.sinceMs === undefined ? undefined : now - sub.sinceMs;
        const c = checkOf(check);
        const windows = c.windows(check, age, scrape?.minWindowMs(c.scraped(check)) ?? 0);
        if (windows.length === 0) {
          // Too young to measure without reaching back before the release started.
          const alive = Math.max(0, Math.floor((age ?? 0) / 1000) * 1000);
          this.deliver({ key, sub, check }, { kind: 'nodata', at: now, windowMs: alive });
          continue;
        }
        const m: Measuring = { key, sub, check, windows, readings: new Map() };
        measured.push(m);
        const batchKey = checkOf(check).batchKey(check, workloadOf(sub));
        for (const windowMs of windows) {
          const k = `${batchKey}\u0000${windowMs}`;
          let g = groups.get(k);
          if (!g) groups.set(k, (g = { windowMs, entries: [] }));
          g.entries.push(m);
        }
      }
    }
    const size = this.o.batchSize ?? 250;
    const batches: Batch[] = [];
    for (const g of groups.values())
      for (let i = 0; i < g.entries.length; i += size)
        batches.push({ windowMs: g.windowMs, entries: g.entries.slice(i, i + size) });
    await Promise.all(batches.map((b) => this.measure(b)));
    for (const m of measured) this.deliver(m, sampleOf(m, now));
  }

  /** Measures one window for a batch; each entry keeps its reading, or the error. */
  private async measure(batch: Batch): Promise<void> {
    const first = batch.entries[0];
    if (!first) return;
    const check = checkOf(first.check);
    const workloads: Workload[] = batch.entries.map((e) => workloadOf(e.sub));
    let readings: ReadonlyMap<string, Measurement>;
    try {
      const q = check.query(first.check, workloads, batch.windowMs);
      this.queriesIssued++;
      readings = check.read(await this.o.prometheus.query(q), batch.windowMs, workloads);
    } catch (e) {
      const message = errorMessage(e);
      this.o.logger.warn(`${check.type} query failed`, {
        error: message,
        rollouts: batch.entries.length,
      });
      for (const entry of batch.entries) entry.error ??= message;
      return;
    }
    const scrapeMs = this.o.scrape?.intervalMs?.(check.scraped(first.check));
    for (const [i, entry] of batch.entries.entries()) {
      const w = workloads[i];
      const m = w ? readings.get(workloadKey(w)) : undefined;
      entry.readings.set(batch.windowMs, m && deflated(m, batch.windowMs, scrapeMs));
    }
  }

  private deliver(entry: Entry, sample: AnalysisSample): void {
    // A rollout unsubscribed (or re-subscribed differently) while the query ran gets nothing.
    if (this.subs.get(entry.key) !== entry.sub) return;
    let mine = this.samples.get(entry.key);
    if (!mine) this.samples.set(entry.key, (mine = new Map<string, AnalysisSample>()));
    const first = !mine.has(entry.check.name);
    mine.set(entry.check.name, sample);
    try {
      this.o.onSample(entry.key, entry.check, sample, first);
    } catch (e) {
      // One failing consumer must not cost the other rollouts their samples.
      this.o.logger.error('analysis sample handler failed', {
        rollout: entry.key,
        error: errorMessage(e),
      });
    }
  }
}
