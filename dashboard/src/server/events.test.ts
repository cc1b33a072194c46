import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient } from '@steerer/common';
import type { EventObject } from '@steerer/common';
import { FakeApiServer, sendJson, statusBody } from '@steerer/common/testing/fake-api-server';
import type { ClusterAccess } from './access.js';
import { EventsHub } from './events.js';
import { FakeAccess } from './testing.js';

const PATH = '/api/v1/namespaces/test/events';

let api: FakeApiServer;
let client: KubeClient;
let hub: EventsHub;

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig(), { timeoutMs: 2000 });
  const fake = new FakeAccess();
  const access: ClusterAccess = Object.assign(fake, { client });
  hub = new EventsHub(access);
});

afterEach(async () => {
  hub.close();
  client.close();
  await api.close();
});

function event(name: string, message: string): EventObject {
  return {
    metadata: { name, namespace: 'test', resourceVersion: '1' },
    involvedObject: { kind: 'Rollout', name: 'podinfo', namespace: 'test' },
    reason: 'Synced',
    message,
    type: 'Normal',
    source: { component: 'steerer' },
  };
}

function next(): {
  got: Promise<[EventObject[], string | undefined]>;
  listener: (e: EventObject[], error: string | undefined) => void;
} {
  let resolve: (v: [EventObject[], string | undefined]) => void = () => undefined;
  const got = new Promise<[EventObject[], string | undefined]>((r) => (resolve = r));
  return { got, listener: (e, error) => resolve([e, error]) };
}

describe('EventsHub', () => {
  it("lists the Rollout's Events only, then follows them", async () => {
    api.on(
      (r) => r.path === PATH && r.query.get('watch') !== 'true',
      (_r, res) =>
        sendJson(res, 200, {
          metadata: { resourceVersion: '1' },
          items: [event('e1', 'Starting rollout for podinfo.test')],
        }),
    );
    api.streamWatches((r) => r.path === PATH);
    const first = next();
    const off = hub.subscribe('test', 'podinfo', first.listener);
    const [list, error] = await first.got;
    expect(error).toBeUndefined();
    expect(list.map((e) => e.message)).toEqual(['Starting rollout for podinfo.test']);
    const selectors = api.requests.map((r) => r.query.get('fieldSelector'));
    expect(selectors).toContain('involvedObject.kind=Rollout,involvedObject.name=podinfo');
    off();
  });

  it('says when the user may not read Events, and the page works on without them', async () => {
    api.on(
      (r) => r.path === PATH,
      (_r, res) => sendJson(res, 403, statusBody(403, 'Forbidden', 'events is forbidden')),
    );
    const first = next();
    hub.subscribe('test', 'podinfo', first.listener);
    const [list, error] = await first.got;
    expect(list).toEqual([]);
    expect(error).toBe('user "tester" may not list events in namespace test (HTTP 403)');
  });
});
