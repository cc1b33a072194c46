// A list+watch cache of one resource. Lists (paged), then watches from the list's
// resourceVersion with bookmarks; on "410 Gone" it relists and reports the difference as
// events; on any other failure it retries with capped, jittered backoff. Handlers run
// synchronously and should only enqueue work. managedFields are dropped on arrival: they
// are large and never read; `transform` keeps only what the cache's readers use.

import { whenAborted } from './client.js';
import type { KubeClient } from './client.js';
import type { KubeObject } from '../model/objects.js';
import { isApiError, errorMessage } from '../model/errors.js';
import type { Logger } from '../logger.js';
import { Backoff } from '../backoff.js';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old: T | undefined) => void;

export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Collection path, e.g. /apis/apps/v1/deployments or /api/v1/namespaces/x/services. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout; a little randomness spreads reconnects. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  logger: Logger;
  /** Called when the informer (re)lists or its watch fails, for metrics. */
  onRestart?: (reason: 'relist' | 'error') => void;
  /**
   * What the cache keeps of each object as it arrives (a projection of the fields read, or
   * a skeleton), applied to every listed and watched object before handlers see it.
   */
  transform?: (obj: T) => T;
  /** Injected for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface ListResponse<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : obj.metadata.name;
}

function strip<T extends KubeObject>(obj: T): T {
  delete (obj.metadata as { managedFields?: unknown }).managedFields;
  return obj;
}

class GoneError extends Error {}

/** A watch that ends sooner than this without any event counts as failed. */
const SHORT_WATCH_MS = 1000;

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const unlink = whenAborted(signal, done);
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      unlink();
      resolve();
    }
  });
}

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerOptions<T>,
  ) {}

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  /**
   * Replaces a cached object with a fuller copy fetched on the side (a skeleton whose
   * object a Rollout now names), without an event: only while `still(cached)` holds, so a
   * newer object the watch delivered meanwhile is never overwritten. True if replaced.
   */
  fill(key: string, obj: T, still: (cached: T) => boolean): boolean {
    const cached = this.store.get(key);
    if (cached === undefined || !still(cached)) return false;
    this.store.set(key, obj);
    return true;
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get size(): number {
    return this.store.size;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been applied. */
  waitForSync(signal: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (): void => {
        unlink();
        resolve(true);
      };
      const unlink = whenAborted(signal, () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        resolve(false);
      });
      this.syncWaiters.push(waiter);
    });
  }

  /** Runs until `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const sleep = this.options.sleep ?? abortableSleep;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        this.backoff.reset();
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof GoneError || isApiError(e, 410)) {
          this.options.logger.debug('watch expired; relisting', { path: this.options.path });
          this.options.onRestart?.('relist');
          needList = true;
          continue;
        }
        const delay = this.backoff.next();
        this.options.logger.warn('watch failed; retrying', {
          path: this.options.path,
          error: errorMessage(e),
          retryInMs: delay,
        });
        this.options.onRestart?.('error');
        // After a failure we cannot know what we missed beyond the resourceVersion;
        // resuming from it is correct, and a 410 answer sends us to relist.
        await sleep(delay, signal);
      }
    }
  }

  private selectorQuery(): Record<string, string | undefined> {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page: ListResponse<T> = await this.client.list<ListResponse<T>>(this.options.path, {
        query: { ...this.selectorQuery(), limit: this.options.pageSize ?? 500, continue: cont },
        signal,
      });
      for (const item of page.items) {
        const obj = this.keep(strip(item));
        fresh.set(objectKey(obj), obj);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    // Report the difference against what we had, as if we had watched it happen.
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emit('delete', old, undefined);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emit('add', obj, undefined);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.emit('update', obj, old);
    }
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (1 + Math.random() * 0.2));
    // This watch ends when `signal` aborts, or when the stream says nothing (not even a
    // bookmark) for so long that it is presumed dead. Linked by hand, and unlinked when the
    // watch ends: `signal` lives as long as the process, watches come and go.
    const watchEnd = new AbortController();
    const unlink = whenAborted(signal, () => watchEnd.abort(signal.reason));
    const stalled = (): void => watchEnd.abort(new Error('the watch went silent'));
    let timer = setTimeout(stalled, (timeoutSeconds + 60) * 1000);
    const touch = (): void => {
      clearTimeout(timer);
      timer = setTimeout(stalled, (timeoutSeconds + 60) * 1000);
    };
    let events = 0;
    const started = performance.now();
    try {
      await this.client.watch(
        this.options.path,
        {
          ...this.selectorQuery(),
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        (ev) => {
          events++;
          touch();
          this.apply(ev.type, ev.object);
        },
        watchEnd.signal,
      );
    } finally {
      clearTimeout(timer);
      unlink();
    }
    // A watch the server closes at once, without a single event, is a failure: going
    // round again without a pause would hammer the API server.
    if (!signal.aborted && events === 0 && performance.now() - started < SHORT_WATCH_MS) {
      throw new Error('the watch ended at once without any event');
    }
  }

  private apply(type: string, raw: unknown): void {
    if (type === 'ERROR') {
      const status = raw as { code?: number; message?: string };
      if (status.code === 410) throw new GoneError(status.message ?? 'resource version too old');
      throw new Error(`watch error ${status.code ?? '?'}: ${status.message ?? 'unknown'}`);
    }
    const stripped = strip(raw as T);
    if (stripped.metadata?.resourceVersion) {
      this.resourceVersion = stripped.metadata.resourceVersion;
    }
    if (type === 'BOOKMARK') return;
    const obj = this.keep(stripped);
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (type === 'DELETED') {
      this.store.delete(key);
      this.emit('delete', obj, old);
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      this.store.set(key, obj);
      this.emit(old ? 'update' : 'add', obj, old);
    }
  }

  private keep(obj: T): T {
    return this.options.transform ? this.options.transform(obj) : obj;
  }

  private emit(event: InformerEvent, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (e) {
        this.options.logger.error('informer handler failed', {
          path: this.options.path,
          error: errorMessage(e),
        });
      }
    }
  }
}
