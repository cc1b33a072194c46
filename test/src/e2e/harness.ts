// Shared plumbing for end-to-end tests on the real local cluster (hack/cluster-up.sh):
// the environment it exported, kubectl, Prometheus and mesh-simulator helpers,
// condition waits with deadlines, and Steerer's processes started for a test.

import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FaultOverrideBody } from '../mesh/faults.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = join(REPO, 'test/fixtures');
export const SEED = join(FIXTURES, 'seed');
export const CRD = join(REPO, 'charts/steerer/crds/rollouts.yaml');
export const LOGS = join(REPO, '.local/logs');

export interface ClusterEnv {
  KUBECONFIG: string;
  PROMETHEUS_URL: string;
  MESH_URL: string;
  MESH_ADMIN_URL: string;
  PATH: string;
}

let cached: ClusterEnv | undefined;

/** The local cluster's environment, from .local/cluster.env (written by cluster:up). */
export function clusterEnv(): ClusterEnv {
  if (cached) return cached;
  const file = join(REPO, '.local/cluster.env');
  if (!existsSync(file)) {
    throw new Error(
      `no local cluster: ${file} is missing. Run \`npm run cluster:up\` first (the README's test command does).`,
    );
  }
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) vars[m[1]] = m[2].replace('$PATH', process.env.PATH ?? '');
  }
  for (const k of ['KUBECONFIG', 'PROMETHEUS_URL', 'MESH_URL', 'MESH_ADMIN_URL', 'PATH'] as const) {
    if (!vars[k]) throw new Error(`${file} does not set ${k}`);
  }
  cached = vars as unknown as ClusterEnv;
  return cached;
}

export function processEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = clusterEnv();
  return { ...process.env, KUBECONFIG: e.KUBECONFIG, PATH: e.PATH, ...extra };
}

/** Runs kubectl (the one built for the cluster) and resolves to its stdout. */
export function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      'kubectl',
      args,
      { env: processEnv(), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolvePromise(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** Like kubectl, but resolves to {code, stdout, stderr} instead of throwing. */
export function kubectlResult(
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      'kubectl',
      args,
      { env: processEnv(), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function applyFile(...files: string[]): Promise<string> {
  return kubectl(['apply', ...files.flatMap((f) => ['-f', f])]);
}

export function applyYaml(yaml: string): Promise<string> {
  return kubectl(['apply', '-f', '-'], yaml);
}

/**
 * The seed's manifests, optionally moved to another namespace for isolation. A moved copy
 * answers for app.<namespace>.example.com, not the seed's app.example.com: the gateway
 * routes a host claimed by several VirtualServices to the oldest one, so a copy left behind
 * by another suite would otherwise take the seed's host from the foundation suite.
 */
export function seedYaml(file: string, namespace = 'test'): string {
  const text = readFileSync(join(SEED, file), 'utf8');
  return namespace === 'test'
    ? text
    : text
        .replace(/namespace: test$/gm, `namespace: ${namespace}`)
        .replace(/name: test$/m, `name: ${namespace}`)
        .replace(/^(\s*- )app\.example\.com$/m, `$1app.${namespace}.example.com`);
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws after
 * `timeoutMs` with the description and the last value seen.
 */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${description}; last: ${JSON.stringify(last)?.slice(0, 2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Removes Steerer's finalizer from every Rollout of a namespace — the documented escape
 * for Rollouts whose controller is gone (docs/reference.md, "Deleting a Rollout").
 */
export async function releaseRollouts(ns: string): Promise<void> {
  const r = await kubectlResult(['get', 'rollouts.apps.weave.works', '-n', ns, '-o', 'name']);
  if (r.code !== 0) return;
  for (const name of r.stdout.split('\n').filter(Boolean)) {
    await kubectlResult([
      'patch',
      name,
      '-n',
      ns,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
  }
}

/**
 * Deletes a namespace and waits until it is gone. Suites run their controller only while
 * they run, so Rollouts left by an earlier run would hold the namespace by their finalizer:
 * it is removed as a user without a controller would.
 */
export async function deleteNamespace(ns: string): Promise<void> {
  await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  await waitFor(
    `namespace ${ns} to be deleted`,
    async () => {
      await releaseRollouts(ns);
      const r = await kubectlResult(['get', 'namespace', ns]);
      return r.code !== 0;
    },
    120_000,
    500,
  );
}

export async function installCrd(): Promise<void> {
  await applyFile(CRD);
  await kubectl([
    'wait',
    '--for',
    'condition=established',
    '--timeout=60s',
    'crd/rollouts.apps.weave.works',
  ]);
}

export async function promQuery(
  query: string,
  at?: number,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const form = new URLSearchParams({ query });
  if (at !== undefined) form.set('time', String(at));
  const res = await fetch(`${clusterEnv().PROMETHEUS_URL}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Sets the simulator's steady load on a VirtualService (rps 0 stops it). */
export async function setLoad(
  namespace: string,
  vs: string,
  rps: number,
  path = '/',
): Promise<void> {
  const res = await fetch(`${clusterEnv().MESH_ADMIN_URL}/admin/load/${namespace}/${vs}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rps, path }),
  });
  if (!res.ok) throw new Error(`setting load failed: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Overrides a workload's fault profile in the simulator (null clears it). Besides
 * errorRatio/latencyMs/errorCode: `errorMode: 'random'` with a `seed` for independent,
 * reproducible failures, and `latency: { p50Ms, p99Ms }` for log-normal latency on every
 * answer (see test/src/mesh/README.md). Every PUT restarts the workload's random streams.
 */
export async function setFault(
  namespace: string,
  deployment: string,
  fault: FaultOverrideBody | null,
): Promise<void> {
  const url = `${clusterEnv().MESH_ADMIN_URL}/admin/faults/${namespace}/${deployment}`;
  const res = fault
    ? await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latencyMs: 0, ...fault }),
      })
    : await fetch(url, { method: 'DELETE' });
  if (!res.ok) throw new Error(`setting fault failed: HTTP ${res.status} ${await res.text()}`);
}

/** One request through the simulated ingress gateway. */
export function gatewayGet(host: string, path = '/'): Promise<{ status: number; body: string }> {
  // fetch() may not send a custom Host header; node:http does.
  return new Promise((resolvePromise, reject) => {
    const req = http.get(
      `${clusterEnv().MESH_URL}${path}`,
      { headers: { host }, agent: gatewayAgent },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}
const gatewayAgent = new http.Agent({ keepAlive: false });

export interface EventRecord {
  type: string;
  reason: string;
  message: string;
  count: number;
  source: string;
  name: string;
  firstTimestamp: string;
}

/** Events of one Rollout, oldest first (names sort by creation within a second). */
export async function rolloutEvents(namespace: string, rollout: string): Promise<EventRecord[]> {
  const list = await kubectlJson<{
    items: {
      metadata: { name: string };
      type: string;
      reason: string;
      message: string;
      count?: number;
      source?: { component?: string };
      firstTimestamp?: string;
    }[];
  }>([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    `involvedObject.kind=Rollout,involvedObject.name=${rollout}`,
  ]);
  return list.items
    .map((e) => ({
      type: e.type,
      reason: e.reason,
      message: e.message,
      count: e.count ?? 1,
      source: e.source?.component ?? '',
      name: e.metadata.name,
      firstTimestamp: e.firstTimestamp ?? '',
    }))
    .sort((a, b) =>
      a.firstTimestamp === b.firstTimestamp
        ? a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
        : a.firstTimestamp < b.firstTimestamp
          ? -1
          : 1,
    );
}

export interface SteererProcess {
  child: ChildProcess;
  logFile: string;
  /** Lines of output so far. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<number | null>;
  exited: Promise<number | null>;
}

let processCounter = 0;

/** Starts a compiled Steerer entry point (controller/dist/main.js, …) with flags. */
export function startProcess(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string> = {},
  /** Node's own flags, before the script (e.g. V8 heap flags). */
  nodeArgs: string[] = [],
): SteererProcess {
  mkdirSync(LOGS, { recursive: true });
  const logFile = join(LOGS, `e2e-${name}-${process.pid}-${processCounter++}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, join(REPO, script), ...args], {
    env: processEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const onData = (d: Buffer): void => {
    text += d.toString();
    if (text.length > 4_000_000) text = text.slice(-2_000_000);
    log.write(d);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      log.end();
      r(code);
    }),
  );
  const signal = async (sig: NodeJS.Signals): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  return {
    child,
    logFile,
    output: () => text,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    exited,
  };
}

export function startController(args: string[], env: Record<string, string> = {}): SteererProcess {
  const e = clusterEnv();
  return startProcess(
    'controller',
    'controller/dist/main.js',
    [
      `--metrics-server=${e.PROMETHEUS_URL}`,
      '--listen-address=127.0.0.1:0',
      '--leader-elect=false',
      '--log-level=debug',
      ...args,
    ],
    env,
  );
}

export interface RolloutStatusView {
  phase?: string;
  canaryWeight?: number;
  failedChecks?: number;
  canaryRevision?: string;
  lastPromotedRevision?: string;
  message?: string;
  analysis?: { successRate?: number; result?: string };
}

export async function rolloutStatus(namespace: string, name: string): Promise<RolloutStatusView> {
  const r = await kubectlJson<{ status?: RolloutStatusView }>([
    'get',
    'rollout',
    '-n',
    namespace,
    name,
  ]);
  return r.status ?? {};
}

export async function vsWeights(namespace: string, name: string): Promise<number[]> {
  const vs = await kubectlJson<{ spec: { http: { route: { weight?: number }[] }[] } }>([
    'get',
    'virtualservice',
    '-n',
    namespace,
    name,
  ]);
  return (vs.spec.http[0]?.route ?? []).map((r) => r.weight ?? 0);
}

export async function deploymentOf(
  namespace: string,
  name: string,
): Promise<{
  replicas: number;
  image: string;
  labels: Record<string, string>;
  ready: number;
  annotations: Record<string, string>;
}> {
  const d = await kubectlJson<{
    metadata: { annotations?: Record<string, string> };
    spec: {
      replicas?: number;
      template: {
        metadata?: { labels?: Record<string, string> };
        spec: { containers: { image: string }[] };
      };
    };
    status?: { readyReplicas?: number };
  }>(['get', 'deployment', '-n', namespace, name]);
  return {
    replicas: d.spec.replicas ?? 1,
    image: d.spec.template.spec.containers[0]?.image ?? '',
    labels: d.spec.template.metadata?.labels ?? {},
    ready: d.status?.readyReplicas ?? 0,
    annotations: d.metadata.annotations ?? {},
  };
}

/** Waits for Deployments to report Available, as `kubectl wait --for=condition=Available`. */
export async function waitAvailable(namespace: string, names: readonly string[]): Promise<void> {
  for (const d of names)
    await kubectl([
      'wait',
      '-n',
      namespace,
      '--for=condition=Available',
      '--timeout=60s',
      `deployment/${d}`,
    ]);
}

/**
 * Waits until the seed's HPA (minReplicas 2) has taken the canary from 1 to 2 ready
 * replicas and says so itself, so a release that starts next is not halted for HPA
 * activity and shows the seed's exact sequence.
 */
export async function waitSeedHpaSettled(
  namespace: string,
  canary = 'podinfo-canary',
): Promise<void> {
  await waitFor(
    'the HPA to scale the canary to its minimum',
    async () => {
      const hpa = await kubectlJson<{
        status?: { currentReplicas?: number; desiredReplicas?: number };
      }>(['get', 'hpa', '-n', namespace, canary]);
      const d = await deploymentOf(namespace, canary);
      return (
        hpa.status?.currentReplicas === 2 &&
        hpa.status.desiredReplicas === 2 &&
        d.replicas === 2 &&
        d.ready === 2
      );
    },
    90_000,
    1000,
  );
}

/** A loopback TCP port that was free a moment ago, for a process a test starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** Runs a compiled Node entry point of the repository; its stdout. */
export function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: REPO, env: processEnv() }, (err, stdout, stderr) =>
      err ? reject(new Error(`node ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

function webhookReady(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/readyz', ca, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** Fresh serving certificates for localhost and 127.0.0.1, in a new temporary directory. */
export async function loopbackCertificates(name: string): Promise<string> {
  const certDir = mkdtempSync(join(tmpdir(), `steerer-${name}-`));
  await runNode([
    'certs/dist/cli.js',
    'generate',
    '--out',
    certDir,
    '--dns',
    'localhost',
    '--ip',
    '127.0.0.1',
  ]);
  return certDir;
}

/**
 * A webhook of a suite's own, on loopback with fresh certificates, admitting for one
 * namespace, and registered with the API server under `configName` (both webhook
 * configurations). Delete the configurations in afterAll.
 */
export async function startLocalWebhook(
  name: string,
  namespace: string,
  configName: string,
): Promise<{ webhook: SteererProcess; certDir: string }> {
  const certDir = await loopbackCertificates(name);
  const port = await freePort();
  const webhook = startProcess(name, 'webhook/dist/main.js', [
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--namespace=${namespace}`,
    `--cert-dir=${certDir}`,
    `--webhook-config-name=${configName}`,
  ]);
  const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  await waitFor('the webhook to be ready', () => webhookReady(port, ca), 60_000, 250);
  const manifests = await runNode([
    'webhook/dist/manifests-cli.js',
    `--name=${configName}`,
    `--url=https://127.0.0.1:${port}`,
    `--ca-file=${join(certDir, 'ca.crt')}`,
    `--namespace=${namespace}`,
  ]);
  await kubectl(['apply', '-f', '-'], manifests);
  return { webhook, certDir };
}
