// Checks the judgment benchmark's fakes against the real code before a run: increase()
// against hand-worked Prometheus extrapolations; the fake Prometheus' answers to the REAL
// checks' queries, read back by the REAL checks' `read`; the REAL AnalysisHub over the fake
// (recent and evidence windows); the OLD rule's samples through the REAL verdict; and the
// oracle release's duration against steps × step interval + promotion. Throws on the
// first mismatch, so a run never reports figures from a broken harness.

import { AnalysisHub } from '@steerer/controller/analysis/hub';
import { checkOf, silentLogger } from '@steerer/common';
import type { AnalysisSample, CheckSpec, LatencySpec, SuccessRateSpec } from '@steerer/common';
import {
  CANARY,
  DURATION_METRIC,
  FakePrometheus,
  NAMESPACE,
  REQUESTS_METRIC,
  Series,
  SyntheticMesh,
  countedIncrease,
  exactIncrease,
  increase,
} from './judgment-prom.js';
import { Rng } from './judgment-rng.js';
import {
  LATENCY_BOUND_MS,
  PRIMARY_ROLLOUT_MS,
  STEP_WEIGHT,
  oldRuleSample,
  simulateRelease,
} from './judgment-sim.js';
import type { ReleaseRecord, Rule, Scenario } from './judgment-sim.js';

function near(what: string, got: number | undefined, want: number | undefined, tol = 1e-9): void {
  const ok =
    got === want ||
    (got !== undefined &&
      want !== undefined &&
      Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)));
  if (!ok) throw new Error(`self-check: ${what}: got ${got}, want ${want}`);
}

function series(points: [number, number][]): Series {
  const s = new Series();
  for (const [t, v] of points) s.push(t * 1000, v);
  return s;
}

/** increase() against Prometheus 2.x's extrapolation, worked by hand. */
function checkIncrease(): void {
  const steady = series([0, 15, 30, 45, 60].map((t) => [t, t]));
  near('samples on both edges', increase(steady, 60_000, 60_000), 60);
  // 10..55 s at 1/s, range [7 s, 67 s]: 45 s sampled, 3 s to the start and 12 s to the end
  // are both under 1.1 × 15 s, so the whole 60 s counts.
  const inner = series([10, 25, 40, 55].map((t) => [t, t]));
  near('extrapolated to both edges', increase(inner, 67_000, 60_000), 60);
  // A series born mid-range (1 at 30 s, 3 at 45 s; range [0, 60 s]): 30 s to the start is
  // beyond 1.1 × 15 s, but the zero point (7.5 s before the first sample) is nearer and
  // under the threshold, so 7.5 s; 15 s to the end counts in full: 2 × 37.5 / 15 = 5.
  const born = series([
    [30, 1],
    [45, 3],
  ]);
  near('a counter born mid-range', increase(born, 60_000, 60_000), 5);
  // Range [40 s, 100 s] holds 45 and 60: 5 s to the start counts, but 40 s to the end is
  // beyond 1.1 × 15 s, so half a spacing (7.5 s): 15 × (15 + 5 + 7.5) / 15 = 27.5.
  near('half a spacing at a far end', increase(steady, 100_000, 60_000), 27.5);
  near('one sample: no series', increase(series([[10, 5]]), 20_000, 20_000), undefined);
  near('range ends included', increase(steady, 45_000, 15_000), 15);
  // The what-if's exact counts: last minus first, and a series born in the range from zero.
  near('exact: no extrapolation', exactIncrease(inner, 67_000, 60_000, 15_000), 45);
  near('exact: a series born in the range', exactIncrease(born, 60_000, 60_000, 15_000), 3);
  near('exact: born before the range', exactIncrease(born, 60_000, 35_000, 15_000), 2);
  // Steerer's count queries: a series born inside the window counts from zero (its latest
  // value); one that existed as the window began is increase()'s.
  near('counted: born in the range', countedIncrease(born, 60_000, 60_000), 3);
  near('counted: existed before', countedIncrease(steady, 60_000, 45_000), 45);
  near('counted: born, one sample', countedIncrease(series([[50, 2]]), 60_000, 60_000), undefined);
  // [35 s, 60 s]: the sample at 30 s shows the series existed; only one sample in range.
  near('counted: existed, one sample', countedIncrease(born, 60_000, 25_000), undefined);
}

const successSpec: SuccessRateSpec = {
  type: 'success-rate',
  name: 'success-rate',
  interval: '1m',
  intervalMs: 60_000,
  metric: REQUESTS_METRIC,
  threshold: 99,
};
const latencySpec: LatencySpec = {
  type: 'latency',
  name: 'p99',
  interval: '1m',
  intervalMs: 60_000,
  metric: DURATION_METRIC,
  percentile: 99,
  maxMs: LATENCY_BOUND_MS,
};
const workload = { namespace: NAMESPACE, name: CANARY, primary: 'podinfo' };

/** The fake's answer to the real query, read by the real check: the counts meant. */
function checkRead(): void {
  const now = 100_000;
  for (const spec of [successSpec, latencySpec] as CheckSpec[]) {
    const kind = spec.type === 'latency' ? 'latency' : 'errors';
    const mesh = new SyntheticMesh(
      new Rng(1),
      0,
      15_000,
      { kind, errorRatio: 0, slowFraction: 0 },
      0,
      0,
    );
    // Scrapes every 15 s from 0: good requests grow 2/s from 10 s, bad ones 1 per 15 s from 40 s.
    const good = kind === 'errors' ? mesh.ok : mesh.fast;
    const bad = kind === 'errors' ? mesh.errors : mesh.all;
    for (let t = 15; t <= 90; t += 15) {
      const g = Math.max(0, (t - 10) * 2);
      const b = t >= 45 ? (t - 30) / 15 : 0;
      good.series ??= new Series();
      good.value = g;
      good.series.push(t * 1000, g);
      if (kind === 'errors') {
        if (b > 0) {
          bad.series ??= new Series();
          bad.value = b;
          bad.series.push(t * 1000, b);
        }
      } else {
        bad.series ??= new Series();
        bad.value = g + b;
        bad.series.push(t * 1000, g + b);
      }
    }
    const prom = new FakePrometheus(mesh, () => now);
    const check = checkOf(spec);
    for (const windowMs of [60_000, 30_000, 10_000]) {
      const q = check.query(spec, [workload], windowMs);
      const m = check.read(prom.answer(q), windowMs, [workload]).get(`${NAMESPACE}/${CANARY}`);
      let wantTotal: number | undefined;
      let wantBad: number | undefined;
      if (kind === 'errors') {
        const g = good.series ? countedIncrease(good.series, now, windowMs) : undefined;
        const b = bad.series ? countedIncrease(bad.series, now, windowMs) : undefined;
        if (g !== undefined || b !== undefined) {
          wantTotal = (g ?? 0) + (b ?? 0);
          wantBad = b ?? 0;
        }
      } else {
        const all = bad.series ? countedIncrease(bad.series, now, windowMs) : undefined;
        const fast = good.series ? countedIncrease(good.series, now, windowMs) : undefined;
        if (all !== undefined) {
          wantTotal = all;
          wantBad = Math.min(all, Math.max(0, all - (fast ?? 0)));
        }
      }
      if (wantTotal !== undefined && wantTotal <= 0) wantTotal = undefined;
      near(`${spec.type} ${windowMs} ms: total`, m?.counts?.total, wantTotal);
      if (wantTotal !== undefined)
        near(`${spec.type} ${windowMs} ms: bad`, m?.counts?.bad, wantBad);
    }
  }
}

/** The real hub over the fake: the sample carries the recent window's and the evidence's counts. */
async function checkHub(): Promise<void> {
  let now = 0;
  const mesh = new SyntheticMesh(
    new Rng(7),
    50,
    15_000,
    { kind: 'errors', errorRatio: 0.1, slowFraction: 0 },
    0,
    3000,
  );
  mesh.share = 1;
  const prom = new FakePrometheus(mesh, () => now);
  const got: AnalysisSample[] = [];
  const hub = new AnalysisHub({
    prometheus: prom,
    intervalMs: 2000,
    logger: silentLogger,
    now: () => now,
    onSample: (_k, _c, s) => got.push(s),
  });
  hub.want('test/podinfo', {
    namespace: NAMESPACE,
    workload: CANARY,
    checks: [successSpec],
    sinceMs: 0,
  });
  now = 150_000;
  mesh.advanceTo(now);
  await hub.refresh();
  const s = got[0];
  if (!s || s.kind !== 'ok') throw new Error(`self-check: hub sample ${JSON.stringify(s)}`);
  const total = (w: number): number =>
    (countedIncrease(mesh.ok.series as Series, now, w) ?? 0) +
    (countedIncrease(mesh.errors.series as Series, now, w) ?? 0);
  near('hub: recent window', s.windowMs, 60_000);
  near('hub: recent total', s.counts?.total, total(60_000));
  // 150 s old: the longest evidence size it has lived through is 2^(1/4) × 2 × 60 s.
  near('hub: evidence window', s.evidence?.windowMs, 143_000);
  near('hub: evidence total', s.evidence?.total, total(143_000));
  near(
    'hub: evidence errors',
    s.evidence?.bad,
    countedIncrease(mesh.errors.series as Series, now, 143_000),
  );
}

/** The OLD rule's samples through the real verdict: the seed's comparison, and no data halts. */
function checkOldRule(): void {
  const sr = checkOf(successSpec);
  const ok = (value: number): Extract<AnalysisSample, { kind: 'ok' }> => ({
    kind: 'ok',
    value,
    requestRate: 10,
    at: 0,
    windowMs: 60_000,
    counts: { total: 1000, bad: 1000 - value * 10 },
  });
  const verdictOf = (spec: CheckSpec, s: AnalysisSample): string => {
    const v = oldRuleSample(spec, s);
    if (v.kind === 'error') return 'error';
    return checkOf(spec).verdict(spec, v, 'c').kind;
  };
  near('old: 99% passes', verdictOf(successSpec, ok(99)) === 'pass' ? 1 : 0, 1);
  near('old: 98.9% fails', verdictOf(successSpec, ok(98.9)) === 'fail' ? 1 : 0, 1);
  near(
    'old: 1 error in 10 fails',
    verdictOf(successSpec, { ...ok(90), counts: { total: 10, bad: 1 } }) === 'fail' ? 1 : 0,
    1,
  );
  near(
    'old: no data is an error',
    verdictOf(successSpec, { kind: 'nodata', at: 0 }) === 'error' ? 1 : 0,
    1,
  );
  near('old latency: 98.9% fast fails', verdictOf(latencySpec, ok(98.9)) === 'fail' ? 1 : 0, 1);
  near('old latency: 99% fast passes', verdictOf(latencySpec, ok(99)) === 'pass' ? 1 : 0, 1);
  near(
    'new: 1 error in 10 waits',
    sr.verdict(successSpec, { ...ok(90), counts: { total: 10, bad: 1 } }, 'c').kind === 'wait'
      ? 1
      : 0,
    1,
  );
}

/** The ideal release: 100/STEP_WEIGHT steps at the step interval, then the promotion. */
export async function idealDurationMs(stepMs: number, kind: 'errors' | 'latency'): Promise<number> {
  const r = await simulateRelease({
    rps: 100,
    stepMs,
    scrapeMs: 15_000,
    scenario: { behaviour: { kind, errorRatio: 0, slowFraction: 0 } },
    rule: 'oracle',
    capMs: 3_600_000,
    seed: 1,
  });
  if (r.outcome !== 'promoted')
    throw new Error(`self-check: the oracle release was not promoted (${r.outcome})`);
  return r.durationMs;
}

/**
 * The reconciles the simulation skips change nothing: releases run with every reconcile
 * the controller would make end exactly as with the shortcuts (same outcome, times, halts).
 */
async function checkShortcuts(): Promise<number> {
  const setups: [Rule, number, number, number, Scenario][] = [
    [
      'new',
      10,
      60_000,
      15_000,
      { behaviour: { kind: 'errors', errorRatio: 0.02, slowFraction: 0 } },
    ],
    [
      'new',
      100,
      10_000,
      30_000,
      { behaviour: { kind: 'errors', errorRatio: 0.005, slowFraction: 0 } },
    ],
    [
      'old',
      10,
      10_000,
      15_000,
      { behaviour: { kind: 'errors', errorRatio: 0.05, slowFraction: 0 } },
    ],
    [
      'new',
      1000,
      10_000,
      1000,
      { behaviour: { kind: 'latency', errorRatio: 0, slowFraction: 0.023 } },
    ],
    [
      'new',
      100,
      10_000,
      15_000,
      {
        behaviour: { kind: 'errors', errorRatio: 0.005, slowFraction: 0 },
        faultAtWeight: 50,
        faultErrorRatio: 0.05,
      },
    ],
  ];
  const same = (r: ReleaseRecord): string =>
    JSON.stringify({ ...r, reconciles: 0, skippedReconciles: 0, hotLoopReconciles: 0 });
  let skipped = 0;
  for (const [rule, rps, stepMs, scrapeMs, scenario] of setups) {
    for (let seed = 1; seed <= 6; seed++) {
      const base = { rps, stepMs, scrapeMs, scenario, rule, capMs: 2_400_000, seed };
      const quick = await simulateRelease(base);
      const full = await simulateRelease({ ...base, faithful: true });
      if (same(quick) !== same(full))
        throw new Error(
          `self-check: skipped reconciles changed a release:\n${same(quick)}\n${same(full)}`,
        );
      skipped += quick.skippedReconciles;
    }
  }
  return skipped;
}

export async function selfCheck(): Promise<string[]> {
  checkIncrease();
  checkRead();
  await checkHub();
  checkOldRule();
  const notes: string[] = [];
  const skipped = await checkShortcuts();
  notes.push(
    `30 releases with every reconcile and with ${skipped} no-op reconciles skipped end identically`,
  );
  for (const stepMs of [10_000, 60_000]) {
    const ideal = await idealDurationMs(stepMs, 'errors');
    const steps = 100 / STEP_WEIGHT;
    const promotion = ideal - steps * stepMs;
    // The primary's rollout, then the route's settle time before the canary is scaled down.
    if (promotion < PRIMARY_ROLLOUT_MS || promotion > PRIMARY_ROLLOUT_MS + 10_000)
      throw new Error(`self-check: the oracle release took ${ideal} ms with steps of ${stepMs} ms`);
    notes.push(
      `ideal release with ${stepMs / 1000} s steps: ${ideal / 1000} s (${steps} steps, promotion ${promotion / 1000} s)`,
    );
  }
  return notes;
}
