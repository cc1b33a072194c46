// The webhook's flags and environment, parsed once into a typed configuration.

import { isIP } from 'node:net';
import { ErrorCode, LOG_LEVELS, SteererError, parseFlags } from '@steerer/common';
import type { FlagSpecs, LogLevel, ParsedFlags } from '@steerer/common';
import { DEFAULT_MAX_BODY_BYTES } from './app.js';

export const CERT_MODES = ['managed', 'external'] as const;
export type CertMode = (typeof CERT_MODES)[number];

export const WEBHOOK_FLAGS = {
  port: {
    type: 'int',
    env: 'WEBHOOK_PORT',
    default: 8443,
    min: 0,
    max: 65535,
    help: 'HTTPS port of the admission endpoints, /healthz, /readyz and /metrics',
  },
  'bind-address': {
    type: 'string',
    env: 'WEBHOOK_BIND_ADDRESS',
    default: '',
    help: 'Address the HTTPS server binds (default: all interfaces)',
  },
  'metrics-address': {
    type: 'string',
    env: 'METRICS_ADDRESS',
    help: 'Also serve /metrics, /healthz and /readyz over plain HTTP here, e.g. :8080 (default: off)',
  },
  kubeconfig: {
    type: 'string',
    env: 'KUBECONFIG',
    help: 'kubeconfig file (default: in-cluster, then ~/.kube/config)',
  },
  'log-level': {
    type: 'string',
    env: 'LOG_LEVEL',
    default: 'info',
    choices: LOG_LEVELS,
    help: 'error, warn, info or debug',
  },
  namespace: {
    type: 'string',
    env: 'POD_NAMESPACE',
    default: 'default',
    help: "The webhook's own namespace (of its Service and TLS Secret)",
  },
  'service-name': {
    type: 'string',
    env: 'WEBHOOK_SERVICE_NAME',
    default: 'steerer-webhook',
    help: "The webhook's Service; its DNS names are the certificate's SANs",
  },
  'tls-secret': {
    type: 'string',
    env: 'TLS_SECRET',
    default: 'steerer-webhook-tls',
    help: 'Secret holding the TLS material (managed or external mode)',
  },
  'tls-ip': {
    type: 'string',
    env: 'TLS_IPS',
    default: '',
    help: 'Extra IP SANs, comma-separated (e.g. 127.0.0.1 for local runs)',
  },
  'cert-mode': {
    type: 'string',
    env: 'CERT_MODE',
    default: 'managed',
    choices: CERT_MODES,
    help: 'managed: create, store and rotate the certificate in --tls-secret; external: only read it (cert-manager)',
  },
  'cert-dir': {
    type: 'string',
    env: 'CERT_DIR',
    help: 'Serve tls.crt/tls.key from this directory instead of a Secret (no CA injection)',
  },
  'webhook-config-name': {
    type: 'string',
    env: 'WEBHOOK_CONFIG_NAME',
    default: 'steerer-webhook',
    help: 'Name of the Mutating and the Validating WebhookConfiguration whose caBundle is kept current',
  },
  'inject-ca-bundle': {
    type: 'bool',
    env: 'INJECT_CA_BUNDLE',
    default: true,
    help: "Publish the CA as the configurations' caBundle (off when cert-manager's cainjector does it)",
  },
  'cert-check-interval': {
    type: 'duration',
    env: 'CERT_CHECK_INTERVAL',
    default: '1h',
    minMs: 1000,
    help: 'Upper bound between checks of the TLS Secret',
  },
  'ca-propagation-delay': {
    type: 'duration',
    env: 'CA_PROPAGATION_DELAY',
    default: '5s',
    help: 'After a new CA is published, wait this long for the API server to see it before serving a certificate it signed',
  },
  'lookup-timeout': {
    type: 'duration',
    env: 'LOOKUP_TIMEOUT',
    default: '3s',
    minMs: 100,
    help: 'Deadline of each Kubernetes read during an admission',
  },
  'scrape-interval': {
    type: 'duration',
    env: 'SCRAPE_INTERVAL',
    default: '0s',
    help: "Prometheus' scrape interval: refuse checks whose window spans fewer than two scrapes (0s: do not check)",
  },
  'max-request-bytes': {
    type: 'int',
    env: 'MAX_REQUEST_BYTES',
    default: DEFAULT_MAX_BODY_BYTES,
    min: 1024,
    help: 'Largest AdmissionReview accepted; larger bodies get HTTP 413',
  },
  'shutdown-timeout': {
    type: 'duration',
    env: 'SHUTDOWN_TIMEOUT',
    default: '10s',
    help: 'On SIGTERM, how long in-flight requests may take before connections are closed',
  },
  impersonate: {
    type: 'string',
    help: 'Act as this user (e.g. system:serviceaccount:ns:name); for tests of RBAC',
  },
  help: { type: 'bool', default: false, help: 'Print this help' },
} as const satisfies FlagSpecs;

export type WebhookFlags = ParsedFlags<typeof WEBHOOK_FLAGS>;

export interface WebhookConfig extends Omit<WebhookFlags, 'tls-ip' | 'log-level' | 'cert-mode'> {
  'log-level': LogLevel;
  'cert-mode': CertMode;
  /** --tls-ip, split and checked. */
  tlsIps: string[];
  /** The Service's DNS names: name, name.ns, name.ns.svc, name.ns.svc.cluster.local. */
  dnsNames: string[];
}

export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

export function loadConfig(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): WebhookConfig {
  const flags = parseFlags(WEBHOOK_FLAGS, argv, env);
  const tlsIps = (flags['tls-ip'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ip of tlsIps) {
    if (isIP(ip) === 0)
      throw new SteererError(ErrorCode.Invalid, `--tls-ip: "${ip}" is not an IP address`);
  }
  return {
    ...flags,
    'log-level': flags['log-level'] as LogLevel,
    'cert-mode': flags['cert-mode'] as CertMode,
    tlsIps,
    dnsNames: serviceDnsNames(flags['service-name'], flags.namespace),
  };
}
