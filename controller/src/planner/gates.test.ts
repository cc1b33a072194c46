import { describe, expect, it } from '@jest/globals';
import { istioVirtualService, validateRolloutSpec } from '@steerer/common/model';
import type {
  AnalysisSample,
  CheckSpec,
  Stage,
  Deployment,
  HorizontalPodAutoscaler,
  RolloutSpec,
  Service,
} from '@steerer/common/model';
import {
  checkAnalysis,
  checkDeployment,
  checkHpa,
  checkTargets,
  selectorProblems,
  rolloutProgress,
  windowOf,
} from './gates.js';
import type { AnalysisOutcome, Gate } from './gates.js';
import {
  SEED_SPEC,
  SUBSET_SPEC,
  deployment,
  destinationRule,
  hpa,
  podTemplate,
  seedObserved,
  subsetObserved,
  virtualService,
} from './testing.js';
import type { Observed } from './types.js';

const NS = 'test';

function seedSpec(): RolloutSpec {
  const parsed = validateRolloutSpec(SEED_SPEC, { namespace: NS });
  if (!parsed.ok) throw new Error(`the seed spec is invalid: ${JSON.stringify(parsed.errors)}`);
  return parsed.value;
}

function seedCheck(): CheckSpec {
  const [check] = seedSpec().checks;
  if (!check) throw new Error('the seed spec has no check');
  return check;
}

/** A two-replica Deployment with the given status (and generation). */
function dep(status: Deployment['status'], generation = 1, replicas: number | null = 2) {
  const d = deployment('podinfo', 'podinfo', 2, podTemplate('podinfo', 'img:1', 'blue'));
  d.metadata.generation = generation;
  if (replicas === null) delete d.spec.replicas;
  else d.spec.replicas = replicas;
  if (status === undefined) delete d.status;
  else d.status = status;
  return d;
}

function nodePort(s: Service): Service {
  return { ...s, spec: { ...s.spec, type: 'NodePort' } };
}

function withoutHttpPort(s: Service): Service {
  return { ...s, spec: { ...s.spec, ports: [{ name: 'metrics', port: 9797 }] } };
}

function withTemplateLabels(d: Deployment, labels: Record<string, string>): Deployment {
  const template = structuredClone(d.spec.template);
  template.metadata = { ...template.metadata, labels };
  return { ...d, spec: { ...d.spec, template } };
}

describe('checkTargets', () => {
  const spec = seedSpec();

  it.each<[string, (o: Observed) => Observed, string]>([
    [
      'the primary Deployment',
      (o) => ({ ...o, primary: undefined }),
      'Deployment podinfo.test not found',
    ],
    [
      'the canary Deployment',
      (o) => ({ ...o, canary: undefined }),
      'Deployment podinfo-canary.test not found',
    ],
    [
      'the VirtualService',
      (o) => ({ ...o, route: undefined }),
      'VirtualService podinfo.test not found',
    ],
    [
      'the primary Service',
      (o) => ({ ...o, primaryService: undefined }),
      'Service podinfo.test not found',
    ],
    [
      'the canary Service',
      (o) => ({ ...o, canaryService: undefined }),
      'Service podinfo-canary.test not found',
    ],
    [
      'everything, listed together in one sentence',
      () => ({}),
      'Deployment podinfo.test, Deployment podinfo-canary.test, VirtualService podinfo.test, Service podinfo.test, Service podinfo-canary.test not found',
    ],
    [
      'a Deployment while a Service is unusable (missing wins)',
      (o) => ({ ...o, canary: undefined, primaryService: nodePort(seedObserved().primaryService) }),
      'Deployment podinfo-canary.test not found',
    ],
  ])('halts MissingTarget without %s', (_what, change, message) => {
    expect(checkTargets(spec, NS, change(seedObserved()))).toEqual({
      ok: false,
      reason: 'MissingTarget',
      message,
    });
  });

  it.each<[string, (o: Observed) => Observed, string]>([
    [
      'a NodePort primary Service',
      (o) => ({ ...o, primaryService: o.primaryService && nodePort(o.primaryService) }),
      'Service podinfo.test is of type NodePort, not ClusterIP',
    ],
    [
      'a canary Service without an http port',
      (o) => ({ ...o, canaryService: o.canaryService && withoutHttpPort(o.canaryService) }),
      'Service podinfo-canary.test has no port named http or https',
    ],
    [
      'both, joined',
      (o) => ({
        ...o,
        primaryService: o.primaryService && withoutHttpPort(o.primaryService),
        canaryService: o.canaryService && nodePort(o.canaryService),
      }),
      'Service podinfo.test has no port named http or https; Service podinfo-canary.test is of type NodePort, not ClusterIP',
    ],
  ])('halts InvalidTarget for %s', (_what, change, message) => {
    expect(checkTargets(spec, NS, change(seedObserved()))).toEqual({
      ok: false,
      reason: 'InvalidTarget',
      message,
    });
  });

  it('accepts an https port instead of http', () => {
    const o = seedObserved();
    o.canaryService.spec.ports = [{ name: 'https', port: 443 }];
    expect(checkTargets(spec, NS, o).ok).toBe(true);
  });

  it("halts InvalidTarget with the router's message when the route lacks the canary host", () => {
    const o = seedObserved();
    const [first] = o.route.spec.http ?? [];
    if (!first) throw new Error('the seed VirtualService has no http route');
    first.route = (first.route ?? []).filter((d) => d.destination.host === 'podinfo');
    const hosts = { primary: 'podinfo', canary: 'podinfo-canary', namespace: NS };
    const read = istioVirtualService.read(o.route, hosts);
    expect(read).toEqual({
      ok: false,
      message: 'VirtualService podinfo.test has no route to podinfo-canary',
    });
    expect(checkTargets(spec, NS, o)).toEqual({
      ok: false,
      reason: 'InvalidTarget',
      message: 'VirtualService podinfo.test has no route to podinfo-canary',
    });
  });

  it('halts InvalidTarget for a route kind no router knows', () => {
    const odd: RolloutSpec = { ...spec, route: { kind: 'TCPRoute', name: 'podinfo' } };
    expect(checkTargets(odd, NS, seedObserved())).toEqual({
      ok: false,
      reason: 'InvalidTarget',
      message: 'no router for TCPRoute',
    });
  });

  it('halts RouterUnavailable, before anything else, when the route kind cannot be read', () => {
    const o: Observed = {
      ...seedObserved(),
      primary: undefined,
      route: undefined,
      routeUnavailable:
        'the API server serves no networking.istio.io VirtualService; install the CRDs',
    };
    expect(checkTargets(spec, NS, o)).toEqual({
      ok: false,
      reason: 'RouterUnavailable',
      message:
        'cannot read VirtualService podinfo.test: the API server serves no networking.istio.io VirtualService; install the CRDs',
    });
  });

  it('reads an HTTPRoute through its router, with the same targets', () => {
    const routeSpec: RolloutSpec = { ...spec, route: { kind: 'HTTPRoute', name: 'podinfo' } };
    const o: Observed = {
      ...seedObserved(),
      route: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'podinfo', namespace: NS },
        spec: {
          parentRefs: [{ name: 'public' }],
          rules: [
            {
              backendRefs: [
                { name: 'podinfo', port: 9898, weight: 3 },
                { name: 'podinfo-canary', port: 9898, weight: 1 },
              ],
            },
          ],
        },
      } as Observed['route'],
    };
    const t = checkTargets(routeSpec, NS, o);
    if (!t.ok) throw new Error(`unexpected halt: ${t.message}`);
    expect(t.targets.router.kind).toBe('HTTPRoute');
    expect(t.targets.weights).toEqual({ primary: 75, canary: 25 });
  });

  describe('Istio subset routing', () => {
    const subsetSpec = (): RolloutSpec => {
      const parsed = validateRolloutSpec(SUBSET_SPEC, { namespace: NS });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      return parsed.value;
    };

    it('passes one Service with a DestinationRule subset per Deployment, and reads the split', () => {
      const t = checkTargets(subsetSpec(), NS, subsetObserved());
      if (!t.ok) throw new Error(`unexpected halt: ${t.message}`);
      expect(t.targets.hosts).toEqual({
        primary: 'podinfo',
        canary: 'podinfo',
        namespace: NS,
        primarySubset: 'primary',
        canarySubset: 'canary',
      });
      expect(t.targets.weights).toEqual({ primary: 100, canary: 0 });
    });

    it('halts MissingTarget naming the host and both fields without a DestinationRule', () => {
      const o = { ...subsetObserved(), subsetRules: [] };
      expect(checkTargets(subsetSpec(), NS, o)).toEqual({
        ok: false,
        reason: 'MissingTarget',
        message:
          'no DestinationRule in namespace test has host podinfo (Service podinfo.test) to define the subsets spec.primary.subset "primary" and spec.canary.subset "canary" name',
      });
    });

    it('halts InvalidTarget naming the DestinationRule and the field for a missing subset', () => {
      const o = {
        ...subsetObserved(),
        subsetRules: [destinationRule([{ name: 'primary', labels: { version: 'primary' } }])],
      };
      expect(checkTargets(subsetSpec(), NS, o)).toEqual({
        ok: false,
        reason: 'InvalidTarget',
        message:
          'DestinationRule podinfo.test (host podinfo) spec.subsets has no subset "canary" (spec.canary.subset); it defines "primary"',
      });
    });

    it("halts InvalidTarget when a subset's labels select the other side's pods", () => {
      const o = {
        ...subsetObserved(),
        subsetRules: [
          destinationRule([
            { name: 'primary', labels: { app: 'podinfo' } },
            { name: 'canary', labels: { version: 'canary' } },
          ]),
        ],
      };
      const t = checkTargets(subsetSpec(), NS, o);
      expect(t).toMatchObject({ ok: false, reason: 'InvalidTarget' });
      if (t.ok) return;
      expect(t.message).toMatch(
        /^DestinationRule podinfo\.test spec\.subsets\[0\] \(subset "primary", spec\.primary\.subset\) selects the canary's pods too: its labels app=podinfo match the pod template labels of Deployment podinfo-canary\.test/,
      );
    });

    it('halts RouterUnavailable while DestinationRules cannot be read', () => {
      const o = {
        ...subsetObserved(),
        subsetRules: undefined,
        subsetRulesUnavailable: 'the DestinationRule cache has not synced yet',
      };
      expect(checkTargets(subsetSpec(), NS, o)).toEqual({
        ok: false,
        reason: 'RouterUnavailable',
        message:
          'cannot read the DestinationRules of podinfo.test: the DestinationRule cache has not synced yet',
      });
    });

    it('halts InvalidTarget when the VirtualService routes to the two Services instead', () => {
      const o = { ...subsetObserved(), route: seedObserved().route };
      expect(checkTargets(subsetSpec(), NS, o)).toEqual({
        ok: false,
        reason: 'InvalidTarget',
        message:
          'VirtualService podinfo.test has no route to podinfo subset primary and podinfo subset canary',
      });
    });

    it('does not take the shared Service for a selector overlap', () => {
      const o = subsetObserved();
      expect(selectorProblems(subsetSpec(), NS, o.primary, o.canary, o)).toEqual([]);
    });
  });

  describe('Services that select the other side’s pods', () => {
    const both = (o: Observed): Observed => {
      const shared = { app: 'podinfo', track: 'stable' };
      return {
        ...o,
        primaryService: o.primaryService && {
          ...o.primaryService,
          spec: { ...o.primaryService.spec, selector: { app: 'podinfo' } },
        },
        primary: o.primary && withTemplateLabels(o.primary, shared),
        canary: o.canary && withTemplateLabels(o.canary, { app: 'podinfo', track: 'canary' }),
        canaryService: o.canaryService && {
          ...o.canaryService,
          spec: { ...o.canaryService.spec, selector: { track: 'canary' } },
        },
      };
    };

    it("halts InvalidTarget naming the primary's Service and the labels the canary's pods share", () => {
      expect(checkTargets(spec, NS, both(seedObserved()))).toEqual({
        ok: false,
        reason: 'InvalidTarget',
        message:
          "Service podinfo.test (spec.primary.host) selects the canary's pods too: its selector app=podinfo matches the pod template labels of Deployment podinfo-canary.test; part of the primary's traffic would reach the canary's pods, beyond the canary's weight. Give the two Deployments' pods a label that tells them apart and select on it",
      });
    });

    it("names the canary's Service when it selects the primary's pods, and both when both do", () => {
      const o = seedObserved();
      o.canaryService.spec.selector = { tier: 'web' };
      o.primary = withTemplateLabels(o.primary, { app: 'podinfo', tier: 'web' });
      o.canary = withTemplateLabels(o.canary, { app: 'podinfo-canary', tier: 'web' });
      const one = checkTargets(spec, NS, o);
      expect(one).toMatchObject({ ok: false, reason: 'InvalidTarget' });
      if (one.ok) return;
      expect(one.message).toMatch(
        /^Service podinfo-canary\.test \(spec\.canary\.host\) selects the primary's pods too: its selector tier=web matches the pod template labels of Deployment podinfo\.test; part of the canary's traffic would reach the primary's pods/,
      );
      o.primaryService.spec.selector = { tier: 'web' };
      const two = checkTargets(spec, NS, o);
      if (two.ok) throw new Error('expected a halt');
      expect(two.message.split('; ').filter((m) => m.startsWith('Service '))).toHaveLength(2);
    });

    it('passes Services whose selectors tell the pods apart, or select nothing', () => {
      const o = seedObserved();
      o.primary = withTemplateLabels(o.primary, { app: 'podinfo', track: 'x' });
      o.primaryService.spec.selector = { app: 'podinfo', track: 'x' };
      o.canary = withTemplateLabels(o.canary, { app: 'podinfo', track: 'y' });
      o.canaryService.spec.selector = { app: 'podinfo', track: 'y' };
      expect(checkTargets(spec, NS, o).ok).toBe(true);
      delete o.canaryService.spec.selector;
      o.canary = withTemplateLabels(o.canary, { app: 'podinfo', track: 'x' });
      // The canary's pods carry the primary Service's selector: that one still halts.
      expect(checkTargets(spec, NS, o)).toMatchObject({ ok: false, reason: 'InvalidTarget' });
    });

    it('ignores a Service of another namespace: it selects pods of its own namespace only', () => {
      const crossSpec: RolloutSpec = {
        ...spec,
        primary: { ...spec.primary, host: 'podinfo.prod' },
      };
      const o = seedObserved();
      o.canary = withTemplateLabels(o.canary, { app: 'podinfo' });
      expect(selectorProblems(spec, NS, o.primary, o.canary, o)).toHaveLength(1);
      o.primaryService.metadata.namespace = 'prod';
      expect(selectorProblems(crossSpec, NS, o.primary, o.canary, o)).toEqual([]);
    });
  });

  it('passes with every target present, reading the weights the route applies', () => {
    const o = seedObserved();
    o.route = virtualService(70, 30);
    const t = checkTargets(spec, NS, o);
    if (!t.ok) throw new Error(`unexpected halt: ${t.message}`);
    expect(t.targets.weights).toEqual({ primary: 70, canary: 30 });
    expect(t.targets.routesConsistent).toBe(true);
    expect(t.targets.primary).toBe(o.primary);
    expect(t.targets.canary).toBe(o.canary);
    expect(t.targets.route).toBe(o.route);
    expect(t.targets.router.kind).toBe('VirtualService');
    expect(t.targets.hosts).toEqual({
      primary: 'podinfo',
      canary: 'podinfo-canary',
      namespace: NS,
    });
  });

  it('reports routes that split differently as inconsistent', () => {
    const o = seedObserved();
    const second = virtualService(50, 50).spec.http?.[0];
    if (!second) throw new Error('no http route');
    o.route.spec.http = [...(o.route.spec.http ?? []), { ...second, match: [{ headers: {} }] }];
    const t = checkTargets(spec, NS, o);
    if (!t.ok) throw new Error(`unexpected halt: ${t.message}`);
    expect(t.targets.weights).toEqual({ primary: 100, canary: 0 });
    expect(t.targets.routesConsistent).toBe(false);
  });
});

describe('rolloutProgress', () => {
  it.each<[string, Deployment, Partial<ReturnType<typeof rolloutProgress>>]>([
    [
      'a spec the Deployment controller has not observed',
      dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2),
      { done: false, observed: false, describe: 'waiting for the spec update to be observed' },
    ],
    [
      'some replicas not yet updated',
      dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2 }, 2),
      { done: false, observed: true, describe: '1 out of 2 new replicas have been updated' },
    ],
    [
      'old replicas pending termination',
      dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }, 2),
      { done: false, describe: '1 old replicas are pending termination' },
    ],
    [
      'updated replicas not all available',
      dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }, 2),
      { done: false, available: 1, describe: '1 of 2 updated replicas are available' },
    ],
    [
      'a finished rollout',
      dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2),
      {
        done: true,
        observed: true,
        desired: 2,
        updated: 2,
        available: 2,
        describe: '2 of 2 updated replicas are available',
      },
    ],
    [
      'no status at all (one replica by default, nothing observed)',
      dep(undefined, 1, null),
      { done: false, observed: false, desired: 1, updated: 0, available: 0 },
    ],
  ])('describes %s', (_what, d, expected) => {
    expect(rolloutProgress(d)).toMatchObject(expected);
  });
});

describe('checkDeployment', () => {
  const deadline = (message?: string): Deployment =>
    dep({
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          ...(message !== undefined ? { message } : {}),
        },
      ],
    });

  it.each<[string, Deployment, Gate]>([
    [
      'a healthy, finished Deployment',
      dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
      { ok: true },
    ],
    [
      'an unobserved spec',
      dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2),
      {
        ok: false,
        reason: 'RollingUpdate',
        message: 'podinfo.test rolling update under way: 2 of 2 replicas updated, 2 available',
      },
    ],
    [
      'replicas not yet updated',
      dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 1 }),
      {
        ok: false,
        reason: 'RollingUpdate',
        message: 'podinfo.test rolling update under way: 1 of 2 replicas updated, 1 available',
      },
    ],
    [
      'old replicas still terminating',
      dep({ observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }),
      {
        ok: false,
        reason: 'RollingUpdate',
        message: 'podinfo.test rolling update under way: 2 of 2 replicas updated, 2 available',
      },
    ],
    [
      'updated replicas that are not available',
      dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }),
      {
        ok: false,
        reason: 'UnhealthyPods',
        message: 'podinfo.test pods are unhealthy: 1 of 2 replicas available',
      },
    ],
    [
      'an exceeded progress deadline',
      deadline('ReplicaSet "podinfo-7d9" has timed out progressing.'),
      {
        ok: false,
        reason: 'UnhealthyPods',
        message:
          'podinfo.test has exceeded its progress deadline: ReplicaSet "podinfo-7d9" has timed out progressing.',
      },
    ],
    [
      'an exceeded progress deadline without a message',
      deadline(),
      {
        ok: false,
        reason: 'UnhealthyPods',
        message: 'podinfo.test has exceeded its progress deadline: pods are not becoming ready',
      },
    ],
  ])('judges %s', (_what, d, gate) => {
    expect(checkDeployment(d, NS)).toEqual(gate);
  });
});

describe('checkHpa', () => {
  const canary = (replicas: number): Deployment => {
    const d = seedObserved().canary;
    d.spec.replicas = replicas;
    return d;
  };
  const inactive = (type: string, h: HorizontalPodAutoscaler): HorizontalPodAutoscaler => ({
    ...h,
    status: {
      ...h.status,
      conditions: [{ type, status: 'False', reason: 'FailedGetResourceMetric' }],
    },
  });
  const scaling = (from: number, to: number): Gate => ({
    ok: false,
    reason: 'HpaScaling',
    message: `podinfo-canary.test is being scaled by HorizontalPodAutoscaler podinfo-canary.test: ${from} → ${to} replicas`,
  });
  const noStatus: HorizontalPodAutoscaler = { ...hpa(), status: undefined };
  const noCurrent: HorizontalPodAutoscaler = { ...hpa(), status: { desiredReplicas: 3 } };

  it.each<[string, HorizontalPodAutoscaler | undefined, number, Gate]>([
    ['no HPA', undefined, 2, { ok: true }],
    ['an HPA without status', noStatus, 2, { ok: true }],
    ['an HPA without currentReplicas', noCurrent, 2, { ok: true }],
    ['a steady HPA', hpa(2, 2, 2), 2, { ok: true }],
    ['an HPA scaling up', hpa(2, 2, 3), 2, scaling(2, 3)],
    ['an HPA scaling down', hpa(2, 3, 2), 3, scaling(3, 2)],
    ['Deployment replicas ahead of the HPA', hpa(2, 2, 2), 3, scaling(2, 3)],
    ['ScalingActive=False within bounds', inactive('ScalingActive', hpa(2, 2, 1)), 2, { ok: true }],
    [
      'ScalingActive=False below the minimum',
      inactive('ScalingActive', hpa(2, 1, 1)),
      1,
      scaling(1, 2),
    ],
    [
      'ScalingActive=False above the maximum',
      inactive('ScalingActive', hpa(2, 5, 5)),
      5,
      scaling(5, 3),
    ],
    ['AbleToScale=False within bounds', inactive('AbleToScale', hpa(2, 3, 2)), 3, { ok: true }],
    ['scaling disabled (0/0)', hpa(2, 0, 0), 2, { ok: true }],
  ])('judges %s', (_what, h, replicas, gate) => {
    expect(checkHpa(h, canary(replicas), NS)).toEqual(gate);
  });
});

describe('windowOf', () => {
  const check = seedCheck();
  it.each<[string, AnalysisSample | undefined, string]>([
    ['no sample: the spec interval', undefined, '1m'],
    ['a sample without windowMs', { kind: 'ok', value: 100, requestRate: 1, at: 0 }, '1m'],
    ['the full window', { kind: 'ok', value: 100, requestRate: 1, at: 0, windowMs: 60_000 }, '1m'],
    ['a young window', { kind: 'ok', value: 100, requestRate: 1, at: 0, windowMs: 10_000 }, '10s'],
    ['a young window without data', { kind: 'nodata', at: 0, windowMs: 42_400 }, '42s'],
    ['an error: the spec interval', { kind: 'error', message: 'down', at: 0 }, '1m'],
  ])('%s', (_what, sample, expected) => {
    expect(windowOf(sample, check)).toBe(expected);
  });

  it('shows a window in the units the spec would use', () => {
    const long: CheckSpec = { ...check, interval: '5m', intervalMs: 300_000 };
    expect(windowOf({ kind: 'nodata', at: 0, windowMs: 90_000 }, long)).toBe('1m30s');
    expect(windowOf({ kind: 'nodata', at: 0, windowMs: 300_000 }, long)).toBe('5m');
  });
});

describe('checkAnalysis', () => {
  const spec = seedSpec();
  const NOW = Date.parse('2026-01-01T00:10:00Z');
  const MAX_AGE = 5_000;
  const one = (sample: AnalysisSample): ReadonlyMap<string, AnalysisSample> =>
    new Map([['success-rate', sample]]);
  const judge = (sample: AnalysisSample, stage?: Stage): AnalysisOutcome =>
    checkAnalysis(spec, one(sample), NS, NOW, MAX_AGE, stage);

  it('is pending without samples, or without a sample of the check', () => {
    expect(checkAnalysis(spec, undefined, NS, NOW, MAX_AGE)).toEqual({
      kind: 'pending',
      check: 'success-rate',
    });
    expect(checkAnalysis(spec, new Map(), NS, NOW, MAX_AGE)).toEqual({
      kind: 'pending',
      check: 'success-rate',
    });
  });

  it.each<[string, AnalysisSample, Record<string, unknown>]>([
    [
      'a stale sample',
      { kind: 'ok', value: 100, requestRate: 10, at: NOW - MAX_AGE - 1 },
      {
        kind: 'judged',
        gate: {
          ok: false,
          reason: 'MetricsUnavailable',
          message: 'no recent istio_requests_total measurement for podinfo-canary.test',
        },
        status: {
          result: 'Error',
          threshold: 99,
          window: '1m',
          message: 'no recent istio_requests_total measurement for podinfo-canary.test',
        },
      },
    ],
    [
      'a stale error (staleness first)',
      { kind: 'error', message: 'connection refused', at: NOW - MAX_AGE - 1 },
      {
        kind: 'judged',
        gate: {
          ok: false,
          reason: 'MetricsUnavailable',
          message: 'no recent istio_requests_total measurement for podinfo-canary.test',
        },
        status: {
          result: 'Error',
          threshold: 99,
          window: '1m',
          message: 'no recent istio_requests_total measurement for podinfo-canary.test',
        },
      },
    ],
    [
      'a Prometheus error',
      { kind: 'error', message: 'connection refused', at: NOW },
      {
        kind: 'judged',
        gate: {
          ok: false,
          reason: 'MetricsUnavailable',
          message: 'metrics server unavailable: connection refused',
        },
        status: {
          result: 'Error',
          threshold: 99,
          window: '1m',
          message: 'metrics server unavailable: connection refused',
        },
      },
    ],
    [
      'no data: not a halt, a wait for requests',
      { kind: 'nodata', at: NOW },
      {
        kind: 'waiting',
        message: 'waiting for requests to podinfo-canary.test: none seen over the last 1m',
        status: {
          result: 'Waiting',
          threshold: 99,
          window: '1m',
          samples: 0,
          failures: 0,
          message: 'waiting for requests to podinfo-canary.test: none seen over the last 1m',
        },
      },
    ],
    [
      'no data over a young window',
      { kind: 'nodata', at: NOW, windowMs: 10_000 },
      {
        kind: 'waiting',
        message: 'waiting for requests to podinfo-canary.test: none seen over the last 10s',
        status: { result: 'Waiting', window: '10s' },
      },
    ],
    [
      'a NaN value (no requests): a wait',
      { kind: 'ok', value: Number.NaN, requestRate: 0, at: NOW },
      { kind: 'waiting', status: { result: 'Waiting' } },
    ],
    [
      'a success rate below the threshold (the seed wording)',
      { kind: 'ok', value: 88.888, requestRate: 9.87654, at: NOW },
      {
        kind: 'judged',
        gate: { ok: false, reason: 'LowSuccessRate', message: 'success rate 88.89% < 99%' },
        status: {
          result: 'Fail',
          threshold: 99,
          window: '1m',
          successRate: 88.89,
          requestRate: 9.877,
          message: 'success rate 88.89% < 99%',
        },
      },
    ],
    [
      'a passing success rate, rounded in status',
      { kind: 'ok', value: 99.5678, requestRate: 10.12345, at: NOW - MAX_AGE },
      {
        kind: 'judged',
        gate: { ok: true },
        status: {
          result: 'Pass',
          threshold: 99,
          window: '1m',
          successRate: 99.57,
          requestRate: 10.123,
        },
      },
    ],
    [
      'exactly the threshold',
      { kind: 'ok', value: 99, requestRate: 1, at: NOW, windowMs: 10_000 },
      {
        kind: 'judged',
        gate: { ok: true },
        status: { result: 'Pass', threshold: 99, window: '10s', successRate: 99, requestRate: 1 },
      },
    ],
  ])('judges %s', (_what, sample, outcome) => {
    expect(judge(sample)).toMatchObject(outcome);
  });

  it('treats an infinite value as no requests: a wait', () => {
    const o = judge({ kind: 'ok', value: Number.POSITIVE_INFINITY, requestRate: 1, at: NOW });
    expect(o).toMatchObject({ kind: 'waiting', status: { result: 'Waiting' } });
  });

  it('shows the query users can paste into Prometheus', () => {
    const o = judge({ kind: 'ok', value: 100, requestRate: 1, at: NOW });
    expect(o.kind !== 'pending' && o.status.query).toBe(
      'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload="podinfo-canary",response_code!~"5.."}[60s])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload="podinfo-canary"}[60s])) * 100',
    );
  });

  describe('on counts', () => {
    const counted = (
      total: number,
      bad: number,
      evidence?: { total: number; bad: number; windowMs: number },
    ): AnalysisSample => ({
      kind: 'ok',
      value: ((total - bad) / total) * 100,
      requestRate: total / 60,
      counts: { total, bad },
      ...(evidence ? { evidence } : {}),
      at: NOW,
      windowMs: 60_000,
    });

    it('halts only when the errors are beyond chance, with the seed wording and the evidence', () => {
      expect(judge(counted(720, 85))).toMatchObject({
        kind: 'judged',
        gate: { ok: false, reason: 'LowSuccessRate', message: 'success rate 88.19% < 99%' },
        status: {
          result: 'Fail',
          message: expect.stringMatching(
            /^success rate 88\.19% < 99% \(85 errors in 720 requests over 1m; p = /,
          ) as unknown,
          samples: 720,
          failures: 85,
          confidence: 0.999,
        },
      });
    });

    it('waits, saying how many more requests, when one error in six cannot tell', () => {
      const o = judge(counted(6, 1));
      expect(o.kind).toBe('waiting');
      if (o.kind !== 'waiting') return;
      expect(o.message).toMatch(
        /^waiting for \d+ more requests to podinfo-canary\.test \(1 errors in 6 requests over 1m\)$/,
      );
      expect(o.status.needed).toBeGreaterThan(100);
    });

    it('passes on the evidence window once enough requests were seen', () => {
      const sample = counted(30, 0, { total: 480, bad: 1, windowMs: 480_000 });
      expect(judge(sample, { kind: 'step', nextWeight: 100 })).toMatchObject({
        kind: 'judged',
        gate: { ok: true },
        status: {
          result: 'Pass',
          samples: 480,
          failures: 1,
          evidenceWindow: '8m',
          confidence: 0.8,
        },
      });
    });

    it('does not hold a recovered failure against the canary: the recent window decides', () => {
      // 25 s of errors some minutes ago are in the evidence; the last minute is clean.
      const recovered = counted(600, 0, { total: 4800, bad: 300, windowMs: 480_000 });
      expect(judge(recovered, { kind: 'step', nextWeight: 60 })).toMatchObject({
        kind: 'judged',
        gate: { ok: true },
      });
      // Still above the bound now: the evidence confirms what the recent window suggests.
      const steady = counted(60, 2, { total: 2000, bad: 40, windowMs: 480_000 });
      expect(judge(steady, { kind: 'step', nextWeight: 60 })).toMatchObject({
        kind: 'judged',
        gate: { ok: false, reason: 'LowSuccessRate', message: 'success rate 98.00% < 99%' },
      });
    });

    it('needs more evidence the larger the next weight, and the most for the promotion', () => {
      // 60 requests without an error: an upper bound of about 1.2% at 80%.
      const sample = counted(60, 0);
      const to = (nextWeight: number): AnalysisOutcome =>
        judge(sample, { kind: 'step', nextWeight });
      expect(to(20)).toMatchObject({ kind: 'judged', gate: { ok: true } });
      expect(to(50)).toMatchObject({ kind: 'judged', gate: { ok: true } });
      expect(to(100)).toMatchObject({ kind: 'waiting', status: { needed: 11, confidence: 0.8 } });
      const promotion = judge(sample, { kind: 'promotion' });
      // The promotion's sequential test: 607 requests without an error at alpha 1e-4.
      expect(promotion).toMatchObject({
        kind: 'waiting',
        status: { confidence: 0.9999, needed: 607 - 60 },
      });
      // Without a stage: judged as a promotion.
      expect(judge(sample)).toEqual(promotion);
    });

    it('promotes only on the evidence, never on a clean recent window alone', () => {
      // A clean minute, but over 4 minutes 15 errors in 1,290 requests (1.16%, over the bound).
      const lucky = counted(300, 0, { total: 1290, bad: 15, windowMs: 240_000 });
      expect(judge(lucky, { kind: 'step', nextWeight: 60 })).toMatchObject({ kind: 'judged' });
      expect(judge(lucky, { kind: 'promotion' })).toMatchObject({
        kind: 'waiting',
        message: expect.stringMatching(
          /^waiting for \d+ more requests to podinfo-canary\.test \(15 errors in 1290 requests over 4m\)$/,
        ) as unknown,
      });
      // Enough clean evidence passes.
      const clean = counted(300, 1, { total: 1500, bad: 2, windowMs: 480_000 });
      expect(judge(clean, { kind: 'promotion' })).toMatchObject({
        kind: 'judged',
        gate: { ok: true },
        status: { result: 'Pass', confidence: 0.9999 },
      });
    });

    it('does not promote while the recent window is above the bound, whatever the evidence', () => {
      const sample = counted(100, 2, { total: 5000, bad: 10, windowMs: 480_000 });
      const o = judge(sample, { kind: 'promotion' });
      expect(o).toMatchObject({ kind: 'waiting', status: { needed: 0 } });
      expect(o.kind === 'waiting' && o.message).toMatch(
        /^waiting for the last 1m to come back within the bound before promoting podinfo-canary\.test \(2 errors in 100 requests over 1m\)$/,
      );
    });
  });

  describe('with two checks', () => {
    const [first] = spec.checks;
    if (first?.type !== 'success-rate') throw new Error('the seed spec has no success-rate check');
    const strict: CheckSpec = { ...first, name: 'strict', threshold: 99.9 };
    const two: RolloutSpec = { ...spec, checks: [first, strict] };
    const ok = (value: number): AnalysisSample => ({ kind: 'ok', value, requestRate: 1, at: NOW });

    it('halts on the first failing check', () => {
      const s = new Map([
        ['success-rate', ok(99.5)],
        ['strict', ok(99.5)],
      ]);
      expect(checkAnalysis(two, s, NS, NOW, MAX_AGE)).toMatchObject({
        kind: 'judged',
        gate: { ok: false, reason: 'LowSuccessRate', message: 'success rate 99.50% < 99.9%' },
        status: { result: 'Fail', threshold: 99.9 },
      });
    });

    it("passes with the first check's status when all pass", () => {
      const s = new Map([
        ['success-rate', ok(99.5)],
        ['strict', ok(100)],
      ]);
      expect(checkAnalysis(two, s, NS, NOW, MAX_AGE)).toMatchObject({
        kind: 'judged',
        gate: { ok: true },
        status: { result: 'Pass', threshold: 99, successRate: 99.5 },
      });
    });

    it('is pending while any check has no sample', () => {
      const s = new Map([['success-rate', ok(100)]]);
      expect(checkAnalysis(two, s, NS, NOW, MAX_AGE)).toEqual({ kind: 'pending', check: 'strict' });
    });
  });

  it('passes a spec without checks', () => {
    expect(checkAnalysis({ ...spec, checks: [] }, undefined, NS, NOW, MAX_AGE)).toEqual({
      kind: 'judged',
      gate: { ok: true },
      status: { result: 'Pass', threshold: 0, window: '' },
    });
  });
});
