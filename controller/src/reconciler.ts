// One reconcile of one Rollout: read the caches, plan, record the decision in status,
// then make the world match it, and hand the analysis hub what the plan wants measured.
// A failure anywhere throws, and the queue retries the key with backoff; the next pass
// re-plans from what is actually there.

import { errorMessage, qualified } from '@steerer/common';
import type { Logger, RolloutObject } from '@steerer/common';
import type { Actuator } from './actuator.js';
import type { EventSink } from './events.js';
import type { ControllerMetrics } from './metrics.js';
import type { NotificationSink } from './notify/notifier.js';
import { plan } from './planner/plan.js';
import type {
  AnalysisSamples,
  HookCall,
  HookResults,
  Observed,
  Plan,
  PlannerConfig,
  Subscription,
} from './planner/types.js';

/** Where a reconcile reads from: the caches (no API calls). */
export interface ClusterView {
  rollout(key: string): RolloutObject | undefined;
  observe(r: RolloutObject): Observed;
  /**
   * True while an object the Rollout names is still being fetched into the caches; the
   * Rollout is enqueued again once it is, and nothing is planned meanwhile.
   */
  pending?(key: string): boolean;
}

/** The lifecycle webhook runner, as a reconcile uses it. */
export interface HookCalls {
  want(rolloutKey: string, calls: readonly HookCall[]): void;
  latest(rolloutKey: string): HookResults | undefined;
}

/** The analysis hub, as a reconcile uses it. */
export interface Measurements {
  want(rolloutKey: string, sub: Subscription | undefined): void;
  latest(rolloutKey: string): AnalysisSamples | undefined;
  readonly subscriptions: number;
}

export interface ReconcilerOptions {
  cluster: ClusterView;
  actuator: Pick<Actuator, 'writeStatus' | 'apply'>;
  events: EventSink;
  /** Chat and webhook notifications of the decisions written (optional). */
  notifier?: NotificationSink | undefined;
  hub: Measurements;
  /** Makes the lifecycle webhook calls plans want (optional: without it none are made). */
  hooks?: HookCalls | undefined;
  metrics: Pick<
    ControllerMetrics,
    'forgetRollout' | 'observeRollout' | 'stepLag' | 'reconcileDuration' | 'analysisSubscriptions'
  >;
  logger: Logger;
  config: PlannerConfig;
  now?: () => number;
}

export class Reconciler {
  private readonly now: () => number;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Reconciles one rollout; resolves to when to look again (ms), if at all. */
  async reconcile(key: string): Promise<number | undefined> {
    const { cluster, hub, metrics } = this.o;
    const started = performance.now();
    const r = cluster.rollout(key);
    if (!r) {
      hub.want(key, undefined);
      this.o.hooks?.want(key, []);
      metrics.analysisSubscriptions.set(hub.subscriptions);
      const [ns, name] = key.split('/');
      if (ns && name) metrics.forgetRollout(ns, name);
      return undefined;
    }
    if (cluster.pending?.(key)) return undefined;
    let result = 'success';
    try {
      const now = this.now();
      const p = plan({
        rollout: r,
        observed: cluster.observe(r),
        analysis: hub.latest(key),
        hooks: this.o.hooks?.latest(key),
        now,
        config: this.o.config,
      });
      await this.carryOut(key, r, p, now);
      this.observeStepLag(r, p, now);
      return p.requeueAfterMs;
    } catch (e) {
      result = 'error';
      this.o.logger.debug('reconcile failed', {
        rollout: r.metadata.name,
        namespace: r.metadata.namespace,
        error: errorMessage(e),
      });
      throw e;
    } finally {
      metrics.reconcileDuration.observe({ result }, (performance.now() - started) / 1000);
      metrics.analysisSubscriptions.set(hub.subscriptions);
    }
  }

  /**
   * Status first: the decision is saved before anything acts on it. Then the events that
   * tell of it (an action that fails is redone by the next pass, which would not repeat
   * them), what to measure, and the actions.
   */
  private async carryOut(key: string, r: RolloutObject, p: Plan, now: number): Promise<void> {
    const ns = r.metadata.namespace;
    const updated = await this.o.actuator.writeStatus(r, p.status);
    for (const e of p.events) await this.o.events.record(updated ?? r, e.type, e.message);
    // Only a decision that was written: a pass whose write failed is planned again.
    if (updated) this.o.notifier?.notify(r, p.status, p.spec, now);
    this.o.hub.want(key, p.measure);
    this.o.hooks?.want(key, p.hooks);
    const ref = { namespace: ns, name: r.metadata.name };
    for (const a of p.actions) await this.o.actuator.apply(a, ref);
    if (updated) {
      this.o.logger.info(p.status.message ?? 'status updated', {
        rollout: r.metadata.name,
        namespace: ns,
        phase: p.status.phase,
        weight: p.status.canaryWeight,
        rolloutName: qualified(r.metadata.name, ns),
      });
    }
    this.o.metrics.observeRollout(ns, r.metadata.name, p.status);
  }

  /** How late a weight step came after it was due. */
  private observeStepLag(r: RolloutObject, p: Plan, now: number): void {
    const stepped =
      p.status.lastStepTime !== r.status?.lastStepTime && (r.status?.canaryWeight ?? 0) > 0;
    if (!stepped || !r.status?.lastCheckTime) return;
    const dueAt = Date.parse(r.status.lastCheckTime) + this.o.config.stepIntervalMs;
    if (now >= dueAt) this.o.metrics.stepLag.observe((now - dueAt) / 1000);
  }
}
