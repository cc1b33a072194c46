// Benchmark "cache-memory": what a controller's caches cost per Rollout and per unrelated
// object, at sizes the shared local cluster cannot hold (10,000 apps are 50,000 objects and
// 10,000 Rollouts; it applied ~18 objects/s while other suites ran).
//
// An API server of the benchmark's own serves N apps — the scale benchmark's objects
// (scale-apps.ts), with the fields a real API server adds (uid, timestamps, managedFields,
// defaults, Deployment status and conditions, a settled Rollout's status) — and a child
// process runs the controller's caches (its `Cluster`) from a given build: lists (paged, 500
// per page), watches (open, silent), then reports its memory after a full collection. Both
// builds are measured in one run, one child at a time:
//   - apps with an idle Rollout each (the objects are named: the caches keep them whole);
//   - apps without Rollouts (nothing names them: unrelated objects).
// RSS slope per Rollout (with its 5 objects) and per unrelated object: least squares.
//
//   npm run bench -- cache-memory [--sizes=100,1000,10000] [--baseline=../baseline17]

import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO } from '@steerer/test/e2e/harness';
import type { KubeObject } from '@steerer/common';
import { numberList, parseOptions } from './lib/args.js';
import { Result, progress } from './lib/results.js';
import { round } from './lib/stats.js';
import { appRollout, appWorkloads } from './lib/scale-apps.js';

const opts = parseOptions(process.argv.slice(2), {
  sizes: 'numbers of apps (default 100,1000,10000)',
  baseline: 'a second build to measure beside this one, relative to the repository',
});
const SIZES = numberList(opts.sizes, [100, 1000, 10000]);
const BUILDS = ['.', ...(typeof opts.baseline === 'string' ? [opts.baseline] : [])];
const NS = 'bench';
const T = '2026-11-29T12:00:00Z';

let uid = 0;
/** The fields a real API server adds to an object it stores. */
function served(o: KubeObject): Record<string, unknown> {
  uid++;
  return {
    ...o,
    metadata: {
      ...o.metadata,
      uid: `00000000-0000-4000-8000-${String(uid).padStart(12, '0')}`,
      resourceVersion: String(1000 + uid),
      generation: 1,
      creationTimestamp: T,
      managedFields: [
        {
          manager: 'steerer-bench',
          operation: 'Apply',
          apiVersion: o.apiVersion,
          time: T,
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } }, 'f:spec': { '.': {} } },
        },
      ],
    },
  };
}

function deployment(o: KubeObject): Record<string, unknown> {
  const d = served(o) as { spec: Record<string, unknown>; metadata: { name: string } };
  const spec = d.spec as { replicas?: number; template: { spec: Record<string, unknown> } };
  const r = spec.replicas ?? 1;
  const containers = (spec.template.spec.containers as Record<string, unknown>[]).map((c) => ({
    ...c,
    imagePullPolicy: 'IfNotPresent',
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  }));
  return {
    ...d,
    spec: {
      ...spec,
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
      template: {
        ...spec.template,
        spec: {
          ...spec.template.spec,
          containers,
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
    status: {
      observedGeneration: 1,
      replicas: r,
      updatedReplicas: r,
      readyReplicas: r,
      availableReplicas: r,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
          lastUpdateTime: T,
          lastTransitionTime: T,
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${d.metadata.name}-5d9f8c7b6d" has successfully progressed.`,
          lastUpdateTime: T,
          lastTransitionTime: T,
        },
      ],
    },
  };
}

function service(o: KubeObject): Record<string, unknown> {
  const s = served(o) as { spec: { ports?: Record<string, unknown>[] } };
  return {
    ...s,
    spec: {
      ...s.spec,
      clusterIPs: ['None'],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      ports: (s.spec.ports ?? []).map((p) => ({ protocol: 'TCP', ...p })),
    },
    status: { loadBalancer: {} },
  };
}

function rollout(o: KubeObject, name: string): Record<string, unknown> {
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    observedGeneration: 1,
    lastTransitionTime: T,
  });
  return {
    ...served(o),
    metadata: { ...(served(o).metadata as object), finalizers: ['steerer.io/cleanup'] },
    status: {
      phase: 'Initialized',
      canaryWeight: 0,
      failedChecks: 0,
      canaryRevision: '10d4de459b',
      lastPromotedRevision: '10d4de459b',
      observedGeneration: 1,
      lastTransitionTime: T,
      message: `${name}.${NS} runs revision 10d4de459b; waiting for a new revision of ${name}-canary.${NS}`,
      conditions: [
        cond('Ready', 'True', 'Succeeded', `${name}.${NS} runs revision 10d4de459b`),
        cond('Progressing', 'False', 'Idle', 'no release in progress'),
        cond('Stalled', 'False', 'AsExpected', 'all referenced objects are usable'),
      ],
    },
  };
}

type Lists = Map<string, Record<string, unknown>[]>;

function objectsOf(apps: number, withRollouts: boolean): Lists {
  const lists: Lists = new Map();
  const add = (plural: string, o: Record<string, unknown>): void => {
    let l = lists.get(plural);
    if (!l) lists.set(plural, (l = []));
    l.push(o);
  };
  for (let i = 0; i < apps; i++) {
    const name = `a${String(i).padStart(5, '0')}`;
    const app = { namespace: NS, name, role: 'idle' as const };
    for (const doc of parseAllDocuments(appWorkloads(app))) {
      const o = doc.toJSON() as KubeObject | null;
      if (!o) continue;
      if (o.kind === 'Deployment') add('deployments', deployment(o));
      else if (o.kind === 'Service') add('services', service(o));
      else add(`${(o.kind ?? '').toLowerCase()}s`, served(o));
    }
    if (withRollouts) {
      const r = parseAllDocuments(appRollout(app, 5))[0]?.toJSON() as KubeObject;
      add('rollouts', rollout(r, name));
    }
  }
  return lists;
}

/** The benchmark's API server: discovery for Istio, paged lists, silent watches. */
function serve(lists: Lists): Promise<{ url: string; close: () => void }> {
  const bodies = new Map<string, string[]>();
  for (const [plural, items] of lists) {
    const pages: string[] = [];
    for (let i = 0; i < Math.max(items.length, 1); i += 500) {
      const more = i + 500 < items.length;
      pages.push(
        JSON.stringify({
          kind: 'List',
          metadata: { resourceVersion: '999999', ...(more ? { continue: String(i + 500) } : {}) },
          items: items.slice(i, i + 500),
        }),
      );
    }
    bodies.set(plural, pages);
  }
  const open: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (url.pathname === '/apis/networking.istio.io')
      return json(200, {
        kind: 'APIGroup',
        name: 'networking.istio.io',
        versions: [{ groupVersion: 'networking.istio.io/v1beta1', version: 'v1beta1' }],
      });
    if (url.pathname === '/apis/networking.istio.io/v1beta1')
      return json(200, {
        kind: 'APIResourceList',
        groupVersion: 'networking.istio.io/v1beta1',
        resources: ['virtualservices', 'destinationrules'].map((name) => ({
          name,
          namespaced: true,
        })),
      });
    const plural = url.pathname.split('/').pop() ?? '';
    const known = [
      'deployments',
      'services',
      'horizontalpodautoscalers',
      'virtualservices',
      'destinationrules',
      'rollouts',
    ];
    if (!url.pathname.includes(`/namespaces/${NS}/`) || !known.includes(plural))
      return json(404, { kind: 'Status', code: 404, message: 'not served here' });
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
      open.push(res);
      return;
    }
    const pages = bodies.get(plural) ?? [
      JSON.stringify({ kind: 'List', metadata: { resourceVersion: '999999' }, items: [] }),
    ];
    const page = Number(url.searchParams.get('continue') ?? '0') / 500;
    return json(200, pages[page] ?? pages[0]);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => {
          for (const r of open) r.destroy();
          server.close();
        },
      });
    }),
  );
}

interface Measured {
  syncMs: number;
  peakRssBytes: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  cpuSeconds: number;
}

function child(build: string, kubeconfig: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        '--expose-gc',
        join(REPO, 'bench/dist/lib/cache-memory-child.js'),
        join(REPO, build),
        kubeconfig,
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Measured) : reject(new Error(`child exited ${code}`)),
    );
  });
}

/** Least squares of y = a + b·x1 + c·x2. */
function fit(points: { x1: number; x2: number; y: number }[]): [number, number, number] {
  // Normal equations, 3×3, solved by Cramer's rule.
  const s = (f: (p: { x1: number; x2: number; y: number }) => number): number =>
    points.reduce((t, p) => t + f(p), 0);
  const m = [
    [points.length, s((p) => p.x1), s((p) => p.x2)],
    [s((p) => p.x1), s((p) => p.x1 * p.x1), s((p) => p.x1 * p.x2)],
    [s((p) => p.x2), s((p) => p.x1 * p.x2), s((p) => p.x2 * p.x2)],
  ];
  const v = [s((p) => p.y), s((p) => p.x1 * p.y), s((p) => p.x2 * p.y)];
  const det = (a: number[][]): number => {
    const g = (r: number, c: number): number => a[r]?.[c] ?? 0;
    return (
      g(0, 0) * (g(1, 1) * g(2, 2) - g(1, 2) * g(2, 1)) -
      g(0, 1) * (g(1, 0) * g(2, 2) - g(1, 2) * g(2, 0)) +
      g(0, 2) * (g(1, 0) * g(2, 1) - g(1, 1) * g(2, 0))
    );
  };
  const d = det(m);
  const col = (k: number): number[][] =>
    m.map((row, r) => row.map((x, c) => (c === k ? (v[r] ?? 0) : x)));
  return [det(col(0)) / d, det(col(1)) / d, det(col(2)) / d];
}

async function main(): Promise<void> {
  const result = new Result('cache-memory', { sizes: SIZES, builds: BUILDS, namespace: NS });
  const dir = mkdtempSync(join(tmpdir(), 'steerer-cache-memory-'));
  const runs: Record<string, unknown>[] = [];
  const configs = [
    { apps: 0, rollouts: false },
    ...SIZES.map((n) => ({ apps: n, rollouts: true })),
    ...SIZES.filter((n) => n >= 1000).map((n) => ({ apps: n, rollouts: false })),
  ];
  try {
    for (const c of configs) {
      const lists = objectsOf(c.apps, c.rollouts);
      const objects = [...lists.values()].reduce((t, l) => t + l.length, 0);
      const api = await serve(lists);
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': 'c',
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
          clusters: [{ name: 'c', cluster: { server: api.url } }],
          users: [{ name: 'u', user: { token: 't' } }],
        }),
      );
      for (const build of BUILDS) {
        progress(`${build}: ${c.apps} apps ${c.rollouts ? 'with' : 'without'} Rollouts`);
        const m = await child(build, kubeconfig);
        runs.push({ build, apps: c.apps, rollouts: c.rollouts ? c.apps : 0, objects, ...m });
        const mib = (b: number): number | null => round(b / 1024 / 1024, 1);
        const label = `cache.${build === '.' ? 'this' : 'baseline'}.n${c.apps}.${c.rollouts ? 'rollouts' : 'unrelated'}`;
        result.figure(`${label}.rss`, mib(m.rssBytes), 'MiB', `${objects} objects`);
        result.figure(`${label}.heap_used`, mib(m.heapUsedBytes), 'MiB');
        result.figure(`${label}.peak_rss`, mib(m.peakRssBytes), 'MiB');
        result.figure(`${label}.sync_seconds`, round(m.syncMs / 1000, 2), 's');
      }
      api.close();
    }
    for (const build of BUILDS) {
      const mine = runs.filter((r) => r.build === build) as unknown as (Measured & {
        apps: number;
        rollouts: number;
      })[];
      const tag = build === '.' ? 'this' : 'baseline';
      for (const what of ['rssBytes', 'heapUsedBytes'] as const) {
        // x1: Rollouts (each with its app's 5 objects, named), x2: unrelated objects.
        const [a, perRollout, perUnrelated] = fit(
          mine.map((r) => ({
            x1: r.rollouts,
            x2: r.rollouts > 0 ? 0 : r.apps * 5,
            y: r[what],
          })),
        );
        const unit = what === 'rssBytes' ? 'rss' : 'heap';
        result.figure(`cache.${tag}.${unit}.intercept`, round(a / 1024 / 1024, 1), 'MiB');
        result.figure(
          `cache.${tag}.${unit}.per_rollout`,
          round(perRollout / 1024, 2),
          'KiB',
          'a Rollout and the 5 objects it names',
        );
        result.figure(
          `cache.${tag}.${unit}.per_unrelated_object`,
          round(perUnrelated / 1024, 3),
          'KiB',
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.data.runs = runs;
  result.write();
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench cache-memory failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
