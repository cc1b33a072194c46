// The simulator's own view of the Kubernetes objects it reads: only the fields a mesh
// data plane needs, already validated (see parse.ts). Everything downstream of the
// kube adapter works on these plain, immutable values.

/** `namespace/name`, the key every cache and admin endpoint uses. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export interface ObjectMeta {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  /** ISO timestamp; '' when unknown. Used to order conflicting VirtualServices like Istio. */
  readonly creationTimestamp: string;
}

export const STRING_MATCH_KINDS = ['exact', 'prefix', 'regex', 'present'] as const;
export type StringMatchKind = (typeof STRING_MATCH_KINDS)[number];

/** Istio's StringMatch; `present` is the empty match (`{}`) allowed for headers. */
export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'regex'; readonly value: string; readonly regex: RegExp }
  | { readonly kind: 'present' };

export interface NamedMatch {
  /** Lower-case header name or query parameter name. */
  readonly name: string;
  readonly match: StringMatch;
}

/** One HTTPMatchRequest: every present condition must hold. */
export interface HttpMatch {
  readonly uri?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  readonly headers: readonly NamedMatch[];
  readonly withoutHeaders: readonly NamedMatch[];
  readonly queryParams: readonly NamedMatch[];
  readonly ignoreUriCase: boolean;
}

export interface RouteDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** Effective weight in percent: 100 for a lone destination. */
  readonly weight: number;
}

export interface HttpRoute {
  readonly name?: string;
  /** Empty: matches every request. Otherwise any one of them must match. */
  readonly matches: readonly HttpMatch[];
  /** Empty when the route only redirects or answers directly (unsupported here). */
  readonly destinations: readonly RouteDestination[];
}

export interface VirtualService extends ObjectMeta {
  readonly hosts: readonly string[];
  readonly http: readonly HttpRoute[];
}

export interface Service extends ObjectMeta {
  /** undefined: no selector (manual endpoints or ExternalName) — no workload behind it. */
  readonly selector: Readonly<Record<string, string>> | undefined;
}

export const ERROR_MODES = ['even', 'random'] as const;
/** `even`: failures evenly spaced (deterministic); `random`: each fails independently. */
export type ErrorMode = (typeof ERROR_MODES)[number];

/** A log-normal latency distribution given by its median and 99th percentile. */
export interface LatencyDistribution {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface FaultProfile {
  /** Fraction of requests answered with errorCode, 0..1. */
  readonly errorRatio: number;
  readonly errorCode: number;
  /** Added to every request's latency. */
  readonly latencyMs: number;
  /** How failures are picked; absent means `even`. */
  readonly errorMode?: ErrorMode;
  /** Seed of the workload's random streams (random errors, sampled latency); absent means 0. */
  readonly seed?: number;
  /** Sampled latency added to every answer (on top of latencyMs); absent means none. */
  readonly latency?: LatencyDistribution;
}

export const NO_FAULTS: FaultProfile = { errorRatio: 0, errorCode: 500, latencyMs: 0 };

export interface Deployment extends ObjectMeta {
  readonly podLabels: Readonly<Record<string, string>>;
  readonly podAnnotations: Readonly<Record<string, string>>;
  /** First container's image. */
  readonly image: string;
  /** First container's literal env values (valueFrom is ignored). */
  readonly env: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  /** Stable 10-character hash of the pod template, like pod-template-hash. */
  readonly templateHash: string;
  /** Fault profile from the pod template annotations. */
  readonly faults: FaultProfile;
  /** Problems with the fault annotations (logged once per resourceVersion). */
  readonly faultWarnings: readonly string[];
}
