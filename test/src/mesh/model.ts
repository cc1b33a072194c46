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

/** A DestinationRule subset: the endpoints of the host whose pod labels carry all of these. */
export interface Subset {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An Istio DestinationRule, as far as subset routing needs it. */
export interface DestinationRule extends ObjectMeta {
  /** spec.host as written; short names are relative to the rule's namespace. */
  readonly host: string;
  readonly subsets: readonly Subset[];
}

// ---- Gateway API (gateway.networking.k8s.io) --------------------------------------------

/** The identity of the object that routed a request, for logs, metrics and admin state. */
export interface RouteVia {
  readonly kind: 'VirtualService' | 'HTTPRoute';
  readonly namespace: string;
  readonly name: string;
  /** HTTPRoute traffic: the Gateway that accepted the route (Istio deploys one proxy per Gateway). */
  readonly gateway?: { readonly namespace: string; readonly name: string };
}

/** A parentRef with Gateway API defaults applied (group, kind, namespace). */
export interface ParentRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export const PATH_MATCH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'] as const;
export type PathMatchType = (typeof PATH_MATCH_TYPES)[number];

export interface PathMatch {
  readonly type: PathMatchType;
  /** For PathPrefix: without a trailing slash, except the root prefix `/`. */
  readonly value: string;
  /** RegularExpression only: anchored, like Envoy's safe_regex. */
  readonly regex?: RegExp;
}

/** One HTTPRouteMatch: every condition must hold. */
export interface RouteMatch {
  /** Always present: Gateway API defaults it to PathPrefix `/`. */
  readonly path: PathMatch;
  /** Header names lower-case; values exact or regex. */
  readonly headers: readonly NamedMatch[];
  /** Query parameter names as written (case-sensitive); values exact or regex. */
  readonly queryParams: readonly NamedMatch[];
  readonly method?: string;
}

/** A backendRef with defaults applied (group '', kind Service, namespace, weight 1). */
export interface BackendRef {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly port?: number;
  readonly weight: number;
}

export interface HttpRouteRule {
  readonly name?: string;
  /** Never empty: a rule without matches gets PathPrefix `/`, as the CRD defaults it. */
  readonly matches: readonly RouteMatch[];
  readonly backendRefs: readonly BackendRef[];
  /** Set when the rule redirects or uses a filter the simulator does not model (answers 404 NR). */
  readonly unsupported?: string;
}

export interface HTTPRoute extends ObjectMeta {
  readonly parentRefs: readonly ParentRef[];
  /** Lower-case; empty means every host the listener accepts. */
  readonly hostnames: readonly string[];
  readonly rules: readonly HttpRouteRule[];
}

export const ALLOWED_ROUTES_FROM = ['Same', 'All', 'Selector'] as const;
export type AllowedRoutesFrom = (typeof ALLOWED_ROUTES_FROM)[number];

export interface GatewayListener {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  /** Lower-case; absent accepts every host. */
  readonly hostname?: string;
  readonly allowedFrom: AllowedRoutesFrom;
  /** Absent: the protocol's default kinds (HTTPRoute for HTTP and HTTPS). */
  readonly allowedKinds?: readonly { readonly group: string; readonly kind: string }[];
}

/** A Gateway API Gateway (not to be confused with the simulator's request path, gateway.ts). */
export interface KubeGateway extends ObjectMeta {
  readonly gatewayClassName: string;
  readonly listeners: readonly GatewayListener[];
}

export interface ReferenceGrant extends ObjectMeta {
  readonly from: readonly {
    readonly group: string;
    readonly kind: string;
    readonly namespace: string;
  }[];
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name?: string }[];
}
