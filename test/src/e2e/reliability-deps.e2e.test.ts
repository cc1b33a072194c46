// Dependencies fail: Prometheus stops, Prometheus answers too slowly, the API server
// restarts. A rollout must halt (never advance) while it cannot measure, say why, and
// carry on by itself when things come back, without repeating or skipping a step.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import type { SteererProcess } from './harness.js';
import {
  REPO,
  applyYaml,
  clusterEnv,
  deleteNamespace,
  installCrd,
  kubectlResult,
  processEnv,
  rolloutEvents,
  rolloutStatus,
  setLoad,
  startController,
  vsWeights,
  waitFor,
} from './harness.js';

const NS = 'deps';
const image = (v: string): string => `quay.io/stefanprodan/podinfo:${v}`;

function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', script],
      { env: processEnv(), cwd: REPO, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${script}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

/** A proxy in front of Prometheus that can be told to answer late. */
function slowProxy(
  target: string,
): Promise<{ url: string; delayMs: { value: number }; close: () => Promise<void> }> {
  const delayMs = { value: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const up = http.request(
          `${target}${req.url ?? '/'}`,
          { method: req.method, headers: req.headers },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(chunks));
      }, delayMs.value);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}`,
        delayMs,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

/**
 * Kills kube-apiserver and starts it again with the same command line (what a crash and
 * a supervisor restart look like), leaving etcd and the other components running.
 */
async function restartApiServer(onDown: () => void): Promise<void> {
  const dir = join(REPO, '.local/kwok/clusters/steerer');
  const pidFile = join(dir, 'pids/kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  process.kill(pid, 'SIGKILL');
  await waitFor(
    'the API server to be down',
    async () => (await kubectlResult(['get', '--raw', '/readyz'])).code !== 0,
    30_000,
    200,
  );
  onDown();
  const log = openSync(join(dir, 'logs/kube-apiserver.log'), 'a');
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd,
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  closeSync(log);
  writeFileSync(pidFile, String(child.pid));
  await waitFor(
    'the API server to be back',
    async () => (await kubectlResult(['get', '--raw', '/readyz'])).code === 0,
    120_000,
    500,
  );
}

async function messages(name: string): Promise<string[]> {
  return (await rolloutEvents(NS, name)).map((e) => e.message);
}

/** Weight steps in the events must go 10, 20, … with no repeats or gaps. */
function expectOrderlySteps(msgs: string[], name: string): void {
  const steps = msgs
    .map((m) => new RegExp(`^Advance rollout ${name}\\.${NS} weight (\\d+)$`).exec(m)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
  expect(steps).toEqual(steps.map((_, i) => (i + 1) * 10));
}

describe('dependencies fail', () => {
  let controller: SteererProcess | undefined;
  let proxy: Awaited<ReturnType<typeof slowProxy>>;
  const outages = { prometheusStopped: 0, prometheusSlow: 0, apiServerRestarted: 0 };
  const app = (name: string): AppOptions => ({
    namespace: NS,
    name,
    image: image('1.0.0'),
    stepWeight: 10,
    interval: '30s',
  });

  beforeAll(async () => {
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    proxy = await slowProxy(clusterEnv().PROMETHEUS_URL);
  });

  afterAll(async () => {
    await controller?.stop();
    for (const name of ['prom', 'slow', 'api']) await setLoad(NS, name, 0).catch(() => undefined);
    await proxy?.close();
    await sh('bash hack/cluster-up.sh >/dev/null 2>&1').catch(() => undefined);
    console.log(`dependency outages survived: ${JSON.stringify(outages)}`);
  });

  async function release(name: string, weight: number): Promise<void> {
    const o = app(name);
    await applyYaml(appManifests(o));
    await applyYaml(rolloutManifest(o));
    await setLoad(NS, name, 30);
    await waitFor(
      `${name} Initialized`,
      async () => (await rolloutStatus(NS, name)).phase === 'Initialized',
      60_000,
    );
    await applyYaml(canaryDeployment(o, image('2.0.0')));
    await waitFor(
      `${name} at weight ${weight}`,
      async () => ((await rolloutStatus(NS, name)).canaryWeight ?? 0) >= weight,
      120_000,
      200,
    );
  }

  it('halts while Prometheus is down and resumes when it returns', async () => {
    controller = startController([
      '--control-loop-interval=3s',
      '--analysis-interval=1s',
      '--metrics-timeout=1s',
      `--metrics-server=${proxy.url}`,
    ]);
    await release('prom', 20);
    const pid = readFileSync(join(REPO, '.local/prometheus.pid'), 'utf8').trim();
    process.kill(Number(pid), 'SIGKILL');
    outages.prometheusStopped++;
    const halt = await waitFor(
      'a metrics-unavailable halt',
      async () =>
        (await messages('prom')).find((m) =>
          m.startsWith('Halt rollout prom.deps metrics server unavailable'),
        ),
      60_000,
      250,
    );
    expect(halt).toMatch(/unreachable|did not answer|HTTP 502/);
    const held = (await rolloutStatus(NS, 'prom')).canaryWeight ?? 0;
    // Several step intervals without Prometheus: never an advance.
    await waitFor(
      'three failed checks',
      async () => ((await rolloutStatus(NS, 'prom')).failedChecks ?? 0) >= 3,
      60_000,
      500,
    );
    const s = await rolloutStatus(NS, 'prom');
    expect(s.canaryWeight).toBe(held);
    expect(s.phase).toBe('Halted');
    expect((await vsWeights(NS, 'prom'))[1]).toBe(held);
    await sh('bash hack/cluster-up.sh >/dev/null');
    await waitFor(
      'the rollout to finish after Prometheus returns',
      async () => (await rolloutStatus(NS, 'prom')).phase === 'Succeeded',
      240_000,
      500,
    );
    expectOrderlySteps(await messages('prom'), 'prom');
  });

  it('halts while Prometheus answers beyond the query timeout', async () => {
    await release('slow', 20);
    proxy.delayMs.value = 3000;
    outages.prometheusSlow++;
    const halt = await waitFor(
      'a timeout halt',
      async () =>
        (await messages('slow')).find((m) =>
          m.startsWith('Halt rollout slow.deps metrics server unavailable'),
        ),
      60_000,
      250,
    );
    expect(halt).toContain('did not answer within 1000ms');
    const held = (await rolloutStatus(NS, 'slow')).canaryWeight ?? 0;
    await waitFor(
      'three failed checks',
      async () => ((await rolloutStatus(NS, 'slow')).failedChecks ?? 0) >= 3,
      60_000,
      500,
    );
    expect((await rolloutStatus(NS, 'slow')).canaryWeight).toBe(held);
    proxy.delayMs.value = 0;
    await waitFor(
      'the rollout to finish',
      async () => (await rolloutStatus(NS, 'slow')).phase === 'Succeeded',
      240_000,
      500,
    );
    expectOrderlySteps(await messages('slow'), 'slow');
  });

  it('recovers from an API server restart without repeating or skipping a step', async () => {
    await release('api', 20);
    await restartApiServer(() => outages.apiServerRestarted++);
    await waitFor(
      'the rollout to finish',
      async () => (await rolloutStatus(NS, 'api')).phase === 'Succeeded',
      300_000,
      1000,
    );
    expectOrderlySteps(await messages('api'), 'api');
    expect(controller?.child.exitCode).toBeNull();
  });
});
