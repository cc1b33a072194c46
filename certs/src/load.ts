// External mode: read material that someone else (cert-manager, an operator's own tooling)
// maintains in a Secret, and report problems — never write. Steerer then only serves it.

import type { CertificateMaterial } from './material.js';
import { needsRotation } from './rotation.js';
import { materialFromSecret, type SecretClient } from './secret.js';

export interface LoadCertificateOptions {
  namespace: string;
  secretName: string;
  /** Names the certificate is expected to cover; a missing one is reported as a problem. */
  dnsNames: readonly string[];
  ips?: readonly string[];
  now: Date;
  /** Report the certificate as due this long before notAfter. Default: a third of its life. */
  renewBeforeMs?: number;
}

export type LoadResult =
  | { found: false; message: string }
  | {
      found: true;
      material: CertificateMaterial;
      /** Set when the material is expired, due for renewal, mis-signed or lacks a name. */
      problem?: { reason: string; message: string };
      resourceVersion?: string;
    };

/** Reads `tls.crt`, `tls.key` and optional `ca.crt` from the Secret; never writes. */
export async function loadCertificate(
  client: SecretClient,
  options: LoadCertificateOptions,
): Promise<LoadResult> {
  const where = `${options.namespace}/${options.secretName}`;
  const secret = await client.get(options.namespace, options.secretName);
  if (secret === undefined) return { found: false, message: `Secret ${where} does not exist` };
  const decoded = materialFromSecret(secret);
  if (!decoded.ok) {
    return { found: false, message: `Secret ${where} lacks ${decoded.missing.join(', ')}` };
  }
  const decision = needsRotation(decoded.material, options.now, {
    dnsNames: options.dnsNames,
    ips: options.ips,
    renewBeforeMs: options.renewBeforeMs,
    mode: 'external',
  });
  return {
    found: true,
    material: decoded.material,
    ...(decision.rotate ? { problem: { reason: decision.reason, message: decision.message } } : {}),
    resourceVersion: secret.metadata?.resourceVersion,
  };
}
