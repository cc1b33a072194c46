// The controller's Prometheus metrics. Per-rollout gauges carry namespace and name;
// everything else is aggregated.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES } from '@steerer/common';
import type { RequestRecord, RolloutStatus } from '@steerer/common';

const ROLLOUT_LABELS = ['namespace', 'name'] as const;

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];

  readonly weight = this.gauge(
    'steerer_rollout_canary_weight',
    'Percentage of traffic routed to the canary',
    ROLLOUT_LABELS,
  );
  readonly phase = this.gauge(
    'steerer_rollout_phase',
    '1 for the phase the rollout is in, 0 for the others',
    [...ROLLOUT_LABELS, 'phase'],
  );
  readonly failedChecks = this.gauge(
    'steerer_rollout_failed_checks',
    'Failed checks during the current release',
    ROLLOUT_LABELS,
  );
  readonly successRate = this.gauge(
    'steerer_rollout_success_rate',
    'Last checked canary success rate, in percent',
    ROLLOUT_LABELS,
  );
  readonly reconcileDuration = new Histogram({
    name: 'steerer_reconcile_duration_seconds',
    help: 'Time to reconcile one rollout',
    labelNames: ['result'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: this.registers,
  });
  readonly stepLag = new Histogram({
    name: 'steerer_step_lag_seconds',
    help: 'How late a weight step happened after it was due',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: this.registers,
  });
  readonly kubeRequests = this.counter(
    'steerer_kube_requests_total',
    'Kubernetes API requests by verb, resource and HTTP code',
    ['verb', 'resource', 'code'],
  );
  readonly promQueries = this.counter(
    'steerer_prometheus_queries_total',
    'Prometheus queries by result',
    ['result'],
  );
  readonly promQueryDuration = new Histogram({
    name: 'steerer_prometheus_query_duration_seconds',
    help: 'Prometheus query latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: this.registers,
  });
  readonly queueDepth = this.gauge('steerer_workqueue_depth', 'Rollouts waiting to be reconciled');
  readonly informerRestarts = this.counter(
    'steerer_informer_restarts_total',
    'Informer relists and watch failures',
    ['kind', 'reason'],
  );
  readonly events = this.counter('steerer_events_total', 'Kubernetes Events recorded', ['type']);
  readonly analysisSubscriptions = this.gauge(
    'steerer_analysis_rollouts',
    'Rollouts whose canary is being measured',
  );
  readonly leader = this.gauge('steerer_leader', '1 while this replica is the leader');

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'steerer_controller_' });
  }

  private gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: this.registers });
  }

  private counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: this.registers });
  }

  onKubeRequest = (r: RequestRecord): void => {
    this.kubeRequests.inc({ verb: r.verb, resource: r.resource, code: String(r.code) });
  };

  onPromQuery = (outcome: 'success' | 'error', ms: number): void => {
    this.promQueries.inc({ result: outcome });
    this.promQueryDuration.observe(ms / 1000);
  };

  observeRollout(namespace: string, name: string, s: RolloutStatus): void {
    const l = { namespace, name };
    this.weight.set(l, s.canaryWeight ?? 0);
    this.failedChecks.set(l, s.failedChecks ?? 0);
    if (s.analysis?.successRate !== undefined) this.successRate.set(l, s.analysis.successRate);
    for (const p of PHASES) this.phase.set({ ...l, phase: p }, p === s.phase ? 1 : 0);
  }

  forgetRollout(namespace: string, name: string): void {
    const l = { namespace, name };
    this.weight.remove(l);
    this.failedChecks.remove(l);
    this.successRate.remove(l);
    for (const p of PHASES) this.phase.remove({ ...l, phase: p });
  }
}
