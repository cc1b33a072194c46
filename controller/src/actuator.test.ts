import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient, SteererError, isApiError } from '@steerer/common';
import type { JsonPatchOp, KubeObject, RolloutObject, RolloutStatus } from '@steerer/common';
import { FakeApiServer, sendJson, statusBody } from '@steerer/common/testing/fake-api-server';
import type { ApiRequest } from '@steerer/common/testing/fake-api-server';
import { Actuator } from './actuator.js';
import type { CacheKind } from './cluster.js';
import { plan } from './planner/plan.js';
import { CONFIG, podTemplate, samples, seedObserved, seedRollout } from './planner/testing.js';
import type { Action } from './planner/types.js';

const ROLLOUT_STATUS = '/apis/apps.weave.works/v1beta1/namespaces/test/rollouts/podinfo/status';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/test/deployments';
const VS = '/apis/networking.istio.io/v1beta1/namespaces/test/virtualservices/podinfo';
const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';

let api: FakeApiServer;
let client: KubeClient;
let versions: Record<string, string>;
let writes: { kind: CacheKind; obj: KubeObject }[];
let actuator: Actuator;

/** Every write answers with its target at resourceVersion "2" (as the API server would). */
function answerWrites(): void {
  api.on(
    (r) => r.method === 'PUT' || r.method === 'PATCH',
    (r, res) => {
      const parts = r.path.split('/');
      const name = parts[parts.length - (r.path.endsWith('/status') ? 2 : 1)] ?? '';
      const body = r.method === 'PUT' ? (JSON.parse(r.body) as KubeObject) : { metadata: {} };
      sendJson(res, 200, {
        ...body,
        metadata: { ...body.metadata, name, namespace: 'test', resourceVersion: '2' },
      });
    },
  );
}

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
  versions = { VirtualService: 'v1beta1' };
  writes = [];
  actuator = new Actuator({
    client,
    versionOf: (kind) => versions[kind],
    recordWrite: (kind, obj) => writes.push({ kind, obj }),
  });
  answerWrites();
});

afterEach(async () => {
  client.close();
  await api.close();
});

function only(): ApiRequest {
  expect(api.requests).toHaveLength(1);
  const [r] = api.requests;
  if (!r) throw new Error('no request');
  return r;
}

function bodyOf(r: ApiRequest | undefined): unknown {
  if (!r) throw new Error('no request');
  return JSON.parse(r.body);
}

/** The seed's first plan: start, step to 10, label both Deployments. */
function firstPlan() {
  return plan({
    rollout: seedRollout(),
    observed: seedObserved(),
    analysis: samples({ kind: 'ok', value: 100, requestRate: 10, at: 0 }),
    now: Date.parse('2026-01-01T00:00:00Z'),
    config: CONFIG,
  });
}

describe('writeStatus', () => {
  it('PUTs the /status subresource at the resourceVersion it was planned from, and records the write', async () => {
    const r: RolloutObject = { ...seedRollout(), status: { phase: 'Initialized' } };
    r.metadata.resourceVersion = '41';
    const status: RolloutStatus = { phase: 'Progressing', canaryWeight: 10, message: 'm' };
    const updated = await actuator.writeStatus(r, status);

    const req = only();
    expect(req.method).toBe('PUT');
    expect(req.path).toBe(ROLLOUT_STATUS);
    expect(req.query.get('fieldManager')).toBe('steerer');
    expect(bodyOf(req)).toEqual({
      apiVersion: 'apps.weave.works/v1beta1',
      kind: 'Rollout',
      metadata: { name: 'podinfo', namespace: 'test', resourceVersion: '41' },
      spec: r.spec,
      status,
    });
    expect(updated?.metadata.resourceVersion).toBe('2');
    expect(updated?.status).toEqual(status);
    expect(writes).toEqual([{ kind: 'rollout', obj: updated }]);
  });

  it('writes nothing when status is equal', async () => {
    const status: RolloutStatus = { phase: 'Progressing', canaryWeight: 10 };
    const r: RolloutObject = { ...seedRollout(), status: structuredClone(status) };
    expect(await actuator.writeStatus(r, status)).toBeUndefined();
    // No status at all is the same as an empty one.
    expect(await actuator.writeStatus(seedRollout(), {})).toBeUndefined();
    expect(api.requests).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('fails with the conflict when the Rollout changed since it was planned, recording nothing', async () => {
    api.on(
      (r) => r.path === ROLLOUT_STATUS,
      (_r, res) => sendJson(res, 409, statusBody(409, 'Conflict', 'the object has been modified')),
    );
    const err = await actuator.writeStatus(seedRollout(), { phase: 'Waiting' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SteererError);
    expect(isApiError(err, 409)).toBe(true);
    expect(writes).toEqual([]);
  });
});

describe('apply', () => {
  describe('setWeights', () => {
    const ops: JsonPatchOp[] = [
      { op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'podinfo' },
      { op: 'test', path: '/spec/http/0/route/1/destination/host', value: 'podinfo-canary' },
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 90 },
      { op: 'replace', path: '/spec/http/0/route/1/weight', value: 10 },
    ];
    const setWeights = (o: JsonPatchOp[], kind = 'VirtualService'): Action => ({
      kind: 'setWeights',
      route: { kind, name: 'podinfo' },
      primary: 90,
      canary: 10,
      ops: o,
    });

    it('JSON-patches the route object at its served version with exactly the ops', async () => {
      await actuator.apply(setWeights(ops), { namespace: 'test', name: 'podinfo' });
      const req = only();
      expect(req.method).toBe('PATCH');
      expect(req.path).toBe(VS);
      expect(req.headers['content-type']).toBe(JSON_PATCH);
      expect(bodyOf(req)).toEqual(ops);
      expect(writes).toEqual([
        {
          kind: 'route:VirtualService',
          obj: { metadata: { name: 'podinfo', namespace: 'test', resourceVersion: '2' } },
        },
      ]);
    });

    it('uses whichever version versionOf names', async () => {
      versions.VirtualService = 'v1';
      await actuator.apply(setWeights(ops), { namespace: 'prod', name: 'podinfo' });
      expect(only().path).toBe(
        '/apis/networking.istio.io/v1/namespaces/prod/virtualservices/podinfo',
      );
    });

    it("sends the planner's own ops for the seed's first step", async () => {
      const action = firstPlan().actions.find((a) => a.kind === 'setWeights');
      if (action?.kind !== 'setWeights') throw new Error('the first plan sets no weights');
      expect(action).toMatchObject({ primary: 90, canary: 10 });
      await actuator.apply(action, { namespace: 'test', name: 'podinfo' });
      expect(bodyOf(only())).toEqual(action.ops);
    });

    it('skips empty ops', async () => {
      await actuator.apply(setWeights([]), { namespace: 'test', name: 'podinfo' });
      // Not even for a router whose version is unknown.
      await actuator.apply(setWeights([], 'HTTPRoute'), { namespace: 'test', name: 'podinfo' });
      expect(api.requests).toEqual([]);
      expect(writes).toEqual([]);
    });

    it('throws a clear error when no version of the router is known', async () => {
      delete versions.VirtualService;
      await expect(
        actuator.apply(setWeights(ops), { namespace: 'test', name: 'podinfo' }),
      ).rejects.toThrow('no served version of VirtualService is known');
      await expect(
        actuator.apply(setWeights(ops, 'HTTPRoute'), { namespace: 'test', name: 'podinfo' }),
      ).rejects.toThrow('no served version of HTTPRoute is known');
      expect(api.requests).toEqual([]);
      expect(writes).toEqual([]);
    });
  });

  describe('scaleCanary', () => {
    it('merge-patches the replicas', async () => {
      await actuator.apply(
        { kind: 'scaleCanary', name: 'podinfo-canary', replicas: 2 },
        { namespace: 'test', name: 'podinfo' },
      );
      const req = only();
      expect(req.method).toBe('PATCH');
      expect(req.path).toBe(`${DEPLOYMENTS}/podinfo-canary`);
      expect(req.headers['content-type']).toBe(MERGE_PATCH);
      expect(bodyOf(req)).toEqual({ spec: { replicas: 2 } });
      expect(writes.map((w) => [w.kind, w.obj.metadata.name])).toEqual([
        ['deployment', 'podinfo-canary'],
      ]);
    });

    it('remembers the replicas it scaled down from in an annotation', async () => {
      await actuator.apply(
        { kind: 'scaleCanary', name: 'podinfo-canary', replicas: 0, remember: 3 },
        { namespace: 'test', name: 'podinfo' },
      );
      expect(bodyOf(only())).toEqual({
        spec: { replicas: 0 },
        metadata: { annotations: { 'steerer.io/scaled-down-from': '3' } },
      });
    });
  });

  describe('promote', () => {
    it('JSON-patches the template, guarded by a test of the resourceVersion', async () => {
      const template = podTemplate('podinfo', 'quay.io/stefanprodan/podinfo:1.2.0', 'green');
      await actuator.apply(
        { kind: 'promote', name: 'podinfo', resourceVersion: '7', template },
        { namespace: 'test', name: 'podinfo' },
      );
      const req = only();
      expect(req.method).toBe('PATCH');
      expect(req.path).toBe(`${DEPLOYMENTS}/podinfo`);
      expect(req.headers['content-type']).toBe(JSON_PATCH);
      expect(bodyOf(req)).toEqual([
        { op: 'test', path: '/metadata/resourceVersion', value: '7' },
        { op: 'replace', path: '/spec/template', value: template },
      ]);
      expect(writes.map((w) => [w.kind, w.obj.metadata.name])).toEqual([['deployment', 'podinfo']]);
    });

    it('fails, recording nothing, when the primary has moved on', async () => {
      api.on(
        (r) => r.path === `${DEPLOYMENTS}/podinfo`,
        (_r, res) => sendJson(res, 422, statusBody(422, 'Invalid', 'the test operation failed')),
      );
      const template = podTemplate('podinfo', 'img:2', 'green');
      await expect(
        actuator.apply(
          { kind: 'promote', name: 'podinfo', resourceVersion: '7', template },
          { namespace: 'test', name: 'podinfo' },
        ),
      ).rejects.toBeInstanceOf(SteererError);
      expect(writes).toEqual([]);
    });
  });

  describe('labelTargets', () => {
    it("merge-patches each target's labels, one Deployment at a time", async () => {
      await actuator.apply(
        {
          kind: 'labelTargets',
          rollout: 'podinfo',
          targets: [
            { name: 'podinfo', role: 'primary' },
            { name: 'podinfo-canary', role: 'canary' },
          ],
        },
        { namespace: 'test', name: 'podinfo' },
      );
      expect(
        api.requests.map((r) => [r.method, r.path, r.headers['content-type'], bodyOf(r)]),
      ).toEqual([
        [
          'PATCH',
          `${DEPLOYMENTS}/podinfo`,
          MERGE_PATCH,
          {
            metadata: {
              labels: { 'steerer.io/rollout': 'podinfo', 'steerer.io/role': 'primary' },
            },
          },
        ],
        [
          'PATCH',
          `${DEPLOYMENTS}/podinfo-canary`,
          MERGE_PATCH,
          {
            metadata: {
              labels: { 'steerer.io/rollout': 'podinfo', 'steerer.io/role': 'canary' },
            },
          },
        ],
      ]);
      expect(writes.map((w) => [w.kind, w.obj.metadata.name])).toEqual([
        ['deployment', 'podinfo'],
        ['deployment', 'podinfo-canary'],
      ]);
    });

    it('stops at the first failing target', async () => {
      api.on(
        (r) => r.path === `${DEPLOYMENTS}/podinfo`,
        (_r, res) =>
          sendJson(res, 404, statusBody(404, 'NotFound', 'deployments "podinfo" not found')),
      );
      const err = await actuator
        .apply(
          {
            kind: 'labelTargets',
            rollout: 'podinfo',
            targets: [
              { name: 'podinfo', role: 'primary' },
              { name: 'podinfo-canary', role: 'canary' },
            ],
          },
          { namespace: 'test', name: 'podinfo' },
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isApiError(err, 404)).toBe(true);
      expect(api.requests.map((r) => r.path)).toEqual([`${DEPLOYMENTS}/podinfo`]);
      expect(writes).toEqual([]);
    });
  });

  it("carries out the seed's first plan with the writes it names", async () => {
    const p = firstPlan();
    expect(p.actions.map((a) => a.kind)).toEqual(['addFinalizer', 'labelTargets', 'setWeights']);
    for (const a of p.actions) await actuator.apply(a, { namespace: 'test', name: 'podinfo' });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `PATCH ${ROLLOUT_STATUS.replace(/\/status$/, '')}`,
      `PATCH ${DEPLOYMENTS}/podinfo`,
      `PATCH ${DEPLOYMENTS}/podinfo-canary`,
      `PATCH ${VS}`,
    ]);
    expect(writes.map((w) => w.kind)).toEqual([
      'rollout',
      'deployment',
      'deployment',
      'route:VirtualService',
    ]);
  });
});
