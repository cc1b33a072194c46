// Starts Steerer's webhook (webhook/dist/main.js) for a benchmark that only weighs it: on
// loopback with fresh certificates from a directory, registered with no API server
// configuration, so it serves no admission but runs its caches (every Rollout of the
// cluster) as it would in production. Ready once /readyz says the cache has synced.

import { rmSync } from 'node:fs';
import http from 'node:http';
import { freePort, loopbackCertificates, startProcess, waitFor } from '@steerer/test/e2e/harness';
import type { SteererProcess } from '@steerer/test/e2e/harness';
import { processCpuSeconds, processMemory } from './machine.js';

export interface BenchWebhook {
  proc: SteererProcess;
  pid: number;
  cpuSeconds(): number;
  memory(): ReturnType<typeof processMemory>;
  stop(): Promise<void>;
}

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** `build`: the build to run, relative to the repository (default this one). */
export async function startWebhook(name: string, build = '.'): Promise<BenchWebhook> {
  const certDir = await loopbackCertificates(name);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = startProcess(name, `${build}/webhook/dist/main.js`, [
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--metrics-address=127.0.0.1:${metricsPort}`,
    `--cert-dir=${certDir}`,
    `--webhook-config-name=${name}-unregistered`,
  ]);
  await waitFor(
    `webhook ${name} to sync its Rollout cache`,
    async () => {
      if (proc.child.exitCode !== null)
        throw new Error(`webhook exited:\n${proc.output().slice(-2000)}`);
      return ready(metricsPort);
    },
    300_000,
    250,
  );
  const pid = proc.child.pid as number;
  return {
    proc,
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    memory: () => processMemory(pid),
    stop: async () => {
      await proc.stop();
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}
