import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient, silentLogger } from '@steerer/common';
import { FakeApiServer, sendJson } from '@steerer/common/testing/fake-api-server';
import { startDashboard } from './index.js';
import { FakeAccess, FakeRange, rolloutObject } from './server/testing.js';
import type { ClusterAccess } from './server/access.js';

let api: FakeApiServer;
let client: KubeClient;
let webDir: string;

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
  webDir = mkdtempSync(join(tmpdir(), 'dashboard-web-'));
  writeFileSync(join(webDir, 'index.html'), '<!doctype html>');
});

afterEach(async () => {
  client.close();
  await api.close();
  rmSync(webDir, { recursive: true, force: true });
});

function access(): ClusterAccess {
  const fake = new FakeAccess();
  return Object.assign(fake, { client });
}

describe('startDashboard', () => {
  it('refuses to listen beyond loopback: it acts with your credentials', async () => {
    await expect(
      startDashboard({
        access: access(),
        prometheusUrl: 'http://127.0.0.1:9',
        address: '0.0.0.0',
        port: 0,
        logger: silentLogger,
        webDir,
      }),
    ).rejects.toThrow('the dashboard listens on loopback only');
  });

  it('lists the Rollouts, serves the page on 127.0.0.1, and closes cleanly', async () => {
    api.on(
      (r) =>
        r.path === '/apis/apps.weave.works/v1beta1/rollouts' && r.query.get('watch') !== 'true',
      (_r, res) =>
        sendJson(res, 200, {
          metadata: { resourceVersion: '1' },
          items: [rolloutObject('podinfo')],
        }),
    );
    api.streamWatches();
    const running = await startDashboard({
      access: access(),
      prometheusUrl: 'http://127.0.0.1:9',
      prometheus: new FakeRange(),
      port: 0,
      logger: silentLogger,
      webDir,
    });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await running.synced;
    const health = (await (await fetch(`${running.url}api/healthz`)).json()) as unknown;
    expect(health).toEqual({ ok: true, synced: true });
    expect((await fetch(running.url)).status).toBe(200);
    await running.close();
    await expect(fetch(running.url)).rejects.toThrow();
  });
});
