// Create-if-absent and rotate-when-due for the webhook's TLS Secret, safe under concurrency:
// every write is a create (fails if the name is taken) or a replace preconditioned on the
// resourceVersion we read, and whoever loses a race adopts the winner's material. So replicas
// starting together, or rotating together, converge on ONE certificate.

import { ErrorCode, SteererError, isApiError } from '@steerer/common/model';
import {
  createCA,
  generateCertificateMaterial,
  issueServingCertificate,
  validateSubjectAltNames,
  type KeyPairGenerator,
} from './generate.js';
import { inspectCertificate, splitPEMBundle } from './inspect.js';
import { CertDefaults, sameMaterial, type CertificateMaterial } from './material.js';
import { needsRotation, type RotationPolicy, type RotationScope } from './rotation.js';
import { SecretKeys, materialFromSecret, secretForMaterial, type SecretClient } from './secret.js';

export interface IssuancePolicy {
  dnsNames: readonly string[];
  ips?: readonly string[];
  /** Serving certificate lifetime. Default one year. */
  validityMs?: number;
  /** CA lifetime. Default ten years. */
  caValidityMs?: number;
  /** Default: a third of the serving certificate's lifetime. */
  renewBeforeMs?: number;
  /** Default: a third of the CA's lifetime. */
  caRenewBeforeMs?: number;
  caCommonName?: string;
  generateKeyPair?: KeyPairGenerator;
}

export interface EnsureCertificateOptions extends IssuancePolicy {
  namespace: string;
  secretName: string;
  now: Date;
  /** Rotate even though the stored material is fine (`rotateNow`). */
  force?: RotationScope;
  /** Read-modify-write attempts before giving up with a 409 (Conflict) error. Default 3. */
  maxAttempts?: number;
}

export const EnsureAction = {
  /** The Secret already held valid material. */
  Unchanged: 'Unchanged',
  /** The Secret was absent; we created it. */
  Created: 'Created',
  /** The Secret needed rotation (or rotation was forced); we replaced it. */
  Rotated: 'Rotated',
  /** Another writer won a create/replace race; we use its material. */
  Adopted: 'Adopted',
} as const;
export type EnsureAction = (typeof EnsureAction)[keyof typeof EnsureAction];

export interface EnsureResult {
  material: CertificateMaterial;
  action: EnsureAction;
  /** The stored material differs from what this call first read. */
  changed: boolean;
  /** Why we wrote (a RotationReason, `Missing`, `Incomplete` or `Forced`), for logs. */
  reason?: string;
  message?: string;
  resourceVersion?: string;
}

export async function ensureCertificate(
  client: SecretClient,
  options: EnsureCertificateOptions,
): Promise<EnsureResult> {
  validateIssuancePolicy(options);
  const { namespace, secretName: name, now } = options;
  const maxAttempts = options.maxAttempts ?? 3;
  let firstRead: CertificateMaterial | undefined;
  let lostRace = false;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const existing = await client.get(namespace, name);
    if (existing === undefined) {
      const created = await createSecret(client, options);
      if (created) return created;
      lostRace = true;
      continue;
    }

    const decoded = materialFromSecret(existing, [
      SecretKeys.cert,
      SecretKeys.key,
      SecretKeys.caCert,
    ]);
    const current = decoded.ok ? decoded.material : undefined;
    if (attempt === 1) firstRead = current;
    const plan = planWrite(decoded, options, now, lostRace);
    if ('keep' in plan) {
      return {
        material: plan.keep,
        action: lostRace ? EnsureAction.Adopted : EnsureAction.Unchanged,
        changed: !sameMaterial(firstRead, plan.keep),
        resourceVersion: existing.metadata?.resourceVersion,
      };
    }
    const { scope, reason, message } = plan;

    const material = await rotate(current, scope, options);
    try {
      const replaced = await client.replace(
        namespace,
        name,
        secretForMaterial(material, { namespace, name }, existing),
      );
      return {
        material,
        action: EnsureAction.Rotated,
        changed: true,
        reason,
        message,
        resourceVersion: replaced.metadata?.resourceVersion,
      };
    } catch (error) {
      if (!isApiError(error, 409)) throw error;
      lostRace = true;
    }
  }
  throw new SteererError(
    ErrorCode.Api,
    `Secret ${namespace}/${name}: still conflicting after ${maxAttempts} attempts`,
    { status: 409, reason: 'Conflict' },
  );
}

/** Creates the Secret with new material; undefined when another replica created it first. */
async function createSecret(
  client: SecretClient,
  options: EnsureCertificateOptions,
): Promise<EnsureResult | undefined> {
  const { namespace, secretName: name, now } = options;
  const material = await generateCertificateMaterial({ ...options, now });
  try {
    const created = await client.create(
      namespace,
      secretForMaterial(material, { namespace, name }),
    );
    return {
      material,
      action: EnsureAction.Created,
      changed: true,
      reason: 'Missing',
      message: `Secret ${namespace}/${name} did not exist`,
      resourceVersion: created.metadata?.resourceVersion,
    };
  } catch (error) {
    if (!isApiError(error, 409)) throw error;
    return undefined;
  }
}

interface WritePlan {
  scope: RotationScope;
  reason: string;
  message: string;
}

function planWrite(
  decoded: ReturnType<typeof materialFromSecret>,
  options: EnsureCertificateOptions,
  now: Date,
  lostRace: boolean,
): WritePlan | { keep: CertificateMaterial } {
  if (!decoded.ok) {
    return {
      scope: 'all',
      reason: 'Incomplete',
      message: `Secret lacks ${decoded.missing.join(', ')}`,
    };
  }
  const decision = needsRotation(decoded.material, now, rotationPolicy(options));
  if (decision.rotate) return decision;
  // A forced rotation is satisfied by a racing writer's fresh material.
  if (options.force !== undefined && !lostRace) {
    return {
      scope: options.force,
      reason: 'Forced',
      message: `forced rotation (${options.force})`,
    };
  }
  return { keep: decoded.material };
}

export function rotationPolicy(policy: IssuancePolicy): RotationPolicy {
  return {
    dnsNames: policy.dnsNames,
    ips: policy.ips,
    renewBeforeMs: policy.renewBeforeMs,
    caRenewBeforeMs: policy.caRenewBeforeMs,
    mode: 'managed',
  };
}

async function rotate(
  current: CertificateMaterial | undefined,
  scope: RotationScope,
  options: EnsureCertificateOptions,
): Promise<CertificateMaterial> {
  if (scope === 'serving' && current?.caKeyPEM !== undefined) {
    const signing = splitPEMBundle(current.caCertPEM)[0] ?? '';
    const serving = await issueServingCertificate({
      ...options,
      ca: { certPEM: signing, keyPEM: current.caKeyPEM },
    });
    return { ...current, ...serving };
  }
  const ca = await createCA({
    now: options.now,
    validityMs: options.caValidityMs,
    commonName: options.caCommonName,
    generateKeyPair: options.generateKeyPair,
  });
  const serving = await issueServingCertificate({ ...options, ca });
  const previous = current === undefined ? undefined : stillValidSigningCA(current, options.now);
  return {
    caCertPEM: previous === undefined ? ca.certPEM : ca.certPEM + previous,
    caKeyPEM: ca.keyPEM,
    ...serving,
  };
}

/** The old signing CA, kept in the bundle through a CA rotation while it is still valid, so
 *  the API server keeps trusting replicas that have not reloaded yet. */
function stillValidSigningCA(current: CertificateMaterial, now: Date): string | undefined {
  const pem = splitPEMBundle(current.caCertPEM)[0];
  if (pem === undefined) return undefined;
  try {
    const info = inspectCertificate(pem);
    const t = now.getTime();
    return info.isCA && info.notBefore.getTime() <= t && t <= info.notAfter.getTime()
      ? pem
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rejects policies that would rotate on every pass: renewal must start after issuance, and a
 * serving certificate issued just after a CA rotation (capped at the CA's notAfter) must not be
 * due at once.
 */
export function validateIssuancePolicy(policy: IssuancePolicy): void {
  validateSubjectAltNames(policy.dnsNames, policy.ips ?? []);
  const validity = policy.validityMs ?? CertDefaults.servingValidityMs;
  const caValidity = policy.caValidityMs ?? CertDefaults.caValidityMs;
  const caRenewBefore = policy.caRenewBeforeMs ?? caValidity / 3;
  for (const [label, value] of Object.entries({
    validityMs: validity,
    caValidityMs: caValidity,
    caRenewBeforeMs: caRenewBefore,
    renewBeforeMs: policy.renewBeforeMs ?? 1,
  })) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${label} must be positive`);
  }
  if (caRenewBefore >= caValidity) {
    throw new RangeError('caRenewBeforeMs must be shorter than caValidityMs');
  }
  if (
    policy.renewBeforeMs !== undefined &&
    policy.renewBeforeMs >= Math.min(validity, caRenewBefore)
  ) {
    throw new RangeError(
      'renewBeforeMs must be shorter than both validityMs and caRenewBeforeMs (the shortest life of a serving certificate)',
    );
  }
}
