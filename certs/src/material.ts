// The certificate material Steerer serves and publishes, as PEM strings, and the defaults that
// shape it. Kept free of crypto so every other module can share the type cheaply.

export interface CertificateMaterial {
  /** PEM bundle of trusted CAs: the signing CA first, then at most one previous CA that is
   *  still valid (kept through a CA rotation so replicas on the old certificate keep working).
   *  Empty in external mode when the Secret carries no `ca.crt`. */
  caCertPEM: string;
  /** The signing CA's private key; present only when Steerer manages the CA. */
  caKeyPEM?: string;
  /** The serving (leaf) certificate. */
  certPEM: string;
  /** The serving private key (PKCS#8 PEM). */
  keyPEM: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const CertDefaults = {
  caValidityMs: 10 * 365 * DAY_MS,
  servingValidityMs: 365 * DAY_MS,
  /** notBefore is set this far in the past to tolerate clock skew between nodes. */
  backdateMs: 5 * 60 * 1000,
  caCommonName: 'steerer-webhook-ca',
  rsaBits: 2048,
} as const;

export function sameMaterial(a: CertificateMaterial | undefined, b: CertificateMaterial): boolean {
  return (
    a !== undefined &&
    a.caCertPEM === b.caCertPEM &&
    a.caKeyPEM === b.caKeyPEM &&
    a.certPEM === b.certPEM &&
    a.keyPEM === b.keyPEM
  );
}
