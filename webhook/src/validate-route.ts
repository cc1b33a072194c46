// Validating admission of route object updates (one endpoint per router kind). Every route
// object in the cluster comes here (there is no label to scope by), so one that no Rollout
// of its namespace references is allowed after a map lookup. For one that a Rollout uses,
// an edit that removes the primary or the canary destination while a release is splitting
// traffic is refused, naming the Rollout; outside a release it is allowed with a warning.
// Weight edits (Steerer's own) always pass.

import {
  RELEASE_PHASES,
  inPhases,
  isJsonMap,
  phaseOf,
  rolloutRefs,
  routeHostsOf,
  validateRolloutSpec,
} from '@steerer/common';
import type { RolloutObject, Router } from '@steerer/common';
import { allow, deny } from './admission.js';
import type { AdmissionRequest, Reviewed } from './admission.js';

export interface RouteFacts {
  /** The Rollouts of the route object's namespace. */
  rollouts: readonly RolloutObject[];
}

export interface RouteTarget {
  namespace: string;
  name: string;
}

/** Namespace and name of the route object under review, when it needs a look at all. */
export function routeTarget(req: AdmissionRequest): RouteTarget | { skip: string } {
  if (req.operation !== 'UPDATE') return { skip: `${req.operation} is not checked` };
  if (req.subResource) return { skip: `subresource ${req.subResource} is not checked` };
  const meta = isJsonMap(req.object?.metadata) ? req.object.metadata : {};
  const name = req.name ?? (typeof meta.name === 'string' ? meta.name : undefined);
  const namespace =
    req.namespace ?? (typeof meta.namespace === 'string' ? meta.namespace : undefined);
  if (!name || !namespace) return { skip: 'no name or namespace' };
  return { namespace, name };
}

/** What this edit does to one Rollout using the route object: nothing, a warning, or a denial. */
function effectOn(
  r: RolloutObject,
  req: AdmissionRequest,
  router: Router,
  ns: string,
): { deny?: string; warn?: string } {
  const parsed = validateRolloutSpec(r.spec);
  if (!parsed.ok) return {};
  const { primary, canary } = parsed.value;
  const hosts = routeHostsOf(parsed.value, ns);
  const after = router.read(req.object, hosts);
  if (after.ok) return {};
  const wasOk = router.read(req.oldObject, hosts).ok;
  const phase = phaseOf(r.status);
  const rollout = `Rollout ${ns}/${r.metadata.name}`;
  if (wasOk && inPhases(phase, RELEASE_PHASES)) {
    return { deny: `${rollout} is releasing (${phase ?? ''}) through it: ${after.message}` };
  }
  return {
    warn: `${after.message}; ${rollout} waits until it routes to both ${primary.host} and ${canary.host}`,
  };
}

export function validateRoute(
  req: AdmissionRequest,
  facts: RouteFacts,
  router: Router,
  target: RouteTarget | { skip: string } = routeTarget(req),
): Reviewed {
  if ('skip' in target) return { response: allow(req.uid), note: target.skip };
  const { namespace: ns, name } = target;
  const users = facts.rollouts.filter((r) => {
    const route = rolloutRefs(r).route;
    return route?.kind === router.kind && route.name === name;
  });
  if (users.length === 0) return { response: allow(req.uid), note: 'not used by a Rollout' };
  const effects = users.map((r) => effectOn(r, req, router, ns));
  const denials = effects.flatMap((e) => (e.deny ? [e.deny] : []));
  const warnings = effects.flatMap((e) => (e.warn ? [e.warn] : []));
  if (denials.length > 0) {
    return {
      response: deny(
        req.uid,
        `${router.kind} ${ns}/${name} must keep routing to the primary and canary: ${denials.join('; ')}. Retry once the release has finished`,
        { code: 409, reason: 'Conflict', warnings },
      ),
      note: 'would break a release in progress',
    };
  }
  return {
    response: allow(req.uid, warnings),
    note:
      warnings.length > 0
        ? 'breaks an idle Rollout (warned)'
        : `routes intact for ${users.length} Rollouts`,
  };
}
