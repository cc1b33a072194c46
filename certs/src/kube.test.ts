// The adapters against a fake API server on port 0: checks the wire format client-node 1.x
// produces (paths, verbs, patch content type, resourceVersion) and the error mapping.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { isCertsApiError } from './errors.js';
import { kubeSecretClient, kubeWebhookConfigClient } from './kube.js';

interface Recorded {
  method: string | undefined;
  url: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

const requests: Recorded[] = [];
let server: http.Server;
let kubeConfig: KubeConfig;

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  reason,
  message,
  code,
});

const routes: Record<string, (body: unknown) => [number, unknown]> = {
  'GET /api/v1/namespaces/ns/secrets/tls': () => [
    200,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls', namespace: 'ns', resourceVersion: '7' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'eA==' },
    },
  ],
  'GET /api/v1/namespaces/ns/secrets/missing': () => [
    404,
    status(404, 'NotFound', 'secrets "missing" not found'),
  ],
  'GET /api/v1/namespaces/ns/secrets/forbidden': () => [
    403,
    status(403, 'Forbidden', 'secrets "forbidden" is forbidden: User cannot get resource'),
  ],
  'POST /api/v1/namespaces/ns/secrets': () => [
    409,
    status(409, 'AlreadyExists', 'secrets "tls" already exists'),
  ],
  'PUT /api/v1/namespaces/ns/secrets/tls': (body) => [200, body],
  'PUT /api/v1/namespaces/ns/secrets/stale': () => [
    409,
    status(
      409,
      'Conflict',
      'Operation cannot be fulfilled on secrets "stale": the object has been modified',
    ),
  ],
  'GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/steerer': () => [
    200,
    {
      metadata: { name: 'steerer', resourceVersion: '3' },
      webhooks: [{ name: 'a.steerer.io', clientConfig: {} }],
    },
  ],
  'GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/absent': () => [
    404,
    status(404, 'NotFound', 'not found'),
  ],
  'PATCH /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/steerer': () => [
    200,
    { metadata: { name: 'steerer', resourceVersion: '4' }, webhooks: [] },
  ],
  'PATCH /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/steerer': () => [
    422,
    status(422, 'Invalid', 'the server rejected our request due to an error in our request'),
  ],
};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body: unknown = raw === '' ? undefined : JSON.parse(raw);
      requests.push({
        method: req.method,
        url: req.url,
        contentType: req.headers['content-type'],
        body,
      });
      const route = routes[`${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}`];
      const [code, payload] = route?.(body) ?? [500, status(500, 'InternalError', 'no route')];
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  kubeConfig = kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(() => {
  server.close();
});

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return kc;
}

const last = (): Recorded | undefined => requests[requests.length - 1];

describe('kubeSecretClient', () => {
  it('reads a Secret, and maps 404 to undefined', async () => {
    const client = kubeSecretClient(kubeConfig);
    const secret = await client.get('ns', 'tls');
    expect(secret).toMatchObject({
      metadata: { name: 'tls', resourceVersion: '7' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'eA==' },
    });
    expect(await client.get('ns', 'missing')).toBeUndefined();
  });

  it('maps 409 on create to Conflict, with the Status message', async () => {
    const error = await kubeSecretClient(kubeConfig)
      .create('ns', { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: {} })
      .catch((e: unknown) => e);
    expect(isCertsApiError(error, 'Conflict')).toBe(true);
    expect((error as Error).message).toBe('create Secret ns/tls: secrets "tls" already exists');
    expect(last()).toMatchObject({ method: 'POST', body: { metadata: { name: 'tls' } } });
  });

  it('sends the resourceVersion precondition on replace; a stale one is Conflict', async () => {
    const client = kubeSecretClient(kubeConfig);
    await client.replace('ns', 'tls', {
      metadata: { name: 'tls', resourceVersion: '7' },
      data: { 'tls.crt': 'eQ==' },
    });
    expect(last()).toMatchObject({
      method: 'PUT',
      body: { metadata: { resourceVersion: '7' }, data: { 'tls.crt': 'eQ==' } },
    });
    const error = await client
      .replace('ns', 'stale', { metadata: { name: 'stale', resourceVersion: '1' } })
      .catch((e: unknown) => e);
    expect(isCertsApiError(error, 'Conflict')).toBe(true);
    expect((error as { status?: number }).status).toBe(409);
  });

  it('maps other statuses by code, and transport failures to Unavailable', async () => {
    const forbidden = await kubeSecretClient(kubeConfig)
      .get('ns', 'forbidden')
      .catch((e: unknown) => e);
    expect(isCertsApiError(forbidden, 'Forbidden')).toBe(true);
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    closed.close();
    await once(closed, 'close');
    const refused = await kubeSecretClient(kubeConfigFor(url))
      .get('ns', 'tls')
      .catch((e: unknown) => e);
    expect(isCertsApiError(refused, 'Unavailable')).toBe(true);
  });
});

describe('kubeWebhookConfigClient', () => {
  it('reads configurations, and maps 404 to undefined', async () => {
    const client = kubeWebhookConfigClient(kubeConfig);
    expect(await client.get('MutatingWebhookConfiguration', 'steerer')).toMatchObject({
      webhooks: [{ name: 'a.steerer.io' }],
    });
    expect(await client.get('ValidatingWebhookConfiguration', 'absent')).toBeUndefined();
  });

  it('sends a JSON Patch with the json-patch content type', async () => {
    const ops = [
      { op: 'test' as const, path: '/webhooks/0/name', value: 'a.steerer.io' },
      { op: 'add' as const, path: '/webhooks/0/clientConfig/caBundle', value: 'Q0E=' },
    ];
    await kubeWebhookConfigClient(kubeConfig).patch(
      'ValidatingWebhookConfiguration',
      'steerer',
      ops,
    );
    expect(last()).toEqual({
      method: 'PATCH',
      url: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/steerer',
      contentType: 'application/json-patch+json',
      body: ops,
    });
  });

  it('maps a rejected patch (failed test op) to Invalid', async () => {
    const error = await kubeWebhookConfigClient(kubeConfig)
      .patch('MutatingWebhookConfiguration', 'steerer', [])
      .catch((e: unknown) => e);
    expect(isCertsApiError(error, 'Invalid')).toBe(true);
  });
});
