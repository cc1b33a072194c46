// The seam between Steerer and a traffic router. A Router knows one kind of route object
// (an Istio VirtualService today): which Kubernetes resource it is, how a Rollout names it,
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
}

/** A route object a Rollout names: its router's kind and its name in the Rollout's namespace. */
export interface RouteRef {
  kind: string;
  name: string;
}
