// The Rollout custom resource (apps.weave.works/v1beta1): its spec as Steerer works with it
// once validated (validate.ts), and the status Steerer maintains.

import type { CheckSpec } from './checks/index.js';
import type { HookSpec, HookStatus } from './hooks.js';
import type { NotificationsSpec } from './notifications.js';
import type { ObjectMeta } from './objects.js';
import type { Phase } from './phases.js';
import type { RouteRef } from './routing/router.js';

export interface DeploymentRef {
  /** Deployment name. */
  name: string;
  /** ClusterIP Service name, as the route object's destination names it. */
  host: string;
  /**
   * Istio subset routing: the DestinationRule subset of `host` that the VirtualService's
   * destination for this side names. Set on both sides or neither; absent in the seed's
   * pattern (one Service per side).
   */
  subset?: string;
}

/** A validated spec. Users write `virtualService` and `metric`; they arrive here as `route`, `stepWeight` and `checks`. */
export interface RolloutSpec {
  targetKind: 'Deployment';
  primary: DeploymentRef;
  canary: DeploymentRef;
  /** The route object that splits traffic between the primary and canary hosts. */
  route: RouteRef;
  /** Percentage of traffic added to the canary at each step. */
  stepWeight: number;
  /** What the canary must pass before each further step and before promotion. */
  checks: CheckSpec[];
  /** When a failing release is rolled back; unset fields take the controller's defaults. */
  rollback: RollbackSpec;
  /** A release that makes no progress for this long is rolled back (default: the controller's). */
  progressDeadlineMs?: number;
  /** Lifecycle webhooks (spec.hooks); empty when none. */
  hooks: HookSpec[];
  /** The Rollout's notification settings (spec.notifications); absent: the controller's. */
  notifications?: NotificationsSpec;
}

export interface RollbackSpec {
  /** Roll back a release whose checks keep failing (spec.rollback.onFailure). */
  onFailure?: boolean;
  /** How long the checks must fail without a pass in between (spec.rollback.failureDuration). */
  failureDurationMs?: number;
}

/** Why a release is held, as conditions and events tell cases apart. */
export const HALT_REASONS = [
  'MissingTarget',
  'InvalidTarget',
  /** The API server serves no resource of the route object's kind (its CRDs are not installed). */
  'RouterUnavailable',
  'RollingUpdate',
  'UnhealthyPods',
  'HpaScaling',
  'LowSuccessRate',
  'HighLatency',
  'WorseThanPrimary',
  'CheckFailed',
  'BadQueryResult',
  'NoMetricData',
  'MetricsUnavailable',
  /** A pre-rollout or rollout hook failed (spec.hooks). */
  'HookFailed',
] as const;
export type HaltReason = (typeof HALT_REASONS)[number];

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Stalled'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export const ANALYSIS_RESULTS = ['Pass', 'Fail', 'Waiting', 'NoData', 'Error'] as const;
export type AnalysisResultKind = (typeof ANALYSIS_RESULTS)[number];

/** The check that decided the last analysis, as recorded in status. */
export interface AnalysisStatus {
  /** The check's name (`success-rate` for spec.metric). */
  check?: string;
  result: AnalysisResultKind;
  /** Success rate in percent, rounded to two decimals; absent without data. */
  successRate?: number;
  /** The value of a check other than the success rate (latency, a query), in `unit`. */
  value?: number;
  unit?: string;
  /** The primary's value, for checks that compare with it. */
  baselineValue?: number;
  threshold: number;
  /** Requests per second behind the rate over the window, when known. */
  requestRate?: number;
  /** Requests seen over the evidence window (the longest the release has lived through). */
  samples?: number;
  /** Of those, how many failed the check (errors, slow requests). */
  failures?: number;
  /** The evidence window, as users write durations. */
  evidenceWindow?: string;
  /** More requests needed (with no more failures) before the check can pass. */
  needed?: number;
  /**
   * While waiting: the most samples seen since the wait began. Only a new high counts as
   * progress (a sliding window's count wobbles by a request or two from look to look).
   */
  peakSamples?: number;
  /** The confidence behind the verdict: of a halt (0.999), or needed to pass (0.8). */
  confidence?: number;
  /** The query users can paste into Prometheus to see the value (one workload, the window). */
  query?: string;
  window: string;
  time: string;
  message?: string;
}

export interface RolloutStatus {
  observedGeneration?: number;
  phase?: Phase;
  /** Percentage of traffic currently routed to the canary. */
  canaryWeight?: number;
  /** Failed checks during the current release. */
  failedChecks?: number;
  /** The canary revision (template hash) the current or last release is about. */
  canaryRevision?: string;
  /** The canary revision last promoted to the primary. */
  lastPromotedRevision?: string;
  /** When the canary weight last changed (RFC 3339). */
  lastStepTime?: string;
  /** When the last gated check of the current release ran (RFC 3339). */
  lastCheckTime?: string;
  /** When the current release started. */
  startTime?: string;
  /** When the phase last changed. */
  lastTransitionTime?: string;
  analysis?: AnalysisStatus;
  /** When the checks started failing without a pass since (the rollback rule's clock). */
  failingSince?: string;
  /**
   * Since when requests count as evidence for the promotion: set when checks that failed
   * pass again (the canary re-earns its promotion on requests served after it recovered).
   * Absent: since the release's start.
   */
  evidenceSince?: string;
  /** When the release last made progress: started, stepped, resumed (the deadline's clock). */
  lastProgressTime?: string;
  /** When Steerer last changed the route object's split (the settle time's clock). */
  lastRouteTime?: string;
  /** Why the last release failed (phases RollingBack and Failed): a condition reason. */
  failureReason?: FailureReason;
  /** The last manual request and what became of it. */
  lastRequest?: RequestStatus;
  /** One sentence on what Steerer is doing or waiting for. */
  message?: string;
  conditions?: Condition[];
  /** The latest result of each lifecycle webhook (spec.hooks) of the current release. */
  hooks?: HookStatus[];
}

/** Why a release was rolled back. */
export const FAILURE_REASONS = ['RolledBack', 'ProgressDeadlineExceeded', 'Aborted'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface RequestStatus {
  /** The request as written in the annotation. */
  action: string;
  /** When the controller handled it (RFC 3339). */
  time: string;
  /** Done: carried out. Refused: not possible now (the message says why). */
  outcome: 'Done' | 'Refused';
  message: string;
}

export interface RolloutObject {
  apiVersion?: string;
  kind?: string;
  /** A Rollout always lives in a namespace. */
  metadata: ObjectMeta & { namespace: string };
  spec: unknown;
  status?: RolloutStatus;
}

/** A problem with one field of an input object. */
export interface FieldError {
  /** JSON-path-like location, e.g. "spec.metric.threshold". */
  field: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/** "podinfo.test": how events and logs name a rollout or a Deployment. */
export function qualified(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}
