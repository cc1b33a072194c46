// Mesh simulators of the scale benchmark's own. One simulator exporting the Istio metrics
// of 1,500 workloads in one /metrics page (~76,000 samples with both reporters) takes
// longer to scrape than the 1 s scrape interval allows, so Prometheus loses scrapes and
// canaries show "no data"; in a real mesh every sidecar is its own small scrape target. So
// the benchmark runs its traffic through a few simulators limited to its namespace, each
// with only the destination reporter (the one Steerer queries), registered as extra
// targets of the local Prometheus (file_sd in .local/prometheus/targets-5s/), scraped every
// 5 s: steps every 10 s over a 1m window need no finer data, and at 1,000 rollouts scraping
// every second starved the 2-core machine (most scrapes timed out, so canaries had no data).

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO, clusterEnv, startProcess, waitFor } from '@steerer/test/e2e/harness';
import type { SteererProcess } from '@steerer/test/e2e/harness';

export interface MeshShard {
  proc: SteererProcess;
  adminUrl: string;
}

export interface MeshShards {
  shards: MeshShard[];
  /** Steady load on a VirtualService, sent by one shard (chosen by `shard`). */
  setLoad(shard: number, namespace: string, vs: string, rps: number): Promise<void>;
  stop(): Promise<void>;
}

const TARGETS = join(REPO, '.local/prometheus/targets-5s/bench-scale.json');

/** Fails early when the running Prometheus predates the 5 s job (an older cluster:up). */
async function requireSlowJob(): Promise<void> {
  const res = await fetch(`${clusterEnv().PROMETHEUS_URL}/api/v1/status/config`);
  const config = ((await res.json()) as { data?: { yaml?: string } }).data?.yaml ?? '';
  if (!config.includes('targets-5s'))
    throw new Error(
      "the local Prometheus has no 'mesh-5s' scrape job (it was started by an older cluster:up); run `npm run cluster:down && npm run cluster:up`",
    );
}

/** `labelSelector`: the shards read only matching objects (every object when undefined). */
export async function startMeshShards(
  namespace: string,
  count: number,
  labelSelector?: string,
): Promise<MeshShards> {
  await requireSlowJob();
  mkdirSync(dirname(TARGETS), { recursive: true });
  const shards: MeshShard[] = [];
  for (let i = 0; i < count; i++) {
    const stateFile = join(REPO, `.local/bench-mesh-${i}.json`);
    rmSync(stateFile, { force: true });
    const proc = startProcess(`bench-mesh-${i}`, 'test/dist/mesh/main.js', [
      '--kubeconfig',
      clusterEnv().KUBECONFIG,
      '--host',
      '127.0.0.1',
      '--namespace',
      namespace,
      '--no-source-reporter',
      ...(labelSelector === undefined ? [] : ['--label-selector', labelSelector]),
      '--log-level',
      'warn',
      '--state-file',
      stateFile,
    ]);
    const adminUrl = await waitFor(
      `mesh simulator ${i} to listen`,
      () => {
        if (proc.child.exitCode !== null)
          throw new Error(`mesh simulator exited: ${proc.output()}`);
        if (!existsSync(stateFile)) return undefined;
        return (JSON.parse(readFileSync(stateFile, 'utf8')) as { metricsUrl: string }).metricsUrl;
      },
      30_000,
      100,
    );
    await waitFor(
      `mesh simulator ${i} to sync`,
      async () => (await fetch(`${adminUrl}/readyz`)).ok,
      60_000,
      250,
    );
    shards.push({ proc, adminUrl });
  }
  // Written whole and renamed: Prometheus re-reads the directory every second.
  writeFileSync(
    `${TARGETS}.tmp`,
    `${JSON.stringify([{ targets: shards.map((s) => s.adminUrl.replace(/^http:\/\//, '')), labels: { job: 'mesh-bench-scale' } }])}\n`,
  );
  renameSync(`${TARGETS}.tmp`, TARGETS);
  return {
    shards,
    setLoad: async (shard, ns, vs, rps) => {
      const s = shards[shard % shards.length] as MeshShard;
      const res = await fetch(`${s.adminUrl}/admin/load/${ns}/${vs}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rps, path: '/' }),
      });
      if (!res.ok) throw new Error(`setting load failed: HTTP ${res.status} ${await res.text()}`);
    },
    stop: async () => {
      rmSync(TARGETS, { force: true });
      for (const s of shards) await s.proc.stop();
    },
  };
}
