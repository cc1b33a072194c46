// The router, pure: from the cached objects (a RoutingTable) and one request to a
// decision — which VirtualService or HTTPRoute (gateway-api.ts), which route or rule,
// which weighted destination, which Service (and DestinationRule subset) and Deployment,
// or why none. No I/O, no clocks; randomness comes in as `draw`.

import {
  backendTarget,
  buildHttpRouteIndex,
  compareHostRank,
  firstMatch,
  lookupHttpRouteHost,
  type HostMatchRank,
  type HttpRouteIndex,
  type RuleCandidate,
} from './gateway-api.js';
import { findSubset, indexDestinationRules } from './destination-rules.js';
import {
  objectKey,
  type DestinationRule,
  type Deployment,
  type HTTPRoute,
  type HttpMatch,
  type KubeGateway,
  type NamedMatch,
  type ReferenceGrant,
  type RouteDestination,
  type RouteVia,
  type Service,
  type StringMatch,
  type VirtualService,
} from './model.js';

const CLUSTER_DOMAIN = 'svc.cluster.local';

export interface RoutingTable {
  /** Valid VirtualServices by `namespace/name`. */
  readonly virtualServices: ReadonlyMap<string, VirtualService>;
  /** Exact request host (and aliases of Kubernetes service hosts) → VirtualService. */
  readonly hostIndex: ReadonlyMap<string, VirtualService>;
  /** Wildcard hosts, most specific first; suffix '' stands for `*`. */
  readonly wildcards: readonly { readonly suffix: string; readonly vs: VirtualService }[];
  readonly services: ReadonlyMap<string, Service>;
  readonly deployments: ReadonlyMap<string, Deployment>;
  /** Service key → Deployments in its namespace whose pod labels match its selector. */
  readonly workloadsByService: ReadonlyMap<string, readonly Deployment[]>;
  /** Service key → the DestinationRules whose host names it, oldest first (subsets). */
  readonly destinationRules: ReadonlyMap<string, readonly DestinationRule[]>;
  /** Gateway API: HTTPRoutes, what the Gateways made of them, and the host index. */
  readonly httpRoutes: HttpRouteIndex;
  readonly referenceGrants: readonly ReferenceGrant[];
}

export interface RoutingInput {
  readonly virtualServices: Iterable<VirtualService>;
  readonly services: Iterable<Service>;
  readonly deployments: Iterable<Deployment>;
  /** Istio DestinationRules (subset routing); absent: none. */
  readonly destinationRules?: Iterable<DestinationRule>;
  /** Gateway API objects; absent when their CRDs are not installed. */
  readonly httpRoutes?: Iterable<HTTPRoute>;
  readonly gateways?: Iterable<KubeGateway>;
  readonly referenceGrants?: Iterable<ReferenceGrant>;
}

/** Istio's order for conflicting rules: oldest first, then by namespace/name. */
function olderFirst(a: VirtualService, b: VirtualService): number {
  if (a.creationTimestamp !== b.creationTimestamp) {
    if (a.creationTimestamp === '') return 1;
    if (b.creationTimestamp === '') return -1;
    return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
  }
  return objectKey(a.namespace, a.name).localeCompare(objectKey(b.namespace, b.name));
}

/** A VirtualService host as the set of request hosts it answers, with a priority tier. */
export function hostAliases(host: string, namespace: string): { host: string; tier: number }[] {
  const out = [{ host, tier: 0 }];
  const fqdn = host.includes('.') ? host : `${host}.${namespace}.${CLUSTER_DOMAIN}`;
  if (!fqdn.endsWith(`.${CLUSTER_DOMAIN}`)) return out;
  const [name, ns] = fqdn.split('.');
  if (name === undefined || ns === undefined) return out;
  for (const alias of [fqdn, `${name}.${ns}.svc`, `${name}.${ns}`, name]) {
    if (alias !== host) out.push({ host: alias, tier: 1 });
  }
  return out;
}

export function selectorMatches(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function buildRoutingTable(input: RoutingInput): RoutingTable {
  const vsList = [...input.virtualServices].sort(olderFirst);
  const virtualServices = new Map(vsList.map((vs) => [objectKey(vs.namespace, vs.name), vs]));
  const best = new Map<string, { vs: VirtualService; tier: number }>();
  const wildcards: { suffix: string; vs: VirtualService }[] = [];
  for (const vs of vsList) {
    for (const host of vs.hosts) {
      if (host.startsWith('*')) {
        wildcards.push({ suffix: host.slice(1), vs });
        continue;
      }
      for (const alias of hostAliases(host, vs.namespace)) {
        const current = best.get(alias.host);
        // vsList is sorted, so on equal tiers the first (oldest) VirtualService wins.
        if (!current || alias.tier < current.tier) best.set(alias.host, { vs, tier: alias.tier });
      }
    }
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);

  const services = new Map<string, Service>();
  for (const s of input.services) services.set(objectKey(s.namespace, s.name), s);
  const deployments = new Map<string, Deployment>();
  const byNamespace = new Map<string, Deployment[]>();
  for (const d of input.deployments) {
    deployments.set(objectKey(d.namespace, d.name), d);
    const list = byNamespace.get(d.namespace) ?? [];
    list.push(d);
    byNamespace.set(d.namespace, list);
  }
  const workloadsByService = new Map<string, Deployment[]>();
  for (const [key, svc] of services) {
    const selector = svc.selector;
    if (!selector) continue;
    const matching = (byNamespace.get(svc.namespace) ?? [])
      .filter((d) => selectorMatches(selector, d.podLabels))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (matching.length > 0) workloadsByService.set(key, matching);
  }
  return {
    virtualServices,
    hostIndex: new Map([...best].map(([h, v]) => [h, v.vs])),
    wildcards,
    services,
    deployments,
    workloadsByService,
    destinationRules: indexDestinationRules(input.destinationRules ?? [], serviceKeyForHost),
    httpRoutes: buildHttpRouteIndex({
      httpRoutes: input.httpRoutes ?? [],
      gateways: input.gateways ?? [],
    }),
    referenceGrants: [...(input.referenceGrants ?? [])],
  };
}

/** Lower-case, without port or trailing dot (handles `[::1]:8080`). */
export function normaliseHost(raw: string): string {
  let host = raw.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

export function lookupHost(table: RoutingTable, rawHost: string): VirtualService | undefined {
  return lookupHostRanked(table, normaliseHost(rawHost))?.vs;
}

/** The VirtualService for a normalised host, and how specifically its hosts matched. */
export function lookupHostRanked(
  table: RoutingTable,
  host: string,
): { readonly vs: VirtualService; readonly rank: HostMatchRank } | undefined {
  const exact = table.hostIndex.get(host);
  if (exact) return { vs: exact, rank: { tier: 2, length: host.length } };
  for (const w of table.wildcards) {
    if (w.suffix === '') return { vs: w.vs, rank: { tier: 0, length: 0 } };
    if (host.endsWith(w.suffix) && host.length > w.suffix.length) {
      return { vs: w.vs, rank: { tier: 1, length: w.suffix.length } };
    }
  }
  return undefined;
}

/** Destination host → Service key; short names are relative to the VirtualService. */
export function serviceKeyForHost(host: string, vsNamespace: string): string | undefined {
  const parts = host.toLowerCase().split('.');
  const [name, ns] = parts;
  if (name === undefined || name === '') return undefined;
  if (parts.length === 1) return objectKey(vsNamespace, name);
  if (ns === undefined) return undefined;
  const rest = parts.slice(2).join('.');
  if (rest === '' || rest === 'svc' || rest === CLUSTER_DOMAIN) return objectKey(ns, name);
  return undefined;
}

// ---- Matching -------------------------------------------------------------------------

export interface RouteRequest {
  readonly host: string;
  /** Path without the query string. */
  readonly path: string;
  /** Raw query string without '?'. */
  readonly query: string;
  readonly method: string;
  /** Header value by lower-case name. */
  header(name: string): string | undefined;
  /** Routes via this VirtualService (`namespace/name`) instead of looking up the host. */
  readonly virtualService?: string;
  /** Routes via this HTTPRoute's own rules (`namespace/name`) instead of looking up the host. */
  readonly httpRoute?: string;
}

function stringMatches(m: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  switch (m.kind) {
    case 'present':
      return true;
    case 'exact':
      return ignoreCase ? value.toLowerCase() === m.value.toLowerCase() : value === m.value;
    case 'prefix':
      return ignoreCase
        ? value.toLowerCase().startsWith(m.value.toLowerCase())
        : value.startsWith(m.value);
    case 'regex':
      return m.regex.test(value);
  }
}

function namedMatches(
  list: readonly NamedMatch[],
  lookup: (name: string) => string | undefined,
  negate: boolean,
): boolean {
  return list.every((n) => stringMatches(n.match, lookup(n.name)) !== negate);
}

export function requestMatches(m: HttpMatch, req: RouteRequest): boolean {
  if (m.uri && !stringMatches(m.uri, req.path, m.ignoreUriCase)) return false;
  if (m.method && !stringMatches(m.method, req.method)) return false;
  if (m.authority && !stringMatches(m.authority, normaliseHost(req.host))) return false;
  if (!namedMatches(m.headers, (n) => req.header(n), false)) return false;
  if (!namedMatches(m.withoutHeaders, (n) => req.header(n), true)) return false;
  if (m.queryParams.length > 0) {
    const params = new URLSearchParams(req.query);
    if (!namedMatches(m.queryParams, (n) => params.get(n) ?? undefined, false)) return false;
  }
  return true;
}

// ---- Decision -------------------------------------------------------------------------

/** Returns a number in [0, 1) for a named stream (see sequence.ts). */
export type Draw = (stream: string) => number;

export type UnavailableFlag = 'UH' | 'NC';

export type RouteDecision =
  | { readonly kind: 'no-route'; readonly reason: string; readonly via?: RouteVia }
  | {
      /** The gateway answers by itself (an HTTPRoute rule whose backends all weigh 0). */
      readonly kind: 'direct';
      readonly status: number;
      readonly reason: string;
      readonly via: RouteVia;
    }
  | {
      readonly kind: 'unavailable';
      /** 503 (no healthy upstream, no cluster), or 500 for an invalid HTTPRoute backendRef. */
      readonly status: number;
      readonly flag: UnavailableFlag;
      readonly reason: string;
      readonly via: RouteVia;
      /** Index of the VirtualService http route or of the HTTPRoute rule. */
      readonly routeIndex: number;
      readonly destination: RouteDestination;
      readonly service?: Service;
      /** The workload the destination reporter attributes the 503 to, if any exists. */
      readonly workload?: Deployment;
    }
  | {
      readonly kind: 'upstream';
      readonly via: RouteVia;
      readonly routeIndex: number;
      readonly destination: RouteDestination;
      readonly service: Service;
      readonly workload: Deployment;
      /** Which ready replica answers, 0-based. */
      readonly replica: number;
    };

/** Index of the destination chosen for r in [0, 1); weight-0 destinations never win. */
export function pickWeighted(weights: readonly number[], r: number): number {
  const total = weights.reduce((a, b) => a + Math.max(0, b), 0);
  const target = r * total;
  let cumulative = 0;
  let last = -1;
  for (const [i, w] of weights.entries()) {
    if (w <= 0) continue;
    cumulative += w;
    last = i;
    if (target < cumulative) return i;
  }
  return last;
}

export type Resolution =
  | { kind: 'ok'; service: Service; workload: Deployment; replica: number }
  | {
      kind: 'unavailable';
      flag: UnavailableFlag;
      reason: string;
      service?: Service;
      workload?: Deployment;
    };

/**
 * The Deployments behind a Service (by key), narrowed to a DestinationRule subset's labels
 * when the destination names one; undefined when no rule of the Service defines it.
 */
export function destinationWorkloads(
  table: RoutingTable,
  key: string,
  subset: string | undefined,
): readonly Deployment[] | undefined {
  const workloads = table.workloadsByService.get(key) ?? [];
  if (subset === undefined) return workloads;
  const def = findSubset(table.destinationRules.get(key), subset);
  if (!def) return undefined;
  return workloads.filter((d) => selectorMatches(def.labels, d.podLabels));
}

/** Destination → Service → ready Deployment (weighted by ready replicas) and replica. */
export function resolveDestination(
  table: RoutingTable,
  vsNamespace: string,
  destination: RouteDestination,
  draw: Draw,
): Resolution {
  const key = serviceKeyForHost(destination.host, vsNamespace);
  const service = key === undefined ? undefined : table.services.get(key);
  if (key === undefined || !service) {
    return { kind: 'unavailable', flag: 'UH', reason: `service ${destination.host} not found` };
  }
  const selected = destinationWorkloads(table, key, destination.subset);
  if (selected === undefined) {
    // Envoy has no cluster for a subset that no DestinationRule of the host defines.
    return {
      kind: 'unavailable',
      flag: 'NC',
      reason: `no DestinationRule for ${key} defines subset ${destination.subset ?? ''}`,
      service,
    };
  }
  const workloads = selected;
  const first = workloads[0];
  if (first === undefined) {
    const what = destination.subset === undefined ? key : `${key} subset ${destination.subset}`;
    return { kind: 'unavailable', flag: 'UH', reason: `no workload selected by ${what}`, service };
  }
  const ready = workloads.filter((d) => d.readyReplicas > 0);
  if (ready.length === 0) {
    return {
      kind: 'unavailable',
      flag: 'UH',
      reason: `no ready replicas behind ${key}`,
      service,
      workload: first,
    };
  }
  const total = ready.reduce((sum, d) => sum + d.readyReplicas, 0);
  const stream = destination.subset === undefined ? key : `${key}/${destination.subset}`;
  let index = Math.min(total - 1, Math.floor(draw(`svc:${stream}`) * total));
  for (const d of ready) {
    if (index < d.readyReplicas) return { kind: 'ok', service, workload: d, replica: index };
    index -= d.readyReplicas;
  }
  return { kind: 'ok', service, workload: first, replica: 0 };
}

/** A resolved destination as a decision (the same for VirtualServices and HTTPRoutes). */
function fromResolution(
  resolved: Resolution,
  via: RouteVia,
  routeIndex: number,
  destination: RouteDestination,
): RouteDecision {
  if (resolved.kind === 'unavailable') {
    return {
      kind: 'unavailable',
      status: 503,
      flag: resolved.flag,
      reason: resolved.reason,
      via,
      routeIndex,
      destination,
      ...(resolved.service ? { service: resolved.service } : {}),
      ...(resolved.workload ? { workload: resolved.workload } : {}),
    };
  }
  return {
    kind: 'upstream',
    via,
    routeIndex,
    destination,
    service: resolved.service,
    workload: resolved.workload,
    replica: resolved.replica,
  };
}

function decideVirtualService(
  table: RoutingTable,
  vs: VirtualService,
  req: RouteRequest,
  draw: Draw,
): RouteDecision {
  const via: RouteVia = { kind: 'VirtualService', namespace: vs.namespace, name: vs.name };
  const routeIndex = vs.http.findIndex(
    (r) => r.matches.length === 0 || r.matches.some((m) => requestMatches(m, req)),
  );
  const route = vs.http[routeIndex];
  if (!route) return { kind: 'no-route', reason: 'no http route matched', via };
  if (route.destinations.length === 0) {
    return { kind: 'no-route', reason: 'redirect/directResponse not supported', via };
  }
  const vsKey = objectKey(vs.namespace, vs.name);
  const picked = pickWeighted(
    route.destinations.map((d) => d.weight),
    draw(`vs:${vsKey}:${routeIndex}`),
  );
  const destination = route.destinations[picked];
  if (!destination) return { kind: 'no-route', reason: 'every destination has weight 0', via };
  return fromResolution(
    resolveDestination(table, vs.namespace, destination, draw),
    via,
    routeIndex,
    destination,
  );
}

/**
 * An HTTPRoute rule, as Istio programs it: the first match in precedence order wins; a
 * backendRef is chosen by weight (absent 1, 0 never); a rule whose weights are all 0 (or
 * that has no backendRefs) answers 500 itself; an invalid backendRef (not a Service, no
 * port, another namespace without a ReferenceGrant, no such Service) gets 500 with NC for
 * its share; a valid one resolves to its workload exactly like a VirtualService destination.
 */
function decideHttpRoute(
  table: RoutingTable,
  candidates: readonly RuleCandidate[],
  req: RouteRequest,
  draw: Draw,
): RouteDecision {
  const hit = firstMatch(candidates, req);
  if (!hit) return { kind: 'no-route', reason: 'no HTTPRoute rule matched' };
  const { route, rule, ruleIndex } = hit;
  const via: RouteVia = {
    kind: 'HTTPRoute',
    namespace: route.namespace,
    name: route.name,
    gateway: hit.gateway,
  };
  if (rule.unsupported !== undefined) return { kind: 'no-route', reason: rule.unsupported, via };
  const weights = rule.backendRefs.map((b) => b.weight);
  const picked = pickWeighted(
    weights,
    draw(`hr:${objectKey(route.namespace, route.name)}:${ruleIndex}`),
  );
  const ref = rule.backendRefs[picked];
  if (!ref) {
    return { kind: 'direct', status: 500, reason: 'no backendRef with a weight above 0', via };
  }
  const target = backendTarget(route.namespace, ref, table.referenceGrants);
  const destination: RouteDestination = {
    host: target.ok ? target.host : `${ref.name}.${ref.namespace}.svc.cluster.local`,
    ...(ref.port !== undefined ? { port: ref.port } : {}),
    weight: ref.weight,
  };
  const invalid = (reason: string): RouteDecision => ({
    kind: 'unavailable',
    status: 500,
    flag: 'NC',
    reason,
    via,
    routeIndex: ruleIndex,
    destination,
  });
  if (!target.ok) return invalid(target.reason);
  if (!table.services.has(target.serviceKey)) return invalid(`backend(${target.host}) not found`);
  return fromResolution(
    resolveDestination(table, route.namespace, destination, draw),
    via,
    ruleIndex,
    destination,
  );
}

/**
 * Routes one request. Pinned requests (background load) use their VirtualService or
 * HTTPRoute. Otherwise the host picks: the most specific host match across VirtualServices
 * and HTTPRoutes wins (exact, then the longest wildcard, then a catch-all); on a tie the
 * VirtualService wins.
 */
export function decide(table: RoutingTable, req: RouteRequest, draw: Draw): RouteDecision {
  if (req.httpRoute !== undefined) {
    const own = table.httpRoutes.byRoute.get(req.httpRoute);
    if (!own) {
      return {
        kind: 'no-route',
        reason: `HTTPRoute ${req.httpRoute} is not accepted by a Gateway`,
      };
    }
    return decideHttpRoute(table, own, req, draw);
  }
  if (req.virtualService !== undefined) {
    const vs = table.virtualServices.get(req.virtualService);
    if (!vs) return { kind: 'no-route', reason: `no VirtualService for host ${req.host}` };
    return decideVirtualService(table, vs, req, draw);
  }
  const host = normaliseHost(req.host);
  const vsHit = lookupHostRanked(table, host);
  const hrHit = lookupHttpRouteHost(table.httpRoutes, host);
  if (hrHit && (!vsHit || compareHostRank(hrHit.rank, vsHit.rank) > 0)) {
    return decideHttpRoute(table, hrHit.candidates, req, draw);
  }
  if (!vsHit) {
    return { kind: 'no-route', reason: `no VirtualService or HTTPRoute for host ${req.host}` };
  }
  return decideVirtualService(table, vsHit.vs, req, draw);
}
