// Entry point: `node test/dist/mesh/main.js` (root script `npm run mesh`). Wires config,
// watches, gateway, background load and the admin/metrics port, writes the state file,
// and shuts everything down once on SIGTERM/SIGINT.

import { rename, rm, writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { handleAdmin } from './admin.js';
import { realClock, sleep } from './clock.js';
import { parseConfig, USAGE, type MeshConfig } from './config.js';
import { FaultOverrides } from './faults.js';
import { backgroundRequest, Gateway } from './gateway.js';
import { IstioMetrics } from './istio-metrics.js';
import { createKubeSources } from './kube-watch.js';
import { LoadScheduler } from './load.js';
import { createLogger, type Logger } from './log.js';
import { formatLabels } from './prom-text.js';
import { runReflector } from './reflector.js';
import { SelfMetrics } from './self-metrics.js';
import { startServers } from './server.js';
import { MeshStore, RESOURCES } from './store.js';

function loadKubeConfig(config: MeshConfig, log: Logger): KubeConfig | undefined {
  const kc = new KubeConfig();
  try {
    if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    log.error('cannot load kubeconfig', { kubeconfig: config.kubeconfig ?? '(default)', error });
    return undefined;
  }
  if (!kc.getCurrentCluster()) {
    log.error('kubeconfig has no current cluster', {
      kubeconfig: config.kubeconfig ?? '(default)',
    });
    return undefined;
  }
  return kc;
}

async function writeStateFile(path: string, state: Record<string, unknown>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state)}\n`);
  await rename(tmp, path);
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

async function main(): Promise<number> {
  const parsed = parseConfig(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  const { config } = parsed;
  const log = createLogger({ level: config.logLevel, base: { component: 'mesh-sim' } });
  for (const problem of parsed.warnings) log.warn('configuration problem', { problem });
  const kc = loadKubeConfig(config, log);
  if (!kc) return 1;

  const clock = realClock;
  const istio = new IstioMetrics({ sourceReporter: config.sourceReporter });
  const store = new MeshStore(log, (namespace, name) => istio.forgetWorkload(namespace, name));
  const self = new SelfMetrics();
  const overrides = new FaultOverrides();
  const gateway = new Gateway({ table: () => store.routingTable(), clock, istio, self, overrides });
  const vsLabel = (key: string): string => formatLabels([['virtualservice', key]]);
  const load = new LoadScheduler({
    clock,
    log,
    fire: (key, spec) => {
      const req = backgroundRequest(store.routingTable(), key, spec.path);
      return req ? gateway.handle(req) : undefined;
    },
    onSkipped: (key) => self.loadSkipped.inc(vsLabel(key)),
    onDropped: (key, n) => self.loadDropped.inc(vsLabel(key), n),
  });
  const kube = createKubeSources(kc, {
    ...(config.namespace ? { namespace: config.namespace } : {}),
    ...(config.labelSelector ? { labelSelector: config.labelSelector } : {}),
    log,
  });
  const admin = handleAdmin.bind(null, {
    store,
    overrides,
    load,
    log,
    virtualServiceVersion: () => kube.virtualServiceVersion(),
    gatewayApiVersions: () => kube.gatewayApiVersions(),
    renderMetrics: () => {
      const table = store.routingTable();
      const routes = [...table.httpRoutes.routes.values()];
      const accepted = routes.filter((r) => r.attachments.length > 0).length;
      return self.render(istio, {
        virtualServices: {
          valid: table.virtualServices.size,
          invalid: store.invalidVirtualServices().length,
        },
        httpRoutes: {
          accepted,
          notAccepted: routes.length - accepted,
          invalid: store.invalidHttpRoutes().length,
        },
        loadTargets: load.list(),
      });
    },
  });

  let servers;
  try {
    servers = await startServers({
      host: config.host,
      gatewayPort: config.gatewayPort,
      metricsPort: config.metricsPort,
      gateway,
      admin,
      log,
    });
  } catch (error) {
    log.error('cannot listen', { host: config.host, error });
    return 1;
  }
  log.info('listening', {
    gatewayUrl: servers.gatewayUrl,
    metricsUrl: servers.metricsUrl,
    cluster: kc.getCurrentCluster()?.server,
    namespace: config.namespace ?? '(all)',
    labelSelector: config.labelSelector ?? '(none)',
    sourceReporter: config.sourceReporter,
  });
  if (config.stateFile !== undefined) {
    try {
      await writeStateFile(config.stateFile, {
        gatewayUrl: servers.gatewayUrl,
        metricsUrl: servers.metricsUrl,
        pid: process.pid,
      });
    } catch (error) {
      log.error('cannot write state file', { stateFile: config.stateFile, error });
    }
  }

  const abort = new AbortController();
  const reflectors = RESOURCES.map((resource) =>
    runReflector(
      kube.sources[resource],
      store.sink(resource),
      { clock, log, onError: () => self.watchErrors.inc(formatLabels([['resource', resource]])) },
      abort.signal,
    ),
  );
  for (const [key, spec] of config.load) load.set(key, spec);

  const signal = await waitForSignal();
  log.info('shutting down', { signal });
  abort.abort();
  load.stop();
  gateway.close();
  await servers.close();
  if (config.stateFile !== undefined) await rm(config.stateFile, { force: true });
  const grace = new AbortController();
  await Promise.race([Promise.allSettled(reflectors), sleep(clock, 2000, grace.signal)]);
  grace.abort();
  log.info('stopped');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // An in-flight list request to an unreachable API server must not hold the process.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (error: unknown) => {
    console.error('mesh simulator failed', error);
    process.exit(1);
  },
);
