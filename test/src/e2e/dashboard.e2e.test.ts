// The dashboard (`kubectl steerer dashboard`, cli/dist/main.js) in a real browser — Debian's
// headless Chromium driven by playwright-core — against the real cluster, during releases
// driven by the mesh simulator: the overview lists the Rollout, the Rollout page shows each
// weight change within 2 s (the median of a whole release is printed), its charts fill from
// Prometheus, a halt shows its explanation, an abort from the page rolls back, a read-only
// user's request is shown as a 403, and axe-core finds no serious accessibility problem.
// The Grafana dashboard the chart ships is checked here too: every panel's PromQL runs on
// the real Prometheus, which scrapes this suite's controller, and returns data for the
// Rollout under test. Screenshots go to .local/test-artefacts/dashboard/; with
// STEERER_README_SCREENSHOT=1 the README's is also written to docs/images/dashboard.png.
//
// Assumes `npx tsc -b` ran (cli/dist, dashboard/dist, controller/dist) and Chromium is
// installed (`apt-get install chromium`; .ci/run does it; CHROMIUM_PATH overrides).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import {
  REPO,
  applyYaml,
  clusterEnv,
  deleteNamespace,
  freePort,
  installCrd,
  kubectl,
  kubectlJson,
  processEnv,
  promQuery,
  rolloutStatus,
  setFault,
  setLoad,
  startController,
  startProcess,
  vsWeights,
  waitAvailable,
  waitFor,
} from './harness.js';
import type { SteererProcess } from './harness.js';

const NS = 'dashboard-e2e';
const APP: AppOptions = {
  namespace: NS,
  name: 'app',
  image: 'quay.io/stefanprodan/podinfo:1.0.0',
  replicas: 1,
  stepWeight: 10,
  interval: '10s',
};
const KEY = `${NS}/${APP.name}`;
const RPS = 60;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTEFACTS = join(REPO, '.local/test-artefacts/dashboard');
// The README's picture is refreshed on request only, so a test run leaves the tree clean.
const README_SHOT =
  process.env.STEERER_README_SCREENSHOT === '1'
    ? join(REPO, 'docs/images/dashboard.png')
    : join(ARTEFACTS, 'readme.png');
const TARGET_FILE = join(REPO, `.local/prometheus/targets/${NS}-controller.json`);
const GRAFANA = join(REPO, 'charts/steerer/dashboards/steerer.json');

let controller: SteererProcess | undefined;
let dashboard: SteererProcess | undefined;
let viewerDashboard: SteererProcess | undefined;
let browser: Browser | undefined;
let watcher: ChildProcess | undefined;
let dir = '';
let url = '';
let viewerUrl = '';

function rolloutUrl(base: string): string {
  return `${base}#/rollouts/${NS}/${APP.name}`;
}

/** Starts `kubectl steerer dashboard` and resolves to the URL it prints. */
async function startDashboard(name: string, extra: string[]): Promise<[SteererProcess, string]> {
  const p = startProcess(name, 'cli/dist/main.js', [
    'dashboard',
    '--port=0',
    '-n',
    NS,
    `--metrics-server=${clusterEnv().PROMETHEUS_URL}`,
    ...extra,
  ]);
  const found = await waitFor(
    `${name} to print its URL`,
    () => /Steerer dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(p.output())?.[1],
    60_000,
    100,
  );
  return [p, found];
}

/** A kubeconfig for this cluster as a ServiceAccount (by its token). */
async function serviceAccountKubeconfig(sa: string): Promise<string> {
  const token = (await kubectl(['create', 'token', sa, '-n', NS, '--duration=1h'])).trim();
  const view = await kubectlJson<{
    clusters: { cluster: { server: string; 'certificate-authority'?: string } }[];
  }>(['config', 'view', '--minify', '--raw']);
  const cluster = view.clusters[0]?.cluster;
  if (!cluster) throw new Error('the kubeconfig has no cluster');
  const file = join(dir, `${sa}.kubeconfig`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "${cluster.server}", certificate-authority: "${cluster['certificate-authority'] ?? ''}"}
users:
- name: u
  user: {token: "${token}"}
contexts:
- name: ${sa}
  context: {cluster: c, user: u, namespace: ${NS}}
current-context: ${sa}
`,
  );
  return file;
}

const VIEWER_RBAC = `apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rollout-viewer, namespace: ${NS}}
rules:
- apiGroups: [apps.weave.works]
  resources: [rollouts]
  verbs: [get, list, watch]
- apiGroups: ['']
  resources: [events]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rollout-viewer, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollout-viewer}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: ${NS}}
`;

async function newPage(): Promise<Page> {
  if (!browser) throw new Error('no browser');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  return page;
}

interface Violation {
  id: string;
  impact: string | null;
  nodes: string[];
}

/** axe-core's violations of impact serious or critical on the page as it is now. */
async function seriousViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(readFileSync(join(REPO, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  const all = await page.evaluate<
    Violation[]
  >(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) })))`);
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function shot(
  page: Page,
  name: string,
  file = join(ARTEFACTS, `${name}.png`),
): Promise<void> {
  await page.screenshot({ path: file, fullPage: name !== 'readme' });
}

async function waitPhase(phase: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `phase ${phase}`,
    async () => (await rolloutStatus(NS, APP.name)).phase === phase,
    timeoutMs,
    200,
  );
}

async function ship(tag: string): Promise<void> {
  const before = (await rolloutStatus(NS, APP.name)).canaryRevision;
  await applyYaml(canaryDeployment(APP, `quay.io/stefanprodan/podinfo:${tag}`));
  await waitFor(
    `a release of ${tag}`,
    async () => (await rolloutStatus(NS, APP.name)).canaryRevision !== before,
    60_000,
    200,
  );
}

/** Every change of the weight as `kubectl get -w` sees it: [ms, weight]. */
function watchWeights(): [number, number][] {
  const seen: [number, number][] = [];
  watcher = spawn(
    'kubectl',
    ['get', 'rollout', APP.name, '-n', NS, '-w', '-o', 'jsonpath={.status.canaryWeight}{"\\n"}'],
    { env: processEnv(), stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let rest = '';
  watcher.stdout?.on('data', (d: Buffer) => {
    const at = Date.now();
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const w = Number(line.trim() || '0');
      if (seen.at(-1)?.[1] !== w) seen.push([at, w]);
    }
  });
  return seen;
}

/** From each weight change to the page showing it, in ms (the page's own clock, the same host). */
function latencies(changes: [number, number][], shown: { t: number; w: string }[]): number[] {
  const out: number[] = [];
  let i = 0;
  for (const [at, weight] of changes.slice(1)) {
    while (i < shown.length && !((shown[i]?.t ?? 0) >= at - 1000 && shown[i]?.w === `${weight}%`))
      i++;
    const s = shown[i];
    if (!s) throw new Error(`the page never showed weight ${weight}% (changed at ${at})`);
    out.push(s.t - at);
  }
  return out;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Records in the page every text the weight takes, with the page's clock. */
const RECORD_WEIGHTS = `(() => {
  window.__weights = [];
  const record = () => {
    const w = document.getElementById('weight')?.textContent ?? null;
    const last = window.__weights[window.__weights.length - 1];
    if (w !== null && (!last || last.w !== w)) window.__weights.push({ t: Date.now(), w });
  };
  new MutationObserver(record).observe(document.getElementById('main'), { subtree: true, childList: true, characterData: true });
  record();
})()`;

describe('the dashboard in Chromium, on the real cluster', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
    }
    mkdirSync(ARTEFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'dashboard-e2e-'));
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    await applyYaml(appManifests(APP));
    await applyYaml(VIEWER_RBAC);
    await waitAvailable(NS, [APP.name, `${APP.name}-canary`]);
    await applyYaml(rolloutManifest(APP));
    // The controller's /metrics on a known port, scraped by the test Prometheus (file_sd).
    const metricsPort = await freePort();
    controller = startController([
      '--control-loop-interval=1s',
      '--analysis-interval=1s',
      '--route-settle-time=1s',
      '--rollback-on-failure=false',
      `--namespace=${NS}`,
      `--listen-address=127.0.0.1:${metricsPort}`,
    ]);
    writeFileSync(
      TARGET_FILE,
      `${JSON.stringify([{ targets: [`127.0.0.1:${metricsPort}`], labels: { job: 'steerer-controller' } }])}\n`,
    );
    [dashboard, url] = await startDashboard('dashboard', []);
    const viewer = await serviceAccountKubeconfig('viewer');
    [viewerDashboard, viewerUrl] = await startDashboard('dashboard-viewer', [
      `--kubeconfig=${viewer}`,
    ]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    await waitPhase('Initialized', 60_000);
    await setLoad(NS, APP.name, RPS);
  });

  afterAll(async () => {
    watcher?.kill();
    await browser?.close().catch(() => undefined);
    await setLoad(NS, APP.name, 0).catch(() => undefined);
    await setFault(NS, `${APP.name}-canary`, null).catch(() => undefined);
    await viewerDashboard?.stop();
    await dashboard?.stop();
    await controller?.stop();
    rmSync(TARGET_FILE, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the Rollout on the overview, live and accessibly', async () => {
    const page = await newPage();
    await page.goto(url);
    const row = page.locator(`tr[data-key="${KEY}"]`);
    await row.getByText('Initialized').waitFor({ timeout: 15_000 });
    expect(await row.locator('th a').getAttribute('href')).toBe(`#/rollouts/${NS}/${APP.name}`);
    expect(await page.locator('#scope').textContent()).toContain(`namespace ${NS}`);
    expect(await page.locator('#connection').textContent()).toBe('Live');
    await page.fill('#name-filter', 'no-such-rollout');
    await page.locator('#empty').getByText('No Rollout matches the filter.').waitFor();
    await page.fill('#name-filter', '');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'overview');
    await page.close();
  });

  it('shows every weight change of a release within 2 s, and charts it', async () => {
    const page = await newPage();
    await page.goto(rolloutUrl(url));
    await page.locator('#weight').getByText('0%').waitFor({ timeout: 15_000 });
    await page.evaluate(RECORD_WEIGHTS);
    const changes = watchWeights();
    await ship('1.1.0');
    await waitPhase('Succeeded', 180_000);
    await waitFor(
      'the page to show the promotion',
      async () => (await page.locator('#phase').textContent()) === 'Succeeded',
    );
    const shown = await page.evaluate<{ t: number; w: string }[]>('window.__weights');
    const ms = latencies(changes, shown);
    const med = median(ms);
    console.log(
      `dashboard: weight change → page, ${ms.length} changes: median ${Math.round(med)} ms, max ${Math.round(Math.max(...ms))} ms (${ms.map((m) => Math.round(m)).join(', ')})`,
    );
    writeFileSync(
      join(ARTEFACTS, 'latency.json'),
      `${JSON.stringify({ changes, shown, ms, median: med })}\n`,
    );
    expect(ms.length).toBeGreaterThanOrEqual(10);
    expect(med).toBeLessThan(2000);
    expect(Math.max(...ms)).toBeLessThan(2000);
    // The charts: the weight from the controller's gauge, the success rate from Istio's metrics.
    await waitFor('the timeline from Prometheus', async () =>
      (await page.locator('#timeline-about').textContent())?.includes('the weight from Prometheus'),
    );
    await waitFor('both charts drawn from Prometheus', async () => {
      const weight = (await page.locator('#chart-weight-summary').textContent()) ?? '';
      const check = (await page.locator('#chart-check-0-summary').textContent()) ?? '';
      return /^Latest: weight 0%/.test(weight) && /primary \d+(\.\d+)?%, canary \d/.test(check);
    });
    expect(await page.locator('#events').textContent()).toContain('Promotion complete!');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'release');
    await page.close();
  });

  it('explains a halt; a read-only user gets a 403; an abort from the page rolls back', async () => {
    const page = await newPage();
    await page.goto(rolloutUrl(url));
    await ship('1.2.0');
    await waitFor(
      'weight 30',
      async () => ((await rolloutStatus(NS, APP.name)).canaryWeight ?? 0) >= 30,
    );
    await setFault(NS, `${APP.name}-canary`, { errorRatio: 0.3 });
    await page.locator('#phase').getByText('Halted').waitFor({ timeout: 60_000 });
    const verdict = await page.locator('#verdict').textContent();
    expect(verdict).toMatch(/^Failing: success-rate is \d+(\.\d+)?%, bound at least 99%/);
    await page.locator('#verdict-block').getByText('Query').waitFor();
    // The README's picture: a halted release, its verdict, its timeline.
    await waitFor('the halt in the chart: the canary below its bound', async () => {
      const text = (await page.locator('#chart-check-0-summary').textContent()) ?? '';
      return Number(/canary (\d+(\.\d+)?)%/.exec(text)?.[1] ?? 100) < 99;
    });
    await page.setViewportSize({ width: 1280, height: 1180 });
    await shot(page, 'readme', README_SHOT);
    await shot(page, 'halted');

    const viewer = await newPage();
    await viewer.goto(rolloutUrl(viewerUrl));
    await viewer.locator('#phase').getByText('Halted').waitFor({ timeout: 15_000 });
    await viewer.click('button[data-request="pause"]');
    await viewer.click('#confirm-yes');
    const outcome = viewer.locator('#outcome[data-status="403"]');
    await outcome.waitFor({ timeout: 15_000 });
    expect(await outcome.textContent()).toBe(
      `pause: Forbidden (HTTP 403): user "system:serviceaccount:${NS}:viewer" may not patch rollouts.apps.weave.works in namespace ${NS}: your RBAC must allow "patch" on rollouts.apps.weave.works in namespace ${NS}`,
    );
    await shot(viewer, 'forbidden');
    await viewer.close();

    await page.click('button[data-request="abort"]');
    expect(await page.locator('#confirm-title').textContent()).toBe(`Abort ${APP.name}?`);
    await page.click('#confirm-yes');
    await page.locator('#outcome[data-status="200"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#outcome').textContent()).toMatch(/^abort: Done/);
    await waitPhase('Failed', 60_000);
    expect(await vsWeights(NS, APP.name)).toEqual([100, 0]);
    await page.locator('#phase').getByText('Failed').waitFor({ timeout: 5000 });
    expect(await page.locator('#weight').textContent()).toBe('0%');
    await page.close();
  });

  it("runs every Grafana panel's query on the real Prometheus, with data for this Rollout", async () => {
    const grafana = JSON.parse(readFileSync(GRAFANA, 'utf8')) as {
      panels: { title: string; type: string; targets?: { expr: string; refId: string }[] }[];
    };
    const queries = grafana.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        name: `${p.title} ${t.refId}`,
        expr: t.expr
          .replaceAll('$namespace', NS)
          .replaceAll('$rollout', APP.name)
          .replaceAll('$__rate_interval', '1m'),
      })),
    );
    // Counters that stay absent until something goes wrong: no data is the right answer.
    const mayBeEmpty = ['Kubernetes API requests B', 'Informer restarts, events and leadership A'];
    const empty: string[] = [];
    for (const q of queries) {
      const result = await promQuery(q.expr);
      if (result.length === 0 && !mayBeEmpty.includes(q.name)) empty.push(`${q.name}: ${q.expr}`);
      if (q.expr.includes('steerer_rollout_') && result.length > 0) {
        for (const r of result)
          expect([q.name, r.metric.namespace, r.metric.name]).toEqual([q.name, NS, APP.name]);
      }
    }
    expect(empty).toEqual([]);
  });
});
