import { describe, expect, it } from '@jest/globals';
import { plan } from './plan.js';
import {
  CONFIG,
  SUBSET_SPEC,
  World,
  deployment,
  destinationRule,
  hpa,
  podTemplate,
  samples,
  seedObserved,
  seedRollout,
  subsetObserved,
} from './testing.js';

const SEED_EVENTS = [
  'Normal Starting rollout for podinfo.test',
  ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map(
    (w) => `Normal Advance rollout podinfo.test weight ${w}`,
  ),
  'Normal Copying podinfo-canary.test template spec to podinfo.test',
  'Warning Waiting for podinfo.test rollout to finish: 1 of 2 updated replicas are available',
  'Normal Promotion complete! Scaling down podinfo-canary.test',
];

function primaryImage(w: World): string | undefined {
  return (w.observed.primary.spec.template.spec?.containers as { image: string }[] | undefined)?.[0]
    ?.image;
}

describe('the seed rollout', () => {
  it('steps 10% at a time, promotes, routes back and scales the canary down', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.events).toEqual(SEED_EVENTS);
    expect(w.weights()).toEqual([100, 0]);
    expect(w.observed.canary.spec.replicas).toBe(0);
    expect(primaryImage(w)).toBe('quay.io/stefanprodan/podinfo:1.2.0');
    // The primary keeps the label its selector needs; the canary's selector label is gone.
    expect(w.observed.primary.spec.template.metadata?.labels).toEqual({ app: 'podinfo' });
    const s = w.rollout.status;
    expect(s?.lastPromotedRevision).toBe(s?.canaryRevision);
    expect(s?.canaryWeight).toBe(0);
    expect(s?.failedChecks).toBe(0);
    expect(s?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('advances one step per interval, never faster', () => {
    const w = new World();
    w.pass(); // start + weight 10
    expect(w.rollout.status?.canaryWeight).toBe(10);
    w.now += CONFIG.stepIntervalMs - 1;
    w.pass();
    expect(w.rollout.status?.canaryWeight).toBe(10);
    w.now += 1;
    w.pass();
    expect(w.rollout.status?.canaryWeight).toBe(20);
  });

  it('does nothing after a promotion until the canary changes, then starts over', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    const before = w.events.length;
    for (let i = 0; i < 5; i++) {
      w.now += CONFIG.stepIntervalMs;
      const p = w.pass();
      expect(p.actions).toEqual([]);
      expect(p.requeueAfterMs).toBeUndefined();
    }
    expect(w.events.length).toBe(before);
    w.bumpCanary('quay.io/stefanprodan/podinfo:1.3.0');
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.events.slice(before)).toEqual(SEED_EVENTS);
    expect(primaryImage(w)).toBe('quay.io/stefanprodan/podinfo:1.3.0');
  });

  it('re-applying the canary unchanged (even with replicas) starts nothing', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    const rev = w.rollout.status?.lastPromotedRevision;
    w.observed.canary.spec.replicas = 1; // kubectl apply of the seed manifest
    const p = w.pass();
    expect(p.events).toEqual([]);
    expect(p.actions).toEqual([
      { kind: 'scaleCanary', name: 'podinfo-canary', replicas: 0, remember: 1 },
    ]);
    expect(p.status.phase).toBe('Succeeded');
    expect(p.status.canaryRevision).toBe(rev);
  });
});

describe('Istio subset routing', () => {
  it("releases through two subsets of one Service with the seed's events, keeping each side's labels", () => {
    const w = new World(subsetObserved(), seedRollout(SUBSET_SPEC));
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.events).toEqual(SEED_EVENTS);
    expect(w.weights()).toEqual([100, 0]);
    const http = w.observed.route.spec.http?.[0]?.route;
    expect(http?.map((d) => d.destination.subset)).toEqual(['primary', 'canary']);
    expect(primaryImage(w)).toBe('quay.io/stefanprodan/podinfo:1.2.0');
    // The promoted primary keeps its subset's label (its selector has it): no overlap after.
    expect(w.observed.primary.spec.template.metadata?.labels).toEqual({
      app: 'podinfo',
      version: 'primary',
    });
    expect(w.rollout.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
  });

  it('halts a release whose DestinationRule loses the canary subset, and resumes once it is back', () => {
    const w = new World(subsetObserved(), seedRollout(SUBSET_SPEC));
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    const full = w.observed.subsetRules;
    w.observed.subsetRules = [
      destinationRule([{ name: 'primary', labels: { version: 'primary' } }]),
    ];
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    expect(w.rollout.status?.phase).toBe('Halted');
    expect(w.rollout.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'InvalidTarget',
      message: expect.stringContaining('has no subset "canary" (spec.canary.subset)'),
    });
    w.observed.subsetRules = full;
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.weights()).toEqual([100, 0]);
  });
});

describe('promotion', () => {
  it("reports the primary's rollout as it proceeds, one event per change, the seed's way", () => {
    const w = new World();
    w.primaryRolloutPasses = 100; // the test moves the primary's status by hand
    w.runUntil((x) => x.rollout.status?.phase === 'Promoting');
    const n = w.events.length;
    const p = w.observed.primary;
    const states = [
      {
        observedGeneration: p.metadata.generation,
        replicas: 3,
        updatedReplicas: 0,
        availableReplicas: 2,
      },
      {
        observedGeneration: p.metadata.generation,
        replicas: 3,
        updatedReplicas: 0,
        availableReplicas: 2,
      },
      {
        observedGeneration: p.metadata.generation,
        replicas: 3,
        updatedReplicas: 1,
        availableReplicas: 2,
      },
      {
        observedGeneration: p.metadata.generation,
        replicas: 2,
        updatedReplicas: 2,
        availableReplicas: 1,
      },
      {
        observedGeneration: p.metadata.generation,
        replicas: 2,
        updatedReplicas: 2,
        availableReplicas: 1,
      },
    ];
    for (const status of states) {
      p.status = status;
      w.now += 1000;
      w.pass();
    }
    expect(w.events.slice(n)).toEqual([
      'Warning Waiting for podinfo.test rollout to finish: 0 out of 2 new replicas have been updated',
      'Warning Waiting for podinfo.test rollout to finish: 1 out of 2 new replicas have been updated',
      'Warning Waiting for podinfo.test rollout to finish: 1 of 2 updated replicas are available',
    ]);
  });
});

describe('analysis gate', () => {
  it('halts with the seed wording while the success rate is low, then continues', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 60);
    const n = w.events.length;
    w.successRate = 88.888;
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    w.successRate = 82.86;
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    expect(w.events.slice(n)).toEqual([
      'Warning Halt rollout podinfo.test success rate 88.89% < 99%',
      'Warning Halt rollout podinfo.test success rate 82.86% < 99%',
    ]);
    expect(w.rollout.status?.phase).toBe('Halted');
    expect(w.rollout.status?.canaryWeight).toBe(60);
    expect(w.weights()).toEqual([40, 60]);
    expect(w.rollout.status?.failedChecks).toBe(2);
    expect(w.rollout.status?.analysis).toMatchObject({
      result: 'Fail',
      successRate: 82.86,
      threshold: 99,
      window: '1m',
    });
    w.successRate = 100;
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    expect(w.events.at(-1)).toBe('Normal Advance rollout podinfo.test weight 70');
    expect(w.rollout.status?.phase).toBe('Progressing');
  });

  it('halts at once, between steps, when a measured rate falls below the threshold', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    w.now += 1000; // well before the next step
    w.successRate = 70;
    const p = w.pass();
    expect(p.status.phase).toBe('Halted');
    expect(p.events).toEqual([
      { type: 'Warning', message: 'Halt rollout podinfo.test success rate 70.00% < 99%' },
    ]);
    // ...and does not repeat the halt until the next interval.
    w.now += 1000;
    expect(w.pass().events).toEqual([]);
  });

  it('waits for requests without data: no step, no halt, no failed check', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    const events = w.events.length;
    w.successRate = undefined;
    for (let i = 0; i < 10; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.canaryWeight).toBe(20);
    expect(w.weights()).toEqual([80, 20]);
    expect(w.rollout.status?.phase).toBe('Progressing');
    expect(w.rollout.status?.message).toBe(
      'Waiting for podinfo.test: waiting for requests to podinfo-canary.test: none seen over the last 1m',
    );
    expect(w.rollout.status?.analysis?.result).toBe('Waiting');
    expect(w.rollout.status?.failedChecks).toBe(0);
    // One event when it starts waiting, not one per look.
    expect(w.events.slice(events)).toEqual([
      'Normal Waiting for requests to judge podinfo.test: success-rate has too few to advance',
    ]);
  });

  it.each([
    [
      'Prometheus down',
      'error' as const,
      'Halt rollout podinfo.test metrics server unavailable: connection refused',
      'Error',
    ],
  ])('never advances with %s', (_name, rate, message, result) => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.successRate = rate;
    for (let i = 0; i < 10; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.canaryWeight).toBe(20);
    expect(w.weights()).toEqual([80, 20]);
    expect(w.rollout.status?.phase).toBe('Halted');
    expect(w.events.at(-1)).toBe(`Warning ${message}`);
    expect(w.rollout.status?.analysis?.result).toBe(result);
    expect(w.rollout.status?.failedChecks).toBe(10);
  });

  it('treats a stale sample as missing', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.now += CONFIG.stepIntervalMs;
    const p = plan({
      rollout: w.rollout,
      observed: w.observed,
      analysis: samples({
        kind: 'ok',
        value: 100,
        requestRate: 5,
        at: w.now - CONFIG.maxSampleAgeMs - 1,
      }),
      now: w.now,
      config: CONFIG,
    });
    expect(p.status.phase).toBe('Halted');
    expect(p.events[0]?.message).toBe(
      'Halt rollout podinfo.test no recent istio_requests_total measurement for podinfo-canary.test',
    );
  });

  it('treats NaN (0/0) as no requests, and promotes only after a passing check at 100%', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 100);
    w.successRate = Number.NaN;
    w.now += CONFIG.stepIntervalMs;
    const p = w.pass();
    expect(p.status.analysis?.result).toBe('Waiting');
    expect(p.actions.find((a) => a.kind === 'promote')).toBeUndefined();
    w.successRate = 100;
    w.now += CONFIG.stepIntervalMs;
    expect(w.pass().actions.find((a) => a.kind === 'promote')).toBeDefined();
  });
});

describe('Deployment and HPA gates', () => {
  it('halts while the canary is being scaled by its HPA', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.observed.canaryHpa = hpa(2, 1, 3);
    w.now += 500;
    const p = w.preview();
    expect(p.status.phase).toBe('Halted');
    expect(p.events[0]?.message).toBe(
      'Halt rollout podinfo.test podinfo-canary.test is being scaled by HorizontalPodAutoscaler podinfo-canary.test: 1 → 3 replicas',
    );
  });

  it('ignores the desired size of an HPA that cannot compute one, except to keep its bounds', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    const inactive = [
      { type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric' },
    ];
    w.observed.canary.spec.replicas = 3;
    w.observed.canary.status = {
      observedGeneration: w.observed.canary.metadata.generation ?? 1,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
    };
    w.observed.canaryHpa = {
      ...hpa(2, 3, 2),
      status: { currentReplicas: 3, desiredReplicas: 2, conditions: inactive },
    };
    w.now += 500;
    const within = w.preview();
    expect(within.status.phase).toBe('Progressing');
    w.observed.canaryHpa = {
      ...hpa(4, 3, 4),
      status: { currentReplicas: 3, desiredReplicas: 4, conditions: inactive },
    };
    const below = w.preview();
    expect(below.events.map((e) => e.message)).toContain(
      'Halt rollout podinfo.test podinfo-canary.test is being scaled by HorizontalPodAutoscaler podinfo-canary.test: 3 → 4 replicas',
    );
  });

  it('halts while a rolling update of the primary is under way', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.observed.primary.metadata.generation = 9;
    w.now += 500;
    const p = w.preview();
    expect(p.events[0]?.message).toBe(
      'Halt rollout podinfo.test podinfo.test rolling update under way: 2 of 2 replicas updated, 2 available',
    );
  });

  it('halts while canary pods are unhealthy', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
    w.observed.canary.status = {
      ...w.observed.canary.status,
      availableReplicas: 0,
      readyReplicas: 0,
    };
    w.now += 500;
    const p = w.preview();
    expect(p.status.phase).toBe('Halted');
    expect(p.events[0]?.message).toBe(
      'Halt rollout podinfo.test podinfo-canary.test pods are unhealthy: 0 of 2 replicas available',
    );
  });

  it('waits for a scaled-down canary to come up before the first step', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    w.bumpCanary('img:2');
    w.observed.canary.spec.replicas = 0;
    const p = w.pass();
    expect(p.events).toEqual([{ type: 'Normal', message: 'Starting rollout for podinfo.test' }]);
    expect(p.actions).toContainEqual({ kind: 'scaleCanary', name: 'podinfo-canary', replicas: 2 }); // the HPA's minimum
    expect(p.status.canaryWeight).toBe(0);
    w.now += 1000;
    expect(w.pass().status.canaryWeight).toBe(10);
  });

  it('raises a re-applied canary to its HPA minimum at once instead of halting for the HPA', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.observed.canary.spec.replicas).toBe(0);
    w.observed.canaryHpa.status = { currentReplicas: 0, desiredReplicas: 0 };
    w.bumpCanary('img:3');
    w.observed.canary.spec.replicas = 1; // the seed manifest's replicas, below the HPA's 2
    const p = w.pass();
    expect(p.actions).toContainEqual({ kind: 'scaleCanary', name: 'podinfo-canary', replicas: 2 });
    w.now += 1000;
    const next = w.pass();
    expect(next.events.map((e) => e.message)).toEqual(['Advance rollout podinfo.test weight 10']);
  });

  it('reports a canary that never becomes healthy once per interval', () => {
    const w = new World();
    w.observed.canary.status = {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      availableReplicas: 0,
    };
    const first = plan({
      rollout: w.rollout,
      observed: w.observed,
      analysis: undefined,
      now: w.now,
      config: CONFIG,
    });
    expect(first.events.map((e) => e.message)).toEqual(['Starting rollout for podinfo.test']);
    const later = plan({
      rollout: { ...w.rollout, status: first.status },
      observed: w.observed,
      analysis: undefined,
      now: w.now + CONFIG.stepIntervalMs,
      config: CONFIG,
    });
    expect(later.events.map((e) => e.message)).toEqual([
      'Halt rollout podinfo.test podinfo-canary.test rolling update under way: 1 of 2 replicas updated, 0 available',
    ]);
  });
});

describe('promotion', () => {
  it('waits for the primary rollout, reporting progress in the seed wording', () => {
    const w = new World();
    w.primaryRolloutPasses = 3;
    w.runUntil((x) => x.rollout.status?.phase === 'Promoting');
    w.now += 1000;
    const p = w.pass();
    expect(p.status.phase).toBe('Promoting');
    expect(p.events).toEqual([
      {
        type: 'Warning',
        message:
          'Waiting for podinfo.test rollout to finish: 1 of 2 updated replicas are available',
      },
    ]);
    expect(w.weights()).toEqual([0, 100]);
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded', 1000);
  });

  it('re-applies the template copy after a crash between status and action', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Promoting');
    // Undo the copy, as if the controller died after writing status.
    const fresh = seedObserved();
    w.observed.primary.spec.template = fresh.primary.spec.template;
    const p = w.pass();
    expect(p.actions.filter((a) => a.kind === 'promote')).toHaveLength(1);
    expect(p.status.phase).toBe('Promoting');
  });

  it('restarts from weight 0 when the canary changes mid-rollout', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 40);
    const old = w.rollout.status?.canaryRevision;
    w.bumpCanary('quay.io/stefanprodan/podinfo:1.4.0');
    const p = w.pass();
    expect(p.events[0]?.message).toMatch(
      /^Restarting rollout for podinfo\.test: new revision [0-9a-f]{10} of podinfo-canary\.test$/,
    );
    expect(p.status.canaryRevision).not.toBe(old);
    expect(p.status.failedChecks).toBe(0);
    // Traffic goes back to the primary while the new canary rolls out, then steps again.
    expect(p.status.canaryWeight).toBe(0);
    expect(w.weights()).toEqual([100, 0]);
    w.now += 1000;
    expect(w.pass().status.canaryWeight).toBe(10);
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(primaryImage(w)).toBe('quay.io/stefanprodan/podinfo:1.4.0');
  });

  it('stops the release when the canary is reverted to the primary template', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    const c = w.observed.canary;
    c.spec.template = podTemplate('podinfo-canary', 'quay.io/stefanprodan/podinfo:1.1.1', 'blue');
    const p = w.pass();
    expect(p.events[0]?.message).toBe(
      'Stopping rollout for podinfo.test: podinfo-canary.test matches podinfo.test again',
    );
    expect(p.actions).toContainEqual(
      expect.objectContaining({ kind: 'setWeights', primary: 100, canary: 0 }),
    );
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded', 1000);
  });
});

describe('initialisation and bad targets', () => {
  it('is Initialized (and scales the canary down) when primary and canary already agree', () => {
    const o = seedObserved();
    o.canary = deployment(
      'podinfo-canary',
      'podinfo-canary',
      1,
      podTemplate('podinfo-canary', 'quay.io/stefanprodan/podinfo:1.1.1', 'blue'),
    );
    const p = plan({
      rollout: seedRollout(),
      observed: o,
      analysis: undefined,
      now: 0,
      config: CONFIG,
    });
    expect(p.status.phase).toBe('Initialized');
    expect(p.events).toEqual([]);
    expect(p.actions).toContainEqual({
      kind: 'scaleCanary',
      name: 'podinfo-canary',
      replicas: 0,
      remember: 1,
    });
    expect(p.status.lastPromotedRevision).toBeDefined();
  });

  it('leaves a primary changed by hand alone while the canary is unchanged', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    w.observed.primary.spec.template = podTemplate(
      'podinfo',
      'quay.io/stefanprodan/podinfo:0.9.0',
      'red',
    );
    const p = w.pass();
    expect(p.actions).toEqual([]);
    expect(p.events[0]?.message).toMatch(
      /^podinfo\.test was changed after revision [0-9a-f]{10} was promoted/,
    );
    expect(w.pass().events).toEqual([]);
  });

  it('waits, with one event naming what is missing, and recovers by itself', () => {
    const o: Partial<ReturnType<typeof seedObserved>> = seedObserved();
    delete o.route;
    delete o.canaryService;
    const p1 = plan({
      rollout: seedRollout(),
      observed: o,
      analysis: undefined,
      now: 0,
      config: CONFIG,
    });
    expect(p1.status.phase).toBe('Waiting');
    // Only the finalizer: a Rollout waiting for its targets can still be deleted cleanly.
    expect(p1.actions).toEqual([{ kind: 'addFinalizer', first: true }]);
    expect(p1.events).toEqual([
      {
        type: 'Warning',
        message:
          'Halt rollout podinfo.test VirtualService podinfo.test, Service podinfo-canary.test not found',
      },
    ]);
    expect(p1.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'MissingTarget',
    });
    const p2 = plan({
      rollout: { ...seedRollout(), status: p1.status },
      observed: o,
      analysis: undefined,
      now: 1,
      config: CONFIG,
    });
    expect(p2.events).toEqual([]);
    const p3 = plan({
      rollout: { ...seedRollout(), status: p2.status },
      observed: seedObserved(),
      analysis: undefined,
      now: 2,
      config: CONFIG,
    });
    expect(p3.status.phase).toBe('Progressing');
  });

  it('names the missing route host when the VirtualService lacks the canary', () => {
    const o = seedObserved();
    o.route.spec.http = [{ route: [{ destination: { host: 'podinfo' } }] }];
    const p = plan({
      rollout: seedRollout(),
      observed: o,
      analysis: undefined,
      now: 0,
      config: CONFIG,
    });
    expect(p.status.message).toBe(
      'Halt rollout podinfo.test VirtualService podinfo.test has no route to podinfo-canary',
    );
  });

  it('rejects a Service without an http port and a NodePort Service', () => {
    const o = seedObserved();
    o.canaryService.spec.ports = [{ name: 'grpc', port: 9999 }];
    o.primaryService.spec.type = 'NodePort';
    const p = plan({
      rollout: seedRollout(),
      observed: o,
      analysis: undefined,
      now: 0,
      config: CONFIG,
    });
    expect(p.status.message).toBe(
      'Halt rollout podinfo.test Service podinfo.test is of type NodePort, not ClusterIP; Service podinfo-canary.test has no port named http or https',
    );
  });

  it('reports an invalid spec with the field names', () => {
    const bad = seedRollout({
      targetKind: 'Deployment',
      primary: { name: 'podinfo', host: 'podinfo' },
    });
    const p = plan({
      rollout: bad,
      observed: seedObserved(),
      analysis: undefined,
      now: 0,
      config: CONFIG,
    });
    expect(p.status.phase).toBe('Waiting');
    expect(p.status.message).toContain('spec.canary: required');
    expect(p.status.message).toContain(
      'spec.virtualService: one of spec.virtualService, spec.httpRoute is required',
    );
    expect(p.actions).toEqual([]);
  });

  it('restores weights changed by someone else, saying so', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    const route = w.observed.route.spec.http?.[0]?.route;
    if (route?.[0] && route[1]) {
      route[0].weight = 50;
      route[1].weight = 50;
    }
    w.now += 100;
    const p = w.pass();
    expect(p.actions).toContainEqual(
      expect.objectContaining({ kind: 'setWeights', primary: 70, canary: 30 }),
    );
    expect(p.events.map((e) => e.message)).toEqual([
      'Restoring VirtualService podinfo.test weights to 70/30: found 50/50, changed outside Steerer',
    ]);
  });

  it('applies its own unfinished weight change silently (e.g. after a restart)', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
    // The controller recorded weight 40 in status and died before patching the route.
    w.now += CONFIG.stepIntervalMs;
    const p = w.preview();
    expect(p.status.canaryWeight).toBe(40);
    const restarted = plan({
      rollout: { ...w.rollout, status: p.status },
      observed: w.observed,
      analysis: samples(w.sample()),
      now: w.now + 50,
      config: CONFIG,
    });
    expect(restarted.actions).toContainEqual(
      expect.objectContaining({ kind: 'setWeights', primary: 60, canary: 40 }),
    );
    expect(restarted.events).toEqual([]);
    expect(restarted.status.canaryWeight).toBe(40);
  });

  it('labels both Deployments once', () => {
    const w = new World();
    expect(w.pass().actions).toContainEqual({
      kind: 'labelTargets',
      rollout: 'podinfo',
      targets: [
        { name: 'podinfo', role: 'primary' },
        { name: 'podinfo-canary', role: 'canary' },
      ],
    });
    expect(w.pass().actions.filter((a) => a.kind === 'labelTargets')).toEqual([]);
  });

  it('is deterministic: the same input gives the same plan', () => {
    const w = new World();
    w.runUntil((x) => x.rollout.status?.canaryWeight === 50);
    const input = {
      rollout: w.rollout,
      observed: w.observed,
      analysis: samples(w.sample()),
      now: w.now + 99_999,
      config: CONFIG,
    };
    expect(plan(structuredClone(input))).toEqual(plan(structuredClone(input)));
  });
});
