// What a Rollout refers to, read leniently: an invalid spec (or one written before any
// validation existed) still names some objects, and the controller must watch them and
// the webhook must find the Rollout that claims them. The one lenient reader.

import { isJsonMap } from './json.js';
import { ROUTERS } from './routing/index.js';
import type { RouteRef } from './routing/router.js';

export interface RolloutRefs {
  name: string;
  namespace: string;
  primaryName?: string;
  canaryName?: string;
  primaryHost?: string;
  canaryHost?: string;
  /** Istio subset routing: the subsets the sides name (then subset objects are read too). */
  primarySubset?: string;
  canarySubset?: string;
  /** The route object, from the first router whose spec field names one. */
  route?: RouteRef;
}

function str(o: unknown, key: string): string | undefined {
  const v = isJsonMap(o) ? o[key] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function rolloutRefs(r: {
  metadata: { name: string; namespace: string };
  spec?: unknown;
}): RolloutRefs {
  const spec = isJsonMap(r.spec) ? r.spec : {};
  const refs: RolloutRefs = { name: r.metadata.name, namespace: r.metadata.namespace };
  const set = <K extends keyof RolloutRefs>(k: K, v: RolloutRefs[K] | undefined): void => {
    if (v !== undefined) refs[k] = v;
  };
  set('primaryName', str(spec.primary, 'name'));
  set('canaryName', str(spec.canary, 'name'));
  set('primaryHost', str(spec.primary, 'host'));
  set('canaryHost', str(spec.canary, 'host'));
  set('primarySubset', str(spec.primary, 'subset'));
  set('canarySubset', str(spec.canary, 'subset'));
  for (const router of ROUTERS) {
    const name = str(spec[router.specField], 'name');
    if (name !== undefined) {
      refs.route = { kind: router.kind, name };
      break;
    }
  }
  return refs;
}
