// The reconciler, the planner and the hook runner together: a plan's calls reach the runner
// after the status is written, a finished attempt wakes the Rollout, the next plan records
// the result, and a Rollout that is gone has its calls aborted.

import { describe, expect, it } from '@jest/globals';
import { Gauge, Histogram } from 'prom-client';
import { silentLogger } from '@steerer/common';
import {
  CONFIG,
  SEED_SPEC,
  World,
  samples,
  seedObserved,
  seedRollout,
} from '../planner/testing.js';
import { Reconciler } from '../reconciler.js';
import { HookRunner } from './runner.js';

const KEY = 'test/podinfo';

function setup(answer: () => Promise<number>): {
  world: World;
  reconciler: Reconciler;
  runner: HookRunner;
  woken: string[];
  order: string[];
  gone: { value: boolean };
} {
  const world = new World(
    seedObserved(),
    seedRollout({
      ...SEED_SPEC,
      hooks: [{ name: 'smoke', type: 'pre-rollout', url: 'http://tester/smoke' }],
    }),
  );
  const woken: string[] = [];
  const order: string[] = [];
  const gone = { value: false };
  const runner = new HookRunner({
    onSettled: (k) => woken.push(k),
    logger: silentLogger,
    backoff: { initialMs: 10, maxMs: 10 },
    post: () => {
      order.push('post');
      return answer();
    },
  });
  const reconciler = new Reconciler({
    cluster: {
      rollout: (key) => (key === KEY && !gone.value ? world.rollout : undefined),
      observe: () => world.observed,
    },
    actuator: {
      writeStatus: (r, status) => {
        order.push(`status ${status.hooks?.[0]?.phase ?? '-'}`);
        world.rollout = { ...r, status };
        return Promise.resolve(world.rollout);
      },
      apply: (a) => {
        world.apply(a);
        return Promise.resolve();
      },
    },
    events: { record: () => Promise.resolve() },
    hub: { want: () => undefined, latest: () => samples(world.sample()), subscriptions: 0 },
    hooks: runner,
    metrics: {
      forgetRollout: () => undefined,
      observeRollout: () => undefined,
      stepLag: new Histogram({ name: 'lag', help: 'lag', registers: [] }),
      reconcileDuration: new Histogram({
        name: 'd',
        help: 'd',
        labelNames: ['result'],
        registers: [],
      }),
      analysisSubscriptions: new Gauge({ name: 's', help: 's', registers: [] }),
    },
    logger: silentLogger,
    config: CONFIG,
    now: () => world.now,
  });
  return { world, reconciler, runner, woken, order, gone };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('hooks through the reconciler', () => {
  it('calls after the status is written, wakes the Rollout, and records the result', async () => {
    const t = setup(() => Promise.resolve(200));
    await t.reconciler.reconcile(KEY);
    expect(t.world.rollout.status?.canaryWeight).toBe(0);
    await until(() => t.woken.length === 1);
    expect(t.woken).toEqual([KEY]);
    expect(t.order.slice(0, 2)).toEqual(['status Pending', 'post']);
    await t.reconciler.reconcile(KEY);
    expect(t.world.rollout.status?.hooks?.[0]).toMatchObject({ phase: 'Succeeded', attempts: 1 });
    // The first step happened in the same pass that recorded the hook.
    expect(t.world.rollout.status?.canaryWeight).toBe(10);
    // Recorded: no longer wanted, never called again.
    await t.reconciler.reconcile(KEY);
    expect(t.order.filter((o) => o === 'post')).toHaveLength(1);
    t.runner.stop();
  });

  it('stops calling for a Rollout that is gone', async () => {
    const t = setup(() => Promise.resolve(500));
    await t.reconciler.reconcile(KEY);
    await until(() => t.woken.length >= 1);
    t.gone.value = true;
    await t.reconciler.reconcile(KEY);
    const calls = t.order.filter((o) => o === 'post').length;
    await new Promise((r) => setTimeout(r, 100)); // ten backoffs
    expect(t.order.filter((o) => o === 'post').length).toBe(calls);
    t.runner.stop();
  });
});
