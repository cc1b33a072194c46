// The Istio VirtualService router: a VirtualService whose http routes send traffic to
// exactly the primary and canary hosts (the seed's pattern). Reading and editing the
// weights of those routes is pure; nothing else in the object is ever touched.

import { fqdn } from '../hosts.js';
import { isJsonMap } from '../json.js';
import type { JsonPatchOp } from '../json.js';
import type { JsonValue, KubeObject, ObjectMeta } from '../objects.js';
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

/**
 * Finds the http routes whose destinations are exactly the primary and canary hosts.
 * Every such route is edited together, so header-matched and default routes agree.
 */
export function checkRoutes(
  vs: VirtualService,
  primaryHost: string,
  canaryHost: string,
): RouteCheck {
  const ns = vs.metadata.namespace ?? 'default';
  const name = `${vs.metadata.name}.${ns}`;
  const p = fqdn(primaryHost, ns);
  const c = fqdn(canaryHost, ns);
  if (p === c) {
    return {
      ok: false,
      message: `the primary host ${primaryHost} and the canary host ${canaryHost} name the same Service ${p}`,
    };
  }
  const http = vs.spec.http ?? [];
  if (http.length === 0) return { ok: false, message: `VirtualService ${name} has no http routes` };
  const routes: SplitRoute[] = [];
  let sawPrimary = false;
  let sawCanary = false;
  for (const [index, route] of http.entries()) {
    const hosts = (route.route ?? []).map((d) => fqdn(d.destination.host, ns));
    const primaryIndex = hosts.indexOf(p);
    const canaryIndex = hosts.indexOf(c);
    sawPrimary ||= primaryIndex >= 0;
    sawCanary ||= canaryIndex >= 0;
    if (primaryIndex < 0 || canaryIndex < 0) continue;
    const others = hosts.filter((h) => h !== p && h !== c);
    if (others.length > 0) {
      return {
        ok: false,
        message: `VirtualService ${name} route ${index} also sends traffic to ${others.join(', ')}; the route must have only the ${primaryHost} and ${canaryHost} destinations`,
      };
    }
    if (hosts.length !== 2) {
      return {
        ok: false,
        message: `VirtualService ${name} route ${index} has ${hosts.length} destinations; the route must have exactly one ${primaryHost} and one ${canaryHost} destination`,
      };
    }
    routes.push({ index, primaryIndex, canaryIndex });
  }
  if (routes.length === 0) {
    const missing = [!sawPrimary && primaryHost, !sawCanary && canaryHost]
      .filter(Boolean)
      .join(' and ');
    return {
      ok: false,
      message: missing
        ? `VirtualService ${name} has no route to ${missing}`
        : `VirtualService ${name} has no single http route with both ${primaryHost} and ${canaryHost} as destinations`,
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

export const istioVirtualService: Router = {
  kind: 'VirtualService',
  group: ISTIO_GROUP,
  versions: VIRTUAL_SERVICE_VERSIONS,
  resource: 'virtualservices',
  install: "install Istio's CRDs (networking.istio.io)",
  specField: 'virtualService',
  read(route: unknown, hosts: RouteHosts): RouteState {
    const vs = virtualServiceView(route, hosts.namespace);
    const check = checkRoutes(vs, hosts.primary, hosts.canary);
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
    const check = checkRoutes(vs, hosts.primary, hosts.canary);
    return check.ok ? weightPatch(vs, check.routes, want) : [];
  },
  keepWeights(before: unknown, after: unknown, hosts: RouteHosts): JsonPatchOp[] {
    return keepWeightsWith(istioVirtualService, before, after, hosts);
  },
};
