import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient, silentLogger } from '@steerer/common';
import type { RolloutObject } from '@steerer/common';
import { FakeApiServer, sendJson, statusBody } from '@steerer/common/testing/fake-api-server';
import type { ApiRequest, WatchStream } from '@steerer/common/testing/fake-api-server';
import type { RolloutSummary } from '../shared/api.js';
import type { ClusterAccess } from './access.js';
import { RolloutHub, rolloutsPath } from './rollouts.js';
import { FakeAccess, rolloutObject } from './testing.js';

const ALL = rolloutsPath(undefined);
const TEST = rolloutsPath('test');

let api: FakeApiServer;
let client: KubeClient;
let stop: AbortController;
let running: Promise<void> | undefined;

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig(), { timeoutMs: 2000 });
  stop = new AbortController();
  running = undefined;
});

afterEach(async () => {
  stop.abort();
  await running;
  client.close();
  await api.close();
});

function access(): ClusterAccess {
  const fake = new FakeAccess();
  return {
    client,
    server: api.url,
    context: 'ctx',
    defaultNamespace: 'test',
    describe: (e, op) => `${op.verb} ${op.resource}: ${fake.describe(e, op)}`,
    writeRequest: (ns, name, r) => fake.writeRequest(ns, name, r),
    handling: (r, q, at) => fake.handling(r, q, at),
  };
}

function versioned(r: RolloutObject, rv: string): RolloutObject {
  return { ...r, metadata: { ...r.metadata, resourceVersion: rv } };
}

function serveList(path: string, items: RolloutObject[], rv = '10'): void {
  api.on(
    (r) => r.method === 'GET' && r.path === path && r.query.get('watch') !== 'true',
    (_r, res) => sendJson(res, 200, { metadata: { resourceVersion: rv }, items }),
  );
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RolloutHub', () => {
  it('lists every Rollout, then follows changes, recording each new weight', async () => {
    let now = 1000;
    const isWatch = (r: ApiRequest): boolean => r.path === ALL && r.query.get('watch') === 'true';
    serveList(ALL, [
      versioned(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 10 }), '5'),
    ]);
    api.streamWatches(isWatch);
    const hub = new RolloutHub(access(), { logger: silentLogger, now: () => now });
    const seen: string[] = [];
    hub.subscribeOverview({
      reset: () => seen.push(`reset ${hub.list().length}`),
      upsert: (s: RolloutSummary) => seen.push(`upsert ${s.name} ${s.canaryWeight}`),
      remove: (ns, name) => seen.push(`remove ${ns}/${name}`),
      trouble: (m) => seen.push(`trouble ${String(m)}`),
    });
    const single: (number | undefined)[] = [];
    hub.subscribeRollout('test', 'podinfo', {
      rollout: (r) => single.push(r?.status?.canaryWeight),
      trouble: () => undefined,
    });
    running = hub.run(stop.signal);
    const watch: WatchStream = await api.nextWatch();
    expect(hub.synced).toBe(true);
    expect(hub.scope.namespace).toBeUndefined();
    now = 2000;
    watch.send(
      'MODIFIED',
      versioned(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 20 }), '6'),
    );
    // Unchanged for the overview: not sent again.
    watch.send(
      'MODIFIED',
      versioned(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 20 }), '7'),
    );
    watch.send('DELETED', versioned(rolloutObject('podinfo', { canaryWeight: 20 }), '8'));
    await until('the deletion', () => seen.includes('remove test/podinfo'));
    expect(seen).toEqual(['reset 1', 'upsert podinfo 20', 'remove test/podinfo']);
    expect(single).toEqual([10, 20, 20, undefined]);
    expect(hub.get('test', 'podinfo')).toBeUndefined();
  });

  it('keeps the weights it saw, one point per change', async () => {
    let now = 1000;
    serveList(ALL, [versioned(rolloutObject('podinfo', { canaryWeight: 0 }), '5')]);
    api.streamWatches((r) => r.path === ALL);
    const hub = new RolloutHub(access(), { logger: silentLogger, now: () => now });
    running = hub.run(stop.signal);
    const watch = await api.nextWatch();
    for (const [at, weight] of [
      [2000, 10],
      [3000, 10],
      [4000, 30],
    ] as const) {
      now = at;
      watch.send(
        'MODIFIED',
        versioned(rolloutObject('podinfo', { canaryWeight: weight }), `${at}`),
      );
      await until(
        `version ${at}`,
        () => hub.get('test', 'podinfo')?.metadata.resourceVersion === `${at}`,
      );
    }
    expect(hub.weightsOf('test', 'podinfo')).toEqual([
      { at: 1000, weight: 0 },
      { at: 2000, weight: 10 },
      { at: 4000, weight: 30 },
    ]);
  });

  it("narrows to the context's namespace when the user may not list cluster-wide", async () => {
    api.on(
      (r) => r.path === ALL,
      (_r, res) => sendJson(res, 403, statusBody(403, 'Forbidden', 'rollouts is forbidden')),
    );
    serveList(TEST, [versioned(rolloutObject('podinfo'), '3')]);
    api.streamWatches((r) => r.path === TEST);
    const hub = new RolloutHub(access(), { logger: silentLogger });
    running = hub.run(stop.signal);
    await api.nextWatch();
    expect(hub.scope.namespace).toBe('test');
    expect(hub.scope.note).toContain('list rollouts.apps.weave.works');
    expect(hub.scope.note).toContain('Showing namespace test only');
    expect(hub.list().map((s) => s.name)).toEqual(['podinfo']);
    expect(hub.watches('test')).toBe(true);
    expect(hub.watches('prod')).toBe(false);
  });

  it('says when the API server fails, and clears it once it answers again', async () => {
    let failing = true;
    api.on(
      (r) => r.path === TEST && r.query.get('watch') !== 'true',
      (_r, res) =>
        failing
          ? sendJson(res, 503, statusBody(503, 'ServiceUnavailable', 'etcd is down'))
          : sendJson(res, 200, { metadata: { resourceVersion: '1' }, items: [] }),
    );
    api.streamWatches((r) => r.path === TEST);
    const hub = new RolloutHub(access(), {
      namespace: 'test',
      logger: silentLogger,
      sleep: () => new Promise((r) => setTimeout(r, 20)),
    });
    const troubles: (string | undefined)[] = [];
    hub.subscribeOverview({
      reset: () => undefined,
      upsert: () => undefined,
      remove: () => undefined,
      trouble: (m) => troubles.push(m),
    });
    running = hub.run(stop.signal);
    const message = await until('trouble', () => hub.trouble);
    expect(message).toContain('list rollouts.apps.weave.works');
    expect(message).toContain('(retrying)');
    failing = false;
    await until('recovery', () => hub.synced && hub.trouble === undefined);
    expect(troubles.at(-1)).toBeUndefined();
  });
});
