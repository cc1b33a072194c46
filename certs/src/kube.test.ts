// The KubeClient adapters against common's fake API server: the paths, verbs, bodies and patch
// content type they send, 404 as undefined, and errors rethrown as SteererError with their
// status kept and key material redacted.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient, applyJsonPatch } from '@steerer/common';
import { ErrorCode, SteererError, isApiError, type JsonPatchOp } from '@steerer/common/model';
import { FakeApiServer, sendJson, statusBody } from '@steerer/common/testing/fake-api-server';
import type { ApiRequest } from '@steerer/common/testing/fake-api-server';
import { injectCABundle, type WebhookConfiguration } from './ca-bundle.js';
import { kubeSecretClient, kubeWebhookConfigClient } from './kube.js';
import { describeError } from './redact.js';

const SECRETS = '/api/v1/namespaces/ns/secrets';
const MUTATING = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const VALIDATING = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const TLS_SECRET = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'tls', namespace: 'ns', resourceVersion: '7' },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': 'eA==' },
};

let api: FakeApiServer;
let client: KubeClient;

beforeEach(async () => {
  api = await FakeApiServer.start();
  client = new KubeClient(api.kubeConfig());
});

afterEach(async () => {
  client.close();
  await api.close();
});

/** Answers `method path` with `status` and `body`. */
function answer(method: string, path: string, status: number, body: unknown): void {
  api.on(
    (r) => r.method === method && r.path === path,
    (_r, res) => sendJson(res, status, body),
  );
}

const last = (): ApiRequest | undefined => api.requests[api.requests.length - 1];

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );

describe('kubeSecretClient', () => {
  it('reads a Secret, and maps 404 to undefined', async () => {
    answer('GET', `${SECRETS}/tls`, 200, TLS_SECRET);
    const secrets = kubeSecretClient(client);
    expect(await secrets.get('ns', 'tls')).toEqual(TLS_SECRET);
    expect(await secrets.get('ns', 'missing')).toBeUndefined(); // the fake's default is 404
    expect(last()).toMatchObject({ method: 'GET', path: `${SECRETS}/missing` });
  });

  it('creates with POST to the collection; a taken name is a 409 API error', async () => {
    answer('POST', SECRETS, 409, statusBody(409, 'AlreadyExists', 'secrets "tls" already exists'));
    const secret = { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: {} };
    const error = await rejection(kubeSecretClient(client).create('ns', secret));
    expect(isApiError(error, 409)).toBe(true);
    expect(error).toMatchObject({ reason: 'AlreadyExists' });
    expect((error as Error).message).toContain('secrets "tls" already exists');
    expect(JSON.parse(last()?.body ?? '')).toEqual(secret);
  });

  it('replaces with PUT carrying the resourceVersion; a stale one is a 409 API error', async () => {
    api.on(
      (r) => r.method === 'PUT' && r.path === `${SECRETS}/tls`,
      (r, res) => sendJson(res, 200, JSON.parse(r.body)),
    );
    answer(
      'PUT',
      `${SECRETS}/stale`,
      409,
      statusBody(409, 'Conflict', 'the object has been modified'),
    );
    const secrets = kubeSecretClient(client);
    const next = { metadata: { name: 'tls', resourceVersion: '7' }, data: { 'tls.crt': 'eQ==' } };
    expect(await secrets.replace('ns', 'tls', next)).toEqual(next);
    expect(JSON.parse(last()?.body ?? '')).toEqual(next);
    const stale = { metadata: { name: 'stale', resourceVersion: '1' } };
    const error = await rejection(secrets.replace('ns', 'stale', stale));
    expect(isApiError(error, 409)).toBe(true);
  });

  it('rethrows other statuses from get, and transport failures as Network', async () => {
    answer('GET', `${SECRETS}/forbidden`, 403, statusBody(403, 'Forbidden', 'cannot get secrets'));
    const forbidden = await rejection(kubeSecretClient(client).get('ns', 'forbidden'));
    expect(isApiError(forbidden, 403)).toBe(true);

    const gone = await FakeApiServer.start();
    const closed = new KubeClient(gone.kubeConfig());
    await gone.close();
    const refused = await rejection(kubeSecretClient(closed).get('ns', 'tls'));
    closed.close();
    expect(refused).toBeInstanceOf(SteererError);
    expect(refused).toMatchObject({ code: ErrorCode.Network });
  });

  it('redacts key material an API error quotes, keeping code and status', async () => {
    const pem = `-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(40)}\n-----END PRIVATE KEY-----`;
    const base64 = Buffer.from(pem).toString('base64');
    answer('PUT', `${SECRETS}/tls`, 422, statusBody(422, 'Invalid', `denied: ${pem} ${base64}`));
    const error = await rejection(kubeSecretClient(client).replace('ns', 'tls', {}));
    expect(isApiError(error, 422)).toBe(true);
    expect(error).toMatchObject({ reason: 'Invalid' });
    const message = (error as Error).message;
    expect(message).toContain('denied: [redacted PEM] [redacted]');
    expect(message).not.toContain('QUJDQUJD');
    expect(describeError(error)).toMatch(/^Api \(422\): PUT .*denied: \[redacted PEM\]/);
  });
});

describe('kubeWebhookConfigClient', () => {
  it('reads configurations by kind, and maps 404 to undefined', async () => {
    answer('GET', `${MUTATING}/steerer`, 200, {
      metadata: { name: 'steerer', resourceVersion: '3' },
      webhooks: [{ name: 'a.steerer.io', clientConfig: {} }],
    });
    const configs = kubeWebhookConfigClient(client);
    expect(await configs.get('MutatingWebhookConfiguration', 'steerer')).toMatchObject({
      webhooks: [{ name: 'a.steerer.io' }],
    });
    expect(await configs.get('ValidatingWebhookConfiguration', 'absent')).toBeUndefined();
    expect(last()?.path).toBe(`${VALIDATING}/absent`);
  });

  it('sends a JSON Patch with the json-patch content type', async () => {
    answer('PATCH', `${VALIDATING}/steerer`, 200, { metadata: { name: 'steerer' } });
    const ops: JsonPatchOp[] = [
      { op: 'test', path: '/webhooks/0/name', value: 'a.steerer.io' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'Q0E=' },
    ];
    await kubeWebhookConfigClient(client).patch('ValidatingWebhookConfiguration', 'steerer', ops);
    expect(last()).toMatchObject({ method: 'PATCH', path: `${VALIDATING}/steerer` });
    expect(last()?.headers['content-type']).toBe('application/json-patch+json');
    expect(JSON.parse(last()?.body ?? '')).toEqual(ops);
  });

  it('rethrows a rejected patch (a failed test op) as a 422 API error', async () => {
    answer('PATCH', `${MUTATING}/steerer`, 422, statusBody(422, 'Invalid', 'test failed'));
    const error = await rejection(
      kubeWebhookConfigClient(client).patch('MutatingWebhookConfiguration', 'steerer', []),
    );
    expect(isApiError(error, 422)).toBe(true);
  });

  it('lets injectCABundle publish a bundle through a server that applies the patch', async () => {
    let stored: WebhookConfiguration = {
      metadata: { name: 'steerer', resourceVersion: '1' },
      webhooks: [{ name: 'a.steerer.io' }, { name: 'b.steerer.io', clientConfig: {} }],
    };
    api.on(
      (r) => r.path === `${MUTATING}/steerer` && r.method === 'GET',
      (_r, res) => sendJson(res, 200, stored),
    );
    api.on(
      (r) => r.path === `${MUTATING}/steerer` && r.method === 'PATCH',
      (r, res) => {
        stored = applyJsonPatch(stored, JSON.parse(r.body) as JsonPatchOp[]);
        sendJson(res, 200, stored);
      },
    );
    const pem = '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n';
    const summary = await injectCABundle(kubeWebhookConfigClient(client), {
      mutating: ['steerer'],
      caBundlePEM: pem,
    });
    expect(summary.results).toEqual([
      { kind: 'MutatingWebhookConfiguration', name: 'steerer', outcome: 'Updated', patched: 2 },
    ]);
    const b64 = Buffer.from(pem).toString('base64');
    expect(stored.webhooks?.map((w) => w.clientConfig?.caBundle)).toEqual([b64, b64]);
  });
});
