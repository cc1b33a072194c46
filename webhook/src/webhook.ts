// The webhook, in named phases: clients → cache → certificate → probes → serve → run.
// main.ts parses the configuration and turns signals into calls on the returned handle.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tlsContextOptions } from '@steerer/certs';
import { kubeSecretClient, kubeWebhookConfigClient } from '@steerer/certs/kube';
import { KubeClient, errorMessage, parseListenAddress } from '@steerer/common';
import type { KubeCredentials, Logger } from '@steerer/common';
import { createApp } from './app.js';
import type { AppDeps } from './app.js';
import type { WebhookConfig } from './config.js';
import { ClusterLookup } from './lookup.js';
import { WebhookMetrics } from './metrics.js';
import { ServingCertificate } from './serving-certificate.js';
import type { CertificateSourceOptions, RotationScope } from './serving-certificate.js';

export interface WebhookDeps {
  kubeConfig: KubeCredentials;
  logger: Logger;
  /** Aborted to shut down (by the process, or by the webhook when it cannot start). */
  stop: AbortController;
}

/** What a running webhook offers its process: certificate rotation on request (signals). */
export interface WebhookHandle {
  rotate(scope: RotationScope): void;
  /** Resolves to the exit code once the webhook has stopped. */
  done: Promise<number>;
}

interface Parts {
  client: KubeClient;
  metrics: WebhookMetrics;
  lookup: ClusterLookup;
  certificate: ServingCertificate;
  app: AppDeps;
}

function certificateSource(config: WebhookConfig, client: KubeClient): CertificateSourceOptions {
  if (config['cert-dir']) return { kind: 'dir', dir: config['cert-dir'] };
  return {
    kind: 'secret',
    mode: config['cert-mode'],
    secrets: kubeSecretClient(client),
    ...(config['inject-ca-bundle'] ? { webhookConfigs: kubeWebhookConfigClient(client) } : {}),
    namespace: config.namespace,
    secretName: config['tls-secret'],
    dnsNames: config.dnsNames,
    ips: config.tlsIps,
    webhookConfigName: config['webhook-config-name'],
    checkIntervalMs: config['cert-check-interval'],
  };
}

function createParts(config: WebhookConfig, deps: WebhookDeps): Parts {
  const { logger } = deps;
  const signal = deps.stop.signal;
  const metrics = new WebhookMetrics();
  const client = new KubeClient(deps.kubeConfig, {
    userAgent: 'steerer-webhook',
    onRequest: (r) =>
      metrics.kubeRequests.inc({ verb: r.verb, resource: r.resource, code: String(r.code) }),
    ...(config.impersonate ? { headers: { 'Impersonate-User': config.impersonate } } : {}),
  });
  const lookup = new ClusterLookup({ client, logger, timeoutMs: config['lookup-timeout'] });
  const certificate = new ServingCertificate({
    source: certificateSource(config, client),
    caPropagationDelayMs: config['ca-propagation-delay'],
    logger: logger.child({ part: 'certificate' }),
    metrics,
  });
  const readiness = (): string[] => [
    ...(signal.aborted ? ['shutting down'] : []),
    ...(lookup.hasSynced() ? [] : ['the Rollout cache has not synced']),
    ...(certificate.current ? [] : ['no serving certificate yet']),
  ];
  const app = {
    lookup,
    metrics,
    logger,
    readiness,
    maxBodyBytes: config['max-request-bytes'],
    scrapeIntervalMs: config['scrape-interval'] > 0 ? config['scrape-interval'] : undefined,
  };
  return { client, metrics, lookup, certificate, app };
}

function listen(server: http.Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** In-flight requests finish; idle keep-alive connections close now, the rest at the deadline. */
function close(server: http.Server | undefined, graceMs: number): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** The plain-HTTP /metrics, /healthz and /readyz server, when --metrics-address asks for it. */
async function serveProbes(
  config: WebhookConfig,
  p: Parts,
  logger: Logger,
): Promise<http.Server | undefined> {
  if (!config['metrics-address']) return undefined;
  const { host, port } = parseListenAddress('metrics-address', config['metrics-address']);
  const probes = http.createServer(createApp({ ...p.app, probesOnly: true }));
  const bound = await listen(probes, port, host);
  logger.info('serving /metrics, /healthz and /readyz over HTTP', { port: bound });
  return probes;
}

/** The first certificate, then the HTTPS server with the admission endpoints. */
async function serve(config: WebhookConfig, p: Parts, deps: WebhookDeps): Promise<https.Server> {
  const material = await p.certificate.start(deps.stop.signal);
  const server = https.createServer(tlsContextOptions(material), createApp(p.app));
  server.keepAliveTimeout = 65_000;
  p.certificate.attach(server, material);
  const port = await listen(server, config.port, config['bind-address'] || undefined);
  deps.logger.info('webhook serving', {
    version: process.env.STEERER_VERSION ?? 'dev',
    port,
    certificates: config['cert-dir']
      ? `files in ${config['cert-dir']}`
      : `${config['cert-mode']} Secret ${config.namespace}/${config['tls-secret']}`,
    apiServer: p.client.server,
  });
  return server;
}

async function run(config: WebhookConfig, p: Parts, deps: WebhookDeps): Promise<number> {
  const { logger } = deps;
  const signal = deps.stop.signal;
  const cache = p.lookup.run(signal);
  const probes = await serveProbes(config, p, logger);
  let server: https.Server | undefined;
  let exitCode = 0;
  try {
    server = await serve(config, p, deps);
  } catch (e) {
    if (!signal.aborted) {
      logger.error('webhook failed to start', { error: errorMessage(e) });
      exitCode = 1;
      deps.stop.abort();
    }
  }
  await cache;
  await Promise.all([close(server, config['shutdown-timeout']), close(probes, 0)]);
  p.client.close();
  logger.info('stopped');
  return exitCode;
}

/** Starts the webhook; it runs until `deps.stop` aborts (or it fails to start). */
export function startWebhook(config: WebhookConfig, deps: WebhookDeps): WebhookHandle {
  const p = createParts(config, deps);
  return { rotate: (scope) => p.certificate.rotateAndLog(scope), done: run(config, p, deps) };
}
