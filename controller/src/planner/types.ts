// What the planner sees and what it decides. Everything here is plain data.

import type {
  Deployment,
  HorizontalPodAutoscaler,
  PodTemplate,
  RolloutObject,
  RolloutSpec,
  RolloutStatus,
  Service,
  VirtualService,
} from '@steerer/common';

/** The objects a rollout refers to, as the informer caches hold them. */
export interface Observed {
  primary?: Deployment | undefined;
  canary?: Deployment | undefined;
  primaryService?: Service | undefined;
  canaryService?: Service | undefined;
  virtualService?: VirtualService | undefined;
  /** The HorizontalPodAutoscaler whose scaleTargetRef is the canary, if any. */
  canaryHpa?: HorizontalPodAutoscaler | undefined;
}

/**
 * The latest success-rate measurement of the canary's workload. `windowMs` is the
 * window actually measured: the spec's interval, or less early in a release, so data
 * from a previous revision never counts for the current one.
 */
export type AnalysisSample =
  | { kind: 'ok'; successRate: number; requestRate: number; at: number; windowMs?: number }
  | { kind: 'nodata'; at: number; windowMs?: number }
  | { kind: 'error'; message: string; at: number };

export interface PlannerConfig {
  /** How often a release may advance one step (the seed's controlLoopInterval). */
  stepIntervalMs: number;
  /** Samples older than this count as missing. */
  maxSampleAgeMs: number;
}

export interface PlanInput {
  rollout: RolloutObject;
  observed: Observed;
  analysis: AnalysisSample | undefined;
  now: number;
  config: PlannerConfig;
}

export type Action =
  /** Set the split routes' weights (only the primary/canary destinations). */
  | { kind: 'setWeights'; primary: number; canary: number }
  /** Scale the canary Deployment; `remember` records the replicas it had before. */
  | { kind: 'scaleCanary'; replicas: number; remember?: number }
  /** Replace the primary's pod template. */
  | { kind: 'promote'; template: PodTemplate }
  /** Label the Deployments as managed by this rollout (scopes the webhook). */
  | { kind: 'labelTargets'; primary: boolean; canary: boolean };

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  message: string;
}

export interface Plan {
  spec: RolloutSpec | undefined;
  status: RolloutStatus;
  actions: Action[];
  events: PlannedEvent[];
  /** When to look again even if nothing changes; undefined means only on change. */
  requeueAfterMs: number | undefined;
  /** Whether the canary's success rate should be measured for this rollout. */
  wantsAnalysis: boolean;
}
