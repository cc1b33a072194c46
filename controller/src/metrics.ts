// The controller's Prometheus metrics. Per-rollout gauges carry namespace and name;
// everything else is aggregated.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES, tryParseDuration } from '@steerer/common';
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
  /** The deciding check of each rollout's last analysis: its name keys the series below. */
  readonly checkValue = this.gauge(
    'steerer_rollout_check_value',
    "Last measured value of the rollout's deciding check (success rate or value, in its unit)",
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkBound = this.gauge(
    'steerer_rollout_check_bound',
    "The deciding check's bound (threshold, maximum, margin)",
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkSamples = this.gauge(
    'steerer_rollout_check_samples',
    'Requests judged by the deciding check, over its evidence window',
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkFailures = this.gauge(
    'steerer_rollout_check_failures',
    'Of those requests, how many were bad (errors, slow requests)',
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkNeeded = this.gauge(
    'steerer_rollout_check_needed_samples',
    'More requests the deciding check needs before it can pass (0 when it passes or fails)',
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkConfidence = this.gauge(
    'steerer_rollout_check_confidence',
    'Confidence the last verdict was reached at (0.999 for a failure)',
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkWindow = this.gauge(
    'steerer_rollout_check_window_seconds',
    'Window the deciding check was measured over',
    [...ROLLOUT_LABELS, 'check'],
  );
  readonly checkInfo = this.gauge(
    'steerer_rollout_check_info',
    'Always 1: the deciding check, its result and the query to paste into Prometheus',
    [...ROLLOUT_LABELS, 'check', 'result', 'query'],
  );
  private readonly lastCheck = new Map<string, { check: string; info: Record<string, string> }>();
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
  readonly hookCalls = this.counter(
    'steerer_hook_calls_total',
    'Lifecycle webhook attempts (spec.hooks) by hook type and result (success, failure, timeout, error)',
    ['type', 'result'],
  );
  readonly hookCallDuration = new Histogram({
    name: 'steerer_hook_call_duration_seconds',
    help: 'Lifecycle webhook attempt latency, by hook type (timeouts included)',
    labelNames: ['type'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: this.registers,
  });
  readonly hooksInFlight = this.gauge(
    'steerer_hook_calls_in_flight',
    'Lifecycle webhook attempts under way',
  );
  readonly notifications = this.counter(
    'steerer_notifications_total',
    'Notifications by receiver, kind and result (delivered, failed after retries, dropped unsent)',
    ['receiver', 'kind', 'result'],
  );
  readonly notificationRequests = this.counter(
    'steerer_notification_requests_total',
    'Notification requests (attempts) by receiver and HTTP code, timeout or network',
    ['receiver', 'code'],
  );
  readonly notificationQueueDepth = this.gauge(
    'steerer_notification_queue_depth',
    'Notifications waiting to be sent, by receiver',
    ['receiver'],
  );

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
    this.observeCheck(l, s);
  }

  private observeCheck(l: { namespace: string; name: string }, s: RolloutStatus): void {
    const a = s.analysis;
    const key = `${l.namespace}/${l.name}`;
    const check = a?.check ?? (a ? 'success-rate' : undefined);
    const info = a && check ? { ...l, check, result: a.result, query: a.query ?? '' } : undefined;
    const before = this.lastCheck.get(key);
    if (
      before &&
      (before.check !== check ||
        before.info.result !== info?.result ||
        before.info.query !== info?.query)
    ) {
      if (before.check !== check) this.removeCheck({ ...l, check: before.check });
      this.checkInfo.remove(before.info);
    }
    if (!a || !check || !info) {
      this.lastCheck.delete(key);
      return;
    }
    this.lastCheck.set(key, { check, info });
    this.setCheckGauges({ ...l, check }, a);
    this.checkInfo.set(info, 1);
  }

  private setCheckGauges(
    c: { namespace: string; name: string; check: string },
    a: NonNullable<RolloutStatus['analysis']>,
  ): void {
    const value = a.successRate ?? a.value;
    if (value !== undefined) this.checkValue.set(c, value);
    this.checkBound.set(c, a.threshold);
    if (a.samples !== undefined) this.checkSamples.set(c, a.samples);
    if (a.failures !== undefined) this.checkFailures.set(c, a.failures);
    this.checkNeeded.set(c, a.needed ?? 0);
    if (a.confidence !== undefined) this.checkConfidence.set(c, a.confidence);
    const windowMs = tryParseDuration(a.window);
    if (windowMs !== undefined) this.checkWindow.set(c, windowMs / 1000);
  }

  private removeCheck(c: { namespace: string; name: string; check: string }): void {
    for (const g of [
      this.checkValue,
      this.checkBound,
      this.checkSamples,
      this.checkFailures,
      this.checkNeeded,
      this.checkConfidence,
      this.checkWindow,
    ])
      g.remove(c);
  }

  forgetRollout(namespace: string, name: string): void {
    const l = { namespace, name };
    this.weight.remove(l);
    this.failedChecks.remove(l);
    this.successRate.remove(l);
    for (const p of PHASES) this.phase.remove({ ...l, phase: p });
    const before = this.lastCheck.get(`${namespace}/${name}`);
    if (before) {
      this.removeCheck({ ...l, check: before.check });
      this.checkInfo.remove(before.info);
      this.lastCheck.delete(`${namespace}/${name}`);
    }
  }
}
