import { describe, expect, it } from '@jest/globals';
import {
  destinationRuleSubsets,
  destinationRuleView,
  findSubset,
  rulesForService,
  serviceOfRule,
  subsetProblems,
} from './destination-rule.js';
import type { SubsetSide } from './router.js';

const NS = 'test';
const PRIMARY_PODS = { app: 'podinfo', version: 'primary' };
const CANARY_PODS = { app: 'podinfo', version: 'canary' };

function rule(
  name: string,
  host: string,
  subsets: unknown[],
  extra: { namespace?: string; created?: string } = {},
): unknown {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: {
      name,
      namespace: extra.namespace ?? NS,
      ...(extra.created ? { creationTimestamp: extra.created } : {}),
    },
    spec: { host, subsets },
  };
}

/** The e2e's DestinationRule: subsets by a version label. */
const SEED_RULE = rule('podinfo', 'podinfo', [
  { name: 'primary', labels: { version: 'primary' } },
  { name: 'canary', labels: { version: 'canary' } },
]);

function sides(over: { primary?: Partial<SubsetSide>; canary?: Partial<SubsetSide> } = {}) {
  const primary: SubsetSide = {
    role: 'primary',
    host: 'podinfo',
    subset: 'primary',
    deployment: 'podinfo',
    podLabels: PRIMARY_PODS,
    serviceSelector: { app: 'podinfo' },
    ...over.primary,
  };
  const canary: SubsetSide = {
    role: 'canary',
    host: 'podinfo',
    subset: 'canary',
    deployment: 'podinfo-canary',
    podLabels: CANARY_PODS,
    serviceSelector: { app: 'podinfo' },
    ...over.canary,
  };
  return [primary, canary];
}

const messages = (objects: unknown[], s = sides()): string[] =>
  subsetProblems(NS, objects, s).map((p) => `${p.kind}: ${p.message}`);

describe('destinationRuleView', () => {
  it('reads name, namespace, host and subsets, skipping malformed subsets', () => {
    const view = destinationRuleView(
      rule('podinfo', 'podinfo', [
        { name: 'primary', labels: { version: 'primary', n: 1 } },
        'junk',
        { labels: { version: 'x' } },
        { name: 'all' },
      ]),
    );
    expect(view).toEqual({
      name: 'podinfo',
      namespace: NS,
      host: 'podinfo',
      creationTimestamp: '',
      subsets: [
        { name: 'primary', labels: { version: 'primary' }, rule: 'podinfo.test', index: 0 },
        { name: 'all', labels: {}, rule: 'podinfo.test', index: 3 },
      ],
    });
  });

  it('is undefined for anything without a name or a host', () => {
    for (const v of [
      undefined,
      null,
      3,
      {},
      { metadata: { name: 'x' } },
      { spec: { host: 'a' } },
    ]) {
      expect(destinationRuleView(v)).toBeUndefined();
    }
  });
});

describe('serviceOfRule', () => {
  it.each([
    ['podinfo', { namespace: NS, name: 'podinfo' }],
    ['podinfo.prod', { namespace: 'prod', name: 'podinfo' }],
    ['podinfo.prod.svc', { namespace: 'prod', name: 'podinfo' }],
    ['podinfo.prod.svc.cluster.local', { namespace: 'prod', name: 'podinfo' }],
    ['api.example.com', undefined],
    ['*.test.svc.cluster.local', undefined],
    ['podinfo.prod.svc.example.org', undefined],
    ['podinfo..svc', undefined],
  ])('%s', (host, want) => {
    expect(serviceOfRule({ host, namespace: NS })).toEqual(want);
  });
});

describe('rulesForService', () => {
  it("keeps the rules of the Service's namespace whose host names it, oldest first", () => {
    const objects = [
      rule('b', 'podinfo.test.svc.cluster.local', [], { created: '2026-01-02T00:00:00Z' }),
      rule('a', 'podinfo', [], { created: '2026-01-03T00:00:00Z' }),
      rule('c', 'podinfo', [], { created: '2026-01-01T00:00:00Z' }),
      rule('other-host', 'podinfo-canary', []),
      rule('elsewhere', 'podinfo.test', [], { namespace: 'prod' }),
    ];
    expect(rulesForService(objects, { namespace: NS, name: 'podinfo' }).map((r) => r.name)).toEqual(
      ['c', 'b', 'a'],
    );
  });

  it('lets the oldest rule define a subset that several define', () => {
    const rules = rulesForService(
      [
        rule('new', 'podinfo', [{ name: 'canary', labels: { v: 'new' } }], {
          created: '2026-01-02T00:00:00Z',
        }),
        rule('old', 'podinfo', [{ name: 'canary', labels: { v: 'old' } }], {
          created: '2026-01-01T00:00:00Z',
        }),
      ],
      { namespace: NS, name: 'podinfo' },
    );
    expect(findSubset(rules, 'canary')?.labels).toEqual({ v: 'old' });
    expect(findSubset(rules, 'primary')).toBeUndefined();
  });
});

describe('subsetProblems', () => {
  it('passes subsets that each select their own pods only', () => {
    expect(messages([SEED_RULE])).toEqual([]);
  });

  it('names the host and both fields when no DestinationRule defines the subsets', () => {
    expect(messages([rule('other', 'podinfo-canary', [])])).toEqual([
      'missing: no DestinationRule in namespace test has host podinfo (Service podinfo.test) to define the subsets spec.primary.subset "primary" and spec.canary.subset "canary" name',
    ]);
  });

  it('names the DestinationRule, the field and what it defines when a subset is missing', () => {
    const only = rule('podinfo', 'podinfo', [{ name: 'primary', labels: { version: 'primary' } }]);
    expect(messages([only])).toEqual([
      'invalid: DestinationRule podinfo.test (host podinfo) spec.subsets has no subset "canary" (spec.canary.subset); it defines "primary"',
    ]);
    expect(messages([rule('podinfo', 'podinfo', [])])).toHaveLength(2);
    expect(messages([rule('podinfo', 'podinfo', [])])[0]).toMatch(/it defines none$/);
  });

  it("names a subset whose labels miss its own Deployment's pods", () => {
    const wrong = rule('podinfo', 'podinfo', [
      { name: 'primary', labels: { version: 'primary' } },
      { name: 'canary', labels: { version: 'v2' } },
    ]);
    expect(messages([wrong])).toEqual([
      `invalid: DestinationRule podinfo.test spec.subsets[1] (subset "canary", spec.canary.subset) labels version=v2 do not match the pod template labels of Deployment podinfo-canary.test: the canary's share of traffic would reach none of its pods`,
    ]);
  });

  it("names a subset whose labels select the other side's pods too, with the labels", () => {
    const loose = rule('podinfo', 'podinfo', [
      { name: 'primary', labels: { app: 'podinfo' } },
      { name: 'canary', labels: { version: 'canary' } },
    ]);
    expect(messages([loose])).toEqual([
      `invalid: DestinationRule podinfo.test spec.subsets[0] (subset "primary", spec.primary.subset) selects the canary's pods too: its labels app=podinfo match the pod template labels of Deployment podinfo-canary.test; part of the primary's traffic would reach the canary's pods, beyond the canary's weight. Give the two Deployments' pods a label that tells them apart and use it in the subsets`,
    ]);
  });

  it('names a subset without labels: it selects every pod of the Service', () => {
    const none = rule('podinfo', 'podinfo', [
      { name: 'primary', labels: { version: 'primary' } },
      { name: 'canary' },
    ]);
    const [m] = messages([none]);
    expect(m).toContain('(subset "canary", spec.canary.subset) selects the primary\'s pods too');
    expect(m).toContain('has no labels, so it selects every pod of the Service');
    expect(m).toContain("unseen by the canary's checks");
  });

  it("names a Service that does not select a side's pods: that subset has no endpoints", () => {
    const m = messages(
      [SEED_RULE],
      sides({ canary: { podLabels: { app: 'podinfo-canary', version: 'canary' } } }),
    );
    expect(m).toEqual([
      'invalid: Service podinfo.test (spec.canary.host) does not select the canary\'s pods: its selector app=podinfo does not match the pod template labels of Deployment podinfo-canary.test, so subset "canary" has no endpoints',
    ]);
  });

  it('checks only that the subsets exist while the Deployments are not there', () => {
    const unknown = sides({ primary: { podLabels: undefined }, canary: { podLabels: undefined } });
    expect(messages([SEED_RULE], unknown)).toEqual([]);
    expect(messages([rule('podinfo', 'podinfo', [{ name: 'primary' }])], unknown)).toHaveLength(1);
  });

  it('checks each host of subsets of two Services by its own rule', () => {
    const two = sides({
      primary: { host: 'podinfo', subset: 'v1' },
      canary: { host: 'podinfo-canary', subset: 'v1', serviceSelector: undefined },
    });
    expect(
      messages(
        [
          rule('podinfo', 'podinfo', [{ name: 'v1', labels: { version: 'primary' } }]),
          rule('podinfo-canary', 'podinfo-canary', [{ name: 'v1', labels: { version: 'canary' } }]),
        ],
        two,
      ),
    ).toEqual([]);
    expect(
      messages([rule('podinfo', 'podinfo', [{ name: 'v1', labels: { version: 'primary' } }])], two),
    ).toEqual([
      'missing: no DestinationRule in namespace test has host podinfo-canary (Service podinfo-canary.test) to define the subsets spec.canary.subset "v1" name',
    ]);
  });

  it('names objects the way the caller does', () => {
    const [p] = subsetProblems(NS, [], sides(), (n, ns) => `${ns}/${n}`);
    expect(p?.message).toContain('(Service test/podinfo)');
  });
});

describe('destinationRuleSubsets', () => {
  it('is the Istio DestinationRule kind, and finds the Service a rule defines subsets of', () => {
    expect(destinationRuleSubsets).toMatchObject({
      kind: 'DestinationRule',
      group: 'networking.istio.io',
      resource: 'destinationrules',
    });
    expect(destinationRuleSubsets.serviceOf(SEED_RULE)).toEqual({ namespace: NS, name: 'podinfo' });
    expect(destinationRuleSubsets.serviceOf({ metadata: {} })).toBeUndefined();
  });
});
