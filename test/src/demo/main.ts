// `npm run demo`: the seed document, live. Installs the chart with helm as the seed
// does, runs the controller and webhook as local processes (kwok pods run no
// containers), applies the seed's manifests and Rollout verbatim, drives traffic through
// the mesh simulator, injects HTTP 500s part-way as the seed's `curl …/status/500`
// does, ships a second release, and prints every event as it happens.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { SteererProcess } from '../e2e/harness.js';
import {
  REPO,
  SEED,
  applyFile,
  applyYaml,
  clusterEnv,
  deleteNamespace,
  deploymentOf,
  freePort,
  kubectl,
  kubectlJson,
  processEnv,
  rolloutEvents,
  seedYaml,
  setLoad,
  startProcess,
  waitAvailable,
  waitFor,
  waitSeedHpaSettled,
} from '../e2e/harness.js';
import { readSnapshot, statusLine } from './status-line.js';
import type { Snapshot } from './status-line.js';

const NS = 'test';
const keep = process.argv.includes('--keep');
const INTERVAL = process.env.DEMO_INTERVAL ?? '5s';
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const started = Date.now();
let stage = 'starting';
const procs: SteererProcess[] = [];

function say(text: string): void {
  console.log(`${bold('==>')} ${text}`);
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: processEnv(), maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** The seed's `watch -n 1 curl https://app.example.com/status/500`, a few times a second. */
function errorLoop(perSecond: number): () => void {
  const timer = setInterval(() => {
    const req = http.get(
      `${clusterEnv().MESH_URL}/status/500`,
      { headers: { host: 'app.example.com' } },
      (res) => res.resume(),
    );
    req.on('error', () => undefined);
  }, 1000 / perSecond);
  return () => clearInterval(timer);
}

interface Shown {
  names: Set<string>;
  counts: Map<string, number>;
}

async function showNewEvents(shown: Shown): Promise<void> {
  for (const e of await rolloutEvents(NS, 'podinfo')) {
    const seen = shown.names.has(e.name);
    if (seen && shown.counts.get(e.name) === e.count) continue;
    shown.names.add(e.name);
    shown.counts.set(e.name, e.count);
    const repeat = e.count > 1 ? dim(` (x${e.count})`) : '';
    const type = e.type === 'Warning' ? `\x1b[33m${e.type.padEnd(8)}\x1b[0m` : e.type.padEnd(8);
    console.log(
      `  ${process.stdout.isTTY ? type : e.type.padEnd(8)} ${e.reason}  ${e.source}  ${e.message}${repeat}`,
    );
  }
}

/** The Rollout's status and its route as they both were at one instant (see status-line.ts). */
async function snapshot(): Promise<Snapshot> {
  return readSnapshot(
    async (path) => JSON.parse(await kubectl(['get', '--raw', path])) as unknown,
    NS,
    'podinfo',
  );
}

/** Follows the rollout until it succeeds, printing events and status changes. */
async function follow(
  shown: Shown,
  onTick?: (weight: number) => void,
  timeoutMs = 600_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let sawProgress = false;
  for (;;) {
    await showNewEvents(shown);
    // Everything this round prints or decides comes from one snapshot.
    const now = await snapshot();
    const line = statusLine(now);
    if (line !== last) {
      console.log(dim(`  [${Math.round((Date.now() - started) / 1000)}s] ${line}`));
      last = line;
    }
    const s = now.status;
    onTick?.(s.canaryWeight ?? 0);
    if (s.phase !== 'Succeeded') sawProgress = true;
    if (sawProgress && s.phase === 'Succeeded') {
      await showNewEvents(shown);
      return;
    }
    if (Date.now() > deadline)
      throw new Error(`the rollout did not finish within ${timeoutMs / 1000}s (${line})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const env = clusterEnv();
  const runDir = join(REPO, '.local/run');
  mkdirSync(runDir, { recursive: true });

  stage = 'installing the chart';
  const port = await freePort();
  say(
    'helm upgrade --install steerer charts/steerer --namespace=istio-system --set metricsServer=http://prometheus.istio-system:9090 --set controlLoopInterval=1m',
  );
  console.log(
    dim(
      `    (plus --create-namespace, --set webhook.url=https://127.0.0.1:${port} and --set controller.enabled=false: the webhook and the controller run as local processes, so no image is needed)`,
    ),
  );
  await run('helm', [
    'upgrade',
    '--install',
    'steerer',
    join(REPO, 'charts/steerer'),
    '--namespace=istio-system',
    '--create-namespace',
    '--set',
    'metricsServer=http://prometheus.istio-system:9090',
    '--set',
    'controlLoopInterval=1m',
    '--set',
    `webhook.url=https://127.0.0.1:${port}`,
    // kwok runs no containers and the demo runs the controller itself: no Deployment is
    // rendered, so the chart needs no image.repository.
    '--set',
    'controller.enabled=false',
    '--wait=false',
  ]);

  stage = 'starting Steerer';
  say(
    `starting the webhook (https://127.0.0.1:${port}) and the controller (control loop ${INTERVAL}) as local processes`,
  );
  const webhook = startProcess('demo-webhook', 'webhook/dist/main.js', [
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--namespace=istio-system',
    '--tls-ip=127.0.0.1',
    '--log-level=info',
  ]);
  procs.push(webhook);
  const controller = startProcess('demo-controller', 'controller/dist/main.js', [
    `--metrics-server=${env.PROMETHEUS_URL}`,
    `--control-loop-interval=${INTERVAL}`,
    '--analysis-interval=1s',
    '--leader-elect=false',
    '--listen-address=127.0.0.1:0',
  ]);
  procs.push(controller);
  await waitFor(
    'the webhook to serve',
    async () => {
      const cfg = await kubectlJson<{ webhooks?: { clientConfig?: { caBundle?: string } }[] }>([
        'get',
        'validatingwebhookconfiguration',
        'steerer-webhook',
      ]);
      return (
        (cfg.webhooks ?? []).every((w) => !!w.clientConfig?.caBundle) &&
        (cfg.webhooks ?? []).length > 0
      );
    },
    60_000,
    500,
  );

  stage = 'applying the seed manifests';
  await deleteNamespace(NS);
  say(
    'kubectl apply -f namespace.yaml -f primary.yaml -f canary.yaml -f hpa.yaml -f virtualservice.yaml',
  );
  console.log(
    dim('    (the seed manifests verbatim; hpa.yaml is the seed HPA converted to autoscaling/v2)'),
  );
  console.log(
    (
      await applyFile(
        ...['namespace', 'primary', 'canary', 'hpa', 'virtualservice'].map((f) =>
          join(SEED, `${f}.yaml`),
        ),
      )
    )
      .trim()
      .replace(/^/gm, '    '),
  );
  await waitAvailable(NS, ['podinfo', 'podinfo-canary']);
  await waitSeedHpaSettled(NS);
  say('traffic: 20 requests/s through the gateway to app.example.com');
  await setLoad(NS, 'podinfo', 20);

  stage = 'first release';
  const shown: Shown = { names: new Set(), counts: new Map() };
  const t1 = Date.now();
  say(
    'kubectl apply -f rollout.yaml   (podinfo runs 1.1.1, podinfo-canary 1.2.0: Steerer releases 1.2.0)',
  );
  await applyFile(join(SEED, 'rollout.yaml'));
  let stopErrors: (() => void) | undefined;
  let errorsDone = false;
  let errorsUntil = 0;
  await follow(shown, (weight) => {
    if (!stopErrors && !errorsDone && weight >= 60) {
      say('watch -n 1 curl https://app.example.com/status/500   (HTTP 500s for 25 seconds)');
      stopErrors = errorLoop(4);
      errorsUntil = Date.now() + 25_000;
    }
    if (stopErrors && Date.now() > errorsUntil) {
      stopErrors();
      stopErrors = undefined;
      errorsDone = true;
      say('the 500s stopped; the rollout continues once the success rate over the window recovers');
    }
  });
  const release1 = (Date.now() - t1) / 1000;

  stage = 'second release';
  const t2 = Date.now();
  say('kubectl apply -f canary.yaml   (with image quay.io/stefanprodan/podinfo:1.3.0)');
  await applyYaml(seedYaml('canary.yaml').replace('podinfo:1.2.0', 'podinfo:1.3.0'));
  await follow(shown);
  const release2 = (Date.now() - t2) / 1000;

  stage = 'summary';
  const events = await rolloutEvents(NS, 'podinfo');
  const halts = events.filter((e) => e.message.startsWith('Halt')).reduce((n, e) => n + e.count, 0);
  const primary = await deploymentOf(NS, 'podinfo');
  const canary = await deploymentOf(NS, 'podinfo-canary');
  const final = await snapshot();
  const s = final.status;
  const routes = final.routes ? `${final.routes.primary}/${final.routes.canary}` : '—';
  say('summary');
  console.log(
    `    release 1.2.0: ${release1.toFixed(0)}s, release 1.3.0: ${release2.toFixed(0)}s, halts: ${halts}`,
  );
  console.log(
    `    rollout: ${s.phase}, routes ${routes}, primary runs ${primary.image}, canary has ${canary.replicas} replicas`,
  );
  console.log(`    revision ${s.lastPromotedRevision ?? '?'} promoted`);
  console.log('');
  console.log((await kubectl(['get', 'rollouts', '-n', NS])).trim().replace(/^/gm, '    '));
  if (
    s.phase !== 'Succeeded' ||
    primary.image !== 'quay.io/stefanprodan/podinfo:1.3.0' ||
    canary.replicas !== 0
  ) {
    throw new Error('the final state is not what the seed promises');
  }
  if (keep) {
    for (const p of procs)
      writeFileSync(
        join(runDir, `${p === webhook ? 'webhook' : 'controller'}.pid`),
        String(p.child.pid),
      );
    say('--keep: the cluster, controller and webhook keep running; to explore:');
    console.log(`    source ${join(REPO, '.local/cluster.env')}`);
    console.log('    kubectl -n test describe rollout/podinfo');
    console.log('    npm run cluster:down    # when done');
  }
}

async function cleanup(): Promise<void> {
  if (keep) return;
  await setLoad(NS, 'podinfo', 0).catch(() => undefined);
  await Promise.all(procs.map((p) => p.stop()));
  await run('helm', ['uninstall', 'steerer', '--namespace=istio-system']).catch(() => undefined);
}

function lastLines(p: SteererProcess, n: number): string {
  return p.output().trim().split('\n').slice(-n).join('\n');
}

process.once('SIGINT', () => {
  console.log('\ninterrupted; cleaning up');
  void cleanup().finally(() => process.exit(130));
});

main().then(
  async () => {
    await cleanup();
    console.log(`${bold('==>')} demo finished in ${Math.round((Date.now() - started) / 1000)}s`);
    process.exit(0);
  },
  async (e: unknown) => {
    console.error(`\ndemo failed while ${stage}: ${e instanceof Error ? e.message : String(e)}`);
    for (const p of procs) console.error(`--- last lines of ${p.logFile} ---\n${lastLines(p, 15)}`);
    await cleanup();
    process.exit(1);
  },
);
