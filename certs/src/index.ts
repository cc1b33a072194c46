// Public API of @steerer/certs: TLS material for the admission webhook, generated, stored in a
// Secret, rotated, published as the webhooks' caBundle, and hot-swapped into the HTTPS server.
// Errors, the logger and patch operations are @steerer/common's: SteererError (code Api with
// the HTTP status for API failures), Logger and JsonPatchOp.

export { describeError, redactKeyMaterial } from './redact.js';
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
// The KubeClient adapters live at '@steerer/certs/kube' so importing this index needs only
// @steerer/common/model at run time, not the Kubernetes client.
