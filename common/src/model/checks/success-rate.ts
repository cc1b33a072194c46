// The seed's check: the canary's HTTP success rate, non-5xx over all requests of an Istio
// request counter (reporter="destination") for the canary's workload over the window,
// against a minimum in percent. A workload without requests in the window has no data.

import { ErrorCode, SteererError } from '../errors.js';
import { promDuration } from '../duration.js';
import type { AnalysisStatus } from '../rollout.js';
import {
  METRIC_NAME,
  SERIES_LABEL,
  assertSafe,
  assertSafeWorkload,
  promString,
  regexAlternatives,
} from './promql.js';
import type { Workload } from './promql.js';
import { workloadKey } from './check.js';
import type { CheckSpecBase, Measurement, MetricCheck, Sample, Verdict } from './check.js';

export interface SuccessRateSpec extends CheckSpecBase {
  type: 'success-rate';
  /** The request counter, e.g. istio_requests_total. */
  metric: string;
  /** Minimum success rate, in percent (0–100). */
  threshold: number;
}

/**
 * One query for the success rate and request rate of many workloads sharing a metric
 * and window. Each result series carries `destination_workload_namespace`,
 * `destination_workload` and `steerer_series` ("success" in percent, or "rate" in
 * requests per second). A workload that answered only errors gets success 0, not a
 * missing series; one without requests in the window has no series (no data).
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
  const range = `[${promDuration(windowMs)}]`;
  const total = `${by} (rate(${metric}{${selector}}${range}))`;
  const ok = `${by} (rate(${metric}{${selector},response_code!~"5.."}${range}))`;
  const success = `((${ok} or (0 * ${total})) / ${total} * 100)`;
  return (
    `label_replace(${success}, "${SERIES_LABEL}", "success", "", "")` +
    ` or label_replace(${total}, "${SERIES_LABEL}", "rate", "", "")`
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

export function formatPercent(v: number): string {
  return `${v.toFixed(2)}%`;
}

function readSuccessRates(samples: readonly Sample[]): ReadonlyMap<string, Measurement> {
  const found = new Map<string, { success?: number; rate?: number }>();
  for (const s of samples) {
    const key = workloadKey({
      namespace: s.labels.destination_workload_namespace ?? '',
      name: s.labels.destination_workload ?? '',
    });
    let v = found.get(key);
    if (!v) found.set(key, (v = {}));
    if (s.labels[SERIES_LABEL] === 'success') v.success = s.value;
    else if (s.labels[SERIES_LABEL] === 'rate') v.rate = s.value;
  }
  const out = new Map<string, Measurement>();
  for (const [key, v] of found) {
    // A rate without requests, or a success rate that is not a number, is no data.
    if (v.success === undefined || !Number.isFinite(v.success) || !((v.rate ?? 0) > 0)) continue;
    out.set(key, { value: v.success, requestRate: v.rate ?? 0 });
  }
  return out;
}

export const successRate: MetricCheck<SuccessRateSpec> = {
  type: 'success-rate',
  batchKey: (spec) => `success-rate\u0000${spec.metric}`,
  query: (spec, workloads, windowMs) => successRateQuery(spec.metric, windowMs, workloads),
  read: readSuccessRates,
  verdict(spec, m): Verdict {
    if (m.value >= spec.threshold) return { pass: true };
    return {
      pass: false,
      reason: 'LowSuccessRate',
      message: `success rate ${formatPercent(m.value)} < ${spec.threshold}%`,
    };
  },
  subject: (spec) => spec.metric,
  threshold: (spec) => spec.threshold,
  statusFields(m): Partial<AnalysisStatus> {
    return {
      successRate: Math.round(m.value * 100) / 100,
      requestRate: Math.round(m.requestRate * 1000) / 1000,
    };
  },
  explain: (spec, workload, windowMs) => explainQuery(spec.metric, windowMs, workload),
};
