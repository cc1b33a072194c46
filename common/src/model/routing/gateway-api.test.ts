import { describe, expect, it } from '@jest/globals';
import jsonpatch from 'jsonpatch';
import {
  backendWeightPatch,
  checkRules,
  crossNamespaceRefs,
  gatewayHTTPRoute,
  grantPermits,
  httpRouteView,
  referenceGrants,
  sharesOf,
} from './gateway-api.js';
import type { HTTPBackendRef, HTTPRouteObject, HTTPRouteRule, RuleCheck } from './gateway-api.js';
import { ROUTERS, routerFor } from './index.js';
import type { RouteHosts } from './router.js';

const HOSTS: RouteHosts = { primary: 'podinfo', canary: 'podinfo-canary', namespace: 'test' };

function ref(name: string, weight?: number, extra: Partial<HTTPBackendRef> = {}): HTTPBackendRef {
  return { name, port: 9898, ...(weight === undefined ? {} : { weight }), ...extra };
}

/** An HTTPRoute attached to a Gateway, with the given rules (the README's example by default). */
function route(
  rules: HTTPRouteRule[] = [{ backendRefs: [ref('podinfo', 100), ref('podinfo-canary', 0)] }],
): HTTPRouteObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'podinfo', namespace: 'test', resourceVersion: '7', generation: 3 },
    spec: {
      parentRefs: [{ name: 'public', namespace: 'gateways', sectionName: 'http' }],
      hostnames: ['app.example.com'],
      rules,
    },
  };
}

function ok(check: RuleCheck): Extract<RuleCheck, { ok: true }> {
  if (!check.ok) throw new Error(`expected ok, got: ${check.message}`);
  return check;
}

function failure(check: RuleCheck): string {
  if (check.ok) throw new Error('expected a failure');
  return check.message;
}

function rulesOf(r: HTTPRouteObject): HTTPRouteRule[] {
  return r.spec.rules ?? [];
}

function refsOf(r: HTTPRouteObject, i: number): HTTPBackendRef[] {
  return rulesOf(r)[i]?.backendRefs ?? [];
}

/** Sets a weight in a copy-safe way (no non-null assertions). */
function setWeight(r: HTTPRouteObject, rule: number, i: number, weight: number): void {
  const b = refsOf(r, rule)[i];
  if (!b) throw new Error(`no backendRef ${rule}/${i}`);
  b.weight = weight;
}

describe('the HTTPRoute router', () => {
  it('is registered after the VirtualService router, under its own spec field', () => {
    expect(ROUTERS.map((r) => [r.kind, r.specField])).toEqual([
      ['VirtualService', 'virtualService'],
      ['HTTPRoute', 'httpRoute'],
    ]);
    expect(routerFor('HTTPRoute')).toBe(gatewayHTTPRoute);
    expect(gatewayHTTPRoute).toMatchObject({
      group: 'gateway.networking.k8s.io',
      versions: ['v1', 'v1beta1'],
      resource: 'httproutes',
    });
  });
});

describe('sharesOf', () => {
  it.each([
    [100, 0, 100, 0],
    [90, 10, 90, 10],
    [1, 1, 50, 50],
    [1, 2, 33, 67],
    [900_000, 100_000, 90, 10],
    [0, 5, 0, 100],
    [0, 0, 0, 0],
    [1_000_000, 1, 100, 0],
  ])('%d/%d → %d/%d percent', (p, c, wp, wc) => {
    expect(sharesOf(p, c)).toEqual({ primary: wp, canary: wc });
  });
});

describe('checkRules', () => {
  it('finds the split rule and its weights', () => {
    expect(checkRules(route(), HOSTS)).toEqual({
      ok: true,
      rules: [{ index: 0, primaryIndex: 0, canaryIndex: 1 }],
      weights: { primary: 100, canary: 0 },
      consistent: true,
    });
  });

  it('reads relative weights as percent shares', () => {
    const r = route([{ backendRefs: [ref('podinfo', 3), ref('podinfo-canary', 1)] }]);
    expect(ok(checkRules(r, HOSTS)).weights).toEqual({ primary: 75, canary: 25 });
  });

  it("gives a backendRef without a weight Gateway API's default of 1, not Istio's 0", () => {
    const r = route([{ backendRefs: [ref('podinfo'), ref('podinfo-canary')] }]);
    expect(ok(checkRules(r, HOSTS)).weights).toEqual({ primary: 50, canary: 50 });
    const one = route([{ backendRefs: [ref('podinfo', 0), ref('podinfo-canary')] }]);
    expect(ok(checkRules(one, HOSTS)).weights).toEqual({ primary: 0, canary: 100 });
  });

  it('finds the canary in either position', () => {
    const r = route([{ backendRefs: [ref('podinfo-canary', 30), ref('podinfo', 70)] }]);
    expect(ok(checkRules(r, HOSTS))).toMatchObject({
      rules: [{ index: 0, primaryIndex: 1, canaryIndex: 0 }],
      weights: { primary: 70, canary: 30 },
    });
  });

  it.each([
    ['short', 'podinfo', 'podinfo-canary'],
    ['name.ns', 'podinfo.test', 'podinfo-canary.test'],
    ['FQDN', 'podinfo.test.svc.cluster.local', 'podinfo-canary.test.svc.cluster.local'],
  ])('matches backendRefs against hosts written %s', (_form, p, c) => {
    expect(
      ok(checkRules(route(), { primary: p, canary: c, namespace: 'test' })).rules,
    ).toHaveLength(1);
  });

  it("defaults a backendRef's namespace to the route's, its kind to Service and its group to core", () => {
    const r = route([
      {
        backendRefs: [
          ref('podinfo', 90, { kind: 'Service', group: '', namespace: 'test' }),
          ref('podinfo-canary', 10),
        ],
      },
    ]);
    expect(ok(checkRules(r, HOSTS)).weights).toEqual({ primary: 90, canary: 10 });
  });

  it('does not take a backendRef of another kind or group for the Service', () => {
    const r = route([
      {
        backendRefs: [
          ref('podinfo', 90, { kind: 'ServiceImport', group: 'multicluster.x-k8s.io' }),
          ref('podinfo-canary', 10),
        ],
      },
    ]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      'HTTPRoute podinfo.test has no backendRef to podinfo',
    );
    const third = route([
      {
        backendRefs: [
          ref('podinfo', 90),
          ref('podinfo-canary', 10),
          ref('podinfo', 1, { kind: 'ServiceImport', group: 'multicluster.x-k8s.io' }),
        ],
      },
    ]);
    expect(failure(checkRules(third, HOSTS))).toBe(
      'HTTPRoute podinfo.test spec.rules[0].backendRefs also sends traffic to multicluster.x-k8s.io/ServiceImport podinfo; the rule must have only the podinfo and podinfo-canary backendRefs',
    );
  });

  it('does not confuse a Service of the same name in another namespace', () => {
    const r = route([
      { backendRefs: [ref('podinfo', 100), ref('podinfo-canary', 0, { namespace: 'prod' })] },
    ]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      'HTTPRoute podinfo.test has no backendRef to podinfo-canary',
    );
    const routeOnly = route([{ backendRefs: [ref('podinfo', 100)] }]);
    expect(failure(checkRules(routeOnly, HOSTS))).toBe(
      'HTTPRoute podinfo.test has no backendRef to podinfo-canary',
    );
  });

  it('follows a host in another namespace to a backendRef with that namespace', () => {
    const r = route([
      { backendRefs: [ref('podinfo', 80, { namespace: 'prod' }), ref('podinfo-canary', 20)] },
    ]);
    const hosts = { ...HOSTS, primary: 'podinfo.prod' };
    expect(ok(checkRules(r, hosts)).weights).toEqual({ primary: 80, canary: 20 });
  });

  it('names both Services when no rule routes to them', () => {
    const r = route([{ backendRefs: [ref('other', 1)] }]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      'HTTPRoute podinfo.test has no backendRef to podinfo and podinfo-canary',
    );
  });

  it('refuses Services that are only split across different rules', () => {
    const r = route([
      { matches: [{ headers: [{ name: 'x', value: '1' }] }], backendRefs: [ref('podinfo-canary')] },
      { backendRefs: [ref('podinfo')] },
    ]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      'HTTPRoute podinfo.test has no single rule with both podinfo and podinfo-canary as backendRefs',
    );
  });

  it('refuses a route without rules', () => {
    expect(failure(checkRules(route([]), HOSTS))).toBe('HTTPRoute podinfo.test has no rules');
    const none = route();
    delete none.spec.rules;
    expect(failure(checkRules(none, HOSTS))).toBe('HTTPRoute podinfo.test has no rules');
  });

  it('refuses a split rule with a third backend', () => {
    const r = route([
      { backendRefs: [ref('podinfo', 80), ref('podinfo-canary', 10), ref('legacy', 10)] },
    ]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      'HTTPRoute podinfo.test spec.rules[0].backendRefs also sends traffic to test/legacy; the rule must have only the podinfo and podinfo-canary backendRefs',
    );
  });

  it('refuses a split rule naming the primary twice', () => {
    const r = route([
      {
        backendRefs: [ref('podinfo', 50), ref('podinfo', 50, { port: 80 }), ref('podinfo-canary')],
      },
    ]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      'HTTPRoute podinfo.test spec.rules[0].backendRefs has 3 backendRefs; the rule must have exactly one podinfo and one podinfo-canary backendRef',
    );
  });

  it.each([
    [-1, 'weight -1 is outside 0 to 1,000,000'],
    [1_000_001, 'weight 1000001 is outside 0 to 1,000,000'],
    [2.5, 'weight 2.5 is not a whole number'],
    ['10', 'weight "10" is not a whole number'],
  ])('names a weight Gateway API would reject: %p', (weight, message) => {
    const r = route([{ backendRefs: [ref('podinfo', 100), { ...ref('podinfo-canary'), weight }] }]);
    expect(failure(checkRules(r, HOSTS))).toBe(
      `HTTPRoute podinfo.test spec.rules[0].backendRefs[1] (podinfo-canary): ${message}`,
    );
  });

  it('refuses primary and canary hosts that name the same Service', () => {
    expect(
      failure(checkRules(route(), { ...HOSTS, canary: 'podinfo.test.svc.cluster.local' })),
    ).toBe(
      'the primary host podinfo and the canary host podinfo.test.svc.cluster.local name the same Service test/podinfo',
    );
  });

  it('finds every split rule and leaves other rules alone', () => {
    const r = route([
      {
        matches: [{ headers: [{ name: 'canary', value: 'always' }] }],
        backendRefs: [ref('podinfo-canary')],
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
        backendRefs: [ref('podinfo', 80), ref('podinfo-canary', 20)],
      },
      { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }] },
      { backendRefs: [ref('podinfo-canary', 2), ref('podinfo', 8)] },
    ]);
    expect(ok(checkRules(r, HOSTS))).toEqual({
      ok: true,
      rules: [
        { index: 1, primaryIndex: 0, canaryIndex: 1 },
        { index: 3, primaryIndex: 1, canaryIndex: 0 },
      ],
      weights: { primary: 80, canary: 20 },
      consistent: true,
    });
  });

  it('flags split rules whose shares disagree, reporting the first', () => {
    const r = route([
      { backendRefs: [ref('podinfo', 80), ref('podinfo-canary', 20)] },
      { backendRefs: [ref('podinfo', 100), ref('podinfo-canary', 0)] },
    ]);
    expect(ok(checkRules(r, HOSTS))).toMatchObject({
      weights: { primary: 80, canary: 20 },
      consistent: false,
    });
  });

  it('reads malformed rules and backendRefs as matching nothing, without throwing', () => {
    for (const spec of [
      { rules: 'x' },
      { rules: [null, 5, { backendRefs: 'x' }] },
      { rules: [{ backendRefs: [null, { name: 5 }, { weight: 1 }] }] },
      null,
    ]) {
      const state = gatewayHTTPRoute.read({ metadata: { name: 'r' }, spec }, HOSTS);
      expect(state.ok).toBe(false);
    }
    expect(gatewayHTTPRoute.read('nonsense', HOSTS)).toEqual({
      ok: false,
      message: 'HTTPRoute .test has no rules',
    });
  });
});

describe('backendWeightPatch', () => {
  function split(r: HTTPRouteObject): ReturnType<typeof ok>['rules'] {
    return ok(checkRules(r, HOSTS)).rules;
  }

  it('replaces both weights, guarded by tests of both backendRefs’ names', () => {
    const r = route();
    expect(backendWeightPatch(r, split(r), { primary: 90, canary: 10 })).toEqual([
      { op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'podinfo' },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'podinfo-canary' },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
    ]);
  });

  it('is empty when the weights already match', () => {
    const r = route();
    expect(backendWeightPatch(r, split(r), { primary: 100, canary: 0 })).toEqual([]);
  });

  it('adds an absent weight (which meant 1) and writes percents over relative weights', () => {
    const r = route([{ backendRefs: [ref('podinfo', 900), ref('podinfo-canary')] }]);
    expect(backendWeightPatch(r, split(r), { primary: 90, canary: 10 })).toEqual([
      { op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'podinfo' },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'podinfo-canary' },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'add', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
    ]);
  });

  describe('applied with an RFC 6902 implementation', () => {
    const many = (): HTTPRouteObject =>
      route([
        {
          name: 'canary-header',
          matches: [{ headers: [{ name: 'canary', value: 'always' }] }],
          backendRefs: [ref('podinfo-canary')],
          timeouts: { request: '5s' },
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: { add: [{ name: 'x', value: 'y' }] },
            },
          ],
          backendRefs: [ref('podinfo', 100), ref('podinfo-canary', 0)],
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
          backendRefs: [ref('podinfo')],
        },
        {
          backendRefs: [
            ref('podinfo-canary', 0, { filters: [{ type: 'RequestMirror' }] }),
            ref('podinfo', 100, { namespace: 'test', kind: 'Service' }),
          ],
        },
      ]);

    it('sets every split rule and changes nothing else', () => {
      const r = many();
      const before = structuredClone(r);
      const ops = gatewayHTTPRoute.patch(r, HOSTS, { primary: 70, canary: 30 });
      const patched = jsonpatch.apply_patch(r, ops);
      expect(r).toEqual(before);
      const want = structuredClone(before);
      setWeight(want, 1, 0, 70);
      setWeight(want, 1, 1, 30);
      setWeight(want, 3, 0, 30);
      setWeight(want, 3, 1, 70);
      expect(patched).toEqual(want);
      expect(gatewayHTTPRoute.read(patched, HOSTS)).toEqual({
        ok: true,
        weights: { primary: 70, canary: 30 },
        consistent: true,
        splits: 2,
      });
      expect(gatewayHTTPRoute.patch(patched, HOSTS, { primary: 70, canary: 30 })).toEqual([]);
    });

    it('fails when the rules were reordered since the patch was computed', () => {
      const r = many();
      const ops = gatewayHTTPRoute.patch(r, HOSTS, { primary: 70, canary: 30 });
      const reordered = structuredClone(r);
      reordered.spec.rules = [...rulesOf(r)].reverse();
      expect(() => jsonpatch.apply_patch(reordered, ops)).toThrow(jsonpatch.PatchApplyError);
    });

    it('fails when a split rule swapped its backendRefs', () => {
      const ops = gatewayHTTPRoute.patch(route(), HOSTS, { primary: 90, canary: 10 });
      const swapped = route([{ backendRefs: [ref('podinfo-canary', 0), ref('podinfo', 100)] }]);
      expect(() => jsonpatch.apply_patch(swapped, ops)).toThrow('Test operation failed');
    });

    it('still applies when only parentRefs, hostnames or timeouts changed', () => {
      const ops = gatewayHTTPRoute.patch(route(), HOSTS, { primary: 90, canary: 10 });
      const edited = route();
      edited.spec.hostnames = ['other.example.com'];
      edited.spec.parentRefs = [{ name: 'internal' }];
      const [rule] = rulesOf(edited);
      if (rule) rule.timeouts = { request: '3s' };
      const patched = jsonpatch.apply_patch(edited, ops);
      expect(patched.spec.hostnames).toEqual(['other.example.com']);
      expect(gatewayHTTPRoute.read(patched, HOSTS)).toMatchObject({
        weights: { primary: 90, canary: 10 },
      });
    });
  });
});

describe('keepWeights', () => {
  const at = (p: number, c: number): HTTPRouteObject =>
    route([{ backendRefs: [ref('podinfo', p), ref('podinfo-canary', c)] }]);

  it("puts Steerer's weights back into an update that resets them", () => {
    const ops = gatewayHTTPRoute.keepWeights(at(90, 10), at(100, 0), HOSTS);
    expect(ops).toEqual([
      { op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'podinfo' },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'podinfo-canary' },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
    ]);
  });

  it('keeps the rest of the update (a new hostname, a new rule)', () => {
    const after = at(100, 0);
    after.spec.hostnames = ['new.example.com'];
    rulesOf(after).push({ backendRefs: [ref('podinfo', 1), ref('podinfo-canary', 1)] });
    const patched = jsonpatch.apply_patch(
      after,
      gatewayHTTPRoute.keepWeights(at(90, 10), after, HOSTS),
    );
    expect(patched.spec.hostnames).toEqual(['new.example.com']);
    expect(gatewayHTTPRoute.read(patched, HOSTS)).toMatchObject({
      weights: { primary: 90, canary: 10 },
      consistent: true,
      splits: 2,
    });
  });

  it('leaves an update alone that keeps the shares, or that does not split', () => {
    expect(gatewayHTTPRoute.keepWeights(at(90, 10), at(90, 10), HOSTS)).toEqual([]);
    expect(gatewayHTTPRoute.keepWeights(at(90, 10), at(900, 100), HOSTS)).toEqual([]);
    const dropped = route([{ backendRefs: [ref('podinfo', 1)] }]);
    expect(gatewayHTTPRoute.keepWeights(at(90, 10), dropped, HOSTS)).toEqual([]);
    expect(gatewayHTTPRoute.keepWeights(dropped, at(100, 0), HOSTS)).toEqual([]);
  });

  it('does not pick a side when the route already disagreed with itself', () => {
    const mixed = route([
      { backendRefs: [ref('podinfo', 80), ref('podinfo-canary', 20)] },
      { backendRefs: [ref('podinfo', 100), ref('podinfo-canary', 0)] },
    ]);
    expect(gatewayHTTPRoute.keepWeights(mixed, at(100, 0), HOSTS)).toEqual([]);
  });
});

describe('cross-namespace backendRefs', () => {
  const cross = (): HTTPRouteObject =>
    route([
      { backendRefs: [ref('podinfo', 100, { namespace: 'prod' }), ref('podinfo-canary', 0)] },
    ]);
  const hosts = { ...HOSTS, primary: 'podinfo.prod' };
  const needed = {
    fromNamespace: 'test',
    namespace: 'prod',
    name: 'podinfo',
    field: 'spec.rules[0].backendRefs[0]',
  };

  function grant(to: Record<string, unknown>, from: Record<string, unknown> = {}): unknown {
    return {
      metadata: { name: 'g', namespace: 'prod' },
      spec: {
        from: [
          { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'test', ...from },
        ],
        to: [{ group: '', kind: 'Service', ...to }],
      },
    };
  }

  it('lists the split’s references into other namespaces, once each', () => {
    expect(crossNamespaceRefs(cross(), hosts)).toEqual([needed]);
    expect(referenceGrants.needed(cross(), hosts)).toEqual([needed]);
    expect(crossNamespaceRefs(route(), HOSTS)).toEqual([]);
  });

  it.each<[string, unknown, boolean]>([
    ['a grant for every Service', grant({}), true],
    ['a grant for that Service', grant({ name: 'podinfo' }), true],
    ['a grant for another Service', grant({ name: 'other' }), false],
    ['a grant to HTTPRoutes of another namespace', grant({}, { namespace: 'dev' }), false],
    ['a grant to GRPCRoutes', grant({}, { kind: 'GRPCRoute' }), false],
    [
      'a grant in another namespace',
      { ...(grant({}) as object), metadata: { namespace: 'x' } },
      false,
    ],
    ['nonsense', 'x', false],
  ])('%s: permitted %s', (_what, g, want) => {
    expect(grantPermits(g, needed)).toBe(want);
    expect(referenceGrants.permits([g], needed)).toBe(want);
  });

  it("stalls on the Gateway's RefNotPermitted for the current generation, naming the field", () => {
    const refused = cross();
    refused.status = {
      parents: [
        {
          parentRef: { name: 'public' },
          conditions: [
            {
              type: 'ResolvedRefs',
              status: 'False',
              reason: 'RefNotPermitted',
              message: 'backendRef podinfo/prod not permitted',
              observedGeneration: 3,
            },
          ],
        },
      ],
    };
    expect(gatewayHTTPRoute.read(refused, hosts)).toEqual({
      ok: false,
      message:
        'HTTPRoute podinfo.test spec.rules[0].backendRefs[0] names Service prod/podinfo in another namespace, and the Gateway refuses it (backendRef podinfo/prod not permitted); a ReferenceGrant in namespace prod must allow HTTPRoutes of test to use it',
    });
    // A condition about an older generation is stale.
    refused.metadata.generation = 4;
    expect(gatewayHTTPRoute.read(refused, hosts).ok).toBe(true);
  });
});

describe('httpRouteView', () => {
  it('keeps unknown fields and positions, and takes the namespace given when the object has none', () => {
    const raw = {
      metadata: { name: 'r', annotations: { a: 'b', n: 5 } },
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [{ backendRefs: [{ name: 'x', weight: 2, extra: true }] }, 'bad'],
      },
    };
    const v = httpRouteView(raw, 'ns');
    expect(v.metadata).toEqual({ name: 'r', namespace: 'ns', annotations: { a: 'b' } });
    expect(v.spec.parentRefs).toEqual([{ name: 'gw' }]);
    expect(v.spec.rules).toEqual([
      { backendRefs: [{ name: 'x', weight: 2, extra: true }] },
      { backendRefs: [] },
    ]);
  });
});
