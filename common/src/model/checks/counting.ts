// What checks that count have in common (the success rate: errors among requests; a
// latency bound: slow requests among requests): the windows they measure, how counts are
// read from a query's answer, and the three-way verdict of stats.ts — fail only when the
// canary is worse than the bound beyond reasonable doubt, pass only when enough requests
// show it is within it, and otherwise wait for more requests.

import { formatDuration } from '../duration.js';
import type { AnalysisStatus, HaltReason } from '../rollout.js';
import { SERIES_LABEL } from './promql.js';
import { workloadKey } from './check.js';
import type { JudgedSample, Measurement, Sample, Stage, Verdict } from './check.js';
import { judge, sequentialTest } from './stats.js';
import type { Counts, Judgement, JudgementPolicy } from './stats.js';

/** The shortest window measured; below two scrapes rate() has nothing to say anyway. */
export const MIN_WINDOW_MS = 2000;
/**
 * The evidence window grows to at least this many times the spec's window, and further
 * up to MAX_EVIDENCE_MS: at low traffic a release needs its whole life to gather the
 * requests a promotion needs (some hundreds at a 1% bound).
 */
export const MIN_EVIDENCE_FACTOR = 16;
export const MAX_EVIDENCE_MS = 3_600_000;
/**
 * Evidence windows come in EVIDENCE_STEPS_PER_DOUBLING sizes per doubling (2, 2.4, 2.8,
 * 3.4, 4, … times the spec's window, in whole seconds): the window a release is measured
 * over covers at least 84% of its life, and releases of similar ages share one query (a
 * handful of sizes are in use at any time, whatever the number of releases).
 */
export const EVIDENCE_STEPS_PER_DOUBLING = 4;

function evidenceCap(windowMs: number): number {
  return Math.max(MIN_EVIDENCE_FACTOR * windowMs, MAX_EVIDENCE_MS);
}

/** The j-th evidence window size for a spec window, in whole seconds. */
function evidenceSize(windowMs: number, j: number): number {
  return Math.round((2 * windowMs * 2 ** (j / EVIDENCE_STEPS_PER_DOUBLING)) / 1000) * 1000;
}

/**
 * The window to measure now: the spec's, cut back to the whole seconds the release has
 * lived, or undefined while it is younger than MIN_WINDOW_MS. Rounded down, never up: a
 * window reaching back before the start would count requests the previous revision served.
 */
export function measuredWindow(windowMs: number, ageMs: number | undefined): number | undefined {
  if (ageMs === undefined) return windowMs;
  const alive = Math.floor(ageMs / 1000) * 1000;
  if (alive < Math.min(MIN_WINDOW_MS, windowMs)) return undefined;
  return Math.min(windowMs, alive);
}

/**
 * The evidence window: the longest of the evidence sizes (from twice the spec's window up
 * to 16 times it, or an hour when that is longer) that the release has lived through, or
 * undefined while it is younger than twice the window.
 */
export function evidenceWindow(windowMs: number, ageMs: number | undefined): number | undefined {
  if (ageMs === undefined) return undefined;
  const cap = evidenceCap(windowMs);
  let best: number | undefined;
  for (let j = 0; ; j++) {
    const w = evidenceSize(windowMs, j);
    if (w > cap || w > ageMs) break;
    best = w;
  }
  return best;
}

/**
 * Whether the evidence window will still grow as the release ages (it has not reached
 * its cap): while it does, requests arriving add evidence even if its count looks flat.
 */
export function evidenceGrows(windowMs: number, evidenceMs: number | undefined): boolean {
  if (evidenceMs === undefined) return true;
  const cap = evidenceCap(windowMs);
  for (let j = 0; ; j++) {
    const w = evidenceSize(windowMs, j);
    if (w > cap) return false;
    if (w > evidenceMs) return true;
  }
}

/** The spec's window (or the release's age) first, then the evidence window when there is one. */
export function countingWindows(windowMs: number, ageMs: number | undefined): number[] {
  const measured = measuredWindow(windowMs, ageMs);
  if (measured === undefined) return [];
  const evidence = evidenceWindow(windowMs, ageMs);
  return evidence === undefined ? [measured] : [measured, evidence];
}

/**
 * Counts in a query's answer, by workload: series labelled `steerer_series` "total" and
 * "bad", with `destination_workload_namespace` and `destination_workload`. A workload with
 * no requests in the window is absent. `value` is the good fraction, in percent.
 */
export function readCounts(samples: readonly Sample[], windowMs: number): Map<string, Measurement> {
  const found = new Map<string, { total?: number; bad?: number }>();
  for (const s of samples) {
    const key = workloadKey({
      namespace: s.labels.destination_workload_namespace ?? '',
      name: s.labels.destination_workload ?? '',
    });
    let v = found.get(key);
    if (!v) found.set(key, (v = {}));
    if (s.labels[SERIES_LABEL] === 'total') v.total = s.value;
    else if (s.labels[SERIES_LABEL] === 'bad') v.bad = s.value;
  }
  const out = new Map<string, Measurement>();
  for (const [key, v] of found) {
    const total = v.total ?? 0;
    if (!Number.isFinite(total) || total <= 0) continue;
    const bad = Math.min(total, Number.isFinite(v.bad) ? Math.max(0, v.bad ?? 0) : 0);
    out.set(key, {
      value: ((total - bad) / total) * 100,
      requestRate: total / (windowMs / 1000),
      counts: { total, bad },
    });
  }
  return out;
}

/** What a counting check says in its messages. */
export interface CountingWords {
  /** The halt's reason, as conditions tell cases apart. */
  reason: HaltReason;
  /** The canary, as "name.namespace". */
  canary: string;
  /** The halt's sentence, from the observed good fraction in percent (the seed's wording). */
  failMessage(goodPercent: number): string;
  /** What a bad request is, in the plural: "errors", "requests slower than 500ms". */
  bad: string;
  /** The spec's window, for a sample that does not say which it measured. */
  windowMs: number;
}

function describeCounts(c: Counts, windowMs: number, bad: string): string {
  return `${Math.round(c.bad)} ${bad} in ${Math.round(c.total)} requests over ${formatDuration(windowMs)}`;
}

function goodPercent(c: Counts): number {
  return c.total > 0 ? ((c.total - c.bad) / c.total) * 100 : Number.NaN;
}

/** The counts a verdict judges: the recent window's, and the evidence window's. */
export function countsOf(
  sample: JudgedSample,
  specWindowMs: number,
): { recent: Counts & { windowMs: number }; evidence: Counts & { windowMs: number } } {
  const counts = sample.kind === 'ok' && sample.counts ? sample.counts : { total: 0, bad: 0 };
  const recent = { ...counts, windowMs: sample.windowMs ?? specWindowMs };
  return { recent, evidence: sample.evidence ?? recent };
}

/**
 * A promotion is for good and for all traffic: its pass is a sequential test (stats.ts,
 * `sequentialTest`) that a canary bad at twice the bound passes with probability at most
 * PROMOTION_ALPHA, however often it is looked at.
 */
export const PROMOTION_ALPHA = 1e-4;
export const PROMOTION_CONFIDENCE = 1 - PROMOTION_ALPHA;

/**
 * The policy for a stage. A step to weight w may pass with the bad fraction's upper bound
 * up to bound × 100 / w: at that weight the canary then adds at most `bound` of bad
 * requests to the whole service's traffic (1% of errors at weight 100, or 5% at weight 20).
 * The promotion needs the bound itself, at PROMOTION_CONFIDENCE.
 */
export function stagePolicy(policy: JudgementPolicy, stage: Stage | undefined): JudgementPolicy {
  if (stage?.kind === 'step') {
    const w = Math.min(100, Math.max(1, stage.nextWeight));
    return { ...policy, passBound: Math.min(1, (policy.bound * 100) / w) };
  }
  return { ...policy, passConfidence: Math.max(policy.passConfidence, PROMOTION_CONFIDENCE) };
}

/**
 * The three-way verdict on a sample: fail when the recent window shows the canary worse
 * than the bound beyond reasonable doubt (or the evidence does, while the recent window is
 * above the bound too). A step passes when the evidence (or the recent window alone) shows
 * the canary within the bound the step allows; the promotion only when the sequential test
 * passes on the evidence and the recent window is not above the bound. Otherwise wait,
 * saying how many more requests would be enough.
 */
export function countingVerdict(
  sample: JudgedSample,
  base: JudgementPolicy,
  words: CountingWords,
  stage?: Stage,
): { verdict: Verdict; judgement: Judgement } {
  const policy = stagePolicy(base, stage);
  const confidence = policy.passConfidence;
  const { recent, evidence } = countsOf(sample, words.windowMs);
  const jr = judge(recent, policy);
  const je = judge(evidence, policy);
  // The evidence may hold a failure the canary has since recovered from (the seed's demo:
  // errors for 25 s, then none): it only confirms a failure the recent window still shows.
  const recentAbove = recent.total > 0 && recent.bad / recent.total > policy.bound;
  if (jr.worse || (je.worse && recentAbove)) {
    const c = jr.worse ? recent : evidence;
    const j = jr.worse ? jr : je;
    return {
      verdict: {
        kind: 'fail',
        reason: words.reason,
        message: words.failMessage(goodPercent(c)),
        detail: `${describeCounts(c, c.windowMs, words.bad)}; p = ${j.pValue.toExponential(1)}`,
        confidence: 1 - policy.failAlpha,
      },
      judgement: je,
    };
  }
  const seen = describeCounts(evidence, evidence.windowMs, words.bad);
  if (stage?.kind !== 'step') {
    const sq = sequentialTest(evidence, policy.bound, PROMOTION_ALPHA);
    if (sq.pass && !recentAbove) {
      return { verdict: { kind: 'pass', confidence }, judgement: je };
    }
    const message =
      evidence.total <= 0
        ? `waiting for requests to ${words.canary}: none seen over the last ${formatDuration(evidence.windowMs)}`
        : sq.pass
          ? `waiting for the last ${formatDuration(recent.windowMs)} to come back within the bound before promoting ${words.canary} (${describeCounts(recent, recent.windowMs, words.bad)})`
          : `waiting for ${sq.needed} more requests to ${words.canary} (${seen})`;
    const needed = sq.pass ? 0 : sq.needed;
    return { verdict: { kind: 'wait', message, needed, confidence }, judgement: je };
  }
  if (je.better || jr.better) {
    return { verdict: { kind: 'pass', confidence }, judgement: je.better ? je : jr };
  }
  const message =
    evidence.total <= 0
      ? `waiting for requests to ${words.canary}: none seen over the last ${formatDuration(evidence.windowMs)}`
      : `waiting for ${je.needed} more requests to ${words.canary} (${seen})`;
  return { verdict: { kind: 'wait', message, needed: je.needed, confidence }, judgement: je };
}

/**
 * The evidence fields of status.analysis for a counting check: requests and bad ones
 * judged (over the evidence window), the confidence, and how many more a pass needs.
 */
export function evidenceFields(
  sample: JudgedSample,
  specWindowMs: number,
  v: Verdict,
  defaultConfidence: number,
): Partial<AnalysisStatus> {
  const { evidence } = countsOf(sample, specWindowMs);
  return {
    samples: Math.round(evidence.total),
    failures: Math.round(evidence.bad),
    evidenceWindow: formatDuration(evidence.windowMs),
    confidence: v.confidence ?? defaultConfidence,
    ...(v.kind === 'wait' && v.needed !== undefined && Number.isFinite(v.needed)
      ? { needed: v.needed }
      : {}),
  };
}
