// Reading and editing the weights of the VirtualService routes that split traffic
// between a rollout's primary and canary hosts. Pure: no I/O.

import type { HttpRoute, VirtualService } from './kube/objects.js';

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** Expands a destination host to its FQDN, relative to the VirtualService's namespace. */
export function fqdn(host: string, namespace: string): string {
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

export interface SplitRoute {
  /** Index in spec.http. */
  index: number;
  primaryIndex: number;
  canaryIndex: number;
}

export interface RouteWeights {
  primary: number;
  canary: number;
}

export type RouteCheck =
  | { ok: true; routes: SplitRoute[]; weights: RouteWeights; consistent: boolean }
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
  const weightsOf = (r: SplitRoute): RouteWeights => {
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
  want: RouteWeights,
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

/** "70/30" → weights; undefined when absent or malformed. */
export function parseWeightsAnnotation(value: string | undefined): RouteWeights | undefined {
  const m = value === undefined ? null : /^(\d{1,3})\/(\d{1,3})$/.exec(value);
  if (!m) return undefined;
  return { primary: Number(m[1]), canary: Number(m[2]) };
}

/**
 * Operations recording the weights Steerer writes in an annotation of the
 * VirtualService, so a later pass (even after a restart) can tell its own pending
 * change from one made by someone else.
 */
export function weightAnnotationOps(
  vs: VirtualService,
  key: string,
  want: RouteWeights,
): JsonPatchOp[] {
  const value = `${want.primary}/${want.canary}`;
  const annotations = vs.metadata.annotations;
  if (annotations?.[key] === value) return [];
  if (!annotations) return [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }];
  return [
    {
      op: 'add',
      path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      value,
    },
  ];
}
