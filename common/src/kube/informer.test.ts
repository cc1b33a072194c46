import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '../logger.js';
import { KubeClient } from './client.js';
import { FakeApiServer, sendJson, statusBody } from '../testing/fake-api-server.js';
import type { ApiRequest, WatchStream } from '../testing/fake-api-server.js';
import { Informer, abortableSleep, objectKey } from './informer.js';
import type { InformerEvent, InformerOptions } from './informer.js';
import type { KubeObject } from '../model/objects.js';

const PATH = '/apis/apps/v1/namespaces/test/deployments';

interface Obj extends KubeObject {
  spec?: { replicas?: number };
}

function obj(name: string, rv: string, extra: Partial<Obj> = {}): Obj {
  return {
    metadata: {
      name,
      namespace: 'test',
      resourceVersion: rv,
      managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
    } as Obj['metadata'],
    ...extra,
  };
}

type Seen = [InformerEvent, string, string | undefined, string | undefined];

let api: FakeApiServer;
let client: KubeClient;
let stop: AbortController;
let logger: MemoryLogger;
let seen: Seen[];
let sleeps: number[];
let restarts: string[];
let running: Promise<void> | undefined;

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
  stop = new AbortController();
  logger = new MemoryLogger();
  seen = [];
  sleeps = [];
  restarts = [];
  running = undefined;
});

afterEach(async () => {
  stop.abort();
  await running;
  client.close();
  await api.close();
});

const isList = (r: ApiRequest): boolean =>
  r.method === 'GET' && r.path === PATH && r.query.get('watch') !== 'true';
const isWatch = (r: ApiRequest): boolean => r.path === PATH && r.query.get('watch') === 'true';

/** Answers lists from `pages`: continue token → page (the first page has token ''). */
function serveList(pages: Record<string, { items: Obj[]; continue?: string; rv: string }>): void {
  api.on(isList, (r, res) => {
    const page = pages[r.query.get('continue') ?? ''];
    if (!page) return sendJson(res, 410, statusBody(410, 'Expired', 'continue token expired'));
    sendJson(res, 200, {
      kind: 'DeploymentList',
      metadata: { resourceVersion: page.rv, ...(page.continue ? { continue: page.continue } : {}) },
      items: page.items,
    });
  });
}

function start(options: Partial<InformerOptions> = {}): Informer<Obj> {
  const inf = new Informer<Obj>(client, {
    path: PATH,
    logger,
    pageSize: 2,
    watchTimeoutSeconds: 60,
    onRestart: (reason) => restarts.push(reason),
    // Sleeps return at once (but asynchronously), and are recorded.
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
    ...options,
  });
  inf.on((event, o, old) => {
    seen.push([event, o.metadata.name, o.metadata.resourceVersion, old?.metadata.resourceVersion]);
  });
  running = inf.run(stop.signal);
  return inf;
}

/** Waits (on real events, without a fixed sleep) until `cond` holds, failing after 3s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('Informer list', () => {
  it('lists page by page, then watches from the list resourceVersion with bookmarks', async () => {
    serveList({
      '': { items: [obj('a', '3'), obj('b', '4')], continue: 'p2', rv: '10' },
      p2: { items: [obj('c', '5')], rv: '10' },
    });
    api.streamWatches(isWatch);
    const inf = start({ labelSelector: 'app=podinfo' });
    const w = await api.nextWatch();
    const lists = api.requests.filter(isList);
    expect(lists.map((r) => Object.fromEntries(r.query))).toEqual([
      { labelSelector: 'app=podinfo', limit: '2' },
      { labelSelector: 'app=podinfo', limit: '2', continue: 'p2' },
    ]);
    const q = Object.fromEntries(w.request.query);
    expect(q).toMatchObject({
      labelSelector: 'app=podinfo',
      resourceVersion: '10',
      allowWatchBookmarks: 'true',
      watch: 'true',
    });
    expect(Number(q.timeoutSeconds)).toBeGreaterThanOrEqual(60);
    expect(Number(q.timeoutSeconds)).toBeLessThanOrEqual(72);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.size).toBe(3);
    expect(seen).toEqual([
      ['add', 'a', '3', undefined],
      ['add', 'b', '4', undefined],
      ['add', 'c', '5', undefined],
    ]);
    expect(inf.list().map(objectKey).sort()).toEqual(['test/a', 'test/b', 'test/c']);
  });

  it('drops managedFields from listed and watched objects', async () => {
    serveList({ '': { items: [obj('a', '3')], rv: '10' } });
    api.streamWatches(isWatch);
    const inf = start();
    const w = await api.nextWatch();
    expect(inf.get('test/a')?.metadata).not.toHaveProperty('managedFields');
    w.send('ADDED', obj('b', '11'));
    await until(() => inf.size === 2, 'b');
    expect(inf.get('test/b')?.metadata).not.toHaveProperty('managedFields');
    expect(inf.get('test/b')?.metadata).toEqual({
      name: 'b',
      namespace: 'test',
      resourceVersion: '11',
    });
  });

  it('waitForSync resolves once the first list is applied', async () => {
    let release: (() => void) | undefined;
    api.on(isList, (_r, res) => {
      release = () => sendJson(res, 200, { metadata: { resourceVersion: '1' }, items: [] });
    });
    api.streamWatches(isWatch);
    const inf = start();
    let synced: boolean | undefined;
    const waiting = inf.waitForSync(new AbortController().signal).then((v) => (synced = v));
    await until(() => release !== undefined, 'the list request');
    expect(synced).toBeUndefined();
    expect(inf.hasSynced()).toBe(false);
    release?.();
    await waiting;
    expect(synced).toBe(true);
    await expect(inf.waitForSync(new AbortController().signal)).resolves.toBe(true);
  });

  it('waitForSync resolves false when aborted first, or already aborted', async () => {
    api.on(isList, () => undefined); // never answers
    const inf = start();
    const ac = new AbortController();
    const waiting = inf.waitForSync(ac.signal);
    ac.abort();
    await expect(waiting).resolves.toBe(false);
    await expect(inf.waitForSync(ac.signal)).resolves.toBe(false);
  });

  it('retries a failing list with backoff', async () => {
    let calls = 0;
    api.on(isList, (_r, res) => {
      calls++;
      if (calls < 3) sendJson(res, 500, statusBody(500, 'InternalError', 'etcd unavailable'));
      else sendJson(res, 200, { metadata: { resourceVersion: '7' }, items: [obj('a', '7')] });
    });
    api.streamWatches(isWatch);
    const inf = start();
    const w = await api.nextWatch();
    expect(calls).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(restarts).toEqual(['error', 'error']);
    expect(w.request.query.get('resourceVersion')).toBe('7');
    expect(inf.size).toBe(1);
    expect(logger.entries.filter((e) => e.level === 'warn')[0]?.fields).toMatchObject({
      path: PATH,
      error: expect.stringContaining('etcd unavailable'),
    });
  });
});

describe('Informer watch', () => {
  async function synced(
    items: Obj[] = [obj('a', '3'), obj('b', '4')],
  ): Promise<{ inf: Informer<Obj>; w: WatchStream }> {
    serveList({ '': { items, rv: '10' } });
    api.streamWatches(isWatch);
    const inf = start();
    const w = await api.nextWatch();
    seen.length = 0;
    return { inf, w };
  }

  it('applies ADDED, MODIFIED and DELETED events', async () => {
    const { inf, w } = await synced();
    w.send('ADDED', obj('c', '11'));
    w.send('MODIFIED', obj('a', '12', { spec: { replicas: 3 } }));
    w.send('DELETED', obj('b', '13'));
    await until(() => seen.length === 3, 'three events');
    expect(seen).toEqual([
      ['add', 'c', '11', undefined],
      ['update', 'a', '12', '3'],
      ['delete', 'b', '13', '4'],
    ]);
    expect(inf.get('test/a')?.spec?.replicas).toBe(3);
    expect(inf.get('test/b')).toBeUndefined();
    expect(inf.size).toBe(2);
  });

  it('treats ADDED of a known object as an update and MODIFIED of an unknown one as an add', async () => {
    const { w } = await synced();
    w.send('ADDED', obj('a', '11'));
    w.send('MODIFIED', obj('z', '12'));
    await until(() => seen.length === 2, 'two events');
    expect(seen).toEqual([
      ['update', 'a', '11', '3'],
      ['add', 'z', '12', undefined],
    ]);
  });

  it('resumes from the last resourceVersion seen, bookmarks included, when the watch ends', async () => {
    const { w } = await synced();
    w.send('MODIFIED', obj('a', '11'));
    w.send('BOOKMARK', { kind: 'Deployment', metadata: { resourceVersion: '20' } });
    await until(() => seen.length === 1, 'the update');
    w.end();
    const next = await api.nextWatch();
    expect(next.request.query.get('resourceVersion')).toBe('20');
    expect(seen).toHaveLength(1); // the bookmark is not an event
    expect(sleeps).toEqual([]); // a watch that delivered events ended normally
    expect(api.requests.filter(isList)).toHaveLength(1); // no relist
  });

  it('relists on a 410 ERROR event and reports what changed meanwhile as events', async () => {
    const { inf, w } = await synced([obj('a', '3'), obj('b', '4'), obj('c', '5')]);
    // While the watch was down: b was deleted, c modified, d created; a is unchanged.
    serveList({ '': { items: [obj('a', '3'), obj('c', '30'), obj('d', '31')], rv: '40' } });
    w.send('ERROR', statusBody(410, 'Expired', 'too old resource version: 10 (35)'));
    const next = await api.nextWatch();
    expect(next.request.query.get('resourceVersion')).toBe('40');
    expect(seen).toEqual([
      ['delete', 'b', '4', undefined],
      ['update', 'c', '30', '5'],
      ['add', 'd', '31', undefined],
    ]);
    expect(inf.list().map(objectKey).sort()).toEqual(['test/a', 'test/c', 'test/d']);
    expect(restarts).toEqual(['relist']);
    expect(sleeps).toEqual([]);
  });

  it('relists when the watch request itself answers 410', async () => {
    const { w } = await synced();
    let refused = false;
    api.on(
      (r) => isWatch(r) && !refused,
      (_r, res) => {
        refused = true;
        sendJson(res, 410, statusBody(410, 'Expired', 'too old'));
      },
    );
    serveList({ '': { items: [obj('a', '3')], rv: '50' } });
    w.send('BOOKMARK', { metadata: { resourceVersion: '12' } });
    w.end();
    const next = await api.nextWatch();
    expect(next.request.query.get('resourceVersion')).toBe('50');
    expect(seen).toEqual([['delete', 'b', '4', undefined]]);
    expect(restarts).toEqual(['relist']);
  });

  it('retries a watch that fails with HTTP 500 after a backoff, from the same resourceVersion', async () => {
    const { w } = await synced();
    let failures = 0;
    api.on(
      (r) => isWatch(r) && failures < 3,
      (_r, res) => {
        failures++;
        sendJson(res, 500, statusBody(500, 'InternalError', 'boom'));
      },
    );
    w.send('MODIFIED', obj('a', '15'));
    await until(() => seen.length === 1, 'the update');
    w.end();
    const next = await api.nextWatch();
    expect(failures).toBe(3);
    expect(next.request.query.get('resourceVersion')).toBe('15');
    expect(restarts).toEqual(['error', 'error', 'error']);
    expect(sleeps).toHaveLength(3);
    // Capped exponential backoff with jitter: 250–500, 500–1000, 1000–2000 ms.
    expect(sleeps[0]).toBeGreaterThanOrEqual(250);
    expect(sleeps[0]).toBeLessThanOrEqual(500);
    expect(sleeps[1]).toBeGreaterThanOrEqual(500);
    expect(sleeps[1]).toBeLessThanOrEqual(1000);
    expect(sleeps[2]).toBeGreaterThanOrEqual(1000);
    expect(sleeps[2]).toBeLessThanOrEqual(2000);
    expect(api.requests.filter(isList)).toHaveLength(1);
  });

  it('backs off from a watch the server closes at once without events', async () => {
    const { w } = await synced();
    let closed = 0;
    api.on(
      (r) => isWatch(r) && closed < 2,
      (_r, res) => {
        closed++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end();
      },
    );
    w.end(); // the first watch ends without events too
    await api.nextWatch();
    expect(closed).toBe(2);
    expect(sleeps).toHaveLength(3);
    expect(restarts).toEqual(['error', 'error', 'error']);
  });

  it('backs off after a non-410 ERROR event', async () => {
    const { w } = await synced();
    w.send('ERROR', statusBody(500, 'InternalError', 'watch chan error'));
    const next = await api.nextWatch();
    expect(next.request.query.get('resourceVersion')).toBe('10');
    expect(sleeps).toHaveLength(1);
    expect(restarts).toEqual(['error']);
  });

  it('keeps going when a handler throws, and logs it', async () => {
    const { inf, w } = await synced();
    inf.on(() => {
      throw new Error('handler bug');
    });
    w.send('ADDED', obj('c', '11'));
    w.send('ADDED', obj('d', '12'));
    await until(() => seen.length === 2, 'both events');
    expect(inf.size).toBe(4);
    expect(logger.entries.filter((e) => e.message === 'informer handler failed')).toHaveLength(2);
  });

  it('stops when aborted, and run resolves', async () => {
    const { w } = await synced();
    stop.abort();
    await expect(running).resolves.toBeUndefined();
    await w.closed;
    expect(api.requests.filter(isWatch)).toHaveLength(1);
  });
});

describe('abortableSleep', () => {
  it('resolves early when aborted, and at once when already aborted', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = abortableSleep(60_000, ac.signal);
    ac.abort();
    await p;
    await abortableSleep(60_000, ac.signal);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('objectKey', () => {
  it('is namespace/name, or name for cluster-scoped objects', () => {
    expect(objectKey({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
  });
});
