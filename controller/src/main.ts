// The controller process: flags → logger → kubeconfig → startController, and signals.

import { hostname } from 'node:os';
import { createLogger, errorMessage, flagsHelp, loadKubeCredentials } from '@steerer/common';
import type { KubeCredentials, LogLevel } from '@steerer/common';
import { CONTROLLER_FLAGS, loadConfig } from './config.js';
import type { ControllerConfig } from './config.js';
import { startController } from './controller.js';

async function main(): Promise<number> {
  let config: ControllerConfig;
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
  let kubeConfig: KubeCredentials;
  try {
    kubeConfig = await loadKubeCredentials({ file: config.kubeconfig || undefined });
  } catch (e) {
    logger.error('cannot load Kubernetes configuration', { error: errorMessage(e) });
    return 2;
  }
  const stop = new AbortController();
  let exitCode = 0;
  const shutdown = (why: string): void => {
    if (stop.signal.aborted) return;
    logger.info('shutting down', { signal: why });
    stop.abort();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const code = await startController(config, {
    kubeConfig,
    logger,
    identity: `${hostname()}_${process.pid}`,
    signal: stop.signal,
    onLostLeadership: () => {
      exitCode = 1;
      shutdown('lost leadership');
    },
  });
  return code || exitCode;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`steerer-controller: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
