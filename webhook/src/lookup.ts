// What the handlers may ask of the cluster, behind one interface so the handlers and the
// express app are tested without one. The cluster implementation caches Rollouts (read on
// every admission) with an informer and reads Deployments, Services and VirtualServices with
// direct GETs, which only Rollout admission needs, and that is rare.

import {
  Backoff,
  ISTIO_GROUP,
  Informer,
  ROLLOUT,
  abortableSleep,
  discoverVirtualServiceVersion,
  isApiError,
  resourcePath,
} from '@steerer/common';
import type {
  Deployment,
  KubeClient,
  Logger,
  RolloutObject,
  Service,
  VirtualService,
  VirtualServiceVersion,
} from '@steerer/common';

export interface Lookup {
  /** The Rollouts of one namespace. */
  rollouts(namespace: string): Promise<readonly RolloutObject[]>;
  rollout(namespace: string, name: string): Promise<RolloutObject | undefined>;
  /** undefined when the object does not exist; rejects when that cannot be known. */
  deployment(namespace: string, name: string): Promise<Deployment | undefined>;
  service(namespace: string, name: string): Promise<Service | undefined>;
  virtualService(namespace: string, name: string): Promise<VirtualService | undefined>;
}

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
  private vsVersion: VirtualServiceVersion | undefined;

  constructor(private readonly o: ClusterLookupOptions) {
    this.informer = new Informer<RolloutObject>(o.client, {
      path: resourcePath({
        group: ROLLOUT.group,
        version: ROLLOUT.version,
        plural: ROLLOUT.plural,
      }),
      logger: o.logger.child({ informer: 'rollout' }),
      ...(o.onInformerRestart ? { onRestart: o.onInformerRestart } : {}),
      ...(o.sleep ? { sleep: o.sleep } : {}),
    });
    this.informer.on((event, r) => {
      const ns = r.metadata.namespace;
      let names = this.byNamespace.get(ns);
      if (event === 'delete') {
        names?.delete(r.metadata.name);
        if (names?.size === 0) this.byNamespace.delete(ns);
        return;
      }
      if (!names) this.byNamespace.set(ns, (names = new Map<string, RolloutObject>()));
      names.set(r.metadata.name, r);
    });
  }

  /** Runs the Rollout cache and VirtualService version discovery until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.informer.run(signal), this.discover(signal)]);
  }

  /** The Rollout cache has its first full list. */
  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** The VirtualService version in use, once discovered. */
  get virtualServiceVersion(): VirtualServiceVersion | undefined {
    return this.vsVersion;
  }

  private async discover(signal: AbortSignal): Promise<void> {
    const sleep = this.o.sleep ?? abortableSleep;
    const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
    while (!signal.aborted) {
      const found = await discoverVirtualServiceVersion(this.o.client, {
        signal,
        timeoutMs: this.o.timeoutMs,
      }).catch(() => undefined);
      if (signal.aborted) return;
      if (found?.ok) {
        this.vsVersion = found.version;
        this.o.logger.info('VirtualService version discovered', { version: found.version });
        return;
      }
      if (found) this.o.logger.warn(found.message);
      await sleep(backoff.next(), signal);
    }
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

  virtualService(namespace: string, name: string): Promise<VirtualService | undefined> {
    const version = this.vsVersion;
    if (!version) {
      return Promise.reject(
        new Error(`the API server serves no ${ISTIO_GROUP} VirtualService (yet)`),
      );
    }
    return this.getOrUndefined(
      resourcePath({ group: ISTIO_GROUP, version, plural: 'virtualservices', namespace, name }),
    );
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
