// The measured process of `bench -- cache-memory`: a controller's caches (its Cluster, from
// the build given) synced against the benchmark's API server, then its memory, on stdout.
//
//   node cache-memory-child.js BUILD_DIR KUBECONFIG

import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

interface Built {
  Cluster: new (o: Record<string, unknown>) => {
    start(signal: AbortSignal): Promise<unknown>;
    waitForSync(signal: AbortSignal): Promise<boolean>;
  };
}

async function main(): Promise<void> {
  const [build = '.', kubeconfig = ''] = process.argv.slice(2);
  const common = (await import(pathToFileURL(join(build, 'common/dist/index.js')).href)) as Record<
    string,
    unknown
  >;
  const { Cluster } = (await import(
    pathToFileURL(join(build, 'controller/dist/cluster.js')).href
  )) as Built;
  // The baseline reads kubeconfigs with client-node, as its main.js did.
  const load = common.loadKubeCredentials as
    ((o: { file: string }) => Promise<unknown>) | undefined;
  let kc: unknown;
  if (load) kc = await load({ file: kubeconfig });
  else {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const k = new KubeConfig();
    k.loadFromFile(kubeconfig);
    kc = k;
  }
  const KubeClient = common.KubeClient as new (kc: unknown) => { close(): void };
  const MemoryLogger = common.MemoryLogger as new () => unknown;
  const client = new KubeClient(kc);
  const stop = new AbortController();
  const cluster = new Cluster({
    client,
    logger: new MemoryLogger(),
    namespace: 'bench',
    enqueue: () => undefined,
  });
  const t0 = performance.now();
  await cluster.start(stop.signal);
  await cluster.waitForSync(stop.signal);
  const syncMs = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024;
  // Settle, then a full collection: what stays is what the caches hold.
  await new Promise((r) => setTimeout(r, 2000));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setTimeout(r, 1000));
  gc?.();
  const m = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      syncMs: Math.round(syncMs),
      peakRssBytes: peak,
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      cpuSeconds: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    })}\n`,
  );
  stop.abort();
  client.close();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`cache-memory child failed: ${String(e)}\n`);
  process.exit(1);
});
