// The mutable working state of one planning pass, shared by the planner's modules: the
// status being decided, the actions and events it leads to, and when to look again.

import { qualified } from '@steerer/common/model';
import type { HookSpec, RolloutStatus } from '@steerer/common/model';
import type { Action, HookCall, PlanInput, PlannedEvent } from './types.js';

/** The shortest requeue, so a due check is never scheduled in the past. */
export const MIN_REQUEUE_MS = 100;
/** How often to look at a release that waits on something other than time. */
export const WAIT_REQUEUE_MS = 5000;
/** How soon to look again while a check waits for its first measurement. */
export const MEASUREMENT_REQUEUE_MS = 1000;

/** A manual request being handled in this pass; the promote outcome is decided late. */
export interface PendingRequest {
  action: string;
  promote?: 'check' | 'force';
}

export class Pass {
  readonly status: RolloutStatus;
  readonly actions: Action[] = [];
  readonly events: PlannedEvent[] = [];
  /** The valid spec's lifecycle webhooks, and the calls this pass wants made. */
  hookSpecs: readonly HookSpec[] = [];
  readonly hookCalls: HookCall[] = [];
  requeueAfterMs: number | undefined;
  /** Why the Rollout cannot carry on (the Stalled condition's reason), when it cannot. */
  stalledReason: string | undefined;
  request: PendingRequest | undefined;

  constructor(
    readonly input: PlanInput,
    readonly name: string,
  ) {
    this.status = structuredClone(input.rollout.status ?? {});
  }

  get ns(): string {
    return this.input.rollout.metadata.namespace;
  }
  get prev(): RolloutStatus {
    return this.input.rollout.status ?? {};
  }
  get now(): number {
    return this.input.now;
  }
  get nowIso(): string {
    return new Date(this.input.now).toISOString();
  }
  /** "name.namespace" of an object in the Rollout's namespace. */
  q(name: string): string {
    return qualified(name, this.ns);
  }
  normal(message: string): void {
    this.events.push({ type: 'Normal', message });
  }
  warning(message: string): void {
    this.events.push({ type: 'Warning', message });
  }
  requeue(ms: number): void {
    const v = Math.max(MIN_REQUEUE_MS, Math.round(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? v : Math.min(this.requeueAfterMs, v);
  }
  /** Sets the status message; a Warning event is recorded only when it changes. */
  say(message: string, warnIfNew = false): void {
    if (warnIfNew && message !== this.prev.message) this.warning(message);
    this.status.message = message;
  }
  /** Sets the status message and records it as a Normal event. */
  announce(message: string): void {
    this.status.message = message;
    this.normal(message);
  }
  /** Milliseconds since an RFC 3339 time in status; Infinity when it is absent. */
  since(time: string | undefined): number {
    const t = time ? Date.parse(time) : Number.NaN;
    return Number.isFinite(t) ? this.now - t : Number.POSITIVE_INFINITY;
  }
  /** Records the outcome of the pass's manual request (status, event). */
  answer(outcome: 'Done' | 'Refused', message: string): void {
    const r = this.request;
    if (!r) return;
    this.status.lastRequest = { action: r.action, time: this.nowIso, outcome, message };
    const text = `Request ${r.action} for ${this.name}: ${message}`;
    if (outcome === 'Done') this.normal(text);
    else this.warning(text);
    this.request = undefined;
  }
}

/** A release is under way: a revision not yet promoted, and not rolled back. */
export function inFlight(s: RolloutStatus): boolean {
  return (
    s.canaryRevision !== undefined &&
    s.canaryRevision !== s.lastPromotedRevision &&
    s.phase !== 'RollingBack' &&
    s.phase !== 'Failed'
  );
}
