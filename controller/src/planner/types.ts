// What the planner sees and what it decides: the controller's contract. Plain data only.

import type {
  AnalysisSample,
  CheckSpec,
  Deployment,
  HookPayload,
  HookSpec,
  HorizontalPodAutoscaler,
  JsonPatchOp,
  KubeObject,
  PodTemplate,
  Role,
  RolloutObject,
  RolloutSpec,
  RolloutStatus,
  RouteRef,
  Service,
} from '@steerer/common/model';

/** The objects a rollout refers to, as the informer caches hold them. */
export interface Observed {
  primary?: Deployment | undefined;
  canary?: Deployment | undefined;
  primaryService?: Service | undefined;
  canaryService?: Service | undefined;
  /** The route object the spec names (its router is spec.route.kind). */
  route?: KubeObject | undefined;
  /**
   * Why the route object's kind cannot be read at all (the API server serves no such
   * resource, its cache has not synced yet, its router is turned off), as a sentence; then
   * `route` says nothing about whether the object exists.
   */
  routeUnavailable?: string | undefined;
  /**
   * Istio subset routing (a spec naming subsets): the objects that define subsets (the
   * router's subset kind, DestinationRules) in the namespaces of the sides' hosts.
   */
  subsetRules?: readonly KubeObject[] | undefined;
  /** Why those objects cannot be read (their kind not served, their cache not synced). */
  subsetRulesUnavailable?: string | undefined;
  /** The HorizontalPodAutoscaler whose scaleTargetRef is the canary, if any. */
  canaryHpa?: HorizontalPodAutoscaler | undefined;
  /**
   * Another Rollout that claimed one of this Rollout's Deployments or Services first, as a
   * sentence naming it; this Rollout then waits and touches nothing.
   */
  conflict?: string | undefined;
}

/** The latest sample of each of a canary's checks, by check name. */
export type AnalysisSamples = ReadonlyMap<string, AnalysisSample>;

/** What the planner wants measured: the canary's checks, from the release's start on. */
export interface Subscription {
  namespace: string;
  /** The canary Deployment's name (Istio's destination_workload). */
  workload: string;
  /** The primary Deployment's name, for checks that compare the canary with it. */
  primary?: string;
  checks: readonly CheckSpec[];
  /** Only data after this instant counts (the release's start), when set. */
  sinceMs?: number | undefined;
}

export interface PlannerConfig {
  /** How often a release may advance one step (the seed's controlLoopInterval). */
  stepIntervalMs: number;
  /** Samples older than this count as missing. */
  maxSampleAgeMs: number;
  /** Roll back releases whose checks keep failing, unless a Rollout says otherwise. */
  rollbackOnFailure: boolean;
  /** A release without progress for this long is rolled back, unless a Rollout says otherwise. */
  progressDeadlineMs: number;
  /**
   * How long after a route change the data plane is trusted to apply it: the canary keeps
   * its pods this long after all traffic is routed back to the primary.
   */
  routeSettleMs: number;
}

/** One lifecycle webhook call the planner wants made (the hook runner makes it). */
export interface HookCall {
  /** What the call is about: the revision, and for rollout hooks the weight ("abc@20"). */
  id: string;
  hook: HookSpec;
  payload: HookPayload;
  /** Attempts already made (from status), so a bound holds across restarts. */
  priorAttempts: number;
  /** Give up after this many attempts in all; undefined: keep trying while wanted. */
  maxAttempts?: number;
}

/** What the hook runner last saw of a call. */
export interface HookResult {
  id: string;
  phase: 'Running' | 'Succeeded' | 'Failed';
  attempts: number;
  /** When the last attempt ended (or the first began, while Running), ms since the epoch. */
  at: number;
  code?: number;
  message?: string;
}

/**
 * The runner's results by hook name: one per call it still holds (a call a pass no longer
 * wanted is kept a while, so a pass planned from a stale cache does not make it twice).
 */
export type HookResults = ReadonlyMap<string, readonly HookResult[]>;

export interface PlanInput {
  rollout: RolloutObject;
  observed: Observed;
  analysis: AnalysisSamples | undefined;
  /** The hook runner's latest results for this Rollout, by hook name. */
  hooks?: HookResults | undefined;
  now: number;
  config: PlannerConfig;
}

/** Everything an action needs is in it: the actuator reads nothing else. */
export type Action =
  /** Patch the route object's split (the router's operations, guarded by tests). */
  | {
      kind: 'setWeights';
      route: RouteRef;
      primary: number;
      canary: number;
      ops: JsonPatchOp[];
    }
  /** Scale the canary Deployment; `remember` records the replicas it had before. */
  | { kind: 'scaleCanary'; name: string; replicas: number; remember?: number }
  /** Replace the primary's pod template, if the Deployment is still at `resourceVersion`. */
  | { kind: 'promote'; name: string; resourceVersion: string; template: PodTemplate }
  /** Label Deployments as managed by this rollout, in the given roles (scopes the webhook). */
  | { kind: 'labelTargets'; rollout: string; targets: { name: string; role: Role }[] }
  /** Add Steerer's finalizer to the Rollout (deleting it then routes traffic back first). */
  | { kind: 'addFinalizer'; first: boolean }
  /** Remove Steerer's finalizer (its index in metadata.finalizers, checked by a test op). */
  | { kind: 'removeFinalizer'; index: number }
  /** Remove the handled manual request annotation, if it still holds `value`. */
  | { kind: 'ackRequest'; value: string };

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  message: string;
}

export interface Plan {
  /** The validated spec, when it is valid. */
  spec: RolloutSpec | undefined;
  status: RolloutStatus;
  actions: Action[];
  events: PlannedEvent[];
  /** When to look again even if nothing changes; undefined means only on change. */
  requeueAfterMs: number | undefined;
  /** What to measure for this rollout from now on; undefined: nothing. */
  measure: Subscription | undefined;
  /** The lifecycle webhook calls wanted now (the runner cancels any others). */
  hooks: HookCall[];
}
