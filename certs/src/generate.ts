// Creates the self-signed CA and the serving certificate it signs. Keys come from Node's crypto
// (OpenSSL, off the event loop); node-forge builds and signs the X.509 structures. Every date is
// derived from the `now` passed in, so the output is a function of its inputs plus randomness.

import { generateKeyPair, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { CertDefaults, type CertificateMaterial } from './material.js';

export interface KeyPairPEM {
  /** PKCS#8 PEM. */
  privateKeyPEM: string;
  /** SPKI PEM. */
  publicKeyPEM: string;
}

export type KeyPairGenerator = () => Promise<KeyPairPEM>;

/** RSA key pairs from OpenSSL's thread pool: fast, and never blocks the event loop. */
export function rsaKeyPairGenerator(bits: number = CertDefaults.rsaBits): KeyPairGenerator {
  return () =>
    new Promise((resolve, reject) => {
      generateKeyPair(
        'rsa',
        {
          modulusLength: bits,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        },
        (err, publicKeyPEM, privateKeyPEM) => {
          if (err) reject(err);
          else resolve({ privateKeyPEM, publicKeyPEM });
        },
      );
    });
}

export interface CertificatePair {
  certPEM: string;
  keyPEM: string;
}

export interface CreateCAOptions {
  now: Date;
  validityMs?: number;
  /** A `@<unix seconds>` suffix is appended so successive CAs are told apart in logs. */
  commonName?: string;
  backdateMs?: number;
  generateKeyPair?: KeyPairGenerator;
}

export async function createCA(options: CreateCAOptions): Promise<CertificatePair> {
  const keys = await (options.generateKeyPair ?? rsaKeyPairGenerator())();
  const { notBefore, notAfter } = validity(
    options.now,
    options.validityMs ?? CertDefaults.caValidityMs,
    options.backdateMs,
  );
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPEM);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const name = [
    commonName(
      `${options.commonName ?? CertDefaults.caCommonName}@${Math.floor(options.now.getTime() / 1000)}`,
    ),
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPEM), forge.md.sha256.create());
  return { certPEM: certificateToPEM(cert), keyPEM: keys.privateKeyPEM };
}

export interface IssueServingOptions {
  ca: CertificatePair;
  dnsNames: readonly string[];
  ips?: readonly string[];
  now: Date;
  /** Capped so the certificate never outlives its CA. */
  validityMs?: number;
  backdateMs?: number;
  generateKeyPair?: KeyPairGenerator;
}

export async function issueServingCertificate(
  options: IssueServingOptions,
): Promise<CertificatePair> {
  const ips = options.ips ?? [];
  validateSubjectAltNames(options.dnsNames, ips);
  const caCert = forge.pki.certificateFromPem(options.ca.certPEM);
  const caKey = forge.pki.privateKeyFromPem(options.ca.keyPEM);
  const keys = await (options.generateKeyPair ?? rsaKeyPairGenerator())();
  const { notBefore, notAfter } = validity(
    options.now,
    options.validityMs ?? CertDefaults.servingValidityMs,
    options.backdateMs,
  );
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPEM);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter =
    notAfter.getTime() > caCert.validity.notAfter.getTime() ? caCert.validity.notAfter : notAfter;
  cert.setSubject([commonName(options.dnsNames[0] ?? ips[0] ?? 'steerer')]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...options.dnsNames.map((value) => ({ type: 2, value })),
        ...ips.map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPEM: certificateToPEM(cert), keyPEM: keys.privateKeyPEM };
}

export interface GenerateMaterialOptions {
  dnsNames: readonly string[];
  ips?: readonly string[];
  now: Date;
  caValidityMs?: number;
  validityMs?: number;
  caCommonName?: string;
  backdateMs?: number;
  generateKeyPair?: KeyPairGenerator;
}

/** A fresh CA plus a serving certificate signed by it. */
export async function generateCertificateMaterial(
  options: GenerateMaterialOptions,
): Promise<CertificateMaterial> {
  validateSubjectAltNames(options.dnsNames, options.ips ?? []);
  const ca = await createCA({
    now: options.now,
    validityMs: options.caValidityMs,
    commonName: options.caCommonName,
    backdateMs: options.backdateMs,
    generateKeyPair: options.generateKeyPair,
  });
  const serving = await issueServingCertificate({ ...options, ca });
  return { caCertPEM: ca.certPEM, caKeyPEM: ca.keyPEM, ...serving };
}

const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Throws a TypeError naming the first bad entry; these come from configuration. */
export function validateSubjectAltNames(dnsNames: readonly string[], ips: readonly string[]): void {
  if (dnsNames.length === 0 && ips.length === 0) {
    throw new TypeError('a serving certificate needs at least one DNS name or IP address');
  }
  for (const name of dnsNames) {
    if (name.length > 253 || !DNS_NAME.test(name)) {
      throw new TypeError(`invalid DNS name for a certificate: ${JSON.stringify(name)}`);
    }
  }
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new TypeError(`invalid IP address: ${JSON.stringify(ip)}`);
  }
}

function validity(
  now: Date,
  validityMs: number,
  backdateMs: number = CertDefaults.backdateMs,
): { notBefore: Date; notAfter: Date } {
  if (!(validityMs > 0)) throw new RangeError(`validity must be positive, got ${validityMs}ms`);
  // X.509 times have one-second resolution; truncating keeps generated and parsed dates equal.
  return {
    notBefore: floorToSecond(now.getTime() - backdateMs),
    notAfter: floorToSecond(now.getTime() + validityMs),
  };
}

/**
 * A CN attribute encoded as UTF8String. forge defaults to PrintableString, which cannot hold
 * '@' or '*'; Go's crypto/x509 (the API server) rejects such certificates outright.
 */
function commonName(value: string): forge.pki.CertificateField {
  // @types/node-forge types valueTagClass as asn1.Class; forge reads it as an asn1.Type tag.
  const utf8 = forge.asn1.Type.UTF8 as number as forge.asn1.Class;
  return { name: 'commonName', value, valueTagClass: utf8 };
}

/** forge writes CRLF line endings; everything else (OpenSSL, kubectl, our bundles) uses LF. */
function certificateToPEM(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function floorToSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** 128 random bits, top bit clear (positive) and second bit set (minimal DER, never zero). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}
