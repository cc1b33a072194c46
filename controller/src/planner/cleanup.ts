// Deleting a Rollout: before its finalizer goes, all traffic is routed back to the primary,
// the data plane is given time to apply it, and the canary is scaled down. When that cannot
// be done safely (the primary has no ready pods, the route object cannot be read), the
// Rollout goes at once with a warning, and routes and canary are left as they were.

import { FINALIZER } from '@steerer/common/model';
import type { RolloutSpec } from '@steerer/common/model';
import { routeViewOf } from './gates.js';
import { WAIT_REQUEUE_MS } from './pass.js';
import type { Pass } from './pass.js';
import { ensureRouting, hasReadyPods, routedBack } from './routing.js';

/** Adds Steerer's finalizer to a Rollout that lacks it (not one being deleted). */
export function ensureFinalizer(pass: Pass): void {
  const m = pass.input.rollout.metadata;
  const finalizers = m.finalizers ?? [];
  if (!m.deletionTimestamp && !finalizers.includes(FINALIZER)) {
    pass.actions.push({ kind: 'addFinalizer', first: finalizers.length === 0 });
  }
}

export function cleanup(pass: Pass, spec: RolloutSpec | undefined): void {
  const index = (pass.input.rollout.metadata.finalizers ?? []).indexOf(FINALIZER);
  if (index < 0) return;
  const o = pass.input.observed;
  const view = spec ? routeViewOf(spec, pass.ns, o) : undefined;
  const unsafe = !view
    ? 'its route object cannot be read'
    : !hasReadyPods(o.primary)
      ? 'the primary has no ready pods'
      : undefined;
  if (unsafe || !view) {
    pass.warning(`Deleting ${pass.name} without routing traffic back: ${unsafe ?? ''}`);
    pass.actions.push({ kind: 'removeFinalizer', index });
    return;
  }
  ensureRouting(pass, view, { primary: 100, canary: 0 });
  if (!routedBack(pass, view)) {
    pass.say(`Deleting ${pass.name}: routing all traffic to the primary first`);
    return;
  }
  const canary = o.canary;
  if (canary && (canary.spec.replicas ?? 1) !== 0) {
    pass.say(`Deleting ${pass.name}: scaling down ${pass.q(canary.metadata.name)}`);
    pass.actions.push({
      kind: 'scaleCanary',
      name: canary.metadata.name,
      replicas: 0,
      remember: canary.spec.replicas ?? 1,
    });
    pass.requeue(WAIT_REQUEUE_MS);
    return;
  }
  pass.normal(`Deleted rollout ${pass.name}: all traffic on the primary, the canary scaled down`);
  pass.actions.push({ kind: 'removeFinalizer', index });
}
