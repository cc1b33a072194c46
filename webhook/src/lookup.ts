// What the handlers may ask of the cluster, behind one interface so the handlers and the
// express app are tested without one. The cluster implementation caches Rollouts (read on
// every admission) with an informer and reads Deployments, Services, route objects,
// ReferenceGrants and DestinationRules with direct GETs, which only Rollout admission
// needs, and that is rare. The cache keeps of each Rollout only what the handlers read
// (`webhookRollout`): its metadata, its spec and its phase.

import {
  Informer,
  ROLLOUT,
  ROUTERS,
  isApiError,
  resourcePath,
  routerFor,
  slimMetadata,
  waitForVersion,
} from '@steerer/common';
import type {
  Deployment,
  KubeClient,
  KubeObject,
  Logger,
  RolloutObject,
  ServedResource,
  Service,
} from '@steerer/common';

export interface Lookup {
  /** The Rollouts of one namespace. */
  rollouts(namespace: string): Promise<readonly RolloutObject[]>;
  rollout(namespace: string, name: string): Promise<RolloutObject | undefined>;
  /** undefined when the object does not exist; rejects when that cannot be known. */
  deployment(namespace: string, name: string): Promise<Deployment | undefined>;
  service(namespace: string, name: string): Promise<Service | undefined>;
  /** A route object of one of the routers' kinds. */
  route(kind: string, namespace: string, name: string): Promise<KubeObject | undefined>;
  /**
   * The grants (Gateway API ReferenceGrants) of one namespace, for a router whose route
   * objects need them; rejects when they cannot be read (or the kind is not served).
   */
  grants(routerKind: string, namespace: string): Promise<readonly unknown[]>;
  /**
   * The objects defining subsets (Istio DestinationRules) of one namespace, for a router
   * that routes to subsets; rejects when they cannot be read (or the kind is not served).
   */
  subsetRules(routerKind: string, namespace: string): Promise<readonly unknown[]>;
}

/**
 * What the webhook's cache keeps of a Rollout: metadata (kubectl's last-applied copy
 * dropped), the spec, and of the status only the phase, the one status field a handler
 * reads (conditions, analysis, history and messages are most of a busy Rollout's status).
 */
export function webhookRollout(r: RolloutObject): RolloutObject {
  const phase = r.status?.phase;
  return {
    ...(r.apiVersion !== undefined ? { apiVersion: r.apiVersion } : {}),
    ...(r.kind !== undefined ? { kind: r.kind } : {}),
    metadata: slimMetadata(r.metadata),
    spec: r.spec,
    ...(r.status ? { status: phase !== undefined ? { phase } : {} } : {}),
  };
}

/** The versions map's key of a router's grant kind. */
const grantKey = (routerKind: string): string => `grants:${routerKind}`;
/** The versions map's key of a router's subset kind. */
const subsetKey = (routerKind: string): string => `subsets:${routerKind}`;

export interface ClusterLookupOptions {
  client: KubeClient;
  logger: Logger;
  /** Deadline of each direct GET. */
  timeoutMs: number;
  onInformerRestart?: (reason: 'relist' | 'error') => void;
  /** Injected for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class ClusterLookup implements Lookup {
  readonly informer: Informer<RolloutObject>;
  private readonly byNamespace = new Map<string, Map<string, RolloutObject>>();
  /** The served version of each router's resource, once discovered. */
  private readonly versions = new Map<string, string>();

  constructor(private readonly o: ClusterLookupOptions) {
    this.informer = new Informer<RolloutObject>(o.client, {
      path: resourcePath({
        group: ROLLOUT.group,
        version: ROLLOUT.version,
        plural: ROLLOUT.plural,
      }),
      logger: o.logger.child({ informer: 'rollout' }),
      transform: webhookRollout,
      ...(o.onInformerRestart ? { onRestart: o.onInformerRestart } : {}),
      ...(o.sleep ? { sleep: o.sleep } : {}),
    });
    this.informer.on((event, r) => this.index(event === 'delete', r));
  }

  private index(deleted: boolean, r: RolloutObject): void {
    const ns = r.metadata.namespace;
    let names = this.byNamespace.get(ns);
    if (deleted) {
      names?.delete(r.metadata.name);
      if (names?.size === 0) this.byNamespace.delete(ns);
      return;
    }
    if (!names) this.byNamespace.set(ns, (names = new Map<string, RolloutObject>()));
    names.set(r.metadata.name, r);
  }

  /**
   * Runs the Rollout cache, and each router's (and grant kind's) version discovery, until
   * `signal` aborts. Discovery keeps looking with capped backoff, so CRDs installed after
   * the webhook started are picked up without a restart.
   */
  async run(signal: AbortSignal): Promise<void> {
    const discover = async (key: string, r: ServedResource): Promise<void> => {
      const version = await waitForVersion(this.o.client, r, {
        signal,
        logger: this.o.logger,
        timeoutMs: this.o.timeoutMs,
        ...(this.o.sleep ? { sleep: this.o.sleep } : {}),
      });
      if (version !== undefined) this.versions.set(key, version);
    };
    await Promise.all([
      this.informer.run(signal),
      ...ROUTERS.map((router) => discover(router.kind, router)),
      ...ROUTERS.flatMap((router) =>
        router.grants ? [discover(grantKey(router.kind), router.grants)] : [],
      ),
      ...ROUTERS.flatMap((router) =>
        router.subsets ? [discover(subsetKey(router.kind), router.subsets)] : [],
      ),
    ]);
  }

  /** The Rollout cache has its first full list. */
  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** The served version of a router's resource, once discovered. */
  versionOf(kind: string): string | undefined {
    return this.versions.get(kind);
  }

  rollouts(namespace: string): Promise<readonly RolloutObject[]> {
    return Promise.resolve([...(this.byNamespace.get(namespace)?.values() ?? [])]);
  }

  rollout(namespace: string, name: string): Promise<RolloutObject | undefined> {
    return Promise.resolve(this.informer.get(`${namespace}/${name}`));
  }

  deployment(namespace: string, name: string): Promise<Deployment | undefined> {
    return this.getOrUndefined(
      resourcePath({ group: 'apps', version: 'v1', plural: 'deployments', namespace, name }),
    );
  }

  service(namespace: string, name: string): Promise<Service | undefined> {
    return this.getOrUndefined(
      resourcePath({ group: '', version: 'v1', plural: 'services', namespace, name }),
    );
  }

  route(kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    const router = routerFor(kind);
    const version = this.versions.get(kind);
    if (!router || !version) {
      return Promise.reject(
        new Error(`the API server serves no ${router?.group ?? 'known'} ${kind} (yet)`),
      );
    }
    return this.getOrUndefined(
      resourcePath({ group: router.group, version, plural: router.resource, namespace, name }),
    );
  }

  grants(routerKind: string, namespace: string): Promise<readonly unknown[]> {
    return this.list(routerFor(routerKind)?.grants, grantKey(routerKind), 'grant', namespace);
  }

  subsetRules(routerKind: string, namespace: string): Promise<readonly unknown[]> {
    return this.list(routerFor(routerKind)?.subsets, subsetKey(routerKind), 'subset', namespace);
  }

  /** The objects of a discovered kind in one namespace. */
  private async list(
    kind: { group: string; kind: string; resource: string } | undefined,
    key: string,
    what: string,
    namespace: string,
  ): Promise<readonly unknown[]> {
    const version = this.versions.get(key);
    if (!kind || !version) {
      throw new Error(
        `the API server serves no ${kind?.group ?? 'known'} ${kind?.kind ?? what} (yet)`,
      );
    }
    const list = await this.o.client.get<{ items?: unknown[] }>(
      resourcePath({ group: kind.group, version, plural: kind.resource, namespace }),
      { timeoutMs: this.o.timeoutMs },
    );
    return list.items ?? [];
  }

  private async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.o.client.get<T>(path, { timeoutMs: this.o.timeoutMs });
    } catch (e) {
      if (isApiError(e, 404)) return undefined;
      throw e;
    }
  }
}
