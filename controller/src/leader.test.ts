import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient, MemoryLogger } from '@steerer/common';
import { FakeApiServer, sendJson } from '@steerer/common/testing/fake-api-server';
import { LeaderElector } from './leader.js';

const PATH = '/apis/coordination.k8s.io/v1/namespaces/steerer/leases/steerer-controller';

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  renewTime?: string;
  leaseTransitions?: number;
}

let api: FakeApiServer;
let client: KubeClient;
let lease: { spec: LeaseSpec; metadata: Record<string, string> };
let stop: AbortController;

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
  stop = new AbortController();
  lease = {
    metadata: { name: 'steerer-controller', namespace: 'steerer', resourceVersion: '1' },
    spec: {
      holderIdentity: 'dead-leader',
      leaseDurationSeconds: 1,
      renewTime: new Date().toISOString(),
      leaseTransitions: 0,
    },
  };
  // A Lease whose holder never renews again: the leader was killed.
  api.on(
    (r) => r.path === PATH && r.method === 'GET',
    (_r, res) =>
      sendJson(res, 200, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease }),
  );
  api.on(
    (r) => r.path === PATH && r.method === 'PUT',
    (r, res) => {
      lease = JSON.parse(r.body) as typeof lease;
      sendJson(res, 200, lease);
    },
  );
});

afterEach(async () => {
  stop.abort();
  client.close();
  await api.close();
});

function elector(now?: () => number, retryPeriodMs = 3_000): LeaderElector {
  return new LeaderElector({
    client,
    logger: new MemoryLogger(),
    namespace: 'steerer',
    name: 'steerer-controller',
    identity: 'standby',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs,
    now,
  });
}

describe('LeaderElector', () => {
  it("judges expiry by its own clock: a live holder's Lease is not taken", async () => {
    let t = 1_000_000;
    const e = elector(() => t);
    expect(await e.tryAcquireOrRenew()).toBe(false);
    // The holder's 1 s Lease, unchanged for 1 s by this replica's clock: not yet expired.
    t += 1000;
    expect(await e.tryAcquireOrRenew()).toBe(false);
    expect(e.nextAttemptInMs()).toBe(10);
    t += 1;
    expect(await e.tryAcquireOrRenew()).toBe(true);
    expect(lease.spec.holderIdentity).toBe('standby');
    expect(lease.spec.leaseTransitions).toBe(1);
  });

  it('waits at most until the holder expires, not a whole retry period', async () => {
    let t = 1_000_000;
    const e = elector(() => t);
    expect(await e.tryAcquireOrRenew()).toBe(false);
    expect(e.nextAttemptInMs()).toBe(1001);
    t += 400;
    expect(await e.tryAcquireOrRenew()).toBe(false);
    expect(e.nextAttemptInMs()).toBe(601);
  });

  it('takes over a dead leader about one Lease duration after first seeing it', async () => {
    // The dead holder's Lease lasts 1 s; the retry period is 20 s, so only waking at the
    // expiry (not a retry period later) takes over well inside the test's 10 s.
    const e = elector(undefined, 20_000);
    const started = Date.now();
    expect(await e.acquire(stop.signal)).toBe(true);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(8000);
    expect(lease.spec.holderIdentity).toBe('standby');
  }, 10_000);

  it('waits a retry period while it holds no view of another holder', () => {
    expect(elector().nextAttemptInMs()).toBe(3000);
  });
});
