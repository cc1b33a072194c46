// A latency bound: "p99 at most 500 ms" is "at most 1% of requests slower than 500 ms", so
// the check counts slow requests in Istio's request-duration histogram (the bucket at the
// bound against all requests) and judges them like errors: halt only when the canary is
// slower beyond reasonable doubt, pass once enough requests show it is within the bound.

import { formatDuration, promDuration } from '../duration.js';
import type { AnalysisStatus } from '../rollout.js';
import type { CheckSpecBase, JudgedSample, MetricCheck, Stage, Verdict } from './check.js';
import { countingVerdict, countingWindows, evidenceFields, readCounts } from './counting.js';
import {
  METRIC_NAME,
  SERIES_LABEL,
  assertSafe,
  assertSafeWorkload,
  countedIncrease,
  promString,
  regexAlternatives,
} from './promql.js';
import type { Workload } from './promql.js';
import type { JudgementPolicy } from './stats.js';

export interface LatencySpec extends CheckSpecBase {
  type: 'latency';
  /** The histogram's base name, e.g. istio_request_duration_milliseconds. */
  metric: string;
  /** The percentile bounded, in percent: 99 for p99. */
  percentile: number;
  /** The bound, in milliseconds. */
  maxMs: number;
}

/** Istio's default request-duration buckets (milliseconds). */
export const ISTIO_DURATION_BUCKETS_MS = [
  1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
] as const;

/**
 * The bucket boundary the bound is counted at: the bound itself when it is one, else the
 * largest boundary below it (stricter: requests between the two count as slow).
 */
export function bucketAt(maxMs: number): number {
  let le: number = ISTIO_DURATION_BUCKETS_MS[0];
  for (const b of ISTIO_DURATION_BUCKETS_MS) if (b <= maxMs) le = b;
  return le;
}

/** Requests and slow requests (slower than the bucket at `maxMs`) of many workloads. */
export function latencyQuery(
  metric: string,
  maxMs: number,
  windowMs: number,
  workloads: readonly Workload[],
): string {
  assertSafe(metric, 'metric name', METRIC_NAME);
  for (const w of workloads) assertSafeWorkload(w);
  const namespaces = regexAlternatives(workloads.map((w) => w.namespace));
  const names = regexAlternatives(workloads.map((w) => w.name));
  const selector = `reporter="destination",destination_workload_namespace=~${promString(namespaces)},destination_workload=~${promString(names)}`;
  const by = 'sum by (destination_workload_namespace, destination_workload)';
  const range = promDuration(windowMs);
  const total = `${by} ${countedIncrease(`${metric}_bucket{${selector},le="+Inf"}`, range)}`;
  const fast = `${by} ${countedIncrease(`${metric}_bucket{${selector},le="${bucketAt(maxMs)}"}`, range)}`;
  return (
    `label_replace(${total}, "${SERIES_LABEL}", "total", "", "")` +
    ` or label_replace((${total} - (${fast} or (0 * ${total}))), "${SERIES_LABEL}", "bad", "", "")`
  );
}

export const LATENCY_FAIL_ALPHA = 0.001;
export const LATENCY_PASS_CONFIDENCE = 0.8;

function policyOf(spec: LatencySpec): JudgementPolicy {
  return {
    bound: Math.max(0, (100 - spec.percentile) / 100),
    failAlpha: LATENCY_FAIL_ALPHA,
    passConfidence: LATENCY_PASS_CONFIDENCE,
  };
}

function slowPercent(good: number): string {
  return `${(100 - good).toFixed(2)}%`;
}

function verdict(spec: LatencySpec, sample: JudgedSample, canary: string, stage?: Stage): Verdict {
  const le = bucketAt(spec.maxMs);
  return countingVerdict(
    sample,
    policyOf(spec),
    {
      canary,
      reason: 'HighLatency',
      bad: `requests slower than ${formatDuration(le)}`,
      windowMs: spec.intervalMs,
      failMessage: (good) =>
        `latency p${spec.percentile} > ${formatDuration(spec.maxMs)}: ${slowPercent(good)} of requests slower than ${formatDuration(le)}, at most ${(100 - spec.percentile).toFixed(2)}% allowed`,
    },
    stage,
  ).verdict;
}

function statusFields(
  spec: LatencySpec,
  sample: JudgedSample,
  v: Verdict,
): Partial<AnalysisStatus> {
  const out = evidenceFields(sample, spec.intervalMs, v, LATENCY_PASS_CONFIDENCE);
  if (sample.kind === 'ok' && Number.isFinite(sample.value)) {
    out.value = Math.round((100 - sample.value) * 100) / 100;
    out.unit = `% slower than ${formatDuration(bucketAt(spec.maxMs))}`;
    out.requestRate = Math.round(sample.requestRate * 1000) / 1000;
  }
  return out;
}

export const latency: MetricCheck<LatencySpec> = {
  type: 'latency',
  batchKey: (spec) => `latency\u0000${spec.metric}\u0000${bucketAt(spec.maxMs)}`,
  windows: (spec, ageMs, minWindowMs = 0) =>
    countingWindows(Math.max(spec.intervalMs, minWindowMs), ageMs),
  scraped: (spec) => `${spec.metric}_bucket`,
  query: (spec, workloads, windowMs) => latencyQuery(spec.metric, spec.maxMs, windowMs, workloads),
  read: readCounts,
  verdict,
  subject: (spec) => spec.metric,
  threshold: (spec) => spec.maxMs,
  statusFields,
  explain: (spec, w, windowMs) => {
    assertSafe(spec.metric, 'metric name', METRIC_NAME);
    assertSafeWorkload(w);
    const sel = `reporter="destination",destination_workload_namespace=${promString(w.namespace)},destination_workload=${promString(w.name)}`;
    return `histogram_quantile(${spec.percentile / 100}, sum by (le) (rate(${spec.metric}_bucket{${sel}}[${promDuration(windowMs)}])))`;
  },
};
