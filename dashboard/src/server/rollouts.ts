// Every Rollout the user can see, live: one informer (all namespaces, or one), the overview's
// summaries, each Rollout's recorded weights, and the listeners of the page's streams.
// When the API server cannot be reached, the problem is described once and probed every
// few seconds until it answers again, so the page can say so and then clear it by itself.

import { Informer, ROLLOUT, abortableSleep, objectKey, resourcePath } from '@steerer/common';
import type { LogFields, Logger, RolloutObject } from '@steerer/common';
import { isApiError } from '@steerer/common';
import type { RolloutSummary, Scope } from '../shared/api.js';
import { sameSummary, summarize } from '../shared/summary.js';
import type { ClusterAccess, Operation } from './access.js';
import type { WeightPoint } from './timeline.js';

export const ROLLOUT_RESOURCE = `${ROLLOUT.plural}.${ROLLOUT.group}`;
/** How often a failing connection is tried again to find out when it works. */
export const PROBE_MS = 2000;
/** Weights recorded per Rollout (the oldest are dropped). */
const MAX_WEIGHTS = 2000;

export interface OverviewListener {
  /** Everything changed (first sync, a new scope): send a snapshot. */
  reset(): void;
  upsert(summary: RolloutSummary): void;
  remove(namespace: string, name: string): void;
  trouble(message: string | undefined): void;
}

export interface RolloutListener {
  /** The Rollout as it is now; undefined once it is deleted. */
  rollout(rollout: RolloutObject | undefined): void;
  trouble(message: string | undefined): void;
}

export function rolloutsPath(namespace: string | undefined, name?: string): string {
  return resourcePath({
    group: ROLLOUT.group,
    version: ROLLOUT.version,
    plural: ROLLOUT.plural,
    namespace,
    name,
  });
}

export interface HubOptions {
  /** Only this namespace; undefined: all (narrowed to the context's when forbidden). */
  namespace?: string | undefined;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What the HTTP server needs of the Rollouts (RolloutHub; a fake in tests). */
export interface RolloutSource {
  readonly scope: Scope;
  readonly synced: boolean;
  readonly trouble: string | undefined;
  list(): RolloutSummary[];
  get(namespace: string, name: string): RolloutObject | undefined;
  weightsOf(namespace: string, name: string): readonly WeightPoint[];
  subscribeOverview(l: OverviewListener): () => void;
  subscribeRollout(namespace: string, name: string, l: RolloutListener): () => void;
  watches(namespace: string): boolean;
}

export class RolloutHub implements RolloutSource {
  scope: Scope;
  private informer: Informer<RolloutObject> | undefined;
  private readonly summaries = new Map<string, RolloutSummary>();
  private readonly weights = new Map<string, WeightPoint[]>();
  private readonly overview = new Set<OverviewListener>();
  private readonly single = new Map<string, Set<RolloutListener>>();
  private troubleText: string | undefined;
  private probing = false;
  private readonly now: () => number;

  constructor(
    private readonly access: ClusterAccess,
    private readonly options: HubOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.scope = { namespace: options.namespace, server: access.server, context: access.context };
  }

  get trouble(): string | undefined {
    return this.troubleText;
  }

  get synced(): boolean {
    return this.informer?.hasSynced() ?? false;
  }

  list(): RolloutSummary[] {
    return [...this.summaries.values()];
  }

  get(namespace: string, name: string): RolloutObject | undefined {
    return this.informer?.get(`${namespace}/${name}`);
  }

  weightsOf(namespace: string, name: string): readonly WeightPoint[] {
    return this.weights.get(`${namespace}/${name}`) ?? [];
  }

  private op(namespace: string | undefined): Operation {
    return { verb: 'list', resource: ROLLOUT_RESOURCE, kind: 'rollout', namespace };
  }

  /** Lists one Rollout to learn whether the API server answers (and lets us). */
  private probe(namespace: string | undefined, signal: AbortSignal): Promise<unknown> {
    return this.access.client.list(rolloutsPath(namespace), {
      query: { limit: 1 },
      signal,
      timeoutMs: 5000,
    });
  }

  /** Where to look: as asked, or the context's namespace when every namespace is forbidden. */
  private async chooseScope(signal: AbortSignal): Promise<void> {
    if (this.options.namespace !== undefined) return;
    try {
      await this.probe(undefined, signal);
    } catch (e) {
      if (!isApiError(e, 403)) return; // the informer retries; trouble is reported then
      const ns = this.access.defaultNamespace;
      this.scope = {
        ...this.scope,
        namespace: ns,
        note: `${this.access.describe(e, this.op(undefined))}. Showing namespace ${ns} only: pass -n NAMESPACE for another.`,
      };
    }
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await this.chooseScope(signal);
    const informer = new Informer<RolloutObject>(this.access.client, {
      path: rolloutsPath(this.scope.namespace),
      logger: this.troubleLogger(signal),
    });
    this.informer = informer;
    informer.on((event, obj) => this.onChange(event === 'delete' ? undefined : obj, obj));
    const synced = informer.waitForSync(signal).then((ok) => {
      if (!ok) return;
      this.setTrouble(undefined);
      for (const l of this.overview) l.reset();
    });
    await Promise.all([informer.run(signal), synced]);
  }

  private onChange(current: RolloutObject | undefined, obj: RolloutObject): void {
    const key = objectKey(obj);
    this.setTrouble(undefined);
    if (current) this.record(key, current);
    else {
      this.summaries.delete(key);
      this.weights.delete(key);
    }
    const synced = this.synced;
    if (current) {
      const summary = summarize(current);
      const before = this.summaries.get(key);
      this.summaries.set(key, summary);
      if (synced && !sameSummary(before, summary)) for (const l of this.overview) l.upsert(summary);
    } else if (synced) {
      for (const l of this.overview) l.remove(obj.metadata.namespace, obj.metadata.name);
    }
    for (const l of this.single.get(key) ?? []) l.rollout(current);
  }

  private record(key: string, r: RolloutObject): void {
    const weight = r.status?.canaryWeight ?? 0;
    const list = this.weights.get(key) ?? [];
    if (list.at(-1)?.weight === weight) return;
    list.push({ at: this.now(), weight });
    if (list.length > MAX_WEIGHTS) list.splice(0, list.length - MAX_WEIGHTS);
    this.weights.set(key, list);
  }

  private setTrouble(message: string | undefined): void {
    if (message === this.troubleText) return;
    this.troubleText = message;
    for (const l of this.overview) l.trouble(message);
    for (const set of this.single.values()) for (const l of set) l.trouble(message);
  }

  /** The informer's complaints start the probe, which finds the sentence and the recovery. */
  private troubleLogger(signal: AbortSignal): Logger {
    const { logger } = this.options;
    const complain = (message: string, fields?: LogFields): void => {
      logger.warn(message, fields);
      void this.probeUntilFine(signal);
    };
    return { ...logger, warn: complain, error: complain, child: () => this.troubleLogger(signal) };
  }

  private async probeUntilFine(signal: AbortSignal): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const sleep = this.options.sleep ?? abortableSleep;
    try {
      while (!signal.aborted) {
        try {
          await this.probe(this.scope.namespace, signal);
          this.setTrouble(undefined);
          return;
        } catch (e) {
          if (signal.aborted) return;
          this.setTrouble(`${this.access.describe(e, this.op(this.scope.namespace))} (retrying)`);
        }
        await sleep(PROBE_MS, signal);
      }
    } finally {
      this.probing = false;
    }
  }

  subscribeOverview(l: OverviewListener): () => void {
    this.overview.add(l);
    return () => this.overview.delete(l);
  }

  subscribeRollout(namespace: string, name: string, l: RolloutListener): () => void {
    const key = `${namespace}/${name}`;
    const set = this.single.get(key) ?? new Set();
    set.add(l);
    this.single.set(key, set);
    return () => {
      set.delete(l);
      if (set.size === 0) this.single.delete(key);
    };
  }

  /** Whether `namespace` is inside what the dashboard watches. */
  watches(namespace: string): boolean {
    return this.scope.namespace === undefined || this.scope.namespace === namespace;
  }
}
