// A process hands one long-lived AbortSignal to everything it runs: the controller's five
// informers (their lists, watches, backoff sleeps and sync waits), leader election, the
// API requests of all of them. Listeners on that signal must not add up, neither at once
// (Node warns past 10: MaxListenersExceededWarning) nor over time (a leak).

import { getEventListeners } from 'node:events';
import type http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '../logger.js';
import type { KubeObject } from '../model/objects.js';
import { FakeApiServer, sendJson, statusBody } from '../testing/fake-api-server.js';
import type { ApiRequest } from '../testing/fake-api-server.js';
import { KubeClient, whenAborted } from './client.js';
import { Informer, abortableSleep } from './informer.js';

let api: FakeApiServer;
let client: KubeClient;
let root: AbortController;
let runs: Promise<void>[];

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
  root = new AbortController();
  runs = [];
});

afterEach(async () => {
  root.abort();
  await Promise.all(runs);
  client.close();
  await api.close();
});

function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/**
 * Signals derived from `signal` with AbortSignal.any that it still keeps track of. Node
 * 20 keeps one entry per derived signal for as long as the source lives, even after the
 * derived one is garbage: a derived signal per watch grows a long-lived signal for ever.
 * Read from Node's internals; 0 where a runtime keeps no such set.
 */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find(
    (s) => s.description === 'kDependantSignals',
  );
  // Node's own Set, not this (jest) realm's: read its size without instanceof.
  const set: unknown = key === undefined ? undefined : Reflect.get(signal, key);
  const size: unknown = typeof set === 'object' && set !== null ? Reflect.get(set, 'size') : 0;
  return typeof size === 'number' ? size : 0;
}

/** Waits (on real events, without a fixed sleep) until `cond` holds, failing after 5s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const informerPath = (i: number): string => `/apis/apps/v1/namespaces/ns${i}/deployments`;
const isList = (r: ApiRequest): boolean =>
  r.path.endsWith('/deployments') && r.query.get('watch') !== 'true';
const isWatch = (r: ApiRequest): boolean => r.query.get('watch') === 'true';
const list = (res: http.ServerResponse, rv: string): void =>
  sendJson(res, 200, { metadata: { resourceVersion: rv }, items: [] });

function informer(
  i: number,
  onRestart?: () => void,
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>,
): Informer<KubeObject> {
  return new Informer<KubeObject>(client, {
    path: informerPath(i),
    logger: new MemoryLogger(),
    ...(onRestart ? { onRestart } : {}),
    ...(sleep ? { sleep } : {}),
  });
}

describe('whenAborted', () => {
  it('runs each callback once on abort, through a single listener', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    const f = (): number => calls.push('f');
    whenAborted(ac.signal, f);
    whenAborted(ac.signal, f);
    whenAborted(ac.signal, () => calls.push('g'));
    expect(listeners(ac.signal)).toBe(1);
    ac.abort();
    ac.abort();
    expect(calls).toEqual(['f', 'f', 'g']);
    expect(listeners(ac.signal)).toBe(0);
  });

  it('removes the listener with the last cancelled callback', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    const cancelA = whenAborted(ac.signal, () => calls.push('a'));
    const cancelB = whenAborted(ac.signal, () => calls.push('b'));
    cancelA();
    cancelA(); // twice is harmless
    expect(listeners(ac.signal)).toBe(1);
    cancelB();
    expect(listeners(ac.signal)).toBe(0);
    whenAborted(ac.signal, () => calls.push('c'));
    expect(listeners(ac.signal)).toBe(1);
    ac.abort();
    expect(calls).toEqual(['c']);
  });

  it('calls at once when the signal has already aborted, adding nothing', () => {
    const ac = new AbortController();
    ac.abort();
    const calls: string[] = [];
    const cancel = whenAborted(ac.signal, () => calls.push('now'));
    expect(calls).toEqual(['now']);
    expect(listeners(ac.signal)).toBe(0);
    cancel();
  });
});

describe('abort listeners on one long-lived signal', () => {
  it('stay at one while a dozen informers list, wait for sync, sleep and request at once', async () => {
    // Hold every list and get until all are in flight together, as at controller start.
    const held: http.ServerResponse[] = [];
    api.on(isList, (_r, res) => held.push(res));
    api.on(
      (r) => r.path.startsWith('/api/v1/namespaces/x/pods/'),
      (_r, res) => held.push(res),
    );
    api.streamWatches(isWatch);
    const n = 12;
    const informers = Array.from({ length: n }, (_, i) => informer(i));
    runs.push(...informers.map((inf) => inf.run(root.signal)));
    const synced = Promise.all(informers.map((inf) => inf.waitForSync(root.signal)));
    const gets = Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.get(`/api/v1/namespaces/x/pods/p${i}`, { signal: root.signal }),
      ),
    );
    gets.catch(() => undefined); // aborted if an expectation fails first
    const sleeping = Array.from({ length: n }, () => abortableSleep(60_000, root.signal));
    await until(() => held.length === 2 * n, 'every list and get to be in flight');
    expect(listeners(root.signal)).toBe(1);

    for (const res of held.splice(0)) list(res, '1');
    await expect(synced).resolves.toEqual(informers.map(() => true));
    await gets;
    const watches = await Promise.all(informers.map(() => api.nextWatch()));
    expect(watches).toHaveLength(n);
    expect(listeners(root.signal)).toBe(1);

    root.abort();
    await Promise.all([...runs, ...sleeping]);
    expect(listeners(root.signal)).toBe(0);
  });

  it('stay bounded over a long run of watch restarts, relists, requests and sleeps', async () => {
    api.on(isList, (_r, res) => list(res, '1'));
    api.on(
      (r) => r.path.startsWith('/api/v1/namespaces/x/pods/'),
      (_r, res) => sendJson(res, 200, { kind: 'Pod' }),
    );
    api.streamWatches(isWatch);
    let restarts = 0;
    // Backoff sleeps are real abortable sleeps, only short.
    const informers = [0, 1, 2].map((i) =>
      informer(
        i,
        () => restarts++,
        (_ms, signal) => abortableSleep(1, signal),
      ),
    );
    runs.push(...informers.map((inf) => inf.run(root.signal)));
    // Requests, sleeps and sync waits of their own come and go on `side`.
    const side = new AbortController();
    let peak = 0;
    let sidePeak = 0;
    const sample = (): void => {
      peak = Math.max(peak, listeners(root.signal));
      sidePeak = Math.max(sidePeak, listeners(side.signal));
    };
    const rounds = 300;
    for (let round = 0; round < rounds; round++) {
      const w = await api.nextWatch();
      sample();
      const work = [
        ...Array.from({ length: 4 }, (_, i) =>
          client.get(`/api/v1/namespaces/x/pods/p${i}`, { signal: root.signal }),
        ),
        client.get('/api/v1/namespaces/x/pods/side', { signal: side.signal }),
        abortableSleep(1, root.signal),
        abortableSleep(1, side.signal),
        ...informers.map((inf) => inf.waitForSync(side.signal)),
      ];
      sample();
      // A third of the watches end normally, a third expire (relist), a third fail at
      // once (backoff sleep, then watch again).
      if (round % 3 === 0) {
        w.send('ADDED', { metadata: { name: `d${round}`, namespace: 'x', resourceVersion: '2' } });
        w.end();
      } else if (round % 3 === 1) {
        w.send('ERROR', statusBody(410, 'Expired', 'too old resource version'));
      } else {
        w.end();
      }
      await Promise.all(work);
      sample();
    }
    await until(() => restarts >= (2 * rounds) / 3, 'the informers to restart');
    // One listener, the informers' open watches among its callbacks; AbortSignal.any on
    // the root would grow it by one entry per watch. What came and went on `side` took
    // its listener with it.
    expect({
      peak,
      now: listeners(root.signal),
      derived: dependants(root.signal),
      sidePeak,
      sideNow: listeners(side.signal),
    }).toEqual({ peak: 1, now: 1, derived: 0, sidePeak: 1, sideNow: 0 });
  });
});
