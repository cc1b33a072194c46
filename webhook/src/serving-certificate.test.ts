import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  generateCertificateMaterial,
  inspectCertificate,
  secretForMaterial,
  splitPEMBundle,
  writeCertificateDir,
} from '@steerer/certs';
import type { CertificateMaterial, KeyPairGenerator } from '@steerer/certs';
import { InMemorySecretClient, InMemoryWebhookConfigClient, keyPool } from '@steerer/certs/testing';
import { MemoryLogger } from '@steerer/common';
import { WebhookMetrics } from './metrics.js';
import { ServingCertificate } from './serving-certificate.js';
import type { CertificateSourceOptions } from './serving-certificate.js';

let keys: KeyPairGenerator;
let dir: string;

beforeAll(async () => {
  keys = await keyPool(12, 1024);
  dir = await mkdtemp(join(tmpdir(), 'steerer-webhook-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

class FakeServer {
  readonly contexts: SecureContextOptions[] = [];
  setSecureContext(options: SecureContextOptions): void {
    this.contexts.push(options);
  }
}

function managed() {
  const secrets = new InMemorySecretClient();
  const configs = new InMemoryWebhookConfigClient();
  configs.set('MutatingWebhookConfiguration', 'steerer-webhook', [
    'deployments.webhook.steerer.io',
  ]);
  configs.set('ValidatingWebhookConfiguration', 'steerer-webhook', [
    'rollouts.webhook.steerer.io',
    'virtualservices.webhook.steerer.io',
  ]);
  const source: CertificateSourceOptions = {
    kind: 'secret',
    mode: 'managed',
    secrets,
    webhookConfigs: configs,
    namespace: 'steerer',
    secretName: 'steerer-webhook-tls',
    dnsNames: ['steerer-webhook', 'steerer-webhook.steerer.svc'],
    ips: ['127.0.0.1'],
    webhookConfigName: 'steerer-webhook',
    checkIntervalMs: 3_600_000,
    generateKeyPair: keys,
  };
  return { secrets, configs, source };
}

function serving(source: CertificateSourceOptions, sleeps: number[] = []) {
  const logger = new MemoryLogger();
  const metrics = new WebhookMetrics({ defaultMetrics: false });
  const cert = new ServingCertificate({
    source,
    caPropagationDelayMs: 5000,
    logger,
    metrics,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return { cert, logger, metrics };
}

const fingerprint = (pem: string | CertificateMaterial): string =>
  inspectCertificate(typeof pem === 'string' ? pem : pem.certPEM).fingerprint256;

describe('ServingCertificate (managed Secret)', () => {
  it('creates the Secret, publishes the CA to both configurations and serves the certificate', async () => {
    const { secrets, configs, source } = managed();
    const { cert, metrics } = serving(source);
    const stop = new AbortController();
    const m = await cert.start(stop.signal);
    expect(secrets.secrets.has('steerer/steerer-webhook-tls')).toBe(true);
    const bundle = Buffer.from(m.caCertPEM).toString('base64');
    expect(configs.caBundles('MutatingWebhookConfiguration', 'steerer-webhook')).toEqual([bundle]);
    expect(configs.caBundles('ValidatingWebhookConfiguration', 'steerer-webhook')).toEqual([
      bundle,
      bundle,
    ]);
    expect(inspectCertificate(m.certPEM).ips).toEqual(['127.0.0.1']);
    expect((await metrics.certificateNotAfter.get()).values[0]?.value).toBeGreaterThan(
      Date.now() / 1000,
    );
    stop.abort();
  });

  it('SIGHUP-style rotation swaps a new serving certificate in at once, same CA', async () => {
    const { source } = managed();
    const sleeps: number[] = [];
    const { cert, metrics, logger } = serving(source, sleeps);
    const stop = new AbortController();
    const first = await cert.start(stop.signal);
    const server = new FakeServer();
    cert.attach(server, first);
    expect(server.contexts).toHaveLength(0);
    await cert.rotate('serving');
    expect(server.contexts).toHaveLength(1);
    const served = server.contexts[0]?.cert as string;
    expect(fingerprint(served)).not.toBe(fingerprint(first));
    expect(cert.current?.caCertPEM).toBe(first.caCertPEM);
    expect(sleeps).toEqual([]);
    expect((await metrics.certificateReloads.get()).values[0]?.value).toBe(1);
    expect(logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toMatch(/PRIVATE KEY/);
    stop.abort();
  });

  it('a CA rotation publishes old+new CAs and waits before serving the new certificate', async () => {
    const { source, configs } = managed();
    const sleeps: number[] = [];
    const { cert } = serving(source, sleeps);
    const stop = new AbortController();
    const first = await cert.start(stop.signal);
    const server = new FakeServer();
    cert.attach(server, first);
    await cert.rotate('all');
    expect(sleeps).toEqual([5000]);
    const now = cert.current as CertificateMaterial;
    expect(splitPEMBundle(now.caCertPEM)).toHaveLength(2);
    expect(splitPEMBundle(now.caCertPEM)[1]).toBe(splitPEMBundle(first.caCertPEM)[0]);
    expect(configs.caBundles('MutatingWebhookConfiguration', 'steerer-webhook')).toEqual([
      Buffer.from(now.caCertPEM).toString('base64'),
    ]);
    expect(server.contexts).toHaveLength(1);
    stop.abort();
  });

  it('external mode serves what the Secret holds and refuses to rotate', async () => {
    const { secrets, source } = managed();
    const material = await generateCertificateMaterial({
      dnsNames: ['steerer-webhook'],
      now: new Date(),
      generateKeyPair: keys,
    });
    secrets.put(
      'steerer',
      'steerer-webhook-tls',
      secretForMaterial(material, { namespace: 'steerer', name: 'steerer-webhook-tls' }),
    );
    const { cert } = serving({ ...source, mode: 'external' });
    const stop = new AbortController();
    const m = await cert.start(stop.signal);
    expect(m.certPEM).toBe(material.certPEM);
    await expect(cert.rotate('serving')).rejects.toThrow(/managed externally/);
    stop.abort();
  });
});

describe('ServingCertificate (--cert-dir)', () => {
  it('serves the files and re-reads them on rotation', async () => {
    const a = await generateCertificateMaterial({
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
      now: new Date(),
      generateKeyPair: keys,
    });
    await writeCertificateDir(dir, a);
    const { cert } = serving({ kind: 'dir', dir });
    const first = await cert.start(new AbortController().signal);
    expect(first.certPEM).toBe(a.certPEM);
    const server = new FakeServer();
    cert.attach(server, first);
    const b = await generateCertificateMaterial({
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
      now: new Date(),
      generateKeyPair: keys,
    });
    await writeCertificateDir(dir, b);
    await cert.rotate('serving');
    expect(server.contexts.map((c) => c.cert)).toEqual([b.certPEM]);
  });

  it('fails to start without files', async () => {
    const { cert } = serving({ kind: 'dir', dir: join(dir, 'missing') });
    await expect(cert.start(new AbortController().signal)).rejects.toThrow(/ENOENT/);
  });
});
