// The router, pure: from the cached objects (a RoutingTable) and one request to a
// decision — which VirtualService, which http route, which weighted destination, which
// Service and Deployment, or why none. No I/O, no clocks; randomness comes in as `draw`.

import {
  objectKey,
  type Deployment,
  type HttpMatch,
  type NamedMatch,
  type RouteDestination,
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
}

export interface RoutingInput {
  readonly virtualServices: Iterable<VirtualService>;
  readonly services: Iterable<Service>;
  readonly deployments: Iterable<Deployment>;
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
  const host = normaliseHost(rawHost);
  const exact = table.hostIndex.get(host);
  if (exact) return exact;
  for (const w of table.wildcards) {
    if (w.suffix === '' || (host.endsWith(w.suffix) && host.length > w.suffix.length)) return w.vs;
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
  | { readonly kind: 'no-route'; readonly reason: string; readonly virtualService?: VirtualService }
  | {
      readonly kind: 'unavailable';
      readonly flag: UnavailableFlag;
      readonly reason: string;
      readonly virtualService: VirtualService;
      readonly routeIndex: number;
      readonly destination: RouteDestination;
      readonly service?: Service;
      /** The workload the destination reporter attributes the 503 to, if any exists. */
      readonly workload?: Deployment;
    }
  | {
      readonly kind: 'upstream';
      readonly virtualService: VirtualService;
      readonly routeIndex: number;
      readonly destination: RouteDestination;
      readonly service: Service;
      readonly workload: Deployment;
      /** Which ready replica answers, 0-based. */
      readonly replica: number;
    };

/** Index of the destination chosen for r in [0, 1); weight-0 destinations never win. */
export function pickWeighted(weights: readonly number[], r: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
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
  const workloads = table.workloadsByService.get(key) ?? [];
  if (destination.subset !== undefined) {
    // Subsets live in DestinationRules, which the simulator does not read.
    return {
      kind: 'unavailable',
      flag: 'NC',
      reason: `subset ${destination.subset} is not supported (no DestinationRules)`,
      service,
    };
  }
  const first = workloads[0];
  if (first === undefined) {
    return { kind: 'unavailable', flag: 'UH', reason: `no workload selected by ${key}`, service };
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
  let index = Math.min(total - 1, Math.floor(draw(`svc:${key}`) * total));
  for (const d of ready) {
    if (index < d.readyReplicas) return { kind: 'ok', service, workload: d, replica: index };
    index -= d.readyReplicas;
  }
  return { kind: 'ok', service, workload: first, replica: 0 };
}

export function decide(table: RoutingTable, req: RouteRequest, draw: Draw): RouteDecision {
  const vs =
    req.virtualService !== undefined
      ? table.virtualServices.get(req.virtualService)
      : lookupHost(table, req.host);
  if (!vs) return { kind: 'no-route', reason: `no VirtualService for host ${req.host}` };
  const routeIndex = vs.http.findIndex(
    (r) => r.matches.length === 0 || r.matches.some((m) => requestMatches(m, req)),
  );
  const route = vs.http[routeIndex];
  if (!route) return { kind: 'no-route', reason: 'no http route matched', virtualService: vs };
  if (route.destinations.length === 0) {
    return {
      kind: 'no-route',
      reason: 'redirect/directResponse not supported',
      virtualService: vs,
    };
  }
  const vsKey = objectKey(vs.namespace, vs.name);
  const picked = pickWeighted(
    route.destinations.map((d) => d.weight),
    draw(`vs:${vsKey}:${routeIndex}`),
  );
  const destination = route.destinations[picked];
  if (!destination) {
    return { kind: 'no-route', reason: 'every destination has weight 0', virtualService: vs };
  }
  const resolved = resolveDestination(table, vs.namespace, destination, draw);
  if (resolved.kind === 'unavailable') {
    return {
      kind: 'unavailable',
      flag: resolved.flag,
      reason: resolved.reason,
      virtualService: vs,
      routeIndex,
      destination,
      ...(resolved.service ? { service: resolved.service } : {}),
      ...(resolved.workload ? { workload: resolved.workload } : {}),
    };
  }
  return {
    kind: 'upstream',
    virtualService: vs,
    routeIndex,
    destination,
    service: resolved.service,
    workload: resolved.workload,
    replica: resolved.replica,
  };
}
