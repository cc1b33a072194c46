// Two controller replicas: only the Lease holder acts; killing it hands over within the
// lease duration, and the new leader carries on without repeating or skipping a step.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import type { SteererProcess } from './harness.js';
import { canaryWeight, testClient, virtualServicesPath, watch } from './watch.js';
import type { VirtualService } from './watch.js';
import {
  applyYaml,
  deleteNamespace,
  installCrd,
  kubectlJson,
  kubectlResult,
  rolloutEvents,
  rolloutStatus,
  setLoad,
  startController,
  waitFor,
} from './harness.js';

const NS = 'leader';
const LEASE = 'steerer-controller-e2e';

interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number };
}

async function holder(): Promise<string | undefined> {
  const r = await kubectlResult(['get', 'lease', '-n', NS, LEASE, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as Lease).spec.holderIdentity || undefined;
}

describe('two controller replicas', () => {
  const replicas: SteererProcess[] = [];
  const o: AppOptions = {
    namespace: NS,
    name: 'ha',
    image: 'quay.io/stefanprodan/podinfo:1.0.0',
    stepWeight: 10,
    interval: '30s',
  };
  const start = (): SteererProcess =>
    startController([
      '--leader-elect=true',
      `--leader-election-namespace=${NS}`,
      `--leader-election-id=${LEASE}`,
      '--control-loop-interval=3s',
      '--analysis-interval=1s',
      '--log-level=info',
    ]);

  beforeAll(async () => {
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    await applyYaml(appManifests(o));
    await applyYaml(rolloutManifest(o));
    await setLoad(NS, 'ha', 30);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await setLoad(NS, 'ha', 0).catch(() => undefined);
  });

  it('lets only the leader act and hands over within the lease duration', async () => {
    const client = testClient();
    const weights: number[] = [];
    const routes = await watch<VirtualService>(client, virtualServicesPath(NS), (vs) => {
      if (vs.metadata.name === 'ha') weights.push(canaryWeight(vs, 'ha', 'ha-canary') ?? -1);
    });
    weights.push(
      canaryWeight(routes.informer.get(`${NS}/ha`) as VirtualService, 'ha', 'ha-canary') ?? -1,
    );
    replicas.push(start(), start());
    const first = await waitFor('a leader', holder, 30_000, 200);
    const leader = replicas.find((r) => first.endsWith(`_${r.child.pid}`));
    const standby = replicas.find((r) => r !== leader);
    expect(leader).toBeDefined();
    await waitFor(
      'the rollout Initialized',
      async () => (await rolloutStatus(NS, 'ha')).phase === 'Initialized',
      60_000,
    );
    await applyYaml(canaryDeployment(o, 'quay.io/stefanprodan/podinfo:2.0.0'));
    await waitFor(
      'weight 30',
      async () => ((await rolloutStatus(NS, 'ha')).canaryWeight ?? 0) >= 30,
      120_000,
      200,
    );
    // The standby has not reconciled anything while the leader lived.
    expect(standby?.output()).toContain('waiting for leadership');
    expect(standby?.output()).not.toContain('Advance rollout');

    const killedAt = Date.now();
    await leader?.kill();
    const next = await waitFor(
      'a new leader',
      async () => {
        const h = await holder();
        return h && h !== first ? h : undefined;
      },
      30_000,
      100,
    );
    const handover = (Date.now() - killedAt) / 1000;
    expect(next.endsWith(`_${standby?.child.pid}`)).toBe(true);
    console.log(
      `leader killed; ${next} took over after ${handover.toFixed(1)}s (lease duration 15s)`,
    );
    expect(handover).toBeLessThanOrEqual(20);

    await waitFor(
      'the rollout to finish',
      async () => (await rolloutStatus(NS, 'ha')).phase === 'Succeeded',
      180_000,
      500,
    );
    // The route's weight history, as the API server saw it: every step once, in order.
    expect(weights.filter((w, i) => i === 0 || w !== weights[i - 1])).toEqual([
      0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0,
    ]);
    const events = (await rolloutEvents(NS, 'ha')).map((e) => e.message);
    expect(events.filter((m) => m === 'Advance rollout ha.leader weight 100')).toHaveLength(1);
    const lease = await kubectlJson<Lease>(['get', 'lease', '-n', NS, LEASE]);
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
    routes.stop();
    client.close();
  });
});
