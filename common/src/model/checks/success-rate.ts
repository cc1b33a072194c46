// The seed's check: the canary's HTTP success rate, non-5xx over all requests of an Istio
// request counter (reporter="destination") for the canary's workload over the window,
// against a minimum in percent. A workload without requests in the window has no data.

import { LIMITS, describe } from '../checker.js';
import type { Json, Checker } from '../checker.js';
import { ErrorCode, SteererError } from '../errors.js';
import { promDuration, tryParseDuration } from '../duration.js';
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

function formatPercent(v: number): string {
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

function metricName(c: Checker, m: Json): string | undefined {
  const name = c.string(m, 'name', 'spec.metric.name');
  if (name !== undefined && name.length > LIMITS.metricNameMaxLength) {
    return c.fail(
      'spec.metric.name',
      `must be at most ${LIMITS.metricNameMaxLength} characters, got ${name.length}`,
    );
  }
  if (name !== undefined && !METRIC_NAME.test(name)) {
    return c.fail(
      'spec.metric.name',
      `${describe(name)} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
    );
  }
  return name;
}

function metricWindow(c: Checker, m: Json): { interval: string; intervalMs: number } | undefined {
  const interval = c.string(m, 'interval', 'spec.metric.interval');
  if (interval === undefined) return undefined;
  const intervalMs = tryParseDuration(interval);
  if (interval.length > LIMITS.intervalMaxLength) {
    return c.fail(
      'spec.metric.interval',
      `must be at most ${LIMITS.intervalMaxLength} characters, got ${interval.length}`,
    );
  }
  if (intervalMs === undefined) {
    return c.fail(
      'spec.metric.interval',
      `${describe(interval)} is not a duration (examples: 30s, 1m, 2m30s)`,
    );
  }
  if (intervalMs < LIMITS.intervalMinMs || intervalMs > LIMITS.intervalMaxMs) {
    return c.fail('spec.metric.interval', `must be between 1s and 24h, got ${interval}`);
  }
  return { interval, intervalMs };
}

/** The seed's spec.metric: the success-rate check. */
export function successRateFromMetric(c: Checker, input: Json): SuccessRateSpec | undefined {
  const m = c.object(input, 'metric', 'spec.metric');
  if (!m) return undefined;
  if (m.type !== 'counter') {
    c.fail(
      'spec.metric.type',
      m.type === undefined ? 'required (counter)' : `must be "counter", got ${describe(m.type)}`,
    );
  }
  const metric = metricName(c, m);
  const window = metricWindow(c, m);
  const threshold = c.number(m, 'threshold', 'spec.metric.threshold', 0, 100, false);
  if (metric === undefined || window === undefined || threshold === undefined) return undefined;
  if (m.type !== 'counter') return undefined;
  return { type: 'success-rate', name: 'success-rate', metric, ...window, threshold };
}
