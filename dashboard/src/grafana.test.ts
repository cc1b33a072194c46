// The Grafana dashboard the chart ships (charts/steerer/dashboards/steerer.json): it parses,
// has the shape Grafana's dashboard schema asks for, every query names only Steerer's
// documented metrics (docs/metrics.md) and Istio's, and the chart puts it in a ConfigMap
// for Grafana's sidecar only when asked. That each query runs against the real Prometheus
// and returns data for a Rollout is test/src/e2e/dashboard.e2e.test.ts's job.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { DASHBOARD_DIR } from './server/build-web.js';

const REPO = join(DASHBOARD_DIR, '..');
const CHART = join(REPO, 'charts/steerer');
/** The chart renders Deployments only with an image named (there is no published one). */
const IMAGE_SET = [
  '--set',
  'image.repository=registry.example.com/steerer',
  '--set',
  'image.tag=test',
];

interface Rendered {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd: REPO, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${command} ${args.join(' ')}: ${stderr || err.message}`))
        : resolve(stdout),
    );
  });
}

/** `helm template` with the pinned helm that hack/build-tools.sh builds (as the chart's tests). */
async function renderChart(args: readonly string[]): Promise<Rendered[]> {
  const dir = (
    await run('bash', ['-c', '. hack/lib/common.sh; tool_dir helm "$HELM_VERSION"'])
  ).trim();
  const text = await run(join(dir, 'helm'), [
    'template',
    'steerer',
    CHART,
    '--namespace=istio-system',
    ...args,
  ]);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null);
}

interface Target {
  refId?: unknown;
  expr?: unknown;
  datasource?: { type?: unknown; uid?: unknown };
}

interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h?: unknown; w?: unknown; x?: unknown; y?: unknown };
  datasource?: { type?: unknown; uid?: unknown };
  targets?: Target[];
}

interface Variable {
  name?: unknown;
  type?: unknown;
  query?: unknown;
}

interface Dashboard {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  time?: { from?: unknown; to?: unknown };
  templating?: { list?: Variable[] };
  panels?: Panel[];
}

const FILE = join(CHART, 'dashboards/steerer.json');
const text = readFileSync(FILE, 'utf8');
const dashboard = JSON.parse(text) as Dashboard;
const panels = dashboard.panels ?? [];
const queryPanels = panels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => String(t.expr)));

/** Every metric name docs/metrics.md documents (`x_*` names a family by its prefix). */
function documentedMetrics(): string[] {
  const doc = readFileSync(join(REPO, 'docs/metrics.md'), 'utf8');
  const names: string[] = [];
  for (const line of doc.split('\n').filter((l) => l.startsWith('| `'))) {
    const cell = line.split('|')[1] ?? '';
    let last = '';
    for (const [, name] of cell.matchAll(/`([a-z_*]+)`/g)) {
      if (!name) continue;
      // `steerer_rollout_check_samples` / `_failures`: the second shares the first's prefix.
      const full = name.startsWith('_') ? `${last.slice(0, last.lastIndexOf('_'))}${name}` : name;
      names.push(full);
      last = full;
    }
  }
  return names;
}

/** Whether `metric` is documented, histogram series (_bucket, _sum, _count) included. */
function isDocumented(metric: string, documented: readonly string[]): boolean {
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  return documented.some((d) =>
    d.endsWith('*') ? metric.startsWith(d.slice(0, -1)) : d === metric || d === base,
  );
}

/** Brackets, braces and parentheses balance outside strings; strings are closed. */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] ?? '';
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0 && quote === undefined;
}

describe('the Grafana dashboard', () => {
  it('parses and has what Grafana needs to import it', () => {
    expect(typeof dashboard.uid).toBe('string');
    expect(String(dashboard.uid).length).toBeLessThanOrEqual(40);
    expect(dashboard.title).toBe('Steerer: canary releases');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.time).toEqual({ from: 'now-1h', to: 'now' });
    expect(queryPanels.length).toBeGreaterThanOrEqual(10);
  });

  it('lets people pick the Prometheus, the namespaces and the Rollouts', () => {
    const vars = dashboard.templating?.list ?? [];
    expect(vars.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
      ['rollout', 'query'],
    ]);
    expect(vars[0]?.query).toBe('prometheus');
  });

  it('lays panels out on the 24-column grid, each with a unique id, none overlapping', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    const overlaps: string[] = [];
    for (const p of panels) {
      const { h, w, x, y } = p.gridPos ?? {};
      for (const n of [h, w, x, y]) expect(Number.isInteger(n)).toBe(true);
      const [H, W, X, Y] = [h, w, x, y].map(Number) as [number, number, number, number];
      expect([p.title, X + W <= 24 && W >= 1 && H >= 1]).toEqual([p.title, true]);
      for (let r = Y; r < Y + H; r++) {
        for (let c = X; c < X + W; c++) {
          const other = cells.get(`${r}:${c}`);
          if (other !== undefined) overlaps.push(`${String(p.title)} over ${other}`);
          cells.set(`${r}:${c}`, String(p.title));
        }
      }
    }
    expect([...new Set(overlaps)]).toEqual([]);
  });

  it('asks the chosen Prometheus in every query, with unique refIds per panel', () => {
    for (const p of queryPanels) {
      expect(['timeseries', 'table', 'stat', 'state-timeline']).toContain(p.type);
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const targets = p.targets ?? [];
      expect([p.title, targets.length > 0]).toEqual([p.title, true]);
      const refs = targets.map((t) => t.refId);
      expect(new Set(refs).size).toBe(refs.length);
      for (const t of targets) expect(t.datasource).toEqual(p.datasource);
    }
  });

  it("names only Steerer's documented metrics and Istio's request counter", () => {
    const documented = documentedMetrics();
    expect(documented).toContain('steerer_rollout_check_failures');
    const used = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\b(steerer_[a-z0-9_]+|istio_[a-z_]+)/g)].map((m) => m[1] ?? ''),
      ),
    );
    const undocumented = [...used].filter(
      (m) => m !== 'istio_requests_total' && !isDocumented(m, documented),
    );
    expect(undocumented).toEqual([]);
    for (const e of exprs) expect([e, balanced(e)]).toEqual([e, true]);
  });

  it('shows per Rollout weight, phase, each check against its bound and the request rate', () => {
    const scoped = exprs.filter((e) => e.includes('steerer_rollout_'));
    for (const e of scoped) {
      expect(e).toContain('namespace=~"$namespace"');
      expect(e).toContain('name=~"$rollout"');
    }
    const all = exprs.join('\n');
    for (const metric of [
      'steerer_rollout_canary_weight',
      'steerer_rollout_phase',
      'steerer_rollout_check_value',
      'steerer_rollout_check_bound',
      'istio_requests_total',
      'steerer_reconcile_duration_seconds_bucket',
      'steerer_workqueue_depth',
      'steerer_kube_requests_total',
      'steerer_prometheus_queries_total',
    ]) {
      expect([metric, all.includes(metric)]).toEqual([metric, true]);
    }
    expect(all).toContain('steerer_kube_requests_total{code!~"2.."}');
  });

  it('is shipped by the chart only when asked, labelled for the Grafana sidecar', async () => {
    const plain = await renderChart([...IMAGE_SET]);
    expect(plain.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    const on = await renderChart([
      ...IMAGE_SET,
      '--set',
      'grafanaDashboard.enabled=true',
      '--set',
      'grafanaDashboard.folder=Releases',
    ]);
    const cm = on.find((o) => o.kind === 'ConfigMap');
    expect(cm?.metadata.name).toBe('steerer-grafana-dashboard');
    expect(cm?.metadata.namespace).toBe('istio-system');
    expect(cm?.metadata.labels?.grafana_dashboard).toBe('1');
    expect(cm?.metadata.annotations).toEqual({
      grafana_folder: 'Releases',
    });
    const data = cm?.data ?? {};
    expect(JSON.parse(data['steerer.json'] ?? '')).toEqual(dashboard);
    const elsewhere = await renderChart([
      ...IMAGE_SET,
      '--set',
      'grafanaDashboard.enabled=true',
      '--set',
      'grafanaDashboard.namespace=monitoring',
      '--set-string',
      'grafanaDashboard.labels.grafana_dashboard=steerer',
    ]);
    const moved = elsewhere.find((o) => o.kind === 'ConfigMap');
    expect(moved?.metadata.namespace).toBe('monitoring');
    expect(moved?.metadata.labels?.grafana_dashboard).toBe('steerer');
  });
});
