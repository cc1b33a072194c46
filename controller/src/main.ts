// The controller process: flags → clients → informers → work queue → reconciler.

import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import {
  HttpPrometheusClient,
  KubeClient,
  createLogger,
  errorMessage,
  flagsHelp,
} from '@steerer/common';
import type { LogLevel } from '@steerer/common';
import { Actuator } from './actuator.js';
import { AnalysisHub } from './analysis.js';
import { Cluster } from './cluster.js';
import { CONTROLLER_FLAGS, loadConfig, parseListenAddress } from './config.js';
import { EventRecorder } from './events.js';
import { LeaderElector } from './leader.js';
import { ControllerMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';
import { createProbeServer } from './server.js';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write(`steerer-controller: ${errorMessage(e)}\n`);
    return 2;
  }
  if (config.help) {
    process.stdout.write(`Usage: steerer-controller [flags]\n\n${flagsHelp(CONTROLLER_FLAGS)}\n`);
    return 0;
  }
  const logger = createLogger({ level: config['log-level'] as LogLevel, component: 'controller' });
  const metrics = new ControllerMetrics();
  const kc = new KubeConfig();
  try {
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    logger.error('cannot load Kubernetes configuration', { error: errorMessage(e) });
    return 2;
  }
  const client = new KubeClient(kc, {
    userAgent: 'steerer-controller',
    onRequest: metrics.onKubeRequest,
    ...(config.impersonate ? { headers: { 'Impersonate-User': config.impersonate } } : {}),
  });
  const prometheus = new HttpPrometheusClient({
    url: config['metrics-server'],
    timeoutMs: config['metrics-timeout'],
    onQuery: metrics.onPromQuery,
  });

  const stop = new AbortController();
  let exitCode = 0;
  const shutdown = (signal: string): void => {
    if (stop.signal.aborted) return;
    logger.info('shutting down', { signal });
    stop.abort();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  // Until every cache has synced, keys wait here: a pass must never mistake an object
  // that is merely not listed yet for a missing one.
  let synced = false;
  const early = new Set<string>();
  const cluster = new Cluster({
    client,
    logger,
    namespace: config.namespace,
    enqueue: (key) => (synced ? queue.add(key) : early.add(key)),
    onInformerRestart: (kind, reason) => metrics.informerRestarts.inc({ kind, reason }),
  });
  const hub = new AnalysisHub({
    prometheus,
    intervalMs: config['analysis-interval'],
    logger: logger.child({ part: 'analysis' }),
    onSample: (key, sample, sub) => {
      // Only a measured failure is urgent; passing samples wait for the step interval.
      if (sample.kind === 'ok' && sample.successRate < sub.threshold) queue.add(key);
    },
  });
  const reconciler = new Reconciler({
    cluster,
    actuator: new Actuator(client, cluster),
    events: new EventRecorder(client, logger, (type) => metrics.events.inc({ type })),
    hub,
    metrics,
    logger,
    config: {
      stepIntervalMs: config['control-loop-interval'],
      maxSampleAgeMs: 3 * config['analysis-interval'] + config['metrics-timeout'],
    },
  });
  const queue: WorkQueue = new WorkQueue({
    concurrency: config.workers,
    handler: (key) => reconciler.reconcile(key),
    onError: (key, error, retryInMs) =>
      logger.warn('reconcile failed; will retry', {
        rollout: key,
        error: errorMessage(error),
        retryInMs,
      }),
  });
  const depthTimer = setInterval(() => metrics.queueDepth.set(queue.depth), 1000);

  const { host, port } = parseListenAddress(config['listen-address']);
  let leading = !config['leader-elect'];
  const server = createProbeServer({
    registry: metrics.registry,
    healthy: () => true,
    ready: () => !leading || cluster.hasSynced(),
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  logger.info('controller starting', {
    version: process.env.STEERER_VERSION ?? 'dev',
    metricsServer: config['metrics-server'],
    controlLoopInterval: config['control-loop-interval'],
    analysisInterval: config['analysis-interval'],
    namespace: config.namespace ?? '(all)',
    listen: typeof address === 'object' && address ? address.port : port,
    apiServer: client.server,
  });

  let elector: LeaderElector | undefined;
  if (config['leader-elect']) {
    elector = new LeaderElector({
      client,
      logger,
      namespace: config['leader-election-namespace'],
      name: config['leader-election-id'],
      identity: `${hostname()}_${process.pid}`,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    if (!(await elector.acquire(stop.signal))) return cleanup();
    leading = true;
    metrics.leader.set(1);
    void elector.hold(stop.signal, () => {
      exitCode = 1;
      shutdown('lost leadership');
    });
  }

  try {
    const runs = await cluster.start(stop.signal);
    if (await cluster.waitForSync(stop.signal)) {
      synced = true;
      for (const key of early) queue.add(key);
      early.clear();
      logger.info('caches synced; reconciling', { rollouts: cluster.rollouts.size });
      hub.run(stop.signal);
    }
    await Promise.all(runs);
  } catch (e) {
    if (!stop.signal.aborted) {
      logger.error('controller failed', { error: errorMessage(e) });
      exitCode = 1;
    }
  }
  return cleanup();

  async function cleanup(): Promise<number> {
    clearInterval(depthTimer);
    queue.stop();
    await queue.drained();
    if (elector && leading) await elector.release();
    await new Promise((resolve) => server.close(resolve));
    client.close();
    logger.info('stopped');
    return exitCode;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`steerer-controller: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
