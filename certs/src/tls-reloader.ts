// Swaps the serving certificate of a running HTTPS/TLS server without a restart. Node's
// setSecureContext only affects handshakes that start afterwards: established connections and
// requests in flight keep the context they negotiated with.

import type { SecureContextOptions, SecureVersion } from 'node:tls';
import { inspectCertificate, keyMatchesCertificate } from './inspect.js';

export interface ServingPair {
  certPEM: string;
  keyPEM: string;
}

/** Anything with tls.Server's setSecureContext (https.Server included). */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsOptions {
  /** Default TLSv1.2. */
  minVersion?: SecureVersion;
  /** Further context options (ciphers, ecdhCurve, …) re-applied on every swap. */
  base?: SecureContextOptions;
}

export const DEFAULT_TLS_MIN_VERSION: SecureVersion = 'TLSv1.2';

/** Secure-context options for `https.createServer` and for every later swap. */
export function tlsContextOptions(
  material: ServingPair,
  options: TlsOptions = {},
): SecureContextOptions {
  return {
    ...options.base,
    key: material.keyPEM,
    cert: material.certPEM,
    minVersion: options.minVersion ?? DEFAULT_TLS_MIN_VERSION,
  };
}

export class TlsReloader {
  private applied: ServingPair | undefined;
  private appliedFingerprint: string | undefined;

  /**
   * @param initial the pair the server was created with, if any, so an identical first
   *   `apply` is a no-op.
   */
  constructor(
    private readonly server: SecureContextTarget,
    private readonly options: TlsOptions = {},
    initial?: ServingPair,
  ) {
    if (initial !== undefined) this.remember(initial);
  }

  /**
   * Installs `material` for new handshakes. Returns false when it is already installed.
   * Throws (leaving the current context in place) when the key does not match the certificate.
   */
  apply(material: ServingPair): boolean {
    if (this.applied?.certPEM === material.certPEM && this.applied.keyPEM === material.keyPEM) {
      return false;
    }
    if (!keyMatchesCertificate(material.certPEM, material.keyPEM)) {
      throw new Error('refusing to install a TLS key that does not match its certificate');
    }
    this.server.setSecureContext(tlsContextOptions(material, this.options));
    this.remember(material);
    return true;
  }

  /** SHA-256 fingerprint of the certificate new handshakes get. */
  get fingerprint(): string | undefined {
    return this.appliedFingerprint;
  }

  private remember(material: ServingPair): void {
    this.applied = { certPEM: material.certPEM, keyPEM: material.keyPEM };
    this.appliedFingerprint = inspectCertificate(material.certPEM).fingerprint256;
  }
}
