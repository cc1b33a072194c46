// Validating admission of VirtualService updates. Every VirtualService in the cluster comes
// here (there is no label to scope by), so one that no Rollout of its namespace references is
// allowed after a map lookup. For one that a Rollout uses, an edit that removes the primary or
// the canary destination while a release is splitting traffic is refused, naming the Rollout;
// outside a release it is allowed with a warning. Weight edits (Steerer's own) always pass.

import { checkRoutes, validateRolloutSpec } from '@steerer/common';
import type { RolloutObject } from '@steerer/common';
import { allow, deny } from './admission.js';
import type { AdmissionRequest, Reviewed } from './admission.js';
import { RELEASE_PHASES, phaseOf, rolloutRefs, virtualServiceView } from './objects.js';

export interface VirtualServiceFacts {
  /** The Rollouts of the VirtualService's namespace. */
  rollouts: readonly RolloutObject[];
}

/** Namespace and name of the VirtualService under review, when it needs a look at all. */
export function virtualServiceTarget(
  req: AdmissionRequest,
): { namespace: string; name: string } | { skip: string } {
  if (req.operation !== 'UPDATE') return { skip: `${req.operation} is not checked` };
  if (req.subResource) return { skip: `subresource ${req.subResource} is not checked` };
  const vs = virtualServiceView(req.object ?? {}, req.namespace);
  const name = req.name ?? vs.metadata.name;
  const namespace = req.namespace ?? vs.metadata.namespace;
  if (!name || !namespace) return { skip: 'no name or namespace' };
  return { namespace, name };
}

export function validateVirtualService(
  req: AdmissionRequest,
  facts: VirtualServiceFacts,
): Reviewed {
  const target = virtualServiceTarget(req);
  if ('skip' in target) return { response: allow(req.uid), note: target.skip };
  const { namespace: ns, name } = target;
  const users = facts.rollouts.filter((r) => rolloutRefs(r).virtualService === name);
  if (users.length === 0) return { response: allow(req.uid), note: 'not used by a Rollout' };

  const next = virtualServiceView(req.object ?? {}, ns);
  const old = virtualServiceView(req.oldObject ?? {}, ns);
  const denials: string[] = [];
  const warnings: string[] = [];
  for (const r of users) {
    const parsed = validateRolloutSpec(r.spec);
    if (!parsed.ok) continue;
    const { primary, canary } = parsed.value;
    const after = checkRoutes(next, primary.host, canary.host);
    if (after.ok) continue;
    const wasOk = checkRoutes(old, primary.host, canary.host).ok;
    const phase = phaseOf(r);
    const rollout = `Rollout ${ns}/${r.metadata.name}`;
    if (wasOk && phase !== undefined && RELEASE_PHASES.includes(phase)) {
      denials.push(`${rollout} is releasing (${phase}) through it: ${after.message}`);
    } else {
      warnings.push(
        `${after.message}; ${rollout} waits until it routes to both ${primary.host} and ${canary.host}`,
      );
    }
  }
  if (denials.length > 0) {
    return {
      response: deny(
        req.uid,
        `VirtualService ${ns}/${name} must keep routing to the primary and canary: ${denials.join('; ')}. Retry once the release has finished`,
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
