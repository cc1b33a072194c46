import { describe, expect, it } from '@jest/globals';
import jsonpatch from 'jsonpatch';
import { parseWeights, weightAnnotationOps } from '../annotations.js';
import { fqdn } from '../hosts.js';
import { checkRoutes, istioVirtualService, weightPatch } from './istio.js';
import type {
  HttpRoute,
  HttpRouteDestination,
  RouteCheck,
  SplitRoute,
  VirtualService,
} from './istio.js';

function dest(host: string, weight?: number): HttpRouteDestination {
  return {
    destination: { host, port: { number: 9898 } },
    ...(weight === undefined ? {} : { weight }),
  };
}

/** The seed's VirtualService, with the given http routes. */
function vs(
  http: HttpRoute[] = [{ route: [dest('podinfo', 100), dest('podinfo-canary', 0)] }],
): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name: 'podinfo',
      namespace: 'test',
      resourceVersion: '7',
      labels: { app: 'podinfo' },
    },
    spec: {
      gateways: ['public-gateway.istio-system.svc.cluster.local'],
      hosts: ['app.example.com', 'podinfo'],
      http,
    },
  };
}

function ok(check: RouteCheck): Extract<RouteCheck, { ok: true }> {
  if (!check.ok) throw new Error(`expected ok, got: ${check.message}`);
  return check;
}

function failure(check: RouteCheck): string {
  if (check.ok) throw new Error('expected a failure');
  return check.message;
}

describe('fqdn', () => {
  it.each([
    ['podinfo', 'podinfo.test.svc.cluster.local'],
    ['podinfo.prod', 'podinfo.prod.svc.cluster.local'],
    ['podinfo.prod.svc', 'podinfo.prod.svc.cluster.local'],
    ['podinfo.prod.svc.cluster.local', 'podinfo.prod.svc.cluster.local'],
    ['podinfo.prod.svc.example.org', 'podinfo.prod.svc.example.org'],
    ['api.example.com', 'api.example.com'],
  ])('%s → %s', (host, want) => {
    expect(fqdn(host, 'test')).toBe(want);
  });
});

describe('checkRoutes', () => {
  it('finds the seed route and its weights', () => {
    expect(checkRoutes(vs(), 'podinfo', 'podinfo-canary')).toEqual({
      ok: true,
      routes: [{ index: 0, primaryIndex: 0, canaryIndex: 1 }],
      weights: { primary: 100, canary: 0 },
      consistent: true,
    });
  });

  it.each([
    ['short', 'podinfo', 'podinfo-canary'],
    ['name.ns', 'podinfo.test', 'podinfo-canary.test'],
    ['name.ns.svc', 'podinfo.test.svc', 'podinfo-canary.test.svc'],
    ['FQDN', 'podinfo.test.svc.cluster.local', 'podinfo-canary.test.svc.cluster.local'],
  ])(
    'matches destination hosts written %s against any spelling of the spec hosts',
    (_form, p, c) => {
      const v = vs([{ route: [dest(p, 90), dest(c, 10)] }]);
      for (const [sp, sc] of [
        ['podinfo', 'podinfo-canary'],
        ['podinfo.test', 'podinfo-canary.test'],
        ['podinfo.test.svc.cluster.local', 'podinfo-canary.test.svc.cluster.local'],
      ] as const) {
        expect(ok(checkRoutes(v, sp, sc)).weights).toEqual({ primary: 90, canary: 10 });
      }
    },
  );

  it('does not confuse a Service of the same name in another namespace', () => {
    const v = vs([{ route: [dest('podinfo', 100), dest('podinfo-canary.prod', 0)] }]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toBe(
      'VirtualService podinfo.test has no route to podinfo-canary',
    );
  });

  it('finds the canary in either position', () => {
    const v = vs([{ route: [dest('podinfo-canary', 30), dest('podinfo', 70)] }]);
    expect(ok(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toMatchObject({
      routes: [{ index: 0, primaryIndex: 1, canaryIndex: 0 }],
      weights: { primary: 70, canary: 30 },
    });
  });

  it('names the missing canary host when no route has it', () => {
    const v = vs([{ route: [dest('podinfo', 100)] }]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toBe(
      'VirtualService podinfo.test has no route to podinfo-canary',
    );
  });

  it('names both hosts when neither is routed to', () => {
    const v = vs([{ route: [dest('other', 100)] }]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toBe(
      'VirtualService podinfo.test has no route to podinfo and podinfo-canary',
    );
  });

  it('refuses hosts that are only split across different routes', () => {
    const v = vs([
      { match: [{ headers: { x: { exact: '1' } } }], route: [dest('podinfo-canary')] },
      { route: [dest('podinfo')] },
    ]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toContain(
      'has no single http route with both podinfo and podinfo-canary',
    );
  });

  it('refuses a VirtualService without http routes', () => {
    expect(failure(checkRoutes(vs([]), 'podinfo', 'podinfo-canary'))).toBe(
      'VirtualService podinfo.test has no http routes',
    );
    const noHttp = vs();
    delete noHttp.spec.http;
    expect(failure(checkRoutes(noHttp, 'podinfo', 'podinfo-canary'))).toContain('no http routes');
  });

  it('refuses a split route with a third destination', () => {
    const v = vs([
      { route: [dest('podinfo', 80), dest('podinfo-canary', 10), dest('legacy', 10)] },
    ]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toBe(
      'VirtualService podinfo.test route 0 also sends traffic to legacy.test.svc.cluster.local; the route must have only the podinfo and podinfo-canary destinations',
    );
  });

  it('refuses a split route with a second primary destination (e.g. another subset)', () => {
    const v = vs([
      {
        route: [
          dest('podinfo', 50),
          { destination: { host: 'podinfo.test.svc.cluster.local', subset: 'v2' }, weight: 50 },
          dest('podinfo-canary', 0),
        ],
      },
    ]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toContain(
      'route 0 has 3 destinations; the route must have exactly one podinfo and one podinfo-canary destination',
    );
  });

  it('refuses primary and canary hosts that name the same Service', () => {
    const v = vs([{ route: [dest('podinfo', 100)] }]);
    expect(failure(checkRoutes(v, 'podinfo', 'podinfo.test.svc.cluster.local'))).toContain(
      'name the same Service podinfo.test.svc.cluster.local',
    );
  });

  it('finds every split route and leaves other routes alone', () => {
    const v = vs([
      { match: [{ headers: { canary: { exact: 'always' } } }], route: [dest('podinfo-canary')] },
      {
        match: [{ uri: { prefix: '/api' } }],
        route: [dest('podinfo', 80), dest('podinfo-canary', 20)],
      },
      { match: [{ uri: { prefix: '/admin' } }], route: [dest('podinfo')] },
      { route: [dest('podinfo-canary.test', 20), dest('podinfo.test', 80)] },
    ]);
    expect(ok(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toEqual({
      ok: true,
      routes: [
        { index: 1, primaryIndex: 0, canaryIndex: 1 },
        { index: 3, primaryIndex: 1, canaryIndex: 0 },
      ],
      weights: { primary: 80, canary: 20 },
      consistent: true,
    });
  });

  it('flags split routes whose weights disagree, reporting the first', () => {
    const v = vs([
      { route: [dest('podinfo', 80), dest('podinfo-canary', 20)] },
      { route: [dest('podinfo', 100), dest('podinfo-canary', 0)] },
    ]);
    expect(ok(checkRoutes(v, 'podinfo', 'podinfo-canary'))).toMatchObject({
      weights: { primary: 80, canary: 20 },
      consistent: false,
    });
  });

  it('counts a missing weight in a split route as 0', () => {
    const v = vs([{ route: [dest('podinfo', 100), dest('podinfo-canary')] }]);
    expect(ok(checkRoutes(v, 'podinfo', 'podinfo-canary')).weights).toEqual({
      primary: 100,
      canary: 0,
    });
    const none = vs([{ route: [dest('podinfo'), dest('podinfo-canary')] }]);
    expect(ok(checkRoutes(none, 'podinfo', 'podinfo-canary')).weights).toEqual({
      primary: 0,
      canary: 0,
    });
  });

  it('resolves short hosts in the default namespace when the VirtualService has none', () => {
    const v = vs();
    delete v.metadata.namespace;
    expect(ok(checkRoutes(v, 'podinfo.default', 'podinfo-canary.default')).routes).toHaveLength(1);
    expect(failure(checkRoutes(v, 'podinfo.test', 'podinfo-canary.test'))).toContain(
      'podinfo.default',
    );
  });
});

describe('weightPatch', () => {
  function routes(v: VirtualService): SplitRoute[] {
    return ok(checkRoutes(v, 'podinfo', 'podinfo-canary')).routes;
  }

  it('replaces both weights, guarded by tests of both hosts', () => {
    const v = vs();
    expect(weightPatch(v, routes(v), { primary: 90, canary: 10 })).toEqual([
      { op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'podinfo' },
      { op: 'test', path: '/spec/http/0/route/1/destination/host', value: 'podinfo-canary' },
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 90 },
      { op: 'replace', path: '/spec/http/0/route/1/weight', value: 10 },
    ]);
  });

  it('tests hosts as they are written in the object', () => {
    const v = vs([
      { route: [dest('podinfo.test', 100), dest('podinfo-canary.test.svc.cluster.local', 0)] },
    ]);
    expect(
      weightPatch(v, routes(v), { primary: 90, canary: 10 }).filter((o) => o.op === 'test'),
    ).toEqual([
      { op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'podinfo.test' },
      {
        op: 'test',
        path: '/spec/http/0/route/1/destination/host',
        value: 'podinfo-canary.test.svc.cluster.local',
      },
    ]);
  });

  it('is empty when the weights already match', () => {
    const v = vs();
    expect(weightPatch(v, routes(v), { primary: 100, canary: 0 })).toEqual([]);
  });

  it('only writes the weight that changes, but still tests both hosts', () => {
    const v = vs([{ route: [dest('podinfo', 100), dest('podinfo-canary')] }]);
    expect(weightPatch(v, routes(v), { primary: 100, canary: 0 })).toEqual([
      { op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'podinfo' },
      { op: 'test', path: '/spec/http/0/route/1/destination/host', value: 'podinfo-canary' },
      { op: 'add', path: '/spec/http/0/route/1/weight', value: 0 },
    ]);
  });

  it('skips routes that already have the wanted weights', () => {
    const v = vs([
      { route: [dest('podinfo', 90), dest('podinfo-canary', 10)] },
      { route: [dest('podinfo', 100), dest('podinfo-canary', 0)] },
    ]);
    const ops = weightPatch(v, routes(v), { primary: 90, canary: 10 });
    expect(ops.map((o) => o.path.split('/')[3])).toEqual(['1', '1', '1', '1']);
  });

  it('uses add for a weight that is absent', () => {
    const v = vs([{ route: [dest('podinfo'), dest('podinfo-canary')] }]);
    const ops = weightPatch(v, routes(v), { primary: 50, canary: 50 });
    expect(ops.filter((o) => o.op !== 'test')).toEqual([
      { op: 'add', path: '/spec/http/0/route/0/weight', value: 50 },
      { op: 'add', path: '/spec/http/0/route/1/weight', value: 50 },
    ]);
  });

  it('produces only weight operations and host tests', () => {
    const v = vs([
      { route: [dest('podinfo', 80), dest('podinfo-canary', 20)] },
      { route: [dest('podinfo-canary'), dest('podinfo', 100)] },
    ]);
    const ops = weightPatch(v, routes(v), { primary: 60, canary: 40 });
    expect(ops).toHaveLength(8);
    expect(ops.filter((o) => o.op === 'test')).toHaveLength(4);
    for (const o of ops) {
      if (o.op === 'test')
        expect(o.path).toMatch(/^\/spec\/http\/\d+\/route\/\d+\/destination\/host$/);
      else {
        expect(['add', 'replace']).toContain(o.op);
        expect(o.path).toMatch(/^\/spec\/http\/\d+\/route\/\d+\/weight$/);
      }
    }
  });

  describe('applied with an RFC 6902 implementation', () => {
    const many = (): VirtualService =>
      vs([
        {
          match: [{ headers: { canary: { exact: 'always' } } }],
          route: [dest('podinfo-canary')],
          timeout: '5s',
        },
        {
          match: [{ uri: { prefix: '/api' } }],
          route: [dest('podinfo', 100), dest('podinfo-canary', 0)],
        },
        { match: [{ uri: { prefix: '/admin' } }], route: [dest('podinfo')] },
        {
          route: [dest('podinfo-canary.test.svc.cluster.local'), dest('podinfo.test', 100)],
          retries: { attempts: 3 },
        },
      ]);

    it('sets every split route and changes nothing else', () => {
      const v = many();
      const before = structuredClone(v);
      const ops = weightPatch(v, routes(v), { primary: 70, canary: 30 });
      const patched = jsonpatch.apply_patch(v, ops);
      expect(v).toEqual(before);
      const want = structuredClone(before);
      const http = want.spec.http as HttpRoute[];
      (http[1]?.route as HttpRouteDestination[])[0]!.weight = 70;
      (http[1]?.route as HttpRouteDestination[])[1]!.weight = 30;
      (http[3]?.route as HttpRouteDestination[])[0]!.weight = 30;
      (http[3]?.route as HttpRouteDestination[])[1]!.weight = 70;
      expect(patched).toEqual(want);
      const after = ok(checkRoutes(patched, 'podinfo', 'podinfo-canary'));
      expect(after).toMatchObject({ weights: { primary: 70, canary: 30 }, consistent: true });
      expect(weightPatch(patched, after.routes, { primary: 70, canary: 30 })).toEqual([]);
    });

    it('fails when the routes were reordered since the patch was computed', () => {
      const v = many();
      const ops = weightPatch(v, routes(v), { primary: 70, canary: 30 });
      const reordered = structuredClone(v);
      reordered.spec.http = [...(v.spec.http as HttpRoute[])].reverse();
      expect(() => jsonpatch.apply_patch(reordered, ops)).toThrow(jsonpatch.PatchApplyError);
    });

    it("fails when a route with the same primary host took the split route's place", () => {
      // Only the primary's weight changes (the canary's is already 0), yet both hosts are
      // tested: the primary host alone also matches the mirror route now at index 0.
      const v = vs([{ route: [dest('podinfo'), dest('podinfo-canary', 0)] }]);
      const ops = weightPatch(v, routes(v), { primary: 100, canary: 0 });
      expect(ops.filter((o) => o.op !== 'test')).toHaveLength(1);
      const moved = vs([
        { route: [dest('podinfo', 50), dest('legacy', 50)] },
        { route: [dest('podinfo'), dest('podinfo-canary', 0)] },
      ]);
      expect(() => jsonpatch.apply_patch(moved, ops)).toThrow('Test operation failed');
    });

    it('fails when a split route swapped its destinations', () => {
      const v = vs();
      const ops = weightPatch(v, routes(v), { primary: 90, canary: 10 });
      const swapped = vs([{ route: [dest('podinfo-canary', 0), dest('podinfo', 100)] }]);
      expect(() => jsonpatch.apply_patch(swapped, ops)).toThrow('Test operation failed');
    });

    it('still applies when only unrelated parts changed', () => {
      const v = vs();
      const ops = weightPatch(v, routes(v), { primary: 90, canary: 10 });
      const edited = structuredClone(v);
      edited.spec.hosts = ['app.example.com'];
      (edited.spec.http as HttpRoute[])[0]!.timeout = '3s';
      const patched = jsonpatch.apply_patch(edited, ops);
      expect(patched.spec.hosts).toEqual(['app.example.com']);
      expect(ok(checkRoutes(patched, 'podinfo', 'podinfo-canary')).weights).toEqual({
        primary: 90,
        canary: 10,
      });
    });
  });
});

describe('keepWeights', () => {
  const hosts = { primary: 'podinfo', canary: 'podinfo-canary', namespace: 'test' };
  const at = (p: number, c: number): VirtualService =>
    vs([{ route: [dest('podinfo', p), dest('podinfo-canary', c)] }]);

  it("puts Steerer's weights back into an update that resets them, guarded like a patch", () => {
    expect(istioVirtualService.keepWeights(at(80, 20), at(100, 0), hosts)).toEqual([
      { op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'podinfo' },
      { op: 'test', path: '/spec/http/0/route/1/destination/host', value: 'podinfo-canary' },
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 80 },
      { op: 'replace', path: '/spec/http/0/route/1/weight', value: 20 },
    ]);
  });

  it('keeps everything else the update changes', () => {
    const after = at(100, 0);
    after.spec.hosts = ['new.example.com'];
    const patched = jsonpatch.apply_patch(
      after,
      istioVirtualService.keepWeights(at(80, 20), after, hosts),
    );
    expect(patched.spec.hosts).toEqual(['new.example.com']);
    expect(ok(checkRoutes(patched, 'podinfo', 'podinfo-canary')).weights).toEqual({
      primary: 80,
      canary: 20,
    });
  });

  it('leaves alone an update that keeps the weights, or after which nothing splits', () => {
    expect(istioVirtualService.keepWeights(at(80, 20), at(80, 20), hosts)).toEqual([]);
    const gone = vs([{ route: [dest('podinfo', 100)] }]);
    expect(istioVirtualService.keepWeights(at(80, 20), gone, hosts)).toEqual([]);
  });
});

describe('weights annotation', () => {
  it('parses what Steerer writes and nothing else', () => {
    expect(parseWeights('70/30')).toEqual({ primary: 70, canary: 30 });
    expect(parseWeights('100/0')).toEqual({ primary: 100, canary: 0 });
    expect(parseWeights(undefined)).toBeUndefined();
    expect(parseWeights('70')).toBeUndefined();
    expect(parseWeights('a/b')).toBeUndefined();
  });

  it('adds the annotation map when absent, sets the key otherwise, and skips equal values', () => {
    const v = vs();
    delete v.metadata.annotations;
    expect(weightAnnotationOps(v, { primary: 90, canary: 10 })).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { 'steerer.io/weights': '90/10' } },
    ]);
    v.metadata.annotations = { other: 'x' };
    expect(weightAnnotationOps(v, { primary: 90, canary: 10 })).toEqual([
      { op: 'add', path: '/metadata/annotations/steerer.io~1weights', value: '90/10' },
    ]);
    v.metadata.annotations['steerer.io/weights'] = '90/10';
    expect(weightAnnotationOps(v, { primary: 90, canary: 10 })).toEqual([]);
  });
});

describe('subset routing (one host, two DestinationRule subsets)', () => {
  const sub = (subset: string | undefined, weight?: number, host = 'podinfo') => {
    const d = dest(host, weight);
    if (subset !== undefined) d.destination.subset = subset;
    return d;
  };
  const SUBSETS = { primary: 'primary', canary: 'canary' };
  const hosts = {
    primary: 'podinfo',
    canary: 'podinfo',
    namespace: 'test',
    primarySubset: 'primary',
    canarySubset: 'canary',
  };

  it('finds the route whose destinations are the two subsets, in either order', () => {
    const check = ok(
      checkRoutes(
        vs([{ route: [sub('canary', 10), sub('primary', 90)] }]),
        'podinfo',
        'podinfo',
        SUBSETS,
      ),
    );
    expect(check.routes).toEqual([{ index: 0, primaryIndex: 1, canaryIndex: 0 }]);
    expect(check.weights).toEqual({ primary: 90, canary: 10 });
  });

  it('names a missing subset destination by host and subset', () => {
    expect(
      failure(checkRoutes(vs([{ route: [sub('primary', 100)] }]), 'podinfo', 'podinfo', SUBSETS)),
    ).toBe('VirtualService podinfo.test has no route to podinfo subset canary');
  });

  it('refuses a third subset, or a destination of the host without a subset', () => {
    expect(
      failure(
        checkRoutes(
          vs([{ route: [sub('primary', 80), sub('canary', 10), sub('v3', 10)] }]),
          'podinfo',
          'podinfo',
          SUBSETS,
        ),
      ),
    ).toBe(
      'VirtualService podinfo.test route 0 also sends traffic to podinfo subset v3; the route must have only the podinfo subset primary and podinfo subset canary destinations',
    );
    expect(
      failure(
        checkRoutes(
          vs([{ route: [sub('primary', 80), sub('canary', 10), sub(undefined, 10)] }]),
          'podinfo',
          'podinfo',
          SUBSETS,
        ),
      ),
    ).toContain('also sends traffic to podinfo;');
  });

  it("refuses the seed's two-host route when the Rollout names subsets", () => {
    expect(failure(checkRoutes(vs(), 'podinfo', 'podinfo', SUBSETS))).toBe(
      'VirtualService podinfo.test has no route to podinfo subset primary and podinfo subset canary',
    );
  });

  it('refuses one host with the same subset on both sides', () => {
    expect(
      failure(checkRoutes(vs(), 'podinfo', 'podinfo.test', { primary: 'v1', canary: 'v1' })),
    ).toContain('name the same Service podinfo.test.svc.cluster.local');
  });

  it("keeps matching the seed's hosts by host alone, whatever subsets they name", () => {
    const check = ok(
      checkRoutes(
        vs([{ route: [sub('v1', 70, 'podinfo'), sub('v2', 30, 'podinfo-canary')] }]),
        'podinfo',
        'podinfo-canary',
      ),
    );
    expect(check.weights).toEqual({ primary: 70, canary: 30 });
  });

  it('guards every edit by both subsets as well as both hosts', () => {
    const v = vs([{ route: [sub('primary', 100), sub('canary', 0)] }]);
    expect(istioVirtualService.patch(v, hosts, { primary: 90, canary: 10 })).toEqual([
      { op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'podinfo' },
      { op: 'test', path: '/spec/http/0/route/0/destination/subset', value: 'primary' },
      { op: 'test', path: '/spec/http/0/route/1/destination/host', value: 'podinfo' },
      { op: 'test', path: '/spec/http/0/route/1/destination/subset', value: 'canary' },
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 90 },
      { op: 'replace', path: '/spec/http/0/route/1/weight', value: 10 },
    ]);
    // Swapped destinations fail the patch instead of giving the primary's weight to the canary.
    const swapped = vs([{ route: [sub('canary', 0), sub('primary', 100)] }]);
    const ops = istioVirtualService.patch(v, hosts, { primary: 90, canary: 10 });
    expect(() => jsonpatch.apply_patch(swapped, ops)).toThrow();
  });

  it('reads, patches and keeps weights through the router', () => {
    const v = vs([{ route: [sub('primary', 100), sub('canary', 0)] }]);
    expect(istioVirtualService.read(v, hosts)).toEqual({
      ok: true,
      weights: { primary: 100, canary: 0 },
      consistent: true,
      splits: 1,
    });
    const moved: VirtualService = jsonpatch.apply_patch(
      v,
      istioVirtualService.patch(v, hosts, { primary: 60, canary: 40 }),
    );
    expect(istioVirtualService.read(moved, hosts)).toMatchObject({
      weights: { primary: 60, canary: 40 },
    });
    expect(istioVirtualService.keepWeights(moved, v, hosts)).toContainEqual({
      op: 'replace',
      path: '/spec/http/0/route/1/weight',
      value: 40,
    });
    expect(istioVirtualService.subsets?.kind).toBe('DestinationRule');
  });
});
