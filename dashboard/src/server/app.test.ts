import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ErrorCode, SteererError, silentLogger } from '@steerer/common';
import { CSRF_HEADER } from '../shared/api.js';
import type { ErrorAnswer, RolloutSummary, RolloutView, Timeline } from '../shared/api.js';
import { DashboardApp, loopbackHost, route } from './app.js';
import {
  FakeAccess,
  FakeEvents,
  FakeHub,
  FakeRange,
  readStream,
  rolloutObject,
} from './testing.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');

/** The JSON body of an error answer. */
function err(res: { body: unknown }): string {
  return (res.body as ErrorAnswer).error;
}

describe('route', () => {
  it('knows the page, the streams, the timeline and requests, and nothing else', () => {
    expect(route('/')).toEqual({ kind: 'static', file: 'index.html' });
    expect(route('/app.js')).toEqual({ kind: 'static', file: 'app.js' });
    expect(route('/api/overview/stream')).toEqual({ kind: 'overview' });
    expect(route('/api/rollouts/test/podinfo/timeline')).toEqual({
      kind: 'rollout',
      namespace: 'test',
      name: 'podinfo',
      what: 'timeline',
    });
    expect(route('/../etc/passwd')).toBeUndefined();
    expect(route('/app.js/../../x')).toBeUndefined();
    expect(route('/api/rollouts/Te_st/podinfo/stream')).toBeUndefined();
  });

  it('answers only to loopback names on its own port (no DNS rebinding)', () => {
    expect(loopbackHost('127.0.0.1:3100', 3100)).toBe(true);
    expect(loopbackHost('localhost:3100', 3100)).toBe(true);
    expect(loopbackHost('[::1]:3100', 3100)).toBe(true);
    expect(loopbackHost('evil.example:3100', 3100)).toBe(false);
    expect(loopbackHost('127.0.0.1:80', 3100)).toBe(false);
    expect(loopbackHost(undefined, 3100)).toBe(false);
  });
});

describe('DashboardApp', () => {
  let server: http.Server;
  let base: string;
  let hub: FakeHub;
  let events: FakeEvents;
  let access: FakeAccess;
  let prometheus: FakeRange;
  let webDir: string;

  beforeEach(async () => {
    webDir = mkdtempSync(join(tmpdir(), 'dashboard-web-'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>Steerer</title>');
    writeFileSync(join(webDir, 'app.js'), 'console.log(1)');
    hub = new FakeHub();
    events = new FakeEvents();
    access = new FakeAccess();
    prometheus = new FakeRange();
    const app = new DashboardApp({
      hub,
      events,
      access,
      prometheus,
      webDir,
      logger: silentLogger,
      now: () => NOW,
      requestWaitMs: 300,
    });
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
      app.handler(req, res, port),
    );
    base = `http://127.0.0.1:${port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(webDir, { recursive: true, force: true });
  });

  it('serves the page with a strict content security policy', async () => {
    const res = await request(server).get('/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
    await request(server)
      .get('/app.js')
      .expect('content-type', /javascript/)
      .expect(200);
  });

  it('says when the page is not built, and refuses unknown paths and methods', async () => {
    rmSync(join(webDir, 'app.js'));
    const missing = await request(server).get('/app.js').expect(404);
    expect(missing.body).toEqual({ status: 404, error: expect.stringContaining('npm run build') });
    const unknown = await request(server).get('/etc/passwd').expect(404);
    expect(err(unknown)).toBe('no such page: /etc/passwd');
    const wrong = await request(server).post('/api/overview/stream').expect(405);
    expect(err(wrong)).toBe('/api/overview/stream takes GET only');
  });

  it('refuses a request addressed to another name (421)', async () => {
    const res = await request(server).get('/').set('host', 'attacker.example').expect(421);
    expect(err(res)).toContain('127.0.0.1');
  });

  it('reports its health and whether the Rollouts are listed', async () => {
    hub.synced = false;
    const res = await request(server).get('/api/healthz').expect(200);
    expect(res.body).toEqual({ ok: true, synced: false });
  });

  it('streams the overview: a snapshot, then changes, removals and trouble', async () => {
    hub.put(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 20 }));
    const got = await readStream(
      `${base}/api/overview/stream`,
      (list) => list.some((e) => e.event === 'trouble'),
      {
        onOpen: () => {
          hub.put(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 30 }));
          hub.put(rolloutObject('other', { phase: 'Succeeded' }, 'prod'));
          hub.delete('prod', 'other');
          hub.setTrouble('cannot reach the Kubernetes API server (retrying)');
        },
      },
    );
    expect(got.map((e) => e.event)).toEqual(['snapshot', 'upsert', 'upsert', 'remove', 'trouble']);
    const snapshot = got[0]?.data as { rollouts: RolloutSummary[]; scope: { context: string } };
    expect(snapshot.scope.context).toBe('test-context');
    expect(snapshot.rollouts.map((r) => [r.name, r.canaryWeight])).toEqual([['podinfo', 20]]);
    expect((got[1]?.data as RolloutSummary).canaryWeight).toBe(30);
    expect(got[3]?.data).toEqual({ namespace: 'prod', name: 'other' });
    expect(got[4]?.data).toEqual({ message: 'cannot reach the Kubernetes API server (retrying)' });
  });

  it('streams one Rollout with its events, and says when it is deleted', async () => {
    hub.put(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 10 }));
    events.events = [
      {
        metadata: { name: 'e1', namespace: 'test' },
        involvedObject: { kind: 'Rollout', name: 'podinfo', namespace: 'test' },
        reason: 'Synced',
        message: 'Advance rollout podinfo.test weight 10',
        type: 'Normal',
        source: { component: 'steerer' },
      },
    ];
    const got = await readStream(
      `${base}/api/rollouts/test/podinfo/stream`,
      (list) => list.some((e) => e.event === 'gone'),
      {
        onOpen: () => {
          hub.put(rolloutObject('podinfo', { phase: 'Progressing', canaryWeight: 20 }));
          hub.delete('test', 'podinfo');
        },
      },
    );
    expect(got.map((e) => e.event)).toEqual(['rollout', 'events', 'rollout', 'gone']);
    expect((got[2]?.data as RolloutView).status?.canaryWeight).toBe(20);
    expect(got[1]?.data).toEqual({ events: events.events });
    expect(got[3]?.data).toEqual({
      namespace: 'test',
      name: 'podinfo',
      message: 'Rollout podinfo in namespace test was deleted',
    });
  });

  it('says a Rollout does not exist, and one outside its namespace is not shown', async () => {
    const missing = await readStream(`${base}/api/rollouts/test/nope/stream`, (l) =>
      l.some((e) => e.event === 'gone'),
    );
    expect(missing.find((e) => e.event === 'gone')?.data).toMatchObject({
      message: 'Rollout nope in namespace test does not exist',
    });
    hub.scope = { ...hub.scope, namespace: 'test' };
    const outside = await readStream(`${base}/api/rollouts/prod/app/stream`, (l) =>
      l.some((e) => e.event === 'gone'),
    );
    expect(outside.find((e) => e.event === 'gone')?.data).toMatchObject({
      message: 'this dashboard shows namespace test only',
    });
  });

  it('unsubscribes when the page goes away', async () => {
    hub.put(rolloutObject('podinfo', { phase: 'Progressing' }));
    await readStream(`${base}/api/rollouts/test/podinfo/stream`, (l) => l.length >= 2);
    const deadline = Date.now() + 5000;
    while (hub.listeners('test', 'podinfo') > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(hub.listeners('test', 'podinfo')).toBe(0);
  });

  it('answers the timeline from Prometheus, and 404 for a Rollout it does not know', async () => {
    await request(server).get('/api/rollouts/test/nope/timeline').expect(404);
    hub.put(
      rolloutObject('podinfo', {
        phase: 'Progressing',
        canaryWeight: 20,
        startTime: new Date(NOW - 120_000).toISOString(),
      }),
    );
    prometheus.answers = [
      { match: 'steerer_rollout_canary_weight', series: [{ labels: {}, points: [] }] },
    ];
    const res = await request(server).get('/api/rollouts/test/podinfo/timeline').expect(200);
    const t = res.body as Timeline;
    expect(t.range).toBe('the current release');
    expect(t.prometheus).toBe('http://prometheus.test:9090');
    expect(t.checks.map((c) => c.name)).toEqual(['success-rate']);
    expect(t.error).toBeUndefined();
    // weight, the two request rates, and each check for canary and primary
    expect(prometheus.asked).toHaveLength(5);
  });

  it('says in the timeline when Prometheus is unreachable', async () => {
    hub.put(rolloutObject('podinfo', { phase: 'Progressing' }));
    prometheus.failWith = new Error('Prometheus http://prometheus.test:9090 is unreachable');
    const res = await request(server).get('/api/rollouts/test/podinfo/timeline').expect(200);
    expect((res.body as Timeline).error).toBe(
      'Prometheus http://prometheus.test:9090 is unreachable',
    );
  });

  describe('manual requests', () => {
    const post = (body: unknown, headers: Record<string, string> = { [CSRF_HEADER]: '1' }) =>
      request(server)
        .post('/api/rollouts/test/podinfo/request')
        .set(headers)
        .set('content-type', 'application/json')
        .send(JSON.stringify(body));

    it('refuses one without the header a page of another site cannot send', async () => {
      const res = await post({ request: 'abort' }, {}).expect(403);
      expect(err(res)).toContain(CSRF_HEADER);
      expect(access.written).toEqual([]);
    });

    it('refuses a body that is not a request', async () => {
      expect(err(await post({ request: 'explode' }).expect(400))).toContain(
        'is not a request Steerer knows',
      );
      await post({}).expect(400);
      expect(access.written).toEqual([]);
    });

    it('writes it and answers what the controller made of it', async () => {
      hub.put(rolloutObject('podinfo', { phase: 'Progressing' }));
      const answered = post({ request: 'abort' }).expect(200);
      const deadline = Date.now() + 5000;
      const handled = async (): Promise<void> => {
        while (access.written.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
        }
        hub.put(
          rolloutObject('podinfo', {
            phase: 'RollingBack',
            lastRequest: {
              action: 'abort',
              outcome: 'Done',
              message: 'rolling back',
              time: new Date(access.writtenAt).toISOString(),
            },
          }),
        );
      };
      const [res] = await Promise.all([answered, handled()]);
      expect(access.written).toEqual([{ namespace: 'test', name: 'podinfo', request: 'abort' }]);
      expect(res.body).toEqual({ state: 'handled', outcome: 'Done', message: 'rolling back' });
    });

    it('says when the controller has not handled it in time', async () => {
      hub.put(rolloutObject('podinfo', { phase: 'Progressing' }));
      const res = await post({ request: 'pause' }).expect(200);
      expect(res.body).toMatchObject({ state: 'pending' });
      expect((res.body as { message: string }).message).toContain('is it running?');
    });

    it("passes the API server's 403 on as a 403 with the sentence for it", async () => {
      access.failWith = new SteererError(ErrorCode.Api, 'PATCH …: HTTP 403 Forbidden: no', {
        status: 403,
      });
      const res = await post({ request: 'promote' }).expect(403);
      expect(res.body).toEqual({
        status: 403,
        error: 'user "tester" may not patch rollouts.apps.weave.works in namespace test (HTTP 403)',
      });
    });

    it('answers 502 when the API server cannot be reached', async () => {
      access.failWith = new SteererError(ErrorCode.Network, 'connect ECONNREFUSED');
      const res = await post({ request: 'promote' }).expect(502);
      expect(err(res)).toContain('may not patch');
    });
  });
});
