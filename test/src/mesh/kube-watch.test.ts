// Runs the client-node adapter against a small fake API server (real HTTP on port 0), so
// discovery, list/watch wiring and 410 handling are exercised without a cluster.

import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { realClock } from './clock.js';
import { chooseVirtualServiceVersion, collectionPath, createKubeSources } from './kube-watch.js';
import { MemoryLogger } from './log.js';
import { runReflector } from './reflector.js';
import { MeshStore, RESOURCES, type Resource } from './store.js';
import {
  rawDeployment,
  rawDestinationRule,
  rawService,
  rawVirtualService,
} from './test-objects.js';

interface FakeApi {
  url: string;
  requests: string[];
  /** The query of every request, in order. */
  queries: URLSearchParams[];
  /** Sends a watch event to every open watch on the collection path. */
  push(path: string, event: unknown): void;
  /** Resolves once a watch is open on path. */
  watching(path: string): Promise<void>;
  close(): Promise<void>;
}

async function fakeApiServer(options: {
  istioVersions: string[];
  collections: Record<string, unknown[]>;
}): Promise<FakeApi> {
  const requests: string[] = [];
  const queries: URLSearchParams[] = [];
  const watchers = new Map<string, ServerResponse[]>();
  const waiters = new Map<string, (() => void)[]>();
  let rv = 100;
  const json = (res: ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${url.pathname}${url.searchParams.get('watch') === 'true' ? '?watch' : ''}`);
    queries.push(url.searchParams);
    if (url.pathname === '/apis') {
      return json(res, {
        kind: 'APIGroupList',
        groups: [
          { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }] },
          {
            name: 'networking.istio.io',
            versions: options.istioVersions.map((v) => ({
              groupVersion: `networking.istio.io/${v}`,
              version: v,
            })),
          },
        ],
      });
    }
    const discovery = /^\/apis\/networking\.istio\.io\/(\w+)$/.exec(url.pathname);
    if (discovery) {
      return json(res, {
        kind: 'APIResourceList',
        groupVersion: `networking.istio.io/${discovery[1]}`,
        resources: [
          {
            name: 'virtualservices',
            namespaced: true,
            kind: 'VirtualService',
            verbs: ['list', 'watch'],
          },
          {
            name: 'destinationrules',
            namespaced: true,
            kind: 'DestinationRule',
            verbs: ['list', 'watch'],
          },
        ],
      });
    }
    const items = options.collections[url.pathname];
    if (!items) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ kind: 'Status', code: 404 }));
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.write('');
      watchers.set(url.pathname, [...(watchers.get(url.pathname) ?? []), res]);
      for (const w of waiters.get(url.pathname) ?? []) w();
      waiters.delete(url.pathname);
      return;
    }
    // Pages as the API server serves them: `limit` items, an opaque continue token while
    // more remain, one resourceVersion for all the pages of a list.
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const from = Number(url.searchParams.get('continue') ?? 0);
    const to = limit > 0 ? from + limit : items.length;
    if (from === 0) rv++;
    json(res, {
      kind: 'List',
      apiVersion: 'v1',
      metadata: {
        resourceVersion: String(rv),
        ...(to < items.length ? { continue: String(to) } : {}),
      },
      items: items.slice(from, to),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    queries,
    push: (path, event) => {
      for (const w of watchers.get(path) ?? []) w.write(`${JSON.stringify(event)}\n`);
    },
    watching: (path) =>
      (watchers.get(path)?.some((w) => !w.writableEnded) ?? false)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.set(path, [...(waiters.get(path) ?? []), resolve])),
    close: () =>
      new Promise((resolve) => {
        for (const list of watchers.values()) for (const w of list) w.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return kc;
}

/** Resolves when the store's routing table satisfies check (event-driven, no sleeps). */
function storeWatcher(store: MeshStore) {
  const waiting: { check: () => boolean; resolve: () => void }[] = [];
  const notify = (): void => {
    for (const w of [...waiting]) {
      if (w.check()) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const sinkFor = (resource: Resource) => {
    const sink = store.sink(resource);
    return {
      replace: (items: readonly unknown[]) => (sink.replace(items), notify()),
      upsert: (obj: unknown) => (sink.upsert(obj), notify()),
      remove: (obj: unknown) => (sink.remove(obj), notify()),
    };
  };
  const until = (check: () => boolean): Promise<void> =>
    check() ? Promise.resolve() : new Promise((resolve) => waiting.push({ check, resolve }));
  return { sinkFor, until };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function run(
  istioVersions: string[],
  options: { labelSelector?: string; pageSize?: number; moreDeployments?: string[] } = {},
) {
  const vsVersion = chooseVirtualServiceVersion(new Set(istioVersions)) ?? 'v1';
  const api = await fakeApiServer({
    istioVersions,
    collections: {
      '/api/v1/services': [rawService('podinfo'), rawService('podinfo-canary')],
      '/apis/apps/v1/deployments': [
        rawDeployment('podinfo'),
        rawDeployment('podinfo-canary'),
        ...(options.moreDeployments ?? []).map((name) => rawDeployment(name)),
      ],
      [`/apis/networking.istio.io/${vsVersion}/virtualservices`]: [
        rawVirtualService({ resourceVersion: '5' }),
      ],
      [`/apis/networking.istio.io/${vsVersion}/destinationrules`]: [
        rawDestinationRule('podinfo', [{ name: 'canary', labels: { app: 'podinfo-canary' } }]),
      ],
    },
  });
  const log = new MemoryLogger();
  const store = new MeshStore(log);
  const watcher = storeWatcher(store);
  const kube = createKubeSources(kubeConfigFor(api.url), {
    log,
    ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  const abort = new AbortController();
  const loops = RESOURCES.map((r) =>
    runReflector(
      kube.sources[r],
      watcher.sinkFor(r),
      { clock: realClock, log, random: () => 0 },
      abort.signal,
    ),
  );
  cleanup.push(async () => {
    abort.abort();
    await api.close();
    await Promise.all(loops);
  });
  return {
    api,
    store,
    watcher,
    kube,
    log,
    vsPath: `/apis/networking.istio.io/${vsVersion}/virtualservices`,
  };
}

describe('kube adapter against a fake API server', () => {
  it('discovers v1, lists and watches only the Istio and Kubernetes resources, and follows weight changes', async () => {
    const { api, store, watcher, kube, vsPath } = await run(['v1', 'v1beta1', 'v1alpha3']);
    await watcher.until(() => RESOURCES.every((r) => store.synced(r)));
    expect(kube.virtualServiceVersion()).toBe('v1');
    expect(
      store.routingTable().virtualServices.get('test/podinfo')?.http[0]?.destinations[1]?.weight,
    ).toBe(0);
    expect(store.routingTable().destinationRules.get('test/podinfo')?.[0]?.subsets).toEqual([
      { name: 'canary', labels: { app: 'podinfo-canary' } },
    ]);

    await api.watching(vsPath);
    api.push(vsPath, {
      type: 'MODIFIED',
      object: rawVirtualService({
        resourceVersion: '6',
        destinations: [
          { host: 'podinfo', weight: 70 },
          { host: 'podinfo-canary', weight: 30 },
        ],
      }),
    });
    await watcher.until(
      () => store.routingTable().virtualServices.get('test/podinfo')?.resourceVersion === '6',
    );
    expect(
      store.routingTable().virtualServices.get('test/podinfo')?.http[0]?.destinations[1]?.weight,
    ).toBe(30);

    const allowed = new Set([
      '/apis',
      '/apis/networking.istio.io/v1',
      '/api/v1/services',
      '/apis/apps/v1/deployments',
      vsPath,
      '/apis/networking.istio.io/v1/destinationrules',
    ]);
    expect(api.requests.map((r) => r.replace('?watch', '')).filter((p) => !allowed.has(p))).toEqual(
      [],
    );
  });

  it('lists page by page and asks for the label selector on every list and watch', async () => {
    const more = ['a', 'b', 'c', 'd', 'e'];
    const { api, store, watcher } = await run(['v1'], {
      labelSelector: '!example.com/no-mesh',
      pageSize: 2,
      moreDeployments: more,
    });
    await watcher.until(() => RESOURCES.every((r) => store.synced(r)));
    for (const name of ['podinfo', 'podinfo-canary', ...more])
      expect(store.routingTable().deployments.get(`test/${name}`)).toBeDefined();
    const deploymentRequests = api.queries.filter(
      (_, i) => api.requests[i] === '/apis/apps/v1/deployments',
    );
    // 7 Deployments in pages of 2: 4 list requests, the last three continuing the first.
    expect(deploymentRequests.map((q) => q.get('continue'))).toEqual([null, '2', '4', '6']);
    const collections = api.requests
      .map((path, i) => ({ path, query: api.queries[i] as URLSearchParams }))
      .filter(({ path }) => path !== '/apis' && !/^\/apis\/[^/]+\/[^/]+$/.test(path));
    expect(collections.length).toBeGreaterThan(0);
    for (const { path, query } of collections) {
      expect([path, query.get('labelSelector')]).toEqual([path, '!example.com/no-mesh']);
      if (!path.endsWith('?watch')) expect([path, query.get('limit')]).toEqual([path, '2']);
    }
  });

  it('falls back to v1alpha3 when that is all the API server serves', async () => {
    const { store, watcher, kube, api } = await run(['v1alpha3']);
    await watcher.until(() => store.synced('virtualservices'));
    expect(kube.virtualServiceVersion()).toBe('v1alpha3');
    expect(api.requests).toContain('/apis/networking.istio.io/v1alpha3/virtualservices');
    expect(api.requests.some((r) => r.startsWith('/apis/networking.istio.io/v1/'))).toBe(false);
  });

  it('relists after a 410 Expired event on the watch', async () => {
    const { api, store, watcher, vsPath } = await run(['v1']);
    await watcher.until(() => store.synced('virtualservices'));
    await api.watching(vsPath);
    const lists = (): number => api.requests.filter((r) => r === vsPath).length;
    expect(lists()).toBe(1);
    api.push(vsPath, { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    await new Promise<void>((resolve) => {
      const check = (): void => (lists() >= 2 ? resolve() : void setImmediate(check));
      check();
    });
    expect(lists()).toBe(2);
  });

  it('keeps retrying while the Istio CRDs are missing', async () => {
    const { store, watcher, log } = await run([]);
    await watcher.until(() => store.synced('services') && store.synced('deployments'));
    await new Promise<void>((resolve) => {
      const check = (): void =>
        log.entries.some(
          (e) =>
            e.msg === 'list/watch failed; relisting after backoff' &&
            e.fields['resource'] === 'virtualservices',
        )
          ? resolve()
          : void setImmediate(check);
      check();
    });
    expect(store.synced('virtualservices')).toBe(false);
  });
});

describe('collectionPath', () => {
  it('scopes to a namespace when asked', () => {
    expect(collectionPath('services', 'test', '')).toBe('/api/v1/namespaces/test/services');
    expect(collectionPath('virtualservices', undefined, 'v1beta1')).toBe(
      '/apis/networking.istio.io/v1beta1/virtualservices',
    );
    expect(collectionPath('deployments', 'a b', '')).toBe(
      '/apis/apps/v1/namespaces/a%20b/deployments',
    );
  });

  it('prefers v1, then v1beta1, then v1alpha3', () => {
    expect(chooseVirtualServiceVersion(new Set(['v1alpha3', 'v1beta1']))).toBe('v1beta1');
    expect(chooseVirtualServiceVersion(new Set(['v1alpha3', 'v1']))).toBe('v1');
    expect(chooseVirtualServiceVersion(new Set(['v2']))).toBeUndefined();
  });
});
