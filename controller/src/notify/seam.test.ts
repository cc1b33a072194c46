// The seam in the reconciler: the notifier hears of a decision only once its status is
// written (not when the write fails, not when nothing changed), from the status it was
// planned from to the one written, and never holds the reconcile up.

import { describe, expect, it } from '@jest/globals';
import { Gauge, Histogram } from 'prom-client';
import { ErrorCode, MemoryLogger, SteererError } from '@steerer/common';
import type { RolloutObject, RolloutSpec, RolloutStatus } from '@steerer/common';
import { CONFIG, World, samples } from '../planner/testing.js';
import { Reconciler } from '../reconciler.js';
import type { NotificationSink } from './notifier.js';

const KEY = 'test/podinfo';

interface Heard {
  from: RolloutStatus['phase'];
  to: RolloutStatus['phase'];
  spec: RolloutSpec | undefined;
}

function setup(failWrite: () => boolean): {
  world: World;
  heard: Heard[];
  reconciler: Reconciler;
  writes: { n: number };
} {
  const world = new World();
  const heard: Heard[] = [];
  const writes = { n: 0 };
  const notifier: NotificationSink = {
    notify: (r: RolloutObject, next: RolloutStatus, spec: RolloutSpec | undefined) =>
      heard.push({ from: r.status?.phase, to: next.phase, spec }),
  };
  const reconciler = new Reconciler({
    cluster: {
      rollout: (key) => (key === KEY ? world.rollout : undefined),
      observe: () => world.observed,
    },
    actuator: {
      writeStatus: (r, status) => {
        if (failWrite()) return Promise.reject(new SteererError(ErrorCode.Api, 'conflict'));
        if (JSON.stringify(r.status ?? {}) === JSON.stringify(status))
          return Promise.resolve(undefined);
        writes.n++;
        const updated = { ...r, status };
        world.rollout = updated;
        return Promise.resolve(updated);
      },
      apply: (a) => {
        world.apply(a);
        return Promise.resolve();
      },
    },
    events: { record: () => Promise.resolve() },
    notifier,
    hub: { want: () => undefined, latest: () => samples(world.sample()), subscriptions: 0 },
    metrics: {
      forgetRollout: () => undefined,
      observeRollout: () => undefined,
      stepLag: new Histogram({ name: 'lag', help: 'lag', buckets: [1], registers: [] }),
      reconcileDuration: new Histogram({
        name: 'd',
        help: 'd',
        labelNames: ['result'],
        registers: [],
      }),
      analysisSubscriptions: new Gauge({ name: 's', help: 's', registers: [] }),
    },
    logger: new MemoryLogger(),
    config: CONFIG,
    now: () => world.now,
  });
  return { world, heard, reconciler, writes };
}

describe('the notifier seam in the reconciler', () => {
  it('hears each written decision, with the status it was planned from and the spec', async () => {
    const { heard, reconciler, world, writes } = setup(() => false);
    await reconciler.reconcile(KEY);
    expect(heard).toEqual([
      { from: undefined, to: 'Progressing', spec: expect.objectContaining({ stepWeight: 10 }) },
    ]);
    // Exactly the passes that wrote a status are heard (a release runs to its end).
    for (let i = 0; i < 40 && world.rollout.status?.phase !== 'Succeeded'; i++) {
      world.now += CONFIG.stepIntervalMs;
      await reconciler.reconcile(KEY);
      world.settle();
    }
    expect(world.rollout.status?.phase).toBe('Succeeded');
    expect(heard.length).toBe(writes.n);
    expect(heard.at(-1)?.to).toBe('Succeeded');
  });

  it('hears nothing of a decision whose status write failed; the next pass decides again', async () => {
    let fail = true;
    const { heard, reconciler } = setup(() => fail);
    await expect(reconciler.reconcile(KEY)).rejects.toThrow('conflict');
    expect(heard).toEqual([]);
    fail = false;
    await reconciler.reconcile(KEY);
    expect(heard.map((h) => [h.from, h.to])).toEqual([[undefined, 'Progressing']]);
  });
});
