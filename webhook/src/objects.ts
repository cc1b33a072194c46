// Tolerant views of the objects the handlers read. Admission requests carry whatever the API
// server stored, and other Rollouts in the cache were written before any validation existed,
// so nothing here assumes a shape: missing or mistyped fields read as absent.

import { PHASES, fqdn } from '@steerer/common';
import type { HttpRoute, Phase, PodTemplate, RolloutObject, VirtualService } from '@steerer/common';
import { isJsonMap } from './admission.js';
import type { JsonMap } from './admission.js';

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isJsonMap(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export interface DeploymentView {
  name: string;
  namespace: string | undefined;
  labels: Record<string, string>;
  /** undefined when metadata.annotations is absent (a patch must add the whole map). */
  annotations: Record<string, string> | undefined;
  /** spec.replicas, defaulting to 1 as the API server does. */
  replicas: number;
  hasReplicas: boolean;
  template: PodTemplate;
}

/** A Deployment's metadata, replicas and pod template; undefined when it has none of those. */
export function deploymentView(obj: JsonMap): DeploymentView | undefined {
  const metadata = obj.metadata;
  const spec = obj.spec;
  if (!isJsonMap(metadata) || !isJsonMap(spec) || !isJsonMap(spec.template)) return undefined;
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const replicas = spec.replicas;
  const hasReplicas = typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0;
  return {
    name,
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    labels: stringMap(metadata.labels) ?? {},
    annotations: isJsonMap(metadata.annotations)
      ? (stringMap(metadata.annotations) ?? {})
      : undefined,
    replicas: hasReplicas ? replicas : 1,
    hasReplicas,
    template: spec.template,
  };
}

/** What a Rollout refers to, read loosely (no validation). */
export interface RolloutRefs {
  name: string;
  namespace: string;
  primaryName?: string;
  canaryName?: string;
  primaryHost?: string;
  canaryHost?: string;
  virtualService?: string;
}

export function rolloutRefs(r: RolloutObject): RolloutRefs {
  const spec = isJsonMap(r.spec) ? r.spec : {};
  const str = (o: unknown, key: string): string | undefined => {
    const v = isJsonMap(o) ? o[key] : undefined;
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const refs: RolloutRefs = { name: r.metadata.name, namespace: r.metadata.namespace };
  const set = <K extends keyof RolloutRefs>(k: K, v: RolloutRefs[K] | undefined): void => {
    if (v !== undefined) refs[k] = v;
  };
  set('primaryName', str(spec.primary, 'name'));
  set('canaryName', str(spec.canary, 'name'));
  set('primaryHost', str(spec.primary, 'host'));
  set('canaryHost', str(spec.canary, 'host'));
  set('virtualService', str(spec.virtualService, 'name'));
  return refs;
}

export function phaseOf(r: RolloutObject): Phase | undefined {
  const p = r.status?.phase;
  return PHASES.includes(p as Phase) ? p : undefined;
}

/** A release that a broken route would strand: traffic is, or is about to be, split. */
export const RELEASE_PHASES: readonly Phase[] = ['Progressing', 'Halted', 'Promoting'];
/** No release in flight: a re-applied, unchanged canary must stay scaled down. */
export const IDLE_PHASES: readonly Phase[] = ['Initialized', 'Succeeded'];

/**
 * A VirtualService with only well-formed http routes (destinations with a string host), so
 * checkRoutes can read it safely. Malformed destinations are dropped, not guessed.
 */
export function virtualServiceView(obj: JsonMap, namespace: string | undefined): VirtualService {
  const metadata = isJsonMap(obj.metadata) ? obj.metadata : {};
  const spec = isJsonMap(obj.spec) ? obj.spec : {};
  const http: HttpRoute[] = [];
  for (const route of Array.isArray(spec.http) ? (spec.http as unknown[]) : []) {
    if (!isJsonMap(route)) continue;
    const dests = Array.isArray(route.route) ? (route.route as unknown[]) : [];
    http.push({
      ...route,
      route: dests.flatMap((d) => {
        if (!isJsonMap(d) || !isJsonMap(d.destination) || typeof d.destination.host !== 'string')
          return [];
        const weight = typeof d.weight === 'number' ? d.weight : undefined;
        return [
          {
            destination: { host: d.destination.host },
            ...(weight !== undefined ? { weight } : {}),
          },
        ];
      }),
    });
  }
  const ns = typeof metadata.namespace === 'string' ? metadata.namespace : namespace;
  return {
    metadata: {
      name: typeof metadata.name === 'string' ? metadata.name : '',
      ...(ns ? { namespace: ns } : {}),
    },
    spec: { http },
  };
}

/** The Service a destination host names: "name", "name.ns" or an FQDN. */
export function serviceOfHost(
  host: string,
  namespace: string,
): { namespace: string; name: string } {
  const [name, ns] = host.split('.');
  return { namespace: ns ?? namespace, name: name ?? host };
}

/** Two hosts name the same Service (each relative to its own namespace). */
export function sameHost(a: string, aNamespace: string, b: string, bNamespace: string): boolean {
  return fqdn(a, aNamespace) === fqdn(b, bNamespace);
}
