// What the dashboard's server sends the page and the page sends back: the JSON of every
// endpoint and server-sent event. Shared by both sides (isomorphic: no Node, no DOM), so a
// change of shape is a type error on both.

import type {
  AnalysisStatus,
  Condition,
  EventObject,
  FailureReason,
  Phase,
  Request,
  RequestStatus,
} from '@steerer/common/model';

/** One line of the overview: what a person needs to see at a glance. */
export interface RolloutSummary {
  namespace: string;
  name: string;
  phase?: Phase | undefined;
  canaryWeight: number;
  failedChecks: number;
  /** The deciding check's last analysis, trimmed to what the overview shows. */
  analysis?: Pick<
    AnalysisStatus,
    'check' | 'result' | 'successRate' | 'value' | 'unit' | 'threshold' | 'needed'
  >;
  message?: string | undefined;
  lastTransitionTime?: string | undefined;
  failureReason?: FailureReason | undefined;
  /** A manual request written but not yet handled by the controller. */
  pendingRequest?: string | undefined;
  /** Set while the Rollout is being deleted. */
  deleting?: boolean;
}

/** Where the dashboard is looking, and why there if it had to narrow down. */
export interface Scope {
  /** undefined: every namespace. */
  namespace?: string | undefined;
  /** Why the scope is narrower than asked (no permission to list cluster-wide). */
  note?: string | undefined;
  /** The Kubernetes API server, for messages. */
  server: string;
  /** The context of the kubeconfig in use. */
  context: string;
}

/** A connection problem the server is retrying, or undefined once it works again. */
export interface Trouble {
  message: string | undefined;
}

/** Server-sent events of the overview stream (/api/overview/stream). */
export interface OverviewEvents {
  /** Everything at once: first on connect, and after the server relisted. */
  snapshot: { scope: Scope; rollouts: RolloutSummary[]; synced: boolean };
  upsert: RolloutSummary;
  remove: { namespace: string; name: string };
  trouble: Trouble;
}

/** The Rollout as the page works with it: the object without managedFields. */
export interface RolloutView {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    generation?: number;
  };
  spec: unknown;
  status?: {
    phase?: Phase;
    canaryWeight?: number;
    failedChecks?: number;
    canaryRevision?: string;
    lastPromotedRevision?: string;
    startTime?: string;
    lastStepTime?: string;
    lastTransitionTime?: string;
    failingSince?: string;
    failureReason?: FailureReason;
    lastRequest?: RequestStatus;
    analysis?: AnalysisStatus;
    message?: string;
    conditions?: Condition[];
    observedGeneration?: number;
  };
}

/** Server-sent events of one Rollout's stream (/api/rollouts/NS/NAME/stream). */
export interface RolloutEvents {
  rollout: RolloutView;
  /** The Rollout does not exist (any more). */
  gone: { namespace: string; name: string; message: string };
  /** Every Event of the Rollout known so far. */
  events: { events: EventObject[]; error?: string | undefined };
  trouble: Trouble;
}

/** A time series on the timeline's shared time axis (null: no value at that time). */
export type Values = (number | null)[];

/** One check's panel: the canary's measurement, the primary's, and the bound. */
export interface CheckSeries {
  name: string;
  type: string;
  /** What the values are, with their unit: "success rate (%)", "p99 latency (ms)". */
  title: string;
  unit: string;
  canary: Values;
  primary: Values;
  /** The bound the canary must stay at or above (min) or at or below (max). */
  min?: number | undefined;
  max?: number | undefined;
  /** primary-comparison: the canary may exceed the primary by at most this many points. */
  marginOverPrimary?: number | undefined;
  /** The PromQL behind each line, to paste into Prometheus. */
  queries: { canary: string; primary: string };
  error?: string | undefined;
}

/** The timeline of one release, answered by /api/rollouts/NS/NAME/timeline. */
export interface Timeline {
  /** Seconds since the epoch, evenly spaced by `step`. */
  t: number[];
  start: number;
  end: number;
  step: number;
  /** Why this range: "the current release", "the last release", "the last 15 minutes". */
  range: string;
  weight: Values;
  /** Where the weight history comes from. */
  weightSource: 'prometheus' | 'dashboard';
  traffic: {
    metric: string;
    canary: Values;
    primary: Values;
    /** The canary's share of all requests, in percent. */
    canaryShare: Values;
    queries: { canary: string; primary: string };
    error?: string | undefined;
  };
  checks: CheckSeries[];
  /** Prometheus could not be asked at all (the whole timeline is empty). */
  error?: string | undefined;
  prometheus: string;
}

/** POST /api/rollouts/NS/NAME/request */
export interface RequestBody {
  request: Request;
}

/** The answer to a request: what the controller made of it, or why it was not written. */
export type RequestAnswer =
  | { state: 'handled'; outcome: 'Done' | 'Refused'; message: string }
  | { state: 'replaced'; by: string; outcome: 'Done' | 'Refused'; message: string }
  /** Written, but the controller has not handled it yet (is it running?). */
  | { state: 'pending'; message: string };

/** Every error answer of the API: the HTTP status and one sentence. */
export interface ErrorAnswer {
  status: number;
  error: string;
}

/** The header every state-changing request must carry (a page of another site cannot set it). */
export const CSRF_HEADER = 'x-steerer-dashboard';
