// @steerer/dashboard: Steerer's live web dashboard. `startDashboard` runs the local server
// (`kubectl steerer dashboard` starts it on the user's kubeconfig); src/web is the page.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '@steerer/common';
import type { Logger } from '@steerer/common';
import type { ClusterAccess } from './server/access.js';
import { DashboardApp } from './server/app.js';
import { WEB_OUT, buildWeb, webIsFresh } from './server/build-web.js';
import { EventsHub } from './server/events.js';
import { HttpRangeClient } from './server/prometheus.js';
import type { RangeClient } from './server/prometheus.js';
import { RolloutHub } from './server/rollouts.js';

export type { ClusterAccess, Handling, Operation } from './server/access.js';
export type * from './shared/api.js';
export { buildWeb, webIsFresh } from './server/build-web.js';

/** The chart's default Prometheus (its `metricsServer` value). */
export const DEFAULT_PROMETHEUS_URL = 'http://prometheus.istio-system:9090';

export interface DashboardOptions {
  access: ClusterAccess;
  /** Only this namespace; undefined: every namespace the user may list. */
  namespace?: string | undefined;
  prometheusUrl: string;
  /** Loopback address to listen on (127.0.0.1). */
  address?: string;
  /** 0: any free port. */
  port: number;
  logger: Logger;
  /** Where the built page is (default dashboard/dist/public, built when missing or stale). */
  webDir?: string;
  /** Injected for tests. */
  prometheus?: RangeClient;
  requestWaitMs?: number;
}

export interface RunningDashboard {
  url: string;
  /** Resolves once the Rollouts have been listed (or `signal` aborted). */
  synced: Promise<void>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Makes sure the page is built: dist/public, rebuilt when older than its sources. */
export async function ensureWeb(logger: Logger): Promise<string> {
  if (webIsFresh()) return WEB_OUT;
  logger.info('building the dashboard page (esbuild)', { dir: WEB_OUT });
  try {
    await buildWeb();
  } catch (e) {
    throw new Error(
      `the dashboard's page could not be built (npm run build -w dashboard): ${errorMessage(e)}`,
      { cause: e },
    );
  }
  return WEB_OUT;
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const address = options.address ?? '127.0.0.1';
  if (!LOOPBACK.has(address)) {
    throw new Error(
      `the dashboard listens on loopback only (127.0.0.1, ::1), not ${address}: it acts with your credentials`,
    );
  }
  const webDir = options.webDir ?? (await ensureWeb(options.logger));
  const stop = new AbortController();
  const hub = new RolloutHub(options.access, {
    namespace: options.namespace,
    logger: options.logger,
  });
  const events = new EventsHub(options.access);
  const app = new DashboardApp({
    hub,
    events,
    access: options.access,
    prometheus: options.prometheus ?? new HttpRangeClient(options.prometheusUrl),
    webDir,
    logger: options.logger,
    requestWaitMs: options.requestWaitMs,
  });
  const server = http.createServer();
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
    app.handler(req, res, port),
  );
  const running = hub.run(stop.signal);
  const synced = new Promise<void>((resolve) => {
    const off = hub.subscribeOverview({
      reset: () => {
        off();
        resolve();
      },
      upsert: () => undefined,
      remove: () => undefined,
      trouble: () => undefined,
    });
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const host = address === '::1' ? '[::1]' : address;
  return {
    url: `http://${host}:${port}/`,
    synced,
    async close() {
      stop.abort();
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running;
    },
  };
}
