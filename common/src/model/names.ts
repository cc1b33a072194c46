// Names Steerer shares between its processes, the chart and the tests.

export const ROLLOUT = {
  group: 'apps.weave.works',
  version: 'v1beta1',
  kind: 'Rollout',
  plural: 'rollouts',
} as const;
export const ROLLOUT_API_VERSION = `${ROLLOUT.group}/${ROLLOUT.version}`;

/** The field manager of every write Steerer makes; the webhook recognises the controller by it. */
export const FIELD_MANAGER = 'steerer';

/** Events are recorded with this source component and reason (the seed's wording). */
export const EVENT_COMPONENT = 'steerer';
export const EVENT_REASON = 'Synced';

const PREFIX = 'steerer.io';
export const LABELS = {
  /** On Deployments a Rollout manages: the Rollout's name. Scopes the webhook. */
  rollout: `${PREFIX}/rollout`,
  /** On Deployments a Rollout manages: "primary" or "canary". */
  role: `${PREFIX}/role`,
} as const;

export const ANNOTATIONS = {
  /** On a canary Deployment: the revision (template hash) the webhook saw applied. */
  revision: `${PREFIX}/revision`,
  /** On a canary Deployment: when that revision was applied (RFC 3339). */
  revisionTime: `${PREFIX}/revision-time`,
  /** On a canary Deployment Steerer scaled to zero: the replicas it had before. */
  scaledDownFrom: `${PREFIX}/scaled-down-from`,
  /** On a route object: the primary/canary weights Steerer last wrote, e.g. "70/30". */
  weights: `${PREFIX}/weights`,
  /**
   * On a Rollout: a manual request (promote, promote-force, abort, retry, pause, resume).
   * The controller carries it out, records the outcome in status.lastRequest and removes it.
   */
  request: `${PREFIX}/request`,
} as const;

/**
 * On every Rollout: deleting one first routes all traffic back to the primary and scales
 * the canary down, then the controller removes this finalizer.
 */
export const FINALIZER = `${PREFIX}/cleanup`;

export const ROLES = ['primary', 'canary'] as const;
export type Role = (typeof ROLES)[number];

/** Annotation keys under Steerer's prefix never count as a change of a pod template. */
export function isSteererKey(key: string): boolean {
  return key.startsWith(`${PREFIX}/`);
}
