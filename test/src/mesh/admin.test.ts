import { describe, expect, it } from '@jest/globals';
import { handleAdmin, type AdminDeps } from './admin.js';
import { FakeClock } from './fake-clock.js';
import { FaultOverrides } from './faults.js';
import { LoadScheduler } from './load.js';
import { MemoryLogger } from './log.js';
import { MeshStore } from './store.js';
import { rawDeployment, rawService, rawVirtualService } from './test-objects.js';

function setup(): {
  deps: AdminDeps;
  clock: FakeClock;
  call: (method: string, path: string, body?: unknown) => { status: number; json: unknown };
} {
  const log = new MemoryLogger();
  const clock = new FakeClock();
  const store = new MeshStore(log);
  store.sink('virtualservices').replace([
    rawVirtualService({
      destinations: [
        { host: 'podinfo', weight: 90 },
        { host: 'podinfo-canary', weight: 10 },
      ],
    }),
    rawVirtualService({
      name: 'broken',
      hosts: ['broken'],
      destinations: [
        { host: 'a', weight: 1 },
        { host: 'b', weight: 1 },
      ],
    }),
  ]);
  store.sink('services').replace([rawService('podinfo'), rawService('podinfo-canary')]);
  store.sink('deployments').replace([
    rawDeployment('podinfo', { replicas: 2, readyReplicas: 2 }),
    rawDeployment('podinfo-canary', {
      readyReplicas: 0,
      annotations: { 'mesh.steerer.io/latency-ms': '50' },
    }),
  ]);
  // No Gateway API objects (as when its CRDs are absent): each source reports an empty list.
  for (const r of ['httproutes', 'gateways', 'referencegrants'] as const) store.sink(r).replace([]);
  store.sink('destinationrules').replace([]);
  const deps: AdminDeps = {
    store,
    overrides: new FaultOverrides(),
    load: new LoadScheduler({ clock, log, fire: () => undefined }),
    log,
    renderMetrics: () => 'istio_requests_total 0\n',
    virtualServiceVersion: () => 'v1',
  };
  const call = (method: string, path: string, body?: unknown) => {
    const res = handleAdmin(deps, {
      method,
      path,
      body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: res.status,
      json: res.contentType.startsWith('application/json')
        ? (JSON.parse(res.body) as unknown)
        : res.body,
    };
  };
  return { deps, clock, call };
}

describe('handleAdmin', () => {
  it('serves metrics and health', () => {
    const { call } = setup();
    expect(call('GET', '/metrics')).toEqual({ status: 200, json: 'istio_requests_total 0\n' });
    expect(call('GET', '/healthz')).toEqual({ status: 200, json: { status: 'OK' } });
    expect(call('GET', '/readyz')).toEqual({ status: 200, json: { status: 'OK' } });
  });

  it('describes routes, weights, workloads and readiness', () => {
    const { call } = setup();
    const { status, json } = call('GET', '/admin/state');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      synced: { virtualservices: true, services: true, deployments: true },
      virtualServiceVersion: 'v1',
      virtualServices: [
        { name: 'broken', valid: false, error: expect.stringContaining('2 != 100') },
        {
          name: 'podinfo',
          valid: true,
          weights: ['podinfo=90,podinfo-canary=10'],
          routes: [
            {
              destinations: [
                {
                  host: 'podinfo',
                  weight: 90,
                  service: 'test/podinfo',
                  healthy: true,
                  workloads: [{ name: 'podinfo', readyReplicas: 2 }],
                },
                {
                  host: 'podinfo-canary',
                  weight: 10,
                  healthy: false,
                  workloads: [
                    {
                      name: 'podinfo-canary',
                      ready: false,
                      faults: { latencyMs: 50 },
                      faultSource: 'annotations',
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('sets, shows and clears fault overrides', () => {
    const { call, deps } = setup();
    expect(
      call('PUT', '/admin/faults/test/podinfo-canary', { errorRatio: 0.3, latencyMs: 0 }),
    ).toEqual({
      status: 200,
      json: {
        workload: 'test/podinfo-canary',
        override: { errorRatio: 0.3, latencyMs: 0, errorCode: 500 },
      },
    });
    expect(deps.overrides.get('test/podinfo-canary')?.errorRatio).toBe(0.3);
    expect(call('GET', '/admin/faults').json).toEqual({
      'test/podinfo-canary': { errorRatio: 0.3, latencyMs: 0, errorCode: 500 },
    });
    expect(call('DELETE', '/admin/faults/test/podinfo-canary').status).toBe(200);
    expect(call('DELETE', '/admin/faults/test/podinfo-canary').status).toBe(404);
  });

  it('sets random errors with a seed and a latency distribution', () => {
    const { call, deps } = setup();
    const body = {
      errorRatio: 0.005,
      errorMode: 'random',
      seed: 42,
      latency: { p50Ms: 20, p99Ms: 250 },
    };
    const override = { ...body, latencyMs: 0, errorCode: 500 };
    expect(call('PUT', '/admin/faults/test/podinfo', body)).toEqual({
      status: 200,
      json: { workload: 'test/podinfo', override },
    });
    expect(deps.overrides.get('test/podinfo')).toEqual(override);
    expect(call('GET', '/admin/faults').json).toEqual({ 'test/podinfo': override });
    expect(call('GET', '/admin/state').json).toMatchObject({
      faultOverrides: { 'test/podinfo': override },
    });
  });

  it.each([
    [{ errorMode: 'sometimes' }, 'errorMode must be "even" or "random", got "sometimes"'],
    [{ seed: 'abc' }, 'seed must be a number, got "abc"'],
    [{ seed: -3 }, 'seed must be within 0..4294967295, got -3'],
    [{ latency: { p50Ms: 50 } }, 'latency.p99Ms must be a number'],
    [{ latency: { p50Ms: 50, p99Ms: 10 } }, 'latency.p99Ms (10) must be ≥ latency.p50Ms (50)'],
    [{ latency: { p50Ms: -1, p99Ms: 10 } }, 'latency.p50Ms must be > 0'],
    [{ latency: 'slow' }, 'latency must be an object'],
    [{ jitter: 5 }, 'unknown field(s) jitter'],
  ])('refuses fault override %j with 400 and a message', (body, message) => {
    const { call, deps } = setup();
    const res = call('PUT', '/admin/faults/test/podinfo', body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: expect.stringContaining(message) });
    expect(deps.overrides.get('test/podinfo')).toBeUndefined();
  });

  it('sets and removes background load', () => {
    const { call, deps } = setup();
    expect(call('PUT', '/admin/load/test/podinfo', { rps: 200, path: '/' }).status).toBe(200);
    expect(deps.load.list()).toMatchObject([{ key: 'test/podinfo', rps: 200, path: '/' }]);
    expect(call('GET', '/admin/load').json).toMatchObject([{ key: 'test/podinfo', rps: 200 }]);
    expect(call('DELETE', '/admin/load/test/podinfo').status).toBe(200);
    expect(deps.load.list()).toEqual([]);
  });

  it.each([
    ['PUT', '/admin/load/test/podinfo', '{not json', 400],
    ['PUT', '/admin/load/test/podinfo', { rps: 'lots' }, 400],
    ['PUT', '/admin/faults/test/x', { errorRatio: 5 }, 400],
    ['GET', '/admin/faults/test/x', undefined, 405],
    ['PUT', '/admin/load/only-one-part', { rps: 1 }, 404],
    ['GET', '/nope', undefined, 404],
  ])('%s %s %j → %d', (method, path, body, status) => {
    expect(setup().call(method, path, body).status).toBe(status);
  });
});
