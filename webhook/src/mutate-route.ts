// Mutating admission of route object updates (one endpoint per router kind): GitOps-safe
// weights. While a release is in flight, Steerer owns the split's weights. A GitOps tool
// that re-applies the route object from Git (where it says 100/0) would snap traffic back
// at every sync; so an update by anyone but Steerer that changes the split keeps Steerer's
// weights, with a warning, and the rest of the update goes through. Like the canary's
// replicas (mutate-deployment.ts), it never denies: a route write must not depend on
// Steerer being healthy.

import {
  FIELD_MANAGER,
  IN_FLIGHT_PHASES,
  applyJsonPatch,
  errorMessage,
  inPhases,
  phaseOf,
  rolloutRefs,
  routeHostsOf,
  validateRolloutSpec,
} from '@steerer/common';
import type { JsonPatchOp, RolloutObject, Router, Weights } from '@steerer/common';
import { allow, allowWithPatch } from './admission.js';
import type { AdmissionRequest, JsonMap, Reviewed } from './admission.js';
import { routeTarget } from './validate-route.js';
import type { RouteFacts, RouteTarget } from './validate-route.js';

const show = (w: Weights): string => `${w.primary}/${w.canary}`;

/** Who is writing, as the API server was told (the field manager), for messages. */
function writer(req: AdmissionRequest): string {
  const m = req.options?.fieldManager;
  return typeof m === 'string' && m !== '' ? m : (req.username ?? 'another writer');
}

/** The Rollouts releasing through this route object now. */
function releasing(
  rollouts: readonly RolloutObject[],
  router: Router,
  name: string,
): RolloutObject[] {
  return rollouts.filter((r) => {
    const route = rolloutRefs(r).route;
    return (
      route?.kind === router.kind &&
      route.name === name &&
      inPhases(phaseOf(r.status), IN_FLIGHT_PHASES)
    );
  });
}

interface Kept {
  ops: JsonPatchOp[];
  object: JsonMap;
  warning: string;
}

/** The operations keeping one Rollout's split in `object`, if the update changes it. */
function keepFor(
  r: RolloutObject,
  req: AdmissionRequest,
  object: JsonMap,
  router: Router,
  target: RouteTarget,
): Kept | undefined {
  const parsed = validateRolloutSpec(r.spec, { namespace: target.namespace });
  if (!parsed.ok) return undefined;
  const hosts = routeHostsOf(parsed.value, target.namespace);
  const ops = router.keepWeights(req.oldObject, object, hosts);
  if (ops.length === 0) return undefined;
  const was = router.read(req.oldObject, hosts);
  const asked = router.read(object, hosts);
  if (!was.ok || !asked.ok) return undefined;
  const phase = phaseOf(r.status) ?? '';
  const where = `${router.kind} ${target.namespace}/${target.name}`;
  return {
    ops,
    object: applyJsonPatch(object, ops),
    warning: `kept ${where} at ${show(was.weights)}, not ${show(asked.weights)}: Rollout ${target.namespace}/${r.metadata.name} is releasing through it (${phase}) and Steerer sets its weights until the release ends; this update by ${writer(req)} changed them`,
  };
}

export function keepRouteWeights(
  req: AdmissionRequest,
  facts: RouteFacts,
  router: Router,
  target: RouteTarget | { skip: string } = routeTarget(req),
): Reviewed {
  if ('skip' in target) return { response: allow(req.uid), note: target.skip };
  if (req.options?.fieldManager === FIELD_MANAGER) {
    return { response: allow(req.uid), note: "Steerer's own write" };
  }
  const users = releasing(facts.rollouts, router, target.name);
  if (users.length === 0 || !req.object) {
    return { response: allow(req.uid), note: 'no release in flight through it' };
  }
  const ops: JsonPatchOp[] = [];
  const warnings: string[] = [];
  let object: JsonMap = req.object;
  try {
    for (const r of users) {
      const kept = keepFor(r, req, object, router, target);
      if (!kept) continue;
      ops.push(...kept.ops);
      warnings.push(kept.warning);
      object = kept.object;
    }
  } catch (e) {
    // A patch the API server cannot apply fails the write; never send one.
    return {
      response: allow(req.uid),
      note: `patch not applicable, allowed unchanged: ${errorMessage(e)}`,
    };
  }
  if (ops.length === 0) return { response: allow(req.uid), note: 'weights unchanged' };
  return {
    response: allowWithPatch(req.uid, ops, warnings),
    note: `kept Steerer's weights for ${warnings.length} Rollouts`,
  };
}
