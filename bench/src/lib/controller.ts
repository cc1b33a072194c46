// Starts Steerer's controller (controller/dist/main.js) for a benchmark, scoped to the
// benchmark's namespace, and reads its /metrics and process accounting.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO, clusterEnv, startProcess, waitFor } from '@steerer/test/e2e/harness';
import type { SteererProcess } from '@steerer/test/e2e/harness';
import { processCpuSeconds, processMemory } from './machine.js';
import { scrape } from './prom-text.js';
import type { PromSample } from './prom-text.js';

/** Node's flags the chart gives the controller (values.yaml, controller.nodeFlags). */
export const CONTROLLER_NODE_FLAGS: string[] = ((): string[] => {
  const values = parse(readFileSync(join(REPO, 'charts/steerer/values.yaml'), 'utf8')) as {
    controller?: { nodeFlags?: unknown };
  };
  const flags = values.controller?.nodeFlags;
  return Array.isArray(flags) ? flags.map(String) : [];
})();

export interface BenchController {
  proc: SteererProcess;
  pid: number;
  metricsUrl: string;
  metrics(): Promise<PromSample[]>;
  cpuSeconds(): number;
  memory(): ReturnType<typeof processMemory>;
  stop(): Promise<void>;
}

export async function startController(
  name: string,
  flags: string[],
  env: Record<string, string> = {},
  /** The build to run, relative to the repository (e.g. a baseline worktree: ../base). */
  build = '.',
  /** Node's own flags (default: those the chart gives the controller). */
  nodeArgs: string[] = CONTROLLER_NODE_FLAGS,
): Promise<BenchController> {
  const proc = startProcess(
    name,
    `${build}/controller/dist/main.js`,
    [
      `--metrics-server=${clusterEnv().PROMETHEUS_URL}`,
      '--listen-address=127.0.0.1:0',
      '--leader-elect=false',
      '--log-level=info',
      ...flags,
    ],
    env,
    nodeArgs,
  );
  const port = await waitFor(
    `controller ${name} to listen`,
    () => {
      if (proc.child.exitCode !== null)
        throw new Error(`controller exited:\n${proc.output().slice(-2000)}`);
      const m = /"listen":(\d+)/.exec(proc.output());
      return m?.[1] ? Number(m[1]) : undefined;
    },
    30_000,
    100,
  );
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitFor(
    `controller ${name} caches to sync`,
    () => proc.output().includes('caches synced'),
    120_000,
    100,
  );
  const pid = proc.child.pid as number;
  return {
    proc,
    pid,
    metricsUrl,
    metrics: () => scrape(metricsUrl),
    cpuSeconds: () => processCpuSeconds(pid),
    memory: () => processMemory(pid),
    stop: async () => {
      await proc.stop();
    },
  };
}
