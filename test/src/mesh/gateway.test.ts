import { beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from './fake-clock.js';
import { FaultOverrides } from './faults.js';
import { backgroundRequest, Gateway, type GatewayRequest } from './gateway.js';
import { IstioMetrics } from './istio-metrics.js';
import type { RoutingTable } from './routing.js';
import { SelfMetrics } from './self-metrics.js';
import { request, seedTable } from './test-objects.js';

function gatewayRequest(host: string, path = '/'): GatewayRequest {
  return { ...request(host, path), origin: 'gateway' };
}

describe('Gateway', () => {
  let clock: FakeClock;
  let table: RoutingTable;
  let overrides: FaultOverrides;
  let istio: IstioMetrics;
  let self: SelfMetrics;
  let gateway: Gateway;

  beforeEach(() => {
    clock = new FakeClock(1000);
    table = seedTable([100, 0]);
    overrides = new FaultOverrides();
    istio = new IstioMetrics({ sourceReporter: false });
    self = new SelfMetrics();
    gateway = new Gateway({ table: () => table, clock, istio, self, overrides });
  });

  const metricsText = (): string =>
    self.render(istio, { virtualServices: { valid: 1, invalid: 0 }, loadTargets: [] });

  it('answers like podinfo and records a destination sample', async () => {
    const res = await gateway.handle(gatewayRequest('app.example.com'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ version: '1.1.1', color: 'blue' });
    expect(res.headers['x-mesh-workload']).toBe('test/podinfo');
    expect(metricsText()).toContain('destination_workload="podinfo"');
    expect(metricsText()).toContain(
      'mesh_sim_requests_total{origin="gateway",outcome="upstream"} 1',
    );
  });

  it('follows a weight change on the next request', async () => {
    expect(
      (await gateway.handle(gatewayRequest('app.example.com'))).headers['x-mesh-workload'],
    ).toBe('test/podinfo');
    table = seedTable([0, 100]);
    const res = await gateway.handle(gatewayRequest('app.example.com'));
    expect(res.headers['x-mesh-workload']).toBe('test/podinfo-canary');
    expect(JSON.parse(res.body)).toMatchObject({ version: '1.2.0', color: 'green' });
  });

  it('answers 404 "no route" for unknown hosts', async () => {
    const res = await gateway.handle(gatewayRequest('unknown.example.com'));
    expect([res.status, res.body]).toEqual([404, 'no route']);
  });

  it('answers 503 "no healthy upstream" when the canary has no ready replicas', async () => {
    table = seedTable([0, 100], { canaryReady: 0 });
    const res = await gateway.handle(gatewayRequest('app.example.com'));
    expect([res.status, res.body]).toEqual([503, 'no healthy upstream']);
    expect(metricsText()).toMatch(
      /destination_workload="podinfo-canary".*response_code="503".*response_flags="UH"/,
    );
  });

  it('injects annotation errors at the configured ratio', async () => {
    table = seedTable([0, 100], { canaryAnnotations: { 'mesh.steerer.io/error-ratio': '0.3' } });
    const codes: number[] = [];
    for (let i = 0; i < 20; i++)
      codes.push((await gateway.handle(gatewayRequest('app.example.com'))).status);
    expect(codes.filter((c) => c === 500)).toHaveLength(6);
  });

  it('lets an admin override take precedence over annotations, and clears it', async () => {
    table = seedTable([0, 100], { canaryAnnotations: { 'mesh.steerer.io/error-ratio': '1' } });
    overrides.set('test/podinfo-canary', { errorRatio: 0, latencyMs: 0, errorCode: 500 });
    expect((await gateway.handle(gatewayRequest('app.example.com'))).status).toBe(200);
    overrides.delete('test/podinfo-canary');
    expect((await gateway.handle(gatewayRequest('app.example.com'))).status).toBe(500);
    overrides.set('test/podinfo-canary', { errorRatio: 1, latencyMs: 0, errorCode: 503 });
    expect((await gateway.handle(gatewayRequest('app.example.com'))).status).toBe(503);
  });

  it('adds latency and measures it into the histogram', async () => {
    table = seedTable([0, 100], { canaryAnnotations: { 'mesh.steerer.io/latency-ms': '200' } });
    let done = false;
    const pending = gateway.handle(gatewayRequest('app.example.com')).then((r) => {
      done = true;
      return r;
    });
    await clock.advanceAsync(199);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    const res = await pending;
    expect(res.headers['x-envoy-upstream-service-time']).toBe('200');
    expect(metricsText()).toContain('le="100"} 0');
    expect(metricsText()).toContain('le="250"} 1');
  });

  it('adds /delay on top of fault latency', async () => {
    const pending = gateway.handle(gatewayRequest('app.example.com', '/delay/1'));
    await clock.advanceAsync(1000);
    expect((await pending).status).toBe(200);
  });

  it('ends simulated waits on close', async () => {
    const pending = gateway.handle(gatewayRequest('app.example.com', '/delay/30'));
    gateway.close();
    expect((await pending).status).toBe(200);
  });
});

describe('backgroundRequest', () => {
  it('uses the first host and pins the VirtualService', () => {
    const req = backgroundRequest(seedTable(), 'test/podinfo', '/status/200?x=1');
    expect(req).toMatchObject({
      origin: 'load',
      host: 'app.example.com',
      path: '/status/200',
      query: 'x=1',
      virtualService: 'test/podinfo',
    });
    expect(req?.header('user-agent')).toBe('mesh-sim-load');
  });

  it('is undefined for an unknown VirtualService', () => {
    expect(backgroundRequest(seedTable(), 'test/nope', '/')).toBeUndefined();
  });
});
