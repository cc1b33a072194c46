// The checks a release must pass, each a small pure function returning either "pass"
// or a halt with a reason and a sentence for users. The sentences are what events,
// status and logs show, so they name objects the way the seed does ("podinfo.test").

import { checkRoutes, formatDuration, qualified } from '@steerer/common';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  RolloutSpec,
  Service,
  SplitRoute,
  RouteWeights,
} from '@steerer/common';
import type { AnalysisSample, Observed } from './types.js';

export const HALT_REASONS = [
  'MissingTarget',
  'InvalidTarget',
  'RollingUpdate',
  'UnhealthyPods',
  'HpaScaling',
  'LowSuccessRate',
  'NoMetricData',
  'MetricsUnavailable',
] as const;
export type HaltReason = (typeof HALT_REASONS)[number];

export type Gate = { ok: true } | { ok: false; reason: HaltReason; message: string };

const PASS: Gate = { ok: true };
const halt = (reason: HaltReason, message: string): Gate => ({ ok: false, reason, message });

/** The referenced objects, all present and usable. */
export interface Targets {
  primary: Deployment;
  canary: Deployment;
  virtualService: NonNullable<Observed['virtualService']>;
  routes: SplitRoute[];
  weights: RouteWeights;
  routesConsistent: boolean;
}

function checkService(svc: Service | undefined, host: string, ns: string): string | undefined {
  if (!svc) return `Service ${qualified(host, ns)} not found`;
  const type = svc.spec.type ?? 'ClusterIP';
  if (type !== 'ClusterIP')
    return `Service ${qualified(host, ns)} is of type ${type}, not ClusterIP`;
  const ports = svc.spec.ports ?? [];
  if (!ports.some((p) => p.name === 'http' || p.name === 'https')) {
    return `Service ${qualified(host, ns)} has no port named http or https`;
  }
  return undefined;
}

/** Gate 2 of the seed: the Deployments, Services and VirtualService route exist and fit. */
export function checkTargets(
  spec: RolloutSpec,
  ns: string,
  o: Observed,
): { ok: true; targets: Targets } | { ok: false; reason: HaltReason; message: string } {
  const missing: string[] = [];
  if (!o.primary) missing.push(`Deployment ${qualified(spec.primary.name, ns)}`);
  if (!o.canary) missing.push(`Deployment ${qualified(spec.canary.name, ns)}`);
  if (!o.virtualService) missing.push(`VirtualService ${qualified(spec.virtualService.name, ns)}`);
  const problems: string[] = [];
  for (const [svc, host] of [
    [o.primaryService, spec.primary.host],
    [o.canaryService, spec.canary.host],
  ] as const) {
    const p = checkService(svc, host, ns);
    if (p && !svc) missing.push(`Service ${qualified(host, ns)}`);
    else if (p) problems.push(p);
  }
  if (missing.length > 0)
    return { ok: false, reason: 'MissingTarget', message: `${missing.join(', ')} not found` };
  if (problems.length > 0)
    return { ok: false, reason: 'InvalidTarget', message: problems.join('; ') };
  const vs = o.virtualService as NonNullable<Observed['virtualService']>;
  const routes = checkRoutes(vs, spec.primary.host, spec.canary.host);
  if (!routes.ok) return { ok: false, reason: 'InvalidTarget', message: routes.message };
  return {
    ok: true,
    targets: {
      primary: o.primary as Deployment,
      canary: o.canary as Deployment,
      virtualService: vs,
      routes: routes.routes,
      weights: routes.weights,
      routesConsistent: routes.consistent,
    },
  };
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

/**
 * Gate 3 of the seed, for one Deployment: halt while a rolling update is under way or
 * while its pods are unhealthy.
 */
export function checkDeployment(d: Deployment, ns: string): Gate {
  const name = qualified(d.metadata.name, ns);
  const progress = rolloutProgress(d);
  const s = d.status ?? {};
  const stuck = (s.conditions ?? []).find(
    (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
  );
  if (stuck)
    return halt(
      'UnhealthyPods',
      `${name} has exceeded its progress deadline: ${stuck.message ?? 'pods are not becoming ready'}`,
    );
  if (progress.done) return PASS;
  const observed = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  if (!observed || progress.updated < progress.desired || (s.replicas ?? 0) > progress.updated) {
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
    return halt(
      'HpaScaling',
      `${qualified(canary.metadata.name, ns)} is being scaled by HorizontalPodAutoscaler ${qualified(hpa.metadata.name, ns)}: ${replicas} → ${replicas < min ? min : max} replicas`,
    );
  }
  if (desired !== current || replicas !== current) {
    // From the HPA's last count to where the size is going: what the HPA decided while
    // it scales, or the Deployment's new replicas until the HPA has caught up with them.
    const to = desired !== current ? desired : replicas;
    return halt(
      'HpaScaling',
      `${qualified(canary.metadata.name, ns)} is being scaled by HorizontalPodAutoscaler ${qualified(hpa.metadata.name, ns)}: ${current} → ${to} replicas`,
    );
  }
  return PASS;
}

export function formatPercent(v: number): string {
  return `${v.toFixed(2)}%`;
}

/** The window a sample covers, as users write durations. */
export function windowOf(sample: AnalysisSample | undefined, spec: RolloutSpec): string {
  const ms = sample && sample.kind !== 'error' ? sample.windowMs : undefined;
  return ms === undefined || ms === spec.metric.intervalMs
    ? spec.metric.interval
    : formatDuration(ms);
}

/** Gate 5 of the seed: the canary's success rate over the window, against the threshold. */
export function checkAnalysis(
  sample: AnalysisSample | undefined,
  spec: RolloutSpec,
  ns: string,
  now: number,
  maxAgeMs: number,
): Gate {
  const name = qualified(spec.primary.name, ns);
  const canary = qualified(spec.canary.name, ns);
  if (!sample || now - sample.at > maxAgeMs) {
    return halt('MetricsUnavailable', `no recent ${spec.metric.name} measurement for ${canary}`);
  }
  switch (sample.kind) {
    case 'error':
      return halt('MetricsUnavailable', `metrics server unavailable: ${sample.message}`);
    case 'nodata':
      return halt(
        'NoMetricData',
        `no ${spec.metric.name} data for ${canary} over the last ${windowOf(sample, spec)}`,
      );
    case 'ok':
      if (!Number.isFinite(sample.successRate)) {
        return halt(
          'NoMetricData',
          `no ${spec.metric.name} data for ${canary} over the last ${windowOf(sample, spec)}`,
        );
      }
      if (sample.successRate < spec.metric.threshold) {
        return halt(
          'LowSuccessRate',
          `success rate ${formatPercent(sample.successRate)} < ${spec.metric.threshold}%`,
        );
      }
      return PASS;
  }
  return halt('MetricsUnavailable', `unknown measurement for ${name}`);
}
