import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { SteererError, isApiError } from '../model/errors.js';
import { KubeClient, resourceOfPath, resourcePath } from './client.js';
import type { PatchType, RequestRecord } from './client.js';
import { FakeApiServer, sendJson, statusBody } from '../testing/fake-api-server.js';

let api: FakeApiServer;
let records: RequestRecord[];
let client: KubeClient;

beforeEach(async () => {
  api = await FakeApiServer.start();
  records = [];
  client = new KubeClient(api.kubeConfig(), { onRequest: (r) => records.push(r) });
});

afterEach(async () => {
  client.close();
  await api.close();
});

async function failure(p: Promise<unknown>): Promise<SteererError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SteererError);
    return e as SteererError;
  }
  throw new Error('expected the request to fail');
}

const DEPLOYMENT = '/apis/apps/v1/namespaces/test/deployments/podinfo';

describe('resourcePath', () => {
  it.each([
    [
      { group: '', version: 'v1', plural: 'services', namespace: 'test' },
      '/api/v1/namespaces/test/services',
    ],
    [{ group: '', version: 'v1', plural: 'namespaces', name: 'test' }, '/api/v1/namespaces/test'],
    [{ group: 'apps', version: 'v1', plural: 'deployments' }, '/apis/apps/v1/deployments'],
    [
      {
        group: 'apps',
        version: 'v1',
        plural: 'deployments',
        namespace: 'test',
        name: 'podinfo',
        subresource: 'scale',
      },
      '/apis/apps/v1/namespaces/test/deployments/podinfo/scale',
    ],
    [
      {
        group: 'apps.weave.works',
        version: 'v1beta1',
        plural: 'rollouts',
        namespace: 'test',
        subresource: 'status',
      },
      '/apis/apps.weave.works/v1beta1/namespaces/test/rollouts',
    ],
    [
      { group: '', version: 'v1', plural: 'configmaps', namespace: 'a b', name: 'x/y' },
      '/api/v1/namespaces/a%20b/configmaps/x%2Fy',
    ],
  ])('%j → %s', (p, path) => {
    expect(resourcePath(p)).toBe(path);
  });
});

describe('resourceOfPath', () => {
  it.each([
    ['/api/v1/pods', 'pods'],
    ['/api/v1/namespaces/test/pods', 'pods'],
    ['/api/v1/namespaces/test/pods/p1', 'pods'],
    ['/api/v1/namespaces/test/pods/p1/log', 'pods/log'],
    ['/api/v1/namespaces', 'namespaces'],
    ['/api/v1/namespaces/test', 'namespaces'],
    ['/api/v1/namespaces/test/status', 'namespaces/status'],
    ['/api/v1/namespaces/test/finalize', 'namespaces/finalize'],
    ['/apis/apps/v1/deployments', 'deployments'],
    ['/apis/apps/v1/namespaces/test/deployments/podinfo/scale', 'deployments/scale'],
    ['/apis/apps.weave.works/v1beta1/namespaces/test/rollouts/podinfo/status', 'rollouts/status'],
    ['/apis/apps/v1/namespaces/test/deployments?watch=true&resourceVersion=5', 'deployments'],
    ['/apis/networking.istio.io', 'unknown'],
    ['/version', 'unknown'],
  ])('%s → %s', (path, resource) => {
    expect(resourceOfPath(path)).toBe(resource);
  });

  it('agrees with resourcePath', () => {
    const p = {
      group: 'apps',
      version: 'v1',
      plural: 'deployments',
      namespace: 'test',
      name: 'x',
      subresource: 'status',
    };
    expect(resourceOfPath(resourcePath(p))).toBe('deployments/status');
  });
});

describe('KubeClient requests', () => {
  it('GETs with the bearer token, JSON accept, user agent and query', async () => {
    api.on(
      (r) => r.path === DEPLOYMENT,
      (_r, res) => sendJson(res, 200, { metadata: { name: 'podinfo' } }),
    );
    const got = await client.get<{ metadata: { name: string } }>(DEPLOYMENT, {
      query: { resourceVersion: '0', skipped: undefined, limit: 5 },
    });
    expect(got.metadata.name).toBe('podinfo');
    const [r] = api.requests;
    expect(r?.method).toBe('GET');
    expect(r?.headers.authorization).toBe('Bearer t');
    expect(r?.headers.accept).toBe('application/json');
    expect(r?.headers['user-agent']).toBe('steerer');
    expect(Object.fromEntries(r?.query ?? [])).toEqual({ resourceVersion: '0', limit: '5' });
    expect(records).toEqual([
      { verb: 'get', resource: 'deployments', code: 200, durationMs: expect.any(Number) },
    ]);
  });

  it('sends extra headers and a custom user agent', async () => {
    const c = new KubeClient(api.kubeConfig('other'), {
      userAgent: 'steerer-test/1',
      headers: { 'Impersonate-User': 'system:serviceaccount:steerer:controller' },
    });
    api.on(
      () => true,
      (_r, res) => sendJson(res, 200, {}),
    );
    await c.get('/api/v1/namespaces');
    c.close();
    expect(api.requests[0]?.headers).toMatchObject({
      authorization: 'Bearer other',
      'user-agent': 'steerer-test/1',
      'impersonate-user': 'system:serviceaccount:steerer:controller',
    });
  });

  it('reuses one kept-alive connection', async () => {
    api.on(
      () => true,
      (_r, res) => sendJson(res, 200, {}),
    );
    await client.get('/api/v1/namespaces');
    await client.get('/api/v1/namespaces');
    await client.list('/api/v1/pods');
    const ports = new Set(api.requests.map((r) => r.remotePort));
    expect(ports.size).toBe(1);
  });

  it('POSTs, PUTs and DELETEs JSON bodies', async () => {
    api.on(
      () => true,
      (r, res) =>
        sendJson(res, r.method === 'POST' ? 201 : 200, {
          echoed: r.body ? (JSON.parse(r.body) as unknown) : null,
        }),
    );
    const obj = { metadata: { name: 'x' }, data: { k: 'ü' } };
    await expect(client.create('/api/v1/namespaces/test/configmaps', obj)).resolves.toEqual({
      echoed: obj,
    });
    await expect(client.replace('/api/v1/namespaces/test/configmaps/x', obj)).resolves.toEqual({
      echoed: obj,
    });
    await expect(client.delete('/api/v1/namespaces/test/configmaps/x')).resolves.toEqual({
      echoed: null,
    });
    expect(
      api.requests.map((r) => [r.method, r.headers['content-type'], r.headers['content-length']]),
    ).toEqual([
      ['POST', 'application/json', String(Buffer.byteLength(JSON.stringify(obj)))],
      ['PUT', 'application/json', String(Buffer.byteLength(JSON.stringify(obj)))],
      ['DELETE', undefined, undefined],
    ]);
    expect(records.map((r) => [r.verb, r.resource, r.code])).toEqual([
      ['create', 'configmaps', 201],
      ['update', 'configmaps', 200],
      ['delete', 'configmaps', 200],
    ]);
  });

  it.each([
    ['json', 'application/json-patch+json', { fieldManager: 'steerer' }],
    ['merge', 'application/merge-patch+json', { fieldManager: 'steerer' }],
    ['strategic', 'application/strategic-merge-patch+json', { fieldManager: 'steerer' }],
    ['apply', 'application/apply-patch+yaml', { fieldManager: 'steerer', force: 'true' }],
  ] as const)('PATCHes %s with %s', async (type: PatchType, contentType, query) => {
    api.on(
      () => true,
      (_r, res) => sendJson(res, 200, {}),
    );
    const body = [{ op: 'replace', path: '/spec/replicas', value: 0 }];
    await client.patch(DEPLOYMENT, type, body);
    const [r] = api.requests;
    expect(r?.method).toBe('PATCH');
    expect(r?.headers['content-type']).toBe(contentType);
    expect(JSON.parse(r?.body ?? '')).toEqual(body);
    expect(Object.fromEntries(r?.query ?? [])).toEqual(query);
    expect(records[0]).toMatchObject({ verb: 'patch', resource: 'deployments', code: 200 });
  });

  it('lets the caller override the field manager', async () => {
    api.on(
      () => true,
      (_r, res) => sendJson(res, 200, {}),
    );
    await client.patch(
      DEPLOYMENT,
      'apply',
      {},
      { query: { fieldManager: 'tests', force: 'false' } },
    );
    expect(Object.fromEntries(api.requests[0]?.query ?? [])).toEqual({
      fieldManager: 'tests',
      force: 'false',
    });
  });

  it('resolves an empty body to undefined', async () => {
    api.on(
      () => true,
      (_r, res) => {
        res.writeHead(200);
        res.end();
      },
    );
    await expect(client.delete(DEPLOYMENT)).resolves.toBeUndefined();
  });
});

describe('KubeClient errors', () => {
  it('maps a 404 Status to an Api error with status and reason', async () => {
    api.on(
      () => true,
      (_r, res) =>
        sendJson(res, 404, statusBody(404, 'NotFound', 'deployments.apps "podinfo" not found')),
    );
    const e = await failure(client.get(DEPLOYMENT));
    expect(e).toMatchObject({ code: 'Api', status: 404, reason: 'NotFound' });
    expect(e.message).toBe(
      `GET ${DEPLOYMENT}: HTTP 404 NotFound: deployments.apps "podinfo" not found`,
    );
    expect(isApiError(e, 404)).toBe(true);
    expect(isApiError(e, 409, 404)).toBe(true);
    expect(isApiError(e)).toBe(true);
    expect(isApiError(e, 409)).toBe(false);
    expect(records).toEqual([
      { verb: 'get', resource: 'deployments', code: 404, durationMs: expect.any(Number) },
    ]);
  });

  it('maps a 409 Conflict', async () => {
    api.on(
      () => true,
      (_r, res) => sendJson(res, 409, statusBody(409, 'Conflict', 'the object has been modified')),
    );
    const e = await failure(client.replace(DEPLOYMENT, {}));
    expect(isApiError(e, 409)).toBe(true);
    expect(e.reason).toBe('Conflict');
  });

  it('keeps Retry-After on a 429', async () => {
    api.on(
      () => true,
      (_r, res) => {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
        res.end(JSON.stringify(statusBody(429, 'TooManyRequests', 'slow down')));
      },
    );
    const e = await failure(client.list('/api/v1/pods'));
    expect(e).toMatchObject({ code: 'Api', status: 429, retryAfterSeconds: 3 });
  });

  it('quotes a non-Status error body', async () => {
    api.on(
      () => true,
      (_r, res) => {
        res.writeHead(503);
        res.end('upstream connect error');
      },
    );
    const e = await failure(client.get(DEPLOYMENT));
    expect(e).toMatchObject({ code: 'Api', status: 503, reason: undefined });
    expect(e.message).toBe(`GET ${DEPLOYMENT}: HTTP 503: upstream connect error`);
  });

  it('reports a 2xx body that is not JSON', async () => {
    api.on(
      () => true,
      (_r, res) => {
        res.writeHead(200);
        res.end('<html>');
      },
    );
    expect(await failure(client.get(DEPLOYMENT))).toMatchObject({ code: 'BadResponse' });
  });

  it('times out a server that does not answer', async () => {
    api.on(
      () => true,
      () => undefined,
    );
    const started = performance.now();
    const e = await failure(client.get(DEPLOYMENT, { timeoutMs: 100 }));
    expect(e).toMatchObject({ code: 'Timeout' });
    expect(e.message).toBe(`GET ${DEPLOYMENT}: no answer within 100ms`);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(records[0]).toMatchObject({ verb: 'get', code: 0 });
  });

  it('times out a body that stalls, with the client default', async () => {
    const c = new KubeClient(api.kubeConfig(), { timeoutMs: 100 });
    api.on(
      () => true,
      (_r, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items": [');
      },
    );
    const e = await failure(c.list('/api/v1/pods'));
    c.close();
    expect(e).toMatchObject({ code: 'Timeout' });
  });

  it('reports an abort as Aborted', async () => {
    api.on(
      () => true,
      () => undefined,
    );
    const ac = new AbortController();
    const p = client.get(DEPLOYMENT, { signal: ac.signal });
    while (api.requests.length === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    expect(await failure(p)).toMatchObject({ code: 'Aborted' });
  });

  it('reports a refused connection as a Network error with code 0', async () => {
    await api.close();
    const e = await failure(client.get(DEPLOYMENT));
    expect(e).toMatchObject({ code: 'Network' });
    expect(e.message).toContain('ECONNREFUSED');
    expect(records).toEqual([
      { verb: 'get', resource: 'deployments', code: 0, durationMs: expect.any(Number) },
    ]);
    api = await FakeApiServer.start(); // for afterEach
  });
});

describe('KubeClient.watch', () => {
  const PODS = '/api/v1/namespaces/test/pods';

  it('streams events until the server ends the watch', async () => {
    api.streamWatches();
    const events: { type: string; object: unknown }[] = [];
    const done = client.watch(
      PODS,
      { resourceVersion: '5', allowWatchBookmarks: true },
      (e) => events.push(e),
      new AbortController().signal,
    );
    const w = await api.nextWatch();
    expect(Object.fromEntries(w.request.query)).toEqual({
      resourceVersion: '5',
      allowWatchBookmarks: 'true',
      watch: 'true',
    });
    expect(w.request.headers.authorization).toBe('Bearer t');
    w.send('ADDED', { metadata: { name: 'a' } });
    w.write('\n'); // blank lines are skipped
    w.write(JSON.stringify({ object: {} }) + '\n'); // and lines without a type
    w.send('DELETED', { metadata: { name: 'a' } });
    w.end();
    await done;
    expect(events).toEqual([
      { type: 'ADDED', object: { metadata: { name: 'a' } } },
      { type: 'DELETED', object: { metadata: { name: 'a' } } },
    ]);
    expect(records).toEqual([
      { verb: 'watch', resource: 'pods', code: 200, durationMs: expect.any(Number) },
    ]);
  });

  it('resolves when aborted', async () => {
    api.streamWatches();
    const ac = new AbortController();
    const events: unknown[] = [];
    const done = client.watch(PODS, {}, (e) => events.push(e), ac.signal);
    const w = await api.nextWatch();
    w.send('ADDED', { metadata: { name: 'a' } });
    while (events.length === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    await expect(done).resolves.toBeUndefined();
    await w.closed;
  });

  it('rejects with an Api error when the watch is refused', async () => {
    api.on(
      () => true,
      (_r, res) => sendJson(res, 410, statusBody(410, 'Expired', 'too old resource version')),
    );
    const e = await failure(client.watch(PODS, {}, () => undefined, new AbortController().signal));
    expect(e).toMatchObject({ code: 'Api', status: 410, reason: 'Expired' });
    expect(e.message).toContain(`WATCH ${PODS}: HTTP 410 Expired`);
  });

  it('rejects a line that is not JSON', async () => {
    api.streamWatches();
    const done = client.watch(PODS, {}, () => undefined, new AbortController().signal);
    const w = await api.nextWatch();
    w.write('{"type": "ADDED", \n');
    expect(await failure(done)).toMatchObject({ code: 'BadResponse' });
    await w.closed;
  });

  it("ends the watch with the handler's own error", async () => {
    api.streamWatches();
    const boom = new Error('handler says stop');
    const done = client.watch(
      PODS,
      {},
      () => {
        throw boom;
      },
      new AbortController().signal,
    );
    const w = await api.nextWatch();
    w.send('ERROR', statusBody(410, 'Expired', 'gone'));
    await expect(done).rejects.toBe(boom);
    await w.closed;
  });
});

describe('a plain-HTTP API server (kubectl proxy)', () => {
  const PODS = '/api/v1/namespaces/test/pods';

  /** A kubeconfig as a user writes one for `kubectl proxy`: no TLS fields at all. */
  function proxyKubeConfig(server: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(`apiVersion: v1
kind: Config
clusters:
  - name: proxy
    cluster:
      server: ${server}
users:
  - name: me
    user:
      token: proxy-token
contexts:
  - name: proxy
    context:
      cluster: proxy
      user: me
current-context: proxy
`);
    return kc;
  }

  it('lists, gets and watches without insecure-skip-tls-verify, sending the token', async () => {
    const kc = proxyKubeConfig(api.url);
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(kc.getCurrentCluster()).toMatchObject({ server: api.url, skipTLSVerify: false });
    const c = new KubeClient(kc);
    api.on(
      (r) => r.path === PODS && r.query.get('watch') !== 'true',
      (_r, res) => sendJson(res, 200, { metadata: { resourceVersion: '7' }, items: [] }),
    );
    api.on(
      (r) => r.path === `${PODS}/a`,
      (_r, res) => sendJson(res, 200, { metadata: { name: 'a' } }),
    );
    api.streamWatches();
    try {
      await expect(c.list(PODS)).resolves.toEqual({
        metadata: { resourceVersion: '7' },
        items: [],
      });
      await expect(c.get(`${PODS}/a`)).resolves.toEqual({ metadata: { name: 'a' } });
      const events: string[] = [];
      const done = c.watch(
        PODS,
        { resourceVersion: '7' },
        (e) => events.push(e.type),
        new AbortController().signal,
      );
      const w = await api.nextWatch();
      w.send('ADDED', { metadata: { name: 'b' } });
      w.end();
      await done;
      expect(events).toEqual(['ADDED']);
    } finally {
      c.close();
    }
    expect(api.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', PODS, 'Bearer proxy-token'],
      ['GET', `${PODS}/a`, 'Bearer proxy-token'],
      ['GET', PODS, 'Bearer proxy-token'],
    ]);
  });
});
