// The caches keep only what is read (model/slim.ts). This pins it: every pass of the
// planner's scenarios is planned twice, over the objects as the API server sends them
// (with the fields it adds that Steerer never reads) and over what the controller's caches
// keep of them, and the two plans must be the same. A planner or router reading a field
// the caches drop fails here.

import { describe, expect, it } from '@jest/globals';
import { LAST_APPLIED, slimDeployment, slimHpa, slimObject, slimService } from '@steerer/common';
import type { Deployment, HorizontalPodAutoscaler, KubeObject, Service } from '@steerer/common';
import type { Plan } from './planner/types.js';
import {
  CONFIG,
  SUBSET_SPEC,
  World,
  hpa,
  seedObserved,
  seedRollout,
  subsetObserved,
} from './planner/testing.js';
import type { SeedObserved } from './planner/testing.js';

const TIME = '2026-01-01T00:00:00Z';

/** Metadata as the API server fills it in, and a kubectl apply leaves it. */
function served<T extends KubeObject>(o: T): T {
  return {
    ...o,
    metadata: {
      ...o.metadata,
      uid: `uid-${o.metadata.name}`,
      creationTimestamp: TIME,
      generateName: 'never-read-',
      selfLink: '/never/read',
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { f: {} } }],
      annotations: {
        ...o.metadata.annotations,
        [LAST_APPLIED]: JSON.stringify({ spec: o as unknown }),
      },
    },
  };
}

function servedDeployment(d: Deployment): Deployment {
  const s = served(d);
  return {
    ...s,
    spec: {
      ...s.spec,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } },
      revisionHistoryLimit: 10,
    } as Deployment['spec'],
    status: {
      ...s.status,
      conditions: [
        ...(s.status?.conditions ?? []),
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
          lastUpdateTime: TIME,
          lastTransitionTime: TIME,
        } as NonNullable<NonNullable<Deployment['status']>['conditions']>[number],
      ],
    },
  };
}

function servedService(svc: Service): Service {
  const s = served(svc);
  return {
    ...s,
    spec: {
      ...s.spec,
      clusterIPs: ['10.0.0.1'],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ports: s.spec.ports?.map((p) => ({ ...p, appProtocol: 'http' })),
    } as Service['spec'],
    status: { loadBalancer: {} },
  } as Service;
}

function servedHpa(h: HorizontalPodAutoscaler): HorizontalPodAutoscaler {
  const s = served(h);
  return {
    ...s,
    spec: { ...s.spec, metrics: [{ type: 'Resource' }] } as HorizontalPodAutoscaler['spec'],
    status: { ...s.status, currentMetrics: [{ type: 'Resource' }] } as typeof s.status,
  };
}

/** The objects as the API server sends them. */
function servedObserved(o: SeedObserved): SeedObserved {
  return {
    ...o,
    primary: servedDeployment(o.primary),
    canary: servedDeployment(o.canary),
    primaryService: servedService(o.primaryService),
    canaryService: servedService(o.canaryService),
    route: { ...served(o.route), status: { validationMessages: [] } } as SeedObserved['route'],
    canaryHpa: servedHpa(o.canaryHpa),
    ...(o.subsetRules ? { subsetRules: o.subsetRules.map((r) => served(r)) } : {}),
  };
}

/** What the controller's caches keep of them (cluster.ts's informer transforms). */
function cached(o: SeedObserved): SeedObserved {
  return {
    ...o,
    primary: slimDeployment(o.primary),
    canary: slimDeployment(o.canary),
    primaryService: slimService(o.primaryService),
    canaryService: slimService(o.canaryService),
    route: slimObject(o.route),
    canaryHpa: slimHpa(o.canaryHpa),
    ...(o.subsetRules ? { subsetRules: o.subsetRules.map((r) => slimObject(r)) } : {}),
  };
}

/** A World of served objects, each of whose passes is also planned over cached ones. */
class Twin extends World {
  compared = 0;

  constructor(observed = seedObserved(), rollout = seedRollout()) {
    super(servedObserved(observed), rollout);
  }

  override preview(): Plan {
    const full = super.preview();
    const kept = this.observed;
    try {
      this.observed = cached(kept);
      const slim = super.preview();
      expect(slim).toEqual(full);
      this.compared++;
      return full;
    } finally {
      this.observed = kept;
    }
  }
}

const SCENARIOS: [string, () => Twin][] = [
  [
    'a release to promotion and back to idle',
    () => {
      const w = new Twin();
      w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
      w.bumpCanary('img:2');
      w.observed.canary.spec.replicas = 0;
      w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
      return w;
    },
  ],
  [
    'a failing canary halted and rolled back',
    () => {
      const w = new Twin();
      w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
      w.successRate = 50;
      for (let i = 0; i < 12; i++) {
        w.now += CONFIG.stepIntervalMs;
        w.pass();
      }
      w.successRate = undefined;
      w.now += CONFIG.stepIntervalMs;
      w.pass();
      return w;
    },
  ],
  [
    'an HPA scaling the canary, a primary rolling, unhealthy canary pods',
    () => {
      const w = new Twin();
      w.runUntil((x) => x.rollout.status?.canaryWeight === 20);
      w.observed.canaryHpa = hpa(2, 1, 3);
      w.now += 500;
      w.pass();
      w.observed.canaryHpa = hpa();
      w.observed.primary.metadata.generation = 9;
      w.now += 500;
      w.pass();
      w.observed.primary.metadata.generation = 1;
      w.observed.canary.status = { ...w.observed.canary.status, availableReplicas: 0 };
      w.now += 500;
      w.preview();
      w.observed.canary.status = {
        ...w.observed.canary.status,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      };
      w.preview();
      return w;
    },
  ],
  [
    'weights changed by someone else',
    () => {
      const w = new Twin();
      w.runUntil((x) => x.rollout.status?.canaryWeight === 30);
      const route = w.observed.route.spec.http?.[0]?.route;
      if (route?.[0] && route[1]) {
        route[0].weight = 50;
        route[1].weight = 50;
      }
      w.now += 100;
      w.pass();
      return w;
    },
  ],
  [
    'a release through Istio subsets',
    () => {
      const w = new Twin(subsetObserved(), seedRollout(SUBSET_SPEC));
      w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
      return w;
    },
  ],
  [
    'a canary that already matches the primary (Initialized)',
    () => {
      const o = seedObserved();
      o.canary.spec.template = structuredClone(o.primary.spec.template);
      o.canary.spec.template.metadata = { labels: { app: 'podinfo-canary' } };
      const w = new Twin(o);
      w.pass();
      w.now += CONFIG.stepIntervalMs;
      w.pass();
      return w;
    },
  ],
];

describe('what the caches keep of an object', () => {
  it.each(SCENARIOS)('plans the same as the whole object: %s', (_name, run) => {
    expect(run().compared).toBeGreaterThan(1);
  });

  it('drops what nobody reads', () => {
    const whole = servedObserved(seedObserved());
    const slim = cached(whole);
    expect(slim.primary.metadata).not.toHaveProperty('managedFields');
    expect(slim.primary.metadata).not.toHaveProperty('selfLink');
    expect(slim.primary.metadata.annotations).toEqual({});
    expect(slim.primary.spec).not.toHaveProperty('strategy');
    expect(slim.primary.status?.conditions?.[0]).toEqual({
      type: 'Available',
      status: 'True',
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    });
    expect(slim.primaryService.spec).not.toHaveProperty('clusterIPs');
    expect(slim.primaryService).not.toHaveProperty('status');
    expect(slim.canaryHpa.spec).not.toHaveProperty('metrics');
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(whole).length / 2);
  });
});
