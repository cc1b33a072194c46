// The seam between Steerer and a kind of canary check. A MetricCheck knows how to measure
// many canaries with one Prometheus query (batch key, query, reading one workload's
// answer) and how to judge one measurement against its spec, with the sentence users
// read. The analysis hub batches and schedules; the planner's analysis gate asks the check
// for the verdict. A new check is one file beside success-rate.ts and one entry in index.ts.

import type { AnalysisStatus, HaltReason } from '../rollout.js';
import type { Workload } from './promql.js';
import type { Counts } from './stats.js';

/** "namespace/name": how a check's readings are keyed (by the canary). */
export function workloadKey(w: Workload): string {
  return `${w.namespace}/${w.name}`;
}

/** One series of a Prometheus instant vector. */
export interface Sample {
  labels: Record<string, string>;
  /** NaN and ±Inf are kept as such; checks decide what they mean. */
  value: number;
}

/** What a check measured for one canary over one window. */
export interface Measurement {
  /** In the check's unit (percent for the success rate). NaN when undefined. */
  value: number;
  /** Requests per second behind the value over the window. */
  requestRate: number;
  /** Requests and bad ones (errors, slow requests) in the window, for checks that count. */
  counts?: Counts;
  /** The same for the primary, for checks that compare the canary with it. */
  baseline?: Counts;
  /** Why the answer cannot be judged (several series, NaN, ±Inf): never a pass. */
  problem?: string;
}

/**
 * The latest measurement of one check of a canary. `windowMs` is the window actually
 * measured: the spec's, or less early in a release, so data from a previous revision
 * never counts for the current one. `evidence` is the same over the longest window the
 * release has lived through (up to 16 times the spec's, or an hour): what a check needs to pass at
 * low traffic.
 */
export type AnalysisSample =
  | {
      kind: 'ok';
      value: number;
      requestRate: number;
      at: number;
      windowMs?: number;
      counts?: Counts;
      baseline?: Counts;
      evidence?: Evidence;
      problem?: string;
    }
  | { kind: 'nodata'; at: number; windowMs?: number; evidence?: Evidence }
  | { kind: 'error'; message: string; at: number };

/** Counts over the evidence window (and the primary's, for checks that compare with it). */
export type Evidence = Counts & { windowMs: number; baseline?: Counts };

/** A sample with data, or none in its window: what a check judges. */
export type JudgedSample = Exclude<AnalysisSample, { kind: 'error' }>;

/**
 * What a pass lets the release do next, which sets how much evidence it needs: a step to
 * a larger weight, or the promotion (the canary's template becomes the primary's for all
 * traffic, for good). Unknown: judged as a promotion, the strictest.
 */
export type Stage = { kind: 'step'; nextWeight: number } | { kind: 'promotion' };

/** `confidence`: the confidence the verdict was reached at, for status. */
export type Verdict =
  | { kind: 'pass'; message?: string; confidence?: number }
  | { kind: 'fail'; reason: HaltReason; message: string; detail?: string; confidence?: number }
  /** Not enough requests seen to say either: the release waits, neither advancing nor halting. */
  | { kind: 'wait'; message: string; needed?: number; confidence?: number };

/** What every check's spec has. */
export interface CheckSpecBase {
  type: string;
  /** Unique among a Rollout's checks; keys its samples. */
  name: string;
  /** The window measured, as written (e.g. "1m"). */
  interval: string;
  intervalMs: number;
}

export interface MetricCheck<S extends CheckSpecBase> {
  readonly type: S['type'];
  /** Specs with equal keys (and windows) are measured by one query. */
  batchKey(spec: S, workload: Workload): string;
  /**
   * The windows to measure for a release `ageMs` old (undefined: no start known): the
   * spec's window (or the release's age, when younger) first, then the evidence window,
   * if the check uses one. Empty while the release is too young to measure. A spec window
   * shorter than `minWindowMs` (three scrapes) is widened to it.
   */
  windows(spec: S, ageMs: number | undefined, minWindowMs?: number): number[];
  /**
   * The series whose scrape interval bounds the window from below (a rate needs samples
   * from several scrapes), or undefined when the check cannot tell (a custom query).
   */
  scraped(spec: S): string | undefined;
  /** One query measuring every workload over `windowMs`. */
  query(spec: S, workloads: readonly Workload[], windowMs: number): string;
  /**
   * The measurements in the query's answer, by workloadKey. A workload that is absent
   * had no data in the window.
   */
  read(
    samples: readonly Sample[],
    windowMs: number,
    workloads: readonly Workload[],
  ): ReadonlyMap<string, Measurement>;
  /**
   * Whether a sample passes, fails (the sentence a halt shows), or must wait for requests
   * before it lets the release on to `stage`.
   */
  verdict(spec: S, sample: JudgedSample, canary: string, stage?: Stage): Verdict;
  /** What is measured, as messages name it (e.g. the metric istio_requests_total). */
  subject(spec: S): string;
  /** The bound, as status shows it. */
  threshold(spec: S): number;
  /** The fields of status.analysis that show a sample and its verdict. */
  statusFields(spec: S, sample: JudgedSample, verdict: Verdict): Partial<AnalysisStatus>;
  /** A single-workload query users can paste into Prometheus to see what Steerer sees. */
  explain(spec: S, workload: Workload, windowMs: number): string;
}
