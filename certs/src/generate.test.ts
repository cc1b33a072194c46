import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import forge from 'node-forge';
import {
  generateCertificateMaterial,
  validateSubjectAltNames,
  issueServingCertificate,
  createCA,
} from './generate.js';
import type { KeyPairGenerator } from './generate.js';
import type { CertificateMaterial } from './material.js';
import { keyPool } from './testing.js';

const NOW = new Date('2030-03-01T12:00:00.500Z');
const DNS = [
  'steerer-webhook',
  'steerer-webhook.istio-system',
  'steerer-webhook.istio-system.svc',
  'steerer-webhook.istio-system.svc.cluster.local',
];
const DAY = 24 * 60 * 60 * 1000;

let keys: KeyPairGenerator;
let material: CertificateMaterial;
let ca: X509Certificate;
let leaf: X509Certificate;

beforeAll(async () => {
  keys = await keyPool(6);
  material = await generateCertificateMaterial({
    dnsNames: DNS,
    ips: ['127.0.0.1', '::1'],
    now: NOW,
    generateKeyPair: keys,
  });
  ca = new X509Certificate(material.caCertPEM);
  leaf = new X509Certificate(material.certPEM);
});

describe('generateCertificateMaterial', () => {
  it('produces a chain that forge verifies against a CA store', () => {
    const caStore = forge.pki.createCaStore([material.caCertPEM]);
    const chain = [forge.pki.certificateFromPem(material.certPEM)];
    expect(forge.pki.verifyCertificateChain(caStore, chain, { validityCheckDate: NOW })).toBe(true);
  });

  it('forge rejects the chain against a different CA', async () => {
    const other = await createCA({ now: NOW, generateKeyPair: keys });
    const caStore = forge.pki.createCaStore([other.certPEM]);
    const chain = [forge.pki.certificateFromPem(material.certPEM)];
    expect(() =>
      forge.pki.verifyCertificateChain(caStore, chain, { validityCheckDate: NOW }),
    ).toThrow();
  });

  it("produces a chain that Node's X509Certificate verifies, with the CA's public key", () => {
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true); // self-signed
    expect(leaf.verify(leaf.publicKey)).toBe(false);
  });

  it('covers exactly the requested DNS names and IPs in the SAN, not via the CN', () => {
    for (const name of DNS) expect(leaf.checkHost(name, { subject: 'never' })).toBe(name);
    expect(leaf.checkHost('other.istio-system.svc', { subject: 'never' })).toBeUndefined();
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkIP('10.0.0.1')).toBeUndefined();
    expect(leaf.subjectAltName).toBe(
      `${DNS.map((n) => `DNS:${n}`).join(', ')}, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`,
    );
  });

  it('pairs each certificate with its own private key', () => {
    expect(leaf.checkPrivateKey(createPrivateKey(material.keyPEM))).toBe(true);
    expect(ca.checkPrivateKey(createPrivateKey(material.caKeyPEM ?? ''))).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(material.caKeyPEM ?? ''))).toBe(false);
    expect(material.keyPEM).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPublicKey(material.keyPEM).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('marks the CA as a CA for signing only, and the leaf as a TLS server certificate', () => {
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extKeyUsage serverAuth
    const forgeCA = forge.pki.certificateFromPem(material.caCertPEM);
    expect(forgeCA.getExtension('keyUsage')).toMatchObject({
      keyCertSign: true,
      cRLSign: true,
      critical: true,
    });
    expect(forgeCA.getExtension('basicConstraints')).toMatchObject({ cA: true, critical: true });
    const forgeLeaf = forge.pki.certificateFromPem(material.certPEM);
    expect(forgeLeaf.getExtension('keyUsage')).toMatchObject({
      digitalSignature: true,
      keyCertSign: false,
    });
    expect(forgeLeaf.siginfo.algorithmOid).toBe(forge.pki.oids['sha256WithRSAEncryption']);
  });

  it('uses the clock: notBefore backdated five minutes, notAfter one year / ten years on', () => {
    expect(new Date(leaf.validFrom).toISOString()).toBe('2030-03-01T11:55:00.000Z');
    expect(new Date(leaf.validTo).toISOString()).toBe(
      new Date(Math.floor((NOW.getTime() + 365 * DAY) / 1000) * 1000).toISOString(),
    );
    expect(new Date(ca.validTo).getTime() - NOW.getTime()).toBeGreaterThan(3649 * DAY);
    expect(ca.subject).toBe(`CN=steerer-webhook-ca@${Math.floor(NOW.getTime() / 1000)}`);
    expect(leaf.issuer).toBe(ca.subject);
    expect(leaf.subject).toBe('CN=steerer-webhook');
  });

  it('encodes names as UTF8String: PrintableString cannot hold "@" or "*" and Go rejects it', () => {
    const forgeCA = forge.pki.certificateFromPem(material.caCertPEM);
    const forgeLeaf = forge.pki.certificateFromPem(material.certPEM);
    const tags = [forgeCA.subject, forgeLeaf.subject, forgeLeaf.issuer].map(
      (name) => (name.getField('CN') as { valueTagClass: number }).valueTagClass,
    );
    expect(tags).toEqual([forge.asn1.Type.UTF8, forge.asn1.Type.UTF8, forge.asn1.Type.UTF8]);
    // The issuer must be byte-identical to the CA subject for chain building.
    const der = (cert: X509Certificate) => cert.raw.toString('hex');
    expect(der(leaf)).toContain(
      forge.util.bytesToHex(
        forge.asn1.toDer(forge.pki.distinguishedNameToAsn1(forgeCA.subject)).getBytes(),
      ),
    );
  });

  it('issues positive, distinct 128-bit serial numbers', async () => {
    const again = await issueServingCertificate({
      ca: { certPEM: material.caCertPEM, keyPEM: material.caKeyPEM ?? '' },
      dnsNames: DNS,
      now: NOW,
      generateKeyPair: keys,
    });
    const serials = [
      leaf.serialNumber,
      new X509Certificate(again.certPEM).serialNumber,
      ca.serialNumber,
    ];
    expect(new Set(serials).size).toBe(3);
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9A-F]{32}$/);
      expect(parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });

  it('never issues a serving certificate that outlives its CA', async () => {
    const shortCA = await createCA({ now: NOW, validityMs: 30 * DAY, generateKeyPair: keys });
    const issued = await issueServingCertificate({
      ca: shortCA,
      dnsNames: DNS,
      now: NOW,
      validityMs: 365 * DAY,
      generateKeyPair: keys,
    });
    expect(new X509Certificate(issued.certPEM).validTo).toBe(
      new X509Certificate(shortCA.certPEM).validTo,
    );
  });
});

describe('validateSubjectAltNames', () => {
  it.each([
    [[], [], /at least one/],
    [['Bad_Name'], [], /invalid DNS name/],
    [['a..b'], [], /invalid DNS name/],
    [['ok.example'], ['300.1.1.1'], /invalid IP/],
  ])('rejects dns=%j ips=%j', (dns, ips, message) => {
    expect(() => validateSubjectAltNames(dns, ips)).toThrow(message);
  });

  it('accepts service names, wildcards and IPv4/IPv6', () => {
    expect(() =>
      validateSubjectAltNames(['svc.ns.svc', '*.ns.svc'], ['127.0.0.1', '::1']),
    ).not.toThrow();
  });
});
