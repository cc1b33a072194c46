// The seam between Steerer and a kind of canary check. A MetricCheck knows how to measure
// many canaries with one Prometheus query (batch key, query, reading one workload's
// answer) and how to judge one measurement against its spec, with the sentence users
// read. The analysis hub batches and schedules; the planner's analysis gate asks the check
// for the verdict. A new check is one file beside success-rate.ts and one entry in index.ts.

import type { AnalysisStatus, HaltReason } from '../rollout.js';
import type { Workload } from './promql.js';

/** "namespace/name": how a check's readings are keyed. */
export function workloadKey(w: Workload): string {
  return `${w.namespace}/${w.name}`;
}

/** One series of a Prometheus instant vector. */
export interface Sample {
  labels: Record<string, string>;
  /** NaN and ±Inf are kept as such; checks decide what they mean. */
  value: number;
}

/** What a check measured for one canary. */
export interface Measurement {
  /** In the check's unit (percent for the success rate). NaN when undefined. */
  value: number;
  /** Requests per second behind the value over the window. */
  requestRate: number;
}

/**
 * The latest measurement of one check of a canary. `windowMs` is the window actually
 * measured: the spec's, or less early in a release, so data from a previous revision
 * never counts for the current one.
 */
export type AnalysisSample =
  | { kind: 'ok'; value: number; requestRate: number; at: number; windowMs?: number }
  | { kind: 'nodata'; at: number; windowMs?: number }
  | { kind: 'error'; message: string; at: number };

export type Verdict = { pass: true } | { pass: false; reason: HaltReason; message: string };

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
  batchKey(spec: S): string;
  /** One query measuring every workload over `windowMs`. */
  query(spec: S, workloads: readonly Workload[], windowMs: number): string;
  /**
   * The measurements in the query's answer, by workloadKey. A workload that is absent
   * had no data in the window.
   */
  read(samples: readonly Sample[]): ReadonlyMap<string, Measurement>;
  /** Whether a measurement passes, and if not, the sentence a halt shows. */
  verdict(spec: S, m: Measurement): Verdict;
  /** What is measured, as messages name it (e.g. the metric istio_requests_total). */
  subject(spec: S): string;
  /** The bound, as status shows it. */
  threshold(spec: S): number;
  /** The fields of status.analysis that show a measurement. */
  statusFields(m: Measurement): Partial<AnalysisStatus>;
  /** A single-workload query users can paste into Prometheus to see what Steerer sees. */
  explain(spec: S, workload: Workload, windowMs: number): string;
}
