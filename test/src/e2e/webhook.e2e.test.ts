// The admission webhook on the real cluster, with the API server calling it over TLS at
// https://127.0.0.1:PORT. The webhook manages its certificate in a Secret of the test's own
// namespace and publishes the CA into webhook configurations scoped to that namespace, so
// nothing outside it is ever admitted by this test's webhook.
//
// Assumes `npx tsc -b` ran (webhook/dist, controller/dist).

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import {
  REPO,
  applyYaml,
  clusterEnv,
  deleteNamespace,
  deploymentOf,
  freePort,
  installCrd,
  kubectl,
  kubectlJson,
  kubectlResult,
  processEnv,
  rolloutEvents,
  rolloutStatus,
  seedYaml,
  startController,
  startProcess,
  waitFor,
} from './harness.js';
import type { SteererProcess } from './harness.js';

const NS = 'webhook-e2e';
const CONFIG = 'steerer-webhook-e2e';
const SECRET = 'steerer-webhook-tls';
const STARTING = `Starting rollout for podinfo.${NS}`;

let port = 0;
let webhook: SteererProcess | undefined;
let controller: SteererProcess | undefined;

function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: REPO, env: processEnv() }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function removeConfigs(): Promise<void> {
  for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
    await kubectl(['delete', kind, CONFIG, '--ignore-not-found']);
  }
}

async function caBundles(): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
    const c = await kubectlJson<{ webhooks: { clientConfig: { caBundle?: string } }[] }>([
      'get',
      kind,
      CONFIG,
    ]);
    out.push(
      ...c.webhooks.map((w) =>
        Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'),
      ),
    );
  }
  return out;
}

async function secretCA(): Promise<string> {
  const s = await kubectlJson<{ data?: Record<string, string> }>([
    'get',
    'secret',
    '-n',
    NS,
    SECRET,
  ]);
  return Buffer.from(s.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
}

function pems(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
}

interface HttpsAnswer {
  status: number;
  body: string;
  fingerprint: string;
}

/** One request on a fresh TLS connection (a new handshake every time), trusting `ca`. */
function httpsCall(path: string, ca: string[], body?: unknown): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: payload ? 'POST' : 'GET',
        ca,
        agent: false,
        timeout: 5000,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const fingerprint =
          (res.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256 ?? '';
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, fingerprint }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function startWebhook(): SteererProcess {
  return startProcess('webhook', 'webhook/dist/main.js', [
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--namespace=${NS}`,
    '--tls-ip=127.0.0.1',
    `--webhook-config-name=${CONFIG}`,
    '--ca-propagation-delay=3s',
    '--log-level=debug',
  ]);
}

/** Ready, serving a certificate the published bundles trust. */
async function waitForWebhook(): Promise<void> {
  await waitFor(
    'the webhook to publish its CA and be ready',
    async () => {
      const ca = await secretCA();
      if (!ca) return false;
      const bundles = await caBundles();
      if (!bundles.every((b) => b === ca)) return false;
      const r = await httpsCall('/readyz', pems(ca));
      return r.status === 200;
    },
    60_000,
    250,
  );
}

/** The seed's canary Deployment with the primary's pod spec: nothing to release. */
function canaryLikePrimary(): string {
  const primary = parseAllDocuments(seedYaml('primary.yaml', NS)).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  const canary = parseAllDocuments(seedYaml('canary.yaml', NS)).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  const primaryDeployment = primary.find((o) => o.kind === 'Deployment') as {
    spec: { template: { spec: unknown } };
  };
  const canaryDeployment = canary.find((o) => o.kind === 'Deployment') as {
    spec: { template: { spec: unknown } };
  };
  canaryDeployment.spec.template.spec = structuredClone(primaryDeployment.spec.template.spec);
  return canary.map((o) => stringify(o)).join('---\n');
}

function rolloutYaml(
  name: string,
  o: { primary?: string; canary?: string; vs?: string } = {},
): string {
  const p = o.primary ?? 'podinfo';
  const c = o.canary ?? 'podinfo-canary';
  return stringify({
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: { name, namespace: NS },
    spec: {
      targetKind: 'Deployment',
      primary: { name: p, host: p },
      canary: { name: c, host: c },
      virtualService: { name: o.vs ?? 'podinfo', weight: 10 },
      metric: { type: 'counter', name: 'istio_requests_total', interval: '1m', threshold: 99 },
    },
  });
}

/** The canary returns to the primary's template; Steerer stops the release and scales it down. */
async function backToIdle(): Promise<void> {
  await applyYaml(canaryLikePrimary());
  await waitFor(
    'the release to stop and the canary to be scaled down',
    async () =>
      (await rolloutStatus(NS, 'podinfo')).phase === 'Succeeded' &&
      (await deploymentOf(NS, 'podinfo-canary')).replicas === 0,
    60_000,
  );
}

async function startingCount(): Promise<number> {
  return (await rolloutEvents(NS, 'podinfo'))
    .filter((e) => e.message === STARTING)
    .reduce((n, e) => n + e.count, 0);
}

/** Applies the manifest and measures how long until the controller's "Starting rollout" event. */
async function applyAndTimeStart(
  yaml: string,
): Promise<{ applyMs: number; eventMs: number; stderr: string }> {
  const before = await startingCount();
  const t0 = Date.now();
  const r = await kubectlResult(['apply', '-f', '-'], yaml);
  const applyMs = Date.now() - t0;
  expect(r.code).toBe(0);
  await waitFor(`"${STARTING}"`, async () => (await startingCount()) > before, 60_000, 50);
  return { applyMs, eventMs: Date.now() - t0, stderr: r.stderr };
}

beforeAll(async () => {
  clusterEnv();
  await removeConfigs();
  await deleteNamespace(NS);
  await installCrd();
  await applyYaml(seedYaml('namespace.yaml', NS));
  port = await freePort();
  // Registered before the webhook starts, so it can publish its CA at once.
  await applyYaml(
    await node([
      'webhook/dist/manifests-cli.js',
      `--name=${CONFIG}`,
      `--url=https://127.0.0.1:${port}`,
      `--namespace=${NS}`,
    ]),
  );
  webhook = startWebhook();
  await waitForWebhook();

  await applyYaml(seedYaml('primary.yaml', NS));
  await applyYaml(canaryLikePrimary());
  await applyYaml(seedYaml('virtualservice.yaml', NS));
  // A long loop interval on purpose: only informer events can make Steerer react fast.
  controller = startController([
    '--control-loop-interval=1m',
    '--analysis-interval=1s',
    `--namespace=${NS}`,
  ]);
  await applyYaml(rolloutYaml('podinfo'));
  await waitFor(
    'the Rollout to be Initialized with its canary scaled to zero',
    async () =>
      (await rolloutStatus(NS, 'podinfo')).phase === 'Initialized' &&
      (await deploymentOf(NS, 'podinfo-canary')).replicas === 0,
    90_000,
  );
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  await webhook?.stop();
  await removeConfigs();
  await deleteNamespace(NS);
}, 180_000);

describe('admission webhook on a real cluster', () => {
  it('(b) re-applying the unchanged canary manifest while idle leaves it at 0 replicas, with a warning', async () => {
    const r = await kubectlResult(['apply', '-f', '-'], canaryLikePrimary());
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `Warning: ${NS}/podinfo-canary stays at 0 replicas: its pod template is unchanged and Rollout ${NS}/podinfo is idle (Initialized)`,
    );
    expect((await deploymentOf(NS, 'podinfo-canary')).replicas).toBe(0);
    expect((await rolloutStatus(NS, 'podinfo')).phase).toBe('Initialized');
  });

  it('(a) applying a new canary image stamps the revision and the rollout starts within about a second', async () => {
    const { applyMs, eventMs } = await applyAndTimeStart(seedYaml('canary.yaml', NS));
    console.log(
      `webhook e2e (a): kubectl apply took ${applyMs} ms; "${STARTING}" seen ${eventMs} ms after the apply began (control loop interval 1m)`,
    );
    expect(eventMs).toBeLessThan(5000);
    const canary = await deploymentOf(NS, 'podinfo-canary');
    expect(canary.image).toBe('quay.io/stefanprodan/podinfo:1.2.0');
    expect(canary.annotations['steerer.io/revision']).toMatch(/^[0-9a-f]{10}$/);
    expect(
      Date.now() - Date.parse(canary.annotations['steerer.io/revision-time'] ?? ''),
    ).toBeLessThan(60_000);
    expect(canary.replicas).toBeGreaterThan(0);
    const status = await rolloutStatus(NS, 'podinfo');
    expect(status.canaryRevision).toBe(canary.annotations['steerer.io/revision']);
    expect(['Progressing', 'Halted']).toContain(status.phase);
  });

  it('(c) denies a Rollout whose VirtualService lacks the canary route, naming it', async () => {
    await applyYaml(
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'other', namespace: NS },
        spec: {
          hosts: ['other'],
          http: [{ route: [{ destination: { host: 'other' }, weight: 100 }] }],
        },
      }),
    );
    const r = await kubectlResult(
      ['apply', '-f', '-'],
      rolloutYaml('other', { primary: 'other', canary: 'other-canary', vs: 'other' }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'admission webhook "rollouts.webhook.steerer.io" denied the request',
    );
    expect(r.stderr).toContain(
      `Rollout ${NS}/other cannot shift traffic with VirtualService ${NS}/other: VirtualService other.${NS} has no route to other-canary`,
    );
    expect((await kubectlResult(['get', 'rollout', '-n', NS, 'other'])).code).not.toBe(0);
  });

  it('(c) admits a Rollout whose VirtualService does not exist yet, with warnings', async () => {
    const r = await kubectlResult(
      ['apply', '-f', '-'],
      rolloutYaml('later', { primary: 'later', canary: 'later-canary', vs: 'later' }),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `Warning: VirtualService ${NS}/later does not exist yet; the rollout waits for it`,
    );
    expect(r.stderr).toContain(
      `Warning: Deployment ${NS}/later-canary does not exist yet; the rollout waits for it`,
    );
    await kubectl(['delete', 'rollout', '-n', NS, 'later']);
  });

  it('(d) denies a second Rollout claiming the same canary', async () => {
    const r = await kubectlResult(
      ['apply', '-f', '-'],
      rolloutYaml('podinfo-2', { primary: 'podinfo-2' }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Deployment ${NS}/podinfo-canary (spec.canary.name) is already the canary of Rollout ${NS}/podinfo`,
    );
  });

  it('(a) `kubectl set image` on the scaled-down canary starts it in the same write', async () => {
    await backToIdle();
    const before = await startingCount();
    const scaledDownFrom = Number(
      (await deploymentOf(NS, 'podinfo-canary')).annotations['steerer.io/scaled-down-from'] ?? '1',
    );
    // -o json prints the object the API server stored for this very write.
    const written = await kubectlJson<{
      metadata: { annotations?: Record<string, string> };
      spec: { replicas?: number };
    }>([
      'set',
      'image',
      '-n',
      NS,
      'deployment/podinfo-canary',
      'podinfod=quay.io/stefanprodan/podinfo:1.2.1',
    ]);
    expect(written.spec.replicas).toBe(scaledDownFrom);
    expect(written.metadata.annotations?.['steerer.io/revision']).toMatch(/^[0-9a-f]{10}$/);
    await waitFor(`"${STARTING}"`, async () => (await startingCount()) > before, 10_000, 50);
  });

  it('(e) with the webhook stopped, applying the canary still succeeds and the rollout still starts', async () => {
    await backToIdle();
    const stamped = (await deploymentOf(NS, 'podinfo-canary')).annotations['steerer.io/revision'];
    await webhook?.kill();
    webhook = undefined;
    const { applyMs, eventMs } = await applyAndTimeStart(seedYaml('canary.yaml', NS));
    console.log(
      `webhook e2e (e): webhook down; kubectl apply took ${applyMs} ms; "${STARTING}" seen ${eventMs} ms after the apply began`,
    );
    const canary = await deploymentOf(NS, 'podinfo-canary');
    expect(canary.image).toBe('quay.io/stefanprodan/podinfo:1.2.0');
    // Nobody stamped it: the controller noticed the template change on its own.
    expect(canary.annotations['steerer.io/revision']).toBe(stamped);
    expect((await rolloutStatus(NS, 'podinfo')).canaryRevision).not.toBe(stamped);
  });

  it('(f) rotating the certificate (serving, then CA) while admissions flow fails none of them', async () => {
    await webhook?.stop(); // when run alone (-t), (e) did not stop it
    webhook = startWebhook();
    await waitForWebhook();
    const trusted = new Set(pems(await secretCA()));
    let running = true;
    const failures: string[] = [];
    const served = new Set<string>();
    let viaApiServer = 0;
    let direct = 0;

    const pollCA = (async () => {
      while (running) {
        for (const p of pems(await secretCA().catch(() => ''))) trusted.add(p);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const apiServerLoop = (async () => {
      // Server-side dry runs: the API server calls the validating webhook over TLS each time.
      const yaml = rolloutYaml('podinfo').replace('weight: 10', 'weight: 20');
      while (running) {
        const r = await kubectlResult(['apply', '--dry-run=server', '-f', '-'], yaml);
        if (r.code !== 0) failures.push(`kubectl: ${r.stderr.trim()}`);
        else viaApiServer++;
      }
    })();
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'e2e',
        kind: { group: 'apps.weave.works', version: 'v1beta1', kind: 'Rollout' },
        operation: 'CREATE',
        namespace: NS,
        name: 'probe',
        object: { metadata: { name: 'probe', namespace: NS }, spec: {} },
      },
    };
    const directLoop = (async () => {
      while (running) {
        try {
          const r = await httpsCall('/validate/rollouts', [...trusted], review);
          if (r.status !== 200 || !r.body.includes('"uid":"e2e"'))
            failures.push(`direct: HTTP ${r.status} ${r.body.slice(0, 200)}`);
          else {
            direct++;
            served.add(r.fingerprint);
          }
        } catch (e) {
          failures.push(`direct: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    })();

    const rotations = (scope: string): number =>
      (webhook?.output() ?? '').split('\n').filter((line) => {
        try {
          const entry = JSON.parse(line) as { message?: string; scope?: string };
          return entry.message === 'certificate rotation done' && entry.scope === scope;
        } catch {
          return false;
        }
      }).length;
    const rotate = async (signal: 'SIGHUP' | 'SIGUSR2', scope: string): Promise<void> => {
      const before = rotations(scope);
      const flowing = viaApiServer + direct;
      webhook?.child.kill(signal);
      await waitFor(`the ${scope} rotation`, () => rotations(scope) > before, 60_000);
      // Keep admissions flowing a while on the new certificate.
      await waitFor(
        'admissions after the rotation',
        () => viaApiServer + direct >= flowing + 20 && viaApiServer > 3,
        60_000,
      );
    };
    try {
      await waitFor('admissions to flow', () => viaApiServer >= 3 && direct >= 3, 30_000);
      await rotate('SIGHUP', 'serving');
      await rotate('SIGUSR2', 'all');
      const start = viaApiServer;
      await waitFor(
        'admissions through the API server on the new CA',
        () => viaApiServer >= start + 5,
        60_000,
      );
    } finally {
      running = false;
      await Promise.all([pollCA, apiServerLoop, directLoop]);
    }
    console.log(
      `webhook e2e (f): ${viaApiServer} admissions via the API server and ${direct} direct HTTPS requests (new handshake each) across 2 rotations; ${served.size} certificates served; ${failures.length} failures`,
    );
    expect(failures).toEqual([]);
    expect(served.size).toBe(3);
    const ca = await secretCA();
    const bundle = pems(ca);
    expect(bundle).toHaveLength(2);
    expect(new Set(bundle.map((p) => new X509Certificate(p).subject)).size).toBe(2);
    // Mutating: deployments and the two route-weights webhooks; validating: rollouts and
    // the two route webhooks.
    expect(await caBundles()).toEqual(Array.from({ length: 6 }, () => ca));
  });
});
