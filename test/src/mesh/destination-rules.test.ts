import { describe, expect, it } from '@jest/globals';
import {
  describeDestination,
  findSubset,
  indexDestinationRules,
  parseDestinationRule,
} from './destination-rules.js';
import { IstioMetrics } from './istio-metrics.js';
import type { DestinationRule } from './model.js';
import { buildRoutingTable, decide, serviceKeyForHost, type RouteDecision } from './routing.js';
import { Sequencer } from './sequence.js';
import { constantDraw, deploy, rawDestinationRule, request, svc, vs } from './test-objects.js';

function rule(...a: Parameters<typeof rawDestinationRule>): DestinationRule {
  const parsed = parseDestinationRule(rawDestinationRule(...a));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

const SUBSETS = [
  { name: 'primary', labels: { version: 'primary' } },
  { name: 'canary', labels: { version: 'canary' } },
];

/** The e2e's setup: one Service selecting both Deployments, subsets by a version label. */
function subsetTable(
  weights: [number, number],
  o: { rules?: DestinationRule[]; canaryReady?: number } = {},
) {
  return buildRoutingTable({
    virtualServices: [
      vs({
        destinations: [
          { host: 'podinfo', subset: 'primary', weight: weights[0] },
          { host: 'podinfo', subset: 'canary', weight: weights[1] },
        ],
      }),
    ],
    services: [svc('podinfo', { selector: { app: 'podinfo' } })],
    deployments: [
      deploy('podinfo', { labels: { app: 'podinfo', version: 'primary' }, readyReplicas: 2 }),
      deploy('podinfo-canary', {
        labels: { app: 'podinfo', version: 'canary' },
        readyReplicas: o.canaryReady ?? 1,
      }),
    ],
    destinationRules: o.rules ?? [rule('podinfo', SUBSETS)],
  });
}

const workloadOf = (d: RouteDecision): string =>
  d.kind === 'upstream' ? d.workload.name : `${d.kind}${'flag' in d ? `:${d.flag}` : ''}`;

describe('parseDestinationRule', () => {
  it('reads the host and each subset with its labels', () => {
    expect(rule('podinfo', SUBSETS)).toMatchObject({
      namespace: 'test',
      name: 'podinfo',
      host: 'podinfo',
      subsets: SUBSETS,
    });
    expect(rule('podinfo', [{ name: 'all' }]).subsets).toEqual([{ name: 'all', labels: {} }]);
  });

  it.each<[string, unknown, string]>([
    ['no host', { metadata: { name: 'x' }, spec: {} }, 'spec.host: required'],
    [
      'a subset without a name',
      { metadata: { name: 'x' }, spec: { host: 'a', subsets: [{ labels: {} }] } },
      'spec.subsets[0].name: required',
    ],
    [
      'two subsets of one name',
      { metadata: { name: 'x' }, spec: { host: 'a', subsets: [{ name: 'v' }, { name: 'v' }] } },
      'spec.subsets[1].name: duplicate subset v',
    ],
  ])('refuses %s, as Istio would', (_what, raw, error) => {
    expect(parseDestinationRule(raw)).toMatchObject({ ok: false, error });
  });
});

describe('indexDestinationRules and findSubset', () => {
  it('indexes rules by the Service their host names, and lets the oldest define a subset', () => {
    const index = indexDestinationRules(
      [
        rule('podinfo', [{ name: 'canary', labels: { v: 'new' } }], {
          name: 'new',
          created: '2026-02-01T00:00:00Z',
        }),
        rule('podinfo.test.svc.cluster.local', [{ name: 'canary', labels: { v: 'old' } }], {
          name: 'old',
          created: '2026-01-01T00:00:00Z',
        }),
        rule('api.example.com', [{ name: 'x' }]),
      ],
      serviceKeyForHost,
    );
    expect([...index.keys()]).toEqual(['test/podinfo']);
    expect(findSubset(index.get('test/podinfo'), 'canary')?.labels).toEqual({ v: 'old' });
    expect(findSubset(index.get('test/podinfo'), 'primary')).toBeUndefined();
    expect(findSubset(undefined, 'canary')).toBeUndefined();
  });

  it('describes a subset destination for logs', () => {
    expect(describeDestination({ host: 'podinfo', subset: 'canary', weight: 10 })).toBe(
      'podinfo/canary=10',
    );
    expect(describeDestination({ host: 'podinfo', weight: 90 })).toBe('podinfo=90');
  });
});

describe('routing to subsets', () => {
  it("sends each subset's share to the pods its labels select, by weight", () => {
    const table = subsetTable([90, 10]);
    const seq = new Sequencer();
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const w = workloadOf(decide(table, request('app.example.com'), (s) => seq.next(s)));
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ podinfo: 900, 'podinfo-canary': 100 });
  });

  it('answers 503 NC for a subset no DestinationRule defines, naming it', () => {
    const table = subsetTable([0, 100], { rules: [rule('podinfo', [SUBSETS[0] as never])] });
    const d = decide(table, request('app.example.com'), constantDraw(0));
    expect(d).toMatchObject({
      kind: 'unavailable',
      status: 503,
      flag: 'NC',
      reason: 'no DestinationRule for test/podinfo defines subset canary',
    });
    const none = subsetTable([100, 0], { rules: [] });
    expect(workloadOf(decide(none, request('app.example.com'), constantDraw(0)))).toBe(
      'unavailable:NC',
    );
  });

  it('answers 503 UH when the subset selects no pods, or none is ready', () => {
    const wrong = subsetTable([0, 100], {
      rules: [
        rule('podinfo', [SUBSETS[0] as never, { name: 'canary', labels: { version: 'v9' } }]),
      ],
    });
    expect(decide(wrong, request('app.example.com'), constantDraw(0))).toMatchObject({
      kind: 'unavailable',
      flag: 'UH',
      reason: 'no workload selected by test/podinfo subset canary',
    });
    const down = subsetTable([0, 100], { canaryReady: 0 });
    expect(decide(down, request('app.example.com'), constantDraw(0))).toMatchObject({
      kind: 'unavailable',
      flag: 'UH',
      workload: { name: 'podinfo-canary' },
    });
  });

  it("exports the subset's Deployment as destination_workload, the Service as the service", () => {
    const m = new IstioMetrics({ sourceReporter: false });
    const d = decide(subsetTable([0, 100]), request('app.example.com'), constantDraw(0));
    m.record({ decision: d, code: 200, flags: '-', durationMs: 1 });
    const out: string[] = [];
    m.render(out);
    const line = out
      .join('\n')
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{'));
    for (const label of [
      'reporter="destination"',
      'destination_workload="podinfo-canary"',
      'destination_workload_namespace="test"',
      'destination_version="canary"',
      'destination_service_name="podinfo"',
      'response_code="200"',
    ]) {
      expect(line).toContain(label);
    }
  });
});
