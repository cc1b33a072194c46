// The Rollout custom resource (apps.weave.works/v1beta1): its spec as Steerer works with it
// once validated (validate.ts), and the status Steerer maintains.

import type { CheckSpec } from './checks/index.js';
import type { Phase } from './phases.js';
import type { RouteRef } from './routing/router.js';

export interface DeploymentRef {
  /** Deployment name. */
  name: string;
  /** ClusterIP Service name, as the route object's destination names it. */
  host: string;
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
}

/** Why a release is held, as conditions and events tell cases apart. */
export const HALT_REASONS = [
  'MissingTarget',
  'InvalidTarget',
  'RollingUpdate',
  'UnhealthyPods',
  'HpaScaling',
  'LowSuccessRate',
  'NoMetricData',
  'MetricsUnavailable',
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

export const ANALYSIS_RESULTS = ['Pass', 'Fail', 'NoData', 'Error'] as const;
export type AnalysisResultKind = (typeof ANALYSIS_RESULTS)[number];

/** The check that decided the last analysis, as recorded in status. */
export interface AnalysisStatus {
  result: AnalysisResultKind;
  /** Success rate in percent, rounded to two decimals; absent without data. */
  successRate?: number;
  threshold: number;
  /** Requests per second behind the rate over the window, when known. */
  requestRate?: number;
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
  /** One sentence on what Steerer is doing or waiting for. */
  message?: string;
  conditions?: Condition[];
}

export interface RolloutObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
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
