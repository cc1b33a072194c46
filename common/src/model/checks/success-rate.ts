// The seed's check: the canary's HTTP success rate, non-5xx over all requests of an Istio
// request counter (reporter="destination") for the canary's workload over the window,
// against a minimum in percent — judged on counts (counting.ts, stats.ts): a halt needs the
// errors to be beyond chance, a pass needs enough requests, and otherwise the release waits.

import { ErrorCode, SteererError } from '../errors.js';
import { promDuration } from '../duration.js';
import type { AnalysisStatus } from '../rollout.js';
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
import type { CheckSpecBase, JudgedSample, MetricCheck, Stage, Verdict } from './check.js';
import { countingVerdict, countingWindows, evidenceFields, readCounts } from './counting.js';
import type { JudgementPolicy } from './stats.js';

export interface SuccessRateSpec extends CheckSpecBase {
  type: 'success-rate';
  /** The request counter, e.g. istio_requests_total. */
  metric: string;
  /** Minimum success rate, in percent (0–100). */
  threshold: number;
}

/**
 * One query for the requests and 5xx errors of many workloads sharing a metric and window,
 * as counts (increase over the window). Each result series carries
 * `destination_workload_namespace`, `destination_workload` and `steerer_series` ("total" or
 * "bad"). A workload that answered only errors has bad = total; one without requests in the
 * window has no series (no data).
 */
export function successRateQuery(
  metric: string,
  windowMs: number,
  workloads: readonly Workload[],
): string {
  assertSafe(metric, 'metric name', METRIC_NAME);
  if (workloads.length === 0) throw new SteererError(ErrorCode.Invalid, 'no workloads to query');
  for (const w of workloads) assertSafeWorkload(w);
  const namespaces = regexAlternatives(workloads.map((w) => w.namespace));
  const names = regexAlternatives(workloads.map((w) => w.name));
  const selector = `reporter="destination",destination_workload_namespace=~${promString(namespaces)},destination_workload=~${promString(names)}`;
  const by = 'sum by (destination_workload_namespace, destination_workload)';
  const range = promDuration(windowMs);
  const total = `${by} ${countedIncrease(`${metric}{${selector}}`, range)}`;
  const bad = `${by} ${countedIncrease(`${metric}{${selector},response_code=~"5.."}`, range)}`;
  return (
    `label_replace(${total}, "${SERIES_LABEL}", "total", "", "")` +
    ` or label_replace((${bad} or (0 * ${total})), "${SERIES_LABEL}", "bad", "", "")`
  );
}

/** The single-workload form users can paste into Prometheus to see what Steerer sees. */
export function explainQuery(metric: string, windowMs: number, w: Workload): string {
  assertSafe(metric, 'metric name', METRIC_NAME);
  assertSafeWorkload(w);
  const sel = `reporter="destination",destination_workload_namespace=${promString(w.namespace)},destination_workload=${promString(w.name)}`;
  const range = `[${promDuration(windowMs)}]`;
  return `sum(rate(${metric}{${sel},response_code!~"5.."}${range})) / sum(rate(${metric}{${sel}}${range})) * 100`;
}

function formatPercent(v: number): string {
  return `${v.toFixed(2)}%`;
}

/**
 * The statistics of the verdict: halt only at 99.9% confidence that the error rate is
 * above 100 − threshold; pass once the evidence shows it below at 80% confidence.
 */
export const SUCCESS_RATE_FAIL_ALPHA = 0.001;
export const SUCCESS_RATE_PASS_CONFIDENCE = 0.8;

function policyOf(spec: SuccessRateSpec): JudgementPolicy {
  return {
    bound: Math.max(0, (100 - spec.threshold) / 100),
    failAlpha: SUCCESS_RATE_FAIL_ALPHA,
    passConfidence: SUCCESS_RATE_PASS_CONFIDENCE,
  };
}

/** A sample without counts (from an older controller, or a test): the seed's comparison. */
function legacyVerdict(spec: SuccessRateSpec, value: number): Verdict {
  if (value >= spec.threshold) return { kind: 'pass' };
  return {
    kind: 'fail',
    reason: 'LowSuccessRate',
    message: `success rate ${formatPercent(value)} < ${spec.threshold}%`,
  };
}

function verdict(
  spec: SuccessRateSpec,
  sample: JudgedSample,
  canary: string,
  stage?: Stage,
): Verdict {
  const legacy = sample.kind === 'ok' && !sample.counts && !sample.evidence;
  if (legacy && Number.isFinite(sample.value)) return legacyVerdict(spec, sample.value);
  return countingVerdict(
    sample,
    policyOf(spec),
    {
      canary,
      reason: 'LowSuccessRate',
      bad: 'errors',
      windowMs: spec.intervalMs,
      failMessage: (good) => `success rate ${formatPercent(good)} < ${spec.threshold}%`,
    },
    stage,
  ).verdict;
}

function statusFields(
  spec: SuccessRateSpec,
  sample: JudgedSample,
  v: Verdict,
): Partial<AnalysisStatus> {
  const out: Partial<AnalysisStatus> = {};
  if (sample.kind === 'ok' && Number.isFinite(sample.value)) {
    out.successRate = Math.round(sample.value * 100) / 100;
    out.requestRate = Math.round(sample.requestRate * 1000) / 1000;
  }
  if (sample.kind === 'ok' && !sample.counts && !sample.evidence) return out;
  return { ...out, ...evidenceFields(sample, spec.intervalMs, v, SUCCESS_RATE_PASS_CONFIDENCE) };
}

export const successRate: MetricCheck<SuccessRateSpec> = {
  type: 'success-rate',
  batchKey: (spec) => `success-rate\u0000${spec.metric}`,
  windows: (spec, ageMs, minWindowMs = 0) =>
    countingWindows(Math.max(spec.intervalMs, minWindowMs), ageMs),
  scraped: (spec) => spec.metric,
  query: (spec, workloads, windowMs) => successRateQuery(spec.metric, windowMs, workloads),
  read: readCounts,
  verdict,
  subject: (spec) => spec.metric,
  threshold: (spec) => spec.threshold,
  statusFields,
  explain: (spec, workload, windowMs) => explainQuery(spec.metric, windowMs, workload),
};
