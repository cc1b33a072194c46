import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCode, KubeClient, SteererError } from '@steerer/common';
import { FakeApiServer, sendJson, statusBody } from '@steerer/common/testing/fake-api-server';
import { CliError, Interrupted, describeKubeError } from './errors.js';
import type { Operation, Target } from './errors.js';
import { ClusterKube } from './kube.js';

const target: Target = {
  server: 'https://10.0.0.1:6443',
  kubeconfig: 'kubeconfig /home/me/.kube/config',
  context: 'prod',
};
const get: Operation = {
  verb: 'get',
  resource: 'rollouts.apps.weave.works',
  kind: 'rollout',
  namespace: 'test',
  name: 'podinfo',
};

function api(status: number, reason: string, message: string): SteererError {
  return new SteererError(
    ErrorCode.Api,
    `GET /apis/apps.weave.works/v1beta1/namespaces/test/rollouts/podinfo: HTTP ${status} ${reason}: ${message}`,
    { status, reason },
  );
}

describe('describeKubeError', () => {
  it('says which Rollout is missing, or that the resource is not served', () => {
    expect(
      describeKubeError(
        api(404, 'NotFound', 'rollouts.apps.weave.works "podinfo" not found'),
        get,
        target,
      ).message,
    ).toBe('rollout podinfo not found in namespace test');
    expect(
      describeKubeError(
        api(404, 'NotFound', 'the server could not find the requested resource'),
        get,
        target,
      ).message,
    ).toBe(
      "the cluster at https://10.0.0.1:6443 does not serve rollouts.apps.weave.works: is Steerer's CRD installed (kubectl apply -f charts/steerer/crds/rollouts.yaml)?",
    );
  });

  it('names the verb, the resource, the namespace and the user for a 403', () => {
    const e = api(
      403,
      'Forbidden',
      'rollouts.apps.weave.works "podinfo" is forbidden: User "system:serviceaccount:ci:deployer" cannot patch resource "rollouts" in API group "apps.weave.works" in the namespace "test"',
    );
    expect(describeKubeError(e, { ...get, verb: 'patch' }, target).message).toBe(
      'user "system:serviceaccount:ci:deployer" may not patch rollouts.apps.weave.works in namespace test: your RBAC must allow "patch" on rollouts.apps.weave.works in namespace test',
    );
    const all: Operation = { verb: 'list', resource: 'rollouts.apps.weave.works', kind: 'rollout' };
    expect(describeKubeError(api(403, 'Forbidden', 'nope'), all, target).message).toBe(
      'you may not list rollouts.apps.weave.works cluster-wide: your RBAC must allow "list" on rollouts.apps.weave.works cluster-wide (a ClusterRole with a ClusterRoleBinding)',
    );
  });

  it('points at the credentials for a 401', () => {
    expect(describeKubeError(api(401, 'Unauthorized', 'Unauthorized'), get, target).message).toBe(
      'the cluster at https://10.0.0.1:6443 did not accept your credentials (401 Unauthorized): log in again or check the user of context prod in kubeconfig /home/me/.kube/config',
    );
  });

  it('names the server and the kubeconfig when the cluster cannot be reached', () => {
    const refused = new SteererError(
      ErrorCode.Network,
      'GET /apis/x: connect ECONNREFUSED 10.0.0.1:6443',
      {
        cause: new Error('connect ECONNREFUSED 10.0.0.1:6443'),
      },
    );
    expect(describeKubeError(refused, get, target).message).toBe(
      'cannot reach the Kubernetes API server at https://10.0.0.1:6443 (connect ECONNREFUSED 10.0.0.1:6443): is the cluster running, and is kubeconfig /home/me/.kube/config the right one?',
    );
    const slow = new SteererError(ErrorCode.Timeout, 'GET /apis/x: no answer within 20000ms');
    expect(describeKubeError(slow, get, target).message).toMatch(
      /^the Kubernetes API server at https:\/\/10\.0\.0\.1:6443 did not answer in time/,
    );
  });

  it('passes other refusals on with the server’s words, and credential failures with the context', () => {
    expect(
      describeKubeError(
        api(422, 'Invalid', 'metadata.annotations: Invalid value'),
        { ...get, verb: 'patch' },
        target,
      ).message,
    ).toBe(
      'the API server refused to patch rollout podinfo in namespace test (HTTP 422): metadata.annotations: Invalid value',
    );
    expect(
      describeKubeError(new Error('ENOENT: no such file, open /x/client.crt'), get, target).message,
    ).toBe(
      'cannot connect with context prod of kubeconfig /home/me/.kube/config: ENOENT: no such file, open /x/client.crt',
    );
    expect(
      describeKubeError(new SteererError(ErrorCode.Aborted, 'aborted'), get, target),
    ).toBeInstanceOf(Interrupted);
    const own = new CliError('as it was');
    expect(describeKubeError(own, get, target)).toBe(own);
  });
});

describe('ClusterKube against an API server', () => {
  let server: FakeApiServer;
  let kube: ClusterKube;
  const controller = new AbortController();
  const ROLLOUTS = '/apis/apps.weave.works/v1beta1/namespaces/test/rollouts';

  beforeEach(async () => {
    server = await FakeApiServer.start();
    const client = new KubeClient(server.kubeConfig());
    kube = new ClusterKube(client, { ...target, server: server.url }, controller.signal);
  });

  afterEach(async () => {
    kube.close();
    await server.close();
  });

  async function failure(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      return (e as CliError).message;
    }
    throw new Error('expected a failure');
  }

  it('maps the answers of a real HTTP exchange to the sentences', async () => {
    server.on(
      (r) => r.path === `${ROLLOUTS}/nope`,
      (_r, res) =>
        sendJson(
          res,
          404,
          statusBody(404, 'NotFound', 'rollouts.apps.weave.works "nope" not found'),
        ),
    );
    server.on(
      (r) => r.path === '/api/v1/namespaces/test/events',
      (_r, res) =>
        sendJson(
          res,
          403,
          statusBody(
            403,
            'Forbidden',
            'events is forbidden: User "jane" cannot list resource "events" in API group "" in the namespace "test"',
          ),
        ),
    );
    expect(await failure(kube.getRollout('test', 'nope'))).toBe(
      'rollout nope not found in namespace test',
    );
    expect(await failure(kube.listEvents('test', 'podinfo'))).toBe(
      'user "jane" may not list events in namespace test: your RBAC must allow "list" on events in namespace test',
    );
    const events = server.requests.find((r) => r.path.endsWith('/events'));
    expect(events?.query.get('fieldSelector')).toBe(
      'involvedObject.name=podinfo,involvedObject.kind=Rollout',
    );
  });

  it('merge-patches the request annotation as kubectl-steerer', async () => {
    server.on(
      (r) => r.method === 'PATCH',
      (_r, res) =>
        sendJson(res, 200, { metadata: { name: 'podinfo', namespace: 'test' }, spec: {} }),
    );
    await kube.annotateRequest('test', 'podinfo', 'promote-force');
    const patch = server.requests.find((r) => r.method === 'PATCH');
    expect(patch?.path).toBe(`${ROLLOUTS}/podinfo`);
    expect(patch?.headers['content-type']).toBe('application/merge-patch+json');
    expect(patch?.query.get('fieldManager')).toBe('kubectl-steerer');
    expect(JSON.parse(patch?.body ?? '')).toEqual({
      metadata: { annotations: { 'steerer.io/request': 'promote-force' } },
    });
  });

  it('says the server cannot be reached when nothing listens', async () => {
    const url = server.url;
    await server.close();
    const message = await failure(kube.listRollouts(undefined));
    expect(message).toBe(
      `cannot reach the Kubernetes API server at ${url} (connect ECONNREFUSED ${url.replace('http://', '')}): is the cluster running, and is kubeconfig /home/me/.kube/config the right one?`,
    );
    server = await FakeApiServer.start();
  });

  it('follows one Rollout and its Events until the Rollout is deleted', async () => {
    const rollout = {
      metadata: { name: 'podinfo', namespace: 'test', resourceVersion: '5' },
      spec: {},
    };
    server.on(
      (r) => r.path === ROLLOUTS && r.query.get('watch') !== 'true',
      (_r, res) => sendJson(res, 200, { metadata: { resourceVersion: '5' }, items: [rollout] }),
    );
    server.on(
      (r) => r.path === '/api/v1/namespaces/test/events' && r.query.get('watch') !== 'true',
      (_r, res) => sendJson(res, 200, { metadata: { resourceVersion: '5' }, items: [] }),
    );
    server.streamWatches();
    const seen: string[] = [];
    const stop = new AbortController();
    let sawEvent = (): void => undefined;
    const eventSeen = new Promise<void>((resolve) => (sawEvent = resolve));
    const done = kube.watch(
      'test',
      'podinfo',
      {
        rollout: (r) => {
          seen.push(r ? `rollout ${r.metadata.resourceVersion ?? ''}` : 'deleted');
          if (!r) stop.abort();
        },
        events: (list) => {
          seen.push(`events ${list.length}`);
          if (list.length > 0) sawEvent();
        },
        trouble: () => undefined,
      },
      stop.signal,
    );
    const watches = [await server.nextWatch(), await server.nextWatch()];
    const rolloutWatch = watches.find((w) => w.request.path === ROLLOUTS);
    const eventWatch = watches.find((w) => w.request.path.endsWith('/events'));
    expect(rolloutWatch?.request.query.get('fieldSelector')).toBe('metadata.name=podinfo');
    eventWatch?.send('ADDED', {
      metadata: { name: 'e1', namespace: 'test', resourceVersion: '6' },
      message: 'Starting rollout for podinfo.test',
    });
    await eventSeen;
    rolloutWatch?.send('MODIFIED', {
      ...rollout,
      metadata: { ...rollout.metadata, resourceVersion: '7' },
    });
    rolloutWatch?.send('DELETED', {
      ...rollout,
      metadata: { ...rollout.metadata, resourceVersion: '8' },
    });
    await done;
    expect(seen.filter((s) => s.startsWith('rollout') || s === 'deleted')).toEqual([
      'rollout 5',
      'rollout 7',
      'deleted',
    ]);
    expect(seen).toContain('events 1');
    expect(rolloutWatch?.request.query.get('resourceVersion')).toBe('5');
  });
});
