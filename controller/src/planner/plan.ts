// The rollout planner: (Rollout, observed objects, latest analysis, now) → (new status,
// actions, events, what to measure, when to look again). Pure and deterministic; every
// Kubernetes and Prometheus interaction happens elsewhere. Each pass recomputes everything
// from what it observes and from the Rollout's status, so a restarted controller carries on.
//
// The stages follow the seed document (release.ts): check targets → check Deployments
// (rolling update, pod health, HPA) → raise the canary weight step by step while its checks
// pass → copy the canary's template to the primary → wait for the primary's rollout → route
// all traffic back to the primary → scale the canary to zero. Beyond the seed: rollback
// (rollback.ts), manual requests (requests.ts), deletion (cleanup.ts), and traffic kept off
// a side without ready pods (routing.ts).

import { formatFieldErrors, validateRolloutSpec } from '@steerer/common/model';
import type { Phase, RolloutSpec } from '@steerer/common/model';
import { cleanup, ensureFinalizer } from './cleanup.js';
import { desiredConditions, mergeConditions } from './conditions.js';
import { checkTargets, routeViewOf } from './gates.js';
import type { Halt } from './gates.js';
import { Pass, WAIT_REQUEUE_MS, inFlight } from './pass.js';
import { release } from './release.js';
import { finishHooks } from './hooks.js';
import { handleRequest } from './requests.js';
import { deadlinePassed, rollingBack, startRollback } from './rollback.js';
import { desiredWeights, ensureRouting, hasReadyPods, safeWeights } from './routing.js';
import type { Plan, PlanInput, Subscription } from './types.js';

export function plan(input: PlanInput): Plan {
  const { rollout } = input;
  const pass = new Pass(input, `${rollout.metadata.name}.${rollout.metadata.namespace}`);
  const parsed = validateRolloutSpec(rollout.spec, { namespace: rollout.metadata.namespace });
  const spec = parsed.ok ? parsed.value : undefined;
  if (spec) pass.hookSpecs = spec.hooks;
  if (rollout.metadata.deletionTimestamp) cleanup(pass, spec);
  else if (!parsed.ok)
    wait(pass, 'InvalidSpec', `invalid spec: ${formatFieldErrors(parsed.errors)}`);
  else if (input.observed.conflict) wait(pass, 'Conflict', input.observed.conflict);
  else {
    ensureFinalizer(pass);
    const t = checkTargets(parsed.value, pass.ns, input.observed);
    if (t.ok) release(pass, parsed.value, t.targets);
    else broken(pass, parsed.value, t);
  }
  return finish(pass, spec);
}

/** Nothing can run: say why, and refuse a manual request (it cannot be carried out now). */
function wait(pass: Pass, reason: string, message: string): void {
  pass.status.phase = 'Waiting';
  pass.stalledReason = reason;
  pass.say(`Halt rollout ${pass.name} ${message}`, true);
  handleRequest(pass, '');
  if (pass.request) pass.answer('Refused', message);
}

/**
 * A target is missing or unusable. Outside a release, wait for it. During one, traffic
 * never stays on a side without ready pods, the status says what is broken, and the
 * progress deadline still rolls the release back; it resumes by itself once fixed.
 */
function broken(pass: Pass, spec: RolloutSpec, halt: Halt): void {
  const prev = pass.prev;
  if (!inFlight(prev) && prev.phase !== 'RollingBack') return wait(pass, halt.reason, halt.message);
  const s = pass.status;
  const o = pass.input.observed;
  pass.stalledReason = halt.reason;
  handleRequest(pass, prev.canaryRevision ?? '');
  const view = routeViewOf(spec, pass.ns, o);
  if (s.phase === 'RollingBack') {
    if (view && hasReadyPods(o.primary)) rollingBack(pass, spec, view, o.canary);
    else {
      s.phase = 'Failed';
      pass.say(`Rolled back ${pass.name} without routing traffic back: ${halt.message}`, true);
    }
  } else {
    const late = s.phase === 'Paused' ? undefined : deadlinePassed(spec, pass);
    if (late) startRollback(pass, 'ProgressDeadlineExceeded', `${late}; ${halt.message}`);
    else {
      if (s.phase !== 'Paused') s.phase = 'Halted';
      pass.say(`Halt rollout ${pass.name} ${halt.message}`, true);
      pass.requeue(WAIT_REQUEUE_MS);
    }
  }
  if (view) ensureRouting(pass, view, safeWeights(desiredWeights(s), o.primary, o.canary).weights);
  if (pass.request) pass.answer('Refused', `not carried out while ${halt.message}`);
}

/** What to measure after this pass: a release whose canary receives traffic. */
function measurement(pass: Pass, spec: RolloutSpec | undefined): Subscription | undefined {
  const s = pass.status;
  const measured = s.phase === 'Progressing' || s.phase === 'Halted';
  if (!spec || !measured || (s.canaryWeight ?? 0) === 0 || !inFlight(s)) return undefined;
  if (pass.input.rollout.metadata.deletionTimestamp) return undefined;
  // Evidence counts from the release's start, or from the canary's recovery after a failure.
  const start = Math.max(
    s.startTime ? Date.parse(s.startTime) : Number.NaN,
    s.evidenceSince ? Date.parse(s.evidenceSince) : Number.NEGATIVE_INFINITY,
  );
  return {
    namespace: pass.ns,
    workload: spec.canary.name,
    primary: spec.primary.name,
    checks: spec.checks,
    sinceMs: Number.isFinite(start) ? start : undefined,
  };
}

function finish(pass: Pass, spec: RolloutSpec | undefined): Plan {
  const s = pass.status;
  const { rollout } = pass.input;
  const phase: Phase = s.phase ?? 'Waiting';
  s.phase = phase;
  if (phase !== pass.prev.phase || !s.lastTransitionTime) s.lastTransitionTime = pass.nowIso;
  if (rollout.metadata.generation !== undefined) s.observedGeneration = rollout.metadata.generation;
  const deleting = !!rollout.metadata.deletionTimestamp;
  if (spec && !deleting) finishHooks(pass);
  s.conditions = mergeConditions(
    pass.prev.conditions,
    desiredConditions(phase, s.message ?? '', pass.stalledReason, s.failureReason),
    pass.nowIso,
    rollout.metadata.generation,
  );
  return {
    spec,
    status: s,
    actions: pass.actions,
    events: pass.events,
    requeueAfterMs: pass.requeueAfterMs,
    measure: measurement(pass, spec),
    hooks: deleting ? [] : pass.hookCalls,
  };
}
