// The webhook process: flags → logger → kubeconfig → startWebhook, and signals.
// SIGTERM/SIGINT shut down cleanly; SIGHUP rotates the serving certificate (or re-reads
// --cert-dir); SIGUSR2 rotates the CA as well.

import { createLogger, errorMessage, flagsHelp, loadKubeCredentials } from '@steerer/common';
import type { KubeCredentials } from '@steerer/common';
import { WEBHOOK_FLAGS, loadConfig } from './config.js';
import type { WebhookConfig } from './config.js';
import { startWebhook } from './webhook.js';

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
  let kubeConfig: KubeCredentials;
  try {
    kubeConfig = await loadKubeCredentials({ file: config.kubeconfig || undefined });
  } catch (e) {
    logger.error('cannot load Kubernetes configuration', { error: errorMessage(e) });
    return 2;
  }
  const stop = new AbortController();
  const shutdown = (signal: string): void => {
    if (stop.signal.aborted) return;
    logger.info('shutting down', { signal });
    stop.abort();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const webhook = startWebhook(config, { kubeConfig, logger, stop });
  process.on('SIGHUP', () => webhook.rotate('serving'));
  process.on('SIGUSR2', () => webhook.rotate('all'));
  return webhook.done;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`steerer-webhook: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
