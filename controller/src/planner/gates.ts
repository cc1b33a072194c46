// The checks a release must pass, each a small pure function returning either "pass"
// or a halt with a reason and a sentence for users. The sentences are what events,
// status and logs show, so they name objects the way the seed does ("podinfo.test").

import {
  checkOf,
  formatDuration,
  qualified,
  routerFor,
  serviceProblem,
} from '@steerer/common/model';
import type {
  AnalysisSample,
  AnalysisStatus,
  CheckSpec,
  Deployment,
  HaltReason,
  HorizontalPodAutoscaler,
  KubeObject,
  RolloutSpec,
  RouteHosts,
  Router,
  Service,
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

/** Gate 2 of the seed: the Deployments, Services and route object exist and fit. */
export function checkTargets(
  spec: RolloutSpec,
  ns: string,
  o: Observed,
): { ok: true; targets: Targets } | Halt {
  const router = routerFor(spec.route.kind);
  if (!router) return halt('InvalidTarget', `no router for ${spec.route.kind}`);
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
  if (problems.length > 0) return halt('InvalidTarget', problems.join('; '));
  if (!o.primary || !o.canary || !o.route) return halt('MissingTarget', 'targets not found');
  const hosts = { primary: spec.primary.host, canary: spec.canary.host, namespace: ns };
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
  const hosts = { primary: spec.primary.host, canary: spec.canary.host, namespace: ns };
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

/** One check's sample, judged: a pass, or a halt and how status records it. */
function judge(
  check: CheckSpec,
  sample: AnalysisSample,
  canary: string,
  now: number,
  maxAgeMs: number,
): { gate: Gate; status: Omit<AnalysisStatus, 'time'> } {
  const c = checkOf(check);
  const base = { threshold: c.threshold(check), window: windowOf(sample, check) };
  const fail = (
    result: AnalysisStatus['result'],
    h: Halt,
  ): { gate: Gate; status: Omit<AnalysisStatus, 'time'> } => ({
    gate: h,
    status: { ...base, result, message: h.message },
  });
  if (now - sample.at > maxAgeMs) {
    return fail(
      'Error',
      halt('MetricsUnavailable', `no recent ${c.subject(check)} measurement for ${canary}`),
    );
  }
  if (sample.kind === 'error') {
    return fail(
      'Error',
      halt('MetricsUnavailable', `metrics server unavailable: ${sample.message}`),
    );
  }
  if (sample.kind === 'nodata' || !Number.isFinite(sample.value)) {
    return fail(
      'NoData',
      halt(
        'NoMetricData',
        `no ${c.subject(check)} data for ${canary} over the last ${base.window}`,
      ),
    );
  }
  const fields = c.statusFields(sample);
  const verdict = c.verdict(check, sample);
  if (!verdict.pass) {
    return {
      gate: halt(verdict.reason, verdict.message),
      status: { ...base, ...fields, result: 'Fail', message: verdict.message },
    };
  }
  return { gate: PASS, status: { ...base, ...fields, result: 'Pass' } };
}

export type AnalysisOutcome =
  /** A check has no sample since it was subscribed (a new release, a restart): wait for one. */
  | { kind: 'pending'; check: string }
  /** The first failing check's halt (or a pass), and the status of the check that decided. */
  | { kind: 'judged'; gate: Gate; status: Omit<AnalysisStatus, 'time'> };

/** Gate 5 of the seed: every check of the canary against its bound. */
export function checkAnalysis(
  spec: RolloutSpec,
  samples: AnalysisSamples | undefined,
  ns: string,
  now: number,
  maxAgeMs: number,
): AnalysisOutcome {
  const canary = qualified(spec.canary.name, ns);
  let first: AnalysisOutcome | undefined;
  for (const check of spec.checks) {
    const sample = samples?.get(check.name);
    if (!sample) return { kind: 'pending', check: check.name };
    const judged = judge(check, sample, canary, now, maxAgeMs);
    if (!judged.gate.ok) return { kind: 'judged', ...judged };
    first ??= { kind: 'judged', ...judged };
  }
  return (
    first ?? { kind: 'judged', gate: PASS, status: { result: 'Pass', threshold: 0, window: '' } }
  );
}
