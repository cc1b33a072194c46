import { describe, expect, it } from '@jest/globals';
import {
  buildRoutingTable,
  decide,
  hostAliases,
  lookupHost,
  normaliseHost,
  pickWeighted,
  serviceKeyForHost,
  type RouteDecision,
} from './routing.js';
import { Sequencer } from './sequence.js';
import { constantDraw, deploy, request, seedTable, svc, vs } from './test-objects.js';

function workloadOf(d: RouteDecision): string {
  return d.kind === 'upstream' ? d.workload.name : d.kind;
}

describe('host lookup', () => {
  const table = buildRoutingTable({
    virtualServices: [
      vs({ name: 'podinfo', hosts: ['app.example.com', 'podinfo'] }),
      vs({ name: 'wild', hosts: ['*.example.com'] }),
      vs({ name: 'fq', namespace: 'other', hosts: ['backend.other.svc.cluster.local'] }),
    ],
    services: [],
    deployments: [],
  });

  it.each([
    ['app.example.com', 'test/podinfo'],
    ['APP.example.com:8080', 'test/podinfo'],
    ['app.example.com.', 'test/podinfo'],
    ['podinfo', 'test/podinfo'],
    ['podinfo.test', 'test/podinfo'],
    ['podinfo.test.svc', 'test/podinfo'],
    ['podinfo.test.svc.cluster.local', 'test/podinfo'],
    ['other.example.com', 'test/wild'],
    ['backend.other.svc.cluster.local', 'other/fq'],
    ['backend', 'other/fq'],
    ['backend.other', 'other/fq'],
  ])('%s → %s', (host, key) => {
    const found = lookupHost(table, host);
    expect(found && `${found.namespace}/${found.name}`).toBe(key);
  });

  it.each(['example.com', 'podinfo.other', 'nothing'])('%s has no VirtualService', (host) => {
    expect(lookupHost(table, host)).toBeUndefined();
  });

  it('prefers a literal host over an alias and older over newer on conflicts', () => {
    const older = vs({ name: 'older', namespace: 'a', hosts: ['podinfo.test.svc.cluster.local'] });
    const literal = vs({ name: 'literal', namespace: 'b', hosts: ['podinfo'] });
    const newer = {
      ...vs({ name: 'newer', namespace: 'c', hosts: ['app.example.com'] }),
      creationTimestamp: '2027-01-01T00:00:00Z',
    };
    const oldest = {
      ...vs({ name: 'oldest', namespace: 'd', hosts: ['app.example.com'] }),
      creationTimestamp: '2025-01-01T00:00:00Z',
    };
    const t = buildRoutingTable({
      virtualServices: [older, literal, newer, oldest],
      services: [],
      deployments: [],
    });
    expect(lookupHost(t, 'podinfo')?.name).toBe('literal');
    expect(lookupHost(t, 'podinfo.test')?.name).toBe('older');
    expect(lookupHost(t, 'app.example.com')?.name).toBe('oldest');
  });

  it('expands short hosts relative to the VirtualService namespace', () => {
    expect(hostAliases('podinfo', 'test').map((a) => a.host)).toEqual([
      'podinfo',
      'podinfo.test.svc.cluster.local',
      'podinfo.test.svc',
      'podinfo.test',
    ]);
    expect(hostAliases('app.example.com', 'test')).toEqual([{ host: 'app.example.com', tier: 0 }]);
  });

  it('normalises IPv6 hosts with ports', () => {
    expect(normaliseHost('[::1]:8080')).toBe('[::1]');
  });
});

describe('serviceKeyForHost', () => {
  it.each([
    ['podinfo', 'test/podinfo'],
    ['podinfo.other', 'other/podinfo'],
    ['podinfo.other.svc', 'other/podinfo'],
    ['podinfo.other.svc.cluster.local', 'other/podinfo'],
    ['www.google.com', undefined],
  ])('%s → %s', (host, key) => {
    expect(serviceKeyForHost(host, 'test')).toBe(key);
  });
});

describe('pickWeighted', () => {
  it('never picks a zero weight', () => {
    for (let r = 0; r < 1; r += 0.01) expect(pickWeighted([100, 0], r)).toBe(0);
    for (let r = 0; r < 1; r += 0.01) expect(pickWeighted([0, 100], r)).toBe(1);
  });

  it('splits by cumulative weight', () => {
    expect(pickWeighted([90, 10], 0.89)).toBe(0);
    expect(pickWeighted([90, 10], 0.9)).toBe(1);
    expect(pickWeighted([50, 0, 50], 0.6)).toBe(2);
  });
});

describe('decide', () => {
  it('routes the seed VirtualService to the primary at 100/0', () => {
    const d = decide(seedTable([100, 0]), request('app.example.com'), constantDraw(0.99));
    expect(d.kind).toBe('upstream');
    if (d.kind !== 'upstream') return;
    expect(d.workload.name).toBe('podinfo');
    expect(d.service.name).toBe('podinfo');
    expect(d.routeIndex).toBe(0);
  });

  it('splits 90/10 exactly with the golden-ratio sequence', () => {
    const table = seedTable([90, 10]);
    const seq = new Sequencer();
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const w = workloadOf(decide(table, request('app.example.com'), (s) => seq.next(s)));
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    expect(counts.get('podinfo-canary')).toBeGreaterThanOrEqual(99);
    expect(counts.get('podinfo-canary')).toBeLessThanOrEqual(101);
    // …and evenly: every window of 20 requests has one or two canary requests.
    const canaryIn20: number[] = [];
    const seq2 = new Sequencer();
    for (let w = 0; w < 20; w++) {
      let c = 0;
      for (let i = 0; i < 20; i++) {
        if (
          workloadOf(decide(table, request('app.example.com'), (s) => seq2.next(s))) ===
          'podinfo-canary'
        )
          c++;
      }
      canaryIn20.push(c);
    }
    expect(Math.min(...canaryIn20)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...canaryIn20)).toBeLessThanOrEqual(3);
  });

  it('answers no-route for unknown hosts and pins background requests to their VirtualService', () => {
    const table = seedTable();
    expect(decide(table, request('nope.example.com'), constantDraw(0)).kind).toBe('no-route');
    const pinned = decide(
      table,
      request('nope.example.com', '/', {}, { virtualService: 'test/podinfo' }),
      constantDraw(0),
    );
    expect(workloadOf(pinned)).toBe('podinfo');
  });

  it('treats an invalid VirtualService (excluded from the table) as not configured', () => {
    const table = buildRoutingTable({
      virtualServices: [],
      services: [svc('podinfo')],
      deployments: [deploy('podinfo')],
    });
    expect(decide(table, request('app.example.com'), constantDraw(0))).toEqual({
      kind: 'no-route',
      reason: 'no VirtualService or HTTPRoute for host app.example.com',
    });
  });

  it('takes the first http route whose match matches', () => {
    const table = buildRoutingTable({
      virtualServices: [
        vs({
          http: [
            {
              match: [
                { headers: { 'x-canary': { exact: 'insider' } } },
                { uri: { prefix: '/beta' } },
              ],
              route: [{ destination: { host: 'podinfo-canary' } }],
            },
            {
              match: [{ uri: { regex: '/status/5\\d\\d' }, method: { exact: 'GET' } }],
              route: [{ destination: { host: 'podinfo-canary' } }],
            },
            {
              match: [{ queryParams: { v: { exact: '2' } } }],
              route: [{ destination: { host: 'podinfo-canary' } }],
            },
            {
              match: [{ withoutHeaders: { 'x-internal': {} }, uri: { exact: '/private' } }],
              route: [{ destination: { host: 'podinfo-canary' } }],
            },
            { route: [{ destination: { host: 'podinfo' } }] },
          ],
        }),
      ],
      services: [svc('podinfo'), svc('podinfo-canary')],
      deployments: [deploy('podinfo'), deploy('podinfo-canary')],
    });
    const route = (...args: Parameters<typeof request>): number => {
      const d = decide(table, request(...args), constantDraw(0));
      return d.kind === 'upstream' ? d.routeIndex : -1;
    };
    expect(route('podinfo', '/', { 'X-Canary': 'insider' })).toBe(0);
    expect(route('podinfo', '/', { 'x-canary': 'insider-not' })).toBe(4);
    expect(route('podinfo', '/beta/x')).toBe(0);
    expect(route('podinfo', '/status/503')).toBe(1);
    expect(route('podinfo', '/status/503', {}, { method: 'POST' })).toBe(4);
    expect(route('podinfo', '/status/5031')).toBe(4);
    expect(route('podinfo', '/', {}, { query: 'v=2&x=1' })).toBe(2);
    expect(route('podinfo', '/private')).toBe(3);
    expect(route('podinfo', '/private', { 'x-internal': 'yes' })).toBe(4);
  });

  it('answers no-route when no http route matches', () => {
    const table = buildRoutingTable({
      virtualServices: [
        vs({
          http: [
            { match: [{ uri: { exact: '/only' } }], route: [{ destination: { host: 'podinfo' } }] },
          ],
        }),
      ],
      services: [svc('podinfo')],
      deployments: [deploy('podinfo')],
    });
    expect(decide(table, request('podinfo', '/other'), constantDraw(0))).toMatchObject({
      kind: 'no-route',
      reason: 'no http route matched',
    });
  });

  it('ignores uri case when asked', () => {
    const table = buildRoutingTable({
      virtualServices: [
        vs({
          http: [
            {
              match: [{ uri: { prefix: '/API' }, ignoreUriCase: true }],
              route: [{ destination: { host: 'podinfo' } }],
            },
          ],
        }),
      ],
      services: [svc('podinfo')],
      deployments: [deploy('podinfo')],
    });
    expect(decide(table, request('podinfo', '/api/x'), constantDraw(0)).kind).toBe('upstream');
  });

  it('is unavailable (UH) without a workload attribution when the Service is missing', () => {
    const table = buildRoutingTable({
      virtualServices: [vs({ destinations: [{ host: 'ghost' }] })],
      services: [],
      deployments: [],
    });
    const d = decide(table, request('podinfo'), constantDraw(0));
    expect(d).toMatchObject({ kind: 'unavailable', flag: 'UH', reason: 'service ghost not found' });
    expect(d.kind === 'unavailable' && d.workload).toBeUndefined();
  });

  it('is unavailable (UH) without attribution when no Deployment matches the selector', () => {
    const table = buildRoutingTable({
      virtualServices: [vs({ destinations: [{ host: 'podinfo' }] })],
      services: [svc('podinfo', { selector: { app: 'other' } })],
      deployments: [deploy('podinfo')],
    });
    const d = decide(table, request('podinfo'), constantDraw(0));
    expect(d).toMatchObject({ kind: 'unavailable', flag: 'UH' });
    expect(d.kind === 'unavailable' && d.workload).toBeUndefined();
  });

  it('is unavailable (UH) attributed to the workload when it has no ready replicas', () => {
    const d = decide(seedTable([0, 100], { canaryReady: 0 }), request('podinfo'), constantDraw(0));
    expect(d).toMatchObject({
      kind: 'unavailable',
      flag: 'UH',
      workload: { name: 'podinfo-canary' },
    });
  });

  it('is unavailable (NC) for a subset without a DestinationRule (destination-rules.test.ts)', () => {
    const table = buildRoutingTable({
      virtualServices: [vs({ destinations: [{ host: 'podinfo', subset: 'v2' }] })],
      services: [svc('podinfo')],
      deployments: [deploy('podinfo')],
    });
    expect(decide(table, request('podinfo'), constantDraw(0))).toMatchObject({
      kind: 'unavailable',
      flag: 'NC',
    });
  });

  it('balances a Service selecting several Deployments by ready replicas', () => {
    const table = buildRoutingTable({
      virtualServices: [vs({ destinations: [{ host: 'shared' }] })],
      services: [svc('shared', { selector: { app: 'podinfo' } })],
      deployments: [
        deploy('a', { labels: { app: 'podinfo', track: 'a' }, readyReplicas: 3 }),
        deploy('b', { labels: { app: 'podinfo', track: 'b' }, readyReplicas: 1 }),
        deploy('c', { labels: { app: 'podinfo', track: 'c' }, readyReplicas: 0 }),
        deploy('elsewhere', { namespace: 'other', labels: { app: 'podinfo' } }),
      ],
    });
    const seq = new Sequencer();
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const d = decide(table, request('podinfo'), (s) => seq.next(s));
      const key = d.kind === 'upstream' ? `${d.workload.name}/${d.replica}` : d.kind;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['a/0', 'a/1', 'a/2', 'b/0']);
    for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(99);
  });
});
