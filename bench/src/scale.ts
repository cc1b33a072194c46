// Benchmark "scale": what the controller costs with N Rollouts, half idle and half
// progressing, and where the local API server becomes the limit.
//
// Sizes grow in one namespace (bench-scale): the apps of the smaller size are kept and
// more are added, their pods on a kwok node of our own. For each size a fresh controller
// (default flags but --control-loop-interval=10s) starts over every app:
//   1. idle window: only the idle Rollouts exist (Initialized), the other half's objects are
//      in the caches unreferenced: API requests, Prometheus queries, CPU, memory;
//   2. the progressing Rollouts are created (a Rollout over a canary that differs from its
//      primary starts a release at once): how long until every release took its first step;
//   3. warm-up until every release's measurement window has reached the spec's 1m;
//   4. progressing window: API requests per verb per step, Prometheus queries per tick,
//      step lag (actual minus due step time, from the Rollouts' own status), CPU, memory;
//   5. the progressing Rollouts are deleted, so the next size starts idle again.
//
//   npm run bench -- scale [--sizes=100,500,1000] [--idle-window=30] [--window=60] [--keep]
//                          [--routers=VirtualService|HTTPRoute|mixed] [--build=../baseline]
//                          [--progressing=K] [--no-pods] [--no-webhook] [--restart]
//
// At 10,000 (`--sizes=10000 --progressing=100 --no-pods`): idle apps have no pods (their
// Deployments are scaled to zero, as the local cluster cannot run 20,000 pods beside the
// other suites), only K apps release. Their objects are labelled outside the simulated mesh
// (mesh.steerer.io/simulate=false), so the mesh simulators list and watch only the apps
// with traffic; Steerer reads them all. A webhook process runs beside each controller,
// caching every Rollout of the cluster as in production, to weigh it too.

import {
  applyYaml,
  installCrd,
  kubectl,
  REPO,
  kubectlResult,
  promQuery,
  waitFor,
} from '@steerer/test/e2e/harness';
import { gatewayManifest } from '@steerer/test/e2e/apps';
import { rolloutsPath, testClient, watch } from '@steerer/test/e2e/watch';
import type { RolloutObject, Watched } from '@steerer/test/e2e/watch';
import type { Deployment, KubeObject } from '@steerer/common';
import { parseAllDocuments } from 'yaml';
import { numberList, numberOption, parseOptions } from './lib/args.js';
import { startController } from './lib/controller.js';
import type { BenchController } from './lib/controller.js';
import { findPids, machineCpu, processCpuSeconds } from './lib/machine.js';
import { sum, sumBy } from './lib/prom-text.js';
import type { PromSample } from './lib/prom-text.js';
import { Result, progress, sleep } from './lib/results.js';
import { growthExponent, round, rounded, summarize } from './lib/stats.js';
import { startMeshShards } from './lib/mesh-shards.js';
import { startWebhook } from './lib/webhook-process.js';
import type { BenchWebhook } from './lib/webhook-process.js';
import type { MeshShards } from './lib/mesh-shards.js';
import {
  BENCH_NODE,
  MESH_SELECTOR,
  ROLE_LABEL,
  appRollout,
  appWorkloads,
  benchNode,
} from './lib/scale-apps.js';
import type { ScaleApp } from './lib/scale-apps.js';

const opts = parseOptions(process.argv.slice(2), {
  sizes: 'numbers of Rollouts, ascending (default 100,500,1000)',
  'idle-window': 'seconds measured with only idle rollouts (default 30)',
  window: 'seconds measured with progressing rollouts (default 60)',
  warmup: 'seconds after the last release started before measuring (default 65)',
  'step-weight': 'weight step of the progressing rollouts (default 5)',
  keep: 'leave the namespace and the node in place (a later run reuses the apps)',
  workers: "the controller's --workers (default: the controller's default)",
  routers:
    'route objects of the apps: VirtualService (default), HTTPRoute, or mixed (alternate pairs of apps, so idle and progressing ones have both)',
  build:
    'the build of Steerer to run, relative to the repository (default .; e.g. ../baseline17, a worktree of another commit, built)',
  progressing: 'progressing apps per size (default half of them; 0: idle only)',
  'no-pods': 'idle apps without pods (Deployments scaled to zero): for 10,000',
  'no-webhook': 'do not run a webhook process beside the controller',
  restart:
    'after the idle window, replace the controller by a fresh one over the initialised Rollouts: its start, requests and peak memory',
  'node-flags':
    "Node's flags for the controller, space-separated (default: the chart's, controller.nodeFlags; '' for none)",
});
const BUILD = typeof opts.build === 'string' ? opts.build : '.';
const PROGRESSING = opts.progressing === undefined ? undefined : numberOption(opts.progressing, 0);
const NO_PODS = opts['no-pods'] === true;
const WEBHOOK = opts['no-webhook'] !== true;
const RESTART = opts.restart === true;
/** V8 heap spaces (size / used, MiB) from the controller's default Node.js metrics. */
const heapSpaces = (metrics: readonly PromSample[]): Record<string, (number | null)[]> => {
  const size = sumBy(metrics, 'steerer_controller_nodejs_heap_space_size_total_bytes', 'space');
  const used = sumBy(metrics, 'steerer_controller_nodejs_heap_space_size_used_bytes', 'space');
  return Object.fromEntries(
    Object.keys(size).map((k) => [
      k,
      [round((size[k] ?? 0) / 2 ** 20, 1), round((used[k] ?? 0) / 2 ** 20, 1)],
    ]),
  );
};
/** The controller's memory at one instant: /proc once, and the V8 heap from its metrics. */
const memoryFigures = (
  c: BenchController,
  metrics: readonly PromSample[],
): Record<string, number | Record<string, (number | null)[]>> => {
  const mem = c.memory();
  return {
    rssBytes: mem.rss,
    anonRssBytes: mem.anon,
    heapUsedBytes: sum(metrics, 'steerer_controller_nodejs_heap_size_used_bytes'),
    heapTotalBytes: sum(metrics, 'steerer_controller_nodejs_heap_size_total_bytes'),
    heapSpaces: heapSpaces(metrics),
  };
};
const NODE_FLAGS: string[] | undefined =
  typeof opts['node-flags'] === 'string'
    ? opts['node-flags'].split(' ').filter((f) => f !== '')
    : undefined;
const ROUTERS = typeof opts.routers === 'string' ? opts.routers : 'VirtualService';
if (!['VirtualService', 'HTTPRoute', 'mixed'].includes(ROUTERS)) {
  throw new Error(`--routers: ${ROUTERS} is not VirtualService, HTTPRoute or mixed`);
}
const SIZES = numberList(opts.sizes, [100, 500, 1000]);
const IDLE_S = numberOption(opts['idle-window'], 30);
const WINDOW_S = numberOption(opts.window, 60);
const WARMUP_S = numberOption(opts.warmup, 65);
const STEP_WEIGHT = numberOption(opts['step-weight'], 5);
const NS = 'bench-scale';
const LOOP_S = 10;
const ANALYSIS_S = 2; // the controller's default --analysis-interval
const RPS = { idle: 1, progressing: 5 } as const;
const MESH_SHARDS = 3;
const TARGETS = { stepLagP99S: 1, rssBytes: 300 * 1024 * 1024, cores: 0.5 };

const appName = (i: number): string => `a${String(i).padStart(4, '0')}`;
/** Odd apps progress (the first PROGRESSING of them, when given), even ones are idle. */
const roleOf = (i: number): ScaleApp['role'] =>
  i % 2 === 1 && (PROGRESSING === undefined || (i - 1) / 2 < PROGRESSING) ? 'progressing' : 'idle';
const appOf = (i: number): ScaleApp => ({
  namespace: NS,
  name: appName(i),
  role: roleOf(i),
  ...(NO_PODS && roleOf(i) === 'idle' ? { pods: false } : {}),
  router:
    ROUTERS === 'mixed'
      ? Math.floor(i / 2) % 2 === 0
        ? 'VirtualService'
        : 'HTTPRoute'
      : ROUTERS === 'HTTPRoute'
        ? 'HTTPRoute'
        : 'VirtualService',
});

interface Snapshot {
  at: number;
  metrics: PromSample[];
  cpu: number;
  /** CPU seconds of the local cluster's processes, by pid (other suites may restart them). */
  cluster: Record<'apiserver' | 'etcd', { pid: number | undefined; cpu: number }>;
  machineBusy: number;
}

/** One of the local cluster's own processes (other clones may run clusters of their own). */
function clusterProcess(name: string): { pid: number | undefined; cpu: number } {
  const pid = findPids(`${REPO}/.local/kwok/clusters/steerer/bin/${name} `)[0];
  return { pid, cpu: pid === undefined ? Number.NaN : processCpuSeconds(pid) };
}

async function snapshot(c: BenchController): Promise<Snapshot> {
  const metrics = await c.metrics();
  return {
    at: performance.now(),
    metrics,
    cpu: c.cpuSeconds(),
    cluster: { apiserver: clusterProcess('kube-apiserver'), etcd: clusterProcess('etcd') },
    machineBusy: machineCpu().busy,
  };
}

function clusterCores(
  a: Snapshot,
  b: Snapshot,
  name: 'apiserver' | 'etcd',
  seconds: number,
): number | null {
  const x = a.cluster[name];
  const y = b.cluster[name];
  return x.pid === undefined || x.pid !== y.pid ? null : round((y.cpu - x.cpu) / seconds, 3);
}

/** Waits until the controller made no Kubernetes request for 5 s; the last snapshot. */
async function untilQuiet(c: BenchController): Promise<Snapshot> {
  let last = await snapshot(c);
  for (;;) {
    await sleep(5000);
    const now = await snapshot(c);
    if (Object.keys(requestDelta(last, now)).length === 0) return last;
    last = now;
  }
}

/** Kubernetes requests by "verb resource" between two snapshots (only non-zero ones). */
function requestDelta(a: Snapshot, b: Snapshot): Record<string, number> {
  const count = (s: Snapshot): Map<string, number> => {
    const m = new Map<string, number>();
    for (const x of s.metrics)
      if (x.name === 'steerer_kube_requests_total') {
        const k = `${x.labels.verb} ${x.labels.resource}`;
        m.set(k, (m.get(k) ?? 0) + x.value);
      }
    return m;
  };
  const before = count(a);
  const out: Record<string, number> = {};
  for (const [k, v] of count(b)) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

function windowFigures(a: Snapshot, b: Snapshot): Record<string, unknown> {
  const seconds = (b.at - a.at) / 1000;
  const q = (s: Snapshot): number => sum(s.metrics, 'steerer_prometheus_queries_total');
  const qs = (s: Snapshot): number =>
    sum(s.metrics, 'steerer_prometheus_query_duration_seconds_sum');
  const queries = q(b) - q(a);
  const requests = requestDelta(a, b);
  const byVerb: Record<string, number> = {};
  for (const [k, v] of Object.entries(requests)) {
    const verb = k.split(' ')[0] as string;
    byVerb[verb] = (byVerb[verb] ?? 0) + v;
  }
  return {
    seconds: round(seconds, 1),
    kubeRequests: requests,
    kubeRequestsByVerb: byVerb,
    prometheusQueries: queries,
    prometheusQueriesPerTick: round(queries / (seconds / ANALYSIS_S), 2),
    prometheusQueryMeanMs: queries > 0 ? round(((qs(b) - qs(a)) / queries) * 1000, 1) : null,
    controllerCores: round((b.cpu - a.cpu) / seconds, 3),
    apiserverCores: clusterCores(a, b, 'apiserver', seconds),
    etcdCores: clusterCores(a, b, 'etcd', seconds),
    machineBusyCores: round((b.machineBusy - a.machineBusy) / seconds, 3),
  };
}

/** p50/p99 from the controller's own step-lag histogram (bucket upper bounds). */
function histogramQuantiles(
  a: Snapshot,
  b: Snapshot,
  name: string,
): { p50: number | null; p99: number | null; count: number } {
  const buckets = new Map<number, number>();
  for (const [s, sign] of [
    [a, -1],
    [b, 1],
  ] as const)
    for (const x of s.metrics)
      if (x.name === `${name}_bucket`) {
        const le = x.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(x.labels.le);
        buckets.set(le, (buckets.get(le) ?? 0) + sign * x.value);
      }
  const sorted = [...buckets].sort((x, y) => x[0] - y[0]);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  const q = (p: number): number | null => {
    const found = sorted.find(([, c]) => c >= p * total);
    return total > 0 && found ? found[0] : null;
  };
  return { p50: q(0.5), p99: q(0.99), count: total };
}

/**
 * Server-side applies of every object of the manifests, 32 at a time through one client:
 * at 10,000 apps, three kubectl processes of 50 objects each applied ~10 objects/s on this
 * machine (each object a sequential PATCH), an hour for 60,000.
 */
async function applyMany(manifests: string[]): Promise<void> {
  const objects = manifests.flatMap((m) =>
    parseAllDocuments(m)
      .map((d) => d.toJSON() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null),
  );
  const client = testClient();
  try {
    for (let i = 0; i < objects.length; i += 32)
      await Promise.all(
        objects.slice(i, i + 32).map((o) => {
          const api = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion ?? ''}`;
          const plural = `${(o.kind ?? '').toLowerCase()}s`;
          const path = `${api}/namespaces/${o.metadata.namespace ?? NS}/${plural}/${o.metadata.name}`;
          return client.patch(path, 'apply', o, { query: { fieldManager: 'steerer-bench' } });
        }),
      );
  } finally {
    client.close();
  }
}

async function applyBatches(docs: string[], batch: number): Promise<void> {
  if (docs.length > 2000) return applyMany(docs);
  const chunks: string[] = [];
  for (let i = 0; i < docs.length; i += batch) chunks.push(docs.slice(i, i + batch).join('---\n'));
  // Three kubectl processes at a time: enough to keep the API server busy.
  for (let i = 0; i < chunks.length; i += 3)
    await Promise.all(
      chunks
        .slice(i, i + 3)
        .map((c) =>
          kubectl(
            [
              'apply',
              '--server-side',
              '--force-conflicts',
              '--field-manager=steerer-bench',
              '-f',
              '-',
            ],
            c,
          ),
        ),
    );
}

function deploymentReady(d: Deployment): boolean {
  const want = d.spec.replicas ?? 1;
  const s = (
    d as {
      status?: {
        observedGeneration?: number;
        availableReplicas?: number;
        updatedReplicas?: number;
      };
    }
  ).status;
  return (
    s?.observedGeneration === d.metadata.generation &&
    (s?.availableReplicas ?? 0) === want &&
    (s?.updatedReplicas ?? 0) === want
  );
}

interface StepRecord {
  at: number;
  lagMs: number;
}

/**
 * Deletes Rollouts of the namespace while no controller runs there: their cleanup
 * finalizers are dropped (nothing would release them), so the deletion cannot hang.
 */
async function deleteRollouts(select: string[]): Promise<void> {
  await kubectl(['delete', 'rollouts', ...select, '-n', NS, '--wait=false']);
  const label = select[0] === '-l' ? select[1] : undefined;
  const client = testClient();
  try {
    const left = await client.list<{ items: RolloutObject[] }>(rolloutsPath(NS), {
      query: { labelSelector: label },
    });
    const finalized = left.items.filter((r) => (r.metadata.finalizers ?? []).length > 0);
    // Many at a time: at 10,000 one kubectl process per Rollout took longer than the run.
    for (let i = 0; i < finalized.length; i += 32)
      await Promise.all(
        finalized.slice(i, i + 32).map((r) =>
          client
            .patch(`${rolloutsPath(NS)}/${r.metadata.name}`, 'merge', {
              metadata: { finalizers: null },
            })
            .catch(() => undefined),
        ),
      );
  } finally {
    client.close();
  }
  await kubectl(['delete', 'rollouts', ...select, '-n', NS, '--wait=true']);
}

async function main(): Promise<void> {
  const result = new Result('scale', {
    sizes: SIZES,
    namespace: NS,
    controlLoopIntervalSeconds: LOOP_S,
    analysisIntervalSeconds: ANALYSIS_S,
    idleWindowSeconds: IDLE_S,
    progressingWindowSeconds: WINDOW_S,
    warmupSeconds: WARMUP_S,
    stepWeight: STEP_WEIGHT,
    controllerWorkers: opts.workers ? numberOption(opts.workers, 8) : 'default',
    build: BUILD,
    progressingPerSize: PROGRESSING ?? 'half',
    idleAppsWithoutPods: NO_PODS,
    webhook: WEBHOOK,
    loadRps: RPS,
    traffic: `${MESH_SHARDS} mesh simulators of the benchmark's own (destination reporter only), apps spread over them, scraped every 5 s; they read only objects matching ${MESH_SELECTOR}`,
    apps: 'primary + canary Deployments (1 replica; idle canaries scaled to 0), 2 Services, 1 route object, 1 Rollout each; half idle, half progressing',
    routers: ROUTERS,
  });
  await installCrd();
  const client = testClient();
  const steps: StepRecord[] = [];
  let measuring: { from: number; to: number } | undefined;
  let deployments: Watched<Deployment> | undefined;
  let rollouts: Watched<RolloutObject> | undefined;
  let controller: BenchController | undefined;
  let webhook: BenchWebhook | undefined;
  let mesh: MeshShards | undefined;
  const sizes: Record<string, unknown>[] = [];
  let have = 0;
  try {
    progress(`node ${BENCH_NODE} and namespace ${NS}`);
    await applyYaml(benchNode());
    // A namespace left by a run that did not finish may still be going away.
    await waitFor(
      `namespace ${NS} from an earlier run to be gone`,
      async () => !(await kubectlResult(['get', 'namespace', NS])).stdout.includes('Terminating'),
      600_000,
      2000,
    );
    await applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`);
    await deleteRollouts(['--all']);
    // The Gateway the HTTPRoutes attach to (the mesh simulators serve them through it).
    if (ROUTERS !== 'VirtualService') await applyYaml(gatewayManifest(NS));
    mesh = await startMeshShards(NS, MESH_SHARDS, MESH_SELECTOR);
    deployments = await watch<Deployment>(client, `/apis/apps/v1/namespaces/${NS}/deployments`);
    rollouts = await watch<RolloutObject>(client, rolloutsPath(NS), (r, old) => {
      const s = r.status;
      const o = old?.status;
      if (!s?.lastStepTime || s.lastStepTime === o?.lastStepTime || !o?.lastCheckTime) return;
      if ((s.canaryWeight ?? 0) <= (o.canaryWeight ?? 0) || (o.canaryWeight ?? 0) === 0) return;
      const at = Date.parse(s.lastStepTime);
      if (measuring && at >= measuring.from && at <= measuring.to)
        steps.push({ at, lagMs: at - (Date.parse(o.lastCheckTime) + LOOP_S * 1000) });
    });

    for (const n of SIZES) {
      const roles = Array.from({ length: n }, (_, i) => roleOf(i));
      const r: Record<string, unknown> = {
        rollouts: n,
        idle: roles.filter((x) => x === 'idle').length,
        progressing: roles.filter((x) => x === 'progressing').length,
      };
      sizes.push(r);
      // 1. The apps of this size (all of them on the first size: reuses a kept namespace).
      const setupStart = performance.now();
      const fresh =
        have === 0
          ? Array.from({ length: n }, (_, i) => i)
          : Array.from({ length: n - have }, (_, i) => have + i);
      progress(`size ${n}: applying ${fresh.length} apps (${fresh.length * 6} objects)`);
      await applyBatches(
        fresh.map((i) => appWorkloads(appOf(i))),
        n >= 5000 ? 100 : 50,
      );
      const applied = performance.now();
      const expected = 2 * n;
      await waitFor(
        `${expected} Deployments ready`,
        () => {
          const ready = (deployments as Watched<Deployment>).informer
            .list()
            .filter((d) => deploymentReady(d)).length;
          return ready >= expected;
        },
        // kube-controller-manager syncs ~12 Deployments/s here when 20,000 arrive at once.
        Math.max(900_000, expected * 150),
        1000,
      );
      r.setup = {
        apps: fresh.length,
        applySeconds: round((applied - setupStart) / 1000, 1),
        readySeconds: round((performance.now() - setupStart) / 1000, 1),
        deploymentsPerSecond: round(
          (2 * fresh.length) / ((performance.now() - setupStart) / 1000),
          1,
        ),
      };
      progress(`size ${n}: apps ready in ${(r.setup as { readySeconds: number }).readySeconds}s`);
      for (const i of fresh)
        if (appOf(i).pods !== false) await mesh.setLoad(i, NS, appName(i), RPS[appOf(i).role]);
      have = n;

      // 2. Idle rollouts and a fresh controller.
      const idle = Array.from({ length: n }, (_, i) => appOf(i)).filter((a) => a.role === 'idle');
      const progressing = Array.from({ length: n }, (_, i) => appOf(i)).filter(
        (a) => a.role === 'progressing',
      );
      await applyBatches(
        idle.map((a) => appRollout(a, STEP_WEIGHT)),
        200,
      );
      await controller?.stop();
      await webhook?.stop();
      webhook = undefined;
      const started = performance.now();
      const start = (name: string): Promise<BenchController> =>
        startController(
          name,
          [
            `--namespace=${NS}`,
            `--control-loop-interval=${LOOP_S}s`,
            ...(opts.workers ? [`--workers=${numberOption(opts.workers, 8)}`] : []),
          ],
          {},
          BUILD,
          NODE_FLAGS,
        );
      controller = await start(`bench-scale-${n}`);
      let c = controller;
      const phase = (name: string): string | undefined =>
        (rollouts as Watched<RolloutObject>).informer.get(`${NS}/${name}`)?.status?.phase;
      await waitFor(
        'idle rollouts Initialized',
        () => idle.every((a) => phase(a.name) === 'Initialized'),
        600_000,
        500,
      );
      const initialised = performance.now();
      const last = await untilQuiet(c);
      r.startup = {
        syncAndInitialiseSeconds: round((initialised - started) / 1000, 1),
        requests: requestDelta({ ...last, metrics: [] }, last),
        controllerCpuSeconds: round(c.cpuSeconds(), 1),
        peakRssBytes: c.memory().peak,
      };
      // The webhook caches every Rollout of the cluster (the other suites' too: a few).
      if (WEBHOOK) {
        const ws = performance.now();
        webhook = await startWebhook(`bench-scale-webhook-${n}`, BUILD);
        r.webhook = { syncSeconds: round((performance.now() - ws) / 1000, 1) };
      }

      // 3. Idle window.
      progress(`size ${n}: idle window ${IDLE_S}s`);
      const i0 = await snapshot(c);
      await sleep(IDLE_S * 1000);
      const i1 = await snapshot(c);
      r.idleWindow = {
        ...windowFigures(i0, i1),
        ...memoryFigures(c, i1.metrics),
      };
      if (webhook) {
        const m = webhook.memory();
        r.webhook = {
          ...(r.webhook as object),
          idleRssBytes: m.rss,
          idleAnonRssBytes: m.anon,
          peakRssBytes: m.peak,
          cpuSeconds: round(webhook.cpuSeconds(), 2),
        };
      }
      result.data.sizes = sizes;
      result.write(); // the idle figures, in case a later phase fails

      // 3b. A restart: a fresh controller over Rollouts that are all Initialized already.
      if (RESTART) {
        progress(`size ${n}: restarting the controller over ${idle.length} initialised Rollouts`);
        await c.stop();
        const rs = performance.now();
        controller = await start(`bench-scale-${n}-restart`);
        c = controller;
        const synced = performance.now();
        // Every Rollout reconciled once (level-triggered: a restart looks at each), then quiet.
        const reconciles = (m: readonly PromSample[]): number =>
          m
            .filter((x) => x.name === 'steerer_reconcile_duration_seconds_count')
            .reduce((a, x) => a + x.value, 0);
        await waitFor(
          `the restarted controller to reconcile ${idle.length} Rollouts`,
          async () => reconciles(await c.metrics()) >= idle.length,
          600_000,
          500,
        );
        const reconciled = performance.now();
        const last = await untilQuiet(c);
        r.restart = {
          cachesSyncedSeconds: round((synced - rs) / 1000, 1),
          allReconciledSeconds: round((reconciled - rs) / 1000, 1),
          requests: requestDelta({ ...last, metrics: [] }, last),
          controllerCpuSeconds: round(c.cpuSeconds(), 1),
          peakRssBytes: c.memory().peak,
          ...memoryFigures(c, last.metrics),
        };
        result.write();
      }
      if (progressing.length === 0) {
        r.peakRssBytes = c.memory().peak;
        await c.stop();
        controller = undefined;
        await webhook?.stop();
        webhook = undefined;
        report(result, n, r);
        result.data.sizes = sizes;
        result.write();
        continue;
      }

      // 4. Releases start.
      progress(`size ${n}: creating ${progressing.length} progressing rollouts`);
      const p0 = await snapshot(c);
      const createAt = Date.now();
      await applyBatches(
        progressing.map((a) => appRollout(a, STEP_WEIGHT)),
        200,
      );
      const weight = (name: string): number =>
        (rollouts as Watched<RolloutObject>).informer.get(`${NS}/${name}`)?.status?.canaryWeight ??
        0;
      await waitFor(
        'every release to take its first step',
        () => progressing.every((a) => weight(a.name) > 0),
        600_000,
        200,
      );
      const allStarted = Date.now();
      const p1 = await snapshot(c);
      const startTimes = progressing.map((a) =>
        Date.parse(
          (rollouts as Watched<RolloutObject>).informer.get(`${NS}/${a.name}`)?.status?.startTime ??
            '',
        ),
      );
      r.releaseStart = {
        secondsUntilAllStepped: round((allStarted - createAt) / 1000, 1),
        startTimeSpreadSeconds: round(
          (Math.max(...startTimes) - Math.min(...startTimes)) / 1000,
          1,
        ),
        requests: requestDelta(p0, p1),
        writesPerSecond: round(
          Object.entries(requestDelta(p0, p1))
            .filter(([k]) => !/^(get|list|watch) /.test(k))
            .reduce((t, [, v]) => t + v, 0) /
            ((allStarted - createAt) / 1000),
          0,
        ),
      };

      // 5. Warm-up, then the progressing window.
      const warmUntil = Math.max(...startTimes) + WARMUP_S * 1000;
      progress(
        `size ${n}: all stepped after ${round((allStarted - createAt) / 1000, 1)}s; warming up ${Math.round((warmUntil - Date.now()) / 1000)}s`,
      );
      await sleep(Math.max(0, warmUntil - Date.now()));
      steps.length = 0;
      const w0 = await snapshot(c);
      measuring = { from: Date.now(), to: Date.now() + WINDOW_S * 1000 };
      await sleep(WINDOW_S * 1000);
      const w1 = await snapshot(c);
      measuring = undefined;
      await sleep(1000); // the last steps' watch events
      const win = windowFigures(w0, w1);
      const scrape = async (q: string): Promise<number | null> => {
        const v = (await promQuery(q).catch(() => []))[0]?.value[1];
        return v === undefined ? null : round(Number(v), 3);
      };
      const span = `${Math.round((w1.at - w0.at) / 1000)}s`;
      const scrapeHealth = {
        up: await scrape(`avg(avg_over_time(up{job="mesh-bench-scale"}[${span}]))`),
        maxScrapeSeconds: await scrape(
          `max(max_over_time(scrape_duration_seconds{job="mesh-bench-scale"}[${span}]))`,
        ),
        samplesPerScrape: await scrape(
          `sum(max_over_time(scrape_samples_scraped{job="mesh-bench-scale"}[${span}]))`,
        ),
      };
      const lag = summarize(steps.map((s) => s.lagMs));
      const halted = progressing.filter((a) => phase(a.name) === 'Halted').length;
      const reqs = win.kubeRequests as Record<string, number>;
      const reads = Object.entries(reqs)
        .filter(([k]) => /^(get|list) /.test(k))
        .reduce((t, [, v]) => t + v, 0);
      const writes = Object.entries(reqs)
        .filter(([k]) => !/^(get|list|watch) /.test(k))
        .reduce((t, [, v]) => t + v, 0);
      r.progressingWindow = {
        ...win,
        steps: steps.length,
        readsPerStep: steps.length ? round(reads / steps.length, 3) : null,
        writesPerStep: steps.length ? round(writes / steps.length, 3) : null,
        stepLagMs: rounded(lag, 0),
        controllerStepLagHistogram: histogramQuantiles(w0, w1, 'steerer_step_lag_seconds'),
        haltedAtEnd: halted,
        scrapeHealth,
        analysisSubscriptions: sum(w1.metrics, 'steerer_analysis_rollouts'),
        ...memoryFigures(c, w1.metrics),
      };
      // VmHWM: the highest RSS since this controller started (read before it exits).
      r.peakRssBytes = c.memory().peak;
      await c.stop();
      controller = undefined;
      if (webhook) {
        r.webhook = { ...(r.webhook as object), peakRssBytes: webhook.memory().peak };
        await webhook.stop();
        webhook = undefined;
      }

      // 6. Back to idle for the next size.
      await deleteRollouts(['-l', `${ROLE_LABEL}=progressing`]);
      report(result, n, r);
      result.data.sizes = sizes;
      result.write(); // after every size, so a later failure keeps what was measured
    }
  } finally {
    await controller?.stop();
    await webhook?.stop();
    await mesh?.stop();
    rollouts?.stop();
    deployments?.stop();
    client.close();
    if (!opts.keep) {
      progress(
        `deleting namespace ${NS} and node ${BENCH_NODE} (pods go with them in the background)`,
      );
      await deleteRollouts(['--all']).catch(() => undefined);
      await kubectlResult(['delete', 'services', '--all', '-n', NS, '--wait=false']);
      await kubectlResult(['delete', 'namespace', NS, '--wait=false']);
      await kubectlResult(['delete', 'node', BENCH_NODE, '--wait=false']);
    }
  }
  result.data.sizes = sizes;
  growth(result, sizes);
  result.write();
}

function report(result: Result, n: number, r: Record<string, unknown>): void {
  const idle = r.idleWindow as ReturnType<typeof windowFigures> & { rssBytes: number };
  const prog = r.progressingWindow as ReturnType<typeof windowFigures> | undefined;
  const start = r.releaseStart as Record<string, unknown>;
  const total = (o: unknown): number =>
    Object.values((o ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
  const p = `scale.n${n}`;
  result.figure(
    `${p}.setup.deployments_per_second`,
    (r.setup as { deploymentsPerSecond: number }).deploymentsPerSecond,
    '/s',
    'kube-controller-manager and kwok',
  );
  result.figure(
    `${p}.idle.kube_requests`,
    total(idle.kubeRequests),
    'requests',
    `in ${idle.seconds as number} s; target 0`,
  );
  result.figure(
    `${p}.idle.prometheus_queries`,
    idle.prometheusQueries as number,
    'queries',
    'target 0',
  );
  result.figure(`${p}.idle.controller_cpu`, idle.controllerCores as number, 'cores');
  const mib = (b: number | undefined): number | null =>
    b === undefined || !Number.isFinite(b) ? null : round(b / 1024 / 1024, 1);
  const startup = r.startup as { syncAndInitialiseSeconds: number; controllerCpuSeconds: number };
  result.figure(
    `${p}.start.seconds_until_all_initialised`,
    startup.syncAndInitialiseSeconds,
    's',
    'controller start to every idle Rollout Initialized',
  );
  result.figure(`${p}.start.controller_cpu_seconds`, startup.controllerCpuSeconds, 's');
  const restart = r.restart as
    | {
        allReconciledSeconds: number;
        controllerCpuSeconds: number;
        peakRssBytes: number;
        rssBytes: number;
        requests: Record<string, number>;
      }
    | undefined;
  if (restart) {
    result.figure(
      `${p}.restart.seconds_until_all_reconciled`,
      restart.allReconciledSeconds,
      's',
      'a fresh controller over initialised Rollouts',
    );
    result.figure(`${p}.restart.controller_cpu_seconds`, restart.controllerCpuSeconds, 's');
    result.figure(
      `${p}.restart.writes`,
      Object.entries(restart.requests)
        .filter(([k]) => !/^(list|watch|get) /.test(k))
        .reduce((a, [, v]) => a + v, 0),
      'requests',
      'a restart writes nothing',
    );
    result.figure(`${p}.restart.peak_rss`, mib(restart.peakRssBytes), 'MiB');
    result.figure(`${p}.restart.rss_when_quiet`, mib(restart.rssBytes), 'MiB');
  }
  result.figure(`${p}.idle.controller_rss`, mib(idle.rssBytes), 'MiB');
  const own = 'of it its own (RssAnon); the rest is the node binary, shared';
  result.figure(
    `${p}.idle.controller_rss_anon`,
    mib((idle as { anonRssBytes?: number }).anonRssBytes),
    'MiB',
    own,
  );
  result.figure(
    `${p}.idle.controller_heap_used`,
    mib((idle as { heapUsedBytes?: number }).heapUsedBytes),
    'MiB',
  );
  const wh = r.webhook as
    { idleRssBytes?: number; idleAnonRssBytes?: number; peakRssBytes?: number } | undefined;
  if (wh) {
    result.figure(`${p}.idle.webhook_rss`, mib(wh.idleRssBytes), 'MiB', 'caches every Rollout');
    result.figure(`${p}.idle.webhook_rss_anon`, mib(wh.idleAnonRssBytes), 'MiB', own);
    result.figure(`${p}.webhook_peak_rss`, mib(wh.peakRssBytes), 'MiB');
  }
  if (!prog) {
    result.figure(`${p}.peak_rss`, mib(r.peakRssBytes as number), 'MiB');
    return;
  }
  result.figure(`${p}.progressing.controller_rss`, mib(prog.rssBytes as number), 'MiB');
  result.figure(
    `${p}.progressing.controller_rss_anon`,
    mib(prog.anonRssBytes as number | undefined),
    'MiB',
    own,
  );
  result.figure(
    `${p}.start.seconds_until_all_stepped`,
    start.secondsUntilAllStepped as number,
    's',
    `${r.progressing as number} releases created at once`,
  );
  result.figure(`${p}.start.writes_per_second`, start.writesPerSecond as number, '/s');
  result.figure(
    `${p}.progressing.steps`,
    prog.steps as number,
    'steps',
    `in ${prog.seconds as number} s`,
  );
  result.figure(
    `${p}.progressing.reads_per_step`,
    prog.readsPerStep as number,
    'requests',
    'target 0',
  );
  result.figure(
    `${p}.progressing.writes_per_step`,
    prog.writesPerStep as number,
    'requests',
    'status + route object + event = 3',
  );
  result.figure(
    `${p}.progressing.prometheus_queries_per_tick`,
    prog.prometheusQueriesPerTick as number,
    'queries',
    `${prog.analysisSubscriptions as number} canaries measured, <= 250 per query`,
  );
  result.figure(
    `${p}.progressing.step_lag.p50`,
    (prog.stepLagMs as { median: number }).median,
    'ms',
  );
  result.figure(
    `${p}.progressing.step_lag.p99`,
    (prog.stepLagMs as { p99: number }).p99,
    'ms',
    n >= 1000 ? `target <= ${TARGETS.stepLagP99S * 1000} ms` : undefined,
  );
  result.figure(
    `${p}.progressing.controller_cpu`,
    prog.controllerCores as number,
    'cores',
    n >= 1000 ? `target <= ${TARGETS.cores}` : undefined,
  );
  result.figure(`${p}.progressing.apiserver_cpu`, prog.apiserverCores as number, 'cores');
  result.figure(`${p}.progressing.machine_busy`, prog.machineBusyCores as number, 'cores', 'of 2');
  result.figure(
    `${p}.peak_rss`,
    round((r.peakRssBytes as number) / 1024 / 1024, 1),
    'MiB',
    n >= 1000 ? 'target <= 300 MiB' : undefined,
  );
  result.figure(`${p}.halted_at_end`, prog.haltedAtEnd as number, 'rollouts');
  const scrape = prog.scrapeHealth as { up: number | null } | undefined;
  result.figure(
    `${p}.progressing.mesh_scrapes_succeeded`,
    scrape?.up,
    'ratio',
    'below 1: missing data',
  );
}

function growth(result: Result, all: Record<string, unknown>[]): void {
  const sizes = all.filter((r) => r.progressingWindow !== undefined);
  if (sizes.length < 2) return;
  const pts = (f: (r: Record<string, unknown>) => number): { n: number; cost: number }[] =>
    sizes.map((r) => ({ n: r.rollouts as number, cost: f(r) }));
  const cpu = growthExponent(
    pts((r) => (r.progressingWindow as { controllerCores: number }).controllerCores),
  );
  const rss = growthExponent(pts((r) => r.peakRssBytes as number));
  const writes = growthExponent(
    pts((r) => {
      const w = r.progressingWindow as { kubeRequestsByVerb: Record<string, number> };
      return Object.entries(w.kubeRequestsByVerb)
        .filter(([k]) => k !== 'watch')
        .reduce((a, [, v]) => a + v, 0);
    }),
  );
  result.figure(
    'scale.growth_exponent.controller_cpu',
    cpu === undefined ? null : round(cpu, 2),
    '',
    'cost ~ N^x; 1 = linear',
  );
  result.figure(
    'scale.growth_exponent.peak_rss',
    rss === undefined ? null : round(rss, 2),
    '',
    'includes the fixed Node.js baseline',
  );
  result.figure(
    'scale.growth_exponent.api_writes',
    writes === undefined ? null : round(writes, 2),
    '',
  );
  result.data.growth = { controllerCpu: cpu, peakRss: rss, apiWrites: writes };
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench scale failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
