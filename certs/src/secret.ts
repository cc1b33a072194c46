// How certificate material is stored: one `kubernetes.io/tls` Secret holding tls.crt, tls.key,
// ca.crt and (when Steerer manages the CA) ca.key, behind a small client interface of our own
// so unit tests use an in-memory fake and only kube.ts touches the Kubernetes client.

import type { CertificateMaterial } from './material.js';

/** The subset of a core/v1 Secret this package reads and writes (structurally a V1Secret). */
export interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  type?: string;
  /** Base64-encoded values. */
  data?: Record<string, string>;
}

/**
 * Secret access. Implementations throw SteererError (code Api with the HTTP status); a create
 * that finds the name taken and a replace whose metadata.resourceVersion is stale both throw
 * status 409.
 */
export interface SecretClient {
  /** undefined when the Secret does not exist. */
  get(namespace: string, name: string): Promise<Secret | undefined>;
  create(namespace: string, secret: Secret): Promise<Secret>;
  /** `secret.metadata.resourceVersion` is the optimistic-concurrency precondition. */
  replace(namespace: string, name: string, secret: Secret): Promise<Secret>;
}

export const SecretKeys = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  cert: 'tls.crt',
  key: 'tls.key',
} as const;

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export type DecodedSecret =
  { ok: true; material: CertificateMaterial } | { ok: false; missing: string[] };

/** Reads material out of a Secret; reports which required keys are absent or empty. */
export function materialFromSecret(
  secret: Secret,
  required: readonly string[] = [SecretKeys.cert, SecretKeys.key],
): DecodedSecret {
  const data = secret.data ?? {};
  const read = (key: string): string | undefined => {
    const value = data[key];
    if (value === undefined || value === '') return undefined;
    return Buffer.from(value, 'base64').toString('utf8');
  };
  const missing = required.filter((key) => read(key) === undefined);
  if (missing.length > 0) return { ok: false, missing };
  const caKeyPEM = read(SecretKeys.caKey);
  return {
    ok: true,
    material: {
      caCertPEM: read(SecretKeys.caCert) ?? '',
      ...(caKeyPEM === undefined ? {} : { caKeyPEM }),
      certPEM: read(SecretKeys.cert) ?? '',
      keyPEM: read(SecretKeys.key) ?? '',
    },
  };
}

/**
 * A Secret carrying `material`. With `base`, its metadata (labels, annotations, owner data,
 * resourceVersion) and type are kept — the type of an existing Secret is immutable.
 */
export function secretForMaterial(
  material: CertificateMaterial,
  target: { namespace: string; name: string },
  base?: Secret,
): Secret {
  const data: Record<string, string> = {
    [SecretKeys.caCert]: b64(material.caCertPEM),
    [SecretKeys.cert]: b64(material.certPEM),
    [SecretKeys.key]: b64(material.keyPEM),
  };
  if (material.caKeyPEM !== undefined) data[SecretKeys.caKey] = b64(material.caKeyPEM);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    ...base,
    metadata: {
      ...base?.metadata,
      name: target.name,
      namespace: target.namespace,
      labels: { [MANAGED_BY_LABEL]: 'steerer', ...base?.metadata?.labels },
    },
    type: base?.type ?? TLS_SECRET_TYPE,
    data: { ...base?.data, ...data },
  };
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
