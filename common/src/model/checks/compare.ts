// Comparison with the primary: the canary's error rate may exceed the primary's, measured
// over the same window, by at most a margin (percentage points). Both are counted in one
// query; the difference of the two proportions is judged like a single one: halt only when
// the canary is worse by more than the margin beyond reasonable doubt, pass once enough
// requests show it is within the margin, and otherwise wait.

import { formatDuration, promDuration } from '../duration.js';
import type { AnalysisStatus } from '../rollout.js';
import type {
  CheckSpecBase,
  JudgedSample,
  Measurement,
  MetricCheck,
  Sample,
  Stage,
  Verdict,
} from './check.js';
import { workloadKey } from './check.js';
import { countingWindows, readCounts } from './counting.js';
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
import { normalQuantile } from './stats.js';
import type { Counts } from './stats.js';

export interface PrimaryComparisonSpec extends CheckSpecBase {
  type: 'primary-comparison';
  /** The request counter, e.g. istio_requests_total. */
  metric: string;
  /** How much higher the canary's error rate may be, in percentage points. */
  marginPercent: number;
}

export const COMPARISON_FAIL_CONFIDENCE = 0.999;
export const COMPARISON_PASS_CONFIDENCE = 0.8;
/** The promotion's confidence that the difference is within the margin (one look's). */
export const COMPARISON_PROMOTION_CONFIDENCE = 0.95;

/** Requests and errors of canaries and their primaries, in one query. */
export function comparisonQuery(
  metric: string,
  windowMs: number,
  workloads: readonly Workload[],
): string {
  assertSafe(metric, 'metric name', METRIC_NAME);
  for (const w of workloads) assertSafeWorkload(w);
  const namespaces = regexAlternatives(workloads.map((w) => w.namespace));
  const names = regexAlternatives(
    workloads.flatMap((w) => [w.name, ...(w.primary ? [w.primary] : [])]),
  );
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

/** Each canary's counts with its primary's as the baseline. */
function readPairs(
  samples: readonly Sample[],
  windowMs: number,
  workloads: readonly Workload[],
): ReadonlyMap<string, Measurement> {
  const all = readCounts(samples, windowMs);
  const out = new Map<string, Measurement>();
  for (const w of workloads) {
    const canary = all.get(workloadKey(w));
    if (!canary) continue;
    const primary = w.primary
      ? all.get(workloadKey({ namespace: w.namespace, name: w.primary }))
      : undefined;
    out.set(workloadKey(w), {
      ...canary,
      ...(primary?.counts ? { baseline: primary.counts } : {}),
    });
  }
  return out;
}

function rate(c: Counts): number {
  return c.total > 0 ? c.bad / c.total : 0;
}

/** The difference of error rates (canary − primary) and its standard error. */
function difference(canary: Counts, primary: Counts): { d: number; se: number } {
  // A pseudo-count keeps the standard error honest at zero errors.
  const p1 = (canary.bad + 0.5) / (canary.total + 1);
  const p2 = (primary.bad + 0.5) / (primary.total + 1);
  const se = Math.sqrt(
    (p1 * (1 - p1)) / Math.max(1, canary.total) + (p2 * (1 - p2)) / Math.max(1, primary.total),
  );
  return { d: rate(canary) - rate(primary), se };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** The canary's and the primary's counts over one window, when both had requests. */
interface Pair {
  canary: Counts;
  primary: Counts;
  windowMs: number;
}

/**
 * The pair to judge: the recent window's, or the evidence window's when the recent one
 * lacks requests on either side (at weight 100 the primary gets none: the comparison then
 * rests on the release's earlier requests).
 */
function pairOf(sample: JudgedSample, specWindowMs: number): Pair | undefined {
  const windowMs = sample.windowMs ?? specWindowMs;
  if (sample.kind === 'ok' && sample.counts && sample.baseline) {
    const pair = { canary: sample.counts, primary: sample.baseline, windowMs };
    if (pair.canary.total > 0 && pair.primary.total > 0) return pair;
  }
  const e = sample.evidence;
  if (e?.baseline && e.total > 0 && e.baseline.total > 0) {
    return { canary: { total: e.total, bad: e.bad }, primary: e.baseline, windowMs: e.windowMs };
  }
  return undefined;
}

function verdict(
  spec: PrimaryComparisonSpec,
  sample: JudgedSample,
  canary: string,
  stage?: Stage,
): Verdict {
  const confidence =
    stage?.kind === 'step' ? COMPARISON_PASS_CONFIDENCE : COMPARISON_PROMOTION_CONFIDENCE;
  const pair = pairOf(sample, spec.intervalMs);
  const over = formatDuration(sample.evidence?.windowMs ?? sample.windowMs ?? spec.intervalMs);
  if (!pair) {
    const c = sample.kind === 'ok' ? sample.counts : undefined;
    return c && c.total > 0
      ? {
          kind: 'wait',
          confidence,
          message: `waiting for requests to the primary of ${canary} to compare with (none over the last ${over})`,
        }
      : {
          kind: 'wait',
          confidence,
          message: `waiting for requests to ${canary}: none seen over the last ${over}`,
        };
  }
  const { canary: c, primary: p } = pair;
  const margin = spec.marginPercent / 100;
  const { d, se } = difference(c, p);
  const words = `error rate ${pct(rate(c))} vs the primary's ${pct(rate(p))}`;
  if (d - normalQuantile(COMPARISON_FAIL_CONFIDENCE) * se > margin) {
    return {
      kind: 'fail',
      reason: 'WorseThanPrimary',
      message: `${words}: more than ${spec.marginPercent} points worse`,
      detail: `${Math.round(c.bad)} errors in ${Math.round(c.total)} requests against ${Math.round(p.bad)} in ${Math.round(p.total)} over ${formatDuration(pair.windowMs)}`,
      confidence: COMPARISON_FAIL_CONFIDENCE,
    };
  }
  if (d + normalQuantile(confidence) * se <= margin) return { kind: 'pass', confidence };
  return {
    kind: 'wait',
    confidence,
    message: `waiting for more requests to ${canary} to compare with the primary (${words}, margin ${spec.marginPercent} points)`,
  };
}

export const primaryComparison: MetricCheck<PrimaryComparisonSpec> = {
  type: 'primary-comparison',
  batchKey: (spec) => `primary-comparison\u0000${spec.metric}`,
  windows: (spec, ageMs, minWindowMs = 0) =>
    countingWindows(Math.max(spec.intervalMs, minWindowMs), ageMs),
  scraped: (spec) => spec.metric,
  query: (spec, workloads, windowMs) => comparisonQuery(spec.metric, windowMs, workloads),
  read: readPairs,
  verdict,
  subject: (spec) => spec.metric,
  threshold: (spec) => spec.marginPercent,
  statusFields: (_spec, sample, v): Partial<AnalysisStatus> => {
    if (sample.kind !== 'ok' || !sample.counts) return {};
    const out: Partial<AnalysisStatus> = {
      ...(v.confidence !== undefined ? { confidence: v.confidence } : {}),
      samples: Math.round(sample.counts.total),
      failures: Math.round(sample.counts.bad),
      value: Math.round(rate(sample.counts) * 10_000) / 100,
      unit: '% errors',
    };
    if (sample.baseline) out.baselineValue = Math.round(rate(sample.baseline) * 10_000) / 100;
    return out;
  },
  explain: (spec, w, windowMs) => {
    const one = (name: string): string => {
      const sel = `reporter="destination",destination_workload_namespace=${promString(w.namespace)},destination_workload=${promString(name)}`;
      const range = `[${promDuration(windowMs)}]`;
      return `(sum(rate(${spec.metric}{${sel},response_code=~"5.."}${range})) / sum(rate(${spec.metric}{${sel}}${range})))`;
    };
    assertSafeWorkload(w);
    return `${one(w.name)} - ${one(w.primary ?? w.name)}`;
  },
};
