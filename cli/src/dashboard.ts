// kubectl steerer dashboard: the live web dashboard on 127.0.0.1, acting with the user's
// kubeconfig (so with exactly their RBAC). Runs until Ctrl-C. The requests it writes are
// the plugin's own: the same annotation, field manager and rule for "handled".

import { ANNOTATIONS, errorMessage } from '@steerer/common';
import type { KubeClient, LogFields, Logger, Request, RolloutObject } from '@steerer/common';
import { DEFAULT_PROMETHEUS_URL, startDashboard } from '@steerer/dashboard';
import type { ClusterAccess } from '@steerer/dashboard';
import { CliError, describeKubeError } from './errors.js';
import type { Target } from './errors.js';
import type { Io } from './io.js';
import { CLI_FIELD_MANAGER, rolloutsPath } from './kube.js';
import { handling, writeTime } from './request.js';

/** The dashboard's view of the cluster: the user's client and the plugin's sentences. */
export function clusterAccess(
  client: KubeClient,
  target: Target,
  defaultNamespace: string,
  now: () => number = Date.now,
): ClusterAccess {
  return {
    client,
    server: target.server,
    context: target.context,
    defaultNamespace,
    describe: (e, op) => describeKubeError(e, op, target).message,
    async writeRequest(namespace: string, name: string, request: Request): Promise<number> {
      const body = { metadata: { annotations: { [ANNOTATIONS.request]: request } } };
      const patched = await client.patch<RolloutObject>(
        rolloutsPath(namespace, name),
        'merge',
        body,
        {
          query: { fieldManager: CLI_FIELD_MANAGER },
        },
      );
      return writeTime(patched, now());
    },
    handling: (rollout, request, writtenAt) => handling(rollout, request, writtenAt),
  };
}

/** Warnings and errors on stderr, one line each; the rest is quiet. */
function stderrLogger(io: Io): Logger {
  const line =
    (level: string) =>
    (message: string, fields?: LogFields): void => {
      const error = typeof fields?.error === 'string' ? `: ${fields.error}` : '';
      io.err.write(`${new Date(io.now()).toISOString()} ${level}: ${message}${error}\n`);
    };
  const logger: Logger = {
    error: line('error'),
    warn: line('warning'),
    info: line('info'),
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

export interface DashboardTarget {
  /** Only this namespace; undefined: every namespace the user may list. */
  namespace: string | undefined;
  port: number;
  metricsServer: string | undefined;
}

export async function dashboardCommand(
  access: ClusterAccess,
  target: DashboardTarget,
  io: Io,
): Promise<number> {
  let running;
  try {
    running = await startDashboard({
      access,
      namespace: target.namespace,
      prometheusUrl: target.metricsServer ?? DEFAULT_PROMETHEUS_URL,
      port: target.port,
      logger: stderrLogger(io),
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      throw new CliError(
        `port ${target.port} on 127.0.0.1 is in use: pass --port=N (or --port=0 for any free port)`,
      );
    }
    throw new CliError(`the dashboard could not start: ${errorMessage(e)}`);
  }
  const where =
    target.namespace === undefined
      ? 'every namespace you may list'
      : `namespace ${target.namespace}`;
  io.out.write(
    `Steerer dashboard: ${running.url}\n` +
      `  Rollouts of ${where}, as context ${access.context} (${access.server})\n` +
      `  Prometheus: ${target.metricsServer ?? DEFAULT_PROMETHEUS_URL} (asked by this process, not the browser)\n` +
      `  Ctrl-C to stop.\n`,
  );
  if (!io.signal.aborted) {
    await new Promise<void>((resolve) =>
      io.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
  await running.close();
  return 0;
}
