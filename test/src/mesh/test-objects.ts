// Raw Kubernetes objects (as a watch would deliver them) for unit tests, shaped like the
// seed fixtures in test/fixtures/seed: podinfo (primary) and podinfo-canary in `test`.

import type { Deployment, Service, VirtualService } from './model.js';
import { parseDeployment, parseService, parseVirtualService } from './parse.js';
import { buildRoutingTable, type RouteRequest, type RoutingTable } from './routing.js';

export interface DestinationSpec {
  host: string;
  weight?: number;
  subset?: string;
}

export function rawVirtualService(options: {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  hosts?: string[];
  http?: unknown[];
  destinations?: DestinationSpec[];
}): Record<string, unknown> {
  const destinations = options.destinations ?? [
    { host: 'podinfo', weight: 100 },
    { host: 'podinfo-canary', weight: 0 },
  ];
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name: options.name ?? 'podinfo',
      namespace: options.namespace ?? 'test',
      resourceVersion: options.resourceVersion ?? '1',
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: {
      gateways: ['public-gateway.istio-system.svc.cluster.local'],
      hosts: options.hosts ?? ['app.example.com', 'podinfo'],
      http: options.http ?? [
        {
          route: destinations.map((d) => ({
            destination: {
              host: d.host,
              port: { number: 9898 },
              ...(d.subset ? { subset: d.subset } : {}),
            },
            ...(d.weight !== undefined ? { weight: d.weight } : {}),
          })),
        },
      ],
    },
  };
}

export function rawDestinationRule(
  host: string,
  subsets: { name: string; labels?: Record<string, string> }[],
  options: { name?: string; namespace?: string; created?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: {
      name: options.name ?? host,
      namespace: options.namespace ?? 'test',
      resourceVersion: '1',
      creationTimestamp: options.created ?? '2026-01-01T00:00:00Z',
    },
    spec: { host, subsets },
  };
}

export function rawService(
  name: string,
  options: { namespace?: string; selector?: Record<string, string>; resourceVersion?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: options.namespace ?? 'test',
      resourceVersion: options.resourceVersion ?? '1',
    },
    spec: {
      type: 'ClusterIP',
      selector: options.selector ?? { app: name },
      ports: [{ port: 9898 }],
    },
  };
}

export function rawDeployment(
  name: string,
  options: {
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    image?: string;
    color?: string;
    replicas?: number;
    readyReplicas?: number;
    resourceVersion?: string;
  } = {},
): Record<string, unknown> {
  const labels = options.labels ?? { app: name };
  const ready = options.readyReplicas ?? 1;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: options.namespace ?? 'test',
      resourceVersion: options.resourceVersion ?? '1',
    },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: { 'prometheus.io/scrape': 'true', ...options.annotations },
        },
        spec: {
          containers: [
            {
              name: 'podinfod',
              image: options.image ?? 'quay.io/stefanprodan/podinfo:1.1.1',
              env: options.color ? [{ name: 'PODINFO_UI_COLOR', value: options.color }] : [],
            },
          ],
        },
      },
    },
    status: ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : {},
  };
}

function must<T>(parsed: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export const vs = (o: Parameters<typeof rawVirtualService>[0] = {}): VirtualService =>
  must(parseVirtualService(rawVirtualService(o)));
export const svc = (...a: Parameters<typeof rawService>): Service =>
  must(parseService(rawService(...a)));
export const deploy = (...a: Parameters<typeof rawDeployment>): Deployment =>
  must(parseDeployment(rawDeployment(...a)));

/** The seed setup: VS podinfo → podinfo / podinfo-canary with the given weights. */
export function seedTable(
  weights: [number, number] = [100, 0],
  extra: { canaryReady?: number; canaryAnnotations?: Record<string, string> } = {},
): RoutingTable {
  return buildRoutingTable({
    virtualServices: [
      vs({
        destinations: [
          { host: 'podinfo', weight: weights[0] },
          { host: 'podinfo-canary', weight: weights[1] },
        ],
      }),
    ],
    services: [svc('podinfo'), svc('podinfo-canary')],
    deployments: [
      deploy('podinfo', { replicas: 2, readyReplicas: 2, color: 'blue' }),
      deploy('podinfo-canary', {
        image: 'quay.io/stefanprodan/podinfo:1.2.0',
        color: 'green',
        readyReplicas: extra.canaryReady ?? 1,
        annotations: extra.canaryAnnotations ?? {},
      }),
    ],
  });
}

export function request(
  host: string,
  path = '/',
  headers: Record<string, string> = {},
  extra: Partial<Pick<RouteRequest, 'method' | 'query' | 'virtualService'>> = {},
): RouteRequest {
  const lower = Object.fromEntries(
    Object.entries({ host, ...headers }).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    host,
    path,
    query: extra.query ?? '',
    method: extra.method ?? 'GET',
    header: (name) => lower[name],
    ...(extra.virtualService !== undefined ? { virtualService: extra.virtualService } : {}),
  };
}

/** A draw that always returns r. */
export const constantDraw = (r: number) => (): number => r;
