// Public API of @steerer/certs: TLS material for the admission webhook, generated, stored in a
// Secret, rotated, published as the webhooks' caBundle, and hot-swapped into the HTTPS server.

export {
  ApiErrorCode,
  CertsApiError,
  apiErrorCodeForStatus,
  describeError,
  isCertsApiError,
} from './errors.js';
export { redactKeyMaterial, silentLogger, type LogFields, type Logger } from './logger.js';
export { systemClock, systemTimers, type Clock, type Timers } from './time.js';
export { CertDefaults, sameMaterial, type CertificateMaterial } from './material.js';
export {
  createCA,
  generateCertificateMaterial,
  issueServingCertificate,
  rsaKeyPairGenerator,
  validateSubjectAltNames,
  type CertificatePair,
  type CreateCAOptions,
  type GenerateMaterialOptions,
  type IssueServingOptions,
  type KeyPairGenerator,
  type KeyPairPEM,
} from './generate.js';
export {
  describeMaterial,
  findIssuer,
  inspectCertificate,
  keyMatchesCertificate,
  parseCertificates,
  splitPEMBundle,
  verifyChain,
  type CertificateInfo,
} from './inspect.js';
export {
  RotationReason,
  needsRotation,
  renewalThreshold,
  type RotationDecision,
  type RotationPolicy,
  type RotationScope,
} from './rotation.js';
export {
  MANAGED_BY_LABEL,
  SecretKeys,
  TLS_SECRET_TYPE,
  materialFromSecret,
  secretForMaterial,
  type DecodedSecret,
  type Secret,
  type SecretClient,
} from './secret.js';
export {
  EnsureAction,
  ensureCertificate,
  validateIssuancePolicy,
  type EnsureCertificateOptions,
  type EnsureResult,
  type IssuancePolicy,
} from './ensure.js';
export { loadCertificate, type LoadCertificateOptions, type LoadResult } from './load.js';
export {
  InjectOutcome,
  WebhookConfigKind,
  injectCABundle,
  planCABundlePatch,
  type InjectCABundleOptions,
  type InjectResult,
  type InjectSummary,
  type JsonPatchOperation,
  type WebhookConfigClient,
  type WebhookConfiguration,
} from './ca-bundle.js';
export {
  DEFAULT_TLS_MIN_VERSION,
  TlsReloader,
  tlsContextOptions,
  type SecureContextTarget,
  type ServingPair,
  type TlsOptions,
} from './tls-reloader.js';
export {
  CertificateManager,
  CertificateMode,
  type CertificateListener,
  type CertificateManagerOptions,
} from './manager.js';
export { readCertificateDir, writeCertificateDir } from './files.js';
// The client-node adapters live at '@steerer/certs/kube' so importing this index (e.g. in unit
// tests) never loads @kubernetes/client-node.
