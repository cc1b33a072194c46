import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient, MemoryLogger, istioVirtualService } from '@steerer/common';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  KubeObject,
  RolloutObject,
  Service,
} from '@steerer/common';
import { FakeApiServer, sendJson } from '@steerer/common/testing/fake-api-server';
import type { ApiRequest, WatchStream } from '@steerer/common/testing/fake-api-server';
import { Cluster } from './cluster.js';

const PATHS = {
  rollouts: '/apis/apps.weave.works/v1beta1/rollouts',
  deployments: '/apis/apps/v1/deployments',
  services: '/api/v1/services',
  hpas: '/apis/autoscaling/v2/horizontalpodautoscalers',
  virtualServices: '/apis/networking.istio.io/v1beta1/virtualservices',
  destinationRules: '/apis/networking.istio.io/v1beta1/destinationrules',
} as const;
const NOT_SERVED =
  'the API server serves no gateway.networking.k8s.io HTTPRoute; install the Gateway API CRDs (standard channel)';

function meta(name: string, rv: string, namespace = 'test') {
  return { name, namespace, resourceVersion: rv };
}

function rollout(name: string, rv: string, canary = 'podinfo-canary'): RolloutObject {
  return {
    metadata: meta(name, rv),
    spec: {
      targetKind: 'Deployment',
      primary: { name: 'podinfo', host: 'podinfo' },
      canary: { name: canary, host: `${canary}.test.svc.cluster.local` },
      virtualService: { name: 'podinfo', weight: 10 },
    },
  };
}

function deployment(name: string, rv: string, replicas = 1): Deployment {
  return {
    metadata: meta(name, rv),
    spec: { replicas, selector: { matchLabels: { app: name } }, template: {} },
  };
}

function service(name: string, rv: string): Service {
  return { metadata: meta(name, rv), spec: { selector: { app: name } } };
}

function routeRollout(name: string, rv: string): RolloutObject {
  const r = rollout(name, rv, `${name}-canary`);
  const spec = r.spec as Record<string, unknown>;
  delete spec.virtualService;
  spec.httpRoute = { name, weight: 10 };
  return r;
}

function hpa(name: string, rv: string, target: string): HorizontalPodAutoscaler {
  return {
    metadata: meta(name, rv),
    spec: { scaleTargetRef: { kind: 'Deployment', name: target }, maxReplicas: 3 },
  };
}

let api: FakeApiServer;
let client: KubeClient;
let stop: AbortController;
let runs: Promise<void>[];
let enqueued: string[];

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
  stop = new AbortController();
  runs = [];
  enqueued = [];
});

afterEach(async () => {
  stop.abort();
  await Promise.all(runs);
  client.close();
  await api.close();
});

const isWatch = (r: ApiRequest): boolean => r.query.get('watch') === 'true';

function serve(
  lists: Partial<Record<keyof typeof PATHS, KubeObject[]>>,
  served = ['v1alpha3', 'v1beta1'],
): void {
  api.on(
    (r) => r.path === '/apis/networking.istio.io',
    (_r, res) =>
      sendJson(res, 200, { kind: 'APIGroup', versions: served.map((version) => ({ version })) }),
  );
  serveResources('networking.istio.io', served, ['virtualservices', 'destinationrules']);
  for (const [k, path] of Object.entries(PATHS)) {
    api.on(
      (r) => r.path === path && !isWatch(r),
      (_r, res) =>
        sendJson(res, 200, {
          metadata: { resourceVersion: '100' },
          items: lists[k as keyof typeof PATHS] ?? [],
        }),
    );
  }
  api.streamWatches();
}

/** /apis/GROUP/VERSION for each version, listing the resources. */
function serveResources(group: string, versions: string[], resources: string[]): void {
  for (const version of versions) {
    api.on(
      (r) => r.path === `/apis/${group}/${version}`,
      (_r, res) =>
        sendJson(res, 200, {
          kind: 'APIResourceList',
          groupVersion: `${group}/${version}`,
          resources: resources.map((name) => ({ name, namespaced: true })),
        }),
    );
  }
}

/** The Gateway API group, as installing its CRDs makes the API server serve it. */
function installGatewayApi(resources: string[], routes: KubeObject[] = []): void {
  api.on(
    (r) => r.path === '/apis/gateway.networking.k8s.io',
    (_r, res) =>
      sendJson(res, 200, {
        kind: 'APIGroup',
        versions: [{ version: 'v1' }, { version: 'v1beta1' }],
      }),
  );
  serveResources('gateway.networking.k8s.io', ['v1', 'v1beta1'], resources);
  // Both versions: a look that spans the install may pick v1beta1 (a real API server too).
  api.on(
    (r) =>
      /^\/apis\/gateway\.networking\.k8s\.io\/v1(beta1)?\/httproutes$/.test(r.path) && !isWatch(r),
    (_r, res) => sendJson(res, 200, { metadata: { resourceVersion: '200' }, items: routes }),
  );
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Starts a Cluster, waits for its caches, and returns it with its watch streams. */
async function started(
  lists: Partial<Record<keyof typeof PATHS, KubeObject[]>>,
  now?: () => number,
  options: Partial<ConstructorParameters<typeof Cluster>[0]> = {},
): Promise<{ cluster: Cluster; watch: Record<keyof typeof PATHS, WatchStream> }> {
  serve(lists);
  const cluster = new Cluster({
    client,
    logger: new MemoryLogger(),
    namespace: undefined,
    enqueue: (k) => enqueued.push(k),
    ...(now ? { now } : {}),
    discovery: { backoff: { initialMs: 2, maxMs: 10 } },
    ...options,
  });
  runs = await cluster.start(stop.signal);
  expect(await cluster.waitForSync(stop.signal)).toBe(true);
  expect(cluster.hasSynced()).toBe(true);
  const byPath = new Map<string, WatchStream>();
  while (byPath.size < Object.keys(PATHS).length) {
    const w = await api.nextWatch();
    byPath.set(w.request.path, w);
  }
  const watch = Object.fromEntries(
    Object.entries(PATHS).map(([k, p]) => [k, byPath.get(p) as WatchStream]),
  ) as Record<keyof typeof PATHS, WatchStream>;
  return { cluster, watch };
}

describe('Cluster', () => {
  it('serves the preferred VirtualService version and watches every kind', async () => {
    const { cluster } = await started({});
    expect(cluster.versionOf('VirtualService')).toBe('v1beta1');
    const watched = api.requests
      .filter(isWatch)
      .map((r) => r.path)
      .sort();
    expect(watched).toEqual(Object.values(PATHS).sort());
  });

  it('observes the objects a Rollout refers to from its caches', async () => {
    const r = rollout('podinfo', '1');
    const { cluster } = await started({
      rollouts: [r],
      deployments: [
        deployment('podinfo', '2'),
        deployment('podinfo-canary', '3'),
        deployment('unrelated', '4'),
      ],
      services: [service('podinfo', '5'), service('podinfo-canary', '6')],
      virtualServices: [{ metadata: meta('podinfo', '7') }],
      hpas: [hpa('canary-hpa', '8', 'podinfo-canary')],
    });
    // The Rollouts are listed first, so each named object's arrival wakes it too.
    expect(new Set(enqueued)).toEqual(new Set(['test/podinfo']));
    const requestsBefore = api.requests.length;
    const o = cluster.observe(r);
    expect(api.requests.length).toBe(requestsBefore);
    expect(o.primary?.metadata.resourceVersion).toBe('2');
    expect(o.canary?.metadata.resourceVersion).toBe('3');
    expect(o.primaryService?.metadata.name).toBe('podinfo');
    expect(o.canaryService?.metadata.name).toBe('podinfo-canary');
    expect(o.route?.metadata.resourceVersion).toBe('7');
    expect(o.canaryHpa?.metadata.name).toBe('canary-hpa');
    expect(cluster.rollout('test/podinfo')).toEqual(r);
  });

  it('wakes the Rollouts that refer to a changed object, and only those', async () => {
    const { cluster, watch } = await started({
      rollouts: [rollout('a', '1'), rollout('b', '2', 'other-canary')],
    });
    enqueued.length = 0;
    watch.deployments.send('MODIFIED', deployment('podinfo-canary', '10'));
    watch.deployments.send('ADDED', deployment('unrelated', '11'));
    watch.services.send('ADDED', service('other-canary', '12'));
    watch.virtualServices.send('DELETED', { metadata: meta('podinfo', '13') });
    watch.services.send('ADDED', { metadata: meta('podinfo', '14', 'prod'), spec: {} });
    await until(() => enqueued.length >= 4, 'four wake-ups');
    // Events on unrelated objects were applied too, and woke nobody.
    await until(
      () =>
        cluster.deployments.get('test/unrelated') !== undefined &&
        cluster.services.get('prod/podinfo') !== undefined,
      'the unrelated objects',
    );
    // Streams are separate connections, so only the count per rollout is certain.
    expect(enqueued.sort()).toEqual(['test/a', 'test/a', 'test/b', 'test/b']);
  });

  it('keeps objects no Rollout names as skeletons, and fetches them once when one does', async () => {
    const full = (d: Deployment): Deployment => ({
      ...d,
      metadata: {
        ...d.metadata,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":1}', a: 'b' },
      },
      status: { availableReplicas: 1, conditions: [{ type: 'Available', status: 'True' }] },
    });
    const objects: Record<string, KubeObject> = {
      '/apis/apps/v1/namespaces/test/deployments/podinfo': full(deployment('podinfo', '2')),
      '/apis/apps/v1/namespaces/test/deployments/podinfo-canary': full(
        deployment('podinfo-canary', '3'),
      ),
      '/api/v1/namespaces/test/services/podinfo': service('podinfo', '5'),
      '/api/v1/namespaces/test/services/podinfo-canary': service('podinfo-canary', '6'),
      '/apis/networking.istio.io/v1beta1/namespaces/test/virtualservices/podinfo': {
        metadata: meta('podinfo', '7'),
      },
    };
    const { cluster, watch } = await started({
      deployments: [objects['/apis/apps/v1/namespaces/test/deployments/podinfo'] as Deployment],
      services: [service('podinfo', '5')],
    });
    // Nobody names them: only their keys are kept.
    expect(cluster.deployments.get('test/podinfo')).toEqual({ metadata: meta('podinfo', '2') });
    expect(cluster.services.get('test/podinfo')).toEqual({ metadata: meta('podinfo', '5') });
    for (const [path, obj] of Object.entries(objects))
      api.on(
        (r) => r.method === 'GET' && r.path === path,
        (_r, res) => sendJson(res, 200, obj),
      );
    // Arriving after the Rollout that names them, the others are kept whole (slimmed).
    const r = rollout('podinfo', '1');
    watch.rollouts.send('ADDED', r);
    await until(() => enqueued.includes('test/podinfo'), 'the new Rollout');
    watch.deployments.send('ADDED', deployment('podinfo-canary', '3'));
    await until(() => cluster.deployments.get('test/podinfo-canary') !== undefined, 'the canary');
    expect(cluster.deployments.get('test/podinfo-canary')?.spec.selector).toBeDefined();
    const before = api.requests.length;
    enqueued.length = 0;
    // The named skeletons are fetched before the Rollout is planned, then it is enqueued.
    expect(cluster.pending('test/podinfo')).toBe(true);
    expect(cluster.pending('test/podinfo')).toBe(true);
    await until(() => enqueued.includes('test/podinfo'), 'the fetch');
    expect(cluster.pending('test/podinfo')).toBe(false);
    // (Discovery of the Gateway API, not served here, goes on in the background.)
    const objectRequests = (): string[] =>
      api.requests
        .slice(before)
        .filter((q) => q.path.includes('/namespaces/'))
        .map((q) => `${q.method} ${q.path}`);
    const fetched = objectRequests();
    expect(fetched.sort()).toEqual([
      'GET /api/v1/namespaces/test/services/podinfo',
      'GET /apis/apps/v1/namespaces/test/deployments/podinfo',
    ]);
    const o = cluster.observe(r);
    expect(o.primary).toEqual({
      metadata: { ...meta('podinfo', '2'), annotations: { a: 'b' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'podinfo' } }, template: {} },
      status: { availableReplicas: 1, conditions: [{ type: 'Available', status: 'True' }] },
    });
    expect(o.primaryService?.spec.selector).toEqual({ app: 'podinfo' });
    // Nothing more is asked of the API server.
    expect(cluster.pending('test/podinfo')).toBe(false);
    expect(objectRequests()).toHaveLength(2);
  });

  it('stops waking a deleted Rollout', async () => {
    const { cluster, watch } = await started({ rollouts: [rollout('a', '1')] });
    watch.rollouts.send('DELETED', rollout('a', '20'));
    await until(() => enqueued.length === 2, 'the delete');
    watch.deployments.send('MODIFIED', deployment('podinfo', '21'));
    await until(() => cluster.deployments.get('test/podinfo') !== undefined, 'the deployment');
    watch.rollouts.send('ADDED', rollout('z', '22', 'z-canary'));
    await until(() => enqueued.length === 3, 'the new rollout');
    expect(enqueued).toEqual(['test/a', 'test/a', 'test/z']);
  });

  it('follows an HPA moved from one canary to another', async () => {
    const a = rollout('a', '1');
    const b = rollout('b', '2', 'other-canary');
    const { cluster, watch } = await started({
      rollouts: [a, b],
      hpas: [hpa('h', '3', 'podinfo-canary')],
    });
    expect(cluster.observe(a).canaryHpa?.metadata.name).toBe('h');
    enqueued.length = 0;
    watch.hpas.send('MODIFIED', hpa('h', '30', 'other-canary'));
    await until(() => enqueued.length === 2, 'both rollouts');
    expect(enqueued.sort()).toEqual(['test/a', 'test/b']);
    expect(cluster.observe(a).canaryHpa).toBeUndefined();
    expect(cluster.observe(b).canaryHpa?.metadata.resourceVersion).toBe('30');
  });

  it('acts on its own recent write until the informer catches up', async () => {
    const r = rollout('a', '1');
    const { cluster, watch } = await started({
      rollouts: [r],
      deployments: [deployment('podinfo-canary', '5', 2)],
    });
    const written = deployment('podinfo-canary', '9', 0);
    cluster.recordWrite('deployment', written);
    expect(cluster.observe(r).canary).toBe(written);
    // An older event arrives first: the write still wins.
    watch.deployments.send('MODIFIED', deployment('podinfo-canary', '7', 3));
    await until(
      () => cluster.deployments.get('test/podinfo-canary')?.metadata.resourceVersion === '7',
      'rv 7',
    );
    expect(cluster.observe(r).canary?.spec.replicas).toBe(0);
    // The informer catches up: its object is used again.
    watch.deployments.send('MODIFIED', deployment('podinfo-canary', '9', 0));
    await until(
      () => cluster.deployments.get('test/podinfo-canary')?.metadata.resourceVersion === '9',
      'rv 9',
    );
    expect(cluster.observe(r).canary).toBe(cluster.deployments.get('test/podinfo-canary'));
  });

  it('forgets a write to an object deleted afterwards', async () => {
    const r = rollout('a', '1');
    const { cluster, watch } = await started({
      rollouts: [r],
      deployments: [deployment('podinfo-canary', '5')],
    });
    cluster.recordWrite('deployment', deployment('podinfo-canary', '9', 0));
    watch.deployments.send('DELETED', deployment('podinfo-canary', '10'));
    await until(() => cluster.deployments.get('test/podinfo-canary') === undefined, 'the delete');
    expect(cluster.observe(r).canary).toBeUndefined();
  });

  it('forgets a write after the TTL', async () => {
    let now = 1_000_000;
    const r = rollout('a', '1');
    const { cluster } = await started(
      { rollouts: [r], deployments: [deployment('podinfo-canary', '5')] },
      () => now,
    );
    const written = deployment('podinfo-canary', '9', 0);
    cluster.recordWrite('deployment', written);
    expect(cluster.observe(r).canary).toBe(written);
    now += 30_001;
    expect(cluster.observe(r).canary?.metadata.resourceVersion).toBe('5');
  });

  it('tells the later of two Rollouts claiming one Deployment which one claimed it first', async () => {
    const older = rollout('first', '1');
    older.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    const later = rollout('second', '2');
    later.metadata.creationTimestamp = '2026-01-01T00:05:00Z';
    const alone = rollout('alone', '3', 'alone-canary');
    alone.metadata.creationTimestamp = '2026-01-01T00:06:00Z';
    const { cluster } = await started({ rollouts: [later, older, alone] });
    expect(cluster.observe(older).conflict).toBeUndefined();
    expect(cluster.observe(later).conflict).toBe(
      'Deployment test/podinfo (primary) is already used by Rollout test/first, which claimed it first; a Deployment or Service belongs to one Rollout only',
    );
    // Sharing only the primary is a conflict too; a Rollout with its own objects has none…
    // except the primary, which all three name here.
    expect(cluster.observe(alone).conflict).toContain('Rollout test/first');
  });

  it('starts without the Gateway API: a Rollout naming an HTTPRoute waits, saying what to install', async () => {
    const r = routeRollout('web', '1');
    const { cluster } = await started({ rollouts: [r] });
    expect(cluster.versionOf('HTTPRoute')).toBeUndefined();
    expect(cluster.observe(r)).toMatchObject({ route: undefined, routeUnavailable: NOT_SERVED });
    // The VirtualService Rollouts are not held up by it.
    expect(cluster.observe(rollout('podinfo', '2')).routeUnavailable).toBeUndefined();
  });

  it('picks up the Gateway API CRDs installed later, without a restart, and wakes the Rollouts naming an HTTPRoute', async () => {
    const r = routeRollout('web', '1');
    const { cluster } = await started({ rollouts: [r, rollout('podinfo', '2')] });
    // The group is served for other kinds first (a partial install): still not served.
    installGatewayApi(['gateways']);
    // A whole look (both versions) and the start of the next one.
    const paths = (): string[] => api.requests.map((q) => q.path);
    await until(() => {
      const p = paths();
      const lastVersion = p.lastIndexOf('/apis/gateway.networking.k8s.io/v1beta1');
      return lastVersion >= 0 && p.lastIndexOf('/apis/gateway.networking.k8s.io') > lastVersion;
    }, 'a whole look at the group');
    expect(cluster.observe(r).routeUnavailable).toBe(NOT_SERVED);
    enqueued.length = 0;
    installGatewayApi(['httproutes', 'gateways'], [{ metadata: meta('web', '30') }]);
    await until(() => enqueued.includes('test/web'), 'the HTTPRoute Rollout to be woken');
    expect(['v1', 'v1beta1']).toContain(cluster.versionOf('HTTPRoute'));
    const o = cluster.observe(r);
    expect(o.routeUnavailable).toBeUndefined();
    expect(o.route?.metadata.resourceVersion).toBe('30');
    // Only the Rollout that waited for the kind: the other one has nothing new.
    expect(enqueued.filter((k) => k === 'test/podinfo')).toEqual([]);
    await until(
      () => api.requests.some((q) => q.path.endsWith('/httproutes') && isWatch(q)),
      'the HTTPRoute watch',
    );
  });

  it('watches HTTPRoutes served at start with the initial sync', async () => {
    installGatewayApi(['httproutes'], [{ metadata: meta('web', '40') }]);
    const r = routeRollout('web', '1');
    const { cluster } = await started({ rollouts: [r] });
    expect(cluster.versionOf('HTTPRoute')).toBe('v1');
    expect(cluster.observe(r).route?.metadata.resourceVersion).toBe('40');
  });

  it('watches only the routers it is given (--routers), and says so to a Rollout naming another', async () => {
    const r = routeRollout('web', '1');
    const { cluster } = await started({ rollouts: [r] }, undefined, {
      routers: [istioVirtualService],
    });
    expect(cluster.observe(r).routeUnavailable).toBe(
      'this controller watches only VirtualService (--routers)',
    );
    expect(api.requests.some((q) => q.path.startsWith('/apis/gateway.networking.k8s.io'))).toBe(
      false,
    );
  });

  describe('Istio subset routing', () => {
    const subsetRollout = (name: string, rv: string): RolloutObject => {
      const r = rollout(name, rv);
      const spec = r.spec as { primary: Record<string, string>; canary: Record<string, string> };
      spec.primary.subset = 'primary';
      spec.canary = { name: 'podinfo-canary', host: 'podinfo', subset: 'canary' };
      return r;
    };
    const rule = (name: string, rv: string, host: string, namespace = 'test'): KubeObject =>
      ({ metadata: meta(name, rv, namespace), spec: { host } }) as KubeObject;

    it("observes the DestinationRules of the hosts' namespace, only for a Rollout naming subsets", async () => {
      const r = subsetRollout('podinfo', '1');
      const { cluster } = await started({
        rollouts: [r],
        destinationRules: [
          rule('podinfo', '2', 'podinfo'),
          rule('other', '3', 'other'),
          rule('prod', '4', 'podinfo', 'prod'),
        ],
      });
      const before = api.requests.length;
      expect(
        cluster
          .observe(r)
          .subsetRules?.map((o) => o.metadata.name)
          .sort(),
      ).toEqual(['other', 'podinfo']);
      expect(api.requests.length).toBe(before);
      expect(cluster.observe(rollout('plain', '5')).subsetRules).toBeUndefined();
    });

    it('wakes the Rollouts using the Service a DestinationRule defines subsets of', async () => {
      const { watch } = await started({ rollouts: [subsetRollout('podinfo', '1')] });
      enqueued.length = 0;
      watch.destinationRules.send('ADDED', rule('unrelated', '10', 'elsewhere'));
      watch.destinationRules.send('ADDED', rule('podinfo', '11', 'podinfo.test.svc.cluster.local'));
      await until(() => enqueued.length >= 1, 'a wake-up');
      expect(enqueued).toEqual(['test/podinfo']);
    });

    it('says why while DestinationRules are not served, without holding up other Rollouts', async () => {
      serve({});
      // Istio's group without DestinationRules (a partial install).
      api.on(
        (q) =>
          q.path === '/apis/networking.istio.io/v1beta1' ||
          q.path === '/apis/networking.istio.io/v1alpha3',
        (_q, res) =>
          sendJson(res, 200, {
            kind: 'APIResourceList',
            resources: [{ name: 'virtualservices', namespaced: true }],
          }),
      );
      const cluster = new Cluster({
        client,
        logger: new MemoryLogger(),
        namespace: undefined,
        enqueue: (k) => enqueued.push(k),
        discovery: { backoff: { initialMs: 2, maxMs: 10 } },
      });
      runs = await cluster.start(stop.signal);
      expect(await cluster.waitForSync(stop.signal)).toBe(true);
      expect(cluster.observe(subsetRollout('podinfo', '1'))).toMatchObject({
        subsetRulesUnavailable:
          "the API server serves no networking.istio.io DestinationRule; install Istio's CRDs (networking.istio.io)",
      });
      expect(cluster.observe(rollout('plain', '2')).subsetRulesUnavailable).toBeUndefined();
    });
  });

  it('reads its own Rollout writes too', async () => {
    const { cluster } = await started({ rollouts: [rollout('a', '1')] });
    const written = { ...rollout('a', '2'), status: { phase: 'Progressing' as const } };
    cluster.recordWrite('rollout', written);
    expect(cluster.rollout('test/a')).toBe(written);
  });
});
