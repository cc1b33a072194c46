// The Gateway API side of routing, pure, as Istio's Gateway API implementation behaves:
// which HTTPRoutes a Gateway accepts (parentRefs, listeners, allowedRoutes, hostnames),
// which route rules serve a request host, in which order their matches are tried (Gateway
// API precedence, as Istio sorts them), whether a backendRef may name a Service in another
// namespace (ReferenceGrant), and whether a request satisfies a match.
//
// Istio merges every rule of every HTTPRoute attached to a Gateway for a hostname into one
// Envoy virtual host, and Envoy picks the virtual host by the request host: an exact domain
// first, then the longest wildcard suffix, then `*`. Within the host, matches are tried in
// Gateway API precedence (Exact path, then the longest PathPrefix, then RegularExpression;
// then a method match, more header matches, more query parameter matches); ties keep the
// order of routes by age (oldest first, then namespace/name) and of rules and matches
// within a route. The simulator's one gateway port stands for every Gateway.

import {
  objectKey,
  type BackendRef,
  type GatewayListener,
  type HTTPRoute,
  type HttpRouteRule,
  type KubeGateway,
  type NamedMatch,
  type ReferenceGrant,
  type RouteMatch,
} from './model.js';
import { GATEWAY_API_GROUP } from './parse-gateway-api.js';

/** The GatewayClasses Istio's gateway controller programs (istio.io/gateway-controller). */
export const ISTIO_GATEWAY_CLASSES: ReadonlySet<string> = new Set(['istio']);
/** Listener protocols an HTTPRoute may attach to. */
const HTTP_PROTOCOLS: ReadonlySet<string> = new Set(['HTTP', 'HTTPS']);
/** Stands for "every host" (a route without hostnames on a listener without a hostname). */
export const ANY_HOST = '*';

// ---- Hostnames ------------------------------------------------------------------------

/** `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`. */
export function wildcardMatches(pattern: string, host: string): boolean {
  if (pattern === ANY_HOST) return true;
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && host.length > suffix.length;
}

/**
 * The hostnames both a listener and a route accept: the more specific of the two when one
 * contains the other, undefined when they are disjoint. An absent listener hostname
 * accepts everything.
 */
export function intersectHostname(listener: string | undefined, route: string): string | undefined {
  if (listener === undefined || listener === ANY_HOST) return route;
  if (route === ANY_HOST) return listener;
  const lWild = listener.startsWith('*.');
  const rWild = route.startsWith('*.');
  if (!lWild && !rWild) return listener === route ? route : undefined;
  if (lWild && !rWild) return wildcardMatches(listener, route) ? route : undefined;
  if (!lWild && rWild) return wildcardMatches(route, listener) ? listener : undefined;
  if (route === listener || route.endsWith(listener.slice(1))) return route;
  if (listener.endsWith(route.slice(1))) return listener;
  return undefined;
}

/** The hosts a route serves through one listener; empty when none. */
export function effectiveHostnames(
  listener: GatewayListener,
  routeHostnames: readonly string[],
): string[] {
  const wanted = routeHostnames.length === 0 ? [ANY_HOST] : routeHostnames;
  const out = new Set<string>();
  for (const h of wanted) {
    const both = intersectHostname(listener.hostname, h);
    if (both !== undefined) out.add(both);
  }
  return [...out];
}

// ---- Attachment -----------------------------------------------------------------------

export interface GatewayRef {
  readonly namespace: string;
  readonly name: string;
}

export interface Attachment {
  readonly gateway: GatewayRef;
  readonly listener: string;
  readonly hostnames: readonly string[];
}

/** What the Gateways make of one HTTPRoute: accepted where it has attachments. */
export interface RouteStatus {
  readonly route: HTTPRoute;
  readonly attachments: readonly Attachment[];
  /** Why a parentRef or listener did not take the route (also set when others did). */
  readonly problems: readonly string[];
}

function listenerRefusal(
  route: HTTPRoute,
  gw: KubeGateway,
  l: GatewayListener,
): string | undefined {
  if (!HTTP_PROTOCOLS.has(l.protocol)) return `protocol ${l.protocol} does not carry HTTPRoutes`;
  if (
    l.allowedKinds &&
    !l.allowedKinds.some((k) => k.group === GATEWAY_API_GROUP && k.kind === 'HTTPRoute')
  ) {
    return 'allowedRoutes.kinds excludes HTTPRoute';
  }
  switch (l.allowedFrom) {
    case 'All':
      return undefined;
    case 'Same':
      return route.namespace === gw.namespace
        ? undefined
        : `allowedRoutes.namespaces.from Same: the route is in namespace ${route.namespace}`;
    case 'Selector':
      return 'allowedRoutes.namespaces.from Selector is not evaluated (the simulator reads no Namespaces)';
  }
}

/** Checks every parentRef against the Gateways, as Istio's controller would accept them. */
export function attachRoute(
  route: HTTPRoute,
  gateways: ReadonlyMap<string, KubeGateway>,
): RouteStatus {
  const attachments: Attachment[] = [];
  const problems: string[] = [];
  if (route.parentRefs.length === 0) problems.push('no parentRefs');
  for (const [i, ref] of route.parentRefs.entries()) {
    const at = `parentRefs[${i}]`;
    if (ref.group !== GATEWAY_API_GROUP || ref.kind !== 'Gateway') {
      problems.push(`${at}: ${ref.kind} parents (mesh routing) are not simulated`);
      continue;
    }
    const key = objectKey(ref.namespace, ref.name);
    const gw = gateways.get(key);
    if (!gw) {
      problems.push(`${at}: Gateway ${key} not found`);
      continue;
    }
    if (!ISTIO_GATEWAY_CLASSES.has(gw.gatewayClassName)) {
      problems.push(
        `${at}: Gateway ${key} has class ${gw.gatewayClassName || '(none)'}, not istio`,
      );
      continue;
    }
    const listeners = gw.listeners.filter(
      (l) =>
        (ref.sectionName === undefined || l.name === ref.sectionName) &&
        (ref.port === undefined || l.port === ref.port),
    );
    if (listeners.length === 0) {
      problems.push(
        `${at}: Gateway ${key} has no listener${ref.sectionName !== undefined ? ` named ${ref.sectionName}` : ''}${ref.port !== undefined ? ` on port ${ref.port}` : ''}`,
      );
      continue;
    }
    for (const l of listeners) {
      const refusal = listenerRefusal(route, gw, l);
      const hostnames = refusal === undefined ? effectiveHostnames(l, route.hostnames) : [];
      if (refusal === undefined && hostnames.length === 0) {
        problems.push(`${at}: listener ${l.name} of ${key} accepts none of the route's hostnames`);
      } else if (refusal !== undefined) {
        problems.push(`${at}: listener ${l.name} of ${key}: ${refusal}`);
      } else {
        attachments.push({
          gateway: { namespace: gw.namespace, name: gw.name },
          listener: l.name,
          hostnames,
        });
      }
    }
  }
  return { route, attachments, problems };
}

// ---- Backends -------------------------------------------------------------------------

export type BackendTarget =
  | { readonly ok: true; readonly serviceKey: string; readonly host: string }
  | { readonly ok: false; readonly reason: string };

/** Whether a ReferenceGrant in the Service's namespace lets HTTPRoutes of `fromNamespace` use it. */
export function referenceGranted(
  grants: Iterable<ReferenceGrant>,
  fromNamespace: string,
  to: { namespace: string; name: string },
): boolean {
  for (const g of grants) {
    if (g.namespace !== to.namespace) continue;
    const fromOk = g.from.some(
      (f) =>
        f.group === GATEWAY_API_GROUP && f.kind === 'HTTPRoute' && f.namespace === fromNamespace,
    );
    const toOk = g.to.some(
      (t) => t.group === '' && t.kind === 'Service' && (t.name === undefined || t.name === to.name),
    );
    if (fromOk && toOk) return true;
  }
  return false;
}

/**
 * The Service a backendRef names, as Istio resolves it; an invalid backend (another kind,
 * no port, another namespace without a ReferenceGrant) is a reason, answered with 500.
 */
export function backendTarget(
  routeNamespace: string,
  ref: BackendRef,
  grants: Iterable<ReferenceGrant>,
): BackendTarget {
  if (ref.group !== '' || ref.kind !== 'Service') {
    return {
      ok: false,
      reason: `unsupported backendRef kind ${ref.group ? `${ref.group}/` : ''}${ref.kind}`,
    };
  }
  if (ref.name === '' || ref.name.includes('.')) {
    return {
      ok: false,
      reason: `backendRef name ${JSON.stringify(ref.name)} is not a Service name`,
    };
  }
  if (ref.port === undefined) return { ok: false, reason: `backendRef ${ref.name} has no port` };
  if (
    ref.namespace !== routeNamespace &&
    !referenceGranted(grants, routeNamespace, { namespace: ref.namespace, name: ref.name })
  ) {
    return {
      ok: false,
      reason: `backendRef ${ref.name}/${ref.namespace} not accessible to an HTTPRoute in namespace ${routeNamespace} (missing a ReferenceGrant?)`,
    };
  }
  return {
    ok: true,
    serviceKey: objectKey(ref.namespace, ref.name),
    host: `${ref.name}.${ref.namespace}.svc.cluster.local`,
  };
}

// ---- Precedence and the host index --------------------------------------------------

/** One match of one rule, ready to be tried in order. */
export interface RuleCandidate {
  readonly route: HTTPRoute;
  readonly ruleIndex: number;
  readonly rule: HttpRouteRule;
  readonly match: RouteMatch;
  /** The Gateway whose proxy serves the route for this host. */
  readonly gateway: GatewayRef;
}

function pathRank(m: RouteMatch): number {
  switch (m.path.type) {
    case 'Exact':
      return 3;
    case 'PathPrefix':
      return 2;
    case 'RegularExpression':
      return 1;
  }
}

/** Istio's sortHTTPRoutes: negative when a goes first. Array.prototype.sort is stable. */
export function comparePrecedence(a: RouteMatch, b: RouteMatch): number {
  const rank = pathRank(b) - pathRank(a);
  if (rank !== 0) return rank;
  const len = b.path.value.length - a.path.value.length;
  if (len !== 0) return len;
  const method = Number(b.method !== undefined) - Number(a.method !== undefined);
  if (method !== 0) return method;
  const headers = b.headers.length - a.headers.length;
  if (headers !== 0) return headers;
  return b.queryParams.length - a.queryParams.length;
}

/** Istio's order of route objects: oldest first, then namespace, then name. */
export function olderRouteFirst(a: HTTPRoute, b: HTTPRoute): number {
  if (a.creationTimestamp !== b.creationTimestamp) {
    if (a.creationTimestamp === '') return 1;
    if (b.creationTimestamp === '') return -1;
    return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
  }
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function candidatesOf(
  routes: readonly { route: HTTPRoute; gateway: GatewayRef }[],
): RuleCandidate[] {
  const out: RuleCandidate[] = [];
  for (const { route, gateway } of routes) {
    for (const [ruleIndex, rule] of route.rules.entries()) {
      for (const match of rule.matches) out.push({ route, ruleIndex, rule, match, gateway });
    }
  }
  return out.sort((a, b) => comparePrecedence(a.match, b.match));
}

export interface HttpRouteIndex {
  /** Every HTTPRoute by `namespace/name`, with what the Gateways made of it. */
  readonly routes: ReadonlyMap<string, RouteStatus>;
  /** Exact hostname → candidates in the order they are tried. */
  readonly exact: ReadonlyMap<string, readonly RuleCandidate[]>;
  /** Wildcard hostnames (`*.example.com` as suffix `.example.com`), longest suffix first. */
  readonly wildcards: readonly {
    readonly suffix: string;
    readonly candidates: readonly RuleCandidate[];
  }[];
  /** Routes that accept every host. */
  readonly anyHost: readonly RuleCandidate[];
  /** An accepted route's own candidates (background load pinned to it). */
  readonly byRoute: ReadonlyMap<string, readonly RuleCandidate[]>;
}

export interface HttpRouteInput {
  readonly httpRoutes: Iterable<HTTPRoute>;
  readonly gateways: Iterable<KubeGateway>;
}

export function buildHttpRouteIndex(input: HttpRouteInput): HttpRouteIndex {
  const gateways = new Map<string, KubeGateway>();
  for (const g of input.gateways) gateways.set(objectKey(g.namespace, g.name), g);
  const sorted = [...input.httpRoutes].sort(olderRouteFirst);
  const routes = new Map<string, RouteStatus>();
  const byHost = new Map<string, { route: HTTPRoute; gateway: GatewayRef }[]>();
  const byRoute = new Map<string, RuleCandidate[]>();
  for (const route of sorted) {
    const status = attachRoute(route, gateways);
    const key = objectKey(route.namespace, route.name);
    routes.set(key, status);
    const first = status.attachments[0];
    if (!first) continue;
    byRoute.set(key, candidatesOf([{ route, gateway: first.gateway }]));
    const seen = new Set<string>();
    for (const a of status.attachments) {
      for (const h of a.hostnames) {
        if (seen.has(h)) continue; // the first Gateway to accept a hostname serves it
        seen.add(h);
        const entries = byHost.get(h) ?? [];
        entries.push({ route, gateway: a.gateway });
        byHost.set(h, entries);
      }
    }
  }
  const exact = new Map<string, RuleCandidate[]>();
  const wildcards: { suffix: string; candidates: RuleCandidate[] }[] = [];
  let anyHost: RuleCandidate[] = [];
  for (const [host, entries] of byHost) {
    const candidates = candidatesOf(entries);
    if (host === ANY_HOST) anyHost = candidates;
    else if (host.startsWith('*.')) wildcards.push({ suffix: host.slice(1), candidates });
    else exact.set(host, candidates);
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length || (a.suffix < b.suffix ? -1 : 1));
  return { routes, exact, wildcards, anyHost, byRoute };
}

/** How specifically a host was matched: exact > wildcard (longer suffix first) > any host. */
export interface HostMatchRank {
  readonly tier: 0 | 1 | 2;
  readonly length: number;
}

export function compareHostRank(a: HostMatchRank, b: HostMatchRank): number {
  return a.tier !== b.tier ? a.tier - b.tier : a.length - b.length;
}

/** The candidates serving a (normalised) request host, like Envoy's virtual host choice. */
export function lookupHttpRouteHost(
  index: HttpRouteIndex,
  host: string,
): { readonly candidates: readonly RuleCandidate[]; readonly rank: HostMatchRank } | undefined {
  const exact = index.exact.get(host);
  if (exact) return { candidates: exact, rank: { tier: 2, length: host.length } };
  for (const w of index.wildcards) {
    if (host.endsWith(w.suffix) && host.length > w.suffix.length) {
      return { candidates: w.candidates, rank: { tier: 1, length: w.suffix.length } };
    }
  }
  if (index.anyHost.length > 0) return { candidates: index.anyHost, rank: { tier: 0, length: 0 } };
  return undefined;
}

// ---- Matching a request ---------------------------------------------------------------

export interface MatchableRequest {
  readonly path: string;
  readonly query: string;
  readonly method: string;
  header(name: string): string | undefined;
}

function valueMatches(m: NamedMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  switch (m.match.kind) {
    case 'exact':
      return value === m.match.value;
    case 'regex':
      return m.match.regex.test(value);
    case 'prefix':
      return value.startsWith(m.match.value);
    case 'present':
      return true;
  }
}

export function pathMatches(m: RouteMatch['path'], path: string): boolean {
  switch (m.type) {
    case 'Exact':
      return path === m.value;
    case 'PathPrefix':
      return m.value === '/' || path === m.value || path.startsWith(`${m.value}/`);
    case 'RegularExpression':
      return m.regex?.test(path) ?? false;
  }
}

export function routeMatchMatches(m: RouteMatch, req: MatchableRequest): boolean {
  if (!pathMatches(m.path, req.path)) return false;
  if (m.method !== undefined && req.method !== m.method) return false;
  if (!m.headers.every((h) => valueMatches(h, req.header(h.name)))) return false;
  if (m.queryParams.length > 0) {
    const params = new URLSearchParams(req.query);
    if (!m.queryParams.every((q) => valueMatches(q, params.get(q.name) ?? undefined))) return false;
  }
  return true;
}

/** The first candidate, in precedence order, whose match the request satisfies. */
export function firstMatch(
  candidates: readonly RuleCandidate[],
  req: MatchableRequest,
): RuleCandidate | undefined {
  return candidates.find((c) => routeMatchMatches(c.match, req));
}
