// Which Rollouts refer to which objects, so an event on a Deployment, Service or
// VirtualService wakes exactly the Rollouts that use it, and which HPA scales which
// Deployment. Pure bookkeeping: the Cluster feeds it informer events.

import type { HorizontalPodAutoscaler, RolloutObject } from '@steerer/common';

/** Object kinds a Rollout refers to. */
export type RefKind = 'deployment' | 'service' | 'virtualservice';

/** What one Rollout refers to, as namespace/name keys. */
export interface Refs {
  namespace: string;
  deployments: string[];
  services: string[];
  /** '' when the spec names none. */
  virtualService: string;
  /** The canary Deployment's key; '' when the spec names none. */
  canary: string;
}

/** Service key of a destination host written as name, name.ns or an FQDN. */
export function serviceKeyOfHost(host: string, namespace: string): string {
  const [name, ns] = host.split('.');
  return `${ns ?? namespace}/${name ?? host}`;
}

/** The references of a Rollout's spec, read leniently: an invalid spec still names some. */
export function refsOf(r: RolloutObject): Refs {
  const spec = r.spec as Record<string, Record<string, unknown> | undefined> | undefined;
  const ns = r.metadata.namespace;
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' && v.length > 0 ? v : undefined;
  const primary = str(spec?.primary?.name);
  const canary = str(spec?.canary?.name);
  const primaryHost = str(spec?.primary?.host);
  const canaryHost = str(spec?.canary?.host);
  const vs = str(spec?.virtualService?.name);
  return {
    namespace: ns,
    deployments: [primary, canary].filter((x): x is string => !!x).map((n) => `${ns}/${n}`),
    services: [primaryHost, canaryHost]
      .filter((x): x is string => !!x)
      .map((h) => serviceKeyOfHost(h, ns)),
    virtualService: vs ? `${ns}/${vs}` : '',
    canary: canary ? `${ns}/${canary}` : '',
  };
}

function refKeys(r: Refs): string[] {
  return [
    ...r.deployments.map((d) => `deployment:${d}`),
    ...r.services.map((s) => `service:${s}`),
    ...(r.virtualService ? [`virtualservice:${r.virtualService}`] : []),
  ];
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
  private readonly byRollout = new Map<string, Refs>();
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
    const next = refsOf(r);
    this.byRollout.set(rolloutKey, next);
    for (const k of refKeys(next)) addTo(this.byObject, k, rolloutKey);
  }

  refs(rolloutKey: string): Refs | undefined {
    return this.byRollout.get(rolloutKey);
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
