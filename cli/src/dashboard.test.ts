import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCode, KubeClient, SteererError } from '@steerer/common';
import { FakeApiServer, sendJson } from '@steerer/common/testing/fake-api-server';
import { DEFAULT_DASHBOARD_PORT, parseCommandLine } from './args.js';
import { run } from './cli.js';
import { clusterAccess } from './dashboard.js';
import { UsageError } from './errors.js';
import { FakeKube, memoryIo, rollout } from './testing.js';

const TARGET = { server: 'https://api.test:6443', kubeconfig: 'kubeconfig /k', context: 'ctx' };

describe('dashboard command line', () => {
  it('listens on 3100 unless told otherwise, and takes no Rollout name', () => {
    const inv = parseCommandLine(['dashboard']);
    expect(inv).toMatchObject({ command: 'dashboard', port: DEFAULT_DASHBOARD_PORT });
    expect(inv.connect.namespace).toBeUndefined();
    expect(parseCommandLine(['dashboard', '--port=0', '-n', 'test'])).toMatchObject({
      port: 0,
      connect: { namespace: 'test' },
    });
    expect(
      parseCommandLine(['dashboard', '--metrics-server=http://127.0.0.1:9090/']).metricsServer,
    ).toBe('http://127.0.0.1:9090');
    expect(() => parseCommandLine(['dashboard', 'podinfo'])).toThrow(
      'too many arguments for "dashboard": podinfo',
    );
    expect(() => parseCommandLine(['dashboard', '--port=http'])).toThrow(UsageError);
    expect(() => parseCommandLine(['dashboard', '--port=70000'])).toThrow(
      '--port=70000 is not a port',
    );
    expect(() => parseCommandLine(['dashboard', '--metrics-server=prometheus:9090'])).toThrow(
      'is not an http(s) URL',
    );
    expect(() => parseCommandLine(['status', 'x', '--port=1'])).toThrow(
      'unknown flag --port for "status"',
    );
  });
});

describe('kubectl steerer dashboard', () => {
  let api: FakeApiServer;
  let client: KubeClient;

  beforeEach(async () => {
    api = await FakeApiServer.start();
    client = new KubeClient(api.kubeConfig());
  });

  afterEach(async () => {
    client.close();
    await api.close();
  });

  it('prints its URL, serves the page on 127.0.0.1 and stops on Ctrl-C', async () => {
    api.on(
      (r) => r.path.endsWith('/rollouts') && r.query.get('watch') !== 'true',
      (_r, res) => sendJson(res, 200, { metadata: { resourceVersion: '1' }, items: [] }),
    );
    api.streamWatches();
    const io = memoryIo(new FakeKube());
    io.connect = () => ({
      kube: new FakeKube(),
      namespace: 'test',
      cluster: { client, target: TARGET },
    });
    const exited = run(['dashboard', '--port=0', '--metrics-server=http://127.0.0.1:9'], io);
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /Steerer dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(io.out.text)?.[1];
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(url).toBeDefined();
    expect(io.out.text).toContain('as context ctx (https://api.test:6443)');
    expect(io.out.text).toContain('Prometheus: http://127.0.0.1:9');
    const page = await fetch(url ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Steerer</title>');
    io.controller.abort();
    expect(await exited).toBe(0);
  });

  it('says which port is taken', async () => {
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as AddressInfo;
    const io = memoryIo(new FakeKube());
    io.connect = () => ({
      kube: new FakeKube(),
      namespace: 'test',
      cluster: { client, target: TARGET },
    });
    try {
      expect(await run(['dashboard', `--port=${port}`], io)).toBe(1);
      expect(io.err.text).toBe(
        `error: port ${port} on 127.0.0.1 is in use: pass --port=N (or --port=0 for any free port)\n`,
      );
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('writes requests as the plugin does, and words a 403 as the plugin does', async () => {
    api.on(
      (r) => r.method === 'PATCH',
      (r, res) =>
        sendJson(res, 200, {
          ...rollout('podinfo'),
          metadata: {
            name: 'podinfo',
            namespace: 'test',
            managedFields: [{ manager: 'kubectl-steerer', time: '2026-01-01T00:00:05Z' }],
          },
          echo: r.body,
        }),
    );
    const access = clusterAccess(client, TARGET, 'test');
    expect(await access.writeRequest('test', 'podinfo', 'abort')).toBe(
      Date.parse('2026-01-01T00:00:05Z'),
    );
    const patch = api.requests.find((r) => r.method === 'PATCH');
    expect(patch?.path).toBe('/apis/apps.weave.works/v1beta1/namespaces/test/rollouts/podinfo');
    expect(patch?.query.get('fieldManager')).toBe('kubectl-steerer');
    expect(patch?.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(patch?.body ?? '')).toEqual({
      metadata: { annotations: { 'steerer.io/request': 'abort' } },
    });
    const forbidden = new SteererError(
      ErrorCode.Api,
      'PATCH /apis/…: HTTP 403 Forbidden: rollouts.apps.weave.works "podinfo" is forbidden: User "viewer" cannot patch resource',
      { status: 403 },
    );
    expect(
      access.describe(forbidden, {
        verb: 'patch',
        resource: 'rollouts.apps.weave.works',
        kind: 'rollout',
        namespace: 'test',
        name: 'podinfo',
      }),
    ).toBe(
      'user "viewer" may not patch rollouts.apps.weave.works in namespace test: your RBAC must allow "patch" on rollouts.apps.weave.works in namespace test',
    );
  });
});
