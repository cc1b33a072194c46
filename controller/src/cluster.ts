// The controller's view of the cluster: one informer per resource kind (one per router
// for route objects), an index from each referenced object to the Rollouts that refer to
// it (ref-index.ts), and an overlay of the controller's own recent writes (overlay.ts) so
// a pass never acts on a cache older than what it wrote itself.

import {
  Informer,
  ROLLOUT,
  ROUTERS,
  objectKey,
  resourcePath,
  rolloutRefs,
  serviceKeyOfHost,
  waitForVersion,
} from '@steerer/common';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  InformerEvent,
  KubeClient,
  KubeObject,
  Logger,
  RolloutObject,
  RolloutRefs,
  Router,
  Service,
} from '@steerer/common';
import type { Observed } from './planner/types.js';
import { WriteOverlay } from './overlay.js';
import { RefIndex, routeRefKind } from './ref-index.js';
import type { RefKind } from './ref-index.js';

/** Older Rollouts first; the name breaks ties. */
function claimOrder(a: RolloutObject, b: RolloutObject): number {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  if (at !== bt) return at < bt ? -1 : 1;
  return objectKey(a) < objectKey(b) ? -1 : 1;
}

/** What the caches hold: Steerer's own kinds, and route objects by router kind. */
export type CacheKind = 'rollout' | 'deployment' | 'service' | 'hpa' | RefKind;

/** A short label for metrics and logs: "deployment", "hpa", or a router kind in lower case. */
export function kindLabel(kind: CacheKind): string {
  return kind.startsWith('route:') ? kind.slice('route:'.length).toLowerCase() : kind;
}

export interface ClusterOptions {
  client: KubeClient;
  logger: Logger;
  /** Watch only this namespace; all namespaces when undefined. */
  namespace: string | undefined;
  /** A rollout key needs a look. */
  enqueue: (rolloutKey: string) => void;
  onInformerRestart?: (kind: string, reason: 'relist' | 'error') => void;
  /** Injected for tests (the overlay's clock). */
  now?: () => number;
}

interface RouteCache {
  router: Router;
  version: string;
  informer: Informer<KubeObject>;
}

export class Cluster {
  readonly rollouts: Informer<RolloutObject>;
  readonly deployments: Informer<Deployment>;
  readonly services: Informer<Service>;
  readonly hpas: Informer<HorizontalPodAutoscaler>;
  private readonly routes = new Map<string, RouteCache>();
  private readonly index = new RefIndex();
  private readonly overlay: WriteOverlay;

  constructor(private readonly o: ClusterOptions) {
    this.rollouts = this.informer('rollout', ROLLOUT.group, ROLLOUT.version, ROLLOUT.plural);
    this.deployments = this.informer('deployment', 'apps', 'v1', 'deployments');
    this.services = this.informer('service', '', 'v1', 'services');
    this.hpas = this.informer('hpa', 'autoscaling', 'v2', 'horizontalpodautoscalers');
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

  private informer<T extends KubeObject>(
    kind: CacheKind,
    group: string,
    version: string,
    plural: string,
  ): Informer<T> {
    return new Informer<T>(this.o.client, {
      path: resourcePath({ group, version, plural, namespace: this.o.namespace }),
      logger: this.o.logger.child({ informer: kindLabel(kind) }),
      onRestart: (reason) => this.o.onInformerRestart?.(kindLabel(kind), reason),
    });
  }

  private get all(): Informer<KubeObject>[] {
    return [
      this.deployments,
      this.services,
      this.hpas,
      ...[...this.routes.values()].map((r) => r.informer),
      this.rollouts,
    ] as Informer<KubeObject>[];
  }

  /** Picks the version each router's resource is served at and starts every informer. */
  async start(signal: AbortSignal): Promise<Promise<void>[]> {
    for (const router of ROUTERS) {
      const version = await waitForVersion(this.o.client, router, {
        signal,
        logger: this.o.logger,
      });
      if (version === undefined) throw new Error('aborted');
      const kind = routeRefKind(router.kind);
      const informer = this.informer<KubeObject>(kind, router.group, version, router.resource);
      informer.on((ev, obj) => this.touch(kind, ev, obj));
      this.routes.set(router.kind, { router, version, informer });
    }
    return this.all.map((i) => i.run(signal));
  }

  /** The version a router's resource is read and written at (after start). */
  versionOf(routerKind: string): string | undefined {
    return this.routes.get(routerKind)?.version;
  }

  async waitForSync(signal: AbortSignal): Promise<boolean> {
    const results = await Promise.all(this.all.map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  hasSynced(): boolean {
    return this.routes.size === ROUTERS.length && this.all.every((i) => i.hasSynced());
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
  recordWrite(kind: CacheKind, obj: KubeObject): void {
    this.overlay.record(`${kind}:${objectKey(obj)}`, obj);
  }

  private read<T extends KubeObject>(
    kind: CacheKind,
    informer: Informer<T> | undefined,
    key: string,
  ): T | undefined {
    return this.overlay.read(`${kind}:${key}`, informer?.get(key));
  }

  rollout(key: string): RolloutObject | undefined {
    return this.read('rollout', this.rollouts, key);
  }

  /** The objects a rollout refers to, from the caches (no API calls). */
  observe(r: RolloutObject): Observed {
    const ns = r.metadata.namespace;
    const refs = this.index.refs(objectKey(r)) ?? rolloutRefs(r);
    const deployment = (n: string | undefined): Deployment | undefined =>
      n ? this.read('deployment', this.deployments, `${ns}/${n}`) : undefined;
    const svc = (host: string | undefined): Service | undefined =>
      host ? this.read('service', this.services, serviceKeyOfHost(host, ns)) : undefined;
    const hpaKey = refs.canaryName ? this.index.hpaOf(`${ns}/${refs.canaryName}`) : undefined;
    const route = refs.route;
    return {
      primary: deployment(refs.primaryName),
      canary: deployment(refs.canaryName),
      primaryService: svc(refs.primaryHost),
      canaryService: svc(refs.canaryHost),
      route: route
        ? this.read(
            routeRefKind(route.kind),
            this.routes.get(route.kind)?.informer,
            `${ns}/${route.name}`,
          )
        : undefined,
      canaryHpa: hpaKey ? this.hpas.get(hpaKey) : undefined,
      conflict: this.conflict(r, refs),
    };
  }

  /**
   * Another Rollout that claimed one of this Rollout's Deployments or Services first (the
   * older one, then the name): then this one must wait, or the two would relabel and
   * re-route the same objects back and forth.
   */
  private conflict(r: RolloutObject, refs: RolloutRefs): string | undefined {
    const ns = r.metadata.namespace;
    const mine = objectKey(r);
    const claims: [RefKind, string, string][] = [];
    for (const [name, role] of [
      [refs.primaryName, 'primary'],
      [refs.canaryName, 'canary'],
    ] as const)
      if (name) claims.push(['deployment', `${ns}/${name}`, `Deployment ${ns}/${name} (${role})`]);
    for (const host of [refs.primaryHost, refs.canaryHost])
      if (host)
        claims.push([
          'service',
          serviceKeyOfHost(host, ns),
          `Service ${serviceKeyOfHost(host, ns)}`,
        ]);
    for (const [kind, key, what] of claims) {
      const owner = this.index
        .rolloutsReferring(kind, key)
        .map((k) => this.rollouts.get(k))
        .filter((o): o is RolloutObject => o !== undefined)
        .sort(claimOrder)[0];
      if (owner && objectKey(owner) !== mine) {
        return `${what} is already used by Rollout ${objectKey(owner)}, which claimed it first; a Deployment or Service belongs to one Rollout only`;
      }
    }
    return undefined;
  }
}
