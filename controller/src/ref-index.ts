// Which Rollouts refer to which objects, so an event on a Deployment, Service or
// route object wakes exactly the Rollouts that use it, and which HPA scales which
// Deployment. Pure bookkeeping: the Cluster feeds it informer events.

import { rolloutRefs, serviceKeyOfHost } from '@steerer/common/model';
import type { HorizontalPodAutoscaler, RolloutObject, RolloutRefs } from '@steerer/common/model';

/** Object kinds a Rollout refers to; a route object's kind carries its router's kind. */
export type RefKind = 'deployment' | 'service' | `route:${string}`;

/** The RefKind of a router's route objects: "route:" and the router's kind. */
export function routeRefKind(routerKind: string): RefKind {
  return `route:${routerKind}`;
}

function refKeys(r: RolloutRefs): string[] {
  const ns = r.namespace;
  const keys: string[] = [];
  for (const name of [r.primaryName, r.canaryName]) if (name) keys.push(`deployment:${ns}/${name}`);
  for (const host of [r.primaryHost, r.canaryHost])
    if (host) keys.push(`service:${serviceKeyOfHost(host, ns)}`);
  if (r.route) keys.push(`${routeRefKind(r.route.kind)}:${ns}/${r.route.name}`);
  return keys;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export class RefIndex {
  /** kind:namespace/name → keys of the Rollouts referring to it */
  private readonly byObject = new Map<string, Set<string>>();
  private readonly byRollout = new Map<string, RolloutRefs>();
  /** Deployment key → keys of the HPAs scaling it */
  private readonly hpasByTarget = new Map<string, Set<string>>();
  private readonly targetByHpa = new Map<string, string>();

  /** Records what a Rollout refers to now; undefined forgets it (the Rollout is gone). */
  setRollout(rolloutKey: string, r: RolloutObject | undefined): void {
    const old = this.byRollout.get(rolloutKey);
    if (old) for (const k of refKeys(old)) removeFrom(this.byObject, k, rolloutKey);
    if (!r) {
      this.byRollout.delete(rolloutKey);
      return;
    }
    const next = rolloutRefs(r);
    this.byRollout.set(rolloutKey, next);
    for (const k of refKeys(next)) addTo(this.byObject, k, rolloutKey);
  }

  refs(rolloutKey: string): RolloutRefs | undefined {
    return this.byRollout.get(rolloutKey);
  }

  /** Keys of the Rollouts whose route object is of a router's kind (whatever its name). */
  rolloutsWithRouteKind(routerKind: string): string[] {
    const keys: string[] = [];
    for (const [key, refs] of this.byRollout) if (refs.route?.kind === routerKind) keys.push(key);
    return keys;
  }

  /** Whether any Rollout refers to the object. */
  referenced(kind: RefKind, key: string): boolean {
    return this.byObject.has(`${kind}:${key}`);
  }

  /** Keys of the Rollouts referring to the object. */
  rolloutsReferring(kind: RefKind, key: string): string[] {
    return [...(this.byObject.get(`${kind}:${key}`) ?? [])];
  }

  /**
   * Records an HPA as it is now (undefined: deleted). Returns the keys of the Deployments
   * whose HPA may have changed: the one it scales and, if it was retargeted, the old one.
   */
  setHpa(hpaKey: string, hpa: HorizontalPodAutoscaler | undefined): string[] {
    const before = this.targetByHpa.get(hpaKey);
    if (before !== undefined) removeFrom(this.hpasByTarget, before, hpaKey);
    this.targetByHpa.delete(hpaKey);
    const ref = hpa?.spec.scaleTargetRef;
    const after = hpa && ref ? `${hpa.metadata.namespace ?? ''}/${ref.name}` : undefined;
    if (after !== undefined && ref?.kind === 'Deployment') {
      this.targetByHpa.set(hpaKey, after);
      addTo(this.hpasByTarget, after, hpaKey);
    }
    return [...new Set([before, after].filter((k): k is string => k !== undefined))];
  }

  /** The HPA scaling a Deployment (the first recorded, if several do). */
  hpaOf(deploymentKey: string): string | undefined {
    const set = this.hpasByTarget.get(deploymentKey);
    return set ? set.values().next().value : undefined;
  }

  /** Sizes of the internal maps, for tests of cleanup. */
  get sizes(): { objects: number; rollouts: number; targets: number } {
    return {
      objects: this.byObject.size,
      rollouts: this.byRollout.size,
      targets: this.hpasByTarget.size,
    };
  }
}
