// Kubernetes-style conditions derived from the phase, so `kubectl wait` and GitOps
// health checks can follow a rollout. lastTransitionTime changes only when status does.

import { CONDITION_TYPES, IN_FLIGHT_PHASES, inPhases } from '@steerer/common/model';
import type { Condition, ConditionType, FailureReason, Phase } from '@steerer/common/model';

interface Want {
  status: Condition['status'];
  reason: string;
  message: string;
}

export function desiredConditions(
  phase: Phase,
  message: string,
  stalledReason: string | undefined,
  failureReason: FailureReason | undefined,
): Record<ConditionType, Want> {
  const active = inPhases(phase, IN_FLIGHT_PHASES);
  const ready = phase === 'Initialized' || phase === 'Succeeded';
  const failed = phase === 'Failed' || phase === 'RollingBack';
  const reason = failed ? (failureReason ?? 'RolledBack') : phase;
  return {
    Ready: { status: ready ? 'True' : 'False', reason: ready ? phase : reason, message },
    Progressing: active
      ? { status: 'True', reason: phase, message }
      : {
          status: 'False',
          reason: ready ? 'Idle' : reason,
          message: ready ? 'no release in progress' : message,
        },
    Stalled:
      stalledReason !== undefined
        ? { status: 'True', reason: stalledReason, message }
        : { status: 'False', reason: 'AsExpected', message: 'all referenced objects are usable' },
  };
}

export function mergeConditions(
  previous: readonly Condition[] | undefined,
  want: Record<ConditionType, Want>,
  now: string,
  generation: number | undefined,
): Condition[] {
  const out: Condition[] = [];
  for (const type of CONDITION_TYPES) {
    const w = want[type];
    const prev = previous?.find((c) => c.type === type);
    const lastTransitionTime = prev && prev.status === w.status ? prev.lastTransitionTime : now;
    const c: Condition = {
      type,
      status: w.status,
      reason: w.reason,
      message: w.message,
      lastTransitionTime,
    };
    if (generation !== undefined) c.observedGeneration = generation;
    out.push(c);
  }
  return out;
}
