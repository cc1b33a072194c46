// When a release ends without a person: checks that keep failing, or a release that makes
// no progress, roll it back — all traffic to the primary, then the canary scaled down —
// and its revision is not tried again until a new one or an explicit retry.

import { formatDuration } from '@steerer/common/model';
import type { Deployment, FailureReason, RolloutSpec } from '@steerer/common/model';
import { reportDue } from './hooks.js';
import type { Pass } from './pass.js';
import { WAIT_REQUEUE_MS } from './pass.js';
import { routedBack } from './routing.js';
import type { RouteView } from './routing.js';

/** Whether a release whose checks keep failing is rolled back. */
export function rollbackOnFailure(spec: RolloutSpec, pass: Pass): boolean {
  return spec.rollback.onFailure ?? pass.input.config.rollbackOnFailure;
}

/**
 * How long the checks must fail, without a pass in between, before a rollback: by default
 * twice the longest check window, so a short burst of errors (the seed's demo) halts but
 * recovers, while a canary that keeps failing is rolled back.
 */
export function failureDuration(spec: RolloutSpec): number {
  const longest = Math.max(...spec.checks.map((c) => c.intervalMs));
  return spec.rollback.failureDurationMs ?? 2 * longest;
}

/** Why the release has made no progress for too long, if it has not. */
export function deadlinePassed(spec: RolloutSpec, pass: Pass): string | undefined {
  const deadline = spec.progressDeadlineMs ?? pass.input.config.progressDeadlineMs;
  if (deadline <= 0) return undefined;
  const s = pass.status;
  const idle = pass.since(s.lastProgressTime ?? s.startTime);
  if (idle <= deadline || !Number.isFinite(idle)) {
    if (Number.isFinite(idle)) pass.requeue(deadline - idle + 1);
    return undefined;
  }
  return `no progress for ${formatDuration(idle)} (progress deadline ${formatDuration(deadline)})`;
}

/** Starts rolling the release back: traffic to the primary first, then the canary down. */
export function startRollback(pass: Pass, reason: FailureReason, why: string): void {
  const s = pass.status;
  s.phase = 'RollingBack';
  s.failureReason = reason;
  s.canaryWeight = 0;
  delete s.failingSince;
  reportDue(pass, 'rollback');
  pass.say(`Rolling back ${pass.name}: ${why}`);
  pass.warning(`Rolling back ${pass.name}: ${why}`);
  pass.requeue(WAIT_REQUEUE_MS);
}

/**
 * A rollback under way: once all traffic is on the primary (and has settled) the canary is
 * scaled down (ensureCanaryScale), and once it is down the release has Failed.
 */
export function rollingBack(
  pass: Pass,
  spec: RolloutSpec,
  view: RouteView | undefined,
  canary: Deployment | undefined,
): void {
  const s = pass.status;
  s.phase = 'RollingBack';
  if (view && !routedBack(pass, view)) return;
  if (canary && (canary.spec.replicas ?? 1) !== 0) {
    pass.requeue(WAIT_REQUEUE_MS);
    return;
  }
  s.phase = 'Failed';
  pass.announce(
    `Rolled back ${pass.name} (${s.failureReason ?? 'RolledBack'}): revision ${s.canaryRevision ?? '?'} of ${pass.q(spec.canary.name)} is not released again until it changes or a retry is requested`,
  );
}
