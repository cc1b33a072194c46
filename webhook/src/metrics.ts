// The webhook's Prometheus metrics, in a registry of its own (never the global one, so tests
// and several apps in one process do not collide).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'steerer_webhook_';

/** How an admission call ended: the three answers, or why there was none. */
export const REQUEST_RESULTS = [
  'allowed',
  'patched',
  'denied',
  'bad_request',
  'too_large',
  'error',
] as const;
export type RequestResult = (typeof REQUEST_RESULTS)[number];

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'kind' | 'operation' | 'result'>;
  readonly duration: Histogram<'kind'>;
  readonly certificateNotAfter: Gauge;
  readonly certificateReloads: Counter;
  readonly kubeRequests: Counter<'verb' | 'resource' | 'code'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'Admission requests by kind (Deployment, Rollout, or a route object kind), operation and result',
      labelNames: ['kind', 'operation', 'result'],
      registers,
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}request_duration_seconds`,
      help: 'Time to answer an admission request, from body parsed to response written',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.certificateNotAfter = new Gauge({
      name: `${METRIC_PREFIX}certificate_not_after_timestamp_seconds`,
      help: 'Expiry of the serving certificate in use (Unix seconds)',
      registers,
    });
    this.certificateReloads = new Counter({
      name: `${METRIC_PREFIX}certificate_reloads_total`,
      help: 'Serving certificates swapped into the running server',
      registers,
    });
    this.kubeRequests = new Counter({
      name: `${METRIC_PREFIX}kube_requests_total`,
      help: 'Requests to the Kubernetes API by verb, resource and HTTP status (0: no answer)',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  observe(kind: string, operation: string, result: RequestResult, seconds: number): void {
    this.requests.inc({ kind, operation, result });
    this.duration.observe({ kind }, seconds);
  }
}
