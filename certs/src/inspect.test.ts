import { beforeAll, describe, expect, it } from '@jest/globals';
import { generateCertificateMaterial } from './generate.js';
import {
  describeMaterial,
  inspectCertificate,
  keyMatchesCertificate,
  parseCertificates,
  splitPEMBundle,
  verifyChain,
} from './inspect.js';
import type { CertificateMaterial } from './material.js';
import { keyPool } from './testing.js';

const NOW = new Date('2031-07-15T08:30:00Z');
let a: CertificateMaterial;
let b: CertificateMaterial;

beforeAll(async () => {
  const keys = await keyPool(4);
  a = await generateCertificateMaterial({
    dnsNames: ['svc.ns.svc', 'svc'],
    ips: ['127.0.0.1', '::1'],
    now: NOW,
    generateKeyPair: keys,
  });
  b = await generateCertificateMaterial({
    dnsNames: ['svc.ns.svc'],
    now: NOW,
    generateKeyPair: keys,
  });
});

describe('inspectCertificate', () => {
  it('reads dates, names, CA flag and common names', () => {
    const leaf = inspectCertificate(a.certPEM);
    expect(leaf).toMatchObject({
      subjectCN: 'svc.ns.svc',
      issuerCN: inspectCertificate(a.caCertPEM).subjectCN,
      notBefore: new Date('2031-07-15T08:25:00Z'),
      dnsNames: ['svc.ns.svc', 'svc'],
      ips: ['127.0.0.1', '::1'],
      isCA: false,
    });
    expect(leaf.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const ca = inspectCertificate(a.caCertPEM);
    expect(ca.isCA).toBe(true);
    expect(ca.dnsNames).toEqual([]);
    expect(ca.subjectCN).toMatch(/^steerer-webhook-ca@\d+$/);
  });

  it('describes the first certificate of a bundle and rejects text with none', () => {
    expect(inspectCertificate(b.caCertPEM + a.caCertPEM).subjectCN).toBe(
      inspectCertificate(b.caCertPEM).subjectCN,
    );
    expect(() => inspectCertificate('-----BEGIN PRIVATE KEY-----\n')).toThrow(/no PEM certificate/);
  });
});

describe('splitPEMBundle / parseCertificates', () => {
  it('returns certificate blocks in order and skips keys', () => {
    const blocks = splitPEMBundle(`${a.caCertPEM}${a.keyPEM}\n${b.caCertPEM}`);
    expect(blocks).toHaveLength(2);
    expect(parseCertificates(blocks.join('')).map((c) => c.fingerprint256)).toEqual([
      inspectCertificate(a.caCertPEM).fingerprint256,
      inspectCertificate(b.caCertPEM).fingerprint256,
    ]);
  });
});

describe('verifyChain', () => {
  it('accepts a certificate signed by a CA of the bundle and rejects others', () => {
    expect(verifyChain(a.caCertPEM, a.certPEM)).toBe(true);
    expect(verifyChain(b.caCertPEM + a.caCertPEM, a.certPEM)).toBe(true);
    expect(verifyChain(b.caCertPEM, a.certPEM)).toBe(false);
    expect(verifyChain(a.certPEM, a.certPEM)).toBe(false); // a leaf is not a CA
    expect(verifyChain('garbage', a.certPEM)).toBe(false);
  });
});

describe('keyMatchesCertificate', () => {
  it('matches only the certificate’s own key', () => {
    expect(keyMatchesCertificate(a.certPEM, a.keyPEM)).toBe(true);
    expect(keyMatchesCertificate(a.certPEM, b.keyPEM)).toBe(false);
    expect(keyMatchesCertificate(a.certPEM, 'not a key')).toBe(false);
  });
});

describe('describeMaterial', () => {
  it('gives names, dates and fingerprints but no key material', () => {
    const fields = describeMaterial(a);
    expect(fields).toMatchObject({ dnsNames: ['svc.ns.svc', 'svc'], caCount: 1 });
    const text = JSON.stringify(fields);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(a.keyPEM.split('\n')[1]);
  });
});
