// One reconcile of one Rollout: read the caches, plan, record the decision in status,
// then make the world match it. A failure anywhere throws, and the queue retries the
// key with backoff; the next pass re-plans from what is actually there.

import { errorMessage, qualified, validateRolloutSpec } from '@steerer/common';
import type { Logger, RolloutObject, RolloutStatus } from '@steerer/common';
import type { Actuator } from './actuator.js';
import type { AnalysisHub, Subscription } from './analysis.js';
import type { Cluster } from './cluster.js';
import type { EventSink } from './events.js';
import type { ControllerMetrics } from './metrics.js';
import { plan } from './planner/plan.js';
import type { PlannerConfig } from './planner/types.js';

export interface ReconcilerOptions {
  cluster: Cluster;
  actuator: Actuator;
  events: EventSink;
  hub: AnalysisHub;
  metrics: ControllerMetrics;
  logger: Logger;
  config: PlannerConfig;
  now?: () => number;
}

/** Whether a status describes a release whose canary receives traffic to measure. */
export function measuring(s: RolloutStatus | undefined): boolean {
  return (
    (s?.phase === 'Progressing' || s?.phase === 'Halted') &&
    (s.canaryWeight ?? 0) > 0 &&
    s.canaryRevision !== undefined &&
    s.canaryRevision !== s.lastPromotedRevision
  );
}

export class Reconciler {
  private readonly now: () => number;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
  }

  private subscription(
    r: RolloutObject,
    status: RolloutStatus | undefined = r.status,
  ): Subscription | undefined {
    const v = validateRolloutSpec(r.spec);
    if (!v.ok) return undefined;
    const { canary, metric } = v.value;
    const start = status?.startTime ? Date.parse(status.startTime) : Number.NaN;
    return {
      namespace: r.metadata.namespace,
      workload: canary.name,
      metric: metric.name,
      windowMs: metric.intervalMs,
      threshold: metric.threshold,
      sinceMs: Number.isFinite(start) ? start : undefined,
    };
  }

  /** Reconciles one rollout; resolves to when to look again (ms), if at all. */
  async reconcile(key: string): Promise<number | undefined> {
    const { cluster, hub, metrics } = this.o;
    const started = performance.now();
    const r = cluster.rollout(key);
    if (!r) {
      hub.want(key, undefined);
      const [ns, name] = key.split('/');
      if (ns && name) metrics.forgetRollout(ns, name);
      return undefined;
    }
    const ns = r.metadata.namespace;
    const log = this.o.logger.child({ rollout: r.metadata.name, namespace: ns });
    let result = 'success';
    try {
      // Measure before planning when a release is being analysed and no sample exists
      // yet (e.g. just after a restart): a check must never run on missing data.
      if (measuring(r.status)) {
        hub.want(key, this.subscription(r));
        if (!hub.latest(key)) await hub.refresh();
      }
      const observed = cluster.observe(r);
      const now = this.now();
      const p = plan({
        rollout: r,
        observed,
        analysis: hub.latest(key),
        now,
        config: this.o.config,
      });
      hub.want(
        key,
        p.wantsAnalysis || measuring(p.status) ? this.subscription(r, p.status) : undefined,
      );

      const stepped =
        p.status.lastStepTime !== r.status?.lastStepTime && (r.status?.canaryWeight ?? 0) > 0;
      if (stepped && r.status?.lastCheckTime) {
        const dueAt = Date.parse(r.status.lastCheckTime) + this.o.config.stepIntervalMs;
        if (now >= dueAt) metrics.stepLag.observe((now - dueAt) / 1000);
      }
      // Record the decision first: actions follow only a decision that was saved.
      const updated = await this.o.actuator.writeStatus(r, p.status);
      const current = updated ?? r;
      if (p.spec)
        for (const a of p.actions) await this.o.actuator.apply(a, current, p.spec, observed);
      for (const e of p.events) await this.o.events.record(current, e.type, e.message);
      if (updated) {
        log.info(p.status.message ?? 'status updated', {
          phase: p.status.phase,
          weight: p.status.canaryWeight,
          rolloutName: qualified(r.metadata.name, ns),
        });
      }
      metrics.observeRollout(ns, r.metadata.name, p.status);
      return p.requeueAfterMs;
    } catch (e) {
      result = 'error';
      log.debug('reconcile failed', { error: errorMessage(e) });
      throw e;
    } finally {
      metrics.reconcileDuration.observe({ result }, (performance.now() - started) / 1000);
      metrics.analysisSubscriptions.set(hub.subscriptions);
    }
  }
}
