// The dashboard at scale: `kubectl steerer dashboard` (cli/dist/main.js, its own process)
// on a stand-in API server holding N Rollouts (default 1,000; a list and a held watch), the
// overview opened in headless Chromium (Debian's, driven by playwright-core). Measures the
// time from navigation to the table showing every Rollout, how long a burst of weight
// changes takes to reach the page, and the dashboard server's resident memory.
//
//   npx tsc -b bench && node bench/dist/dashboard.js [--rollouts=1000] [--updates=200] [--runs=5]

import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from '@steerer/test/e2e/harness';
import { numberOption, parseOptions } from './lib/args.js';
import { processMemory } from './lib/machine.js';
import { Result } from './lib/results.js';
import { summarize } from './lib/stats.js';

const PATH = '/apis/apps.weave.works/v1beta1/rollouts';

/** What the page functions below use of the browser (this workspace has no DOM types). */
interface BrowserGlobals {
  performance: {
    now(): number;
    getEntriesByName(name: string): { startTime: number }[];
  };
  document: {
    querySelectorAll(selector: string): { length: number };
    querySelector(selector: string): { textContent: string | null } | null;
  };
}
const PHASES = ['Succeeded', 'Progressing', 'Halted', 'Failed', 'Initialized'] as const;

/** Rollout i: 50 per namespace. */
function place(i: number): { ns: string; name: string } {
  return { ns: `team-${String(Math.floor(i / 50)).padStart(2, '0')}`, name: `app-${i}` };
}

function rollout(i: number, weight: number, rv: number): Record<string, unknown> {
  const phase = PHASES[i % PHASES.length] ?? 'Succeeded';
  const { ns, name } = place(i);
  const at = new Date(Date.now() - i * 1000).toISOString();
  return {
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: { name, namespace: ns, uid: `uid-${i}`, resourceVersion: String(rv) },
    spec: {
      targetKind: 'Deployment',
      primary: { name, host: name },
      canary: { name: `${name}-canary`, host: `${name}-canary` },
      virtualService: { name, weight: 10 },
      metric: { type: 'counter', name: 'istio_requests_total', interval: '1m', threshold: 99 },
    },
    status: {
      phase,
      canaryWeight: weight,
      failedChecks: phase === 'Halted' ? 1 : 0,
      lastTransitionTime: at,
      startTime: at,
      message: `${phase} rollout ${name}.${ns} weight ${weight}`,
      analysis: {
        check: 'success-rate',
        result: phase === 'Halted' ? 'Fail' : 'Pass',
        successRate: phase === 'Halted' ? 88.89 : 99.95,
        threshold: 99,
        window: '1m',
        time: at,
        samples: 1200,
        failures: 1,
        query: `sum(rate(istio_requests_total{destination_workload="${name}-canary"}[1m]))`,
      },
      conditions: ['Ready', 'Progressing', 'Stalled'].map((type) => ({
        type,
        status: 'True',
        reason: 'AsExpected',
        message: `${type} for ${name}`,
        lastTransitionTime: at,
      })),
    },
  };
}

/** The API server as the dashboard sees it: one list, then a watch the bench writes to. */
async function fakeApi(
  n: number,
): Promise<{ url: string; send(obj: unknown): void; close(): Promise<void> }> {
  const items = Array.from({ length: n }, (_, i) => rollout(i, (i * 10) % 100, i + 1));
  const watches: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== PATH) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 404, message: 'not found' }));
      return;
    }
    if (u.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      watches.push(res);
      return;
    }
    // Pages as the API server pages them: limit, and a continue token for the rest.
    const limit = Number(u.searchParams.get('limit') ?? '0') || n;
    const from = Number(u.searchParams.get('continue') ?? '0');
    const more = from + limit < n ? { continue: String(from + limit) } : {};
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        metadata: { resourceVersion: String(n), ...more },
        items: items.slice(from, from + limit),
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    send: (obj) => {
      for (const w of watches) w.write(`${JSON.stringify({ type: 'MODIFIED', object: obj })}\n`);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

async function startDashboard(
  kubeconfig: string,
): Promise<{ pid: number; url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'cli/dist/main.js'),
      'dashboard',
      '--port=0',
      `--kubeconfig=${kubeconfig}`,
      '--metrics-server=http://127.0.0.1:9',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /Steerer dashboard: (\S+)/.exec(out)?.[1];
    if (url && child.pid) return { pid: child.pid, url, stop: () => child.kill('SIGTERM') };
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the dashboard did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const opts = parseOptions(process.argv.slice(2), {
  rollouts: 'Rollouts the API server holds (default 1000)',
  updates: 'weight changes sent at once after the first render (default 200)',
  runs: 'page loads measured (default 5)',
});
const n = numberOption(opts.rollouts, 1000);
const updates = Math.min(n, numberOption(opts.updates, 200));
const runs = numberOption(opts.runs, 5);
const result = new Result('dashboard', {
  rollouts: n,
  updates,
  runs,
  browser: '/usr/bin/chromium',
});
const dir = mkdtempSync(join(tmpdir(), 'dashboard-bench-'));
const api = await fakeApi(n);
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${api.url}"}}]
users: [{name: u, user: {token: bench}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
);
const dash = await startDashboard(kubeconfig);
await new Promise((r) => setTimeout(r, 1000));
const rssIdle = processMemory(dash.pid).rss;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const renders: number[] = [];
  const marks: { received: number; rendered: number; painted: number }[] = [];
  for (let run = 0; run < runs; run++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(dash.url);
    const handle = await page.waitForFunction(
      (count: number) => {
        const w = globalThis as unknown as BrowserGlobals;
        return w.document.querySelectorAll('#rollouts tbody tr').length >= count
          ? w.performance.now()
          : false;
      },
      n,
      { polling: 'raf', timeout: 60_000 },
    );
    renders.push(Number(await handle.jsonValue()));
    marks.push(
      await page.evaluate(() => {
        const w = globalThis as unknown as BrowserGlobals;
        const at = (name: string): number =>
          w.performance.getEntriesByName(name)[0]?.startTime ?? NaN;
        return {
          received: at('steerer:snapshot-received'),
          rendered: at('steerer:snapshot-rendered'),
          painted: at('steerer:snapshot-painted'),
        };
      }),
    );
    if (run < runs - 1) await page.close();
  }
  const r = summarize(renders);
  result.figure(
    'first_render_ms_median',
    Math.round(r.median),
    'ms',
    `navigation to ${n} rows in the overview, median of ${runs}`,
  );
  result.figure('first_render_ms_max', Math.round(r.max), 'ms');
  const received = summarize(marks.map((m) => m.received));
  const drawn = summarize(marks.map((m) => m.rendered - m.received));
  result.figure(
    'snapshot_received_ms_median',
    Math.round(received.median),
    'ms',
    'navigation to the list arriving on the stream',
  );
  result.figure(
    'snapshot_render_ms_median',
    Math.round(drawn.median),
    'ms',
    `building the ${n} rows`,
  );
  const painted = summarize(marks.map((m) => m.painted));
  result.figure(
    'snapshot_painted_ms_median',
    Math.round(painted.median),
    'ms',
    'navigation to the end of the frame that draws the rows',
  );
  // A burst of weight changes: from the first write on the watch to the last row updated.
  const page = browser.contexts()[0]?.pages().at(-1);
  if (!page) throw new Error('no page');
  const sentAt = Date.now();
  for (let i = 0; i < updates; i++) api.send(rollout(i, 55, n + 1 + i));
  const { ns, name } = place(updates - 1);
  const last = `tr[data-key="${ns}/${name}"]`;
  const shownAt = Number(
    await (
      await page.waitForFunction(
        (selector: string) => {
          const w = globalThis as unknown as BrowserGlobals;
          const text = w.document.querySelector(selector)?.textContent ?? '';
          return text.includes('55%') ? Date.now() : false;
        },
        last,
        { polling: 'raf', timeout: 60_000 },
      )
    ).jsonValue(),
  );
  result.figure(
    'update_burst_ms',
    shownAt - sentAt,
    'ms',
    `${updates} weight changes, watch → last row updated`,
  );
  const rss = processMemory(dash.pid);
  result.figure(
    'server_rss_idle_mib',
    Math.round(rssIdle / 1048576),
    'MiB',
    `after listing ${n} Rollouts, no page open`,
  );
  result.figure(
    'server_rss_mib',
    Math.round(rss.rss / 1048576),
    'MiB',
    `${runs} pages opened, ${updates} updates streamed`,
  );
  result.figure('server_rss_peak_mib', Math.round(rss.peak / 1048576), 'MiB');
  result.data.renders = renders;
  result.data.marks = marks;
} finally {
  await browser.close();
  dash.stop();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
}
process.stderr.write(`wrote ${result.write()}\n`);
