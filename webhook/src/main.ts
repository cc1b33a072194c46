// The webhook process: flags → Kubernetes client → Rollout cache → certificate → HTTPS server.
// Signals: SIGTERM/SIGINT shut down cleanly; SIGHUP rotates the serving certificate (or
// re-reads --cert-dir); SIGUSR2 rotates the CA as well.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { tlsContextOptions } from '@steerer/certs';
import { kubeSecretClient, kubeWebhookConfigClient } from '@steerer/certs/kube';
import { KubeClient, createLogger, errorMessage, flagsHelp } from '@steerer/common';
import { createApp } from './app.js';
import { WEBHOOK_FLAGS, loadConfig, parseListenAddress } from './config.js';
import type { WebhookConfig } from './config.js';
import { ClusterLookup } from './lookup.js';
import { WebhookMetrics } from './metrics.js';
import { ServingCertificate } from './serving-certificate.js';
import type { CertificateSourceOptions } from './serving-certificate.js';

function kubeConfig(config: WebhookConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  const user = config.impersonate;
  if (!user) return kc;
  // On the KubeConfig itself, so both our client and client-node's (certs) impersonate.
  const current = kc.getCurrentUser()?.name;
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
    users: kc.users.map((u) => (u.name === current ? { ...u, impersonateUser: user } : u)),
  });
  return out;
}

function certificateSource(config: WebhookConfig, kc: KubeConfig): CertificateSourceOptions {
  if (config['cert-dir']) return { kind: 'dir', dir: config['cert-dir'] };
  return {
    kind: 'secret',
    mode: config['cert-mode'],
    secrets: kubeSecretClient(kc),
    ...(config['inject-ca-bundle'] ? { webhookConfigs: kubeWebhookConfigClient(kc) } : {}),
    namespace: config.namespace,
    secretName: config['tls-secret'],
    dnsNames: config.dnsNames,
    ips: config.tlsIps,
    webhookConfigName: config['webhook-config-name'],
    checkIntervalMs: config['cert-check-interval'],
  };
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

async function main(): Promise<number> {
  let config: WebhookConfig;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write(`steerer-webhook: ${errorMessage(e)}\n`);
    return 2;
  }
  if (config.help) {
    process.stdout.write(`Usage: steerer-webhook [flags]\n\n${flagsHelp(WEBHOOK_FLAGS)}\n`);
    return 0;
  }
  const logger = createLogger({ level: config['log-level'], component: 'webhook' });
  let kc: KubeConfig;
  try {
    kc = kubeConfig(config);
  } catch (e) {
    logger.error('cannot load Kubernetes configuration', { error: errorMessage(e) });
    return 2;
  }
  const metrics = new WebhookMetrics();
  const client = new KubeClient(kc, {
    userAgent: 'steerer-webhook',
    onRequest: (r) =>
      metrics.kubeRequests.inc({ verb: r.verb, resource: r.resource, code: String(r.code) }),
  });
  const lookup = new ClusterLookup({
    client,
    logger,
    timeoutMs: config['lookup-timeout'],
  });
  const certificate = new ServingCertificate({
    source: certificateSource(config, kc),
    caPropagationDelayMs: config['ca-propagation-delay'],
    logger: logger.child({ part: 'certificate' }),
    metrics,
  });

  const stop = new AbortController();
  let stopping = false;
  const readiness = (): string[] => [
    ...(stopping ? ['shutting down'] : []),
    ...(lookup.hasSynced() ? [] : ['the Rollout cache has not synced']),
    ...(certificate.current ? [] : ['no serving certificate yet']),
  ];
  const deps = { lookup, metrics, logger, readiness, maxBodyBytes: config['max-request-bytes'] };
  const shutdown = (signal: string): void => {
    if (stop.signal.aborted) return;
    logger.info('shutting down', { signal });
    stopping = true;
    stop.abort();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => certificate.rotateAndLog('serving'));
  process.on('SIGUSR2', () => certificate.rotateAndLog('all'));

  const running = lookup.run(stop.signal);
  let probes: http.Server | undefined;
  if (config['metrics-address']) {
    const { host, port } = parseListenAddress('metrics-address', config['metrics-address']);
    probes = http.createServer(createApp({ ...deps, probesOnly: true }));
    const bound = await listen(probes, port, host);
    logger.info('serving /metrics, /healthz and /readyz over HTTP', { port: bound });
  }

  let server: https.Server | undefined;
  try {
    const material = await certificate.start(stop.signal);
    server = https.createServer(tlsContextOptions(material), createApp(deps));
    server.keepAliveTimeout = 65_000;
    certificate.attach(server, material);
    const port = await listen(server, config.port, config['bind-address'] || undefined);
    logger.info('webhook serving', {
      version: process.env.STEERER_VERSION ?? 'dev',
      port,
      certificates: config['cert-dir']
        ? `files in ${config['cert-dir']}`
        : `${config['cert-mode']} Secret ${config.namespace}/${config['tls-secret']}`,
      apiServer: client.server,
    });
  } catch (e) {
    if (!stop.signal.aborted) {
      logger.error('webhook failed to start', { error: errorMessage(e) });
      stop.abort();
      await close(probes, 0);
      await running;
      client.close();
      return 1;
    }
  }

  await running;
  // In-flight admissions finish; idle keep-alive connections close now, the rest at the deadline.
  await Promise.all([close(server, config['shutdown-timeout']), close(probes, 0)]);
  client.close();
  logger.info('stopped');
  return 0;
}

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

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`steerer-webhook: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
