// The simulator's own metrics (mesh_sim_*), rendered next to the Istio ones on /metrics.

import type { IstioMetrics } from './istio-metrics.js';
import { formatLabels, SampleFamily } from './prom-text.js';

export type RequestOrigin = 'gateway' | 'load';
export type Outcome = 'upstream' | 'unavailable' | 'no_route' | 'direct_response';

export interface GaugeReadings {
  virtualServices: { valid: number; invalid: number };
  /** Gateway API HTTPRoutes: accepted by a Gateway, not accepted, invalid. */
  httpRoutes?: { accepted: number; notAccepted: number; invalid: number };
  loadTargets: readonly { key: string; rps: number }[];
}

export class SelfMetrics {
  readonly requests = new SampleFamily(
    'mesh_sim_requests_total',
    'Requests routed by the simulator, by origin and outcome.',
    'counter',
  );
  readonly loadSkipped = new SampleFamily(
    'mesh_sim_load_skipped_total',
    'Background requests not sent because the VirtualService (or accepted HTTPRoute) does not exist (yet).',
    'counter',
  );
  readonly loadDropped = new SampleFamily(
    'mesh_sim_load_dropped_total',
    'Background requests dropped because the generator fell behind or had too many in flight.',
    'counter',
  );
  readonly watchErrors = new SampleFamily(
    'mesh_sim_watch_errors_total',
    'List/watch failures per resource (each is retried with backoff).',
    'counter',
  );

  countRequest(origin: RequestOrigin, outcome: Outcome): void {
    this.requests.inc(
      formatLabels([
        ['origin', origin],
        ['outcome', outcome],
      ]),
    );
  }

  render(istio: IstioMetrics, gauges: GaugeReadings): string {
    const out: string[] = [];
    istio.render(out);
    const vs = new SampleFamily(
      'mesh_sim_virtualservices',
      'VirtualServices known to the simulator, by validity.',
      'gauge',
    );
    vs.set(formatLabels([['state', 'valid']]), gauges.virtualServices.valid);
    vs.set(formatLabels([['state', 'invalid']]), gauges.virtualServices.invalid);
    vs.render(out);
    if (gauges.httpRoutes) {
      const hr = new SampleFamily(
        'mesh_sim_httproutes',
        'Gateway API HTTPRoutes known to the simulator, by state.',
        'gauge',
      );
      hr.set(formatLabels([['state', 'accepted']]), gauges.httpRoutes.accepted);
      hr.set(formatLabels([['state', 'not_accepted']]), gauges.httpRoutes.notAccepted);
      hr.set(formatLabels([['state', 'invalid']]), gauges.httpRoutes.invalid);
      hr.render(out);
    }
    const load = new SampleFamily(
      'mesh_sim_load_target_rps',
      'Configured background load per VirtualService (or HTTPRoute).',
      'gauge',
    );
    for (const t of gauges.loadTargets) load.set(formatLabels([['virtualservice', t.key]]), t.rps);
    load.render(out);
    const series = new SampleFamily(
      'mesh_sim_istio_series',
      'Number of istio_requests_total series exported.',
      'gauge',
    );
    series.set('', istio.seriesCount());
    series.render(out);
    for (const f of [this.requests, this.loadSkipped, this.loadDropped, this.watchErrors])
      f.render(out);
    out.push('');
    return out.join('\n');
  }
}
