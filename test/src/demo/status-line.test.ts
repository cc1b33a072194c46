import { describe, expect, it } from '@jest/globals';
import type { RolloutStatusView } from '../e2e/harness.js';
import { decidedRoutes, readSnapshot, routeWeights, statusLine } from './status-line.js';
import type { RawGet, Snapshot } from './status-line.js';

const ROLLOUT = {
  spec: {
    primary: { host: 'podinfo' },
    canary: { host: 'podinfo-canary' },
    virtualService: { name: 'podinfo' },
  },
};

function virtualService(primary: number, canary: number): unknown {
  return {
    spec: {
      http: [
        {
          route: [
            { destination: { host: 'podinfo', port: { number: 9898 } }, weight: primary },
            { destination: { host: 'podinfo-canary', port: { number: 9898 } }, weight: canary },
          ],
        },
      ],
    },
  };
}

interface Revision {
  status: RolloutStatusView;
  vs: unknown;
}

/**
 * An API server over a history of etcd revisions (1, 2, …). A list answers from the
 * newest revision unless it asks for an exact one; `onRolloutRead` lets the controller
 * write between the demo's two requests, as it did when the demo printed
 * `weight 90 routes 0/100`.
 */
class History {
  readonly paths: string[] = [];
  readonly revisions: Revision[] = [];
  onRolloutRead: (() => void) | undefined;
  /** Revisions up to this one are compacted: reading them exactly answers 410. */
  compactedThrough = 0;

  constructor(first: Revision) {
    this.revisions.push(first);
  }

  /** A write: the next revision, with the status or the route changed. */
  write(change: Partial<Revision>): void {
    const head = this.revisions[this.revisions.length - 1];
    if (!head) throw new Error('empty history');
    this.revisions.push({ ...head, ...change });
  }

  get: RawGet = (path) => {
    this.paths.push(path);
    const url = new URL(path, 'https://api.invalid');
    const exact = url.searchParams.get('resourceVersionMatch') === 'Exact';
    const rv = exact ? Number(url.searchParams.get('resourceVersion')) : this.revisions.length;
    if (exact && rv <= this.compactedThrough) {
      return Promise.reject(new Error('Error from server (Expired): too old resource version'));
    }
    const at = this.revisions[rv - 1];
    if (!at) return Promise.reject(new Error(`no revision ${rv}`));
    const list = (item: unknown): unknown => ({
      metadata: { resourceVersion: String(rv) },
      items: [item],
    });
    if (url.pathname.endsWith('/rollouts')) {
      const answer = list({ ...ROLLOUT, status: at.status });
      this.onRolloutRead?.();
      return Promise.resolve(answer);
    }
    if (url.pathname.endsWith('/virtualservices')) return Promise.resolve(list(at.vs));
    return Promise.reject(new Error(`unexpected path ${path}`));
  };
}

const progressing = (canaryWeight: number): RolloutStatusView => ({
  phase: 'Progressing',
  canaryWeight,
  failedChecks: 0,
  analysis: { successRate: 100 },
});

describe('readSnapshot', () => {
  it('reads the route at the revision of the status, however the cluster moves meanwhile', async () => {
    const h = new History({ status: progressing(90), vs: virtualService(10, 90) });
    // Between the demo's two requests Steerer steps to 100: status first, then route.
    h.onRolloutRead = () => {
      h.onRolloutRead = undefined;
      h.write({ status: progressing(100) });
      h.write({ vs: virtualService(0, 100) });
    };
    const s = await readSnapshot(h.get, 'test', 'podinfo');
    expect(s).toEqual({
      revision: '1',
      status: progressing(90),
      routes: { primary: 10, canary: 90 },
    });
    expect(statusLine(s)).toBe(
      'phase Progressing  weight 90  routes 10/90  success rate 100.00%  failed checks 0',
    );
    expect(h.paths).toEqual([
      '/apis/apps.weave.works/v1beta1/namespaces/test/rollouts?fieldSelector=metadata.name%3Dpodinfo',
      '/apis/networking.istio.io/v1alpha3/namespaces/test/virtualservices?fieldSelector=metadata.name%3Dpodinfo&resourceVersion=1&resourceVersionMatch=Exact',
    ]);
    // The next look sees both writes.
    expect(statusLine(await readSnapshot(h.get, 'test', 'podinfo'))).toContain(
      'weight 100  routes 0/100  ',
    );
  });

  it('starts over from a fresh revision when the exact read fails', async () => {
    const h = new History({ status: progressing(10), vs: virtualService(90, 10) });
    h.compactedThrough = 1;
    h.onRolloutRead = () => {
      h.onRolloutRead = undefined;
      h.write({ status: progressing(20) });
    };
    const s = await readSnapshot(h.get, 'test', 'podinfo');
    expect(s).toEqual({
      revision: '2',
      status: progressing(20),
      routes: { primary: 90, canary: 10 },
    });
    expect(h.paths.filter((p) => p.includes('/virtualservices'))).toHaveLength(2);
  });

  it('gives up after a few failed attempts', async () => {
    const h = new History({ status: progressing(10), vs: virtualService(90, 10) });
    h.compactedThrough = 99;
    await expect(readSnapshot(h.get, 'test', 'podinfo', 3)).rejects.toThrow(
      /no consistent read .* too old resource version/,
    );
    expect(h.paths).toHaveLength(6);
  });
});

describe('statusLine', () => {
  const line = (status: RolloutStatusView, primary: number, canary: number): string =>
    statusLine({ revision: '1', status, routes: { primary, canary } });

  it('shows the weight and the routes alone when the route is what the status decided', () => {
    expect(line(progressing(90), 10, 90)).toBe(
      'phase Progressing  weight 90  routes 10/90  success rate 100.00%  failed checks 0',
    );
    expect(line({ ...progressing(100), phase: 'Promoting' }, 0, 100)).toContain(
      'phase Promoting  weight 100  routes 0/100  ',
    );
    expect(line({ phase: 'Succeeded', canaryWeight: 0 }, 100, 0)).toBe(
      'phase Succeeded  weight 0  routes 100/0  success rate —  failed checks 0',
    );
  });

  it('says where the route is going while it still differs from the decision', () => {
    // Status written, route not yet: the moment between Steerer's two writes.
    expect(line(progressing(100), 10, 90)).toContain(
      'weight 100  routes 10/90 (moving to 0/100)  ',
    );
    expect(line({ phase: 'Finalising', canaryWeight: 0 }, 0, 100)).toContain(
      'weight 0  routes 0/100 (moving to 100/0)  ',
    );
    // The old line: never a bare "weight 90 routes 0/100".
    expect(line(progressing(90), 0, 100)).toContain('weight 90  routes 0/100 (moving to 10/90)');
  });

  it('shows no routes when the VirtualService has no route to both hosts', () => {
    const s: Snapshot = { revision: '1', status: progressing(10), routes: undefined };
    expect(statusLine(s)).toContain('routes —  ');
  });
});

describe('decidedRoutes and routeWeights', () => {
  it("mirror the controller's routing for each phase", () => {
    expect(decidedRoutes(progressing(30))).toEqual({ primary: 70, canary: 30 });
    expect(decidedRoutes({ phase: 'Halted', canaryWeight: 40 })).toEqual({
      primary: 60,
      canary: 40,
    });
    expect(decidedRoutes({ phase: 'Promoting', canaryWeight: 100 })).toEqual({
      primary: 0,
      canary: 100,
    });
    for (const phase of ['Waiting', 'Initialized', 'Finalising', 'Succeeded', undefined]) {
      expect(decidedRoutes({ phase, canaryWeight: 0 })).toEqual({ primary: 100, canary: 0 });
    }
  });

  it('find the weights by destination host, in any order and spelling', () => {
    const vs = {
      spec: {
        http: [
          { route: [{ destination: { host: 'other' }, weight: 100 }] },
          {
            route: [
              { destination: { host: 'podinfo-canary.test.svc.cluster.local' }, weight: 30 },
              { destination: { host: 'podinfo.test' }, weight: 70 },
            ],
          },
        ],
      },
    };
    expect(routeWeights(vs, 'podinfo', 'podinfo-canary')).toEqual({ primary: 70, canary: 30 });
    expect(routeWeights(vs, 'podinfo', 'missing')).toBeUndefined();
    expect(routeWeights(undefined, 'podinfo', 'podinfo-canary')).toBeUndefined();
  });
});
