// Reads certificates back: dates, names, CA flag, chain and key checks. Uses Node's
// X509Certificate (OpenSSL) rather than node-forge so it also understands ECDSA certificates
// supplied by cert-manager in external mode; forge only parses RSA keys.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { LogFields } from '@steerer/common';
import type { CertificateMaterial } from './material.js';

export interface CertificateInfo {
  subjectCN: string | undefined;
  issuerCN: string | undefined;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  /** Canonical text form (IPv6 compressed, e.g. `::1`). */
  ips: string[];
  isCA: boolean;
  serialNumber: string;
  /** SHA-256 fingerprint, colon-separated hex — safe to log. */
  fingerprint256: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificate blocks of a PEM bundle, in order; other blocks (keys) are ignored. */
export function splitPEMBundle(pem: string): string[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => `${block}\n`);
}

/** Parses every certificate in a PEM bundle. Throws if there is none or one is malformed. */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = splitPEMBundle(pem);
  if (blocks.length === 0) throw new Error('no PEM certificate found');
  return blocks.map((block) => new X509Certificate(block));
}

/** Describes the first certificate of a PEM bundle (or an already parsed certificate). */
export function inspectCertificate(certificate: string | X509Certificate): CertificateInfo {
  const x509 =
    typeof certificate === 'string'
      ? (parseCertificates(certificate)[0] as X509Certificate)
      : certificate;
  const sans = parseSubjectAltName(x509.subjectAltName);
  return {
    subjectCN: commonName(x509.subject),
    issuerCN: commonName(x509.issuer),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    dnsNames: sans.dnsNames,
    ips: sans.ips,
    isCA: x509.ca,
    serialNumber: x509.serialNumber,
    fingerprint256: x509.fingerprint256,
  };
}

/**
 * The CA in `caBundle` that issued and signed `cert`, if any. Checks issuer/subject (and key
 * identifiers) via OpenSSL's checkIssued, the CA flag, and the signature. Dates are not checked:
 * that is the rotation policy's job, with its own clock.
 */
export function findIssuer(
  caBundle: readonly X509Certificate[],
  cert: X509Certificate,
): X509Certificate | undefined {
  return caBundle.find((ca) => ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/** True when `certPEM`'s first certificate is signed by a CA in the `caBundlePEM`. */
export function verifyChain(caBundlePEM: string, certPEM: string): boolean {
  try {
    const cert = parseCertificates(certPEM)[0] as X509Certificate;
    return findIssuer(parseCertificates(caBundlePEM), cert) !== undefined;
  } catch {
    return false;
  }
}

/** True when the private key (PEM) belongs to the certificate's public key. */
export function keyMatchesCertificate(
  certificate: string | X509Certificate,
  keyPEM: string,
): boolean {
  try {
    const x509 =
      typeof certificate === 'string'
        ? (parseCertificates(certificate)[0] as X509Certificate)
        : certificate;
    return x509.checkPrivateKey(createPrivateKey(keyPEM));
  } catch {
    return false;
  }
}

/** Log-safe fields describing material: names, dates and fingerprints, never keys. */
export function describeMaterial(material: CertificateMaterial): LogFields {
  try {
    const leaf = inspectCertificate(material.certPEM);
    const ca = material.caCertPEM === '' ? undefined : inspectCertificate(material.caCertPEM);
    return {
      fingerprint: leaf.fingerprint256,
      notAfter: leaf.notAfter.toISOString(),
      dnsNames: leaf.dnsNames,
      ips: leaf.ips,
      caCN: ca?.subjectCN,
      caNotAfter: ca?.notAfter.toISOString(),
      caCount: splitPEMBundle(material.caCertPEM).length,
    };
  } catch {
    return { fingerprint: 'unparseable' };
  }
}

function commonName(distinguishedName: string): string | undefined {
  for (const line of distinguishedName.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

// Node renders SANs as `DNS:a, DNS:b, IP Address:127.0.0.1`; values that could be ambiguous
// (commas, quotes) are JSON-quoted since Node 17.3.1.
const SAN_ENTRY = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;

function parseSubjectAltName(text: string | undefined): { dnsNames: string[]; ips: string[] } {
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const match of (text ?? '').matchAll(SAN_ENTRY)) {
    const [, kind, raw] = match;
    if (raw === undefined || raw === '') continue;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (kind === 'DNS') dnsNames.push(value);
    else if (kind === 'IP Address') ips.push(canonicalIP(value));
  }
  return { dnsNames, ips };
}

function canonicalIP(ip: string): string {
  if (!isIPv6(ip)) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}
