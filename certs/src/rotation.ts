// Decides whether stored material must be replaced, as an ordered chain of small pure checks
// over (material, now, policy). CA problems come first because they force a new CA, which in
// turn forces a new serving certificate; the first failing check wins and names the reason.

import type { X509Certificate } from 'node:crypto';
import {
  findIssuer,
  inspectCertificate,
  keyMatchesCertificate,
  parseCertificates,
} from './inspect.js';
import type { CertificateInfo } from './inspect.js';
import type { CertificateMaterial } from './material.js';

export const RotationReason = {
  CAInvalid: 'CAInvalid',
  CAKeyMismatch: 'CAKeyMismatch',
  CANotYetValid: 'CANotYetValid',
  CAExpired: 'CAExpired',
  CAExpiringSoon: 'CAExpiringSoon',
  CertificateInvalid: 'CertificateInvalid',
  KeyMismatch: 'KeyMismatch',
  NotSignedByCA: 'NotSignedByCA',
  NotYetValid: 'NotYetValid',
  Expired: 'Expired',
  ExpiringSoon: 'ExpiringSoon',
  MissingSAN: 'MissingSAN',
} as const;
export type RotationReason = (typeof RotationReason)[keyof typeof RotationReason];

/** `serving` re-issues the serving certificate with the existing CA; `all` replaces the CA too. */
export type RotationScope = 'serving' | 'all';

export type RotationDecision =
  | { rotate: false; /** When the first renewal threshold is reached. */ rotateAt: Date }
  | { rotate: true; scope: RotationScope; reason: RotationReason; message: string };

export interface RotationPolicy {
  dnsNames: readonly string[];
  ips?: readonly string[];
  /** Renew the serving certificate this long before notAfter. Default: a third of its lifetime. */
  renewBeforeMs?: number;
  /** Renew the CA this long before its notAfter. Default: a third of its lifetime. */
  caRenewBeforeMs?: number;
  /**
   * `managed` (default): Steerer owns the CA, so the CA key must be present and match, and the
   * serving certificate must be signed by the signing (first) CA. `external`: the material comes
   * from elsewhere (cert-manager); no CA key, and any CA of the bundle may have signed it.
   */
  mode?: 'managed' | 'external';
}

interface Context {
  material: CertificateMaterial;
  now: Date;
  policy: RotationPolicy;
  managed: boolean;
}

interface Finding {
  scope: RotationScope;
  reason: RotationReason;
  message: string;
}

export function needsRotation(
  material: CertificateMaterial,
  now: Date,
  policy: RotationPolicy,
): RotationDecision {
  const ctx: Context = { material, now, policy, managed: (policy.mode ?? 'managed') === 'managed' };

  const caResult = checkCA(ctx);
  if ('reason' in caResult) return { rotate: true, ...caResult };
  const leafResult = checkServing(ctx, caResult.bundle);
  if ('reason' in leafResult) return { rotate: true, ...leafResult };

  const thresholds = [renewalThreshold(leafResult.info, policy.renewBeforeMs)];
  const signingCA = caResult.signing;
  if (ctx.managed && signingCA !== undefined) {
    thresholds.push(renewalThreshold(signingCA, policy.caRenewBeforeMs));
  }
  return { rotate: false, rotateAt: new Date(Math.min(...thresholds.map((d) => d.getTime()))) };
}

/** notAfter minus renewBefore (default: a third of notBefore→notAfter). */
export function renewalThreshold(info: CertificateInfo, renewBeforeMs?: number): Date {
  const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
  return new Date(info.notAfter.getTime() - (renewBeforeMs ?? lifetime / 3));
}

type CAResult = Finding | { bundle: X509Certificate[]; signing: CertificateInfo | undefined };

function checkCA(ctx: Context): CAResult {
  const all = (reason: RotationReason, message: string): Finding => ({
    scope: 'all',
    reason,
    message,
  });
  if (!ctx.managed && ctx.material.caCertPEM.trim() === '')
    return { bundle: [], signing: undefined };

  let bundle: X509Certificate[];
  try {
    bundle = parseCertificates(ctx.material.caCertPEM);
  } catch (error) {
    return all(RotationReason.CAInvalid, `ca.crt does not parse: ${(error as Error).message}`);
  }
  const first = bundle[0] as X509Certificate;
  if (!first.ca) return all(RotationReason.CAInvalid, 'ca.crt is not a CA certificate');
  if (!ctx.managed) return { bundle, signing: undefined };

  if (ctx.material.caKeyPEM === undefined || !keyMatchesCertificate(first, ctx.material.caKeyPEM)) {
    return all(RotationReason.CAKeyMismatch, 'ca.key is missing or does not match ca.crt');
  }
  const info = inspectCertificate(first);
  const dates = checkDates(info, ctx.now, ctx.policy.caRenewBeforeMs, 'CA');
  if (dates) {
    const reason = {
      NotYetValid: 'CANotYetValid',
      Expired: 'CAExpired',
      ExpiringSoon: 'CAExpiringSoon',
    } as const;
    return all(RotationReason[reason[dates.reason]], dates.message);
  }
  return { bundle, signing: info };
}

function checkServing(
  ctx: Context,
  bundle: X509Certificate[],
): Finding | { info: CertificateInfo } {
  const serving = (reason: RotationReason, message: string): Finding => ({
    scope: 'serving',
    reason,
    message,
  });
  let leaf: X509Certificate;
  try {
    leaf = parseCertificates(ctx.material.certPEM)[0] as X509Certificate;
  } catch (error) {
    return serving(
      RotationReason.CertificateInvalid,
      `tls.crt does not parse: ${(error as Error).message}`,
    );
  }
  if (!keyMatchesCertificate(leaf, ctx.material.keyPEM)) {
    return serving(RotationReason.KeyMismatch, 'tls.key does not match tls.crt');
  }
  const issuers = ctx.managed ? bundle.slice(0, 1) : bundle;
  if (issuers.length > 0 && findIssuer(issuers, leaf) === undefined) {
    return serving(
      RotationReason.NotSignedByCA,
      ctx.managed
        ? 'tls.crt is not signed by the current CA'
        : 'tls.crt is not signed by a CA in ca.crt',
    );
  }
  const info = inspectCertificate(leaf);
  const dates = checkDates(info, ctx.now, ctx.policy.renewBeforeMs, 'serving certificate');
  if (dates) return serving(RotationReason[dates.reason], dates.message);

  const missing = [
    ...ctx.policy.dnsNames.filter(
      (name) => leaf.checkHost(name, { subject: 'never' }) === undefined,
    ),
    ...(ctx.policy.ips ?? []).filter((ip) => leaf.checkIP(ip) === undefined),
  ];
  if (missing.length > 0) {
    return serving(RotationReason.MissingSAN, `tls.crt does not cover ${missing.join(', ')}`);
  }
  return { info };
}

function checkDates(
  info: CertificateInfo,
  now: Date,
  renewBeforeMs: number | undefined,
  what: string,
): { reason: 'NotYetValid' | 'Expired' | 'ExpiringSoon'; message: string } | undefined {
  const t = now.getTime();
  if (t < info.notBefore.getTime()) {
    return {
      reason: 'NotYetValid',
      message: `${what} is not valid before ${info.notBefore.toISOString()}`,
    };
  }
  if (t > info.notAfter.getTime()) {
    return { reason: 'Expired', message: `${what} expired at ${info.notAfter.toISOString()}` };
  }
  const threshold = renewalThreshold(info, renewBeforeMs);
  if (t >= threshold.getTime()) {
    return {
      reason: 'ExpiringSoon',
      message: `${what} expires at ${info.notAfter.toISOString()}; renewal was due at ${threshold.toISOString()}`,
    };
  }
  return undefined;
}
