// The seam between Steerer and a traffic router. A Router knows one kind of route object
// (an Istio VirtualService, a Gateway API HTTPRoute): which Kubernetes resource it is, how a Rollout names it,
// how to read the primary/canary split from it and how to patch that split — all pure, so
// the planner decides with it and the webhook checks edits with it. What to watch, which
// version the API server serves and where to write come from the same object.

import type { JsonPatchOp } from '../json.js';

/** Percent of traffic to each side of a split; they add up to 100. */
export interface Weights {
  primary: number;
  canary: number;
}

/** The Services (as hosts) a route object must split traffic between. */
export interface RouteHosts {
  primary: string;
  canary: string;
  /** Short hosts resolve in the route object's namespace; this one when it names none. */
  namespace: string;
  /**
   * Istio subset routing: the subsets of the hosts the two destinations name (both or
   * neither). Absent, a destination is matched by its host alone.
   */
  primarySubset?: string;
  canarySubset?: string;
}

/** The hosts (and subsets) a Rollout's spec splits traffic between, in its namespace. */
export function routeHostsOf(
  spec: { primary: { host: string; subset?: string }; canary: { host: string; subset?: string } },
  namespace: string,
): RouteHosts {
  return {
    primary: spec.primary.host,
    canary: spec.canary.host,
    namespace,
    ...(spec.primary.subset !== undefined ? { primarySubset: spec.primary.subset } : {}),
    ...(spec.canary.subset !== undefined ? { canarySubset: spec.canary.subset } : {}),
  };
}

export type RouteState =
  | {
      ok: true;
      /** The split of the first route that splits, as the data plane applies it. */
      weights: Weights;
      /** Every splitting route has the same weights. */
      consistent: boolean;
      /** How many routes of the object split between the two hosts. */
      splits: number;
    }
  | { ok: false; message: string };

export interface Router {
  /** The route object's kind, as events and messages name it. */
  readonly kind: string;
  readonly group: string;
  /** Served versions in order of preference; the first one the API server serves is used. */
  readonly versions: readonly string[];
  /** The resource's plural. */
  readonly resource: string;
  /** What a cluster that does not serve the resource needs, e.g. "install the Gateway API CRDs". */
  readonly install: string;
  /** The Rollout spec field that names the route object and the step weight. */
  readonly specField: string;
  /**
   * Where the split is in the object. Reads any value without throwing (a cached object or
   * an admission request's), so malformed input is a clear message, never an exception.
   */
  read(route: unknown, hosts: RouteHosts): RouteState;
  /**
   * Operations setting the split to `want`, each edit guarded by `test` operations so a
   * concurrent change of the object fails the patch instead of changing the wrong thing.
   * Empty when the object already routes `want` or does not split between the hosts.
   */
  patch(route: unknown, hosts: RouteHosts, want: Weights): JsonPatchOp[];
  /**
   * An update of the route object by someone else while a release is in flight: the
   * operations that put the split of `before` (what the data plane applies now, Steerer's)
   * back into `after` (the object as the update would store it). Empty when the update
   * leaves the split's weights alone, or when either object does not split between the
   * hosts (then the validating webhook and the planner have their say).
   */
  keepWeights(before: unknown, after: unknown, hosts: RouteHosts): JsonPatchOp[];
  /**
   * References of the route object into other namespaces that the data plane honours only
   * with the consent of that namespace (Gateway API: a ReferenceGrant). Absent for routers
   * whose references need none (Istio).
   */
  readonly grants?: GrantKind;
  /**
   * The kind of object that defines the subsets a route's destinations may name (Istio:
   * DestinationRule), for routers that route to subsets of one Service. Absent for
   * routers that do not (a Rollout naming subsets with one is invalid).
   */
  readonly subsets?: SubsetKind;
}

/** One side of a Rollout routed to a subset: what the subset must select, and must not. */
export interface SubsetSide {
  role: 'primary' | 'canary';
  /** The Service's host as the Rollout writes it. */
  host: string;
  subset: string;
  /** The side's Deployment, in the Rollout's namespace. */
  deployment: string;
  /** The labels of the Deployment's pod template; undefined while it is not there. */
  podLabels: Record<string, string> | undefined;
  /** The Service's selector, when the Service is known (a subset only narrows its endpoints). */
  serviceSelector?: Record<string, string> | undefined;
}

/** A reason a side's subset cannot carry its traffic, as a sentence naming object and field. */
export interface SubsetProblem {
  /** `missing`: no object defines the host's subsets (the rest: it exists but does not fit). */
  kind: 'missing' | 'invalid';
  message: string;
}

/** The kind of object that defines subsets, and how to check the ones a Rollout names. */
export interface SubsetKind {
  kind: string;
  group: string;
  versions: readonly string[];
  resource: string;
  install: string;
  /**
   * The problems of the two sides' subsets, given the subset objects (any values) of the
   * namespaces of the sides' hosts; `namespace` is the Rollout's.
   */
  check(
    namespace: string,
    objects: readonly unknown[],
    sides: readonly SubsetSide[],
    /** Names an object in messages, e.g. "podinfo.test" or "test/podinfo". */
    q?: (name: string, namespace: string) => string,
  ): SubsetProblem[];
  /** The namespace and name of the Service whose subsets an object (any value) defines, if any. */
  serviceOf(object: unknown): { namespace: string; name: string } | undefined;
}

/** A reference from a route object to a Service in another namespace. */
export interface CrossNamespaceRef {
  /** The route object's namespace and kind (the grant's `from`). */
  fromNamespace: string;
  /** The referenced Service's namespace (where the grant must be) and name. */
  namespace: string;
  name: string;
  /** Where the reference is, e.g. spec.rules[0].backendRefs[1]. */
  field: string;
}

/** The kind of object that consents to cross-namespace references, and how to read one. */
export interface GrantKind {
  kind: string;
  group: string;
  versions: readonly string[];
  resource: string;
  /** The split's references into other namespaces. */
  needed(route: unknown, hosts: RouteHosts): CrossNamespaceRef[];
  /** Whether one of `grants` (objects of the referenced namespace, any value) permits `ref`. */
  permits(grants: readonly unknown[], ref: CrossNamespaceRef): boolean;
}

/**
 * keepWeights for any router, from its `read` and `patch`: when the update changes the
 * split that `before` applied consistently, the operations setting it back.
 */
export function keepWeightsWith(
  router: Pick<Router, 'read' | 'patch'>,
  before: unknown,
  after: unknown,
  hosts: RouteHosts,
): JsonPatchOp[] {
  const was = router.read(before, hosts);
  const now = router.read(after, hosts);
  if (!was.ok || !now.ok || !was.consistent) return [];
  const same =
    now.weights.primary === was.weights.primary && now.weights.canary === was.weights.canary;
  if (same && now.consistent) return [];
  return router.patch(after, hosts, was.weights);
}

/** A route object a Rollout names: its router's kind and its name in the Rollout's namespace. */
export interface RouteRef {
  kind: string;
  name: string;
}
