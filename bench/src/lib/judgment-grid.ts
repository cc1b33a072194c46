// The judgment benchmark's grid (traffic × step interval × scrape interval × canary), what
// each release's record adds up to per configuration and rule, and the targets.

import { percentile } from './stats.js';
import { normalCdf, wilson95 } from './judgment-rng.js';
import { LATENCY_BOUND_MS } from './judgment-sim.js';
import type { ReleaseRecord, Rule, Scenario } from './judgment-sim.js';

/**
 * Request latency of the latency scenarios: log-normal, median 120 ms and p99 400 ms when
 * healthy (σ = ln(400/120)/z₀.₉₉), 100 ms under the check's maximum (p99 ≤ 500 ms, counted
 * at Istio's 500 ms bucket); the regression adds 200 ms to every request (p99 600 ms, 100
 * ms over the maximum). Healthy, 0.29% of requests are slower than 500 ms (well under the
 * 1% a p99 allows); regressed, every request that took more than 300 ms before now does,
 * 3.8% (well over).
 */
export const LATENCY = {
  medianMs: 120,
  p99Ms: 400,
  regressionMs: 200,
};
const Z99 = 2.326348;
const SIGMA = Math.log(LATENCY.p99Ms / LATENCY.medianMs) / Z99;
/** The fraction of requests slower than `boundMs` for the log-normal shifted by `shiftMs`. */
export function slowerThan(boundMs: number, shiftMs = 0): number {
  const base = boundMs - shiftMs;
  if (base <= 0) return 1;
  return 1 - normalCdf(Math.log(base / LATENCY.medianMs) / SIGMA);
}
export const HEALTHY_SLOW = slowerThan(LATENCY_BOUND_MS);
export const REGRESSED_SLOW = slowerThan(LATENCY_BOUND_MS, LATENCY.regressionMs);

export const HEALTHY_ERRORS = 0.005;

export interface ScenarioDef {
  id: string;
  /** What the table calls it. */
  title: string;
  /** Healthy canaries count false halts; bad ones count promotions and detection. */
  healthy: boolean;
  scenario: Scenario;
  /** Releases per configuration and rule, before --releases/--quick. */
  releases: number;
}

export const SCENARIOS: ScenarioDef[] = [
  {
    id: 'healthy',
    title: 'healthy canary, 0.5% errors (primary 0.5% too), success rate ≥ 99%',
    healthy: true,
    scenario: { behaviour: { kind: 'errors', errorRatio: HEALTHY_ERRORS, slowFraction: 0 } },
    releases: 250,
  },
  {
    id: 'errors-2',
    title: 'bad canary, 2% errors, success rate ≥ 99%',
    healthy: false,
    scenario: { behaviour: { kind: 'errors', errorRatio: 0.02, slowFraction: 0 } },
    releases: 1000,
  },
  {
    id: 'errors-5',
    title: 'bad canary, 5% errors, success rate ≥ 99%',
    healthy: false,
    scenario: { behaviour: { kind: 'errors', errorRatio: 0.05, slowFraction: 0 } },
    releases: 1000,
  },
  {
    id: 'errors-100',
    title: 'bad canary, 100% errors, success rate ≥ 99%',
    healthy: false,
    scenario: { behaviour: { kind: 'errors', errorRatio: 1, slowFraction: 0 } },
    releases: 1000,
  },
  {
    id: 'fault-5',
    title: 'mid-release fault: 0.5% errors, then 5% from weight 50 (+ a random part of a step)',
    healthy: false,
    scenario: {
      behaviour: { kind: 'errors', errorRatio: HEALTHY_ERRORS, slowFraction: 0 },
      faultAtWeight: 50,
      faultErrorRatio: 0.05,
    },
    releases: 1000,
  },
  {
    id: 'latency-ok',
    title: `healthy latency, p99 ${LATENCY.p99Ms} ms (${(HEALTHY_SLOW * 100).toFixed(2)}% > ${LATENCY_BOUND_MS} ms), p99 ≤ ${LATENCY_BOUND_MS} ms`,
    healthy: true,
    scenario: { behaviour: { kind: 'latency', errorRatio: 0, slowFraction: HEALTHY_SLOW } },
    releases: 250,
  },
  {
    id: 'latency-200',
    title: `latency regression +${LATENCY.regressionMs} ms (${(REGRESSED_SLOW * 100).toFixed(2)}% > ${LATENCY_BOUND_MS} ms), p99 ≤ ${LATENCY_BOUND_MS} ms`,
    healthy: false,
    scenario: { behaviour: { kind: 'latency', errorRatio: 0, slowFraction: REGRESSED_SLOW } },
    releases: 1000,
  },
];

export interface Config {
  id: string;
  scenario: ScenarioDef;
  rps: number;
  stepMs: number;
  scrapeMs: number;
  releases: number;
}

export function configId(s: ScenarioDef, rps: number, stepMs: number, scrapeMs: number): string {
  return `${s.id}/rps${rps}/step${stepMs / 1000}s/scrape${scrapeMs / 1000}s`;
}

/** A release's record as numbers, for messages between threads. */
export const RECORD_FIELDS = [
  'outcome',
  'durationMs',
  'firstHaltMs',
  'halts',
  'failHalts',
  'noDataHalts',
  'detectMs',
  'faultMs',
  'finalWeight',
  'served',
  'servedBad',
  'reconciles',
  'hotLoopReconciles',
  'skippedReconciles',
  'queries',
  'promotedOnRecent',
] as const;

/** What one configuration and rule added up to. */
export interface Summary {
  config: string;
  scenario: string;
  rule: Rule;
  rps: number;
  stepS: number;
  scrapeS: number;
  releases: number;
  /** The ideal release: every step at its interval, then the promotion (an oracle run). */
  idealS: number;
  promoted: number;
  /** NEW rule: promotions passed on the recent window alone (the evidence window said wait). */
  promotedOnRecent: number;
  rolledBack: number;
  deadline: number;
  timeouts: number;
  /** Releases with at least one halt (any reason) or a rollback. */
  anyHalt: number;
  anyHaltCi: [number, number];
  /** Releases with a halt on a measured failure. */
  failHalt: number;
  /**
   * Releases halted for "no data" (or a missing measurement), or rolled back on the progress
   * deadline (the NEW rule's way of giving up on a canary that gets too few requests).
   */
  noData: number;
  /** Median and p90 of duration / ideal over all releases (not promoted: infinite). */
  durationRatio: { median: number | null; p90: number | null };
  /** Bad canaries: releases where a failure was detected (a halt on a failure or a rollback). */
  detected: number;
  /** Median and p90 seconds from the start (or the fault) to detection, over detected ones. */
  detectS: { median: number | null; p90: number | null };
  /** Median bad requests (errors, slow ones) the canary served per release. */
  badServed: number | null;
  /** Median canary weight when a release was still waiting at the cap. */
  timeoutWeight: number | null;
  /** Per release: reconciles run, hot-loop reconciles skipped, Prometheus queries. */
  reconciles: number;
  hotLoopReconciles: number;
  hotLoopReleases: number;
  queries: number;
  /** Wall-clock milliseconds a worker spent per release (the simulation's own cost). */
  msPerRelease?: number;
  /** Indexes of the first few releases promoted and of those with any halt, for --trace. */
  examples: { promoted: number[]; halted: number[] };
}

function med(values: number[], p = 50): number | null {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const v = percentile(s, p);
  return Number.isFinite(v) ? v : null;
}

function r3(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}

export function summarize(
  c: Config,
  rule: Rule,
  records: readonly ReleaseRecord[],
  idealMs: number,
): Summary {
  const n = records.length;
  const count = (f: (r: ReleaseRecord) => boolean): number => records.filter(f).length;
  const anyHalt = count(
    (r) => r.halts > 0 || r.outcome === 'rolledBack' || r.outcome === 'deadline',
  );
  const ci = wilson95(anyHalt, n);
  const noData = count((r) => r.noDataHalts > 0 || r.outcome === 'deadline');
  const ratios = records.map((r) =>
    r.outcome === 'promoted' ? r.durationMs / idealMs : Number.POSITIVE_INFINITY,
  );
  const fromFault = c.scenario.scenario.faultAtWeight !== undefined;
  const detectS = records
    .filter((r) => !Number.isNaN(r.detectMs))
    .map((r) => (r.detectMs - (fromFault ? r.faultMs : 0)) / 1000);
  const sum = (f: (r: ReleaseRecord) => number): number => records.reduce((a, r) => a + f(r), 0);
  return {
    config: c.id,
    scenario: c.scenario.id,
    rule,
    rps: c.rps,
    stepS: c.stepMs / 1000,
    scrapeS: c.scrapeMs / 1000,
    releases: n,
    idealS: idealMs / 1000,
    promoted: count((r) => r.outcome === 'promoted'),
    promotedOnRecent: count((r) => r.outcome === 'promoted' && r.promotedOnRecent === 1),
    rolledBack: count((r) => r.outcome === 'rolledBack'),
    deadline: count((r) => r.outcome === 'deadline'),
    timeouts: count((r) => r.outcome === 'timeout'),
    anyHalt,
    anyHaltCi: [r3(ci.lower * 100) ?? 0, r3(ci.upper * 100) ?? 0],
    failHalt: count((r) => r.failHalts > 0),
    noData,
    durationRatio: { median: r3(med(ratios)), p90: r3(med(ratios, 90)) },
    detected: detectS.length,
    detectS: { median: r3(med(detectS)), p90: r3(med(detectS, 90)) },
    badServed: med(records.map((r) => r.servedBad)),
    timeoutWeight: med(records.filter((r) => r.outcome === 'timeout').map((r) => r.finalWeight)),
    reconciles: r3(sum((r) => r.reconciles) / n) ?? 0,
    hotLoopReconciles: r3(sum((r) => r.hotLoopReconciles) / n) ?? 0,
    hotLoopReleases: count((r) => r.hotLoopReconciles > 0),
    queries: r3(sum((r) => r.queries) / n) ?? 0,
    examples: {
      promoted: indexesOf(records, (r) => r.outcome === 'promoted'),
      halted: indexesOf(
        records,
        (r) => r.halts > 0 || r.outcome === 'rolledBack' || r.outcome === 'deadline',
      ),
    },
  };
}

/** The first five release indexes (records are in index order) where `f` holds. */
function indexesOf(records: readonly ReleaseRecord[], f: (r: ReleaseRecord) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < records.length && out.length < 5; i++)
    if (f(records[i] as ReleaseRecord)) out.push(i);
  return out;
}

export interface TargetLine {
  target: string;
  pass: boolean;
  detail: string;
}

function pct(k: number, n: number): string {
  return n === 0 ? 'n/a' : `${((k / n) * 100).toFixed(k === 0 || k === n ? 0 : 2)}%`;
}

/** The issue's targets, judged on the NEW rule (the OLD rule's figures for comparison). */
export function evaluateTargets(summaries: readonly Summary[]): TargetLine[] {
  const out: TargetLine[] = [];
  const by = (rule: Rule, f: (s: Summary) => boolean): Summary[] =>
    summaries.filter((s) => s.rule === rule && f(s));
  const old = (s: Summary): Summary | undefined =>
    summaries.find((o) => o.rule === 'old' && o.config === s.config);
  const scenarioOf = (id: string): ScenarioDef | undefined => SCENARIOS.find((d) => d.id === id);
  const where = (s: Summary): string =>
    `${s.scenario} ${s.rps}/s step ${s.stepS}s scrape ${s.scrapeS}s`;
  for (const s of by('new', (x) => scenarioOf(x.scenario)?.healthy === true)) {
    const o = old(s);
    out.push({
      target: 'healthy: ≤1% of releases with any false halt',
      pass: s.anyHalt / s.releases <= 0.01,
      detail: `${where(s)}: ${pct(s.anyHalt, s.releases)} (95% CI ${s.anyHaltCi[0]}–${s.anyHaltCi[1]}%) of ${s.releases}${o ? `; OLD ${pct(o.anyHalt, o.releases)}` : ''}`,
    });
  }
  for (const s of by('new', (x) => scenarioOf(x.scenario)?.healthy === true && x.scrapeS >= 15)) {
    const o = old(s);
    out.push({
      target:
        'healthy: 0 no-data halts or deadline rollbacks (≥1 request/s, 15 s and 30 s scrapes)',
      pass: s.noData === 0,
      detail: `${where(s)}: ${s.noData} of ${s.releases}${o ? `; OLD ${o.noData} of ${o.releases} (${pct(o.noData, o.releases)})` : ''}`,
    });
  }
  for (const s of by('new', (x) => scenarioOf(x.scenario)?.healthy === true && x.rps >= 10)) {
    const o = old(s);
    const m = s.durationRatio.median;
    out.push({
      target: 'healthy: median duration ≤1.25× ideal (≥10 requests/s)',
      pass: m !== null && m <= 1.25,
      detail: `${where(s)}: ${m ?? '∞'}× of ${s.idealS} s${o ? `; OLD ${o.durationRatio.median ?? '∞'}×` : ''}`,
    });
  }
  for (const s of by('new', (x) => scenarioOf(x.scenario)?.healthy === false)) {
    const o = old(s);
    out.push({
      target: 'bad canary: 0 promotions',
      pass: s.promoted === 0,
      detail: `${where(s)}: ${s.promoted} of ${s.releases} promoted${s.promoted > 0 ? ` (${s.promotedOnRecent} on the recent window alone)` : ''}${o ? `; OLD ${o.promoted} of ${o.releases}` : ''}`,
    });
  }
  return out;
}
