// The phases of a Rollout and the groups every process reasons with. Each group is
// defined here once; a new phase must be placed in each of them deliberately.

export const PHASES = [
  /** A referenced object is missing or unusable; Steerer waits for it to be fixed. */
  'Waiting',
  /** Primary and canary already agree; no release has run yet. */
  'Initialized',
  /** A release is advancing the canary's traffic weight. */
  'Progressing',
  /** A release is held at its current weight because a gate failed. */
  'Halted',
  /** The canary's template was copied to the primary; waiting for it to roll out. */
  'Promoting',
  /** Routing all traffic back to the primary and scaling the canary down. */
  'Finalising',
  /** The last release was promoted; waiting for the next revision of the canary. */
  'Succeeded',
  /** A person paused the release: the canary keeps its weight, nothing steps or rolls back. */
  'Paused',
  /** The release failed or was aborted: routing all traffic back to the primary, then scaling the canary down. */
  'RollingBack',
  /** The release was rolled back; its revision is not retried until a new one or a retry request. */
  'Failed',
] as const;
export type Phase = (typeof PHASES)[number];

export function isPhase(v: unknown): v is Phase {
  return PHASES.some((p) => p === v);
}

/** The phase a status records, if it is one Steerer knows (cached objects may hold anything). */
export function phaseOf(status: { phase?: unknown } | undefined): Phase | undefined {
  const p = status?.phase;
  return isPhase(p) ? p : undefined;
}

/**
 * A release holds traffic on the canary, or is about to: the canary keeps its pods, and a
 * route edit that would strand the split is refused.
 */
export const RELEASE_PHASES: readonly Phase[] = ['Progressing', 'Halted', 'Promoting', 'Paused'];

/** A release's traffic is going back to the primary; the canary keeps its pods until then. */
export const UNWINDING_PHASES: readonly Phase[] = ['Finalising', 'RollingBack'];

/** Steerer is changing something (the Progressing condition is True). */
export const IN_FLIGHT_PHASES: readonly Phase[] = [...RELEASE_PHASES, ...UNWINDING_PHASES];

/** No release in flight: the canary stays scaled down, even when re-applied unchanged. */
export const IDLE_PHASES: readonly Phase[] = ['Initialized', 'Succeeded', 'Failed'];

export function inPhases(phase: Phase | undefined, group: readonly Phase[]): boolean {
  return phase !== undefined && group.includes(phase);
}
