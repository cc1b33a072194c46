// The controller's view of the cluster: one informer per resource kind (one per router
// for route objects), an index from each referenced object to the Rollouts that refer to
// it (ref-index.ts), and an overlay of the controller's own recent writes (overlay.ts) so
// a pass never acts on a cache older than what it wrote itself.
//
// The caches keep only what is read (model/slim.ts). A Deployment, Service or route object
// no Rollout names is kept as a skeleton (its key and resourceVersion): the Rollouts are
// listed first, so at start every named object arrives whole, and one named later (a new
// Rollout, a changed spec) is fetched once with a GET before its Rollout is planned.

import {
  Backoff,
  Informer,
  ROLLOUT,
  ROUTERS,
  abortableSleep,
  discoverVersion,
  errorMessage,
  isApiError,
  objectKey,
  resourcePath,
  rolloutRefs,
  serviceKeyOfHost,
  skeletonOf,
  slimDeployment,
  slimHpa,
  slimObject,
  slimService,
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
  RouteRef,
  Router,
  Service,
  SubsetKind,
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

/**
 * What the caches hold: Steerer's own kinds, route objects by router kind, and the objects
 * defining a router's subsets (`subsets:DestinationRule`).
 */
export type CacheKind =
  'rollout' | 'deployment' | 'service' | 'hpa' | RefKind | `subsets:${string}`;

/** A short label for metrics and logs: "deployment", "hpa", or a router kind in lower case. */
export function kindLabel(kind: CacheKind): string {
  if (kind.startsWith('subsets:')) return kind.slice('subsets:'.length).toLowerCase();
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
  /** The routers to watch (--routers); every router Steerer knows when undefined. */
  routers?: readonly Router[];
  /** Injected for tests (the overlay's clock). */
  now?: () => number;
  /** Injected for tests: how discovery of a route resource not served yet backs off. */
  discovery?: {
    backoff?: { initialMs: number; maxMs: number };
    sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  };
}

/**
 * A router's route objects: looked for until the API server serves their resource (its
 * CRDs may be installed after the controller started), then watched.
 */
type RouteCache =
  | { router: Router; state: 'missing'; message: string }
  | {
      router: Router;
      state: 'watching';
      version: string;
      informer: Informer<KubeObject>;
      /** Served when the controller started: its first list is part of the initial sync. */
      initial: boolean;
    };

/**
 * The objects defining a router's subsets (Istio: DestinationRules), looked for and watched
 * like route objects; only Rollouts naming subsets read them.
 */
type SubsetCache =
  | { kind: SubsetKind; state: 'missing'; message: string }
  | { kind: SubsetKind; state: 'watching'; informer: Informer<KubeObject>; initial: boolean };

export class Cluster {
  readonly rollouts: Informer<RolloutObject>;
  readonly deployments: Informer<Deployment>;
  readonly services: Informer<Service>;
  readonly hpas: Informer<HorizontalPodAutoscaler>;
  private readonly routes = new Map<string, RouteCache>();
  /** By router kind. */
  private readonly subsetCaches = new Map<string, SubsetCache>();
  private readonly index = new RefIndex();
  private readonly overlay: WriteOverlay;
  /** The cached objects that are skeletons (no Rollout named them when they arrived). */
  private readonly skeletons = new WeakSet<object>();
  /** Rollouts waiting for a named object to be fetched whole. */
  private readonly filling = new Set<string>();
  private signal: AbortSignal | undefined;

  constructor(private readonly o: ClusterOptions) {
    this.rollouts = this.informer(
      'rollout',
      ROLLOUT.group,
      ROLLOUT.version,
      ROLLOUT.plural,
      slimObject,
    );
    this.deployments = this.informer('deployment', 'apps', 'v1', 'deployments', (d) =>
      this.keep('deployment', d, slimDeployment),
    );
    this.services = this.informer('service', '', 'v1', 'services', (s) =>
      this.keep('service', s, slimService),
    );
    this.hpas = this.informer('hpa', 'autoscaling', 'v2', 'horizontalpodautoscalers', slimHpa);
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
    transform: (obj: T) => T,
  ): Informer<T> {
    return new Informer<T>(this.o.client, {
      path: resourcePath({ group, version, plural, namespace: this.o.namespace }),
      logger: this.o.logger.child({ informer: kindLabel(kind) }),
      onRestart: (reason) => this.o.onInformerRestart?.(kindLabel(kind), reason),
      transform,
    });
  }

  /** What the cache keeps of an object: its slim projection if a Rollout names it, else a skeleton. */
  private keep<T extends KubeObject>(kind: RefKind, obj: T, slim: (o: T) => T): T {
    if (this.index.referenced(kind, objectKey(obj))) return slim(obj);
    const skeleton = skeletonOf(obj);
    this.skeletons.add(skeleton);
    return skeleton;
  }

  private isSkeleton(obj: KubeObject | undefined): boolean {
    return obj !== undefined && this.skeletons.has(obj);
  }

  /** The informers the first sync waits for: Steerer's own kinds, and routes served at start. */
  private get initial(): Informer<KubeObject>[] {
    const routes = [...this.routes.values(), ...this.subsetCaches.values()].flatMap((r) =>
      r.state === 'watching' && r.initial ? [r.informer] : [],
    );
    return [
      this.deployments,
      this.services,
      this.hpas,
      ...routes,
      this.rollouts,
    ] as Informer<KubeObject>[];
  }

  /**
   * Starts every informer. Each router's resource is looked up once now; one served already
   * is watched at once and synced with the rest, one not served (its CRDs not installed)
   * is looked for in the background and watched as soon as it is, without a restart.
   */
  async start(signal: AbortSignal): Promise<Promise<void>[]> {
    this.signal = signal;
    // The Rollouts first: what they name is then known as the other kinds arrive, so those
    // are cached whole (slimmed) at once and only the objects nobody names as skeletons.
    const rollouts = this.rollouts.run(signal);
    await this.rollouts.waitForSync(signal);
    const routers = this.o.routers ?? ROUTERS;
    const routes = await Promise.all([
      ...routers.map((router) => this.startRouter(router, signal)),
      ...routers.flatMap((router) =>
        router.subsets ? [this.startSubsets(router, router.subsets, signal)] : [],
      ),
    ]);
    const own = [this.deployments, this.services, this.hpas] as Informer<KubeObject>[];
    return [rollouts, ...own.map((i) => i.run(signal)), ...routes.map((r) => r.run)];
  }

  /**
   * One look for the router's resource; watches it if served, else keeps looking. Resolves
   * after that look, with what runs until `signal` aborts.
   */
  private async startRouter(router: Router, signal: AbortSignal): Promise<{ run: Promise<void> }> {
    const found = await discoverVersion(this.o.client, router, { signal }).catch((e: unknown) => ({
      ok: false as const,
      message: errorMessage(e),
    }));
    if (signal.aborted) return { run: Promise.resolve() };
    if (found.ok) {
      this.o.logger.info(`${router.kind} version discovered`, { version: found.version });
      return { run: this.watchRoutes(router, found.version, true).run(signal) };
    }
    this.routes.set(router.kind, { router, state: 'missing', message: found.message });
    this.o.logger.warn(`${found.message}; Rollouts naming a ${router.kind} wait until it is`);
    return { run: this.startLater(router, signal) };
  }

  /** Looks for the router's resource with capped backoff; watches it once served. */
  private async startLater(router: Router, signal: AbortSignal): Promise<void> {
    const version = await waitForVersion(this.o.client, router, {
      signal,
      logger: this.o.logger,
      onMiss: (message) => this.routes.set(router.kind, { router, state: 'missing', message }),
      ...(this.o.discovery?.backoff ? { backoff: this.o.discovery.backoff } : {}),
      ...(this.o.discovery?.sleep ? { sleep: this.o.discovery.sleep } : {}),
    });
    if (version === undefined) return;
    const informer = this.watchRoutes(router, version, false);
    const run = informer.run(signal);
    // Rollouts waiting for this kind look again once its objects are known.
    if (await informer.waitForSync(signal)) {
      for (const key of this.index.rolloutsWithRouteKind(router.kind)) this.o.enqueue(key);
    }
    return run;
  }

  private watchRoutes(router: Router, version: string, initial: boolean): Informer<KubeObject> {
    const kind = routeRefKind(router.kind);
    const informer = this.informer<KubeObject>(kind, router.group, version, router.resource, (o) =>
      this.keep(kind, o, slimObject),
    );
    informer.on((ev, obj) => this.touch(kind, ev, obj));
    this.routes.set(router.kind, { router, state: 'watching', version, informer, initial });
    return informer;
  }

  /**
   * One look for the resource of the router's subset objects; watches it if served, else
   * keeps looking (like startRouter). Rollouts naming subsets wait meanwhile.
   */
  private async startSubsets(
    router: Router,
    kind: SubsetKind,
    signal: AbortSignal,
  ): Promise<{ run: Promise<void> }> {
    const found = await discoverVersion(this.o.client, kind, { signal }).catch((e: unknown) => ({
      ok: false as const,
      message: errorMessage(e),
    }));
    if (signal.aborted) return { run: Promise.resolve() };
    if (found.ok) return { run: this.watchSubsets(router, kind, found.version, true).run(signal) };
    const missing = (message: string): void => {
      this.subsetCaches.set(router.kind, { kind, state: 'missing', message });
    };
    missing(found.message);
    this.o.logger.warn(`${found.message}; Rollouts naming subsets wait until it is`);
    const later = async (): Promise<void> => {
      const version = await waitForVersion(this.o.client, kind, {
        signal,
        logger: this.o.logger,
        onMiss: missing,
        ...(this.o.discovery?.backoff ? { backoff: this.o.discovery.backoff } : {}),
        ...(this.o.discovery?.sleep ? { sleep: this.o.discovery.sleep } : {}),
      });
      if (version === undefined) return;
      const informer = this.watchSubsets(router, kind, version, false);
      const run = informer.run(signal);
      if (await informer.waitForSync(signal)) {
        for (const key of this.index.rolloutsWithRouteKind(router.kind)) this.o.enqueue(key);
      }
      return run;
    };
    return { run: later() };
  }

  /** Watches subset objects; an event wakes the Rollouts using the Service it defines subsets of. */
  private watchSubsets(
    router: Router,
    kind: SubsetKind,
    version: string,
    initial: boolean,
  ): Informer<KubeObject> {
    const informer = this.informer<KubeObject>(
      `subsets:${kind.kind}`,
      kind.group,
      version,
      kind.resource,
      slimObject,
    );
    informer.on((_ev, obj, old) => {
      const keys = new Set(
        [kind.serviceOf(obj), old && kind.serviceOf(old)].flatMap((s) =>
          s ? [`${s.namespace}/${s.name}`] : [],
        ),
      );
      for (const key of keys) this.wake('service', key);
    });
    this.subsetCaches.set(router.kind, { kind, state: 'watching', informer, initial });
    return informer;
  }

  /** The subset objects of the namespaces of a Rollout's hosts, or why they cannot be read. */
  private subsetsOf(refs: RolloutRefs, ns: string): { rules?: KubeObject[]; unavailable?: string } {
    if (refs.primarySubset === undefined && refs.canarySubset === undefined) return {};
    const cache = refs.route ? this.subsetCaches.get(refs.route.kind) : undefined;
    if (!cache) return {};
    if (cache.state === 'missing') return { unavailable: cache.message };
    if (!cache.informer.hasSynced()) {
      return { unavailable: `the ${cache.kind.kind} cache has not synced yet` };
    }
    const namespaces = new Set(
      [refs.primaryHost, refs.canaryHost].flatMap((h) =>
        h ? [serviceKeyOfHost(h, ns).split('/')[0]] : [],
      ),
    );
    return {
      rules: cache.informer.list().filter((o) => namespaces.has(o.metadata.namespace ?? '')),
    };
  }

  /** The version a router's resource is read and written at, once it is watched. */
  versionOf(routerKind: string): string | undefined {
    const r = this.routes.get(routerKind);
    return r?.state === 'watching' ? r.version : undefined;
  }

  /**
   * Resolves once Steerer's own kinds and the route kinds served at start have their first
   * list; route kinds served later never hold it up.
   */
  async waitForSync(signal: AbortSignal): Promise<boolean> {
    const results = await Promise.all(this.initial.map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  hasSynced(): boolean {
    return this.initial.every((i) => i.hasSynced());
  }

  /** The route object a Rollout names, or why its kind cannot be read now. */
  private routeOf(
    ref: RouteRef,
    ns: string,
  ): { route?: KubeObject | undefined; unavailable?: string } {
    const cache = this.routes.get(ref.kind);
    if (!cache) {
      const on = (this.o.routers ?? ROUTERS).map((r) => r.kind).join(', ');
      return { unavailable: `this controller watches only ${on} (--routers)` };
    }
    if (cache.state === 'missing') return { unavailable: cache.message };
    if (!cache.informer.hasSynced()) {
      return { unavailable: `the ${ref.kind} cache has not synced yet` };
    }
    return { route: this.read(routeRefKind(ref.kind), cache.informer, `${ns}/${ref.name}`) };
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

  /**
   * True while an object the Rollout names is cached only as a skeleton: it is being
   * fetched whole, and the Rollout is enqueued again once it is. A reconcile plans nothing
   * meanwhile (the planner would take a skeleton for a missing or empty object).
   */
  pending(rolloutKey: string): boolean {
    if (this.filling.has(rolloutKey)) return true;
    const r = this.rollouts.get(rolloutKey);
    if (!r) return false;
    const missing = this.skeletonRefs(r);
    if (missing.length === 0) return false;
    this.filling.add(rolloutKey);
    void this.fill(rolloutKey, missing).finally(() => {
      this.filling.delete(rolloutKey);
      this.o.enqueue(rolloutKey);
    });
    return true;
  }

  /** The objects a Rollout names that are cached as skeletons, with where to GET them. */
  private skeletonRefs(
    r: RolloutObject,
  ): { key: string; informer: Informer<KubeObject>; path: string }[] {
    const ns = r.metadata.namespace;
    const refs = this.index.refs(objectKey(r)) ?? rolloutRefs(r);
    const out: { key: string; informer: Informer<KubeObject>; path: string }[] = [];
    const look = (
      kind: CacheKind,
      informer: Informer<KubeObject>,
      key: string,
      path: (namespace: string, name: string) => string,
    ): void => {
      if (!this.isSkeleton(this.read(kind, informer, key))) return;
      const [namespace = '', name = ''] = key.split('/');
      out.push({ key, informer, path: path(namespace, name) });
    };
    for (const n of [refs.primaryName, refs.canaryName])
      if (n)
        look('deployment', this.deployments as Informer<KubeObject>, `${ns}/${n}`, (ns2, name) =>
          resourcePath({
            group: 'apps',
            version: 'v1',
            plural: 'deployments',
            namespace: ns2,
            name,
          }),
        );
    for (const host of [refs.primaryHost, refs.canaryHost])
      if (host)
        look(
          'service',
          this.services as Informer<KubeObject>,
          serviceKeyOfHost(host, ns),
          (ns2, name) =>
            resourcePath({ group: '', version: 'v1', plural: 'services', namespace: ns2, name }),
        );
    const route = refs.route ? this.routes.get(refs.route.kind) : undefined;
    if (refs.route && route?.state === 'watching') {
      const router = route.router;
      const version = route.version;
      look(routeRefKind(refs.route.kind), route.informer, `${ns}/${refs.route.name}`, (ns2, name) =>
        resourcePath({
          group: router.group,
          version,
          plural: router.resource,
          namespace: ns2,
          name,
        }),
      );
    }
    return out;
  }

  /** The slim projection the informer's cache holds of a named object. */
  private slimmed(informer: Informer<KubeObject>, obj: KubeObject): KubeObject {
    if (informer === (this.deployments as Informer<KubeObject>)) {
      return slimDeployment(obj as Deployment);
    }
    if (informer === (this.services as Informer<KubeObject>)) return slimService(obj as Service);
    return slimObject(obj);
  }

  /** Fetches skeletons whole (retrying with backoff until they are, or are gone). */
  private async fill(
    rolloutKey: string,
    missing: { key: string; informer: Informer<KubeObject>; path: string }[],
  ): Promise<void> {
    const signal = this.signal;
    await Promise.all(
      missing.map(async (m) => {
        const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
        while (!signal?.aborted) {
          try {
            const got = await this.o.client.get<KubeObject>(m.path, { signal });
            m.informer.fill(m.key, this.slimmed(m.informer, got), (c) => this.isSkeleton(c));
            return;
          } catch (e) {
            if (isApiError(e, 404)) {
              // Gone: the watch removes its skeleton. A pause, so a watch lagging behind
              // does not turn the next look into a tight loop of GETs.
              if (signal) await abortableSleep(200, signal);
              return;
            }
            const delay = backoff.next();
            this.o.logger.warn('cannot fetch an object a Rollout names; retrying', {
              rollout: rolloutKey,
              object: m.key,
              error: errorMessage(e),
              retryInMs: delay,
            });
            if (signal) await abortableSleep(delay, signal);
          }
        }
      }),
    );
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
    const route = refs.route ? this.routeOf(refs.route, ns) : {};
    const subsets = this.subsetsOf(refs, ns);
    return {
      ...(subsets.rules ? { subsetRules: subsets.rules } : {}),
      ...(subsets.unavailable !== undefined ? { subsetRulesUnavailable: subsets.unavailable } : {}),
      primary: deployment(refs.primaryName),
      canary: deployment(refs.canaryName),
      primaryService: svc(refs.primaryHost),
      canaryService: svc(refs.canaryHost),
      route: route.route,
      ...(route.unavailable !== undefined ? { routeUnavailable: route.unavailable } : {}),
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
