import { describe, expect, it } from '@jest/globals';
import type { RolloutObject } from '@steerer/common';
import { parseAdmissionReview } from './admission.js';
import type { AdmissionRequest, AdmissionResponse, Operation } from './admission.js';
import type { Lookup } from './lookup.js';
import { rolloutFacts, rolloutTarget, validateRollout } from './validate-rollout.js';
import {
  HTTP_ROUTE_SPEC,
  KINDS,
  NS,
  SUBSET_SPEC,
  StaticLookup,
  admissionReview,
  deployment,
  destinationRule,
  httpRoute,
  rollout,
  seedLookup,
  service,
  subsetLookup,
  virtualService,
} from './testing.js';

function request(
  object: RolloutObject | Record<string, unknown>,
  operation: Operation = 'CREATE',
  oldObject?: unknown,
): AdmissionRequest {
  const parsed = parseAdmissionReview(
    admissionReview({
      kind: KINDS.rollout,
      operation,
      object,
      ...(oldObject ? { oldObject } : {}),
    }),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

/** What the app does: validate the spec, gather facts for a valid one, decide. */
async function review(
  obj: RolloutObject | Record<string, unknown>,
  lookup: Lookup,
  operation: Operation = 'CREATE',
  oldObject?: unknown,
): Promise<AdmissionResponse> {
  const req = request(obj, operation, oldObject);
  const t = rolloutTarget(req);
  const facts =
    'skip' in t || !t.spec.ok
      ? undefined
      : await rolloutFacts(t.namespace, t.name, t.spec.value, lookup);
  return validateRollout(req, facts).response;
}

describe('validateRollout', () => {
  it('refuses a window shorter than two scrapes when told the scrape interval', () => {
    const spec = {
      metric: { type: 'counter', name: 'istio_requests_total', interval: '20s', threshold: 99 },
    };
    const req = request(rollout({ spec }));
    const told = rolloutTarget(req, { scrapeIntervalMs: 15_000 });
    expect('spec' in told && told.spec).toEqual({
      ok: false,
      errors: [
        {
          field: 'spec.metric.interval',
          message: expect.stringContaining('must be at least 30s, got 20s'),
        },
      ],
    });
    const untold = rolloutTarget(req);
    expect('spec' in untold && untold.spec.ok).toBe(true);
  });

  it('admits the seed Rollout when everything it names exists and routes', async () => {
    expect(await review(rollout(), seedLookup())).toEqual({
      uid: expect.any(String),
      allowed: true,
    });
  });

  it('denies an invalid spec naming every bad field, with causes', async () => {
    const bad = rollout({
      spec: {
        targetKind: 'StatefulSet',
        metric: { type: 'counter', name: 'istio_requests_total', interval: 'soon', threshold: 101 },
      },
    });
    const lookup = seedLookup();
    const res = await review(bad, lookup);
    expect(res.allowed).toBe(false);
    expect(res.status?.code).toBe(422);
    expect(res.status?.message).toMatch(/^Rollout test\/podinfo is invalid: /);
    for (const field of ['spec.targetKind', 'spec.metric.interval', 'spec.metric.threshold']) {
      expect(res.status?.message).toContain(field);
      expect(res.status?.details?.causes.map((c) => c.field)).toContain(field);
    }
    expect(lookup.calls).toEqual([]);
  });

  it('denies a hook with a bad URL or timeout, naming the field (spec.hooks)', async () => {
    const base = rollout();
    const bad = rollout({
      spec: {
        ...(base.spec as Record<string, unknown>),
        hooks: [
          { name: 'smoke', type: 'pre-rollout', url: 'https://user:pw@tester/smoke' },
          { name: 'gate', type: 'confirm-promotion', url: 'http://gate/', timeout: '10m' },
        ],
      },
    });
    const res = await review(bad, seedLookup());
    expect(res.allowed).toBe(false);
    expect(res.status?.details?.causes.map((c) => c.field)).toEqual([
      'spec.hooks[0].url',
      'spec.hooks[1].timeout',
    ]);
    // The URL's user information is refused, and the message does not repeat the password.
    expect(res.status?.message).toContain('spec.hooks[0].url: must not carry a user or password');
    expect(res.status?.message).not.toContain('pw@');
  });

  it('denies a missing spec', async () => {
    const res = await review(
      {
        apiVersion: 'apps.weave.works/v1beta1',
        kind: 'Rollout',
        metadata: { name: 'x', namespace: NS },
      },
      seedLookup(),
    );
    expect(res.status?.message).toBe('Rollout test/x is invalid: spec: required');
  });

  it('denies primary = canary', async () => {
    const res = await review(
      rollout({ spec: { canary: { name: 'podinfo', host: 'podinfo' } } }),
      seedLookup(),
    );
    expect(res.status?.message).toContain('spec.canary.name: must differ from spec.primary.name');
    expect(res.status?.message).toContain('spec.canary.host: must differ from spec.primary.host');
  });

  it('denies a canary Deployment another Rollout already owns, naming that Rollout', async () => {
    const lookup = seedLookup('Succeeded');
    const second = rollout({
      name: 'podinfo-2',
      spec: { primary: { name: 'other', host: 'other' } },
    });
    const res = await review(second, lookup);
    expect(res.allowed).toBe(false);
    expect(res.status).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(res.status?.message).toContain(
      'Deployment test/podinfo-canary (spec.canary.name) is already the canary of Rollout test/podinfo',
    );
    expect(res.status?.message).toContain(
      'Service host podinfo-canary (spec.canary.host) is already the canary host of Rollout test/podinfo',
    );
  });

  it('compares hosts as FQDNs and across roles', async () => {
    const lookup = seedLookup('Succeeded');
    const second = rollout({
      name: 'other',
      spec: {
        primary: { name: 'a', host: 'podinfo-canary.test.svc.cluster.local' },
        canary: { name: 'b', host: 'b' },
      },
    });
    const res = await review(second, lookup);
    expect(res.status?.message).toContain(
      'Service host podinfo-canary.test.svc.cluster.local (spec.primary.host) is already the canary host of Rollout test/podinfo',
    );
  });

  it('does not count the Rollout itself on UPDATE', async () => {
    const lookup = seedLookup('Succeeded');
    const changed = rollout({ spec: { virtualService: { name: 'podinfo', weight: 20 } } });
    expect((await review(changed, lookup, 'UPDATE', rollout())).allowed).toBe(true);
  });

  it('denies a VirtualService without the canary route, naming it and the missing host', async () => {
    const lookup = seedLookup().add(virtualService('podinfo', ['podinfo']));
    const res = await review(rollout(), lookup);
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toBe(
      'Rollout test/podinfo cannot shift traffic with VirtualService test/podinfo: VirtualService podinfo.test has no route to podinfo-canary',
    );
  });

  it('denies a route that also sends traffic elsewhere', async () => {
    const lookup = seedLookup().add(
      virtualService('podinfo', ['podinfo', 'podinfo-canary', 'legacy'], [50, 0, 50]),
    );
    const res = await review(rollout(), lookup);
    expect(res.status?.message).toContain('also sends traffic to legacy.test.svc.cluster.local');
  });

  it('admits with warnings what does not exist yet', async () => {
    const res = await review(rollout(), new StaticLookup());
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      'Deployment test/podinfo does not exist yet; the rollout waits for it',
      'Deployment test/podinfo-canary does not exist yet; the rollout waits for it',
      'Service test/podinfo does not exist yet; the rollout waits for it',
      'Service test/podinfo-canary does not exist yet; the rollout waits for it',
      'VirtualService test/podinfo does not exist yet; the rollout waits for it',
    ]);
  });

  it('looks Services up by host, in the namespace the host names', async () => {
    const lookup = seedLookup();
    await review(
      rollout({
        spec: {
          canary: { name: 'podinfo-canary', host: 'podinfo-canary.other.svc.cluster.local' },
        },
      }),
      lookup,
    );
    expect(lookup.calls).toContain('service:other/podinfo-canary');
  });

  it('warns about a Service without an http port', async () => {
    const lookup = seedLookup().add(service('podinfo-canary', 'grpc'));
    const res = await review(rollout(), lookup);
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      'Service test/podinfo-canary has no port named http or https; the rollout waits until it has one',
    ]);
  });

  it('warns (and admits) when a lookup fails', async () => {
    const lookup = seedLookup();
    lookup.failing.add('deployment:test/podinfo');
    const res = await review(rollout(), lookup);
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      'could not check Deployment test/podinfo (connection refused); the rollout waits for it if it is missing',
    ]);
  });

  it('warns about split routes with different weights', async () => {
    const vs = virtualService();
    vs.spec.http = [
      ...(vs.spec.http ?? []),
      {
        match: [{ headers: {} }],
        route: [
          { destination: { host: 'podinfo' }, weight: 50 },
          { destination: { host: 'podinfo-canary' }, weight: 50 },
        ],
      },
    ];
    const res = await review(rollout(), seedLookup().add(vs));
    expect(res.warnings?.[0]).toContain('Steerer will align their weights');
  });

  describe('Services that select the other side’s pods', () => {
    it("denies a primary Service that selects the canary's pods, naming it and the labels", async () => {
      const lookup = seedLookup();
      const primarySvc = {
        ...service('podinfo'),
        spec: { ...service('podinfo').spec, selector: { tier: 'web' } },
      };
      const canaryDep = deployment('podinfo-canary');
      canaryDep.spec.template.metadata = { labels: { app: 'podinfo-canary', tier: 'web' } };
      lookup.add(primarySvc).add(canaryDep);
      const res = await review(rollout(), lookup);
      expect(res.allowed).toBe(false);
      expect(res.status?.message).toBe(
        "Rollout test/podinfo cannot keep its traffic split: Service test/podinfo (spec.primary.host) selects the canary's pods too: its selector tier=web matches the pod template labels of Deployment test/podinfo-canary; part of the primary's traffic would reach the canary's pods, beyond the canary's weight. Give the two Deployments' pods a label that tells them apart and select on it",
      );
    });

    it("denies a canary Service that selects the primary's pods", async () => {
      const lookup = seedLookup();
      lookup.add({
        ...service('podinfo-canary'),
        spec: { ...service('podinfo-canary').spec, selector: { app: 'podinfo' } },
      });
      const res = await review(rollout(), lookup);
      expect(res.status?.message).toContain(
        "Service test/podinfo-canary (spec.canary.host) selects the primary's pods too: its selector app=podinfo",
      );
    });

    it('admits Services whose selectors tell the pods apart', async () => {
      const lookup = seedLookup();
      lookup.add({
        ...service('podinfo'),
        spec: { ...service('podinfo').spec, selector: { app: 'podinfo' } },
      });
      lookup.add({
        ...service('podinfo-canary'),
        spec: { ...service('podinfo-canary').spec, selector: { app: 'podinfo-canary' } },
      });
      expect((await review(rollout(), lookup)).allowed).toBe(true);
    });
  });

  describe('Istio subset routing', () => {
    const withSubsets = (): RolloutObject => rollout({ spec: SUBSET_SPEC });

    it('admits two subsets of one Service that each select their own pods', async () => {
      const lookup = subsetLookup();
      expect(await review(withSubsets(), lookup)).toEqual({
        uid: expect.any(String),
        allowed: true,
      });
      expect(lookup.calls).toContain('subsets:VirtualService:test');
    });

    it('denies a missing DestinationRule, naming the host and both fields', async () => {
      const lookup = subsetLookup();
      lookup.subsetMap.set(NS, []);
      const res = await review(withSubsets(), lookup);
      expect(res.allowed).toBe(false);
      expect(res.status?.message).toBe(
        'Rollout test/podinfo cannot route to its subsets: no DestinationRule in namespace test has host podinfo (Service test/podinfo) to define the subsets spec.primary.subset "primary" and spec.canary.subset "canary" name. The VirtualService would send that share of traffic to no pods or to the wrong ones (docs/reference.md, "Istio subsets")',
      );
    });

    it('denies a missing subset, naming the DestinationRule and the field', async () => {
      const lookup = subsetLookup();
      lookup.subsetMap.set(NS, [
        destinationRule([{ name: 'primary', labels: { version: 'primary' } }]),
      ]);
      const res = await review(withSubsets(), lookup);
      expect(res.status?.message).toContain(
        'DestinationRule test/podinfo (host podinfo) spec.subsets has no subset "canary" (spec.canary.subset); it defines "primary"',
      );
    });

    it("denies a subset whose labels select the other side's pods, naming the labels", async () => {
      const lookup = subsetLookup();
      lookup.subsetMap.set(NS, [
        destinationRule([
          { name: 'primary', labels: { version: 'primary' } },
          { name: 'canary', labels: { app: 'podinfo' } },
        ]),
      ]);
      const res = await review(withSubsets(), lookup);
      expect(res.allowed).toBe(false);
      expect(res.status?.message).toContain(
        'DestinationRule test/podinfo spec.subsets[1] (subset "canary", spec.canary.subset) selects the primary\'s pods too: its labels app=podinfo match the pod template labels of Deployment test/podinfo',
      );
    });

    it('denies a VirtualService that routes to the two Services instead of the subsets', async () => {
      const lookup = subsetLookup().add(virtualService());
      const res = await review(withSubsets(), lookup);
      expect(res.status?.message).toContain(
        'VirtualService podinfo.test has no route to podinfo subset primary and podinfo subset canary',
      );
    });

    it('admits with a warning when the DestinationRules cannot be read', async () => {
      const lookup = subsetLookup();
      lookup.failing.add('subsets:test');
      const res = await review(withSubsets(), lookup);
      expect(res.allowed).toBe(true);
      expect(res.warnings).toEqual([
        'could not check the DestinationRules defining subsets primary and canary of podinfo (forbidden); the rollout waits if one is missing',
      ]);
    });

    it('does not look for DestinationRules while the VirtualService does not exist yet', async () => {
      const lookup = subsetLookup();
      lookup.routes.clear();
      lookup.subsetMap.set(NS, []);
      const res = await review(withSubsets(), lookup);
      expect(res.allowed).toBe(true);
      expect(lookup.calls.some((c) => c.startsWith('subsets:'))).toBe(false);
    });
  });

  describe('a Rollout naming an HTTPRoute', () => {
    const withRoute = (): RolloutObject => rollout({ spec: HTTP_ROUTE_SPEC });

    it('admits it when the HTTPRoute has both backendRefs', async () => {
      const lookup = seedLookup().add(httpRoute());
      expect(await review(withRoute(), lookup)).toEqual({ uid: expect.any(String), allowed: true });
      expect(lookup.calls).toContain('httproute:test/podinfo');
    });

    it('refuses naming both a VirtualService and an HTTPRoute, naming the field', async () => {
      const both = rollout({ spec: { httpRoute: { name: 'podinfo', weight: 10 } } });
      const res = await review(both, seedLookup().add(httpRoute()));
      expect(res.allowed).toBe(false);
      expect(res.status?.details?.causes).toEqual([
        {
          field: 'spec.httpRoute',
          message: 'only one of spec.virtualService and spec.httpRoute may be set',
          reason: 'FieldValueInvalid',
        },
      ]);
    });

    it("refuses an HTTPRoute without the canary backendRef, with the router's message", async () => {
      const res = await review(withRoute(), seedLookup().add(httpRoute('podinfo', ['podinfo'])));
      expect(res.status?.message).toBe(
        'Rollout test/podinfo cannot shift traffic with HTTPRoute test/podinfo: HTTPRoute podinfo.test has no backendRef to podinfo-canary',
      );
    });

    it('refuses weights Gateway API would reject', async () => {
      const res = await review(
        withRoute(),
        seedLookup().add(httpRoute('podinfo', undefined, [100, 2_000_000])),
      );
      expect(res.status?.message).toContain(
        'spec.rules[0].backendRefs[1] (podinfo-canary): weight 2000000 is outside 0 to 1,000,000',
      );
    });

    it('admits with a warning an HTTPRoute that does not exist yet', async () => {
      const res = await review(withRoute(), seedLookup());
      expect(res.warnings).toEqual([
        'HTTPRoute test/podinfo does not exist yet; the rollout waits for it',
      ]);
    });

    describe('a backendRef into another namespace', () => {
      const crossRollout = (): RolloutObject =>
        rollout({
          spec: { ...HTTP_ROUTE_SPEC, primary: { name: 'podinfo', host: 'podinfo.shared' } },
        });
      const crossLookup = (): StaticLookup => {
        const r = httpRoute();
        const [rule] = r.spec.rules ?? [];
        const [primaryRef] = rule?.backendRefs ?? [];
        if (primaryRef) primaryRef.namespace = 'shared';
        const l = seedLookup().add(r);
        l.add({ ...service('podinfo'), metadata: { name: 'podinfo', namespace: 'shared' } });
        return l;
      };
      const grant = (from = 'test'): unknown => ({
        metadata: { name: 'allow', namespace: 'shared' },
        spec: {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: from }],
          to: [{ group: '', kind: 'Service' }],
        },
      });

      it('refuses it when no ReferenceGrant there permits it, naming the field and the namespace', async () => {
        const lookup = crossLookup();
        lookup.grantMap.set('shared', [grant('other')]);
        const res = await review(crossRollout(), lookup);
        expect(res.allowed).toBe(false);
        expect(res.status?.message).toBe(
          'Rollout test/podinfo cannot shift traffic with HTTPRoute test/podinfo spec.rules[0].backendRefs[0] names Service shared/podinfo, and no ReferenceGrant in namespace shared allows HTTPRoutes of test to use it: the Gateway would answer 500 for that share of traffic. Create the ReferenceGrant first (docs/reference.md, "HTTPRoute")',
        );
        expect(lookup.calls).toContain('grants:HTTPRoute:shared');
      });

      it('admits it with a ReferenceGrant', async () => {
        const lookup = crossLookup();
        lookup.grantMap.set('shared', [grant()]);
        expect((await review(crossRollout(), lookup)).allowed).toBe(true);
      });

      it('admits it with a warning when the grants cannot be read', async () => {
        const lookup = crossLookup();
        lookup.failing.add('grants:shared');
        const res = await review(crossRollout(), lookup);
        expect(res.allowed).toBe(true);
        expect(res.warnings).toEqual([
          'could not check the ReferenceGrants of namespace shared for HTTPRoute test/podinfo spec.rules[0].backendRefs[0] (forbidden); without one the Gateway refuses that backendRef',
        ]);
      });
    });
  });

  it('skips UPDATEs that leave the spec alone (metadata, finalizers)', async () => {
    const lookup = seedLookup();
    const labelled = { ...rollout(), metadata: { ...rollout().metadata, labels: { team: 'a' } } };
    expect(await review(labelled, lookup, 'UPDATE', rollout())).toEqual({
      uid: expect.any(String),
      allowed: true,
    });
    expect(lookup.calls).toEqual([]);
  });

  it('checks a manual request annotation even when the spec is unchanged', async () => {
    const lookup = seedLookup();
    const withRequest = (value: string): RolloutObject => {
      const r = rollout();
      r.metadata.annotations = { 'steerer.io/request': value };
      return r;
    };
    for (const value of ['promote', 'promote-force', 'abort', 'retry', 'pause', 'resume']) {
      expect((await review(withRequest(value), lookup, 'UPDATE', rollout())).allowed).toBe(true);
    }
    const res = await review(withRequest('rollback'), lookup, 'UPDATE', rollout());
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('metadata.annotations[steerer.io/request]');
    expect(res.status?.message).toContain(
      'use one of promote, promote-force, abort, retry, pause, resume',
    );
    expect(res.status?.details?.causes?.[0]?.field).toBe(
      'metadata.annotations[steerer.io/request]',
    );
    expect(lookup.calls).toEqual([]);
  });

  it('skips a Rollout being deleted', async () => {
    const deleting = {
      ...rollout({ spec: { targetKind: 'bad' } }),
      metadata: { name: 'podinfo', namespace: NS, deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    expect((await review(deleting, seedLookup(), 'UPDATE', rollout())).allowed).toBe(true);
  });

  it('allows DELETE without looking', () => {
    const parsed = parseAdmissionReview(
      admissionReview({ kind: KINDS.rollout, operation: 'DELETE', oldObject: rollout() }),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(validateRollout(parsed.request, undefined).response.allowed).toBe(true);
  });
});
