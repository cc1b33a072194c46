// The ground every other test stands on: the seed's manifests on the real local
// cluster, traffic through the simulated mesh, and Istio's metrics in Prometheus.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import {
  SEED,
  applyFile,
  deleteNamespace,
  gatewayGet,
  kubectl,
  kubectlJson,
  promQuery,
  setFault,
  setLoad,
  waitFor,
  waitAvailable,
} from './harness.js';

const NS = 'test';
const rate = (workload: string, extra = ''): string =>
  `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="${workload}"${extra}}[10s]))`;
const successRate = (workload: string): string =>
  `${rate(workload, ',response_code!~"5.."')} / ${rate(workload)} * 100`;

async function value(query: string): Promise<number | undefined> {
  const r = await promQuery(query);
  const v = r[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

describe('foundation: seed manifests, mesh simulator and Prometheus', () => {
  beforeAll(async () => {
    await deleteNamespace(NS);
    // The seed's manifests verbatim (the HPA as its autoscaling/v2 twin).
    await applyFile(
      ...['namespace', 'primary', 'canary', 'hpa', 'virtualservice'].map((f) =>
        join(SEED, `${f}.yaml`),
      ),
    );
  });

  afterAll(async () => {
    await setLoad(NS, 'podinfo', 0).catch(() => undefined);
    await setFault(NS, 'podinfo-canary', null).catch(() => undefined);
  });

  it('runs both Deployments to Available on kwok nodes', async () => {
    await waitAvailable(NS, ['podinfo', 'podinfo-canary']);
    const pods = await kubectlJson<{ items: { status: { phase: string } }[] }>([
      'get',
      'pods',
      '-n',
      NS,
    ]);
    expect(pods.items.length).toBeGreaterThanOrEqual(3);
    expect(pods.items.every((p) => p.status.phase === 'Running')).toBe(true);
  });

  it('answers through the gateway like podinfo, by Host header', async () => {
    const res = await waitFor(
      'the gateway to route app.example.com',
      async () => {
        const r = await gatewayGet('app.example.com');
        return r.status === 200 ? r : undefined;
      },
      10_000,
    );
    expect(JSON.parse(res.body)).toMatchObject({ version: '1.1.1', color: 'blue' });
    expect((await gatewayGet('app.example.com', '/status/503')).status).toBe(503);
    expect((await gatewayGet('unknown.example.com')).status).toBe(404);
  });

  it('exports Istio metrics to the real Prometheus: 100% for the primary, nothing for the canary', async () => {
    await setLoad(NS, 'podinfo', 50);
    const primary = await waitFor('podinfo success rate in Prometheus', async () => {
      const v = await value(successRate('podinfo'));
      return v !== undefined && Number.isFinite(v) ? v : undefined;
    });
    expect(primary).toBe(100);
    // No canary requests: no series at all, or (after an earlier run) a flat one.
    const canary = await value(rate('podinfo-canary'));
    expect(canary === undefined || canary === 0).toBe(true);
    const labels = (
      await promQuery(
        `istio_requests_total{destination_workload="podinfo",destination_workload_namespace="${NS}",reporter="destination"}`,
      )
    )[0]?.metric;
    expect(labels).toMatchObject({
      reporter: 'destination',
      destination_workload: 'podinfo',
      destination_workload_namespace: NS,
      destination_service_name: 'podinfo',
      response_code: '200',
    });
  });

  it('follows a VirtualService weight change within seconds', async () => {
    await kubectl([
      'patch',
      'virtualservice',
      '-n',
      NS,
      'podinfo',
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'replace', path: '/spec/http/0/route/0/weight', value: 50 },
        { op: 'replace', path: '/spec/http/0/route/1/weight', value: 50 },
      ]),
    ]);
    const started = Date.now();
    await waitFor(
      'the canary to receive traffic through the gateway',
      async () => {
        for (let i = 0; i < 20; i++) {
          const r = await gatewayGet('app.example.com');
          if (r.status === 200 && (JSON.parse(r.body) as { version: string }).version === '1.2.0')
            return true;
        }
        return false;
      },
      5000,
      50,
    );
    console.log(`canary served traffic ${Date.now() - started}ms after the weight change`);
    const canary = await waitFor(
      'podinfo-canary requests in Prometheus',
      async () => {
        const v = await value(rate('podinfo-canary'));
        return v !== undefined && v > 5 ? v : undefined;
      },
      30_000,
    );
    const primary = (await value(rate('podinfo'))) ?? 0;
    expect(canary).toBeGreaterThan(5);
    expect(primary).toBeGreaterThan(5);
  });

  it('applies a 30% fault profile to the canary from its pod template annotation', async () => {
    await kubectl([
      'patch',
      'deployment',
      '-n',
      NS,
      'podinfo-canary',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: { template: { metadata: { annotations: { 'mesh.steerer.io/error-ratio': '0.3' } } } },
      }),
    ]);
    await kubectl(['rollout', 'status', '-n', NS, 'deployment/podinfo-canary', '--timeout=60s']);
    // Wait until the 10s window holds only post-fault traffic, then read the rate.
    const sr = await waitFor(
      'the canary success rate to settle near 70%',
      async () => {
        const v = await value(successRate('podinfo-canary'));
        return v !== undefined && v > 60 && v < 80 ? v : undefined;
      },
      60_000,
      1000,
    );
    console.log(`canary success rate with a 30% fault profile: ${sr.toFixed(2)}%`);
    expect(sr).toBeGreaterThan(60);
    expect(sr).toBeLessThan(80);
    expect(await value(successRate('podinfo'))).toBe(100);
  });
});
