// The in-memory cache the watches feed: parsed objects per resource, a routing table
// rebuilt lazily after any change, and one log line per notable change (a weight change,
// an invalid VirtualService or HTTPRoute once per resourceVersion, an HTTPRoute accepted or
// refused by its Gateways, a workload's readiness or faults).

import { describeDestination, parseDestinationRule } from './destination-rules.js';
import type { RouteStatus } from './gateway-api.js';
import type { Logger } from './log.js';
import {
  objectKey,
  type DestinationRule,
  type Deployment,
  type HTTPRoute,
  type KubeGateway,
  type ObjectMeta,
  type ReferenceGrant,
  type Service,
  type VirtualService,
} from './model.js';
import {
  describeHttpRouteRules,
  parseGateway,
  parseHttpRoute,
  parseReferenceGrant,
} from './parse-gateway-api.js';
import {
  parseDeployment,
  parseMeta,
  parseService,
  parseVirtualService,
  type Parsed,
} from './parse.js';
import { buildRoutingTable, type RoutingTable } from './routing.js';

export const RESOURCES = [
  'virtualservices',
  'destinationrules',
  'services',
  'deployments',
  'httproutes',
  'gateways',
  'referencegrants',
] as const;
export type Resource = (typeof RESOURCES)[number];
/** Gateway API resources: their CRDs may be absent, which counts as "none of them". */
export const GATEWAY_API_RESOURCES: readonly Resource[] = [
  'httproutes',
  'gateways',
  'referencegrants',
];

/** What a watch loop feeds (reflector.ts). */
export interface ReflectorSink {
  /** A fresh list: everything not in items is gone. */
  replace(items: readonly unknown[]): void;
  upsert(obj: unknown): void;
  remove(obj: unknown): void;
}

export interface InvalidObject {
  readonly meta: ObjectMeta;
  readonly error: string;
}
export type InvalidVirtualService = InvalidObject;
export type InvalidHttpRoute = InvalidObject;

/** `podinfo=90,podinfo-canary=10` per http route, for logs and admin state. */
export function describeRoutes(vs: VirtualService): string[] {
  return vs.http.map((r) => r.destinations.map(describeDestination).join(','));
}

export class MeshStore {
  private readonly virtualServices = new Map<string, VirtualService>();
  private readonly invalid = new Map<string, InvalidVirtualService>();
  private readonly services = new Map<string, Service>();
  private readonly deployments = new Map<string, Deployment>();
  private readonly destinationRules = new Map<string, DestinationRule>();
  private readonly httpRoutes = new Map<string, HTTPRoute>();
  private readonly invalidRoutes = new Map<string, InvalidHttpRoute>();
  private readonly gateways = new Map<string, KubeGateway>();
  private readonly grants = new Map<string, ReferenceGrant>();
  /** Last logged attachment state per HTTPRoute, so each change is logged once. */
  private readonly attachmentLogged = new Map<string, string>();
  private readonly syncedResources = new Set<Resource>();
  /** DestinationRules Istio would reject, so each is logged once. */
  private readonly invalidRules = new Set<string>();
  private table: RoutingTable | undefined;

  constructor(
    private readonly log: Logger,
    /** Called when a Deployment (a workload) goes away: its sidecars' metrics go with it. */
    private readonly onWorkloadRemoved: (namespace: string, name: string) => void = () => undefined,
  ) {}

  routingTable(): RoutingTable {
    if (!this.table) {
      this.table = buildRoutingTable({
        virtualServices: this.virtualServices.values(),
        services: this.services.values(),
        deployments: this.deployments.values(),
        destinationRules: this.destinationRules.values(),
        httpRoutes: this.httpRoutes.values(),
        gateways: this.gateways.values(),
        referenceGrants: this.grants.values(),
      });
      this.logAttachments(this.table.httpRoutes.routes);
    }
    return this.table;
  }

  invalidVirtualServices(): InvalidVirtualService[] {
    return [...this.invalid.values()];
  }

  invalidHttpRoutes(): InvalidHttpRoute[] {
    return [...this.invalidRoutes.values()];
  }

  /** One line whenever what the Gateways make of an HTTPRoute changes. */
  private logAttachments(routes: ReadonlyMap<string, RouteStatus>): void {
    for (const key of [...this.attachmentLogged.keys()]) {
      if (!routes.has(key)) this.attachmentLogged.delete(key);
    }
    for (const [key, status] of routes) {
      const accepted = status.attachments.length > 0;
      const fields = accepted
        ? {
            gateways: status.attachments.map(
              (a) => `${objectKey(a.gateway.namespace, a.gateway.name)}/${a.listener}`,
            ),
            hostnames: [...new Set(status.attachments.flatMap((a) => a.hostnames))],
          }
        : { problems: status.problems };
      const signature = JSON.stringify([accepted, fields]);
      if (this.attachmentLogged.get(key) === signature) continue;
      this.attachmentLogged.set(key, signature);
      if (accepted) this.log.info('httproute accepted', { httproute: key, ...fields });
      else
        this.log.warn('httproute not accepted by any Gateway; not routed', {
          httproute: key,
          ...fields,
        });
    }
  }

  synced(resource: Resource): boolean {
    return this.syncedResources.has(resource);
  }

  sink(resource: Resource): ReflectorSink {
    return {
      replace: (items) => this.replace(resource, items),
      upsert: (obj) => {
        this.upsert(resource, obj);
        this.table = undefined;
      },
      remove: (obj) => {
        this.remove(resource, obj);
        this.table = undefined;
      },
    };
  }

  private replace(resource: Resource, items: readonly unknown[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const key = this.upsert(resource, item);
      if (key !== undefined) seen.add(key);
    }
    for (const key of this.keys(resource)) {
      if (!seen.has(key)) this.removeKey(resource, key);
    }
    this.syncedResources.add(resource);
    this.table = undefined;
  }

  private keys(resource: Resource): string[] {
    switch (resource) {
      case 'virtualservices':
        return [...this.virtualServices.keys(), ...this.invalid.keys()];
      case 'services':
        return [...this.services.keys()];
      case 'deployments':
        return [...this.deployments.keys()];
      case 'destinationrules':
        return [...this.destinationRules.keys(), ...this.invalidRules];
      case 'httproutes':
        return [...this.httpRoutes.keys(), ...this.invalidRoutes.keys()];
      case 'gateways':
        return [...this.gateways.keys()];
      case 'referencegrants':
        return [...this.grants.keys()];
    }
  }

  /** Returns the object's key, or undefined when it could not be identified. */
  private upsert(resource: Resource, obj: unknown): string | undefined {
    switch (resource) {
      case 'virtualservices':
        return this.upsertVirtualService(parseVirtualService(obj));
      case 'services':
        return this.upsertService(parseService(obj));
      case 'deployments':
        return this.upsertDeployment(parseDeployment(obj));
      case 'destinationrules':
        return this.upsertDestinationRule(parseDestinationRule(obj));
      case 'httproutes':
        return this.upsertHttpRoute(parseHttpRoute(obj));
      case 'gateways':
        return this.upsertGateway(parseGateway(obj));
      case 'referencegrants':
        return this.upsertSimple(this.grants, parseReferenceGrant(obj));
    }
  }

  private upsertHttpRoute(parsed: Parsed<HTTPRoute>): string | undefined {
    if (!parsed.ok) {
      if (!parsed.meta) {
        this.log.warn('httproute without name ignored', { error: parsed.error });
        return undefined;
      }
      const key = objectKey(parsed.meta.namespace, parsed.meta.name);
      const before = this.invalidRoutes.get(key);
      this.httpRoutes.delete(key);
      this.invalidRoutes.set(key, { meta: parsed.meta, error: parsed.error });
      if (before?.meta.resourceVersion !== parsed.meta.resourceVersion) {
        this.log.warn('httproute invalid; treated as not configured', {
          httproute: key,
          resourceVersion: parsed.meta.resourceVersion,
          error: parsed.error,
        });
      }
      return key;
    }
    const route = parsed.value;
    const key = objectKey(route.namespace, route.name);
    const before = this.httpRoutes.get(key);
    this.invalidRoutes.delete(key);
    this.httpRoutes.set(key, route);
    if (before?.resourceVersion !== route.resourceVersion) {
      this.log.info(before ? 'httproute updated' : 'httproute added', {
        httproute: key,
        resourceVersion: route.resourceVersion,
        hostnames: route.hostnames,
        rules: describeHttpRouteRules(route),
      });
    }
    return key;
  }

  /** An invalid rule counts as absent (Istio rejects it): its subsets have no cluster. */
  private upsertDestinationRule(parsed: Parsed<DestinationRule>): string | undefined {
    if (!parsed.ok) {
      if (!parsed.meta) return undefined;
      const key = objectKey(parsed.meta.namespace, parsed.meta.name);
      if (this.destinationRules.delete(key) || !this.invalidRules.has(key)) {
        this.log.warn('destinationrule invalid; treated as absent', { key, error: parsed.error });
      }
      this.invalidRules.add(key);
      return key;
    }
    const rule = parsed.value;
    const key = objectKey(rule.namespace, rule.name);
    const before = this.destinationRules.get(key);
    this.invalidRules.delete(key);
    this.destinationRules.set(key, rule);
    if (before?.resourceVersion !== rule.resourceVersion) {
      this.log.info(before ? 'destinationrule updated' : 'destinationrule added', {
        destinationrule: key,
        host: rule.host,
        subsets: rule.subsets.map(
          (x) =>
            `${x.name}:${Object.entries(x.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(',')}`,
        ),
      });
    }
    return key;
  }

  private upsertGateway(parsed: Parsed<KubeGateway>): string | undefined {
    if (!parsed.ok) return undefined;
    const gw = parsed.value;
    const key = objectKey(gw.namespace, gw.name);
    const before = this.gateways.get(key);
    this.gateways.set(key, gw);
    if (before?.resourceVersion !== gw.resourceVersion) {
      this.log.info(before ? 'gateway updated' : 'gateway added', {
        gateway: key,
        gatewayClassName: gw.gatewayClassName,
        listeners: gw.listeners.map(
          (l) => `${l.name}:${l.protocol}/${l.port}${l.hostname ? `@${l.hostname}` : ''}`,
        ),
      });
    }
    return key;
  }

  private upsertSimple<T extends ObjectMeta>(
    map: Map<string, T>,
    parsed: Parsed<T>,
  ): string | undefined {
    if (!parsed.ok) return undefined;
    const key = objectKey(parsed.value.namespace, parsed.value.name);
    map.set(key, parsed.value);
    return key;
  }

  private upsertVirtualService(parsed: Parsed<VirtualService>): string | undefined {
    if (!parsed.ok) {
      if (!parsed.meta) {
        this.log.warn('virtualservice without name ignored', { error: parsed.error });
        return undefined;
      }
      const key = objectKey(parsed.meta.namespace, parsed.meta.name);
      const before = this.invalid.get(key);
      this.virtualServices.delete(key);
      this.invalid.set(key, { meta: parsed.meta, error: parsed.error });
      if (before?.meta.resourceVersion !== parsed.meta.resourceVersion) {
        this.log.warn('virtualservice invalid; treated as not configured', {
          virtualservice: key,
          resourceVersion: parsed.meta.resourceVersion,
          error: parsed.error,
        });
      }
      return key;
    }
    const vs = parsed.value;
    const key = objectKey(vs.namespace, vs.name);
    const before = this.virtualServices.get(key);
    this.invalid.delete(key);
    this.virtualServices.set(key, vs);
    if (before?.resourceVersion !== vs.resourceVersion) {
      this.log.info(before ? 'virtualservice updated' : 'virtualservice added', {
        virtualservice: key,
        resourceVersion: vs.resourceVersion,
        hosts: vs.hosts,
        routes: describeRoutes(vs),
      });
    }
    return key;
  }

  private upsertService(parsed: Parsed<Service>): string | undefined {
    if (!parsed.ok) return undefined;
    const svc = parsed.value;
    const key = objectKey(svc.namespace, svc.name);
    const before = this.services.get(key);
    this.services.set(key, svc);
    if (!before || JSON.stringify(before.selector) !== JSON.stringify(svc.selector)) {
      this.log.info(before ? 'service selector changed' : 'service added', {
        service: key,
        selector: svc.selector ?? null,
      });
    }
    return key;
  }

  private upsertDeployment(parsed: Parsed<Deployment>): string | undefined {
    if (!parsed.ok) return undefined;
    const d = parsed.value;
    const key = objectKey(d.namespace, d.name);
    const before = this.deployments.get(key);
    this.deployments.set(key, d);
    const changed =
      !before ||
      before.readyReplicas !== d.readyReplicas ||
      before.templateHash !== d.templateHash ||
      JSON.stringify(before.faults) !== JSON.stringify(d.faults);
    if (changed) {
      this.log.info(before ? 'workload changed' : 'workload added', {
        workload: key,
        readyReplicas: d.readyReplicas,
        replicas: d.replicas,
        image: d.image,
        faults: d.faults,
      });
    }
    if (d.faultWarnings.length > 0 && before?.resourceVersion !== d.resourceVersion) {
      this.log.warn('fault annotations ignored', { workload: key, problems: d.faultWarnings });
    }
    return key;
  }

  private remove(resource: Resource, obj: unknown): void {
    const meta = parseMeta(obj);
    if (meta) this.removeKey(resource, objectKey(meta.namespace, meta.name));
  }

  private removeKey(resource: Resource, key: string): void {
    let removed = false;
    switch (resource) {
      case 'virtualservices':
        removed = this.virtualServices.delete(key) || this.invalid.delete(key);
        break;
      case 'services':
        removed = this.services.delete(key);
        break;
      case 'destinationrules':
        removed = this.destinationRules.delete(key) || this.invalidRules.delete(key);
        break;
      case 'deployments': {
        const d = this.deployments.get(key);
        removed = this.deployments.delete(key);
        if (d) this.onWorkloadRemoved(d.namespace, d.name);
        break;
      }
      case 'httproutes':
        removed = this.httpRoutes.delete(key) || this.invalidRoutes.delete(key);
        break;
      case 'gateways':
        removed = this.gateways.delete(key);
        break;
      case 'referencegrants':
        removed = this.grants.delete(key);
        break;
    }
    if (removed) this.log.info(`${resource.replace(/s$/, '')} deleted`, { key });
  }
}
