// Test support: the seed's objects as the API server would return them, and a tiny
// in-memory world that applies planner actions the way Kubernetes would.

import { applyJsonPatch } from '@steerer/common';
import type {
  AnalysisSample,
  Deployment,
  HorizontalPodAutoscaler,
  KubeObject,
  PodTemplate,
  RolloutObject,
  Service,
  VirtualService,
} from '@steerer/common';
import { plan } from './plan.js';
import type { Action, AnalysisSamples, Observed, Plan, PlannerConfig } from './types.js';

export const SEED_SPEC = {
  targetKind: 'Deployment',
  primary: { name: 'podinfo', host: 'podinfo' },
  canary: { name: 'podinfo-canary', host: 'podinfo-canary' },
  virtualService: { name: 'podinfo', weight: 10 },
  metric: { type: 'counter', name: 'istio_requests_total', interval: '1m', threshold: 99 },
};

export function seedRollout(spec: unknown = SEED_SPEC): RolloutObject {
  return {
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: {
      name: 'podinfo',
      namespace: 'test',
      generation: 1,
      resourceVersion: '1',
      uid: 'u1',
    },
    spec: structuredClone(spec),
  };
}

export function podTemplate(app: string, image: string, color: string): PodTemplate {
  return {
    metadata: { labels: { app }, annotations: { 'prometheus.io/scrape': 'true' } },
    spec: {
      containers: [
        {
          name: 'podinfod',
          image,
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 9898, name: 'http', protocol: 'TCP' }],
          command: ['./podinfo', '--port=9898', '--level=info'],
          env: [{ name: 'PODINFO_UI_COLOR', value: color }],
          terminationMessagePath: '/dev/termination-log',
        },
      ],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    },
  };
}

export function deployment(
  name: string,
  app: string,
  replicas: number,
  template: PodTemplate,
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'test', generation: 1, resourceVersion: '1', labels: { app } },
    spec: { replicas, selector: { matchLabels: { app } }, template },
    status: {
      observedGeneration: 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    },
  };
}

export function service(name: string, app: string): Service {
  return {
    metadata: { name, namespace: 'test' },
    spec: {
      type: 'ClusterIP',
      selector: { app },
      ports: [{ name: 'http', port: 9898, targetPort: 'http' }],
    },
  };
}

export function virtualService(primaryWeight = 100, canaryWeight = 0): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: { name: 'podinfo', namespace: 'test', labels: { app: 'podinfo' } },
    spec: {
      gateways: ['public-gateway.istio-system.svc.cluster.local'],
      hosts: ['app.example.com', 'podinfo'],
      http: [
        {
          route: [
            { destination: { host: 'podinfo', port: { number: 9898 } }, weight: primaryWeight },
            {
              destination: { host: 'podinfo-canary', port: { number: 9898 } },
              weight: canaryWeight,
            },
          ],
          timeout: '30s',
        },
      ],
    },
  };
}

export function hpa(min = 2, current = 2, desired = 2): HorizontalPodAutoscaler {
  return {
    metadata: { name: 'podinfo-canary', namespace: 'test' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo-canary' },
      minReplicas: min,
      maxReplicas: 3,
    },
    status: { currentReplicas: current, desiredReplicas: desired },
  };
}

/** The seed's objects; the route is the seed's VirtualService. */
type Optional = 'conflict' | 'routeUnavailable' | 'subsetRules' | 'subsetRulesUnavailable';
export type SeedObserved = Required<Omit<Observed, Optional>> &
  Pick<Observed, Optional> & { route: VirtualService };

/** One sample for the seed's only check. */
export function samples(sample: AnalysisSample): AnalysisSamples {
  return new Map([['success-rate', sample]]);
}

export function seedObserved(): SeedObserved {
  return {
    primary: deployment(
      'podinfo',
      'podinfo',
      2,
      podTemplate('podinfo', 'quay.io/stefanprodan/podinfo:1.1.1', 'blue'),
    ),
    canary: deployment(
      'podinfo-canary',
      'podinfo-canary',
      2,
      podTemplate('podinfo-canary', 'quay.io/stefanprodan/podinfo:1.2.0', 'green'),
    ),
    primaryService: service('podinfo', 'podinfo'),
    canaryService: service('podinfo-canary', 'podinfo-canary'),
    route: virtualService(),
    canaryHpa: hpa(),
  };
}

export const CONFIG: PlannerConfig = {
  stepIntervalMs: 10_000,
  maxSampleAgeMs: 5_000,
  rollbackOnFailure: true,
  progressDeadlineMs: 600_000,
  routeSettleMs: 5_000,
};

/** A world that applies actions like the API server and controllers would. */
export class World {
  observed: SeedObserved;
  rollout: RolloutObject;
  now = Date.parse('2026-01-01T00:00:00Z');
  /** Success rate the canary would show; undefined = no data; 'error' = Prometheus down. */
  successRate: number | undefined | 'error' = 100;
  readonly events: string[] = [];
  readonly plans: Plan[] = [];
  /** Primary rollouts complete after this many passes. */
  primaryRolloutPasses = 1;
  private primaryPending = 0;
  config: PlannerConfig = CONFIG;

  constructor(observed = seedObserved(), rollout = seedRollout()) {
    this.observed = observed;
    this.rollout = rollout;
  }

  sample(): AnalysisSample {
    if (this.successRate === 'error')
      return { kind: 'error', message: 'connection refused', at: this.now };
    if (this.successRate === undefined) return { kind: 'nodata', at: this.now };
    return { kind: 'ok', value: this.successRate, requestRate: 10, at: this.now };
  }

  /** What a reconcile would decide now, without applying any of it. */
  preview(): Plan {
    return plan({
      rollout: this.rollout,
      observed: this.observed,
      analysis: samples(this.sample()),
      now: this.now,
      config: this.config,
    });
  }

  /** One reconcile: plan, record status, apply actions, settle Deployments. */
  pass(): Plan {
    const p = this.preview();
    this.plans.push(p);
    this.rollout = {
      ...this.rollout,
      metadata: structuredClone(this.rollout.metadata),
      status: p.status,
    };
    for (const e of p.events) this.events.push(`${e.type} ${e.message}`);
    for (const a of p.actions) this.apply(a);
    this.settle();
    return p;
  }

  apply(a: Action): void {
    const o = this.observed;
    switch (a.kind) {
      case 'setWeights':
        o.route = applyJsonPatch(o.route, a.ops);
        return;
      case 'scaleCanary':
        o.canary.spec.replicas = a.replicas;
        o.canary.metadata.generation = (o.canary.metadata.generation ?? 1) + 1;
        if (a.remember !== undefined) {
          o.canary.metadata.annotations = {
            ...o.canary.metadata.annotations,
            'steerer.io/scaled-down-from': String(a.remember),
          };
        }
        return;
      case 'promote':
        o.primary.spec.template = structuredClone(a.template);
        o.primary.metadata.generation = (o.primary.metadata.generation ?? 1) + 1;
        o.primary.status = {
          observedGeneration: o.primary.metadata.generation,
          updatedReplicas: 2,
          availableReplicas: 1,
          replicas: 2,
        };
        this.primaryPending = this.primaryRolloutPasses;
        return;
      case 'addFinalizer':
        this.rollout.metadata.finalizers = [
          ...(this.rollout.metadata.finalizers ?? []),
          'steerer.io/cleanup',
        ];
        return;
      case 'removeFinalizer':
        this.rollout.metadata.finalizers = this.rollout.metadata.finalizers?.filter(
          (_f, i) => i !== a.index,
        );
        return;
      case 'ackRequest': {
        const annotations = { ...this.rollout.metadata.annotations };
        if (annotations['steerer.io/request'] === a.value) delete annotations['steerer.io/request'];
        this.rollout.metadata.annotations = annotations;
        return;
      }
      case 'labelTargets':
        for (const t of a.targets) {
          const d = t.role === 'primary' ? o.primary : o.canary;
          d.metadata.labels = {
            ...d.metadata.labels,
            'steerer.io/rollout': a.rollout,
            'steerer.io/role': t.role,
          };
        }
        return;
    }
  }

  /** Deployment controllers catch up (primary rollouts take `primaryRolloutPasses`). */
  settle(): void {
    const c = this.observed.canary;
    const r = c.spec.replicas ?? 1;
    c.status = {
      observedGeneration: c.metadata.generation ?? 1,
      replicas: r,
      updatedReplicas: r,
      readyReplicas: r,
      availableReplicas: r,
    };
    this.observed.canaryHpa.status =
      r === 0
        ? { currentReplicas: 0, desiredReplicas: 0 }
        : { currentReplicas: r, desiredReplicas: r };
    const p = this.observed.primary;
    if (this.primaryPending > 0) {
      this.primaryPending--;
      return;
    }
    const pr = p.spec.replicas ?? 1;
    p.status = {
      observedGeneration: p.metadata.generation ?? 1,
      replicas: pr,
      updatedReplicas: pr,
      readyReplicas: pr,
      availableReplicas: pr,
    };
  }

  /** Runs passes, advancing the clock by `stepMs` each, until `until` holds. */
  runUntil(until: (w: World) => boolean, stepMs = CONFIG.stepIntervalMs, maxPasses = 200): void {
    for (let i = 0; i < maxPasses; i++) {
      this.pass();
      if (until(this)) return;
      this.now += stepMs;
    }
    throw new Error(
      `condition not reached after ${maxPasses} passes; events:\n${this.events.join('\n')}`,
    );
  }

  weights(): [number | undefined, number | undefined] {
    const r = this.observed.route.spec.http?.[0]?.route;
    return [r?.[0]?.weight, r?.[1]?.weight];
  }

  bumpCanary(image: string): void {
    const c = this.observed.canary;
    const container = (c.spec.template.spec?.containers as { image: string }[])[0];
    if (container) container.image = image;
    c.metadata.generation = (c.metadata.generation ?? 1) + 1;
  }
}

/** Istio subset routing: one Service, a DestinationRule with a subset per Deployment. */
export const SUBSET_SPEC = {
  ...SEED_SPEC,
  primary: { name: 'podinfo', host: 'podinfo', subset: 'primary' },
  canary: { name: 'podinfo-canary', host: 'podinfo', subset: 'canary' },
};

export function destinationRule(
  subsets: { name: string; labels?: Record<string, string> }[] = [
    { name: 'primary', labels: { version: 'primary' } },
    { name: 'canary', labels: { version: 'canary' } },
  ],
): KubeObject & { spec: { host: string; subsets: unknown[] } } {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'podinfo', namespace: 'test' },
    spec: { host: 'podinfo', subsets },
  };
}

/** The seed's objects rearranged for subset routing (pods told apart by a version label). */
export function subsetObserved(): SeedObserved {
  const o = seedObserved();
  for (const [d, version] of [
    [o.primary, 'primary'],
    [o.canary, 'canary'],
  ] as const) {
    const labels = { app: 'podinfo', version };
    d.spec.selector = { matchLabels: labels };
    d.spec.template.metadata = { ...d.spec.template.metadata, labels };
  }
  o.canaryService = o.primaryService;
  const [route] = o.route.spec.http ?? [];
  for (const [i, subset] of ['primary', 'canary'].entries()) {
    const d = route?.route?.[i];
    if (d) d.destination = { host: 'podinfo', subset, port: { number: 9898 } };
  }
  o.subsetRules = [destinationRule()];
  return o;
}
