// The judgment benchmark's synthetic mesh and Prometheus. The canary's Envoy counters grow
// by Poisson draws (requests at the canary's share of the traffic, errors and slow
// requests by thinning, which keeps every class exactly Poisson); Prometheus scrapes them
// every few seconds at a random phase; and a PrometheusClient fake answers the checks'
// queries from those scrapes with Prometheus 2.x's own increase(): fewer than two samples
// in the range → no series; extrapolation to the range's edges when the gap is below 1.1×
// the average spacing of the samples, else by half a spacing; a counter never
// extrapolated below zero. The PromQL is not parsed in general: the fake recognises the
// two query shapes Steerer builds (the success-rate and latency checks' count queries),
// reads the window and the workloads from them, and refuses anything else.

import type { PrometheusClient, Sample, ScrapeTarget } from '@steerer/common';
import type { Rng } from './judgment-rng.js';

export const NAMESPACE = 'test';
export const CANARY = 'podinfo-canary';
export const REQUESTS_METRIC = 'istio_requests_total';
export const DURATION_METRIC = 'istio_request_duration_milliseconds';
/** The scrape job of the sidecars' metrics, as the targets API and the series' labels say. */
export const SCRAPE_JOB = 'kubernetes-pods';

/** One scraped time series: sample times (ms) and values, in time order. */
export class Series {
  readonly times: number[] = [];
  readonly values: number[] = [];

  push(t: number, v: number): void {
    this.times.push(t);
    this.values.push(v);
  }
}

/** Index of the first sample at or after `t`. */
function firstAtOrAfter(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last sample at or before `t` (−1 when none). */
function lastAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * Prometheus 2.x `increase(series[range])` evaluated at `end` (extrapolatedRate in
 * promql/functions.go, isCounter, not a rate): the range is [end − range, end], both ends
 * included. Undefined (no series in the answer) with fewer than two samples in it. The
 * simulated counters never reset within a release, so the reset correction is not needed.
 */
export function increase(s: Series, end: number, rangeMs: number): number | undefined {
  const start = end - rangeMs;
  const i = firstAtOrAfter(s.times, start);
  const j = lastAtOrBefore(s.times, end);
  if (j - i < 1) return undefined;
  const firstT = s.times[i] as number;
  const lastT = s.times[j] as number;
  const firstV = s.values[i] as number;
  const result = (s.values[j] as number) - firstV;
  const sampled = (lastT - firstT) / 1000;
  const average = sampled / (j - i);
  let toStart = (firstT - start) / 1000;
  const toEnd = (end - lastT) / 1000;
  if (result > 0 && firstV >= 0) {
    // Counters cannot be negative: extrapolate at most to where the counter was zero.
    const toZero = sampled * (firstV / result);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = average * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : average / 2;
  interval += toEnd < threshold ? toEnd : average / 2;
  return result * (interval / sampled);
}

/** Prometheus' lookback for an instant selector (`series offset range`): 5 minutes. */
export const LOOKBACK_MS = 300_000;

/**
 * What Steerer's count queries ask for a series (countedIncrease in the checks' PromQL):
 * `increase()` when the series existed as the window began (a sample within the lookback
 * at or before its start), else its latest value in the window — a series born inside the
 * window counted from zero (with two samples in the window, as increase() needs).
 */
export function countedIncrease(s: Series, end: number, rangeMs: number): number | undefined {
  const start = end - rangeMs;
  const before = lastAtOrBefore(s.times, start);
  if (before >= 0 && (s.times[before] as number) > start - LOOKBACK_MS) {
    return increase(s, end, rangeMs);
  }
  const i = firstAtOrAfter(s.times, start);
  const j = lastAtOrBefore(s.times, end);
  if (j - i < 1) return undefined;
  return s.values[j];
}

/**
 * What-if (--exact-counts): the increase without extrapolation, as a query of the last
 * minus the first sample in the window would give (`max_over_time − min_over_time` of a
 * counter), with a series born inside the window counted from zero. Not what Prometheus'
 * increase() answers; it measures what exact integer counts would change.
 */
export function exactIncrease(
  s: Series,
  end: number,
  rangeMs: number,
  scrapeMs: number,
): number | undefined {
  const start = end - rangeMs;
  const i = firstAtOrAfter(s.times, start);
  const j = lastAtOrBefore(s.times, end);
  if (j < i) return undefined;
  const first = s.values[i] as number;
  const born = i === 0 && (s.times[0] as number) - scrapeMs >= start;
  if (j === i && !born) return undefined;
  return (s.values[j] as number) - (born ? 0 : first);
}

/** A counter of the canary's sidecar; its series exists from its first increment on. */
class Counter {
  value = 0;
  series: Series | undefined;

  add(n: number): void {
    if (n <= 0) return;
    this.value += n;
    this.series ??= new Series();
  }
}

/** What the canary serves: its error ratio, or its fraction of requests slower than the bound. */
export interface CanaryBehaviour {
  /** Which counters the check reads: the request counter by code, or the duration histogram. */
  kind: 'errors' | 'latency';
  /** Fraction of requests answered 5xx (kind errors). */
  errorRatio: number;
  /** Fraction of requests slower than the latency check's bucket (kind latency). */
  slowFraction: number;
}

/**
 * The canary's counters and Prometheus' scrapes of them, advanced in simulated time. The
 * request rate is piecewise constant: the total rate times the canary's current weight.
 */
export class SyntheticMesh {
  /** istio_requests_total{response_code="200"} and {response_code="500"}. */
  readonly ok = new Counter();
  readonly errors = new Counter();
  /** istio_request_duration_milliseconds_bucket{le="<bound>"} and {le="+Inf"}. */
  readonly fast = new Counter();
  readonly all = new Counter();
  /** Requests and bad ones (errors or slow) the canary served: the harm done. */
  served = 0;
  servedBad = 0;
  /** The canary's share of the traffic, 0–1 (the route's weight). */
  share = 0;
  private at: number;
  private nextScrape: number;

  constructor(
    private readonly rng: Rng,
    /** Total requests per second, primary and canary. */
    private readonly rps: number,
    readonly scrapeMs: number,
    readonly behaviour: CanaryBehaviour,
    start: number,
    scrapePhaseMs: number,
  ) {
    this.at = start;
    this.nextScrape = start + scrapePhaseMs;
  }

  /** Serves traffic up to `t`, scraping on the way. */
  advanceTo(t: number): void {
    while (this.nextScrape <= t) {
      this.serve(this.nextScrape);
      this.scrape(this.nextScrape);
      this.nextScrape += this.scrapeMs;
    }
    this.serve(t);
  }

  private serve(t: number): void {
    const dt = (t - this.at) / 1000;
    this.at = t;
    if (dt <= 0 || this.share <= 0) return;
    const mean = this.rps * this.share * dt;
    const b = this.behaviour;
    if (b.kind === 'errors') {
      const bad = this.rng.poisson(mean * b.errorRatio);
      const good = this.rng.poisson(mean * (1 - b.errorRatio));
      this.errors.add(bad);
      this.ok.add(good);
      this.served += bad + good;
      this.servedBad += bad;
    } else {
      const slow = this.rng.poisson(mean * b.slowFraction);
      const quick = this.rng.poisson(mean * (1 - b.slowFraction));
      // Every bucket of a histogram is created with its first observation.
      if (slow + quick > 0) this.fast.series ??= new Series();
      this.fast.add(quick);
      this.all.add(slow + quick);
      this.served += slow + quick;
      this.servedBad += slow;
    }
  }

  private scrape(t: number): void {
    for (const c of [this.ok, this.errors, this.fast, this.all]) c.series?.push(t, c.value);
  }
}

/** How the fake recognised a query. */
export interface RecognisedQuery {
  check: 'success-rate' | 'latency';
  windowMs: number;
  workloads: { namespace: string; name: string }[];
  /** The latency check's bucket boundary (ms). */
  le?: number;
}

function alternatives(re: RegExp, q: string): string[] {
  const m = re.exec(q);
  if (!m?.[1]) throw new Error(`unrecognised query (no ${re.source}): ${q}`);
  return m[1].split('|').map((v) => v.replace(/\\/g, ''));
}

const recognised = new Map<string, RecognisedQuery>();

/**
 * Recognises one of Steerer's count queries, or throws. The queries of one check differ
 * only in the window's digits, so each shape is parsed in full once (by its length, its
 * first window and its metric's position) and recognised by those afterwards.
 */
export function recognise(q: string): RecognisedQuery {
  const open = q.indexOf('[');
  const close = q.indexOf('s]', open);
  const le = q.indexOf('le="');
  const key = `${q.length}:${q.slice(open, close)}:${q.indexOf(REQUESTS_METRIC)}:${q.slice(le, le + 12)}`;
  let r = recognised.get(key);
  if (!r) {
    r = recogniseOnce(q);
    if (recognised.size > 10_000) recognised.clear();
    recognised.set(key, r);
  }
  return r;
}

function recogniseOnce(q: string): RecognisedQuery {
  const ranges = [...q.matchAll(/\[(\d+)s\]/g)].map((m) => Number(m[1]));
  const windowS = ranges[0];
  if (windowS === undefined || ranges.some((r) => r !== windowS))
    throw new Error(`unrecognised query (ranges ${ranges.join(',')}): ${q}`);
  const namespaces = alternatives(/destination_workload_namespace=~"([^"]*)"/, q);
  const names = alternatives(/destination_workload=~"([^"]*)"/, q);
  const workloads = namespaces.flatMap((namespace) => names.map((name) => ({ namespace, name })));
  const windowMs = windowS * 1000;
  if (q.includes(`increase(${REQUESTS_METRIC}{reporter="destination",`)) {
    if (!q.includes('response_code=~"5.."') || !q.includes('steerer_series", "bad"'))
      throw new Error(`unrecognised success-rate query: ${q}`);
    return { check: 'success-rate', windowMs, workloads };
  }
  if (q.includes(`increase(${DURATION_METRIC}_bucket{reporter="destination",`)) {
    const le = [...new Set([...q.matchAll(/le="([0-9.]+)"/g)].map((m) => Number(m[1])))];
    if (le.length !== 1 || !q.includes('le="+Inf"'))
      throw new Error(`unrecognised latency query: ${q}`);
    return { check: 'latency', windowMs, workloads, le: le[0] };
  }
  throw new Error(`unrecognised query: ${q}`);
}

function series(name: string, which: 'total' | 'bad', value: number): Sample {
  return {
    labels: {
      destination_workload_namespace: NAMESPACE,
      destination_workload: name,
      steerer_series: which,
    },
    value,
  };
}

/**
 * Answers the checks' queries from the mesh's scrapes, as Prometheus would at `now()`:
 * `sum by (workload) (increase(…))` of every series of the canary, with the label shapes
 * the checks' `read` expects.
 */
export class FakePrometheus implements PrometheusClient {
  queries = 0;
  /** The latency bucket the mesh's `fast` counter stands for (checked against the query). */
  bucketMs = 500;
  /** What-if: exact counts instead of increase()'s extrapolation (see exactIncrease). */
  exact = false;
  /**
   * Answer Steerer's count queries as written (a series born in the window counted from
   * zero); false: plain increase(), as the seed's rate() queries saw them (the OLD rule).
   */
  countBorn = true;

  constructor(
    private readonly mesh: SyntheticMesh,
    private readonly now: () => number,
  ) {}

  query(promql: string): Promise<Sample[]> {
    this.queries++;
    return Promise.resolve(this.answer(promql));
  }

  /** The targets API: every sidecar is scraped by one job at the mesh's interval. */
  targets(): Promise<ScrapeTarget[]> {
    return Promise.resolve([{ job: SCRAPE_JOB, intervalMs: this.mesh.scrapeMs }]);
  }

  answer(promql: string): Sample[] {
    // Which jobs export a metric (how the scrape interval of its series is learnt): the
    // primary's sidecars always do, so the one job, whatever the canary has served.
    const jobs = /^count by \(job\) \(last_over_time\(([a-zA-Z_:][a-zA-Z0-9_:]*)\[10m\]\)\)$/.exec(
      promql,
    );
    if (jobs) {
      const known = [REQUESTS_METRIC, `${DURATION_METRIC}_bucket`, DURATION_METRIC];
      if (!known.includes(jobs[1] ?? '')) throw new Error(`jobs of an unknown metric: ${promql}`);
      return [{ labels: { job: SCRAPE_JOB }, value: 1 }];
    }
    const r = recognise(promql);
    const end = this.now();
    const out: Sample[] = [];
    for (const w of r.workloads) {
      if (w.namespace !== NAMESPACE || w.name !== CANARY) continue;
      if (r.check === 'success-rate') {
        if (this.mesh.behaviour.kind !== 'errors')
          throw new Error('a success-rate query against a latency mesh');
        const ok = this.inc(this.mesh.ok, end, r.windowMs);
        const bad = this.inc(this.mesh.errors, end, r.windowMs);
        if (ok === undefined && bad === undefined) continue;
        out.push(series(w.name, 'total', (ok ?? 0) + (bad ?? 0)));
        out.push(series(w.name, 'bad', bad ?? 0));
      } else {
        if (this.mesh.behaviour.kind !== 'latency' || r.le !== this.bucketMs)
          throw new Error(`a latency query for bucket ${r.le} against another mesh`);
        const all = this.inc(this.mesh.all, end, r.windowMs);
        if (all === undefined) continue;
        const fast = this.inc(this.mesh.fast, end, r.windowMs) ?? 0;
        out.push(series(w.name, 'total', all));
        out.push(series(w.name, 'bad', all - fast));
      }
    }
    return out;
  }

  private inc(c: Counter, end: number, windowMs: number): number | undefined {
    if (!c.series) return undefined;
    return this.exact
      ? exactIncrease(c.series, end, windowMs, this.mesh.scrapeMs)
      : this.countBorn
        ? countedIncrease(c.series, end, windowMs)
        : increase(c.series, end, windowMs);
  }
}
