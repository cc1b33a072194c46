import { describe, expect, it } from '@jest/globals';
import { IstioMetrics, ISTIO_DURATION_BUCKETS } from './istio-metrics.js';
import { escapeLabelValue, formatLabels } from './prom-text.js';
import { decide } from './routing.js';
import { constantDraw, request, seedTable } from './test-objects.js';

function render(m: IstioMetrics): string {
  const out: string[] = [];
  m.render(out);
  return out.join('\n');
}

/** Parses `name{labels} value` lines into objects (labels without escapes). */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => {
      const open = l.indexOf('{');
      const close = l.lastIndexOf('}');
      const labels = Object.fromEntries(
        [...l.slice(open + 1, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [
          m[1] ?? '',
          m[2] ?? '',
        ]),
      );
      return { labels, value: Number(l.slice(close + 2)) };
    });
}

describe('prom text', () => {
  it('escapes label values', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(formatLabels([['k', 'v']])).toBe('k="v"');
  });
});

describe('IstioMetrics', () => {
  const table = seedTable([90, 10]);
  const upstream = decide(table, request('app.example.com'), constantDraw(0.95));

  it("forgets a deleted workload's series, source and destination side, and only those", () => {
    const m = new IstioMetrics({ sourceReporter: true });
    m.record({ decision: upstream, code: 200, flags: '-', durationMs: 3 });
    m.record({ decision: upstream, code: 500, flags: '-', durationMs: 3 });
    expect(m.seriesCount()).toBe(4);
    expect(m.forgetWorkload('test', 'podinfo')).toBe(0);
    expect(m.forgetWorkload('test', 'podinfo-canary')).toBe(4);
    expect(samples(render(m), 'istio_requests_total')).toEqual([]);
  });

  it('labels destination samples as Istio does', () => {
    const m = new IstioMetrics({ sourceReporter: false });
    m.record({ decision: upstream, code: 200, flags: '-', durationMs: 3 });
    const [s] = samples(render(m), 'istio_requests_total');
    expect(s?.value).toBe(1);
    expect(s?.labels).toEqual({
      reporter: 'destination',
      source_workload: 'istio-ingressgateway',
      source_canonical_service: 'istio-ingressgateway',
      source_canonical_revision: 'latest',
      source_workload_namespace: 'istio-system',
      source_principal: 'unknown',
      source_app: 'istio-ingressgateway',
      source_version: 'unknown',
      source_cluster: 'Kubernetes',
      destination_workload: 'podinfo-canary',
      destination_workload_namespace: 'test',
      destination_principal: 'unknown',
      destination_app: 'podinfo-canary',
      destination_version: 'unknown',
      destination_service: 'podinfo-canary.test.svc.cluster.local',
      destination_canonical_service: 'podinfo-canary',
      destination_canonical_revision: 'latest',
      destination_service_name: 'podinfo-canary',
      destination_service_namespace: 'test',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'unknown',
    });
  });

  it('has no series before traffic, and one per distinct code', () => {
    const m = new IstioMetrics({ sourceReporter: false });
    expect(samples(render(m), 'istio_requests_total')).toEqual([]);
    for (let i = 0; i < 7; i++)
      m.record({ decision: upstream, code: 200, flags: '-', durationMs: 1 });
    for (let i = 0; i < 3; i++)
      m.record({ decision: upstream, code: 500, flags: '-', durationMs: 1 });
    const byCode = Object.fromEntries(
      samples(render(m), 'istio_requests_total').map((s): [string, number] => [
        s.labels['response_code'] ?? '',
        s.value,
      ]),
    );
    expect(byCode).toEqual({ '200': 7, '500': 3 });
  });

  it('exports a histogram with Istio default buckets', () => {
    const m = new IstioMetrics({ sourceReporter: false });
    for (const ms of [0.2, 3, 30, 200, 7000])
      m.record({ decision: upstream, code: 200, flags: '-', durationMs: ms });
    const text = render(m);
    const buckets = samples(text, 'istio_request_duration_milliseconds_bucket');
    expect(buckets.map((b) => b.labels['le'])).toEqual([
      ...ISTIO_DURATION_BUCKETS.map(String),
      '+Inf',
    ]);
    const le = (v: string): number | undefined => buckets.find((b) => b.labels['le'] === v)?.value;
    expect([le('0.5'), le('5'), le('50'), le('250'), le('5000'), le('10000'), le('+Inf')]).toEqual([
      1, 2, 3, 4, 4, 5, 5,
    ]);
    expect(samples(text, 'istio_request_duration_milliseconds_count')[0]?.value).toBe(5);
    expect(samples(text, 'istio_request_duration_milliseconds_sum')[0]?.value).toBeCloseTo(7233.2);
  });

  it('records UH on the destination side only when a workload exists', () => {
    const m = new IstioMetrics({ sourceReporter: false });
    const notReady = decide(
      seedTable([0, 100], { canaryReady: 0 }),
      request('podinfo'),
      constantDraw(0),
    );
    m.record({ decision: notReady, code: 503, flags: 'UH', durationMs: 0 });
    const noRoute = decide(seedTable(), request('nope'), constantDraw(0));
    m.record({ decision: noRoute, code: 404, flags: 'NR', durationMs: 0 });
    const s = samples(render(m), 'istio_requests_total');
    expect(s).toHaveLength(1);
    expect(s[0]?.labels).toMatchObject({
      destination_workload: 'podinfo-canary',
      response_code: '503',
      response_flags: 'UH',
    });
  });

  it('adds the gateway source reporter when enabled, including NR with unknown destination', () => {
    const m = new IstioMetrics({ sourceReporter: true });
    m.record({ decision: upstream, code: 200, flags: '-', durationMs: 1 });
    m.record({
      decision: decide(seedTable(), request('nope'), constantDraw(0)),
      code: 404,
      flags: 'NR',
      durationMs: 0,
    });
    const s = samples(render(m), 'istio_requests_total');
    expect(
      s.map((x) => [
        x.labels['reporter'],
        x.labels['destination_workload'],
        x.labels['response_flags'],
      ]),
    ).toEqual([
      ['destination', 'podinfo-canary', '-'],
      ['source', 'podinfo-canary', '-'],
      ['source', 'unknown', 'NR'],
    ]);
  });
});
