// The Istio VirtualService router: a VirtualService whose http routes send traffic to
// exactly the primary and canary hosts (the seed's pattern), or to two subsets of one host
// defined by a DestinationRule (destination-rule.ts). Reading and editing the weights of
// those routes is pure; nothing else in the object is ever touched.

import { fqdn } from '../hosts.js';
import { isJsonMap } from '../json.js';
import type { JsonPatchOp } from '../json.js';
import type { JsonValue, KubeObject, ObjectMeta } from '../objects.js';
import { destinationRuleSubsets } from './destination-rule.js';
import { keepWeightsWith } from './router.js';
import type { RouteHosts, RouteState, Router, Weights } from './router.js';

export const ISTIO_GROUP = 'networking.istio.io';
/** VirtualService versions in order of preference; the first one served is used. */
export const VIRTUAL_SERVICE_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

export interface HttpRouteDestination {
  destination: { host: string; subset?: string; port?: { number?: number } } & Record<
    string,
    unknown
  >;
  weight?: number;
  [key: string]: unknown;
}

export interface HttpRoute {
  name?: string;
  match?: JsonValue[];
  route?: HttpRouteDestination[];
  [key: string]: unknown;
}

export interface VirtualService extends KubeObject {
  spec: {
    hosts?: string[];
    gateways?: string[];
    http?: HttpRoute[];
    [key: string]: unknown;
  };
}

/**
 * A VirtualService whose http routes and destinations are well-formed, read from any
 * object without throwing. Malformed routes and destinations become empty placeholders
 * (a host that matches nothing), so positions stay those of the object a patch applies to.
 */
export function virtualServiceView(obj: unknown, namespace?: string): VirtualService {
  const o = isJsonMap(obj) ? obj : {};
  const meta = isJsonMap(o.metadata) ? o.metadata : {};
  const spec = isJsonMap(o.spec) ? o.spec : {};
  const http = (Array.isArray(spec.http) ? (spec.http as unknown[]) : []).map(
    (route): HttpRoute => {
      if (!isJsonMap(route)) return { route: [] };
      const dests = Array.isArray(route.route) ? (route.route as unknown[]) : [];
      return { ...route, route: dests.map(destinationView) };
    },
  );
  const metadata: ObjectMeta = { name: typeof meta.name === 'string' ? meta.name : '' };
  const ns = typeof meta.namespace === 'string' ? meta.namespace : namespace;
  if (ns !== undefined) metadata.namespace = ns;
  if (isJsonMap(meta.annotations)) {
    metadata.annotations = Object.fromEntries(
      Object.entries(meta.annotations).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    );
  }
  return { metadata, spec: { ...spec, http } };
}

function destinationView(d: unknown): HttpRouteDestination {
  if (!isJsonMap(d) || !isJsonMap(d.destination) || typeof d.destination.host !== 'string') {
    return { destination: { host: '' } };
  }
  const weight = typeof d.weight === 'number' ? d.weight : undefined;
  return {
    destination: { ...d.destination, host: d.destination.host },
    ...(weight !== undefined ? { weight } : {}),
  };
}

export interface SplitRoute {
  /** Index in spec.http. */
  index: number;
  primaryIndex: number;
  canaryIndex: number;
}

export type RouteCheck =
  | { ok: true; routes: SplitRoute[]; weights: Weights; consistent: boolean }
  | { ok: false; message: string };

/**
 * The weight Istio gives a destination of a split route. Istio assumes 100 only for a
 * lone destination; a split route always has two, so a missing weight means 0.
 */
function effectiveWeight(route: HttpRoute, i: number): number {
  const w = route.route?.[i]?.weight;
  return typeof w === 'number' ? w : 0;
}

/** The subsets the primary's and canary's destinations name (Istio subset routing). */
export interface SideSubsets {
  primary?: string | undefined;
  canary?: string | undefined;
}

/** A side as messages name it: its host, and its subset when it routes to one. */
function sideName(host: string, subset: string | undefined): string {
  return subset === undefined ? host : `${host} subset ${subset}`;
}

/** The two sides as one route's scan sees them. */
interface Sides {
  /** The VirtualService, as messages name it. */
  name: string;
  ns: string;
  primary: { fqdn: string; subset: string | undefined; name: string };
  canary: { fqdn: string; subset: string | undefined; name: string };
}

/** Without a subset, a side is matched by its host alone (whatever subset it names). */
function isSide(d: HttpRouteDestination, side: Sides['primary'], ns: string): boolean {
  return (
    fqdn(d.destination.host, ns) === side.fqdn &&
    (side.subset === undefined || d.destination.subset === side.subset)
  );
}

/** One http route: its split (undefined if it lacks a side), or why it cannot split. */
function scanRoute(
  route: HttpRoute,
  index: number,
  s: Sides,
): { split?: SplitRoute; sawPrimary: boolean; sawCanary: boolean } | { message: string } {
  const dests = route.route ?? [];
  const primaryIndex = dests.findIndex((d) => isSide(d, s.primary, s.ns));
  const canaryIndex = dests.findIndex((d) => isSide(d, s.canary, s.ns));
  const seen = { sawPrimary: primaryIndex >= 0, sawCanary: canaryIndex >= 0 };
  if (primaryIndex < 0 || canaryIndex < 0) return seen;
  const others = dests
    .filter((d) => !isSide(d, s.primary, s.ns) && !isSide(d, s.canary, s.ns))
    .map((d) =>
      s.primary.subset === undefined
        ? fqdn(d.destination.host, s.ns)
        : sideName(d.destination.host, d.destination.subset),
    );
  const both = `${s.primary.name} and ${s.canary.name}`;
  if (others.length > 0) {
    return {
      message: `VirtualService ${s.name} route ${index} also sends traffic to ${others.join(', ')}; the route must have only the ${both} destinations`,
    };
  }
  if (dests.length !== 2) {
    return {
      message: `VirtualService ${s.name} route ${index} has ${dests.length} destinations; the route must have exactly one ${s.primary.name} and one ${s.canary.name} destination`,
    };
  }
  return { ...seen, split: { index, primaryIndex, canaryIndex } };
}

/**
 * Finds the http routes whose destinations are exactly the primary and canary hosts (with
 * subset routing: the two subsets of their hosts). Every such route is edited together, so
 * header-matched and default routes agree.
 */
export function checkRoutes(
  vs: VirtualService,
  primaryHost: string,
  canaryHost: string,
  subsets: SideSubsets = {},
): RouteCheck {
  const ns = vs.metadata.namespace ?? 'default';
  const s: Sides = {
    name: `${vs.metadata.name}.${ns}`,
    ns,
    primary: {
      fqdn: fqdn(primaryHost, ns),
      subset: subsets.primary,
      name: sideName(primaryHost, subsets.primary),
    },
    canary: {
      fqdn: fqdn(canaryHost, ns),
      subset: subsets.canary,
      name: sideName(canaryHost, subsets.canary),
    },
  };
  const name = s.name;
  if (
    s.primary.fqdn === s.canary.fqdn &&
    (subsets.primary === undefined || subsets.primary === subsets.canary)
  ) {
    return {
      ok: false,
      message: `the primary host ${s.primary.name} and the canary host ${s.canary.name} name the same Service ${s.primary.fqdn}`,
    };
  }
  const http = vs.spec.http ?? [];
  if (http.length === 0) return { ok: false, message: `VirtualService ${name} has no http routes` };
  const routes: SplitRoute[] = [];
  let sawPrimary = false;
  let sawCanary = false;
  for (const [index, route] of http.entries()) {
    const scan = scanRoute(route, index, s);
    if ('message' in scan) return { ok: false, message: scan.message };
    sawPrimary ||= scan.sawPrimary;
    sawCanary ||= scan.sawCanary;
    if (scan.split) routes.push(scan.split);
  }
  if (routes.length === 0) {
    const missing = [!sawPrimary && s.primary.name, !sawCanary && s.canary.name]
      .filter(Boolean)
      .join(' and ');
    return {
      ok: false,
      message: missing
        ? `VirtualService ${name} has no route to ${missing}`
        : `VirtualService ${name} has no single http route with both ${s.primary.name} and ${s.canary.name} as destinations`,
    };
  }
  const weightsOf = (r: SplitRoute): Weights => {
    const route = http[r.index] as HttpRoute;
    return {
      primary: effectiveWeight(route, r.primaryIndex),
      canary: effectiveWeight(route, r.canaryIndex),
    };
  };
  const first = weightsOf(routes[0] as SplitRoute);
  const consistent = routes.every((r) => {
    const w = weightsOf(r);
    return w.primary === first.primary && w.canary === first.canary;
  });
  return { ok: true, routes, weights: first, consistent };
}

/**
 * A JSON Patch setting the split routes' weights. Every edited route is guarded by a
 * `test` of both its destination hosts, so a concurrent reordering of the routes (or of
 * their destinations) fails the patch instead of changing the wrong destination. Nothing
 * else in the object is touched. Returns no operations when the weights already match.
 */
export function weightPatch(
  vs: VirtualService,
  routes: readonly SplitRoute[],
  want: Weights,
  /** Subset routing: guard each edit by the destinations' subsets too (their hosts are one). */
  guardSubsets = false,
): JsonPatchOp[] {
  const http = vs.spec.http ?? [];
  const ops: JsonPatchOp[] = [];
  for (const r of routes) {
    const dests = http[r.index]?.route;
    const primary = dests?.[r.primaryIndex];
    const canary = dests?.[r.canaryIndex];
    if (!primary || !canary) continue;
    if (primary.weight === want.primary && canary.weight === want.canary) continue;
    const base = `/spec/http/${r.index}/route`;
    // Both hosts, even when one weight is already right: one host alone can match at
    // that position in a different route.
    for (const [i, d] of [
      [r.primaryIndex, primary],
      [r.canaryIndex, canary],
    ] as const) {
      ops.push({ op: 'test', path: `${base}/${i}/destination/host`, value: d.destination.host });
      if (guardSubsets && d.destination.subset !== undefined) {
        ops.push({
          op: 'test',
          path: `${base}/${i}/destination/subset`,
          value: d.destination.subset,
        });
      }
    }
    for (const [i, d, weight] of [
      [r.primaryIndex, primary, want.primary],
      [r.canaryIndex, canary, want.canary],
    ] as const) {
      if (d.weight === weight) continue;
      ops.push({
        op: d.weight === undefined ? 'add' : 'replace',
        path: `${base}/${i}/weight`,
        value: weight,
      });
    }
  }
  return ops;
}

function subsetsOf(hosts: RouteHosts): SideSubsets {
  return { primary: hosts.primarySubset, canary: hosts.canarySubset };
}

export const istioVirtualService: Router = {
  kind: 'VirtualService',
  group: ISTIO_GROUP,
  versions: VIRTUAL_SERVICE_VERSIONS,
  resource: 'virtualservices',
  install: "install Istio's CRDs (networking.istio.io)",
  specField: 'virtualService',
  subsets: destinationRuleSubsets,
  read(route: unknown, hosts: RouteHosts): RouteState {
    const vs = virtualServiceView(route, hosts.namespace);
    const check = checkRoutes(vs, hosts.primary, hosts.canary, subsetsOf(hosts));
    if (!check.ok) return check;
    return {
      ok: true,
      weights: check.weights,
      consistent: check.consistent,
      splits: check.routes.length,
    };
  },
  patch(route: unknown, hosts: RouteHosts, want: Weights): JsonPatchOp[] {
    const vs = virtualServiceView(route, hosts.namespace);
    const subsets = subsetsOf(hosts);
    const check = checkRoutes(vs, hosts.primary, hosts.canary, subsets);
    return check.ok ? weightPatch(vs, check.routes, want, subsets.primary !== undefined) : [];
  },
  keepWeights(before: unknown, after: unknown, hosts: RouteHosts): JsonPatchOp[] {
    return keepWeightsWith(istioVirtualService, before, after, hosts);
  },
};
