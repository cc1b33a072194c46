// The controller's Prometheus metrics. Per-rollout gauges carry namespace and name;
// everything else is aggregated.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES } from '@steerer/common';
import type { Phase, RequestRecord, RolloutStatus } from '@steerer/common';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly weight: Gauge;
  readonly phase: Gauge;
  readonly failedChecks: Gauge;
  readonly successRate: Gauge;
  readonly reconcileDuration: Histogram;
  readonly stepLag: Histogram;
  readonly kubeRequests: Counter;
  readonly promQueries: Counter;
  readonly promQueryDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly informerRestarts: Counter;
  readonly events: Counter;
  readonly analysisSubscriptions: Gauge;
  readonly leader: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'steerer_controller_' });
    const labels = ['namespace', 'name'] as const;
    this.weight = new Gauge({
      name: 'steerer_rollout_canary_weight',
      help: 'Percentage of traffic routed to the canary',
      labelNames: labels,
      registers,
    });
    this.phase = new Gauge({
      name: 'steerer_rollout_phase',
      help: '1 for the phase the rollout is in, 0 for the others',
      labelNames: [...labels, 'phase'],
      registers,
    });
    this.failedChecks = new Gauge({
      name: 'steerer_rollout_failed_checks',
      help: 'Failed checks during the current release',
      labelNames: labels,
      registers,
    });
    this.successRate = new Gauge({
      name: 'steerer_rollout_success_rate',
      help: 'Last checked canary success rate, in percent',
      labelNames: labels,
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'steerer_reconcile_duration_seconds',
      help: 'Time to reconcile one rollout',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.stepLag = new Histogram({
      name: 'steerer_step_lag_seconds',
      help: 'How late a weight step happened after it was due',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.kubeRequests = new Counter({
      name: 'steerer_kube_requests_total',
      help: 'Kubernetes API requests by verb, resource and HTTP code',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.promQueries = new Counter({
      name: 'steerer_prometheus_queries_total',
      help: 'Prometheus queries by result',
      labelNames: ['result'],
      registers,
    });
    this.promQueryDuration = new Histogram({
      name: 'steerer_prometheus_query_duration_seconds',
      help: 'Prometheus query latency',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'steerer_workqueue_depth',
      help: 'Rollouts waiting to be reconciled',
      registers,
    });
    this.informerRestarts = new Counter({
      name: 'steerer_informer_restarts_total',
      help: 'Informer relists and watch failures',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.events = new Counter({
      name: 'steerer_events_total',
      help: 'Kubernetes Events recorded',
      labelNames: ['type'],
      registers,
    });
    this.analysisSubscriptions = new Gauge({
      name: 'steerer_analysis_rollouts',
      help: 'Rollouts whose canary is being measured',
      registers,
    });
    this.leader = new Gauge({
      name: 'steerer_leader',
      help: '1 while this replica is the leader',
      registers,
    });
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
    for (const p of PHASES as readonly Phase[]) this.phase.remove({ ...l, phase: p });
  }
}
