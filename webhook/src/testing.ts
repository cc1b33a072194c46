// Test seams: an in-memory Lookup and builders for AdmissionReviews and the seed's objects
// (podinfo / podinfo-canary in namespace "test"), so tests state only what they vary.

import { ANNOTATIONS, LABELS } from '@steerer/common';
import type {
  Deployment,
  HTTPRouteObject,
  KubeObject,
  Phase,
  RolloutObject,
  Service,
  VirtualService,
} from '@steerer/common';
import type { JsonMap, Operation } from './admission.js';
import { webhookRollout } from './lookup.js';
import type { Lookup } from './lookup.js';

const key = (ns: string, name: string): string => `${ns}/${name}`;

export class StaticLookup implements Lookup {
  readonly rolloutMap = new Map<string, RolloutObject>();
  readonly deployments = new Map<string, Deployment>();
  readonly services = new Map<string, Service>();
  /** Route objects by "Kind:namespace/name". */
  readonly routes = new Map<string, KubeObject>();
  /** Grant objects (ReferenceGrants) by namespace. */
  readonly grantMap = new Map<string, unknown[]>();
  /** Subset objects (DestinationRules) by namespace. */
  readonly subsetMap = new Map<string, unknown[]>();
  /** Keys ("kind:ns/name") whose reads fail, as an unreachable API server would. */
  readonly failing = new Set<string>();
  readonly calls: string[] = [];

  add(
    obj: RolloutObject | Deployment | Service | VirtualService | HTTPRouteObject,
    kind?: 'rollout' | 'deployment' | 'service' | 'virtualservice' | 'httproute',
  ): this {
    const k = key(obj.metadata.namespace ?? 'default', obj.metadata.name);
    switch (kind ?? (obj.kind ?? '').toLowerCase()) {
      case 'rollout':
        this.rolloutMap.set(k, obj as RolloutObject);
        break;
      case 'deployment':
        this.deployments.set(k, obj as Deployment);
        break;
      case 'service':
        this.services.set(k, obj as Service);
        break;
      case 'virtualservice':
        this.routes.set(`VirtualService:${k}`, obj);
        break;
      case 'httproute':
        this.routes.set(`HTTPRoute:${k}`, obj);
        break;
      default:
        throw new Error(`StaticLookup.add: unknown kind ${obj.kind ?? '?'}`);
    }
    return this;
  }

  private read<T>(
    kind: string,
    map: Map<string, T>,
    ns: string,
    name: string,
  ): Promise<T | undefined> {
    this.calls.push(`${kind}:${key(ns, name)}`);
    if (this.failing.has(`${kind}:${key(ns, name)}`))
      return Promise.reject(new Error('connection refused'));
    return Promise.resolve(map.get(key(ns, name)));
  }

  // Rollouts are read as the webhook's cache keeps them (webhookRollout), so every handler
  // test also pins that the handlers read nothing the cache drops.
  rollouts(namespace: string): Promise<readonly RolloutObject[]> {
    this.calls.push(`rollouts:${namespace}`);
    return Promise.resolve(
      [...this.rolloutMap.values()]
        .filter((r) => r.metadata.namespace === namespace)
        .map(webhookRollout),
    );
  }
  async rollout(namespace: string, name: string): Promise<RolloutObject | undefined> {
    const r = await this.read('rollout', this.rolloutMap, namespace, name);
    return r && webhookRollout(r);
  }
  deployment(namespace: string, name: string): Promise<Deployment | undefined> {
    return this.read('deployment', this.deployments, namespace, name);
  }
  service(namespace: string, name: string): Promise<Service | undefined> {
    return this.read('service', this.services, namespace, name);
  }
  grants(routerKind: string, namespace: string): Promise<readonly unknown[]> {
    this.calls.push(`grants:${routerKind}:${namespace}`);
    if (this.failing.has(`grants:${namespace}`)) return Promise.reject(new Error('forbidden'));
    return Promise.resolve(this.grantMap.get(namespace) ?? []);
  }
  subsetRules(routerKind: string, namespace: string): Promise<readonly unknown[]> {
    this.calls.push(`subsets:${routerKind}:${namespace}`);
    if (this.failing.has(`subsets:${namespace}`)) return Promise.reject(new Error('forbidden'));
    return Promise.resolve(this.subsetMap.get(namespace) ?? []);
  }
  route(kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    this.calls.push(`${kind.toLowerCase()}:${key(namespace, name)}`);
    if (this.failing.has(`${kind.toLowerCase()}:${key(namespace, name)}`))
      return Promise.reject(new Error('connection refused'));
    return Promise.resolve(this.routes.get(`${kind}:${key(namespace, name)}`));
  }
}

export const NS = 'test';

export function rollout(
  overrides: { name?: string; phase?: Phase; spec?: Record<string, unknown> } = {},
): RolloutObject {
  return {
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: { name: overrides.name ?? 'podinfo', namespace: NS },
    spec: {
      targetKind: 'Deployment',
      primary: { name: 'podinfo', host: 'podinfo' },
      canary: { name: 'podinfo-canary', host: 'podinfo-canary' },
      virtualService: { name: 'podinfo', weight: 10 },
      metric: { type: 'counter', name: 'istio_requests_total', interval: '1m', threshold: 99 },
      ...overrides.spec,
    },
    ...(overrides.phase ? { status: { phase: overrides.phase } } : {}),
  };
}

export function canaryDeployment(
  o: {
    image?: string;
    replicas?: number | null;
    annotations?: Record<string, string> | null;
    labels?: Record<string, string>;
  } = {},
): JsonMap {
  const metadata: JsonMap = {
    name: 'podinfo-canary',
    namespace: NS,
    labels: o.labels ?? {
      app: 'podinfo-canary',
      [LABELS.rollout]: 'podinfo',
      [LABELS.role]: 'canary',
    },
  };
  if (o.annotations !== null)
    metadata.annotations = o.annotations ?? { 'deployment.kubernetes.io/revision': '1' };
  const spec: JsonMap = {
    selector: { matchLabels: { app: 'podinfo-canary' } },
    template: {
      metadata: {
        labels: { app: 'podinfo-canary' },
        annotations: { 'prometheus.io/scrape': 'true' },
      },
      spec: {
        containers: [{ name: 'podinfod', image: o.image ?? 'quay.io/stefanprodan/podinfo:1.2.0' }],
      },
    },
  };
  if (o.replicas !== null) spec.replicas = o.replicas ?? 1;
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec };
}

export function deployment(name: string): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: {} },
    },
  };
}

export function service(name: string, portName = 'http'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { type: 'ClusterIP', ports: [{ name: portName, port: 9898 }] },
  };
}

export function virtualService(
  name = 'podinfo',
  hosts: readonly string[] = ['podinfo', 'podinfo-canary'],
  weights?: readonly number[],
): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NS },
    spec: {
      hosts: ['app.example.com', 'podinfo'],
      http: [
        {
          route: hosts.map((host, i) => ({
            destination: { host, port: { number: 9898 } },
            weight: weights?.[i] ?? (i === 0 ? 100 : 0),
          })),
          timeout: '30s',
        },
      ],
    },
  };
}

/** An HTTPRoute attached to a Gateway whose one rule has the given Service backendRefs. */
export function httpRoute(
  name = 'podinfo',
  services: readonly string[] = ['podinfo', 'podinfo-canary'],
  weights?: readonly number[],
): HTTPRouteObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: {
      parentRefs: [{ name: 'public', namespace: 'gateways' }],
      hostnames: ['app.example.com'],
      rules: [
        {
          backendRefs: services.map((service, i) => ({
            name: service,
            port: 9898,
            weight: weights?.[i] ?? (i === 0 ? 100 : 0),
          })),
          timeouts: { request: '30s' },
        },
      ],
    },
  };
}

/** The seed's spec with an HTTPRoute instead of the VirtualService. */
export const HTTP_ROUTE_SPEC = {
  virtualService: undefined,
  httpRoute: { name: 'podinfo', weight: 10 },
};

/** The seed's world: both Deployments, both Services, the VirtualService and (optionally) the Rollout. */
export function seedLookup(phase?: Phase): StaticLookup {
  const l = new StaticLookup()
    .add(deployment('podinfo'))
    .add(deployment('podinfo-canary'))
    .add(service('podinfo'))
    .add(service('podinfo-canary'))
    .add(virtualService());
  if (phase) l.add(rollout({ phase }));
  return l;
}

let uidCounter = 0;

export function admissionReview(o: {
  kind: { group: string; version: string; kind: string };
  operation: Operation;
  object?: unknown;
  oldObject?: unknown;
  name?: string;
  namespace?: string;
  options?: JsonMap;
  uid?: string;
}): JsonMap {
  const obj = o.object as { metadata?: { name?: string } } | undefined;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? `uid-${++uidCounter}`,
      kind: o.kind,
      resource: {
        group: o.kind.group,
        version: o.kind.version,
        resource: `${o.kind.kind.toLowerCase()}s`,
      },
      name: o.name ?? obj?.metadata?.name,
      namespace: o.namespace ?? NS,
      operation: o.operation,
      userInfo: { username: 'kubernetes-admin' },
      ...(o.object !== undefined ? { object: o.object } : {}),
      ...(o.oldObject !== undefined ? { oldObject: o.oldObject } : {}),
      dryRun: false,
      ...(o.options ? { options: o.options } : {}),
    },
  };
}

export const KINDS = {
  deployment: { group: 'apps', version: 'v1', kind: 'Deployment' },
  rollout: { group: 'apps.weave.works', version: 'v1beta1', kind: 'Rollout' },
  virtualService: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
  httpRoute: { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' },
} as const;

export const SCALED_DOWN = { [ANNOTATIONS.scaledDownFrom]: '3' };

/** The seed's spec routed to two DestinationRule subsets of one Service. */
export const SUBSET_SPEC = {
  primary: { name: 'podinfo', host: 'podinfo', subset: 'primary' },
  canary: { name: 'podinfo-canary', host: 'podinfo', subset: 'canary' },
};

/** A DestinationRule for host podinfo with the given subsets. */
export function destinationRule(
  subsets: { name: string; labels?: Record<string, string> }[] = [
    { name: 'primary', labels: { version: 'primary' } },
    { name: 'canary', labels: { version: 'canary' } },
  ],
): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'podinfo', namespace: NS },
    spec: { host: 'podinfo', subsets },
  } as KubeObject;
}

/** Subset routing: one Service selecting both Deployments' pods, told apart by `version`. */
export function subsetLookup(): StaticLookup {
  const dep = (name: string, version: string): Deployment => {
    const d = deployment(name);
    const labels = { app: 'podinfo', version };
    d.spec.selector = { matchLabels: labels };
    d.spec.template.metadata = { labels };
    return d;
  };
  const svc = service('podinfo');
  svc.spec.selector = { app: 'podinfo' };
  const vs = virtualService('podinfo', ['podinfo', 'podinfo']);
  for (const [i, subset] of ['primary', 'canary'].entries()) {
    const d = vs.spec.http?.[0]?.route?.[i];
    if (d) d.destination.subset = subset;
  }
  const l = new StaticLookup()
    .add(dep('podinfo', 'primary'))
    .add(dep('podinfo-canary', 'canary'))
    .add(svc)
    .add(vs);
  l.subsetMap.set(NS, [destinationRule()]);
  return l;
}
