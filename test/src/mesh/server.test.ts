import { afterEach, describe, expect, it } from '@jest/globals';
import { handleAdmin } from './admin.js';
import { realClock } from './clock.js';
import { FaultOverrides } from './faults.js';
import { Gateway } from './gateway.js';
import { IstioMetrics } from './istio-metrics.js';
import { LoadScheduler } from './load.js';
import { silentLogger } from './log.js';
import { SelfMetrics } from './self-metrics.js';
import { startServers, type RunningServers } from './server.js';
import { MeshStore } from './store.js';
import { rawDeployment, rawService, rawVirtualService } from './test-objects.js';

let servers: RunningServers | undefined;

afterEach(async () => {
  await servers?.close();
  servers = undefined;
});

async function start(): Promise<RunningServers> {
  const store = new MeshStore(silentLogger);
  store.sink('virtualservices').replace([rawVirtualService({})]);
  store.sink('services').replace([rawService('podinfo'), rawService('podinfo-canary')]);
  store
    .sink('deployments')
    .replace([rawDeployment('podinfo', { color: 'blue' }), rawDeployment('podinfo-canary')]);
  const istio = new IstioMetrics({ sourceReporter: true });
  const self = new SelfMetrics();
  const overrides = new FaultOverrides();
  const gateway = new Gateway({
    table: () => store.routingTable(),
    clock: realClock,
    istio,
    self,
    overrides,
  });
  const load = new LoadScheduler({ clock: realClock, log: silentLogger, fire: () => undefined });
  servers = await startServers({
    host: '127.0.0.1',
    gatewayPort: 0,
    metricsPort: 0,
    gateway,
    log: silentLogger,
    admin: (req) =>
      handleAdmin(
        {
          store,
          overrides,
          load,
          log: silentLogger,
          virtualServiceVersion: () => 'v1',
          renderMetrics: () =>
            self.render(istio, { virtualServices: { valid: 1, invalid: 0 }, loadTargets: [] }),
        },
        req,
      ),
  });
  return servers;
}

describe('servers (real HTTP on port 0)', () => {
  it('routes by Host header and exports metrics', async () => {
    const s = await start();
    expect(s.gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // fetch() forbids setting Host, so use node:http via a tiny helper.
    const { request } = await import('node:http');
    const get = (host: string, path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const url = new URL(path, s.gatewayUrl);
        const req = request(url, { headers: { host } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const ok = await get('app.example.com:80', '/');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ color: 'blue', version: '1.1.1' });
    expect((await get('podinfo', '/status/418')).status).toBe(418);
    expect(await get('unknown', '/')).toEqual({ status: 404, body: 'no route' });

    const metrics = await fetch(`${s.metricsUrl}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(
      /istio_requests_total\{reporter="destination".*destination_workload="podinfo".*response_code="200".*\} 1/,
    );
    expect(text).toMatch(/istio_requests_total\{reporter="destination".*response_code="418".*\} 1/);
    expect(text).not.toContain('destination_workload="podinfo-canary"');
  });

  it('accepts admin writes over HTTP and rejects oversized bodies', async () => {
    const s = await start();
    const put = await fetch(`${s.metricsUrl}/admin/faults/test/podinfo`, {
      method: 'PUT',
      body: JSON.stringify({ errorRatio: 1 }),
    });
    expect(put.status).toBe(200);
    const state = (await (await fetch(`${s.metricsUrl}/admin/state`)).json()) as {
      faultOverrides: Record<string, unknown>;
    };
    expect(Object.keys(state.faultOverrides)).toEqual(['test/podinfo']);
    const big = await fetch(`${s.metricsUrl}/admin/load/test/podinfo`, {
      method: 'PUT',
      body: 'x'.repeat(100_000),
    });
    expect(big.status).toBe(413);
  });

  it('fails cleanly when the port is taken', async () => {
    const s = await start();
    const port = Number(new URL(s.gatewayUrl).port);
    const store = new MeshStore(silentLogger);
    const self = new SelfMetrics();
    const gateway = new Gateway({
      table: () => store.routingTable(),
      clock: realClock,
      istio: new IstioMetrics({ sourceReporter: false }),
      self,
      overrides: new FaultOverrides(),
    });
    await expect(
      startServers({
        host: '127.0.0.1',
        gatewayPort: port,
        metricsPort: 0,
        gateway,
        log: silentLogger,
        admin: () => ({ status: 200, contentType: 'text/plain', body: '' }),
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
