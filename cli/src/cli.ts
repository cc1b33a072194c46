// The plugin without the process: parses the command line, connects, runs the command,
// and turns every failure into `error: <one sentence>` on stderr and an exit code.
// 0: done; 1: failed (not found, forbidden, unreachable, refused, timed out); 2: usage.

import { readFileSync } from 'node:fs';
import { errorMessage } from '@steerer/common';
import { isCommand, parseCommandLine } from './args.js';
import type { Invocation } from './args.js';
import { clusterAccess, dashboardCommand } from './dashboard.js';
import { CliError, Interrupted, UsageError } from './errors.js';
import { helpText, usageHint } from './help.js';
import type { Io } from './io.js';
import type { Connected } from './kube.js';
import { runRequest } from './request.js';
import { getCommand, statusCommand } from './show.js';
import { watchCommand } from './watch.js';

/** The plugin's version, from its package.json. */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function fail(e: unknown, io: Io): number {
  if (e instanceof Interrupted) return e.exitCode;
  if (e instanceof UsageError) {
    const command = isCommand(e.command) ? e.command : undefined;
    io.err.write(`error: ${e.message}\n\n${usageHint(command)}`);
    return e.exitCode;
  }
  if (e instanceof CliError) {
    io.err.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  // Not expected; still one line, never a stack trace.
  io.err.write(`error: ${errorMessage(e)}\n`);
  return 1;
}

function required(value: string | undefined, command: string): string {
  if (value === undefined)
    throw new UsageError(`"${command}" needs the name of a Rollout`, command);
  return value;
}

function dashboard(inv: Invocation, { cluster, namespace }: Connected, io: Io): Promise<number> {
  if (!cluster) throw new CliError('the dashboard needs a connection to a cluster');
  return dashboardCommand(
    clusterAccess(cluster.client, cluster.target, namespace),
    { namespace: inv.connect.namespace, port: inv.port ?? 0, metricsServer: inv.metricsServer },
    io,
  );
}

async function dispatch(inv: Invocation, connected: Connected, io: Io): Promise<number> {
  const { kube, namespace } = connected;
  switch (inv.command) {
    case 'get':
      return getCommand(kube, { namespace, allNamespaces: inv.allNamespaces, name: inv.name }, io);
    case 'status':
      return statusCommand(kube, { namespace, name: required(inv.name, inv.command) }, io);
    case 'watch':
      return watchCommand(kube, { namespace, name: required(inv.name, inv.command) }, io);
    case 'promote':
    case 'abort':
    case 'retry':
    case 'pause':
    case 'resume': {
      const name = required(inv.name, inv.command);
      const request = inv.request ?? inv.command;
      return runRequest(kube, { namespace, name, request, waitMs: inv.waitMs }, io);
    }
    case 'dashboard':
      return dashboard(inv, connected, io);
    case 'version':
    case 'help':
      return 0;
  }
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  let connected: Connected | undefined;
  try {
    const inv = parseCommandLine(argv);
    if (inv.command === 'help') {
      io.out.write(helpText(inv.topic));
      return 0;
    }
    if (inv.command === 'version') {
      io.out.write(`kubectl-steerer ${version()}\n`);
      return 0;
    }
    connected = io.connect(inv.connect);
    return await dispatch(inv, connected, io);
  } catch (e) {
    return fail(e, io);
  } finally {
    connected?.kube.close();
  }
}
