// From a Rollout as the API server sends it to what the page is sent: the overview's
// one-line summary, and the object itself trimmed of what the page never reads.

import { ANNOTATIONS, phaseOf } from '@steerer/common/model';
import type { RolloutObject } from '@steerer/common/model';
import type { RolloutSummary, RolloutView } from './api.js';

export function summarize(r: RolloutObject): RolloutSummary {
  const s = r.status ?? {};
  const a = s.analysis;
  const out: RolloutSummary = {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    phase: phaseOf(s),
    canaryWeight: s.canaryWeight ?? 0,
    failedChecks: s.failedChecks ?? 0,
    message: s.message,
    lastTransitionTime: s.lastTransitionTime,
    failureReason: s.failureReason,
    pendingRequest: r.metadata.annotations?.[ANNOTATIONS.request],
  };
  if (a) {
    out.analysis = {
      check: a.check,
      result: a.result,
      successRate: a.successRate,
      value: a.value,
      unit: a.unit,
      threshold: a.threshold,
      needed: a.needed,
    };
  }
  if (r.metadata.deletionTimestamp) out.deleting = true;
  return out;
}

export function viewOf(r: RolloutObject): RolloutView {
  const m = r.metadata;
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
      annotations: m.annotations,
      generation: m.generation,
    },
    spec: r.spec,
    status: r.status,
  };
}

/** Whether two summaries show the same thing (so an unchanged one is not sent again). */
export function sameSummary(a: RolloutSummary | undefined, b: RolloutSummary): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
