// PromQL for the canary's HTTP success rate, built only from validated names so no
// label value can break out of its string.

import { ErrorCode, SteererError } from './errors.js';
import { promDuration } from './duration.js';

const SAFE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface Workload {
  namespace: string;
  name: string;
}

function assertSafe(value: string, what: string, pattern: RegExp): void {
  if (!pattern.test(value)) {
    throw new SteererError(
      ErrorCode.Invalid,
      `${what} ${JSON.stringify(value)} cannot be used in a query`,
    );
  }
}

/** A PromQL double-quoted string literal. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function regexAlternatives(values: readonly string[]): string {
  return [...new Set(values)]
    .sort()
    .map((v) => v.replace(/\./g, '\\.'))
    .join('|');
}

export const SERIES_LABEL = 'steerer_series';

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
  assertSafe(metric, 'metric name', METRIC);
  if (workloads.length === 0) throw new SteererError(ErrorCode.Invalid, 'no workloads to query');
  for (const w of workloads) {
    assertSafe(w.namespace, 'namespace', SAFE_NAME);
    assertSafe(w.name, 'workload name', SAFE_NAME);
  }
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
  assertSafe(metric, 'metric name', METRIC);
  assertSafe(w.namespace, 'namespace', SAFE_NAME);
  assertSafe(w.name, 'workload name', SAFE_NAME);
  const sel = `reporter="destination",destination_workload_namespace=${promString(w.namespace)},destination_workload=${promString(w.name)}`;
  const range = `[${promDuration(windowMs)}]`;
  return `sum(rate(${metric}{${sel},response_code!~"5.."}${range})) / sum(rate(${metric}{${sel}}${range})) * 100`;
}
