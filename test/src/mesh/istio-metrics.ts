// Istio's standard request metrics as its proxies would report them for traffic entering
// through the ingress gateway (VirtualServices) or a Gateway API Gateway's proxy
// (HTTPRoutes): the destination reporter (the workload's sidecar) and, optionally, the
// source reporter (the gateway). Series appear on first request only.

import type { Deployment, Service } from './model.js';
import {
  formatLabels,
  HistogramSeries,
  renderHistogramHeader,
  type LabelPairs,
} from './prom-text.js';
import type { RouteDecision } from './routing.js';
import { serviceKeyForHost } from './routing.js';

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const ISTIO_DURATION_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
] as const;

export const GATEWAY_WORKLOAD = {
  name: 'istio-ingressgateway',
  namespace: 'istio-system',
} as const;

/** The proxy a request came in through: the source_* labels. */
export interface SourceLabels {
  workload: string;
  namespace: string;
  app: string;
  canonicalService: string;
}

const INGRESS_GATEWAY: SourceLabels = {
  workload: GATEWAY_WORKLOAD.name,
  namespace: GATEWAY_WORKLOAD.namespace,
  app: GATEWAY_WORKLOAD.name,
  canonicalService: GATEWAY_WORKLOAD.name,
};

/**
 * VirtualService traffic enters through istio-ingressgateway. HTTPRoute traffic enters
 * through the proxy Istio deploys for the Gateway: Deployment `<gateway>-istio` in the
 * Gateway's namespace, labelled service.istio.io/canonical-name with that name and no app.
 */
export function sourceLabels(decision: RouteDecision): SourceLabels {
  const gw = decision.via?.gateway;
  if (!gw) return INGRESS_GATEWAY;
  const workload = `${gw.name}-istio`;
  return { workload, namespace: gw.namespace, app: 'unknown', canonicalService: workload };
}

export type Reporter = 'destination' | 'source';

/** `-` for a normal response; UH no healthy upstream, NC no cluster, NR no route. */
export type ResponseFlags = '-' | 'UH' | 'NC' | 'NR';

export interface RequestRecord {
  readonly decision: RouteDecision;
  readonly code: number;
  readonly flags: ResponseFlags;
  readonly durationMs: number;
}

interface DestinationLabels {
  service: string;
  serviceName: string;
  serviceNamespace: string;
  workload: string;
  workloadNamespace: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
}

const UNKNOWN = 'unknown';

function workloadLabels(
  d: Deployment,
): Pick<
  DestinationLabels,
  'workload' | 'workloadNamespace' | 'app' | 'version' | 'canonicalService' | 'canonicalRevision'
> {
  const l = d.podLabels;
  return {
    workload: d.name,
    workloadNamespace: d.namespace,
    app: l['app'] ?? UNKNOWN,
    version: l['version'] ?? UNKNOWN,
    canonicalService:
      l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l['app'] ?? d.name,
    canonicalRevision:
      l['service.istio.io/canonical-revision'] ??
      l['app.kubernetes.io/version'] ??
      l['version'] ??
      'latest',
  };
}

function serviceLabels(
  s: Service | undefined,
  host: string | undefined,
  vsNamespace: string,
): Pick<DestinationLabels, 'service' | 'serviceName' | 'serviceNamespace'> {
  if (s) {
    return {
      service: `${s.name}.${s.namespace}.svc.cluster.local`,
      serviceName: s.name,
      serviceNamespace: s.namespace,
    };
  }
  if (host === undefined)
    return { service: UNKNOWN, serviceName: UNKNOWN, serviceNamespace: UNKNOWN };
  const key = serviceKeyForHost(host, vsNamespace);
  const [ns, name] = key === undefined ? [UNKNOWN, host] : key.split('/');
  return {
    service: key === undefined ? host : `${name}.${ns}.svc.cluster.local`,
    serviceName: name ?? host,
    serviceNamespace: ns ?? UNKNOWN,
  };
}

const NO_WORKLOAD = {
  workload: UNKNOWN,
  workloadNamespace: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: UNKNOWN,
};

/** The destination_* labels for a decision; undefined workload fields become "unknown". */
export function destinationLabels(decision: RouteDecision): DestinationLabels {
  switch (decision.kind) {
    case 'no-route':
    case 'direct':
      return { ...serviceLabels(undefined, undefined, ''), ...NO_WORKLOAD };
    case 'unavailable':
      return {
        ...serviceLabels(decision.service, decision.destination.host, decision.via.namespace),
        ...(decision.workload ? workloadLabels(decision.workload) : NO_WORKLOAD),
      };
    case 'upstream':
      return {
        ...serviceLabels(decision.service, undefined, decision.via.namespace),
        ...workloadLabels(decision.workload),
      };
  }
}

export function istioLabelPairs(
  reporter: Reporter,
  d: DestinationLabels,
  code: number,
  flags: ResponseFlags,
  source: SourceLabels = INGRESS_GATEWAY,
): LabelPairs {
  return [
    ['reporter', reporter],
    ['source_workload', source.workload],
    ['source_canonical_service', source.canonicalService],
    ['source_canonical_revision', 'latest'],
    ['source_workload_namespace', source.namespace],
    ['source_principal', UNKNOWN],
    ['source_app', source.app],
    ['source_version', UNKNOWN],
    ['source_cluster', 'Kubernetes'],
    ['destination_workload', d.workload],
    ['destination_workload_namespace', d.workloadNamespace],
    ['destination_principal', UNKNOWN],
    ['destination_app', d.app],
    ['destination_version', d.version],
    ['destination_service', d.service],
    ['destination_canonical_service', d.canonicalService],
    ['destination_canonical_revision', d.canonicalRevision],
    ['destination_service_name', d.serviceName],
    ['destination_service_namespace', d.serviceNamespace],
    ['destination_cluster', 'Kubernetes'],
    ['request_protocol', 'http'],
    ['response_code', String(code)],
    ['grpc_response_status', ''],
    ['response_flags', flags],
    ['connection_security_policy', UNKNOWN],
  ];
}

interface Series {
  requests: number;
  /** namespace/name of the destination workload, to forget it when it is deleted. */
  readonly workload: string;
  readonly labels: string;
  readonly duration: HistogramSeries;
}

export class IstioMetrics {
  private readonly series = new Map<string, Series>();

  constructor(private readonly options: { sourceReporter: boolean }) {}

  /** Whether the destination reporter (a sidecar at the workload) saw this request. */
  static hasDestinationSample(decision: RouteDecision): boolean {
    return decision.kind === 'upstream' || (decision.kind === 'unavailable' && !!decision.workload);
  }

  record(r: RequestRecord): void {
    if (!IstioMetrics.hasDestinationSample(r.decision) && !this.options.sourceReporter) return;
    const d = destinationLabels(r.decision);
    const src = sourceLabels(r.decision);
    if (IstioMetrics.hasDestinationSample(r.decision)) this.observe('destination', d, src, r);
    if (this.options.sourceReporter) this.observe('source', d, src, r);
  }

  /**
   * Drops every series whose destination is this workload: when a Deployment is deleted
   * its pods and their proxies go away, and so do the counters they exported.
   */
  forgetWorkload(namespace: string, name: string): number {
    const id = `${namespace}/${name}`;
    let n = 0;
    for (const [key, s] of this.series) {
      if (s.workload === id) {
        this.series.delete(key);
        n++;
      }
    }
    return n;
  }

  seriesCount(): number {
    return this.series.size;
  }

  private observe(
    reporter: Reporter,
    d: DestinationLabels,
    src: SourceLabels,
    r: RequestRecord,
  ): void {
    const key = [
      reporter,
      src.workload,
      src.namespace,
      d.service,
      d.serviceName,
      d.serviceNamespace,
      d.workload,
      d.workloadNamespace,
      d.app,
      d.version,
      d.canonicalService,
      d.canonicalRevision,
      r.code,
      r.flags,
    ].join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      const labels = formatLabels(istioLabelPairs(reporter, d, r.code, r.flags, src));
      s = {
        requests: 0,
        workload: `${d.workloadNamespace}/${d.workload}`,
        labels,
        duration: new HistogramSeries(labels, ISTIO_DURATION_BUCKETS),
      };
      this.series.set(key, s);
    }
    s.requests += 1;
    s.duration.observe(r.durationMs);
  }

  render(out: string[]): void {
    out.push(
      '# HELP istio_requests_total Total requests (simulated Istio standard metric).',
      '# TYPE istio_requests_total counter',
    );
    for (const s of this.series.values())
      out.push(`istio_requests_total{${s.labels}} ${s.requests}`);
    renderHistogramHeader(
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds (simulated Istio standard metric).',
      out,
    );
    for (const s of this.series.values())
      s.duration.render('istio_request_duration_milliseconds', out);
  }
}
