// The in-memory cache the watches feed: parsed objects per resource, a routing table
// rebuilt lazily after any change, and one log line per notable change (a weight change,
// an invalid VirtualService once per resourceVersion, a workload's readiness or faults).

import type { Logger } from './log.js';
import {
  objectKey,
  type Deployment,
  type ObjectMeta,
  type Service,
  type VirtualService,
} from './model.js';
import {
  parseDeployment,
  parseMeta,
  parseService,
  parseVirtualService,
  type Parsed,
} from './parse.js';
import { buildRoutingTable, type RoutingTable } from './routing.js';

export const RESOURCES = ['virtualservices', 'services', 'deployments'] as const;
export type Resource = (typeof RESOURCES)[number];

/** What a watch loop feeds (reflector.ts). */
export interface ReflectorSink {
  /** A fresh list: everything not in items is gone. */
  replace(items: readonly unknown[]): void;
  upsert(obj: unknown): void;
  remove(obj: unknown): void;
}

export interface InvalidVirtualService {
  readonly meta: ObjectMeta;
  readonly error: string;
}

/** `podinfo=90,podinfo-canary=10` per http route, for logs and admin state. */
export function describeRoutes(vs: VirtualService): string[] {
  return vs.http.map((r) => r.destinations.map((d) => `${d.host}=${d.weight}`).join(','));
}

export class MeshStore {
  private readonly virtualServices = new Map<string, VirtualService>();
  private readonly invalid = new Map<string, InvalidVirtualService>();
  private readonly services = new Map<string, Service>();
  private readonly deployments = new Map<string, Deployment>();
  private readonly syncedResources = new Set<Resource>();
  private table: RoutingTable | undefined;

  constructor(
    private readonly log: Logger,
    /** Called when a Deployment (a workload) goes away: its sidecars' metrics go with it. */
    private readonly onWorkloadRemoved: (namespace: string, name: string) => void = () => undefined,
  ) {}

  routingTable(): RoutingTable {
    this.table ??= buildRoutingTable({
      virtualServices: this.virtualServices.values(),
      services: this.services.values(),
      deployments: this.deployments.values(),
    });
    return this.table;
  }

  invalidVirtualServices(): InvalidVirtualService[] {
    return [...this.invalid.values()];
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
    }
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
      case 'deployments': {
        const d = this.deployments.get(key);
        removed = this.deployments.delete(key);
        if (d) this.onWorkloadRemoved(d.namespace, d.name);
        break;
      }
    }
    if (removed) this.log.info(`${resource.replace(/s$/, '')} deleted`, { key });
  }
}
