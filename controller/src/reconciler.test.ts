import { beforeEach, describe, expect, it } from '@jest/globals';
import { Gauge, Histogram } from 'prom-client';
import { ErrorCode, MemoryLogger, SteererError, jsonEqual } from '@steerer/common';
import type { RolloutObject, RolloutStatus } from '@steerer/common';
import type { Actuator } from './actuator.js';
import type { EventSink } from './events.js';
import type { ControllerMetrics } from './metrics.js';
import { plan } from './planner/plan.js';
import { CONFIG, World, samples } from './planner/testing.js';
import type { Action, AnalysisSamples, Plan, Subscription } from './planner/types.js';
import { Reconciler } from './reconciler.js';
import type { ClusterView, Measurements } from './reconciler.js';

const KEY = 'test/podinfo';

type ReconcilerMetrics = Pick<
  ControllerMetrics,
  'forgetRollout' | 'observeRollout' | 'stepLag' | 'reconcileDuration' | 'analysisSubscriptions'
>;

/**
 * The reconciler's surroundings, all fakes behind its interfaces, over a seed World: the
 * cluster view reads the World, the actuator applies to it (status lands as the cache's
 * overlay would show it), and every call goes to one log, in order.
 */
class Harness {
  readonly world = new World();
  readonly log: string[] = [];
  readonly logger = new MemoryLogger();
  /** The Rollout each recorded event was recorded on. */
  readonly eventTargets: RolloutObject[] = [];
  readonly wants: [string, Subscription | undefined][] = [];
  readonly forgotten: string[] = [];
  /** What hub.latest answers; 'world': the World's current sample. */
  latest: AnalysisSamples | undefined | 'world' = 'world';
  subscriptions = 0;
  /** The rollout is gone from the cache. */
  gone = false;
  failStatus: Error | undefined;
  failAction: ((a: Action) => Error | undefined) | undefined;
  private resourceVersion = 1;

  readonly metrics: ReconcilerMetrics;
  readonly reconciler: Reconciler;

  constructor() {
    const cluster: ClusterView = {
      rollout: (key) => (key === KEY && !this.gone ? this.world.rollout : undefined),
      observe: () => this.world.observed,
    };
    const subscriptions = (): number => this.subscriptions;
    const hub: Measurements = {
      want: (key, sub) => {
        this.log.push(`want ${key} ${sub ? sub.workload : 'nothing'}`);
        this.wants.push([key, sub]);
      },
      latest: () => this.samples(),
      get subscriptions() {
        return subscriptions();
      },
    };
    const actuator: Pick<Actuator, 'writeStatus' | 'apply'> = {
      writeStatus: (r, status) => this.writeStatus(r, status),
      apply: (a, r) => {
        this.log.push(`apply ${a.kind} ${r.namespace}`);
        const error = this.failAction?.(a);
        if (error) return Promise.reject(error);
        this.world.apply(a);
        return Promise.resolve();
      },
    };
    const events: EventSink = {
      record: (r, type, message) => {
        this.log.push(`event ${type} ${message}`);
        this.eventTargets.push(r);
        return Promise.resolve();
      },
    };
    this.metrics = {
      forgetRollout: (ns, name) => {
        this.log.push(`forgetRollout ${ns}/${name}`);
        this.forgotten.push(`${ns}/${name}`);
      },
      observeRollout: (ns, name, s) => {
        this.log.push(`observeRollout ${ns}/${name} ${s.phase} ${s.canaryWeight}`);
      },
      stepLag: new Histogram({ name: 'lag', help: 'lag', buckets: [1, 10], registers: [] }),
      reconcileDuration: new Histogram({
        name: 'duration',
        help: 'duration',
        labelNames: ['result'],
        registers: [],
      }),
      analysisSubscriptions: new Gauge({ name: 'subs', help: 'subs', registers: [] }),
    };
    this.reconciler = new Reconciler({
      cluster,
      actuator,
      events,
      hub,
      metrics: this.metrics,
      logger: this.logger,
      config: CONFIG,
      now: () => this.world.now,
    });
  }

  /** As the real actuator: nothing when equal, else the Rollout as the API server answers. */
  private writeStatus(r: RolloutObject, status: RolloutStatus): Promise<RolloutObject | undefined> {
    this.log.push(`writeStatus ${status.phase} ${status.canaryWeight}`);
    if (this.failStatus) return Promise.reject(this.failStatus);
    if (jsonEqual(r.status ?? {}, status)) return Promise.resolve(undefined);
    const updated: RolloutObject = {
      ...r,
      metadata: { ...r.metadata, resourceVersion: String(++this.resourceVersion) },
      status: structuredClone(status),
    };
    this.world.rollout = updated;
    return Promise.resolve(updated);
  }

  samples(): AnalysisSamples | undefined {
    return this.latest === 'world' ? samples(this.world.sample()) : this.latest;
  }

  /** What plan() decides for the World now, from what the reconciler will read. */
  expectedPlan(): Plan {
    return plan({
      rollout: this.world.rollout,
      observed: this.world.observed,
      analysis: this.samples(),
      now: this.world.now,
      config: CONFIG,
    });
  }

  /** One reconcile, then the Deployment controllers catch up. */
  async pass(): Promise<number | undefined> {
    const requeue = await this.reconciler.reconcile(KEY);
    this.world.settle();
    return requeue;
  }

  /** Passes until `until` holds, the clock moving a step interval between them. */
  async runUntil(until: (w: World) => boolean, maxPasses = 100): Promise<void> {
    for (let i = 0; i < maxPasses; i++) {
      await this.pass();
      if (until(this.world)) return;
      this.world.now += CONFIG.stepIntervalMs;
    }
    throw new Error(`not reached after ${maxPasses} passes:\n${this.log.join('\n')}`);
  }

  /** The log from `from` on, only writes and events. */
  writes(from = 0): string[] {
    return this.log.slice(from).filter((l) => /^(writeStatus|apply|event) /.test(l));
  }
}

/** count and sum of a histogram's series with `labels`. */
async function histogram(
  h: Histogram<string>,
  labels: Record<string, string> = {},
): Promise<{ count: number; sum: number }> {
  const { name, values } = await h.get();
  const match = (series: string): number =>
    values.find((v) => v.metricName === series && jsonEqual(v.labels, labels))?.value ?? 0;
  return { count: match(`${name}_count`), sum: match(`${name}_sum`) };
}

async function gauge(g: Gauge<string>): Promise<number | undefined> {
  return (await g.get()).values[0]?.value;
}

let h: Harness;

beforeEach(() => {
  h = new Harness();
});

describe('Reconciler', () => {
  describe('a Rollout that is gone', () => {
    it('unsubscribes it from the hub, forgets its metrics and returns undefined', async () => {
      h.gone = true;
      await expect(h.reconciler.reconcile(KEY)).resolves.toBeUndefined();
      expect(h.wants).toEqual([[KEY, undefined]]);
      expect(h.forgotten).toEqual([KEY]);
      expect(h.writes()).toEqual([]);
    });

    it('forgets no metrics for a key without a namespace', async () => {
      await expect(h.reconciler.reconcile('podinfo')).resolves.toBeUndefined();
      expect(h.wants).toEqual([['podinfo', undefined]]);
      expect(h.forgotten).toEqual([]);
    });
  });

  it('writes status first, then records the events of that decision, then carries out the actions', async () => {
    const expected = h.expectedPlan();
    await h.reconciler.reconcile(KEY);
    expect(h.writes()).toEqual([
      'writeStatus Progressing 10',
      ...expected.events.map((e) => `event ${e.type} ${e.message}`),
      ...expected.actions.map((a) => `apply ${a.kind} test`),
    ]);
    // The seed's first pass, spelled out.
    expect(h.writes()).toEqual([
      'writeStatus Progressing 10',
      'event Normal Starting rollout for podinfo.test',
      'event Normal Advance rollout podinfo.test weight 10',
      'apply addFinalizer test',
      'apply labelTargets test',
      'apply setWeights test',
    ]);
    expect(h.log.at(-1)).toBe('observeRollout test/podinfo Progressing 10');
    expect(h.world.weights()).toEqual([90, 10]);
  });

  it('records events on the Rollout writeStatus returned', async () => {
    const cached = h.world.rollout;
    await h.reconciler.reconcile(KEY);
    expect(h.eventTargets).toHaveLength(2);
    for (const r of h.eventTargets) {
      expect(r).not.toBe(cached);
      expect(r).toBe(h.world.rollout);
      expect(r.metadata.resourceVersion).toBe('2');
      expect(r.status?.canaryWeight).toBe(10);
    }
  });

  it('records events on the cached Rollout when status did not change', async () => {
    await h.runUntil((w) => w.rollout.status?.phase === 'Succeeded');
    // Someone else shifts traffic after the release: the route is put back with a warning.
    // (Status records when Steerer changes the route; it is set to this pass's time so
    // that status stays as it was.)
    const route = h.world.observed.route.spec.http?.[0]?.route ?? [];
    for (const d of route) d.weight = 50;
    h.world.now += CONFIG.stepIntervalMs;
    const status = h.world.rollout.status;
    if (status) status.lastRouteTime = new Date(h.world.now).toISOString();
    const cached = h.world.rollout;
    const from = h.log.length;
    await h.pass();
    expect(h.writes(from)).toEqual([
      'writeStatus Succeeded 0',
      'event Warning Restoring VirtualService podinfo.test weights to 100/0: found 50/50, changed outside Steerer',
      'apply setWeights test',
    ]);
    expect(h.world.rollout).toBe(cached);
    expect(h.eventTargets.at(-1)).toBe(cached);
  });

  it('hands the hub what the plan wants measured, exactly once per pass', async () => {
    const expected = h.expectedPlan();
    await h.reconciler.reconcile(KEY);
    const [check] = expected.spec?.checks ?? [];
    expect(h.wants).toEqual([
      [
        KEY,
        {
          namespace: 'test',
          workload: 'podinfo-canary',
          primary: 'podinfo',
          checks: [check],
          sinceMs: h.world.now,
        },
      ],
    ]);
    expect(h.wants[0]?.[1]).toEqual(expected.measure);
  });

  it('hands the hub undefined when the plan wants nothing measured (an idle rollout)', async () => {
    await h.runUntil((w) => w.rollout.status?.phase === 'Succeeded');
    h.world.now += CONFIG.stepIntervalMs;
    h.wants.length = 0;
    const from = h.log.length;
    const requeue = await h.pass();
    expect(h.wants).toEqual([[KEY, undefined]]);
    expect(requeue).toBeUndefined();
    // Status is offered (and is unchanged); nothing acts, nothing is said.
    expect(h.writes(from)).toEqual(['writeStatus Succeeded 0']);
  });

  it("returns the plan's requeue", async () => {
    let expected = h.expectedPlan();
    expect(await h.pass()).toBe(expected.requeueAfterMs);
    expect(expected.requeueAfterMs).toBe(CONFIG.stepIntervalMs);
    // Early: the next step is due in 4 s.
    h.world.now += 6_000;
    expected = h.expectedPlan();
    expect(await h.pass()).toBe(4_000);
    expect(expected.requeueAfterMs).toBe(4_000);
  });

  it("judges the canary by the hub's latest samples", async () => {
    await h.pass();
    h.world.now += CONFIG.stepIntervalMs;
    h.latest = samples({ kind: 'ok', value: 50, requestRate: 10, at: h.world.now });
    const from = h.log.length;
    await h.pass();
    expect(h.writes(from)).toEqual([
      'writeStatus Halted 10',
      'event Warning Halt rollout podinfo.test success rate 50.00% < 99%',
    ]);
    // A halted release is still measured.
    expect(h.wants.at(-1)?.[1]?.workload).toBe('podinfo-canary');
  });

  describe('a failing write', () => {
    it('propagates and records the duration as an error; the decision was already told', async () => {
      h.subscriptions = 3;
      const conflict = new SteererError(ErrorCode.Api, 'conflict', { status: 409 });
      h.failAction = (a) => (a.kind === 'setWeights' ? conflict : undefined);
      await expect(h.reconciler.reconcile(KEY)).rejects.toBe(conflict);
      // The events tell of the saved decision, so they are not lost when an action fails
      // (the next pass redoes the action but would not repeat them).
      expect(h.writes()).toEqual([
        'writeStatus Progressing 10',
        'event Normal Starting rollout for podinfo.test',
        'event Normal Advance rollout podinfo.test weight 10',
        'apply addFinalizer test',
        'apply labelTargets test',
        'apply setWeights test',
      ]);
      expect(h.log.some((l) => l.startsWith('observeRollout'))).toBe(false);
      expect(await histogram(h.metrics.reconcileDuration, { result: 'error' })).toMatchObject({
        count: 1,
      });
      expect(await histogram(h.metrics.reconcileDuration, { result: 'success' })).toEqual({
        count: 0,
        sum: 0,
      });
      expect(await gauge(h.metrics.analysisSubscriptions)).toBe(3);
      expect(h.logger.entries).toEqual([
        {
          level: 'debug',
          message: 'reconcile failed',
          fields: { rollout: 'podinfo', namespace: 'test', error: 'conflict' },
        },
      ]);
    });

    it('acts on nothing when status cannot be written', async () => {
      h.failStatus = new Error('the object has been modified');
      await expect(h.reconciler.reconcile(KEY)).rejects.toThrow('the object has been modified');
      expect(h.writes()).toEqual(['writeStatus Progressing 10']);
      expect(h.world.weights()).toEqual([100, 0]);
      expect(await histogram(h.metrics.reconcileDuration, { result: 'error' })).toMatchObject({
        count: 1,
      });
    });
  });

  it('records a successful pass and the number of subscriptions', async () => {
    h.subscriptions = 7;
    await h.reconciler.reconcile(KEY);
    const d = await histogram(h.metrics.reconcileDuration, { result: 'success' });
    expect(d.count).toBe(1);
    expect(d.sum).toBeGreaterThanOrEqual(0);
    expect(await histogram(h.metrics.reconcileDuration, { result: 'error' })).toEqual({
      count: 0,
      sum: 0,
    });
    expect(await gauge(h.metrics.analysisSubscriptions)).toBe(7);
    expect(h.logger.entries.map((e) => `${e.level} ${e.message}`)).toEqual([
      'info Advance rollout podinfo.test weight 10',
    ]);
  });

  describe('step lag', () => {
    it('is not observed for the first step of a release', async () => {
      await h.pass();
      expect(h.world.rollout.status?.canaryWeight).toBe(10);
      expect(await histogram(h.metrics.stepLag)).toEqual({ count: 0, sum: 0 });
    });

    it('is not observed while no step happens', async () => {
      await h.pass();
      h.world.now += CONFIG.stepIntervalMs - 1;
      await h.pass();
      expect(h.world.rollout.status?.canaryWeight).toBe(10);
      expect(await histogram(h.metrics.stepLag)).toEqual({ count: 0, sum: 0 });
    });

    it('is observed as how late a step came after it was due', async () => {
      await h.pass();
      h.world.now += CONFIG.stepIntervalMs + 2_500;
      await h.pass();
      expect(h.world.rollout.status?.canaryWeight).toBe(20);
      expect(await histogram(h.metrics.stepLag)).toEqual({ count: 1, sum: 2.5 });
    });

    it('is zero for a step exactly on time', async () => {
      await h.pass();
      h.world.now += CONFIG.stepIntervalMs;
      await h.pass();
      expect(h.world.rollout.status?.canaryWeight).toBe(20);
      expect(await histogram(h.metrics.stepLag)).toEqual({ count: 1, sum: 0 });
    });

    it('is not observed for a halt, nor for the promotion after the last step', async () => {
      await h.pass();
      h.world.now += CONFIG.stepIntervalMs + 1_000;
      h.world.successRate = 50;
      await h.pass();
      expect(h.world.rollout.status?.phase).toBe('Halted');
      expect(await histogram(h.metrics.stepLag)).toEqual({ count: 0, sum: 0 });
      h.world.successRate = 100;
      await h.runUntil((w) => w.rollout.status?.canaryWeight === 100);
      const steps = (await histogram(h.metrics.stepLag)).count;
      expect(steps).toBe(9);
      h.world.now += CONFIG.stepIntervalMs + 1_000;
      await h.pass();
      expect(h.world.rollout.status?.phase).toBe('Promoting');
      expect((await histogram(h.metrics.stepLag)).count).toBe(steps);
    });
  });
});
