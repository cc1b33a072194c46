// The controller's view of the cluster: one informer per resource kind, an index from
// each referenced object to the Rollouts that refer to it, and an overlay of the
// controller's own recent writes so a pass never acts on a cache older than what it
// wrote itself.

import {
  ISTIO_GROUP,
  Informer,
  ROLLOUT,
  abortableSleep,
  VIRTUAL_SERVICE_VERSIONS,
  isApiError,
  objectKey,
  resourcePath,
} from '@steerer/common';
import type {
  Deployment,
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

export const KINDS = ['rollout', 'deployment', 'service', 'virtualservice', 'hpa'] as const;
export type Kind = (typeof KINDS)[number];

interface Refs {
  namespace: string;
  deployments: string[];
  services: string[];
  virtualService: string;
  canary: string;
}

/** Service key of a destination host written as name, name.ns or an FQDN. */
export function serviceKeyOfHost(host: string, namespace: string): string {
  const [name, ns] = host.split('.');
  return `${ns ?? namespace}/${name ?? host}`;
}

function refsOf(r: RolloutObject): Refs | undefined {
  const spec = r.spec as Record<string, Record<string, unknown> | undefined> | undefined;
  const ns = r.metadata.namespace;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const primary = str(spec?.primary?.name);
  const canary = str(spec?.canary?.name);
  const primaryHost = str(spec?.primary?.host);
  const canaryHost = str(spec?.canary?.host);
  const vs = str(spec?.virtualService?.name);
  return {
    namespace: ns,
    deployments: [primary, canary].filter((x): x is string => !!x).map((n) => `${ns}/${n}`),
    services: [primaryHost, canaryHost].filter((x): x is string => !!x).map((h) => serviceKeyOfHost(h, ns)),
    virtualService: vs ? `${ns}/${vs}` : '',
    canary: canary ? `${ns}/${canary}` : '',
  };
}

interface Overlay {
  obj: KubeObject;
  at: number;
}

const OVERLAY_TTL_MS = 30_000;

function rvNumber(o: KubeObject | undefined): number {
  const n = Number(o?.metadata.resourceVersion);
  return Number.isFinite(n) ? n : -1;
}

export interface ClusterOptions {
  client: KubeClient;
  logger: Logger;
  /** Watch only this namespace; all namespaces when undefined. */
  namespace: string | undefined;
  /** A rollout key needs a look. */
  enqueue: (rolloutKey: string) => void;
  onInformerRestart?: (kind: Kind, reason: 'relist' | 'error') => void;
}

export class Cluster {
  readonly rollouts: Informer<RolloutObject>;
  readonly deployments: Informer<Deployment>;
  readonly services: Informer<Service>;
  readonly hpas: Informer<HorizontalPodAutoscaler>;
  virtualServices!: Informer<VirtualService>;
  vsVersion!: VirtualServiceVersion;
  /** object kind/key → rollout keys referring to it */
  private readonly index = new Map<string, Set<string>>();
  private readonly refs = new Map<string, Refs>();
  /** canary deployment key → HPA key */
  private readonly hpaByTarget = new Map<string, string>();
  private readonly overlay = new Map<string, Overlay>();

  constructor(private readonly o: ClusterOptions) {
    const ns = o.namespace;
    const mk = <T extends KubeObject>(kind: Kind, group: string, version: string, plural: string): Informer<T> => {
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
    this.rollouts.on((ev, r) => {
      const key = objectKey(r);
      this.reindex(key, ev === 'delete' ? undefined : r);
      o.enqueue(key);
    });
    this.deployments.on((_ev, d) => this.touch('deployment', objectKey(d)));
    this.services.on((_ev, s) => this.touch('service', objectKey(s)));
    this.hpas.on((ev, h) => {
      const key = objectKey(h);
      const target = h.spec.scaleTargetRef;
      const targetKey = `${h.metadata.namespace ?? ''}/${target.name}`;
      if (ev === 'delete') {
        if (this.hpaByTarget.get(targetKey) === key) this.hpaByTarget.delete(targetKey);
      } else if (target.kind === 'Deployment') {
        this.hpaByTarget.set(targetKey, key);
      }
      this.touch('deployment', targetKey);
    });
  }

  /** Picks the VirtualService version the API server serves and starts every informer. */
  async start(signal: AbortSignal): Promise<Promise<void>[]> {
    this.vsVersion = await this.discoverVirtualServiceVersion(signal);
    this.virtualServices = new Informer<VirtualService>(this.o.client, {
      path: resourcePath({ group: ISTIO_GROUP, version: this.vsVersion, plural: 'virtualservices', namespace: this.o.namespace }),
      logger: this.o.logger.child({ informer: 'virtualservice' }),
      onRestart: (reason) => this.o.onInformerRestart?.('virtualservice', reason),
    });
    this.virtualServices.on((_ev, v) => this.touch('virtualservice', objectKey(v)));
    return [this.deployments, this.services, this.hpas, this.virtualServices, this.rollouts].map((i) =>
      (i as Informer<KubeObject>).run(signal),
    );
  }

  private async discoverVirtualServiceVersion(signal: AbortSignal): Promise<VirtualServiceVersion> {
    for (;;) {
      try {
        const group = await this.o.client.get<{ versions?: { version: string }[] }>(`/apis/${ISTIO_GROUP}`, { signal });
        const served = new Set((group.versions ?? []).map((v) => v.version));
        const found = VIRTUAL_SERVICE_VERSIONS.find((v) => served.has(v));
        if (found) return found;
      } catch (e) {
        if (signal.aborted) throw e;
        if (!isApiError(e, 404)) this.o.logger.warn('cannot read the Istio API group; retrying', { error: String(e) });
      }
      this.o.logger.warn(`the API server serves no VirtualService (${ISTIO_GROUP}); are the Istio CRDs installed? retrying in 10s`);
      await abortableSleep(10_000, signal);
      if (signal.aborted) throw new Error('aborted');
    }
  }

  async waitForSync(signal: AbortSignal): Promise<boolean> {
    const all = [this.rollouts, this.deployments, this.services, this.hpas, this.virtualServices] as Informer<KubeObject>[];
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

  private reindex(rolloutKey: string, r: RolloutObject | undefined): void {
    const old = this.refs.get(rolloutKey);
    if (old) for (const k of this.refKeys(old)) this.index.get(k)?.delete(rolloutKey);
    const next = r ? refsOf(r) : undefined;
    if (next) {
      this.refs.set(rolloutKey, next);
      for (const k of this.refKeys(next)) {
        let set = this.index.get(k);
        if (!set) this.index.set(k, (set = new Set()));
        set.add(rolloutKey);
      }
    } else this.refs.delete(rolloutKey);
  }

  private refKeys(r: Refs): string[] {
    return [
      ...r.deployments.map((d) => `deployment:${d}`),
      ...r.services.map((s) => `service:${s}`),
      ...(r.virtualService ? [`virtualservice:${r.virtualService}`] : []),
    ];
  }

  private touch(kind: Kind, key: string): void {
    for (const r of this.index.get(`${kind}:${key}`) ?? []) this.o.enqueue(r);
  }

  /** Remembers an object the controller just wrote, until the informer catches up. */
  recordWrite(kind: Kind, obj: KubeObject): void {
    this.overlay.set(`${kind}:${objectKey(obj)}`, { obj, at: Date.now() });
  }

  private read<T extends KubeObject>(kind: Kind, informer: Informer<T>, key: string): T | undefined {
    const cached = informer.get(key);
    const id = `${kind}:${key}`;
    const o = this.overlay.get(id);
    if (!o) return cached;
    if (Date.now() - o.at > OVERLAY_TTL_MS || (cached && rvNumber(cached) >= rvNumber(o.obj))) {
      this.overlay.delete(id);
      return cached;
    }
    return o.obj as T;
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
    const deployment = (n: string): Deployment | undefined => (n ? this.read('deployment', this.deployments, `${ns}/${n}`) : undefined);
    const svc = (host: string): Service | undefined => (host ? this.read('service', this.services, serviceKeyOfHost(host, ns)) : undefined);
    const hpaKey = refs?.canary ? this.hpaByTarget.get(refs.canary) : undefined;
    return {
      primary: deployment(name(spec?.primary?.name)),
      canary: deployment(name(spec?.canary?.name)),
      primaryService: svc(name(spec?.primary?.host)),
      canaryService: svc(name(spec?.canary?.host)),
      virtualService: refs?.virtualService ? this.read('virtualservice', this.virtualServices, refs.virtualService) : undefined,
      canaryHpa: hpaKey ? this.hpas.get(hpaKey) : undefined,
    };
  }

  /** Rollouts whose canary is the given Deployment (for the webhook's lookups). */
  rolloutsOfDeployment(key: string): string[] {
    return [...(this.index.get(`deployment:${key}`) ?? [])];
  }
}
