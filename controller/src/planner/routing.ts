// What the route object must carry after a pass, and getting it there: the phase decides
// the split; a side without ready pods never keeps traffic; a change made by someone else
// is put back with a warning; after a change, the data plane is given time to apply it
// before the canary may lose its pods.

import { qualified, recordedWeights, weightAnnotationOps } from '@steerer/common/model';
import type { Deployment, RolloutStatus, Weights } from '@steerer/common/model';
import type { Targets } from './gates.js';
import type { Pass } from './pass.js';

/** The route object and how it splits traffic now: all routing needs of the targets. */
export type RouteView = Pick<
  Targets,
  'router' | 'route' | 'hosts' | 'weights' | 'routesConsistent'
>;

/** The split the phase wants, before readiness is considered. */
export function desiredWeights(s: RolloutStatus): Weights {
  switch (s.phase) {
    case 'Progressing':
    case 'Halted':
    case 'Paused':
      return { primary: 100 - (s.canaryWeight ?? 0), canary: s.canaryWeight ?? 0 };
    case 'Promoting':
      return { primary: 0, canary: 100 };
    case 'Waiting':
    case 'Initialized':
    case 'Finalising':
    case 'Succeeded':
    case 'RollingBack':
    case 'Failed':
    case undefined:
      return { primary: 100, canary: 0 };
  }
}

/** A Deployment that can answer requests now: it wants replicas and has one available. */
export function hasReadyPods(d: Deployment | undefined): boolean {
  return !!d && (d.spec.replicas ?? 1) > 0 && (d.status?.availableReplicas ?? 0) > 0;
}

/**
 * The split to route: `want`, except that a side without ready pods never keeps traffic
 * while the other side has some. `why` says what moved, for status.
 */
export function safeWeights(
  want: Weights,
  primary: Deployment | undefined,
  canary: Deployment | undefined,
): { weights: Weights; why?: string } {
  const p = hasReadyPods(primary);
  const c = hasReadyPods(canary);
  if (want.canary > 0 && !c && p) {
    return { weights: { primary: 100, canary: 0 }, why: 'the canary has no ready pods' };
  }
  if (want.primary > 0 && !p && c) {
    return { weights: { primary: 0, canary: 100 }, why: 'the primary has no ready pods' };
  }
  return { weights: want };
}

/** Patches the route object to `want` when it differs, saying so if someone else changed it. */
export function ensureRouting(pass: Pass, view: RouteView, want: Weights): void {
  const found = view.weights;
  if (view.routesConsistent && found.primary === want.primary && found.canary === want.canary) {
    return;
  }
  const ops = view.router.patch(view.route, view.hosts, want);
  if (ops.length === 0) return;
  ops.push(...weightAnnotationOps(view.route, want));
  pass.actions.push({
    kind: 'setWeights',
    route: { kind: view.router.kind, name: view.route.metadata.name },
    ...want,
    ops,
  });
  pass.status.lastRouteTime = pass.nowIso;
  // Steerer records the weights it writes on the route object. Weights that differ from
  // that record were changed by someone else: say so whenever Steerer puts them back.
  // (A pending change of Steerer's own, e.g. after a restart, is silent.)
  const written = recordedWeights(view.route);
  const changedByOthers =
    written !== undefined &&
    (!view.routesConsistent ||
      written.primary !== found.primary ||
      written.canary !== found.canary);
  if (changedByOthers) {
    pass.warning(
      `Restoring ${view.router.kind} ${qualified(view.route.metadata.name, view.route.metadata.namespace ?? '')} weights to ${want.primary}/${want.canary}: found ${found.primary}/${found.canary}, changed outside Steerer`,
    );
  }
}

/**
 * All traffic is on the primary and has been long enough for the data plane to apply it:
 * the canary may lose its pods now. Otherwise, looks again when it may have.
 */
export function routedBack(pass: Pass, view: RouteView): boolean {
  if (view.weights.canary !== 0 || !view.routesConsistent) return false;
  const wait = pass.input.config.routeSettleMs - pass.since(pass.status.lastRouteTime);
  if (wait <= 0) return true;
  pass.requeue(wait);
  return false;
}
