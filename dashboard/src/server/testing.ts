// Test support for the dashboard's server: fakes behind its interfaces (the Rollouts, their
// Events, the cluster access, Prometheus), Rollout objects, and a reader of server-sent
// events with a deadline. Never imported by product code.

import type {
  EventObject,
  KubeClient,
  Request,
  RolloutObject,
  RolloutStatus,
} from '@steerer/common';
import { BASE_ROLLOUT_SPEC } from '@steerer/common/testing/rollout-cases';
import type { RolloutSummary, Scope } from '../shared/api.js';
import { summarize } from '../shared/summary.js';
import type { ClusterAccess, Handling } from './access.js';
import type { EventsListener, EventsSource } from './events.js';
import type { RangeClient, RangeQuery, RangeSeries } from './prometheus.js';
import type { OverviewListener, RolloutListener, RolloutSource } from './rollouts.js';
import type { WeightPoint } from './timeline.js';

export function rolloutObject(
  name: string,
  status: RolloutStatus = {},
  namespace = 'test',
  annotations?: Record<string, string>,
): RolloutObject {
  return {
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: { name, namespace, uid: `uid-${name}`, ...(annotations ? { annotations } : {}) },
    spec: JSON.parse(JSON.stringify(BASE_ROLLOUT_SPEC)) as RolloutObject['spec'],
    status,
  };
}

export class FakeHub implements RolloutSource {
  scope: Scope = { server: 'https://api.test:6443', context: 'test-context' };
  synced = true;
  trouble: string | undefined;
  readonly objects = new Map<string, RolloutObject>();
  readonly weights = new Map<string, WeightPoint[]>();
  private readonly overview = new Set<OverviewListener>();
  private readonly single = new Map<string, Set<RolloutListener>>();

  list(): RolloutSummary[] {
    return [...this.objects.values()].map(summarize);
  }

  get(namespace: string, name: string): RolloutObject | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  weightsOf(namespace: string, name: string): readonly WeightPoint[] {
    return this.weights.get(`${namespace}/${name}`) ?? [];
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
    return () => set.delete(l);
  }

  watches(namespace: string): boolean {
    return this.scope.namespace === undefined || this.scope.namespace === namespace;
  }

  /** How many listen to one Rollout (to see a closed page unsubscribe). */
  listeners(namespace: string, name: string): number {
    return this.single.get(`${namespace}/${name}`)?.size ?? 0;
  }

  /** The informer saw `r` added or changed. */
  put(r: RolloutObject): void {
    const key = `${r.metadata.namespace}/${r.metadata.name}`;
    this.objects.set(key, r);
    for (const l of this.overview) l.upsert(summarize(r));
    for (const l of this.single.get(key) ?? []) l.rollout(r);
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.objects.delete(key);
    for (const l of this.overview) l.remove(namespace, name);
    for (const l of this.single.get(key) ?? []) l.rollout(undefined);
  }

  setTrouble(message: string | undefined): void {
    this.trouble = message;
    for (const l of this.overview) l.trouble(message);
    for (const set of this.single.values()) for (const l of set) l.trouble(message);
  }
}

export class FakeEvents implements EventsSource {
  events: EventObject[] = [];
  error: string | undefined;
  private readonly listeners = new Set<EventsListener>();

  subscribe(_namespace: string, _name: string, listener: EventsListener): () => void {
    this.listeners.add(listener);
    listener(this.events, this.error);
    return () => this.listeners.delete(listener);
  }

  emit(events: EventObject[]): void {
    this.events = events;
    for (const l of this.listeners) l(events, this.error);
  }
}

export interface WrittenRequest {
  namespace: string;
  name: string;
  request: Request;
}

/** Cluster access without a cluster: requests are recorded, or fail with `failWith`. */
export class FakeAccess implements ClusterAccess {
  readonly client = {} as KubeClient;
  readonly server = 'https://api.test:6443';
  readonly context = 'test-context';
  readonly defaultNamespace = 'test';
  readonly written: WrittenRequest[] = [];
  failWith: Error | undefined;
  writtenAt = Date.parse('2026-01-01T00:00:00Z');

  describe(e: unknown, op: { verb: string; resource: string; namespace?: string }): string {
    const status = (e as { status?: unknown }).status;
    return `user "tester" may not ${op.verb} ${op.resource} in namespace ${op.namespace ?? '-'} (HTTP ${String(status)})`;
  }

  writeRequest(namespace: string, name: string, request: Request): Promise<number> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.written.push({ namespace, name, request });
    return Promise.resolve(this.writtenAt);
  }

  handling(rollout: RolloutObject, request: Request, writtenAt: number): Handling {
    const last = rollout.status?.lastRequest;
    if (rollout.metadata.annotations?.['steerer.io/request'] !== undefined || !last) {
      return { state: 'pending' };
    }
    if (Date.parse(last.time) < writtenAt) return { state: 'pending' };
    return last.action === request
      ? { state: 'handled', lastRequest: last }
      : { state: 'replaced', lastRequest: last };
  }
}

/** Prometheus in memory: answers by query substring, or fails with `failWith`. */
export class FakeRange implements RangeClient {
  readonly url = 'http://prometheus.test:9090';
  readonly asked: RangeQuery[] = [];
  failWith: Error | undefined;
  answers: { match: string; series: RangeSeries[] }[] = [];

  range(q: RangeQuery): Promise<RangeSeries[]> {
    this.asked.push(q);
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve(this.answers.find((a) => q.query.includes(a.match))?.series ?? []);
  }
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Parses complete `event:`/`data:` blocks from a server-sent event stream's text. */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event !== undefined && data !== undefined) out.push({ event, data: JSON.parse(data) });
  }
  return out;
}

/** Reads a stream until `until` is true of the events so far, or fails after `timeoutMs`. */
export async function readStream(
  url: string,
  until: (events: SseEvent[]) => boolean,
  options: { timeoutMs?: number; headers?: Record<string, string>; onOpen?: () => void } = {},
): Promise<SseEvent[]> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), options.timeoutMs ?? 5000);
  let text = '';
  try {
    const res = await fetch(url, { signal: stop.signal, headers: options.headers });
    options.onOpen?.();
    if (!res.body) throw new Error('no body');
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const events = parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2));
      if (until(events)) return events;
    }
    throw new Error(`the stream ended; got ${text}`);
  } catch (e) {
    if (stop.signal.aborted) throw new Error(`timed out reading ${url}; got ${text}`, { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}
