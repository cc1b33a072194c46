// The controller's view of the cluster: one informer per resource kind, an index from
// each referenced object to the Rollouts that refer to it (ref-index.ts), and an overlay
// of the controller's own recent writes (overlay.ts) so a pass never acts on a cache
// older than what it wrote itself.

import {
  Backoff,
  ISTIO_GROUP,
  Informer,
  ROLLOUT,
  abortableSleep,
  discoverVirtualServiceVersion,
  objectKey,
  resourcePath,
} from '@steerer/common';
import type {
  Deployment,
  InformerEvent,
  HorizontalPodAutoscaler,
  KubeClient,
  KubeObject,
  Logger,
  RolloutObject,
  Service,
  VirtualService,
  VirtualServiceVersion,
} from '@steerer/common';
import type { Observed } from './planner/types.js';
import { WriteOverlay } from './overlay.js';
import { RefIndex, refsOf, serviceKeyOfHost } from './ref-index.js';
import type { RefKind } from './ref-index.js';

export const KINDS = ['rollout', 'deployment', 'service', 'virtualservice', 'hpa'] as const;
export type Kind = (typeof KINDS)[number];

export { serviceKeyOfHost };

export interface ClusterOptions {
  client: KubeClient;
  logger: Logger;
  /** Watch only this namespace; all namespaces when undefined. */
  namespace: string | undefined;
  /** A rollout key needs a look. */
  enqueue: (rolloutKey: string) => void;
  onInformerRestart?: (kind: Kind, reason: 'relist' | 'error') => void;
  /** Injected for tests (the overlay's clock). */
  now?: () => number;
}

export class Cluster {
  readonly rollouts: Informer<RolloutObject>;
  readonly deployments: Informer<Deployment>;
  readonly services: Informer<Service>;
  readonly hpas: Informer<HorizontalPodAutoscaler>;
  virtualServices!: Informer<VirtualService>;
  vsVersion!: VirtualServiceVersion;
  private readonly index = new RefIndex();
  private readonly overlay: WriteOverlay;

  constructor(private readonly o: ClusterOptions) {
    const ns = o.namespace;
    const mk = <T extends KubeObject>(
      kind: Kind,
      group: string,
      version: string,
      plural: string,
    ): Informer<T> => {
      const inf = new Informer<T>(o.client, {
        path: resourcePath({ group, version, plural, namespace: ns }),
        logger: o.logger.child({ informer: kind }),
        onRestart: (reason) => o.onInformerRestart?.(kind, reason),
      });
      return inf;
    };
    this.rollouts = mk<RolloutObject>('rollout', ROLLOUT.group, ROLLOUT.version, ROLLOUT.plural);
    this.deployments = mk<Deployment>('deployment', 'apps', 'v1', 'deployments');
    this.services = mk<Service>('service', '', 'v1', 'services');
    this.hpas = mk<HorizontalPodAutoscaler>('hpa', 'autoscaling', 'v2', 'horizontalpodautoscalers');
    this.overlay = new WriteOverlay(undefined, o.now);
    this.rollouts.on((ev, r) => {
      const key = objectKey(r);
      this.index.setRollout(key, ev === 'delete' ? undefined : r);
      if (ev === 'delete') this.overlay.deleted(`rollout:${key}`, r);
      o.enqueue(key);
    });
    this.deployments.on((ev, d) => this.touch('deployment', ev, d));
    this.services.on((ev, s) => this.touch('service', ev, s));
    this.hpas.on((ev, h) => {
      const targets = this.index.setHpa(objectKey(h), ev === 'delete' ? undefined : h);
      for (const t of targets) this.wake('deployment', t);
    });
  }

  /** Picks the VirtualService version the API server serves and starts every informer. */
  async start(signal: AbortSignal): Promise<Promise<void>[]> {
    this.vsVersion = await this.discoverVirtualServiceVersion(signal);
    this.virtualServices = new Informer<VirtualService>(this.o.client, {
      path: resourcePath({
        group: ISTIO_GROUP,
        version: this.vsVersion,
        plural: 'virtualservices',
        namespace: this.o.namespace,
      }),
      logger: this.o.logger.child({ informer: 'virtualservice' }),
      onRestart: (reason) => this.o.onInformerRestart?.('virtualservice', reason),
    });
    this.virtualServices.on((ev, v) => this.touch('virtualservice', ev, v));
    return [this.deployments, this.services, this.hpas, this.virtualServices, this.rollouts].map(
      (i) => (i as Informer<KubeObject>).run(signal),
    );
  }

  private async discoverVirtualServiceVersion(signal: AbortSignal): Promise<VirtualServiceVersion> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    for (;;) {
      const found = await discoverVirtualServiceVersion(this.o.client, { signal });
      if (found.ok) return found.version;
      const retryInMs = backoff.next();
      this.o.logger.warn(found.message, { retryInMs });
      await abortableSleep(retryInMs, signal);
      if (signal.aborted) throw new Error('aborted');
    }
  }

  async waitForSync(signal: AbortSignal): Promise<boolean> {
    const all = [
      this.rollouts,
      this.deployments,
      this.services,
      this.hpas,
      this.virtualServices,
    ] as Informer<KubeObject>[];
    const results = await Promise.all(all.map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  hasSynced(): boolean {
    return (
      this.virtualServices !== undefined &&
      [this.rollouts, this.deployments, this.services, this.hpas, this.virtualServices].every((i) =>
        (i as Informer<KubeObject>).hasSynced(),
      )
    );
  }

  /** An informer event on a referenced object: drop a voided write, wake its Rollouts. */
  private touch(kind: RefKind, ev: InformerEvent, obj: KubeObject): void {
    const key = objectKey(obj);
    if (ev === 'delete') this.overlay.deleted(`${kind}:${key}`, obj);
    this.wake(kind, key);
  }

  private wake(kind: RefKind, key: string): void {
    for (const r of this.index.rolloutsReferring(kind, key)) this.o.enqueue(r);
  }

  /** Remembers an object the controller just wrote, until the informer catches up. */
  recordWrite(kind: Kind, obj: KubeObject): void {
    this.overlay.record(`${kind}:${objectKey(obj)}`, obj);
  }

  private read<T extends KubeObject>(
    kind: Kind,
    informer: Informer<T>,
    key: string,
  ): T | undefined {
    return this.overlay.read(`${kind}:${key}`, informer.get(key));
  }

  rollout(key: string): RolloutObject | undefined {
    return this.read('rollout', this.rollouts, key);
  }

  /** The objects a rollout refers to, from the caches (no API calls). */
  observe(r: RolloutObject): Observed {
    const refs = refsOf(r);
    const ns = r.metadata.namespace;
    const spec = r.spec as Record<string, Record<string, unknown> | undefined> | undefined;
    const name = (v: unknown): string => (typeof v === 'string' ? v : '');
    const deployment = (n: string): Deployment | undefined =>
      n ? this.read('deployment', this.deployments, `${ns}/${n}`) : undefined;
    const svc = (host: string): Service | undefined =>
      host ? this.read('service', this.services, serviceKeyOfHost(host, ns)) : undefined;
    const hpaKey = refs.canary ? this.index.hpaOf(refs.canary) : undefined;
    return {
      primary: deployment(name(spec?.primary?.name)),
      canary: deployment(name(spec?.canary?.name)),
      primaryService: svc(name(spec?.primary?.host)),
      canaryService: svc(name(spec?.canary?.host)),
      virtualService: refs.virtualService
        ? this.read('virtualservice', this.virtualServices, refs.virtualService)
        : undefined,
      canaryHpa: hpaKey ? this.hpas.get(hpaKey) : undefined,
    };
  }

  /** Rollouts referring to the given Deployment, as primary or canary. */
  rolloutsOfDeployment(key: string): string[] {
    return this.index.rolloutsReferring('deployment', key);
  }
}
