// Safe by default: rollback of a canary that keeps failing, the progress deadline, manual
// requests, deletion, broken targets mid-release and zero-error transitions — each through
// the real planner in the seed's world.

import { describe, expect, it } from '@jest/globals';
import type { Action } from './types.js';
import { CONFIG, World, seedObserved, seedRollout } from './testing.js';

const FAILING = 'Warning Rolling back podinfo.test: its checks have failed for';

function phase(w: World): string | undefined {
  return w.rollout.status?.phase;
}

function request(w: World, value: string): void {
  w.rollout.metadata.annotations = {
    ...w.rollout.metadata.annotations,
    'steerer.io/request': value,
  };
}

function kinds(actions: readonly Action[]): string[] {
  return actions.map((a) => a.kind);
}

describe('rollback of a canary that keeps failing', () => {
  it('rolls back by default after twice the check window: routes first, then the canary', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    const firstFailure = w.now + 1000;
    w.now = firstFailure;
    w.successRate = 50;
    w.runUntil((x) => phase(x) === 'RollingBack', 1000);
    // The seed's window is 1m: failing for 2m without a pass in between rolls back.
    expect(w.now - firstFailure).toBeGreaterThanOrEqual(120_000);
    expect(w.now - firstFailure).toBeLessThan(120_000 + CONFIG.stepIntervalMs);
    expect(w.events.at(-1)).toMatch(new RegExp(`^${FAILING} 2m: success rate 50.00% < 99%$`));
    expect(w.weights()).toEqual([100, 0]);
    // The canary keeps its pods until the route has settled.
    expect(w.observed.canary.spec.replicas).toBe(2);
    w.runUntil((x) => phase(x) === 'Failed', 1000);
    expect(w.observed.canary.spec.replicas).toBe(0);
    const s = w.rollout.status;
    expect(s?.failureReason).toBe('RolledBack');
    expect(s?.canaryWeight).toBe(0);
    expect(s?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RolledBack',
    });
    expect(w.events.at(-1)).toMatch(/^Normal Rolled back podinfo\.test \(RolledBack\): revision/);
  });

  it("still promotes the seed's demo: a burst of errors shorter than the rule", () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 60);
    // 500s for 25 s, and the 1m window remembers them for another minute: ~85 s failing.
    w.successRate = 88.46;
    const start = w.now;
    w.runUntil((x) => x.now - start >= 85_000, 5000);
    w.successRate = 100;
    w.runUntil((x) => phase(x) === 'Succeeded');
    expect(w.events.filter((e) => e.startsWith('Warning Rolling back'))).toEqual([]);
    expect(w.events.filter((e) => e.startsWith('Warning Halt rollout')).length).toBeGreaterThan(0);
  });

  it('judges the promotion on requests served since the canary recovered', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 60);
    const start = Date.parse(w.rollout.status?.startTime ?? '');
    expect(w.plans.at(-1)?.measure?.sinceMs).toBe(start);
    w.successRate = 50;
    w.runUntil((x) => x.rollout.status?.failingSince !== undefined, 1000);
    expect(w.rollout.status?.evidenceSince).toBeUndefined();
    w.successRate = 100;
    w.runUntil((x) => x.rollout.status?.failingSince === undefined, 1000);
    const since = w.rollout.status?.evidenceSince;
    expect(since).toBeDefined();
    expect(Date.parse(since ?? '')).toBeGreaterThan(start);
    expect(w.plans.at(-1)?.measure?.sinceMs).toBe(Date.parse(since ?? ''));
    // A new release starts its evidence afresh.
    w.runUntil((x) => phase(x) === 'Succeeded');
    w.bumpCanary('quay.io/stefanprodan/podinfo:1.3.0');
    w.runUntil((x) => x.rollout.status?.canaryWeight === 10);
    expect(w.rollout.status?.evidenceSince).toBeUndefined();
    expect(w.plans.at(-1)?.measure?.sinceMs).toBe(Date.parse(w.rollout.status?.startTime ?? ''));
  });

  it('does not count no data or a passing check in between as sustained failure', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    for (let i = 0; i < 20; i++) {
      w.successRate = i % 10 === 9 ? 100 : 50; // a pass every 100 s
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(phase(w)).not.toBe('RollingBack');
    expect(phase(w)).not.toBe('Failed');
  });

  it('can be turned off per Rollout; the release then halts for as long as it fails', () => {
    const w = new World();
    const spec = w.rollout.spec as Record<string, unknown>;
    w.rollout = { ...w.rollout, spec: { ...spec, rollback: { onFailure: false } } };
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.successRate = 50;
    for (let i = 0; i < 30; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(phase(w)).toBe('Halted');
  });

  it('does not start the rolled-back revision again; a new revision starts, a retry restarts it', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 10);
    w.successRate = 0;
    w.runUntil((x) => phase(x) === 'Failed', 5000);
    const failed = w.rollout.status?.canaryRevision;
    w.successRate = 100;
    for (let i = 0; i < 5; i++) {
      w.now += CONFIG.stepIntervalMs;
      expect(w.pass().actions).toEqual([]);
    }
    expect(phase(w)).toBe('Failed');
    request(w, 'retry');
    const p = w.pass();
    expect(p.status.phase).toBe('Progressing');
    expect(p.status.canaryRevision).toBe(failed);
    expect(p.status.lastRequest).toMatchObject({ action: 'retry', outcome: 'Done' });
    expect(p.actions).toContainEqual({ kind: 'ackRequest', value: 'retry' });
    expect(w.events).toContain(`Normal Retrying rollout for podinfo.test: revision ${failed}`);
    w.runUntil((x) => phase(x) === 'Succeeded');
  });
});

describe('requeue while a rollback is overdue', () => {
  it('does not spin when the rollback time has passed without a failure measured now', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    const firstFailure = w.now + 1000;
    w.now = firstFailure;
    w.successRate = 50;
    w.runUntil((x) => x.now - firstFailure >= 110_000, 1000, 200);
    expect(phase(w)).toBe('Halted');
    // The data stops before the rule's two minutes are up: no failure to roll back on.
    w.successRate = undefined;
    w.now = firstFailure + 125_000;
    w.pass();
    w.now += 100;
    const p = w.pass();
    expect(phase(w)).not.toBe('RollingBack');
    expect(p.requeueAfterMs).toBeGreaterThanOrEqual(1000);
  });
});

describe('the progress deadline', () => {
  it('rolls back a release whose canary never gets ready', () => {
    const w = new World();
    w.pass(); // starts, and steps to 10
    w.observed.canary.status = { observedGeneration: 1, replicas: 2, availableReplicas: 0 };
    const settle = w.settle.bind(w);
    w.settle = () => {
      settle();
      w.observed.canary.status = { ...w.observed.canary.status, availableReplicas: 0 };
    };
    w.runUntil((x) => phase(x) === 'RollingBack', 30_000, 100);
    expect(w.rollout.status?.failureReason).toBe('ProgressDeadlineExceeded');
    expect(w.events.at(-1)).toMatch(
      /^Warning Rolling back podinfo\.test: no progress for 10m\d*s? \(progress deadline 10m\)$/,
    );
  });
});

describe('waiting for requests', () => {
  it('counts requests arriving as progress while the evidence window still grows', () => {
    const w = new World();
    w.pass(); // starts, and steps to 10
    // 9 requests a minute, never enough: the release waits, but evidence accumulates.
    w.sample = () => ({
      kind: 'ok',
      value: 100,
      requestRate: 9 / 60,
      at: w.now,
      windowMs: 60_000,
      counts: { total: 9, bad: 0 },
    });
    for (let i = 0; i < 70; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.analysis?.result).toBe('Waiting');
    expect(phase(w)).toBe('Progressing');
    expect(Date.parse(w.rollout.status?.lastProgressTime ?? '')).toBe(w.now);
  });

  it('at the evidence cap, counts only a new high of samples as progress, so a wobbling count still meets the deadline', () => {
    const w = new World();
    w.pass(); // starts, and steps to 10
    const look = (): number =>
      Math.round((w.now - Date.parse('2026-01-01T00:00:00Z')) / CONFIG.stepIntervalMs);
    // Too few requests to judge, and a sliding window whose count wobbles between 9 and 10.
    w.sample = () => {
      const total = 9 + (look() % 2 === 0 ? 1 : 0);
      return {
        kind: 'ok',
        value: 100,
        requestRate: total / 60,
        at: w.now,
        windowMs: 60_000,
        counts: { total, bad: 0 },
        // The release has lived an hour: its evidence window will not grow any more.
        evidence: { total, bad: 0, windowMs: 3_600_000 },
      };
    };
    w.now += CONFIG.stepIntervalMs; // look 1: 9 requests
    expect(w.pass().status.analysis).toMatchObject({ result: 'Waiting', peakSamples: 9 });
    const since = w.rollout.status?.lastProgressTime;
    w.now += CONFIG.stepIntervalMs; // look 2: 10, a new high
    expect(w.pass().status.analysis?.peakSamples).toBe(10);
    expect(w.rollout.status?.lastProgressTime).not.toBe(since);
    const high = w.rollout.status?.lastProgressTime;
    for (let i = 0; i < 10; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.analysis?.result).toBe('Waiting');
    expect(w.rollout.status?.lastProgressTime).toBe(high);
    w.runUntil((x) => phase(x) === 'RollingBack', CONFIG.stepIntervalMs, 100);
    expect(w.rollout.status?.failureReason).toBe('ProgressDeadlineExceeded');
  });
});

describe('zero-error transitions', () => {
  it('gives a canary sitting at 0 replicas no traffic until it has a ready pod', () => {
    const o = seedObserved();
    o.canary.spec.replicas = 0;
    o.canary.status = { observedGeneration: 1, replicas: 0 };
    const w = new World(o);
    const p = w.preview();
    expect(p.status.canaryWeight).toBe(0);
    expect(p.actions).toContainEqual({ kind: 'scaleCanary', name: 'podinfo-canary', replicas: 2 });
    expect(kinds(p.actions)).not.toContain('setWeights');
    w.pass(); // the World makes the scaled-up canary ready
    w.now += 1000;
    expect(w.pass().status.canaryWeight).toBe(10);
  });

  it('keeps traffic off a canary whose pods all fail, and puts it back when they recover', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    const settle = w.settle.bind(w);
    let broken = true;
    w.settle = () => {
      settle();
      if (broken) w.observed.canary.status = { ...w.observed.canary.status, availableReplicas: 0 };
    };
    w.observed.canary.status = { ...w.observed.canary.status, availableReplicas: 0 };
    w.now += 1000;
    const p = w.pass();
    expect(p.status.canaryWeight).toBe(30);
    expect(w.weights()).toEqual([100, 0]);
    broken = false;
    w.now += 1000;
    w.pass(); // the pods come back after this pass looked
    w.now += 1000;
    w.pass();
    expect(w.weights()).toEqual([70, 30]);
  });

  it('routes all traffic back before the canary loses its pods at the end of a release', () => {
    const w = new World();
    w.runUntil((x) => phase(x) === 'Finalising');
    // The pass that routed back kept the canary's pods.
    expect(w.weights()).toEqual([100, 0]);
    expect(w.observed.canary.spec.replicas).toBe(2);
    w.now += CONFIG.routeSettleMs - 1;
    w.pass();
    expect(w.observed.canary.spec.replicas).toBe(2);
    w.now += 1;
    w.pass();
    expect(w.observed.canary.spec.replicas).toBe(0);
  });
});

describe('manual requests', () => {
  it('pauses and resumes, holding the weight meanwhile', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    request(w, 'pause');
    w.pass();
    expect(phase(w)).toBe('Paused');
    expect(w.rollout.metadata.annotations?.['steerer.io/request']).toBeUndefined();
    for (let i = 0; i < 100; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.canaryWeight).toBe(20);
    expect(w.weights()).toEqual([80, 20]);
    expect(phase(w)).toBe('Paused'); // no deadline while paused
    request(w, 'resume');
    w.pass();
    expect(w.rollout.status?.lastRequest).toMatchObject({ action: 'resume', outcome: 'Done' });
    w.runUntil((x) => phase(x) === 'Succeeded');
  });

  it('aborts: rolls back at once', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 40);
    request(w, 'abort');
    w.pass();
    expect(phase(w)).toBe('RollingBack');
    expect(w.rollout.status?.failureReason).toBe('Aborted');
    expect(w.weights()).toEqual([100, 0]);
    w.runUntil((x) => phase(x) === 'Failed');
  });

  it('promotes when the checks pass, refuses when they fail, and promote-force promotes anyway', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.successRate = 50;
    request(w, 'promote');
    w.now += 1000;
    w.pass();
    expect(w.rollout.status?.lastRequest).toMatchObject({
      action: 'promote',
      outcome: 'Refused',
      message: expect.stringContaining('success rate 50.00% < 99%') as unknown,
    });
    expect(phase(w)).not.toBe('Promoting');
    request(w, 'promote-force');
    w.now += 1000;
    w.pass();
    expect(phase(w)).toBe('Promoting');
    expect(w.weights()).toEqual([0, 100]);
    w.successRate = 100;
    w.runUntil((x) => phase(x) === 'Succeeded');
    const w2 = new World();
    w2.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    request(w2, 'promote');
    w2.now += 1000;
    w2.pass();
    expect(phase(w2)).toBe('Promoting');
  });

  it("judges a promote request like a step to 100%: the check's bound at 80%, not 95%", () => {
    const counted = (w: World, total: number) => {
      w.sample = () => ({
        kind: 'ok',
        value: 100,
        requestRate: total / 60,
        at: w.now,
        windowMs: 60_000,
        counts: { total, bad: 0 },
      });
    };
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    counted(w, 20); // too few for any promotion
    request(w, 'promote');
    w.now += 1000;
    w.pass();
    expect(w.rollout.status?.lastRequest).toMatchObject({
      action: 'promote',
      outcome: 'Refused',
      message: expect.stringMatching(/waiting for \d+ more requests/) as unknown,
    });
    // 200 requests without an error: enough at 80% (upper bound 0.35%), not yet at 95%.
    counted(w, 200);
    request(w, 'promote');
    w.now += 1000;
    w.pass();
    expect(w.rollout.status?.lastRequest).toMatchObject({ action: 'promote', outcome: 'Done' });
    expect(phase(w)).toBe('Promoting');
  });

  it('refuses what cannot be done now, and anything it does not know, saying why', () => {
    const w = new World();
    w.runUntil((x) => phase(x) === 'Succeeded');
    for (const [value, why] of [
      ['abort', 'no release is in progress (phase Succeeded)'],
      ['retry', 'nothing to retry (phase Succeeded)'],
      ['resume', 'not paused (phase Succeeded)'],
      ['rollback', '"rollback" is not a request Steerer knows'],
    ] as const) {
      request(w, value);
      const p = w.pass();
      expect(p.status.lastRequest).toMatchObject({ action: value, outcome: 'Refused' });
      expect(p.status.lastRequest?.message).toContain(why);
      expect(p.actions).toContainEqual({ kind: 'ackRequest', value });
      expect(w.events.at(-1)).toMatch(new RegExp(`^Warning Request ${value} for podinfo\\.test: `));
    }
  });
});

describe('deletion', () => {
  it('routes all traffic back, waits for it to settle, scales the canary down, then lets go', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 50);
    w.rollout.metadata.deletionTimestamp = new Date(w.now).toISOString();
    const p1 = w.pass();
    expect(w.weights()).toEqual([100, 0]);
    expect(kinds(p1.actions)).not.toContain('removeFinalizer');
    expect(w.observed.canary.spec.replicas).toBe(2);
    expect(p1.measure).toBeUndefined();
    w.runUntil((x) => !(x.rollout.metadata.finalizers ?? []).includes('steerer.io/cleanup'), 1000);
    expect(w.observed.canary.spec.replicas).toBe(0);
    expect(w.events.at(-1)).toBe(
      'Normal Deleted rollout podinfo.test: all traffic on the primary, the canary scaled down',
    );
  });

  it('lets go at once, with a warning, when the primary has no ready pods to take the traffic', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 50);
    w.rollout.metadata.deletionTimestamp = new Date(w.now).toISOString();
    w.observed.primary.status = { ...w.observed.primary.status, availableReplicas: 0 };
    const p = w.preview();
    expect(p.actions).toEqual([{ kind: 'removeFinalizer', index: 0 }]);
    expect(p.events).toEqual([
      {
        type: 'Warning',
        message:
          'Deleting podinfo.test without routing traffic back: the primary has no ready pods',
      },
    ]);
  });

  it('adds its finalizer to every Rollout, once', () => {
    const w = new World();
    expect(w.pass().actions).toContainEqual({ kind: 'addFinalizer', first: true });
    expect(kinds(w.pass().actions)).not.toContain('addFinalizer');
  });
});

describe('broken targets mid-release', () => {
  it('sends no traffic to a deleted primary, says so, and carries on once it is back', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 60);
    const primary = w.observed.primary;
    const o = w.observed as Partial<typeof w.observed>;
    delete o.primary;
    const settle = w.settle.bind(w);
    w.settle = () => undefined; // no primary to settle
    w.now += 1000;
    const p = w.pass();
    expect(p.status.phase).toBe('Halted');
    expect(p.status.message).toBe('Halt rollout podinfo.test Deployment podinfo.test not found');
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'MissingTarget',
    });
    expect(w.weights()).toEqual([0, 100]);
    expect(p.status.canaryWeight).toBe(60);
    w.observed.primary = primary;
    w.settle = settle;
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    expect(w.weights()).toEqual([30, 70]);
    expect(phase(w)).toBe('Progressing');
  });
});

describe('two Rollouts claiming the same Deployment', () => {
  it('the later one waits, naming the other, and touches nothing', () => {
    const o = {
      ...seedObserved(),
      conflict: 'Deployment test/podinfo-canary is the canary of Rollout test/first',
    };
    const w = new World(o, seedRollout());
    const p = w.preview();
    expect(p.status.phase).toBe('Waiting');
    expect(p.actions).toEqual([]);
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'Conflict',
    });
    expect(p.status.message).toContain('Rollout test/first');
  });
});
