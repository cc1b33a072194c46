import { beforeAll, describe, expect, it } from '@jest/globals';
import { isApiError } from '@steerer/common/model';
import {
  ensureCertificate,
  validateIssuancePolicy,
  type EnsureCertificateOptions,
} from './ensure.js';
import type { KeyPairGenerator } from './generate.js';
import { inspectCertificate, splitPEMBundle, verifyChain } from './inspect.js';
import { needsRotation } from './rotation.js';
import { materialFromSecret, secretForMaterial } from './secret.js';
import { InMemorySecretClient, keyPool } from './testing.js';

const NOW = new Date('2030-03-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const NS = 'istio-system';
const NAME = 'steerer-webhook-tls';
const DNS = ['steerer-webhook', 'steerer-webhook.istio-system.svc'];

let keys: KeyPairGenerator;

beforeAll(async () => {
  keys = await keyPool(40, 1024);
});

const options = (overrides: Partial<EnsureCertificateOptions> = {}): EnsureCertificateOptions => ({
  namespace: NS,
  secretName: NAME,
  dnsNames: DNS,
  ips: ['127.0.0.1'],
  now: NOW,
  generateKeyPair: keys,
  ...overrides,
});

function stored(client: InMemorySecretClient) {
  const secret = client.secrets.get(`${NS}/${NAME}`);
  if (secret === undefined) throw new Error('no Secret stored');
  const decoded = materialFromSecret(secret);
  if (!decoded.ok) throw new Error('stored Secret incomplete');
  return { secret, material: decoded.material };
}

/** Holds every caller of `op` until `count` callers arrived, so they interleave exactly. */
function barrier(client: InMemorySecretClient, op: 'get' | 'replace', count: number): void {
  let waiting: Array<() => void> = [];
  let armed = true;
  client.before = (called) => {
    if (!armed || called !== op) return;
    return new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === count) {
        armed = false;
        waiting.forEach((release) => release());
        waiting = [];
      }
    });
  };
}

describe('ensureCertificate: absent Secret', () => {
  it('creates a kubernetes.io/tls Secret with tls.crt, tls.key, ca.crt and ca.key', async () => {
    const client = new InMemorySecretClient();
    const result = await ensureCertificate(client, options());
    expect(result).toMatchObject({
      action: 'Created',
      changed: true,
      reason: 'Missing',
      resourceVersion: '1',
    });
    const { secret, material } = stored(client);
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual([
      'ca.crt',
      'ca.key',
      'tls.crt',
      'tls.key',
    ]);
    expect(secret.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'steerer' });
    expect(material).toEqual(result.material);
    expect(verifyChain(material.caCertPEM, material.certPEM)).toBe(true);
    expect(needsRotation(material, NOW, { dnsNames: DNS, ips: ['127.0.0.1'] }).rotate).toBe(false);
  });

  it('lets two replicas starting at once agree on ONE certificate (the loser adopts the winner)', async () => {
    const client = new InMemorySecretClient();
    barrier(client, 'get', 2);
    const [a, b] = await Promise.all([
      ensureCertificate(client, options()),
      ensureCertificate(client, options()),
    ]);
    expect([a.action, b.action].sort()).toEqual(['Adopted', 'Created']);
    expect(a.material).toEqual(b.material);
    expect(b.changed && a.changed).toBe(true);
    expect(stored(client).material).toEqual(a.material);
    expect(client.calls.filter((c) => c.op === 'create')).toHaveLength(2);
    expect(client.calls.filter((c) => c.op === 'replace')).toHaveLength(0);
  });
});

describe('ensureCertificate: existing Secret', () => {
  it('leaves valid material alone and writes nothing', async () => {
    const client = new InMemorySecretClient();
    const created = await ensureCertificate(client, options());
    const again = await ensureCertificate(
      client,
      options({ now: new Date(NOW.getTime() + 100 * DAY) }),
    );
    expect(again).toMatchObject({ action: 'Unchanged', changed: false, resourceVersion: '1' });
    expect(again.material).toEqual(created.material);
    expect(client.calls.map((c) => c.op)).toEqual(['get', 'create', 'get']);
  });

  it('re-issues only the serving certificate, with the same CA, once it is due', async () => {
    const client = new InMemorySecretClient();
    const created = await ensureCertificate(client, options({ renewBeforeMs: 30 * DAY }));
    const due = new Date(
      inspectCertificate(created.material.certPEM).notAfter.getTime() - 30 * DAY + 1000,
    );
    const rotated = await ensureCertificate(client, options({ renewBeforeMs: 30 * DAY, now: due }));
    expect(rotated).toMatchObject({
      action: 'Rotated',
      changed: true,
      reason: 'ExpiringSoon',
      resourceVersion: '2',
    });
    expect(rotated.material.caCertPEM).toBe(created.material.caCertPEM);
    expect(rotated.material.caKeyPEM).toBe(created.material.caKeyPEM);
    expect(rotated.material.certPEM).not.toBe(created.material.certPEM);
    expect(verifyChain(rotated.material.caCertPEM, rotated.material.certPEM)).toBe(true);
    expect(inspectCertificate(rotated.material.certPEM).notBefore.getTime()).toBeLessThan(
      due.getTime(),
    );
    expect(stored(client).material).toEqual(rotated.material);
  });

  it('re-issues when a required name was added to the configuration', async () => {
    const client = new InMemorySecretClient();
    await ensureCertificate(client, options());
    const result = await ensureCertificate(
      client,
      options({ dnsNames: [...DNS, 'steerer-webhook.istio-system'] }),
    );
    expect(result).toMatchObject({ action: 'Rotated', reason: 'MissingSAN' });
    expect(inspectCertificate(result.material.certPEM).dnsNames).toContain(
      'steerer-webhook.istio-system',
    );
  });

  it('on a stale resourceVersion (409) re-reads and adopts the winner instead of overwriting it', async () => {
    const client = new InMemorySecretClient();
    const created = await ensureCertificate(client, options({ renewBeforeMs: 30 * DAY }));
    const due = new Date(
      inspectCertificate(created.material.certPEM).notAfter.getTime() - 29 * DAY,
    );
    barrier(client, 'get', 2);
    const [a, b] = await Promise.all([
      ensureCertificate(client, options({ renewBeforeMs: 30 * DAY, now: due })),
      ensureCertificate(client, options({ renewBeforeMs: 30 * DAY, now: due })),
    ]);
    expect([a.action, b.action].sort()).toEqual(['Adopted', 'Rotated']);
    expect(a.material).toEqual(b.material);
    expect(a.material.certPEM).not.toBe(created.material.certPEM);
    expect(stored(client).material).toEqual(a.material);
    expect(stored(client).secret.metadata?.resourceVersion).toBe('2'); // exactly one replace won
  });

  it('a forced rotation is satisfied by a racing writer (no second rotation)', async () => {
    const client = new InMemorySecretClient();
    await ensureCertificate(client, options());
    barrier(client, 'get', 2);
    const [a, b] = await Promise.all([
      ensureCertificate(client, options({ force: 'serving' })),
      ensureCertificate(client, options({ force: 'serving' })),
    ]);
    expect([a.action, b.action].sort()).toEqual(['Adopted', 'Rotated']);
    expect(a.material).toEqual(b.material);
    expect(stored(client).secret.metadata?.resourceVersion).toBe('2');
  });

  it('forced rotation of everything keeps the previous CA in ca.crt so old replicas stay trusted', async () => {
    const client = new InMemorySecretClient();
    const created = await ensureCertificate(client, options());
    const rotated = await ensureCertificate(client, options({ force: 'all' }));
    expect(rotated).toMatchObject({ action: 'Rotated', reason: 'Forced' });
    const bundle = splitPEMBundle(rotated.material.caCertPEM);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]).toBe(created.material.caCertPEM);
    expect(rotated.material.caKeyPEM).not.toBe(created.material.caKeyPEM);
    expect(verifyChain(bundle[0] ?? '', rotated.material.certPEM)).toBe(true);
    expect(verifyChain(rotated.material.caCertPEM, created.material.certPEM)).toBe(true);
    // The next CA rotation drops the oldest CA: the bundle never grows beyond two.
    const third = await ensureCertificate(client, options({ force: 'all' }));
    expect(splitPEMBundle(third.material.caCertPEM)).toEqual([expect.any(String), bundle[0]]);
  });

  it('replaces the CA (dropping it once expired) when the CA is past its renewal time', async () => {
    const client = new InMemorySecretClient();
    const short = { caValidityMs: 90 * DAY, validityMs: 20 * DAY, renewBeforeMs: 5 * DAY };
    const created = await ensureCertificate(client, options(short));
    const caNotAfter = inspectCertificate(created.material.caCertPEM).notAfter.getTime();
    const afterCAExpiry = new Date(caNotAfter + 1000);
    const rotated = await ensureCertificate(client, options({ ...short, now: afterCAExpiry }));
    expect(rotated).toMatchObject({ action: 'Rotated', reason: 'CAExpired' });
    expect(splitPEMBundle(rotated.material.caCertPEM)).toHaveLength(1);
    expect(rotated.material.caCertPEM).not.toBe(created.material.caCertPEM);
  });

  it('fills a Secret created empty by the chart, keeping its type and metadata', async () => {
    const client = new InMemorySecretClient();
    client.put(NS, NAME, {
      metadata: { name: NAME, labels: { 'helm.sh/chart': 'steerer' } },
      type: 'Opaque',
    });
    const result = await ensureCertificate(client, options());
    expect(result).toMatchObject({ action: 'Rotated', reason: 'Incomplete' });
    const { secret } = stored(client);
    expect(secret.type).toBe('Opaque'); // a Secret's type is immutable
    expect(secret.metadata?.labels).toMatchObject({ 'helm.sh/chart': 'steerer' });
  });

  it('gives up with a Conflict error when every write loses', async () => {
    const client = new InMemorySecretClient();
    await ensureCertificate(client, options());
    const other = new InMemorySecretClient();
    const foreign = (await ensureCertificate(other, options())).material;
    client.before = (op) => {
      // Another writer changes the Secret between each read and our replace.
      if (op === 'replace')
        client.put(
          NS,
          NAME,
          secretForMaterial({ ...foreign, certPEM: 'broken' }, { namespace: NS, name: NAME }),
        );
    };
    const failure = await ensureCertificate(
      client,
      options({ force: 'serving', maxAttempts: 2 }),
    ).catch((e: unknown) => e);
    expect(isApiError(failure, 409)).toBe(true);
    expect(client.calls.filter((c) => c.op === 'replace')).toHaveLength(2);
  });

  it('propagates API errors other than conflicts', async () => {
    const client = new InMemorySecretClient();
    client.before = (op) => {
      if (op === 'get') throw new (class extends Error {})('boom');
    };
    await expect(ensureCertificate(client, options())).rejects.toThrow('boom');
  });
});

describe('validateIssuancePolicy', () => {
  it.each([
    [{ renewBeforeMs: 365 * DAY }, /renewBeforeMs must be shorter/],
    [{ validityMs: 10 * DAY, renewBeforeMs: 10 * DAY }, /renewBeforeMs must be shorter/],
    [{ caValidityMs: 30 * DAY, caRenewBeforeMs: 30 * DAY }, /caRenewBeforeMs must be shorter/],
    [{ caValidityMs: 90 * DAY, renewBeforeMs: 31 * DAY }, /renewBeforeMs must be shorter/],
    [{ validityMs: -1 }, /validityMs must be positive/],
  ])('rejects %j, which would rotate on every pass', (policy, message) => {
    expect(() => validateIssuancePolicy({ dnsNames: DNS, ...policy })).toThrow(message);
  });

  it('accepts the defaults', () => {
    expect(() => validateIssuancePolicy({ dnsNames: DNS })).not.toThrow();
  });
});
