// One list-then-watch loop per resource, independent of client-node (the transport is a
// ResourceSource, see kube-watch.ts), so its recovery rules are unit-tested: rewatch from
// the last resourceVersion when the server closes the stream; relist on 410 Gone; relist
// with capped, jittered backoff after any error; abort a watch that goes quiet; relist
// periodically. It never throws: only the abort signal ends it.

import { sleep, type Clock } from './clock.js';
import type { Logger } from './log.js';
import type { ReflectorSink } from './store.js';

export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

export interface ListResult {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export interface ResourceSource {
  readonly resource: string;
  list(): Promise<ListResult>;
  /**
   * Streams events until the server closes it (resolves) or it fails (rejects). Resolves
   * with 'relist' when the API itself changed (a CRD installed or removed): the reflector
   * then lists again at once, without counting a failure.
   */
  watch(
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void | 'relist'>;
}

export interface ReflectorOptions {
  clock: Clock;
  log: Logger;
  random?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Full relist at least this often. */
  resyncMs?: number;
  /** Server-side watch timeout is drawn from this range, like client-go. */
  watchTimeoutSeconds?: readonly [number, number];
  /** A watch that ends sooner than this without events counts as a failure. */
  minWatchMs?: number;
  onError?: (error: unknown) => void;
}

/** HTTP-ish status code of a client-node error or a Status object, if any. */
export function statusOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { statusCode?: unknown; code?: unknown; body?: unknown };
  if (typeof v.statusCode === 'number') return v.statusCode;
  if (typeof v.code === 'number') return v.code;
  if (typeof v.body === 'object' && v.body !== null) return statusOf(v.body);
  return undefined;
}

export function backoffDelay(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

function resourceVersionOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const rv = (meta as { resourceVersion?: unknown }).resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return JSON.stringify(error) ?? String(error);
}

type Stop =
  | { kind: 'closed' }
  | { kind: 'quiet' }
  | { kind: 'expired' }
  | { kind: 'relist' }
  | { kind: 'error'; error: unknown };

interface WatchOutcome {
  stop: Stop;
  resourceVersion: string;
  events: number;
}

async function watchOnce(
  source: ResourceSource,
  sink: ReflectorSink,
  resourceVersion: string,
  options: Required<Pick<ReflectorOptions, 'clock' | 'log' | 'random' | 'watchTimeoutSeconds'>>,
  signal: AbortSignal,
): Promise<WatchOutcome> {
  const { clock, log } = options;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let lastRv = resourceVersion;
  let events = 0;
  let stop: Stop | undefined;
  const halt = (s: Stop): void => {
    stop ??= s;
    controller.abort();
  };

  const [lo, hi] = options.watchTimeoutSeconds;
  const timeoutSeconds = Math.round(lo + (hi - lo) * options.random());
  const quietMs = timeoutSeconds * 1000 + 30_000;
  let lastEventAt = clock.now();
  let cancelWatchdog = (): void => undefined;
  const arm = (ms: number): void => {
    cancelWatchdog = clock.schedule(() => {
      const idle = clock.now() - lastEventAt;
      if (idle >= quietMs) halt({ kind: 'quiet' });
      else arm(quietMs - idle);
    }, ms);
  };
  arm(quietMs);

  const onEvent = (event: WatchEvent): void => {
    if (stop) return;
    lastEventAt = clock.now();
    events += 1;
    try {
      switch (event.type) {
        case 'ADDED':
        case 'MODIFIED':
          sink.upsert(event.object);
          break;
        case 'DELETED':
          sink.remove(event.object);
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR':
          halt(
            statusOf(event.object) === 410
              ? { kind: 'expired' }
              : { kind: 'error', error: event.object },
          );
          return;
        default:
          return;
      }
      lastRv = resourceVersionOf(event.object) ?? lastRv;
    } catch (error) {
      log.error('watch event handling failed', { resource: source.resource, error });
    }
  };

  try {
    const ended = await source.watch(resourceVersion, timeoutSeconds, onEvent, controller.signal);
    if (ended === 'relist') stop ??= { kind: 'relist' };
  } catch (error) {
    if (!signal.aborted)
      halt(statusOf(error) === 410 ? { kind: 'expired' } : { kind: 'error', error });
  } finally {
    cancelWatchdog();
    signal.removeEventListener('abort', onAbort);
  }
  return { stop: stop ?? { kind: 'closed' }, resourceVersion: lastRv, events };
}

export async function runReflector(
  source: ResourceSource,
  sink: ReflectorSink,
  options: ReflectorOptions,
  signal: AbortSignal,
): Promise<void> {
  const opts = {
    random: Math.random,
    initialBackoffMs: 500,
    maxBackoffMs: 15_000,
    resyncMs: 10 * 60_000,
    watchTimeoutSeconds: [240, 360] as const,
    minWatchMs: 1_000,
    ...options,
  };
  const { clock } = opts;
  const log = opts.log.child({ resource: source.resource });
  let resourceVersion = '';
  let listedAt = -Infinity;
  let failures = 0;

  while (!signal.aborted) {
    const startedAt = clock.now();
    let failure: unknown;
    try {
      if (resourceVersion === '' || clock.now() - listedAt >= opts.resyncMs) {
        const list = await source.list();
        if (signal.aborted) break;
        sink.replace(list.items);
        resourceVersion = list.resourceVersion === '' ? '0' : list.resourceVersion;
        listedAt = clock.now();
        log.debug('listed', { items: list.items.length, resourceVersion });
      }
      const outcome = await watchOnce(source, sink, resourceVersion, opts, signal);
      resourceVersion = outcome.resourceVersion;
      switch (outcome.stop.kind) {
        case 'expired':
          log.info('watch expired (410); relisting', { resourceVersion });
          resourceVersion = '';
          break;
        case 'relist':
          log.info('API changed; relisting', { resourceVersion });
          resourceVersion = '';
          break;
        case 'quiet':
          log.info('watch went quiet; reconnecting', { resourceVersion });
          break;
        case 'closed':
          break;
        case 'error':
          failure = outcome.stop.error;
          break;
      }
      if (
        failure === undefined &&
        outcome.events === 0 &&
        clock.now() - startedAt < opts.minWatchMs &&
        outcome.stop.kind !== 'expired' &&
        outcome.stop.kind !== 'relist'
      ) {
        failure = new Error('watch closed immediately');
      }
    } catch (error) {
      failure = error;
    }
    if (signal.aborted) break;
    if (failure === undefined) {
      failures = 0;
      continue;
    }
    failures += 1;
    resourceVersion = '';
    const delay = backoffDelay(failures, opts.initialBackoffMs, opts.maxBackoffMs, opts.random);
    log.warn('list/watch failed; relisting after backoff', {
      error: describe(failure),
      status: statusOf(failure),
      attempt: failures,
      retryInMs: delay,
    });
    opts.onError?.(failure);
    await sleep(clock, delay, signal);
  }
}
