import { beforeAll, describe, expect, it } from '@jest/globals';
import { generateCertificateMaterial } from './generate.js';
import { loadCertificate } from './load.js';
import type { CertificateMaterial } from './material.js';
import { secretForMaterial } from './secret.js';
import { InMemorySecretClient, keyPool } from './testing.js';

const NOW = new Date('2030-03-01T12:00:00Z');
const DNS = ['steerer-webhook.istio-system.svc'];
let external: CertificateMaterial;

beforeAll(async () => {
  const { caKeyPEM: _notShared, ...material } = await generateCertificateMaterial({
    dnsNames: DNS,
    now: NOW,
    generateKeyPair: await keyPool(2, 1024),
  });
  external = material; // what cert-manager writes: tls.crt, tls.key, ca.crt — no CA key
});

const opts = {
  namespace: 'istio-system',
  secretName: 'steerer-webhook-tls',
  dnsNames: DNS,
  now: NOW,
};

describe('loadCertificate (external mode)', () => {
  it('reads a cert-manager style Secret without writing', async () => {
    const client = new InMemorySecretClient();
    client.put(
      opts.namespace,
      opts.secretName,
      secretForMaterial(external, { namespace: opts.namespace, name: opts.secretName }),
    );
    const result = await loadCertificate(client, opts);
    expect(result).toEqual({ found: true, material: external, resourceVersion: '1' });
    expect(client.calls.map((c) => c.op)).toEqual(['get']);
  });

  it('reports an absent Secret as not found', async () => {
    const result = await loadCertificate(new InMemorySecretClient(), opts);
    expect(result).toEqual({
      found: false,
      message: 'Secret istio-system/steerer-webhook-tls does not exist',
    });
  });

  it('reports an incomplete Secret as not found, naming the missing keys', async () => {
    const client = new InMemorySecretClient();
    client.put(opts.namespace, opts.secretName, { data: { 'tls.crt': 'eA==' } });
    expect(await loadCertificate(client, opts)).toMatchObject({
      found: false,
      message: expect.stringContaining('tls.key'),
    });
  });

  it('returns the material with a problem when it lacks a required name', async () => {
    const client = new InMemorySecretClient();
    client.put(
      opts.namespace,
      opts.secretName,
      secretForMaterial(external, { namespace: opts.namespace, name: opts.secretName }),
    );
    const result = await loadCertificate(client, {
      ...opts,
      dnsNames: [...DNS, 'steerer-webhook'],
    });
    expect(result).toMatchObject({ found: true, problem: { reason: 'MissingSAN' } });
  });
});
