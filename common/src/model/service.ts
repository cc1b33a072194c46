// When a Service can carry a rollout's traffic: ClusterIP, with a port named http or https
// (the port names Istio's protocol selection reads).

import type { Service } from './objects.js';

export type ServiceProblem = { kind: 'type' | 'ports'; message: string };

/** Why the Service (named `where` in the message) cannot be used, if it cannot. */
export function serviceProblem(svc: Service, where: string): ServiceProblem | undefined {
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type !== 'ClusterIP') {
    return { kind: 'type', message: `Service ${where} is of type ${type}, not ClusterIP` };
  }
  if (!(svc.spec?.ports ?? []).some((p) => p.name === 'http' || p.name === 'https')) {
    return { kind: 'ports', message: `Service ${where} has no port named http or https` };
  }
  return undefined;
}

/** One side of a Rollout, for the selector check: its Service and its Deployment's pods. */
export interface SelectorSide {
  /** The Service's host as the Rollout writes it. */
  host: string;
  service: Service;
  /** The Deployment's name, in the Rollout's namespace. */
  deployment: string;
  /** The labels of the Deployment's pod template (what its pods carry). */
  podLabels: Record<string, string> | undefined;
}

/** A Service that selects the other side's pods too, and the labels that make it so. */
export interface SelectorOverlap {
  role: 'primary' | 'canary';
  /** The Service's namespace and name. */
  service: { namespace: string; name: string };
  /** The other side's Deployment, whose pods the Service selects. */
  deployment: string;
  /** The Service's selector, as key=value, every one of which those pods carry. */
  labels: string[];
}

/** The selector's labels when the pods carry all of them (the Service selects them). */
function selects(
  selector: Record<string, string> | undefined,
  podLabels: Record<string, string> | undefined,
): string[] | undefined {
  const entries = Object.entries(selector ?? {});
  // A Service without a selector selects no pods (its endpoints are managed by hand).
  if (entries.length === 0) return undefined;
  if (!entries.every(([k, v]) => podLabels?.[k] === v)) return undefined;
  return entries.map(([k, v]) => `${k}=${v}`);
}

/**
 * Each of the primary's and canary's Services that also selects the other Deployment's
 * pods: then that side's real share of traffic differs from its weight, silently. A
 * Service selects pods of its own namespace only; the Deployments are in `namespace`.
 * One Service carrying both sides (Istio subset routing) selects both by design: then its
 * subsets are what must tell the pods apart (routing/destination-rule.ts).
 */
export function selectorOverlaps(
  namespace: string,
  primary: SelectorSide,
  canary: SelectorSide,
): SelectorOverlap[] {
  const out: SelectorOverlap[] = [];
  const key = (s: Service): string => `${s.metadata.namespace ?? namespace}/${s.metadata.name}`;
  if (key(primary.service) === key(canary.service)) return out;
  for (const [role, mine, other] of [
    ['primary', primary, canary],
    ['canary', canary, primary],
  ] as const) {
    const meta = mine.service.metadata;
    const svcNamespace = meta.namespace ?? namespace;
    if (svcNamespace !== namespace) continue;
    const labels = selects(mine.service.spec?.selector, other.podLabels);
    if (labels) {
      out.push({
        role,
        service: { namespace: svcNamespace, name: meta.name },
        deployment: other.deployment,
        labels,
      });
    }
  }
  return out;
}

/** What is wrong, in a sentence; `q` names an object of the namespace the way the caller does. */
export function selectorOverlapMessage(
  o: SelectorOverlap,
  q: (name: string, namespace: string) => string,
): string {
  const other = o.role === 'primary' ? 'canary' : 'primary';
  const effect =
    o.role === 'primary'
      ? "part of the primary's traffic would reach the canary's pods, beyond the canary's weight"
      : "part of the canary's traffic would reach the primary's pods, unseen by the canary's checks";
  return `Service ${q(o.service.name, o.service.namespace)} (spec.${o.role}.host) selects the ${other}'s pods too: its selector ${o.labels.join(', ')} matches the pod template labels of Deployment ${q(o.deployment, o.service.namespace)}; ${effect}. Give the two Deployments' pods a label that tells them apart and select on it`;
}
