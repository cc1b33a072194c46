// The admin/metrics port's request handler, transport-free: /metrics, /healthz, /readyz,
// /admin/state (what the simulator believes), and runtime control of background load and
// fault overrides. Bodies are validated here; server.ts only moves bytes.

import type { FaultOverrides } from './faults.js';
import { parseFaultOverride } from './faults.js';
import type { LoadScheduler } from './load.js';
import type { Logger } from './log.js';
import { parseLoadBody } from './load.js';
import { backendTarget } from './gateway-api.js';
import { objectKey, type Deployment } from './model.js';
import { describeHttpRouteRules } from './parse-gateway-api.js';
import type { RoutingTable } from './routing.js';
import { destinationWorkloads, serviceKeyForHost } from './routing.js';
import {
  describeRoutes,
  RESOURCES,
  type InvalidHttpRoute,
  type InvalidVirtualService,
  type MeshStore,
} from './store.js';

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

export interface AdminResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface AdminDeps {
  store: MeshStore;
  overrides: FaultOverrides;
  load: LoadScheduler;
  renderMetrics(): string;
  virtualServiceVersion(): string | undefined;
  /** Version in use per Gateway API resource; null while its CRD is not installed. */
  gatewayApiVersions?(): Readonly<Record<string, string | null>>;
  log: Logger;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function json(status: number, value: unknown): AdminResponse {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(value, null, 2)}\n` };
}

function error(status: number, message: string): AdminResponse {
  return json(status, { error: message });
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (body.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
}

function workloadState(d: Deployment, overrides: FaultOverrides): Record<string, unknown> {
  const override = overrides.get(objectKey(d.namespace, d.name));
  return {
    name: d.name,
    namespace: d.namespace,
    ready: d.readyReplicas > 0,
    readyReplicas: d.readyReplicas,
    replicas: d.replicas,
    image: d.image,
    faults: override ?? d.faults,
    faultSource: override ? 'override' : 'annotations',
  };
}

/** Everything the simulator believes, for tests and debugging. */
export function describeState(
  table: RoutingTable,
  invalid: readonly InvalidVirtualService[],
  overrides: FaultOverrides,
): Record<string, unknown>[] {
  const valid = [...table.virtualServices.values()].map((vs) => ({
    namespace: vs.namespace,
    name: vs.name,
    resourceVersion: vs.resourceVersion,
    valid: true,
    hosts: vs.hosts,
    weights: describeRoutes(vs),
    routes: vs.http.map((route, index) => ({
      index,
      ...(route.name !== undefined ? { name: route.name } : {}),
      matchAll: route.matches.length === 0,
      matches: route.matches.length,
      destinations: route.destinations.map((dest) => {
        const key = serviceKeyForHost(dest.host, vs.namespace);
        const service = key === undefined ? undefined : table.services.get(key);
        // Narrowed to the subset's pods; undefined when no DestinationRule defines it.
        const subsetWorkloads =
          key === undefined ? [] : destinationWorkloads(table, key, dest.subset);
        const workloads = subsetWorkloads ?? [];
        return {
          host: dest.host,
          weight: dest.weight,
          ...(dest.subset !== undefined ? { subset: dest.subset } : {}),
          ...(subsetWorkloads === undefined ? { subsetDefined: false } : {}),
          service: service ? key : null,
          healthy: workloads.some((w) => w.readyReplicas > 0),
          workloads: workloads.map((w) => workloadState(w, overrides)),
        };
      }),
    })),
  }));
  const broken = invalid.map((i) => ({
    namespace: i.meta.namespace,
    name: i.meta.name,
    resourceVersion: i.meta.resourceVersion,
    valid: false,
    error: i.error,
  }));
  return [...valid, ...broken].sort((a, b) =>
    objectKey(a.namespace, a.name).localeCompare(objectKey(b.namespace, b.name)),
  );
}

/** Every HTTPRoute: hostnames, the Gateways that accepted it (or why none), rules and backends. */
export function describeHttpRoutes(
  table: RoutingTable,
  invalid: readonly InvalidHttpRoute[],
  overrides: FaultOverrides,
): Record<string, unknown>[] {
  const valid = [...table.httpRoutes.routes.values()].map(({ route, attachments, problems }) => ({
    namespace: route.namespace,
    name: route.name,
    resourceVersion: route.resourceVersion,
    valid: true,
    accepted: attachments.length > 0,
    hostnames: route.hostnames,
    attachments: attachments.map((a) => ({
      gateway: objectKey(a.gateway.namespace, a.gateway.name),
      listener: a.listener,
      hostnames: a.hostnames,
    })),
    ...(problems.length > 0 ? { problems } : {}),
    weights: describeHttpRouteRules(route),
    rules: route.rules.map((rule, index) => ({
      index,
      ...(rule.name !== undefined ? { name: rule.name } : {}),
      matches: rule.matches.map((m) => ({
        path: `${m.path.type} ${m.path.value}`,
        ...(m.method !== undefined ? { method: m.method } : {}),
        headers: m.headers.length,
        queryParams: m.queryParams.length,
      })),
      ...(rule.unsupported !== undefined ? { unsupported: rule.unsupported } : {}),
      backendRefs: rule.backendRefs.map((ref) => {
        const target = backendTarget(route.namespace, ref, table.referenceGrants);
        const key = target.ok ? target.serviceKey : undefined;
        const service = key === undefined ? undefined : table.services.get(key);
        const workloads = (key === undefined ? undefined : table.workloadsByService.get(key)) ?? [];
        return {
          name: ref.name,
          namespace: ref.namespace,
          ...(ref.kind !== 'Service' || ref.group !== ''
            ? { group: ref.group, kind: ref.kind }
            : {}),
          weight: ref.weight,
          service: service ? key : null,
          ...(target.ok ? {} : { invalid: target.reason }),
          healthy: workloads.some((w) => w.readyReplicas > 0),
          workloads: workloads.map((w) => workloadState(w, overrides)),
        };
      }),
    })),
  }));
  const broken = invalid.map((i) => ({
    namespace: i.meta.namespace,
    name: i.meta.name,
    resourceVersion: i.meta.resourceVersion,
    valid: false,
    error: i.error,
  }));
  return [...valid, ...broken].sort((a, b) =>
    objectKey(a.namespace, a.name).localeCompare(objectKey(b.namespace, b.name)),
  );
}

/** `/admin/{kind}/{namespace}/{name}` → key, or undefined. */
function keyFrom(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const parts = path.slice(prefix.length).split('/');
  if (parts.length !== 2 || parts.some((p) => p === '')) return undefined;
  const [ns, name] = parts.map((p) => decodeURIComponent(p));
  return ns === undefined || name === undefined ? undefined : objectKey(ns, name);
}

export function handleAdmin(deps: AdminDeps, req: AdminRequest): AdminResponse {
  const { method, path } = req;
  if (path === '/metrics' && method === 'GET') {
    return {
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: deps.renderMetrics(),
    };
  }
  if (path === '/healthz' && method === 'GET') return json(200, { status: 'OK' });
  if (path === '/readyz' && method === 'GET') {
    const pending = RESOURCES.filter((r) => !deps.store.synced(r));
    return pending.length === 0
      ? json(200, { status: 'OK' })
      : json(503, { status: 'syncing', pending });
  }
  if (path === '/admin/state' && method === 'GET') {
    const table = deps.store.routingTable();
    return json(200, {
      synced: Object.fromEntries(RESOURCES.map((r) => [r, deps.store.synced(r)])),
      virtualServiceVersion: deps.virtualServiceVersion() ?? null,
      virtualServices: describeState(table, deps.store.invalidVirtualServices(), deps.overrides),
      gatewayApiVersions: deps.gatewayApiVersions?.() ?? null,
      httpRoutes: describeHttpRoutes(table, deps.store.invalidHttpRoutes(), deps.overrides),
      load: deps.load.list(),
      faultOverrides: Object.fromEntries(deps.overrides.entries()),
    });
  }
  if (path === '/admin/load' && method === 'GET') return json(200, deps.load.list());
  if (path === '/admin/faults' && method === 'GET') {
    return json(200, Object.fromEntries(deps.overrides.entries()));
  }

  const loadKey = keyFrom(path, '/admin/load/');
  if (loadKey !== undefined) {
    if (method === 'DELETE') {
      return deps.load.remove(loadKey)
        ? json(200, { virtualService: loadKey, rps: 0 })
        : error(404, `no background load for ${loadKey}`);
    }
    if (method !== 'PUT' && method !== 'POST') return error(405, 'use PUT or DELETE');
    const body = parseJson(req.body);
    if (!body.ok) return error(400, body.error);
    const spec = parseLoadBody(body.value);
    if (!spec.ok) return error(400, spec.error);
    deps.load.set(loadKey, spec.value);
    return json(200, { virtualService: loadKey, ...spec.value });
  }

  const faultKey = keyFrom(path, '/admin/faults/');
  if (faultKey !== undefined) {
    if (method === 'DELETE') {
      if (!deps.overrides.delete(faultKey)) return error(404, `no fault override for ${faultKey}`);
      deps.log.info('fault override cleared', { workload: faultKey });
      return json(200, { workload: faultKey, override: null });
    }
    if (method !== 'PUT' && method !== 'POST') return error(405, 'use PUT or DELETE');
    const body = parseJson(req.body);
    if (!body.ok) return error(400, body.error);
    const profile = parseFaultOverride(body.value);
    if (!profile.ok) return error(400, profile.error);
    deps.overrides.set(faultKey, profile.value);
    deps.log.info('fault override set', { workload: faultKey, faults: profile.value });
    return json(200, { workload: faultKey, override: profile.value });
  }
  return error(404, `no such endpoint: ${method} ${path}`);
}
