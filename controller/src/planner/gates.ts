// The checks a release must pass, each a small pure function returning either "pass"
// or a halt with a reason and a sentence for users. The sentences are what events,
// status and logs show, so they name objects the way the seed does ("podinfo.test").

import {
  checkOf,
  formatDuration,
  qualified,
  routeHostsOf,
  routerFor,
  selectorOverlapMessage,
  selectorOverlaps,
  serviceProblem,
} from '@steerer/common/model';
import type {
  AnalysisSample,
  AnalysisStatus,
  CheckSpec,
  Stage,
  Verdict,
  Workload,
  Deployment,
  HaltReason,
  HorizontalPodAutoscaler,
  KubeObject,
  RolloutSpec,
  RouteHosts,
  Router,
  SelectorSide,
  Service,
  SubsetProblem,
  SubsetSide,
  Weights,
} from '@steerer/common/model';
import type { AnalysisSamples, Observed } from './types.js';

export type Gate = { ok: true } | { ok: false; reason: HaltReason; message: string };
export type Halt = Extract<Gate, { ok: false }>;

const PASS: Gate = { ok: true };
const halt = (reason: HaltReason, message: string): Halt => ({ ok: false, reason, message });

/** The referenced objects, all present and usable. */
export interface Targets {
  primary: Deployment;
  canary: Deployment;
  router: Router;
  route: KubeObject;
  hosts: RouteHosts;
  /** The split the route object applies now. */
  weights: Weights;
  /** Every splitting route of the object has the same weights. */
  routesConsistent: boolean;
}

/** Why a Service cannot carry the rollout: it is missing, or a sentence on what is wrong. */
function serviceGate(
  svc: Service | undefined,
  host: string,
  ns: string,
): { missing: true } | { missing: false; problem: string | undefined } {
  if (!svc) return { missing: true };
  return { missing: false, problem: serviceProblem(svc, qualified(host, ns))?.message };
}

/**
 * The primary's Service must not select the canary's pods, nor the canary's the primary's:
 * otherwise each side's real share of traffic differs from its weight, silently.
 */
export function selectorProblems(
  spec: RolloutSpec,
  ns: string,
  primary: Deployment,
  canary: Deployment,
  o: Pick<Observed, 'primaryService' | 'canaryService'>,
): string[] {
  if (!o.primaryService || !o.canaryService) return [];
  const side = (host: string, service: Service, d: Deployment): SelectorSide => ({
    host,
    service,
    deployment: d.metadata.name,
    podLabels: d.spec.template.metadata?.labels,
  });
  return selectorOverlaps(
    ns,
    side(spec.primary.host, o.primaryService, primary),
    side(spec.canary.host, o.canaryService, canary),
  ).map((overlap) => selectorOverlapMessage(overlap, qualified));
}

/**
 * Istio subset routing: the problems of the subsets the spec names (their DestinationRule
 * missing, a subset missing, labels that miss the side's pods or select the other side's).
 */
export function subsetProblems(
  spec: RolloutSpec,
  ns: string,
  router: Router,
  o: Pick<Observed, 'primary' | 'canary' | 'primaryService' | 'canaryService' | 'subsetRules'>,
): SubsetProblem[] {
  const kind = router.subsets;
  const { primary, canary } = spec;
  if (!kind || primary.subset === undefined || canary.subset === undefined) return [];
  const side = (
    role: 'primary' | 'canary',
    ref: { host: string; name: string },
    subset: string,
    d: Deployment | undefined,
    svc: Service | undefined,
  ): SubsetSide => ({
    role,
    host: ref.host,
    subset,
    deployment: ref.name,
    podLabels: d?.spec.template.metadata?.labels,
    serviceSelector: svc?.spec?.selector,
  });
  return kind.check(
    ns,
    o.subsetRules ?? [],
    [
      side('primary', primary, primary.subset, o.primary, o.primaryService),
      side('canary', canary, canary.subset, o.canary, o.canaryService),
    ],
    qualified,
  );
}

/** Gate 2 of the seed: the Deployments, Services and route object exist and fit. */
export function checkTargets(
  spec: RolloutSpec,
  ns: string,
  o: Observed,
): { ok: true; targets: Targets } | Halt {
  const router = routerFor(spec.route.kind);
  if (!router) return halt('InvalidTarget', `no router for ${spec.route.kind}`);
  if (o.routeUnavailable !== undefined) {
    return halt(
      'RouterUnavailable',
      `cannot read ${router.kind} ${qualified(spec.route.name, ns)}: ${o.routeUnavailable}`,
    );
  }
  const missing: string[] = [];
  if (!o.primary) missing.push(`Deployment ${qualified(spec.primary.name, ns)}`);
  if (!o.canary) missing.push(`Deployment ${qualified(spec.canary.name, ns)}`);
  if (!o.route) missing.push(`${router.kind} ${qualified(spec.route.name, ns)}`);
  const problems: string[] = [];
  for (const [svc, host] of [
    [o.primaryService, spec.primary.host],
    [o.canaryService, spec.canary.host],
  ] as const) {
    const g = serviceGate(svc, host, ns);
    if (g.missing) missing.push(`Service ${qualified(host, ns)}`);
    else if (g.problem) problems.push(g.problem);
  }
  if (missing.length > 0) return halt('MissingTarget', `${missing.join(', ')} not found`);
  if (!o.primary || !o.canary || !o.route) return halt('MissingTarget', 'targets not found');
  if (router.subsets && spec.primary.subset !== undefined) {
    if (o.subsetRulesUnavailable !== undefined) {
      return halt(
        'RouterUnavailable',
        `cannot read the ${router.subsets.kind}s of ${qualified(spec.primary.host, ns)}: ${o.subsetRulesUnavailable}`,
      );
    }
    const subsets = subsetProblems(spec, ns, router, o);
    const absent = subsets.filter((p) => p.kind === 'missing').map((p) => p.message);
    if (absent.length > 0) return halt('MissingTarget', absent.join('; '));
    problems.push(...subsets.map((p) => p.message));
  }
  problems.push(...selectorProblems(spec, ns, o.primary, o.canary, o));
  if (problems.length > 0) return halt('InvalidTarget', problems.join('; '));
  const hosts = routeHostsOf(spec, ns);
  const state = router.read(o.route, hosts);
  if (!state.ok) return halt('InvalidTarget', state.message);
  return {
    ok: true,
    targets: {
      primary: o.primary,
      canary: o.canary,
      router,
      route: o.route,
      hosts,
      weights: state.weights,
      routesConsistent: state.consistent,
    },
  };
}

/**
 * The route object and its split, when the spec's router can read it, even while other
 * targets are missing: enough to move traffic to safety.
 */
export function routeViewOf(
  spec: RolloutSpec,
  ns: string,
  o: Observed,
): Pick<Targets, 'router' | 'route' | 'hosts' | 'weights' | 'routesConsistent'> | undefined {
  const router = routerFor(spec.route.kind);
  if (!router || !o.route) return undefined;
  const hosts = routeHostsOf(spec, ns);
  const state = router.read(o.route, hosts);
  if (!state.ok) return undefined;
  return {
    router,
    route: o.route,
    hosts,
    weights: state.weights,
    routesConsistent: state.consistent,
  };
}

/** Before the canary gets its first traffic it must have a ready pod (zero-error start). */
export function checkReadyForTraffic(canary: Deployment, ns: string): Gate {
  const available = canary.status?.availableReplicas ?? 0;
  if ((canary.spec.replicas ?? 1) > 0 && available > 0) return PASS;
  return halt(
    'UnhealthyPods',
    `${qualified(canary.metadata.name, ns)} has no ready pods yet: ${available} of ${canary.spec.replicas ?? 1} replicas available`,
  );
}

export interface RolloutProgress {
  /** The Deployment controller has seen the latest spec and every replica is updated and available. */
  done: boolean;
  desired: number;
  updated: number;
  available: number;
  /** The Deployment controller has seen the latest spec. */
  observed: boolean;
  /** Where the rollout stands, in the words `kubectl rollout status` uses. */
  describe: string;
}

export function rolloutProgress(d: Deployment): RolloutProgress {
  const desired = d.spec.replicas ?? 1;
  const s = d.status ?? {};
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const observed = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  const total = s.replicas ?? 0;
  const done = observed && updated >= desired && total <= updated && available >= desired;
  let describe: string;
  if (!observed) describe = 'waiting for the spec update to be observed';
  else if (updated < desired)
    describe = `${updated} out of ${desired} new replicas have been updated`;
  else if (total > updated) describe = `${total - updated} old replicas are pending termination`;
  else describe = `${available} of ${updated} updated replicas are available`;
  return { done, desired, updated, available, observed, describe };
}

/** The Deployment's ProgressDeadlineExceeded message, if its rollout is stuck. */
export function progressDeadlineExceeded(d: Deployment): string | undefined {
  const stuck = (d.status?.conditions ?? []).find(
    (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
  );
  return stuck ? (stuck.message ?? 'pods are not becoming ready') : undefined;
}

/**
 * Gate 3 of the seed, for one Deployment: halt while a rolling update is under way or
 * while its pods are unhealthy.
 */
export function checkDeployment(d: Deployment, ns: string): Gate {
  const name = qualified(d.metadata.name, ns);
  const progress = rolloutProgress(d);
  const stuck = progressDeadlineExceeded(d);
  if (stuck !== undefined)
    return halt('UnhealthyPods', `${name} has exceeded its progress deadline: ${stuck}`);
  if (progress.done) return PASS;
  if (
    !progress.observed ||
    progress.updated < progress.desired ||
    (d.status?.replicas ?? 0) > progress.updated
  ) {
    return halt(
      'RollingUpdate',
      `${name} rolling update under way: ${progress.updated} of ${progress.desired} replicas updated, ${progress.available} available`,
    );
  }
  return halt(
    'UnhealthyPods',
    `${name} pods are unhealthy: ${progress.available} of ${progress.desired} replicas available`,
  );
}

function hpaHalt(
  canary: Deployment,
  hpa: HorizontalPodAutoscaler,
  ns: string,
  from: number,
  to: number,
): Halt {
  return halt(
    'HpaScaling',
    `${qualified(canary.metadata.name, ns)} is being scaled by HorizontalPodAutoscaler ${qualified(hpa.metadata.name, ns)}: ${from} → ${to} replicas`,
  );
}

/** Halt while the canary's HPA is changing its size. */
export function checkHpa(
  hpa: HorizontalPodAutoscaler | undefined,
  canary: Deployment,
  ns: string,
): Gate {
  const st = hpa?.status;
  if (!hpa || !st || st.currentReplicas === undefined) return PASS;
  const current = st.currentReplicas;
  const desired = st.desiredReplicas ?? current;
  // An HPA whose target has zero replicas does not act ("scaling disabled").
  if (current === 0 && desired === 0) return PASS;
  const replicas = canary.spec.replicas ?? 1;
  // An HPA that cannot compute a size from its metrics (ScalingActive=False) only keeps
  // the replicas within its bounds; its desiredReplicas then says nothing it will do.
  const inactive = st.conditions?.some(
    (c) => (c.type === 'ScalingActive' || c.type === 'AbleToScale') && c.status === 'False',
  );
  if (inactive) {
    const min = hpa.spec.minReplicas ?? 1;
    const max = hpa.spec.maxReplicas;
    if (replicas >= min && replicas <= max) return PASS;
    return hpaHalt(canary, hpa, ns, replicas, replicas < min ? min : max);
  }
  if (desired !== current || replicas !== current) {
    // From the HPA's last count to where the size is going: what the HPA decided while
    // it scales, or the Deployment's new replicas until the HPA has caught up with them.
    return hpaHalt(canary, hpa, ns, current, desired !== current ? desired : replicas);
  }
  return PASS;
}

/** The window a sample covers, as users write durations. */
export function windowOf(sample: AnalysisSample | undefined, check: CheckSpec): string {
  const ms = sample && sample.kind !== 'error' ? sample.windowMs : undefined;
  return ms === undefined || ms === check.intervalMs ? check.interval : formatDuration(ms);
}

type JudgedStatus = Omit<AnalysisStatus, 'time'>;

/** The query users can paste into Prometheus for this check of this canary. */
function explained(check: CheckSpec, workload: Workload, windowMs: number): { query?: string } {
  try {
    return { query: checkOf(check).explain(check, workload, windowMs) };
  } catch {
    return {};
  }
}

/** One check's sample, judged: a pass, a halt, or a wait for requests — and its status. */
function judge(
  check: CheckSpec,
  sample: AnalysisSample,
  workload: Workload,
  now: number,
  maxAgeMs: number,
  stage: Stage | undefined,
): { verdict: Verdict; status: JudgedStatus } {
  const c = checkOf(check);
  const canary = qualified(workload.name, workload.namespace);
  const base = {
    check: check.name,
    threshold: c.threshold(check),
    window: windowOf(sample, check),
    ...explained(check, workload, (sample.kind !== 'error' && sample.windowMs) || check.intervalMs),
  };
  const unavailable = (message: string): { verdict: Verdict; status: JudgedStatus } => ({
    verdict: { kind: 'fail', reason: 'MetricsUnavailable', message },
    status: { ...base, result: 'Error', message },
  });
  if (now - sample.at > maxAgeMs) {
    return unavailable(`no recent ${c.subject(check)} measurement for ${canary}`);
  }
  if (sample.kind === 'error') return unavailable(`metrics server unavailable: ${sample.message}`);
  const verdict = c.verdict(check, sample, canary, stage);
  const fields = c.statusFields(check, sample, verdict);
  switch (verdict.kind) {
    case 'pass':
      return { verdict, status: { ...base, ...fields, result: 'Pass' } };
    case 'wait':
      return {
        verdict,
        status: { ...base, ...fields, result: 'Waiting', message: verdict.message },
      };
    case 'fail': {
      const message = verdict.detail ? `${verdict.message} (${verdict.detail})` : verdict.message;
      const result = verdict.reason === 'NoMetricData' ? 'NoData' : 'Fail';
      return { verdict, status: { ...base, ...fields, result, message } };
    }
  }
}

export type AnalysisOutcome =
  /** A check has no sample since it was subscribed (a new release, a restart): wait for one. */
  | { kind: 'pending'; check: string }
  /** A check has seen too few requests to pass or fail: the release waits for more. */
  | { kind: 'waiting'; message: string; status: JudgedStatus }
  /** The first failing check's halt (or a pass), and the status of the check that decided. */
  | { kind: 'judged'; gate: Gate; status: JudgedStatus };

/** Gate 5 of the seed: every check of the canary against its bound. */
export function checkAnalysis(
  spec: RolloutSpec,
  samples: AnalysisSamples | undefined,
  ns: string,
  now: number,
  maxAgeMs: number,
  stage?: Stage,
): AnalysisOutcome {
  const workload = { namespace: ns, name: spec.canary.name };
  let waiting: AnalysisOutcome | undefined;
  let passed: AnalysisOutcome | undefined;
  for (const check of spec.checks) {
    const sample = samples?.get(check.name);
    if (!sample) return { kind: 'pending', check: check.name };
    const { verdict, status } = judge(check, sample, workload, now, maxAgeMs, stage);
    if (verdict.kind === 'fail') {
      return { kind: 'judged', gate: halt(verdict.reason, verdict.message), status };
    }
    if (verdict.kind === 'wait') waiting ??= { kind: 'waiting', message: verdict.message, status };
    else passed ??= { kind: 'judged', gate: PASS, status };
  }
  return (
    waiting ??
    passed ?? { kind: 'judged', gate: PASS, status: { result: 'Pass', threshold: 0, window: '' } }
  );
}
