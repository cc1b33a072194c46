// The controller, in named phases: clients → parts → probes → leader → sync → run. main.ts
// parses the configuration and handles signals; everything here takes its inputs as
// arguments, so the order of start-up is readable in one place.

import type http from 'node:http';
import {
  HttpPrometheusClient,
  KubeClient,
  errorMessage,
  parseListenAddress,
  routersNamed,
} from '@steerer/common';
import type { KubeCredentials, Logger } from '@steerer/common';
import { Actuator } from './actuator.js';
import { AnalysisHub, measuredFailure } from './analysis/hub.js';
import { ScrapeIntervals } from './analysis/scrape.js';
import { Cluster } from './cluster.js';
import type { ControllerConfig } from './config.js';
import { EventRecorder } from './events.js';
import { HookRunner } from './hooks/runner.js';
import { LeaderElector } from './leader.js';
import { ControllerMetrics } from './metrics.js';
import { notifierFromFlags } from './notify/notifier.js';
import type { Notifier } from './notify/notifier.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';
import { createProbeServer } from './server.js';

export interface ControllerDeps {
  kubeConfig: KubeCredentials;
  logger: Logger;
  /** This replica's name in the leader Lease. */
  identity: string;
  /** Aborted to shut down. */
  signal: AbortSignal;
  /** Called when leadership is lost: the process must stop. */
  onLostLeadership: () => void;
}

interface Clients {
  metrics: ControllerMetrics;
  kube: KubeClient;
  prometheus: HttpPrometheusClient;
}

/**
 * Until every cache has synced, keys wait here: a pass must never mistake an object that
 * is merely not listed yet for a missing one.
 */
class Intake {
  private queue: WorkQueue | undefined;
  private readonly early = new Set<string>();

  add(key: string): void {
    if (this.queue) this.queue.add(key);
    else this.early.add(key);
  }

  /** The caches have synced: every key from now on goes to `queue`, the waiting ones first. */
  open(queue: WorkQueue): void {
    this.queue = queue;
    for (const key of this.early) queue.add(key);
    this.early.clear();
  }
}

interface Parts {
  cluster: Cluster;
  hub: AnalysisHub;
  queue: WorkQueue;
  intake: Intake;
  notifier: Notifier;
  hooks: HookRunner;
}

function createClients(config: ControllerConfig, deps: ControllerDeps): Clients {
  const metrics = new ControllerMetrics();
  const kube = new KubeClient(deps.kubeConfig, {
    userAgent: 'steerer-controller',
    onRequest: metrics.onKubeRequest,
    ...(config.impersonate ? { headers: { 'Impersonate-User': config.impersonate } } : {}),
  });
  const prometheus = new HttpPrometheusClient({
    url: config['metrics-server'],
    timeoutMs: config['metrics-timeout'],
    onQuery: metrics.onPromQuery,
  });
  return { metrics, kube, prometheus };
}

function createParts(config: ControllerConfig, c: Clients, logger: Logger): Parts {
  const intake = new Intake();
  const enqueue = (key: string): void => intake.add(key);
  const cluster = new Cluster({
    client: c.kube,
    logger,
    namespace: config.namespace,
    routers: routersNamed(config.routers),
    enqueue,
    onInformerRestart: (kind, reason) => c.metrics.informerRestarts.inc({ kind, reason }),
  });
  const hub = new AnalysisHub({
    prometheus: c.prometheus,
    intervalMs: config['analysis-interval'],
    logger: logger.child({ part: 'analysis' }),
    scrape: new ScrapeIntervals({
      prometheus: c.prometheus,
      logger: logger.child({ part: 'analysis' }),
      fixedMs: config['scrape-interval'] > 0 ? config['scrape-interval'] : undefined,
    }),
    // The first sample of a check may be awaited by a plan; a measured failure halts at
    // once. Other samples wait for the step interval.
    onSample: (key, check, sample, first) => {
      if (first || measuredFailure(check, sample)) enqueue(key);
    },
  });
  const notifier = notifierFromFlags(config, logger.child({ part: 'notify' }), {
    result: (receiver, kind, result) => c.metrics.notifications.inc({ receiver, kind, result }),
    request: (receiver, code) => c.metrics.notificationRequests.inc({ receiver, code }),
    depth: (receiver, depth) => c.metrics.notificationQueueDepth.set({ receiver }, depth),
  });
  // Lifecycle webhooks run off the loop; an attempt that ends wakes its Rollout.
  // A failing call is retried like a check: at most one step interval apart.
  const hooks = new HookRunner({
    onSettled: enqueue,
    logger: logger.child({ part: 'hooks' }),
    metrics: c.metrics,
    backoff: { initialMs: 1000, maxMs: Math.min(30_000, config['control-loop-interval']) },
  });
  const reconciler = new Reconciler({
    notifier,
    hooks,
    cluster,
    actuator: new Actuator({
      client: c.kube,
      versionOf: (kind) => cluster.versionOf(kind),
      recordWrite: (kind, obj) => cluster.recordWrite(kind, obj),
    }),
    events: new EventRecorder(c.kube, logger, (type) => c.metrics.events.inc({ type })),
    hub,
    metrics: c.metrics,
    logger,
    config: {
      stepIntervalMs: config['control-loop-interval'],
      maxSampleAgeMs: 3 * config['analysis-interval'] + config['metrics-timeout'],
      rollbackOnFailure: config['rollback-on-failure'],
      progressDeadlineMs: config['progress-deadline'],
      routeSettleMs: config['route-settle-time'],
    },
  });
  const queue = new WorkQueue({
    concurrency: config.workers,
    handler: (key) => reconciler.reconcile(key),
    onError: (key, error, retryInMs) =>
      logger.warn('reconcile failed; will retry', {
        rollout: key,
        error: errorMessage(error),
        retryInMs,
      }),
  });
  return { cluster, hub, queue, intake, notifier, hooks };
}

async function serveProbes(
  config: ControllerConfig,
  c: Clients,
  ready: () => boolean,
): Promise<{ server: http.Server; port: number }> {
  const { host, port } = parseListenAddress('listen-address', config['listen-address']);
  const server = createProbeServer({ registry: c.metrics.registry, healthy: () => true, ready });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}

/** Waits for the leader Lease and keeps renewing it; false when shut down first. */
async function lead(
  config: ControllerConfig,
  c: Clients,
  deps: ControllerDeps,
): Promise<LeaderElector | false> {
  const elector = new LeaderElector({
    client: c.kube,
    logger: deps.logger,
    namespace: config['leader-election-namespace'],
    name: config['leader-election-id'],
    identity: deps.identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  });
  if (!(await elector.acquire(deps.signal))) return false;
  c.metrics.leader.set(1);
  void elector.hold(deps.signal, deps.onLostLeadership);
  return elector;
}

/** Starts the informers, waits for their first lists, then lets keys and measurements flow. */
async function sync(p: Parts, deps: ControllerDeps): Promise<Promise<void>[]> {
  const runs = await p.cluster.start(deps.signal);
  if (await p.cluster.waitForSync(deps.signal)) {
    p.intake.open(p.queue);
    deps.logger.info('caches synced; reconciling', { rollouts: p.cluster.rollouts.size });
    p.hub.run(deps.signal);
  }
  return runs;
}

/** Runs the controller until `deps.signal` aborts; resolves to the exit code. */
export async function startController(
  config: ControllerConfig,
  deps: ControllerDeps,
): Promise<number> {
  const { logger, signal } = deps;
  const c = createClients(config, deps);
  const p = createParts(config, c, logger);
  let leading = !config['leader-elect'];
  const depthTimer = setInterval(() => c.metrics.queueDepth.set(p.queue.depth), 1000);
  const probes = await serveProbes(config, c, () => !leading || p.cluster.hasSynced());
  logger.info('controller starting', {
    version: process.env.STEERER_VERSION ?? 'dev',
    metricsServer: config['metrics-server'],
    controlLoopInterval: config['control-loop-interval'],
    analysisInterval: config['analysis-interval'],
    namespace: config.namespace ?? '(all)',
    routers: routersNamed(config.routers).map((r) => r.kind),
    listen: probes.port,
    apiServer: c.kube.server,
  });
  let elector: LeaderElector | false | undefined;
  let exitCode = 0;
  try {
    if (config['leader-elect']) elector = await lead(config, c, deps);
    leading = elector !== false;
    if (leading && !signal.aborted) {
      await Promise.all(await sync(p, deps));
    }
  } catch (e) {
    if (!signal.aborted) {
      logger.error('controller failed', { error: errorMessage(e) });
      exitCode = 1;
    }
  }
  clearInterval(depthTimer);
  p.queue.stop();
  await p.queue.drained();
  p.hooks.stop();
  await p.notifier.close(2000);
  if (elector) await elector.release();
  await new Promise((resolve) => probes.server.close(resolve));
  c.kube.close();
  logger.info('stopped');
  return exitCode;
}
