// One simulated release, in simulated time, through Steerer's real code: the planner
// (`plan`, as the reconciler calls it), the analysis hub (`AnalysisHub.refresh`, with an
// injected clock), the checks' queries, `read` and verdicts. Around them: a world that
// applies the planner's actions like the API server and the Deployment controller would
// (weights at once, the canary ready at once, the primary's rollout after a fixed time),
// the synthetic mesh and Prometheus of judgment-prom.ts, and the controller's triggers (a
// reconcile when the plan asks to be requeued, when a write changed something, when the
// primary finishes its rollout, and when the hub reports a first sample or a measured
// failure — `measuredFailure`, the wiring's own test).
//
// The OLD rule (the seed's judgment, commit 38b187c) is modelled by what the planner is
// fed: the success-rate check's samples without counts, which its verdict judges with the
// seed's comparison (`value >= threshold`), and every "no data" sample replaced by an
// error sample, which the planner halts on at the step like the seed halted on NoMetricData
// (not between steps, and without starting the rollback clock). The seed had no latency
// check; the OLD rule for one is the same point comparison (the slow fraction over the
// window against the bound), handed to the real verdict as decisive counts.

import { AnalysisHub, measuredFailure } from '@steerer/controller/analysis/hub';
import { ScrapeIntervals } from '@steerer/controller/analysis/scrape';
import { plan } from '@steerer/controller/planner/plan';
import type { Action, AnalysisSamples, PlannerConfig } from '@steerer/controller/planner/types';
import {
  LATENCY_FAIL_ALPHA,
  LATENCY_PASS_CONFIDENCE,
  SUCCESS_RATE_FAIL_ALPHA,
  SUCCESS_RATE_PASS_CONFIDENCE,
  applyJsonPatch,
  PROMOTION_ALPHA,
  countsOf,
  sequentialTest,
  jsonEqual,
  silentLogger,
} from '@steerer/common';
import type {
  AnalysisSample,
  CheckSpec,
  Deployment,
  PodTemplate,
  RolloutObject,
  RolloutStatus,
  Service,
  VirtualService,
} from '@steerer/common';
import {
  CANARY,
  DURATION_METRIC,
  FakePrometheus,
  NAMESPACE,
  SyntheticMesh,
} from './judgment-prom.js';
import type { CanaryBehaviour } from './judgment-prom.js';
import { Rng } from './judgment-rng.js';

export const ANALYSIS_INTERVAL_MS = 2000;
export const METRICS_TIMEOUT_MS = 5000;
/** The primary's rollout after the canary's template is copied onto it. */
export const PRIMARY_ROLLOUT_MS = 10_000;
export const CHECK_WINDOW = '1m';
export const CHECK_WINDOW_MS = 60_000;
export const THRESHOLD = 99;
export const LATENCY_BOUND_MS = 500;
export const STEP_WEIGHT = 10;
const KEY = `${NAMESPACE}/podinfo`;
/** The planner's shortest requeue (MIN_REQUEUE_MS in controller/src/planner/pass.ts). */
const HOT_LOOP_MS = 100;
const START = Date.parse('2026-01-01T00:00:00Z');

export type Rule = 'old' | 'new' | 'oracle';

/** A canary's behaviour over the release, and a fault that may start in the middle of it. */
export interface Scenario {
  behaviour: CanaryBehaviour;
  /** From the moment the route gives the canary this weight, plus a uniform delay within one step… */
  faultAtWeight?: number;
  /** …its error ratio becomes this. */
  faultErrorRatio?: number;
}

export interface ReleaseSetup {
  rps: number;
  stepMs: number;
  scrapeMs: number;
  scenario: Scenario;
  rule: Rule;
  /** The simulation stops a release this long after it started. */
  capMs: number;
  seed: number;
  /** Called after every reconcile with one line on what the planner decided. */
  trace?: (line: string) => void;
  /** What-if: exact counts instead of increase()'s extrapolation (FakePrometheus.exact). */
  exactCounts?: boolean;
  /** Called after every poll of the hub, for diagnosis. */
  inspect?: (now: number, mesh: SyntheticMesh, samples: AnalysisSamples | undefined) => void;
  /**
   * Run every reconcile the controller would, including the two kinds the simulation
   * normally skips because they cannot change anything (see `reconcile` and the urgent
   * test in the loop); the self-check compares both ways.
   */
  faithful?: boolean;
}

export const OUTCOMES = ['promoted', 'rolledBack', 'deadline', 'timeout'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ReleaseRecord {
  outcome: Outcome;
  /** Start to Succeeded (promoted), to the rollback's start, or to the cap. */
  durationMs: number;
  /** Start to the first halt of any kind (NaN: none). */
  firstHaltMs: number;
  halts: number;
  /** Halts on a measured failure (LowSuccessRate, HighLatency). */
  failHalts: number;
  /** Halts on "no data" or missing measurements (the seed's NoMetricData; MetricsUnavailable). */
  noDataHalts: number;
  /** Start to the first halt on a measured failure, or to the rollback (NaN: neither). */
  detectMs: number;
  /** Start to the mid-release fault (NaN: none). */
  faultMs: number;
  /** The canary's weight when the release ended. */
  finalWeight: number;
  /** Requests the canary served, and of those errors (or slow ones). */
  served: number;
  servedBad: number;
  /** Reconciles and Prometheus queries, for the cost figure. */
  reconciles: number;
  /**
   * Reconciles the controller would run that the simulation skipped: a plan that changes
   * nothing yet asks to be requeued at the 100 ms minimum (a hot loop) is not re-run until
   * something it depends on can change (see skipHotLoop).
   */
  hotLoopReconciles: number;
  /** Reconciles skipped because they cannot change anything (not in `faithful` mode). */
  skippedReconciles: number;
  queries: number;
  /**
   * NEW rule, promoted releases: 1 when the promotion's pass came from the recent window
   * alone (the evidence window by itself would not have passed it), else 0.
   */
  promotedOnRecent: number;
}

/** The seed's Rollout, or the same with a p99 latency check instead of the success rate. */
export function rolloutSpec(kind: CanaryBehaviour['kind']): Record<string, unknown> {
  const base = {
    targetKind: 'Deployment',
    primary: { name: 'podinfo', host: 'podinfo' },
    canary: { name: CANARY, host: CANARY },
    virtualService: { name: 'podinfo', weight: STEP_WEIGHT },
  };
  if (kind === 'errors') {
    return {
      ...base,
      metric: {
        type: 'counter',
        name: 'istio_requests_total',
        interval: CHECK_WINDOW,
        threshold: THRESHOLD,
      },
    };
  }
  return {
    ...base,
    metrics: [
      {
        name: 'p99',
        type: 'latency',
        metric: DURATION_METRIC,
        percentile: THRESHOLD,
        maxMs: LATENCY_BOUND_MS,
        interval: CHECK_WINDOW,
      },
    ],
  };
}

function template(app: string, image: string): PodTemplate {
  return {
    metadata: { labels: { app } },
    spec: {
      containers: [{ name: 'podinfod', image, ports: [{ containerPort: 9898, name: 'http' }] }],
    },
  };
}

function ready(d: Deployment): void {
  const r = d.spec.replicas ?? 1;
  d.status = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: r,
    updatedReplicas: r,
    readyReplicas: r,
    availableReplicas: r,
  };
}

function deployment(name: string, image: string): Deployment {
  const d: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: NAMESPACE,
      generation: 1,
      resourceVersion: '1',
      labels: { app: name },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: template(name, image),
    },
  };
  ready(d);
  return d;
}

function service(name: string): Service {
  return {
    metadata: { name, namespace: NAMESPACE },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 9898 }] },
  };
}

function virtualService(): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'podinfo', namespace: NAMESPACE },
    spec: {
      hosts: ['podinfo'],
      http: [
        {
          route: [
            { destination: { host: 'podinfo' }, weight: 100 },
            { destination: { host: CANARY }, weight: 0 },
          ],
        },
      ],
    },
  };
}

/** A verdict the real check reaches unambiguously: 10⁶ requests, none or all of them bad. */
function decisive(sample: Extract<AnalysisSample, { kind: 'ok' }>, pass: boolean): AnalysisSample {
  const total = 1e6;
  return {
    kind: 'ok',
    value: sample.value,
    requestRate: sample.requestRate,
    at: sample.at,
    ...(sample.windowMs !== undefined ? { windowMs: sample.windowMs } : {}),
    counts: { total, bad: pass ? 0 : total },
  };
}

/** The OLD rule's view of one sample (see the top of this file). */
export function oldRuleSample(check: CheckSpec, s: AnalysisSample): AnalysisSample {
  if (s.kind === 'error') return s;
  if (s.kind === 'nodata') return { kind: 'error', message: 'no data (NoMetricData)', at: s.at };
  if (check.type === 'success-rate') {
    return {
      kind: 'ok',
      value: s.value,
      requestRate: s.requestRate,
      at: s.at,
      ...(s.windowMs !== undefined ? { windowMs: s.windowMs } : {}),
    };
  }
  if (check.type === 'latency') return decisive(s, s.value >= check.percentile);
  throw new Error(`no OLD rule for ${check.type} checks`);
}

/**
 * Whether the evidence window alone would pass the promotion for this sample (counting.ts,
 * `countingVerdict`: the sequential test on the evidence; a promotion on the recent window
 * alone would be a defect).
 */
export function evidencePassesPromotion(check: CheckSpec, s: AnalysisSample): boolean {
  if (s.kind !== 'ok' || (!s.counts && !s.evidence)) return true;
  const base =
    check.type === 'latency'
      ? {
          bound: Math.max(0, (100 - check.percentile) / 100),
          failAlpha: LATENCY_FAIL_ALPHA,
          passConfidence: LATENCY_PASS_CONFIDENCE,
        }
      : check.type === 'success-rate'
        ? {
            bound: Math.max(0, (100 - check.threshold) / 100),
            failAlpha: SUCCESS_RATE_FAIL_ALPHA,
            passConfidence: SUCCESS_RATE_PASS_CONFIDENCE,
          }
        : undefined;
  if (!base) return true;
  const { evidence } = countsOf(s, check.intervalMs);
  return sequentialTest(evidence, base.bound, PROMOTION_ALPHA).pass;
}

/** The ORACLE: every sample passes at once (the ideal release, for durations). */
function oracleSample(s: AnalysisSample): AnalysisSample {
  if (s.kind === 'error') return s;
  return decisive({ kind: 'ok', value: 100, requestRate: 1, at: s.at }, true);
}

export function controllerConfig(stepMs: number): PlannerConfig {
  return {
    stepIntervalMs: stepMs,
    maxSampleAgeMs: 3 * ANALYSIS_INTERVAL_MS + METRICS_TIMEOUT_MS,
    rollbackOnFailure: true,
    progressDeadlineMs: 600_000,
    routeSettleMs: 5000,
  };
}

/** Simulates one release; resolves to what happened. */
export async function simulateRelease(setup: ReleaseSetup): Promise<ReleaseRecord> {
  const rng = new Rng(setup.seed);
  const { scenario, rule } = setup;
  let now = START;
  const behaviour = { ...scenario.behaviour };
  const mesh = new SyntheticMesh(
    rng,
    setup.rps,
    setup.scrapeMs,
    behaviour,
    START,
    Math.floor(rng.uniform() * setup.scrapeMs),
  );
  const prometheus = new FakePrometheus(mesh, () => now);
  prometheus.bucketMs = LATENCY_BOUND_MS;
  prometheus.exact = setup.exactCounts === true;
  prometheus.countBorn = rule !== 'old';
  const view = (check: CheckSpec, s: AnalysisSample): AnalysisSample =>
    rule === 'old' ? oldRuleSample(check, s) : rule === 'oracle' ? oracleSample(s) : s;
  let urgent = false;
  // As controller.ts wires it: the scrape interval learnt from Prometheus' targets API, so
  // windows shorter than three scrapes are widened. The seed had no such thing: the OLD
  // rule measures the spec's window as written (cut to the release's age).
  const scrape =
    rule === 'old'
      ? undefined
      : new ScrapeIntervals({ prometheus, logger: silentLogger, now: () => now });
  const hub = new AnalysisHub({
    prometheus,
    intervalMs: ANALYSIS_INTERVAL_MS,
    logger: silentLogger,
    ...(scrape ? { scrape } : {}),
    now: () => now,
    onSample: (_key, check, sample, first) => {
      if (first || measuredFailure(check, view(check, sample))) urgent = true;
    },
  });
  const spec = rolloutSpec(behaviour.kind);
  const checksByName = new Map<string, CheckSpec>();
  const config = controllerConfig(setup.stepMs);

  const primary = deployment('podinfo', 'podinfo:1.1.1');
  const canary = deployment(CANARY, 'podinfo:1.2.0');
  const observed = {
    primary,
    canary,
    primaryService: service('podinfo'),
    canaryService: service(CANARY),
    route: virtualService(),
  };
  let rollout: RolloutObject = {
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: {
      name: 'podinfo',
      namespace: NAMESPACE,
      generation: 1,
      resourceVersion: '1',
      uid: 'u1',
    },
    spec,
  };

  const rec: ReleaseRecord = {
    outcome: 'timeout',
    durationMs: setup.capMs,
    firstHaltMs: Number.NaN,
    halts: 0,
    failHalts: 0,
    noDataHalts: 0,
    detectMs: Number.NaN,
    faultMs: Number.NaN,
    finalWeight: 0,
    served: 0,
    servedBad: 0,
    reconciles: 0,
    hotLoopReconciles: 0,
    skippedReconciles: 0,
    queries: 0,
    promotedOnRecent: 0,
  };
  const end = START + setup.capMs;
  // Whole milliseconds, as Date.now() gives the controller (status times are too).
  let nextPoll = START + Math.floor(rng.uniform() * ANALYSIS_INTERVAL_MS);
  let nextReconcile = START;
  let primaryReadyAt = Number.POSITIVE_INFINITY;
  let faultAt = Number.POSITIVE_INFINITY;
  let faultScheduled = false;
  /** Detection counts from the fault on (from the start when the canary is bad throughout). */
  let faulty = scenario.faultAtWeight === undefined;
  const faultDelay = Math.floor(rng.uniform() * setup.stepMs);
  let done = false;
  let lastActions = 0;
  /** The rollback rule's default: checks failing for twice the longest window. */
  const failureDurationMs = 2 * CHECK_WINDOW_MS;

  const canaryWeight = (): number => {
    const r = observed.route.spec.http?.[0]?.route;
    return r?.[1]?.weight ?? 0;
  };

  const apply = (a: Action): void => {
    switch (a.kind) {
      case 'setWeights': {
        observed.route = applyJsonPatch(observed.route, a.ops);
        const w = canaryWeight();
        mesh.share = w / 100;
        if (
          !faultScheduled &&
          scenario.faultAtWeight !== undefined &&
          w === scenario.faultAtWeight
        ) {
          faultScheduled = true;
          faultAt = now + faultDelay;
        }
        return;
      }
      case 'scaleCanary':
        canary.spec.replicas = a.replicas;
        canary.metadata.generation = (canary.metadata.generation ?? 1) + 1;
        ready(canary);
        return;
      case 'promote':
        primary.spec.template = structuredClone(a.template);
        primary.metadata.generation = (primary.metadata.generation ?? 1) + 1;
        primary.status = { ...primary.status, updatedReplicas: 0 };
        primaryReadyAt = now + PRIMARY_ROLLOUT_MS;
        return;
      case 'labelTargets':
        for (const t of a.targets) {
          const d = t.role === 'primary' ? primary : canary;
          d.metadata.labels = {
            ...d.metadata.labels,
            'steerer.io/rollout': a.rollout,
            'steerer.io/role': t.role,
          };
        }
        return;
      case 'addFinalizer':
        rollout.metadata.finalizers = [
          ...(rollout.metadata.finalizers ?? []),
          'steerer.io/cleanup',
        ];
        return;
      case 'removeFinalizer':
      case 'ackRequest':
        return;
    }
  };

  const samplesFor = (): AnalysisSamples | undefined => {
    const latest = hub.latest(KEY);
    if (!latest || rule === 'new') return latest;
    const out = new Map<string, AnalysisSample>();
    for (const [name, s] of latest) {
      const check = checksByName.get(name);
      out.set(name, check ? view(check, s) : s);
    }
    return out;
  };

  const observeHalt = (prev: RolloutStatus, next: RolloutStatus): void => {
    if ((next.failedChecks ?? 0) <= (prev.failedChecks ?? 0)) return;
    const t = now - START;
    rec.halts++;
    if (Number.isNaN(rec.firstHaltMs)) rec.firstHaltMs = t;
    const result = next.analysis?.result;
    if (result === 'Fail') {
      rec.failHalts++;
      if (faulty && Number.isNaN(rec.detectMs)) rec.detectMs = t;
    } else if (result === 'Error' || result === 'NoData') rec.noDataHalts++;
  };

  const reconcileOnce = (): boolean => {
    rec.reconciles++;
    const p = plan({ rollout, observed, analysis: samplesFor(), now, config });
    if (p.spec && checksByName.size === 0)
      for (const c of p.spec.checks) checksByName.set(c.name, c);
    const prev = rollout.status ?? {};
    if (rule === 'new' && p.status.phase === 'Promoting' && prev.phase !== 'Promoting') {
      const latest = hub.latest(KEY);
      for (const [name, s] of latest ?? []) {
        const check = checksByName.get(name);
        if (check && !evidencePassesPromotion(check, s)) rec.promotedOnRecent = 1;
      }
    }
    const changed = !jsonEqual(prev, p.status) || p.actions.length > 0;
    lastActions = p.actions.length;
    rollout = { ...rollout, status: p.status };
    observeHalt(prev, p.status);
    hub.want(KEY, p.measure);
    for (const a of p.actions) apply(a);
    nextReconcile =
      p.requeueAfterMs === undefined ? Number.POSITIVE_INFINITY : now + p.requeueAfterMs;
    if (!changed && p.requeueAfterMs !== undefined && p.requeueAfterMs <= HOT_LOOP_MS)
      nextReconcile = skipHotLoop(p.status);
    const phase = p.status.phase;
    setup.trace?.(
      `${((now - START) / 1000).toFixed(3)}s ${phase} w=${p.status.canaryWeight ?? 0} requeue=${p.requeueAfterMs ?? '-'}${changed ? '*' : ''} ${p.status.analysis?.result ?? '-'} samples=${p.status.analysis?.samples ?? '-'}/${p.status.analysis?.failures ?? '-'}@${p.status.analysis?.evidenceWindow ?? '-'} sr=${p.status.analysis?.successRate ?? '-'} failing=${p.status.failingSince ?? '-'} ${p.status.message ?? ''}`,
    );
    if (phase === 'RollingBack' || phase === 'Failed') {
      rec.outcome =
        p.status.failureReason === 'ProgressDeadlineExceeded' ? 'deadline' : 'rolledBack';
      if (faulty && rec.outcome === 'rolledBack' && Number.isNaN(rec.detectMs))
        rec.detectMs = now - START;
      done = true;
    } else if (phase === 'Succeeded') {
      rec.outcome = 'promoted';
      done = true;
    }
    if (done) {
      rec.durationMs = now - START;
      rec.finalWeight = p.status.canaryWeight ?? 0;
    }
    return changed;
  };

  /**
   * The next instant a plan that changed nothing can decide differently: its inputs are the
   * status, the observed objects and the samples, which change only at events (a poll, the
   * primary's rollout, a write), and the clock, which matters only where the planner
   * compares it with status times: the step (lastCheckTime), the progress deadline
   * (lastProgressTime) and the route's settle time (lastRouteTime). The reconciles in
   * between, every 100 ms, are counted, not run.
   */
  const skipHotLoop = (s: RolloutStatus): number => {
    const at = (iso: string | undefined, plus: number): number =>
      iso ? Date.parse(iso) + plus : Number.POSITIVE_INFINITY;
    const candidates = [
      nextPoll,
      primaryReadyAt,
      faultAt,
      at(s.lastCheckTime, config.stepIntervalMs),
      at(s.lastProgressTime ?? s.startTime, config.progressDeadlineMs + 1),
      at(s.lastRouteTime, config.routeSettleMs),
      end,
    ];
    const next = Math.min(...candidates.filter((t) => t > now));
    const target = Math.max(now + HOT_LOOP_MS, next);
    rec.hotLoopReconciles += Math.max(0, Math.floor((target - now) / HOT_LOOP_MS) - 1);
    return target;
  };

  /**
   * One reconcile, then more at the same instant while writes keep changing things: the
   * controller's watch sees its own writes and reconciles again. After a write of status
   * alone (no action) that second reconcile is skipped unless `faithful`: the planner is
   * idempotent at one instant (measured: 3,262 of 3,262 such reconciles changed nothing),
   * and the self-check runs releases both ways.
   */
  const reconcile = (): void => {
    for (let i = 0; i < 5 && !done; i++) {
      lastActions = 0;
      if (!reconcileOnce()) break;
      if (lastActions === 0 && !setup.faithful) {
        rec.skippedReconciles++;
        break;
      }
    }
  };

  /**
   * Whether a reconcile for a measured failure would change nothing: the release is
   * already Halted, so the planner only looks again at the step (lastCheckTime), when the
   * rollback rule is due (failingSince + twice the window, the default), or at the
   * progress deadline. Those instants are the planner's (release.ts: judge, rollbackAt;
   * rollback.ts: deadlinePassed); the self-check compares releases with and without it.
   */
  const urgentIsNoOp = (): boolean => {
    const s = rollout.status ?? {};
    if (setup.faithful || s.phase !== 'Halted' || !s.lastCheckTime) return false;
    const due = Date.parse(s.lastCheckTime) + config.stepIntervalMs;
    const rollbackAt = s.failingSince
      ? Date.parse(s.failingSince) + failureDurationMs
      : Number.POSITIVE_INFINITY;
    const progress = s.lastProgressTime ?? s.startTime;
    const deadline = progress ? Date.parse(progress) + config.progressDeadlineMs : Number.NaN;
    return now < due && now < rollbackAt && now < deadline;
  };

  while (!done) {
    const t = Math.min(nextPoll, nextReconcile, primaryReadyAt, faultAt);
    if (t > end) {
      now = end;
      mesh.advanceTo(end);
      rec.finalWeight = rollout.status?.canaryWeight ?? 0;
      break;
    }
    now = t;
    mesh.advanceTo(t);
    if (t === faultAt) {
      behaviour.errorRatio = scenario.faultErrorRatio ?? behaviour.errorRatio;
      rec.faultMs = t - START;
      faultAt = Number.POSITIVE_INFINITY;
      faulty = true;
    }
    if (t === primaryReadyAt) {
      ready(primary);
      primaryReadyAt = Number.POSITIVE_INFINITY;
      nextReconcile = t;
    }
    if (t === nextPoll) {
      await hub.refresh();
      setup.inspect?.(now - START, mesh, hub.latest(KEY));
      nextPoll += ANALYSIS_INTERVAL_MS;
      if (urgent) {
        urgent = false;
        if (nextReconcile > t && urgentIsNoOp()) rec.skippedReconciles++;
        else nextReconcile = t;
      }
    }
    if (nextReconcile <= t) reconcile();
  }
  rec.served = mesh.served;
  rec.servedBad = mesh.servedBad;
  rec.queries = prometheus.queries;
  return rec;
}
