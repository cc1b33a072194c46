import { beforeEach, describe, expect, it } from '@jest/globals';
import { FaultDraws, type FaultDraw } from './draws.js';
import { FakeClock } from './fake-clock.js';
import { FaultOverrides } from './faults.js';
import { backgroundRequest, Gateway, type GatewayRequest } from './gateway.js';
import { IstioMetrics, ISTIO_DURATION_BUCKETS } from './istio-metrics.js';
import { MAX_SAMPLED_LATENCY_MS } from './latency.js';
import { NO_FAULTS, type FaultProfile } from './model.js';
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

describe('Gateway with random errors and sampled latency', () => {
  const RANDOM = {
    'mesh.steerer.io/error-ratio': '0.3',
    'mesh.steerer.io/error-mode': 'random',
    'mesh.steerer.io/seed': '7',
  };

  function setup(canaryAnnotations: Record<string, string> = {}): {
    clock: FakeClock;
    overrides: FaultOverrides;
    istio: IstioMetrics;
    gateway: Gateway;
  } {
    const clock = new FakeClock(0);
    const table = seedTable([0, 100], { canaryAnnotations });
    const overrides = new FaultOverrides();
    const istio = new IstioMetrics({ sourceReporter: false });
    const self = new SelfMetrics();
    const gateway = new Gateway({ table: () => table, clock, istio, self, overrides });
    return { clock, overrides, istio, gateway };
  }

  async function statuses(gateway: Gateway, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++)
      out.push((await gateway.handle(gatewayRequest('app.example.com'))).status);
    return out;
  }

  /** What the canary's draws are for this profile, computed independently. */
  function expectedDraws(profile: FaultProfile, n: number, origin = 'annotations'): FaultDraw[] {
    const draws = new FaultDraws();
    return Array.from({ length: n }, () => draws.next('test/podinfo-canary', profile, origin));
  }

  it('fails requests independently from the annotated seed, reproducibly', async () => {
    const got = await statuses(setup(RANDOM).gateway, 300);
    const profile: FaultProfile = {
      errorRatio: 0.3,
      errorCode: 500,
      latencyMs: 0,
      errorMode: 'random',
      seed: 7,
    };
    expect(got).toEqual(expectedDraws(profile, 300).map((d) => (d.fail ? 500 : 200)));
    expect(await statuses(setup(RANDOM).gateway, 300)).toEqual(got);
    const otherSeed = { ...RANDOM, 'mesh.steerer.io/seed': '8' };
    expect(await statuses(setup(otherSeed).gateway, 300)).not.toEqual(got);
  });

  it('restarts the stream on every override PUT, so a test can replay it', async () => {
    const { gateway, overrides } = setup();
    const random = (seed: number): FaultProfile => ({
      errorRatio: 0.5,
      errorCode: 503,
      latencyMs: 0,
      errorMode: 'random',
      seed,
    });
    overrides.set('test/podinfo-canary', random(42));
    const first = await statuses(gateway, 64);
    expect(new Set(first)).toEqual(new Set([200, 503]));
    expect(await statuses(gateway, 64)).not.toEqual(first);
    overrides.set('test/podinfo-canary', random(42));
    expect(await statuses(gateway, 64)).toEqual(first);
    overrides.set('test/podinfo-canary', random(43));
    expect(await statuses(gateway, 64)).not.toEqual(first);
  });

  it('waits for the sampled latency before answering', async () => {
    const annotations = {
      'mesh.steerer.io/latency-p50-ms': '200',
      'mesh.steerer.io/latency-p99-ms': '2000',
      'mesh.steerer.io/seed': '3',
    };
    const { clock, gateway } = setup(annotations);
    const profile = { ...NO_FAULTS, seed: 3, latency: { p50Ms: 200, p99Ms: 2000 } };
    const [first] = expectedDraws(profile, 1);
    const wait = first?.latencyMs ?? NaN;
    expect(wait).toBeGreaterThan(1);
    let done = false;
    const pending = gateway.handle(gatewayRequest('app.example.com')).then((r) => {
      done = true;
      return r;
    });
    await clock.advanceAsync(wait - 0.5);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    expect((await pending).headers['x-envoy-upstream-service-time']).toBe(String(Math.round(wait)));
  });

  it('records each sampled latency in the Istio histogram', async () => {
    const annotations = {
      'mesh.steerer.io/latency-p50-ms': '20',
      'mesh.steerer.io/latency-p99-ms': '400',
    };
    const { clock, gateway, istio } = setup(annotations);
    const n = 2000;
    const pending = Array.from({ length: n }, () =>
      gateway.handle(gatewayRequest('app.example.com')),
    );
    await clock.advanceAsync(MAX_SAMPLED_LATENCY_MS);
    expect((await Promise.all(pending)).every((r) => r.status === 200)).toBe(true);
    const waits = expectedDraws({ ...NO_FAULTS, latency: { p50Ms: 20, p99Ms: 400 } }, n).map(
      (d) => d.latencyMs,
    );
    const out: string[] = [];
    istio.render(out);
    const buckets = out
      .map((l) => /^istio_request_duration_milliseconds_bucket\{.*le="([^"]+)"\} (\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], Number(m[2])]);
    expect(buckets).toEqual([
      ...ISTIO_DURATION_BUCKETS.map((le) => [String(le), waits.filter((w) => w <= le).length]),
      ['+Inf', n],
    ]);
    const sum = out.find((l) => l.startsWith('istio_request_duration_milliseconds_sum'));
    expect(Number(sum?.split(' ').pop())).toBeCloseTo(
      waits.reduce((a, b) => a + b, 0),
      6,
    );
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
