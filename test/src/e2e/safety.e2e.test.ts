// Safe by default, on the real cluster, with steady traffic through the gateway the whole
// time: a healthy release, an automatic rollback of a canary that fails continuously, an
// abort, and a deletion mid-release — and not one 5xx or "no healthy upstream" that the
// canary's own fault profile did not cause. Then a primary deleted mid-release: no traffic
// to it, and the status says so.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  appHost,
  appManifests,
  canaryDeployment,
  namespaceManifest,
  rolloutManifest,
} from './apps.js';
import type { AppOptions } from './apps.js';
import {
  applyYaml,
  deleteNamespace,
  deploymentOf,
  installCrd,
  kubectl,
  kubectlJson,
  rolloutEvents,
  rolloutStatus,
  setFault,
  setLoad,
  startController,
  vsWeights,
  waitAvailable,
  waitFor,
} from './harness.js';
import { GatewayTraffic } from './traffic.js';
import type { SteererProcess } from './harness.js';

const NS = 'safety';
const APP: AppOptions = {
  namespace: NS,
  name: 'app',
  image: 'quay.io/stefanprodan/podinfo:1.0.0',
  replicas: 2,
  stepWeight: 20,
  interval: '10s',
};
const CANARY_WORKLOAD = `${NS}/app-canary`;
const RPS = 60;

async function status(): ReturnType<typeof rolloutStatus> {
  return rolloutStatus(NS, 'app');
}

async function waitPhase(phase: string, timeoutMs = 180_000): Promise<void> {
  await waitFor(`phase ${phase}`, async () => (await status()).phase === phase, timeoutMs, 200);
}

async function ship(tag: string): Promise<void> {
  const before = (await status()).canaryRevision;
  await applyYaml(canaryDeployment(APP, `quay.io/stefanprodan/podinfo:${tag}`));
  await waitFor(
    `a release of ${tag}`,
    async () => {
      const s = await status();
      return s.canaryRevision !== before && s.phase === 'Progressing';
    },
    60_000,
    200,
  );
}

async function waitWeight(atLeast: number): Promise<void> {
  await waitFor(
    `weight ${atLeast}`,
    async () => ((await status()).canaryWeight ?? 0) >= atLeast,
    120_000,
    200,
  );
}

async function canaryReplicas(): Promise<number> {
  return (await deploymentOf(NS, 'app-canary')).replicas;
}

describe('safe by default, under steady traffic', () => {
  let controller: SteererProcess;
  const traffic = new GatewayTraffic(appHost(APP), CANARY_WORKLOAD);

  beforeAll(async () => {
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    await applyYaml(appManifests(APP));
    await waitAvailable(NS, ['app', 'app-canary']);
    await applyYaml(rolloutManifest(APP));
    controller = startController([
      '--control-loop-interval=2s',
      '--analysis-interval=1s',
      '--route-settle-time=2s',
      `--namespace=${NS}`,
    ]);
    await waitPhase('Initialized', 60_000);
    traffic.start(RPS);
  });

  afterAll(async () => {
    await traffic.stop().catch(() => undefined);
    await setLoad(NS, 'app', 0).catch(() => undefined);
    await controller?.stop();
    await setFault(NS, 'app-canary', null).catch(() => undefined);
  });

  it('(f) a healthy release promotes without a single error', async () => {
    traffic.phase = 'release';
    await ship('1.1.0');
    await waitPhase('Succeeded');
    await waitFor('the canary scaled down', async () => (await canaryReplicas()) === 0, 60_000);
    expect(await vsWeights(NS, 'app')).toEqual([100, 0]);
  });

  it('(a) rolls back a canary that fails continuously, by default, in bounded time', async () => {
    traffic.phase = 'rollback';
    await ship('1.2.0');
    await waitWeight(20);
    await setFault(NS, 'app-canary', { errorRatio: 1 });
    const failedAt = Date.now();
    await waitFor(
      'all traffic back on the primary',
      async () => JSON.stringify(await vsWeights(NS, 'app')) === '[100,0]',
      120_000,
      100,
    );
    const routedBackMs = Date.now() - failedAt;
    await waitPhase('Failed', 60_000);
    const s = await kubectlJson<{
      status: { failureReason?: string; conditions?: { type: string; reason: string }[] };
    }>(['get', 'rollout', '-n', NS, 'app']);
    expect(s.status.failureReason).toBe('RolledBack');
    expect(s.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('RolledBack');
    expect(await canaryReplicas()).toBe(0);
    const messages = (await rolloutEvents(NS, 'app')).map((e) => e.message);
    expect(
      messages.some((m) => /^Rolling back app\.safety: its checks have failed for/.test(m)),
    ).toBe(true);
    // The rule: failing for twice the 10s window, checked every 2s.
    expect(routedBackMs).toBeLessThan(60_000);
    console.log(
      `safety e2e (a): first failure to 100/0 in ${(routedBackMs / 1000).toFixed(1)}s (window 10s, rule 20s, loop 2s)`,
    );
    await setFault(NS, 'app-canary', null);
  });

  it('(c) aborts by request: rolls back at once', async () => {
    traffic.phase = 'abort';
    await ship('1.3.0');
    await waitWeight(20);
    await kubectl(['annotate', 'rollout', '-n', NS, 'app', 'steerer.io/request=abort']);
    await waitPhase('Failed', 60_000);
    const r = await kubectlJson<{
      metadata: { annotations?: Record<string, string> };
      status: { failureReason?: string; lastRequest?: { action: string; outcome: string } };
    }>(['get', 'rollout', '-n', NS, 'app']);
    expect(r.status.failureReason).toBe('Aborted');
    expect(r.status.lastRequest).toMatchObject({ action: 'abort', outcome: 'Done' });
    expect(r.metadata.annotations?.['steerer.io/request']).toBeUndefined();
    expect(await vsWeights(NS, 'app')).toEqual([100, 0]);
  });

  it('(d) deleting the Rollout mid-release routes back and scales down before it goes', async () => {
    traffic.phase = 'deletion';
    await ship('1.4.0');
    await waitWeight(40);
    await kubectl(['delete', 'rollout', '-n', NS, 'app', '--wait=false']);
    await waitFor(
      'the Rollout to be gone',
      async () => (await kubectl(['get', 'rollouts', '-n', NS, '-o', 'name'])).trim() === '',
      60_000,
      100,
    );
    // The controller lets go only after both.
    expect(await vsWeights(NS, 'app')).toEqual([100, 0]);
    expect(await canaryReplicas()).toBe(0);
  });

  it('(f) counted zero errors the canary did not cause, at ≥ 50 requests/s', async () => {
    traffic.phase = 'end';
    await traffic.stop();
    console.log(
      `safety e2e (f): ${traffic.sent} requests at ${traffic.rate.toFixed(1)}/s over ${((traffic.stoppedAt - traffic.startedAt) / 1000).toFixed(0)}s through a release, a rollback, an abort and a deletion; ` +
        `${traffic.ok} ok, ${traffic.canaryFaults} 500s from the faulted canary, ${traffic.bad.length} other errors`,
    );
    expect(traffic.bad).toEqual([]);
    expect(traffic.canaryFaults).toBeGreaterThan(0);
    expect(traffic.rate).toBeGreaterThanOrEqual(50);
    expect(traffic.sent).toBeGreaterThan(1000);
  });

  it('(e) a primary deleted mid-release gets no traffic, and the status says so', async () => {
    // The simulator's own load now: the errors of a deleted primary's last moments are not counted.
    await setLoad(NS, 'app', 30);
    await applyYaml(rolloutManifest(APP));
    await waitFor('the Rollout back', async () => (await status()).phase !== undefined, 60_000);
    await ship('1.5.0');
    await waitWeight(40);
    const primary = await kubectl(['get', 'deployment', '-n', NS, 'app', '-o', 'yaml']);
    await kubectl(['delete', 'deployment', '-n', NS, 'app']);
    await waitFor(
      'all traffic on the canary',
      async () => JSON.stringify(await vsWeights(NS, 'app')) === '[0,100]',
      30_000,
      100,
    );
    const s = await kubectlJson<{
      status: {
        phase: string;
        message: string;
        conditions?: { type: string; status: string; reason: string }[];
      };
    }>(['get', 'rollout', '-n', NS, 'app']);
    expect(s.status.phase).toBe('Halted');
    expect(s.status.message).toBe('Halt rollout app.safety Deployment app.safety not found');
    expect(s.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'MissingTarget',
    });
    // Back again: the release carries on by itself.
    await applyYaml(primary.replace(/\n\s*(resourceVersion|uid|creationTimestamp): .*/g, ''));
    await waitAvailable(NS, ['app']);
    await waitPhase('Succeeded');
  });
});
