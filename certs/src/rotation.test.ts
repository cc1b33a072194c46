import { beforeAll, describe, expect, it } from '@jest/globals';
import { createCA, generateCertificateMaterial, issueServingCertificate } from './generate.js';
import type { KeyPairGenerator } from './generate.js';
import { inspectCertificate } from './inspect.js';
import type { CertificateMaterial } from './material.js';
import { needsRotation, type RotationDecision, type RotationPolicy } from './rotation.js';
import { keyPool } from './testing.js';

const NOW = new Date('2030-03-01T12:00:00Z');
const SECOND = 1000;
const DAY = 24 * 60 * 60 * 1000;
const DNS = ['steerer-webhook.istio-system.svc', 'steerer-webhook.istio-system'];
const POLICY: RotationPolicy = { dnsNames: DNS, ips: ['127.0.0.1'] };

let keys: KeyPairGenerator;
let material: CertificateMaterial;
let other: CertificateMaterial;
let notBefore: Date;
let notAfter: Date;

const at = (ms: number): Date => new Date(ms);
const rotation = (decision: RotationDecision): unknown =>
  decision.rotate ? { scope: decision.scope, reason: decision.reason } : 'keep';

beforeAll(async () => {
  keys = await keyPool(8);
  material = await generateCertificateMaterial({
    dnsNames: DNS,
    ips: ['127.0.0.1'],
    now: NOW,
    generateKeyPair: keys,
  });
  other = await generateCertificateMaterial({
    dnsNames: DNS,
    ips: ['127.0.0.1'],
    now: NOW,
    generateKeyPair: keys,
  });
  ({ notBefore, notAfter } = inspectCertificate(material.certPEM));
  // Eight RSA keys: seconds on a loaded machine, beyond the default 5 s.
}, 60_000);

describe('needsRotation: renewal window', () => {
  it('keeps the certificate until renewBefore ahead of expiry, then rotates the serving certificate', () => {
    const renewBeforeMs = 30 * DAY;
    const threshold = notAfter.getTime() - renewBeforeMs;
    const before = needsRotation(material, at(threshold - SECOND), { ...POLICY, renewBeforeMs });
    expect(before).toEqual({ rotate: false, rotateAt: at(threshold) });
    const after = needsRotation(material, at(threshold + SECOND), { ...POLICY, renewBeforeMs });
    expect(after).toMatchObject({ rotate: true, scope: 'serving', reason: 'ExpiringSoon' });
  });

  it('defaults renewBefore to a third of the certificate lifetime', () => {
    const lifetime = notAfter.getTime() - notBefore.getTime();
    const threshold = notAfter.getTime() - lifetime / 3;
    expect(rotation(needsRotation(material, at(threshold - SECOND), POLICY))).toBe('keep');
    expect(rotation(needsRotation(material, at(threshold + SECOND), POLICY))).toEqual({
      scope: 'serving',
      reason: 'ExpiringSoon',
    });
  });

  it('rotates an expired certificate, naming when it expired', () => {
    const decision = needsRotation(material, at(notAfter.getTime() + SECOND), POLICY);
    expect(decision).toMatchObject({ rotate: true, scope: 'serving', reason: 'Expired' });
    expect(decision.rotate && decision.message).toContain(notAfter.toISOString());
  });

  it('rotates a certificate that is not valid yet (clock skew beyond the backdating)', async () => {
    const ca = await createCA({ now: at(NOW.getTime() - DAY), generateKeyPair: keys });
    const serving = await issueServingCertificate({
      ca,
      dnsNames: DNS,
      now: NOW,
      generateKeyPair: keys,
    });
    const m = { caCertPEM: ca.certPEM, caKeyPEM: ca.keyPEM, ...serving };
    const leafNotBefore = inspectCertificate(serving.certPEM).notBefore.getTime();
    const policy = { ...POLICY, ips: [] };
    expect(rotation(needsRotation(m, at(leafNotBefore - SECOND), policy))).toEqual({
      scope: 'serving',
      reason: 'NotYetValid',
    });
    expect(rotation(needsRotation(m, at(leafNotBefore), policy))).toBe('keep');
  });

  it('reports the earlier of the serving and CA renewal times as rotateAt', async () => {
    const ca = await createCA({ now: NOW, validityMs: 90 * DAY, generateKeyPair: keys });
    const serving = await issueServingCertificate({
      ca,
      dnsNames: DNS,
      now: NOW,
      validityMs: 80 * DAY,
      generateKeyPair: keys,
    });
    const m = { caCertPEM: ca.certPEM, caKeyPEM: ca.keyPEM, ...serving };
    const caNotAfter = inspectCertificate(ca.certPEM).notAfter.getTime();
    const decision = needsRotation(m, NOW, {
      ...POLICY,
      ips: [],
      renewBeforeMs: DAY,
      caRenewBeforeMs: 30 * DAY,
    });
    expect(decision).toEqual({ rotate: false, rotateAt: at(caNotAfter - 30 * DAY) });
  });
});

describe('needsRotation: serving certificate problems', () => {
  it('rotates when a required DNS name is missing, naming it', () => {
    const decision = needsRotation(material, NOW, {
      ...POLICY,
      dnsNames: [...DNS, 'steerer-webhook'],
    });
    expect(decision).toMatchObject({ rotate: true, scope: 'serving', reason: 'MissingSAN' });
    expect(decision.rotate && decision.message).toContain('steerer-webhook');
  });

  it('rotates when a required IP is missing', () => {
    expect(
      rotation(needsRotation(material, NOW, { ...POLICY, ips: ['127.0.0.1', '10.0.0.7'] })),
    ).toEqual({
      scope: 'serving',
      reason: 'MissingSAN',
    });
  });

  it('rotates a serving certificate signed by another CA', () => {
    const mixed = { ...material, certPEM: other.certPEM, keyPEM: other.keyPEM };
    expect(rotation(needsRotation(mixed, NOW, POLICY))).toEqual({
      scope: 'serving',
      reason: 'NotSignedByCA',
    });
  });

  it('rotates when tls.key does not belong to tls.crt', () => {
    const mismatched = { ...material, keyPEM: other.keyPEM };
    expect(rotation(needsRotation(mismatched, NOW, POLICY))).toEqual({
      scope: 'serving',
      reason: 'KeyMismatch',
    });
  });

  it('rotates an unparseable tls.crt', () => {
    const broken = { ...material, certPEM: 'not a certificate' };
    expect(rotation(needsRotation(broken, NOW, POLICY))).toEqual({
      scope: 'serving',
      reason: 'CertificateInvalid',
    });
  });

  it('in managed mode, requires the current (first) CA of the bundle to have signed it', () => {
    const afterCARotation = {
      ...other,
      caCertPEM: other.caCertPEM + material.caCertPEM,
      certPEM: material.certPEM,
      keyPEM: material.keyPEM,
    };
    expect(rotation(needsRotation(afterCARotation, NOW, POLICY))).toEqual({
      scope: 'serving',
      reason: 'NotSignedByCA',
    });
  });
});

describe('needsRotation: CA problems rotate everything', () => {
  it('rotates the CA when it nears expiry, before the serving certificate is due', async () => {
    const ca = await createCA({ now: NOW, validityMs: 90 * DAY, generateKeyPair: keys });
    const serving = await issueServingCertificate({
      ca,
      dnsNames: DNS,
      now: NOW,
      validityMs: 80 * DAY,
      generateKeyPair: keys,
    });
    const m = { caCertPEM: ca.certPEM, caKeyPEM: ca.keyPEM, ...serving };
    const caInfo = inspectCertificate(ca.certPEM);
    const caThreshold =
      caInfo.notAfter.getTime() - (caInfo.notAfter.getTime() - caInfo.notBefore.getTime()) / 3;
    const policy = { ...POLICY, ips: [], renewBeforeMs: DAY };
    expect(rotation(needsRotation(m, at(caThreshold - SECOND), policy))).toBe('keep');
    expect(rotation(needsRotation(m, at(caThreshold + SECOND), policy))).toEqual({
      scope: 'all',
      reason: 'CAExpiringSoon',
    });
    expect(rotation(needsRotation(m, at(caInfo.notAfter.getTime() + SECOND), policy))).toEqual({
      scope: 'all',
      reason: 'CAExpired',
    });
  });

  it('rotates everything when the CA key is missing or wrong (Steerer could not re-issue)', () => {
    const { caKeyPEM: _dropped, ...withoutKey } = material;
    expect(rotation(needsRotation(withoutKey, NOW, POLICY))).toEqual({
      scope: 'all',
      reason: 'CAKeyMismatch',
    });
    const wrongKey = { ...material, caKeyPEM: other.caKeyPEM };
    expect(rotation(needsRotation(wrongKey, NOW, POLICY))).toEqual({
      scope: 'all',
      reason: 'CAKeyMismatch',
    });
  });

  it('rotates everything when ca.crt is unparseable or not a CA', () => {
    expect(rotation(needsRotation({ ...material, caCertPEM: '' }, NOW, POLICY))).toEqual({
      scope: 'all',
      reason: 'CAInvalid',
    });
    expect(
      rotation(needsRotation({ ...material, caCertPEM: material.certPEM }, NOW, POLICY)),
    ).toEqual({
      scope: 'all',
      reason: 'CAInvalid',
    });
  });
});

describe('needsRotation: external mode', () => {
  const external: RotationPolicy = { ...POLICY, mode: 'external' };

  it('needs no CA key and accepts any CA of the bundle, or no bundle at all', () => {
    const { caKeyPEM: _dropped, ...withoutKey } = material;
    expect(rotation(needsRotation(withoutKey, NOW, external))).toBe('keep');
    const bundle = { ...withoutKey, caCertPEM: other.caCertPEM + material.caCertPEM };
    expect(rotation(needsRotation(bundle, NOW, external))).toBe('keep');
    expect(rotation(needsRotation({ ...withoutKey, caCertPEM: '' }, NOW, external))).toBe('keep');
  });

  it('still reports a certificate its bundle did not sign', () => {
    const mixed = {
      caCertPEM: other.caCertPEM,
      certPEM: material.certPEM,
      keyPEM: material.keyPEM,
    };
    expect(rotation(needsRotation(mixed, NOW, external))).toEqual({
      scope: 'serving',
      reason: 'NotSignedByCA',
    });
  });
});
