// Which notifications a reconcile's decision calls for: read off the change from the status
// the planner started from to the status it decided (and the reconciler wrote), so they
// follow exactly the decisions the Events and conditions tell of. Pure.
//
// Keyed on status transitions, a notice is due once per decision: a controller restart
// plans from the status already written and finds no transition to report again.

import { qualified } from '@steerer/common/model';
import type { Phase, RolloutSpec, RolloutStatus } from '@steerer/common/model';

export const NOTICE_KINDS = [
  'started',
  'step',
  'halted',
  'rolled-back',
  'deadline-exceeded',
  'promoted',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** One notification, before it is shaped for a receiver. */
export interface Notice {
  kind: NoticeKind;
  /**
   * Stable identity of the decision (Rollout, revision, kind and what tells two of a kind
   * apart in one release): the dedupe key, and the CloudEvents id retries keep.
   */
  id: string;
  namespace: string;
  name: string;
  /** The canary revision the release is about. */
  revision: string;
  phase: Phase;
  /** The canary's traffic share after the decision, percent. */
  weight: number;
  /** Why, in one sentence (the halt's check, the rollback's rule, …). */
  reason: string;
  /** When it was decided (RFC 3339). */
  time: string;
  /** Why the release was rolled back, for rolled-back and deadline-exceeded. */
  failureReason?: string;
  /** The canary and primary Deployments, when the spec is valid. */
  canary?: string;
  primary?: string;
}

export interface NoticeInput {
  namespace: string;
  name: string;
  /** The Rollout's uid: a Rollout deleted and created again is another one. */
  uid?: string | undefined;
  /** The status the pass started from. */
  prev: RolloutStatus;
  /** The status it decided. */
  next: RolloutStatus;
  spec: RolloutSpec | undefined;
  /** The time of the pass (ms). */
  now: number;
}

/** A notice found: its kind, what tells it from others of its kind, and why. */
type Found = [kind: NoticeKind, discriminator: string, reason: string];
type Detector = (i: NoticeInput, revision: string, name: string) => Found | undefined;

const DETECTORS: readonly Detector[] = [
  (i, revision) => {
    const { prev, next } = i;
    if (next.startTime === undefined || next.startTime === prev.startTime) return undefined;
    return ['started', next.startTime, startReason(i, revision)];
  },
  ({ prev, next }) => {
    const w = next.canaryWeight ?? 0;
    if (next.lastStepTime === undefined || next.lastStepTime === prev.lastStepTime || w <= 0)
      return undefined;
    return ['step', String(w), `canary weight raised to ${w}%, its checks passing`];
  },
  ({ prev, next }, _revision, name) => {
    if (next.phase !== 'Halted' || prev.phase === 'Halted') return undefined;
    // One per step of a release: a halt that clears and comes back at the same weight is
    // the same trouble (Events still record every halt).
    const reason = after(next.message, `Halt rollout ${name} `);
    return ['halted', next.lastStepTime ?? next.startTime ?? '', reason];
  },
  ({ prev, next }, _revision, name) => {
    if (next.phase !== 'RollingBack' || prev.phase === 'RollingBack') return undefined;
    const deadline = next.failureReason === 'ProgressDeadlineExceeded';
    const reason = after(next.message, `Rolling back ${name}: `);
    return [deadline ? 'deadline-exceeded' : 'rolled-back', next.startTime ?? '', reason];
  },
  (i, revision) => {
    const { prev, next } = i;
    const promoted =
      prev.phase === 'Promoting' &&
      next.phase === 'Finalising' &&
      next.lastPromotedRevision === revision &&
      prev.lastPromotedRevision !== revision;
    if (!promoted) return undefined;
    const primary = i.spec ? qualified(i.spec.primary.name, i.namespace) : 'the primary';
    return ['promoted', revision, `${primary} runs revision ${revision}; its checks passed`];
  },
];

/** The notices a decision calls for, in the order things happened. */
export function noticesOf(i: NoticeInput): Notice[] {
  const revision = i.next.canaryRevision;
  if (revision === undefined || i.next.phase === undefined) return [];
  const name = qualified(i.name, i.namespace);
  return DETECTORS.flatMap((detect) => {
    const found = detect(i, revision, name);
    return found ? [notice(i, found[0], revision, found[1], found[2])] : [];
  });
}

function notice(
  i: NoticeInput,
  kind: NoticeKind,
  revision: string,
  discriminator: string,
  reason: string,
): Notice {
  const s = i.next;
  return {
    kind,
    id: [i.uid ?? `${i.namespace}/${i.name}`, revision, kind, discriminator].join('/'),
    namespace: i.namespace,
    name: i.name,
    revision,
    phase: s.phase ?? 'Waiting',
    weight: s.canaryWeight ?? 0,
    reason,
    time: new Date(i.now).toISOString(),
    ...((kind === 'rolled-back' || kind === 'deadline-exceeded') && s.failureReason
      ? { failureReason: s.failureReason }
      : {}),
    ...(i.spec ? { canary: i.spec.canary.name, primary: i.spec.primary.name } : {}),
  };
}

function startReason(i: NoticeInput, revision: string): string {
  const canary = i.spec ? qualified(i.spec.canary.name, i.namespace) : 'the canary';
  const before = i.prev.canaryRevision;
  if (before === revision && (i.prev.phase === 'Failed' || i.prev.phase === 'RollingBack'))
    return `a retry of revision ${revision} was requested`;
  if (before !== undefined && before !== revision && i.prev.phase !== undefined) {
    const midRelease = ['Progressing', 'Halted', 'Paused', 'Promoting'].includes(i.prev.phase);
    if (midRelease) return `new revision ${revision} of ${canary} replaced ${before} mid-release`;
  }
  return `new revision ${revision} of ${canary}`;
}

/** The sentence after the planner's prefix (the status message is "PREFIX why"). */
function after(message: string | undefined, prefix: string): string {
  if (!message) return 'no reason given';
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}
