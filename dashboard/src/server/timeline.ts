// The timeline of a release: which range to show, the PromQL for each line (the canary's
// weight, both sides' request rates, and every check measured for the canary and, the same
// way, for the primary), and the answers laid on one time axis. Pure, apart from the
// injected range client in `loadTimeline`.

import {
  IN_FLIGHT_PHASES,
  assertSafeWorkload,
  checkOf,
  explainQuery,
  inPhases,
  phaseOf,
  promDuration,
  promString,
  renderQuery,
  tryParseDuration,
  validateRolloutSpec,
} from '@steerer/common/model';
import type { CheckSpec, RolloutSpec, Workload } from '@steerer/common/model';
import type { CheckSeries, RolloutView, Timeline, Values } from '../shared/api.js';
import type { RangeClient, RangeSeries } from './prometheus.js';

/** At most this many points per line. */
export const MAX_POINTS = 240;
/** The longest range shown. */
export const MAX_RANGE_S = 6 * 3600;
/** Without a release in the last hour: this much of the recent past. */
export const DEFAULT_RANGE_S = 15 * 60;
/** The request-rate lines' window: short enough to see each step, long enough for two scrapes. */
export const TRAFFIC_WINDOW_S = 30;

export interface TimeRange {
  start: number;
  end: number;
  step: number;
  range: string;
}

/** One recorded weight: when (ms) the dashboard saw the Rollout at this weight. */
export interface WeightPoint {
  at: number;
  weight: number;
}

function seconds(time: string | undefined): number | undefined {
  const at = time === undefined ? NaN : Date.parse(time);
  return Number.isNaN(at) ? undefined : at / 1000;
}

/** The range to show at `nowMs`: the current release, else the last one if recent. */
export function timeRange(rollout: RolloutView, nowMs: number): TimeRange {
  const now = nowMs / 1000;
  const s = rollout.status ?? {};
  const started = seconds(s.startTime);
  const inFlight = inPhases(phaseOf(s), IN_FLIGHT_PHASES);
  let start: number;
  let range: string;
  if (started !== undefined && inFlight) {
    start = Math.max(started - 30, now - MAX_RANGE_S);
    range = 'the current release';
  } else if (started !== undefined && now - started < 3600) {
    start = started - 30;
    range = 'the last release';
  } else {
    start = now - DEFAULT_RANGE_S;
    range = 'the last 15 minutes';
  }
  start = Math.min(start, now - 60);
  const step = Math.max(1, Math.ceil((now - start) / MAX_POINTS));
  return {
    start: Math.floor(start / step) * step,
    end: Math.ceil(now / step) * step,
    step,
    range,
  };
}

export interface LineQueries {
  canary: string;
  primary: string;
}

/** How the panel of one check is drawn and what it queries. */
export interface CheckPlan extends Omit<CheckSeries, 'canary' | 'primary' | 'error'> {
  queries: LineQueries;
}

function workloads(spec: RolloutSpec, namespace: string): { canary: Workload; primary: Workload } {
  const canary = { namespace, name: spec.canary.name, primary: spec.primary.name };
  const primary = { namespace, name: spec.primary.name, primary: spec.primary.name };
  assertSafeWorkload(canary);
  return { canary, primary };
}

function errorRate(metric: string, windowMs: number, w: Workload): string {
  return `100 - (${explainQuery(metric, windowMs, w)})`;
}

/** The panel of one check: its lines' queries, title, unit and bound. */
export function checkPlan(
  check: CheckSpec,
  spec: RolloutSpec,
  namespace: string,
  windowMs: number,
): CheckPlan {
  const { canary, primary } = workloads(spec, namespace);
  const both = (f: (w: Workload) => string): LineQueries => ({
    canary: f(canary),
    primary: f(primary),
  });
  const explain = (w: Workload): string => checkOf(check).explain(check, w, windowMs);
  const base = { name: check.name, type: check.type };
  switch (check.type) {
    case 'success-rate':
      return {
        ...base,
        title: 'success rate (%)',
        unit: '%',
        min: check.threshold,
        queries: both(explain),
      };
    case 'latency':
      return {
        ...base,
        title: `p${check.percentile} latency (ms)`,
        unit: 'ms',
        max: check.maxMs,
        queries: both(explain),
      };
    case 'promql':
      return {
        ...base,
        title: check.name,
        unit: '',
        min: check.min,
        max: check.max,
        // The primary's line: the same query with the primary's name in place of the canary's.
        queries: {
          canary: renderQuery(check.query, canary, windowMs),
          primary: renderQuery(check.query, { ...primary, name: spec.primary.name }, windowMs),
        },
      };
    case 'primary-comparison':
      return {
        ...base,
        title: 'error rate (%)',
        unit: '%',
        marginOverPrimary: check.marginPercent,
        queries: both((w) => errorRate(check.metric, windowMs, w)),
      };
  }
}

/** The request metric of the Rollout's counting checks (istio_requests_total by default). */
export function trafficMetric(spec: RolloutSpec): string {
  for (const c of spec.checks) {
    if (c.type === 'success-rate' || c.type === 'primary-comparison') return c.metric;
  }
  return 'istio_requests_total';
}

export function trafficQueries(spec: RolloutSpec, namespace: string, windowS: number): LineQueries {
  const metric = trafficMetric(spec);
  const one = (name: string): string =>
    `sum(rate(${metric}{reporter="destination",destination_workload_namespace=${promString(namespace)},destination_workload=${promString(name)}}[${promDuration(windowS * 1000)}]))`;
  return { canary: one(spec.canary.name), primary: one(spec.primary.name) };
}

export function weightQuery(namespace: string, name: string): string {
  return `max(steerer_rollout_canary_weight{namespace=${promString(namespace)},name=${promString(name)}})`;
}

/** The window a check is drawn with: its own, as widened in status, and at least one step. */
export function checkWindowMs(check: CheckSpec, rollout: RolloutView, stepS: number): number {
  const a = rollout.status?.analysis;
  const measured =
    a && (a.check ?? 'success-rate') === check.name ? (tryParseDuration(a.window) ?? 0) : 0;
  return Math.max(check.intervalMs, measured, stepS * 1000);
}

/** The time axis of a range: start to end by step, in seconds. */
export function axis(r: Pick<TimeRange, 'start' | 'end' | 'step'>): number[] {
  const out: number[] = [];
  for (let t = r.start; t <= r.end; t += r.step) out.push(t);
  return out;
}

/** A range answer on the axis: the sum of its series at each time, null where none. */
export function onAxis(t: readonly number[], series: readonly RangeSeries[]): Values {
  const sums = new Map<number, number>();
  for (const s of series) {
    for (const [at, v] of s.points) sums.set(at, (sums.get(at) ?? 0) + v);
  }
  return t.map((at) => sums.get(at) ?? null);
}

/** The weight at each time from recorded changes: the last one at or before it. */
export function recordedWeight(t: readonly number[], points: readonly WeightPoint[]): Values {
  const sorted = [...points].sort((a, b) => a.at - b.at);
  let i = -1;
  return t.map((at) => {
    while (i + 1 < sorted.length && (sorted[i + 1]?.at ?? Infinity) / 1000 <= at) i++;
    return i >= 0 ? (sorted[i]?.weight ?? null) : null;
  });
}

/** The canary's share of all requests, in percent, where both rates are known. */
export function share(canary: Values, primary: Values): Values {
  return canary.map((c, i) => {
    const p = primary[i];
    if (c === null && (p === null || p === undefined)) return null;
    const total = (c ?? 0) + (p ?? 0);
    return total > 0 ? Math.round(((c ?? 0) / total) * 10000) / 100 : null;
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface TimelineInput {
  rollout: RolloutView;
  nowMs: number;
  weights: readonly WeightPoint[];
  prometheus: RangeClient;
  signal?: AbortSignal;
}

interface Asked {
  values: Values;
  error?: string;
}

/** Asks Prometheus for every line of the Rollout's timeline, at once. */
export async function loadTimeline(input: TimelineInput): Promise<Timeline> {
  const { rollout, prometheus } = input;
  const { namespace, name } = rollout.metadata;
  const r = timeRange(rollout, input.nowMs);
  const t = axis(r);
  const ask = async (query: string): Promise<Asked> => {
    try {
      const series = await prometheus.range({ query, ...r }, input.signal);
      return { values: onAxis(t, series) };
    } catch (e) {
      return { values: t.map(() => null), error: message(e) };
    }
  };
  const valid = validateRolloutSpec(rollout.spec, { namespace });
  const base = { t, ...r, prometheus: prometheus.url, checks: [] as CheckSeries[] };
  const weight = await ask(weightQuery(namespace, name));
  const fromPrometheus = !weight.error && weight.values.some((v) => v !== null);
  const weightLine = fromPrometheus ? weight.values : recordedWeight(t, input.weights);
  const weightSource = fromPrometheus ? ('prometheus' as const) : ('dashboard' as const);
  if (!valid.ok) {
    const error = `the Rollout's spec is invalid: ${valid.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
    const empty = t.map(() => null);
    const traffic = { metric: '', canary: empty, primary: empty, canaryShare: empty };
    return {
      ...base,
      weight: weightLine,
      weightSource,
      traffic: { ...traffic, queries: { canary: '', primary: '' } },
      error,
    };
  }
  const spec = valid.value;
  const tq = trafficQueries(spec, namespace, Math.max(TRAFFIC_WINDOW_S, 2 * r.step));
  const plans = spec.checks.map((c) =>
    checkPlan(c, spec, namespace, checkWindowMs(c, rollout, r.step)),
  );
  const [canaryRate, primaryRate, ...lines] = await Promise.all([
    ask(tq.canary),
    ask(tq.primary),
    ...plans.flatMap((p) => [ask(p.queries.canary), ask(p.queries.primary)]),
  ]);
  const checks = plans.map((p, i): CheckSeries => {
    const canary = lines[2 * i] ?? { values: [] };
    const primary = lines[2 * i + 1] ?? { values: [] };
    return {
      ...p,
      canary: canary.values,
      primary: primary.values,
      error: canary.error ?? primary.error,
    };
  });
  const cr = canaryRate ?? { values: [] };
  const pr = primaryRate ?? { values: [] };
  const trafficError = cr.error ?? pr.error;
  return {
    ...base,
    weight: weightLine,
    weightSource,
    traffic: {
      metric: trafficMetric(spec),
      canary: cr.values,
      primary: pr.values,
      canaryShare: share(cr.values, pr.values),
      queries: tq,
      error: trafficError,
    },
    checks,
    // Every line failed the same way: Prometheus itself is the problem.
    error: trafficError !== undefined && weight.error !== undefined ? trafficError : undefined,
  };
}
